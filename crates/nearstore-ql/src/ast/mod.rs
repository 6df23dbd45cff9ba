//! The typed syntax tree the parser produces and the printer prints.
//!
//! Every node is `Debug + Clone + PartialEq`. The tree records what was written, normalised
//! only where the language has two spellings for one thing (`<>`/`!=`, `LEFT OUTER JOIN`/
//! `LEFT JOIN`, keyword case, quoting); the executor interprets it. Conventions:
//!
//! - a [`Path`] is a dotted name (`meta.author`, `d.title`), one `String` per segment, the
//!   first segment possibly a table alias; a bare LET name in an expression is a one-segment
//!   path;
//! - options written `name = value` keep their order as `(String, Expr)` pairs
//!   ([`OptionList`]); bare words as values (`metric = cosine`) are one-segment
//!   [`Expr::Path`]s;
//! - parenthesised conditions are kept as [`Condition::Group`]; parenthesised arithmetic is
//!   not (precedence is in the tree shape).

mod condition;
mod expr;
mod graph;
mod query;
mod statement;

pub use condition::{CompareOp, Condition, SparseVectorExpr, VectorExpr};
pub use expr::{
    AggregateArgument, AggregateFunction, BinaryOp, Expr, SimilarityArgs, WindowFunction,
};
pub use graph::{Direction, GraphPattern, Hop, HopRange, NodePattern, RelationshipPattern};
pub use query::{
    CompoundQuery, FusionClause, Join, JoinCondition, JoinKind, MatchQuery, OrderItem, SelectItem,
    SelectQuery, SetOperator, TableRef,
};
pub use statement::{
    Assignment, CollectionKind, CollectionOptions, EdgeSchema, GraphSchema, Let, NodeSchema,
    PropertyType, Script, Statement,
};

/// A dotted name: `field`, `meta.author.name`, `alias.field`.
pub type Path = Vec<String>;

/// `name = value` settings in the order written (`WITH (...)`, `USING FUSION (...)`,
/// `ALTER ... SET (...)`, ...). Names are as written (case preserved).
pub type OptionList = Vec<(String, Expr)>;
