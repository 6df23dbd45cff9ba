//! Scorers: the traversal distance and prefetch of one kind of rows against one kind of
//! probe, resolved once per layer search instead of once per neighbour.
//!
//! [`Rows::distance`] matches the rows and the probe on every call; in the inner loop of a
//! graph search (a few hundred neighbours a query) that match, its bounds checks and the
//! register spills around it cost a measurable share of the time. The layer searches are
//! generic over [`Scorer`], and [`with_scorer`] picks the concrete one for the common
//! pairs (`f32` rows with an `f32` probe, SQ8 codes with a byte-quantized query, RaBitQ
//! blocks with a RaBitQ query); every
//! other pair goes through [`AnyRows`], which is exactly [`Graph::distance`] /
//! [`Graph::prefetch`]. A specialized scorer computes the same value as the general path
//! (same kernels, same arithmetic, in the same order): the tests below compare them.
//!
//! Must not depend on anything above the graph (no index state, no locks).

use nearstore_distance::kernels;

use super::arena::VectorArena;
use super::graph::Graph;
use super::rows::{Probe, ProbeKind, Rows, prefetch_row};
use crate::quant::rabitq::{RabitqCodebook, RabitqQuery};
use crate::quant::sq8::{QueryBytes, Sq8Query};
use crate::space::Space;

/// The traversal distance and cache hints of one search's rows and probe.
pub(super) trait Scorer {
    /// The distance (lower is better) from the probe to `slot`.
    fn distance(&self, slot: u32) -> f32;
    /// Hints the cache to load `slot`'s row: its head, or all of it ([`prefetch_row`]'s
    /// rule, the same for every scorer).
    fn prefetch(&self, slot: u32, whole: bool);
}

/// Any rows and probe, through the graph's general path.
pub(super) struct AnyRows<'a> {
    pub(super) g: &'a Graph,
    pub(super) q: &'a Probe<'a>,
}

impl Scorer for AnyRows<'_> {
    #[inline]
    fn distance(&self, slot: u32) -> f32 {
        self.g.distance(self.q, slot)
    }

    #[inline]
    fn prefetch(&self, slot: u32, whole: bool) {
        self.g.prefetch(slot, whole);
    }
}

/// `f32` rows scored exactly against an `f32` probe.
pub(super) struct F32Rows<'a> {
    arena: &'a VectorArena,
    q: &'a [f32],
    space: &'a Space,
}

impl Scorer for F32Rows<'_> {
    #[inline]
    fn distance(&self, slot: u32) -> f32 {
        self.space.distance(self.q, self.arena.get(slot as usize))
    }

    #[inline]
    fn prefetch(&self, slot: u32, whole: bool) {
        prefetch_row(self.arena.get(slot as usize), whole);
    }
}

/// SQ8 codes scored against a byte-quantized query (`Rows::distance`'s arithmetic).
pub(super) struct Sq8Bytes<'a> {
    dim: usize,
    codes: &'a [u8],
    norms: &'a [f32],
    sums: &'a [f32],
    q: &'a Sq8Query,
    b: &'a QueryBytes,
    space: &'a Space,
}

impl Scorer for Sq8Bytes<'_> {
    #[inline]
    fn distance(&self, slot: u32) -> f32 {
        let s = slot as usize;
        let code = &self.codes[s * self.dim..(s + 1) * self.dim];
        let dot = self.q.bias
            + self.b.lo * self.sums[s]
            + self.b.step * kernels().dot_u8(&self.b.codes, code) as f32;
        self.space
            .distance_from_dot(dot, self.q.norm_sq, self.norms[s])
    }

    #[inline]
    fn prefetch(&self, slot: u32, whole: bool) {
        let s = slot as usize;
        prefetch_row(&self.codes[s * self.dim..(s + 1) * self.dim], whole);
    }
}

/// RaBitQ blocks scored with the estimator against a rotated, quantized query.
pub(super) struct RabitqBlocks<'a> {
    book: &'a RabitqCodebook,
    blocks: &'a [u64],
    stride: usize,
    q: &'a RabitqQuery,
}

impl Scorer for RabitqBlocks<'_> {
    #[inline]
    fn distance(&self, slot: u32) -> f32 {
        let s = slot as usize;
        let block = &self.blocks[s * self.stride..(s + 1) * self.stride];
        self.book.estimate(self.q, block).0
    }

    #[inline]
    fn prefetch(&self, slot: u32, whole: bool) {
        let s = slot as usize;
        prefetch_row(&self.blocks[s * self.stride..(s + 1) * self.stride], whole);
    }
}

/// Calls `run` with the scorer for `g`'s rows and the probe `q` (specialized where one
/// exists, [`AnyRows`] otherwise). A macro rather than a closure: `run` is generic over the
/// scorer's type.
macro_rules! with_scorer {
    ($g:expr, $q:expr, |$s:ident| $run:expr) => {{
        let g: &$crate::hnsw::graph::Graph = $g;
        let q: &$crate::hnsw::rows::Probe<'_> = $q;
        match $crate::hnsw::scorer::specialize(g, q) {
            $crate::hnsw::scorer::Specialized::F32(scorer) => {
                let $s = &scorer;
                $run
            }
            $crate::hnsw::scorer::Specialized::Sq8(scorer) => {
                let $s = &scorer;
                $run
            }
            $crate::hnsw::scorer::Specialized::Rabitq(scorer) => {
                let $s = &scorer;
                $run
            }
            $crate::hnsw::scorer::Specialized::Any(scorer) => {
                let $s = &scorer;
                $run
            }
        }
    }};
}
pub(super) use with_scorer;

/// The scorer chosen for a pair of rows and probe.
pub(super) enum Specialized<'a> {
    F32(F32Rows<'a>),
    Sq8(Sq8Bytes<'a>),
    Rabitq(RabitqBlocks<'a>),
    Any(AnyRows<'a>),
}

/// Picks the scorer for `g`'s rows and `q`.
pub(super) fn specialize<'a>(g: &'a Graph, q: &'a Probe<'a>) -> Specialized<'a> {
    match (g.rows(), &q.kind) {
        (Rows::Full(arena), ProbeKind::F32(v)) => Specialized::F32(F32Rows {
            arena,
            q: v,
            space: q.space,
        }),
        (
            Rows::Sq8 {
                codes, norms, sums, ..
            },
            ProbeKind::Sq8(sq),
        ) => match &sq.bytes {
            Some(b) => Specialized::Sq8(Sq8Bytes {
                dim: g.dim(),
                codes,
                norms,
                sums,
                q: sq,
                b,
                space: q.space,
            }),
            None => Specialized::Any(AnyRows { g, q }),
        },
        (Rows::Rabitq { book, blocks, .. }, ProbeKind::Rabitq(rq)) => {
            Specialized::Rabitq(RabitqBlocks {
                book,
                blocks,
                stride: book.stride(),
                q: rq,
            })
        }
        _ => Specialized::Any(AnyRows { g, q }),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::DistanceMetric;
    use crate::quant::{QuantConfig, StorageMode};

    /// A graph without links over `data` (rows as given: prepare them first for a metric
    /// that normalizes), its rows in `mode` (codebook trained on all of `data`).
    pub(in crate::hnsw) fn graph_of(mode: StorageMode, space: &Space, data: &[Vec<f32>]) -> Graph {
        let dim = data[0].len();
        let sample: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let rows = Rows::build(
            &QuantConfig::new(mode),
            space,
            7,
            dim,
            &sample,
            data.len(),
            |i, f| {
                f(&data[i]);
            },
        );
        let mut g = Graph::new(dim, 4);
        for (i, v) in data.iter().enumerate() {
            g.push(v, i as u64, 0);
        }
        g.set_rows(rows);
        g
    }

    #[test]
    fn specialized_scorers_agree_with_the_general_path() {
        let dim = 37;
        let data: Vec<Vec<f32>> = (0..50)
            .map(|i| {
                (0..dim)
                    .map(|j| ((i * 31 + j * 17) % 23) as f32 / 7.0 - 1.5)
                    .collect()
            })
            .collect();
        for metric in [DistanceMetric::Euclidean, DistanceMetric::DotProduct] {
            let space = Space::new(metric);
            let modes = [
                StorageMode::Full,
                StorageMode::Sq8,
                StorageMode::Rabitq,
                StorageMode::Binary,
            ];
            for mode in modes {
                let g = graph_of(mode, &space, &data);
                let query: Vec<f32> = (0..dim).map(|j| (j as f32 * 0.37).sin()).collect();
                let probe = g.probe(&space, &query);
                let kind = match specialize(&g, &probe) {
                    Specialized::F32(_) => StorageMode::Full,
                    Specialized::Sq8(_) => StorageMode::Sq8,
                    Specialized::Rabitq(_) => StorageMode::Rabitq,
                    Specialized::Any(_) => StorageMode::Binary,
                };
                assert_eq!(kind, mode, "{mode:?} picks its own scorer");
                for slot in 0..data.len() as u32 {
                    let general = g.distance(&probe, slot);
                    let special = with_scorer!(&g, &probe, |s| {
                        s.prefetch(slot, true);
                        s.distance(slot)
                    });
                    assert_eq!(general.to_bits(), special.to_bits(), "{mode:?} slot {slot}");
                }
            }
        }
    }
}
