//! Checking `vectors.dat` against the slot CRCs of the id -> slot map: at open (every live
//! slot, through the mapping, before the store serves anything) and read-only for a scrub
//! ([`verify_data_file`], through `pread`, changing nothing).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use rustc_hash::FxHashMap;

use super::data_file::{DataHeader, slot_offset};
use super::{Checkpoint, SlotRef, VectorGuard};
use crate::backend::{Backend, Mapping};
use crate::error::{Error, Result};
use crate::format::{VECTOR_DATA_HEADER_LEN, slot_crc};

/// Reads the data file at `data_path` without changing it and checks it against
/// `checkpoint` (read from `vectors.idx`): header, size, and every live slot's CRC. Returns
/// every problem found (empty: the data file is sound), at most `limit` of them.
pub fn verify_data_file(
    backend: &dyn Backend,
    data_path: &Path,
    checkpoint: &Checkpoint,
    limit: usize,
) -> Vec<Error> {
    let mut problems = Vec::new();
    let file = match backend.open(data_path, false) {
        Ok(f) => f,
        Err(e) => return vec![e],
    };
    let header = match DataHeader::read(file.as_ref()) {
        Ok(h) => h,
        Err(e) => return vec![e],
    };
    if header.dim != checkpoint.dim || header.generation != checkpoint.generation {
        problems.push(Error::corruption(
            data_path,
            12,
            format!(
                "data file is dim {} generation {}, vectors.idx describes dim {} generation {}",
                header.dim, header.generation, checkpoint.dim, checkpoint.generation
            ),
        ));
        return problems;
    }
    let stride = u64::from(header.dim) * 4;
    let len = match file.len() {
        Ok(l) => l,
        Err(e) => return vec![e],
    };
    let capacity = len.saturating_sub(VECTOR_DATA_HEADER_LEN) / stride;
    if capacity < checkpoint.high_water {
        // The same refusal as `open_existing`: shorter than its checkpoint.
        problems.push(Error::corruption(
            data_path,
            len,
            format!(
                "data file holds {capacity} slots but the checkpoint uses {}",
                checkpoint.high_water
            ),
        ));
    }
    let mut by_slot: Vec<SlotRef> = checkpoint.slots.values().copied().collect();
    by_slot.sort_unstable_by_key(|s| s.slot);
    let mut buf = vec![0u8; stride as usize];
    for s in by_slot {
        if problems.len() >= limit {
            break;
        }
        let offset = slot_offset(u64::from(s.slot), stride);
        if offset + stride > len {
            problems.push(Error::corruption(
                data_path,
                len,
                format!(
                    "file ends at byte {len}, before live slot {} (bytes {offset}..{})",
                    s.slot,
                    offset + stride
                ),
            ));
            break;
        }
        if let Err(e) = file.read_exact_at(&mut buf, offset) {
            problems.push(e);
            break;
        }
        if checkpoint.has_slot_crcs && slot_crc(s.slot, &buf) != s.crc {
            problems.push(Error::corruption(
                data_path,
                offset,
                format!("vector slot {} checksum mismatch", s.slot),
            ));
        }
    }
    problems
}

/// Checks every live slot against its CRC (at open: damage in `vectors.dat` is found before
/// anything is served). Reads the whole live part of the data file once.
pub(super) fn verify_slots(
    slots: &FxHashMap<u64, SlotRef>,
    mapping: &Arc<dyn Mapping>,
    dim: usize,
    data_path: &Path,
) -> Result<()> {
    let guards = Arc::new(AtomicUsize::new(0));
    let stride = dim as u64 * 4;
    let mut by_slot: Vec<SlotRef> = slots.values().copied().collect();
    // In file order, so the check reads the file sequentially.
    by_slot.sort_unstable_by_key(|s| s.slot);
    for s in by_slot {
        let offset = slot_offset(u64::from(s.slot), stride);
        VectorGuard::new(mapping.clone(), offset, dim, guards.clone(), data_path, s)?;
    }
    Ok(())
}
