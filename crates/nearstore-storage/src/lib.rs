//! NearStore's storage layer: the only crate that touches files.
//!
//! It owns:
//! - [`backend`]: the file backend trait every byte goes through, with the real file system
//!   ([`FsBackend`]) and a fault-injecting in-memory one ([`FaultyBackend`]) for crash tests;
//! - [`VectorStore`]: fixed-dimension vectors in a memory-mapped, write-once-slot data file
//!   protected by a checksummed WAL and checkpoints;
//! - [`PayloadStore`]: JSON documents in an append-only, checksummed, self-compacting log;
//! - [`log`]: the checksummed record framing the three logs share, each log's durable-length
//!   claim (recorded after every fsync), torn tail vs corruption, and record-level
//!   [`log::salvage`] of a damaged log;
//! - [`OpLog`]: a collection's operation log, the one commit point its components share
//!   (with [`oplog::salvage`] for its complete operations after damage);
//! - [`sections`]: checksummed multi-section files replaced atomically (index checkpoints);
//! - [`snapshot`]: writing a snapshot of a set of files (hard links, copies, byte-bounded
//!   log copies, a checksummed manifest written last), verifying one (damage named by file
//!   and 4 KiB block), and restoring one atomically (staging, a commit marker, a directory
//!   swap that [`snapshot::recover_restore`] completes or rolls back after a crash);
//! - [`inspect`]: a read-only report over a store directory (files, records, live/dead bytes,
//!   checksums);
//! - [`vecfile`]: the vector interchange files users import, export and benchmark with
//!   (`.fvecs`, `.ivecs`, `.bvecs`, `.npy`), streamed with every length bounded, and the
//!   recall@k measured against their ground truth;
//! - the on-disk [`format`] constants (documented in `docs/design/storage-format.md`).
//!
//! ```
//! use nearstore_storage::VectorStore;
//!
//! let dir = tempfile::tempdir()?;
//! let store = VectorStore::open(dir.path(), 3)?;
//! store.store(1, &[1.0, 0.0, 0.0])?;
//! store.store(2, &[0.0, 1.0, 0.0])?;
//! store.flush()?; // durability barrier
//! assert_eq!(store.retrieve(1)?, Some(vec![1.0, 0.0, 0.0]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Invariants: every record and file carries a checksum and is length-bounded before use; new
//! files appear only through write-temp, fsync, rename, fsync(dir); a torn log tail is cut
//! off, damage to what a completed fsync made durable (recorded in each log's header, or
//! proven by a later record) is `Error::Corruption`; writes are durable per
//! [`Durability`]. This crate knows nothing of indexes, filters, the query language or HTTP.
//!
//! `unsafe` is confined to the memory map ([`backend`], `vector::guard`) and the in-memory
//! test backend; each block carries a `// SAFETY:` proof.

pub mod backend;
mod durability;
mod error;
pub mod format;
pub mod inspect;
pub mod log;
mod metrics;
pub mod oplog;
pub mod payload;
pub mod sections;
pub mod snapshot;
pub mod vecfile;
pub mod vector;

pub use backend::{
    Backend, CrashImage, CrashImageKind, FaultKind, FaultyBackend, FsBackend, SharedBackend,
    fs_backend,
};
pub use durability::Durability;
pub use error::{Error, Result};
pub use metrics::{LatencySummary, PayloadStoreMetrics, VectorStoreMetrics};
pub use oplog::OpLog;
pub use payload::{PayloadStore, PayloadStoreOptions};
pub use vector::{VECTOR_READ_AHEAD, VectorGuard, VectorStore, VectorStoreOptions};
