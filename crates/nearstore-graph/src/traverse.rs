//! Breadth-first and depth-first traversal from one node: [`GraphStore::traverse_bfs`] and
//! [`GraphStore::traverse_dfs`].
//!
//! Semantics (both): each node is reported at most once, with the edge ids of the path that
//! reached it; the source is reported (depth 0, empty path) only when `min_depth == 0`; only
//! edges whose label is in `rel_types` (empty = any) are followed, in `direction`; results
//! stop at `limit` (a truncation, not an error). BFS reports each node at its shortest depth,
//! in order of depth. DFS reports each node at the depth it is first reached in depth-first
//! order (neighbours in adjacency order), and re-expands a node reached again by a shorter
//! path, so both report the same set of nodes when `min_depth <= 1` and `limit` does not
//! bind. Guardrails come from the [`Budget`]: depth above [`crate::MAX_TRAVERSAL_DEPTH`],
//! more visited nodes than `max_rows`, the deadline, cancellation.

use std::collections::VecDeque;

use roaring::RoaringTreemap;
use rustc_hash::FxHashMap;

use crate::budget::Budget;
use crate::error::{Error, Result};
use crate::read::Direction;
use crate::store::GraphStore;

/// What to traverse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraversalConfig {
    /// Shallowest depth reported.
    pub min_depth: u32,
    /// Deepest depth followed and reported.
    pub max_depth: u32,
    /// The most results returned.
    pub limit: usize,
    /// Labels followed; empty = every label.
    pub rel_types: Vec<String>,
    /// Which edges to follow (outgoing by default).
    pub direction: Direction,
}

impl Default for TraversalConfig {
    fn default() -> Self {
        TraversalConfig {
            min_depth: 1,
            max_depth: 3,
            limit: 100,
            rel_types: Vec::new(),
            direction: Direction::Outgoing,
        }
    }
}

/// One node reached by a traversal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraversalResult {
    /// The node reached.
    pub target: u64,
    /// Number of edges on `path`.
    pub depth: u32,
    /// Edge ids from the source to `target`.
    pub path: Vec<u64>,
}

/// A node of the search tree: its row, depth, and how it was reached.
#[derive(Debug, Clone, Copy)]
struct TreeNode {
    row: u32,
    depth: u32,
    parent: Option<(usize, u32)>,
}

fn check_config(config: &TraversalConfig) -> Result<()> {
    Budget::check_depth(config.max_depth)?;
    if config.min_depth > config.max_depth {
        return Err(Error::InvalidTraversal {
            message: format!(
                "min_depth {} is greater than max_depth {}",
                config.min_depth, config.max_depth
            ),
        });
    }
    Ok(())
}

impl GraphStore {
    /// Breadth-first traversal from `source` (semantics in the module docs).
    pub fn traverse_bfs(
        &self,
        source: u64,
        config: &TraversalConfig,
        budget: &Budget,
    ) -> Result<Vec<TraversalResult>> {
        self.traverse_bfs_visible(source, config, budget, None)
    }

    /// [`traverse_bfs`](Self::traverse_bfs) that neither reports nor passes through a node
    /// in `hidden` (expired points whose edges are still stored); nothing from a hidden
    /// `source`.
    pub fn traverse_bfs_visible(
        &self,
        source: u64,
        config: &TraversalConfig,
        budget: &Budget,
        hidden: Option<&RoaringTreemap>,
    ) -> Result<Vec<TraversalResult>> {
        check_config(config)?;
        let mut results = Vec::new();
        if config.limit == 0 || hidden.is_some_and(|h| h.contains(source)) {
            return Ok(results);
        }
        if config.min_depth == 0 {
            results.push(TraversalResult {
                target: source,
                depth: 0,
                path: Vec::new(),
            });
            if results.len() >= config.limit {
                return Ok(results);
            }
        }
        let Some(start) = self.nodes.get(source) else {
            return Ok(results);
        };
        let labels = self.label_set(&config.rel_types);
        let mut tree = vec![TreeNode {
            row: start,
            depth: 0,
            parent: None,
        }];
        let mut seen: FxHashMap<u32, ()> = FxHashMap::default();
        seen.insert(start, ());
        let mut queue = VecDeque::from([0usize]);
        let mut ticker = budget.ticker();
        while let Some(at) = queue.pop_front() {
            let Some(&node) = tree.get(at) else { break };
            if node.depth >= config.max_depth {
                continue;
            }
            let mut found = Vec::new();
            self.for_each_edge(node.row, config.direction, &labels, |slot, nbr| {
                found.push((slot, nbr));
            });
            ticker.tick(found.len() as u32 + 1)?;
            for (slot, nbr) in found {
                if hidden.is_some_and(|h| h.contains(self.nodes.id(nbr))) {
                    continue;
                }
                if seen.insert(nbr, ()).is_some() {
                    continue;
                }
                budget.check_rows(seen.len())?;
                let depth = node.depth + 1;
                tree.push(TreeNode {
                    row: nbr,
                    depth,
                    parent: Some((at, slot)),
                });
                let index = tree.len() - 1;
                if depth >= config.min_depth {
                    results.push(self.result(&tree, index));
                    if results.len() >= config.limit {
                        return Ok(results);
                    }
                }
                queue.push_back(index);
            }
        }
        Ok(results)
    }

    /// Depth-first traversal from `source` (semantics in the module docs).
    pub fn traverse_dfs(
        &self,
        source: u64,
        config: &TraversalConfig,
        budget: &Budget,
    ) -> Result<Vec<TraversalResult>> {
        self.traverse_dfs_visible(source, config, budget, None)
    }

    /// [`traverse_dfs`](Self::traverse_dfs) that neither reports nor passes through a node
    /// in `hidden`; nothing from a hidden `source`.
    pub fn traverse_dfs_visible(
        &self,
        source: u64,
        config: &TraversalConfig,
        budget: &Budget,
        hidden: Option<&RoaringTreemap>,
    ) -> Result<Vec<TraversalResult>> {
        check_config(config)?;
        let mut results = Vec::new();
        if config.limit == 0 || hidden.is_some_and(|h| h.contains(source)) {
            return Ok(results);
        }
        let Some(start) = self.nodes.get(source) else {
            if config.min_depth == 0 {
                results.push(TraversalResult {
                    target: source,
                    depth: 0,
                    path: Vec::new(),
                });
            }
            return Ok(results);
        };
        let labels = self.label_set(&config.rel_types);
        let mut tree = vec![TreeNode {
            row: start,
            depth: 0,
            parent: None,
        }];
        // Row -> shallowest depth expanded so far; rows reported.
        let mut best: FxHashMap<u32, u32> = FxHashMap::default();
        let mut reported: FxHashMap<u32, ()> = FxHashMap::default();
        let mut stack = vec![0usize];
        let mut ticker = budget.ticker();
        while let Some(at) = stack.pop() {
            let Some(&node) = tree.get(at) else { break };
            if best.get(&node.row).is_some_and(|&d| d <= node.depth) {
                continue;
            }
            best.insert(node.row, node.depth);
            budget.check_rows(best.len())?;
            if reported.insert(node.row, ()).is_none() && node.depth >= config.min_depth {
                results.push(self.result(&tree, at));
                if results.len() >= config.limit {
                    return Ok(results);
                }
            }
            if node.depth >= config.max_depth {
                continue;
            }
            let mut found = Vec::new();
            self.for_each_edge(node.row, config.direction, &labels, |slot, nbr| {
                found.push((slot, nbr));
            });
            ticker.tick(found.len() as u32 + 1)?;
            let depth = node.depth + 1;
            for &(slot, nbr) in found.iter().rev() {
                if hidden.is_some_and(|h| h.contains(self.nodes.id(nbr))) {
                    continue;
                }
                if best.get(&nbr).is_some_and(|&d| d <= depth) {
                    continue;
                }
                tree.push(TreeNode {
                    row: nbr,
                    depth,
                    parent: Some((at, slot)),
                });
                budget.check_rows(tree.len())?;
                stack.push(tree.len() - 1);
            }
        }
        Ok(results)
    }

    fn result(&self, tree: &[TreeNode], index: usize) -> TraversalResult {
        let mut path = Vec::new();
        let mut at = index;
        let (target, depth) = tree.get(index).map_or((0, 0), |n| (n.row, n.depth));
        while let Some((parent, slot)) = tree.get(at).and_then(|n| n.parent) {
            if let Some(r) = self.edges.get(slot as usize) {
                path.push(r.id);
            }
            at = parent;
        }
        path.reverse();
        TraversalResult {
            target: self.nodes.id(target),
            depth,
            path,
        }
    }
}
