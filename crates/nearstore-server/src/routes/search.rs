//! Native search routes: one query and a batch of queries. Each handler converts its body
//! (`crate::model::search`) and runs the engine's one query entry point.

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use nearstore::{SearchRequest, SearchResult, VectorCollection};

use crate::body::Typed;
use crate::error::{Error, Result, blocking};
use crate::limits::ticket::{in_current_scope, search_by_deadline};
use crate::model::search::{BatchAnswer, Hit, Search, SearchAnswer, SearchBatch};
use crate::state::AppState;

/// Runs one search on the blocking pool and records its engine time.
pub(crate) async fn run_query(
    state: &AppState,
    c: VectorCollection,
    request: SearchRequest,
) -> Result<Vec<SearchResult>> {
    let name = c.name().to_string();
    let request = search_by_deadline(request);
    let (results, took) = blocking(move || {
        let started = Instant::now();
        let results = c.query(request)?;
        Ok((results, started.elapsed()))
    })
    .await?;
    state.metrics.record_search(&name, took);
    Ok(results)
}

/// Runs several searches concurrently (one blocking task each, all under the request's
/// ticket), results in order.
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
            tokio::spawn(in_current_scope(
                async move { run_query(&state, c, r).await },
            ))
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
    Typed(body): Typed<Search>,
) -> Result<Json<SearchAnswer>> {
    let c = state.collection(&name)?;
    let request = body.into_request()?;
    let results = run_query(&state, c, request).await?;
    Ok(Json(SearchAnswer {
        results: results.into_iter().map(Hit::from).collect(),
    }))
}

/// `POST /v1/collections/{name}/search/batch`: `{"results": [[...], ...]}`.
pub(crate) async fn search_batch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<SearchBatch>,
) -> Result<Json<BatchAnswer>> {
    let c = state.collection(&name)?;
    let requests = body.into_requests()?;
    let results = run_queries(&state, &c, requests).await?;
    Ok(Json(BatchAnswer {
        results: results
            .into_iter()
            .map(|r| r.into_iter().map(Hit::from).collect())
            .collect(),
    }))
}
