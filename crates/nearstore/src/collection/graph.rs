//! A graph collection's edges: the collection owns one [`GraphStore`] (`State::graph`,
//! `Some` exactly for a graph collection), written only through the operation log.
//!
//! Write path (an edge write, `ops.rs` tag 10): under the writer lock, validate with
//! [`GraphStore::prepare_edges`] (endpoints live, ids new, labels non-blank) and the schema
//! (both endpoints' payloads) -> append the [`GraphOp`] to `ops.log` -> apply it with
//! [`GraphStore::apply_logged`] and the sequence number the append got. Deleting a node is an
//! ordinary logged delete whose apply removes the node's edges too (`write.rs`
//! `apply_delete`), so an edge never outlives an endpoint, after a crash either.
//!
//! Node property indexes (`GraphStore::index_node`) follow the payloads in the same write
//! section as the payload indexes (`write.rs` `reindex_payload`).
//!
//! Checkpoint: [`GraphStore::merge`], then the image ([`GraphStore::encode`], itself
//! checksummed) in `graph.image` (checksummed sections: sequence number, image), written
//! before the payload store and the manifest like every other component; open decodes it
//! and replays the log tail after its number (no rebuild). Snapshots copy the file with the
//! others (it is replaced whole by rename, so it is hard-linked at the cut).

use std::borrow::Cow;
use std::path::Path;

use nearstore_filter::{FieldIndexKind, Filter};
use std::sync::Arc;

use nearstore_graph::{GraphEdge, GraphOp, GraphStore, LABELS_FIELD, PropertyTarget};
use nearstore_storage::SharedBackend;
use nearstore_storage::sections::{read_sections, write_sections};
use roaring::RoaringTreemap;
use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use super::write::Targets;
use super::{Collection, ops};
use crate::config::CollectionKind;
use crate::error::{Error, Result};
use crate::point::Point;
use crate::request::{Deadline, WriteOptions};

/// The graph image's file in a graph collection's directory.
pub(crate) const GRAPH_FILE: &str = "graph.image";
const GRAPH_MAGIC: [u8; 8] = *b"NSGRAPHF";

/// Writes the graph image with the sequence number it reflects (write-temp + rename).
pub(super) fn write_graph_image(
    backend: &SharedBackend,
    dir: &Path,
    image: &[u8],
    seq: u64,
) -> Result<()> {
    write_sections(
        backend.as_ref(),
        &dir.join(GRAPH_FILE),
        &GRAPH_MAGIC,
        &[&seq.to_le_bytes(), image],
    )?;
    Ok(())
}

/// Reads and decodes the graph image and the sequence number it reflects.
pub(crate) fn read_graph_image(backend: &SharedBackend, dir: &Path) -> Result<(GraphStore, u64)> {
    let path = dir.join(GRAPH_FILE);
    let sections = read_sections(backend.as_ref(), &path, &GRAPH_MAGIC)?;
    let [seq, image] = sections.as_slice() else {
        return Err(Error::corruption(path.display(), "expected two sections"));
    };
    let seq: [u8; 8] = seq
        .as_slice()
        .try_into()
        .map_err(|_| Error::corruption(path.display(), "bad sequence number"))?;
    let store =
        GraphStore::decode(image).map_err(|e| Error::corruption(path.display(), e.to_string()))?;
    Ok((store, u64::from_le_bytes(seq)))
}

/// The scrub's check of a graph collection's image: its checksums, that it decodes, and
/// that it reflects at least the checkpoint's operation `covered` (read-only).
pub(crate) fn check_graph_image(
    backend: &SharedBackend,
    dir: &Path,
    covered: u64,
) -> crate::verify::FileCheck {
    let mut check = crate::verify::FileCheck::new(dir.join(GRAPH_FILE), "graph image");
    match read_graph_image(backend, dir) {
        Ok((_, seq)) if seq < covered => check.damaged(
            None,
            format!("reflects operation {seq}, the checkpoint covers {covered}"),
        ),
        Ok((graph, _)) => check.notes.push(format!(
            "{} edges, {} labels",
            graph.edge_count(),
            graph.labels().len()
        )),
        Err(e) => check.damaged_by(&e),
    }
    check
}

impl Collection {
    /// The collection's kind.
    pub(crate) fn kind(&self) -> CollectionKind {
        self.config.kind
    }

    /// Fails unless this is a graph collection.
    pub(crate) fn check_graph(&self) -> Result<()> {
        match self.config.kind {
            CollectionKind::Graph => Ok(()),
            other => Err(Error::NotAGraph {
                collection: self.name.clone(),
                kind: other.name(),
            }),
        }
    }

    /// Checks a node's payload against the graph schema (a no-op without one).
    pub(super) fn check_node_payload(&self, id: u64, payload: Option<&Value>) -> Result<()> {
        if let Some(schema) = &self.config.graph_schema {
            schema.check_node(id, payload.unwrap_or(&Value::Null))?;
        }
        Ok(())
    }

    /// With a schema, refuses a write that would leave an edge violating it: the edges at
    /// each node of `changed` whose `_labels` the write alters are checked with the
    /// endpoints' payloads after the write (`changed`, later entries winning, then
    /// `queued` (payloads logged but not yet applied), then the current ones). The caller
    /// holds the writer, so no edge or payload changes between this check and its log
    /// append. Edges at an expired node are skipped: they are invisible and go with it.
    pub(super) fn check_relabels(
        &self,
        changed: &[(u64, Option<&Value>)],
        queued: Option<&dyn Fn(u64) -> Option<Option<Arc<Value>>>>,
    ) -> Result<()> {
        let Some(schema) = &self.config.graph_schema else {
            return Ok(());
        };
        let mut new: FxHashMap<u64, Option<&Value>> = FxHashMap::default();
        for &(id, payload) in changed {
            new.insert(id, payload);
        }
        let at: Vec<(u64, Vec<GraphEdge>)> = {
            let st = self.state.read();
            let Some(graph) = st.graph.as_ref() else {
                return Ok(());
            };
            let hidden = self.hidden(&st);
            let hidden = |n: u64| hidden.as_ref().is_some_and(|h| h.contains(n));
            new.keys()
                .copied()
                .filter(|&id| !hidden(id))
                .filter_map(|id| {
                    let mut edges = graph.get_outgoing::<&str>(id, &[]);
                    edges.extend(graph.get_incoming::<&str>(id, &[]));
                    edges.retain(|e| !hidden(e.source) && !hidden(e.target));
                    (!edges.is_empty()).then_some((id, edges))
                })
                .collect()
        };
        let current = |id: u64| -> Result<Option<Arc<Value>>> {
            match queued.and_then(|q| q(id)) {
                Some(p) => Ok(p),
                None => self.current_payload(id),
            }
        };
        let labels = |p: Option<&Value>| p.and_then(|v| v.get(LABELS_FIELD)).cloned();
        for (id, edges) in at {
            let after = new.get(&id).copied().flatten();
            if labels(current(id)?.as_deref()) == labels(after) {
                continue;
            }
            for edge in edges {
                let other = if edge.source == id {
                    edge.target
                } else {
                    edge.source
                };
                let other_now;
                let other_after = match new.get(&other) {
                    Some(p) => *p,
                    None => {
                        other_now = current(other)?;
                        other_now.as_deref()
                    }
                };
                let (source, target) = if edge.source == id {
                    (after, other_after)
                } else {
                    (other_after, after)
                };
                let null = Value::Null;
                schema
                    .check_edge(&edge, source.unwrap_or(&null), target.unwrap_or(&null))
                    .map_err(|e| nearstore_graph::Error::NodeSchemaViolation {
                        node: id,
                        message: format!(
                            "its new labels would leave edge {} ({} -> {}) breaking the \
                                 schema ({e}); remove the edge first",
                            edge.id, edge.source, edge.target
                        ),
                    })?;
            }
        }
        Ok(())
    }

    /// Sets graph node `id`'s whole payload, deciding once with the writer held: a visible
    /// node keeps its embedding (a logged payload write), anything else (no such node, or
    /// one that expired and awaits the purge) becomes a new node without one (an upsert,
    /// which first deletes the expired node with its edges). Either way the write is done
    /// when this returns `Ok`: a node expiring during the call is never a silent no-op.
    pub(crate) fn upsert_node_payload(&self, id: u64, payload: Map<String, Value>) -> Result<()> {
        self.check_open()?;
        self.check_graph()?;
        let points = [Point::without_vector(id, Some(Value::Object(payload)))];
        // Schema (node level) and size checks need no state: done before the lock.
        let (upsert, now) = self.encode_checked_upsert(&points, None)?;
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        let visible = {
            let st = self.state.read();
            st.live.contains(id) && !self.is_expired(&st, id)
        };
        if !visible {
            return self.upsert_encoded_locked(
                &mut w,
                std::borrow::Cow::Owned(Vec::from(points)),
                &upsert,
                (now, super::backlog::Linking::Inline),
                None,
            );
        }
        let payload = points[0].payload.as_ref();
        self.check_relabels(&[(id, payload)], None)?;
        let json = serde_json::to_vec(&payload)
            .map_err(|e| Error::InvalidArgument(format!("payload of node {id}: {e}")))?;
        let bytes = ops::encode_payloads(&[(id, Some(json))]);
        let change = [(id, payload.cloned().map(Arc::new))];
        self.commit_locked(&mut w, &bytes, None, 1, || {
            self.apply_payloads(&change, Targets::ALL)
        })
    }

    /// Deletes every point, expired ones included (so a graph keeps no edge of a node
    /// awaiting the purge), in one logged delete that takes each node's edges along
    /// (`lock_writer` applies the streaming queue first); returns how many visible points
    /// it deleted.
    pub(crate) fn truncate(&self) -> Result<usize> {
        self.check_open()?;
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        let (ids, visible) = {
            let st = self.state.read();
            let visible = self.visible_live(&st).len() as usize;
            (st.live.iter().collect::<Vec<u64>>(), visible)
        };
        self.delete_locked(&mut w, &ids, None)?;
        Ok(visible)
    }

    /// Adds edges, all or none: validated under the writer lock (endpoints live, ids new,
    /// labels non-blank, schema), logged, applied.
    pub(crate) fn add_edges(&self, edges: Vec<GraphEdge>, options: &WriteOptions) -> Result<()> {
        self.check_graph()?;
        if edges.is_empty() {
            return Ok(());
        }
        let deadline = options.deadline.as_ref();
        self.check_write_deadline(deadline, 0)?;
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        let prepared = {
            let st = self.state.read();
            let graph = st
                .graph
                .as_ref()
                .ok_or_else(|| Error::Internal("graph collection without a graph".into()))?;
            // An expired node is gone for every read: it gets no new edge either.
            graph.prepare_edges(edges, self.visible_live(&st).as_ref())?
        };
        if let Some(schema) = &self.config.graph_schema {
            for edge in &prepared {
                let source = self.current_payload(edge.source)?;
                let target = self.current_payload(edge.target)?;
                schema.check_edge(
                    edge,
                    source.as_deref().unwrap_or(&Value::Null),
                    target.as_deref().unwrap_or(&Value::Null),
                )?;
            }
        }
        let op = GraphOp::AddEdges(prepared);
        let seq = w.ops.next_seq();
        let bytes = ops::encode_graph(&op);
        self.commit_locked(&mut w, &bytes, deadline, 0, move || {
            self.apply_prepared_graph_op(seq, op)
        })
    }

    /// Removes an edge; false when there is no edge with this id (nothing logged).
    pub(crate) fn remove_edge(&self, id: u64, options: &WriteOptions) -> Result<bool> {
        self.check_graph()?;
        let deadline = options.deadline.as_ref();
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        let exists = self
            .state
            .read()
            .graph
            .as_ref()
            .is_some_and(|g| g.contains_edge(id));
        if !exists {
            return Ok(false);
        }
        let op = GraphOp::RemoveEdge(id);
        let seq = w.ops.next_seq();
        let bytes = ops::encode_graph(&op);
        self.commit_locked(&mut w, &bytes, deadline, 0, || {
            self.apply_graph_op(seq, &op)
        })?;
        Ok(true)
    }

    /// Applies a logged edge write: replay, and the live edge and node removals (edge adds
    /// go through [`Collection::apply_prepared_graph_op`]).
    pub(super) fn apply_graph_op(&self, seq: u64, op: &GraphOp) -> Result<()> {
        self.with_graph_mut(|graph| graph.apply_logged(seq, op).map(drop))
    }

    /// [`Collection::apply_graph_op`] for an operation prepared on the graph under the
    /// writer lock still held (the live path: no second check of its edges).
    fn apply_prepared_graph_op(&self, seq: u64, op: GraphOp) -> Result<()> {
        self.with_graph_mut(|graph| graph.apply_prepared(seq, op).map(drop))
    }

    fn with_graph_mut(
        &self,
        f: impl FnOnce(&mut GraphStore) -> nearstore_graph::Result<()>,
    ) -> Result<()> {
        let mut st = self.state.write();
        match st.graph.as_mut() {
            Some(graph) => Ok(f(graph)?),
            None => Err(Error::corruption(
                self.dir.join(super::OPS_FILE).display(),
                format!(
                    "a graph operation in collection {}, which is no graph",
                    self.name
                ),
            )),
        }
    }

    /// Runs `f` over the graph under the state's read lock.
    pub(crate) fn read_graph<R>(&self, f: impl FnOnce(&GraphStore) -> R) -> Result<R> {
        self.check_open()?;
        self.check_graph()?;
        let st = self.state.read();
        match st.graph.as_ref() {
            Some(graph) => Ok(f(graph)),
            None => Err(Error::Internal("graph collection without a graph".into())),
        }
    }

    /// Runs `f` over the graph and the ids hidden now (expired points whose edges are still
    /// stored; `None` when none is) under one read of the state.
    pub(crate) fn read_visible_graph<R>(
        &self,
        f: impl FnOnce(&GraphStore, Option<&RoaringTreemap>) -> R,
    ) -> Result<R> {
        self.check_open()?;
        self.check_graph()?;
        let st = self.state.read();
        let hidden = self.hidden(&st);
        match st.graph.as_ref() {
            Some(graph) => Ok(f(graph, hidden.as_ref())),
            None => Err(Error::Internal("graph collection without a graph".into())),
        }
    }

    /// `SELECT EDGES`: the visible edges (no endpoint expired) passing `keep`, in id order,
    /// at most `limit`, under one read of the state. `index_filter` (a condition over the properties that `keep` implies)
    /// narrows the candidates by the edge property indexes, unless a field in `shadowed`
    /// (where `keep` reads something else than the property) is indexed. The deadline is
    /// checked every 1,024 edges.
    pub(crate) fn scan_edges(
        &self,
        index_filter: Option<&Filter>,
        shadowed: &[&str],
        limit: usize,
        deadline: Option<&Deadline>,
        keep: impl Fn(&GraphEdge) -> bool,
    ) -> Result<Vec<GraphEdge>> {
        self.read_visible_graph(|g, hidden| {
            let index_filter = index_filter.filter(|_| {
                g.indexed_fields(PropertyTarget::Edge)
                    .iter()
                    .all(|(f, _)| !shadowed.contains(&f.as_str()))
            });
            let candidates = match index_filter {
                Some(f) => Cow::Owned(g.edge_candidates(f)?.ids),
                None => Cow::Borrowed(g.edge_ids()),
            };
            let mut out = Vec::new();
            for (i, id) in candidates.iter().enumerate() {
                if out.len() >= limit {
                    break;
                }
                if i % 1024 == 0
                    && let Some(d) = deadline
                    && d.is_expired()
                {
                    return Err(Error::Cancelled(
                        "SELECT EDGES cancelled: its deadline passed".into(),
                    ));
                }
                if let Some(edge) = g.get_edge(id)
                    && hidden.is_none_or(|h| !h.contains(edge.source) && !h.contains(edge.target))
                    && keep(&edge)
                {
                    out.push(edge);
                }
            }
            Ok(out)
        })?
    }

    /// Creates a node or edge property index (a node index is filled from the live
    /// payloads); persisted by the checkpoint it triggers.
    pub(crate) fn create_graph_index(
        &self,
        target: PropertyTarget,
        field: &str,
        kind: FieldIndexKind,
    ) -> Result<()> {
        self.check_open()?;
        self.check_graph()?;
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        let payloads = match target {
            PropertyTarget::Node => {
                let ids: Vec<u64> = self.state.read().live.iter().collect();
                let mut payloads = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(p) = self.current_payload(id)? {
                        payloads.push((id, p));
                    }
                }
                payloads
            }
            PropertyTarget::Edge => Vec::new(),
        };
        {
            let mut st = self.state.write();
            let graph = st
                .graph
                .as_mut()
                .ok_or_else(|| Error::Internal("graph collection without a graph".into()))?;
            match target {
                PropertyTarget::Node => graph.create_node_index(
                    field,
                    kind,
                    payloads.iter().map(|(id, p)| (*id, p.as_ref())),
                )?,
                PropertyTarget::Edge => graph.create_edge_index(field, kind)?,
            }
        }
        self.checkpoint_forced(&mut w)
    }

    /// Drops a node or edge property index; false when there was none.
    pub(crate) fn drop_graph_index(&self, target: PropertyTarget, field: &str) -> Result<bool> {
        self.check_open()?;
        self.check_graph()?;
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        let existed = self
            .state
            .write()
            .graph
            .as_mut()
            .is_some_and(|g| g.drop_index(target, field));
        if existed {
            self.checkpoint_forced(&mut w)?;
        }
        Ok(existed)
    }

    /// Merges the graph's write delta and encodes its image (checkpoints; `None` for a
    /// collection that is no graph).
    pub(super) fn graph_image(&self) -> Option<Vec<u8>> {
        {
            let mut st = self.state.write();
            let graph = st.graph.as_mut()?;
            if graph.delta_len() > 0 {
                graph.merge();
            }
        }
        // Encoded under the read lock: searches go on meanwhile (the caller holds the
        // writer, so nothing changes the graph in between).
        self.state.read().graph.as_ref().map(GraphStore::encode)
    }
}
