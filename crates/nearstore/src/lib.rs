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
