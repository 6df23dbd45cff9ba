//! Creating, opening (recovery) and checkpointing a collection.
//!
//! Checkpoint order, and why: (1) sync the operation log, so everything below is covered by
//! it; (2) save the HNSW index, (3) the payload indexes, each recording the sequence number
//! `S` it reflects; (4) write the payload overlay into the payload store with mark `S` (one
//! atomic group), *after* the payload indexes, so the payload store is never ahead of them;
//! (5) checkpoint the vector store; (6) write the manifest with `S`; (7) empty the log.
//! A crash anywhere leaves every component at the previous checkpoint or at `S`, with the
//! log still holding every operation after the manifest's number.
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

use super::write::Targets;
use super::{
    Collection, FIELD_INDEX_FILE, HNSW_FILE, MANIFEST_FILE, OPS_FILE, PAYLOADS_DIR, State,
    VECTORS_DIR, Writer, ops,
};
use crate::config::{CollectionConfig, ConfigRecord};
use crate::error::{Error, Result};
use nearstore_filter::PayloadIndexes;
use nearstore_index::{HnswIndex, VectorIndex};
use nearstore_storage::sections::{read_sections, write_sections};
use nearstore_storage::{
    Durability, OpLog, PayloadStore, PayloadStoreOptions, SharedBackend, VectorStore,
    VectorStoreOptions,
};

const MANIFEST_MAGIC: [u8; 8] = *b"NSCOLMF1";
const FIELD_INDEX_MAGIC: [u8; 8] = *b"NSPIDX01";
const MANIFEST_FORMAT: u32 = 1;
/// Largest batch of logged upserts replayed at once.
const REPLAY_BATCH_POINTS: usize = 20_000;

/// The collection manifest's content.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    name: String,
    config: ConfigRecord,
    /// The operation sequence number the last checkpoint reflects.
    checkpoint_seq: u64,
}

fn write_manifest(
    backend: &SharedBackend,
    dir: &Path,
    name: &str,
    config: &CollectionConfig,
    seq: u64,
) -> Result<()> {
    let m = Manifest {
        format: MANIFEST_FORMAT,
        name: name.to_string(),
        config: ConfigRecord::from(config),
        checkpoint_seq: seq,
    };
    let json = serde_json::to_vec(&m).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    write_sections(
        backend.as_ref(),
        &dir.join(MANIFEST_FILE),
        &MANIFEST_MAGIC,
        &[&json],
    )?;
    Ok(())
}

fn read_manifest(backend: &SharedBackend, dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let sections = read_sections(backend.as_ref(), &path, &MANIFEST_MAGIC)?;
    let [json] = sections.as_slice() else {
        return Err(Error::corruption(path.display(), "expected one section"));
    };
    let m: Manifest = serde_json::from_slice(json)
        .map_err(|e| Error::corruption(path.display(), e.to_string()))?;
    if m.format != MANIFEST_FORMAT {
        return Err(Error::corruption(
            path.display(),
            format!("manifest format {} is not {MANIFEST_FORMAT}", m.format),
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

fn read_field_indexes(backend: &SharedBackend, dir: &Path) -> Result<(PayloadIndexes, u64)> {
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
    /// Creates the files of a new, empty collection in `dir` and opens it.
    pub(crate) fn create(
        backend: SharedBackend,
        dir: &Path,
        name: &str,
        config: CollectionConfig,
    ) -> Result<Collection> {
        config.validate()?;
        backend.create_dir_all(dir)?;
        let index = HnswIndex::new(config.dim, config.metric, config.hnsw)?;
        index.save(backend.as_ref(), &dir.join(HNSW_FILE), 0)?;
        write_field_indexes(&backend, dir, &PayloadIndexes::new().encode(), 0)?;
        write_manifest(&backend, dir, name, &config, 0)?;
        Collection::open(backend, dir)
    }

    /// Opens the collection in `dir`, replaying its operation log.
    pub(crate) fn open(backend: SharedBackend, dir: &Path) -> Result<Collection> {
        let manifest = read_manifest(&backend, dir)?;
        let config = CollectionConfig::from(&manifest.config);
        let name = manifest.name;
        let seq = manifest.checkpoint_seq;
        let vectors = VectorStore::open_with(
            backend.clone(),
            &dir.join(VECTORS_DIR),
            config.dim,
            VectorStoreOptions {
                durability: Durability::Bulk,
                ..VectorStoreOptions::default()
            },
        )?;
        let payloads = PayloadStore::open_with(
            backend.clone(),
            &dir.join(PAYLOADS_DIR),
            PayloadStoreOptions {
                durability: Durability::Flush,
                max_payload_bytes: config
                    .max_payload_bytes
                    .max(PayloadStoreOptions::default().max_payload_bytes),
                ..PayloadStoreOptions::default()
            },
        )?;
        let payload_mark = payloads.mark();
        let hnsw_path = dir.join(HNSW_FILE);
        let (index, index_seq) = HnswIndex::load(backend.as_ref(), &hnsw_path)?;
        if index.dimension() != config.dim || index.metric() != config.metric {
            return Err(Error::corruption(
                hnsw_path.display(),
                "index dimension or metric differs from the manifest",
            ));
        }
        let (fields, fields_seq) = read_field_indexes(&backend, dir)?;
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
        let live: RoaringTreemap = vectors.ids().into_iter().collect();
        let collection = Collection {
            name,
            dir: dir.to_path_buf(),
            config,
            backend,
            vectors,
            payloads,
            index,
            state: RwLock::new(State {
                live,
                overlay: Default::default(),
                fields,
            }),
            writer: Mutex::new(Writer {
                ops: oplog,
                checkpoint_seq: seq,
                poisoned: None,
            }),
            dropped: AtomicBool::new(false),
            ef_search: std::sync::atomic::AtomicUsize::new(config.hnsw.ef_search),
        };
        // Consecutive upserts replay as one batch (the index links them in parallel); a
        // later duplicate in a batch wins, exactly as in log order.
        let mut pending: Option<(Targets, Vec<crate::point::Point>)> = None;
        for (op_seq, bytes) in tail {
            let op = ops::decode(&bytes, config.dim)?;
            let targets = Targets {
                payloads: op_seq > payload_mark,
                fields: op_seq > fields_seq,
                index: op_seq > index_seq,
            };
            match op {
                ops::Op::Upsert(points) => match &mut pending {
                    Some((t, batch)) if *t == targets && batch.len() < REPLAY_BATCH_POINTS => {
                        batch.extend(points);
                    }
                    _ => {
                        if let Some((t, batch)) = pending.replace((targets, points)) {
                            collection.apply(ops::Op::Upsert(batch), t)?;
                        }
                    }
                },
                delete => {
                    if let Some((t, batch)) = pending.take() {
                        collection.apply(ops::Op::Upsert(batch), t)?;
                    }
                    collection.apply(delete, targets)?;
                }
            }
        }
        if let Some((t, batch)) = pending {
            collection.apply(ops::Op::Upsert(batch), t)?;
        }
        Ok(collection)
    }

    /// Checkpoints when anything was logged since the last checkpoint.
    pub(crate) fn checkpoint_locked(&self, w: &mut Writer) -> Result<()> {
        if w.ops.next_seq() - 1 == w.checkpoint_seq {
            return Ok(());
        }
        self.checkpoint_forced(w)
    }

    /// Checkpoints unconditionally (used after a payload index changes).
    pub(crate) fn checkpoint_forced(&self, w: &mut Writer) -> Result<()> {
        let seq = w.ops.next_seq() - 1;
        w.ops.sync()?;
        let live = self.index.len();
        if self.index.slots() > live + live / 5 + 64 {
            self.index.vacuum();
        }
        self.index
            .save(self.backend.as_ref(), &self.dir.join(HNSW_FILE), seq)?;
        let encoded_fields = self.state.read().fields.encode();
        write_field_indexes(&self.backend, &self.dir, &encoded_fields, seq)?;
        let changes: Vec<(u64, Option<Arc<serde_json::Value>>)> = {
            let st = self.state.read();
            st.overlay.iter().map(|(id, p)| (*id, p.clone())).collect()
        };
        let refs: Vec<(u64, Option<&serde_json::Value>)> =
            changes.iter().map(|(id, p)| (*id, p.as_deref())).collect();
        self.payloads.apply(&refs, seq)?;
        self.payloads.flush()?;
        // Only the writer adds overlay entries, and it is here: everything in the overlay
        // is now in the payload store.
        self.state.write().overlay.clear();
        self.vectors.flush()?;
        write_manifest(
            &self.backend,
            &self.dir,
            &self.name,
            &self.current_config(),
            seq,
        )?;
        w.ops.reset()?;
        w.checkpoint_seq = seq;
        Ok(())
    }
}
