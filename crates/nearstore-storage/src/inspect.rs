//! A read-only report over a store directory: every file, its records, live and dead bytes,
//! and whether every checksum verifies (every live vector slot's CRC included). Used by `nearstore inspect` (which walks a database
//! directory and reports each directory in it). Files are recognised by name (stores) or by
//! their magic (operation logs, checksummed sections files such as manifests and index
//! checkpoints).
//!
//! It takes no lock and writes nothing (a torn tail is reported, not cut off), so it can look
//! at a store another process has open; figures are then a snapshot.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::format::{OP_LOG_MAGIC, PAYLOAD_LOG_MAGIC, RECORD_HEADER_LEN, VECTOR_WAL_MAGIC};
use crate::log::{read_layout, scan};
use crate::vector::{Checkpoint, DATA_FILE, INDEX_FILE, WAL_FILE};

/// What one file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// File name inside the directory.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// What the file is ("vector data", "vector WAL", ...).
    pub kind: &'static str,
    /// Records (log records, checkpoint entries, used slots), when the file has records.
    pub records: Option<u64>,
    /// Bytes holding live data, when known.
    pub live_bytes: Option<u64>,
    /// Bytes holding dead data (superseded, deleted, torn), when known.
    pub dead_bytes: Option<u64>,
    /// Whether every checksum in the file verified.
    pub checksums_ok: bool,
    /// What is wrong or notable, if anything.
    pub note: Option<String>,
}

/// The report over a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectReport {
    /// The directory inspected.
    pub dir: PathBuf,
    /// One entry per file, sorted by name.
    pub files: Vec<FileReport>,
}

impl InspectReport {
    /// True when every checksum of every file verified.
    pub fn all_checksums_ok(&self) -> bool {
        self.files.iter().all(|f| f.checksums_ok)
    }
}

fn report(name: &str, bytes: u64, kind: &'static str) -> FileReport {
    FileReport {
        name: name.to_string(),
        bytes,
        kind,
        records: None,
        live_bytes: None,
        dead_bytes: None,
        checksums_ok: true,
        note: None,
    }
}

fn failed(mut r: FileReport, e: &Error) -> FileReport {
    r.checksums_ok = false;
    r.note = Some(e.to_string());
    r
}

/// Inspects every file of the store directory `dir` (vector store and payload store files;
/// other files are listed with their size).
pub fn inspect(backend: &dyn Backend, dir: &Path) -> Result<InspectReport> {
    let mut files = Vec::new();
    let checkpoint = Checkpoint::read_path(backend, &dir.join(INDEX_FILE));
    for path in backend.list_dir(dir)? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = backend.open(&path, false)?;
        let bytes = file.len()?;
        let r = match name.as_str() {
            DATA_FILE => inspect_data(
                report(&name, bytes, "vector data"),
                &checkpoint,
                backend,
                &path,
            ),
            INDEX_FILE => match &checkpoint {
                Ok(Some(c)) => FileReport {
                    records: Some(c.slots.len() as u64),
                    note: Some(format!("checkpoint at sequence number {}", c.lsn)),
                    ..report(&name, bytes, "vector checkpoint")
                },
                Ok(None) => report(&name, bytes, "vector checkpoint"),
                Err(e) => failed(report(&name, bytes, "vector checkpoint"), e),
            },
            WAL_FILE => inspect_log(
                report(&name, bytes, "vector WAL"),
                file.as_ref(),
                &VECTOR_WAL_MAGIC,
                false,
            ),
            crate::payload::LOG_FILE => inspect_log(
                report(&name, bytes, "payload log"),
                file.as_ref(),
                &PAYLOAD_LOG_MAGIC,
                true,
            ),
            n if n.ends_with(".lock") => report(&name, bytes, "lock"),
            n if n.ends_with(".tmp") || n.ends_with(".compact") => report(
                &name,
                bytes,
                "leftover of an interrupted write (removed at next open)",
            ),
            _ => inspect_by_magic(report(&name, bytes, "unknown"), backend, &path),
        };
        files.push(r);
    }
    Ok(InspectReport {
        dir: dir.to_path_buf(),
        files,
    })
}

/// Recognises an operation log or a sections file by its first bytes.
fn inspect_by_magic(r: FileReport, backend: &dyn Backend, path: &Path) -> FileReport {
    let mut magic = [0u8; 8];
    let read = backend
        .open(path, false)
        .and_then(|f| f.read_exact_at(&mut magic, 0).map(|()| f));
    let Ok(file) = read else {
        return r;
    };
    if magic == OP_LOG_MAGIC {
        return inspect_log(
            FileReport {
                kind: "operation log",
                ..r
            },
            file.as_ref(),
            &OP_LOG_MAGIC,
            false,
        );
    }
    match crate::sections::read_sections(backend, path, &magic) {
        Ok(sections) => FileReport {
            kind: "checksummed sections file",
            records: Some(sections.len() as u64),
            note: Some(format!(
                "magic {}, {} sections",
                String::from_utf8_lossy(&magic),
                sections.len()
            )),
            ..r
        },
        // A file that declares itself a sections file (format version after the magic) but
        // fails to verify is damaged, not unknown.
        Err(e) if looks_like_sections(file.as_ref()) => failed(
            FileReport {
                kind: "checksummed sections file",
                ..r
            },
            &e,
        ),
        Err(_) => r,
    }
}

fn looks_like_sections(file: &dyn crate::backend::StorageFile) -> bool {
    let mut version = [0u8; 4];
    file.read_exact_at(&mut version, 8).is_ok()
        && u32::from_le_bytes(version) == crate::format::FORMAT_VERSION
}

fn inspect_data(
    mut r: FileReport,
    checkpoint: &Result<Option<Checkpoint>>,
    backend: &dyn Backend,
    path: &Path,
) -> FileReport {
    let header = backend
        .open(path, false)
        .and_then(|f| crate::vector::read_data_header(f.as_ref()));
    match (header, checkpoint) {
        (Err(e), _) => failed(r, &e),
        (Ok(h), Ok(Some(c))) => {
            if let Some(e) = crate::vector::verify_data_file(backend, path, c, 1).first() {
                return failed(r, e);
            }
            let stride = u64::from(h.dim) * 4;
            let live = c.slots.len() as u64;
            r.records = Some(c.high_water);
            r.live_bytes = Some(live * stride);
            r.dead_bytes = Some((c.high_water - live) * stride);
            r.note = Some(format!(
                "dimension {}, generation {}, {live} live of {} used slots (as of the checkpoint)",
                h.dim, h.generation, c.high_water
            ));
            r
        }
        (Ok(h), _) => {
            r.note = Some(format!("dimension {}, generation {}", h.dim, h.generation));
            r
        }
    }
}

fn inspect_log(
    mut r: FileReport,
    file: &dyn crate::backend::StorageFile,
    magic: &[u8; 8],
    payloads: bool,
) -> FileReport {
    let layout = match read_layout(file, Some(magic)) {
        Ok(layout) => layout,
        Err(e) => return failed(r, &e),
    };
    // For the payload log, live bytes are those of the newest put of each id still present.
    let mut newest: FxHashMap<u64, Option<u64>> = FxHashMap::default();
    let scanned = scan(file, |_, body| {
        // Mark records (tag 3) carry a sequence number in the id field, not an id.
        if payloads && body.len() >= 10 && body[0] != 3 {
            let id = u64::from_le_bytes(body[2..10].try_into().unwrap_or_default());
            let size = RECORD_HEADER_LEN + body.len() as u64;
            newest.insert(id, (body[0] == 1).then_some(size));
        }
        Ok(())
    });
    match scanned {
        Err(e) => failed(r, &e),
        Ok(stats) => {
            r.records = Some(stats.records);
            let used = stats.valid_end.saturating_sub(stats.records_start);
            let live = if payloads {
                newest.values().flatten().sum()
            } else {
                used
            };
            r.live_bytes = Some(live);
            r.dead_bytes = Some(used - live + stats.torn_bytes);
            let mut notes = Vec::new();
            if stats.torn_bytes > 0 {
                notes.push(format!(
                    "torn tail of {} bytes at byte {} (cut off at next open)",
                    stats.torn_bytes, stats.valid_end
                ));
            }
            if let Some(at) = layout.unreadable_slot {
                notes.push(format!(
                    "durable-length slot at byte {at} unreadable (a torn slot write or \
                     damage); the other slot's claim of {} bytes is used",
                    layout.durable_len
                ));
            }
            if !notes.is_empty() {
                r.note = Some(notes.join("; "));
            }
            r
        }
    }
}
