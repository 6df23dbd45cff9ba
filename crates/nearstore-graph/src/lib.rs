//! NearStore's graph store: the edges of a property graph whose nodes are the engine's
//! points, kept as per-label CSR adjacency arrays (outgoing and incoming) plus a small write
//! delta, with traversal, the expansion primitives MATCH is planned over, and property
//! indexes on edges and nodes.
//!
//! What it owns: [`GraphEdge`]s (labels interned, ids unique), adjacency in both directions
//! ([`GraphStore`]), [`GraphStore::traverse_bfs`] / [`GraphStore::traverse_dfs`],
//! [`GraphStore::expand_hop`], [`GraphStore::expand_var_length`], [`FrontierExpander`],
//! pattern matching ([`GraphStore::plan_match`] -> [`MatchPlan`],
//! [`GraphStore::match_pattern`] / [`GraphStore::find_matches`] -> [`Binding`]s, over the
//! [`Pattern`] IR the engine lowers its `MATCH` AST to),
//! edge and node property indexes (the filter crate's [`nearstore_filter::PayloadIndexes`]),
//! a checksummed byte image ([`GraphStore::encode`] / [`GraphStore::decode`]), the byte
//! form of a logged write ([`GraphOp`]), and graph schemas ([`GraphSchema`]: node types with
//! typed properties, edge types between them; validates node payloads and edges).
//!
//! Invariants: incoming is always outgoing transposed; every live edge is in each direction
//! exactly once (CSR or delta); removing a node removes every edge at it; writes are
//! all-or-nothing; decoding never panics.
//!
//! How the engine plugs it in: validate with [`GraphStore::prepare_edges`] (endpoint
//! existence through [`NodeExistence`]), append the [`GraphOp`] to the collection's operation
//! log, then [`GraphStore::apply_logged`] with its sequence number; at a checkpoint,
//! [`GraphStore::merge`] and write [`GraphStore::encode`]'s bytes through the storage crate;
//! on open, [`GraphStore::decode`] and replay the log tail through `apply_logged` (operations
//! the image covers are skipped by sequence number). For `MATCH`, the engine lowers the AST
//! to a [`Pattern`], supplies its nodes through [`NodeSource`] (live ids, payload filters),
//! its own conditions (similarity) through [`NodePredicate`] and, when the vector index is
//! the selective part, the top-k as [`StartCandidates`]; projection, aggregates and ordering
//! stay in the engine.
//!
//! Must not depend on: the engine, the query language, the server, the index crate. Only the
//! storage crate's byte decoder is used (this crate opens no file). No `unsafe`.

#![forbid(unsafe_code)]

mod budget;
mod codec;
mod csr;
mod edge;
mod error;
mod expand;
mod intern;
mod pattern;
mod property;
mod read;
mod schema;
mod store;
mod traverse;

pub use budget::{Budget, DEFAULT_MAX_ROWS, MAX_TRAVERSAL_DEPTH};
pub use edge::{AnyNode, GraphEdge, NodeExistence};
pub use error::{Error, Result};
pub use expand::{FrontierExpander, Hop, PathMatch};
pub use nearstore_filter::{Candidates, FieldIndexKind, Filter};
pub use pattern::{
    Binding, HopRange, LABELS_FIELD, MAX_PATTERN_RELATIONSHIPS, MatchOptions, MatchPlan,
    MatchStats, NodePattern, NodePayloads, NodePredicate, NodeSource, PathPattern, Pattern,
    RelPattern, StartCandidates, StartKind, Visit,
};
pub use property::PropertyTarget;
pub use read::{Direction, LabelSet, NodeDegree};
pub use schema::{EdgeType, GraphSchema, NodeType, PropertyType};
pub use store::{Applied, GraphOp, GraphStore, MIN_DELTA_BEFORE_MERGE};
pub use traverse::{TraversalConfig, TraversalResult};
