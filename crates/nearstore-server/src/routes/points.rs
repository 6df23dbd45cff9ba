//! Native point routes: upsert (row and column forms), get, delete (by ids or filter),
//! scroll and count. Each handler converts its body (`crate::model::points`) and calls
//! the engine once.

use axum::Json;
use axum::extract::{Path, State};
use nearstore::ScrollRequest;

use crate::body::{OptionalTyped, Typed};
use crate::error::{Error, Result, blocking};
use crate::limits::ticket::{scroll_by_deadline, write_options};
use crate::model::points::{
    CountPoints, DeletePoints, DeleteTarget, GetPoints, PointCount, PointList, PointOut,
    PointsDeleted, ScrollPage, ScrollPoints, Upsert, Upserted,
};
use crate::state::AppState;

/// `PUT /v1/collections/{name}/points`.
pub(crate) async fn upsert(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<Upsert>,
) -> Result<Json<Upserted>> {
    let c = state.collection(&name)?;
    let points = body.into_points()?;
    let upserted = points.len();
    let options = write_options();
    blocking(move || Ok(c.upsert_with(points, &options)?)).await?;
    Ok(Json(Upserted { upserted }))
}

/// `POST /v1/collections/{name}/points/get`: `{"points": [point or null, ...]}` in the
/// order asked.
pub(crate) async fn get_many(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<GetPoints>,
) -> Result<Json<PointList>> {
    let c = state.collection(&name)?;
    let (with_vector, with_payload) = (body.with_vector, body.with_payload);
    let ids = body.ids.into_vec();
    let found = blocking(move || Ok(c.get(&ids)?)).await?;
    let points = found
        .into_iter()
        .map(|p| p.map(|p| PointOut::shaped(p, with_vector, with_payload)))
        .collect();
    Ok(Json(PointList { points }))
}

/// `GET /v1/collections/{name}/points/{id}`.
pub(crate) async fn get_one(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<PointOut>> {
    let id: u64 = id.parse().map_err(|_| {
        Error::bad_request(format!("point id must be an unsigned integer, got {id:?}"))
    })?;
    let c = state.collection(&name)?;
    let found = blocking(move || Ok(c.get(&[id])?)).await?;
    match found.into_iter().next().flatten() {
        Some(p) => Ok(Json(PointOut::shaped(p, true, true))),
        None => Err(Error::NotFound(format!(
            "point {id} does not exist in collection {name:?}"
        ))),
    }
}

/// `POST /v1/collections/{name}/points/delete`: `{"deleted": n}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<DeletePoints>,
) -> Result<Json<PointsDeleted>> {
    let c = state.collection(&name)?;
    let deleted = match body.into_target()? {
        DeleteTarget::Ids(ids) => blocking(move || Ok(c.delete(&ids)?)).await?,
        DeleteTarget::Matching(f) => blocking(move || Ok(c.delete_by_filter(&f)?)).await?,
    };
    Ok(Json(PointsDeleted { deleted }))
}

/// `POST /v1/collections/{name}/points/scroll`: `{"points": [...], "next_cursor": id|null}`.
pub(crate) async fn scroll(
    State(state): State<AppState>,
    Path(name): Path<String>,
    OptionalTyped(body): OptionalTyped<ScrollPoints>,
) -> Result<Json<ScrollPage>> {
    let c = state.collection(&name)?;
    let s = body.into_scroll()?;
    let mut request = ScrollRequest::new().filter_opt(s.filter).limit(s.limit);
    if let Some(id) = s.cursor {
        request = request.from_id(id);
    }
    let request = scroll_by_deadline(request);
    let page = blocking(move || Ok(c.scroll_with(&request)?)).await?;
    let points = page
        .points
        .into_iter()
        .map(|p| PointOut::shaped(p, s.with_vector, s.with_payload))
        .collect();
    Ok(Json(ScrollPage {
        points,
        next_cursor: page.next_cursor,
    }))
}

/// `POST /v1/collections/{name}/points/count`: `{"count": n}`.
pub(crate) async fn count(
    State(state): State<AppState>,
    Path(name): Path<String>,
    OptionalTyped(body): OptionalTyped<CountPoints>,
) -> Result<Json<PointCount>> {
    let c = state.collection(&name)?;
    let filter = body.into_filter()?;
    let count = blocking(move || Ok(c.count(filter.as_ref())?)).await?;
    Ok(Json(PointCount { count }))
}
