//! `vectors.dat`: a 4 KiB header, then fixed-size slots of `dim` little-endian f32.
//!
//! Slots are write-once: a slot is written before it is published and never written again
//! while anything can read it (updates take a new slot; freed slots are only hole-punched,
//! and only once nothing durable or alive refers to them; compaction writes a new file).
//! The file is mapped read-only and shared; writes go through `pwrite` (so a full disk is an
//! error, not SIGBUS), into space reserved beforehand with `fallocate`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::backend::{Backend, Mapping, StorageFile, write_file_atomically};
use crate::error::{Error, Result};
use crate::format::{Decoder, FORMAT_VERSION, VECTOR_DATA_HEADER_LEN, VECTOR_DATA_MAGIC};
use crate::metrics::LatencyHistogram;

/// Parameters recorded in the data file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataHeader {
    /// Vector dimension.
    pub dim: u32,
    /// Generation: bumped by every compaction, matched by `vectors.idx`.
    pub generation: u64,
}

impl DataHeader {
    /// The 4 KiB header block.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(VECTOR_DATA_HEADER_LEN as usize);
        out.extend_from_slice(&VECTOR_DATA_MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.dim.to_le_bytes());
        out.extend_from_slice(&self.generation.to_le_bytes());
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.resize(VECTOR_DATA_HEADER_LEN as usize, 0);
        out
    }

    /// Reads and checks the header of an open data file.
    pub fn read(file: &dyn StorageFile) -> Result<Self> {
        let len = file.len()?;
        if len < VECTOR_DATA_HEADER_LEN {
            return Err(Error::corruption(
                file.path(),
                0,
                format!("data file is {len} bytes, shorter than its header"),
            ));
        }
        let mut buf = [0u8; 28];
        file.read_exact_at(&mut buf, 0)?;
        let mut d = Decoder::new(&buf, file.path(), 0);
        d.magic(&VECTOR_DATA_MAGIC)?;
        d.version()?;
        let dim = d.u32()?;
        let generation = d.u64()?;
        let stored = d.u32()?;
        if stored != crc32c::crc32c(&buf[..24]) {
            return Err(Error::corruption(
                file.path(),
                24,
                "data header checksum mismatch",
            ));
        }
        Ok(DataHeader { dim, generation })
    }
}

/// Byte offset of `slot` in a data file whose slots are `stride` bytes.
pub fn slot_offset(slot: u64, stride: u64) -> u64 {
    VECTOR_DATA_HEADER_LEN + slot * stride
}

/// Growth bookkeeping reported through metrics.
#[derive(Debug, Default)]
pub struct GrowStats {
    /// Remaps done.
    pub remaps: u64,
    /// Bytes mapped by them.
    pub bytes_remapped: u64,
    /// Latency of every capacity check (and growth when needed).
    pub latency: LatencyHistogram,
}

/// An open `vectors.dat`.
#[derive(Debug)]
pub struct DataFile {
    file: Arc<dyn StorageFile>,
    header: DataHeader,
    stride: u64,
    capacity: u64,
    mapping: Arc<dyn Mapping>,
    min_grow_bytes: u64,
    /// Growth statistics.
    pub grow: GrowStats,
}

impl DataFile {
    /// Creates a new data file atomically (header only) and opens it.
    pub fn create(
        backend: &dyn Backend,
        path: &Path,
        header: DataHeader,
        min_grow_bytes: u64,
    ) -> Result<Self> {
        write_file_atomically(backend, path, &header.encode())?;
        Self::open(backend, path, min_grow_bytes)
    }

    /// Opens an existing data file and maps it.
    pub fn open(backend: &dyn Backend, path: &Path, min_grow_bytes: u64) -> Result<Self> {
        let file = backend.open(path, false)?;
        let header = DataHeader::read(file.as_ref())?;
        let stride = u64::from(header.dim) * 4;
        if stride == 0 {
            return Err(Error::corruption(path, 12, "dimension 0 in data header"));
        }
        let len = file.len()?;
        let capacity = (len - VECTOR_DATA_HEADER_LEN) / stride;
        let mapping = file.map(len)?;
        Ok(DataFile {
            file,
            header,
            stride,
            capacity,
            mapping,
            min_grow_bytes,
            grow: GrowStats::default(),
        })
    }

    /// The header.
    pub fn header(&self) -> DataHeader {
        self.header
    }

    /// Bytes per slot.
    pub fn stride(&self) -> u64 {
        self.stride
    }

    /// Slots the file has room for.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The current read-only mapping (header + every slot).
    pub fn mapping(&self) -> &Arc<dyn Mapping> {
        &self.mapping
    }

    /// Byte offset of a slot.
    pub fn slot_offset(&self, slot: u64) -> u64 {
        slot_offset(slot, self.stride)
    }

    /// Makes room for `slots` slots, growing geometrically (at least doubling, at least
    /// `min_grow_bytes`) with `fallocate`, then remapping. Returns whether it remapped.
    pub fn ensure_capacity(&mut self, slots: u64) -> Result<bool> {
        let started = Instant::now();
        let grown = if slots <= self.capacity {
            false
        } else {
            let min_slots = self.min_grow_bytes / self.stride;
            let target = slots.max(self.capacity.saturating_mul(2)).max(min_slots);
            self.grow_to(target)?;
            true
        };
        self.grow.latency.record(started.elapsed());
        Ok(grown)
    }

    /// Grows to exactly `slots` slots of capacity (never shrinks).
    pub fn grow_to(&mut self, slots: u64) -> Result<()> {
        if slots <= self.capacity {
            return Ok(());
        }
        let len = slots
            .checked_mul(self.stride)
            .and_then(|b| b.checked_add(VECTOR_DATA_HEADER_LEN))
            .ok_or_else(|| Error::InvalidArgument(format!("{slots} slots overflow a file")))?;
        self.file.allocate(len)?;
        self.mapping = self.file.map(len)?;
        self.capacity = slots;
        self.grow.remaps += 1;
        self.grow.bytes_remapped += len;
        Ok(())
    }

    /// Writes consecutive slots starting at `first` (`bytes` holds whole slots).
    pub fn write_slots(&self, first: u64, bytes: &[u8]) -> Result<()> {
        debug_assert_eq!(bytes.len() as u64 % self.stride, 0);
        self.file.write_all_at(bytes, self.slot_offset(first))
    }

    /// Reads one slot's bytes (through `pread`, not the mapping).
    pub fn read_slot(&self, slot: u64) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; self.stride as usize];
        self.file.read_exact_at(&mut buf, self.slot_offset(slot))?;
        Ok(buf)
    }

    /// Releases the blocks of the given slots (coalescing runs of adjacent slots).
    pub fn punch_slots(&self, slots: &mut [u32]) -> Result<()> {
        slots.sort_unstable();
        let mut i = 0;
        while i < slots.len() {
            let start = slots[i];
            let mut end = start + 1;
            i += 1;
            while i < slots.len() && slots[i] <= end {
                end = end.max(slots[i] + 1);
                i += 1;
            }
            let offset = self.slot_offset(u64::from(start));
            self.file
                .punch_hole(offset, u64::from(end - start) * self.stride)?;
        }
        Ok(())
    }

    /// Makes every slot write durable.
    pub fn sync(&self) -> Result<()> {
        self.file.sync()
    }
}

/// The name of the file a compaction writes before renaming it over `vectors.dat`.
pub fn compaction_path(data_path: &Path) -> PathBuf {
    data_path.with_file_name("vectors.dat.compact")
}
