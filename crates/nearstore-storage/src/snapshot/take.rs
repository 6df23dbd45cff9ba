//! Writing a snapshot: [`write_snapshot`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::manifest::{
    MANIFEST_FILE_MAGIC, MANIFEST_NAME, MAX_META_LEN, SnapshotEntry, SnapshotManifest, check_name,
};
use super::{Meter, Progress, dirs_up_to, stream};
use crate::backend::{Backend, StorageFile};
use crate::error::{Error, Result};
use crate::format::LOG_FORMAT_VERSION;
use crate::log::{encode_slot, read_layout, slot_offset};
use crate::sections::write_sections;

/// How a file gets into a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// A hard link (no bytes copied); a copy when the file system cannot link. Only for
    /// files that are never written in place again (checkpoint files replaced by rename):
    /// the snapshot shares their bytes.
    Link,
    /// A copy of the whole file as it is now.
    Copy,
    /// A copy of the first `len` bytes (an append-only file cut at one point while writers
    /// keep appending past it). The file must be at least this long.
    Prefix(u64),
    /// [`Capture::Prefix`] of a record log (`ops.log`, `payloads.log`, `vectors.wal`) cut at
    /// a record boundary, whose copy then claims exactly `len` bytes durable: the source's
    /// header slots, rewritten in place by its writer, may claim more than the cut (which
    /// would read as damage below the claim) or be mid-write; both slots of the copy are
    /// rewritten to `len`. A version 1 log (no slots) is copied as is.
    LogPrefix(u64),
}

/// One file to put in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSource {
    /// Its path in the snapshot, relative (see [`check_name`]).
    pub name: String,
    /// Where it is now.
    pub path: PathBuf,
    /// How it is captured.
    pub capture: Capture,
}

impl SnapshotSource {
    /// A source file under `name` in the snapshot.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>, capture: Capture) -> Self {
        SnapshotSource {
            name: name.into(),
            path: path.into(),
            capture,
        }
    }
}

/// Writes a snapshot of `sources` into `dir` (created if needed; it must not already hold a
/// manifest), with the caller's `sequence` and `meta` recorded in the manifest, reporting
/// progress in bytes. Returns the manifest written. On error the directory is not a
/// snapshot (its manifest is written last) and may hold partial files; write again into a
/// fresh directory or remove it.
pub fn write_snapshot(
    backend: &dyn Backend,
    dir: &Path,
    sources: &[SnapshotSource],
    sequence: u64,
    meta: &[u8],
    progress: &mut dyn FnMut(Progress),
) -> Result<SnapshotManifest> {
    if meta.len() > MAX_META_LEN {
        return Err(Error::InvalidArgument(format!(
            "snapshot metadata of {} bytes, at most {MAX_META_LEN}",
            meta.len()
        )));
    }
    let mut sorted: Vec<&SnapshotSource> = sources.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for pair in sorted.windows(2) {
        if pair[0].name == pair[1].name {
            return Err(Error::InvalidArgument(format!(
                "snapshot file {:?} given twice",
                pair[0].name
            )));
        }
    }
    for source in &sorted {
        check_name(&source.name).map_err(Error::InvalidArgument)?;
    }
    let manifest_path = dir.join(MANIFEST_NAME);
    if backend.exists(&manifest_path)? {
        return Err(Error::InvalidArgument(format!(
            "{} already holds a snapshot",
            dir.display()
        )));
    }

    // Lengths first, so progress knows the total.
    let mut lengths = Vec::with_capacity(sorted.len());
    for source in &sorted {
        let file = backend.open(&source.path, false)?;
        let len = file.len()?;
        if let Capture::LogPrefix(want) = source.capture {
            let start = read_layout(file.as_ref(), None)?.records_start;
            if want < start {
                return Err(Error::InvalidArgument(format!(
                    "{}: a log cut at {want} bytes would lose its {start}-byte header",
                    source.path.display()
                )));
            }
        }
        let len = match source.capture {
            Capture::Prefix(want) | Capture::LogPrefix(want) if want > len => {
                return Err(Error::InvalidArgument(format!(
                    "{} is {len} bytes, shorter than the {want} to snapshot",
                    source.path.display()
                )));
            }
            Capture::Prefix(want) | Capture::LogPrefix(want) => want,
            Capture::Link | Capture::Copy => len,
        };
        lengths.push(len);
    }
    let mut meter = Meter {
        done: 0,
        total: lengths.iter().sum(),
        callback: progress,
    };

    backend.create_dir_all(dir)?;
    let mut dirs = BTreeSet::new();
    let mut files = Vec::with_capacity(sorted.len());
    for (source, len) in sorted.iter().zip(lengths) {
        let dest = dir.join(&source.name);
        let parents = dirs_up_to(dir, &dest);
        if let Some(parent) = parents.first() {
            backend.create_dir_all(parent)?;
        }
        dirs.extend(parents);
        if backend.exists(&dest)? {
            // Left by an unfinished earlier attempt (there is no manifest yet).
            backend.remove_file(&dest)?;
        }
        let linked =
            source.capture == Capture::Link && backend.hard_link(&source.path, &dest).is_ok();
        let sums = if linked {
            let file = backend.open(&dest, false)?;
            let len = file.len()?;
            let sums = stream(file.as_ref(), len, None, &mut meter)?;
            file.sync()?;
            (len, sums)
        } else {
            let src = backend.open(&source.path, false)?;
            let out = backend.open(&dest, true)?;
            out.set_len(0)?;
            let mut sums = stream(src.as_ref(), len, Some(out.as_ref()), &mut meter)?;
            if let Capture::LogPrefix(cut) = source.capture
                && claim_exactly(out.as_ref(), cut)?
            {
                let mut silent = |_: Progress| {};
                let mut recount = Meter {
                    done: 0,
                    total: len,
                    callback: &mut silent,
                };
                sums = stream(out.as_ref(), len, None, &mut recount)?;
            }
            out.sync()?;
            (len, sums)
        };
        let (len, sums) = sums;
        files.push(SnapshotEntry {
            name: source.name.clone(),
            len,
            crc: sums.crc,
            block_crcs: sums.block_crcs,
        });
    }
    // Deepest first, so each directory's entry in its parent is synced after its content.
    for d in dirs.iter().rev() {
        backend.sync_dir(d)?;
    }
    let manifest = SnapshotManifest {
        sequence,
        meta: meta.to_vec(),
        files,
    };
    write_sections(
        backend,
        &manifest_path,
        &MANIFEST_FILE_MAGIC,
        &[&manifest.encode()],
    )?;
    Ok(manifest)
}

/// Makes a copied record log claim exactly `len` bytes durable (both slots); false for a
/// version 1 log, which has no claim to fix.
fn claim_exactly(copy: &dyn StorageFile, len: u64) -> Result<bool> {
    let layout = read_layout(copy, None)?;
    if layout.version != LOG_FORMAT_VERSION {
        return Ok(false);
    }
    if len < layout.records_start {
        return Err(Error::InvalidArgument(format!(
            "{}: a log cut at {len} bytes would lose its header",
            copy.path().display()
        )));
    }
    copy.write_all_at(&encode_slot(0, len), slot_offset(0))?;
    copy.write_all_at(&encode_slot(1, len), slot_offset(1))?;
    Ok(true)
}
