//! On-disk format constants and bounded little-endian decoding.
//!
//! The byte layouts are documented in `docs/design/storage-format.md`; every constant here is
//! named there. All integers are little-endian.

use std::path::Path;

use crate::error::{Error, Result};

/// Version written in every file header that has no version of its own; readers refuse other
/// versions.
pub const FORMAT_VERSION: u32 = 1;
/// Version of `vectors.idx`: 2 added a CRC per entry over its slot's bytes. Version 1 files
/// are still read and upgraded (their slots' CRCs are computed from the data file at open and
/// written by the checkpoint that follows).
pub const VECTOR_INDEX_VERSION: u32 = 2;
/// Magic of `vectors.dat`.
pub const VECTOR_DATA_MAGIC: [u8; 8] = *b"NSVECDAT";
/// Magic of `vectors.wal`.
pub const VECTOR_WAL_MAGIC: [u8; 8] = *b"NSVECWAL";
/// Magic of `vectors.idx` (the id -> slot checkpoint).
pub const VECTOR_INDEX_MAGIC: [u8; 8] = *b"NSVECIDX";
/// Magic of `payloads.log`.
pub const PAYLOAD_LOG_MAGIC: [u8; 8] = *b"NSPAYLOG";
/// Magic of a collection's operation log (`ops.log`).
pub const OP_LOG_MAGIC: [u8; 8] = *b"NSOPLOG1";

/// Size of the header at the start of `vectors.dat`; slots start here (page aligned).
pub const VECTOR_DATA_HEADER_LEN: u64 = 4096;
/// Size of the fixed header of a record log (`vectors.wal`, `payloads.log`, `ops.log`). In a
/// version 1 log the records start here; a version 2 log has its two durable-length slots
/// next, and its records start at [`LOG_V2_RECORDS_START`].
pub const LOG_HEADER_LEN: u64 = 32;
/// Version written in the header of a new record log: 2 added the durable-length slots.
/// Version 1 logs are still read (without the slots' protection) and are rewritten as
/// version 2 when they are opened empty.
pub const LOG_FORMAT_VERSION: u32 = 2;
/// Magic of a durable-length slot of a version 2 record log ("NSDL" as bytes).
pub const DURABLE_SLOT_MAGIC: [u8; 4] = *b"NSDL";
/// Size of one durable-length slot: magic, counter u64, durable length u64, zero u64, CRC.
pub const DURABLE_SLOT_LEN: u64 = 32;
/// Where the records of a version 2 record log start: the header, then two slots.
pub const LOG_V2_RECORDS_START: u64 = LOG_HEADER_LEN + 2 * DURABLE_SLOT_LEN;
/// Size of the header of `vectors.idx`.
pub const VECTOR_INDEX_HEADER_LEN: u64 = 64;
/// Bytes of one `vectors.idx` entry: id u64 + slot u32 + slot CRC u32.
pub const VECTOR_INDEX_ENTRY_LEN: u64 = 16;
/// Bytes of one entry of a version 1 `vectors.idx` (no slot CRC).
pub const VECTOR_INDEX_ENTRY_LEN_V1: u64 = 12;

/// Marks the start of every log record ("NSRC" as bytes).
pub const RECORD_MAGIC: [u8; 4] = *b"NSRC";
/// Record header: magic, body length u32, crc32c u32, synced-upto u64 (the log length known
/// durable when the record was written). The CRC covers the length, synced-upto and body.
pub const RECORD_HEADER_LEN: u64 = 20;
/// Largest record body accepted; a longer length field is damage, never an allocation.
pub const MAX_RECORD_BODY: u32 = 256 << 20;
/// Largest dimension a vector store accepts.
pub const MAX_DIMENSION: usize = 65_536;

/// CRC-32C (Castagnoli) of several byte slices, as if concatenated.
pub fn crc32c_parts(parts: &[&[u8]]) -> u32 {
    parts
        .iter()
        .fold(0u32, |crc, part| crc32c::crc32c_append(crc, part))
}

/// The checksum of one vector slot: CRC-32C of the slot number (u32, little-endian) followed
/// by the slot's bytes, so a vector found in the wrong slot fails as surely as a damaged one.
pub fn slot_crc(slot: u32, bytes: &[u8]) -> u32 {
    crc32c_parts(&[&slot.to_le_bytes(), bytes])
}

/// A bounds-checked little-endian reader over a byte slice from a file.
///
/// Every read past the end is `Error::Corruption` naming the file and absolute offset.
#[derive(Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    file: &'a Path,
    base: u64,
}

impl<'a> Decoder<'a> {
    /// Decodes `bytes`, which start at byte `base` of `file`.
    pub fn new(bytes: &'a [u8], file: &'a Path, base: u64) -> Self {
        Decoder {
            bytes,
            pos: 0,
            file,
            base,
        }
    }

    /// Absolute file offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// A corruption error at the current position.
    pub fn error(&self, reason: impl Into<String>) -> Error {
        Error::corruption(self.file, self.offset(), reason)
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.error(format!(
                "needs {n} more bytes but only {} remain",
                self.remaining()
            )));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.bytes[self.pos..];
        self.pos = self.bytes.len();
        out
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// A little-endian u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A little-endian u64.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// An 8-byte magic, checked against `expected`.
    pub fn magic(&mut self, expected: &[u8; 8]) -> Result<()> {
        let at = self.offset();
        let got: [u8; 8] = self.array()?;
        if &got != expected {
            return Err(Error::corruption(
                self.file,
                at,
                format!(
                    "bad magic {:?}, expected {:?}",
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(expected)
                ),
            ));
        }
        Ok(())
    }

    /// The format version, which must be [`FORMAT_VERSION`].
    pub fn version(&mut self) -> Result<()> {
        let at = self.offset();
        let v = self.u32()?;
        if v != FORMAT_VERSION {
            return Err(Error::corruption(
                self.file,
                at,
                format!("unsupported format version {v} (this build reads {FORMAT_VERSION})"),
            ));
        }
        Ok(())
    }

    /// A format version, which must be one of `accepted`; returns it.
    pub fn version_in(&mut self, accepted: &[u32]) -> Result<u32> {
        let at = self.offset();
        let v = self.u32()?;
        if !accepted.contains(&v) {
            return Err(Error::corruption(
                self.file,
                at,
                format!("unsupported format version {v} (this build reads {accepted:?})"),
            ));
        }
        Ok(v)
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<()> {
        if self.remaining() != 0 {
            return Err(self.error(format!("{} unexpected trailing bytes", self.remaining())));
        }
        Ok(())
    }
}

/// Little-endian encoding helpers on `Vec<u8>`.
pub trait Encode {
    /// Appends a u32.
    fn put_u32(&mut self, v: u32);
    /// Appends a u64.
    fn put_u64(&mut self, v: u64);
    /// Appends f32 values.
    fn put_f32s(&mut self, v: &[f32]);
}

impl Encode for Vec<u8> {
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_f32s(&mut self, v: &[f32]) {
        self.reserve(v.len() * 4);
        for x in v {
            self.extend_from_slice(&x.to_le_bytes());
        }
    }
}

/// Decodes little-endian f32 values from `bytes` (whose length is a multiple of 4).
pub fn f32s_from_le(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decoder_reports_the_absolute_offset_of_a_short_read() {
        let bytes = [1u8, 2, 3];
        let mut d = Decoder::new(&bytes, Path::new("f"), 100);
        assert_eq!(d.u8().unwrap(), 1);
        match d.u32() {
            Err(Error::Corruption { offset, .. }) => assert_eq!(offset, 101),
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    proptest! {
        #[test]
        fn decoder_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64), n in 0usize..100) {
            let mut d = Decoder::new(&bytes, Path::new("f"), 0);
            let _ = d.u64();
            let _ = d.take(n);
            let _ = d.magic(&VECTOR_WAL_MAGIC);
            let _ = d.version();
            let _ = d.finish();
        }
    }
}
