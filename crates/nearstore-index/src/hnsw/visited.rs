//! Generation-stamped visited sets, reused across searches (no allocation per query).

use parking_lot::Mutex;

/// A visited set over node slots: a slot is visited when its stamp equals the current
/// generation, so clearing is one increment (a full reset only every 2^32 - 1 searches).
#[derive(Debug, Default)]
pub struct VisitedSet {
    stamps: Vec<u32>,
    generation: u32,
    /// Slots marked since the last reset (search statistics).
    pub marked: u64,
}

impl VisitedSet {
    /// Prepares for a search over `slots` nodes.
    pub fn reset(&mut self, slots: usize) {
        if self.stamps.len() < slots {
            self.stamps.resize(slots, 0);
        }
        self.marked = 0;
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.fill(0);
            self.generation = 1;
        }
    }

    /// Marks `slot`; returns true if it was not visited before.
    #[inline]
    pub fn insert(&mut self, slot: u32) -> bool {
        let s = &mut self.stamps[slot as usize];
        if *s == self.generation {
            false
        } else {
            *s = self.generation;
            self.marked += 1;
            true
        }
    }
}

/// A pool of visited sets, one taken per concurrent search.
#[derive(Debug, Default)]
pub struct VisitedPool {
    pool: Mutex<Vec<VisitedSet>>,
}

impl VisitedPool {
    /// Takes a set (a new one if the pool is empty).
    pub fn take(&self, slots: usize) -> VisitedSet {
        let mut set = self.pool.lock().pop().unwrap_or_default();
        set.reset(slots);
        set
    }

    /// Returns a set for reuse.
    pub fn give_back(&self, set: VisitedSet) {
        self.pool.lock().push(set);
    }
}
