//! Where a search on RaBitQ codes with local centroids starts on layer 0: a member of the
//! list whose centre is nearest the query, instead of the node the greedy descent through
//! the upper layers ends on.
//!
//! On clustered data the descent often ends in another cluster than the query's (its few
//! dozen upper-layer nodes are spread over a thousand clusters), and the layer-0 search then
//! spends part of its walk getting back. The lists are a k-means of the data, so the
//! nearest list's centre is inside the query's cluster: starting from the member nearest
//! that centre, a 100k x 128 Gaussian mixture's searches scored 16 % fewer layer-0 nodes for
//! more recall (239 against 285 nodes, recall 0.967 against 0.951 at ef 20), and skipped
//! the descent's 75 scores. The list is found by the codebook's byte scan of every centre
//! (`quant/rabitq/list_scan.rs`).
//!
//! Each list keeps one entry: the live member whose code has the smallest scale (the lowest
//! slot among equals). The scale is `r / ⟨x̄, o_r⟩` up to a constant (`r` the distance to
//! the centre, and the cosine between a vector and its code varies little), so that is the
//! member nearest the centre as far as the codes tell, and it is known from the block alone
//! (no exact vector). A row written takes its list's entry when it is nearer (rows are
//! written only for new slots and freed ones, never for an entry: entries are live, freed
//! slots are not); when an entry is deleted, that list's entry is found again among the
//! live blocks (one pass over the blocks, paid by about one delete in every list's worth of
//! points); the graph rebuilds them from the live blocks when rows are loaded or renumbered
//! and heals them when rows are trained. So they are always what a rebuild from the live
//! blocks gives, and a reopened index starts its searches where the running one did. (A search racing a
//! delete may find its list's entry deleted: it takes the nearest list with a live one.)
//! On CPUs whose kernels scan slowly ([`scan_pays`]) searches descend.

use nearstore_distance::{Isa, kernels};

use crate::quant::rabitq::RabitqCodebook;

/// Whether this CPU scans the lists fast enough to start searches from them. The byte scan
/// of 1,024 lists of 128 coordinates takes 1.5 µs with VNNI and 3.1 µs with AVX2 (the
/// distance crate's `BENCHMARKS.md`), about what the descent it replaces costs, and the
/// entry also saves layer-0 nodes; the scalar and NEON tables run the compiler-vectorized
/// oracle, 17.5 µs, so there searches descend as before.
pub fn scan_pays() -> bool {
    matches!(kernels().isa, Isa::Avx2 | Isa::Avx512 | Isa::Avx512Vnni)
}

/// No entry.
const NONE: u32 = u32::MAX;

/// Per list, the slot of the member nearest its centre by the codes' scale.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListEntries {
    /// Per list `(scale, slot)`; `slot == NONE` for none.
    best: Vec<(f32, u32)>,
}

impl ListEntries {
    /// No entries for `lists` lists.
    pub fn new(lists: usize) -> Self {
        ListEntries {
            best: vec![(f32::INFINITY, NONE); lists],
        }
    }

    /// The entries of the slots of `blocks` (a RaBitQ index's rows) that are `live`.
    pub fn scan(book: &RabitqCodebook, blocks: &[u64], live: impl Fn(u32) -> bool) -> Self {
        let mut entries = ListEntries::new(book.list_count());
        entries.offer_all(book, blocks, |_| true, live);
        entries
    }

    /// Offers every `live` slot of `blocks` in a list `wanted` accepts.
    fn offer_all(
        &mut self,
        book: &RabitqCodebook,
        blocks: &[u64],
        wanted: impl Fn(u32) -> bool,
        live: impl Fn(u32) -> bool,
    ) {
        for (slot, block) in blocks.chunks_exact(book.stride().max(1)).enumerate() {
            let f = book.split(block).1;
            if wanted(f.list) && live(slot as u32) {
                self.offer(f.list, f.scale, slot as u32);
            }
        }
    }

    /// Whether some list's entry is not `live`.
    pub fn any_dead(&self, live: impl Fn(u32) -> bool) -> bool {
        self.best.iter().any(|b| b.1 != NONE && !live(b.1))
    }

    /// Finds again, among the `live` slots of `blocks`, the entry of every list whose entry
    /// is not `live` (one pass over the blocks, none when every entry lives).
    pub fn heal(&mut self, book: &RabitqCodebook, blocks: &[u64], live: impl Fn(u32) -> bool) {
        if !self.any_dead(&live) {
            return;
        }
        let mut dead = vec![false; self.best.len()];
        for (b, d) in self.best.iter_mut().zip(&mut dead) {
            if b.1 != NONE && !live(b.1) {
                *b = (f32::INFINITY, NONE);
                *d = true;
            }
        }
        let wanted = |list: u32| dead.get(list as usize).copied().unwrap_or(false);
        self.offer_all(book, blocks, wanted, live);
    }

    /// Takes `slot`, now in `list` with this scale, as the list's entry if it is nearer
    /// the centre than the entry held, or as near and a lower slot (a list out of range is
    /// ignored).
    #[inline]
    pub fn offer(&mut self, list: u32, scale: f32, slot: u32) {
        if let Some(b) = self.best.get_mut(list as usize)
            && (b.1 == NONE || scale < b.0 || (scale == b.0 && slot < b.1))
        {
            *b = (scale, slot);
        }
    }

    /// The entry of `list`, if it has one.
    #[inline]
    pub fn slot(&self, list: usize) -> Option<u32> {
        self.best.get(list).map(|b| b.1).filter(|&s| s != NONE)
    }

    /// Bytes allocated.
    pub fn memory_bytes(&self) -> usize {
        self.best.capacity() * std::mem::size_of::<(f32, u32)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_list_keeps_its_smallest_scale_then_its_lowest_slot() {
        let mut e = ListEntries::new(3);
        assert_eq!(e.slot(0), None);
        e.offer(0, 2.0, 7);
        e.offer(0, 1.0, 8);
        e.offer(0, 1.5, 9);
        e.offer(1, 3.0, 4);
        e.offer(1, 3.0, 6);
        e.offer(1, 3.0, 2);
        e.offer(5, 0.1, 1);
        assert_eq!(e.slot(0), Some(8), "the smallest scale");
        assert_eq!(
            e.slot(1),
            Some(2),
            "the lowest slot of equal scales, in any order"
        );
        assert_eq!(e.slot(2), None);
        assert_eq!(e.slot(5), None, "out of range");
    }
}
