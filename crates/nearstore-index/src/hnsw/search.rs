//! Search: greedy descent through the upper layers, then a best-first search of layer 0.
//!
//! Filtered search keeps walking through nodes the allow-list rejects (they enter the
//! candidate queue but not the results), so matching points behind non-matching ones are
//! still reached. Small allow-lists are scanned exactly instead, and a graph search that
//! comes back short of `k` while enough points are allowed falls back to the exact scan, so
//! a filtered search never returns fewer than `min(k, allowed)` results.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::TopK;
use super::graph::Graph;
use super::pool::search_pool;
use super::rows::Probe;
use super::rows::Rows;
use super::scorer::{AnyRows, Scorer, with_scorer};
use super::topk::Near;
use super::visited::VisitedSet;
use super::{HnswIndex, SearchQuality};
use crate::flat::FlatIndex;
use crate::quant::{SearchOptions, StorageMode, VectorSource};
use crate::{AllowList, SearchHit, VectorIndex};
use nearstore_distance::prefetch_ahead;

/// How many neighbours ahead of the one being scored are prefetched whole (on wordnet-dev,
/// 384-d, with huge pages: 1 ahead and heads only were slower, 3-4 ahead within noise;
/// prefetching several whole vectors at once instead of the heads was 5-10 % slower).
const PREFETCH_AHEAD: usize = 2;

/// How many allowed points ahead an exact scan prefetches the vector of (on wordnet-dev,
/// 384-d, a scan of 6,326 scattered points took 0.5-0.7 ms instead of 1.6-2.2 ms; 2 and 8
/// ahead did worse).
const SCAN_PREFETCH_AHEAD: usize = 4;

/// How many rescoring candidates' exact vectors are read from the source at once (RaBitQ's
/// rescoring judges each batch's candidates against the top k before it, so a smaller
/// batch prunes sooner; the source reads a batch's vectors ahead of each other).
const RESCORE_BATCH: usize = 16;

/// Ids taken from an iterator [`RESCORE_BATCH`] at a time into a buffer of their own (no
/// allocation per search).
struct IdBatches<I> {
    ids: I,
    buf: [u64; RESCORE_BATCH],
}

impl<I: Iterator<Item = u64>> IdBatches<I> {
    fn new(ids: I) -> Self {
        IdBatches {
            ids,
            buf: [0; RESCORE_BATCH],
        }
    }

    /// The next (up to) [`RESCORE_BATCH`] ids; empty when the iterator is done.
    fn next_batch(&mut self) -> &[u64] {
        let mut n = 0;
        for (slot, id) in self.buf.iter_mut().zip(&mut self.ids) {
            *slot = id;
            n += 1;
        }
        &self.buf[..n]
    }
}

/// Allow-lists of at most this many points are always scanned exactly.
const EXACT_MIN: usize = 2_000;

/// Largest allow-list scanned exactly rather than searched through the graph. A filtered
/// graph search at selectivity `s` expands about `ef / s` nodes of `m0` links each, while an
/// exact scan scores `s * n` vectors: they cost the same near `s * n = sqrt(ef * m0 * n)`.
/// The factor 0.75 is measured: on wordnet-dev (53k x 384, ef 64, random filters) the exact
/// scan won at 5.4k and 6.4k allowed points (1,894 / 1,622 QPS against the graph's 593 /
/// 695) and the graph won at 8.1k and 10.8k (857 / 998 against 663 / 432), where the scan's
/// scattered vectors no longer stay in cache; the limit is 7.8k there.
fn exact_scan_limit(ef: usize, m0: usize, live: usize) -> usize {
    let crossover = ((ef * m0) as f64 * live as f64).sqrt() * 0.75;
    EXACT_MIN.max(crossover as usize)
}

/// Greedy descent from the entry point through the layers above `down_to`; returns the
/// closest node found. `visited`, freshly reset (as `VisitedPool::take` hands it out),
/// marks every node scored: a node scored once (on this layer or one above) is never closer
/// than the current best, so scoring it again could not move the descent, and skipping it
/// changes nothing but the work. Each step scores the current node's unvisited neighbours
/// with their rows prefetched, as the layer search does.
pub(super) fn descend(
    g: &Graph,
    q: &Probe<'_>,
    entry: (u32, u8),
    down_to: u8,
    visited: &mut VisitedSet,
    links: &mut Vec<u32>,
) -> Near<u32> {
    with_scorer!(g, q, |s| descend_with(g, s, entry, down_to, visited, links))
}

/// [`descend`] with the scorer resolved.
fn descend_with<S: Scorer>(
    g: &Graph,
    s: &S,
    entry: (u32, u8),
    down_to: u8,
    visited: &mut VisitedSet,
    links: &mut Vec<u32>,
) -> Near<u32> {
    let (start, top) = entry;
    debug_assert_eq!(
        visited.marked, 0,
        "the descent starts from a reset visited set"
    );
    visited.insert(start);
    let mut best = Near {
        dist: s.distance(start),
        id: start,
    };
    for level in (down_to + 1..=top).rev() {
        loop {
            let from = best.id;
            score_unvisited(g, s, from, level, visited, links, |n, d| {
                if d < best.dist {
                    best = Near { dist: d, id: n };
                }
            });
            if best.id == from {
                break;
            }
        }
    }
    best
}

/// Expands `node` on `level`: scores each neighbour not visited yet (marking it visited)
/// and hands `(neighbour, distance)` to `each`. Memory latency is hidden by prefetching the
/// first lines of every such neighbour up front and whole vectors a few ahead.
#[inline]
pub(super) fn score_unvisited<S: Scorer>(
    g: &Graph,
    s: &S,
    node: u32,
    level: u8,
    visited: &mut VisitedSet,
    links: &mut Vec<u32>,
    mut each: impl FnMut(u32, f32),
) {
    g.unvisited_links_into(node, level, visited, links);
    for &n in links.iter() {
        s.prefetch(n, false);
    }
    for (i, &n) in links.iter().enumerate() {
        if let Some(&ahead) = links.get(i + PREFETCH_AHEAD) {
            s.prefetch(ahead, true);
        }
        each(n, s.distance(n));
    }
}

/// Best-first search of one layer from `entries`; returns up to `ef` accepted nodes, best
/// first. Every reached node is a candidate for expansion; only nodes for which `accept`
/// holds enter the results.
#[allow(clippy::too_many_arguments)]
pub(super) fn search_layer(
    g: &Graph,
    q: &Probe<'_>,
    entries: &[Near<u32>],
    ef: usize,
    level: u8,
    visited: &mut VisitedSet,
    accept: impl Fn(u32) -> bool,
) -> Vec<Near<u32>> {
    // Reserved up to a bound (`ef` may be huge, see `pool::Pool::new`); they grow past it.
    let reserve = ef.min(4096);
    let mut candidates: BinaryHeap<Reverse<Near<u32>>> = BinaryHeap::with_capacity(reserve * 2);
    let mut results: BinaryHeap<Near<u32>> = BinaryHeap::with_capacity(reserve + 1);
    for &e in entries {
        if visited.insert(e.id) {
            candidates.push(Reverse(e));
            if accept(e.id) {
                results.push(e);
            }
        }
    }
    while results.len() > ef {
        results.pop();
    }
    let mut links = Vec::with_capacity(g.max_links(level));
    let scorer = AnyRows { g, q };
    while let Some(Reverse(c)) = candidates.pop() {
        if results.len() >= ef && results.peek().is_some_and(|w| c.dist > w.dist) {
            break;
        }
        score_unvisited(g, &scorer, c.id, level, visited, &mut links, |n, d| {
            let worst = results.peek().map_or(f32::INFINITY, |w| w.dist);
            if results.len() < ef || d < worst {
                let near = Near { dist: d, id: n };
                candidates.push(Reverse(near));
                if accept(n) {
                    results.push(near);
                    if results.len() > ef {
                        results.pop();
                    }
                }
            }
        });
    }
    results.into_sorted_vec()
}

/// What the last search on this thread did (for EXPLAIN ANALYZE and diagnostics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SearchStats {
    /// Whether it scored the allowed points exactly instead of walking the graph.
    pub exact: bool,
    /// Nodes visited on layer 0 (graph search) or points scanned (exact).
    pub nodes_visited: u64,
    /// Distances computed on layer 0 / in the scan (the descent through the upper layers,
    /// a few dozen, is not counted).
    pub distance_computations: u64,
}

thread_local! {
    static LAST_SEARCH: std::cell::Cell<SearchStats> = const {
        std::cell::Cell::new(SearchStats { exact: false, nodes_visited: 0, distance_computations: 0 })
    };
}

/// The statistics of the last search run on the calling thread.
pub fn last_search_stats() -> SearchStats {
    LAST_SEARCH.with(std::cell::Cell::get)
}

fn record(stats: SearchStats) {
    LAST_SEARCH.with(|c| c.set(stats));
}

/// How many points an exact scan scores between two looks at its stop hook.
const STOP_CHECK_EVERY: usize = 1024;

impl HnswIndex {
    /// Search with an already prepared (normalized for cosine) query.
    /// `None` when `stop` said to give up (checked before the search, between graph
    /// passes and every [`STOP_CHECK_EVERY`] points of an exact scan).
    pub(crate) fn search_prepared(
        &self,
        q: &[f32],
        k: usize,
        quality: SearchQuality,
        allow: Option<&dyn AllowList>,
        opts: SearchOptions,
        stop: &dyn Fn() -> bool,
    ) -> Option<Vec<SearchHit>> {
        if k == 0 {
            return Some(Vec::new());
        }
        if stop() {
            return None;
        }
        let live = self.len();
        let allowed = allow.and_then(|a| a.count_hint());
        let ef = self.ef_for(quality, k);
        let exact_limit = exact_scan_limit(ef.min(live), 2 * self.params.m, live);
        if quality == SearchQuality::Perfect || allowed.is_some_and(|c| c <= exact_limit) {
            return self.exact(q, k, allow, stop);
        }
        let hits = self.graph_search(
            q,
            k,
            ef,
            quality == SearchQuality::Adaptive,
            allow,
            opts,
            stop,
        )?;
        let wanted = k.min(allowed.unwrap_or(live)).min(live);
        if allow.is_some() && hits.len() < wanted {
            return self.exact(q, k, allow, stop);
        }
        Some(hits)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the request's parts (k, ef, mode, allow-list, rescoring, stop hook) each used once"
    )]
    fn graph_search(
        &self,
        q_f32: &[f32],
        k: usize,
        ef: usize,
        adaptive: bool,
        allow: Option<&dyn AllowList>,
        opts: SearchOptions,
        stop: &dyn Fn() -> bool,
    ) -> Option<Vec<SearchHit>> {
        let g = self.graph.read();
        let Some(entry) = g.entry else {
            return Some(Vec::new());
        };
        // On codes, keep `k * oversampling` candidates for exact rescoring.
        let rescore = self.rescore_count(g.rows().mode(), k, opts);
        let (k_graph, ef) = match rescore {
            Some(keep) => (keep, ef.max(keep)),
            None => (k, ef),
        };
        let q = &g.probe(&self.space, q_f32);
        let mut links = Vec::new();
        let mut visited = self.visited.take(g.len());
        // Inside the query's nearest list when the rows have lists, else where the descent
        // through the upper layers ends.
        let start = match g.list_entry(q) {
            Some(slot) => Near {
                dist: g.distance(q, slot),
                id: slot,
            },
            None => descend(&g, q, entry, 0, &mut visited, &mut links),
        };
        let accept =
            |slot: u32| !g.is_deleted(slot) && allow.is_none_or(|a| a.allows(g.external(slot)));
        let mut ef = ef;
        let mut found;
        let mut visited_total = 0u64;
        loop {
            visited.reset(g.len());
            found = if allow.is_none() {
                // Unfiltered: the pool search, dropping deleted nodes afterwards; if deletes
                // leave fewer than k, the two-heap search that walks past them decides.
                let mut pooled = search_pool(&g, q, &[start], ef, 0, &mut visited);
                pooled.retain(|n| !g.is_deleted(n.id));
                if pooled.len() >= k_graph.min(self.len()) {
                    pooled
                } else {
                    visited.reset(g.len());
                    search_layer(&g, q, &[start], ef, 0, &mut visited, accept)
                }
            } else {
                search_layer(&g, q, &[start], ef, 0, &mut visited, accept)
            };
            visited_total += visited.marked;
            // Adaptive: widen only while a wider search still changes the top k.
            if !adaptive || ef >= 1024 {
                break;
            }
            if stop() {
                self.visited.give_back(visited);
                return None;
            }
            let mut wider_visited = self.visited.take(g.len());
            let wider = search_layer(&g, q, &[start], ef * 2, 0, &mut wider_visited, accept);
            visited_total += wider_visited.marked;
            self.visited.give_back(wider_visited);
            let same = wider
                .iter()
                .take(k)
                .map(|n| n.id)
                .eq(found.iter().take(k).map(|n| n.id));
            found = wider;
            ef *= 2;
            if same {
                break;
            }
        }
        self.visited.give_back(visited);
        record(SearchStats {
            exact: false,
            nodes_visited: visited_total,
            distance_computations: visited_total,
        });
        if let (Some(keep), Some(source)) = (rescore, &self.source) {
            if g.rows().mode() == StorageMode::Rabitq {
                return Some(self.rescore_bounded(&g, q, source.as_ref(), q_f32, k, keep, &found));
            }
            let ids = found.iter().take(keep).map(|n| g.external(n.id));
            return Some(self.rescore(source.as_ref(), q_f32, k, ids));
        }
        Some(
            found
                .into_iter()
                .take(k)
                .map(|n| SearchHit {
                    id: g.external(n.id),
                    score: self.space.score(n.dist),
                })
                .collect(),
        )
    }

    /// How many graph candidates to rescore exactly (`None`: no rescoring, the traversal
    /// distances are the scores): only on codes with a vector source, when the search
    /// asks for it (default on; `binary` always rescores).
    fn rescore_count(&self, rows: StorageMode, k: usize, opts: SearchOptions) -> Option<usize> {
        if rows == StorageMode::Full || self.source.is_none() {
            return None;
        }
        if rows != StorageMode::Binary && opts.rerank == Some(false) {
            return None;
        }
        let factor = opts
            .oversampling
            .unwrap_or(self.quant.oversampling)
            .clamp(1.0, 100.0);
        Some(((k as f64 * f64::from(factor)).ceil() as usize).max(k))
    }

    /// The exact top `k` of `ids`, scored with the source's vectors (ids the source does
    /// not hold, e.g. deleted meanwhile, are skipped). Read in batches of
    /// [`RESCORE_BATCH`], each announced to the source while the one before is scored.
    fn rescore(
        &self,
        source: &dyn VectorSource,
        q: &[f32],
        k: usize,
        ids: impl Iterator<Item = u64>,
    ) -> Vec<SearchHit> {
        let mut top = TopK::new(k);
        self.offer_from_source(source, q, &mut top, ids);
        self.hits(top)
    }

    /// RaBitQ's rescoring: candidates in order of their estimate, each scored exactly
    /// unless its lower bound (estimate minus error bound) is already worse than the k-th
    /// exact distance found, at most `keep` of them scored.
    #[expect(
        clippy::too_many_arguments,
        reason = "graph, probe, source, query, k, budget and candidates: each used once"
    )]
    fn rescore_bounded(
        &self,
        g: &Graph,
        probe: &Probe<'_>,
        source: &dyn VectorSource,
        q: &[f32],
        k: usize,
        keep: usize,
        found: &[Near<u32>],
    ) -> Vec<SearchHit> {
        let mut top = TopK::new(k);
        let mut scored = 0usize;
        let mut ids = [0u64; RESCORE_BATCH];
        for chunk in found.chunks(RESCORE_BATCH) {
            if scored >= keep {
                break;
            }
            // The chunk's candidates that may still make the top k (judged against the
            // top k before the chunk), within the budget, read from the source at once.
            let worst = if top.len() >= k { top.worst() } else { None };
            let mut len = 0;
            for n in chunk {
                if scored + len >= keep {
                    break;
                }
                if let Some(w) = worst {
                    let (est, bound) = g.estimate(probe, n.id);
                    if est - bound > w {
                        continue;
                    }
                }
                ids[len] = g.external(n.id);
                len += 1;
            }
            let batch = &ids[..len];
            source.with_vectors(batch, &mut |i, v| {
                top.offer(self.space.distance_raw(q, v), batch[i]);
            });
            scored += len;
        }
        self.hits(top)
    }

    /// Offers each of `ids` to `top` at its exact distance from `q`, read from `source`
    /// [`RESCORE_BATCH`] at a time.
    fn offer_from_source(
        &self,
        source: &dyn VectorSource,
        q: &[f32],
        top: &mut TopK<u64>,
        ids: impl Iterator<Item = u64>,
    ) {
        let mut batches = IdBatches::new(ids);
        loop {
            let batch = batches.next_batch();
            if batch.is_empty() {
                break;
            }
            source.with_vectors(batch, &mut |i, v| {
                top.offer(self.space.distance_raw(q, v), batch[i]);
            });
        }
    }

    /// `top`'s entries best first, as user scores.
    fn hits(&self, top: TopK<u64>) -> Vec<SearchHit> {
        top.into_sorted()
            .into_iter()
            .map(|(d, id)| SearchHit {
                id,
                score: self.space.score(d),
            })
            .collect()
    }

    /// Exact top `k` over the live, allowed points.
    fn exact(
        &self,
        q: &[f32],
        k: usize,
        allow: Option<&dyn AllowList>,
        stop: &dyn Fn() -> bool,
    ) -> Option<Vec<SearchHit>> {
        let g = self.graph.read();
        let Rows::Full(arena) = g.rows() else {
            return self.exact_from_source(&g, q, k, allow, stop);
        };
        let vector = |s: u32| arena.get(s as usize);
        let mut stopped = false;
        let mut seen = 0usize;
        let go_on = |_: &(u64, &[f32])| {
            seen += 1;
            if seen.is_multiple_of(STOP_CHECK_EVERY) && stop() {
                stopped = true;
            }
            !stopped
        };
        if let Some(ids) = allow.and_then(|a| a.ids()) {
            let mut slots: Vec<u32> = {
                let map = self.ids.read();
                ids.iter()
                    .filter_map(|&id| map.get(id, g.externals()))
                    .collect()
            };
            // Scan in slot order: sequential memory access instead of hash order.
            slots.sort_unstable();
            let scanned = slots.len() as u64;
            record(SearchStats {
                exact: true,
                nodes_visited: scanned,
                distance_computations: scanned,
            });
            // The allowed slots are usually scattered: each vector would start with a cache
            // miss the hardware prefetcher cannot foresee. Announce the vector a few places
            // ahead when it does not directly follow its predecessor (contiguous runs are
            // streamed by the hardware already).
            let candidates = (0..slots.len()).filter_map(|i| {
                if let Some(&ahead) = slots.get(i + SCAN_PREFETCH_AHEAD)
                    && slots[i + SCAN_PREFETCH_AHEAD - 1] + 1 != ahead
                {
                    prefetch_ahead(vector(ahead));
                }
                let s = slots[i];
                (!g.is_deleted(s)).then(|| (g.external(s), vector(s)))
            });
            let hits = FlatIndex::exact_top_k(&self.space, q, k, candidates.take_while(go_on));
            return (!stopped).then_some(hits);
        }
        let mut scanned = 0u64;
        let candidates = (0..g.len() as u32)
            .filter(|&s| !g.is_deleted(s))
            .map(|s| (g.external(s), vector(s)))
            .filter(|(id, _)| allow.is_none_or(|a| a.allows(*id)))
            .inspect(|_| scanned += 1)
            .take_while(go_on);
        let hits = FlatIndex::exact_top_k(&self.space, q, k, candidates);
        record(SearchStats {
            exact: true,
            nodes_visited: scanned,
            distance_computations: scanned,
        });
        (!stopped).then_some(hits)
    }

    /// The exact plan of a quantized index: the allowed live points scored with the
    /// source's vectors (codes are never exact). Without a source, the codes' distances.
    fn exact_from_source(
        &self,
        g: &Graph,
        q: &[f32],
        k: usize,
        allow: Option<&dyn AllowList>,
        stop: &dyn Fn() -> bool,
    ) -> Option<Vec<SearchHit>> {
        let mut slots: Vec<u32> = match allow.and_then(|a| a.ids()) {
            Some(ids) => {
                let map = self.ids.read();
                ids.iter()
                    .filter_map(|&id| map.get(id, g.externals()))
                    .collect()
            }
            None => (0..g.len() as u32).collect(),
        };
        slots.retain(|&s| !g.is_deleted(s) && allow.is_none_or(|a| a.allows(g.external(s))));
        // Scored in chunks so that a deadline stops a long scan (as the f32 plan does).
        let mut top = TopK::new(k);
        let probe = self.source.is_none().then(|| g.probe(&self.space, q));
        for chunk in slots.chunks(STOP_CHECK_EVERY) {
            if stop() {
                return None;
            }
            if let Some(source) = &self.source {
                let ids = chunk.iter().map(|&s| g.external(s));
                self.offer_from_source(source.as_ref(), q, &mut top, ids);
            } else if let Some(probe) = &probe {
                // Without a source the codes' distances are the best there is.
                for &s in chunk {
                    top.offer(g.distance(probe, s), g.external(s));
                }
            }
        }
        let scanned = slots.len() as u64;
        record(SearchStats {
            exact: true,
            nodes_visited: scanned,
            distance_computations: scanned,
        });
        Some(self.hits(top))
    }
}
