//! Conditions (WHERE / HAVING): boolean structure and predicates.

use super::Path;
use super::expr::Expr;
use super::graph::GraphPattern;
use super::query::FusionClause;

/// A boolean condition.
///
/// `AND` and `OR` are n-ary (at least two parts, flattened: `a AND b AND c` is one `And` of
/// three); `AND` binds tighter than `OR`, `NOT` tighter than both. Parentheses are kept as
/// [`Condition::Group`], so a part of an `And` is never an `Or` or `And` (it would be a
/// `Group`), and a part of an `Or` is never an `Or`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `a AND b AND ...` (two or more parts).
    And(Vec<Condition>),
    /// `a OR b OR ...` (two or more parts).
    Or(Vec<Condition>),
    /// `NOT c`.
    Not(Box<Condition>),
    /// `( c )`.
    Group(Box<Condition>),
    /// `field NEAR $v` / `field NEAR [0.1, ...]`: k-nearest-neighbour search.
    VectorNear {
        /// The vector field (usually `vector`).
        field: Path,
        /// The query vector.
        vector: VectorExpr,
    },
    /// `field NEAR_FUSED [$a, $b, ...] [USING FUSION 'rrf' [(k = 60, ...)]]`.
    VectorNearFused {
        /// The vector field.
        field: Path,
        /// The query vectors (at least one).
        vectors: Vec<VectorExpr>,
        /// How results are fused; when present its `strategy` is always `Some`.
        fusion: Option<FusionClause>,
    },
    /// `field SPARSE_NEAR $sv | {12: 0.5, ...} [USING 'index']`.
    SparseNear {
        /// The sparse vector field.
        field: Path,
        /// The query sparse vector.
        vector: SparseVectorExpr,
        /// The named sparse index, if given.
        index: Option<String>,
    },
    /// `similarity(field, vector) op value`.
    SimilarityThreshold {
        /// The vector field compared.
        field: Path,
        /// The query vector.
        vector: VectorExpr,
        /// Comparison operator.
        op: CompareOp,
        /// The threshold (a number or parameter).
        value: Expr,
    },
    /// `field MATCH 'text'` / `MATCH 'text'`: BM25 full-text match (text is a string or
    /// parameter).
    TextMatch {
        /// The text field (`None`: every text field of the collection).
        field: Option<Path>,
        /// The query text.
        text: Expr,
    },
    /// `left op right`: in WHERE `left` is a path; in HAVING an aggregate (any expression
    /// parses, the executor decides what it supports).
    Compare {
        /// Left side.
        left: Expr,
        /// Operator (`<>` is [`CompareOp::NotEq`]).
        op: CompareOp,
        /// Right side: a value.
        right: Expr,
    },
    /// `path [NOT] IN (v, ...)` (at least one value).
    In {
        /// The field.
        path: Path,
        /// `NOT IN`.
        negated: bool,
        /// The values.
        values: Vec<Expr>,
    },
    /// `path BETWEEN low AND high` (inclusive).
    Between {
        /// The field.
        path: Path,
        /// Lower bound.
        low: Expr,
        /// Upper bound.
        high: Expr,
    },
    /// `path [NOT] LIKE pattern` / `path [NOT] ILIKE pattern` (`%` any run, `_` one char).
    Like {
        /// The field.
        path: Path,
        /// `NOT LIKE`.
        negated: bool,
        /// `ILIKE`.
        case_insensitive: bool,
        /// The pattern (a string or parameter).
        pattern: Expr,
    },
    /// `path IS [NOT] NULL` (missing counts as null).
    IsNull {
        /// The field.
        path: Path,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `path CONTAINS value`: an array field holds the value.
    Contains {
        /// The field.
        path: Path,
        /// The value looked for.
        value: Expr,
    },
    /// `path CONTAINS ANY (v, ...)`.
    ContainsAny {
        /// The field.
        path: Path,
        /// The values (at least one).
        values: Vec<Expr>,
    },
    /// `path CONTAINS ALL (v, ...)`.
    ContainsAll {
        /// The field.
        path: Path,
        /// The values (at least one).
        values: Vec<Expr>,
    },
    /// `path CONTAINS_TEXT 'sub'`: substring test (a string or parameter).
    ContainsText {
        /// The field.
        path: Path,
        /// The substring.
        text: Expr,
    },
    /// `GEO_DISTANCE(path, lat, lon) op meters`.
    GeoDistance {
        /// The field holding `{"lat": .., "lon": ..}`.
        path: Path,
        /// Latitude of the centre.
        lat: Expr,
        /// Longitude of the centre.
        lon: Expr,
        /// Comparison operator.
        op: CompareOp,
        /// Distance in metres.
        meters: Expr,
    },
    /// `GEO_BBOX(path, lat_min, lon_min, lat_max, lon_max)`.
    GeoBbox {
        /// The field holding `{"lat": .., "lon": ..}`.
        path: Path,
        /// South edge.
        lat_min: Expr,
        /// West edge.
        lon_min: Expr,
        /// North edge.
        lat_max: Expr,
        /// East edge.
        lon_max: Expr,
    },
    /// `MATCH (a)-[:R]->(b)`: graph predicate inside a SELECT.
    GraphMatch(GraphPattern),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `!=` or `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

/// A dense query vector.
#[derive(Debug, Clone, PartialEq)]
pub enum VectorExpr {
    /// `$name`.
    Param(String),
    /// `[0.1, 0.2, ...]` (at least one finite element).
    Literal(Vec<f32>),
}

/// A sparse query vector.
#[derive(Debug, Clone, PartialEq)]
pub enum SparseVectorExpr {
    /// `$name`.
    Param(String),
    /// `{12: 0.5, 40: 1.2}`: (dimension, weight) pairs in the order written (possibly
    /// empty; duplicates are kept for the executor to reject).
    Literal(Vec<(u32, f32)>),
}
