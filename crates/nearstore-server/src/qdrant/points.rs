//! Qdrant point routes: upsert, retrieve, delete, scroll and count, and the conversions
//! between Qdrant's point shapes and the engine's.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::Response;
use nearstore::{FieldIndexKind, Point, PointSelector, ScrollRequest, VectorCollection};
use serde_json::{Value, json};

use crate::body::{OptionalTyped, Typed, qdrant_ok};
use crate::error::{Error, Result, blocking};
use crate::limits::ticket::{engine_deadline, scroll_by_deadline, write_options};
use crate::qdrant::answer::{
    CountResult, Record, Records, ScoredPoint, ScrollResult, UpdateResult, UpdateResults,
};
use crate::qdrant::collection;
use crate::qdrant::filter::from_raw;
use crate::qdrant::ids::{ExtId, external_id, stored_uuid};
use crate::qdrant::model::{BatchWrite, PointsSelector, UpdateBatch, UpsertPoints};
use crate::qdrant::payload_select::PayloadSel;
use crate::qdrant::request::{
    CountPoints, RetrievePoints, ScrollPoints, WithPayload, WithVector, refuse_set,
};
use crate::qdrant::vector_edits;
use crate::qdrant::vectors::vector_out;
use crate::state::AppState;

/// An f32 as the JSON number of its shortest decimal form (a stored 0.15 prints `0.15`, not
/// the widened `0.15000000596046448`). The digits are formatted on the stack by `ryu`; the
/// f64 nearest those digits prints back as the same digits. Non-finite values (never stored:
/// upserts refuse them) become `null`, as serde_json does.
pub(crate) fn f32_number(x: f32) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    let mut digits = ryu::Buffer::new();
    digits
        .format_finite(x)
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// A vector as a JSON list of [`f32_number`]s.
pub(crate) fn f32_list(v: &[f32]) -> Value {
    Value::Array(v.iter().map(|&x| f32_number(x)).collect())
}

/// A stored point in Qdrant's `Record` shape.
pub(crate) fn record(p: Point, sel: &PayloadSel, vector: Option<&WithVector>) -> Record {
    Record {
        id: external_id(p.id, p.payload.as_ref()),
        vector: vector_out(&p, vector),
        payload: sel.apply(p.payload),
        shard_key: None,
        order_value: None,
    }
}

/// A search result in Qdrant's `ScoredPoint` shape.
pub(crate) fn scored(
    p: Point,
    score: f32,
    sel: &PayloadSel,
    vector: Option<&WithVector>,
) -> ScoredPoint {
    ScoredPoint {
        id: external_id(p.id, p.payload.as_ref()),
        version: 0,
        score: f32_number(score),
        vector: vector_out(&p, vector),
        payload: sel.apply(p.payload),
        shard_key: None,
        order_value: None,
    }
}

/// Fails when a UUID id's stored id already belongs to a different UUID.
fn check_uuid_collisions(c: &VectorCollection, points: &[(ExtId, Point)]) -> Result<()> {
    let uuids: Vec<(&str, u64)> = points
        .iter()
        .filter_map(|(e, p)| match e {
            ExtId::Uuid(s) => Some((s.as_str(), p.id)),
            ExtId::Num(_) => None,
        })
        .collect();
    if uuids.is_empty() {
        return Ok(());
    }
    let ids: Vec<u64> = uuids.iter().map(|(_, id)| *id).collect();
    for ((uuid, _), existing) in uuids.iter().zip(c.get(&ids)?) {
        if let Some(stored) = existing
            .as_ref()
            .and_then(|p| stored_uuid(p.payload.as_ref()))
            && !same_uuid(stored, uuid)
        {
            return Err(Error::Conflict(format!(
                "UUID {uuid} maps to the same stored id as the existing UUID {stored}"
            )));
        }
    }
    Ok(())
}

fn same_uuid(a: &str, b: &str) -> bool {
    matches!((uuid::Uuid::parse_str(a), uuid::Uuid::parse_str(b)), (Ok(x), Ok(y)) if x == y)
}

/// `PUT /collections/{name}/points`.
pub(crate) async fn upsert(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<UpsertPoints>,
) -> Result<Response> {
    let started = Instant::now();
    let points = body.into_points()?;
    let c = collection(&state, &name)?;
    let options = write_options();
    blocking(move || {
        if points.is_empty() {
            return Ok(());
        }
        check_uuid_collisions(&c, &points)?;
        let points: Vec<Point> = points.into_iter().map(|(_, p)| p).collect();
        Ok(c.upsert_with(points, &options)?)
    })
    .await?;
    Ok(qdrant_ok(UpdateResult::completed(), started))
}

/// `POST /collections/{name}/points/batch`: upserts, deletes, payload and vector operations
/// applied in order, in one piece of blocking work. Each operation is its own engine
/// write: when one fails, the ones before it stay applied (as in Qdrant). The request's
/// deadline rides on the first operation only when it is an upsert, a payload or a vector
/// operation:
/// once something is applied, the rest runs to its end, so a batch the engine cancelled has
/// applied nothing.
pub(crate) async fn batch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<UpdateBatch>,
) -> Result<Response> {
    let started = Instant::now();
    let writes = body.into_writes()?;
    let c = collection(&state, &name)?;
    let first_options = write_options();
    blocking(move || {
        for (i, write) in writes.into_iter().enumerate() {
            let options = if i == 0 {
                first_options.clone()
            } else {
                nearstore::WriteOptions::default()
            };
            match write {
                BatchWrite::Upsert(points) => {
                    if points.is_empty() {
                        continue;
                    }
                    check_uuid_collisions(&c, &points)?;
                    let points: Vec<Point> = points.into_iter().map(|(_, p)| p).collect();
                    c.upsert_with(points, &options)?;
                }
                BatchWrite::DeleteIds(ids) => {
                    c.delete(&ids)?;
                }
                BatchWrite::DeleteMatching(filter) => {
                    c.delete_by_filter(&filter)?;
                }
                BatchWrite::Payload(write) => {
                    crate::qdrant::payload::apply(&c, &write, &options)?;
                }
                BatchWrite::UpdateVectors(edits) => {
                    vector_edits::apply_update(&c, &edits, &options)?;
                }
                BatchWrite::DeleteVectors(delete) => {
                    vector_edits::apply_delete(&c, &delete, &options)?;
                }
            }
        }
        Ok(())
    })
    .await?;
    Ok(qdrant_ok(
        UpdateResults(vec![UpdateResult::completed()]),
        started,
    ))
}

/// `POST /collections/{name}/points`: retrieve by ids.
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<RetrievePoints>,
) -> Result<Response> {
    let started = Instant::now();
    refuse_set(&[("shard_key", body.shard_key.as_ref())])?;
    let ids = ExtId::internal_ids(&body.ids.into_vec())?;
    let sel = WithPayload::selection(body.with_payload.as_ref(), true);
    let vector = body.with_vector;
    let c = collection(&state, &name)?;
    let found = blocking(move || Ok(c.get(&ids)?)).await?;
    let records: Vec<Record> = found
        .into_iter()
        .flatten()
        .map(|p| record(p, &sel, vector.as_ref()))
        .collect();
    Ok(qdrant_ok(Records(records), started))
}

/// `GET /collections/{name}/points/{id}`.
pub(crate) async fn get_one(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response> {
    let started = Instant::now();
    let ext = match id.parse::<u64>() {
        Ok(n) => ExtId::parse(&json!(n))?,
        Err(_) => ExtId::parse(&Value::String(id.clone()))?,
    };
    let c = collection(&state, &name)?;
    let internal = ext.internal();
    let found = blocking(move || Ok(c.get(&[internal])?)).await?;
    match found.into_iter().next().flatten() {
        Some(p) => Ok(qdrant_ok(
            record(p, &PayloadSel::All, Some(&WithVector::Flag(true))),
            started,
        )),
        None => Err(Error::NotFound(format!("No point with id {id} found"))),
    }
}

/// `POST /collections/{name}/points/delete`: `{"points": [ids]}` or `{"filter": {...}}`.
/// The engine's deletes take no deadline yet: a delete runs to its end.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<PointsSelector>,
) -> Result<Response> {
    let started = Instant::now();
    let selector = body.into_selector()?;
    let c = collection(&state, &name)?;
    blocking(move || match selector {
        PointSelector::Ids(ids) => Ok(c.delete(&ids)?),
        PointSelector::Filter(f) => Ok(c.delete_by_filter(&f)?),
    })
    .await?;
    Ok(qdrant_ok(UpdateResult::completed(), started))
}

/// A scroll's page size: Qdrant's default 10; 0 is Qdrant's 422; a limit above the
/// engine's largest page is clamped to it (the page then ends with `next_page_offset`, so a
/// client that pages on until it is null still reads every point).
fn scroll_limit(limit: Option<usize>) -> Result<usize> {
    match limit {
        None => Ok(10),
        Some(0) => Err(Error::validation(
            "limit: value 0 invalid, must be 1 or larger",
        )),
        Some(l) => Ok(l.min(nearstore::MAX_SCROLL_LIMIT)),
    }
}

/// Qdrant orders a scroll only by a field with a range index (integer, float or datetime):
/// 400 otherwise, with Qdrant's message.
fn range_index(c: &VectorCollection, field: &str) -> Result<()> {
    let kind = c
        .field_indexes()
        .into_iter()
        .find(|(f, _)| f == field)
        .map(|(_, kind)| kind);
    match kind {
        Some(FieldIndexKind::Integer | FieldIndexKind::Float | FieldIndexKind::Datetime) => Ok(()),
        _ => Err(Error::bad_request(format!(
            "No range index for `order_by` key: `{field}`. Please create one to use `order_by` \
             (an integer, float or datetime payload index)"
        ))),
    }
}

/// `POST /collections/{name}/points/scroll`: one engine scroll page. With `order_by`
/// the page is ordered by that payload field (ties by id) and, as in Qdrant,
/// `next_page_offset` is null (continue with `start_from`).
pub(crate) async fn scroll(
    State(state): State<AppState>,
    Path(name): Path<String>,
    OptionalTyped(body): OptionalTyped<ScrollPoints>,
) -> Result<Response> {
    let started = Instant::now();
    refuse_set(&[("shard_key", body.shard_key.as_ref())])?;
    let sel = WithPayload::selection(body.with_payload.as_ref(), true);
    let vector = body.with_vector;
    // Payloads are always read: a UUID id is kept in the payload.
    let mut request = ScrollRequest::new()
        .filter_opt(from_raw(body.filter.as_deref())?)
        .limit(scroll_limit(body.limit)?)
        .with_payload(true)
        .with_vector(WithVector::any(vector.as_ref()));
    let order = body.order_by.map(|o| o.0);
    match body.offset {
        None | Some(Value::Null) => {}
        Some(_) if order.is_some() => {
            return Err(Error::bad_request(
                "offset cannot be used with order_by (use order_by.start_from)",
            ));
        }
        Some(v) => request = request.from_id(ExtId::parse(&v)?.internal()),
    }
    let c = collection(&state, &name)?;
    let ordered = order.is_some();
    if let Some(o) = order {
        range_index(&c, &o.field)?;
        request = request.order_by(o);
    }
    let request = scroll_by_deadline(request);
    let (page, next) = blocking(move || {
        let page = c.scroll_with(&request)?;
        // The next page's first point, for its id in the client's form.
        let next = match (ordered, page.next_cursor) {
            (false, Some(id)) => {
                let payload = c.get(&[id])?.into_iter().next().flatten();
                external_id(id, payload.and_then(|p| p.payload).as_ref())
            }
            _ => Value::Null,
        };
        Ok((page, next))
    })
    .await?;
    // Qdrant's `order_value` is the number the point was placed by (the engine's value;
    // microseconds for a datetime key); a non-number is left out.
    let mut order_values = page.order_values.into_iter();
    let points: Vec<Record> = page
        .points
        .into_iter()
        .map(|p| {
            let mut r = record(p, &sel, vector.as_ref());
            r.order_value = order_values.next().filter(Value::is_number);
            r
        })
        .collect();
    Ok(qdrant_ok(
        ScrollResult {
            points,
            next_page_offset: next,
        },
        started,
    ))
}

/// The points matching `filter` (all points without one), the filter resolved under
/// `deadline` by the engine.
fn count_within(
    c: &VectorCollection,
    filter: Option<&nearstore::Filter>,
    deadline: Option<&nearstore::Deadline>,
) -> Result<usize> {
    match filter {
        Some(f) => Ok(c.matching_ids(Some(f), deadline)?.len()),
        None => Ok(c.count(None)?),
    }
}

/// `POST /collections/{name}/points/count`. A filtered count resolves the filter under the
/// request's deadline (the engine's `matching_ids`), so a count past it stops with 408.
pub(crate) async fn count(
    State(state): State<AppState>,
    Path(name): Path<String>,
    OptionalTyped(body): OptionalTyped<CountPoints>,
) -> Result<Response> {
    let started = Instant::now();
    refuse_set(&[("shard_key", body.shard_key.as_ref())])?;
    let filter = from_raw(body.filter.as_deref())?;
    let c = collection(&state, &name)?;
    let deadline = engine_deadline();
    let count = blocking(move || count_within(&c, filter.as_ref(), deadline.as_ref())).await?;
    Ok(qdrant_ok(CountResult { count }, started))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filtered_count_stops_at_its_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let db = nearstore::Database::open(dir.path()).unwrap();
        let c = db
            .create_collection("c", 2, nearstore::DistanceMetric::Cosine)
            .unwrap();
        let points: Vec<Point> = (0..100)
            .map(|i| Point::new(i, vec![1.0, 0.5], Some(json!({"n": i % 3}))))
            .collect();
        c.upsert(points).unwrap();
        let f = nearstore::Filter::eq("n", json!(1));
        assert_eq!(count_within(&c, Some(&f), None).unwrap(), 33);
        let passed = nearstore::Deadline::at(std::time::Instant::now());
        let err = count_within(&c, Some(&f), Some(&passed)).unwrap_err();
        assert_eq!(err.status().as_u16(), 408, "{err:?}");
        assert_eq!(count_within(&c, None, Some(&passed)).unwrap(), 100);
    }

    #[test]
    fn f32_numbers_print_their_shortest_digits() {
        assert_eq!(f32_number(0.15).to_string(), "0.15");
        assert_eq!(f32_number(-1.0e-7).to_string(), "-1e-7");
        assert_eq!(f32_number(f32::MAX).to_string(), "3.4028235e+38");
        assert_eq!(f32_number(1.0).to_string(), "1.0");
        assert_eq!(f32_number(f32::NAN), Value::Null);
        assert_eq!(f32_list(&[0.1, 0.7]).to_string(), "[0.1,0.7]");
    }
}
