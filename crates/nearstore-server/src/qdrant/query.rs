//! Qdrant search routes: `points/search`, `points/search/batch`, `points/query`,
//! `points/query/batch`, and the answer for every Qdrant feature this subset lacks.

use std::time::Instant;

use axum::extract::{MatchedPath, Path, State};
use axum::http::Method;
use axum::response::Response;
use nearstore::{Deadline, Point, VectorCollection};

use crate::body::{Typed, qdrant_ok};
use crate::error::{Error, Result, blocking};
use crate::limits::ticket::engine_deadline;
use crate::qdrant::answer::{
    QueryBatchResponse, QueryResponse, ScoredPoint, ScoredPoints, ScoredPointsBatch,
};
use crate::qdrant::collection;
use crate::qdrant::points::scored;
use crate::qdrant::query_plan::{Search, engine_request};
use crate::qdrant::request::{QueryBatch, QueryPoints, SearchBatch, SearchPoints};
use crate::state::AppState;

/// Runs one search: the one engine request for it, with the request's deadline.
fn execute(
    c: &VectorCollection,
    s: Search,
    deadline: Option<Deadline>,
) -> Result<Vec<(Point, f32)>> {
    let mut r = engine_request(c, s)?;
    if let Some(d) = deadline {
        r = r.deadline(d);
    }
    Ok(c.query(r)?
        .into_iter()
        .map(|h| (h.point, h.score))
        .collect())
}

pub(crate) async fn run(
    state: &AppState,
    c: &VectorCollection,
    s: Search,
) -> Result<Vec<ScoredPoint>> {
    let (payload, vector) = (s.payload.clone(), s.vector.clone());
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
        .map(|(p, score)| scored(p, score, &payload, vector.as_ref()))
        .collect())
}

/// `POST /collections/{name}/points/search`: `[ScoredPoint]`.
pub(crate) async fn search(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<SearchPoints>,
) -> Result<Response> {
    let started = Instant::now();
    let search = body.into_search()?;
    let c = collection(&state, &name)?;
    let hits = run(&state, &c, search).await?;
    Ok(qdrant_ok(ScoredPoints(hits), started))
}

/// `POST /collections/{name}/points/query`: `{"points": [ScoredPoint]}`.
pub(crate) async fn query(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<QueryPoints>,
) -> Result<Response> {
    let started = Instant::now();
    let search = body.into_search()?;
    let c = collection(&state, &name)?;
    let points = run(&state, &c, search).await?;
    Ok(qdrant_ok(QueryResponse { points }, started))
}

/// `POST /collections/{name}/points/search/batch`: `[[ScoredPoint]]`. Every search is
/// converted (or the batch refused) before the first one runs.
pub(crate) async fn search_batch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<SearchBatch>,
) -> Result<Response> {
    let started = Instant::now();
    let searches = body
        .searches
        .into_vec()
        .into_iter()
        .map(SearchPoints::into_search)
        .collect::<Result<Vec<_>>>()?;
    let c = collection(&state, &name)?;
    let mut out = Vec::with_capacity(searches.len());
    for s in searches {
        out.push(run(&state, &c, s).await?);
    }
    Ok(qdrant_ok(ScoredPointsBatch(out), started))
}

/// `POST /collections/{name}/points/query/batch`: `[{"points": [ScoredPoint]}]`.
pub(crate) async fn query_batch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<QueryBatch>,
) -> Result<Response> {
    let started = Instant::now();
    let searches = body
        .searches
        .into_vec()
        .into_iter()
        .map(QueryPoints::into_search)
        .collect::<Result<Vec<_>>>()?;
    let c = collection(&state, &name)?;
    let mut out = Vec::with_capacity(searches.len());
    for s in searches {
        out.push(QueryResponse {
            points: run(&state, &c, s).await?,
        });
    }
    Ok(qdrant_ok(QueryBatchResponse(out), started))
}

/// Every Qdrant route outside the subset: 400 "... is not supported".
pub(crate) async fn unsupported(method: Method, matched: Option<MatchedPath>) -> Error {
    let route = matched.as_ref().map(MatchedPath::as_str).unwrap_or("?");
    Error::not_supported(format!("the Qdrant route {method} {route}"))
}
