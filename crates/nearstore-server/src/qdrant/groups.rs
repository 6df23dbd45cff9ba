//! Qdrant groups: `points/search/groups` and `points/query/groups`. The body is a search
//! or query body plus `group_by` (a payload key), `group_size` (default 3) and `limit` (the
//! number of groups, default 10). The search becomes the same one engine request as the
//! ungrouped route ([`crate::qdrant::query_plan::engine_request`]) with the engine's
//! `group_by` set, run by [`nearstore::VectorCollection::query_groups`]: the engine groups
//! and reads as deep as it needs, this module only translates. `with_lookup` is refused
//! (400 naming it), as is an `offset` (Qdrant's groups have none).
//!
//! Must not depend on the native routes.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::Response;
use nearstore::SearchGroup;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::body::{TypedPair, qdrant_ok};
use crate::error::{Error, Result, blocking};
use crate::limits::ticket::engine_deadline;
use crate::model::RawJson;
use crate::qdrant::answer::ScoredPoint;
use crate::qdrant::collection;
use crate::qdrant::ids::UUID_KEY;
use crate::qdrant::points::scored;
use crate::qdrant::query_plan::{Search, engine_request};
use crate::qdrant::request::{QueryPoints, SearchPoints, refuse_set};
use crate::state::AppState;

/// Qdrant's default `group_size`.
const DEFAULT_GROUP_SIZE: usize = 3;

/// What groups add to a search or query body.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Grouping {
    /// The payload key whose values are the groups (strings and integers; an array puts
    /// the point in each of its values' groups).
    pub(crate) group_by: String,
    /// The most hits per group (default 3).
    #[serde(default)]
    pub(crate) group_size: Option<usize>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) with_lookup: Option<RawJson>,
}

/// `points/search/groups` body: a search body (its `limit` counts groups) and the grouping
/// (the schema of what [`search_groups`] reads as a [`TypedPair`] of the two).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = QdrantSearchGroups)]
#[expect(
    dead_code,
    reason = "the schema of the body; the handler reads it as a TypedPair"
)]
pub(crate) struct SearchGroups {
    #[serde(flatten)]
    pub(crate) search: SearchPoints,
    #[serde(flatten)]
    pub(crate) grouping: Grouping,
}

/// `points/query/groups` body: a query body (its `limit` counts groups) and the grouping
/// (the schema of what [`query_groups`] reads as a [`TypedPair`] of the two).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = QdrantQueryGroups)]
#[expect(
    dead_code,
    reason = "the schema of the body; the handler reads it as a TypedPair"
)]
pub(crate) struct QueryGroups {
    #[serde(flatten)]
    pub(crate) query: QueryPoints,
    #[serde(flatten)]
    pub(crate) grouping: Grouping,
}

/// One group: Qdrant's `PointGroup` (no `lookup`: `with_lookup` is refused).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantPointGroup)]
pub(crate) struct PointGroup {
    /// The group's key: the payload value its hits share.
    #[schema(value_type = Object)]
    pub(crate) id: Value,
    pub(crate) hits: Vec<ScoredPoint>,
}

/// Both routes' answer: Qdrant's `GroupsResult`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantGroupsResult)]
pub(crate) struct GroupsResult {
    pub(crate) groups: Vec<PointGroup>,
}

impl Grouping {
    fn checked(self) -> Result<(String, usize)> {
        refuse_set(&[("with_lookup", self.with_lookup.as_ref())])?;
        if self.group_by.is_empty() || self.group_by == UUID_KEY {
            return Err(Error::Validation(format!(
                "group_by {:?} is not a payload key",
                self.group_by
            )));
        }
        let size = self.group_size.unwrap_or(DEFAULT_GROUP_SIZE);
        if size == 0 {
            return Err(Error::validation(
                "group_size: value 0 invalid, must be 1 or larger",
            ));
        }
        Ok((self.group_by, size))
    }
}

async fn run(
    state: &AppState,
    name: &str,
    search: Search,
    (field, size): (String, usize),
) -> Result<Response> {
    let started = Instant::now();
    if search.offset > 0 {
        return Err(Error::not_supported("\"offset\" with groups".to_string()));
    }
    let c = collection(state, name)?;
    let (payload, vector) = (search.payload.clone(), search.vector.clone());
    let c2 = c.clone();
    let deadline = engine_deadline();
    let (groups, took) = blocking(move || {
        let began = Instant::now();
        // A group holds at most every stored point: a larger group_size is clamped to that,
        // as a limit beyond the collection's size is (`engine_request`).
        let size = size.min(c2.len().max(1));
        let mut r = engine_request(&c2, search)?.group_by(&field, size);
        if let Some(d) = deadline {
            r = r.deadline(d);
        }
        let groups: Vec<SearchGroup> = c2.query_groups(r)?;
        Ok((groups, began.elapsed()))
    })
    .await?;
    state.metrics.record_search(c.name(), took);
    let groups = groups
        .into_iter()
        .map(|g| PointGroup {
            id: g.key,
            hits: g
                .hits
                .into_iter()
                .map(|h| scored(h.point, h.score, &payload, vector.as_ref()))
                .collect(),
        })
        .collect();
    Ok(qdrant_ok(GroupsResult { groups }, started))
}

/// `POST /collections/{name}/points/search/groups`.
pub(crate) async fn search_groups(
    State(state): State<AppState>,
    Path(name): Path<String>,
    TypedPair(search, grouping): TypedPair<SearchPoints, Grouping>,
) -> Result<Response> {
    let grouping = grouping.checked()?;
    let search = search.into_search()?;
    run(&state, &name, search, grouping).await
}

/// `POST /collections/{name}/points/query/groups`.
pub(crate) async fn query_groups(
    State(state): State<AppState>,
    Path(name): Path<String>,
    TypedPair(query, grouping): TypedPair<QueryPoints, Grouping>,
) -> Result<Response> {
    let grouping = grouping.checked()?;
    let search = query.into_search()?;
    run(&state, &name, search, grouping).await
}
