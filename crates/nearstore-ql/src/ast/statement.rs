//! Scripts and statements: queries, DDL, DML, graph DML and administration.

use super::condition::Condition;
use super::expr::Expr;
use super::query::{CompoundQuery, MatchQuery, SelectQuery};
use super::{OptionList, Path};

/// What [`crate::parse`] returns: LET bindings, then one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// `LET name = expr` bindings, in order.
    pub lets: Vec<Let>,
    /// The statement.
    pub statement: Statement,
}

/// `LET name = expr`.
#[derive(Debug, Clone, PartialEq)]
pub struct Let {
    /// The bound name (usable as a one-segment path afterwards).
    pub name: String,
    /// Its value.
    pub value: Expr,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `SELECT ...`.
    Select(SelectQuery),
    /// `SELECT ... UNION [ALL] | INTERSECT | EXCEPT SELECT ...`.
    Compound(CompoundQuery),
    /// `MATCH pattern ... RETURN ...`.
    Match(MatchQuery),
    /// `CREATE [GRAPH | METADATA] COLLECTION name [(...)] [WITH (...)] [WITH SCHEMA (...)]`.
    CreateCollection {
        /// Vector (plain `CREATE COLLECTION`), graph or metadata-only.
        kind: CollectionKind,
        /// Collection name.
        name: String,
        /// The parenthesised options.
        options: CollectionOptions,
        /// `WITH (...)` settings (empty when absent).
        with: OptionList,
        /// `WITH SCHEMA (...)`.
        schema: Option<GraphSchema>,
    },
    /// `DROP COLLECTION [IF EXISTS] name`.
    DropCollection {
        /// Collection name.
        name: String,
        /// `IF EXISTS`.
        if_exists: bool,
    },
    /// `CREATE INDEX ON collection (field) [WITH (type = 'datetime', ...)]`.
    CreateIndex {
        /// Collection name.
        collection: String,
        /// Indexed payload path.
        field: Path,
        /// Index options (`type`: the index kind); the executor checks them.
        options: OptionList,
    },
    /// `DROP INDEX ON collection (field)`.
    DropIndex {
        /// Collection name.
        collection: String,
        /// Indexed payload path.
        field: Path,
    },
    /// `CREATE TEXT INDEX ON collection (field) [WITH (analyzer option = value, ...)]`: a
    /// full-text field (`_all`: every string leaf) with its analyzer options.
    CreateTextIndex {
        /// Collection name.
        collection: String,
        /// The text field's payload path.
        field: Path,
        /// Analyzer options (`tokenizer`, `lowercase`, `ascii_folding`, `stemmer`,
        /// `stop_words`, `min_token_chars`, `max_token_chars`); the executor checks them.
        options: OptionList,
    },
    /// `DROP TEXT INDEX ON collection (field)`.
    DropTextIndex {
        /// Collection name.
        collection: String,
        /// The text field's payload path.
        field: Path,
    },
    /// `INSERT INTO t (cols) VALUES (...), ...` or `UPSERT INTO ...`.
    Insert {
        /// `UPSERT`.
        upsert: bool,
        /// Collection name.
        table: String,
        /// Column names (at least one; `id`, `vector` and payload fields).
        columns: Vec<String>,
        /// Rows, each exactly as long as `columns` (at least one row).
        rows: Vec<Vec<Expr>>,
    },
    /// `UPDATE t SET path = value, ... [WHERE cond]`.
    Update {
        /// Collection name.
        table: String,
        /// Assignments (at least one).
        assignments: Vec<Assignment>,
        /// `WHERE` (absent = every point).
        filter: Option<Condition>,
    },
    /// `DELETE FROM t WHERE cond` (the WHERE is required).
    Delete {
        /// Collection name.
        table: String,
        /// Which points.
        filter: Condition,
    },
    /// `INSERT EDGE INTO g (id = n, source = n, target = n, label = 'L')
    /// [WITH PROPERTIES (k = v, ...)]` (the four settings in any order, each once).
    InsertEdge {
        /// Graph collection.
        graph: String,
        /// Edge id.
        id: Expr,
        /// Source node id.
        source: Expr,
        /// Target node id.
        target: Expr,
        /// Edge label.
        label: Expr,
        /// `WITH PROPERTIES (...)` (empty when absent).
        properties: OptionList,
    },
    /// `DELETE EDGE id FROM g`.
    DeleteEdge {
        /// Graph collection.
        graph: String,
        /// Edge id (integer or parameter).
        id: Expr,
    },
    /// `SELECT EDGES FROM g [WHERE cond] [LIMIT n]`.
    SelectEdges {
        /// Graph collection.
        graph: String,
        /// Conditions on `source`, `target`, `label`, ...
        filter: Option<Condition>,
        /// `LIMIT n`.
        limit: Option<u64>,
    },
    /// `INSERT NODE INTO g (id = n [, payload = '{json}'])` (settings in any order).
    InsertNode {
        /// Graph collection.
        graph: String,
        /// Node id.
        id: Expr,
        /// The payload: a string holding a JSON object (checked when parsed) or a parameter.
        payload: Option<Expr>,
    },
    /// `SHOW COLLECTIONS`.
    ShowCollections,
    /// `DESCRIBE [COLLECTION] name`.
    Describe {
        /// Collection name.
        name: String,
    },
    /// `EXPLAIN [ANALYZE] statement` (a SELECT, compound, MATCH, UPDATE or DELETE).
    Explain {
        /// `ANALYZE`: run it and report actuals.
        analyze: bool,
        /// The explained statement.
        statement: Box<Statement>,
    },
    /// `ANALYZE [COLLECTION] name`.
    Analyze {
        /// Collection name.
        name: String,
    },
    /// `TRUNCATE [COLLECTION] name`.
    Truncate {
        /// Collection name.
        name: String,
    },
    /// `ALTER COLLECTION name SET (k = v, ...)`.
    AlterCollection {
        /// Collection name.
        name: String,
        /// Settings (at least one).
        options: OptionList,
    },
    /// `FLUSH [FULL] [name]`.
    Flush {
        /// `FULL`.
        full: bool,
        /// One collection, or all when absent.
        name: Option<String>,
    },
    /// `TRAIN QUANTIZER ON collection WITH (m = .., k = .., type = ..)`.
    TrainQuantizer {
        /// Collection name.
        collection: String,
        /// Settings (at least one).
        options: OptionList,
    },
}

/// Kinds of collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionKind {
    /// `CREATE COLLECTION`: vectors with payloads.
    Vector,
    /// `CREATE GRAPH COLLECTION`.
    Graph,
    /// `CREATE METADATA COLLECTION`: payloads only.
    Metadata,
}

/// `(dimension = n, metric = 'cosine', storage = 'full', m = 16, ef_construction = 200, ...)`.
///
/// The five known settings are typed and may appear at most once, in any order; everything
/// else lands in `other` in the order written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CollectionOptions {
    /// `dimension = n`.
    pub dimension: Option<u64>,
    /// `metric = 'cosine' | 'euclidean' | 'dot' | ...` (string or bare word, as written).
    pub metric: Option<String>,
    /// `storage = 'full' | 'sq8' | ...` (string or bare word, as written).
    pub storage: Option<String>,
    /// `m = n` (HNSW links per node).
    pub m: Option<u64>,
    /// `ef_construction = n`.
    pub ef_construction: Option<u64>,
    /// Other settings.
    pub other: OptionList,
}

/// `WITH SCHEMA (NODE T (p: TYPE, ...), EDGE E FROM A TO B, ...)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GraphSchema {
    /// Node types in the order written.
    pub nodes: Vec<NodeSchema>,
    /// Edge types in the order written.
    pub edges: Vec<EdgeSchema>,
}

/// `NODE Label (prop: TYPE, ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSchema {
    /// Node label.
    pub label: String,
    /// Typed properties (possibly none).
    pub properties: Vec<(String, PropertyType)>,
}

/// `EDGE Label FROM A TO B`.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeSchema {
    /// Edge label.
    pub label: String,
    /// Source node label.
    pub from: String,
    /// Target node label.
    pub to: String,
}

/// Property types in a graph schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyType {
    /// `STRING`
    String,
    /// `INTEGER`
    Integer,
    /// `FLOAT`
    Float,
    /// `BOOLEAN`
    Boolean,
    /// `VECTOR`
    Vector,
}

/// `path = value` in UPDATE.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The payload path set.
    pub path: Path,
    /// The new value.
    pub value: Expr,
}
