//! `vectors.idx`: the durable id -> slot map as of a WAL position.
//!
//! Layout: a 64-byte header (magic, version, dim, generation, lsn, high-water slot, entry
//! count), `count` entries of (id u64, slot u32, slot CRC u32), and a CRC-32C of everything
//! before it. The file is always replaced whole (write temp, fsync, rename, fsync dir), so it
//! is either the old checkpoint or the new one.
//!
//! The slot CRC ([`crate::format::slot_crc`]) is what makes a checkpointed slot of
//! `vectors.dat` verifiable: slots are write-once, so the CRC computed when the slot was
//! written holds for as long as the slot is live. Version 1 files (entries without a CRC) are
//! still read: their entries come back with `crc: None`, and the store computes the CRCs from
//! the data file at open and writes a version 2 checkpoint.

use std::path::Path;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::backend::{Backend, StorageFile};
use crate::error::{Error, Result};
use crate::format::{
    Decoder, Encode, VECTOR_INDEX_ENTRY_LEN, VECTOR_INDEX_ENTRY_LEN_V1, VECTOR_INDEX_HEADER_LEN,
    VECTOR_INDEX_MAGIC, VECTOR_INDEX_VERSION,
};

/// Where a live vector is: its slot in `vectors.dat` and the CRC of the slot's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRef {
    /// The slot.
    pub slot: u32,
    /// [`crate::format::slot_crc`] of the slot as written (0 in a checkpoint read from a
    /// version 1 file, whose `has_slot_crcs` is false, until the store computes it).
    pub crc: u32,
}

/// A decoded checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Vector dimension.
    pub dim: u32,
    /// Generation of the data file this map belongs to.
    pub generation: u64,
    /// Last WAL sequence number reflected (records at or below it are skipped on replay).
    pub lsn: u64,
    /// Number of slots ever handed out in this data file generation.
    pub high_water: u64,
    /// Live id -> slot and slot CRC.
    pub slots: FxHashMap<u64, SlotRef>,
    /// False for a version 1 file: its entries carry no slot CRC yet.
    pub has_slot_crcs: bool,
}

impl Checkpoint {
    /// Serializes the checkpoint (entries in slot order).
    pub fn encode(&self) -> Vec<u8> {
        encode_checkpoint(
            self.dim,
            self.generation,
            self.lsn,
            self.high_water,
            &self.slots,
        )
    }

    /// Reads and validates a checkpoint file. Every length is checked against the file size
    /// before anything is allocated.
    pub fn read(file: &dyn StorageFile) -> Result<Self> {
        let path = file.path();
        let len = file.len()?;
        if len < VECTOR_INDEX_HEADER_LEN + 4 {
            return Err(Error::corruption(
                path,
                0,
                format!("checkpoint is only {len} bytes"),
            ));
        }
        let mut head = [0u8; VECTOR_INDEX_HEADER_LEN as usize];
        file.read_exact_at(&mut head, 0)?;
        let mut d = Decoder::new(&head, path, 0);
        d.magic(&VECTOR_INDEX_MAGIC)?;
        let version = d.version_in(&[1, VECTOR_INDEX_VERSION])?;
        let entry_len = if version == 1 {
            VECTOR_INDEX_ENTRY_LEN_V1
        } else {
            VECTOR_INDEX_ENTRY_LEN
        };
        let dim = d.u32()?;
        let generation = d.u64()?;
        let lsn = d.u64()?;
        let high_water = d.u64()?;
        let count = d.u64()?;
        let expected = count
            .checked_mul(entry_len)
            .and_then(|b| b.checked_add(VECTOR_INDEX_HEADER_LEN + 4));
        if expected != Some(len) {
            return Err(Error::corruption(
                path,
                40,
                format!("entry count {count} does not match the file size {len}"),
            ));
        }
        let mut bytes = vec![0u8; len as usize];
        file.read_exact_at(&mut bytes, 0)?;
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if stored != crc32c::crc32c(body) {
            return Err(Error::corruption(
                path,
                len - 4,
                "checkpoint checksum mismatch",
            ));
        }
        let header = Checkpoint {
            dim,
            generation,
            lsn,
            high_water,
            slots: FxHashMap::default(),
            has_slot_crcs: version >= 2,
        };
        header.decode_entries(path, body, count, version >= 2)
    }

    fn decode_entries(
        mut self,
        path: &Path,
        body: &[u8],
        count: u64,
        with_crc: bool,
    ) -> Result<Self> {
        let high_water = self.high_water;
        let mut d = Decoder::new(
            &body[VECTOR_INDEX_HEADER_LEN as usize..],
            path,
            VECTOR_INDEX_HEADER_LEN,
        );
        let mut slots = FxHashMap::with_capacity_and_hasher(count as usize, Default::default());
        let mut used = FxHashSet::with_capacity_and_hasher(count as usize, Default::default());
        for _ in 0..count {
            let at = d.offset();
            let id = d.u64()?;
            let slot = d.u32()?;
            let crc = if with_crc { d.u32()? } else { 0 };
            if u64::from(slot) >= high_water {
                return Err(Error::corruption(
                    path,
                    at,
                    format!("slot {slot} of id {id} is past the high-water mark {high_water}"),
                ));
            }
            if slots.insert(id, SlotRef { slot, crc }).is_some() || !used.insert(slot) {
                return Err(Error::corruption(path, at, "duplicate id or slot"));
            }
        }
        d.finish()?;
        self.slots = slots;
        Ok(self)
    }

    /// Reads the checkpoint at `path`, or `None` when the file does not exist.
    pub fn read_path(backend: &dyn Backend, path: &Path) -> Result<Option<Self>> {
        if !backend.exists(path)? {
            return Ok(None);
        }
        let file = backend.open(path, false)?;
        Self::read(file.as_ref()).map(Some)
    }
}

/// Serializes a checkpoint from borrowed parts (entries in slot order), so the live map need
/// not be cloned.
pub fn encode_checkpoint(
    dim: u32,
    generation: u64,
    lsn: u64,
    high_water: u64,
    slots: &FxHashMap<u64, SlotRef>,
) -> Vec<u8> {
    let count = slots.len() as u64;
    let mut out =
        Vec::with_capacity((VECTOR_INDEX_HEADER_LEN + count * VECTOR_INDEX_ENTRY_LEN + 4) as usize);
    out.extend_from_slice(&VECTOR_INDEX_MAGIC);
    out.put_u32(VECTOR_INDEX_VERSION);
    out.put_u32(dim);
    out.put_u64(generation);
    out.put_u64(lsn);
    out.put_u64(high_water);
    out.put_u64(count);
    out.resize(VECTOR_INDEX_HEADER_LEN as usize, 0);
    let mut entries: Vec<(u32, u64, u32)> =
        slots.iter().map(|(&id, s)| (s.slot, id, s.crc)).collect();
    entries.sort_unstable();
    for (slot, id, crc) in entries {
        out.put_u64(id);
        out.put_u32(slot);
        out.put_u32(crc);
    }
    let crc = crc32c::crc32c(&out);
    out.put_u32(crc);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::FaultyBackend;
    use proptest::prelude::*;
    use std::path::PathBuf;

    fn sample() -> Checkpoint {
        let mut c = Checkpoint {
            dim: 4,
            generation: 2,
            lsn: 9,
            high_water: 10,
            slots: FxHashMap::default(),
            has_slot_crcs: true,
        };
        c.slots.insert(7, SlotRef { slot: 3, crc: 11 });
        c.slots.insert(
            1,
            SlotRef {
                slot: 9,
                crc: 0xdead_beef,
            },
        );
        c
    }

    fn round_trip(bytes: &[u8]) -> Result<Checkpoint> {
        let b = FaultyBackend::new();
        let p = PathBuf::from("vectors.idx");
        let f = b.open(&p, true)?;
        f.write_all_at(bytes, 0)?;
        Checkpoint::read(f.as_ref())
    }

    #[test]
    fn checkpoint_round_trips() {
        let c = sample();
        assert_eq!(round_trip(&c.encode()).unwrap(), c);
    }

    #[test]
    fn version_1_checkpoints_are_read_without_slot_crcs() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&VECTOR_INDEX_MAGIC);
        bytes.put_u32(1);
        bytes.put_u32(4);
        bytes.put_u64(2);
        bytes.put_u64(9);
        bytes.put_u64(10);
        bytes.put_u64(1);
        bytes.resize(VECTOR_INDEX_HEADER_LEN as usize, 0);
        bytes.put_u64(7);
        bytes.put_u32(3);
        let crc = crc32c::crc32c(&bytes);
        bytes.put_u32(crc);
        let c = round_trip(&bytes).unwrap();
        assert_eq!(c.slots[&7], SlotRef { slot: 3, crc: 0 });
        assert!(!c.has_slot_crcs);
        assert_eq!(c.lsn, 9);
    }

    #[test]
    fn huge_entry_count_allocates_nothing_and_is_corruption() {
        let mut bytes = sample().encode();
        bytes[40..48].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(round_trip(&bytes).unwrap_err().is_corruption());
    }

    proptest! {
        #[test]
        fn any_damage_to_a_checkpoint_is_detected_without_panic(pos in 0usize..100, bit in 0u8..8) {
            let mut bytes = sample().encode();
            let pos = pos % bytes.len();
            bytes[pos] ^= 1 << bit;
            prop_assert!(round_trip(&bytes).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = round_trip(&bytes);
        }
    }
}
