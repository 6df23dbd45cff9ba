//! The primitives MATCH planning builds on (the planner itself lives in the engine):
//!
//! - [`GraphStore::expand_hop`]: one hop from a set of frontier nodes, with label and
//!   direction filters, producing one [`Hop`] row per (frontier node, edge);
//! - [`GraphStore::expand_var_length`]: `*min..max` from one node, producing every path whose
//!   length is in range. Semantics: **relationship isomorphism** (Cypher's): no edge appears
//!   twice in one path, nodes may repeat. A zero-length path (`min == 0`) is the start itself;
//! - [`FrontierExpander`]: distinct nodes reached by walks of exactly `k` hops from a set of
//!   start nodes, expanding one deduplicated frontier per hop over node rows with a reusable,
//!   generation-stamped visited array (no per-query allocation of the visited set). This is
//!   walk semantics (a node counts if some sequence of `k` edges reaches it, edges may
//!   repeat); on a graph without self-loops and reciprocal edge pairs it equals relationship
//!   isomorphism for `k <= 3`.
//!
//! Every primitive runs under a [`Budget`] (rows, deadline, cancellation).

use crate::budget::Budget;
use crate::error::Result;
use crate::read::{Direction, LabelSet};
use crate::store::GraphStore;

/// One matched edge step: `from` -\[`edge`\]- `to`, in the direction asked for (for
/// [`Direction::Incoming`], `to` is the edge's source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hop {
    /// The frontier node.
    pub from: u64,
    /// The edge id.
    pub edge: u64,
    /// The node at the other end.
    pub to: u64,
}

/// One variable-length match from a start node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathMatch {
    /// The node the path ends at.
    pub end: u64,
    /// Edge ids in path order (empty for the zero-length path).
    pub edges: Vec<u64>,
}

impl GraphStore {
    /// One hop from every node of `frontier` (unknown nodes have no edges).
    pub fn expand_hop(
        &self,
        frontier: &[u64],
        direction: Direction,
        labels: &LabelSet,
        budget: &Budget,
    ) -> Result<Vec<Hop>> {
        let mut hops = Vec::new();
        let mut ticker = budget.ticker();
        for &from in frontier {
            let Some(row) = self.nodes.get(from) else {
                continue;
            };
            let before = hops.len();
            self.for_each_edge(row, direction, labels, |slot, nbr| {
                if let Some(r) = self.edges.get(slot as usize) {
                    hops.push(Hop {
                        from,
                        edge: r.id,
                        to: self.nodes.id(nbr),
                    });
                }
            });
            budget.check_rows(hops.len())?;
            ticker.tick((hops.len() - before) as u32 + 1)?;
        }
        Ok(hops)
    }

    /// Every path from `start` with `min..=max` edges, no edge repeated on a path (module
    /// docs), depth-first in adjacency order.
    pub fn expand_var_length(
        &self,
        start: u64,
        min: u32,
        max: u32,
        direction: Direction,
        labels: &LabelSet,
        budget: &Budget,
    ) -> Result<Vec<PathMatch>> {
        Budget::check_depth(max)?;
        let mut out = Vec::new();
        if min > max {
            return Ok(out);
        }
        if min == 0 {
            out.push(PathMatch {
                end: start,
                edges: Vec::new(),
            });
        }
        let Some(row) = self.nodes.get(start) else {
            return Ok(out);
        };
        if max == 0 {
            return Ok(out);
        }
        // The current path as (slot, row reached); per level, the edges still to try.
        let mut path: Vec<(u32, u32)> = Vec::new();
        let mut pending: Vec<Vec<(u32, u32)>> = vec![self.steps(row, direction, labels)];
        let mut ticker = budget.ticker();
        while let Some(level) = pending.last_mut() {
            let Some((slot, nbr)) = level.pop() else {
                pending.pop();
                path.pop();
                continue;
            };
            if path.iter().any(|&(s, _)| s == slot) {
                continue;
            }
            path.push((slot, nbr));
            let depth = path.len() as u32;
            if depth >= min {
                out.push(PathMatch {
                    end: self.nodes.id(nbr),
                    edges: path
                        .iter()
                        .filter_map(|&(s, _)| self.edges.get(s as usize).map(|r| r.id))
                        .collect(),
                });
                budget.check_rows(out.len())?;
            }
            if depth < max {
                let next = self.steps(nbr, direction, labels);
                ticker.tick(next.len() as u32 + 1)?;
                pending.push(next);
            } else {
                path.pop();
            }
        }
        Ok(out)
    }

    /// The (slot, other row) steps from `row`, reversed so popping yields adjacency order.
    fn steps(&self, row: u32, direction: Direction, labels: &LabelSet) -> Vec<(u32, u32)> {
        let mut steps = Vec::new();
        self.for_each_edge(row, direction, labels, |slot, nbr| steps.push((slot, nbr)));
        steps.reverse();
        steps
    }
}

/// Reusable scratch for k-hop frontier expansion (module docs); one per thread.
#[derive(Debug, Default)]
pub struct FrontierExpander {
    stamps: Vec<u32>,
    generation: u32,
    current: Vec<u32>,
    next: Vec<u32>,
}

impl FrontierExpander {
    /// Empty scratch; it grows to the store's node count on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Expands `starts` by exactly `hops` hops (distinct nodes per hop) and returns how many
    /// distinct nodes the last hop reached; [`nodes`](Self::nodes) lists them.
    pub fn expand(
        &mut self,
        store: &GraphStore,
        starts: &[u64],
        hops: u32,
        direction: Direction,
        labels: &LabelSet,
        budget: &Budget,
    ) -> Result<usize> {
        Budget::check_depth(hops)?;
        if self.stamps.len() < store.nodes.len() {
            self.stamps.resize(store.nodes.len(), 0);
        }
        self.current.clear();
        self.next_generation();
        for &id in starts {
            if let Some(row) = store.nodes.get(id)
                && self.mark(row)
            {
                self.current.push(row);
            }
        }
        let mut ticker = budget.ticker();
        for _ in 0..hops {
            self.next_generation();
            let current = std::mem::take(&mut self.current);
            let mut next = std::mem::take(&mut self.next);
            next.clear();
            let generation = self.generation;
            let stamps = &mut self.stamps;
            for &row in &current {
                let mut seen = 0u32;
                store.for_each_edge(row, direction, labels, |_, nbr| {
                    seen += 1;
                    if let Some(stamp) = stamps.get_mut(nbr as usize)
                        && *stamp != generation
                    {
                        *stamp = generation;
                        next.push(nbr);
                    }
                });
                ticker.tick(seen + 1)?;
            }
            self.current = next;
            self.next = current;
            budget.check_rows(self.current.len())?;
        }
        Ok(self.current.len())
    }

    /// The distinct nodes of the last [`expand`](Self::expand)'s final hop.
    pub fn nodes<'a>(&'a self, store: &'a GraphStore) -> impl Iterator<Item = u64> + 'a {
        self.current.iter().map(|&row| store.nodes.id(row))
    }

    fn next_generation(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
    }

    /// Marks `row` seen in this generation; true when it was not yet.
    #[inline]
    fn mark(&mut self, row: u32) -> bool {
        match self.stamps.get_mut(row as usize) {
            Some(stamp) if *stamp != self.generation => {
                *stamp = self.generation;
                true
            }
            _ => false,
        }
    }
}
