//! NearStore's vector indexes.
//!
//! - [`FlatIndex`]: exact search by scanning every vector; the oracle for tests and the plan
//!   for small or highly filtered candidate sets.
//! - [`HnswIndex`]: a hierarchical navigable small-world graph with neighbour lists in flat
//!   arrays, heuristic neighbour selection (also when a full list takes a new link, so links
//!   between clusters survive), parallel build, inserts concurrent with searches, deletes
//!   with neighbour repair, vacuum, and filtered search that never comes back short.
//!
//! Filtering goes through the [`AllowList`] trait defined here, so this crate depends on no
//! filter or query code. Scores follow [`DistanceMetric`]'s direction (documented there);
//! results are always best first.
//!
//! An HNSW index with a filtered search (the allow-list decides which points may be
//! returned; the search still returns `k` results whenever `k` points are allowed):
//!
//! ```
//! use nearstore_index::{DistanceMetric, HnswIndex, HnswParams, IdSetAllowList, SearchQuality, VectorIndex};
//!
//! let index = HnswIndex::new(2, DistanceMetric::Euclidean, HnswParams::default())?;
//! let points: Vec<(u64, Vec<f32>)> = (0..100).map(|i| (i, vec![i as f32, 0.0])).collect();
//! index.insert_batch(&points)?;
//! let hits = index.search(&[10.2, 0.0], 3, SearchQuality::Balanced, None)?;
//! assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![10, 11, 9]);
//! let odd = IdSetAllowList::new((0..100).filter(|i| i % 2 == 1));
//! let hits = index.search(&[10.2, 0.0], 3, SearchQuality::Balanced, Some(&odd))?;
//! assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![11, 9, 13]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Invariants: internal ids are dense `u32` slots; every link points to a slot below the
//! index's length; a vacuumed slot is linked from nowhere. This crate has no `unsafe`.

#![forbid(unsafe_code)]

mod allow;
mod error;
mod flat;
pub mod hnsw;
pub mod quant;
mod space;

pub use allow::{AllowAll, AllowList, IdSetAllowList};
pub use error::{Error, Result, first_non_finite};
pub use flat::FlatIndex;
pub use hnsw::{
    ExactScorer, HnswIndex, HnswParams, QueryOptions, SearchQuality, SearchStats, last_search_stats,
};
pub use nearstore_distance::DistanceMetric;
pub use quant::{
    MemorySource, QuantConfig, RABITQ_EX_BITS, RABITQ_EX_MAX_DIM, SQ8_DEFAULT_QUANTILE,
    SearchOptions, StorageMode, VectorSource, vector_through_batch,
};

/// One search result: an external id and its score (see [`DistanceMetric`] for direction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchHit {
    /// The point's id.
    pub id: u64,
    /// Its score against the query.
    pub score: f32,
}

/// What every vector index offers.
pub trait VectorIndex: Send + Sync {
    /// The vector dimension.
    fn dimension(&self) -> usize;
    /// The metric scores are computed with.
    fn metric(&self) -> DistanceMetric;
    /// Live (not deleted) points.
    fn len(&self) -> usize;
    /// True when no point is live.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Adds or replaces a point.
    fn upsert(&self, id: u64, vector: &[f32]) -> Result<()>;
    /// Removes a point; returns whether it was there.
    fn delete(&self, id: u64) -> Result<bool>;
    /// The `k` best points allowed by `allow` (all when `None`), best first.
    fn search(
        &self,
        query: &[f32],
        k: usize,
        quality: SearchQuality,
        allow: Option<&dyn AllowList>,
    ) -> Result<Vec<SearchHit>>;
}
