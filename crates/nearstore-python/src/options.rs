//! Keyword options, already converted to JSON, checked and turned into engine values:
//! collection options into a [`CollectionConfig`], search options into a [`SearchRequest`].
//!
//! Every option has one meaning; an unknown one is refused with the list of the accepted
//! ones, never ignored. Options for features the engine does not have yet ([`NOT_YET`],
//! empty today) are recognized and refused with an `Unsupported` error that names the
//! feature, so code written for them fails loudly and works unchanged when they arrive.
//! Plain Rust over `serde_json` values: no Python here, so the rules are unit-tested
//! without an interpreter.

use std::collections::BTreeMap;

use nearstore::{
    CollectionConfig, DistanceMetric, Durability, Error, Filter, HnswParams, Leg,
    MAX_SEARCH_RESULTS, Result, SearchQuality, SearchRequest, SparseConfig, StorageMode,
    VectorSpaceConfig,
};
use serde_json::{Map, Value};

use crate::text;

/// Options `create_collection` accepts besides `name`, `dim` and `metric`.
pub(crate) const COLLECTION_OPTIONS: &[&str] = &[
    "m",
    "ef_construction",
    "ef_search",
    "seed",
    "durability",
    "max_payload_bytes",
    "storage_mode",
    "oversampling",
    "train_at",
    "rabitq_bits",
    "quantile",
    "text",
    "sparse",
    "vectors",
];

/// Options a named dense vector of `create_collection(vectors={name: {...}})` accepts.
pub(crate) const VECTOR_OPTIONS: &[&str] = &[
    "dim",
    "metric",
    "m",
    "ef_construction",
    "ef_search",
    "seed",
    "storage_mode",
];

/// Options `query` besides the vector.
pub(crate) const SEARCH_OPTIONS: &[&str] = &[
    "limit",
    "offset",
    "filter",
    "quality",
    "ef",
    "with_payload",
    "with_vector",
    "score_threshold",
    "text",
    "text_field",
    "fusion",
    "dense",
    "sparse",
    "using",
    "rerank",
    "oversampling",
];

/// Request options reserved for engine features that do not exist yet, with what they
/// need (none today: `using`, reserved for named vectors, is served).
pub(crate) const NOT_YET: &[(&str, &str)] = &[];

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidArgument(message.into())
}

/// An invalid-argument error about a part of `what`, prefixed with it.
fn within(what: &str, e: Error) -> Error {
    match e {
        Error::InvalidArgument(m) => invalid(format!("{what}: {m}")),
        other => other,
    }
}

/// A metric by name, case-insensitively (`cosine`, `euclidean` / `l2`, `dot` /
/// `dot_product`, `hamming`, `jaccard`, `manhattan` / `l1`).
pub(crate) fn metric(name: &str) -> Result<DistanceMetric> {
    let lower = name.trim().to_ascii_lowercase();
    lower.parse::<DistanceMetric>().map_err(|_| {
        invalid(format!(
            "unknown metric {name:?}: expected one of cosine, euclidean (l2), dot (dot_product), hamming, jaccard, manhattan (l1)"
        ))
    })
}

/// Refuses keys not in `accepted` (after the reserved, not-yet-supported ones).
fn check_keys(options: &Map<String, Value>, accepted: &[&str], what: &str) -> Result<()> {
    for key in options.keys() {
        if accepted.contains(&key.as_str()) {
            continue;
        }
        if let Some((_, feature)) = NOT_YET.iter().find(|(k, _)| k == key) {
            return Err(Error::Unsupported(format!(
                "{what} option {key:?} needs {feature}, which this version of the engine does not have yet"
            )));
        }
        return Err(invalid(format!(
            "unknown {what} option {key:?}; accepted: {}",
            accepted.join(", ")
        )));
    }
    Ok(())
}

fn positive(options: &Map<String, Value>, key: &str) -> Result<Option<usize>> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) if n > 0 => Ok(Some(n)),
            _ => Err(invalid(format!(
                "{key} must be a positive integer, got {v}"
            ))),
        },
    }
}

fn non_negative(options: &Map<String, Value>, key: &str) -> Result<Option<u64>> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(format!("{key} must be a non-negative integer, got {v}"))),
    }
}

fn flag(options: &Map<String, Value>, key: &str) -> Result<Option<bool>> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(invalid(format!("{key} must be True or False, got {v}"))),
    }
}

fn name_of<'a>(options: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(v) => Err(invalid(format!("{key} must be a string, got {v}"))),
    }
}

/// The configuration of a new collection: with the default vector of `dim` dimensions, or
/// without a default vector when `dim` is `None` (named vectors only, or payloads only).
/// `metric_name` (default cosine) is the default vector's metric and the one named vectors
/// that give none take.
pub(crate) fn collection_config(
    dim: Option<usize>,
    metric_name: Option<&str>,
    options: &Map<String, Value>,
) -> Result<CollectionConfig> {
    check_keys(options, COLLECTION_OPTIONS, "collection")?;
    let metric = metric(metric_name.unwrap_or("cosine"))?;
    let mut config = match dim {
        Some(dim) => CollectionConfig::new(dim, metric),
        None => CollectionConfig::without_default_vector(),
    };
    config.hnsw = hnsw(options, config.hnsw)?;
    if let Some(bytes) = positive(options, "max_payload_bytes")? {
        config.max_payload_bytes = bytes;
    }
    if let Some(d) = name_of(options, "durability")? {
        config.durability = durability(d)?;
    }
    if let Some(s) = name_of(options, "storage_mode")? {
        config.storage_mode = storage_mode(s)?;
    }
    // Checked by the engine against the mode (refused on `full`, oversampling 1..=100).
    config.quantization.oversampling = number(options, "oversampling")?;
    config.quantization.train_at = non_negative(options, "train_at")?
        .map(|n| usize::try_from(n).map_err(|_| invalid(format!("train_at {n} is too large"))))
        .transpose()?;
    // Checked by the engine against the mode (rabitq: 1 or 4; sq8: 0.5..=1.0).
    config.quantization.rabitq_bits = non_negative(options, "rabitq_bits")?
        .map(|n| u8::try_from(n).map_err(|_| invalid(format!("rabitq_bits {n} is too large"))))
        .transpose()?;
    config.quantization.quantile = number(options, "quantile")?;
    if let Some(text) = options.get("text") {
        config.text = text::collection_text(text)?;
    }
    if let Some(sparse) = options.get("sparse") {
        config.sparse = sparse_names(sparse)?;
    }
    match options.get("vectors") {
        None | Some(Value::Null) => {}
        Some(Value::Object(spaces)) => {
            for (name, space) in spaces {
                let space = vector_space(name, space, &config, metric)?;
                config = config.with_vector(name, space);
            }
        }
        Some(other) => {
            return Err(invalid(format!(
                "vectors must be {{name: {{\"dim\": n, \"metric\": ...}}}}, got {other}"
            )));
        }
    }
    Ok(config)
}

/// The HNSW options of `options` over `base`.
fn hnsw(options: &Map<String, Value>, base: HnswParams) -> Result<HnswParams> {
    let mut params = base;
    if let Some(m) = positive(options, "m")? {
        params.m = m;
    }
    if let Some(ef) = positive(options, "ef_construction")? {
        params.ef_construction = ef;
    }
    if let Some(ef) = positive(options, "ef_search")? {
        params.ef_search = ef;
    }
    if let Some(seed) = non_negative(options, "seed")? {
        params.seed = seed;
    }
    Ok(params)
}

/// A finite number option (`None` when absent or null).
fn number(options: &Map<String, Value>, key: &str) -> Result<Option<f32>> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() => Ok(Some(x as f32)),
            _ => Err(invalid(format!("{key} must be a number, got {v}"))),
        },
    }
}

/// A storage mode by name, case-insensitively: `full`, `sq8`, `binary`, `pq`, `rabitq`.
fn storage_mode(name: &str) -> Result<StorageMode> {
    StorageMode::parse(name).map_err(|_| {
        invalid(format!(
            "unknown storage_mode {name:?}: expected full, sq8, binary, pq or rabitq"
        ))
    })
}

/// One named dense vector of `vectors={name: ...}`: its dimension alone (an integer) or
/// `{"dim", "metric", "m", "ef_construction", "ef_search", "seed", "storage_mode"}`; the
/// metric (`default_metric`) and HNSW parameters it leaves out are the collection's.
fn vector_space(
    name: &str,
    value: &Value,
    collection: &CollectionConfig,
    default_metric: DistanceMetric,
) -> Result<VectorSpaceConfig> {
    let what = format!("vector {name:?}");
    let options = match value {
        Value::Number(_) => {
            let mut m = Map::new();
            m.insert("dim".into(), value.clone());
            m
        }
        Value::Object(m) => m.clone(),
        other => {
            return Err(invalid(format!(
                "{what}: expected its dimension or {{\"dim\": n, \"metric\": ...}}, got {other}"
            )));
        }
    };
    check_keys(&options, VECTOR_OPTIONS, &what)?;
    let dim = positive(&options, "dim")
        .map_err(|e| within(&what, e))?
        .ok_or_else(|| invalid(format!("{what} needs a dimension (\"dim\")")))?;
    let metric = match name_of(&options, "metric")? {
        Some(m) => metric(m).map_err(|e| within(&what, e))?,
        None => default_metric,
    };
    if let Some(s) = name_of(&options, "storage_mode")? {
        let mode = storage_mode(s).map_err(|e| within(&what, e))?;
        if mode.is_quantized() {
            return Err(invalid(format!(
                "{what}: storage_mode {:?}: the engine quantizes only the default vector (named vectors are \"full\")",
                mode.name()
            )));
        }
    }
    let hnsw = hnsw(&options, collection.hnsw).map_err(|e| within(&what, e))?;
    Ok(VectorSpaceConfig { dim, metric, hnsw })
}

/// A named dense vector's configuration as `vectors_config` reports it.
pub(crate) fn vector_space_json(space: &VectorSpaceConfig) -> Value {
    serde_json::json!({
        "dim": space.dim,
        "metric": space.metric.name(),
        "m": space.hnsw.m,
        "ef_construction": space.hnsw.ef_construction,
        "ef_search": space.hnsw.ef_search,
        "seed": space.hnsw.seed,
        "storage_mode": "full",
    })
}

/// The `sparse=` option of `create_collection`: `None` (any name, the default), a list of
/// names (default configuration each), or `{name: {"modifier": "idf" | "none"}}`.
fn sparse_names(value: &Value) -> Result<Option<BTreeMap<String, SparseConfig>>> {
    match value {
        Value::Null => Ok(None),
        Value::Array(names) => names
            .iter()
            .map(|n| match n {
                Value::String(s) => Ok((s.clone(), SparseConfig::default())),
                other => Err(invalid(format!(
                    "sparse names must be strings, got {other}"
                ))),
            })
            .collect::<Result<BTreeMap<_, _>>>()
            .map(Some),
        Value::Object(map) => map
            .iter()
            .map(|(name, config)| {
                let config = if config.is_null() {
                    SparseConfig::default()
                } else {
                    serde_json::from_value(config.clone()).map_err(|e| {
                        invalid(format!(
                            "sparse vector {name:?}: {e} (expected {{\"modifier\": \"idf\" or \"none\"}})"
                        ))
                    })?
                };
                Ok((name.clone(), config))
            })
            .collect::<Result<BTreeMap<_, _>>>()
            .map(Some),
        other => Err(invalid(format!(
            "sparse must be None, a list of names or {{name: {{\"modifier\": ...}}}}, got {other}"
        ))),
    }
}

/// A durability mode by name, case-insensitively: `per_write`, `flush`, `bulk`.
pub(crate) fn durability(name: &str) -> Result<Durability> {
    match name.to_ascii_lowercase().replace('-', "_").as_str() {
        "per_write" | "perwrite" => Ok(Durability::PerWrite),
        "flush" => Ok(Durability::Flush),
        "bulk" => Ok(Durability::Bulk),
        _ => Err(invalid(format!(
            "unknown durability {name:?}: expected per_write, flush or bulk"
        ))),
    }
}

/// The name `durability` accepts for a mode.
pub(crate) fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::PerWrite => "per_write",
        Durability::Flush => "flush",
        _ => "bulk",
    }
}

/// The name `storage_mode` accepts for a mode.
pub(crate) fn storage_mode_name(mode: StorageMode) -> &'static str {
    mode.name()
}

/// A search quality by name, case-insensitively.
pub(crate) fn quality(name: &str) -> Result<SearchQuality> {
    match name.to_ascii_lowercase().as_str() {
        "fast" => Ok(SearchQuality::Fast),
        "balanced" => Ok(SearchQuality::Balanced),
        "accurate" => Ok(SearchQuality::Accurate),
        "perfect" | "exact" => Ok(SearchQuality::Perfect),
        "adaptive" => Ok(SearchQuality::Adaptive),
        _ => Err(invalid(format!(
            "unknown quality {name:?}: expected fast, balanced, accurate, perfect (exact) or adaptive"
        ))),
    }
}

/// A filter in the engine's JSON form (`None` for a JSON null).
pub(crate) fn filter(json: &Value) -> Result<Option<Filter>> {
    if json.is_null() {
        return Ok(None);
    }
    Ok(Some(Filter::parse(json)?))
}

/// The general search request: `vector` and/or the `text` option, plus the options of
/// [`SEARCH_OPTIONS`]. A request with both legs is a hybrid search, fused by the `fusion`
/// option (see `fusion.rs`; default RRF with k = 60) in the engine.
pub(crate) fn search_request(
    vector: Option<Vec<f32>>,
    options: &Map<String, Value>,
    legs: Vec<Leg>,
) -> Result<SearchRequest> {
    check_keys(options, SEARCH_OPTIONS, "query")?;
    let text = name_of(options, "text")?;
    let text_field = name_of(options, "text_field")?;
    let using = name_of(options, "using")?;
    if vector.is_none() && using.is_some() {
        return Err(invalid(
            "using names the dense vector the query vector searches: give a vector too (dense={name: vector} adds legs by name)",
        ));
    }
    if text.is_none() && text_field.is_some() {
        return Err(invalid("text_field aims a text query: give text=... too"));
    }
    if vector.is_none() && text.is_none() && legs.is_empty() {
        return Err(invalid(
            "a query needs a vector, text=..., dense=... or sparse=... (several: a hybrid search)",
        ));
    }
    let dense_legs = legs
        .iter()
        .any(|l| matches!(l.query, nearstore::LegQuery::Dense { .. }));
    let given = |key: &str| options.get(key).is_some_and(|v| !v.is_null());
    if vector.is_none()
        && !dense_legs
        && (given("quality") || given("ef") || given("rerank") || given("oversampling"))
    {
        return Err(invalid(
            "quality, ef, rerank and oversampling tune the vector search; text and sparse queries are always exact",
        ));
    }
    let mut request = SearchRequest::new(&[]);
    request.vector = vector.unwrap_or_default();
    if let Some(name) = using {
        request = request.using(name);
    }
    if let Some(query) = text {
        request = request.text_query(query);
    }
    if let Some(field) = text_field {
        request = request.text_field(field);
    }
    if let Some(f) = options.get("fusion") {
        request = request.fusion(crate::fusion::from_json(f)?);
    }
    for leg in legs {
        request = request.leg(leg);
    }
    if let Some(limit) = non_negative(options, "limit")? {
        request.limit = bounded(limit, "limit")?;
    }
    if let Some(offset) = non_negative(options, "offset")? {
        request.offset = bounded(offset, "offset")?;
    }
    if let Some(f) = options.get("filter") {
        request.filter = filter(f)?;
    }
    match (name_of(options, "quality")?, positive(options, "ef")?) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "give quality or ef, not both (ef sets an exact quality)",
            ));
        }
        (Some(q), None) => request.quality = quality(q)?,
        (None, Some(ef)) => request.quality = SearchQuality::Ef(ef),
        (None, None) => {}
    }
    // Checked by the engine (oversampling 1..=100; a `full` collection scores exactly).
    request.rerank = flag(options, "rerank")?;
    request.oversampling = number(options, "oversampling")?;
    if let Some(yes) = flag(options, "with_payload")? {
        request.with_payload = yes;
    }
    if let Some(yes) = flag(options, "with_vector")? {
        request.with_vector = yes;
    }
    match options.get("score_threshold") {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() => request.score_threshold = Some(x as f32),
            _ => {
                return Err(invalid(format!(
                    "score_threshold must be a finite number, got {v}"
                )));
            }
        },
    }
    Ok(request)
}

fn bounded(n: u64, key: &str) -> Result<usize> {
    match usize::try_from(n) {
        Ok(n) if n <= MAX_SEARCH_RESULTS => Ok(n),
        _ => Err(invalid(format!(
            "{key} must be at most {MAX_SEARCH_RESULTS}, got {n}"
        ))),
    }
}

/// A payload index kind by name, case-insensitively: keyword, integer, float, bool.
pub(crate) fn field_index_kind(name: &str) -> Result<nearstore::FieldIndexKind> {
    use nearstore::FieldIndexKind as K;
    match name.to_ascii_lowercase().as_str() {
        "keyword" => Ok(K::Keyword),
        "integer" => Ok(K::Integer),
        "float" => Ok(K::Float),
        "bool" => Ok(K::Bool),
        "datetime" => Ok(K::Datetime),
        _ => Err(invalid(format!(
            "unknown payload index kind {name:?}: expected keyword, integer, float, bool or datetime"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn metric_names_are_case_insensitive() {
        assert_eq!(metric("COSINE").unwrap(), DistanceMetric::Cosine);
        assert_eq!(metric("L2").unwrap(), DistanceMetric::Euclidean);
        assert_eq!(metric("Dot").unwrap(), DistanceMetric::DotProduct);
        assert_eq!(metric("L1").unwrap(), DistanceMetric::Manhattan);
        assert!(
            metric("taxicab")
                .unwrap_err()
                .to_string()
                .contains("manhattan (l1)")
        );
    }

    #[test]
    fn collection_options_are_applied_and_checked() {
        let c = collection_config(
            Some(8),
            Some("euclidean"),
            &map(
                json!({"m": 8, "ef_construction": 50, "ef_search": 20, "seed": 7,
                        "durability": "PER_WRITE", "max_payload_bytes": 100}),
            ),
        )
        .unwrap();
        assert_eq!(c.dim, 8);
        assert_eq!(c.metric, DistanceMetric::Euclidean);
        assert_eq!(
            (
                c.hnsw.m,
                c.hnsw.ef_construction,
                c.hnsw.ef_search,
                c.hnsw.seed
            ),
            (8, 50, 20, 7)
        );
        assert_eq!(c.durability, Durability::PerWrite);
        assert_eq!(c.max_payload_bytes, 100);

        let e = collection_config(Some(8), Some("cosine"), &map(json!({"M": 8}))).unwrap_err();
        assert!(
            e.to_string().contains("unknown collection option \"M\""),
            "{e}"
        );
        assert!(e.to_string().contains("ef_construction"), "{e}");
        for bad in [
            json!({"m": 0}),
            json!({"m": -3}),
            json!({"m": 2.5}),
            json!({"m": "8"}),
        ] {
            assert!(
                collection_config(Some(8), Some("cosine"), &map(bad.clone())).is_err(),
                "{bad}"
            );
        }
        assert!(
            collection_config(
                Some(8),
                Some("cosine"),
                &map(json!({"durability": "never"}))
            )
            .is_err()
        );
        let pq = collection_config(
            Some(8),
            Some("cosine"),
            &map(json!({"storage_mode": "PQ", "oversampling": 3, "train_at": 0})),
        )
        .unwrap();
        assert_eq!(pq.storage_mode, StorageMode::Pq);
        assert_eq!(pq.quantization.oversampling, Some(3.0));
        assert_eq!(pq.quantization.train_at, Some(0));
        let sq8 = collection_config(
            Some(8),
            Some("cosine"),
            &map(json!({"storage_mode": "sq8", "quantile": 0.99})),
        )
        .unwrap();
        assert_eq!(sq8.quantization.quantile, Some(0.99));
        let rabitq = collection_config(
            Some(8),
            Some("cosine"),
            &map(json!({"storage_mode": "rabitq", "rabitq_bits": 1})),
        )
        .unwrap();
        assert_eq!(rabitq.quantization.rabitq_bits, Some(1));
        assert_eq!(storage_mode_name(pq.storage_mode), "pq");
        for bad in [
            json!({"storage_mode": "opq"}),
            json!({"storage_mode": 3}),
            json!({"oversampling": "many"}),
            json!({"train_at": -1}),
            json!({"rabitq_bits": 300}),
            json!({"quantile": "most"}),
        ] {
            assert!(
                collection_config(Some(8), Some("cosine"), &map(bad.clone())).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn search_options_build_the_request() {
        let r = search_request(
            Some(vec![1.0, 2.0]),
            &map(
                json!({"limit": 3, "offset": 2, "ef": 40, "with_payload": false,
                        "with_vector": true, "score_threshold": 0.5,
                        "filter": {"field": "lang", "eq": "en"}}),
            ),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(r.vector, vec![1.0, 2.0]);
        assert_eq!((r.limit, r.offset), (3, 2));
        assert_eq!(r.quality, SearchQuality::Ef(40));
        assert!(!r.with_payload && r.with_vector);
        assert_eq!(r.score_threshold, Some(0.5));
        assert!(r.filter.is_some());

        let r = search_request(
            Some(vec![1.0]),
            &map(json!({"quality": "Accurate"})),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(r.quality, SearchQuality::Accurate);
        assert_eq!(r.limit, 10);
        assert_eq!((r.rerank, r.oversampling), (None, None));

        let r = search_request(
            Some(vec![1.0]),
            &map(json!({"rerank": false, "oversampling": 2.5})),
            Vec::new(),
        )
        .unwrap();
        assert_eq!((r.rerank, r.oversampling), (Some(false), Some(2.5)));
    }

    #[test]
    fn bad_or_unknown_search_options_are_refused() {
        let v = || Some(vec![1.0]);
        for bad in [
            json!({"quality": "fast", "ef": 10}),
            json!({"limit": -1}),
            json!({"limit": 100_001}),
            json!({"with_payload": 1}),
            json!({"score_threshold": "high"}),
            json!({"filter": {"field": "x"}}),
            json!({"nprobe": 4}),
            json!({"rerank": "no"}),
            json!({"oversampling": "x"}),
        ] {
            let e = search_request(v(), &map(bad.clone()), Vec::new()).unwrap_err();
            assert!(
                matches!(e, Error::InvalidArgument(_) | Error::Filter(_)),
                "{bad}: {e:?}"
            );
        }
        assert!(search_request(None, &Map::new(), Vec::new()).is_err());
    }

    #[test]
    fn text_options_build_a_text_request() {
        let r = search_request(
            None,
            &map(
                json!({"text": "graph db", "text_field": "title", "limit": 3,
                        "filter": {"field": "lang", "eq": "en"}}),
            ),
            Vec::new(),
        )
        .unwrap();
        assert!(r.vector.is_empty());
        let leg = r.text.unwrap();
        assert_eq!(leg.query, "graph db");
        assert_eq!(leg.field.as_deref(), Some("title"));
        assert_eq!(r.limit, 3);
        assert!(r.filter.is_some());
        // Both legs: a hybrid request, fused by RRF unless told otherwise.
        let r = search_request(Some(vec![1.0]), &map(json!({"text": "a"})), Vec::new()).unwrap();
        assert!(!r.vector.is_empty() && r.text.is_some());
        assert_eq!(r.fusion, nearstore::FusionStrategy::rrf());
        let r = search_request(
            Some(vec![1.0]),
            &map(json!({"text": "a", "fusion": "dbsf"})),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(r.fusion, nearstore::FusionStrategy::Dbsf);
        let e = search_request(
            Some(vec![1.0]),
            &map(json!({"text": "a", "fusion": "x"})),
            Vec::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown fusion"), "{e}");
        for bad in [
            json!({"text": 3}),
            json!({"text": "a", "quality": "fast"}),
            json!({"text": "a", "ef": 10}),
            json!({"text": "a", "rerank": true}),
            json!({"text": "a", "oversampling": 2}),
        ] {
            let e = search_request(None, &map(bad.clone()), Vec::new()).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{bad}: {e:?}");
        }
        let e = search_request(None, &map(json!({"text_field": "title"})), Vec::new()).unwrap_err();
        assert!(e.to_string().contains("give text=... too"), "{e}");
    }

    #[test]
    fn using_aims_the_query_vector_at_a_named_vector() {
        let r =
            search_request(Some(vec![1.0]), &map(json!({"using": "image"})), Vec::new()).unwrap();
        assert_eq!(r.using, "image");
        assert_eq!(r.leg_names(), vec!["dense:image".to_string()]);
        let r = search_request(Some(vec![1.0]), &Map::new(), Vec::new()).unwrap();
        assert_eq!(r.using, "");
        let e = search_request(
            None,
            &map(json!({"using": "image", "text": "a"})),
            Vec::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("give a vector too"), "{e}");
        // Dense legs by name take the quality as the query vector does.
        let r = search_request(
            None,
            &map(json!({"quality": "perfect"})),
            vec![Leg::dense("image", &[1.0])],
        )
        .unwrap();
        assert_eq!(r.quality, SearchQuality::Perfect);
        assert_eq!(r.leg_names(), vec!["dense:image".to_string()]);
        let e = search_request(Some(vec![1.0]), &map(json!({"using": 3})), Vec::new()).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    }

    #[test]
    fn named_vectors_are_declared_with_their_own_parameters() {
        let c = collection_config(
            Some(8),
            Some("cosine"),
            &map(json!({"m": 12, "seed": 3, "vectors": {
                "image": {"dim": 4, "metric": "euclidean", "ef_construction": 77},
                "title": 16,
            }})),
        )
        .unwrap();
        let image = c.vectors["image"];
        assert_eq!((image.dim, image.metric), (4, DistanceMetric::Euclidean));
        assert_eq!(
            (image.hnsw.m, image.hnsw.ef_construction, image.hnsw.seed),
            (12, 77, 3)
        );
        let title = c.vectors["title"];
        assert_eq!((title.dim, title.metric), (16, DistanceMetric::Cosine));
        assert_eq!(title.hnsw, c.hnsw);
        assert!(c.default_vector);
        // Without a dim: no default vector; metric and HNSW options are the named defaults.
        let only_named = collection_config(
            None,
            Some("dot"),
            &map(json!({"m": 6, "vectors": {"image": 4}})),
        )
        .unwrap();
        assert!(!only_named.default_vector);
        let dot = only_named.vectors["image"];
        assert_eq!(
            (dot.dim, dot.metric, dot.hnsw.m),
            (4, DistanceMetric::DotProduct, 6)
        );
        assert_eq!(vector_space_json(&image)["metric"], json!("euclidean"));
        for (bad, needle) in [
            (json!({"vectors": {"a": {}}}), "needs a dimension"),
            (json!({"vectors": {"a": {"dim": 0}}}), "vector \"a\""),
            (
                json!({"vectors": {"a": {"dim": 4, "size": 4}}}),
                "unknown vector \"a\" option",
            ),
            (
                json!({"vectors": {"a": {"dim": 4, "metric": "x"}}}),
                "unknown metric",
            ),
            (
                json!({"vectors": {"a": {"dim": 4, "storage_mode": "pq"}}}),
                "quantizes only the default vector",
            ),
            (
                json!({"vectors": {"a": {"dim": 4, "storage_mode": "zip"}}}),
                "unknown storage_mode",
            ),
            (json!({"vectors": {"a": "4"}}), "expected its dimension"),
            (json!({"vectors": ["a"]}), "vectors must be"),
        ] {
            let e = collection_config(Some(8), Some("cosine"), &map(bad.clone())).unwrap_err();
            assert!(e.to_string().contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn names_round_trip() {
        for d in [Durability::PerWrite, Durability::Flush, Durability::Bulk] {
            assert_eq!(durability(durability_name(d)).unwrap(), d);
        }
        assert!(field_index_kind("KEYWORD").is_ok());
        assert_eq!(
            field_index_kind("datetime").unwrap(),
            nearstore::FieldIndexKind::Datetime
        );
        assert!(field_index_kind("text").is_err());
    }
}
