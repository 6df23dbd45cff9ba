//! The brute-force model the proptests hold the store against: a plain map of edges, and
//! every read and traversal answered by scanning it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use nearstore_graph::{Direction, GraphEdge, PathMatch};

/// Edges by id.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub edges: BTreeMap<u64, GraphEdge>,
}

impl Model {
    /// (edge id, other node) for every edge at `node` in `direction` with a label in `labels`
    /// (empty = all); self-loops once under `Both`.
    pub fn steps(&self, node: u64, direction: Direction, labels: &[String]) -> Vec<(u64, u64)> {
        let ok = |e: &GraphEdge| labels.is_empty() || labels.contains(&e.label);
        let mut out = Vec::new();
        for e in self.edges.values().filter(|e| ok(e)) {
            let outgoing = e.source == node;
            let incoming = e.target == node;
            match direction {
                Direction::Outgoing if outgoing => out.push((e.id, e.target)),
                Direction::Incoming if incoming => out.push((e.id, e.source)),
                Direction::Both if outgoing => out.push((e.id, e.target)),
                Direction::Both if incoming => out.push((e.id, e.source)),
                _ => {}
            }
        }
        out
    }

    pub fn outgoing(&self, node: u64) -> Vec<GraphEdge> {
        self.edges
            .values()
            .filter(|e| e.source == node)
            .cloned()
            .collect()
    }

    pub fn incoming(&self, node: u64) -> Vec<GraphEdge> {
        self.edges
            .values()
            .filter(|e| e.target == node)
            .cloned()
            .collect()
    }

    /// Shortest depth of every node reachable from `source` within `max_depth`.
    pub fn bfs_depths(
        &self,
        source: u64,
        max_depth: u32,
        direction: Direction,
        labels: &[String],
    ) -> BTreeMap<u64, u32> {
        let mut depth = BTreeMap::from([(source, 0u32)]);
        let mut queue = VecDeque::from([source]);
        while let Some(node) = queue.pop_front() {
            let d = depth[&node];
            if d >= max_depth {
                continue;
            }
            for (_, nbr) in self.steps(node, direction, labels) {
                if let std::collections::btree_map::Entry::Vacant(v) = depth.entry(nbr) {
                    v.insert(d + 1);
                    queue.push_back(nbr);
                }
            }
        }
        depth
    }

    /// Every path from `start` with `min..=max` edges and no repeated edge.
    pub fn trails(
        &self,
        start: u64,
        min: u32,
        max: u32,
        direction: Direction,
        labels: &[String],
    ) -> Vec<PathMatch> {
        let mut out = Vec::new();
        let mut path = Vec::new();
        self.extend_trails(start, min, max, direction, labels, &mut path, &mut out);
        out.sort();
        out
    }

    #[expect(clippy::too_many_arguments, reason = "a recursive oracle, kept plain")]
    fn extend_trails(
        &self,
        at: u64,
        min: u32,
        max: u32,
        direction: Direction,
        labels: &[String],
        path: &mut Vec<u64>,
        out: &mut Vec<PathMatch>,
    ) {
        if path.len() as u32 >= min {
            out.push(PathMatch {
                end: at,
                edges: path.clone(),
            });
        }
        if path.len() as u32 >= max {
            return;
        }
        for (edge, nbr) in self.steps(at, direction, labels) {
            if path.contains(&edge) {
                continue;
            }
            path.push(edge);
            self.extend_trails(nbr, min, max, direction, labels, path, out);
            path.pop();
        }
    }

    /// Nodes reached by walks of exactly `hops` edges from `starts`.
    pub fn walk_frontier(
        &self,
        starts: &[u64],
        hops: u32,
        direction: Direction,
        labels: &[String],
    ) -> BTreeSet<u64> {
        let mut current: BTreeSet<u64> = starts.iter().copied().collect();
        for _ in 0..hops {
            current = current
                .iter()
                .flat_map(|&n| self.steps(n, direction, labels))
                .map(|(_, nbr)| nbr)
                .collect();
        }
        current
    }

    /// Whether `path` is a chain of stored edges from `source` to `target` following
    /// `direction` with labels in `labels`.
    pub fn is_path(
        &self,
        source: u64,
        target: u64,
        path: &[u64],
        direction: Direction,
        labels: &[String],
    ) -> bool {
        let mut at = source;
        for id in path {
            match self
                .steps(at, direction, labels)
                .into_iter()
                .find(|(edge, _)| edge == id)
            {
                Some((_, nbr)) => at = nbr,
                None => return false,
            }
        }
        at == target
    }
}
