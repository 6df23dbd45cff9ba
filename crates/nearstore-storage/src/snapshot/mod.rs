//! Snapshots on disk: writing a consistent copy of a set of files into a new directory,
//! verifying one, and restoring one into a target directory atomically. The engine chooses
//! the files (checkpoints, logs cut at one sequence number); this module only moves bytes,
//! and does so only through [`Backend`], so the fault-injecting backend tests every step.
//!
//! - [`write_snapshot`]: each [`SnapshotSource`] is hard-linked ([`Capture::Link`], for
//!   files never written in place again; copied when the link fails), copied whole
//!   ([`Capture::Copy`]) or copied up to a length ([`Capture::Prefix`], an append-only log
//!   cut at one sequence number while writers keep appending). Every file is synced, every
//!   directory under the snapshot is synced, and then the [`SnapshotManifest`] (every
//!   file's length, CRC-32C and per-4 KiB-block CRC-32C) is written atomically (temp, fsync,
//!   rename, fsync of the directory). The directory is a snapshot exactly when its manifest
//!   is in place; a crash before that leaves a directory [`verify_snapshot`] refuses.
//! - [`verify_snapshot`]: the manifest and every file it lists; damage is
//!   [`Error::Corruption`] naming the file and the offset of the first 4 KiB block whose
//!   checksum differs (or the length where the file ends early or runs long). Never panics
//!   on any bytes.
//! - [`restore_snapshot`] / [`recover_restore`]: verified first, then copied into a
//!   sibling staging directory, committed by a marker file, swapped in by two directory
//!   renames; a crash at any point leaves, after [`recover_restore`], either the old target
//!   directory or the restored one, whole. The protocol is in `restore.rs` and
//!   `docs/design/storage-format.md`.
//!
//! - [`archive`]: a snapshot as one file (a tar archive): [`archive::pack_snapshot`]
//!   verifies while it packs, [`archive::unpack_snapshot`] accepts only what the packer
//!   writes (no links, no path traversal, sizes as the manifest records, within limits)
//!   and checks every block as it writes.
//!
//! Every long operation reports [`Progress`] (bytes done / total) through a callback.
//!
//! This module knows nothing of collections, sequence numbers' meaning or the engine's
//! files; it must not depend on anything above the storage crate.

pub mod archive;
mod manifest;
mod restore;
mod take;
mod verify;

use std::path::Path;

pub use manifest::{
    BLOCK_SIZE, MANIFEST_NAME, MAX_META_LEN, MAX_NAME_LEN, SnapshotEntry, SnapshotManifest,
    check_name,
};
pub use restore::{
    RestoreRecovery, recover_restore, restore_marker_path, restore_old_path, restore_snapshot,
    restore_staging_path, restore_verified_snapshot,
};
pub use take::{Capture, SnapshotSource, write_snapshot};
pub use verify::{read_manifest, verify_snapshot};

use crate::backend::StorageFile;
use crate::error::Result;

/// How far a long snapshot operation has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes read, copied or checked so far.
    pub bytes_done: u64,
    /// Bytes the operation will handle in all.
    pub bytes_total: u64,
}

/// Bytes read per call while copying or checking.
const CHUNK: usize = 1 << 20;

/// Counts bytes and tells the caller's callback.
struct Meter<'a> {
    done: u64,
    total: u64,
    callback: &'a mut dyn FnMut(Progress),
}

impl Meter<'_> {
    fn advance(&mut self, bytes: u64) {
        self.done += bytes;
        (self.callback)(Progress {
            bytes_done: self.done,
            bytes_total: self.total,
        });
    }
}

/// The checksums of a file's first `len` bytes.
struct Sums {
    crc: u32,
    block_crcs: Vec<u32>,
}

/// Reads the first `len` bytes of `src` in chunks, writing them to `sink` at the same
/// offsets when given, and returns their checksums (whole and per block).
fn stream(
    src: &dyn StorageFile,
    len: u64,
    sink: Option<&dyn StorageFile>,
    meter: &mut Meter<'_>,
) -> Result<Sums> {
    let mut buf = vec![0u8; CHUNK.min(usize::try_from(len).unwrap_or(CHUNK)).max(1)];
    let mut crc = 0u32;
    let mut block_crcs =
        Vec::with_capacity(usize::try_from(manifest::block_count(len)).unwrap_or(0));
    let mut at = 0u64;
    while at < len {
        let n = usize::try_from(len - at).map_or(buf.len(), |left| left.min(buf.len()));
        let chunk = &mut buf[..n];
        src.read_exact_at(chunk, at)?;
        if let Some(sink) = sink {
            sink.write_all_at(chunk, at)?;
        }
        crc = crc32c::crc32c_append(crc, chunk);
        // CHUNK is a multiple of BLOCK_SIZE, so blocks never straddle chunks.
        for block in chunk.chunks(BLOCK_SIZE as usize) {
            block_crcs.push(crc32c::crc32c(block));
        }
        at += n as u64;
        meter.advance(n as u64);
    }
    Ok(Sums { crc, block_crcs })
}

/// Every directory from `file`'s parent up to and including `root`, deepest first.
fn dirs_up_to(root: &Path, file: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut dir = file.parent();
    while let Some(d) = dir {
        if !d.starts_with(root) {
            break;
        }
        out.push(d.to_path_buf());
        if d == root {
            break;
        }
        dir = d.parent();
    }
    out
}
