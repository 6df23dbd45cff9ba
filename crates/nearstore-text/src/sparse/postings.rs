//! One dimension's posting list: the slots (the index's internal document numbers, strictly
//! increasing) holding the dimension, their weights, and per block of [`BLOCK_LEN`] entries
//! the largest and smallest weight, which bound a query term's contribution over the block.
//!
//! Why plain vectors, not bit-packed blocks like the text postings: a weight is a 4-byte
//! float that does not compress by packing, appends are the common write, and a search reads
//! the slots and weights of a block directly. A delete leaves its postings in place (the
//! index marks the slot dead); the index's compaction rebuilds the lists without them.
//!
//! Invariant: `slots` strictly increase; `weights[i]` is finite and non-zero; block `b`
//! covers entries `b * BLOCK_LEN ..` and its `max`/`min` are at least/at most every weight
//! in it (exact when built, conservative after deletes). `live` counts live slots in the list.

/// Entries per block.
pub(crate) const BLOCK_LEN: usize = 64;

/// One block's skip entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Block {
    /// The block's last (largest) slot.
    pub(crate) last: u32,
    /// Largest weight in the block.
    pub(crate) max: f32,
    /// Smallest weight in the block.
    pub(crate) min: f32,
}

impl Block {
    /// Upper bound of `q * w` over the block's weights.
    #[inline]
    pub(crate) fn bound(&self, q: f64) -> f64 {
        if q > 0.0 {
            q * f64::from(self.max)
        } else {
            q * f64::from(self.min)
        }
    }
}

/// A dimension's postings.
#[derive(Debug, Clone, Default)]
pub(crate) struct PostingList {
    pub(crate) slots: Vec<u32>,
    pub(crate) weights: Vec<f32>,
    pub(crate) blocks: Vec<Block>,
    /// Largest and smallest weight in the list (bounds, like the blocks').
    pub(crate) max: f32,
    pub(crate) min: f32,
    /// Live documents holding this dimension (the document frequency IDF uses).
    pub(crate) live: u32,
}

impl PostingList {
    /// Appends `slot` (larger than every slot already in the list) with weight `w`.
    #[inline]
    pub(crate) fn push(&mut self, slot: u32, w: f32) {
        debug_assert!(self.slots.last().is_none_or(|&s| s < slot));
        if self.slots.is_empty() {
            self.max = w;
            self.min = w;
        } else {
            self.max = self.max.max(w);
            self.min = self.min.min(w);
        }
        if self.slots.len().is_multiple_of(BLOCK_LEN) {
            self.blocks.push(Block {
                last: slot,
                max: w,
                min: w,
            });
        } else if let Some(block) = self.blocks.last_mut() {
            block.last = slot;
            block.max = block.max.max(w);
            block.min = block.min.min(w);
        }
        self.slots.push(slot);
        self.weights.push(w);
    }

    /// Entries (dead ones included).
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Upper bound of `q * w` over the whole list.
    #[inline]
    pub(crate) fn bound(&self, q: f64) -> f64 {
        if q > 0.0 {
            q * f64::from(self.max)
        } else {
            q * f64::from(self.min)
        }
    }

    /// Bytes of the postings and block table (the figure `posting_bytes` reports).
    pub(crate) fn bytes(&self) -> usize {
        self.slots.len() * (size_of::<u32>() + size_of::<f32>())
            + self.blocks.len() * size_of::<Block>()
    }
}

/// A read position in one list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a> {
    list: &'a PostingList,
    /// Current entry.
    pos: usize,
    /// Block pointer for shallow seeks (never behind a block the cursor has left).
    block: usize,
}

/// The slot of an exhausted cursor.
pub(crate) const END: u32 = u32::MAX;

impl<'a> Cursor<'a> {
    pub(crate) fn new(list: &'a PostingList) -> Self {
        Cursor {
            list,
            pos: 0,
            block: 0,
        }
    }

    /// Current slot, [`END`] when exhausted.
    #[inline]
    pub(crate) fn slot(&self) -> u32 {
        self.list.slots.get(self.pos).copied().unwrap_or(END)
    }

    /// Weight at the current entry (0 when exhausted).
    #[inline]
    pub(crate) fn weight(&self) -> f32 {
        self.list.weights.get(self.pos).copied().unwrap_or(0.0)
    }

    #[inline]
    pub(crate) fn next(&mut self) {
        self.pos += 1;
    }

    /// The block that would hold `target` (first block whose last slot is `>= target`),
    /// moving only the block pointer; `None` when the list ends before `target`.
    #[inline]
    pub(crate) fn shallow(&mut self, target: u32) -> Option<&'a Block> {
        let blocks = &self.list.blocks;
        while let Some(b) = blocks.get(self.block) {
            if b.last >= target {
                return Some(b);
            }
            self.block += 1;
        }
        None
    }

    /// Moves to the first entry whose slot is `>= target`.
    #[inline]
    pub(crate) fn seek(&mut self, target: u32) {
        if self.slot() >= target {
            return;
        }
        if self.shallow(target).is_none() {
            self.pos = self.list.slots.len();
            return;
        }
        let start = self.pos.max(self.block * BLOCK_LEN);
        let end = ((self.block + 1) * BLOCK_LEN).min(self.list.slots.len());
        let within = self
            .list
            .slots
            .get(start..end)
            .map_or(0, |s| s.partition_point(|&x| x < target));
        self.pos = start + within;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_bound_every_weight_and_seek_lands_on_the_next_slot() {
        let mut list = PostingList::default();
        for s in 0..200u32 {
            let w = if s % 3 == 0 {
                -(s as f32) - 1.0
            } else {
                s as f32 + 1.0
            };
            list.push(s * 2, w);
        }
        assert_eq!(list.blocks.len(), 200usize.div_ceil(BLOCK_LEN));
        for (b, block) in list.blocks.iter().enumerate() {
            let end = ((b + 1) * BLOCK_LEN).min(list.len());
            let ws = &list.weights[b * BLOCK_LEN..end];
            assert!(ws.iter().all(|&w| w <= block.max && w >= block.min));
            assert_eq!(block.last, list.slots[end - 1]);
        }
        assert_eq!(list.bound(2.0), 2.0 * 200.0);
        assert_eq!(list.bound(-1.0), 199.0);
        let mut c = Cursor::new(&list);
        c.seek(131);
        assert_eq!(c.slot(), 132);
        c.seek(132);
        assert_eq!(c.slot(), 132);
        c.seek(397);
        assert_eq!(c.slot(), 398);
        c.next();
        assert_eq!(c.slot(), END);
        c.seek(1000);
        assert_eq!(c.slot(), END);
    }
}
