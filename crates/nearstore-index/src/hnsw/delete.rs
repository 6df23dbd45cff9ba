//! Deletes: tombstones with neighbour repair, and vacuum.
//!
//! Deleting a point marks its slot deleted (searches still walk through it but never return
//! it) and repairs its neighbours, so the graph stays connected around the hole: each
//! neighbour that links back to it gets, in its place, the nearest of the deleted node's
//! other neighbours it does not already link to, then (while its list is at most half
//! full) every further one the selection heuristic keeps among them. A deleted entry point
//! is replaced by a live node. `vacuum` then removes every remaining link to deleted slots
//! (repairing the same way) and frees the slots for reuse.

use std::sync::atomic::Ordering;

use super::HnswIndex;
use super::graph::Graph;
use super::topk::Near;
use crate::space::Space;

/// Replaces `dead` in `node`'s list on `level` with the best live candidate from
/// `replacements` not already linked; returns whether the list changed.
fn repair_list(
    g: &Graph,
    space: &Space,
    node: u32,
    level: u8,
    dead: &dyn Fn(u32) -> bool,
    replacements: &[u32],
    buf: &mut Vec<u32>,
) -> bool {
    let _guard = g.lock(node).lock();
    g.links_into(node, level, buf);
    let before = buf.len();
    buf.retain(|&l| !dead(l));
    let removed = before - buf.len();
    if removed == 0 {
        return false;
    }
    let v = g.probe_slot(space, node);
    let mut options: Vec<Near<u32>> = replacements
        .iter()
        .copied()
        .filter(|&r| r != node && !dead(r) && !g.is_deleted(r) && !buf.contains(&r))
        .map(|r| Near {
            dist: g.distance(&v, r),
            id: r,
        })
        .collect();
    options.sort_unstable();
    options.dedup_by_key(|n| n.id);
    let room = g.max_links(level) - buf.len();
    let kept = buf.len();
    buf.extend(options.iter().take(removed.min(room)).map(|n| n.id));
    // Then, while the list is at most half full, every further option the heuristic keeps
    // among the replacements (none of those added is strictly closer to it than `node`; a
    // tie keeps it, so a duplicate of `node` hides nothing): the nearest replacement alone
    // can leave the deleted node's neighbourhood split into groups that only met through
    // it. A fuller list keeps other ways out (and stays as sparse as the heuristic made it).
    for o in options.iter().skip(removed) {
        if buf.len() >= g.max_links(level) / 2 {
            break;
        }
        let p = g.probe_slot(space, o.id);
        if buf[kept..].iter().all(|&k| g.distance(&p, k) >= o.dist) {
            buf.push(o.id);
        }
    }
    g.replace_links(node, level, buf);
    true
}

/// The live slot with the highest level (lowest slot among equals); `None` when none is
/// live. Reads every slot's level: for vacuums and the rare deleted entry point whose
/// lists hold no live node.
fn highest_live(g: &Graph) -> Option<(u32, u8)> {
    (0..g.len() as u32)
        .filter(|&s| !g.is_deleted(s))
        .map(|s| (s, g.level(s)))
        .max_by_key(|&(s, l)| (l, std::cmp::Reverse(s)))
}

/// A live replacement for the deleted entry point `e`: its live neighbour of the highest
/// level, looking from its top layer down (a neighbour on its top layer has the same top
/// level, so nothing is lost), else the live node with the highest level.
fn entry_replacement(g: &Graph, e: u32) -> Option<(u32, u8)> {
    let mut links = Vec::new();
    for level in (0..=g.level(e)).rev() {
        g.links_into(e, level, &mut links);
        let best = links
            .iter()
            .filter(|&&n| !g.is_deleted(n))
            .map(|&n| (n, g.level(n)))
            .max_by_key(|&(n, l)| (l, std::cmp::Reverse(n)));
        if best.is_some() {
            return best;
        }
    }
    highest_live(g)
}

impl HnswIndex {
    /// Moves the entry point off a deleted slot: searches and inserts then start from a live
    /// node. A deleted entry point would be reachable only as the entry (the delete repair
    /// takes it out of its neighbours' lists), so whatever only it linked to would be lost
    /// once a higher new node took over as entry.
    pub(super) fn replace_deleted_entry(&self) {
        let deleted_entry = |g: &Graph| g.entry.filter(|&(e, _)| g.is_deleted(e));
        if deleted_entry(&self.graph.read()).is_none() {
            return;
        }
        let mut g = self.graph.write();
        if let Some((e, _)) = deleted_entry(&g) {
            g.entry = entry_replacement(&g, e);
        }
    }

    /// Gives every RaBitQ list whose entry was deleted its best live member instead (see
    /// `list_entries.rs`): searches keep starting inside the query's list.
    fn heal_deleted_list_entries(&self) {
        if self.graph.read().list_entries_dead() {
            self.graph.write().heal_list_entries();
        }
    }

    /// Deletes points by external id; returns how many were live.
    pub fn delete_ids(&self, ids: &[u64]) -> usize {
        let g = self.graph.read();
        let slots: Vec<u32> = {
            let mut map = self.ids.write();
            ids.iter()
                .filter_map(|&id| map.remove(id, g.externals()))
                .collect()
        };
        for &s in &slots {
            g.mark_deleted(s);
        }
        self.live.fetch_sub(slots.len(), Ordering::AcqRel);
        let mut neighbors = Vec::new();
        let mut buf = Vec::new();
        for &s in &slots {
            for level in 0..=g.level(s) {
                g.links_into(s, level, &mut neighbors);
                let replacements = neighbors.clone();
                for &n in &neighbors {
                    repair_list(
                        &g,
                        &self.space,
                        n,
                        level,
                        &|l| l == s,
                        &replacements,
                        &mut buf,
                    );
                }
            }
        }
        let total = g.len();
        drop(g);
        self.replace_deleted_entry();
        self.heal_deleted_list_entries();
        // Large batches get the full connectivity pass; single deletes rely on the repair.
        if !slots.is_empty() && slots.len() * 100 >= total {
            self.ensure_connected();
        }
        slots.len()
    }

    /// Removes every link to a deleted slot (repairing the lists) and frees those slots for
    /// reuse; returns how many slots were freed. Searches and writes wait while it runs.
    pub fn vacuum(&self) -> usize {
        let mut g = self.graph.write();
        let mut free = self.free.lock();
        let already_free: rustc_hash::FxHashSet<u32> = free.iter().copied().collect();
        let dead: Vec<u32> = (0..g.len() as u32)
            .filter(|&s| g.is_deleted(s) && !already_free.contains(&s))
            .collect();
        if dead.is_empty() {
            return 0;
        }
        let is_dead = |s: u32| g.is_deleted(s);
        let mut buf = Vec::new();
        let mut links = Vec::new();
        let mut replacements = Vec::new();
        for node in 0..g.len() as u32 {
            if g.is_deleted(node) {
                continue;
            }
            for level in 0..=g.level(node) {
                g.links_into(node, level, &mut links);
                if !links.iter().any(|&l| is_dead(l)) {
                    continue;
                }
                // Candidates: the live neighbours of the dead nodes this node linked to.
                replacements.clear();
                for &d in links.iter().filter(|&&l| is_dead(l)) {
                    if g.level(d) >= level {
                        g.links_into(d, level, &mut buf);
                        replacements.extend(buf.iter().copied());
                    }
                }
                repair_list(
                    &g,
                    &self.space,
                    node,
                    level,
                    &is_dead,
                    &replacements,
                    &mut buf,
                );
            }
        }
        for &d in &dead {
            for level in 0..=g.level(d) {
                g.replace_links(d, level, &[]);
            }
        }
        // A freed slot is never a list entry (its row may be written again for another
        // point): heal here too, whatever ran between a delete and its own heal.
        g.heal_list_entries();
        free.extend(dead.iter().copied());
        // A freed entry point is replaced by the live node with the highest level.
        if g.entry.is_some_and(|(e, _)| g.is_deleted(e)) {
            g.entry = highest_live(&g);
        }
        drop(free);
        drop(g);
        self.ensure_connected();
        dead.len()
    }
}
