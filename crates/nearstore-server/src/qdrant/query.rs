//! Qdrant search routes: `points/search`, `points/search/batch`, `points/query`,
//! `points/query/batch`, and the answer for every Qdrant feature this subset lacks.

use std::time::Instant;

use axum::extract::{MatchedPath, Path, State};
use axum::http::Method;
use axum::response::Response;
use nearstore::{Deadline, Filter, Point, SearchQuality, SearchRequest, VectorCollection};

use crate::body::{Typed, qdrant_ok};
use crate::error::{Error, Result, blocking};
use crate::limits::ticket::engine_deadline;
use crate::qdrant::answer::{
    QueryBatchResponse, QueryResponse, ScoredPoint, ScoredPoints, ScoredPointsBatch,
};
use crate::qdrant::collection;
use crate::qdrant::filter::from_raw;
use crate::qdrant::ids::ExtId;
use crate::qdrant::points::{PayloadSel, scored};
use crate::qdrant::request::{
    QueryBatch, QueryInput, QueryPoints, SearchBatch, SearchParams, SearchPoints, VectorInput,
    WithPayload, WithVector, refuse_set,
};
use crate::state::AppState;

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

/// Refuses a vector name other than the unnamed vector's (`""`).
fn unnamed_only(name: Option<&str>) -> Result<()> {
    match name {
        None | Some("") => Ok(()),
        Some(other) => Err(Error::not_supported(format!(
            "named vectors ({other:?}; only the default unnamed vector \"\")"
        ))),
    }
}

fn target(v: VectorInput) -> Result<Target> {
    match v {
        VectorInput::Dense(v) => Ok(Target::Vector(v)),
        VectorInput::Id(id) => Ok(Target::Point(ExtId::parse(&id)?)),
        VectorInput::Sparse(_) => Err(Error::not_supported(
            "sparse vectors (this collection has none)",
        )),
    }
}

impl SearchPoints {
    /// The one search this body asks for.
    pub(crate) fn into_search(self) -> Result<Search> {
        refuse_set(&[("shard_key", self.shard_key.as_ref())])?;
        unnamed_only(self.vector.name.as_deref())?;
        let target = match self.vector.vector {
            VectorInput::Id(_) => {
                return Err(Error::bad_request(
                    "\"vector\" must be a list of numbers (use points/query to search by id)",
                ));
            }
            v => target(v)?,
        };
        Ok(Search {
            target,
            filter: from_raw(self.filter.as_deref())?,
            limit: self.limit.unwrap_or(10),
            offset: self.offset.unwrap_or(0),
            payload: WithPayload::selection(self.with_payload.as_ref(), false),
            vector: WithVector::unnamed(self.with_vector.as_ref()),
            score_threshold: self.score_threshold,
            quality: SearchParams::quality(self.params.as_ref())?,
        })
    }
}

impl QueryPoints {
    /// The one search this body asks for.
    pub(crate) fn into_search(self) -> Result<Search> {
        refuse_set(&[
            ("shard_key", self.shard_key.as_ref()),
            ("lookup_from", self.lookup_from.as_ref()),
        ])?;
        if self.prefetch.as_ref().is_some_and(|p| !p.0.is_empty()) {
            return Err(Error::not_supported("prefetch"));
        }
        unnamed_only(self.using.as_deref())?;
        let target = match self.query {
            None => {
                return Err(Error::not_supported(
                    "a query without \"query\" (use points/scroll)",
                ));
            }
            Some(QueryInput::Nearest(v)) => target(v)?,
            Some(QueryInput::Fusion(_)) => {
                return Err(Error::bad_request("a fusion query needs prefetches"));
            }
            Some(QueryInput::Unsupported(what)) => return Err(Error::not_supported(what)),
        };
        Ok(Search {
            target,
            filter: from_raw(self.filter.as_deref())?,
            limit: self.limit.unwrap_or(10),
            offset: self.offset.unwrap_or(0),
            payload: WithPayload::selection(self.with_payload.as_ref(), false),
            vector: WithVector::unnamed(self.with_vector.as_ref()),
            score_threshold: self.score_threshold,
            quality: SearchParams::quality(self.params.as_ref())?,
        })
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

pub(crate) async fn run(
    state: &AppState,
    c: &VectorCollection,
    s: Search,
) -> Result<Vec<ScoredPoint>> {
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
