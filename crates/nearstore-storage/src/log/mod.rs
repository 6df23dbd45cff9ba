//! Checksummed append-only record logs: the framing shared by `vectors.wal`,
//! `payloads.log` and `ops.log`.
//!
//! A log is a header (see [`read_layout`]: 32 bytes, then in version 2 two durable-length slots)
//! followed by records `[magic "NSRC"][len u32][crc32c u32][synced_upto u64][body]`, where the
//! CRC covers the length, `synced_upto` and the body, and `synced_upto` is the log length that
//! a completed fsync had made durable when the record was written. The header's durable claim
//! `D` is a length a completed fsync made durable, recorded after that fsync returned.
//!
//! Recovery rules, for a record at offset X that is cut short, has a bad magic, an impossible
//! length or a bad CRC:
//! - if X < D, the bytes at X had been made durable: `Error::Corruption` at X;
//! - if some valid record after X has `synced_upto > X`, likewise (that record was written
//!   after X was durable): `Error::Corruption` at X, never skipped silently (replaying what
//!   follows could resurrect stale data);
//! - otherwise everything from X on was written after the last fsync known to cover X, and
//!   power loss may persist such writes in any order (a later one without an earlier one): it
//!   is a torn tail, cut off (truncate to X + sync) and counted.
//!
//! A log that ends (at a record boundary or not) before D lost durable records: also
//! `Error::Corruption`, at its end. Every length is checked against `MAX_RECORD_BODY` and the
//! file size before anything is allocated or read. [`salvage`] reads past damage instead of
//! stopping at it, for an operator's repair.

mod header;
mod salvage;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::backend::{Backend, StorageFile, write_file_atomically};
use crate::error::{Error, Result};
use crate::format::{
    LOG_V2_RECORDS_START, MAX_RECORD_BODY, RECORD_HEADER_LEN, RECORD_MAGIC, crc32c_parts,
};

pub use header::{LogLayout, encode_header_with, encode_slot, read_layout, slot_offset};
pub use salvage::{DamagedRange, SalvageReport, salvage};

/// What a scan of a log found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Valid records read.
    pub records: u64,
    /// Offset just past the last valid record.
    pub valid_end: u64,
    /// Bytes of torn tail after `valid_end` (0 for a clean log).
    pub torn_bytes: u64,
    /// Offset of the first record (after the header and, in version 2, its slots).
    pub records_start: u64,
    /// The header's durable claim: every valid scan ends at or after it.
    pub durable_len: u64,
}

/// Encodes the header of a new, empty log (version 2: the header and both durable-length
/// slots, claiming the header itself).
pub fn encode_header(magic: &[u8; 8], param: u64) -> Vec<u8> {
    encode_header_with(magic, param, LOG_V2_RECORDS_START)
}

/// Reads and checks a log header (and its durable-length slots); returns its parameter.
pub fn read_header(file: &dyn StorageFile, magic: &[u8; 8]) -> Result<u64> {
    Ok(read_layout(file, Some(magic))?.param)
}

/// Frames one record body; `synced_upto` is the log's durable length at writing time.
pub fn frame(body: &[u8], synced_upto: u64, out: &mut Vec<u8>) {
    let len = body.len() as u32;
    let synced = synced_upto.to_le_bytes();
    out.extend_from_slice(&RECORD_MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32c_parts(&[&len.to_le_bytes(), &synced, body]).to_le_bytes());
    out.extend_from_slice(&synced);
    out.extend_from_slice(body);
}

/// Reads a file through a sliding window so scans do one read per megabyte, not per record.
struct WindowReader<'f> {
    file: &'f dyn StorageFile,
    len: u64,
    start: u64,
    buf: Vec<u8>,
}

const WINDOW: u64 = 1 << 20;

impl<'f> WindowReader<'f> {
    fn new(file: &'f dyn StorageFile) -> Result<Self> {
        Ok(WindowReader {
            file,
            len: file.len()?,
            start: 0,
            buf: Vec::new(),
        })
    }

    /// `n` bytes at `offset`; the caller has checked `offset + n <= self.len`.
    fn get(&mut self, offset: u64, n: u64) -> Result<&[u8]> {
        let end = self.start + self.buf.len() as u64;
        if offset < self.start || offset + n > end {
            let want = n.max(WINDOW).min(self.len - offset);
            self.buf.resize(want as usize, 0);
            self.file.read_exact_at(&mut self.buf, offset)?;
            self.start = offset;
        }
        let from = (offset - self.start) as usize;
        Ok(&self.buf[from..from + n as usize])
    }
}

/// Why a record at some offset is not valid.
enum Check {
    Valid { body_len: u64, synced_upto: u64 },
    Invalid(String),
}

fn check_record(r: &mut WindowReader<'_>, at: u64) -> Result<Check> {
    if at + RECORD_HEADER_LEN > r.len {
        return Ok(Check::Invalid("record header cut short".into()));
    }
    let head = r.get(at, RECORD_HEADER_LEN)?;
    if head[..4] != RECORD_MAGIC {
        return Ok(Check::Invalid("bad record magic".into()));
    }
    let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let crc = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
    let mut synced = [0u8; 8];
    synced.copy_from_slice(&head[12..20]);
    if len > MAX_RECORD_BODY {
        return Ok(Check::Invalid(format!(
            "record length {len} exceeds the limit {MAX_RECORD_BODY}"
        )));
    }
    let body_len = u64::from(len);
    if at + RECORD_HEADER_LEN + body_len > r.len {
        return Ok(Check::Invalid(format!(
            "record of {len} bytes runs past the end of the file"
        )));
    }
    let body = r.get(at + RECORD_HEADER_LEN, body_len)?;
    if crc32c_parts(&[&len.to_le_bytes(), &synced, body]) != crc {
        return Ok(Check::Invalid("record checksum mismatch".into()));
    }
    Ok(Check::Valid {
        body_len,
        synced_upto: u64::from_le_bytes(synced),
    })
}

/// The first valid record starting after `from` whose `synced_upto` passes `accept`.
fn find_record_after(
    r: &mut WindowReader<'_>,
    from: u64,
    accept: impl Fn(u64) -> bool,
) -> Result<Option<u64>> {
    let mut at = from + 1;
    while at + RECORD_HEADER_LEN <= r.len {
        let chunk_len = (r.len - at).min(WINDOW);
        let chunk = r.get(at, chunk_len)?.to_vec();
        let mut i = 0;
        while let Some(pos) = chunk[i..].windows(4).position(|w| w == RECORD_MAGIC) {
            let candidate = at + (i + pos) as u64;
            if let Check::Valid { synced_upto, .. } = check_record(r, candidate)?
                && accept(synced_upto)
            {
                return Ok(Some(candidate));
            }
            i += pos + 1;
        }
        // Step back 3 bytes so a magic split across two chunks is still seen.
        at += chunk_len.saturating_sub(3).max(1);
    }
    Ok(None)
}

/// The first valid record after `bad` that was written when `bad` was already durable
/// (`synced_upto > bad`): proof that the damage at `bad` is not a torn tail.
fn durable_record_after(r: &mut WindowReader<'_>, bad: u64) -> Result<Option<u64>> {
    find_record_after(r, bad, |synced_upto| synced_upto > bad)
}

/// Scans the records after the header, calling `on_record(offset, body)` for each valid one,
/// and classifies a bad record as torn tail or corruption (see the module docs). Read-only.
/// The header is read for its layout (not its magic: check that with [`read_header`]).
pub fn scan(
    file: &dyn StorageFile,
    on_record: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<ScanStats> {
    let layout = read_layout(file, None)?;
    scan_layout(file, &layout, on_record)
}

fn scan_layout(
    file: &dyn StorageFile,
    layout: &LogLayout,
    mut on_record: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<ScanStats> {
    let mut r = WindowReader::new(file)?;
    let durable = layout.durable_len;
    let mut stats = ScanStats {
        valid_end: layout.records_start.min(r.len),
        records_start: layout.records_start,
        durable_len: durable,
        ..ScanStats::default()
    };
    let mut at = layout.records_start;
    while at < r.len {
        match check_record(&mut r, at)? {
            Check::Valid { body_len, .. } => {
                let body = r.get(at + RECORD_HEADER_LEN, body_len)?;
                on_record(at, body)?;
                stats.records += 1;
                at += RECORD_HEADER_LEN + body_len;
                stats.valid_end = at;
            }
            Check::Invalid(reason) => {
                if at < durable {
                    return Err(Error::corruption(
                        file.path(),
                        at,
                        format!(
                            "{reason}; the log's first {durable} bytes had been made durable \
                             (recorded in its header after an fsync)"
                        ),
                    ));
                }
                if let Some(next) = durable_record_after(&mut r, at)? {
                    return Err(Error::corruption(
                        file.path(),
                        at,
                        format!(
                            "{reason}; the record at byte {next} proves this part had been made durable"
                        ),
                    ));
                }
                stats.torn_bytes = r.len - at;
                break;
            }
        }
    }
    if stats.valid_end < durable {
        return Err(Error::corruption(
            file.path(),
            stats.valid_end,
            format!(
                "the log ends at byte {}, but its first {durable} bytes had been made durable \
                 (recorded in its header after an fsync): acknowledged records are missing",
                stats.valid_end
            ),
        ));
    }
    Ok(stats)
}

/// The durable-length slot holding a log's current claim (version 2 logs only).
#[derive(Debug, Clone, Copy)]
struct Claim {
    slot: usize,
    counter: u64,
    len: u64,
    /// The slot was written after the file's last fsync: the other slot is the one on disk,
    /// so the next slot write goes to this one again (never to both in one fsync window).
    unsynced: bool,
}

/// An open record log positioned for appending.
#[derive(Debug)]
pub struct RecordLog {
    file: Arc<dyn StorageFile>,
    path: PathBuf,
    records_start: u64,
    end: u64,
    synced_end: u64,
    /// `None` for a version 1 log (no slots).
    claim: Option<Claim>,
    /// Set when a failed write could not be cut off again or a sync failed: the log's tail
    /// is then unknown, so it refuses writes until it is reopened (and recovered).
    damaged: Option<String>,
}

impl RecordLog {
    /// Creates a new log containing only its header, atomically.
    pub fn create(backend: &dyn Backend, path: &Path, magic: &[u8; 8], param: u64) -> Result<()> {
        write_file_atomically(backend, path, &encode_header(magic, param))
    }

    /// Opens an existing log: checks the header (returning its parameter), replays every valid
    /// record through `on_record`, and cuts off a torn tail (truncate + sync) so that new
    /// records are never appended after garbage.
    pub fn open(
        backend: &dyn Backend,
        path: &Path,
        magic: &[u8; 8],
        on_record: impl FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<(Self, u64, ScanStats)> {
        Self::open_checked(backend, path, magic, on_record, |stats| Ok(stats.valid_end))
    }

    /// [`RecordLog::open`], with `keep` run on the scan's result before anything is cut off.
    /// It returns where the log is to end (at most `valid_end`: an owner drops an incomplete
    /// final write by returning its start), or an error: an owner that knows how much of the
    /// log must be there (a checkpoint's extent) refuses a shortened log, leaving the file as
    /// it found it. Cutting below the header's durable claim is `Error::Corruption` (an
    /// incomplete write cannot have been made durable: every write is appended whole before
    /// the fsync that covers it).
    ///
    /// After the cut the file is synced and its new length recorded as durable. A version 1
    /// log left empty is rewritten (atomically) as version 2.
    pub fn open_checked(
        backend: &dyn Backend,
        path: &Path,
        magic: &[u8; 8],
        on_record: impl FnMut(u64, &[u8]) -> Result<()>,
        keep: impl FnOnce(&ScanStats) -> Result<u64>,
    ) -> Result<(Self, u64, ScanStats)> {
        let mut file = backend.open(path, false)?;
        let mut layout = read_layout(file.as_ref(), Some(magic))?;
        let stats = scan_layout(file.as_ref(), &layout, on_record)?;
        let end = keep(&stats)?.clamp(layout.records_start, stats.valid_end);
        if end < layout.durable_len {
            return Err(Error::corruption(
                path,
                end,
                format!(
                    "the write at byte {end} is incomplete, but the log's first {} bytes had \
                     been made durable",
                    layout.durable_len
                ),
            ));
        }
        if end < file.len()? {
            file.set_len(end)?;
        }
        file.sync()?;
        if layout.newest_slot.is_none() && end == layout.records_start {
            // An empty version 1 log: start it over as version 2.
            write_file_atomically(backend, path, &encode_header(magic, layout.param))?;
            drop(file);
            file = backend.open(path, false)?;
            layout = read_layout(file.as_ref(), Some(magic))?;
        }
        let mut log = RecordLog {
            file,
            path: path.to_path_buf(),
            records_start: layout.records_start,
            end: end.max(layout.records_start),
            synced_end: end.max(layout.records_start),
            claim: layout.newest_slot.map(|(slot, counter)| Claim {
                slot,
                counter,
                len: layout.durable_len,
                unsynced: false,
            }),
            damaged: None,
        };
        log.record_durable(log.synced_end)?;
        Ok((log, layout.param, stats))
    }

    /// Records in the header that the log's first `len` bytes are durable: `len` must have
    /// been made durable by a completed fsync (a claim never runs ahead of the data). Never
    /// writes the slot that is on disk (the current claim once synced), so a torn write
    /// leaves a readable claim, and that claim is never longer than the file (a lowered claim
    /// is synced before the cut). No-op for a version 1 log or an unchanged length.
    fn record_durable(&mut self, len: u64) -> Result<()> {
        let Some(c) = self.claim else {
            return Ok(());
        };
        if c.len == len {
            return Ok(());
        }
        let slot = if c.unsynced { c.slot } else { 1 - c.slot };
        let counter = c.counter + 1;
        self.file
            .write_all_at(&encode_slot(counter, len), slot_offset(slot))?;
        self.claim = Some(Claim {
            slot,
            counter,
            len,
            unsynced: true,
        });
        Ok(())
    }

    /// Syncs the file, poisoning the log on failure; the slots written before are on disk.
    fn sync_file(&mut self) -> Result<()> {
        if let Err(e) = self.file.sync() {
            self.damaged = Some(e.to_string());
            return Err(e);
        }
        if let Some(c) = &mut self.claim {
            c.unsynced = false;
        }
        Ok(())
    }

    /// Offset of the first record.
    pub fn records_start(&self) -> u64 {
        self.records_start
    }

    /// The length the header records as durable (`records_start` for a version 1 log).
    pub fn durable_len(&self) -> u64 {
        self.claim.map_or(self.records_start, |c| c.len)
    }

    /// The file handle (for reads of records by offset).
    pub fn file(&self) -> &Arc<dyn StorageFile> {
        &self.file
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Offset where the next record goes (= the log's valid length).
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The log length made durable by the last completed sync (what [`frame`] records).
    pub fn synced_end(&self) -> u64 {
        self.synced_end
    }

    fn check_usable(&self) -> Result<()> {
        match &self.damaged {
            Some(reason) => Err(Error::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    /// Appends already framed records (see [`frame`]) in one write; returns the offset of the
    /// first. A failed write is cut off again, so the next append never follows a partial
    /// record; if even the cut fails, the log refuses writes until it is reopened.
    pub fn append_framed(&mut self, framed: &[u8]) -> Result<u64> {
        self.check_usable()?;
        let at = self.end;
        if let Err(e) = self.file.write_all_at(framed, at) {
            if let Err(cut) = self.file.set_len(at) {
                self.damaged = Some(cut.to_string());
            }
            return Err(e);
        }
        self.end += framed.len() as u64;
        Ok(at)
    }

    /// Frames and appends one record; returns its offset.
    pub fn append(&mut self, body: &[u8]) -> Result<u64> {
        let mut framed = Vec::with_capacity(body.len() + RECORD_HEADER_LEN as usize);
        frame(body, self.synced_end, &mut framed);
        self.append_framed(&framed)
    }

    /// Makes every appended record durable. After a failed sync nothing is known about what
    /// reached the disk (the page cache may have dropped the writes), so the log refuses
    /// writes until it is reopened.
    pub fn sync(&mut self) -> Result<()> {
        self.check_usable()?;
        self.sync_file()?;
        self.synced_end = self.end;
        // After the fsync returned: the claim never runs ahead of the data. The slot reaches
        // the disk with the next fsync (or, after a process crash, from the page cache).
        self.record_durable(self.synced_end)
    }

    /// Cuts the log back to `end` (a record boundary) and syncs. A durable claim beyond `end`
    /// is lowered first, and synced, so no crash leaves a claim longer than the file.
    pub fn truncate_to(&mut self, end: u64) -> Result<()> {
        let end = end.max(self.records_start);
        if self.durable_len() > end {
            self.record_durable(end)?;
            self.sync_file()?;
        }
        self.file.set_len(end)?;
        self.sync_file()?;
        self.end = end;
        self.synced_end = end;
        Ok(())
    }

    /// Drops every record (keeps the header) and syncs: used once what the records protect is
    /// durable elsewhere.
    pub fn reset(&mut self) -> Result<()> {
        self.truncate_to(self.records_start)
    }

    /// Reads the record at `offset` whose body is `body_len` bytes, verifying its frame and
    /// checksum (so damage is caught on read, not only at replay).
    pub fn read_record(file: &dyn StorageFile, offset: u64, body_len: u32) -> Result<Vec<u8>> {
        let total = RECORD_HEADER_LEN as usize + body_len as usize;
        let mut buf = vec![0u8; total];
        file.read_exact_at(&mut buf, offset)?;
        let bad = |reason: &str| Error::corruption(file.path(), offset, reason.to_string());
        if buf[..4] != RECORD_MAGIC {
            return Err(bad("bad record magic on read"));
        }
        let len = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
        if len != body_len {
            return Err(bad("record length differs from the index"));
        }
        let crc = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let body = buf.split_off(RECORD_HEADER_LEN as usize);
        if crc32c_parts(&[&len.to_le_bytes(), &buf[12..20], &body]) != crc {
            return Err(bad("record checksum mismatch on read"));
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::FaultyBackend;
    use crate::format::{FORMAT_VERSION, LOG_HEADER_LEN};

    const MAGIC: [u8; 8] = *b"NSTESTLG";

    fn v1_header() -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&7u64.to_le_bytes());
        out.extend_from_slice(&[0u8; 8]);
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn setup() -> (FaultyBackend, &'static Path) {
        let b = FaultyBackend::new();
        b.create_dir_all(Path::new("/l")).unwrap();
        (b, Path::new("/l/test.log"))
    }

    fn bodies(b: &FaultyBackend, path: &Path) -> Result<(RecordLog, Vec<Vec<u8>>)> {
        let mut seen = Vec::new();
        let (log, _, _) = RecordLog::open(b, path, &MAGIC, |_, body| {
            seen.push(body.to_vec());
            Ok(())
        })?;
        Ok((log, seen))
    }

    #[test]
    fn a_version_1_log_with_records_is_read_and_kept_at_version_1() {
        let (b, path) = setup();
        let mut bytes = v1_header();
        frame(b"one", 0, &mut bytes);
        frame(b"two", 0, &mut bytes);
        write_file_atomically(&b, path, &bytes).unwrap();
        let (mut log, seen) = bodies(&b, path).unwrap();
        assert_eq!(seen, vec![b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(log.records_start(), LOG_HEADER_LEN);
        log.append(b"three").unwrap();
        log.sync().unwrap();
        drop(log);
        let (_, seen) = bodies(&b, path).unwrap();
        assert_eq!(seen.len(), 3);
        // No slots: the file is the header and the records, nothing else written.
        assert_eq!(b.read_file(path).unwrap()[..32], v1_header()[..]);
    }

    #[test]
    fn an_empty_version_1_log_is_rewritten_as_version_2_at_open() {
        let (b, path) = setup();
        write_file_atomically(&b, path, &v1_header()).unwrap();
        let (mut log, param, _) = RecordLog::open(&b, path, &MAGIC, |_, _| Ok(())).unwrap();
        assert_eq!(param, 7);
        assert_eq!(log.records_start(), LOG_V2_RECORDS_START);
        log.append(b"x").unwrap();
        log.sync().unwrap();
        let file = b.open(path, false).unwrap();
        let layout = read_layout(file.as_ref(), Some(&MAGIC)).unwrap();
        assert_eq!((layout.version, layout.param), (2, 7));
        assert_eq!(layout.durable_len, log.end());
    }

    #[test]
    fn a_reset_lowers_the_claim_so_the_emptied_log_reopens() {
        let (b, path) = setup();
        RecordLog::create(&b, path, &MAGIC, 0).unwrap();
        let (mut log, _) = bodies(&b, path).unwrap();
        log.append(b"a").unwrap();
        log.sync().unwrap();
        assert_eq!(log.durable_len(), log.end());
        log.reset().unwrap();
        assert_eq!(log.durable_len(), LOG_V2_RECORDS_START);
        drop(log);
        let (_, seen) = bodies(&b, path).unwrap();
        assert!(seen.is_empty());
    }

    #[test]
    fn one_damaged_slot_falls_back_to_the_other_and_two_are_corruption() {
        let (b, path) = setup();
        RecordLog::create(&b, path, &MAGIC, 0).unwrap();
        let (mut log, _) = bodies(&b, path).unwrap();
        log.append(b"a").unwrap();
        log.sync().unwrap();
        log.append(b"b").unwrap();
        log.sync().unwrap();
        drop(log);
        let bytes = b.read_file(path).unwrap();
        for (damaged, ok) in [(32..33, true), (64..65, true), (40..70, false)] {
            let mut copy = bytes.clone();
            copy[damaged.clone()].iter_mut().for_each(|x| *x ^= 0xFF);
            b.replace_file(path, &copy);
            match bodies(&b, path) {
                Ok((_, seen)) => {
                    assert!(ok, "{damaged:?}");
                    assert_eq!(seen.len(), 2, "{damaged:?}");
                    b.replace_file(path, &copy);
                    let file = b.open(path, false).unwrap();
                    let layout = read_layout(file.as_ref(), Some(&MAGIC)).unwrap();
                    assert_eq!(
                        layout.unreadable_slot,
                        Some(damaged.start as u64),
                        "{damaged:?}"
                    );
                }
                Err(e) => {
                    assert!(!ok, "{damaged:?}: {e}");
                    assert!(
                        matches!(e, Error::Corruption { offset: 32, .. }),
                        "{damaged:?}: {e}"
                    );
                }
            }
        }
    }
}
