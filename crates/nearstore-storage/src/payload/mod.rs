//! The payload store: one JSON document per `u64` id in an append-only, checksummed log.
//!
//! `payloads.log` is a record log (see [`crate::log`]) whose records are
//! `tag u8 (1 put, 2 delete, 3 mark) | flags u8 (bit 0: last record of its write) | id u64 |
//! JSON`. A mark record carries, in its id field, a number the owner chose (a collection
//! stores the operation sequence number its payloads reflect, see [`PayloadStore::apply`]).
//! A write (single or batch) is a group of records appended in one `pwrite`; replay applies a
//! group only when its last record is present, so a batch is never half applied. The
//! in-memory index maps id -> (record offset, body length); reads verify the record's CRC.
//!
//! The log compacts itself (rewrites only live records into a new file, atomically) when dead
//! bytes exceed both the live bytes and a threshold, so reopening never replays an unbounded
//! history.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::backend::{LockGuard, SharedBackend, StorageFile, fs_backend, temp_path};
use crate::durability::Durability;
use crate::error::{Error, Result};
use crate::format::{Decoder, Encode, LOG_HEADER_LEN, PAYLOAD_LOG_MAGIC, RECORD_HEADER_LEN};
use crate::log::{RecordLog, ScanStats, encode_header, frame};
use crate::metrics::PayloadStoreMetrics;

/// The payload log's file name.
pub const LOG_FILE: &str = "payloads.log";
/// The payload store's lock file.
pub const LOCK_FILE: &str = "payloads.lock";

const PUT: u8 = 1;
const DELETE: u8 = 2;
const MARK: u8 = 3;
const LAST_IN_GROUP: u8 = 1;

/// Options for opening a payload store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadStoreOptions {
    /// When writes become durable ([`Durability::Bulk`] behaves like `Flush` here: the log
    /// is the data).
    pub durability: Durability,
    /// Largest accepted serialized payload, in bytes.
    pub max_payload_bytes: usize,
    /// Compaction runs when dead bytes exceed both the live bytes and this many bytes.
    pub compact_dead_bytes: u64,
    /// What the owner's last checkpoint recorded about the log (see [`PayloadExtent`]);
    /// the default requires nothing.
    pub expected: PayloadExtent,
}

/// The extent of `payloads.log` an owner's checkpoint covers: the log length
/// ([`PayloadStore::log_len`]) and the mark ([`PayloadStore::mark`]) right after the
/// checkpoint's [`PayloadStore::apply`] and flush. Opening checks it before cutting anything:
/// when the valid, complete groups end before `len` and the last mark found is older than
/// `mark`, durable records the checkpoint relied on are gone, and open fails with
/// `Error::Corruption` at the offset where the valid records end (instead of cutting the log
/// back to an older state). A log that is shorter but carries a newer mark was compacted by a
/// later checkpoint, which is fine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PayloadExtent {
    /// Log length covered.
    pub len: u64,
    /// Mark of the covering checkpoint.
    pub mark: u64,
}

impl Default for PayloadStoreOptions {
    fn default() -> Self {
        PayloadStoreOptions {
            durability: Durability::Flush,
            max_payload_bytes: 16 << 20,
            compact_dead_bytes: 8 << 20,
            expected: PayloadExtent::default(),
        }
    }
}

/// Where one live payload's record is.
#[derive(Debug, Clone, Copy)]
struct Entry {
    offset: u64,
    body_len: u32,
}

impl Entry {
    fn record_bytes(self) -> u64 {
        RECORD_HEADER_LEN + u64::from(self.body_len)
    }
}

#[derive(Debug)]
struct PayloadIndex {
    file: Arc<dyn StorageFile>,
    entries: FxHashMap<u64, Entry>,
}

#[derive(Debug)]
struct PayloadWriter {
    log: RecordLog,
    live_bytes: u64,
    mark: u64,
    poisoned: Option<String>,
    options: PayloadStoreOptions,
    metrics: PayloadStoreMetrics,
}

impl PayloadWriter {
    fn check_poisoned(&self) -> Result<()> {
        match &self.poisoned {
            Some(reason) => Err(Error::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }
}

/// A decoded payload record body.
#[derive(Debug)]
struct PayloadRecord<'a> {
    tag: u8,
    flags: u8,
    id: u64,
    json: &'a [u8],
}

fn decode_record<'a>(body: &'a [u8], file: &'a Path, offset: u64) -> Result<PayloadRecord<'a>> {
    let mut d = Decoder::new(body, file, offset + RECORD_HEADER_LEN);
    let tag = d.u8()?;
    let flags = d.u8()?;
    let id = d.u64()?;
    let json = d.rest();
    match tag {
        PUT => {}
        DELETE | MARK if json.is_empty() => {}
        _ => {
            return Err(Error::corruption(
                file,
                offset,
                format!("bad payload record tag {tag}"),
            ));
        }
    }
    Ok(PayloadRecord {
        tag,
        flags,
        id,
        json,
    })
}

fn encode_record(
    tag: u8,
    last: bool,
    id: u64,
    json: &[u8],
    synced_upto: u64,
    out: &mut Vec<u8>,
) -> u32 {
    let mut body = Vec::with_capacity(10 + json.len());
    body.push(tag);
    body.push(if last { LAST_IN_GROUP } else { 0 });
    body.put_u64(id);
    body.extend_from_slice(json);
    frame(&body, synced_upto, out);
    body.len() as u32
}

/// JSON documents by `u64` id, durable and crash-safe.
#[derive(Debug)]
pub struct PayloadStore {
    dir: PathBuf,
    backend: SharedBackend,
    index: RwLock<PayloadIndex>,
    writer: Mutex<PayloadWriter>,
    _lock: Box<dyn LockGuard>,
}

impl PayloadStore {
    /// Opens (creating if needed) the payload store in `dir` on the real file system.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(fs_backend(), dir.as_ref(), PayloadStoreOptions::default())
    }

    /// Opens (creating if needed) the payload store in `dir` through `backend`.
    pub fn open_with(
        backend: SharedBackend,
        dir: &Path,
        options: PayloadStoreOptions,
    ) -> Result<Self> {
        backend.create_dir_all(dir)?;
        let lock = backend.lock(&dir.join(LOCK_FILE), dir)?;
        let path = dir.join(LOG_FILE);
        let b = backend.as_ref();
        let tmp = temp_path(&path);
        if b.exists(&tmp)? {
            b.remove_file(&tmp)?;
        }
        if !b.exists(&path)? {
            RecordLog::create(b, &path, &PAYLOAD_LOG_MAGIC, 0)?;
        }
        let mut entries: FxHashMap<u64, Entry> = FxHashMap::default();
        let mut group: Vec<(u64, Option<Entry>)> = Vec::new();
        let mark = Cell::new(0u64);
        let mut group_mark = None;
        let group_start = Cell::new(LOG_HEADER_LEN);
        let group_open = Cell::new(false);
        let mut records = 0u64;
        let expected = options.expected;
        let check_extent = |stats: &ScanStats| {
            let end = if group_open.get() {
                group_start.get()
            } else {
                stats.valid_end
            };
            if end < expected.len && mark.get() < expected.mark {
                return Err(Error::corruption(
                    &path,
                    end,
                    format!(
                        "valid records end at byte {end}, but the last checkpoint covers {} bytes \
                         (through mark {}, found mark {}): durable records are missing",
                        expected.len,
                        expected.mark,
                        mark.get()
                    ),
                ));
            }
            Ok(end)
        };
        let on_record = |at, body: &[u8]| {
            let record = decode_record(body, &path, at)?;
            if !group_open.get() {
                group_start.set(at);
                group_open.set(true);
            }
            if record.tag == MARK {
                group_mark = Some(record.id);
            } else {
                let entry = (record.tag == PUT).then_some(Entry {
                    offset: at,
                    body_len: body.len() as u32,
                });
                group.push((record.id, entry));
            }
            records += 1;
            if record.flags & LAST_IN_GROUP != 0 {
                group_open.set(false);
                if let Some(m) = group_mark.take() {
                    mark.set(m);
                }
                for (id, entry) in group.drain(..) {
                    match entry {
                        Some(e) => entries.insert(id, e),
                        None => entries.remove(&id),
                    };
                }
            }
            Ok(())
        };
        // `check_extent` keeps the log up to the last complete group: an incomplete last
        // group never returned, so all of it is cut off with the torn tail.
        let (log, _, stats) =
            RecordLog::open_checked(b, &path, &PAYLOAD_LOG_MAGIC, on_record, check_extent)?;
        let mark = mark.get();
        let group_start = group_start.get();
        let mut metrics = PayloadStoreMetrics {
            records_replayed: records,
            ..PayloadStoreMetrics::default()
        };
        let mut torn = stats.torn_bytes;
        if group_open.get() {
            torn += stats.valid_end - group_start;
        }
        if torn > 0 {
            metrics.torn_tails_truncated = 1;
            metrics.torn_bytes = torn;
        }
        let live_bytes = entries.values().map(|e| e.record_bytes()).sum();
        let store = PayloadStore {
            dir: dir.to_path_buf(),
            index: RwLock::new(PayloadIndex {
                file: log.file().clone(),
                entries,
            }),
            writer: Mutex::new(PayloadWriter {
                log,
                live_bytes,
                mark,
                poisoned: None,
                options,
                metrics,
            }),
            backend,
            _lock: lock,
        };
        store.maybe_compact(&mut store.writer.lock())?;
        Ok(store)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of ids with a payload.
    pub fn len(&self) -> usize {
        self.index.read().entries.len()
    }

    /// True when no payload is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `id` has a payload.
    pub fn contains(&self, id: u64) -> bool {
        self.index.read().entries.contains_key(&id)
    }

    /// Every id with a payload, in no particular order.
    pub fn ids(&self) -> Vec<u64> {
        self.index.read().entries.keys().copied().collect()
    }

    /// Stores (or replaces) one payload.
    pub fn store(&self, id: u64, payload: &Value) -> Result<()> {
        self.store_batch(&[(id, payload)])
    }

    /// Stores many payloads as one atomic write (all or nothing after a crash).
    pub fn store_batch<P: std::borrow::Borrow<Value>>(&self, items: &[(u64, P)]) -> Result<()> {
        let mut encoded = Vec::with_capacity(items.len());
        for (id, payload) in items {
            let json = serde_json::to_vec(payload.borrow())
                .map_err(|e| Error::InvalidArgument(format!("payload of id {id}: {e}")))?;
            encoded.push((*id, Some(json)));
        }
        self.write_group(encoded, None)
    }

    /// Applies puts (`Some`) and deletes (`None`) and sets the store's mark to `mark`, all as
    /// one atomic write: after a crash either all of it is there (and [`PayloadStore::mark`]
    /// returns `mark`) or none of it.
    pub fn apply(&self, changes: &[(u64, Option<&Value>)], mark: u64) -> Result<()> {
        let mut encoded = Vec::with_capacity(changes.len());
        for (id, payload) in changes {
            let json = match payload {
                Some(p) => Some(
                    serde_json::to_vec(p)
                        .map_err(|e| Error::InvalidArgument(format!("payload of id {id}: {e}")))?,
                ),
                None => None,
            };
            encoded.push((*id, json));
        }
        self.write_group(encoded, Some(mark))
    }

    /// The log's length (where the next write goes): what an owner records in a
    /// [`PayloadExtent`] after a flush.
    pub fn log_len(&self) -> u64 {
        self.writer.lock().log.end()
    }

    /// The mark set by the last [`PayloadStore::apply`] (0 when none was set).
    pub fn mark(&self) -> u64 {
        self.writer.lock().mark
    }

    /// Deletes one payload; returns whether it existed.
    pub fn delete(&self, id: u64) -> Result<bool> {
        Ok(self.delete_batch(&[id])? == 1)
    }

    /// Deletes many payloads as one atomic write; returns how many existed.
    pub fn delete_batch(&self, ids: &[u64]) -> Result<usize> {
        let mut present: Vec<u64> = {
            let index = self.index.read();
            ids.iter()
                .copied()
                .filter(|id| index.entries.contains_key(id))
                .collect()
        };
        present.sort_unstable();
        present.dedup();
        let n = present.len();
        self.write_group(present.into_iter().map(|id| (id, None)).collect(), None)?;
        Ok(n)
    }

    /// Appends one group of puts (`Some(json)`) and deletes (`None`), ended by a mark
    /// record when `mark` is given, and publishes it.
    fn write_group(&self, ops: Vec<(u64, Option<Vec<u8>>)>, mark: Option<u64>) -> Result<()> {
        if ops.is_empty() && mark.is_none() {
            return Ok(());
        }
        let mut w = self.writer.lock();
        w.check_poisoned()?;
        let max = w.options.max_payload_bytes;
        if let Some((id, json)) = ops
            .iter()
            .find_map(|(id, j)| j.as_ref().filter(|j| j.len() > max).map(|j| (id, j)))
        {
            return Err(Error::InvalidArgument(format!(
                "payload of id {id} is {} bytes, over the {max}-byte limit",
                json.len()
            )));
        }
        let mut framed = Vec::new();
        let mut placed = Vec::with_capacity(ops.len());
        let last = if mark.is_some() {
            usize::MAX
        } else {
            ops.len() - 1
        };
        for (i, (id, json)) in ops.iter().enumerate() {
            let at = framed.len() as u64;
            let (tag, bytes) = match json {
                Some(j) => (PUT, j.as_slice()),
                None => (DELETE, &[][..]),
            };
            let body_len =
                encode_record(tag, i == last, *id, bytes, w.log.synced_end(), &mut framed);
            placed.push((*id, json.is_some().then_some((at, body_len))));
        }
        if let Some(m) = mark {
            encode_record(MARK, true, m, &[], w.log.synced_end(), &mut framed);
        }
        let base = w.log.append_framed(&framed)?;
        if w.options.durability == Durability::PerWrite {
            w.log.sync()?;
        }
        {
            let mut index = self.index.write();
            for (id, place) in placed {
                let old = match place {
                    Some((at, body_len)) => {
                        let entry = Entry {
                            offset: base + at,
                            body_len,
                        };
                        w.live_bytes += entry.record_bytes();
                        index.entries.insert(id, entry)
                    }
                    None => index.entries.remove(&id),
                };
                if let Some(old) = old {
                    w.live_bytes -= old.record_bytes();
                }
            }
        }
        if let Some(m) = mark {
            w.mark = m;
        }
        self.maybe_compact(&mut w)
    }

    /// Reads a payload (verifying its checksum); `None` for an unknown id.
    pub fn retrieve(&self, id: u64) -> Result<Option<Value>> {
        let (file, entry) = {
            let index = self.index.read();
            match index.entries.get(&id) {
                Some(e) => (index.file.clone(), *e),
                None => return Ok(None),
            }
        };
        let body = RecordLog::read_record(file.as_ref(), entry.offset, entry.body_len)?;
        let record = decode_record(&body, file.path(), entry.offset)?;
        if record.tag != PUT || record.id != id {
            return Err(Error::corruption(
                file.path(),
                entry.offset,
                format!(
                    "record holds id {} (tag {}), index says {id}",
                    record.id, record.tag
                ),
            ));
        }
        serde_json::from_slice(record.json).map(Some).map_err(|e| {
            Error::corruption(
                file.path(),
                entry.offset,
                format!("payload is not JSON: {e}"),
            )
        })
    }

    /// The durability barrier: once it returns, every earlier write survives power loss.
    pub fn flush(&self) -> Result<()> {
        let mut w = self.writer.lock();
        Self::flush_locked(&mut w)
    }

    fn flush_locked(w: &mut PayloadWriter) -> Result<()> {
        w.check_poisoned()?;
        w.log.sync()
    }

    fn dead_bytes(w: &PayloadWriter) -> u64 {
        (w.log.end() - w.log.records_start()).saturating_sub(w.live_bytes)
    }

    fn maybe_compact(&self, w: &mut PayloadWriter) -> Result<()> {
        let dead = Self::dead_bytes(w);
        if dead > w.live_bytes && dead > w.options.compact_dead_bytes {
            self.compact_locked(w)?;
        }
        Ok(())
    }

    /// Rewrites the log with only live records (atomically: new file, fsync, rename, fsync
    /// dir); returns the bytes reclaimed. Like `flush()`, it is a durability barrier.
    pub fn compact(&self) -> Result<u64> {
        let mut w = self.writer.lock();
        self.compact_locked(&mut w)
    }

    fn compact_locked(&self, w: &mut PayloadWriter) -> Result<u64> {
        w.check_poisoned()?;
        let reclaimed = Self::dead_bytes(w);
        if reclaimed == 0 {
            Self::flush_locked(w)?;
            return Ok(0);
        }
        let b = self.backend.as_ref();
        let path = self.dir.join(LOG_FILE);
        let tmp = temp_path(&path);
        let (old_file, mut live): (Arc<dyn StorageFile>, Vec<(u64, Entry)>) = {
            let index = self.index.read();
            (
                index.file.clone(),
                index.entries.iter().map(|(&id, &e)| (id, e)).collect(),
            )
        };
        live.sort_unstable_by_key(|(_, e)| e.offset);
        let out = b.open(&tmp, true)?;
        out.set_len(0)?;
        let mut buf = encode_header(&PAYLOAD_LOG_MAGIC, 0);
        let mut written = 0u64;
        let mut new_entries = FxHashMap::with_capacity_and_hasher(live.len(), Default::default());
        for (id, entry) in live {
            let body = RecordLog::read_record(old_file.as_ref(), entry.offset, entry.body_len)?;
            let record = decode_record(&body, old_file.path(), entry.offset)?;
            let at = written + buf.len() as u64;
            let body_len = encode_record(PUT, true, id, record.json, 0, &mut buf);
            new_entries.insert(
                id,
                Entry {
                    offset: at,
                    body_len,
                },
            );
            if buf.len() >= 1 << 20 {
                out.write_all_at(&buf, written)?;
                written += buf.len() as u64;
                buf.clear();
            }
        }
        if w.mark != 0 {
            encode_record(MARK, true, w.mark, &[], 0, &mut buf);
        }
        out.write_all_at(&buf, written)?;
        out.sync()?;
        drop(out);
        b.rename(&tmp, &path)?;
        let dir = crate::backend::parent_dir(&path);
        if let Err(e) = b.sync_dir(dir) {
            w.poisoned = Some(e.to_string());
            return Err(e);
        }
        let (log, _, _) = match RecordLog::open(b, &path, &PAYLOAD_LOG_MAGIC, |_, _| Ok(())) {
            Ok(opened) => opened,
            Err(e) => {
                w.poisoned = Some(e.to_string());
                return Err(e);
            }
        };
        {
            let mut index = self.index.write();
            index.file = log.file().clone();
            index.entries = new_entries;
        }
        w.log = log;
        w.metrics.compactions += 1;
        Ok(reclaimed)
    }

    /// What the store has done since it was opened, and its live/dead bytes.
    pub fn metrics(&self) -> PayloadStoreMetrics {
        let w = self.writer.lock();
        PayloadStoreMetrics {
            live_bytes: w.live_bytes,
            dead_bytes: Self::dead_bytes(&w),
            ..w.metrics
        }
    }
}

impl PayloadStore {
    /// Closes the store for good without writing anything: waits for a write in progress,
    /// then every later write or flush fails and dropping it writes nothing.
    pub fn close(&self) {
        let mut w = self.writer.lock();
        w.poisoned = Some("the payload store was closed".to_string());
    }
}

impl Drop for PayloadStore {
    /// Best-effort flush that never blocks for long (gives up after 100 ms).
    fn drop(&mut self) {
        if let Some(mut w) = self.writer.try_lock_for(Duration::from_millis(100))
            && w.poisoned.is_none()
        {
            let _ = Self::flush_locked(&mut w);
        }
    }
}

mod scan;
#[cfg(test)]
mod tests;

pub use scan::{PayloadLogScan, scan_read_only};
