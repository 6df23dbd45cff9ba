//! Connectivity repair: every live node must be reachable from the entry point on layer 0.
//!
//! Heuristic pruning and deletes can, rarely, leave a node (or a small group) with no path
//! from the entry point, and a search could then never return it. After bulk builds, large
//! delete batches and vacuums, a breadth-first pass finds such nodes and links each from its
//! nearest reachable node (found by a graph search, so it is reachable), without taking away
//! any node's last in-link.

use super::HnswIndex;
use super::search::search_layer;
use super::topk::Near;

/// Rounds of repair; each makes every node it finds unreachable reachable, so more than one
/// is needed only when a repair's replaced link was some other node's only path.
const MAX_ROUNDS: usize = 4;

impl HnswIndex {
    /// Links every live node the entry point cannot reach; returns how many links it added.
    pub(super) fn ensure_connected(&self) -> usize {
        let g = self.graph.write();
        let Some((entry, _)) = g.entry else {
            return 0;
        };
        let free: rustc_hash::FxHashSet<u32> = self.free.lock().iter().copied().collect();
        let mut added = 0;
        let mut links = Vec::new();
        for _ in 0..MAX_ROUNDS {
            let seen = g.reachable_from_entry();
            let orphans: Vec<u32> = (0..g.len() as u32)
                .filter(|&s| !seen[s as usize] && !g.is_deleted(s) && !free.contains(&s))
                .collect();
            if orphans.is_empty() {
                break;
            }
            for u in orphans {
                let q = g.probe_slot(&self.space, u);
                let mut visited = self.visited.take(g.len());
                let start = Near {
                    dist: g.distance(&q, entry),
                    id: entry,
                };
                let near = search_layer(
                    &g,
                    &q,
                    &[start],
                    self.params.ef_construction.min(64),
                    0,
                    &mut visited,
                    // A live source: a deleted one loses its own in-links to the delete
                    // repair, so the new link would not stay reachable.
                    |s| s != u && seen[s as usize] && !g.is_deleted(s),
                );
                self.visited.give_back(visited);
                if let Some(r) = near.first() {
                    self.add_link(&g, r.id, u, 0, &mut links);
                    added += 1;
                }
            }
        }
        added
    }
}
