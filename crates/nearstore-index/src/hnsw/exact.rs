//! Linking a graph walked on codes too coarse to choose neighbours with (RaBitQ, PQ): the
//! candidate search runs on the codes' estimates, with the new node's exact vector as the
//! query, and the candidates it returns are then scored and selected with exact vectors
//! read from the vector source, each read once per link step.
//!
//! Before this, every distance of a link step went through the source (the layer search
//! with `ef_construction`, the heuristic's pairwise checks, the re-selection of a full
//! neighbour list): each a lookup in the source's map, behind its lock, so a bulk load into
//! a RaBitQ collection ran about 5x longer than one into an `sq8` collection. Now a link step
//! reads each candidate's vector once, in batches ([`VectorSource::with_vectors`]), and the
//! heuristic compares the vectors it holds.
//!
//! Must not depend on anything above the graph but the source (no index locks).

use std::sync::Arc;

use super::graph::Graph;
use super::topk::Near;
use crate::quant::VectorSource;
use crate::space::Space;

/// Exact vectors of a graph's slots, read from its source (only for rows that link
/// exactly, see `Rows::links_exactly`).
pub(super) struct ExactVectors<'g> {
    g: &'g Graph,
    space: &'g Space,
    source: &'g Arc<dyn VectorSource>,
}

/// Candidates scored exactly, best first, with their prepared vectors (same order).
pub(super) struct Scored {
    pub(super) near: Vec<Near<u32>>,
    pub(super) vectors: Vec<Vec<f32>>,
}

impl<'g> ExactVectors<'g> {
    /// `None` unless `g`'s rows link exactly and it has a source.
    pub(super) fn new(g: &'g Graph, space: &'g Space) -> Option<Self> {
        if !g.rows().links_exactly() {
            return None;
        }
        let source = g.exact_source()?;
        Some(ExactVectors { g, space, source })
    }

    /// The prepared vector of `slot` (`None` if the source does not hold it).
    pub(super) fn get(&self, slot: u32) -> Option<Vec<f32>> {
        let mut out = None;
        self.source.with_vector(self.g.external(slot), &mut |v| {
            out = Some(self.space.prepare(v))
        });
        out
    }

    /// `slots` scored exactly against `q` (prepared), best first. A slot the source does
    /// not hold is infinitely far, with an empty vector (as `Graph::distance` scores it):
    /// the heuristic keeps it only into an empty list, but it stays a candidate (dropping
    /// it could take away a node's only in-link).
    pub(super) fn score(&self, q: &[f32], slots: impl Iterator<Item = u32>) -> Scored {
        let mut pairs: Vec<(Near<u32>, Vec<f32>)> = slots
            .map(|id| {
                let far = Near {
                    dist: f32::INFINITY,
                    id,
                };
                (far, Vec::new())
            })
            .collect();
        let ids: Vec<u64> = pairs.iter().map(|p| self.g.external(p.0.id)).collect();
        self.source.with_vectors(&ids, &mut |i, v| {
            let v = self.space.prepare(v);
            pairs[i].0.dist = self.space.distance(q, &v);
            pairs[i].1 = v;
        });
        pairs.sort_unstable_by_key(|a| a.0);
        let (near, vectors) = pairs.into_iter().unzip();
        Scored { near, vectors }
    }

    /// Up to `max` of `c`'s candidates by the heuristic (a candidate is kept only if it is
    /// closer to the query than to every one kept before it), as `select_neighbors` does,
    /// on the vectors at hand.
    pub(super) fn select(&self, c: &Scored, max: usize) -> Vec<u32> {
        let mut kept: Vec<usize> = Vec::with_capacity(max);
        for (i, n) in c.near.iter().enumerate() {
            if kept.len() >= max {
                break;
            }
            let v = &c.vectors[i];
            let diverse = (!v.is_empty() || kept.is_empty())
                && kept
                    .iter()
                    .all(|&k| self.space.distance(v, &c.vectors[k]) > n.dist);
            if diverse {
                kept.push(i);
            }
        }
        kept.into_iter().map(|i| c.near[i].id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DistanceMetric;
    use crate::hnsw::build::select_neighbors;
    use crate::hnsw::scorer::tests::graph_of;
    use crate::quant::{MemorySource, StorageMode};

    /// `graph_of` over `data` prepared for `space`.
    fn graph(mode: StorageMode, space: &Space, data: &[Vec<f32>]) -> Graph {
        let prepared: Vec<Vec<f32>> = data.iter().map(|v| space.prepare(v)).collect();
        graph_of(mode, space, &prepared)
    }

    #[test]
    fn scores_and_selects_as_the_exact_graph_does() {
        let dim = 24;
        let data: Vec<Vec<f32>> = (0..60)
            .map(|i| {
                (0..dim)
                    .map(|j| ((i * 37 + j * 11) % 29) as f32 / 9.0 - 1.5)
                    .collect()
            })
            .collect();
        for metric in [DistanceMetric::Euclidean, DistanceMetric::Cosine] {
            let space = Space::new(metric);
            let source = MemorySource::new();
            // Slot 59's vector is missing from the source.
            for (i, v) in data.iter().enumerate().take(59) {
                source.put(i as u64, v);
            }
            let mut coded = graph(StorageMode::Rabitq, &space, &data);
            assert!(ExactVectors::new(&coded, &space).is_none(), "no source yet");
            let shared: Arc<dyn VectorSource> = source;
            coded.set_exact_source(Some(shared));
            let e = ExactVectors::new(&coded, &space).expect("rabitq links exactly");
            let full = graph(StorageMode::Full, &space, &data);
            assert!(ExactVectors::new(&full, &space).is_none());
            let q = e.get(0).unwrap();
            let scored = e.score(&q, (1..60).rev());
            assert_eq!(scored.near.len(), 59);
            let last = scored.near.last().unwrap();
            assert_eq!((last.id, last.dist), (59, f32::INFINITY));
            assert!(scored.near.windows(2).all(|w| w[0].dist <= w[1].dist));
            let probe = full.probe(&space, &q);
            let candidates: Vec<Near<u32>> = scored
                .near
                .iter()
                .map(|n| Near {
                    dist: full.distance(&probe, n.id),
                    id: n.id,
                })
                .collect();
            for (a, b) in scored.near.iter().zip(&candidates).take(58) {
                assert!((a.dist - b.dist).abs() <= 1e-4 * (1.0 + b.dist.abs()));
            }
            for max in [1, 4, 16] {
                assert_eq!(
                    e.select(&scored, max),
                    select_neighbors(&full, &space, &candidates[..58], max),
                    "{metric} max {max}"
                );
            }
        }
    }
}
