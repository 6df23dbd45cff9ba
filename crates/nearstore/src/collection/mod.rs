//! A collection: vectors with JSON payloads, an HNSW index and payload indexes, kept
//! consistent through one operation log.
//!
//! Every write is one operation appended to `ops.log` (through `nearstore-storage`'s
//! [`OpLog`]) before anything else changes; then it is applied in memory: the payload
//! overlay (payload changes not yet in the payload store), the payload indexes, the vector
//! store (whose `Bulk` mode keeps new slots invisible on disk until its next checkpoint) and
//! the HNSW index. So no component's files ever run ahead of the log.
//!
//! A checkpoint (see `checkpoint.rs`) syncs the log, saves the HNSW index and the payload
//! indexes with the sequence number they reflect, writes the overlay into the payload store
//! together with that number (one atomic group), checkpoints the vector store, writes the
//! manifest and empties the log. Opening loads each component and replays the logged
//! operations that component has not seen, so a point is never half present, the indexes
//! agree with the stores, and a delete never comes back.

mod backlog;
mod best_score;
pub(crate) mod checkpoint;
mod estimate;
mod expiry;
mod graph;
mod graph_match;
mod grouped;
pub(crate) mod ops;
mod payload_write;
mod quantized;
mod read;
mod search;
pub(crate) mod snapshot;
mod spaces;
mod sparse;
mod streaming;
mod text;
mod text_search;
mod time_order;
mod vector_write;
mod vectorless;
pub(crate) mod verify;
mod write;

pub use estimate::FilterEstimate;
pub use streaming::{MAX_FLUSH_INTERVAL, StreamingConfig, StreamingStatus};

pub use payload_write::{MAX_PAYLOAD_PATH_SEGMENTS, PayloadChange, PointSelector};
pub use text::TextIndexInfo;
pub use vector_write::PointVectors;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, RwLock};
use roaring::RoaringTreemap;
use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::config::CollectionConfig;
use crate::error::{Error, Result};
use nearstore_filter::PayloadIndexes;
use nearstore_index::HnswIndex;
use nearstore_storage::{OpLog, PayloadStore, SharedBackend, VectorStore};
use nearstore_text::TextIndex;

/// File and directory names inside a collection directory.
pub(crate) const MANIFEST_FILE: &str = "collection.manifest";
pub(crate) const OPS_FILE: &str = "ops.log";
pub(crate) const HNSW_FILE: &str = "hnsw.index";
pub(crate) const FIELD_INDEX_FILE: &str = "payload.indexes";
pub(crate) const VECTORS_DIR: &str = "vectors";
pub(crate) const PAYLOADS_DIR: &str = "payloads";

/// The operation log is checkpointed (and emptied) when a flush finds it larger than this.
const CHECKPOINT_AT_FLUSH_BYTES: u64 = 32 << 20;
/// ... and after any write that makes it larger than this.
const CHECKPOINT_AT_WRITE_BYTES: u64 = 256 << 20;

/// What searches read, changed only under a short write lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Every live point id.
    live: RoaringTreemap,
    /// Payload changes not yet written to the payload store (`None`: no payload).
    overlay: FxHashMap<u64, Option<Arc<Value>>>,
    /// The payload indexes.
    fields: PayloadIndexes,
    /// The full-text index (`None`: text indexing off). Its configuration is the
    /// collection's text configuration (the one owner).
    text: Option<TextIndex>,
    /// The sparse vector indexes by name (see `sparse.rs`).
    sparse: std::collections::BTreeMap<String, nearstore_text::SparseIndex>,
    /// The points' expiry times (see `expiry.rs`).
    expiry: expiry::ExpiryIndex,
    /// A graph collection's edges (see `graph.rs`); `None` for every other kind.
    graph: Option<nearstore_graph::GraphStore>,
    /// Points of the default vector stored but not yet in `Collection::index` (see
    /// `backlog.rs`): a subset of the stored vectors' ids.
    pending: RoaringTreemap,
}

/// What only the (single) writer touches.
#[derive(Debug)]
pub(crate) struct Writer {
    ops: OpLog,
    /// The sequence number the last checkpoint reflects.
    checkpoint_seq: u64,
    /// Names the text index file (`text-<generation>.index`); a new configuration gets a
    /// new generation, so the manifest never names a file built for another configuration.
    text_generation: u64,
    poisoned: Option<String>,
    /// Streamed points logged but not yet applied (see `streaming.rs`).
    stream: streaming::StreamQueue,
}

/// The shared body of a collection.
#[derive(Debug)]
pub(crate) struct Collection {
    name: String,
    dir: PathBuf,
    /// Fixed at creation; its `text` is `None` after open (the text index in [`State`] owns
    /// the text configuration) and `ef_search` lives in `Collection::ef_search`.
    config: CollectionConfig,
    backend: SharedBackend,
    /// The default vector space's vectors (shared with a quantized index, which reads
    /// them in place: `quantized.rs`).
    vectors: Arc<VectorStore>,
    payloads: PayloadStore,
    index: HnswIndex,
    /// Damage the quantized default index met reading `vectors` (`quantized.rs`).
    read_damage: quantized::ReadDamage,
    /// The named dense vectors (see `spaces.rs`); the fields above are the default `""`.
    spaces: std::collections::BTreeMap<String, spaces::Space>,
    state: RwLock<State>,
    writer: Mutex<Writer>,
    dropped: AtomicBool,
    /// The streaming drain thread, when streaming is on (see `streaming.rs`).
    streaming: Mutex<Option<streaming::Drainer>>,
    /// The `Balanced` search's ef (changeable by `ALTER COLLECTION ... SET (ef_search = n)`).
    ef_search: std::sync::atomic::AtomicUsize,
    /// The calendar clock expiry is read against (see `expiry.rs`).
    wall_clock: RwLock<Arc<dyn crate::request::WallClock>>,
    /// The thread linking `State::pending` into the index (see `backlog.rs`).
    backlog: backlog::Backlog,
}

/// A handle on one collection: cheap to clone, `Send + Sync`. Writes to a collection are
/// serialized; searches run concurrently with each other and with writes, and see a write
/// as soon as its call returns.
#[derive(Debug, Clone)]
pub struct VectorCollection {
    pub(crate) inner: Arc<Collection>,
}

impl Collection {
    fn check_open(&self) -> Result<()> {
        if self.dropped.load(Ordering::Acquire) {
            return Err(Error::Dropped(self.name.clone()));
        }
        Ok(())
    }

    /// Closes the collection for good because its files are about to go or be replaced
    /// (drop, restore): stops its drain thread (queued points are not applied), waits for
    /// a write in progress (later ones fail with `NotFound`), and closes its stores so that
    /// nothing (their close, a checkpoint, a compaction) writes into the directory again,
    /// which by then may hold another collection's files.
    pub(crate) fn mark_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
        self.stop_linking();
        if let Some(drainer) = self.streaming.lock().take() {
            drainer.stop();
        }
        // Every write checks `dropped` under the writer lock (`lock_writer`,
        // `check_writable`), so once this lock is taken no write can reach the files.
        let _writer = self.writer.lock();
        self.vectors.close();
        self.payloads.close();
        for space in self.spaces.values() {
            space.vectors.close();
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration with the current `ef_search` and text configuration.
    pub(crate) fn current_config(&self) -> CollectionConfig {
        let mut c = self.config.clone();
        c.hnsw.ef_search = self.ef_search.load(Ordering::Acquire);
        c.text = self.state.read().text.as_ref().map(|t| t.config().clone());
        c
    }
}

impl VectorCollection {
    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Its configuration (with the current `ef_search` and text configuration).
    pub fn config(&self) -> CollectionConfig {
        self.inner.current_config()
    }

    /// What the collection holds (vector, metadata or graph).
    pub fn kind(&self) -> crate::config::CollectionKind {
        self.inner.kind()
    }

    /// The ef of `Balanced` searches.
    pub fn ef_search(&self) -> usize {
        self.inner.ef_search.load(Ordering::Acquire)
    }

    /// Changes the ef of `Balanced` searches (persisted by a checkpoint it triggers).
    pub fn set_ef_search(&self, ef: usize) -> Result<()> {
        if ef == 0 {
            return Err(Error::InvalidArgument("ef_search must be positive".into()));
        }
        self.inner.ef_search.store(ef, Ordering::Release);
        let mut w = self.inner.lock_writer()?;
        self.inner.checkpoint_forced(&mut w)
    }

    /// Number of visible points (live and not expired).
    pub fn len(&self) -> usize {
        let st = self.inner.state.read();
        let hidden = self.inner.hidden(&st).map_or(0, |h| h.len());
        st.live.len().saturating_sub(hidden) as usize
    }

    /// True when the collection holds no point.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Collection {
    /// A clean close checkpoints, so the next open replays nothing (best effort: a failure
    /// here only means the next open replays the log).
    fn drop(&mut self) {
        // Streamed points are in the log already; the checkpoint below applies them.
        if let Some(drainer) = self.streaming.get_mut().take() {
            drainer.stop();
        }
        // Points not linked yet stay out of the index checkpoint; the next open finds them.
        self.stop_linking();
        if self.dropped.load(Ordering::Acquire) {
            return;
        }
        let mut w = self.writer.lock();
        if w.poisoned.is_none() {
            let _ = self.checkpoint_locked(&mut w);
        }
    }
}

#[cfg(test)]
mod tests;
