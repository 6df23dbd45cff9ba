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

use crate::body::{Typed, qdrant_ok, raw_to_value};
use crate::error::{Error, Result, blocking};
use crate::qdrant::answer::{
    CollectionDescription, CollectionExistence, CollectionInfo, CollectionsResponse, Flag, Root,
    UpdateResult,
};
use crate::qdrant::collection;
use crate::qdrant::collection_model::{
    CreateCollection, CreateFieldIndex, VectorsConfig, payload_index_memory,
};
use crate::qdrant::model::UpdateCollection;
use crate::qdrant::quantization;
use crate::qdrant::text_index;
use crate::routes::collections::{HnswOptions, collection_config};
use crate::state::AppState;

/// The Qdrant version whose REST API this subset follows (reported by `GET /`).
pub(crate) const QDRANT_API_VERSION: &str = "1.15.0";

/// `GET /`: `{"title", "version", "commit"}` (the Qdrant client checks `version`). `commit`
/// is the `NEARSTORE_COMMIT` environment variable at build time (a release build sets it to
/// the git hash), else null: a development build does not know its commit.
pub(crate) async fn root() -> axum::Json<Root> {
    axum::Json(Root {
        title: "nearstore (Qdrant-compatible REST subset)",
        version: QDRANT_API_VERSION,
        commit: option_env!("NEARSTORE_COMMIT"),
        nearstore_version: env!("CARGO_PKG_VERSION"),
    })
}

/// `PATCH /collections/{name}`: changes the search-time `ef` (`hnsw_config.ef`); any
/// other change is refused with 400 naming it (see [`UpdateCollection`]).
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<UpdateCollection>,
) -> Result<Response> {
    let started = Instant::now();
    let c = collection(&state, &name)?;
    let config = c.config();
    if let Some(ef) = body.into_ef(config.hnsw.m, config.hnsw.ef_construction)? {
        blocking(move || Ok(c.set_ef_search(ef)?)).await?;
    }
    Ok(qdrant_ok(Flag(true), started))
}

/// `GET /collections`.
pub(crate) async fn list(State(state): State<AppState>) -> Response {
    let started = Instant::now();
    let collections = state
        .db
        .list_collections()
        .into_iter()
        .map(|name| CollectionDescription { name })
        .collect();
    qdrant_ok(CollectionsResponse { collections }, started)
}

/// `GET /collections/{name}/exists`.
pub(crate) async fn exists(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let started = Instant::now();
    let exists = state.db.get_vector_collection(&name).is_ok();
    qdrant_ok(CollectionExistence { exists }, started)
}

fn distance_name(m: DistanceMetric) -> &'static str {
    match m {
        DistanceMetric::Cosine => "Cosine",
        DistanceMetric::Euclidean => "Euclid",
        DistanceMetric::DotProduct => "Dot",
        DistanceMetric::Hamming => "Hamming",
        DistanceMetric::Jaccard => "Jaccard",
        DistanceMetric::Manhattan => "Manhattan",
    }
}

fn schema_name(kind: FieldIndexKind) -> &'static str {
    kind.name()
}

/// Where a collection's vectors and payloads live, as Qdrant's `(vectors.on_disk,
/// on_disk_payload)`. Every storage mode serves the `f32` vectors from the memory-mapped
/// vector file (a `full` graph reads them through the store, a quantized one holds only
/// codes in memory and rescores from the file) and payload bodies from the payload log
/// (only the id -> offset index is in memory): both on disk. A storage mode this layer
/// does not know yet is reported as in memory, the claim that promises less.
fn on_disk(mode: StorageMode) -> (bool, bool) {
    match mode {
        StorageMode::Full
        | StorageMode::Sq8
        | StorageMode::Binary
        | StorageMode::Pq
        | StorageMode::Rabitq => (true, true),
        _ => (false, false),
    }
}

/// Qdrant's collection info for `c`.
pub(crate) fn info(c: &VectorCollection) -> Result<CollectionInfo> {
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
    let mut unnamed = json!({
        "size": config.dim,
        "distance": distance_name(config.metric),
        "on_disk": vectors_on_disk,
    });
    let quantization = quantization::report(&config);
    // The collection-wide section covers every dense vector in Qdrant: with named vectors
    // (never quantized) the unnamed vector reports its own.
    let collection_quantization = if config.vectors.is_empty() {
        quantization
    } else {
        if !quantization.is_null() {
            unnamed["quantization_config"] = quantization;
        }
        Value::Null
    };
    let vectors = if config.vectors.is_empty() && config.default_vector {
        unnamed
    } else {
        // Named vectors: a map (Qdrant's shape), with "" only when the default vector exists.
        let mut all = Map::new();
        if config.default_vector {
            all.insert(String::new(), unnamed);
        }
        for (vector_name, space) in &config.vectors {
            all.insert(
                vector_name.clone(),
                json!({
                    "size": space.dim,
                    "distance": distance_name(space.metric),
                    "hnsw_config": {"m": space.hnsw.m, "ef_construct": space.hnsw.ef_construction},
                    "on_disk": vectors_on_disk,
                }),
            );
        }
        Value::Object(all)
    };
    let sparse: Map<String, Value> = c
        .sparse_vectors()
        .into_iter()
        .map(|(name, sc)| {
            let modifier = match sc.modifier {
                nearstore::SparseModifier::Idf => "idf",
                nearstore::SparseModifier::None => "none",
            };
            (name, json!({"modifier": modifier}))
        })
        .collect();
    // Points waiting for the background HNSW indexing (after a bulk load or a replay on
    // open) are searchable but not indexed yet: Qdrant's "yellow" (optimizing).
    let pending = usize::try_from(c.pending_index_count()).unwrap_or(usize::MAX);
    Ok(CollectionInfo {
        status: if pending == 0 { "green" } else { "yellow" },
        optimizer_status: "ok",
        indexed_vectors_count: points.saturating_sub(pending),
        points_count: points,
        segments_count: 1,
        config: json!({
            "params": {
                "vectors": vectors,
                "shard_number": 1,
                "replication_factor": 1,
                "write_consistency_factor": 1,
                "on_disk_payload": payload_on_disk,
                "sparse_vectors": sparse,
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
            "quantization_config": collection_quantization,
            // NearStore extension: the default vector's storage mode by the engine's name
            // (says `rabitq`, which Qdrant's quantization_config has no shape for).
            "nearstore_storage_mode": config.storage_mode.name(),
        }),
        payload_schema: Value::Object(schema),
    })
}

/// `GET /collections/{name}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response> {
    let started = Instant::now();
    let c = collection(&state, &name)?;
    let info = blocking(move || info(&c)).await?;
    Ok(qdrant_ok(info, started))
}

/// The longest collection name Qdrant accepts, in characters.
const MAX_NAME_CHARS: usize = 255;

/// Refuses a collection name Qdrant's validation refuses (empty or over 255 characters)
/// with 422, before the engine sees it (every Qdrant route with a collection name).
pub(crate) fn check_name(name: &str) -> Result<()> {
    check_named("collection_name", name)
}

/// [`check_name`] for a name given in a body field (`alias_name`, `new_alias_name`), the
/// message naming that field.
pub(crate) fn check_named(field: &str, name: &str) -> Result<()> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(Error::validation(format!(
            "{field}: length {chars} invalid, must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(())
}

/// `PUT /collections/{name}`: creates a collection: the unnamed dense vector (`vectors:
/// {size, distance}` or a `""` entry), named dense vectors, named sparse vectors; a map of
/// vectors without `""` (or none at all) makes a collection without a default vector.
pub(crate) async fn create(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<CreateCollection>,
) -> Result<Response> {
    let started = Instant::now();
    check_name(&name)?;
    let plan = body.into_plan()?;
    // A map of vectors without the "" entry (or no dense vector at all) is Qdrant's
    // collection without a default vector: only its named spaces can be searched.
    let (unnamed, named) = match plan.vectors {
        VectorsConfig::Unnamed(p) => (Some(p), Vec::new()),
        VectorsConfig::Named(mut list) => match list.iter().position(|(n, _)| n.is_empty()) {
            Some(i) => {
                let (_, unnamed) = list.remove(i);
                (Some(unnamed), list)
            }
            None => (None, list),
        },
    };
    let mut config = match unnamed {
        Some(params) => {
            let hnsw = params.hnsw_config.clone().unwrap_or_default();
            let options = HnswOptions::new(
                hnsw.m.or(plan.hnsw.m),
                hnsw.ef_construct.or(plan.hnsw.ef_construct),
            );
            let dim = usize::try_from(params.size).unwrap_or(usize::MAX);
            collection_config(&state, dim, params.distance.metric()?, &options)?
        }
        None => {
            // The server's storage defaults, with the placeholder space the engine keeps
            // (empty) for a collection without the default vector.
            let options = HnswOptions::new(plan.hnsw.m, plan.hnsw.ef_construct);
            let mut config = collection_config(&state, 1, DistanceMetric::Cosine, &options)?;
            config.default_vector = false;
            config
        }
    };
    if config.default_vector {
        (config.storage_mode, config.quantization) = plan.storage_mode;
    }
    // Qdrant's collections accept only the sparse vectors they declare (none: none).
    config = config.with_sparse_vectors(plan.sparse_vectors);
    for (vector_name, p) in named {
        let h = p.hnsw_config.clone().unwrap_or_default();
        let named_options = HnswOptions::new(
            h.m.or(plan.hnsw.m),
            h.ef_construct.or(plan.hnsw.ef_construct),
        );
        let dim = usize::try_from(p.size).unwrap_or(usize::MAX);
        let space = collection_config(&state, dim, p.distance.metric()?, &named_options)?;
        let mut vs = nearstore::VectorSpaceConfig::new(space.dim, space.metric);
        vs.hnsw = space.hnsw;
        config = config.with_vector(&vector_name, vs);
    }
    let db = state.db.clone();
    blocking(move || Ok(db.create_collection_with_options(&name, config)?)).await?;
    Ok(qdrant_ok(Flag(true), started))
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
    Ok(qdrant_ok(Flag(dropped), started))
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
    if let Some(Value::Object(o)) = v
        && let Some(memory) = o.get("memory")
    {
        payload_index_memory(memory)?;
    }
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
        "datetime" => FieldIndexKind::Datetime,
        "text" => {
            return Ok(Schema::Text(text_index::analyzer(
                v.unwrap_or(&Value::Null),
            )?));
        }
        "geo" | "uuid" => {
            return Err(Error::not_supported(format!("the {name} payload index")));
        }
        _ => {
            return Err(Error::bad_request(
                "field_schema must be keyword, integer, float, bool, datetime or text",
            ));
        }
    }))
}

/// `PUT /collections/{name}/index`: `{"field_name", "field_schema"}`.
pub(crate) async fn create_index(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<CreateFieldIndex>,
) -> Result<Response> {
    let started = Instant::now();
    let field = body.field_name;
    if field == ALL_FIELD {
        return Err(Error::bad_request(format!(
            "field_name {ALL_FIELD:?} is reserved (every string leaf)"
        )));
    }
    let field_schema = body.field_schema.as_deref().map(raw_to_value).transpose()?;
    let schema = parse_schema(field_schema.as_ref())?;
    let c = collection(&state, &name)?;
    blocking(move || match schema {
        Schema::Payload(kind) => Ok(c.create_field_index(&field, kind)?),
        Schema::Text(analyzer) => Ok(c.create_text_index(&field, analyzer)?),
    })
    .await?;
    Ok(qdrant_ok(UpdateResult::completed(), started))
}

/// `DELETE /collections/{name}/index/{field_name}`: drops the field's payload index and its
/// full-text index, whichever exist.
pub(crate) async fn delete_index(
    State(state): State<AppState>,
    Path((name, field)): Path<(String, String)>,
) -> Result<Response> {
    let started = Instant::now();
    let c = collection(&state, &name)?;
    blocking(move || {
        if field != ALL_FIELD {
            c.drop_text_index(&field)?;
        }
        Ok(c.drop_field_index(&field)?)
    })
    .await?;
    Ok(qdrant_ok(UpdateResult::completed(), started))
}
