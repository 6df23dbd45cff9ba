//! Creating, opening (recovery) and checkpointing a collection.
//!
//! Checkpoint order, and why: (1) sync the operation log, so everything below is covered by
//! it; (2) save the HNSW index, (3) the payload indexes, the text index, the live ids
//! without a default vector (`vectorless.rs`) and the expiry times (`expiry.rs`), each recording the sequence number `S` it
//! reflects; (4) write the payload overlay into the payload store with mark `S` (one
//! atomic group), *after* the payload indexes, so the payload store is never ahead of them;
//! (5) checkpoint the vector store; (6) write the manifest with `S`; (7) empty the log.
//! A crash anywhere leaves every component at the previous checkpoint or at `S`, with the
//! log still holding every operation after the manifest's number.
//!
//! Each checkpoint records the extent it covers, and opening verifies it before anything is
//! served: the manifest holds `S` and the payload log's length after step (4); the payload
//! store refuses to open when its valid records end before that length with an older mark
//! (durable records lost, not a torn tail), and every component must reflect at least `S`
//! (the log no longer holds the operations before it). After the replay, the HNSW index must
//! hold exactly the stored default vectors but the backlog (those not linked yet, derived
//! then: `backlog.rs`) and every payload must belong to a live point. A failed check is a
//! corruption error naming the file.
//!
//! Opening loads each component and replays the logged operations after the manifest's
//! number into each component that has not seen them (payloads after the store's mark,
//! payload indexes and HNSW after their recorded numbers; the vector store takes every
//! operation, which is idempotent). Because the payload store is never ahead of the payload
//! indexes, the "old payload" an index update removes is always the one it indexed.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use parking_lot::{Mutex, RwLock};
use roaring::RoaringTreemap;
use serde::{Deserialize, Serialize};

use super::expiry::{EXPIRY_FILE, ExpiryIndex, read_expiry, write_expiry};
use super::graph::{GRAPH_FILE, read_graph_image, write_graph_image};
use super::spaces::{create_spaces, open_spaces};
use super::sparse::{read_sparse_index, sparse_file, write_sparse_index};
use super::text::{read_text_index, text_file, write_text_index};
use super::vectorless::{VECTORLESS_FILE, read_vectorless, write_vectorless};
use super::write::Targets;
use super::{
    Collection, FIELD_INDEX_FILE, HNSW_FILE, MANIFEST_FILE, OPS_FILE, PAYLOADS_DIR, State,
    VECTORS_DIR, Writer, ops,
};
use crate::config::{CollectionConfig, ConfigRecord};
use crate::error::{Error, Result};
use nearstore_filter::PayloadIndexes;
use nearstore_index::VectorIndex;
use nearstore_storage::payload::{LOG_FILE as PAYLOAD_LOG_FILE, PayloadExtent};
use nearstore_storage::sections::{read_sections, write_sections};
use nearstore_storage::{
    Durability, OpLog, PayloadStore, PayloadStoreOptions, SharedBackend, VectorStore,
    VectorStoreOptions,
};
use nearstore_text::TextIndex;

const MANIFEST_MAGIC: [u8; 8] = *b"NSCOLMF1";
const FIELD_INDEX_MAGIC: [u8; 8] = *b"NSPIDX01";
/// Format 2 added `payloads_len`; format 3 says `vectorless.ids` exists (see
/// `vectorless.rs`); format 4 says `expiry.times` exists (see `expiry.rs`); format 5 adds
/// the collection kind to the configuration and says a graph collection's `graph.image`
/// exists (see `graph.rs`). Format 1 and 2 manifests are read (format 1 without the
/// payload-extent check; both with the live set taken from the default vector store),
/// formats before 4 with no expiry times, before 5 as vector collections, and rewritten as
/// the current format by the next checkpoint. Format 6 adds the quantized storage modes
/// (and their settings) to the configuration; older manifests have storage mode `full`.
pub(super) const MANIFEST_FORMAT: u32 = 6;
/// Largest batch of logged upserts replayed at once.
const REPLAY_BATCH_POINTS: usize = 20_000;

/// The collection manifest's content.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Manifest {
    pub(super) format: u32,
    name: String,
    pub(super) config: ConfigRecord,
    /// The operation sequence number the last checkpoint reflects.
    pub(super) checkpoint_seq: u64,
    /// The payload log's length after the last checkpoint wrote it (0 in format 1).
    #[serde(default)]
    pub(super) payloads_len: u64,
    /// Which text index file is in use (see `text.rs`; 0 before full-text search).
    #[serde(default)]
    pub(super) text_generation: u64,
    /// The sparse vector names with a checkpointed index (see `sparse.rs`; absent before
    /// sparse vectors).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) sparse_names: Vec<String>,
}

impl Manifest {
    fn new(name: &str, config: &CollectionConfig, seq: u64) -> Self {
        Manifest {
            format: MANIFEST_FORMAT,
            name: name.to_string(),
            config: ConfigRecord::from(config),
            checkpoint_seq: seq,
            payloads_len: 0,
            text_generation: 0,
            sparse_names: Vec::new(),
        }
    }
}

pub(super) fn write_manifest(backend: &SharedBackend, dir: &Path, m: &Manifest) -> Result<()> {
    let json = serde_json::to_vec(m).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    write_sections(
        backend.as_ref(),
        &dir.join(MANIFEST_FILE),
        &MANIFEST_MAGIC,
        &[&json],
    )?;
    Ok(())
}

/// Makes the manifest of the collection in `dir` name it `name` (a collection restored from
/// the snapshot of a collection of another name), in one atomic manifest write; a no-op
/// when it does already or when the manifest cannot be read (opening reports that).
pub(crate) fn set_manifest_name(backend: &SharedBackend, dir: &Path, name: &str) -> Result<()> {
    match read_manifest(backend, dir) {
        Ok(mut m) if m.name != name => {
            m.name = name.to_string();
            write_manifest(backend, dir, &m)
        }
        _ => Ok(()),
    }
}

pub(super) fn read_manifest(backend: &SharedBackend, dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let sections = read_sections(backend.as_ref(), &path, &MANIFEST_MAGIC)?;
    let [json] = sections.as_slice() else {
        return Err(Error::corruption(path.display(), "expected one section"));
    };
    let m: Manifest = serde_json::from_slice(json)
        .map_err(|e| Error::corruption(path.display(), e.to_string()))?;
    if !(1..=MANIFEST_FORMAT).contains(&m.format) {
        return Err(Error::corruption(
            path.display(),
            format!("manifest format {} is not 1..={MANIFEST_FORMAT}", m.format),
        ));
    }
    Ok(m)
}

/// Writes the payload indexes (already encoded) with the sequence number they reflect.
fn write_field_indexes(
    backend: &SharedBackend,
    dir: &Path,
    encoded: &[u8],
    seq: u64,
) -> Result<()> {
    write_sections(
        backend.as_ref(),
        &dir.join(FIELD_INDEX_FILE),
        &FIELD_INDEX_MAGIC,
        &[&seq.to_le_bytes(), encoded],
    )?;
    Ok(())
}

pub(super) fn read_field_indexes(
    backend: &SharedBackend,
    dir: &Path,
) -> Result<(PayloadIndexes, u64)> {
    let path = dir.join(FIELD_INDEX_FILE);
    let sections = read_sections(backend.as_ref(), &path, &FIELD_INDEX_MAGIC)?;
    let [seq, encoded] = sections.as_slice() else {
        return Err(Error::corruption(path.display(), "expected two sections"));
    };
    let seq: [u8; 8] = seq
        .as_slice()
        .try_into()
        .map_err(|_| Error::corruption(path.display(), "bad sequence number"))?;
    Ok((PayloadIndexes::decode(encoded)?, u64::from_le_bytes(seq)))
}

impl Collection {
    /// After the replay: the backlog (`backlog.rs`) is the stored default vectors the
    /// index does not hold (it is never persisted; the index checkpoint holds exactly what
    /// was linked).
    fn derive_pending(&self) {
        if !self.defers(super::backlog::Linking::Deferred) {
            // Linked inline always: the index must hold every stored vector.
            return;
        }
        let stored = self.vectors.ids();
        // One look at the index for all of them (its locks taken once).
        let mut held = self.index.contains_each(stored.iter().copied());
        let pending: RoaringTreemap = stored
            .iter()
            .copied()
            .filter(|_| held.next() == Some(false))
            .collect();
        let mut st = self.state.write();
        if !pending.is_empty() {
            self.backlog.added();
        }
        st.pending = pending;
    }

    /// Cross-checks the components after the replay: the HNSW index holds the stored
    /// default vectors except the backlog (as many points as the store, less the backlog;
    /// `derive_pending` found every backlog id stored and not indexed), every stored
    /// vector belongs to a live point, and every stored payload belongs to a live point
    /// (or to one whose removal is still in the overlay).
    fn check_components_agree(&self) -> Result<()> {
        let stored = self.vectors.len();
        let pending = self.state.read().pending.len() as usize;
        if self.index.len() + pending != stored {
            return Err(Error::corruption(
                self.dir.join(HNSW_FILE).display(),
                format!(
                    "the index holds {} points, the vector store {stored} of which {pending} \
                     are waiting for the index",
                    self.index.len()
                ),
            ));
        }
        {
            let st = self.state.read();
            if let Some(id) = self
                .vectors
                .ids()
                .into_iter()
                .find(|id| !st.live.contains(*id))
            {
                return Err(Error::corruption(
                    self.dir.join(VECTORS_DIR).display(),
                    format!("holds a vector of point {id}, which is not live"),
                ));
            }
        }
        if let Some((name, orphans)) = self.sparse_orphans() {
            return Err(Error::corruption(
                self.dir.join(sparse_file(&name)).display(),
                format!("holds {orphans} sparse vectors of points that are not live"),
            ));
        }
        let st = self.state.read();
        // A payload of a point deleted since the checkpoint leaves the store at the next
        // checkpoint; until then the overlay holds its removal.
        let orphan = self
            .payloads
            .ids()
            .into_iter()
            .find(|id| !st.live.contains(*id) && !st.overlay.contains_key(id));
        if let Some(id) = orphan {
            return Err(Error::corruption(
                self.dir.join(PAYLOADS_DIR).join(PAYLOAD_LOG_FILE).display(),
                format!("holds a payload for point {id}, which is not live"),
            ));
        }
        Ok(())
    }

    /// Creates the files of a new, empty collection in `dir` and opens it.
    pub(crate) fn create(
        backend: SharedBackend,
        dir: &Path,
        name: &str,
        config: CollectionConfig,
    ) -> Result<Collection> {
        config.validate()?;
        backend.create_dir_all(dir)?;
        super::quantized::create_index(&backend, dir, &config)?;
        create_spaces(&backend, dir, &config)?;
        write_field_indexes(&backend, dir, &PayloadIndexes::new().encode(), 0)?;
        write_vectorless(&backend, dir, &RoaringTreemap::new(), 0)?;
        write_expiry(&backend, dir, &ExpiryIndex::default(), 0)?;
        if config.kind == crate::config::CollectionKind::Graph {
            write_graph_image(
                &backend,
                dir,
                &nearstore_graph::GraphStore::new().encode(),
                0,
            )?;
        }
        if let Some(text) = &config.text {
            write_text_index(&backend, dir, 0, &TextIndex::new(text.clone())?.encode(), 0)?;
        }
        write_manifest(&backend, dir, &Manifest::new(name, &config, 0))?;
        Collection::open(backend, dir)
    }

    /// Opens the collection in `dir`, replaying its operation log.
    pub(crate) fn open(backend: SharedBackend, dir: &Path) -> Result<Collection> {
        let manifest = read_manifest(&backend, dir)?;
        let mut config = CollectionConfig::from(&manifest.config);
        // From here on the text index owns the text configuration.
        let text_config = config.text.take();
        let name = manifest.name;
        let seq = manifest.checkpoint_seq;
        let vectors = Arc::new(VectorStore::open_with(
            backend.clone(),
            &dir.join(VECTORS_DIR),
            config.dim,
            VectorStoreOptions {
                durability: Durability::Bulk,
                ..VectorStoreOptions::default()
            },
        )?);
        let payloads = PayloadStore::open_with(
            backend.clone(),
            &dir.join(PAYLOADS_DIR),
            PayloadStoreOptions {
                durability: Durability::Flush,
                max_payload_bytes: config
                    .max_payload_bytes
                    .max(PayloadStoreOptions::default().max_payload_bytes),
                expected: PayloadExtent {
                    len: manifest.payloads_len,
                    mark: seq,
                },
                ..PayloadStoreOptions::default()
            },
        )?;
        let payload_mark = payloads.mark();
        let hnsw_path = dir.join(HNSW_FILE);
        let read_damage = super::quantized::ReadDamage::default();
        let (index, index_seq) =
            super::quantized::load_index(&backend, dir, &config, &vectors, &read_damage)?;
        let (fields, fields_seq) = read_field_indexes(&backend, dir)?;
        let (text, text_seq) = match &text_config {
            Some(c) => {
                let (index, s) = read_text_index(&backend, dir, manifest.text_generation, c)?;
                (Some(index), s)
            }
            // Off: no operation is ever replayed into it.
            None => (None, u64::MAX),
        };
        let (vectorless, vectorless_seq) = if manifest.format >= 3 {
            read_vectorless(&backend, dir)?
        } else {
            // Older collections: every live point had a default vector.
            (Vec::new(), u64::MAX)
        };
        let (expiry, expiry_seq) = if manifest.format >= 4 {
            read_expiry(&backend, dir)?
        } else {
            // Older collections: no point had an expiry time.
            (ExpiryIndex::default(), u64::MAX)
        };
        let (graph, graph_seq) = match config.kind {
            crate::config::CollectionKind::Graph if manifest.format >= 5 => {
                let (graph, s) = read_graph_image(&backend, dir)?;
                (Some(graph), s)
            }
            crate::config::CollectionKind::Graph => {
                return Err(Error::corruption(
                    dir.join(MANIFEST_FILE).display(),
                    format!(
                        "a graph collection in a format {} manifest (graphs start at 5)",
                        manifest.format
                    ),
                ));
            }
            // No graph: no operation is ever replayed into one.
            _ => (None, u64::MAX),
        };
        let (spaces, space_seqs) = open_spaces(&backend, dir, &config)?;
        let spaces_seq = space_seqs.iter().map(|s| s.1).min().unwrap_or(u64::MAX);
        let mut sparse = std::collections::BTreeMap::new();
        let mut sparse_seqs = Vec::new();
        for name in &manifest.sparse_names {
            let (index, s) = read_sparse_index(&backend, dir, name)?;
            sparse.insert(name.clone(), index);
            sparse_seqs.push((dir.join(sparse_file(name)), s));
        }
        for (file, component_seq) in [
            (dir.join(PAYLOADS_DIR).join(PAYLOAD_LOG_FILE), payload_mark),
            (hnsw_path.clone(), index_seq),
            (dir.join(FIELD_INDEX_FILE), fields_seq),
            (dir.join(text_file(manifest.text_generation)), text_seq),
            (dir.join(VECTORLESS_FILE), vectorless_seq),
            (dir.join(EXPIRY_FILE), expiry_seq),
            (dir.join(GRAPH_FILE), graph_seq),
        ]
        .into_iter()
        .chain(sparse_seqs)
        .chain(space_seqs)
        {
            if component_seq < seq {
                return Err(Error::corruption(
                    file.display(),
                    format!(
                        "reflects operation {component_seq}, but the last checkpoint covers \
                         operation {seq} (the log no longer holds the operations in between)"
                    ),
                ));
            }
        }
        let mut tail = Vec::new();
        let oplog = OpLog::open(
            backend.as_ref(),
            &dir.join(OPS_FILE),
            config.durability,
            seq + 1,
            |op_seq, bytes| {
                if op_seq > seq {
                    tail.push((op_seq, bytes.to_vec()));
                }
                Ok(())
            },
        )?;
        let live: RoaringTreemap = vectors.ids().into_iter().chain(vectorless).collect();
        let dim = config.dim;
        let ef_search = config.hnsw.ef_search;
        let collection = Collection {
            name,
            dir: dir.to_path_buf(),
            config,
            backend,
            vectors,
            payloads,
            index,
            read_damage,
            spaces,
            state: RwLock::new(State {
                live,
                overlay: Default::default(),
                fields,
                text,
                sparse,
                expiry,
                graph,
                pending: RoaringTreemap::new(),
            }),
            writer: Mutex::new(Writer {
                ops: oplog,
                checkpoint_seq: seq,
                text_generation: manifest.text_generation,
                poisoned: None,
                stream: super::streaming::StreamQueue::default(),
            }),
            dropped: AtomicBool::new(false),
            streaming: Mutex::new(None),
            ef_search: std::sync::atomic::AtomicUsize::new(ef_search),
            wall_clock: RwLock::new(Arc::new(crate::request::SystemWallClock)),
            backlog: Default::default(),
        };
        // Consecutive upserts replay as one batch (the index links them in parallel); a
        // later duplicate in a batch wins, exactly as in log order.
        let mut pending: Option<(Targets, Vec<crate::point::Point>)> = None;
        for (op_seq, bytes) in tail {
            let op = ops::decode(&bytes, dim)?;
            let targets = Targets {
                payloads: op_seq > payload_mark,
                fields: op_seq > fields_seq,
                index: op_seq > index_seq,
                text: op_seq > text_seq,
                // Replaying into a sparse index is idempotent (see `sparse.rs`): every
                // operation after the manifest's number goes to all of them.
                sparse: true,
                spaces: op_seq > spaces_seq,
                graph: op_seq > graph_seq,
            };
            match op {
                ops::Op::Upsert(points) => match &mut pending {
                    Some((t, batch)) if *t == targets && batch.len() < REPLAY_BATCH_POINTS => {
                        batch.extend(points);
                    }
                    _ => {
                        if let Some((t, batch)) = pending.replace((targets, points)) {
                            collection.replay_upsert(batch, t)?;
                        }
                    }
                },
                other => {
                    // A delete, a payload or an edge write: the upserts before it first.
                    if let Some((t, batch)) = pending.take() {
                        collection.replay_upsert(batch, t)?;
                    }
                    match other {
                        ops::Op::Graph(op) => {
                            if targets.graph {
                                collection.apply_graph_op(op_seq, &op)?;
                            }
                        }
                        other => collection.apply(other, targets)?,
                    }
                }
            }
        }
        if let Some((t, batch)) = pending {
            collection.replay_upsert(batch, t)?;
        }
        {
            // Every replayed operation set or cleared its points' times in log order; a
            // file written after the manifest may still name points deleted since.
            let mut st = collection.state.write();
            let State { live, expiry, .. } = &mut *st;
            expiry.retain_live(live);
        }
        collection.derive_pending();
        collection.check_components_agree()?;
        collection.check_spaces_agree()?;
        Ok(collection)
    }

    /// Checkpoints when anything was logged, or the background indexing linked points,
    /// since the last checkpoint.
    pub(crate) fn checkpoint_locked(&self, w: &mut Writer) -> Result<()> {
        // A batch the background indexing links now is folded in first (also below).
        self.settle_linking();
        if w.ops.next_seq() - 1 == w.checkpoint_seq && !self.linked_since_checkpoint() {
            return Ok(());
        }
        self.checkpoint_forced(w)
    }

    /// Checkpoints unconditionally (used after a payload index changes).
    pub(crate) fn checkpoint_forced(&self, w: &mut Writer) -> Result<()> {
        // The log is emptied below: every operation in it must be applied first.
        self.apply_streamed(w)?;
        // The index is saved below: no batch of the background indexing may be linking
        // into it (a failed one leaves its ids waiting, re-derived by the next open).
        self.settle_linking();
        let seq = w.ops.next_seq() - 1;
        w.ops.sync()?;
        let live = self.index.len();
        if self.index.slots() > live + live / 5 + 64 {
            self.index.vacuum();
        }
        self.index
            .save(self.backend.as_ref(), &self.dir.join(HNSW_FILE), seq)?;
        self.checkpoint_spaces(seq)?;
        let encoded_fields = self.state.read().fields.encode();
        write_field_indexes(&self.backend, &self.dir, &encoded_fields, seq)?;
        if let Some(image) = self.text_image() {
            write_text_index(&self.backend, &self.dir, w.text_generation, &image, seq)?;
        }
        let vectorless = {
            let st = self.state.read();
            let stored: RoaringTreemap = self.vectors.ids().into_iter().collect();
            &st.live - &stored
        };
        write_vectorless(&self.backend, &self.dir, &vectorless, seq)?;
        let expiry = self.state.read().expiry.clone();
        write_expiry(&self.backend, &self.dir, &expiry, seq)?;
        if let Some(image) = self.graph_image() {
            write_graph_image(&self.backend, &self.dir, &image, seq)?;
        }
        let mut sparse_names = Vec::new();
        for (name, image) in self.sparse_images() {
            write_sparse_index(&self.backend, &self.dir, &name, &image, seq)?;
            sparse_names.push(name);
        }
        let changes: Vec<(u64, Option<Arc<serde_json::Value>>)> = {
            let st = self.state.read();
            st.overlay.iter().map(|(id, p)| (*id, p.clone())).collect()
        };
        let refs: Vec<(u64, Option<&serde_json::Value>)> =
            changes.iter().map(|(id, p)| (*id, p.as_deref())).collect();
        self.payloads.apply(&refs, seq)?;
        self.payloads.flush()?;
        let payloads_len = self.payloads.log_len();
        // Only the writer adds overlay entries, and it is here: everything in the overlay
        // is now in the payload store.
        self.state.write().overlay.clear();
        self.vectors.flush()?;
        write_manifest(
            &self.backend,
            &self.dir,
            &Manifest {
                payloads_len,
                text_generation: w.text_generation,
                sparse_names,
                ..Manifest::new(&self.name, &self.current_config(), seq)
            },
        )?;
        w.ops.reset()?;
        w.checkpoint_seq = seq;
        self.checkpoint_done();
        Ok(())
    }
}
