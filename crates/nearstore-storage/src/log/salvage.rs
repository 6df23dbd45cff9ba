//! Record-level salvage: read a damaged log past its damage, for an operator's repair.
//!
//! [`super::scan`] stops at the first bad record (recovery must not apply what follows a
//! gap). [`salvage`] instead hands over every valid record and lists the byte ranges it could
//! not read, each classified as damage or as a torn tail by the same rules as recovery. It
//! never changes the file. Resynchronisation after a bad record looks for the next offset
//! holding a record whose magic, length and CRC check out (a CRC-32C over the length, the
//! synced-upto field and the body: a false match inside damaged bytes needs a 1 in 2^32
//! coincidence on top of the 4-byte magic).

use super::{Check, LogLayout, WindowReader, check_record, find_record_after, read_layout};
use crate::backend::StorageFile;
use crate::error::Result;
use crate::format::{LOG_HEADER_LEN, RECORD_HEADER_LEN};

/// A byte range of a log that holds no readable record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRange {
    /// First byte of the range.
    pub start: u64,
    /// One past its last byte (beyond the file's end when durable bytes are missing).
    pub end: u64,
    /// What is wrong at `start`.
    pub reason: String,
    /// True when recovery would cut this range off as a torn tail (written after the last
    /// fsync known to cover it, so never acknowledged as durable); false for damage.
    pub torn_tail: bool,
}

/// What [`salvage`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SalvageReport {
    /// The header as read; `None` when it is damaged (records are then searched for from
    /// byte 32 on).
    pub layout: Option<LogLayout>,
    /// Valid records handed to the callback.
    pub records: u64,
    /// Unreadable ranges, in file order, not overlapping.
    pub damaged: Vec<DamagedRange>,
}

impl SalvageReport {
    /// True when some range is damage (not only a torn tail).
    pub fn has_damage(&self) -> bool {
        self.damaged.iter().any(|d| !d.torn_tail)
    }
}

/// Reads every valid record of the log in `file`, in order, through `on_record(offset,
/// body)`, skipping damaged ranges instead of stopping at them, and reports those ranges.
/// `magic` is the log's expected magic. Read-only. Errors only on I/O failure (or when
/// `on_record` fails).
pub fn salvage(
    file: &dyn StorageFile,
    magic: &[u8; 8],
    mut on_record: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<SalvageReport> {
    let mut report = SalvageReport::default();
    let mut r = WindowReader::new(file)?;
    let (mut at, durable) = match read_layout(file, Some(magic)) {
        Ok(layout) => {
            report.layout = Some(layout);
            (layout.records_start, layout.durable_len)
        }
        Err(e) => {
            let end = LOG_HEADER_LEN.min(r.len);
            report.damaged.push(DamagedRange {
                start: 0,
                end,
                reason: format!("header: {e}"),
                torn_tail: false,
            });
            (end, 0)
        }
    };
    while at < r.len {
        match check_record(&mut r, at)? {
            Check::Valid { body_len, .. } => {
                let body = r.get(at + RECORD_HEADER_LEN, body_len)?;
                on_record(at, body)?;
                report.records += 1;
                at += RECORD_HEADER_LEN + body_len;
            }
            Check::Invalid(reason) => {
                let next = find_record_after(&mut r, at, |_| true)?;
                let end = next.unwrap_or(r.len);
                // Damage if durable by the header's claim, or if a later record was written
                // after it was durable; else (nothing durable follows) a torn tail.
                let torn_tail = at >= durable && durable_after(&mut r, at)?.is_none();
                push(&mut report.damaged, at, end, reason, torn_tail);
                at = end;
            }
        }
    }
    if r.len < durable {
        push(
            &mut report.damaged,
            r.len,
            durable,
            format!(
                "the file ends at byte {}, but {durable} bytes had been made durable",
                r.len
            ),
            false,
        );
    }
    Ok(report)
}

fn durable_after(r: &mut WindowReader<'_>, bad: u64) -> Result<Option<u64>> {
    find_record_after(r, bad, |synced_upto| synced_upto > bad)
}

/// Appends a range, merging it into the previous one when they touch (a damaged header
/// followed by unreadable slots is one range).
fn push(ranges: &mut Vec<DamagedRange>, start: u64, end: u64, reason: String, torn_tail: bool) {
    if let Some(last) = ranges.last_mut()
        && last.end == start
    {
        last.end = end;
        last.torn_tail &= torn_tail;
        return;
    }
    ranges.push(DamagedRange {
        start,
        end,
        reason,
        torn_tail,
    });
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::backend::{Backend, FaultyBackend};
    use crate::log::RecordLog;

    const MAGIC: [u8; 8] = *b"NSTESTLG";

    /// A log of `n` records (`record i` = [i; 10 + i]), synced after each; returns the
    /// backend, the path and each record's (start, end).
    fn log_of(n: u8) -> (FaultyBackend, &'static Path, Vec<(u64, u64)>) {
        let b = FaultyBackend::new();
        let path = Path::new("/l/test.log");
        b.create_dir_all(Path::new("/l")).unwrap();
        RecordLog::create(&b, path, &MAGIC, 0).unwrap();
        let (mut log, _, _) = RecordLog::open(&b, path, &MAGIC, |_, _| Ok(())).unwrap();
        let mut spans = Vec::new();
        for i in 0..n {
            let at = log.append(&vec![i; 10 + usize::from(i)]).unwrap();
            spans.push((at, log.end()));
            log.sync().unwrap();
        }
        (b, path, spans)
    }

    fn salvaged(b: &FaultyBackend, path: &Path) -> (Vec<u8>, SalvageReport) {
        let file = b.open(path, false).unwrap();
        let mut firsts = Vec::new();
        let report = salvage(file.as_ref(), &MAGIC, |_, body| {
            firsts.push(body[0]);
            Ok(())
        })
        .unwrap();
        (firsts, report)
    }

    fn edit(b: &FaultyBackend, path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
        let mut bytes = b.read_file(path).unwrap();
        f(&mut bytes);
        b.replace_file(path, &bytes);
    }

    #[test]
    fn a_clean_log_salvages_every_record_and_no_range() {
        let (b, path, _) = log_of(5);
        let (firsts, report) = salvaged(&b, path);
        assert_eq!(firsts, vec![0, 1, 2, 3, 4]);
        assert!(report.damaged.is_empty());
        assert!(!report.has_damage());
    }

    #[test]
    fn records_on_both_sides_of_a_damaged_record_are_salvaged() {
        let (b, path, spans) = log_of(6);
        let (start, end) = spans[2];
        edit(&b, path, |bytes| bytes[start as usize + 25] ^= 0x40);
        let (firsts, report) = salvaged(&b, path);
        assert_eq!(firsts, vec![0, 1, 3, 4, 5]);
        assert_eq!(report.damaged.len(), 1);
        let d = &report.damaged[0];
        assert_eq!((d.start, d.end, d.torn_tail), (start, end, false), "{d:?}");
    }

    #[test]
    fn garbage_after_the_durable_end_is_a_torn_tail() {
        let (b, path, spans) = log_of(3);
        let end = spans[2].1;
        edit(&b, path, |bytes| bytes.extend_from_slice(&[0xEE; 40]));
        let (firsts, report) = salvaged(&b, path);
        assert_eq!(firsts, vec![0, 1, 2]);
        assert_eq!(report.damaged.len(), 1);
        let d = &report.damaged[0];
        assert_eq!(
            (d.start, d.end, d.torn_tail),
            (end, end + 40, true),
            "{d:?}"
        );
    }

    #[test]
    fn a_log_cut_below_its_durable_length_reports_the_missing_bytes() {
        let (b, path, spans) = log_of(4);
        let (start, end) = spans[3];
        edit(&b, path, |bytes| bytes.truncate(start as usize));
        let (firsts, report) = salvaged(&b, path);
        assert_eq!(firsts, vec![0, 1, 2]);
        assert_eq!(report.damaged.len(), 1);
        let d = &report.damaged[0];
        assert_eq!((d.start, d.end, d.torn_tail), (start, end, false), "{d:?}");
    }

    #[test]
    fn a_damaged_header_still_yields_the_records() {
        let (b, path, _) = log_of(3);
        edit(&b, path, |bytes| bytes[..96].fill(0));
        let (firsts, report) = salvaged(&b, path);
        assert_eq!(firsts, vec![0, 1, 2]);
        assert!(report.layout.is_none());
        assert_eq!(report.damaged.len(), 1);
        let d = &report.damaged[0];
        assert_eq!((d.start, d.end, d.torn_tail), (0, 96, false), "{d:?}");
    }
}
