//! Typed Qdrant answers: the `result` of each route as a serde struct with a `utoipa`
//! schema, so `/openapi.json` describes what the handlers really send (the routes wrap them
//! in Qdrant's `{result, status, time}` envelope, whose schema
//! [`crate::qdrant::schema::envelope`] adds).
//!
//! Floats that were stored as `f32` (vectors, scores) are carried as JSON numbers printed
//! as the shortest `f32` form ([`crate::qdrant::points::f32_number`]).
//! Must not depend on axum: these are values, not handlers.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::qdrant::schema::{OrderValueSchema, PayloadOutSchema, PointIdSchema, VectorOutSchema};

/// A search hit: Qdrant's `ScoredPoint`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantScoredPoint)]
pub(crate) struct ScoredPoint {
    #[schema(value_type = PointIdSchema)]
    pub(crate) id: Value,
    pub(crate) version: u64,
    #[schema(value_type = f64)]
    pub(crate) score: Value,
    #[schema(value_type = PayloadOutSchema)]
    pub(crate) payload: Value,
    #[schema(value_type = VectorOutSchema)]
    pub(crate) vector: Value,
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<Value>,
    #[schema(value_type = OrderValueSchema)]
    pub(crate) order_value: Option<Value>,
}

/// A stored point: Qdrant's `Record`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantRecord)]
pub(crate) struct Record {
    #[schema(value_type = PointIdSchema)]
    pub(crate) id: Value,
    #[schema(value_type = PayloadOutSchema)]
    pub(crate) payload: Value,
    #[schema(value_type = VectorOutSchema)]
    pub(crate) vector: Value,
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<Value>,
    /// The `order_by` field's value on an ordered scroll (a number or a date string).
    #[schema(value_type = OrderValueSchema)]
    pub(crate) order_value: Option<Value>,
}

/// `points/search` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantScoredPoints)]
#[serde(transparent)]
pub(crate) struct ScoredPoints(pub(crate) Vec<ScoredPoint>);

/// `points/search/batch` and `points/recommend/batch` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantScoredPointsBatch)]
#[serde(transparent)]
pub(crate) struct ScoredPointsBatch(pub(crate) Vec<Vec<ScoredPoint>>);

/// `points/query` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantQueryResponse)]
pub(crate) struct QueryResponse {
    pub(crate) points: Vec<ScoredPoint>,
}

/// `points/query/batch` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantQueryBatchResponse)]
#[serde(transparent)]
pub(crate) struct QueryBatchResponse(pub(crate) Vec<QueryResponse>);

/// Retrieve answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantRecords)]
#[serde(transparent)]
pub(crate) struct Records(pub(crate) Vec<Record>);

/// `points/scroll` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantScrollResult)]
pub(crate) struct ScrollResult {
    pub(crate) points: Vec<Record>,
    /// The next page's first id (null on the last page and on ordered scrolls).
    #[schema(value_type = Option<PointIdSchema>)]
    pub(crate) next_page_offset: Value,
}

/// `points/count` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantCountResult)]
pub(crate) struct CountResult {
    pub(crate) count: usize,
}

/// One collection of `GET /collections`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantCollectionDescription)]
pub(crate) struct CollectionDescription {
    pub(crate) name: String,
}

/// `GET /collections` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantCollectionsResponse)]
pub(crate) struct CollectionsResponse {
    pub(crate) collections: Vec<CollectionDescription>,
}

/// `GET /collections/{name}/exists` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantCollectionExistence)]
pub(crate) struct CollectionExistence {
    pub(crate) exists: bool,
}

/// `GET /collections/{name}` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantCollectionInfo)]
pub(crate) struct CollectionInfo {
    pub(crate) status: &'static str,
    pub(crate) optimizer_status: &'static str,
    pub(crate) indexed_vectors_count: usize,
    pub(crate) points_count: usize,
    pub(crate) segments_count: usize,
    /// `{params: {vectors, sparse_vectors?, shard_number, ...}, hnsw_config,
    /// optimizer_config, wal_config, quantization_config, nearstore_storage_mode}`
    /// (`nearstore_storage_mode`, a NearStore extension: `full`, `sq8`, `binary`, `pq` or
    /// `rabitq`).
    #[schema(value_type = Object)]
    pub(crate) config: Value,
    /// Indexed payload fields: `{field: {data_type, points, params?}}`.
    #[schema(value_type = Object)]
    pub(crate) payload_schema: Value,
}

/// `true` (collection create, update, delete).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantFlag)]
#[serde(transparent)]
pub(crate) struct Flag(pub(crate) bool);

/// A write's answer: Qdrant's `UpdateResult`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantUpdateResult)]
pub(crate) struct UpdateResult {
    pub(crate) operation_id: u64,
    /// Always `completed`: the write is applied when the answer is sent.
    pub(crate) status: &'static str,
}

impl UpdateResult {
    pub(crate) fn completed() -> Self {
        UpdateResult {
            operation_id: 0,
            status: "completed",
        }
    }
}

/// `points/batch` answer: one result per operation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantUpdateResults)]
#[serde(transparent)]
pub(crate) struct UpdateResults(pub(crate) Vec<UpdateResult>);

/// `GET /` answer (not enveloped).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantRoot)]
pub(crate) struct Root {
    pub(crate) title: &'static str,
    /// The Qdrant version whose REST API this subset follows.
    pub(crate) version: &'static str,
    /// The build's commit, when the build knew it.
    pub(crate) commit: Option<&'static str>,
    pub(crate) nearstore_version: &'static str,
}
