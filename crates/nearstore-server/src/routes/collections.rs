//! Native collection routes: create, list, get info, delete.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nearstore::{CollectionConfig, DistanceMetric, Durability, VectorCollection};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::body::JsonBody;
use crate::error::{Error, Result, blocking};
use crate::state::AppState;

/// `POST /v1/collections` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateCollection {
    name: String,
    dim: usize,
    #[serde(default = "default_metric")]
    metric: DistanceMetric,
    #[serde(default)]
    hnsw: HnswOptions,
    #[serde(default)]
    durability: Option<Durability>,
    #[serde(default)]
    max_payload_bytes: Option<usize>,
}

fn default_metric() -> DistanceMetric {
    DistanceMetric::Cosine
}

/// HNSW options; every field optional (engine defaults).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HnswOptions {
    m: Option<usize>,
    ef_construction: Option<usize>,
    ef_search: Option<usize>,
    seed: Option<u64>,
}

/// Builds an engine config, checking the server's dimension limit.
pub(crate) fn collection_config(
    state: &AppState,
    dim: usize,
    metric: DistanceMetric,
    hnsw: &HnswOptions,
) -> Result<CollectionConfig> {
    if dim > state.limits.max_dimension {
        return Err(Error::bad_request(format!(
            "dimension {dim} is over the server's limit of {}",
            state.limits.max_dimension
        )));
    }
    let mut config = CollectionConfig::new(dim, metric);
    if let Some(m) = hnsw.m {
        config.hnsw.m = m;
    }
    if let Some(ef) = hnsw.ef_construction {
        config.hnsw.ef_construction = ef;
    }
    if let Some(ef) = hnsw.ef_search {
        config.hnsw.ef_search = ef;
    }
    if let Some(seed) = hnsw.seed {
        config.hnsw.seed = seed;
    }
    Ok(config)
}

impl HnswOptions {
    pub(crate) fn new(m: Option<usize>, ef_construction: Option<usize>) -> Self {
        HnswOptions {
            m,
            ef_construction,
            ef_search: None,
            seed: None,
        }
    }
}

/// The native description of a collection.
pub(crate) fn info(c: &VectorCollection) -> Value {
    let config = c.config();
    let indexes: Vec<Value> = c
        .field_indexes()
        .into_iter()
        .map(|(field, kind)| json!({"field": field, "kind": kind}))
        .collect();
    json!({
        "name": c.name(),
        "dim": config.dim,
        "metric": config.metric,
        "storage_mode": config.storage_mode,
        "durability": config.durability,
        "max_payload_bytes": config.max_payload_bytes,
        "hnsw": {
            "m": config.hnsw.m,
            "ef_construction": config.hnsw.ef_construction,
            "ef_search": config.hnsw.ef_search,
            "seed": config.hnsw.seed,
        },
        "points_count": c.len(),
        "field_indexes": indexes,
    })
}

/// `POST /v1/collections`: 201 with the collection's info.
pub(crate) async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateCollection>,
) -> Result<Response> {
    let mut config = collection_config(&state, body.dim, body.metric, &body.hnsw)?;
    if let Some(d) = body.durability {
        config.durability = d;
    }
    if let Some(bytes) = body.max_payload_bytes {
        config.max_payload_bytes = bytes;
    }
    let db = state.db.clone();
    let c = blocking(move || Ok(db.create_collection_with_options(&body.name, config)?)).await?;
    Ok((StatusCode::CREATED, Json(info(&c))).into_response())
}

/// `GET /v1/collections`.
pub(crate) async fn list(State(state): State<AppState>) -> Json<Value> {
    let collections: Vec<Value> = state
        .db
        .list_collections()
        .iter()
        .filter_map(|name| state.db.get_vector_collection(name).ok())
        .map(|c| info(&c))
        .collect();
    Json(json!({"collections": collections}))
}

/// `GET /v1/collections/{name}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    Ok(Json(info(&state.collection(&name)?)))
}

/// `DELETE /v1/collections/{name}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    let db = state.db.clone();
    blocking(move || Ok(db.drop_collection(&name)?)).await?;
    Ok(Json(json!({"deleted": true})))
}
