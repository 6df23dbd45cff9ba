//! Native point routes: upsert (row and column forms), get, delete (by ids or filter),
//! scroll and count.

use axum::Json;
use axum::extract::{Path, State};
use nearstore::{Filter, Point};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::body::{JsonBody, OptionalJsonBody};
use crate::error::{Error, Result, blocking};
use crate::state::{AppState, Shared};

/// One point in the row form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PointIn {
    id: u64,
    vector: Vec<f32>,
    #[serde(default)]
    payload: Option<Value>,
}

/// The column form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Columns {
    ids: Vec<u64>,
    vectors: Vec<Vec<f32>>,
    #[serde(default)]
    payloads: Option<Vec<Option<Value>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rows {
    points: Vec<PointIn>,
}

fn from_value<T: serde::de::DeserializeOwned>(v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")))
}

/// Reads an upsert body: `[{id, vector, payload}]`, `{"points": [...]}` or
/// `{"ids": [...], "vectors": [...], "payloads": [...]}`.
fn upsert_points(body: Value, max: usize) -> Result<Vec<Point>> {
    let rows = match body {
        Value::Array(_) => from_value::<Vec<PointIn>>(body)?,
        Value::Object(ref o) if o.contains_key("points") => from_value::<Rows>(body)?.points,
        Value::Object(ref o) if o.contains_key("ids") => {
            let c = from_value::<Columns>(body)?;
            Shared::check_batch("points", c.ids.len(), max)?;
            let n = c.ids.len();
            if c.vectors.len() != n || c.payloads.as_ref().is_some_and(|p| p.len() != n) {
                return Err(Error::bad_request(format!(
                    "column form needs as many vectors (got {}) and payloads (got {}) as ids ({n})",
                    c.vectors.len(),
                    c.payloads.as_ref().map_or(n, Vec::len)
                )));
            }
            let payloads = c.payloads.unwrap_or_else(|| vec![None; n]);
            return Ok(c
                .ids
                .into_iter()
                .zip(c.vectors)
                .zip(payloads)
                .map(|((id, v), p)| Point::new(id, v, p))
                .collect());
        }
        _ => {
            return Err(Error::bad_request(
                "expected an array of points, {\"points\": [...]} or {\"ids\": [...], \"vectors\": [...], \"payloads\": [...]}",
            ));
        }
    };
    Shared::check_batch("points", rows.len(), max)?;
    Ok(rows
        .into_iter()
        .map(|p| Point::new(p.id, p.vector, p.payload))
        .collect())
}

/// `PUT /v1/collections/{name}/points`.
pub(crate) async fn upsert(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>> {
    let points = upsert_points(body, state.limits.max_batch_points)?;
    let c = state.collection(&name)?;
    let n = points.len();
    blocking(move || Ok(c.upsert(points)?)).await?;
    Ok(Json(json!({"upserted": n})))
}

/// `POST /v1/collections/{name}/points/get` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetPoints {
    ids: Vec<u64>,
    #[serde(default = "yes")]
    with_vector: bool,
    #[serde(default = "yes")]
    with_payload: bool,
}

fn yes() -> bool {
    true
}

fn shape(mut p: Point, with_vector: bool, with_payload: bool) -> Point {
    if !with_vector {
        p.vector = Vec::new();
    }
    if !with_payload {
        p.payload = None;
    }
    p
}

/// `POST /v1/collections/{name}/points/get`: `{"points": [point or null, ...]}` in the
/// order asked.
pub(crate) async fn get_many(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<GetPoints>,
) -> Result<Json<Value>> {
    Shared::check_batch("ids", body.ids.len(), state.limits.max_batch_points)?;
    let c = state.collection(&name)?;
    let ids = body.ids;
    let found = blocking(move || Ok(c.get(&ids)?)).await?;
    let points: Vec<Option<Point>> = found
        .into_iter()
        .map(|p| p.map(|p| shape(p, body.with_vector, body.with_payload)))
        .collect();
    Ok(Json(json!({"points": points})))
}

/// `GET /v1/collections/{name}/points/{id}`.
pub(crate) async fn get_one(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Point>> {
    let id: u64 = id.parse().map_err(|_| {
        Error::bad_request(format!("point id must be an unsigned integer, got {id:?}"))
    })?;
    let c = state.collection(&name)?;
    let found = blocking(move || Ok(c.get(&[id])?)).await?;
    match found.into_iter().next().flatten() {
        Some(p) => Ok(Json(p)),
        None => Err(Error::NotFound(format!(
            "point {id} does not exist in collection {name:?}"
        ))),
    }
}

/// Parses an optional filter in our JSON form.
pub(crate) fn parse_filter(v: Option<&Value>) -> Result<Option<Filter>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => Ok(Some(Filter::parse(v).map_err(nearstore::Error::from)?)),
    }
}

/// `POST /v1/collections/{name}/points/delete` body: exactly one of `ids` and `filter`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeletePoints {
    #[serde(default)]
    ids: Option<Vec<u64>>,
    #[serde(default)]
    filter: Option<Value>,
}

/// `POST /v1/collections/{name}/points/delete`: `{"deleted": n}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<DeletePoints>,
) -> Result<Json<Value>> {
    let c = state.collection(&name)?;
    let deleted = match (body.ids, parse_filter(body.filter.as_ref())?) {
        (Some(ids), None) => {
            Shared::check_batch("ids", ids.len(), state.limits.max_batch_points)?;
            blocking(move || Ok(c.delete(&ids)?)).await?
        }
        (None, Some(f)) => blocking(move || Ok(c.delete_by_filter(&f)?)).await?,
        _ => {
            return Err(Error::bad_request(
                "give exactly one of \"ids\" and \"filter\"",
            ));
        }
    };
    Ok(Json(json!({"deleted": deleted})))
}

/// `POST /v1/collections/{name}/points/scroll` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScrollPoints {
    #[serde(default)]
    filter: Option<Value>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    cursor: Option<u64>,
    #[serde(default)]
    with_vector: Option<bool>,
    #[serde(default)]
    with_payload: Option<bool>,
}

/// `POST /v1/collections/{name}/points/scroll`: `{"points": [...], "next_cursor": id|null}`.
pub(crate) async fn scroll(
    State(state): State<AppState>,
    Path(name): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<ScrollPoints>,
) -> Result<Json<Value>> {
    let c = state.collection(&name)?;
    let filter = parse_filter(body.filter.as_ref())?;
    let limit = body.limit.unwrap_or(100);
    let cursor = body.cursor;
    let page = blocking(move || Ok(c.scroll(filter.as_ref(), limit, cursor)?)).await?;
    let (wv, wp) = (
        body.with_vector.unwrap_or(true),
        body.with_payload.unwrap_or(true),
    );
    let points: Vec<Point> = page.points.into_iter().map(|p| shape(p, wv, wp)).collect();
    Ok(Json(
        json!({"points": points, "next_cursor": page.next_cursor}),
    ))
}

/// `POST /v1/collections/{name}/points/count` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CountPoints {
    #[serde(default)]
    filter: Option<Value>,
}

/// `POST /v1/collections/{name}/points/count`: `{"count": n}`.
pub(crate) async fn count(
    State(state): State<AppState>,
    Path(name): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<CountPoints>,
) -> Result<Json<Value>> {
    let c = state.collection(&name)?;
    let filter = parse_filter(body.filter.as_ref())?;
    let n = blocking(move || Ok(c.count(filter.as_ref())?)).await?;
    Ok(Json(json!({"count": n})))
}
