//! Native search routes: one query and a batch of queries.

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use nearstore::{SearchQuality, SearchRequest, SearchResult, VectorCollection};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::body::JsonBody;
use crate::error::{Error, Result, blocking};
use crate::routes::points::parse_filter;
use crate::state::{AppState, Shared};

/// Search quality by name.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Quality {
    Fast,
    Balanced,
    Accurate,
    Perfect,
    Adaptive,
}

/// `POST /v1/collections/{name}/search` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Search {
    vector: Vec<f32>,
    #[serde(default = "ten")]
    limit: usize,
    #[serde(default)]
    offset: usize,
    #[serde(default)]
    filter: Option<Value>,
    #[serde(default)]
    ef: Option<usize>,
    #[serde(default)]
    quality: Option<Quality>,
    #[serde(default = "yes")]
    with_payload: bool,
    #[serde(default)]
    with_vector: bool,
    #[serde(default)]
    score_threshold: Option<f32>,
}

fn ten() -> usize {
    10
}

fn yes() -> bool {
    true
}

impl Search {
    fn into_request(self) -> Result<SearchRequest> {
        let mut r = SearchRequest::new(&self.vector)
            .limit(self.limit)
            .offset(self.offset)
            .with_payload(self.with_payload)
            .with_vector(self.with_vector);
        if let Some(f) = parse_filter(self.filter.as_ref())? {
            r = r.filter(f);
        }
        r = match (self.ef, self.quality) {
            (Some(_), Some(_)) => {
                return Err(Error::bad_request(
                    "give at most one of \"ef\" and \"quality\"",
                ));
            }
            (Some(ef), None) => r.ef(ef),
            (None, Some(q)) => r.quality(match q {
                Quality::Fast => SearchQuality::Fast,
                Quality::Balanced => SearchQuality::Balanced,
                Quality::Accurate => SearchQuality::Accurate,
                Quality::Perfect => SearchQuality::Perfect,
                Quality::Adaptive => SearchQuality::Adaptive,
            }),
            (None, None) => r,
        };
        if let Some(t) = self.score_threshold {
            r = r.score_threshold(t);
        }
        Ok(r)
    }
}

/// One result in the native form.
#[derive(Debug, Serialize)]
pub(crate) struct Hit {
    id: u64,
    score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vector: Option<Vec<f32>>,
}

impl From<SearchResult> for Hit {
    fn from(r: SearchResult) -> Self {
        Hit {
            id: r.point.id,
            score: r.score,
            payload: r.point.payload,
            vector: (!r.point.vector.is_empty()).then_some(r.point.vector),
        }
    }
}

/// Runs one search on the blocking pool and records its engine time.
pub(crate) async fn run_query(
    state: &AppState,
    c: VectorCollection,
    request: SearchRequest,
) -> Result<Vec<SearchResult>> {
    let name = c.name().to_string();
    let (results, took) = blocking(move || {
        let started = Instant::now();
        let results = c.query(request)?;
        Ok((results, started.elapsed()))
    })
    .await?;
    state.metrics.record_search(&name, took);
    Ok(results)
}

/// Runs several searches concurrently (one blocking task each), results in order.
pub(crate) async fn run_queries(
    state: &AppState,
    c: &VectorCollection,
    requests: Vec<SearchRequest>,
) -> Result<Vec<Vec<SearchResult>>> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|r| {
            let state = state.clone();
            let c = c.clone();
            tokio::spawn(async move { run_query(&state, c, r).await })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(
            t.await
                .map_err(|e| Error::Internal(format!("search task failed: {e}")))??,
        );
    }
    Ok(out)
}

/// `POST /v1/collections/{name}/search`: `{"results": [{id, score, payload?, vector?}]}`.
pub(crate) async fn search(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Search>,
) -> Result<Json<Value>> {
    let c = state.collection(&name)?;
    let results = run_query(&state, c, body.into_request()?).await?;
    let hits: Vec<Hit> = results.into_iter().map(Hit::from).collect();
    Ok(Json(json!({"results": hits})))
}

/// `POST /v1/collections/{name}/search/batch` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchBatch {
    searches: Vec<Search>,
}

/// `POST /v1/collections/{name}/search/batch`: `{"results": [[...], ...]}`.
pub(crate) async fn search_batch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<SearchBatch>,
) -> Result<Json<Value>> {
    Shared::check_batch(
        "queries",
        body.searches.len(),
        state.limits.max_batch_queries,
    )?;
    let c = state.collection(&name)?;
    let requests = body
        .searches
        .into_iter()
        .map(Search::into_request)
        .collect::<Result<Vec<_>>>()?;
    let results = run_queries(&state, &c, requests).await?;
    let hits: Vec<Vec<Hit>> = results
        .into_iter()
        .map(|r| r.into_iter().map(Hit::from).collect())
        .collect();
    Ok(Json(json!({"results": hits})))
}
