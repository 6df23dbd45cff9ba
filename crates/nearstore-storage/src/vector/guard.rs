//! Zero-copy read guards over the data file mapping.
//!
//! How a guard stays valid (specification line 9, "guards are tied to their mapping"):
//! a guard owns an `Arc` of the mapping it was made from, so a remap after growth or the
//! file swap of a compaction never unmaps memory a guard can read (the old mapping lives until
//! its last guard drops; the old inode stays alive behind it). And the bytes under a guard
//! never change while it lives:
//! - live slots are never written (slots are write-once; updates take a fresh slot);
//! - a slot leaves the id map before it can be reclaimed, and reclaiming (hole punching) is
//!   skipped while any guard is alive: the live-guard count is checked under the id map's
//!   write lock, and guards are only created under its read lock, for slots in the map.

use std::fmt;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::backend::Mapping;
use crate::error::{Error, Result};
use crate::format::slot_crc;
use crate::vector::checkpoint::SlotRef;

#[cfg(target_endian = "big")]
compile_error!(
    "nearstore-storage maps little-endian f32 data in place: big-endian targets are not supported"
);

/// A borrowed view of one stored vector, read in place from the memory map.
pub struct VectorGuard {
    mapping: Arc<dyn Mapping>,
    offset: usize,
    dim: usize,
    live_guards: Arc<AtomicUsize>,
}

impl VectorGuard {
    /// Makes a guard over `dim` f32 at byte `offset` of `mapping`, after checking that the
    /// range is inside the mapping and f32-aligned, and that the bytes' checksum
    /// ([`crate::format::slot_crc`] of `slot`) is `expected_crc`. A bad offset (from a
    /// damaged index) or damaged bytes are `Error::Corruption` (the specification's "invalid
    /// data"), never a wild read or a wrong vector.
    pub(crate) fn new(
        mapping: Arc<dyn Mapping>,
        offset: u64,
        dim: usize,
        live_guards: Arc<AtomicUsize>,
        file: &Path,
        slot: SlotRef,
    ) -> Result<Self> {
        let bytes = dim as u64 * 4;
        let in_bounds = offset
            .checked_add(bytes)
            .is_some_and(|end| end <= mapping.len() as u64);
        if !in_bounds {
            return Err(Error::corruption(
                file,
                offset,
                format!(
                    "slot offset {offset} + {bytes} bytes is outside the {}-byte mapping",
                    mapping.len()
                ),
            ));
        }
        if !offset.is_multiple_of(4) {
            return Err(Error::corruption(
                file,
                offset,
                format!("slot offset {offset} is not aligned to 4 bytes"),
            ));
        }
        live_guards.fetch_add(1, Ordering::AcqRel);
        let guard = VectorGuard {
            mapping,
            offset: offset as usize,
            dim,
            live_guards,
        };
        let actual = slot_crc(slot.slot, guard.bytes());
        if actual != slot.crc {
            return Err(Error::corruption(
                file,
                offset,
                format!(
                    "vector slot {} checksum mismatch (stored {:#010x}, computed {actual:#010x})",
                    slot.slot, slot.crc
                ),
            ));
        }
        Ok(guard)
    }

    /// The vector's bytes as stored (little-endian f32).
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `new` checked that [offset, offset + 4 * dim) lies inside the mapping, which
        // our Arc keeps alive; u8 has no alignment or validity requirement, and the bytes do
        // not change while this guard lives (module docs).
        unsafe { std::slice::from_raw_parts(self.mapping.as_ptr().add(self.offset), self.dim * 4) }
    }
}

impl Deref for VectorGuard {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        // SAFETY: `new` checked that [offset, offset + 4 * dim) lies inside the mapping and
        // that offset is a multiple of 4; the mapping base is 64-byte aligned (Mapping's
        // contract), so the pointer is aligned for f32. The mapping is kept alive by our Arc.
        // Every bit pattern is a valid f32, the data is little-endian like the host
        // (big-endian targets fail to compile above), and the bytes do not change while this
        // guard lives (module docs: live slots are write-once and are reclaimed only when no
        // guard exists).
        unsafe {
            std::slice::from_raw_parts(
                self.mapping.as_ptr().add(self.offset).cast::<f32>(),
                self.dim,
            )
        }
    }
}

impl Drop for VectorGuard {
    fn drop(&mut self) {
        self.live_guards.fetch_sub(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for VectorGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VectorGuard")
            .field("offset", &self.offset)
            .field("dim", &self.dim)
            .finish()
    }
}

impl AsRef<[f32]> for VectorGuard {
    fn as_ref(&self) -> &[f32] {
        self
    }
}

/// The `dim` f32 at byte `offset` of `mapping` and their bytes, or `None` when the range
/// is outside the mapping or misaligned. Borrowed, without a guard: only for a caller that
/// holds the store's id map read lock for a slot in the map the whole time it uses the
/// slices (then the slot cannot be reclaimed and its bytes never change: module docs).
pub(crate) fn mapped_vector(
    mapping: &dyn Mapping,
    offset: u64,
    dim: usize,
) -> Option<(&[f32], &[u8])> {
    let bytes = dim as u64 * 4;
    let end = offset.checked_add(bytes)?;
    if end > mapping.len() as u64 || !offset.is_multiple_of(4) {
        return None;
    }
    let offset = offset as usize;
    // SAFETY: [offset, offset + 4 * dim) lies inside the mapping (checked above), which the
    // borrowed `mapping` keeps alive for the returned lifetime; offset is a multiple of 4
    // and the mapping base is 64-byte aligned (Mapping's contract), so the f32 view is
    // aligned; every bit pattern is a valid f32 and u8, the data is little-endian like the
    // host, and the caller's read lock keeps the bytes unchanged (doc above).
    unsafe {
        let base = mapping.as_ptr().add(offset);
        Some((
            std::slice::from_raw_parts(base.cast::<f32>(), dim),
            std::slice::from_raw_parts(base, dim * 4),
        ))
    }
}
