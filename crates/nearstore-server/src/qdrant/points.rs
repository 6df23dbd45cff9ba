//! Qdrant point routes: upsert, retrieve, delete, scroll and count, and the conversions
//! between Qdrant's point shapes and the engine's.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::Response;
use nearstore::{Direction, Filter, OrderBy, Point, ScrollRequest, VectorCollection};
use serde_json::{Map, Value, json};

use crate::body::{JsonBody, OptionalJsonBody, Typed, qdrant_ok};
use crate::error::{Error, Result, blocking};
use crate::limits::ticket::{scroll_by_deadline, write_options};
use crate::qdrant::collections::update_result;
use crate::qdrant::filter::translate;
use crate::qdrant::ids::{ExtId, external_id, stored_uuid, visible_payload};
use crate::qdrant::model::{BatchWrite, UpdateBatch, UpdateMode, UpsertPoints};
use crate::state::{AppState, Shared};

/// The default (unnamed) dense vector of a Qdrant `VectorStruct`.
pub(crate) fn dense_vector(v: &Value) -> Result<Vec<f32>> {
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| match x {
                Value::Number(n) => n.as_f64().map(|f| f as f32).ok_or_else(|| {
                    Error::bad_request(format!("vector element {i} is not a finite number"))
                }),
                Value::Array(_) => Err(Error::not_supported("multi-vectors")),
                other => Err(Error::bad_request(format!(
                    "vector element {i} must be a number, got {other}"
                ))),
            })
            .collect(),
        Value::Object(o) => {
            if o.contains_key("indices") || o.contains_key("values") {
                return Err(Error::not_supported("sparse vectors"));
            }
            if ["text", "image", "object", "model"]
                .iter()
                .any(|k| o.contains_key(*k))
            {
                return Err(Error::not_supported(
                    "inference objects (documents, images)",
                ));
            }
            match (o.len(), o.get("")) {
                (1, Some(inner)) => dense_vector(inner),
                _ => Err(Error::not_supported(format!(
                    "named vectors ({:?}); only the default unnamed vector \"\" exists",
                    o.keys().collect::<Vec<_>>()
                ))),
            }
        }
        other => Err(Error::bad_request(format!(
            "a vector must be a list of numbers, got {other}"
        ))),
    }
}

/// Which payload fields a response carries (`with_payload`).
#[derive(Debug, Clone)]
pub(crate) enum PayloadSel {
    All,
    Nothing,
    Include(Vec<String>),
    Exclude(Vec<String>),
}

fn string_list(v: &Value) -> Result<Vec<String>> {
    v.as_array()
        .and_then(|a| a.iter().map(|s| s.as_str().map(str::to_string)).collect())
        .ok_or_else(|| Error::bad_request("with_payload field lists must hold strings"))
}

impl PayloadSel {
    /// Reads `with_payload`; `default` when absent.
    pub(crate) fn parse(v: Option<&Value>, default: bool) -> Result<Self> {
        Ok(match v {
            None | Some(Value::Null) => {
                if default {
                    PayloadSel::All
                } else {
                    PayloadSel::Nothing
                }
            }
            Some(Value::Bool(true)) => PayloadSel::All,
            Some(Value::Bool(false)) => PayloadSel::Nothing,
            Some(list @ Value::Array(_)) => PayloadSel::Include(string_list(list)?),
            Some(Value::Object(o)) => match (o.get("include"), o.get("exclude")) {
                (Some(i), None) => PayloadSel::Include(string_list(i)?),
                (None, Some(e)) => PayloadSel::Exclude(string_list(e)?),
                _ => {
                    return Err(Error::bad_request(
                        "with_payload is a bool, a list of fields, {\"include\": [..]} or {\"exclude\": [..]}",
                    ));
                }
            },
            Some(other) => {
                return Err(Error::bad_request(format!("bad with_payload {other}")));
            }
        })
    }

    fn apply(&self, payload: Option<Value>) -> Value {
        let visible = visible_payload(payload);
        match (self, visible) {
            (PayloadSel::Nothing, _) => Value::Null,
            (PayloadSel::All, v) => v,
            (PayloadSel::Include(keys), Value::Object(m)) => {
                let mut out = Map::new();
                for key in keys {
                    include_path(&m, key, &mut out);
                }
                Value::Object(out)
            }
            (PayloadSel::Exclude(keys), Value::Object(mut m)) => {
                for key in keys {
                    exclude_path(&mut m, key);
                }
                Value::Object(m)
            }
            (_, v) => v,
        }
    }
}

/// Copies the value at `path` of `from` into `out` under the same path (`a.b` keeps
/// `{"a": {"b": ..}}`, merged with what earlier paths copied). A key that itself contains
/// the dot is taken whole first.
fn include_path(from: &Map<String, Value>, path: &str, out: &mut Map<String, Value>) {
    if let Some(v) = from.get(path) {
        out.insert(path.to_string(), v.clone());
        return;
    }
    let Some((head, rest)) = path.split_once('.') else {
        return;
    };
    let Some(Value::Object(inner)) = from.get(head) else {
        return;
    };
    let slot = out
        .entry(head.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(slot) = slot {
        include_path(inner, rest, slot);
        if slot.is_empty() {
            out.remove(head);
        }
    }
}

/// Removes the value at `path` (a key containing the dot is removed whole first).
fn exclude_path(from: &mut Map<String, Value>, path: &str) {
    if from.remove(path).is_some() {
        return;
    }
    if let Some((head, rest)) = path.split_once('.')
        && let Some(Value::Object(inner)) = from.get_mut(head)
    {
        exclude_path(inner, rest);
    }
}

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

/// Reads `with_vector` (a bool, or a list of vector names where `""` means the default).
pub(crate) fn with_vector(v: Option<&Value>) -> Result<bool> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Array(names)) => Ok(names.iter().any(|n| n.as_str() == Some(""))),
        Some(other) => Err(Error::bad_request(format!("bad with_vector {other}"))),
    }
}

/// A stored point in Qdrant's `Record` shape.
pub(crate) fn record(p: Point, sel: &PayloadSel, vector: bool) -> Value {
    let id = external_id(p.id, p.payload.as_ref());
    json!({
        "id": id,
        "payload": sel.apply(p.payload),
        "vector": if vector { f32_list(&p.vector) } else { Value::Null },
        "shard_key": null,
        "order_value": null,
    })
}

/// A search result in Qdrant's `ScoredPoint` shape.
pub(crate) fn scored(p: Point, score: f32, sel: &PayloadSel, vector: bool) -> Value {
    let id = external_id(p.id, p.payload.as_ref());
    json!({
        "id": id,
        "version": 0,
        "score": f32_number(score),
        "payload": sel.apply(p.payload),
        "vector": if vector { f32_list(&p.vector) } else { Value::Null },
        "shard_key": null,
        "order_value": null,
    })
}

fn refuse_if_set(body: &Map<String, Value>, keys: &[&str]) -> Result<()> {
    for k in keys {
        if body.get(*k).is_some_and(|v| !v.is_null()) {
            return Err(Error::not_supported(format!("\"{k}\"")));
        }
    }
    Ok(())
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

impl UpdateMode {
    /// Keeps the points this mode writes. The existence check and the write are two steps:
    /// a concurrent writer of the same ids can land between them (Qdrant applies the check
    /// inside its update; NearStore's engine has no conditional upsert).
    fn select(
        self,
        c: &VectorCollection,
        points: Vec<(ExtId, Point)>,
    ) -> Result<Vec<(ExtId, Point)>> {
        if self == UpdateMode::Upsert {
            return Ok(points);
        }
        let ids: Vec<u64> = points.iter().map(|(_, p)| p.id).collect();
        let stored = c.get(&ids)?;
        let keep_stored = self == UpdateMode::UpdateOnly;
        Ok(points
            .into_iter()
            .zip(stored)
            .filter(|(_, s)| s.is_some() == keep_stored)
            .map(|(p, _)| p)
            .collect())
    }
}

/// `PUT /collections/{name}/points`.
pub(crate) async fn upsert(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<UpsertPoints>,
) -> Result<Response> {
    let started = Instant::now();
    let (points, mode) = body.into_points()?;
    let c = state.collection(&name)?;
    let options = write_options();
    blocking(move || {
        let points = mode.select(&c, points)?;
        if points.is_empty() {
            return Ok(());
        }
        check_uuid_collisions(&c, &points)?;
        let points: Vec<Point> = points.into_iter().map(|(_, p)| p).collect();
        Ok(c.upsert_with(&points, &options)?)
    })
    .await?;
    Ok(qdrant_ok(update_result(), started))
}

/// `POST /collections/{name}/points/batch`: upserts, deletes and payload operations
/// applied in order, in one piece of blocking work. Each operation is its own engine
/// write: when one fails, the ones before it stay applied (as in Qdrant). The request's
/// deadline rides on the first operation only when it is an upsert or a payload operation:
/// once something is applied, the rest runs to its end, so a batch the engine cancelled has
/// applied nothing.
pub(crate) async fn batch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<UpdateBatch>,
) -> Result<Response> {
    let started = Instant::now();
    let writes = body.into_writes()?;
    let c = state.collection(&name)?;
    let first_options = write_options();
    blocking(move || {
        for (i, write) in writes.into_iter().enumerate() {
            match write {
                BatchWrite::Upsert(points, mode) => {
                    let points = mode.select(&c, points)?;
                    if points.is_empty() {
                        continue;
                    }
                    check_uuid_collisions(&c, &points)?;
                    let points: Vec<Point> = points.into_iter().map(|(_, p)| p).collect();
                    let options = if i == 0 {
                        first_options.clone()
                    } else {
                        nearstore::WriteOptions::default()
                    };
                    c.upsert_with(&points, &options)?;
                }
                BatchWrite::DeleteIds(ids) => {
                    c.delete(&ids)?;
                }
                BatchWrite::DeleteMatching(filter) => {
                    c.delete_by_filter(&filter)?;
                }
                BatchWrite::Payload(selector, change) => {
                    let options = if i == 0 {
                        first_options.clone()
                    } else {
                        nearstore::WriteOptions::default()
                    };
                    crate::qdrant::payload::apply(&c, &selector, &change, &options)?;
                }
            }
        }
        Ok(())
    })
    .await?;
    Ok(qdrant_ok(vec![update_result()], started))
}

/// `POST /collections/{name}/points`: retrieve by ids.
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response> {
    let started = Instant::now();
    let ids = body
        .get("ids")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::bad_request("\"ids\" must be a list of point ids"))?;
    Shared::check_batch("ids", ids.len(), state.limits.max_batch_points)?;
    let ids = ExtId::internal_ids(ids)?;
    let sel = PayloadSel::parse(body.get("with_payload"), true)?;
    let vector = with_vector(body.get("with_vector"))?;
    let c = state.collection(&name)?;
    let found = blocking(move || Ok(c.get(&ids)?)).await?;
    let records: Vec<Value> = found
        .into_iter()
        .flatten()
        .map(|p| record(p, &sel, vector))
        .collect();
    Ok(qdrant_ok(records, started))
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
    let c = state.collection(&name)?;
    let internal = ext.internal();
    let found = blocking(move || Ok(c.get(&[internal])?)).await?;
    match found.into_iter().next().flatten() {
        Some(p) => Ok(qdrant_ok(record(p, &PayloadSel::All, true), started)),
        None => Err(Error::NotFound(format!("No point with id {id} found"))),
    }
}

/// `POST /collections/{name}/points/delete`: `{"points": [ids]}` or `{"filter": {...}}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response> {
    let started = Instant::now();
    refuse_if_set(&body, &["shard_key"])?;
    let c = state.collection(&name)?;
    match (body.get("points"), body.get("filter")) {
        (Some(Value::Array(ids)), None) => {
            Shared::check_batch("ids", ids.len(), state.limits.max_batch_points)?;
            let ids = ExtId::internal_ids(ids)?;
            blocking(move || Ok(c.delete(&ids)?)).await?;
        }
        (None, Some(filter)) => {
            let filter = translate(Some(filter))?.unwrap_or_else(|| Filter::and(Vec::new()));
            blocking(move || Ok(c.delete_by_filter(&filter)?)).await?;
        }
        _ => {
            return Err(Error::bad_request(
                "expected {\"points\": [ids]} or {\"filter\": {...}}",
            ));
        }
    }
    Ok(qdrant_ok(update_result(), started))
}

/// Reads a scroll's `order_by`: a key, or `{"key", "direction", "start_from"}`.
fn order_by(v: Option<&Value>) -> Result<Option<OrderBy>> {
    let o = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(key)) => return Ok(Some(OrderBy::asc(key))),
        Some(Value::Object(o)) => o,
        Some(other) => {
            return Err(Error::bad_request(format!(
                "order_by is a key or {{\"key\", \"direction\", \"start_from\"}}, got {other}"
            )));
        }
    };
    let key = o
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::bad_request("order_by needs a string \"key\""))?;
    let direction = match o.get("direction") {
        None | Some(Value::Null) => Direction::Asc,
        Some(Value::String(d)) if d == "asc" => Direction::Asc,
        Some(Value::String(d)) if d == "desc" => Direction::Desc,
        Some(other) => {
            return Err(Error::bad_request(format!(
                "order_by.direction is \"asc\" or \"desc\", got {other}"
            )));
        }
    };
    let mut order = OrderBy::asc(key);
    order.direction = direction;
    match o.get("start_from") {
        None | Some(Value::Null) => {}
        Some(v @ (Value::Number(_) | Value::String(_))) => order = order.start_from(v.clone()),
        Some(other) => {
            return Err(Error::bad_request(format!(
                "order_by.start_from is a number or a date string, got {other}"
            )));
        }
    }
    Ok(Some(order))
}

/// `POST /collections/{name}/points/scroll`: one engine scroll page. With `order_by`
/// the page is ordered by that payload field (ties by id) and, as in Qdrant,
/// `next_page_offset` is null (continue with `start_from`).
pub(crate) async fn scroll(
    State(state): State<AppState>,
    Path(name): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<Map<String, Value>>,
) -> Result<Response> {
    let started = Instant::now();
    refuse_if_set(&body, &["shard_key"])?;
    let limit = match body.get("limit") {
        None | Some(Value::Null) => 10,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| Error::bad_request("limit must be a positive integer"))?
            as usize,
    };
    let order = order_by(body.get("order_by"))?;
    let sel = PayloadSel::parse(body.get("with_payload"), true)?;
    let vector = with_vector(body.get("with_vector"))?;
    // Payloads are always read: a UUID id is kept in the payload.
    let mut request = ScrollRequest::new()
        .filter_opt(translate(body.get("filter"))?)
        .limit(limit)
        .with_payload(true)
        .with_vector(vector);
    match body.get("offset") {
        None | Some(Value::Null) => {}
        Some(_) if order.is_some() => {
            return Err(Error::bad_request(
                "offset cannot be used with order_by (use order_by.start_from)",
            ));
        }
        Some(v) => request = request.from_id(ExtId::parse(v)?.internal()),
    }
    let ordered_by = order.as_ref().map(|o| o.field.clone());
    if let Some(o) = order {
        request = request.order_by(o);
    }
    let c = state.collection(&name)?;
    let request = scroll_by_deadline(request);
    let ordered = ordered_by.is_some();
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
    let records: Vec<Value> = page
        .points
        .into_iter()
        .map(|p| {
            let order_value = ordered_by
                .as_deref()
                .and_then(|f| {
                    p.payload
                        .as_ref()
                        .and_then(|pl| nearstore::filter::field_value(pl, f))
                })
                .cloned();
            let mut r = record(p, &sel, vector);
            if let (Some(v), Some(obj)) = (order_value, r.as_object_mut()) {
                obj.insert("order_value".into(), v);
            }
            r
        })
        .collect();
    Ok(qdrant_ok(
        json!({"points": records, "next_page_offset": next}),
        started,
    ))
}

/// `POST /collections/{name}/points/count`.
pub(crate) async fn count(
    State(state): State<AppState>,
    Path(name): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<Map<String, Value>>,
) -> Result<Response> {
    let started = Instant::now();
    let filter = translate(body.get("filter"))?;
    let c = state.collection(&name)?;
    let n = blocking(move || Ok(c.count(filter.as_ref())?)).await?;
    Ok(qdrant_ok(json!({"count": n}), started))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_payload_paths_are_dotted() {
        let p = json!({"a": {"b": 1, "c": 2}, "d": 3, "x.y": 4});
        let include = |keys: &[&str]| {
            PayloadSel::Include(keys.iter().map(|k| k.to_string()).collect()).apply(Some(p.clone()))
        };
        let exclude = |keys: &[&str]| {
            PayloadSel::Exclude(keys.iter().map(|k| k.to_string()).collect()).apply(Some(p.clone()))
        };
        assert_eq!(include(&["a.b", "d"]), json!({"a": {"b": 1}, "d": 3}));
        assert_eq!(include(&["a.b", "a.c"]), json!({"a": {"b": 1, "c": 2}}));
        assert_eq!(include(&["a.z", "x.y"]), json!({"x.y": 4}));
        assert_eq!(exclude(&["a.b", "x.y"]), json!({"a": {"c": 2}, "d": 3}));
        assert_eq!(exclude(&["d.e", "q"]), p);
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
