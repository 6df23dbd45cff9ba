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
use nearstore_filter::FieldIndexKind;
use nearstore_graph::{
    Budget, GraphEdge, GraphSchema, NodeDegree, PropertyTarget, TraversalConfig, TraversalResult,
};
use serde_json::Value;

use crate::collection::{PayloadChange, PointSelector, VectorCollection};
use crate::config::{CollectionConfig, CollectionKind};
use crate::error::Result;
use crate::point::{Point, SearchResult};
use crate::request::{Deadline, WriteOptions};

/// How a graph collection is created.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphCollectionConfig {
    /// Node types and edge types every write is checked against; `None`: schemaless.
    pub schema: Option<GraphSchema>,
    /// The nodes' embeddings (dimension, metric); `None`: no embeddings.
    pub embedding: Option<(usize, DistanceMetric)>,
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

    /// The edge `id`.
    pub fn get_edge(&self, id: u64) -> Result<Option<GraphEdge>> {
        self.points.inner.read_graph(|g| g.get_edge(id))
    }

    /// The edges with these ids (`None` for an id without an edge), in order.
    pub fn edges_by_id(&self, ids: &[u64]) -> Result<Vec<Option<GraphEdge>>> {
        self.points
            .inner
            .read_graph(|g| ids.iter().map(|&id| g.get_edge(id)).collect())
    }

    /// Every edge labelled `label`, sorted by id.
    pub fn get_edges(&self, label: &str) -> Result<Vec<GraphEdge>> {
        self.points.inner.read_graph(|g| g.get_edges(label))
    }

    /// Every edge, sorted by id.
    pub fn all_edges(&self) -> Result<Vec<GraphEdge>> {
        self.points.inner.read_graph(|g| {
            let mut edges: Vec<GraphEdge> = g
                .labels()
                .iter()
                .flat_map(|label| g.get_edges(label))
                .collect();
            edges.sort_unstable_by_key(|e| e.id);
            edges
        })
    }

    /// The edges leaving `node`.
    pub fn get_outgoing(&self, node: u64) -> Result<Vec<GraphEdge>> {
        self.points
            .inner
            .read_graph(|g| g.get_outgoing::<&str>(node, &[]))
    }

    /// The edges leaving `node` with one of `labels` (empty: all).
    pub fn get_outgoing_by_label(&self, node: u64, labels: &[&str]) -> Result<Vec<GraphEdge>> {
        self.points
            .inner
            .read_graph(|g| g.get_outgoing(node, labels))
    }

    /// The edges entering `node`.
    pub fn get_incoming(&self, node: u64) -> Result<Vec<GraphEdge>> {
        self.points
            .inner
            .read_graph(|g| g.get_incoming::<&str>(node, &[]))
    }

    /// The edges entering `node` with one of `labels` (empty: all).
    pub fn get_incoming_by_label(&self, node: u64, labels: &[&str]) -> Result<Vec<GraphEdge>> {
        self.points
            .inner
            .read_graph(|g| g.get_incoming(node, labels))
    }

    /// `node`'s in- and out-degree.
    pub fn node_degree(&self, node: u64) -> Result<NodeDegree> {
        self.points.inner.read_graph(|g| g.node_degree(node))
    }

    /// Number of edges.
    pub fn edge_count(&self) -> Result<usize> {
        self.points.inner.read_graph(|g| g.edge_count())
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
        Ok(self
            .points
            .inner
            .read_graph(|g| g.traverse_bfs(source, config, &budget))??)
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
        Ok(self
            .points
            .inner
            .read_graph(|g| g.traverse_dfs(source, config, &budget))??)
    }

    /// Sets node `id`'s payload: an existing node keeps its embedding, a new node is created
    /// without one. Checked against the schema (labels from `_labels`).
    pub fn upsert_node_payload(&self, id: u64, payload: Value) -> Result<()> {
        let Value::Object(map) = payload else {
            return Err(crate::Error::InvalidArgument(format!(
                "the payload of node {id} must be a JSON object"
            )));
        };
        let exists = self.points.get(&[id])?.first().is_some_and(Option::is_some);
        if exists {
            self.points.update_payload(
                &PointSelector::Ids(vec![id]),
                &PayloadChange::Overwrite(map),
                &WriteOptions::default(),
            )?;
            Ok(())
        } else {
            self.points
                .upsert(vec![Point::without_vector(id, Some(Value::Object(map)))])
        }
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
