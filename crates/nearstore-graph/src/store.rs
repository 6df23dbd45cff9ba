//! [`GraphStore`]: the edge table, both adjacency directions, and the writes that keep them
//! in step. Reads are in `read.rs`, traversal in `traverse.rs` and `expand.rs`, property
//! indexes in `property.rs`, persistence in `codec.rs`.
//!
//! Invariants (checked by the model proptests):
//! - every live edge (slot `s` with `live[s]`, id in `by_id` and `edge_ids`) appears exactly
//!   once in the outgoing adjacency at its source row and once in the incoming adjacency at
//!   its target row, under its label: in the CSR when `s < csr_slots`, in the delta
//!   otherwise; a dead CSR slot may still sit in the CSR arrays and is skipped by readers;
//! - `dead_in_csr` counts the dead slots below `csr_slots`;
//! - so incoming is always outgoing transposed, and removing a node removes every edge at it.
//!
//! Writes are all-or-nothing: everything that can fail is checked before the first change.

use nearstore_filter::PayloadIndexes;
use roaring::RoaringTreemap;
use rustc_hash::FxHashMap;
use std::sync::LazyLock;

use serde_json::Value;

use crate::csr::{Adjacency, DeltaEdge};
use crate::edge::{GraphEdge, NodeExistence, normalize};
use crate::error::{Error, Result};
use crate::intern::{LabelTable, NodeTable, dense};

/// A stored edge: endpoints as node rows, label interned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EdgeRecord {
    pub(crate) id: u64,
    pub(crate) source: u32,
    pub(crate) target: u32,
    pub(crate) label: u32,
    /// `None` for `{}` (most edges), so a record stays 32 bytes.
    pub(crate) properties: Option<Box<Value>>,
}

/// The empty object that records without properties stand for.
static EMPTY_OBJECT: LazyLock<Value> = LazyLock::new(|| Value::Object(serde_json::Map::new()));

impl EdgeRecord {
    /// The edge's properties (a JSON object).
    pub(crate) fn properties(&self) -> &Value {
        self.properties.as_deref().unwrap_or(&EMPTY_OBJECT)
    }
}

fn boxed_properties(properties: Value) -> Option<Box<Value>> {
    match &properties {
        Value::Object(map) if map.is_empty() => None,
        _ => Some(Box::new(properties)),
    }
}

/// The delta is merged into the CSR when adds + tombstones pass
/// `max(MIN_DELTA_BEFORE_MERGE, (csr edges + nodes) / 4)`, so merging costs amortized O(1)
/// per write.
pub const MIN_DELTA_BEFORE_MERGE: usize = 4096;

/// A property graph's edges and adjacency. Plain data (`Send + Sync`): the caller serializes
/// writers and lets readers share it (the engine keeps it behind its collection lock).
#[derive(Debug, Clone, Default)]
pub struct GraphStore {
    pub(crate) labels: LabelTable,
    pub(crate) nodes: NodeTable,
    pub(crate) edges: Vec<EdgeRecord>,
    pub(crate) live: Vec<bool>,
    pub(crate) by_id: FxHashMap<u64, u32>,
    pub(crate) edge_ids: RoaringTreemap,
    pub(crate) out: Adjacency,
    pub(crate) inc: Adjacency,
    /// Slots below this are in the CSR arrays; slots at or above it are in the delta.
    pub(crate) csr_slots: usize,
    pub(crate) dead_in_csr: usize,
    pub(crate) delta_adds: usize,
    pub(crate) edge_indexes: PayloadIndexes,
    pub(crate) node_indexes: PayloadIndexes,
    pub(crate) applied_seq: u64,
}

/// A logged graph write, as the engine appends it to the collection's operation log and
/// replays it with [`GraphStore::apply_logged`].
#[derive(Debug, Clone, PartialEq)]
pub enum GraphOp {
    /// Add these edges (already validated by [`GraphStore::prepare_edges`]).
    AddEdges(Vec<GraphEdge>),
    /// Remove one edge by id.
    RemoveEdge(u64),
    /// Remove every edge at a node (the node itself is the engine's point).
    RemoveNode(u64),
}

/// What [`GraphStore::apply_logged`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The operation's sequence number was already covered by the store's image: nothing
    /// changed.
    AlreadyApplied,
    /// Edges added (ids already present with identical content are skipped, not counted).
    Added(usize),
    /// The edges removed, sorted by id (empty when there was nothing to remove).
    Removed(Vec<GraphEdge>),
}

impl GraphStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks a batch for [`add_edges_batch`](Self::add_edges_batch) without changing
    /// anything: labels non-blank, properties objects, ids new (in the store and within the
    /// batch), endpoints existing per `nodes`, capacity. Returns the edges as they will be
    /// stored (`null` properties become `{}`): the engine logs these, then applies them.
    pub fn prepare_edges(
        &self,
        edges: Vec<GraphEdge>,
        nodes: &(impl NodeExistence + ?Sized),
    ) -> Result<Vec<GraphEdge>> {
        let mut edges = edges;
        let mut seen = RoaringTreemap::new();
        for edge in &mut edges {
            normalize(edge)?;
            if !seen.insert(edge.id) || self.by_id.contains_key(&edge.id) {
                return Err(Error::DuplicateEdge { edge: edge.id });
            }
            for (endpoint, node) in [("source", edge.source), ("target", edge.target)] {
                if !nodes.contains_node(node) {
                    return Err(Error::MissingNode {
                        edge: edge.id,
                        endpoint,
                        node,
                    });
                }
            }
        }
        let prepared = edges;
        dense(self.edges.len() + prepared.len(), "edges")?;
        dense(self.nodes.len() + 2 * prepared.len(), "nodes")?;
        dense(self.labels.len() + prepared.len(), "labels")?;
        Ok(prepared)
    }

    /// Adds one edge (see [`add_edges_batch`](Self::add_edges_batch)).
    pub fn add_edge(
        &mut self,
        edge: GraphEdge,
        nodes: &(impl NodeExistence + ?Sized),
    ) -> Result<()> {
        self.add_edges_batch(vec![edge], nodes)
    }

    /// Adds edges, all or none: the whole batch is validated
    /// ([`prepare_edges`](Self::prepare_edges)) before the first one is stored.
    pub fn add_edges_batch(
        &mut self,
        edges: Vec<GraphEdge>,
        nodes: &(impl NodeExistence + ?Sized),
    ) -> Result<()> {
        let prepared = self.prepare_edges(edges, nodes)?;
        self.insert_prepared(prepared)?;
        Ok(())
    }

    /// Applies a logged operation with sequence number `seq` (the live path and crash replay
    /// call the same function, so both reach the same state).
    ///
    /// Idempotence: an operation with `seq <= applied_seq()` is skipped (the store's image
    /// already covers it), so the engine may replay its log from any point at or before the
    /// image's sequence. Beyond that, each operation is idempotent on its own: adding an edge
    /// whose id is stored with identical content is a no-op (different content is
    /// [`Error::ReplayConflict`]), removing a missing edge and removing a node without edges
    /// remove nothing. Replay does not ask about endpoint existence (see [`NodeExistence`]).
    pub fn apply_logged(&mut self, seq: u64, op: &GraphOp) -> Result<Applied> {
        if seq <= self.applied_seq {
            return Ok(Applied::AlreadyApplied);
        }
        let applied = match op {
            GraphOp::AddEdges(edges) => {
                let mut fresh = Vec::with_capacity(edges.len());
                for edge in edges {
                    let mut edge = edge.clone();
                    normalize(&mut edge)?;
                    match self.get_edge(edge.id) {
                        Some(stored) if stored != edge => {
                            return Err(Error::ReplayConflict { edge: edge.id });
                        }
                        Some(_) => {}
                        None => fresh.push(edge),
                    }
                }
                // Also refuses an id twice in the batch.
                let prepared = self.prepare_edges(fresh, &crate::AnyNode)?;
                Applied::Added(self.insert_prepared(prepared)?)
            }
            GraphOp::RemoveEdge(id) => {
                Applied::Removed(self.remove_edge(*id).into_iter().collect())
            }
            GraphOp::RemoveNode(node) => Applied::Removed(self.remove_node(*node)),
        };
        self.applied_seq = seq;
        Ok(applied)
    }

    /// Applies `op`, logged at `seq`, whose edges [`prepare_edges`](Self::prepare_edges)
    /// checked against this store with nothing changed since: the engine's live path, which
    /// prepares, logs and applies under one writer lock. The edges are stored as they are,
    /// without the second check (and copy) of [`apply_logged`](Self::apply_logged), which
    /// replay needs because it cannot know that.
    pub fn apply_prepared(&mut self, seq: u64, op: GraphOp) -> Result<Applied> {
        match op {
            GraphOp::AddEdges(edges) if seq > self.applied_seq => {
                let added = self.insert_prepared(edges)?;
                self.applied_seq = seq;
                Ok(Applied::Added(added))
            }
            op => self.apply_logged(seq, &op),
        }
    }

    /// The sequence number of the last logged operation applied (0 when none); persisted in
    /// the image.
    pub fn applied_seq(&self) -> u64 {
        self.applied_seq
    }

    /// Stores validated edges. Large batches go straight into a rebuilt CSR.
    pub(crate) fn insert_prepared(&mut self, prepared: Vec<GraphEdge>) -> Result<usize> {
        let count = prepared.len();
        let bulk = count >= self.merge_threshold();
        self.edges.reserve(count);
        self.live.reserve(count);
        self.by_id.reserve(count);
        if bulk {
            self.nodes.reserve(count / 4);
        }
        let mut last_label: Option<(String, u32)> = None;
        for edge in prepared {
            let label = match &last_label {
                Some((name, label)) if *name == edge.label => *label,
                _ => {
                    let label = self.labels.intern(&edge.label)?;
                    last_label = Some((edge.label.clone(), label));
                    label
                }
            };
            let source = self.nodes.intern(edge.source)?;
            let target = self.nodes.intern(edge.target)?;
            let slot = dense(self.edges.len(), "edges")?;
            self.edge_indexes.insert(edge.id, &edge.properties);
            self.by_id.insert(edge.id, slot);
            self.edge_ids.insert(edge.id);
            self.edges.push(EdgeRecord {
                id: edge.id,
                source,
                target,
                label,
                properties: boxed_properties(edge.properties),
            });
            self.live.push(true);
            if !bulk {
                self.out.push_delta(
                    source,
                    DeltaEdge {
                        label,
                        nbr: target,
                        slot,
                    },
                );
                self.inc.push_delta(
                    target,
                    DeltaEdge {
                        label,
                        nbr: source,
                        slot,
                    },
                );
                self.delta_adds += 1;
            }
        }
        if bulk {
            self.merge();
        } else {
            self.merge_if_large();
        }
        Ok(count)
    }

    /// Removes an edge; returns it, or `None` when no edge has this id (idempotent).
    pub fn remove_edge(&mut self, id: u64) -> Option<GraphEdge> {
        let removed = self.remove_slot_of(id);
        self.merge_if_large();
        removed
    }

    fn remove_slot_of(&mut self, id: u64) -> Option<GraphEdge> {
        let slot = self.by_id.remove(&id)?;
        self.edge_ids.remove(id);
        let index = slot as usize;
        let record = self.edges.get(index)?.clone();
        if let Some(flag) = self.live.get_mut(index) {
            *flag = false;
        }
        if index < self.csr_slots {
            self.dead_in_csr += 1;
        } else {
            self.out.remove_delta(record.source, slot);
            self.inc.remove_delta(record.target, slot);
            self.delta_adds = self.delta_adds.saturating_sub(1);
        }
        self.edge_indexes.remove(id, record.properties());
        let edge = self.to_edge(&record);
        // The dead record keeps no properties.
        if let Some(r) = self.edges.get_mut(index) {
            r.properties = None;
        }
        Some(edge)
    }

    /// Removes every edge entering or leaving `node` and returns them sorted by id (the
    /// engine logs [`GraphOp::RemoveNode`]; replaying it removes the same edges because the
    /// state before it is the same). A node without edges removes nothing (idempotent).
    pub fn remove_node(&mut self, node: u64) -> Vec<GraphEdge> {
        let Some(row) = self.nodes.get(node) else {
            return Vec::new();
        };
        let mut ids = Vec::new();
        for dir in [&self.out, &self.inc] {
            for label in 0..self.labels.len() as u32 {
                if let Some(csr) = dir.label(label) {
                    let (_, slots) = csr.row(row);
                    ids.extend(slots.iter().filter_map(|&s| self.live_id(s)));
                }
            }
            ids.extend(
                dir.delta_row(row)
                    .iter()
                    .filter_map(|e| self.live_id(e.slot)),
            );
        }
        ids.sort_unstable();
        ids.dedup();
        let removed: Vec<GraphEdge> = ids
            .into_iter()
            .filter_map(|id| self.remove_slot_of(id))
            .collect();
        self.merge_if_large();
        removed
    }

    /// The id of slot `slot` when it is live.
    #[inline]
    pub(crate) fn live_id(&self, slot: u32) -> Option<u64> {
        let s = slot as usize;
        if self.live.get(s).copied().unwrap_or(false) {
            self.edges.get(s).map(|r| r.id)
        } else {
            None
        }
    }

    pub(crate) fn to_edge(&self, record: &EdgeRecord) -> GraphEdge {
        GraphEdge {
            id: record.id,
            source: self.nodes.id(record.source),
            target: self.nodes.id(record.target),
            label: self.labels.name(record.label).to_owned(),
            properties: record.properties().clone(),
        }
    }

    fn merge_threshold(&self) -> usize {
        MIN_DELTA_BEFORE_MERGE.max((self.csr_slots + self.nodes.len()) / 4)
    }

    fn merge_if_large(&mut self) {
        if self.delta_adds + self.dead_in_csr > self.merge_threshold() {
            self.merge();
        }
    }

    /// Edges added and removed since the last merge (the write delta's size).
    pub fn delta_len(&self) -> usize {
        self.delta_adds + self.dead_in_csr
    }

    /// Merges the write delta into the CSR arrays: drops dead slots (renumbering the rest in
    /// order), rebuilds both directions and clears the delta. The engine calls it at
    /// checkpoints; writes call it when the delta grows past a quarter of the graph.
    pub fn merge(&mut self) {
        if self.live.iter().any(|l| !l) {
            let edges = std::mem::take(&mut self.edges);
            let live = std::mem::take(&mut self.live);
            self.edges = edges
                .into_iter()
                .zip(live)
                .filter_map(|(record, live)| live.then_some(record))
                .collect();
            self.live = vec![true; self.edges.len()];
            self.by_id.clear();
            for (slot, record) in self.edges.iter().enumerate() {
                // Slots fit u32: they were dense before compaction.
                self.by_id.insert(record.id, slot as u32);
            }
        }
        let rows = self.nodes.len();
        let label_count = self.labels.len();
        let forward = self
            .edges
            .iter()
            .enumerate()
            .map(|(slot, r)| (r.label, r.source, r.target, slot as u32));
        self.out = Adjacency::rebuild(rows, label_count, forward);
        let backward = self
            .edges
            .iter()
            .enumerate()
            .map(|(slot, r)| (r.label, r.target, r.source, slot as u32));
        self.inc = Adjacency::rebuild(rows, label_count, backward);
        self.csr_slots = self.edges.len();
        self.dead_in_csr = 0;
        self.delta_adds = 0;
    }

    /// Approximate heap bytes held by the edge table, adjacency and indexes.
    pub fn memory_bytes(&self) -> usize {
        self.edges.capacity() * std::mem::size_of::<EdgeRecord>()
            + self.live.capacity()
            + self.by_id.capacity() * 16
            + self.nodes.len() * 24
            + self.out.memory_bytes()
            + self.inc.memory_bytes()
            + self.edge_indexes.memory_bytes()
            + self.node_indexes.memory_bytes()
    }
}
