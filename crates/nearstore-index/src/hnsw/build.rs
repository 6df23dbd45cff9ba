//! Insertion: level draw, greedy descent, layer search, heuristic neighbour selection and
//! reverse links; parallel for batches.
//!
//! Heuristic selection keeps a candidate only if it is closer to the new node than to every
//! neighbour already kept, which preserves the rare links between clusters. When a node's
//! full list must take a new link, the same heuristic is re-run over the old links plus the
//! new one: the farthest link is not simply evicted (that is what splits clustered data into
//! islands).

use std::sync::atomic::Ordering;

use rand::Rng;
use rayon::prelude::*;

use super::HnswIndex;
use super::exact::ExactVectors;
use super::graph::Graph;
use super::pool::search_pool;
use super::rows::Probe;
use super::search::{descend, search_layer};
use super::topk::Near;
use super::visited::VisitedSet;
use crate::error::{Error, Result, validate};
use crate::space::Space;

/// Picks up to `max` neighbours from `candidates` (sorted best first) by the heuristic.
pub(super) fn select_neighbors(
    g: &Graph,
    space: &Space,
    candidates: &[Near<u32>],
    max: usize,
) -> Vec<u32> {
    let mut kept: Vec<Near<u32>> = Vec::with_capacity(max);
    for &c in candidates {
        if kept.len() >= max {
            break;
        }
        if kept.is_empty() {
            kept.push(c);
            continue;
        }
        let v = g.probe_slot(space, c.id);
        let diverse = kept.iter().all(|s| g.distance(&v, s.id) > c.dist);
        if diverse {
            kept.push(c);
        }
    }
    kept.into_iter().map(|n| n.id).collect()
}

/// Puts back into `kept` any candidate for which this list holds its only layer-0 in-link
/// (or, for the node being linked, would be its first), replacing kept nodes that have other
/// in-links, so re-selection never orphans a node.
pub(super) fn keep_last_in_links(
    g: &Graph,
    kept: &mut Vec<u32>,
    candidates: &[Near<u32>],
    new: u32,
    max: usize,
) {
    for c in candidates {
        if kept.contains(&c.id) {
            continue;
        }
        let other_in_links = g.indegree(c.id) - u32::from(c.id != new);
        if other_in_links > 0 {
            continue;
        }
        if kept.len() < max {
            kept.push(c.id);
        } else if let Some(pos) = kept
            .iter()
            .rposition(|&k| g.indegree(k) > u32::from(k != new))
        {
            kept[pos] = c.id;
        }
    }
}

impl HnswIndex {
    fn draw_level(&self) -> u8 {
        let ml = 1.0 / (self.params.m as f64).ln();
        let u: f64 = self.level_rng.lock().random_range(f64::EPSILON..1.0);
        ((-u.ln() * ml) as usize).min(31) as u8
    }

    /// Adds or replaces many points; the graph linking runs in parallel (rayon).
    pub fn insert_batch<V: AsRef<[f32]> + Sync>(&self, items: &[(u64, V)]) -> Result<()> {
        self.insert_batch_with(items, true)
    }

    /// [`HnswIndex::insert_batch`] without the whole-graph upkeep a batch that is large next
    /// to the graph triggers (connectivity pass, locality renumbering): for a caller that
    /// links one large load in many batches and runs [`HnswIndex::upkeep`] once after them
    /// (each pass costs O(graph), so one per small batch would cost O(load x graph)).
    pub fn insert_batch_deferring_upkeep<V: AsRef<[f32]> + Sync>(
        &self,
        items: &[(u64, V)],
    ) -> Result<()> {
        self.insert_batch_with(items, false)
    }

    /// The whole-graph upkeep after bulk inserts: links the live nodes the entry point
    /// cannot reach, then renumbers the slots for locality. O(graph), under the graph's
    /// write lock (searches wait).
    pub fn upkeep(&self) {
        self.ensure_connected();
        self.renumber_for_locality();
    }

    fn insert_batch_with<V: AsRef<[f32]> + Sync>(
        &self,
        items: &[(u64, V)],
        upkeep: bool,
    ) -> Result<()> {
        // Nothing to link: no lock taken (a bulk write of new points only passes none, and
        // the graph's write lock below would stall searches and linking for nothing).
        if items.is_empty() {
            return Ok(());
        }
        for (_, v) in items {
            validate(v.as_ref(), self.dim)?;
        }
        let inserting = self.slot_gate.read();
        let replaced: Vec<u64> = {
            let g = self.graph.read();
            let ids = self.ids.read();
            items
                .iter()
                .map(|(id, _)| *id)
                .filter(|&id| ids.contains(id, g.externals()))
                .collect()
        };
        if !replaced.is_empty() {
            self.delete_ids(&replaced);
        }
        if self.training_due(items.len()) {
            let step = items.len().div_ceil(crate::quant::TRAIN_SAMPLE).max(1);
            let sample: Vec<Vec<f32>> = items
                .iter()
                .step_by(step)
                .map(|(_, v)| self.space.prepare(v.as_ref()))
                .collect();
            self.train_if_due(&sample)?;
        }
        // A later duplicate in the batch wins.
        let mut last: rustc_hash::FxHashMap<u64, usize> = Default::default();
        for (i, (id, _)) in items.iter().enumerate() {
            last.insert(*id, i);
        }
        let mut slots = Vec::with_capacity(last.len());
        {
            let mut g = self.graph.write();
            let mut free = self.free.lock();
            g.reserve(items.len().saturating_sub(free.len()));
            for (i, (id, v)) in items.iter().enumerate() {
                if last.get(id) != Some(&i) {
                    continue;
                }
                let level = self.draw_level();
                let prepared = self.space.prepare(v.as_ref());
                let slot = match free.pop() {
                    Some(s) => {
                        g.reuse(s, &prepared, *id, level);
                        s
                    }
                    None => {
                        if g.len() >= u32::MAX as usize - 1 {
                            return Err(Error::Full(g.len()));
                        }
                        g.push(&prepared, *id, level)
                    }
                };
                slots.push(slot);
            }
        }
        {
            // Graph before ids, as everywhere (the table reads the graph's external ids).
            let g = self.graph.read();
            let mut ids = self.ids.write();
            for &s in &slots {
                ids.insert(s, g.externals());
            }
        }
        self.live.fetch_add(slots.len(), Ordering::AcqRel);
        // The first node of an empty graph becomes the entry point on its own.
        let rest = match slots.split_first() {
            Some((&first, rest)) if self.graph.read().entry.is_none() => {
                let mut g = self.graph.write();
                let level = g.level(first);
                g.entry = Some((first, level));
                rest
            }
            _ => &slots[..],
        };
        if rest.len() > 1 {
            rest.par_iter().for_each(|&s| self.link(s));
        } else {
            rest.iter().for_each(|&s| self.link(s));
        }
        // The connectivity pass walks the whole graph under its write lock (blocking
        // searches), so it runs only after batches that are large next to the graph (bulk
        // builds), never after the small batches of incremental upserts, where it would
        // make every write cost O(collection).
        let total = self.graph.read().len();
        if upkeep && rest.len() > 1 && rest.len() * 100 >= total {
            self.ensure_connected();
            drop(inserting);
            self.renumber_for_locality();
        }
        Ok(())
    }

    /// Links a slot whose vector is already stored into the graph.
    fn link(&self, slot: u32) {
        let g = self.graph.read();
        let Some(entry) = g.entry else {
            return;
        };
        let level = g.level(slot);
        // On codes that link exactly: walk on the estimates with the exact vector as the
        // query, then score and select the candidates exactly (see `exact.rs`).
        let exact = ExactVectors::new(&g, &self.space);
        let own = exact.as_ref().and_then(|e| e.get(slot));
        let q = &match &own {
            Some(v) => g.probe(&self.space, v),
            None => g.probe_slot(&self.space, slot),
        };
        let mut links = Vec::new();
        let mut visited = self.visited.take(g.len());
        let mut eps = vec![descend(&g, q, entry, level, &mut visited, &mut links)];
        let top = entry.1.min(level);
        let mut chosen = Vec::with_capacity(usize::from(top) + 1);
        for lc in (0..=top).rev() {
            let found = self.link_candidates(&g, q, &eps, lc, slot, &mut visited);
            let neighbors = match (&exact, &own) {
                (Some(e), Some(v)) => {
                    let scored = e.score(v, found.iter().map(|n| n.id));
                    e.select(&scored, self.params.m)
                }
                _ => select_neighbors(&g, &self.space, &found, self.params.m),
            };
            {
                let _own = g.lock(slot).lock();
                g.replace_links(slot, lc, &neighbors);
            }
            chosen.push((lc, neighbors));
            if !found.is_empty() {
                eps = found;
            }
        }
        self.visited.give_back(visited);
        // Only now, with its lists on every layer set, does the node become reachable: a
        // search that found it on an upper layer before its layer-0 list existed would have
        // nowhere to go from there.
        for (lc, neighbors) in &chosen {
            for &n in neighbors {
                self.add_link(&g, n, slot, *lc, &mut links);
            }
        }
        drop(g);
        if level > entry.1 {
            let mut g = self.graph.write();
            if g.entry.is_none_or(|(_, top)| level > top) {
                g.entry = Some((slot, level));
            }
        }
    }

    /// The live nodes `slot` may link to on `level`, best first: the layer search from `eps`
    /// walks through deleted nodes but never returns them. A deleted neighbour would be
    /// worse than useless: the heuristic would drop live candidates it "covers", and the
    /// back-link from it would be the new node's only in-link, while deleted nodes lose
    /// their own in-links to the delete repair (so nothing reaches them once the entry
    /// point moves on). When deletes leave the pool short of `m` live nodes, the search
    /// that walks past deleted ones decides, as in a query.
    fn link_candidates(
        &self,
        g: &Graph,
        q: &Probe<'_>,
        eps: &[Near<u32>],
        level: u8,
        slot: u32,
        visited: &mut VisitedSet,
    ) -> Vec<Near<u32>> {
        let ef = self.params.ef_construction;
        visited.reset(g.len());
        let mut found = search_pool(g, q, eps, ef, level, visited);
        let pooled = found.len();
        // Another thread may already have linked this node: never link it to itself.
        found.retain(|n| n.id != slot && !g.is_deleted(n.id));
        if found.len() < pooled && found.len() < self.params.m {
            visited.reset(g.len());
            found = search_layer(g, q, eps, ef, level, visited, |n| {
                n != slot && !g.is_deleted(n)
            });
        }
        found
    }

    /// Adds `new` to `node`'s list on `level`, re-selecting by the heuristic when full.
    pub(super) fn add_link(&self, g: &Graph, node: u32, new: u32, level: u8, buf: &mut Vec<u32>) {
        let _guard = g.lock(node).lock();
        g.links_into(node, level, buf);
        if buf.contains(&new) {
            return;
        }
        let max = g.max_links(level);
        if buf.len() < max {
            buf.push(new);
            g.replace_links(node, level, buf);
            return;
        }
        let exact = ExactVectors::new(g, &self.space);
        if let Some(e) = &exact
            && let Some(v) = e.get(node)
        {
            let scored = e.score(&v, buf.iter().copied().chain(std::iter::once(new)));
            let mut kept = e.select(&scored, max);
            if level == 0 {
                keep_last_in_links(g, &mut kept, &scored.near, new, max);
            }
            g.replace_links(node, level, &kept);
            return;
        }
        let v = g.probe_slot(&self.space, node);
        let mut candidates: Vec<Near<u32>> = buf
            .iter()
            .chain(std::iter::once(&new))
            .map(|&id| Near {
                dist: g.distance(&v, id),
                id,
            })
            .collect();
        candidates.sort_unstable();
        let mut kept = select_neighbors(g, &self.space, &candidates, max);
        if level == 0 {
            keep_last_in_links(g, &mut kept, &candidates, new, max);
        }
        g.replace_links(node, level, &kept);
    }
}
