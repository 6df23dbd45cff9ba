//! Layer-0 neighbour lists in one flat array, optionally bit-packed.
//!
//! Every node owns `stride` 32-bit words holding `max_links + 1` fields of `width` bits:
//! field 0 is the list's length, fields `1..=len` its links. With `width = 32` (the `full`
//! mode) this is the plain layout `[count, links...]`, one word a field. Compact lists (the
//! quantized modes, where the codes are small and 4-byte links would outweigh them) use as
//! few bits as the number of slots needs: at 100,000 slots 17 bits, so a list of 32 links
//! takes 72 bytes instead of 132. When the slots outgrow the width, every list is repacked
//! one bit wider (under `&mut self`, as growth is).
//!
//! Concurrency: words are `AtomicU32`. A writer (holding the node's lock) stores the words
//! of a list from the last to the first, the first (which holds the length) with `Release`;
//! a reader loads the first with `Acquire`. A reader racing a writer sees each word old or
//! new; with plain words every link read is then a valid slot (lists only ever hold valid
//! slots), while a packed link straddling two words can mix an old and a new half: readers
//! drop any decoded link `>= len()`, so every link returned is a slot below `len()`.
//!
//! Must not depend on anything but the visited set (no rows, no index state).

use std::sync::atomic::{AtomicU32, Ordering};

use super::arena::{collect_huge, reserve_huge};
use super::visited::VisitedSet;

/// Bits needed to write every value in `0..=max`.
fn bits_for(max: usize) -> u32 {
    (usize::BITS - max.leading_zeros()).max(1)
}

/// Layer-0 lists of every node (see the module docs).
#[derive(Debug)]
pub(super) struct LinkLists {
    /// `nodes * stride` words, plus one zero word at the end (a packed field in a node's
    /// last word is read together with the following word).
    words: Vec<AtomicU32>,
    max_links: usize,
    /// Bits per field (32: one word a field).
    width: u32,
    /// Words per node.
    stride: usize,
    nodes: usize,
    compact: bool,
}

impl LinkLists {
    /// No lists; `compact` packs fields to as few bits as the slots need.
    pub(super) fn new(max_links: usize, compact: bool) -> Self {
        let mut lists = LinkLists {
            words: vec![AtomicU32::new(0)],
            max_links,
            width: 32,
            stride: 0,
            nodes: 0,
            compact,
        };
        lists.width = lists.width_for(0);
        lists.stride = lists.stride_for(lists.width);
        lists
    }

    /// Lists from the plain layout (`max_links + 1` words a node: count, links; lengths
    /// checked by the caller).
    pub(super) fn from_plain(plain: &[u32], max_links: usize, compact: bool) -> Self {
        let mut lists = LinkLists::new(max_links, compact);
        lists.nodes = plain.len() / (max_links + 1);
        lists.repack_from(plain, lists.width_for(lists.nodes));
        lists
    }

    /// Rewrites every list (given in the plain layout) at `width` bits a field.
    fn repack_from(&mut self, plain: &[u32], width: u32) {
        let stride = self.stride_for(width);
        let mut words = vec![0u32; self.nodes * stride + 1];
        for (node, block) in plain.chunks_exact(self.max_links + 1).enumerate() {
            let count = (block[0] as usize).min(self.max_links);
            let at = node * stride;
            pack(&mut words[at..at + stride], width, &block[..=count]);
        }
        self.width = width;
        self.stride = stride;
        self.words = collect_huge(words.into_iter().map(AtomicU32::new));
    }

    /// The field width for `nodes` slots.
    fn width_for(&self, nodes: usize) -> u32 {
        if self.compact {
            bits_for(nodes.saturating_sub(1)).max(bits_for(self.max_links))
        } else {
            32
        }
    }

    fn stride_for(&self, width: u32) -> usize {
        ((self.max_links + 1) * width as usize).div_ceil(32)
    }

    /// Whether the fields are bit-packed.
    pub(super) fn is_compact(&self) -> bool {
        self.compact
    }

    /// Switches packing on or off (repacking every list).
    pub(super) fn set_compact(&mut self, compact: bool) {
        if compact != self.compact {
            let plain = self.to_plain();
            *self = LinkLists::from_plain(&plain, self.max_links, compact);
        }
    }

    /// Makes room for `additional` more nodes, widening the fields first when the slots
    /// would outgrow them.
    pub(super) fn reserve(&mut self, additional: usize) {
        let width = self.width_for(self.nodes + additional);
        if width > self.width {
            let plain = self.to_plain();
            self.repack_from(&plain, width);
        }
        reserve_huge(&mut self.words, additional * self.stride);
    }

    /// Appends an empty list.
    pub(super) fn push_empty(&mut self) {
        self.reserve(1);
        self.words
            .extend((0..self.stride).map(|_| AtomicU32::new(0)));
        self.nodes += 1;
    }

    #[inline]
    fn node_words(&self, node: u32) -> &[AtomicU32] {
        let at = node as usize * self.stride;
        // One word more than the node's own: a packed field may straddle into it.
        &self.words[at..at + self.stride + 1]
    }

    /// Hints the cache to load `node`'s list.
    #[inline]
    pub(super) fn prefetch(&self, node: u32) {
        let w = self.node_words(node);
        nearstore_distance::prefetch_slice(&w[..w.len() - 1]);
    }

    /// Calls `each` with every link of `node` (each a slot below `len()`).
    #[inline]
    pub(super) fn for_each(&self, node: u32, mut each: impl FnMut(u32)) {
        let w = self.node_words(node);
        if self.width == 32 {
            let count = (w[0].load(Ordering::Acquire) as usize).min(self.max_links);
            for a in &w[1..=count] {
                each(a.load(Ordering::Relaxed));
            }
            return;
        }
        let width = self.width as usize;
        let mask = (1u64 << width) - 1;
        let first = u64::from(w[0].load(Ordering::Acquire));
        let count = ((first & mask) as usize).min(self.max_links);
        let nodes = self.nodes as u32;
        let mut bit = width;
        for _ in 0..count {
            let j = bit / 32;
            let pair = u64::from(w[j].load(Ordering::Relaxed))
                | (u64::from(w[j + 1].load(Ordering::Relaxed)) << 32);
            let link = ((pair >> (bit % 32)) & mask) as u32;
            // A torn read (see the module docs) may decode past the slots: dropped.
            if link < nodes {
                each(link);
            }
            bit += width;
        }
    }

    /// Copies `node`'s links into `out` (cleared first).
    #[inline]
    pub(super) fn links_into(&self, node: u32, out: &mut Vec<u32>) {
        out.clear();
        self.for_each(node, |l| out.push(l));
    }

    /// Copies into `out` (cleared first) the links of `node` that `visited` has not seen,
    /// marking them.
    #[inline]
    pub(super) fn unvisited_into(&self, node: u32, visited: &mut VisitedSet, out: &mut Vec<u32>) {
        // Branch-free: every link is written and the length advances only past unvisited
        // ones (see `VisitedSet::insert`).
        out.clear();
        out.resize(self.max_links, 0);
        let mut len = 0;
        self.for_each(node, |n| {
            if let Some(slot) = out.get_mut(len) {
                *slot = n;
                len += usize::from(visited.insert(n));
            }
        });
        out.truncate(len);
    }

    /// Replaces `node`'s list (at most `max_links` of `links` kept; the caller holds the
    /// node's lock).
    pub(super) fn write(&self, node: u32, links: &[u32]) {
        let n = links.len().min(self.max_links);
        let w = self.node_words(node);
        if self.width == 32 {
            for (cell, &l) in w[1..=n].iter().zip(links) {
                cell.store(l, Ordering::Relaxed);
            }
            w[0].store(n as u32, Ordering::Release);
            return;
        }
        let mut fields = Vec::with_capacity(n + 1);
        fields.push(n as u32);
        fields.extend_from_slice(&links[..n]);
        let mut packed = vec![0u32; self.stride];
        pack(&mut packed, self.width, &fields);
        for (cell, &v) in w[1..self.stride].iter().zip(&packed[1..]) {
            cell.store(v, Ordering::Relaxed);
        }
        w[0].store(packed[0], Ordering::Release);
    }

    /// Every list in the plain layout (`max_links + 1` words a node), for persistence.
    pub(super) fn to_plain(&self) -> Vec<u32> {
        let mut plain = Vec::with_capacity(self.nodes * (self.max_links + 1));
        let mut links = Vec::with_capacity(self.max_links);
        for node in 0..self.nodes as u32 {
            self.links_into(node, &mut links);
            plain.push(links.len() as u32);
            plain.extend_from_slice(&links);
            plain.resize(plain.len() + self.max_links - links.len(), 0);
        }
        plain
    }

    /// Bytes allocated.
    pub(super) fn memory_bytes(&self) -> usize {
        self.words.capacity() * 4
    }
}

/// Writes `fields` at `width` bits each into `out` (zeroed by the caller, long enough).
fn pack(out: &mut [u32], width: u32, fields: &[u32]) {
    let width = width as usize;
    let mask = if width == 32 {
        u64::from(u32::MAX)
    } else {
        (1u64 << width) - 1
    };
    for (i, &f) in fields.iter().enumerate() {
        let bit = i * width;
        let (j, off) = (bit / 32, bit % 32);
        let v = (u64::from(f) & mask) << off;
        out[j] |= v as u32;
        if off + width > 32 {
            out[j + 1] |= (v >> 32) as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lists_of(max_links: usize, compact: bool, data: &[Vec<u32>]) -> LinkLists {
        let mut lists = LinkLists::new(max_links, compact);
        for _ in data {
            lists.push_empty();
        }
        for (node, links) in data.iter().enumerate() {
            lists.write(node as u32, links);
        }
        lists
    }

    #[test]
    fn compact_lists_use_as_few_bits_as_the_slots_need() {
        let mut plain = LinkLists::new(32, false);
        let mut compact = LinkLists::new(32, true);
        plain.reserve(100_000);
        compact.reserve(100_000);
        for _ in 0..100_000 {
            plain.push_empty();
            compact.push_empty();
        }
        assert_eq!(plain.stride, 33, "count + 32 links, a word each");
        assert_eq!(compact.width, 17);
        assert_eq!(compact.stride, 18, "33 fields of 17 bits: 72 bytes");
        assert!(compact.memory_bytes() * 100 < plain.memory_bytes() * 56);
    }

    proptest! {
        #[test]
        fn lists_read_back_what_was_written_through_every_widening(
            sizes in proptest::collection::vec(0usize..=6, 1..300),
            seed in any::<u64>(),
            compact in any::<bool>(),
        ) {
            let max_links = 6;
            let n = sizes.len();
            let mut lists = LinkLists::new(max_links, compact);
            let mut expected: Vec<Vec<u32>> = Vec::new();
            let mut state = seed | 1;
            let mut next = |bound: usize| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % bound as u64) as u32
            };
            for (node, &size) in sizes.iter().enumerate() {
                // Grow one node at a time: the width widens as the slots pass powers of two.
                lists.push_empty();
                let links: Vec<u32> = (0..size).map(|_| next(node + 1)).collect();
                lists.write(node as u32, &links);
                expected.push(links);
                // Rewrite an earlier list: writes must not disturb the neighbours' bits.
                let other = next(node + 1) as usize;
                let links: Vec<u32> = (0..sizes[other]).map(|_| next(node + 1)).collect();
                lists.write(other as u32, &links);
                expected[other] = links;
            }
            let mut out = Vec::new();
            for (node, want) in expected.iter().enumerate() {
                lists.links_into(node as u32, &mut out);
                prop_assert_eq!(&out, want, "node {}", node);
            }
            let reloaded = LinkLists::from_plain(&lists.to_plain(), max_links, compact);
            for (node, want) in expected.iter().enumerate() {
                reloaded.links_into(node as u32, &mut out);
                prop_assert_eq!(&out, want, "reloaded node {}", node);
            }
            let again = lists_of(max_links, !compact, &expected);
            prop_assert_eq!(again.to_plain(), lists.to_plain());
            prop_assert_eq!(lists.nodes, n);
        }
    }

    #[test]
    fn unvisited_links_skip_and_mark_the_visited() {
        let lists = lists_of(4, true, &[vec![1, 2, 3], vec![0], vec![], vec![2, 0]]);
        let mut visited = VisitedSet::default();
        visited.reset(4);
        assert!(visited.insert(2));
        let mut out = Vec::new();
        lists.unvisited_into(0, &mut visited, &mut out);
        assert_eq!(out, vec![1, 3]);
        lists.unvisited_into(3, &mut visited, &mut out);
        assert_eq!(out, vec![0]);
    }
}
