//! Graph bodies: creating a graph or a metadata collection, edges in and out, degrees,
//! traversal, node payloads and the search by embedding, each with its one conversion into
//! what the engine's `GraphCollection` takes.

use nearstore::{
    DistanceMetric, GraphCollection, GraphCollectionConfig, GraphEdge, GraphSchema, NodeDegree,
    TraversalConfig, TraversalResult,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::body::bounded::{Bounded, PointsLimit};
use crate::body::raw_to_value;
use crate::config::Limits;
use crate::error::{Error, Result};
use crate::model::collections::MetricName;
use crate::model::points::VectorIn;
use crate::model::{RawJson, yes};

/// The node embeddings of a graph collection.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmbeddingSpec {
    /// Dimension of every node's embedding.
    pub(crate) dim: usize,
    /// Metric of the search by embedding (default cosine).
    #[serde(default)]
    pub(crate) metric: MetricName,
}

/// `POST /v1/graphs` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateGraph {
    pub(crate) name: String,
    /// Node embeddings (`dim`, `metric`); without it the nodes carry payloads only and the
    /// search by embedding is an error.
    #[serde(default)]
    pub(crate) embedding: Option<EmbeddingSpec>,
    /// Node and edge types every write is checked against (the engine's schema form:
    /// `{"node_types": [{"label", "properties": [[name, type], ...]}], "edge_types":
    /// [{"label", "from", "to"}]}`, a type one of `String`, `Integer`, `Float`, `Boolean`,
    /// `Vector`); absent or null: schemaless.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) schema: Option<RawJson>,
}

impl CreateGraph {
    /// The name and the engine's configuration, within the server's dimension limit; a
    /// schema that does not parse or is ill-formed is a 400 naming the problem.
    pub(crate) fn into_config(self, limits: &Limits) -> Result<(String, GraphCollectionConfig)> {
        let mut config = GraphCollectionConfig::schemaless();
        if let Some(e) = self.embedding {
            if e.dim == 0 || e.dim > limits.max_dimension {
                return Err(Error::bad_request(format!(
                    "embedding dim must be between 1 and {}, got {}",
                    limits.max_dimension, e.dim
                )));
            }
            config = config.with_embedding(e.dim, e.metric.into());
        }
        if let Some(raw) = self.schema {
            match raw_to_value(&raw)? {
                Value::Null => {}
                v => {
                    let schema: GraphSchema = serde_json::from_value(v)
                        .map_err(|e| Error::bad_request(format!("bad graph schema: {e}")))?;
                    schema.validate().map_err(nearstore::Error::from)?;
                    config = config.with_schema(schema);
                }
            }
        }
        Ok((self.name, config))
    }
}

/// `POST /v1/metadata_collections` body: a collection of payload-only points.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateMetadata {
    pub(crate) name: String,
}

/// The native description of a graph collection.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GraphInfo {
    pub(crate) name: String,
    /// Nodes (the collection's points).
    pub(crate) points_count: usize,
    pub(crate) edges_count: usize,
    /// The node embeddings, when the graph has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) embedding: Option<EmbeddingSpec>,
    /// The schema, when the graph has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub(crate) schema: Option<Value>,
}

impl GraphInfo {
    pub(crate) fn of(g: &GraphCollection) -> Result<Self> {
        let config = g.config();
        let embedding = config.default_space().map(|s| EmbeddingSpec {
            dim: s.dim,
            metric: metric_name(s.metric),
        });
        let schema = match g.schema() {
            Some(s) => Some(
                serde_json::to_value(s)
                    .map_err(|e| Error::Engine(nearstore::Error::Internal(e.to_string())))?,
            ),
            None => None,
        };
        Ok(GraphInfo {
            name: g.name().to_string(),
            points_count: g.len(),
            edges_count: g.edge_count()?,
            embedding,
            schema,
        })
    }
}

fn metric_name(m: DistanceMetric) -> MetricName {
    match m {
        DistanceMetric::Cosine => MetricName::Cosine,
        DistanceMetric::Euclidean => MetricName::Euclidean,
        DistanceMetric::DotProduct => MetricName::Dot,
        DistanceMetric::Hamming => MetricName::Hamming,
        DistanceMetric::Jaccard => MetricName::Jaccard,
        DistanceMetric::Manhattan => MetricName::Manhattan,
    }
}

/// One edge in a request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EdgeIn {
    /// Edge id, unique in the graph.
    pub(crate) id: u64,
    /// The node the edge leaves (must exist).
    pub(crate) source: u64,
    /// The node the edge enters (must exist).
    pub(crate) target: u64,
    /// The relationship type (not blank).
    pub(crate) label: String,
    /// A JSON object (absent or null: none).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) properties: Option<RawJson>,
}

impl EdgeIn {
    pub(crate) fn into_edge(self) -> Result<GraphEdge> {
        let properties = match self.properties {
            None => Value::Null,
            Some(raw) => raw_to_value(&raw)?,
        };
        Ok(
            GraphEdge::new(self.id, self.source, self.target, self.label)
                .with_properties(properties),
        )
    }
}

/// `POST /v1/graphs/{name}/edges/batch` body: edges added all or none.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddEdges {
    #[schema(value_type = Vec<EdgeIn>)]
    pub(crate) edges: Bounded<EdgeIn, PointsLimit>,
}

impl AddEdges {
    pub(crate) fn into_edges(self) -> Result<Vec<GraphEdge>> {
        self.edges
            .into_vec()
            .into_iter()
            .map(EdgeIn::into_edge)
            .collect()
    }
}

/// Answer of the edge writes.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EdgesAdded {
    pub(crate) added: usize,
}

/// `DELETE /v1/graphs/{name}/edges/{id}` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EdgeRemoved {
    /// False when there was no such edge (nothing written).
    pub(crate) removed: bool,
}

/// One edge in an answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EdgeOut {
    pub(crate) id: u64,
    pub(crate) source: u64,
    pub(crate) target: u64,
    pub(crate) label: String,
    #[schema(value_type = Object)]
    pub(crate) properties: Value,
}

impl From<GraphEdge> for EdgeOut {
    fn from(e: GraphEdge) -> Self {
        EdgeOut {
            id: e.id,
            source: e.source,
            target: e.target,
            label: e.label,
            properties: e.properties,
        }
    }
}

/// A list of edges (sorted by id for `edges`; adjacency order for a node's edges).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EdgeList {
    pub(crate) edges: Vec<EdgeOut>,
}

impl EdgeList {
    pub(crate) fn of(edges: Vec<GraphEdge>) -> Self {
        EdgeList {
            edges: edges.into_iter().map(EdgeOut::from).collect(),
        }
    }
}

/// `GET /v1/graphs/{name}/edges` query: `?label=KNOWS` (absent: every edge).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EdgeQuery {
    pub(crate) label: Option<String>,
}

/// `GET /v1/graphs/{name}/nodes/{id}/degree` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Degree {
    pub(crate) incoming: usize,
    pub(crate) outgoing: usize,
}

impl From<NodeDegree> for Degree {
    fn from(d: NodeDegree) -> Self {
        Degree {
            incoming: d.incoming,
            outgoing: d.outgoing,
        }
    }
}

fn one() -> u32 {
    1
}

fn three() -> u32 {
    3
}

fn hundred() -> usize {
    100
}

/// `POST /v1/graphs/{name}/traverse/bfs` and `/dfs` body: the reference's
/// `TraversalConfig` and the source node (outgoing edges).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Traverse {
    pub(crate) source: u64,
    /// Shallowest depth reported (0 reports the source itself).
    #[serde(default = "one")]
    #[schema(default = 1)]
    pub(crate) min_depth: u32,
    /// Deepest depth followed (the engine refuses more than its maximum).
    #[serde(default = "three")]
    #[schema(default = 3)]
    pub(crate) max_depth: u32,
    /// The most results.
    #[serde(default = "hundred")]
    #[schema(default = 100)]
    pub(crate) limit: usize,
    /// Relationship types followed (empty: every type).
    #[serde(default)]
    pub(crate) rel_types: Vec<String>,
}

impl Traverse {
    /// The source and the engine's traversal configuration; `limit` within the server's
    /// batch limit.
    pub(crate) fn into_config(self, limits: &Limits) -> Result<(u64, TraversalConfig)> {
        if self.limit > limits.max_batch_points {
            return Err(Error::TooLarge(format!(
                "limit {} is over the server's {} results",
                self.limit, limits.max_batch_points
            )));
        }
        Ok((
            self.source,
            TraversalConfig {
                min_depth: self.min_depth,
                max_depth: self.max_depth,
                limit: self.limit,
                rel_types: self.rel_types,
                ..TraversalConfig::default()
            },
        ))
    }
}

/// One node reached by a traversal.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Reached {
    /// The node.
    pub(crate) target: u64,
    /// Edges from the source.
    pub(crate) depth: u32,
    /// Edge ids of the path from the source.
    pub(crate) path: Vec<u64>,
}

/// A traversal's answer, in the order the traversal reached the nodes.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TraversalAnswer {
    pub(crate) results: Vec<Reached>,
}

impl TraversalAnswer {
    pub(crate) fn of(results: Vec<TraversalResult>) -> Self {
        TraversalAnswer {
            results: results
                .into_iter()
                .map(|r| Reached {
                    target: r.target,
                    depth: r.depth,
                    path: r.path,
                })
                .collect(),
        }
    }
}

/// `GET /v1/graphs/{name}/nodes/{id}/payload` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NodePayload {
    pub(crate) id: u64,
    /// Null when the node has none.
    #[schema(value_type = Option<Object>)]
    pub(crate) payload: Option<Value>,
}

/// `PUT /v1/graphs/{name}/nodes/{id}/payload` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NodePayloadSet {
    pub(crate) id: u64,
    pub(crate) updated: bool,
}

fn ten() -> usize {
    10
}

/// `POST /v1/graphs/{name}/search` body: the nodes nearest an embedding.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmbeddingSearch {
    #[schema(value_type = Vec<f32>)]
    pub(crate) vector: VectorIn,
    #[serde(default = "ten")]
    #[schema(default = 10)]
    pub(crate) limit: usize,
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub(crate) with_payload: bool,
}

/// `PUT /v1/graphs/{name}/nodes/{id}/payload` body: the node's new payload (an existing
/// node keeps its embedding; a new node is created without one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetNodePayload {
    #[schema(value_type = Object)]
    pub(crate) payload: RawJson,
}

impl SetNodePayload {
    pub(crate) fn into_value(self) -> Result<Value> {
        match raw_to_value(&self.payload)? {
            v @ Value::Object(_) => Ok(v),
            other => Err(Error::bad_request(format!(
                "a node payload must be a JSON object, got {other}"
            ))),
        }
    }
}
