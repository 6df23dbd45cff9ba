//! External ids: each slot's id ([`ExternalIds`], 4 bytes a slot while every id fits in
//! 32 bits, 8 after) and the id -> slot table ([`IdTable`]), holding slots only.
//!
//! A hash map from `u64` ids to `u32` slots stores 16 bytes a bucket (key, value, padding);
//! at 128-d with SQ8 codes that is a tenth of the index. The graph already keeps each
//! slot's external id, so this table stores only the slot (4 bytes a bucket, open
//! addressing with linear probing) and compares a probed slot's id through the graph's
//! [`ExternalIds`], which every method takes. Invariant: every slot in the table is live
//! and `external[slot]` is the id it was inserted under (a slot is removed before it is
//! freed and reused under another id).
//!
//! Must not depend on anything but the id array it is given.

/// The external id of every slot: `u32`s while every id fits (the common case of ids
/// counted from zero), widened to `u64`s, once, by the first id that does not.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ExternalIds {
    /// Every id below 2^32.
    Narrow(Vec<u32>),
    /// Any ids.
    Wide(Vec<u64>),
}

impl Default for ExternalIds {
    fn default() -> Self {
        ExternalIds::Narrow(Vec::new())
    }
}

impl ExternalIds {
    /// Ids from a list (narrow when they all fit).
    pub fn from_vec(ids: Vec<u64>) -> Self {
        if ids.iter().all(|&id| u32::try_from(id).is_ok()) {
            ExternalIds::Narrow(ids.into_iter().map(|id| id as u32).collect())
        } else {
            ExternalIds::Wide(ids)
        }
    }

    /// The id of `slot`, if there is such a slot.
    #[inline]
    pub fn get(&self, slot: usize) -> Option<u64> {
        match self {
            ExternalIds::Narrow(v) => v.get(slot).map(|&id| u64::from(id)),
            ExternalIds::Wide(v) => v.get(slot).copied(),
        }
    }

    /// The id of `slot` (a slot below `len()`).
    #[inline]
    pub fn at(&self, slot: usize) -> u64 {
        match self {
            ExternalIds::Narrow(v) => u64::from(v[slot]),
            ExternalIds::Wide(v) => v[slot],
        }
    }

    /// Slots.
    pub fn len(&self) -> usize {
        match self {
            ExternalIds::Narrow(v) => v.len(),
            ExternalIds::Wide(v) => v.len(),
        }
    }

    /// Every id, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.len()).map(|s| self.at(s))
    }

    fn widen_for(&mut self, id: u64) {
        if let ExternalIds::Narrow(v) = self
            && u32::try_from(id).is_err()
        {
            let mut wide = Vec::with_capacity(v.capacity());
            wide.extend(v.iter().map(|&x| u64::from(x)));
            *self = ExternalIds::Wide(wide);
        }
    }

    /// Reserves room for `additional` more slots.
    pub fn reserve(&mut self, additional: usize) {
        match self {
            ExternalIds::Narrow(v) => v.reserve(additional),
            ExternalIds::Wide(v) => v.reserve(additional),
        }
    }

    /// Appends a slot's id.
    pub fn push(&mut self, id: u64) {
        self.widen_for(id);
        match self {
            ExternalIds::Narrow(v) => v.push(id as u32),
            ExternalIds::Wide(v) => v.push(id),
        }
    }

    /// Sets the id of `slot` (below `len()`).
    pub fn set(&mut self, slot: usize, id: u64) {
        self.widen_for(id);
        match self {
            ExternalIds::Narrow(v) => v[slot] = id as u32,
            ExternalIds::Wide(v) => v[slot] = id,
        }
    }

    /// Bytes allocated.
    pub fn memory_bytes(&self) -> usize {
        match self {
            ExternalIds::Narrow(v) => v.capacity() * 4,
            ExternalIds::Wide(v) => v.capacity() * 8,
        }
    }
}

/// A bucket never used.
const EMPTY: u32 = u32::MAX;
/// A bucket whose slot was removed (probing goes on past it).
const REMOVED: u32 = u32::MAX - 1;
/// Largest share of buckets in use (slots and removed marks), in eighths.
const MAX_LOAD_EIGHTHS: usize = 7;

/// External id -> slot (see the module docs).
#[derive(Debug, Default)]
pub(super) struct IdTable {
    buckets: Vec<u32>,
    len: usize,
    /// Buckets holding a slot or a removed mark.
    used: usize,
}

impl IdTable {
    /// Live ids in the table.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn home(&self, id: u64) -> usize {
        let bits = self.buckets.len().trailing_zeros();
        // Fibonacci hashing: the top bits of the product spread sequential ids.
        (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// The bucket holding `id`'s slot, if any.
    fn find(&self, id: u64, external: &ExternalIds) -> Option<usize> {
        if self.buckets.is_empty() {
            return None;
        }
        let mask = self.buckets.len() - 1;
        let mut at = self.home(id);
        loop {
            match self.buckets[at] {
                EMPTY => return None,
                REMOVED => {}
                slot => {
                    if external.get(slot as usize) == Some(id) {
                        return Some(at);
                    }
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// Gives every slot in the table its new number (`new_of[old]`, after the graph's
    /// slots were renumbered with their ids); a bucket's place depends only on its id.
    pub(super) fn renumber(&mut self, new_of: &[u32]) {
        for b in &mut self.buckets {
            if *b < REMOVED {
                *b = new_of[*b as usize];
            }
        }
    }

    /// The slot of `id`.
    #[inline]
    pub(super) fn get(&self, id: u64, external: &ExternalIds) -> Option<u32> {
        self.find(id, external).map(|at| self.buckets[at])
    }

    /// Whether `id` has a slot.
    pub(super) fn contains(&self, id: u64, external: &ExternalIds) -> bool {
        self.find(id, external).is_some()
    }

    /// Maps `external[slot]` to `slot`; returns the slot it replaced, if any.
    pub(super) fn insert(&mut self, slot: u32, external: &ExternalIds) -> Option<u32> {
        let id = external.at(slot as usize);
        if let Some(at) = self.find(id, external) {
            return Some(std::mem::replace(&mut self.buckets[at], slot));
        }
        if (self.used + 1) * 8 > self.buckets.len() * MAX_LOAD_EIGHTHS {
            self.rehash(self.len + 1, external);
        }
        let mask = self.buckets.len() - 1;
        let mut at = self.home(id);
        while self.buckets[at] < REMOVED {
            at = (at + 1) & mask;
        }
        if self.buckets[at] == EMPTY {
            self.used += 1;
        }
        self.buckets[at] = slot;
        self.len += 1;
        None
    }

    /// Removes `id`; returns its slot.
    pub(super) fn remove(&mut self, id: u64, external: &ExternalIds) -> Option<u32> {
        let at = self.find(id, external)?;
        self.len -= 1;
        Some(std::mem::replace(&mut self.buckets[at], REMOVED))
    }

    /// Rebuilds the buckets for `room` ids (dropping removed marks).
    fn rehash(&mut self, room: usize, external: &ExternalIds) {
        let want = (room * 8).div_ceil(MAX_LOAD_EIGHTHS) + 1;
        let size = want.next_power_of_two().max(8);
        let old = std::mem::replace(&mut self.buckets, vec![EMPTY; size]);
        self.used = 0;
        let mask = size - 1;
        for slot in old.into_iter().filter(|&s| s < REMOVED) {
            let mut at = self.home(external.at(slot as usize));
            while self.buckets[at] != EMPTY {
                at = (at + 1) & mask;
            }
            self.buckets[at] = slot;
            self.used += 1;
        }
    }

    /// Bytes allocated.
    pub(super) fn memory_bytes(&self) -> usize {
        self.buckets.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #[test]
        fn table_agrees_with_a_hash_map(ops in proptest::collection::vec((0u8..3, 0u64..40), 1..400)) {
            // Slots are appended with their id, as the graph does; a removed id's slot is
            // never reused here (the graph frees it later), a new insert takes a new slot.
            let mut external = ExternalIds::default();
            let mut table = IdTable::default();
            let mut model: HashMap<u64, u32> = HashMap::new();
            for (op, id) in ops {
                let id = id * 0x1_0000_0001;
                match op {
                    0 => {
                        let slot = external.len() as u32;
                        external.push(id);
                        prop_assert_eq!(table.insert(slot, &external), model.insert(id, slot));
                    }
                    1 => prop_assert_eq!(table.remove(id, &external), model.remove(&id)),
                    _ => prop_assert_eq!(table.get(id, &external), model.get(&id).copied()),
                }
                prop_assert_eq!(table.len(), model.len());
            }
            for (&id, &slot) in &model {
                prop_assert_eq!(table.get(id, &external), Some(slot));
                prop_assert!(table.contains(id, &external));
            }
        }
    }

    #[test]
    fn ids_stay_narrow_until_one_needs_64_bits() {
        let mut ids = ExternalIds::default();
        ids.push(7);
        ids.push(u64::from(u32::MAX));
        assert!(matches!(ids, ExternalIds::Narrow(_)));
        let narrow = ids.memory_bytes();
        ids.set(0, 1 << 40);
        assert_eq!(
            ids.memory_bytes(),
            2 * narrow,
            "8 bytes a slot instead of 4"
        );
        assert!(
            matches!(ids, ExternalIds::Wide(_)),
            "widened by the large id"
        );
        ids.push(3);
        assert_eq!(
            ids.iter().collect::<Vec<_>>(),
            vec![1 << 40, u64::from(u32::MAX), 3]
        );
        assert_eq!(
            ExternalIds::from_vec(vec![1, 2]),
            ExternalIds::Narrow(vec![1, 2])
        );
        assert_eq!(
            ExternalIds::from_vec(vec![1, 1 << 33]),
            ExternalIds::Wide(vec![1, 1 << 33])
        );
    }

    #[test]
    fn a_table_of_100k_ids_takes_about_5_bytes_an_id() {
        let external = ExternalIds::from_vec((0..100_000).collect());
        let mut table = IdTable::default();
        for slot in 0..100_000 {
            table.insert(slot, &external);
        }
        assert_eq!(table.len(), 100_000);
        assert!(table.memory_bytes() <= 131_072 * 4);
        assert_eq!(table.get(77_777, &external), Some(77_777));
        assert_eq!(table.get(100_000, &external), None);
    }
}
