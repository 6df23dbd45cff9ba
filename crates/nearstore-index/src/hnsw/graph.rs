//! Flat-array storage of an HNSW graph.
//!
//! Layer-0 lists live in [`LinkLists`] (one flat array, `m0 + 1` fields per node, fields
//! bit-packed in compact mode, see `lists.rs`); upper layers in a second array, `m + 1`
//! words per node and level (`[count, links...]`), located by `upper_start` (a map holding
//! only the slots that have upper layers, about one in `m`). Links are `AtomicU32`, read
//! with relaxed loads: a reader racing a writer sees each word either old or new, every
//! link read is a valid slot below `len()` (lists are zeroed and only ever hold valid
//! slots; packed layer-0 reads drop torn values), and writers of one node's lists hold
//! that node's lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;

use super::ids::ExternalIds;
use super::lists::LinkLists;
use super::rows::{Probe, ProbeKind, Rows};
use super::visited::VisitedSet;
use crate::quant::VectorSource;
use crate::space::Space;

/// No upper-layer storage for this node.
const NO_UPPER: u32 = u32::MAX;

/// Vectors, levels and links of every slot.
#[derive(Debug)]
pub struct Graph {
    m: usize,
    m0: usize,
    dim: usize,
    rows: Rows,
    external: ExternalIds,
    levels: Vec<u8>,
    deleted: Vec<AtomicBool>,
    level0: LinkLists,
    /// Layer-0 in-degree of every slot (links pointing at it), kept by `replace_links`.
    indegree: Vec<AtomicU32>,
    /// Where each slot with upper layers has its lists in `upper` (in units of `m + 1`).
    upper_start: FxHashMap<u32, u32>,
    upper: Vec<AtomicU32>,
    locks: Vec<Mutex<()>>,
    /// Where linking reads exact vectors when the rows are too coarse to link on
    /// ([`Rows::links_exactly`]); `None` for an index without a vector source.
    exact: Option<Arc<dyn VectorSource>>,
    /// Entry point and top level (`None` when empty).
    pub entry: Option<(u32, u8)>,
}

fn zeroed(n: usize) -> impl Iterator<Item = AtomicU32> {
    (0..n).map(|_| AtomicU32::new(0))
}

impl Graph {
    /// An empty graph.
    pub fn new(dim: usize, m: usize) -> Self {
        Graph {
            m,
            m0: 2 * m,
            dim,
            rows: Rows::new(dim),
            external: ExternalIds::default(),
            levels: Vec::new(),
            deleted: Vec::new(),
            level0: LinkLists::new(2 * m, false),
            indegree: Vec::new(),
            upper_start: FxHashMap::default(),
            upper: Vec::new(),
            locks: Vec::new(),
            exact: None,
            entry: None,
        }
    }

    /// Sets the vector source linking reads exact vectors from (see [`Rows::links_exactly`]).
    pub fn set_exact_source(&mut self, source: Option<Arc<dyn VectorSource>>) {
        self.exact = source;
    }

    /// The vector source linking reads exact vectors from, if any.
    pub fn exact_source(&self) -> Option<&Arc<dyn VectorSource>> {
        self.exact.as_ref()
    }

    /// Dimension of the vectors.
    #[inline]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Slots (live, deleted or free).
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// Maximum links on `level`.
    #[inline]
    pub fn max_links(&self, level: u8) -> usize {
        if level == 0 { self.m0 } else { self.m }
    }

    /// Reserves room for `additional` more slots.
    pub fn reserve(&mut self, additional: usize) {
        self.rows.reserve(self.dim, additional);
        self.external.reserve(additional);
        self.levels.reserve(additional);
        self.deleted.reserve(additional);
        self.level0.reserve(additional);
        self.indegree.reserve(additional);
        self.locks.reserve(additional);
    }

    fn upper_block(&mut self, level: u8) -> u32 {
        if level == 0 {
            return NO_UPPER;
        }
        let start = self.upper.len() / (self.m + 1);
        self.upper.extend(zeroed(usize::from(level) * (self.m + 1)));
        start as u32
    }

    /// Appends a slot with its (prepared) vector, external id and level; no links yet.
    pub fn push(&mut self, vector: &[f32], external: u64, level: u8) -> u32 {
        let slot = self.len() as u32;
        self.rows.push(self.dim, vector);
        self.external.push(external);
        self.levels.push(level);
        self.deleted.push(AtomicBool::new(false));
        self.level0.push_empty();
        self.indegree.push(AtomicU32::new(0));
        let start = self.upper_block(level);
        if start != NO_UPPER {
            self.upper_start.insert(slot, start);
        }
        self.locks.push(Mutex::new(()));
        slot
    }

    /// Reuses a freed slot for a new point.
    pub fn reuse(&mut self, slot: u32, vector: &[f32], external: u64, level: u8) {
        let s = slot as usize;
        self.rows.set(self.dim, s, vector);
        self.external.set(s, external);
        if level > self.levels[s] {
            let start = self.upper_block(level);
            self.upper_start.insert(slot, start);
        }
        self.levels[s] = level;
        self.deleted[s].store(false, Ordering::Release);
        for l in 0..=level {
            self.replace_links(slot, l, &[]);
        }
    }

    /// Gives every RaBitQ list whose entry is deleted its best live member instead (see
    /// `list_entries.rs`; a check of the entries when none is).
    pub fn heal_list_entries(&mut self) {
        let deleted = &self.deleted;
        self.rows.heal_entries(|slot| live(deleted, slot));
    }

    /// Rebuilds the RaBitQ list entries from the live slots (rows loaded or renumbered).
    fn rebuild_list_entries(&mut self) {
        let deleted = &self.deleted;
        self.rows.rebuild_entries(|slot| live(deleted, slot));
    }

    /// Whether some RaBitQ list's entry is deleted.
    pub fn list_entries_dead(&self) -> bool {
        self.rows.entries_dead(|slot| self.is_live(slot))
    }

    /// Whether `slot` is a live slot (not deleted; a slot past the graph is not live).
    pub fn is_live(&self, slot: u32) -> bool {
        live(&self.deleted, slot)
    }

    /// Where a layer-0 search for `p` starts without the descent: a live node inside the
    /// query's nearest RaBitQ list (see `list_entries.rs`), when the rows have lists.
    pub fn list_entry(&self, p: &Probe<'_>) -> Option<u32> {
        self.rows.list_entry(p, |slot| self.is_live(slot))
    }

    /// The rows (vectors or codes) the graph is walked on.
    pub fn rows(&self) -> &Rows {
        &self.rows
    }

    /// Replaces the rows (training; the caller holds the write lock and gives one row per
    /// slot).
    pub fn set_rows(&mut self, rows: Rows) {
        self.rows = rows;
        // Built as the rows were pushed, every slot offered: only the deleted ones to drop.
        self.heal_list_entries();
    }

    /// The `f32` row of a slot, when the graph keeps `f32` rows.
    #[inline]
    pub fn f32_row(&self, slot: u32) -> Option<&[f32]> {
        self.rows.f32_row(slot as usize)
    }

    /// A prepared query against these rows.
    #[inline]
    pub fn probe<'a>(&self, space: &'a Space, q: &'a [f32]) -> Probe<'a> {
        self.rows.probe(space, q)
    }

    /// A stored slot as a query (linking, repairs). On rows too coarse to link on, the
    /// slot's exact vector from the source, scored exactly against the source's vectors.
    #[inline]
    pub fn probe_slot<'a>(&'a self, space: &'a Space, slot: u32) -> Probe<'a> {
        if self.rows.links_exactly()
            && let Some(source) = &self.exact
        {
            let mut v = None;
            source.with_vector(self.external(slot), &mut |x| v = Some(space.prepare(x)));
            if let Some(v) = v {
                return Probe {
                    space,
                    kind: ProbeKind::Exact(v),
                };
            }
        }
        self.rows.probe_slot(space, self.dim, slot as usize)
    }

    /// Traversal distance from `p` to `slot` (an exact probe reads the slot's vector from
    /// the source; a slot the source does not hold is infinitely far).
    #[inline]
    pub fn distance(&self, p: &Probe<'_>, slot: u32) -> f32 {
        if let ProbeKind::Exact(q) = &p.kind {
            let mut d = f32::INFINITY;
            if let Some(source) = &self.exact {
                source.with_vector(self.external(slot), &mut |x| {
                    d = p.space.distance_raw(q, x);
                });
            }
            return d;
        }
        self.rows.distance(self.dim, p, slot as usize)
    }

    /// The estimated distance from `p` to `slot` and its error bound (RaBitQ; zero bound
    /// for other rows).
    #[inline]
    pub fn estimate(&self, p: &Probe<'_>, slot: u32) -> (f32, f32) {
        self.rows.estimate(self.dim, p, slot as usize)
    }

    /// Prefetches a slot's row: its head, or all of it (see `rows::prefetch_row`).
    #[inline]
    pub fn prefetch(&self, slot: u32, whole: bool) {
        self.rows.prefetch(self.dim, slot as usize, whole);
    }

    /// The external id of a slot.
    #[inline]
    pub fn external(&self, slot: u32) -> u64 {
        self.external.at(slot as usize)
    }

    /// The external id of every slot (deleted and free ones included).
    #[inline]
    pub fn externals(&self) -> &ExternalIds {
        &self.external
    }

    /// The top level of a slot.
    #[inline]
    pub fn level(&self, slot: u32) -> u8 {
        self.levels[slot as usize]
    }

    /// Whether the slot's point is deleted (tombstoned or freed).
    #[inline]
    pub fn is_deleted(&self, slot: u32) -> bool {
        self.deleted[slot as usize].load(Ordering::Acquire)
    }

    /// Marks a slot deleted.
    pub fn mark_deleted(&self, slot: u32) {
        self.deleted[slot as usize].store(true, Ordering::Release);
    }

    /// The lock a writer of this node's lists holds.
    pub fn lock(&self, slot: u32) -> &Mutex<()> {
        &self.locks[slot as usize]
    }

    /// Packs layer-0 links to as few bits as the slots need (the quantized modes, where
    /// 4-byte links would outweigh the codes) or not (repacks the lists there are).
    pub fn set_compact_links(&mut self, compact: bool) {
        self.level0.set_compact(compact);
    }

    /// An upper layer's list of `slot` (`level >= 1`; `None` for a slot without that
    /// layer: no list, no links).
    #[inline]
    fn block(&self, slot: u32, level: u8) -> Option<&[AtomicU32]> {
        let w = self.m + 1;
        let start = *self.upper_start.get(&slot)? as usize + usize::from(level.checked_sub(1)?);
        self.upper.get(start * w..(start + 1) * w)
    }

    /// Hints the cache to load the list of `slot` on `level` (the next node to expand).
    #[inline]
    pub fn prefetch_links(&self, slot: u32, level: u8) {
        if level == 0 {
            self.level0.prefetch(slot);
        } else {
            if let Some(block) = self.block(slot, level) {
                nearstore_distance::prefetch_slice(block);
            }
        }
    }

    /// Copies the links of `slot` on `level` into `out` (cleared first).
    #[inline]
    pub fn links_into(&self, slot: u32, level: u8, out: &mut Vec<u32>) {
        if level == 0 {
            self.level0.links_into(slot, out);
            return;
        }
        out.clear();
        let Some(block) = self.block(slot, level) else {
            return;
        };
        let count = (block[0].load(Ordering::Acquire) as usize).min(block.len() - 1);
        out.extend(block[1..=count].iter().map(|a| a.load(Ordering::Relaxed)));
    }

    /// Copies into `out` (cleared first) the links of `slot` on `level` that `visited` has
    /// not seen, marking them (one pass over the list instead of a copy and a filter).
    #[inline]
    pub fn unvisited_links_into(
        &self,
        slot: u32,
        level: u8,
        visited: &mut VisitedSet,
        out: &mut Vec<u32>,
    ) {
        if level == 0 {
            self.level0.unvisited_into(slot, visited, out);
            return;
        }
        out.clear();
        let Some(block) = self.block(slot, level) else {
            return;
        };
        let count = (block[0].load(Ordering::Acquire) as usize).min(block.len() - 1);
        out.reserve(count);
        for a in &block[1..=count] {
            let n = a.load(Ordering::Relaxed);
            if visited.insert(n) {
                out.push(n);
            }
        }
    }

    /// Layer-0 in-degree of a slot.
    #[inline]
    pub fn indegree(&self, slot: u32) -> u32 {
        self.indegree[slot as usize].load(Ordering::Acquire)
    }

    /// Replaces the links of `slot` on `level`, keeping layer-0 in-degrees exact (callers
    /// hold the slot's lock).
    pub fn replace_links(&self, slot: u32, level: u8, links: &[u32]) {
        if level == 0 {
            let mut old = Vec::new();
            self.links_into(slot, 0, &mut old);
            for &o in old.iter().filter(|o| !links.contains(o)) {
                self.indegree[o as usize].fetch_sub(1, Ordering::AcqRel);
            }
            for &n in links.iter().filter(|n| !old.contains(n)) {
                self.indegree[n as usize].fetch_add(1, Ordering::AcqRel);
            }
        }
        self.write_links(slot, level, links);
    }

    fn write_links(&self, slot: u32, level: u8, links: &[u32]) {
        if level == 0 {
            self.level0.write(slot, links);
            return;
        }
        let Some(block) = self.block(slot, level) else {
            return;
        };
        let n = links.len().min(block.len() - 1);
        for (cell, &l) in block[1..=n].iter().zip(links) {
            cell.store(l, Ordering::Relaxed);
        }
        block[0].store(n as u32, Ordering::Release);
    }

    /// Which slots the entry point reaches through layer-0 links.
    pub fn reachable_from_entry(&self) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let Some((e, _)) = self.entry else {
            return seen;
        };
        let mut stack = vec![e];
        seen[e as usize] = true;
        let mut links = Vec::new();
        while let Some(s) = stack.pop() {
            self.links_into(s, 0, &mut links);
            for &l in &links {
                if !seen[l as usize] {
                    seen[l as usize] = true;
                    stack.push(l);
                }
            }
        }
        seen
    }

    /// Slots in breadth-first order from the entry point over layer 0 (each list in its
    /// stored order), then every slot it does not reach in slot order: an order that puts
    /// the nodes a search expands together near each other in memory.
    pub fn locality_order(&self) -> Vec<u32> {
        let n = self.len();
        let mut seen = vec![false; n];
        let mut order = Vec::with_capacity(n);
        if let Some((e, _)) = self.entry {
            seen[e as usize] = true;
            order.push(e);
            let mut head = 0;
            let mut links = Vec::new();
            while let Some(&s) = order.get(head) {
                head += 1;
                self.links_into(s, 0, &mut links);
                for &l in &links {
                    if !seen[l as usize] {
                        seen[l as usize] = true;
                        order.push(l);
                    }
                }
            }
        }
        order.extend((0..n as u32).filter(|&s| !seen[s as usize]));
        order
    }

    /// Renumbers the slots: old slot `order[i]` becomes slot `i` (`order` a permutation of
    /// `0..len()`, e.g. [`Graph::locality_order`]); returns the new number of every old
    /// slot. Links, levels, flags, ids and rows move with their slots.
    pub fn renumber(&mut self, order: &[u32]) -> Vec<u32> {
        let n = self.len();
        debug_assert_eq!(order.len(), n);
        let mut new_of = vec![0u32; n];
        for (new, &old) in order.iter().enumerate() {
            new_of[old as usize] = new as u32;
        }
        let w0 = self.m0 + 1;
        let plain = self.level0.to_plain();
        let mut level0 = vec![0u32; n * w0];
        for (block, &old) in level0.chunks_exact_mut(w0).zip(order) {
            let from = &plain[old as usize * w0..(old as usize + 1) * w0];
            let count = (from[0] as usize).min(self.m0);
            block[0] = count as u32;
            for (to, &l) in block[1..=count].iter_mut().zip(&from[1..=count]) {
                *to = new_of[l as usize];
            }
        }
        self.level0 = LinkLists::from_plain(&level0, self.m0, self.level0.is_compact());
        // Upper lists stay where they are; only the slots they name change. A block no slot
        // points to any more was never checked at load: a word there that names no slot
        // stays as it is (nothing reads it) instead of indexing past `new_of`.
        for block in self.upper.chunks_exact_mut(self.m + 1) {
            for cell in &mut block[1..] {
                let l = cell.get_mut();
                if let Some(&new) = new_of.get(*l as usize) {
                    *l = new;
                }
            }
        }
        self.upper_start = self
            .upper_start
            .iter()
            .map(|(&slot, &start)| (new_of[slot as usize], start))
            .collect();
        let rows = std::mem::replace(&mut self.rows, Rows::new(self.dim));
        self.rows = rows.permuted(self.dim, order);
        self.external = ExternalIds::from_vec(
            order
                .iter()
                .map(|&o| self.external.at(o as usize))
                .collect(),
        );
        self.levels = order.iter().map(|&o| self.levels[o as usize]).collect();
        self.deleted = order
            .iter()
            .map(|&o| AtomicBool::new(self.deleted[o as usize].load(Ordering::Acquire)))
            .collect();
        self.indegree = order
            .iter()
            .map(|&o| AtomicU32::new(self.indegree[o as usize].load(Ordering::Acquire)))
            .collect();
        self.entry = self.entry.map(|(e, level)| (new_of[e as usize], level));
        self.rebuild_list_entries();
        new_of
    }

    /// Bytes held by the arrays.
    pub fn memory_bytes(&self) -> usize {
        self.rows.memory_bytes()
            + self.external.memory_bytes()
            + self.levels.capacity()
            + self.deleted.capacity()
            + self.level0.memory_bytes()
            + (self.upper.capacity() + self.indegree.capacity()) * 4
            // A hash map bucket: key, value and a control byte.
            + self.upper_start.capacity() * 9
            + self.locks.capacity() * std::mem::size_of::<Mutex<()>>()
    }

    /// Raw parts for persistence.
    pub fn parts(&self) -> GraphParts<'_> {
        GraphParts {
            rows: &self.rows,
            external: &self.external,
            levels: &self.levels,
            deleted: &self.deleted,
            level0: self.level0.to_plain(),
            upper_start: (0..self.len() as u32)
                .map(|s| self.upper_start.get(&s).copied().unwrap_or(NO_UPPER))
                .collect(),
            upper: &self.upper,
        }
    }

    /// Rebuilds a graph from persisted parts (lengths checked by the caller).
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        dim: usize,
        m: usize,
        rows: Rows,
        external: ExternalIds,
        levels: Vec<u8>,
        deleted: Vec<bool>,
        level0: Vec<u32>,
        upper_start: Vec<u32>,
        upper: Vec<u32>,
        entry: Option<(u32, u8)>,
    ) -> Self {
        let n = levels.len();
        let m0 = 2 * m;
        let mut indegree = vec![0u32; n];
        for block in level0.chunks_exact(m0 + 1) {
            let count = (block[0] as usize).min(m0);
            for &l in &block[1..=count] {
                indegree[l as usize] += 1;
            }
        }
        let mut graph = Graph {
            m,
            m0,
            dim,
            rows,
            external,
            levels,
            deleted: deleted.into_iter().map(AtomicBool::new).collect(),
            level0: LinkLists::from_plain(&level0, m0, false),
            indegree: indegree.into_iter().map(AtomicU32::new).collect(),
            upper_start: upper_start
                .into_iter()
                .enumerate()
                .filter(|&(_, start)| start != NO_UPPER)
                .map(|(slot, start)| (slot as u32, start))
                .collect(),
            upper: upper.into_iter().map(AtomicU32::new).collect(),
            locks: (0..n).map(|_| Mutex::new(())).collect(),
            exact: None,
            entry,
        };
        graph.rebuild_list_entries();
        graph
    }
}

/// Whether `slot` is a live slot by these flags (a slot past them is not: entries derived
/// from rows never name one, and a damaged checkpoint must not make that a panic).
fn live(deleted: &[AtomicBool], slot: u32) -> bool {
    deleted
        .get(slot as usize)
        .is_some_and(|d| !d.load(Ordering::Acquire))
}

/// Borrowed arrays of a graph, for persistence.
#[derive(Debug)]
pub struct GraphParts<'g> {
    /// Vectors or codes by slot.
    pub rows: &'g Rows,
    /// External ids.
    pub external: &'g ExternalIds,
    /// Top level per slot.
    pub levels: &'g [u8],
    /// Deleted flags.
    pub deleted: &'g [AtomicBool],
    /// Layer-0 lists, plain (`m0 + 1` words a node: count, links).
    pub level0: Vec<u32>,
    /// Start of each slot's upper-layer lists.
    pub upper_start: Vec<u32>,
    /// Upper-layer lists.
    pub upper: &'g [AtomicU32],
}
