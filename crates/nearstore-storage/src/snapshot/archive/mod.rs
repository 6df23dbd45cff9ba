//! A snapshot as ONE file: [`pack_snapshot`] writes a verified snapshot directory into a
//! tar archive, [`unpack_snapshot`] turns such an archive back into a snapshot directory,
//! verifying it as it goes. The server's snapshot download and upload and the CLI's
//! `snapshot` / `restore` move snapshots around in this form.
//!
//! Format: a POSIX ustar archive (readable by any `tar`), written by the `tar` crate. Its
//! first entry is the snapshot's manifest ([`MANIFEST_NAME`]), then one regular-file entry
//! per file the manifest lists, in the manifest's (sorted) order, with mode 0644, owner 0
//! and mtime 0, so packing the same snapshot twice gives the same bytes. A name longer
//! than ustar holds is carried by a GNU long-name entry (`L`) just before its file.
//!
//! Why tar, and how it is read: the `tar` crate writes the format well, but its own
//! unpacking follows links, creates directories and devices, reads long-name and PAX
//! records of any size into memory, and trusts sizes. So the unpacker here reads the
//! archive's *raw* entries (no long-name or PAX processing by the crate) and accepts only
//! what the packer writes: the manifest first (at most
//! [`UnpackLimits::max_manifest_bytes`]), then exactly the manifest's files in its order,
//! each a regular file whose name passes [`check_name`](super::check_name) (no absolute
//! path, `..`, `.` or empty component) and whose size is the manifest's length, each
//! optionally preceded by one long-name entry of at most
//! [`MAX_NAME_LEN`](super::MAX_NAME_LEN) bytes. Links, directories, devices, FIFOs, PAX
//! records, a second long name, a missing or extra file, a total past
//! [`UnpackLimits::max_total_bytes`] or more files than [`UnpackLimits::max_files`] are
//! refused, each with an error naming the entry. Every file's bytes are checked against
//! the manifest's per-4 KiB-block checksums while they are written, so a flipped byte is
//! reported with the entry and the offset of its block. The manifest itself carries a
//! checksum (it is a [`sections`](crate::sections) file).
//!
//! The archive is untrusted input: every problem with its bytes is
//! [`Error::Corruption`](crate::Error::Corruption) naming the archive and the byte offset
//! of the entry's header (or of the damaged block), never a panic. Unpacking writes into a
//! sibling staging directory and renames it into place only when everything checked out,
//! so the destination exists exactly when it holds the whole, verified snapshot.

mod pack;
mod unpack;

use std::io;
use std::path::Path;
use std::sync::Arc;

pub use pack::{pack_snapshot, write_archive};
pub use unpack::{UnpackLimits, unpack_snapshot, unpack_snapshot_file, unpack_staging_path};

use super::manifest::{BLOCK_SIZE, SnapshotEntry};
use crate::backend::StorageFile;
use crate::error::Error;

/// Reads a [`StorageFile`] from an offset up to a length, as [`io::Read`].
struct FileReader {
    file: Arc<dyn StorageFile>,
    at: u64,
    end: u64,
}

impl io::Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.at);
        let n = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
        if n == 0 {
            return Ok(0);
        }
        self.file
            .read_exact_at(&mut buf[..n], self.at)
            .map_err(io::Error::other)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// Appends to a [`StorageFile`], as [`io::Write`].
struct FileWriter {
    file: Arc<dyn StorageFile>,
    at: u64,
}

impl io::Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file
            .write_all_at(buf, self.at)
            .map_err(io::Error::other)?;
        self.at += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An `io::Error` back as the storage error it wraps (the adapters above and the checking
/// readers pass storage errors through `io`), or as an I/O error on `path`.
fn from_io(path: &Path, e: io::Error) -> Error {
    if !e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return Error::io(path, e);
    }
    match e.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(storage)) => *storage,
        // Not reached: the inner error was just checked to be a storage error.
        _ => Error::io(
            path,
            io::Error::other("a storage error was lost in transit"),
        ),
    }
}

/// Checks bytes, fed in any pieces, against a file's per-block checksums and its whole
/// checksum as recorded in the manifest.
struct BlockChecker<'m> {
    entry: &'m SnapshotEntry,
    seen: u64,
    block_crc: u32,
    whole_crc: u32,
}

/// Where fed bytes stopped agreeing with the manifest.
#[derive(Debug)]
enum Mismatch {
    /// The block starting at this byte of the file has another checksum.
    Block(u64),
    /// More bytes than the manifest's length.
    TooLong,
    /// Fewer bytes than the manifest's length.
    TooShort(u64),
    /// Every block agrees but the whole-file checksum does not (an inconsistent manifest).
    Whole,
}

impl Mismatch {
    /// The byte of the file the mismatch is at.
    fn offset(&self, entry: &SnapshotEntry) -> u64 {
        match self {
            Mismatch::Block(at) | Mismatch::TooShort(at) => *at,
            Mismatch::TooLong => entry.len,
            Mismatch::Whole => 0,
        }
    }

    fn describe(&self, entry: &SnapshotEntry) -> String {
        match self {
            Mismatch::Block(at) => format!(
                "the 4 KiB block at byte {at} of {:?} differs from the snapshot manifest's checksum",
                entry.name
            ),
            Mismatch::TooLong => format!(
                "{:?} runs past the {} bytes the snapshot manifest records",
                entry.name, entry.len
            ),
            Mismatch::TooShort(at) => format!(
                "{:?} ends at byte {at}, the snapshot manifest records {}",
                entry.name, entry.len
            ),
            Mismatch::Whole => format!(
                "whole-file checksum of {:?} differs from the snapshot manifest's (block checksums agree: the manifest is inconsistent)",
                entry.name
            ),
        }
    }
}

impl<'m> BlockChecker<'m> {
    fn new(entry: &'m SnapshotEntry) -> Self {
        BlockChecker {
            entry,
            seen: 0,
            block_crc: 0,
            whole_crc: 0,
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Mismatch> {
        if bytes.len() as u64 > self.entry.len - self.seen {
            return Err(Mismatch::TooLong);
        }
        self.whole_crc = crc32c::crc32c_append(self.whole_crc, bytes);
        while !bytes.is_empty() {
            let in_block = self.seen % BLOCK_SIZE;
            let take = usize::try_from(BLOCK_SIZE - in_block)
                .map_or(bytes.len(), |room| room.min(bytes.len()));
            let (head, rest) = bytes.split_at(take);
            self.block_crc = crc32c::crc32c_append(self.block_crc, head);
            self.seen += take as u64;
            bytes = rest;
            if self.seen.is_multiple_of(BLOCK_SIZE) || self.seen == self.entry.len {
                self.end_block()?;
            }
        }
        Ok(())
    }

    fn end_block(&mut self) -> Result<(), Mismatch> {
        let index = (self.seen - 1) / BLOCK_SIZE;
        let want = usize::try_from(index)
            .ok()
            .and_then(|i| self.entry.block_crcs.get(i));
        if want != Some(&self.block_crc) {
            return Err(Mismatch::Block(index * BLOCK_SIZE));
        }
        self.block_crc = 0;
        Ok(())
    }

    fn finish(&self) -> Result<(), Mismatch> {
        if self.seen != self.entry.len {
            return Err(Mismatch::TooShort(self.seen));
        }
        if self.whole_crc != self.entry.crc {
            return Err(Mismatch::Whole);
        }
        Ok(())
    }
}
