//! What the text and sparse index images share: the frame (8-byte magic, body, crc32c of
//! everything before it), little-endian writers, and a bounds-checked reader whose every
//! error names the image, the section and the byte offset.
//!
//! Invariant: the reader never reads past its slice and never lets a count allocate more
//! than the bytes left could hold.

use crate::error::{Error, Result};

/// An [`Error::Corrupt`] for `image`.
pub(crate) fn corrupt(
    image: &'static str,
    section: &'static str,
    offset: usize,
    reason: &str,
) -> Error {
    Error::Corrupt {
        image,
        section,
        offset,
        reason: reason.to_owned(),
    }
}

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends the crc32c of `out` to it (the frame's trailer).
pub(crate) fn seal_frame(out: &mut Vec<u8>) {
    let crc = crc32c::crc32c(out);
    put_u32(out, crc);
}

/// Checks the magic and the checksum of a framed image; returns the body (magic included,
/// checksum excluded).
pub(crate) fn checked_body<'a>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    image: &'static str,
) -> Result<&'a [u8]> {
    if bytes.len() < magic.len() + 8 {
        return Err(corrupt(
            image,
            "header",
            0,
            "shorter than a header and checksum",
        ));
    }
    if &bytes[..magic.len()] != magic {
        return Err(corrupt(image, "header", 0, "bad magic"));
    }
    let (body, tail) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let actual = crc32c::crc32c(body);
    if stored != actual {
        return Err(corrupt(
            image,
            "checksum",
            body.len(),
            &format!("stored crc32c {stored:#010x}, computed {actual:#010x}"),
        ));
    }
    Ok(body)
}

/// A bounds-checked cursor over an image body.
pub(crate) struct Reader<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) at: usize,
    image: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], at: usize, image: &'static str) -> Self {
        Reader { bytes, at, image }
    }

    /// An error at `offset` in `section` of this reader's image.
    pub(crate) fn corrupt(&self, section: &'static str, offset: usize, reason: &str) -> Error {
        corrupt(self.image, section, offset, reason)
    }

    pub(crate) fn take(&mut self, n: usize, section: &'static str) -> Result<&'a [u8]> {
        match self.bytes.get(self.at..self.at.saturating_add(n)) {
            Some(s) if self.at.checked_add(n).is_some() => {
                self.at += n;
                Ok(s)
            }
            _ => Err(self.corrupt(
                section,
                self.at,
                &format!(
                    "needs {n} bytes, {} left",
                    self.bytes.len().saturating_sub(self.at)
                ),
            )),
        }
    }

    pub(crate) fn u8(&mut self, section: &'static str) -> Result<u8> {
        Ok(self.take(1, section)?[0])
    }

    pub(crate) fn u16(&mut self, section: &'static str) -> Result<u16> {
        let b = self.take(2, section)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, section: &'static str) -> Result<u32> {
        let b = self.take(4, section)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A count of elements of `elem_bytes` each, checked against the bytes left.
    pub(crate) fn count(&mut self, elem_bytes: usize, section: &'static str) -> Result<usize> {
        let at = self.at;
        let n = self.u32(section)? as usize;
        self.check_fits(n, elem_bytes, section, at)?;
        Ok(n)
    }

    pub(crate) fn check_fits(
        &self,
        n: usize,
        elem_bytes: usize,
        section: &'static str,
        at: usize,
    ) -> Result<()> {
        let left = self.bytes.len().saturating_sub(self.at);
        if n.checked_mul(elem_bytes).is_none_or(|need| need > left) {
            return Err(self.corrupt(
                section,
                at,
                &format!("count {n} of {elem_bytes}-byte items exceeds the {left} bytes left"),
            ));
        }
        Ok(())
    }

    pub(crate) fn u32s(&mut self, n: usize, section: &'static str) -> Result<Vec<u32>> {
        let raw = self.take(n.saturating_mul(4), section)?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    pub(crate) fn u64s(&mut self, n: usize, section: &'static str) -> Result<Vec<u64>> {
        let raw = self.take(n.saturating_mul(8), section)?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    }
}
