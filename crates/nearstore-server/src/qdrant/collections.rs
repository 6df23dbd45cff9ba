//! Qdrant collection routes: `GET /`, list, exists, get info, create, delete, and payload
//! indexes (keyword, integer, float, bool, and full-text: [`text_index`]).

use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::Response;
use nearstore::{
    ALL_FIELD, AnalyzerConfig, DistanceMetric, FieldIndexKind, Filter, StorageMode,
    VectorCollection,
};
use serde_json::{Map, Value, json};

use crate::body::{JsonBody, Typed, qdrant_ok};
use crate::error::{Error, Result, blocking};
use crate::qdrant::model::UpdateCollection;
use crate::qdrant::text_index;
use crate::routes::collections::{HnswOptions, collection_config};
use crate::state::AppState;

/// The Qdrant version whose REST API this subset follows (reported by `GET /`).
pub(crate) const QDRANT_API_VERSION: &str = "1.15.0";

/// `GET /`: `{"title", "version", "commit"}` (the Qdrant client checks `version`). `commit`
/// is the `NEARSTORE_COMMIT` environment variable at build time (a release build sets it to
/// the git hash), else null: a development build does not know its commit.
pub(crate) async fn root() -> axum::Json<Value> {
    axum::Json(json!({
        "title": "nearstore (Qdrant-compatible REST subset)",
        "version": QDRANT_API_VERSION,
        "commit": option_env!("NEARSTORE_COMMIT"),
        "nearstore_version": env!("CARGO_PKG_VERSION"),
    }))
}

/// `PATCH /collections/{name}`: changes the search-time `ef` (`hnsw_config.ef`); any
/// other change is refused with 400 naming it (see [`UpdateCollection`]).
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<UpdateCollection>,
) -> Result<Response> {
    let started = Instant::now();
    let c = state.collection(&name)?;
    let config = c.config();
    if let Some(ef) = body.into_ef(config.hnsw.m, config.hnsw.ef_construction)? {
        blocking(move || Ok(c.set_ef_search(ef)?)).await?;
    }
    Ok(qdrant_ok(true, started))
}

/// `GET /collections`.
pub(crate) async fn list(State(state): State<AppState>) -> Response {
    let started = Instant::now();
    let names: Vec<Value> = state
        .db
        .list_collections()
        .into_iter()
        .map(|name| json!({"name": name}))
        .collect();
    qdrant_ok(json!({"collections": names}), started)
}

/// `GET /collections/{name}/exists`.
pub(crate) async fn exists(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let started = Instant::now();
    let exists = state.db.get_vector_collection(&name).is_ok();
    qdrant_ok(json!({"exists": exists}), started)
}

fn distance_name(m: DistanceMetric) -> &'static str {
    match m {
        DistanceMetric::Cosine => "Cosine",
        DistanceMetric::Euclidean => "Euclid",
        DistanceMetric::DotProduct => "Dot",
        DistanceMetric::Hamming => "Hamming",
        DistanceMetric::Jaccard => "Jaccard",
    }
}

fn parse_distance(v: &Value) -> Result<DistanceMetric> {
    match v.as_str() {
        Some("Cosine") => Ok(DistanceMetric::Cosine),
        Some("Euclid") => Ok(DistanceMetric::Euclidean),
        Some("Dot") => Ok(DistanceMetric::DotProduct),
        Some("Manhattan") => Err(Error::not_supported("the Manhattan distance")),
        _ => Err(Error::bad_request(format!(
            "unknown distance {v} (expected Cosine, Euclid or Dot)"
        ))),
    }
}

fn schema_name(kind: FieldIndexKind) -> &'static str {
    kind.name()
}

/// Where a collection's vectors and payloads live, as Qdrant's `(vectors.on_disk,
/// on_disk_payload)`. `Full` storage serves vectors from the memory-mapped vector file (the
/// HNSW graph reads them through the store, holding no copy) and payload bodies from the
/// payload log (only the id -> offset index is in memory): both on disk. A storage mode this
/// layer does not know yet is reported as in memory, the claim that promises less.
fn on_disk(mode: StorageMode) -> (bool, bool) {
    match mode {
        StorageMode::Full => (true, true),
        _ => (false, false),
    }
}

/// Qdrant's collection info for `c`.
pub(crate) fn info(c: &VectorCollection) -> Result<Value> {
    let config = c.config();
    let points = c.len();
    let (vectors_on_disk, payload_on_disk) = on_disk(config.storage_mode);
    let mut schema = Map::new();
    for (field, kind) in c.field_indexes() {
        let indexed = c.count(Some(&Filter::is_not_null(&field)))?;
        schema.insert(
            field,
            json!({"data_type": schema_name(kind), "points": indexed}),
        );
    }
    // Named full-text fields (the every-string-leaf field has no payload key to report).
    let text_fields = c.text_config().map(|t| t.fields).unwrap_or_default();
    for f in text_fields.into_iter().filter(|f| f.name != ALL_FIELD) {
        let indexed = c.count(Some(&Filter::is_not_null(&f.name)))?;
        schema.insert(
            f.name,
            json!({
                "data_type": "text",
                "params": text_index::params(&f.analyzer),
                "points": indexed,
            }),
        );
    }
    Ok(json!({
        "status": "green",
        "optimizer_status": "ok",
        "indexed_vectors_count": points,
        "points_count": points,
        "segments_count": 1,
        "config": {
            "params": {
                "vectors": {
                    "size": config.dim,
                    "distance": distance_name(config.metric),
                    "on_disk": vectors_on_disk,
                },
                "shard_number": 1,
                "replication_factor": 1,
                "write_consistency_factor": 1,
                "on_disk_payload": payload_on_disk,
            },
            "hnsw_config": {
                "m": config.hnsw.m,
                "ef_construct": config.hnsw.ef_construction,
                "full_scan_threshold": 10000,
                "max_indexing_threads": 0,
                "on_disk": false,
            },
            "optimizer_config": {
                "deleted_threshold": 0.2,
                "vacuum_min_vector_number": 1000,
                "default_segment_number": 0,
                "max_segment_size": null,
                "memmap_threshold": null,
                "indexing_threshold": 0,
                "flush_interval_sec": 5,
                "max_optimization_threads": null,
            },
            "wal_config": {"wal_capacity_mb": 32, "wal_segments_ahead": 0},
            "quantization_config": null,
        },
        "payload_schema": schema,
    }))
}

/// `GET /collections/{name}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response> {
    let started = Instant::now();
    let c = state.collection(&name)?;
    let info = blocking(move || info(&c)).await?;
    Ok(qdrant_ok(info, started))
}

/// The unnamed vector's parameters from `vectors`: `{size, distance}` or `{"": {...}}`.
fn vector_params(v: Option<&Value>) -> Result<&Map<String, Value>> {
    let Some(Value::Object(o)) = v else {
        return Err(Error::bad_request(
            "\"vectors\" must be {\"size\": n, \"distance\": \"Cosine\"}",
        ));
    };
    if o.contains_key("size") {
        return Ok(o);
    }
    match (o.len(), o.get("")) {
        (1, Some(Value::Object(inner))) => Ok(inner),
        _ => Err(Error::not_supported(
            "named vectors (only the default unnamed vector \"\")",
        )),
    }
}

/// The longest collection name Qdrant accepts, in characters.
const MAX_NAME_CHARS: usize = 255;

/// Refuses a collection name Qdrant's validation refuses (empty or over 255 characters) with
/// 422, before the engine sees it.
fn check_name(name: &str) -> Result<()> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(Error::validation(format!(
            "collection_name: length {chars} invalid, must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(())
}

/// `PUT /collections/{name}`: creates a collection with one unnamed dense vector.
pub(crate) async fn create(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response> {
    let started = Instant::now();
    check_name(&name)?;
    for key in [
        "shard_number",
        "replication_factor",
        "write_consistency_factor",
    ] {
        match body.get(key) {
            None | Some(Value::Null) => {}
            Some(v) if v.as_u64().is_some_and(|n| n >= 1) => {}
            Some(v) => {
                return Err(Error::validation(format!(
                    "{key}: value {v} invalid, must be an integer of at least 1"
                )));
            }
        }
    }
    let params = vector_params(body.get("vectors"))?;
    for unsupported in ["multivector_config", "quantization_config"] {
        if params.get(unsupported).is_some_and(|v| !v.is_null()) {
            return Err(Error::not_supported(unsupported));
        }
    }
    if let Some(dt) = params.get("datatype").and_then(Value::as_str)
        && dt != "float32"
    {
        return Err(Error::not_supported(format!("the {dt} vector datatype")));
    }
    for unsupported in ["quantization_config", "init_from", "sharding_method"] {
        if body.get(unsupported).is_some_and(|v| !v.is_null()) {
            return Err(Error::not_supported(unsupported));
        }
    }
    if body
        .get("sparse_vectors")
        .and_then(Value::as_object)
        .is_some_and(|o| !o.is_empty())
    {
        return Err(Error::not_supported("sparse vectors"));
    }
    let dim = params
        .get("size")
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::bad_request("vectors.size must be a positive integer"))?;
    let metric = parse_distance(params.get("distance").unwrap_or(&Value::Null))?;
    let hnsw = body
        .get("hnsw_config")
        .or_else(|| params.get("hnsw_config"))
        .and_then(Value::as_object);
    let get = |k: &str| {
        hnsw.and_then(|h| h.get(k))
            .and_then(Value::as_u64)
            .map(|n| n as usize)
    };
    let options = HnswOptions::new(get("m"), get("ef_construct"));
    let config = collection_config(&state, dim as usize, metric, &options)?;
    let db = state.db.clone();
    blocking(move || Ok(db.create_collection_with_options(&name, config)?)).await?;
    Ok(qdrant_ok(true, started))
}

/// `DELETE /collections/{name}`: `result` is false when there was no such collection.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response> {
    let started = Instant::now();
    let db = state.db.clone();
    let dropped = blocking(move || match db.drop_collection(&name) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == nearstore::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    })
    .await?;
    Ok(qdrant_ok(dropped, started))
}

/// Qdrant's answer to a write.
pub(crate) fn update_result() -> Value {
    json!({"operation_id": 0, "status": "completed"})
}

/// The index a `field_schema` asks for.
enum Schema {
    Payload(FieldIndexKind),
    Text(AnalyzerConfig),
}

fn parse_schema(v: Option<&Value>) -> Result<Schema> {
    let name = match v {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Object(o)) => o.get("type").and_then(Value::as_str).unwrap_or(""),
        _ => "",
    };
    Ok(Schema::Payload(match name {
        "keyword" => FieldIndexKind::Keyword,
        "integer" => {
            let flag = |k: &str| match v.and_then(|o| o.get(k)) {
                Some(Value::Bool(b)) => *b,
                _ => true,
            };
            if !flag("lookup") && !flag("range") {
                return Err(Error::validation(
                    "an integer index must have lookup or range enabled",
                ));
            }
            FieldIndexKind::Integer
        }
        "float" => FieldIndexKind::Float,
        "bool" => FieldIndexKind::Bool,
        "text" => {
            return Ok(Schema::Text(text_index::analyzer(
                v.unwrap_or(&Value::Null),
            )?));
        }
        "geo" | "datetime" | "uuid" => {
            return Err(Error::not_supported(format!("the {name} payload index")));
        }
        _ => {
            return Err(Error::bad_request(
                "field_schema must be keyword, integer, float, bool or text",
            ));
        }
    }))
}

/// `PUT /collections/{name}/index`: `{"field_name", "field_schema"}`.
pub(crate) async fn create_index(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response> {
    let started = Instant::now();
    let field = body
        .get("field_name")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::bad_request("field_name must be a string"))?
        .to_string();
    if field == ALL_FIELD {
        return Err(Error::bad_request(format!(
            "field_name {ALL_FIELD:?} is reserved (every string leaf)"
        )));
    }
    let schema = parse_schema(body.get("field_schema"))?;
    let c = state.collection(&name)?;
    blocking(move || match schema {
        Schema::Payload(kind) => Ok(c.create_field_index(&field, kind)?),
        Schema::Text(analyzer) => Ok(c.create_text_index(&field, analyzer)?),
    })
    .await?;
    Ok(qdrant_ok(update_result(), started))
}

/// `DELETE /collections/{name}/index/{field_name}`: drops the field's payload index and its
/// full-text index, whichever exist.
pub(crate) async fn delete_index(
    State(state): State<AppState>,
    Path((name, field)): Path<(String, String)>,
) -> Result<Response> {
    let started = Instant::now();
    let c = state.collection(&name)?;
    blocking(move || {
        if field != ALL_FIELD {
            c.drop_text_index(&field)?;
        }
        Ok(c.drop_field_index(&field)?)
    })
    .await?;
    Ok(qdrant_ok(update_result(), started))
}
