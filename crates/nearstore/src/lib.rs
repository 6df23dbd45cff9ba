//! NearStore: an embedded vector database engine.
//!
//! This crate is the engine's public API. Today it exposes the storage layer (crash-safe
//! vector and payload stores) and the distance metrics; collections, indexes, filters and
//! the query language are built on top of these in the layers described in
//! `ARCHITECTURE.md`.
//!
//! ```
//! use nearstore::{DistanceMetric, VectorStore, distance};
//!
//! let dir = tempfile::tempdir()?;
//! let store = VectorStore::open(dir.path(), 3)?;
//! store.store(1, &[1.0, 0.0, 0.0])?;
//! store.store(2, &[0.0, 1.0, 0.0])?;
//! store.flush()?; // durability barrier
//! let v = store.retrieve(1)?.expect("stored");
//! assert_eq!(distance(DistanceMetric::Cosine, &v, &[1.0, 0.0, 0.0]), 1.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! An HNSW index with a filtered search (the allow-list decides which points may be
//! returned; the search still returns `k` results whenever `k` points are allowed):
//!
//! ```
//! use nearstore::DistanceMetric;
//! use nearstore::index::{HnswIndex, HnswParams, IdSetAllowList, SearchQuality, VectorIndex};
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

mod error;

pub use error::{Error, ErrorKind, Result};
pub use nearstore_distance::{DistanceMetric, distance};
pub use nearstore_storage::{
    Durability, PayloadStore, PayloadStoreOptions, VectorGuard, VectorStore, VectorStoreOptions,
};

/// The vector indexes (exact and HNSW), for callers that use an index directly.
pub mod index {
    pub use nearstore_index::*;
}

/// The storage layer, for callers that need its lower-level pieces (backends, inspection).
pub mod storage {
    pub use nearstore_storage::*;
}
