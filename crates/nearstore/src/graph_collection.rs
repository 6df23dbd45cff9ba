//! [`GraphCollection`]: the graph API over a graph collection (the reference engine's
//! names), and [`GraphCollectionConfig`].
//!
//! A graph collection is an ordinary collection whose points are the graph's nodes (payload,
//! labels in the payload's `_labels` array, optionally an embedding as the default vector);
//! the collection owns the edges (`collection/graph.rs`). A `GraphCollection` is a handle
//! over the same collection as [`VectorCollection`] (it dereferences to it, so every point
//! operation works on it), with the edge operations added. Deleting a node deletes its edges
//! in the same logged write.

use std::ops::Deref;

use nearstore_distance::DistanceMetric;
use nearstore_filter::{FieldIndexKind, Filter};
use nearstore_graph::{
    Budget, GraphEdge, GraphSchema, NodeDegree, PropertyTarget, TraversalConfig, TraversalResult,
};
use roaring::RoaringTreemap;
use serde_json::Value;

use crate::collection::VectorCollection;
use crate::config::{CollectionConfig, CollectionKind};
use crate::error::Result;
use crate::point::SearchResult;
use crate::request::{Deadline, WriteOptions};

/// How a graph collection is created.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphCollectionConfig {
    /// Node types and edge types every write is checked against; `None`: schemaless.
    pub schema: Option<GraphSchema>,
    /// The nodes' embeddings (dimension, metric); `None`: no embeddings.
    pub embedding: Option<(usize, DistanceMetric)>,
}

/// The key of an edge's id in its document (`SELECT EDGES` conditions): `id` paths are
/// renamed to it, so a property named `id` does not shadow the edge's id.
pub(crate) const EDGE_ID_KEY: &str = "\u{0}edge_id";

/// An edge document's own fields (over properties of the same name).
const EDGE_FIELDS: [&str; 5] = ["source", "target", "label", "properties", EDGE_ID_KEY];

/// What a `SELECT EDGES` condition is evaluated against: the properties, then the edge's
/// own fields (which win over a property of the same name).
fn edge_document(edge: &GraphEdge) -> Value {
    let mut doc = edge.properties.as_object().cloned().unwrap_or_default();
    doc.insert(EDGE_ID_KEY.into(), Value::from(edge.id));
    doc.insert("source".into(), Value::from(edge.source));
    doc.insert("target".into(), Value::from(edge.target));
    doc.insert("label".into(), Value::from(edge.label.clone()));
    doc.insert("properties".into(), edge.properties.clone());
    Value::Object(doc)
}

/// `edges` of `node`, none when `node` is hidden (expired) and none to a hidden node: the
/// edges stay stored until the purge deletes the node, but reads do not show them.
fn visible_edges(
    edges: Vec<GraphEdge>,
    node: u64,
    hidden: Option<&RoaringTreemap>,
) -> Vec<GraphEdge> {
    let Some(h) = hidden else {
        return edges;
    };
    if h.contains(node) {
        return Vec::new();
    }
    edges
        .into_iter()
        .filter(|e| is_visible(e, hidden))
        .collect()
}

/// Whether `edge` shows: neither endpoint is hidden (expired, awaiting the purge).
fn is_visible(edge: &GraphEdge, hidden: Option<&RoaringTreemap>) -> bool {
    hidden.is_none_or(|h| !h.contains(edge.source) && !h.contains(edge.target))
}

/// The number of edges that show: every stored edge but those at a hidden node.
fn visible_edge_count(g: &nearstore_graph::GraphStore, hidden: Option<&RoaringTreemap>) -> usize {
    let Some(h) = hidden else {
        return g.edge_count();
    };
    let mut gone = RoaringTreemap::new();
    for node in h {
        for e in g
            .get_outgoing::<&str>(node, &[])
            .into_iter()
            .chain(g.get_incoming::<&str>(node, &[]))
        {
            gone.insert(e.id);
        }
    }
    g.edge_count().saturating_sub(gone.len() as usize)
}

impl GraphCollectionConfig {
    /// A schemaless graph without embeddings.
    pub fn schemaless() -> Self {
        Self::default()
    }

    /// The same configuration with `schema`.
    #[must_use]
    pub fn with_schema(mut self, schema: GraphSchema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// The same configuration with node embeddings of `dim` dimensions under `metric`.
    #[must_use]
    pub fn with_embedding(mut self, dim: usize, metric: DistanceMetric) -> Self {
        self.embedding = Some((dim, metric));
        self
    }

    /// The collection configuration it stands for.
    pub fn collection_config(&self) -> CollectionConfig {
        let mut config = match self.embedding {
            Some((dim, metric)) => CollectionConfig::new(dim, metric),
            None => CollectionConfig::without_default_vector(),
        };
        config.kind = CollectionKind::Graph;
        config.graph_schema = self.schema.clone();
        config
    }
}

/// Limits of one traversal besides its [`TraversalConfig`]: the guardrails.
#[derive(Debug, Clone, Default)]
pub struct TraversalOptions {
    /// Stop with [`crate::ErrorKind::Cancelled`] past this deadline.
    pub deadline: Option<Deadline>,
    /// The most intermediate rows (visited nodes) one traversal may hold (default
    /// [`nearstore_graph::DEFAULT_MAX_ROWS`]); past it, a `ResourceExhausted` error.
    pub max_rows: Option<usize>,
}

impl TraversalOptions {
    fn budget(&self) -> Budget {
        let mut budget = Budget::default();
        if let Some(d) = &self.deadline {
            budget.deadline = Some(d.instant());
        }
        if let Some(rows) = self.max_rows {
            budget.max_rows = rows;
        }
        budget
    }
}

/// A handle on a graph collection: cheap to clone, `Send + Sync`. It dereferences to the
/// [`VectorCollection`] of the same collection, so every point operation (upsert, delete,
/// get, scroll, count, filters, text search) works on the nodes.
#[derive(Debug, Clone)]
pub struct GraphCollection {
    pub(crate) points: VectorCollection,
}

impl Deref for GraphCollection {
    type Target = VectorCollection;

    fn deref(&self) -> &VectorCollection {
        &self.points
    }
}

impl GraphCollection {
    /// The handle, when `points` is a graph collection.
    pub(crate) fn new(points: VectorCollection) -> Result<Self> {
        points.inner.check_graph()?;
        Ok(GraphCollection { points })
    }

    /// The collection's point API (also reachable through `Deref`).
    pub fn points(&self) -> &VectorCollection {
        &self.points
    }

    /// The graph schema, `None` when schemaless.
    pub fn schema(&self) -> Option<GraphSchema> {
        self.points.config().graph_schema
    }

    /// Adds one edge (see [`GraphCollection::add_edges_batch`]).
    pub fn add_edge(&self, edge: GraphEdge) -> Result<()> {
        self.add_edges_batch(vec![edge])
    }

    /// Adds edges, all or none, as one logged write: every label non-blank, every id new,
    /// both endpoints live nodes and, with a schema, every edge declared between its
    /// endpoints' types; otherwise an error and nothing written.
    pub fn add_edges_batch(&self, edges: Vec<GraphEdge>) -> Result<()> {
        self.points.inner.add_edges(edges, &WriteOptions::default())
    }

    /// [`GraphCollection::add_edges_batch`] with write options (a deadline).
    pub fn add_edges_with(&self, edges: Vec<GraphEdge>, options: &WriteOptions) -> Result<()> {
        self.points.inner.add_edges(edges, options)
    }

    /// Removes the edge `id`; false when there is none (nothing written).
    pub fn remove_edge(&self, id: u64) -> Result<bool> {
        self.points.inner.remove_edge(id, &WriteOptions::default())
    }

    /// The edge `id` (`None` too while an endpoint is expired: an expired node and its
    /// edges are invisible to every read until the purge deletes them).
    pub fn get_edge(&self, id: u64) -> Result<Option<GraphEdge>> {
        self.points
            .inner
            .read_visible_graph(|g, hidden| g.get_edge(id).filter(|e| is_visible(e, hidden)))
    }

    /// The edges with these ids (`None` for an id without a visible edge), in order.
    pub fn edges_by_id(&self, ids: &[u64]) -> Result<Vec<Option<GraphEdge>>> {
        self.points.inner.read_visible_graph(|g, hidden| {
            ids.iter()
                .map(|&id| g.get_edge(id).filter(|e| is_visible(e, hidden)))
                .collect()
        })
    }

    /// Every visible edge labelled `label`, sorted by id.
    pub fn get_edges(&self, label: &str) -> Result<Vec<GraphEdge>> {
        self.points.inner.read_visible_graph(|g, hidden| {
            let mut edges = g.get_edges(label);
            edges.retain(|e| is_visible(e, hidden));
            edges
        })
    }

    /// The edges whose document matches `filter` (all without one), in id order, at most
    /// `limit`: what `SELECT EDGES` returns. The document is the edge's properties with its
    /// own fields over them (`source`, `target`, `label`, `properties`, and the id under a
    /// key no property can have, which the query language's `id` is renamed to); the edge property indexes narrow the candidates when no indexed
    /// property shares a name with those fields. `Cancelled` past the deadline.
    pub fn select_edges(
        &self,
        filter: Option<&Filter>,
        limit: usize,
        deadline: Option<&Deadline>,
    ) -> Result<Vec<GraphEdge>> {
        self.points
            .inner
            .scan_edges(filter, &EDGE_FIELDS, limit, deadline, |edge| {
                filter.is_none_or(|f| f.matches(&edge_document(edge)))
            })
    }

    /// Every visible edge, sorted by id.
    pub fn all_edges(&self) -> Result<Vec<GraphEdge>> {
        self.points.inner.read_visible_graph(|g, hidden| {
            let mut edges: Vec<GraphEdge> = g
                .labels()
                .iter()
                .flat_map(|label| g.get_edges(label))
                .filter(|e| is_visible(e, hidden))
                .collect();
            edges.sort_unstable_by_key(|e| e.id);
            edges
        })
    }

    /// The edges leaving `node`.
    pub fn get_outgoing(&self, node: u64) -> Result<Vec<GraphEdge>> {
        self.points.inner.read_visible_graph(|g, hidden| {
            visible_edges(g.get_outgoing::<&str>(node, &[]), node, hidden)
        })
    }

    /// The edges leaving `node` with one of `labels` (empty: all).
    pub fn get_outgoing_by_label(&self, node: u64, labels: &[&str]) -> Result<Vec<GraphEdge>> {
        self.points.inner.read_visible_graph(|g, hidden| {
            visible_edges(g.get_outgoing(node, labels), node, hidden)
        })
    }

    /// The edges entering `node`.
    pub fn get_incoming(&self, node: u64) -> Result<Vec<GraphEdge>> {
        self.points.inner.read_visible_graph(|g, hidden| {
            visible_edges(g.get_incoming::<&str>(node, &[]), node, hidden)
        })
    }

    /// The edges entering `node` with one of `labels` (empty: all).
    pub fn get_incoming_by_label(&self, node: u64, labels: &[&str]) -> Result<Vec<GraphEdge>> {
        self.points.inner.read_visible_graph(|g, hidden| {
            visible_edges(g.get_incoming(node, labels), node, hidden)
        })
    }

    /// `node`'s in- and out-degree, counting visible edges (an expired node has none).
    pub fn node_degree(&self, node: u64) -> Result<NodeDegree> {
        self.points
            .inner
            .read_visible_graph(|g, hidden| match hidden {
                None => g.node_degree(node),
                Some(_) => {
                    let outgoing = visible_edges(g.get_outgoing::<&str>(node, &[]), node, hidden);
                    let incoming = visible_edges(g.get_incoming::<&str>(node, &[]), node, hidden);
                    NodeDegree {
                        incoming: incoming.len(),
                        outgoing: outgoing.len(),
                    }
                }
            })
    }

    /// Number of visible edges (those at an expired node are not counted).
    pub fn edge_count(&self) -> Result<usize> {
        self.points.inner.read_visible_graph(visible_edge_count)
    }

    /// Breadth-first traversal from `source`: each node once, at its shortest depth, with the
    /// edge ids of one shortest path (default guardrails: see [`TraversalOptions`]).
    pub fn traverse_bfs(
        &self,
        source: u64,
        config: &TraversalConfig,
    ) -> Result<Vec<TraversalResult>> {
        self.traverse_bfs_with(source, config, &TraversalOptions::default())
    }

    /// [`GraphCollection::traverse_bfs`] with a deadline and a row limit.
    pub fn traverse_bfs_with(
        &self,
        source: u64,
        config: &TraversalConfig,
        options: &TraversalOptions,
    ) -> Result<Vec<TraversalResult>> {
        let budget = options.budget();
        Ok(self.points.inner.read_visible_graph(|g, hidden| {
            g.traverse_bfs_visible(source, config, &budget, hidden)
        })??)
    }

    /// Depth-first traversal from `source`: each node once, at its first depth-first depth.
    pub fn traverse_dfs(
        &self,
        source: u64,
        config: &TraversalConfig,
    ) -> Result<Vec<TraversalResult>> {
        self.traverse_dfs_with(source, config, &TraversalOptions::default())
    }

    /// [`GraphCollection::traverse_dfs`] with a deadline and a row limit.
    pub fn traverse_dfs_with(
        &self,
        source: u64,
        config: &TraversalConfig,
        options: &TraversalOptions,
    ) -> Result<Vec<TraversalResult>> {
        let budget = options.budget();
        Ok(self.points.inner.read_visible_graph(|g, hidden| {
            g.traverse_dfs_visible(source, config, &budget, hidden)
        })??)
    }

    /// Sets node `id`'s payload: a visible node keeps its embedding, a new node (or one
    /// that expired and awaits the purge) is created without one. Checked against the
    /// schema (labels from `_labels`; with a schema, a new label that an existing edge
    /// would break is refused and nothing is written). Decided once with the writer held:
    /// `Ok` means the payload was written, even if the node expires during the call.
    pub fn upsert_node_payload(&self, id: u64, payload: Value) -> Result<()> {
        let Value::Object(map) = payload else {
            return Err(crate::Error::InvalidArgument(format!(
                "the payload of node {id} must be a JSON object"
            )));
        };
        self.points.inner.upsert_node_payload(id, map)
    }

    /// Node `id`'s payload (`None`: no such node, or a node without payload).
    pub fn get_node_payload(&self, id: u64) -> Result<Option<Value>> {
        Ok(self
            .points
            .get(&[id])?
            .into_iter()
            .next()
            .flatten()
            .and_then(|p| p.payload))
    }

    /// The `k` nodes whose embeddings are nearest `vector`, best first; an error
    /// ([`crate::Error::NoEmbedding`]) when the graph has no embeddings.
    pub fn search_by_embedding(&self, vector: &[f32], k: usize) -> Result<Vec<SearchResult>> {
        self.points.search(vector, k)
    }

    /// Creates an equality / range index on node payload field `field` (used by MATCH to
    /// pick its start nodes); persisted with the graph image.
    pub fn create_node_property_index(&self, field: &str, kind: FieldIndexKind) -> Result<()> {
        self.points
            .inner
            .create_graph_index(PropertyTarget::Node, field, kind)
    }

    /// Creates an equality / range index on edge property `field`.
    pub fn create_edge_property_index(&self, field: &str, kind: FieldIndexKind) -> Result<()> {
        self.points
            .inner
            .create_graph_index(PropertyTarget::Edge, field, kind)
    }

    /// Drops a node or edge property index; false when there was none.
    pub fn drop_property_index(&self, target: PropertyTarget, field: &str) -> Result<bool> {
        self.points.inner.drop_graph_index(target, field)
    }

    /// The node or edge property indexes, as (field, kind).
    pub fn property_indexes(
        &self,
        target: PropertyTarget,
    ) -> Result<Vec<(String, FieldIndexKind)>> {
        self.points.inner.read_graph(|g| g.indexed_fields(target))
    }
}
