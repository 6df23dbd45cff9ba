//! `nearstore.GraphCollection`: a handle on a graph collection with the reference engine's
//! Python names (`add_edge`, `add_edges_batch`, `remove_edge`, `get_edges`, `get_outgoing`,
//! `get_incoming`, `node_degree`, `edge_count`, `traverse_bfs`, `traverse_dfs`,
//! `upsert_node_payload` / `store_node_payload`, `get_node_payload`, `search_by_embedding`).
//!
//! Edges are dicts `{"id", "source", "target", "label", "properties"}` both ways
//! (`properties` optional on input); traversal results are `{"target_id", "depth", "path"}`
//! (path: the edge ids from the source); search results are the collection's
//! `{"id", "score", "payload"}`. The handle holds the collection's name and the database's
//! shared state, and looks the graph up on each call (a catalog read), so it follows a
//! restore and raises `nearstore.Closed` once its database is closed. The nodes are the
//! collection's points: `Database.get_collection(name)` gives the point API (upsert with
//! embeddings, delete, scroll, filters) on the same collection.

use std::sync::Arc;

use nearstore::{GraphCollection, GraphEdge, TraversalConfig, TraversalResult};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

use crate::database::Shared;
use crate::errors;
use crate::results::results_list;
use crate::{json, vectors};

/// A graph collection: nodes (the collection's points: payload, labels in ``_labels``,
/// optionally an embedding) and typed, directed edges with properties. Get one from
/// ``Database.create_graph_collection`` or ``Database.get_graph_collection``.
///
/// Edge writes are atomic per call (a batch is all or none) and logged like points:
/// durable after ``flush()``. An edge's endpoints must exist; deleting a node deletes its
/// edges.
#[pyclass(name = "GraphCollection", module = "nearstore", frozen)]
#[derive(Debug)]
pub struct PyGraphCollection {
    name: String,
    shared: Arc<Shared>,
}

impl PyGraphCollection {
    pub(crate) fn new(name: String, shared: Arc<Shared>) -> Self {
        PyGraphCollection { name, shared }
    }

    /// Runs `f` on the graph with the GIL released.
    fn call<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&GraphCollection) -> nearstore::Result<T> + Send,
    {
        self.shared
            .call(py, |db| f(&db.get_graph_collection(&self.name)?))
    }
}

/// An edge dict as an engine edge; unknown keys and missing ones are `InvalidArgument`.
fn edge_from(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<GraphEdge> {
    let py = obj.py();
    let Value::Object(mut map) = json::to_json(obj, what)? else {
        return Err(errors::invalid(
            py,
            format!("{what} must be a dict {{id, source, target, label, properties}}"),
        ));
    };
    let mut number = |key: &str| -> PyResult<u64> {
        match map.remove(key) {
            Some(v) => v.as_u64().ok_or_else(|| {
                errors::invalid(
                    py,
                    format!("{what}[{key:?}] must be an integer in 0 .. 2**64-1, got {v}"),
                )
            }),
            None => Err(errors::invalid(py, format!("{what} has no {key:?}"))),
        }
    };
    let (id, source, target) = (number("id")?, number("source")?, number("target")?);
    let label = match map.remove("label") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(errors::invalid(
                py,
                format!("{what}[\"label\"] must be a string, got {other}"),
            ));
        }
        None => return Err(errors::invalid(py, format!("{what} has no \"label\""))),
    };
    let properties = map.remove("properties").unwrap_or(Value::Null);
    if let Some(key) = map.keys().next() {
        return Err(errors::invalid(
            py,
            format!(
                "{what} has an unknown key {key:?} (an edge has id, source, target, label, properties)"
            ),
        ));
    }
    Ok(GraphEdge::new(id, source, target, label).with_properties(properties))
}

/// An engine edge as a dict.
fn edge_dict<'py>(py: Python<'py>, e: GraphEdge) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", e.id)?;
    d.set_item("source", e.source)?;
    d.set_item("target", e.target)?;
    d.set_item("label", e.label)?;
    d.set_item("properties", json::to_py(py, &e.properties)?)?;
    Ok(d)
}

fn edge_list(py: Python<'_>, edges: Vec<GraphEdge>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for e in edges {
        list.append(edge_dict(py, e)?)?;
    }
    Ok(list)
}

fn traversal_list(py: Python<'_>, results: Vec<TraversalResult>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for r in results {
        let d = PyDict::new(py);
        d.set_item("target_id", r.target)?;
        d.set_item("depth", r.depth)?;
        d.set_item("path", r.path)?;
        list.append(d)?;
    }
    Ok(list)
}

fn traversal_config(
    max_depth: u32,
    limit: usize,
    rel_types: Option<Vec<String>>,
    min_depth: u32,
) -> TraversalConfig {
    TraversalConfig {
        min_depth,
        max_depth,
        limit,
        rel_types: rel_types.unwrap_or_default(),
        ..TraversalConfig::default()
    }
}

#[pymethods]
impl PyGraphCollection {
    /// The collection's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// True when the nodes carry embeddings (``search_by_embedding`` works).
    #[getter]
    fn has_embeddings(&self, py: Python<'_>) -> PyResult<bool> {
        self.call(py, |g| Ok(g.config().default_space().is_some()))
    }

    /// The schema as a dict (``node_types``, ``edge_types``), or ``None`` when schemaless.
    #[getter]
    fn schema<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let schema = self.call(py, |g| Ok(g.schema()))?;
        match schema {
            None => Ok(py.None().into_bound(py)),
            Some(s) => {
                let v = serde_json::to_value(s)
                    .map_err(|e| errors::invalid(py, format!("schema: {e}")))?;
                json::to_py(py, &v)
            }
        }
    }

    /// add_edge(edge) -> None
    ///
    /// Adds one edge ``{"id", "source", "target", "label", "properties"}``. Both endpoints
    /// must exist, the id must be new and the label not blank (``InvalidArgument``,
    /// ``NotFound`` or ``AlreadyExists`` otherwise, nothing written).
    fn add_edge(&self, py: Python<'_>, edge: &Bound<'_, PyAny>) -> PyResult<()> {
        let edge = edge_from(edge, "edge")?;
        self.call(py, |g| g.add_edge(edge))
    }

    /// add_edges_batch(edges) -> int
    ///
    /// Adds a list of edge dicts as one write, all or none; returns how many were added.
    fn add_edges_batch(&self, py: Python<'_>, edges: &Bound<'_, PyAny>) -> PyResult<usize> {
        let mut batch = Vec::new();
        for (i, e) in edges.try_iter()?.enumerate() {
            batch.push(edge_from(&e?, &format!("edges[{i}]"))?);
        }
        let n = batch.len();
        self.call(py, |g| g.add_edges_batch(batch))?;
        Ok(n)
    }

    /// remove_edge(edge_id) -> bool
    ///
    /// Removes the edge; False when there was none.
    fn remove_edge(&self, py: Python<'_>, edge_id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let id = vectors::id(edge_id, "edge_id")?;
        self.call(py, |g| g.remove_edge(id))
    }

    /// get_edges(label=None) -> list[dict]
    ///
    /// The edges labelled ``label`` (every edge without one), sorted by id.
    #[pyo3(signature = (label = None))]
    fn get_edges<'py>(
        &self,
        py: Python<'py>,
        label: Option<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let edges = self.call(py, |g| match &label {
            Some(l) => g.get_edges(l),
            None => g.all_edges(),
        })?;
        edge_list(py, edges)
    }

    /// get_outgoing(node_id) -> list[dict]
    ///
    /// The edges leaving the node.
    fn get_outgoing<'py>(
        &self,
        py: Python<'py>,
        node_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let id = vectors::id(node_id, "node_id")?;
        let edges = self.call(py, |g| g.get_outgoing(id))?;
        edge_list(py, edges)
    }

    /// get_incoming(node_id) -> list[dict]
    ///
    /// The edges entering the node.
    fn get_incoming<'py>(
        &self,
        py: Python<'py>,
        node_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let id = vectors::id(node_id, "node_id")?;
        let edges = self.call(py, |g| g.get_incoming(id))?;
        edge_list(py, edges)
    }

    /// node_degree(node_id) -> tuple[int, int]
    ///
    /// ``(in_degree, out_degree)``.
    fn node_degree(&self, py: Python<'_>, node_id: &Bound<'_, PyAny>) -> PyResult<(usize, usize)> {
        let id = vectors::id(node_id, "node_id")?;
        let d = self.call(py, |g| g.node_degree(id))?;
        Ok((d.incoming, d.outgoing))
    }

    /// edge_count() -> int
    fn edge_count(&self, py: Python<'_>) -> PyResult<usize> {
        self.call(py, GraphCollection::edge_count)
    }

    /// traverse_bfs(source_id, max_depth=3, limit=100, rel_types=None, min_depth=1) -> list[dict]
    ///
    /// Breadth-first from ``source_id`` along outgoing edges (of ``rel_types`` only, when
    /// given): each node once, at its shortest depth, as ``{"target_id", "depth", "path"}``.
    /// A depth over the engine's maximum is ``InvalidArgument``.
    #[pyo3(signature = (source_id, max_depth = 3, limit = 100, rel_types = None, min_depth = 1))]
    fn traverse_bfs<'py>(
        &self,
        py: Python<'py>,
        source_id: &Bound<'py, PyAny>,
        max_depth: u32,
        limit: usize,
        rel_types: Option<Vec<String>>,
        min_depth: u32,
    ) -> PyResult<Bound<'py, PyList>> {
        let id = vectors::id(source_id, "source_id")?;
        let config = traversal_config(max_depth, limit, rel_types, min_depth);
        let results = self.call(py, |g| g.traverse_bfs(id, &config))?;
        traversal_list(py, results)
    }

    /// traverse_dfs(source_id, max_depth=3, limit=100, rel_types=None, min_depth=1) -> list[dict]
    ///
    /// Depth-first, like ``traverse_bfs`` otherwise.
    #[pyo3(signature = (source_id, max_depth = 3, limit = 100, rel_types = None, min_depth = 1))]
    fn traverse_dfs<'py>(
        &self,
        py: Python<'py>,
        source_id: &Bound<'py, PyAny>,
        max_depth: u32,
        limit: usize,
        rel_types: Option<Vec<String>>,
        min_depth: u32,
    ) -> PyResult<Bound<'py, PyList>> {
        let id = vectors::id(source_id, "source_id")?;
        let config = traversal_config(max_depth, limit, rel_types, min_depth);
        let results = self.call(py, |g| g.traverse_dfs(id, &config))?;
        traversal_list(py, results)
    }

    /// upsert_node_payload(node_id, payload) -> None
    ///
    /// Sets the node's payload (a dict; labels in ``_labels``): an existing node keeps its
    /// embedding, a new node is created without one.
    fn upsert_node_payload(
        &self,
        py: Python<'_>,
        node_id: &Bound<'_, PyAny>,
        payload: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let id = vectors::id(node_id, "node_id")?;
        let payload = json::to_json(payload, "payload")?;
        self.call(py, |g| g.upsert_node_payload(id, payload))
    }

    /// store_node_payload(node_id, payload) -> None
    ///
    /// The reference engine's name for ``upsert_node_payload``.
    fn store_node_payload(
        &self,
        py: Python<'_>,
        node_id: &Bound<'_, PyAny>,
        payload: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.upsert_node_payload(py, node_id, payload)
    }

    /// get_node_payload(node_id) -> dict | None
    ///
    /// The node's payload; ``None`` when there is no such node or it has none.
    fn get_node_payload<'py>(
        &self,
        py: Python<'py>,
        node_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = vectors::id(node_id, "node_id")?;
        match self.call(py, |g| g.get_node_payload(id))? {
            Some(v) => json::to_py(py, &v),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// search_by_embedding(query, k=10) -> list[dict]
    ///
    /// The ``k`` nodes nearest the vector, best first, as ``{"id", "score", "payload"}``;
    /// an error when the graph has no embeddings.
    #[pyo3(signature = (query, k = 10))]
    fn search_by_embedding<'py>(
        &self,
        py: Python<'py>,
        query: &Bound<'py, PyAny>,
        k: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let vector = vectors::vector(query, "query")?;
        let hits = self.call(py, |g| g.search_by_embedding(&vector, k))?;
        results_list(py, hits, false, &[])
    }

    /// flush() -> None
    ///
    /// The durability barrier: every earlier node and edge write survives a crash.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.call(py, |g| g.flush())
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.call(py, |g| Ok(g.len()))
    }

    fn __repr__(&self) -> String {
        format!("<nearstore.GraphCollection {:?}>", self.name)
    }
}
