//! Checking a snapshot: [`read_manifest`] and [`verify_snapshot`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::manifest::{
    BLOCK_SIZE, MANIFEST_FILE_MAGIC, MANIFEST_NAME, SnapshotEntry, SnapshotManifest,
};
use super::{Meter, Progress, stream};
use crate::backend::{Backend, StorageFile};
use crate::error::{Error, Result};
use crate::sections::read_sections;

/// The manifest of the snapshot in `dir`, checksum-verified; [`Error::Corruption`] naming
/// the manifest when it is missing (not a snapshot, or one whose writing never finished)
/// or damaged.
pub fn read_manifest(backend: &dyn Backend, dir: &Path) -> Result<SnapshotManifest> {
    let path = dir.join(MANIFEST_NAME);
    if !backend.exists(&path)? {
        return Err(Error::corruption(
            &path,
            0,
            "no snapshot manifest: not a snapshot, or one whose writing did not finish",
        ));
    }
    let sections = read_sections(backend, &path, &MANIFEST_FILE_MAGIC)?;
    match sections.as_slice() {
        [body] => SnapshotManifest::decode(body, &path),
        other => Err(Error::corruption(
            &path,
            0,
            format!("{} sections, expected 1", other.len()),
        )),
    }
}

/// Verifies the snapshot in `dir`: its manifest, and every file it lists present with the
/// recorded length and checksums. The first damage found is [`Error::Corruption`] naming
/// the file and the offset: the start of the first 4 KiB block whose checksum differs, or
/// where the file ends early / the recorded length where it runs long. Returns the
/// manifest.
pub fn verify_snapshot(
    backend: &dyn Backend,
    dir: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<SnapshotManifest> {
    let manifest = read_manifest(backend, dir)?;
    let mut meter = Meter {
        done: 0,
        total: manifest.total_bytes(),
        callback: progress,
    };
    for entry in &manifest.files {
        let (path, file, len) = open_listed(backend, dir, entry)?;
        let sums = stream(file.as_ref(), len, None, &mut meter)?;
        if let Some(block) = sums
            .block_crcs
            .iter()
            .zip(&entry.block_crcs)
            .position(|(got, want)| got != want)
        {
            return Err(Error::corruption(
                &path,
                block as u64 * BLOCK_SIZE,
                format!(
                    "checksum of the 4 KiB block at byte {} differs from the snapshot's",
                    block as u64 * BLOCK_SIZE
                ),
            ));
        }
        if sums.crc != entry.crc {
            return Err(Error::corruption(
                &path,
                0,
                "whole-file checksum differs from the snapshot's (block checksums agree: the manifest is inconsistent)",
            ));
        }
    }
    Ok(manifest)
}

/// Opens the file `entry` of the snapshot in `dir`: its path, the open file and its length.
/// A missing file, or one whose length differs from the manifest's, is
/// [`Error::Corruption`] naming it (at the shorter of the two lengths).
pub(super) fn open_listed(
    backend: &dyn Backend,
    dir: &Path,
    entry: &SnapshotEntry,
) -> Result<(PathBuf, Arc<dyn StorageFile>, u64)> {
    let path = dir.join(&entry.name);
    if !backend.exists(&path)? {
        return Err(Error::corruption(
            &path,
            0,
            "file listed in the snapshot is missing",
        ));
    }
    let file = backend.open(&path, false)?;
    let len = file.len()?;
    if len != entry.len {
        return Err(Error::corruption(
            &path,
            len.min(entry.len),
            format!("file is {len} bytes, the snapshot recorded {}", entry.len),
        ));
    }
    Ok((path, file, len))
}
