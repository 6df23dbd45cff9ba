//! Exact search by scanning every live vector.

use parking_lot::RwLock;
use rustc_hash::FxHashMap;

use crate::error::{Result, validate};
use crate::hnsw::{SearchQuality, TopK};
use crate::space::Space;
use crate::{AllowList, DistanceMetric, SearchHit, VectorIndex};

#[derive(Debug, Default)]
struct Rows {
    vectors: Vec<f32>,
    ids: Vec<u64>,
    slot_of: FxHashMap<u64, usize>,
}

/// An exact index: every search scores every allowed vector.
#[derive(Debug)]
pub struct FlatIndex {
    dim: usize,
    space: Space,
    rows: RwLock<Rows>,
}

impl FlatIndex {
    /// An empty exact index.
    pub fn new(dim: usize, metric: DistanceMetric) -> Self {
        FlatIndex {
            dim,
            space: Space::new(metric),
            rows: RwLock::new(Rows::default()),
        }
    }

    /// Exact top `k` among `candidates` (external ids of `vector_of`), best first. Shared by
    /// the HNSW index's exact plan.
    pub(crate) fn exact_top_k<'v>(
        space: &Space,
        query: &[f32],
        k: usize,
        candidates: impl Iterator<Item = (u64, &'v [f32])>,
    ) -> Vec<SearchHit> {
        let mut top = TopK::new(k);
        for (id, v) in candidates {
            top.offer(space.distance(query, v), id);
        }
        top.into_sorted()
            .into_iter()
            .map(|(d, id)| SearchHit {
                id,
                score: space.score(d),
            })
            .collect()
    }
}

impl VectorIndex for FlatIndex {
    fn dimension(&self) -> usize {
        self.dim
    }

    fn metric(&self) -> DistanceMetric {
        self.space.metric()
    }

    fn len(&self) -> usize {
        self.rows.read().ids.len()
    }

    fn upsert(&self, id: u64, vector: &[f32]) -> Result<()> {
        validate(vector, self.dim)?;
        let v = self.space.prepare(vector);
        let mut rows = self.rows.write();
        match rows.slot_of.get(&id).copied() {
            Some(slot) => rows.vectors[slot * self.dim..(slot + 1) * self.dim].copy_from_slice(&v),
            None => {
                let slot = rows.ids.len();
                rows.ids.push(id);
                rows.vectors.extend_from_slice(&v);
                rows.slot_of.insert(id, slot);
            }
        }
        Ok(())
    }

    fn delete(&self, id: u64) -> Result<bool> {
        let mut rows = self.rows.write();
        let Some(slot) = rows.slot_of.remove(&id) else {
            return Ok(false);
        };
        let last = rows.ids.len() - 1;
        rows.ids.swap_remove(slot);
        if slot != last {
            let moved = rows.ids[slot];
            rows.slot_of.insert(moved, slot);
            let (head, tail) = rows.vectors.split_at_mut(last * self.dim);
            head[slot * self.dim..(slot + 1) * self.dim].copy_from_slice(&tail[..self.dim]);
        }
        rows.vectors.truncate(last * self.dim);
        Ok(true)
    }

    fn search(
        &self,
        query: &[f32],
        k: usize,
        _quality: SearchQuality,
        allow: Option<&dyn AllowList>,
    ) -> Result<Vec<SearchHit>> {
        validate(query, self.dim)?;
        let q = self.space.prepare(query);
        let rows = self.rows.read();
        let candidates = rows
            .ids
            .iter()
            .enumerate()
            .filter(|(_, id)| allow.is_none_or(|a| a.allows(**id)))
            .map(|(slot, id)| (*id, &rows.vectors[slot * self.dim..(slot + 1) * self.dim]));
        Ok(Self::exact_top_k(&self.space, &q, k, candidates))
    }
}
