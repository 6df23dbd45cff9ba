//! Slot order for memory locality: after a bulk build the slots are renumbered in
//! breadth-first order from the entry point over layer 0, so the nodes one search expands
//! together (and their vectors and lists) sit near each other instead of in insertion
//! order. Slots are internal: the external ids move with them.

use super::HnswIndex;

impl HnswIndex {
    /// Renumbers the slots in [`super::graph::Graph::locality_order`], unless an insert is
    /// in flight (it holds slot numbers across lock releases; the next bulk insert
    /// renumbers instead). Returns whether it did.
    pub(super) fn renumber_for_locality(&self) -> bool {
        let Some(_no_inserts) = self.slot_gate.try_write() else {
            return false;
        };
        // Graph before ids, as everywhere.
        let mut g = self.graph.write();
        let mut ids = self.ids.write();
        let mut free = self.free.lock();
        let order = g.locality_order();
        // Already in that order (always so for fewer than two slots): nothing to move.
        if order.iter().enumerate().all(|(i, &o)| o as usize == i) {
            return false;
        }
        let new_of = g.renumber(&order);
        ids.renumber(&new_of);
        for f in free.iter_mut() {
            *f = new_of[*f as usize];
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use nearstore_testkit::random_vectors;

    use super::super::{HnswIndex, HnswParams, SearchQuality};
    use crate::quant::{MemorySource, QuantConfig, StorageMode, VectorSource};
    use crate::{DistanceMetric, IdSetAllowList, VectorIndex};

    /// An index of `mode` over 1,500 random points with 30 % deleted and vacuumed (free
    /// slots), trained when quantized.
    fn index_with_holes(mode: StorageMode) -> (HnswIndex, Arc<MemorySource>) {
        let data = random_vectors(1500, 24, 31);
        let source = MemorySource::new();
        for (i, v) in data.iter().enumerate() {
            source.put(i as u64, v);
        }
        let shared: Arc<dyn VectorSource> = source.clone();
        let index = HnswIndex::new_quantized(
            24,
            DistanceMetric::Euclidean,
            HnswParams::default(),
            QuantConfig::new(mode),
            shared,
        )
        .unwrap();
        let items: Vec<(u64, &[f32])> = data
            .iter()
            .enumerate()
            .map(|(i, v)| (i as u64, v.as_slice()))
            .collect();
        index.insert_batch(&items).unwrap();
        index.train_quantizer().unwrap();
        let doomed: Vec<u64> = (0..1500u64).filter(|i| i % 10 < 3).collect();
        assert_eq!(index.delete_ids(&doomed), doomed.len());
        assert_eq!(index.vacuum(), doomed.len());
        (index, source)
    }

    fn answers(index: &HnswIndex, queries: &[Vec<f32>]) -> Vec<Vec<u64>> {
        queries
            .iter()
            .map(|q| {
                let hits = index.search(q, 10, SearchQuality::Ef(48), None).unwrap();
                hits.iter().map(|h| h.id).collect()
            })
            .collect()
    }

    #[test]
    fn renumbering_keeps_answers_ids_free_slots_and_filters() {
        let queries = random_vectors(30, 24, 32);
        for mode in [
            StorageMode::Full,
            StorageMode::Sq8,
            StorageMode::Rabitq,
            StorageMode::Pq,
            StorageMode::Binary,
        ] {
            let (index, source) = index_with_holes(mode);
            let before = answers(&index, &queries);
            assert!(index.renumber_for_locality(), "{mode:?}: nothing in flight");
            {
                let g = index.graph.read();
                let entry = g.entry.map(|(e, _)| e);
                assert_eq!(entry, Some(0), "{mode:?}: the entry point comes first");
                for &f in index.free.lock().iter() {
                    assert!(g.is_deleted(f), "{mode:?}: a free slot is a deleted one");
                }
                let mut links = Vec::new();
                for s in 0..g.len() as u32 {
                    for level in 0..=g.level(s) {
                        g.links_into(s, level, &mut links);
                        assert!(links.iter().all(|&l| !g.is_deleted(l)), "{mode:?}");
                    }
                }
            }
            let after = answers(&index, &queries);
            if mode == StorageMode::Binary {
                // Hamming ties may be walked in another order: the same top 10 sets.
                let same = before
                    .iter()
                    .zip(&after)
                    .filter(|(a, b)| a.iter().all(|id| b.contains(id)))
                    .count();
                assert!(same * 10 >= queries.len() * 9, "{mode:?}: {same} same");
            } else {
                assert_eq!(before, after, "{mode:?}: the same answers");
            }
            // Ids still find their slots: deletes, filters and slot reuse work.
            let top = after[0][0];
            assert!(index.delete(top).unwrap(), "{mode:?}");
            let hits = index.search(&queries[0], 10, SearchQuality::Ef(48), None);
            assert!(hits.unwrap().iter().all(|h| h.id != top), "{mode:?}");
            let allowed: Vec<u64> = [3u64, 4, 5, 13, 14, 15]
                .into_iter()
                .filter(|&id| id != top)
                .take(5)
                .collect();
            let allow = IdSetAllowList::new(allowed.iter().copied());
            let hits = index
                .search(&queries[1], 5, SearchQuality::Ef(48), Some(&allow))
                .unwrap();
            let mut ids: Vec<u64> = hits.iter().map(|h| h.id).collect();
            ids.sort_unstable();
            assert_eq!(ids, allowed, "{mode:?}: k found under a filter");
            let slots = index.slots();
            source.put(77_777, &queries[2]);
            index.upsert(77_777, &queries[2]).unwrap();
            assert_eq!(index.slots(), slots, "{mode:?}: a free slot is reused");
            let hits = index.search(&queries[2], 1, SearchQuality::Ef(48), None);
            assert_eq!(hits.unwrap()[0].id, 77_777, "{mode:?}");
        }
    }

    #[test]
    fn an_insert_in_flight_defers_renumbering() {
        let (index, _) = index_with_holes(StorageMode::Full);
        let inserting = index.slot_gate.read();
        assert!(!index.renumber_for_locality());
        drop(inserting);
        assert!(index.renumber_for_locality());
    }
}
