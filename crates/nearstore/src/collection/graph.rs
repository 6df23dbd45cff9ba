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

use std::path::Path;

use nearstore_filter::FieldIndexKind;
use nearstore_graph::{GraphEdge, GraphOp, GraphStore, PropertyTarget};
use nearstore_storage::SharedBackend;
use nearstore_storage::sections::{read_sections, write_sections};
use serde_json::Value;

use super::{Collection, ops};
use crate::config::CollectionKind;
use crate::error::{Error, Result};
use crate::request::WriteOptions;

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
        self.commit_locked(&mut w, &bytes, deadline, 0, || {
            self.apply_graph_op(seq, &op)
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

    /// Applies a logged edge write (live writes and replay).
    pub(super) fn apply_graph_op(&self, seq: u64, op: &GraphOp) -> Result<()> {
        let mut st = self.state.write();
        match st.graph.as_mut() {
            Some(graph) => {
                graph.apply_logged(seq, op)?;
                Ok(())
            }
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
