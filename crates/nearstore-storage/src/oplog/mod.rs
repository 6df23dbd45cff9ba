//! The operation log: the one write-ahead log a collection commits through.
//!
//! A collection keeps several components (vectors, payloads, index, payload indexes) that
//! must agree after any crash. Each write is appended here first, as one *operation* with a
//! sequence number; the components are brought up to date in memory and reach their own
//! files only at a checkpoint, after this log is synced. Recovery therefore never sees a
//! component ahead of this log: it loads each component's checkpoint and replays the
//! operations after it.
//!
//! Layout: a record log (see [`crate::log`]) under magic `NSOPLOG1`, each record body being
//! `seq u64 | flags u8 (bit 0: last record of the operation) | bytes`. An operation larger
//! than [`OP_CHUNK_BYTES`] spans several records with the same `seq`; it is replayed only
//! when its last record is present, and an incomplete operation at the tail is cut off, so an
//! operation is applied whole or not at all.
//!
//! Durability follows [`Durability`]: `PerWrite` syncs every append; `Flush` writes every
//! append to the OS (it survives a process crash) and syncs in [`OpLog::sync`]; `Bulk`
//! gathers appends in memory up to [`BULK_BUFFER_BYTES`] before writing them.
//!
//! Damage: every sync records the log's durable length in its header (see [`crate::log`]),
//! so damage to, or a truncation of, operations a `sync` acknowledged is
//! `Error::Corruption` naming the file and offset at open, never a shorter history; only
//! operations appended after the last sync can be cut as a torn tail. [`salvage`] reads the
//! complete operations a damaged log still holds, for an operator's repair.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use crate::backend::Backend;
use crate::durability::Durability;
use crate::error::{Error, Result};
use crate::format::{Encode, OP_LOG_MAGIC, RECORD_HEADER_LEN};
use crate::log::{RecordLog, ScanStats, frame, read_header, scan};

mod salvage;

pub use salvage::{OpLogSalvage, salvage};

/// Largest piece of an operation stored in one record.
pub const OP_CHUNK_BYTES: usize = 16 << 20;
/// In `Bulk` mode, appends are written once this many bytes are waiting.
pub const BULK_BUFFER_BYTES: usize = 8 << 20;

const LAST_RECORD: u8 = 1;
const OP_RECORD_PREFIX: usize = 9;

/// An open operation log.
#[derive(Debug)]
pub struct OpLog {
    log: RecordLog,
    path: PathBuf,
    durability: Durability,
    next_seq: u64,
    /// Framed records not yet written (`Bulk` mode only).
    pending: Vec<u8>,
}

/// An operation being reassembled during replay.
struct Partial {
    seq: u64,
    start: u64,
    bytes: Vec<u8>,
}

/// What a read-only scan of an operation log found ([`scan_read_only`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpLogScan {
    /// Complete operations.
    pub operations: u64,
    /// Offset of an incomplete operation at the tail (cut off at the next open), if any.
    pub incomplete_at: Option<u64>,
    /// The record scan (valid end, torn bytes).
    pub records: ScanStats,
}

/// Reads the operation log at `path` without changing it (no lock, no truncation): checks
/// the header and every record, and calls `on_op(seq, bytes)` for every complete operation.
/// Damage that is not a torn tail is `Error::Corruption`, as at open.
pub fn scan_read_only(
    backend: &dyn Backend,
    path: &Path,
    mut on_op: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<OpLogScan> {
    let file = backend.open(path, false)?;
    read_header(file.as_ref(), &OP_LOG_MAGIC)?;
    let mut ops = Reassembly::new(path);
    let mut operations = 0u64;
    let records = scan(file.as_ref(), |offset, body| {
        ops.record(offset, body, &mut |seq, bytes| {
            operations += 1;
            on_op(seq, bytes)
        })
    })?;
    Ok(OpLogScan {
        operations,
        incomplete_at: ops.partial.map(|p| p.start),
        records,
    })
}

/// Reassembles operations from their records, checking the sequence numbers.
struct Reassembly<'p> {
    path: &'p Path,
    partial: Option<Partial>,
    last_seq: Option<u64>,
}

impl<'p> Reassembly<'p> {
    fn new(path: &'p Path) -> Self {
        Reassembly {
            path,
            partial: None,
            last_seq: None,
        }
    }

    fn record(
        &mut self,
        offset: u64,
        body: &[u8],
        on_op: &mut impl FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let path = self.path;
        if body.len() < OP_RECORD_PREFIX {
            return Err(Error::corruption(
                path,
                offset,
                "operation record too short",
            ));
        }
        let mut seq_bytes = [0u8; 8];
        seq_bytes.copy_from_slice(&body[..8]);
        let seq = u64::from_le_bytes(seq_bytes);
        let last = body[8] & LAST_RECORD != 0;
        let chunk = &body[OP_RECORD_PREFIX..];
        let mut p = match self.partial.take() {
            Some(p) if p.seq == seq => p,
            Some(p) => {
                return Err(Error::corruption(
                    path,
                    p.start,
                    format!("operation {} is incomplete but followed by {seq}", p.seq),
                ));
            }
            None => {
                // A number no operation can follow is damage (no writer reaches it: one
                // operation per number from the checkpoint on), and refusing it here keeps
                // `next_seq` after every replayed operation.
                if seq == u64::MAX {
                    return Err(Error::corruption(
                        path,
                        offset,
                        format!("operation number {seq} leaves no room for another"),
                    ));
                }
                if let Some(l) = self.last_seq
                    && seq <= l
                {
                    return Err(Error::corruption(
                        path,
                        offset,
                        format!("operation {seq} is not after {l}"),
                    ));
                }
                Partial {
                    seq,
                    start: offset,
                    bytes: Vec::new(),
                }
            }
        };
        if !last {
            p.bytes.extend_from_slice(chunk);
            self.partial = Some(p);
        } else if p.bytes.is_empty() {
            on_op(seq, chunk)?;
            self.last_seq = Some(seq);
        } else {
            p.bytes.extend_from_slice(chunk);
            on_op(seq, &p.bytes)?;
            self.last_seq = Some(seq);
        }
        Ok(())
    }
}

impl OpLog {
    /// Opens the log at `path` (creating it when missing) and replays every complete
    /// operation through `on_op(seq, bytes)`, in order. Sequence numbers continue from the
    /// larger of the last replayed one + 1 and `first_seq` (the caller's checkpoint + 1, so
    /// numbering survives a log reset).
    pub fn open(
        backend: &dyn Backend,
        path: &Path,
        durability: Durability,
        first_seq: u64,
        mut on_op: impl FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<Self> {
        if !backend.exists(path)? {
            RecordLog::create(backend, path, &OP_LOG_MAGIC, 0)?;
        }
        let ops = RefCell::new(Reassembly::new(path));
        let (log, _, _) = RecordLog::open_checked(
            backend,
            path,
            &OP_LOG_MAGIC,
            |offset, body| ops.borrow_mut().record(offset, body, &mut on_op),
            // An operation whose last record never reached the disk was not committed: the
            // log is cut at its start.
            |stats| {
                Ok(ops
                    .borrow()
                    .partial
                    .as_ref()
                    .map_or(stats.valid_end, |p| p.start))
            },
        )?;
        let last_seq = ops.into_inner().last_seq;
        // `l < u64::MAX`: `Reassembly::record` refuses that number.
        let next_seq = last_seq.map_or(first_seq, |l| l.saturating_add(1).max(first_seq));
        Ok(OpLog {
            log,
            path: path.to_path_buf(),
            durability,
            next_seq,
            pending: Vec::new(),
        })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sequence number the next operation gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Bytes of operations in the log (written or waiting), past the header.
    pub fn len_bytes(&self) -> u64 {
        self.log.end() - self.log.records_start() + self.pending.len() as u64
    }

    /// Appends one operation; returns its sequence number. Durable per the log's mode.
    pub fn append(&mut self, op: &[u8]) -> Result<u64> {
        let seq = self.next_seq;
        if seq == u64::MAX {
            // Open refuses a log holding this number; giving it out would do the same.
            return Err(Error::InvalidArgument(format!(
                "{}: operation numbers exhausted",
                self.path.display()
            )));
        }
        let synced = self.log.synced_end();
        let chunks: Vec<&[u8]> = if op.is_empty() {
            vec![op]
        } else {
            op.chunks(OP_CHUNK_BYTES).collect()
        };
        let mut framed = Vec::with_capacity(
            op.len() + chunks.len() * (OP_RECORD_PREFIX + RECORD_HEADER_LEN as usize),
        );
        let mut body = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            body.clear();
            body.put_u64(seq);
            body.push(if i + 1 == chunks.len() {
                LAST_RECORD
            } else {
                0
            });
            body.extend_from_slice(chunk);
            frame(&body, synced, &mut framed);
        }
        match self.durability {
            Durability::Bulk => {
                self.pending.extend_from_slice(&framed);
                if self.pending.len() >= BULK_BUFFER_BYTES {
                    self.write_pending()?;
                }
            }
            Durability::Flush => {
                self.write_pending()?;
                self.log.append_framed(&framed)?;
            }
            Durability::PerWrite => {
                self.write_pending()?;
                self.log.append_framed(&framed)?;
                self.log.sync()?;
            }
        }
        self.next_seq += 1;
        Ok(seq)
    }

    fn write_pending(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            self.log.append_framed(&self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Makes every appended operation durable.
    pub fn sync(&mut self) -> Result<()> {
        self.write_pending()?;
        self.log.sync()
    }

    /// Drops every operation (after a checkpoint made them durable elsewhere). Sequence
    /// numbers keep counting.
    pub fn reset(&mut self) -> Result<()> {
        self.pending.clear();
        self.log.reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::FaultyBackend;

    fn replay(b: &FaultyBackend, path: &Path, first: u64) -> (OpLog, Vec<(u64, Vec<u8>)>) {
        let mut ops = Vec::new();
        let log = OpLog::open(b, path, Durability::Flush, first, |seq, bytes| {
            ops.push((seq, bytes.to_vec()));
            Ok(())
        })
        .unwrap();
        (log, ops)
    }

    #[test]
    fn operations_replay_in_order_with_their_sequence_numbers() {
        let b = FaultyBackend::new();
        let path = Path::new("/c/ops.log");
        b.create_dir_all(Path::new("/c")).unwrap();
        let (mut log, ops) = replay(&b, path, 1);
        assert!(ops.is_empty());
        assert_eq!(log.append(b"one").unwrap(), 1);
        assert_eq!(log.append(b"").unwrap(), 2);
        assert_eq!(log.append(b"three").unwrap(), 3);
        drop(log);
        let (log, ops) = replay(&b, path, 1);
        assert_eq!(
            ops,
            vec![(1, b"one".to_vec()), (2, vec![]), (3, b"three".to_vec())]
        );
        assert_eq!(log.next_seq(), 4);
    }

    #[test]
    fn the_last_operation_number_is_refused_at_append_and_at_open() {
        // Found by the op_log fuzz target (fuzz/regressions/op_log/seq-u64-max): an
        // operation numbered u64::MAX opened, and the next number was not after it.
        let b = FaultyBackend::new();
        let path = Path::new("/c/ops.log");
        b.create_dir_all(Path::new("/c")).unwrap();
        let (mut log, _) = replay(&b, path, u64::MAX - 1);
        assert_eq!(log.append(b"a").unwrap(), u64::MAX - 1);
        let err = log.append(b"b").unwrap_err();
        assert!(err.to_string().contains("exhausted"), "{err}");
        drop(log);
        let (log, ops) = replay(&b, path, 1);
        assert_eq!(ops, vec![(u64::MAX - 1, b"a".to_vec())]);
        assert_eq!(log.next_seq(), u64::MAX);

        // A log whose record carries u64::MAX (damage, or a hostile file) is refused.
        let path = Path::new("/c/max.log");
        let mut body = Vec::new();
        body.put_u64(u64::MAX);
        body.push(LAST_RECORD);
        body.extend_from_slice(b"x");
        let mut framed = Vec::new();
        frame(&body, 0, &mut framed);
        RecordLog::create(&b, path, &OP_LOG_MAGIC, 0).unwrap();
        let (mut raw, _, _) = RecordLog::open(&b, path, &OP_LOG_MAGIC, |_, _| Ok(())).unwrap();
        raw.append_framed(&framed).unwrap();
        raw.sync().unwrap();
        drop(raw);
        let err = OpLog::open(&b, path, Durability::Flush, 1, |_, _| Ok(()))
            .err()
            .unwrap();
        assert!(err.to_string().contains("leaves no room"), "{err}");
    }

    #[test]
    fn numbering_continues_after_a_reset() {
        let b = FaultyBackend::new();
        let path = Path::new("/c/ops.log");
        b.create_dir_all(Path::new("/c")).unwrap();
        let (mut log, _) = replay(&b, path, 1);
        log.append(b"a").unwrap();
        log.append(b"b").unwrap();
        log.reset().unwrap();
        drop(log);
        let (mut log, ops) = replay(&b, path, 3);
        assert!(ops.is_empty());
        assert_eq!(log.append(b"c").unwrap(), 3);
    }

    #[test]
    fn a_large_operation_spans_records_and_an_incomplete_one_is_cut_off() {
        let b = FaultyBackend::new();
        let path = Path::new("/c/ops.log");
        b.create_dir_all(Path::new("/c")).unwrap();
        let big: Vec<u8> = (0..OP_CHUNK_BYTES * 2 + 5).map(|i| i as u8).collect();
        let (mut log, _) = replay(&b, path, 1);
        log.append(b"small").unwrap();
        log.sync().unwrap();
        log.append(&big).unwrap();
        drop(log);
        // Power loss after the big operation's append, before any fsync covered it: its last
        // record is torn. Only "small" remains, and the partial operation's first records
        // are removed from the file.
        let image = b.read_file(path).unwrap();
        let cut = image.len() - 3;
        b.replace_file(path, &image[..cut]);
        let (mut log, ops) = replay(&b, path, 1);
        assert_eq!(ops, vec![(1, b"small".to_vec())]);
        assert_eq!(log.append(&big).unwrap(), 2);
        drop(log);
        let (log, ops) = replay(&b, path, 1);
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[1].1, big);
        drop(log);
        // The same cut once an open has synced the whole log (and recorded it durable) is
        // damage to acknowledged operations, not a torn tail.
        let image = b.read_file(path).unwrap();
        b.replace_file(path, &image[..image.len() - 3]);
        let err = OpLog::open(&b, path, Durability::Flush, 1, |_, _| Ok(()))
            .err()
            .unwrap();
        assert!(
            matches!(&err, Error::Corruption { file, .. } if file == path),
            "{err}"
        );
    }

    #[test]
    fn bulk_mode_writes_on_sync() {
        let b = FaultyBackend::new();
        let path = Path::new("/c/ops.log");
        b.create_dir_all(Path::new("/c")).unwrap();
        let mut log = OpLog::open(&b, path, Durability::Bulk, 1, |_, _| Ok(())).unwrap();
        log.append(b"x").unwrap();
        assert_eq!(
            b.read_file(path).unwrap().len() as u64,
            crate::format::LOG_V2_RECORDS_START
        );
        log.sync().unwrap();
        drop(log);
        let (_, ops) = replay(&b, path, 1);
        assert_eq!(ops, vec![(1, b"x".to_vec())]);
    }
}
