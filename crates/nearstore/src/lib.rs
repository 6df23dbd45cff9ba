//! NearStore: an embedded vector database engine.
//!
//! A [`Database`] is a directory of collections; a [`VectorCollection`] holds points
//! (`u64` id, `f32` vector, optional JSON payload), an HNSW index over the vectors and
//! optional payload indexes, all kept consistent through one operation log, so a crash at
//! any moment loses no flushed write and never leaves a point half written. The quick start
//! (also `examples/quickstart.rs` and the README):
//!
//! ```
#![doc = include_str!("../examples/quickstart.rs")]
//! ```
//!
//! Scores follow [`DistanceMetric`]'s direction (cosine, dot and jaccard: similarities,
//! higher is better; euclidean and hamming: distances, lower is better), and results are
//! always best first. [`SearchRequest`] is the one general search entry point; `search`,
//! `search_ids`, `search_with_filter` and `search_batch` are shorthands. Filters
//! ([`Filter`], JSON form documented in [`filter`]) are resolved to exact id sets through
//! payload indexes where they exist and payload evaluation where not; the index then picks
//! an exact scan of a small set or a filtered graph search, and returns `k` results whenever
//! `k` points match.
//!
//! Lower layers are re-exported for callers that need them: [`index`] (HNSW and exact
//! indexes), [`filter`], [`storage`] (stores, backends, inspection).

#![forbid(unsafe_code)]

pub mod agent_memory;
mod collection;
mod config;
mod database;
mod error;
mod graph_collection;
mod graph_match;
mod plan;
mod point;
mod quantization;
mod query;
mod request;
pub mod verify;

pub use agent_memory::AgentMemory;
pub use collection::{
    FilterEstimate, MAX_FLUSH_INTERVAL, MAX_PAYLOAD_PATH_SEGMENTS, PayloadChange, PointSelector,
    PointVectors, StreamingConfig, StreamingStatus, TextIndexInfo, VectorCollection,
};
pub use config::{
    CollectionConfig, CollectionKind, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_TRAIN_AT, MAX_DIMENSION,
    MAX_VECTOR_NAME_BYTES, QuantizationConfig, SQ8_DEFAULT_QUANTILE, StorageMode,
    VectorSpaceConfig,
};
pub use database::{
    AliasChange, DEFAULT_PURGE_INTERVAL, Database, MAX_NAME_LEN, PurgeStats, SnapshotInfo,
    SnapshotProgress, validate_collection_name,
};
pub use error::{Error, ErrorKind, Result};
pub use graph_collection::{GraphCollection, GraphCollectionConfig, TraversalOptions};
pub use graph_match::{
    ForeignNode, MATCH_VECTOR_CANDIDATES, MatchRequest, MatchResponse, MatchRow,
    SimilarityCondition, ThresholdOp,
};
pub use nearstore_distance::{DistanceMetric, distance};
pub use nearstore_filter::{Datetime, DatetimeRange, FieldIndexKind, Filter};
pub use nearstore_graph::{
    EdgeType, GraphEdge, GraphSchema, HopRange, MatchStats, NodeDegree, NodePattern, NodeType,
    PathPattern, Pattern, PropertyTarget, PropertyType, RelPattern, TraversalConfig,
    TraversalResult,
};
pub use nearstore_index::{HnswParams, SearchQuality};
pub use nearstore_storage::Durability;
pub use nearstore_text::{
    ALL_FIELD, AnalyzerConfig, Bm25Params, FieldConfig, Language, SparseConfig, SparseModifier,
    SparseVector, TextIndexConfig, Tokenizer,
};
pub use point::{Expiry, IntoPoints, Point, ScrollPage, SearchResult};
pub use query::{QueryResult, QueryRow};
pub use request::{
    Clock, DEFAULT_RRF_K, Deadline, Direction, FusionStrategy, GROUP_DEPTH_GROWTH, GroupBy,
    LEG_DEPTH_FACTOR, Leg, LegQuery, LegScore, MAX_NESTING, MAX_SCROLL_LIMIT, MAX_SEARCH_RESULTS,
    MIN_GROUP_DEPTH, MIN_WINDOW_FOR_LEGS, ManualWallClock, OrderBy, ReadOptions,
    SEARCH_QUALITY_NAMES, ScrollCursor, ScrollRequest, SearchGroup, SearchRequest, SteppingClock,
    SystemClock, SystemWallClock, TextLeg, WallClock, WriteOptions, parse_search_quality,
    search_quality_names,
};

/// The vector indexes (exact and HNSW), for callers that use an index directly.
pub mod index {
    pub use nearstore_index::*;
}

/// Full-text search: analyzers, the BM25 index, the query syntax.
pub mod text {
    pub use nearstore_text::*;
}

/// The graph store (edges, adjacency, traversal, patterns, schemas), for callers that use
/// it directly; graph collections ([`GraphCollection`]) keep one each.
pub mod graph {
    pub use nearstore_graph::*;
}

/// The payload filter model, evaluator and payload indexes.
pub mod filter {
    pub use nearstore_filter::*;
}

/// The storage layer, for callers that need its lower-level pieces (stores, backends,
/// inspection).
pub mod storage {
    pub use nearstore_storage::*;
}
