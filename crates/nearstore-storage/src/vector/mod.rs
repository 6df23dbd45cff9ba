//! The vector store: one directory, one fixed dimension, vectors by `u64` id.
//!
//! Files: `vectors.dat` (slots, mapped read-only), `vectors.wal` (checksummed log of every
//! write since the last checkpoint), `vectors.idx` (the id -> slot map as of a WAL position),
//! `vectors.lock`.
//!
//! Write path: validate -> reserve a fresh slot (growing the file with fallocate + remap if
//! needed) -> `pwrite` the vector into it -> append the WAL record -> (fsync in `PerWrite`) ->
//! publish the id -> slot change. A replaced or deleted vector's old slot is only freed after
//! the operation that freed it is durable and no read guard is alive; then its blocks are
//! released with `fallocate(PUNCH_HOLE)`. Slots are never reused: `compact()` (or the
//! automatic compaction at checkpoints of badly fragmented stores) rewrites live vectors into
//! a new file.
//!
//! Checkpoint: fsync `vectors.dat` -> write `vectors.idx` atomically (it records the last WAL
//! sequence number it reflects) -> truncate the WAL. Open replays only WAL records newer than
//! the checkpoint (idempotently: each record names its slot), then checkpoints before
//! dropping the WAL, so a crash during recovery just recovers again.

mod checkpoint;
mod data_file;
mod guard;
mod verify;
mod wal;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use rustc_hash::FxHashMap;

pub use checkpoint::{Checkpoint, SlotRef};
pub use guard::VectorGuard;
pub use verify::verify_data_file;
use verify::verify_slots;

/// Reads and checks the header of a `vectors.dat` file (for inspection).
pub fn read_data_header(file: &dyn crate::backend::StorageFile) -> Result<DataHeader> {
    DataHeader::read(file)
}

use self::checkpoint::encode_checkpoint;
pub use self::data_file::DataHeader;
use self::data_file::{DataFile, compaction_path, slot_offset};
use self::wal::{WalOp, WalRecordBuilder};
use crate::backend::{
    Backend, LockGuard, Mapping, SharedBackend, fs_backend, temp_path, write_file_atomically,
    write_synced,
};
use crate::durability::Durability;
use crate::error::{Error, Result};
use crate::format::{Encode, MAX_DIMENSION, VECTOR_WAL_MAGIC, slot_crc};
use crate::log::RecordLog;
use crate::metrics::VectorStoreMetrics;

/// File names inside a vector store directory.
pub const DATA_FILE: &str = "vectors.dat";
/// The write-ahead log.
pub const WAL_FILE: &str = "vectors.wal";
/// The checkpointed id -> slot map.
pub const INDEX_FILE: &str = "vectors.idx";
/// The lock file.
pub const LOCK_FILE: &str = "vectors.lock";

/// Options for opening a vector store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorStoreOptions {
    /// When writes become durable.
    pub durability: Durability,
    /// Smallest growth step of the data file, in bytes (the first allocation is this big).
    pub initial_capacity_bytes: u64,
    /// A checkpoint is taken when the WAL grows past this many bytes.
    pub checkpoint_wal_bytes: u64,
}

impl Default for VectorStoreOptions {
    fn default() -> Self {
        VectorStoreOptions {
            durability: Durability::Flush,
            initial_capacity_bytes: 4 << 20,
            checkpoint_wal_bytes: 64 << 20,
        }
    }
}

/// Stores with at least this many slots compact automatically at a checkpoint when more than
/// half of their slots are dead.
const AUTO_COMPACT_MIN_SLOTS: u64 = 4096;

/// Ids a batch read ([`VectorStore::with_vectors`]) looks up before reading their vectors.
const READ_CHUNK: usize = 32;

/// How many vectors ahead of the one being read a batch read announces to the cache.
/// Measured on a 100k x 128 RaBitQ index (its benchmark source reads the same way): with 18
/// candidates rescored a query, looking the ids up first and reading 6 ahead (instead of
/// announcing a batch of 16 and then reading it) took rescoring from 3.8-4.5 to 3.0-3.2 µs
/// a query, 3 and 8 ahead were in between, and announcing the whole batch after the lookups
/// was no better than before; with 40 candidates a query ran 8 % more queries a second.
pub const VECTOR_READ_AHEAD: usize = 6;

/// What readers see: the id -> slot map and the mapping the slots live in.
#[derive(Debug)]
struct IdIndex {
    slots: FxHashMap<u64, SlotRef>,
    mapping: Arc<dyn Mapping>,
}

/// What only the (single) writer touches.
#[derive(Debug)]
struct Writer {
    data: DataFile,
    wal: RecordLog,
    high_water: u64,
    next_lsn: u64,
    synced_lsn: u64,
    /// Slots freed by the operation with the given sequence number, not yet reclaimed.
    pending: Vec<(u64, u32)>,
    poisoned: Option<String>,
    options: VectorStoreOptions,
    metrics: VectorStoreMetrics,
}

impl Writer {
    fn check_poisoned(&self) -> Result<()> {
        match &self.poisoned {
            Some(reason) => Err(Error::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    /// Records `err` as the reason this store can no longer be written.
    fn poison<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            self.poisoned = Some(e.to_string());
        }
        result
    }

    fn sync_wal(&mut self) -> Result<()> {
        let r = self.wal.sync();
        self.poison(r)?;
        self.synced_lsn = self.next_lsn - 1;
        Ok(())
    }
}

/// A fixed-dimension store of `f32` vectors keyed by `u64` id, crash-safe on disk.
///
/// All methods take `&self`; the store is `Send + Sync` (wrap it in an `Arc` to share it).
/// Writes are serialized; reads run concurrently with each other and with writes.
#[derive(Debug)]
pub struct VectorStore {
    dir: PathBuf,
    dim: usize,
    backend: SharedBackend,
    index: RwLock<IdIndex>,
    writer: Mutex<Writer>,
    live_guards: Arc<AtomicUsize>,
    data_path: PathBuf,
    _lock: Box<dyn LockGuard>,
}

struct Paths {
    data: PathBuf,
    wal: PathBuf,
    index: PathBuf,
}

impl Paths {
    fn new(dir: &Path) -> Self {
        Paths {
            data: dir.join(DATA_FILE),
            wal: dir.join(WAL_FILE),
            index: dir.join(INDEX_FILE),
        }
    }
}

impl VectorStore {
    /// Opens (creating if needed) the store in `dir` on the real file system with default
    /// options.
    pub fn open(dir: impl AsRef<Path>, dim: usize) -> Result<Self> {
        Self::open_with(
            fs_backend(),
            dir.as_ref(),
            dim,
            VectorStoreOptions::default(),
        )
    }

    /// Opens (creating if needed) the store in `dir` through `backend`, recovering from the
    /// WAL if the last run did not end with a checkpoint.
    pub fn open_with(
        backend: SharedBackend,
        dir: &Path,
        dim: usize,
        options: VectorStoreOptions,
    ) -> Result<Self> {
        if dim == 0 || dim > MAX_DIMENSION {
            return Err(Error::InvalidArgument(format!(
                "dimension must be 1..={MAX_DIMENSION}, got {dim}"
            )));
        }
        backend.create_dir_all(dir)?;
        let lock = backend.lock(&dir.join(LOCK_FILE), dir)?;
        let paths = Paths::new(dir);
        let b = backend.as_ref();
        let compact = compaction_path(&paths.data);
        if b.exists(&compact)? {
            b.remove_file(&compact)?;
        }
        let (data, checkpoint) = match Self::open_existing(b, &paths, dim, &options)? {
            Some(found) => found,
            None => Self::create_files(b, &paths, dim, &options)?,
        };
        Self::recover(
            backend.clone(),
            lock,
            dir,
            &paths,
            data,
            checkpoint,
            options,
        )
    }

    /// Creates the three files of an empty store; `vectors.idx` last, as the commit point.
    fn create_files(
        b: &dyn Backend,
        paths: &Paths,
        dim: usize,
        options: &VectorStoreOptions,
    ) -> Result<(DataFile, Checkpoint)> {
        let header = DataHeader {
            dim: dim as u32,
            generation: 0,
        };
        let mut data = DataFile::create(b, &paths.data, header, options.initial_capacity_bytes)?;
        data.ensure_capacity(1)?;
        RecordLog::create(b, &paths.wal, &VECTOR_WAL_MAGIC, dim as u64)?;
        let checkpoint = Checkpoint {
            dim: dim as u32,
            has_slot_crcs: true,
            ..Checkpoint::default()
        };
        write_file_atomically(b, &paths.index, &checkpoint.encode())?;
        Ok((data, checkpoint))
    }

    /// Opens the data file and the checkpoint of an existing store; `None` when there is no
    /// store here yet (or only the leftovers of a creation that never reached its commit).
    fn open_existing(
        b: &dyn Backend,
        paths: &Paths,
        dim: usize,
        options: &VectorStoreOptions,
    ) -> Result<Option<(DataFile, Checkpoint)>> {
        let tmp = temp_path(&paths.index);
        let has_index = b.exists(&paths.index)? || b.exists(&tmp)?;
        if !b.exists(&paths.data)? {
            if has_index {
                return Err(Error::corruption(&paths.data, 0, "vectors.dat is missing"));
            }
            return Ok(None);
        }
        let data = DataFile::open(b, &paths.data, options.initial_capacity_bytes)?;
        let header = data.header();
        if header.dim as usize != dim {
            return Err(Error::DimensionMismatch {
                expected: header.dim as usize,
                actual: dim,
            });
        }
        Self::promote_pending_checkpoint(b, paths, header.generation)?;
        let Some(checkpoint) = Checkpoint::read_path(b, &paths.index)? else {
            // No commit point: a creation that crashed. Safe to start over only if no write
            // could have happened, i.e. the WAL holds no record.
            if b.exists(&paths.wal)? {
                let wal = b.open(&paths.wal, false)?;
                let stats = crate::log::scan(wal.as_ref(), |_, _| Ok(()));
                if stats.map_or(true, |s| s.records > 0) {
                    return Err(Error::corruption(&paths.index, 0, "vectors.idx is missing"));
                }
            }
            return Ok(None);
        };
        if checkpoint.generation != header.generation || checkpoint.dim != header.dim {
            return Err(Error::corruption(
                &paths.index,
                0,
                format!(
                    "checkpoint is for generation {} / dim {}, data file is generation {} / dim {}",
                    checkpoint.generation, checkpoint.dim, header.generation, header.dim
                ),
            ));
        }
        if checkpoint.high_water > data.capacity() {
            return Err(Error::corruption(
                &paths.data,
                0,
                format!(
                    "data file holds {} slots but the checkpoint uses {}",
                    data.capacity(),
                    checkpoint.high_water
                ),
            ));
        }
        if !b.exists(&paths.wal)? {
            return Err(Error::corruption(&paths.wal, 0, "vectors.wal is missing"));
        }
        Ok(Some((data, checkpoint)))
    }

    /// A checkpoint written to `vectors.idx.tmp` but not yet renamed (a crash inside a
    /// checkpoint or compaction) is completed when it is whole and matches the data file.
    fn promote_pending_checkpoint(b: &dyn Backend, paths: &Paths, generation: u64) -> Result<()> {
        let tmp = temp_path(&paths.index);
        if !b.exists(&tmp)? {
            return Ok(());
        }
        let pending = Checkpoint::read_path(b, &tmp).ok().flatten();
        let current = Checkpoint::read_path(b, &paths.index).ok().flatten();
        let promote = pending.is_some_and(|p| {
            p.generation == generation
                && current
                    .as_ref()
                    .is_none_or(|c| c.generation != generation || p.lsn >= c.lsn)
        });
        if promote {
            b.rename(&tmp, &paths.index)?;
        } else {
            b.remove_file(&tmp)?;
        }
        b.sync_dir(crate::backend::parent_dir(&paths.index))
    }

    /// Replays the WAL tail over the checkpoint and, if anything was replayed, checkpoints.
    fn recover(
        backend: SharedBackend,
        lock: Box<dyn LockGuard>,
        dir: &Path,
        paths: &Paths,
        mut data: DataFile,
        checkpoint: Checkpoint,
        options: VectorStoreOptions,
    ) -> Result<Self> {
        let dim = checkpoint.dim as usize;
        let upgrade = !checkpoint.has_slot_crcs;
        let mut slots = checkpoint.slots;
        if upgrade {
            // A version 1 checkpoint: its slots were never checksummed, so their CRCs are
            // taken from the data file as it is (what version 1 would have served) and
            // written by the checkpoint below.
            for s in slots.values_mut() {
                s.crc = slot_crc(s.slot, &data.read_slot(u64::from(s.slot))?);
            }
        }
        let mut high_water = checkpoint.high_water;
        let mut last_lsn = checkpoint.lsn;
        let mut replayed = 0u64;
        let wal_path = paths.wal.clone();
        let (wal, wal_dim, stats) = RecordLog::open(
            backend.as_ref(),
            &paths.wal,
            &VECTOR_WAL_MAGIC,
            |at, body| {
                let (lsn, ops) = wal::decode(body, dim, &wal_path, at)?;
                if lsn <= checkpoint.lsn {
                    return Ok(());
                }
                if lsn <= last_lsn {
                    return Err(Error::corruption(
                        &wal_path,
                        at,
                        format!("sequence number {lsn} after {last_lsn}"),
                    ));
                }
                last_lsn = lsn;
                replayed += 1;
                for op in ops {
                    match op {
                        WalOp::Put { id, slot, vector } => {
                            let slot64 = u64::from(slot);
                            // Writes take slots in order from the high-water mark, so a
                            // logged put never lands past it: a record that claims a slot
                            // beyond is damaged (and would otherwise grow the data file
                            // to that slot).
                            if slot64 > high_water {
                                return Err(Error::corruption(
                                    &wal_path,
                                    at,
                                    format!(
                                        "put of id {id} into slot {slot}, past the next free \
                                         slot {high_water}"
                                    ),
                                ));
                            }
                            data.ensure_capacity(slot64 + 1)?;
                            data.write_slots(slot64, vector)?;
                            let crc = slot_crc(slot, vector);
                            slots.insert(id, SlotRef { slot, crc });
                            high_water = high_water.max(slot64 + 1);
                        }
                        WalOp::Delete { id } => {
                            slots.remove(&id);
                        }
                    }
                }
                Ok(())
            },
        )?;
        if wal_dim != dim as u64 {
            return Err(Error::corruption(
                &paths.wal,
                12,
                format!("WAL is for dimension {wal_dim}, store is {dim}"),
            ));
        }
        let mut metrics = VectorStoreMetrics {
            wal_records_replayed: replayed,
            ..VectorStoreMetrics::default()
        };
        if stats.torn_bytes > 0 {
            metrics.torn_tails_truncated = 1;
            metrics.torn_bytes = stats.torn_bytes;
        }
        let needs_checkpoint = upgrade || wal.end() > wal.records_start();
        verify_slots(&slots, data.mapping(), dim, &paths.data)?;
        let store = VectorStore {
            dir: dir.to_path_buf(),
            dim,
            index: RwLock::new(IdIndex {
                slots,
                mapping: data.mapping().clone(),
            }),
            writer: Mutex::new(Writer {
                data,
                wal,
                high_water,
                next_lsn: last_lsn + 1,
                synced_lsn: last_lsn,
                pending: Vec::new(),
                poisoned: None,
                options,
                metrics,
            }),
            live_guards: Arc::new(AtomicUsize::new(0)),
            data_path: paths.data.clone(),
            backend,
            _lock: lock,
        };
        if needs_checkpoint {
            let mut w = store.writer.lock();
            store.checkpoint_locked(&mut w)?;
        }
        Ok(store)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The vector dimension.
    pub fn dimension(&self) -> usize {
        self.dim
    }

    /// Number of distinct ids stored.
    pub fn len(&self) -> usize {
        self.index.read().slots.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `id` is stored.
    pub fn contains(&self, id: u64) -> bool {
        self.index.read().slots.contains_key(&id)
    }

    /// Every stored id, in no particular order.
    pub fn ids(&self) -> Vec<u64> {
        self.index.read().slots.keys().copied().collect()
    }

    /// The durability mode the store was opened with.
    pub fn durability(&self) -> Durability {
        self.writer.lock().options.durability
    }

    fn check_dim(&self, v: &[f32]) -> Result<()> {
        if v.len() != self.dim {
            return Err(Error::DimensionMismatch {
                expected: self.dim,
                actual: v.len(),
            });
        }
        Ok(())
    }

    /// Stores (or replaces) one vector.
    pub fn store(&self, id: u64, vector: &[f32]) -> Result<()> {
        self.store_batch(&[(id, vector)])
    }

    /// Stores (or replaces) many vectors as one atomic, logged operation: after a crash either
    /// all of the batch is there or none of it. A later duplicate id in the batch wins.
    pub fn store_batch<V: AsRef<[f32]>>(&self, items: &[(u64, V)]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        for (_, v) in items {
            self.check_dim(v.as_ref())?;
        }
        let mut w = self.writer.lock();
        w.check_poisoned()?;
        let first = w.high_water;
        let n = items.len() as u64;
        if first + n > u64::from(u32::MAX) {
            return Err(Error::InvalidArgument(
                "the data file has used all 2^32 slots; run compact()".into(),
            ));
        }
        if w.data.ensure_capacity(first + n)? {
            self.index.write().mapping = w.data.mapping().clone();
        }
        let mut bytes = Vec::with_capacity(items.len() * self.dim * 4);
        for (_, v) in items {
            bytes.put_f32s(v.as_ref());
        }
        w.data.write_slots(first, &bytes)?;
        let lsn = w.next_lsn;
        if w.options.durability.logs_writes() {
            let stride = self.dim * 4;
            let mut record = WalRecordBuilder::new(lsn, bytes.len() + items.len() * 13);
            for (i, (id, _)) in items.iter().enumerate() {
                record.put(
                    *id,
                    (first + i as u64) as u32,
                    &bytes[i * stride..(i + 1) * stride],
                );
            }
            w.wal.append(&record.finish())?;
        }
        w.next_lsn += 1;
        w.high_water += n;
        {
            let mut index = self.index.write();
            let stride = self.dim * 4;
            for (i, (id, _)) in items.iter().enumerate() {
                let slot = (first + i as u64) as u32;
                let crc = slot_crc(slot, &bytes[i * stride..(i + 1) * stride]);
                if let Some(old) = index.slots.insert(*id, SlotRef { slot, crc }) {
                    w.pending.push((lsn, old.slot));
                }
            }
        }
        self.after_write(&mut w)
    }

    /// Deletes one vector; returns whether it existed.
    pub fn delete(&self, id: u64) -> Result<bool> {
        Ok(self.delete_batch(&[id])? == 1)
    }

    /// Deletes many vectors as one atomic, logged operation; returns how many existed.
    pub fn delete_batch(&self, ids: &[u64]) -> Result<usize> {
        let mut w = self.writer.lock();
        w.check_poisoned()?;
        let mut present: Vec<u64> = {
            let index = self.index.read();
            ids.iter()
                .copied()
                .filter(|id| index.slots.contains_key(id))
                .collect()
        };
        present.sort_unstable();
        present.dedup();
        if present.is_empty() {
            return Ok(0);
        }
        let lsn = w.next_lsn;
        if w.options.durability.logs_writes() {
            let mut record = WalRecordBuilder::new(lsn, present.len() * 9);
            for id in &present {
                record.delete(*id);
            }
            w.wal.append(&record.finish())?;
        }
        w.next_lsn += 1;
        {
            let mut index = self.index.write();
            for id in &present {
                if let Some(old) = index.slots.remove(id) {
                    w.pending.push((lsn, old.slot));
                }
            }
        }
        self.after_write(&mut w)?;
        Ok(present.len())
    }

    /// Per-write fsync, reclaim and checkpoint trigger, after a write was published.
    fn after_write(&self, w: &mut Writer) -> Result<()> {
        if w.options.durability == Durability::PerWrite {
            w.sync_wal()?;
            self.reclaim(w, w.synced_lsn);
        }
        if w.wal.end() > w.options.checkpoint_wal_bytes {
            self.checkpoint_locked(w)?;
        }
        Ok(())
    }

    /// Copies a vector out; `None` for an unknown id.
    pub fn retrieve(&self, id: u64) -> Result<Option<Vec<f32>>> {
        Ok(self.retrieve_ref(id)?.map(|g| g.to_vec()))
    }

    /// A zero-copy guard over a stored vector; `None` for an unknown id. Several guards may
    /// be alive at once; a guard keeps showing the vector it was made for even if the id is
    /// updated or deleted meanwhile (a guard taken later sees the new data).
    pub fn retrieve_ref(&self, id: u64) -> Result<Option<VectorGuard>> {
        let index = self.index.read();
        let Some(&slot) = index.slots.get(&id) else {
            return Ok(None);
        };
        let offset = slot_offset(u64::from(slot.slot), self.dim as u64 * 4);
        VectorGuard::new(
            index.mapping.clone(),
            offset,
            self.dim,
            self.live_guards.clone(),
            &self.data_path,
            slot,
        )
        .map(Some)
    }

    /// Calls `f(i, vector)` for each `ids[i]` the store holds, in order (skipping the
    /// others), under one read lock of the id map: a batch costs one lock, not one per id
    /// (readers of many vectors at once, such as a quantized index rescoring its
    /// candidates). Each vector's checksum is verified; a damaged slot is
    /// `Error::Corruption` (the vectors before it have been passed to `f`).
    ///
    /// The ids are looked up [`READ_CHUNK`] at a time before any vector is read (the
    /// lookups' cache misses overlap instead of each waiting behind the read before it),
    /// and each vector is announced to the cache [`VECTOR_READ_AHEAD`] places before it is
    /// verified and passed.
    pub fn with_vectors(&self, ids: &[u64], f: &mut dyn FnMut(usize, &[f32])) -> Result<()> {
        let index = self.index.read();
        let stride = self.dim as u64 * 4;
        let mapping = index.mapping.as_ref();
        for (c, chunk) in ids.chunks(READ_CHUNK).enumerate() {
            let mut found: [Option<(SlotRef, u64)>; READ_CHUNK] = [None; READ_CHUNK];
            for (place, id) in found.iter_mut().zip(chunk) {
                *place = index
                    .slots
                    .get(id)
                    .map(|&slot| (slot, slot_offset(u64::from(slot.slot), stride)));
            }
            let hint = |place: Option<&Option<(SlotRef, u64)>>| {
                if let Some(&Some((_, offset))) = place
                    && let Some((vector, _)) = guard::mapped_vector(mapping, offset, self.dim)
                {
                    nearstore_distance::prefetch_ahead(vector);
                }
            };
            for ahead in 0..VECTOR_READ_AHEAD {
                hint(found.get(ahead));
            }
            for (i, place) in found.iter().take(chunk.len()).enumerate() {
                hint(found.get(i + VECTOR_READ_AHEAD));
                let Some((slot, offset)) = *place else {
                    continue;
                };
                let Some((vector, bytes)) = guard::mapped_vector(mapping, offset, self.dim) else {
                    return Err(Error::corruption(
                        &self.data_path,
                        offset,
                        format!("vector slot {} is outside the mapping", slot.slot),
                    ));
                };
                let actual = crate::format::slot_crc(slot.slot, bytes);
                if actual != slot.crc {
                    return Err(Error::corruption(
                        &self.data_path,
                        offset,
                        format!(
                            "vector slot {} checksum mismatch (stored {:#010x}, computed {actual:#010x})",
                            slot.slot, slot.crc
                        ),
                    ));
                }
                f(c * READ_CHUNK + i, vector);
            }
        }
        Ok(())
    }

    /// The durability barrier: once it returns, every earlier write survives power loss. In
    /// [`Durability::Bulk`] it writes a checkpoint.
    pub fn flush(&self) -> Result<()> {
        let mut w = self.writer.lock();
        self.flush_locked(&mut w)
    }

    fn flush_locked(&self, w: &mut Writer) -> Result<()> {
        w.check_poisoned()?;
        if !w.options.durability.logs_writes() {
            return self.checkpoint_locked(w);
        }
        w.sync_wal()?;
        self.reclaim(w, w.synced_lsn);
        if w.wal.end() > w.options.checkpoint_wal_bytes {
            self.checkpoint_locked(w)?;
        }
        Ok(())
    }

    /// Writes a checkpoint now: the data file is synced, the id map is saved with the WAL
    /// position it reflects, and the WAL is emptied.
    pub fn checkpoint(&self) -> Result<()> {
        let mut w = self.writer.lock();
        self.checkpoint_locked(&mut w)
    }

    fn checkpoint_locked(&self, w: &mut Writer) -> Result<()> {
        w.check_poisoned()?;
        let dead = w.high_water - self.len() as u64;
        if w.high_water >= AUTO_COMPACT_MIN_SLOTS && dead * 2 > w.high_water {
            return self.compact_locked(w).map(|_| ());
        }
        let r = w.data.sync();
        w.poison(r)?;
        let lsn = w.next_lsn - 1;
        let bytes = {
            let index = self.index.read();
            let header = w.data.header();
            encode_checkpoint(
                header.dim,
                header.generation,
                lsn,
                w.high_water,
                &index.slots,
            )
        };
        let index_path = self.dir.join(INDEX_FILE);
        write_file_atomically(self.backend.as_ref(), &index_path, &bytes)?;
        let r = w.wal.reset();
        w.poison(r)?;
        w.synced_lsn = lsn;
        w.metrics.checkpoints += 1;
        self.reclaim(w, lsn);
        Ok(())
    }

    /// Releases the blocks of slots freed by operations up to `durable_lsn`, unless a read
    /// guard is alive (then they wait for a later flush). Failures only cost disk space.
    fn reclaim(&self, w: &mut Writer, durable_lsn: u64) {
        if w.pending.is_empty() {
            return;
        }
        let no_guards = {
            // Guards are created under the read lock, for slots in the map only; freed slots
            // are no longer in the map, so a zero count seen under the write lock stays true
            // for them after the lock is released.
            let _exclusive = self.index.write();
            self.live_guards.load(Ordering::Acquire) == 0
        };
        if !no_guards {
            return;
        }
        let mut ready = Vec::new();
        w.pending.retain(|&(lsn, slot)| {
            let is_ready = lsn <= durable_lsn;
            if is_ready {
                ready.push(slot);
            }
            !is_ready
        });
        // Punching is an optimisation: a failure leaves dead bytes that compaction removes.
        let _ = w.data.punch_slots(&mut ready);
    }

    /// Fraction of the data file's used slots that hold no live vector (0 when empty).
    pub fn fragmentation_ratio(&self) -> f64 {
        let high_water = self.writer.lock().high_water;
        if high_water == 0 {
            return 0.0;
        }
        (high_water - self.len() as u64) as f64 / high_water as f64
    }

    /// Rewrites the live vectors densely into a new data file and returns the bytes reclaimed
    /// (0 when there are no dead slots). Crash-safe: the new file and its checkpoint are
    /// complete and synced before they replace the old ones. Like `flush()`, it is a
    /// durability barrier.
    pub fn compact(&self) -> Result<u64> {
        let mut w = self.writer.lock();
        self.compact_locked(&mut w)
    }

    fn compact_locked(&self, w: &mut Writer) -> Result<u64> {
        w.check_poisoned()?;
        let live = self.len() as u64;
        let dead = w.high_water - live;
        if dead == 0 {
            self.flush_locked(w)?;
            return Ok(0);
        }
        let b = self.backend.as_ref();
        let paths = Paths::new(&self.dir);
        let compact_path = compaction_path(&paths.data);
        let old = w.data.header();
        let header = DataHeader {
            dim: old.dim,
            generation: old.generation + 1,
        };
        let min_grow = w.options.initial_capacity_bytes;
        let mut fresh = DataFile::create(b, &compact_path, header, min_grow)?;
        fresh.grow_to(live.max(1))?;
        let mut by_slot: Vec<(u32, u64)> = {
            let index = self.index.read();
            index.slots.iter().map(|(&id, s)| (s.slot, id)).collect()
        };
        by_slot.sort_unstable();
        let mut new_slots = FxHashMap::with_capacity_and_hasher(by_slot.len(), Default::default());
        let mut chunk = Vec::with_capacity(1 << 20);
        let mut chunk_start = 0u64;
        for (i, &(_, id)) in by_slot.iter().enumerate() {
            let guard = self
                .retrieve_ref(id)?
                .ok_or_else(|| Error::InvalidArgument("id vanished during compaction".into()))?;
            let slot = i as u32;
            new_slots.insert(
                id,
                SlotRef {
                    slot,
                    crc: slot_crc(slot, guard.bytes()),
                },
            );
            chunk.put_f32s(&guard);
            if chunk.len() >= 1 << 20 {
                fresh.write_slots(chunk_start, &chunk)?;
                chunk_start = i as u64 + 1;
                chunk.clear();
            }
        }
        fresh.write_slots(chunk_start, &chunk)?;
        fresh.sync()?;
        drop(fresh);
        let lsn = w.next_lsn - 1;
        let checkpoint = encode_checkpoint(header.dim, header.generation, lsn, live, &new_slots);
        let tmp = temp_path(&paths.index);
        write_synced(b, &tmp, &[&checkpoint])?;
        let dir = crate::backend::parent_dir(&paths.data);
        // From the first rename on, a crash is completed by `promote_pending_checkpoint`.
        let r = b
            .rename(&compact_path, &paths.data)
            .and_then(|()| b.sync_dir(dir));
        w.poison(r)?;
        let r = b.rename(&tmp, &paths.index).and_then(|()| b.sync_dir(dir));
        w.poison(r)?;
        let r = w.wal.reset();
        w.poison(r)?;
        let r = DataFile::open(b, &paths.data, min_grow);
        w.data = w.poison(r)?;
        {
            let mut index = self.index.write();
            index.slots = new_slots;
            index.mapping = w.data.mapping().clone();
        }
        w.high_water = live;
        w.pending.clear();
        w.synced_lsn = lsn;
        w.metrics.checkpoints += 1;
        Ok(dead * w.data.stride())
    }

    /// Pre-allocates room for `additional` more vectors, so a bulk load of that many does no
    /// remap.
    pub fn reserve_capacity(&self, additional: usize) -> Result<()> {
        let mut w = self.writer.lock();
        let target = w.high_water + additional as u64;
        if target > w.data.capacity() {
            w.data.grow_to(target)?;
            self.index.write().mapping = w.data.mapping().clone();
        }
        Ok(())
    }

    /// Slots the data file has room for without growing.
    pub fn capacity(&self) -> u64 {
        self.writer.lock().data.capacity()
    }

    /// What the store has done since it was opened.
    pub fn metrics(&self) -> VectorStoreMetrics {
        let w = self.writer.lock();
        VectorStoreMetrics {
            remap_count: w.data.grow.remaps,
            bytes_remapped: w.data.grow.bytes_remapped,
            grow_latency: w.data.grow.latency.summary(),
            wal_bytes: w.wal.end(),
            ..w.metrics
        }
    }

    #[cfg(test)]
    fn set_slot_for_test(&self, id: u64, slot: u32) {
        if let Some(s) = self.index.write().slots.get_mut(&id) {
            s.slot = slot;
        }
    }
}

impl VectorStore {
    /// Closes the store for good without writing anything: waits for a write in progress,
    /// then every later write, flush or checkpoint fails and dropping it writes nothing (its
    /// directory may already hold another store's files, e.g. after a restore swapped it).
    pub fn close(&self) {
        let mut w = self.writer.lock();
        w.poisoned = Some(format!("{} was closed", self.dir.display()));
    }
}

impl Drop for VectorStore {
    /// Flushes on a best-effort basis and never blocks: if the writer is busy for more than
    /// 100 ms, or the store is poisoned, it gives up (the WAL already has every write).
    fn drop(&mut self) {
        if let Some(mut w) = self.writer.try_lock_for(Duration::from_millis(100))
            && w.poisoned.is_none()
        {
            let _ = self.flush_locked(&mut w);
        }
    }
}

#[cfg(test)]
mod tests;
