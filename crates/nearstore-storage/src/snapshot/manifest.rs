//! The snapshot manifest: every file of a snapshot with its length, its CRC-32C and one
//! CRC-32C per 4 KiB block (so damage is reported at the block where it starts), plus the
//! caller's sequence number and metadata. Stored as the one section of a checksummed
//! [`sections`](crate::sections) file named [`MANIFEST_NAME`], which is written last and
//! atomically: a directory is a snapshot exactly when that file is in place.
//!
//! Body layout (little-endian):
//!
//! ```text
//! magic "NSSNAPMF" | version u32 (= 1) | sequence u64 | meta: len u32, bytes (<= 1 MiB)
//! file count u32
//! per file, names strictly increasing (bytewise):
//!   name: len u32 (1..=4096), UTF-8 | length u64 | crc32c u32
//!   block count u32 (= ceil(length / 4096)) | crc32c u32 per block
//! ```
//!
//! [`SnapshotManifest::decode`] bounds every count by the bytes left before allocating and
//! checks every name (see [`check_name`]), so any input gives a manifest or
//! [`Error::Corruption`] naming the offset, never a panic.

use std::path::{Component, Path};

use crate::error::{Error, Result};
use crate::format::{Decoder, Encode};

/// The manifest's file name inside a snapshot directory.
pub const MANIFEST_NAME: &str = "SNAPSHOT";
/// The magic of the manifest's sections file.
pub(crate) const MANIFEST_FILE_MAGIC: [u8; 8] = *b"NSSNAPSH";
const BODY_MAGIC: [u8; 8] = *b"NSSNAPMF";
const VERSION: u32 = 1;
/// Block size of the per-block checksums.
pub const BLOCK_SIZE: u64 = 4096;
/// Longest file name (relative path) a manifest holds.
pub const MAX_NAME_LEN: usize = 4096;
/// Largest caller metadata a manifest holds.
pub const MAX_META_LEN: usize = 1 << 20;

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotEntry {
    /// Path relative to the snapshot directory (`/`-separated normal components).
    pub name: String,
    /// Length in bytes.
    pub len: u64,
    /// CRC-32C of the whole file.
    pub crc: u32,
    /// CRC-32C of each 4 KiB block (the last one may be shorter).
    pub block_crcs: Vec<u32>,
}

/// What a snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnapshotManifest {
    /// The sequence number the snapshot is consistent at (the caller's meaning).
    pub sequence: u64,
    /// Opaque caller metadata (at most [`MAX_META_LEN`] bytes).
    pub meta: Vec<u8>,
    /// The files, sorted by name.
    pub files: Vec<SnapshotEntry>,
}

/// Checks a snapshot file name: non-empty, at most [`MAX_NAME_LEN`] bytes, relative, only
/// normal `/`-separated components (no `.`, `..`, root or empty parts), not the manifest's
/// own name or a name the restore protocol uses (starting with `.restore`).
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!("file name of {} bytes", name.len()));
    }
    if name.contains('\\') || name.contains('\0') {
        return Err(format!("file name {name:?} has a backslash or NUL"));
    }
    if name.split('/').any(|part| part.is_empty()) {
        return Err(format!("file name {name:?} has an empty component"));
    }
    if !Path::new(name)
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(format!("file name {name:?} is not a plain relative path"));
    }
    if name == MANIFEST_NAME || name.starts_with(".restore") {
        return Err(format!("file name {name:?} is reserved"));
    }
    Ok(())
}

/// Number of [`BLOCK_SIZE`] blocks of a file of `len` bytes.
pub(crate) fn block_count(len: u64) -> u64 {
    len.div_ceil(BLOCK_SIZE)
}

impl SnapshotManifest {
    /// The body bytes (layout in the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.meta.len() + self.files.len() * 64);
        out.extend_from_slice(&BODY_MAGIC);
        out.put_u32(VERSION);
        out.put_u64(self.sequence);
        out.put_u32(self.meta.len() as u32);
        out.extend_from_slice(&self.meta);
        out.put_u32(self.files.len() as u32);
        for f in &self.files {
            out.put_u32(f.name.len() as u32);
            out.extend_from_slice(f.name.as_bytes());
            out.put_u64(f.len);
            out.put_u32(f.crc);
            out.put_u32(f.block_crcs.len() as u32);
            for crc in &f.block_crcs {
                out.put_u32(*crc);
            }
        }
        out
    }

    /// Reads [`encode`](Self::encode)'s bytes; `file` names the manifest in errors.
    pub fn decode(bytes: &[u8], file: &Path) -> Result<Self> {
        let mut d = Decoder::new(bytes, file, 0);
        d.magic(&BODY_MAGIC)?;
        d.version_in(&[VERSION])?;
        let sequence = d.u64()?;
        let meta_len = d.u32()? as usize;
        if meta_len > MAX_META_LEN {
            return Err(d.error(format!("metadata of {meta_len} bytes")));
        }
        let meta = d.take(meta_len)?.to_vec();
        let count = d.u32()? as usize;
        // Each entry takes at least 4 + 1 + 8 + 4 + 4 bytes.
        if count > d.remaining() / 21 {
            return Err(d.error(format!("{count} files cannot fit in the bytes left")));
        }
        let mut files: Vec<SnapshotEntry> = Vec::with_capacity(count);
        for _ in 0..count {
            let at = d.offset();
            let name_len = d.u32()? as usize;
            if name_len > MAX_NAME_LEN {
                return Err(d.error(format!("file name of {name_len} bytes")));
            }
            let name = std::str::from_utf8(d.take(name_len)?)
                .map_err(|_| Error::corruption(file, at, "file name is not UTF-8"))?
                .to_owned();
            check_name(&name).map_err(|reason| Error::corruption(file, at, reason))?;
            if files.last().is_some_and(|last| last.name >= name) {
                return Err(Error::corruption(
                    file,
                    at,
                    format!("file {name:?} is out of order or repeated"),
                ));
            }
            let len = d.u64()?;
            let crc = d.u32()?;
            let blocks = d.u32()?;
            if u64::from(blocks) != block_count(len) {
                return Err(d.error(format!(
                    "{blocks} block checksums for a file of {len} bytes"
                )));
            }
            let raw = d.take(blocks as usize * 4)?;
            let block_crcs = raw
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            files.push(SnapshotEntry {
                name,
                len,
                crc,
                block_crcs,
            });
        }
        d.finish()?;
        Ok(SnapshotManifest {
            sequence,
            meta,
            files,
        })
    }

    /// Sum of the files' lengths.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SnapshotManifest {
        SnapshotManifest {
            sequence: 42,
            meta: b"{\"c\":1}".to_vec(),
            files: vec![
                SnapshotEntry {
                    name: "a/ops.log".into(),
                    len: 5000,
                    crc: 7,
                    block_crcs: vec![1, 2],
                },
                SnapshotEntry {
                    name: "b".into(),
                    len: 0,
                    crc: 0,
                    block_crcs: vec![],
                },
            ],
        }
    }

    #[test]
    fn round_trips_and_rejects_every_truncation() {
        let m = sample();
        let bytes = m.encode();
        let path = Path::new("snap/SNAPSHOT");
        assert_eq!(SnapshotManifest::decode(&bytes, path).unwrap(), m);
        for len in 0..bytes.len() {
            let err = SnapshotManifest::decode(&bytes[..len], path).unwrap_err();
            assert!(err.is_corruption(), "{err}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(SnapshotManifest::decode(&extra, path).is_err());
    }

    #[test]
    fn names_must_be_plain_relative_paths() {
        for bad in [
            "",
            "/abs",
            "../up",
            "a/../b",
            "./a",
            "a//b",
            "a/",
            "SNAPSHOT",
            ".restore-x",
            "a\\b",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "coll/vectors.dat", "x.restore"] {
            assert_eq!(check_name(good), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn block_counts_must_match_lengths() {
        let mut m = sample();
        m.files[0].block_crcs.push(3);
        let err = SnapshotManifest::decode(&m.encode(), Path::new("m")).unwrap_err();
        assert!(err.to_string().contains("block checksums"), "{err}");
    }
}
