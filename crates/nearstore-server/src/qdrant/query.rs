//! Qdrant search routes: `points/search`, `points/search/batch`, `points/query`,
//! `points/query/batch`, and the answer for every Qdrant feature this subset lacks.

use std::time::Instant;

use axum::extract::{MatchedPath, Path, State};
use axum::http::Method;
use axum::response::Response;
use nearstore::{Deadline, Filter, Point, SearchQuality, SearchRequest, VectorCollection};
use serde_json::{Map, Value, json};

use crate::body::{JsonBody, qdrant_ok};
use crate::error::{Error, Result, blocking};
use crate::limits::ticket::engine_deadline;
use crate::qdrant::filter::translate;
use crate::qdrant::ids::ExtId;
use crate::qdrant::points::{PayloadSel, dense_vector, scored, with_vector};
use crate::state::{AppState, Shared};

/// What to search for.
#[derive(Debug)]
pub(crate) enum Target {
    Vector(Vec<f32>),
    /// The vector of an existing point.
    Point(ExtId),
}

/// One search, from either request shape.
#[derive(Debug)]
pub(crate) struct Search {
    pub(crate) target: Target,
    pub(crate) filter: Option<Filter>,
    pub(crate) limit: usize,
    pub(crate) offset: usize,
    pub(crate) payload: PayloadSel,
    pub(crate) vector: bool,
    pub(crate) score_threshold: Option<f32>,
    pub(crate) quality: Option<SearchQuality>,
}

fn usize_field(body: &Map<String, Value>, key: &str, default: usize) -> Result<usize> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| Error::bad_request(format!("{key} must be a non-negative integer"))),
    }
}

pub(crate) fn quality(params: Option<&Value>) -> Result<Option<SearchQuality>> {
    let Some(Value::Object(p)) = params else {
        return Ok(None);
    };
    if p.get("exact").and_then(Value::as_bool) == Some(true) {
        return Ok(Some(SearchQuality::Perfect));
    }
    match p.get("hnsw_ef") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(0) => Err(Error::validation("params.hnsw_ef must be at least 1")),
            Some(ef) => Ok(Some(SearchQuality::Ef(ef as usize))),
            None => Err(Error::bad_request(
                "params.hnsw_ef must be a positive integer",
            )),
        },
    }
}

fn common(body: &Map<String, Value>, target: Target) -> Result<Search> {
    for unsupported in ["shard_key", "lookup_from", "group_by"] {
        if body.get(unsupported).is_some_and(|v| !v.is_null()) {
            return Err(Error::not_supported(format!("\"{unsupported}\"")));
        }
    }
    Ok(Search {
        target,
        filter: translate(body.get("filter"))?,
        limit: usize_field(body, "limit", 10)?,
        offset: usize_field(body, "offset", 0)?,
        payload: PayloadSel::parse(body.get("with_payload"), false)?,
        vector: with_vector(body.get("with_vector"))?,
        score_threshold: body
            .get("score_threshold")
            .and_then(Value::as_f64)
            .map(|s| s as f32),
        quality: quality(body.get("params"))?,
    })
}

/// A `points/search` body.
fn search_body(body: &Map<String, Value>) -> Result<Search> {
    let vector = match body.get("vector") {
        Some(Value::Object(named)) if named.contains_key("name") => {
            if named.get("name").and_then(Value::as_str) != Some("") {
                return Err(Error::not_supported(
                    "named vectors (only the default unnamed vector \"\")",
                ));
            }
            dense_vector(named.get("vector").unwrap_or(&Value::Null))?
        }
        Some(v) => dense_vector(v)?,
        None => return Err(Error::bad_request("\"vector\" is required")),
    };
    common(body, Target::Vector(vector))
}

/// A `points/query` body.
fn query_body(body: &Map<String, Value>) -> Result<Search> {
    if body
        .get("prefetch")
        .is_some_and(|p| !p.is_null() && p.as_array().is_none_or(|a| !a.is_empty()))
    {
        return Err(Error::not_supported("prefetch"));
    }
    match body.get("using") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(other) => {
            return Err(Error::not_supported(format!(
                "named vectors (using {other}; only the default unnamed vector \"\")"
            )));
        }
    }
    let target = match body.get("query") {
        None | Some(Value::Null) => {
            return Err(Error::not_supported(
                "a query without \"query\" (use points/scroll)",
            ));
        }
        Some(Value::Object(q)) if q.contains_key("nearest") => {
            // Any option beside the target (`mmr`, `mix`) would change the ranking: refuse
            // it rather than answer plain nearest neighbours.
            if let Some((key, _)) = q.iter().find(|(k, v)| *k != "nearest" && !v.is_null()) {
                let what = if key == "mmr" {
                    "MMR (\"mmr\": diversity re-ranking of a nearest query)".to_string()
                } else {
                    format!("nearest with {key:?}")
                };
                return Err(Error::not_supported(what));
            }
            target(q.get("nearest").unwrap_or(&Value::Null))?
        }
        Some(Value::Object(q)) => {
            let kind = q.keys().next().cloned().unwrap_or_default();
            return Err(Error::not_supported(format!("the {kind:?} query")));
        }
        Some(v) => target(v)?,
    };
    common(body, target)
}

fn target(v: &Value) -> Result<Target> {
    match v {
        Value::Number(_) | Value::String(_) => Ok(Target::Point(ExtId::parse(v)?)),
        other => Ok(Target::Vector(dense_vector(other)?)),
    }
}

/// Runs one search: builds the engine's request (filter, window, quality) and runs it.
fn execute(
    c: &VectorCollection,
    s: Search,
    deadline: Option<Deadline>,
) -> Result<Vec<(Point, f32)>> {
    let vector = match s.target {
        Target::Vector(v) => v,
        Target::Point(id) => match c.get(&[id.internal()])?.into_iter().next().flatten() {
            Some(p) => p.vector,
            None => {
                return Err(Error::NotFound(format!(
                    "no point with id {} to query by",
                    id.to_json()
                )));
            }
        },
    };
    // Qdrant answers a limit beyond the collection's size with every point; the engine
    // refuses a limit above its own maximum, so the window is clamped to the points stored.
    let stored = c.len();
    let offset = s.offset.min(stored);
    let limit = match s.limit {
        0 => 0,
        l => l.min(stored - offset).max(1),
    };
    let mut r = SearchRequest::new(&vector)
        .limit(limit)
        .offset(offset)
        .with_payload(true)
        .with_vector(s.vector);
    if let Some(f) = s.filter {
        r = r.filter(f);
    }
    if let Some(q) = s.quality {
        r = r.quality(q);
    }
    if let Some(t) = s.score_threshold {
        r = r.score_threshold(t);
    }
    if let Some(d) = deadline {
        r = r.deadline(d);
    }
    Ok(c.query(r)?
        .into_iter()
        .map(|h| (h.point, h.score))
        .collect())
}

pub(crate) async fn run(state: &AppState, c: &VectorCollection, s: Search) -> Result<Vec<Value>> {
    let (payload, vector) = (s.payload.clone(), s.vector);
    let c2 = c.clone();
    let deadline = engine_deadline();
    let (hits, took) = blocking(move || {
        let started = Instant::now();
        let hits = execute(&c2, s, deadline)?;
        Ok((hits, started.elapsed()))
    })
    .await?;
    state.metrics.record_search(c.name(), took);
    Ok(hits
        .into_iter()
        .map(|(p, score)| scored(p, score, &payload, vector))
        .collect())
}

/// `POST /collections/{name}/points/search`: `[ScoredPoint]`.
pub(crate) async fn search(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response> {
    let started = Instant::now();
    let c = state.collection(&name)?;
    let hits = run(&state, &c, search_body(&body)?).await?;
    Ok(qdrant_ok(hits, started))
}

/// `POST /collections/{name}/points/query`: `{"points": [ScoredPoint]}`.
pub(crate) async fn query(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response> {
    let started = Instant::now();
    let c = state.collection(&name)?;
    let hits = run(&state, &c, query_body(&body)?).await?;
    Ok(qdrant_ok(json!({"points": hits}), started))
}

fn searches(state: &AppState, body: &Map<String, Value>) -> Result<Vec<Map<String, Value>>> {
    let list = body
        .get("searches")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::bad_request("\"searches\" must be a list"))?;
    Shared::check_batch("queries", list.len(), state.limits.max_batch_queries)?;
    list.iter()
        .map(|s| {
            s.as_object()
                .cloned()
                .ok_or_else(|| Error::bad_request("each search must be an object"))
        })
        .collect()
}

/// `POST /collections/{name}/points/search/batch`: `[[ScoredPoint]]`.
pub(crate) async fn search_batch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response> {
    let started = Instant::now();
    let c = state.collection(&name)?;
    let mut out = Vec::new();
    for s in searches(&state, &body)? {
        out.push(run(&state, &c, search_body(&s)?).await?);
    }
    Ok(qdrant_ok(out, started))
}

/// `POST /collections/{name}/points/query/batch`: `[{"points": [ScoredPoint]}]`.
pub(crate) async fn query_batch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response> {
    let started = Instant::now();
    let c = state.collection(&name)?;
    let mut out = Vec::new();
    for s in searches(&state, &body)? {
        out.push(json!({"points": run(&state, &c, query_body(&s)?).await?}));
    }
    Ok(qdrant_ok(out, started))
}

/// Every Qdrant route outside the subset: 400 "... is not supported".
pub(crate) async fn unsupported(method: Method, matched: Option<MatchedPath>) -> Error {
    let route = matched.as_ref().map(MatchedPath::as_str).unwrap_or("?");
    Error::not_supported(format!("the Qdrant route {method} {route}"))
}
