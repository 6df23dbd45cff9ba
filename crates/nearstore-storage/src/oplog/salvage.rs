//! Operation-level salvage of a damaged operation log, for an operator's repair.
//!
//! Built on [`crate::log::salvage`]: every readable record is taken, and operations are
//! reassembled from runs of records with no gap between them. An operation is handed over
//! only when all of its records are present and in order; the records of one that is not
//! (its first or last record lies in a damaged range, or numbering goes backwards) are
//! reported as dropped. Nothing is written.

use std::path::Path;

use super::{LAST_RECORD, OP_CHUNK_BYTES, OP_RECORD_PREFIX};
use crate::backend::Backend;
use crate::error::Result;
use crate::format::{OP_LOG_MAGIC, RECORD_HEADER_LEN};
use crate::log::{DamagedRange, SalvageReport};

/// What [`salvage`] recovered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpLogSalvage {
    /// Complete operations handed to the callback.
    pub operations: u64,
    /// The record-level report: unreadable byte ranges, damage or torn tail.
    pub records: SalvageReport,
    /// Readable records left out because their operation is incomplete or out of order.
    pub dropped: Vec<DamagedRange>,
}

impl OpLogSalvage {
    /// True when every byte was readable and every record belonged to a complete operation.
    pub fn is_clean(&self) -> bool {
        self.records.damaged.is_empty() && self.dropped.is_empty()
    }
}

/// Size of a record holding a full chunk (every record of an operation but its last).
const FULL_RECORD: u64 = RECORD_HEADER_LEN + OP_RECORD_PREFIX as u64 + OP_CHUNK_BYTES as u64;

/// An operation being reassembled.
struct Open {
    seq: u64,
    start: u64,
    bytes: Vec<u8>,
}

/// Reads every complete operation of the log at `path` that damage left readable, in order,
/// through `on_op(seq, bytes)`, and reports what it skipped. Read-only; errors only on I/O
/// failure (or when `on_op` fails). Sequence numbers handed over strictly increase.
pub fn salvage(
    backend: &dyn Backend,
    path: &Path,
    mut on_op: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<OpLogSalvage> {
    let file = backend.open(path, false)?;
    let mut out = OpLogSalvage::default();
    let mut open: Option<Open> = None;
    let mut last_seq: Option<u64> = None;
    let mut expected_at: Option<u64> = None;
    let mut headless = false;
    let mut headless_seq: Option<u64> = None;
    let drop_open = |open: &mut Option<Open>, end: u64, why: &str, dropped: &mut Vec<_>| {
        if let Some(o) = open.take() {
            dropped.push(DamagedRange {
                start: o.start,
                end,
                reason: format!("operation {} is incomplete: {why}", o.seq),
                torn_tail: false,
            });
        }
    };
    let records = crate::log::salvage(file.as_ref(), &OP_LOG_MAGIC, |at, body| {
        let end = at + RECORD_HEADER_LEN + body.len() as u64;
        let refuse = |dropped: &mut Vec<DamagedRange>, reason: String| {
            dropped.push(DamagedRange {
                start: at,
                end,
                reason,
                torn_tail: false,
            });
        };
        if let Some(gap) = expected_at.filter(|&e| e != at) {
            drop_open(
                &mut open,
                gap,
                "a damaged range follows it",
                &mut out.dropped,
            );
            // Records are contiguous, so the record ending at `at` lay in the damaged range.
            // Only a range as long as a full chunk record can hide a non-last record of the
            // operation starting here: then its head may be gone, and it is skipped.
            headless = at - gap >= FULL_RECORD;
        }
        expected_at = Some(end);
        if body.len() < OP_RECORD_PREFIX {
            refuse(&mut out.dropped, "operation record too short".into());
            return Ok(());
        }
        let mut seq_bytes = [0u8; 8];
        seq_bytes.copy_from_slice(&body[..8]);
        let seq = u64::from_le_bytes(seq_bytes);
        let last = body[8] & LAST_RECORD != 0;
        let chunk = &body[OP_RECORD_PREFIX..];
        if headless {
            headless_seq = Some(seq);
            headless = false;
        }
        if headless_seq == Some(seq) {
            refuse(
                &mut out.dropped,
                format!("operation {seq} may have lost its first records in the damaged range"),
            );
            return Ok(());
        }
        headless_seq = None;
        if open.as_ref().is_some_and(|o| o.seq != seq) {
            drop_open(
                &mut open,
                at,
                "followed by another operation",
                &mut out.dropped,
            );
        }
        let mut o = match open.take() {
            Some(o) => o,
            None => {
                if seq == u64::MAX || last_seq.is_some_and(|l| seq <= l) {
                    refuse(
                        &mut out.dropped,
                        format!("operation {seq} is not after {last_seq:?}"),
                    );
                    return Ok(());
                }
                Open {
                    seq,
                    start: at,
                    bytes: Vec::new(),
                }
            }
        };
        o.bytes.extend_from_slice(chunk);
        if last {
            on_op(seq, &o.bytes)?;
            out.operations += 1;
            last_seq = Some(seq);
        } else {
            open = Some(o);
        }
        Ok(())
    })?;
    if let Some(o) = open.take() {
        // An operation cut off by the end of the file: a torn tail unless it was durable.
        let durable = records.layout.map_or(0, |l| l.durable_len);
        out.dropped.push(DamagedRange {
            start: o.start,
            end: expected_at.unwrap_or(o.start),
            reason: format!("operation {} has no last record", o.seq),
            torn_tail: o.start >= durable,
        });
    }
    out.records = records;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::FaultyBackend;
    use crate::durability::Durability;
    use crate::oplog::OpLog;

    #[test]
    fn an_operation_with_a_damaged_record_is_dropped_and_the_others_are_kept() {
        let b = FaultyBackend::new();
        let path = Path::new("/c/ops.log");
        b.create_dir_all(Path::new("/c")).unwrap();
        let big: Vec<u8> = (0..OP_CHUNK_BYTES + 10).map(|i| i as u8).collect();
        let mut log = OpLog::open(&b, path, Durability::Flush, 1, |_, _| Ok(())).unwrap();
        log.append(b"one").unwrap();
        log.append(&big).unwrap();
        log.append(b"three").unwrap();
        log.sync().unwrap();
        drop(log);
        // Damage the big operation's first record (its body starts 9 + 20 bytes in).
        let mut bytes = b.read_file(path).unwrap();
        let big_start = 96 + 20 + 9 + 3;
        bytes[big_start + 100] ^= 1;
        b.replace_file(path, &bytes);
        let refused = OpLog::open(&b, path, Durability::Flush, 1, |_, _| Ok(()));
        assert!(refused.is_err_and(|e| e.is_corruption()));
        let mut ops = Vec::new();
        let report = salvage(&b, path, |seq, op| {
            ops.push((seq, op.len()));
            Ok(())
        })
        .unwrap();
        assert_eq!(ops, vec![(1, 3), (3, 5)]);
        assert_eq!(report.operations, 2);
        assert_eq!(report.records.damaged.len(), 1);
        assert_eq!(report.records.damaged[0].start, big_start as u64);
        assert!(!report.records.damaged[0].torn_tail);
        // The big operation's second (readable) record is dropped with it.
        assert_eq!(report.dropped.len(), 1, "{:?}", report.dropped);
        assert!(!report.is_clean());
    }
}
