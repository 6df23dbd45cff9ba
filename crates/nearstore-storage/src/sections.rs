//! Checksummed multi-section files, written atomically: the container for index
//! checkpoints and other files that are replaced whole.
//!
//! Layout: magic (8), version u32, section count u32, then per section its length u64 and
//! CRC-32C u32, then a CRC-32C of that header; then the sections' bytes back to back. The
//! file is written to `path.tmp`, synced, renamed over `path`, and the directory synced.

use std::path::Path;

use crate::backend::{Backend, write_parts_atomically};
use crate::error::{Error, Result};
use crate::format::{Decoder, FORMAT_VERSION};

/// Most sections a file may declare (bounds the header before it is read).
pub const MAX_SECTIONS: u32 = 64;

/// Writes `sections` to `path` atomically under `magic`.
pub fn write_sections(
    backend: &dyn Backend,
    path: &Path,
    magic: &[u8; 8],
    sections: &[&[u8]],
) -> Result<()> {
    if sections.len() > MAX_SECTIONS as usize {
        return Err(Error::InvalidArgument(format!(
            "{} sections, at most {MAX_SECTIONS}",
            sections.len()
        )));
    }
    let mut header = Vec::with_capacity(16 + sections.len() * 12 + 4);
    header.extend_from_slice(magic);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    for s in sections {
        header.extend_from_slice(&(s.len() as u64).to_le_bytes());
        header.extend_from_slice(&crc32c::crc32c(s).to_le_bytes());
    }
    let crc = crc32c::crc32c(&header);
    header.extend_from_slice(&crc.to_le_bytes());
    let mut parts: Vec<&[u8]> = Vec::with_capacity(sections.len() + 1);
    parts.push(&header);
    parts.extend_from_slice(sections);
    write_parts_atomically(backend, path, &parts)
}

/// Reads and verifies every section of the file at `path`.
pub fn read_sections(backend: &dyn Backend, path: &Path, magic: &[u8; 8]) -> Result<Vec<Vec<u8>>> {
    let file = backend.open(path, false)?;
    let len = file.len()?;
    let mut fixed = [0u8; 16];
    if len < 20 {
        return Err(Error::corruption(
            path,
            0,
            format!("file is only {len} bytes"),
        ));
    }
    file.read_exact_at(&mut fixed, 0)?;
    let mut d = Decoder::new(&fixed, path, 0);
    d.magic(magic)?;
    d.version()?;
    let count = d.u32()?;
    if count > MAX_SECTIONS {
        return Err(Error::corruption(
            path,
            12,
            format!("{count} sections declared"),
        ));
    }
    let header_len = 16 + u64::from(count) * 12 + 4;
    if header_len > len {
        return Err(Error::corruption(
            path,
            12,
            "section table runs past the end",
        ));
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact_at(&mut header, 0)?;
    let (table, crc) = header.split_at(header.len() - 4);
    if crc32c::crc32c(table) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
        return Err(Error::corruption(
            path,
            header_len - 4,
            "section table checksum mismatch",
        ));
    }
    let mut d = Decoder::new(&table[16..], path, 16);
    let mut spans = Vec::with_capacity(count as usize);
    let mut total = header_len;
    for _ in 0..count {
        let size = d.u64()?;
        let crc = d.u32()?;
        total = total
            .checked_add(size)
            .filter(|&t| t <= len)
            .ok_or_else(|| Error::corruption(path, d.offset(), "section runs past the end"))?;
        spans.push((total - size, size, crc));
    }
    if total != len {
        return Err(Error::corruption(
            path,
            total,
            "trailing bytes after the last section",
        ));
    }
    let mut out = Vec::with_capacity(spans.len());
    for (at, size, crc) in spans {
        let mut bytes = vec![0u8; size as usize];
        file.read_exact_at(&mut bytes, at)?;
        if crc32c::crc32c(&bytes) != crc {
            return Err(Error::corruption(path, at, "section checksum mismatch"));
        }
        out.push(bytes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::FaultyBackend;
    use proptest::prelude::*;
    use std::path::PathBuf;

    const MAGIC: [u8; 8] = *b"NSTESTSC";

    #[test]
    fn sections_round_trip() {
        let b = FaultyBackend::new();
        let p = PathBuf::from("/d/x");
        write_sections(&b, &p, &MAGIC, &[b"abc", b"", &[7u8; 1000]]).unwrap();
        let got = read_sections(&b, &p, &MAGIC).unwrap();
        assert_eq!(got, vec![b"abc".to_vec(), Vec::new(), vec![7u8; 1000]]);
    }

    proptest! {
        #[test]
        fn any_flipped_bit_is_detected(pos in 0usize..1100, bit in 0u8..8) {
            let b = FaultyBackend::new();
            let p = PathBuf::from("/d/x");
            write_sections(&b, &p, &MAGIC, &[b"abc", &[7u8; 1000]]).unwrap();
            let mut bytes = b.read_file(&p).unwrap();
            let pos = pos % bytes.len();
            bytes[pos] ^= 1 << bit;
            b.replace_file(&p, &bytes);
            prop_assert!(read_sections(&b, &p, &MAGIC).is_err());
        }

        #[test]
        fn arbitrary_files_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let b = FaultyBackend::new();
            let p = PathBuf::from("/d/x");
            b.open(&p, true).unwrap().write_all_at(&bytes, 0).unwrap();
            let _ = read_sections(&b, &p, &MAGIC);
        }
    }
}
