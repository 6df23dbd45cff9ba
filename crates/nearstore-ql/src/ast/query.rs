//! Queries: SELECT, set operations over SELECTs, and MATCH graph queries.

use super::condition::Condition;
use super::expr::Expr;
use super::graph::GraphPattern;
use super::{OptionList, Path};

/// `SELECT [DISTINCT] items FROM table [joins] [WHERE] [GROUP BY] [HAVING] [ORDER BY]
/// [LIMIT] [OFFSET] [WITH (...)] [USING FUSION (...)]`.
///
/// `limit: None` means the default (10, see [`crate::DEFAULT_LIMIT`]); the hard maximum
/// ([`crate::MAX_LIMIT`]) is the executor's to enforce.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectQuery {
    /// `SELECT DISTINCT`.
    pub distinct: bool,
    /// The projection (at least one item).
    pub items: Vec<SelectItem>,
    /// The collection queried.
    pub from: TableRef,
    /// Joined collections, in order.
    pub joins: Vec<Join>,
    /// `WHERE`.
    pub filter: Option<Condition>,
    /// `GROUP BY` paths (empty when absent).
    pub group_by: Vec<Path>,
    /// `HAVING`.
    pub having: Option<Condition>,
    /// `ORDER BY` (empty when absent).
    pub order_by: Vec<OrderItem>,
    /// `LIMIT n`.
    pub limit: Option<u64>,
    /// `OFFSET n`.
    pub offset: Option<u64>,
    /// `WITH (mode = 'fast', ef_search = 64, ...)` (empty when absent).
    pub with_options: OptionList,
    /// `USING FUSION (strategy = 'rrf', k = 60, ...)`.
    pub fusion: Option<FusionClause>,
}

/// One projected item.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`.
    Wildcard,
    /// `alias.*`.
    QualifiedWildcard(String),
    /// An expression with an optional `AS alias`.
    Expr {
        /// The value projected: a path, `similarity()`, aggregate, window function, ...
        expr: Expr,
        /// `AS alias`.
        alias: Option<String>,
    },
}

/// `name [AS alias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRef {
    /// Collection name.
    pub name: String,
    /// Alias.
    pub alias: Option<String>,
}

/// `[kind] JOIN table (ON a.x = b.y | USING (col, ...))`.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    /// Join kind (plain `JOIN` is inner; `OUTER` is implied).
    pub kind: JoinKind,
    /// The joined collection.
    pub table: TableRef,
    /// How rows match.
    pub on: JoinCondition,
}

/// Join kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `JOIN` / `INNER JOIN`.
    Inner,
    /// `LEFT [OUTER] JOIN`.
    Left,
    /// `RIGHT [OUTER] JOIN`.
    Right,
    /// `FULL [OUTER] JOIN`.
    Full,
}

/// The join condition.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinCondition {
    /// `ON left = right`.
    On(Path, Path),
    /// `USING (col, ...)` (at least one column).
    Using(Vec<String>),
}

/// `expr [ASC|DESC]`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// Sort key: a path, aggregate, `similarity(...)`, arithmetic, LET name.
    pub expr: Expr,
    /// `DESC` (ascending otherwise).
    pub descending: bool,
}

/// A fusion specification: `USING FUSION (strategy = 'rrf', k = 60)` after a SELECT, or
/// `USING FUSION 'rrf' (k = 60)` inside `NEAR_FUSED`.
///
/// A `strategy = <string or word>` setting is lifted out of the list into `strategy` (the
/// first one, if repeated), so both spellings give the same value.
#[derive(Debug, Clone, PartialEq)]
pub struct FusionClause {
    /// `rrf`, `rsf`, `weighted`, `average`, `maximum`, ... as written.
    pub strategy: Option<String>,
    /// The other settings (`k`, `dense_w`, `sparse_w`, ...).
    pub params: OptionList,
}

/// Set operators; a chain is evaluated left to right, all with equal precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOperator {
    /// `UNION` (duplicates removed).
    Union,
    /// `UNION ALL`.
    UnionAll,
    /// `INTERSECT`.
    Intersect,
    /// `EXCEPT`.
    Except,
}

/// `select (op select)+`: each member keeps its own clauses (ORDER BY / LIMIT included).
#[derive(Debug, Clone, PartialEq)]
pub struct CompoundQuery {
    /// The first SELECT.
    pub first: SelectQuery,
    /// The following operators and SELECTs (at least one).
    pub rest: Vec<(SetOperator, SelectQuery)>,
}

/// `MATCH pattern [, pattern ...] [WHERE cond] RETURN items [ORDER BY ...] [LIMIT n]`.
///
/// Comma-separated parts share their variables: `MATCH (a)-[:R]->(b), (b)-[:S]->(c)` binds
/// one `b`; a match binds every part at once.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchQuery {
    /// The (first) path pattern.
    pub pattern: GraphPattern,
    /// The comma-separated parts after the first (empty for a single path).
    pub further_parts: Vec<GraphPattern>,
    /// `WHERE`.
    pub filter: Option<Condition>,
    /// `RETURN` items: `*`, aliases, `alias.prop`, `similarity()`, with `AS` (at least one).
    pub returns: Vec<SelectItem>,
    /// `ORDER BY` (empty when absent).
    pub order_by: Vec<OrderItem>,
    /// `LIMIT n`.
    pub limit: Option<u64>,
}

impl MatchQuery {
    /// Every path part: [`MatchQuery::pattern`], then [`MatchQuery::further_parts`].
    pub fn parts(&self) -> impl Iterator<Item = &GraphPattern> + '_ {
        std::iter::once(&self.pattern).chain(&self.further_parts)
    }
}
