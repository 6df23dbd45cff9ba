//! Reads of [`GraphStore`]: edges by id and label, a node's outgoing and incoming edges, its
//! degree, and the row-level neighbour walk that traversal and expansion are built on.
//!
//! Order of a node's edges: by label number (first-seen order of labels), then CSR edges in
//! slot order, then delta edges in insertion order. It is deterministic for a given history
//! of writes and merges, but callers that compare results should sort.

use crate::csr::Adjacency;
use crate::edge::GraphEdge;
use crate::store::GraphStore;

/// Which edges of a node to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Edges leaving the node (`(a)-[]->(b)`).
    Outgoing,
    /// Edges entering the node (`(a)<-[]-(b)`).
    Incoming,
    /// Both (`(a)-[]-(b)`); a self-loop is reported once, as outgoing.
    Both,
}

/// A node's number of edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeDegree {
    /// Edges entering the node.
    pub incoming: usize,
    /// Edges leaving the node.
    pub outgoing: usize,
}

/// Labels resolved to their numbers once per query: `None` follows every label; unknown
/// names simply match nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSet(pub(crate) Option<Vec<u32>>);

impl LabelSet {
    /// Every label.
    pub fn all() -> Self {
        LabelSet(None)
    }

    #[inline]
    fn contains(&self, label: u32) -> bool {
        self.0.as_ref().is_none_or(|labels| labels.contains(&label))
    }
}

impl GraphStore {
    /// Resolves label names (empty = every label) for the neighbour walks.
    pub fn label_set<S: AsRef<str>>(&self, names: &[S]) -> LabelSet {
        if names.is_empty() {
            return LabelSet::all();
        }
        let mut labels: Vec<u32> = names
            .iter()
            .filter_map(|n| self.labels.get(n.as_ref()))
            .collect();
        labels.sort_unstable();
        labels.dedup();
        LabelSet(Some(labels))
    }

    /// Number of live edges.
    pub fn edge_count(&self) -> usize {
        self.by_id.len()
    }

    /// The edge with this id.
    pub fn get_edge(&self, id: u64) -> Option<GraphEdge> {
        let slot = *self.by_id.get(&id)?;
        self.edges.get(slot as usize).map(|r| self.to_edge(r))
    }

    /// Whether an edge has this id.
    pub fn contains_edge(&self, id: u64) -> bool {
        self.by_id.contains_key(&id)
    }

    /// The label names in use or used before, in first-seen order.
    pub fn labels(&self) -> &[String] {
        self.labels.names()
    }

    /// Every edge with this label, sorted by id.
    pub fn get_edges(&self, label: &str) -> Vec<GraphEdge> {
        let Some(l) = self.labels.get(label) else {
            return Vec::new();
        };
        let mut out: Vec<GraphEdge> = Vec::new();
        if let Some(csr) = self.out.label(l) {
            out.extend(
                csr.slots()
                    .iter()
                    .filter(|&&s| self.live_id(s).is_some())
                    .filter_map(|&s| self.edges.get(s as usize))
                    .map(|r| self.to_edge(r)),
            );
        }
        out.extend(
            self.edges
                .iter()
                .enumerate()
                .skip(self.csr_slots)
                .filter(|(s, r)| r.label == l && self.live.get(*s).copied().unwrap_or(false))
                .map(|(_, r)| self.to_edge(r)),
        );
        out.sort_unstable_by_key(|e| e.id);
        out
    }

    /// Edges leaving `node`, optionally only those with one of `labels` (empty = all).
    pub fn get_outgoing<S: AsRef<str>>(&self, node: u64, labels: &[S]) -> Vec<GraphEdge> {
        self.node_edges(node, Direction::Outgoing, labels)
    }

    /// Edges entering `node`, optionally only those with one of `labels` (empty = all).
    pub fn get_incoming<S: AsRef<str>>(&self, node: u64, labels: &[S]) -> Vec<GraphEdge> {
        self.node_edges(node, Direction::Incoming, labels)
    }

    /// Edges at `node` in `direction` with one of `labels` (empty = all).
    pub fn node_edges<S: AsRef<str>>(
        &self,
        node: u64,
        direction: Direction,
        labels: &[S],
    ) -> Vec<GraphEdge> {
        let Some(row) = self.nodes.get(node) else {
            return Vec::new();
        };
        let set = self.label_set(labels);
        let mut out = Vec::new();
        self.for_each_edge(row, direction, &set, |slot, _| {
            if let Some(r) = self.edges.get(slot as usize) {
                out.push(self.to_edge(r));
            }
        });
        out
    }

    /// A node's in- and out-degree (self-loops count once in each).
    pub fn node_degree(&self, node: u64) -> NodeDegree {
        let Some(row) = self.nodes.get(node) else {
            return NodeDegree::default();
        };
        let all = LabelSet::all();
        let mut degree = NodeDegree::default();
        self.for_each_edge(row, Direction::Outgoing, &all, |_, _| degree.outgoing += 1);
        self.for_each_edge(row, Direction::Incoming, &all, |_, _| degree.incoming += 1);
        degree
    }

    /// Calls `f(slot, other row)` for every live edge at `row` in `direction` whose label is
    /// in `labels`. The hot loop of every traversal: contiguous CSR rows, the tombstone check
    /// only when some CSR edge is dead, the delta hash lookup only when the delta is not
    /// empty.
    #[inline]
    pub(crate) fn for_each_edge(
        &self,
        row: u32,
        direction: Direction,
        labels: &LabelSet,
        mut f: impl FnMut(u32, u32),
    ) {
        match direction {
            Direction::Outgoing => self.walk(&self.out, row, labels, &mut f, false),
            Direction::Incoming => self.walk(&self.inc, row, labels, &mut f, false),
            Direction::Both => {
                self.walk(&self.out, row, labels, &mut f, false);
                self.walk(&self.inc, row, labels, &mut f, true);
            }
        }
    }

    #[inline]
    fn walk(
        &self,
        adj: &Adjacency,
        row: u32,
        labels: &LabelSet,
        f: &mut impl FnMut(u32, u32),
        skip_self_loops: bool,
    ) {
        let mut visit_label = |label: u32| {
            let Some(csr) = adj.label(label) else {
                return;
            };
            let (nbrs, slots) = csr.row(row);
            if self.dead_in_csr == 0 && !skip_self_loops {
                for (&nbr, &slot) in nbrs.iter().zip(slots) {
                    f(slot, nbr);
                }
            } else {
                for (&nbr, &slot) in nbrs.iter().zip(slots) {
                    let live = self.live.get(slot as usize).copied().unwrap_or(false);
                    if live && !(skip_self_loops && nbr == row) {
                        f(slot, nbr);
                    }
                }
            }
        };
        match &labels.0 {
            None => (0..adj.labels.len() as u32).for_each(&mut visit_label),
            Some(list) => list.iter().copied().for_each(&mut visit_label),
        }
        for e in adj.delta_row(row) {
            if labels.contains(e.label) && !(skip_self_loops && e.nbr == row) {
                f(e.slot, e.nbr);
            }
        }
    }
}
