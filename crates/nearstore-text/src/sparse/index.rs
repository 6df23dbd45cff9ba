//! [`SparseIndex`]: the write side (upsert, delete, compaction) and the live statistics.
//!
//! Invariants: a point id is live in at most one slot, recorded in `locations`; `live[s]` is
//! true exactly for the slots in `locations`. Slots are handed out in increasing order, so
//! appending a document keeps every list sorted. `forward` holds each slot's dimensions (a
//! delete needs them to update the lists' live counts). `dead_postings` counts the postings
//! of dead slots; when they pass [`DEAD_FRACTION`] of all postings, the index compacts:
//! every list is rebuilt from the live slots only, renumbered densely in the same order.

use rustc_hash::FxHashMap;

use super::postings::PostingList;
use super::vector::SparseVector;
use super::{SparseConfig, SparseModifier};

/// Compaction runs when more than this fraction of the postings belongs to dead slots.
pub const DEAD_FRACTION: f64 = 0.25;

/// An inverted index over sparse vectors keyed by point id, searched by exact top-k dot
/// product (see [`SparseIndex::search`]).
///
/// Writes take `&mut self`, searches `&self`: the engine holds it behind its collection's
/// lock, so a write is visible to the next search as soon as the call returns.
#[derive(Debug, Clone, Default)]
pub struct SparseIndex {
    pub(crate) config: SparseConfig,
    pub(crate) lists: FxHashMap<u32, PostingList>,
    /// Slot -> point id.
    pub(crate) point_ids: Vec<u64>,
    /// Slot -> whether it is the live entry of its point.
    pub(crate) live: Vec<bool>,
    /// Slot `s`'s dimensions are `forward[forward_starts[s]..forward_starts[s + 1]]`.
    pub(crate) forward_starts: Vec<u32>,
    pub(crate) forward: Vec<u32>,
    /// Point id -> its live slot.
    pub(crate) locations: FxHashMap<u64, u32>,
    pub(crate) dead_postings: usize,
}

impl SparseIndex {
    /// An empty index.
    pub fn new(config: SparseConfig) -> Self {
        SparseIndex {
            config,
            forward_starts: vec![0],
            ..SparseIndex::default()
        }
    }

    /// The configuration.
    pub fn config(&self) -> SparseConfig {
        self.config
    }

    /// Live documents (points with a non-empty vector).
    pub fn len(&self) -> usize {
        self.locations.len()
    }

    /// Whether no point is indexed.
    pub fn is_empty(&self) -> bool {
        self.locations.is_empty()
    }

    /// Whether point `id` has a live vector here.
    pub fn contains(&self, id: u64) -> bool {
        self.locations.contains_key(&id)
    }

    /// Bytes of all posting lists (slots, weights and block tables; dead postings until
    /// compaction included).
    pub fn posting_bytes(&self) -> usize {
        self.lists.values().map(PostingList::bytes).sum()
    }

    /// Postings held for deleted or replaced vectors (until compaction drops them).
    pub fn dead_postings(&self) -> usize {
        self.dead_postings
    }

    /// The vector of point `id`, rebuilt from the postings (`None` when absent).
    pub fn get(&self, id: u64) -> Option<SparseVector> {
        let &slot = self.locations.get(&id)?;
        let dims = self.dims_of(slot);
        let mut values = Vec::with_capacity(dims.len());
        for &d in dims {
            let list = self.lists.get(&d)?;
            let at = list.slots.binary_search(&slot).ok()?;
            values.push(*list.weights.get(at)?);
        }
        Some(SparseVector::from_normalised(dims.to_vec(), values))
    }

    /// Indexes `vector` as point `id`, replacing what `id` held (idempotent). An empty
    /// vector leaves `id` absent: it shares no dimension with any query, so no search finds
    /// it.
    pub fn upsert(&mut self, id: u64, vector: &SparseVector) {
        self.delete(id);
        if vector.is_empty() {
            return;
        }
        if self.point_ids.len() >= u32::MAX as usize - 1 {
            self.compact();
        }
        let slot = self.point_ids.len() as u32;
        for (d, w) in vector.iter() {
            let list = self.lists.entry(d).or_default();
            list.push(slot, w);
            list.live += 1;
        }
        self.forward.extend_from_slice(vector.indices());
        self.forward_starts.push(self.forward.len() as u32);
        self.point_ids.push(id);
        self.live.push(true);
        self.locations.insert(id, slot);
    }

    /// Removes point `id`; returns whether it was indexed. Idempotent. May compact.
    pub fn delete(&mut self, id: u64) -> bool {
        let Some(slot) = self.locations.remove(&id) else {
            return false;
        };
        if let Some(mark) = self.live.get_mut(slot as usize) {
            *mark = false;
        }
        let (from, to) = self.forward_range(slot);
        for &d in self.forward.get(from..to).unwrap_or(&[]) {
            if let Some(list) = self.lists.get_mut(&d) {
                list.live = list.live.saturating_sub(1);
            }
        }
        self.dead_postings += to - from;
        if self.dead_postings as f64 > DEAD_FRACTION * self.forward.len() as f64 {
            self.compact();
        }
        true
    }

    fn forward_range(&self, slot: u32) -> (usize, usize) {
        let s = slot as usize;
        match (self.forward_starts.get(s), self.forward_starts.get(s + 1)) {
            (Some(&a), Some(&b)) => (a as usize, b as usize),
            _ => (0, 0),
        }
    }

    /// Slot `slot`'s dimensions.
    pub(crate) fn dims_of(&self, slot: u32) -> &[u32] {
        let (from, to) = self.forward_range(slot);
        self.forward.get(from..to).unwrap_or(&[])
    }

    /// Rebuilds every list from the live slots only (renumbered densely, order kept) and
    /// drops lists left empty: the space of deletes and updates is reclaimed here.
    pub fn compact(&mut self) {
        let mut remap: Vec<u32> = Vec::with_capacity(self.live.len());
        let mut next = 0u32;
        for &alive in &self.live {
            remap.push(if alive { next } else { u32::MAX });
            next += u32::from(alive);
        }
        let old = std::mem::take(&mut self.lists);
        for (d, list) in old {
            let mut rebuilt = PostingList::default();
            for (&s, &w) in list.slots.iter().zip(&list.weights) {
                let new = remap.get(s as usize).copied().unwrap_or(u32::MAX);
                if new != u32::MAX {
                    rebuilt.push(new, w);
                }
            }
            if rebuilt.len() > 0 {
                rebuilt.live = rebuilt.len() as u32;
                rebuilt.slots.shrink_to_fit();
                rebuilt.weights.shrink_to_fit();
                self.lists.insert(d, rebuilt);
            }
        }
        let mut point_ids = Vec::with_capacity(next as usize);
        let mut forward = Vec::new();
        let mut starts = Vec::with_capacity(next as usize + 1);
        starts.push(0);
        for (s, &alive) in self.live.iter().enumerate() {
            if alive {
                point_ids.push(self.point_ids[s]);
                forward.extend_from_slice(self.dims_of(s as u32));
                starts.push(forward.len() as u32);
            }
        }
        self.point_ids = point_ids;
        self.forward = forward;
        self.forward_starts = starts;
        self.live = vec![true; next as usize];
        self.locations = self
            .point_ids
            .iter()
            .enumerate()
            .map(|(s, &id)| (id, s as u32))
            .collect();
        self.dead_postings = 0;
    }

    /// The query-side weight of dimension `dim` for a query value `q`: `q` itself, or with
    /// [`SparseModifier::Idf`] `q * idf(dim)` (see [`idf`]); `None` when no live document
    /// holds `dim`.
    pub(crate) fn query_weight(&self, list: &PostingList, q: f32) -> Option<f64> {
        if list.live == 0 {
            return None;
        }
        let q = f64::from(q);
        Some(match self.config.modifier {
            SparseModifier::None => q,
            SparseModifier::Idf => q * idf(self.len() as u64, u64::from(list.live)),
        })
    }
}

/// Inverse document frequency of a dimension held by `df` of `n` live documents:
/// `ln(1 + (n - df + 0.5) / (df + 0.5))` (the BM25 IDF, always positive, as Qdrant's IDF
/// modifier computes it).
pub fn idf(n: u64, df: u64) -> f64 {
    let (n, df) = (n as f64, df as f64);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Result;

    fn sv(pairs: &[(u32, f32)]) -> Result<SparseVector> {
        SparseVector::new(
            pairs.iter().map(|p| p.0).collect(),
            pairs.iter().map(|p| p.1).collect(),
        )
    }

    #[test]
    fn upsert_replaces_and_delete_removes() -> Result<()> {
        let mut index = SparseIndex::new(SparseConfig::default());
        index.upsert(7, &sv(&[(1, 1.0), (2, 2.0)])?);
        index.upsert(7, &sv(&[(2, 3.0)])?);
        assert_eq!(index.len(), 1);
        assert_eq!(index.get(7), Some(sv(&[(2, 3.0)])?));
        assert_eq!(index.lists.get(&1).map_or(0, |l| l.live), 0);
        assert!(index.delete(7));
        assert!(!index.delete(7));
        assert!(index.is_empty());
        index.upsert(8, &SparseVector::default());
        assert!(!index.contains(8));
        Ok(())
    }

    #[test]
    fn compaction_drops_dead_postings_and_keeps_the_live_ones() -> Result<()> {
        let mut index = SparseIndex::new(SparseConfig::default());
        for id in 0..100u64 {
            index.upsert(id, &sv(&[(id as u32 % 7, 1.0 + id as f32), (99, 2.0)])?);
        }
        let full = index.posting_bytes();
        for id in 0..60u64 {
            index.delete(id);
        }
        assert!(index.dead_postings() * 4 <= index.forward.len());
        assert!(index.posting_bytes() < full);
        assert_eq!(index.len(), 40);
        for id in 60..100u64 {
            assert_eq!(
                index.get(id),
                Some(sv(&[(id as u32 % 7, 1.0 + id as f32), (99, 2.0)])?)
            );
        }
        index.compact();
        assert_eq!(index.dead_postings(), 0);
        assert_eq!(index.lists.get(&99).map(PostingList::len), Some(40));
        Ok(())
    }

    #[test]
    fn idf_is_positive_and_falls_with_frequency() {
        assert!(idf(100, 1) > idf(100, 50));
        assert!(idf(100, 100) > 0.0);
    }
}
