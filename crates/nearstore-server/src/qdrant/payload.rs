//! Qdrant payload operations: `set_payload`, `overwrite_payload`, `delete_payload` and
//! `clear_payload`, as routes and as `points/batch` operations, each converted into the
//! engine's [`PointSelector`] and [`PayloadChange`].
//!
//! Invariant: the reserved UUID key ([`UUID_KEY`]) survives every payload operation, so a
//! point written with a UUID id keeps answering with it. A set payload or key naming the
//! reserved key is refused (400), a delete of it is ignored (the key is invisible). Set and
//! delete are one engine `update_payload` call (atomic, under the collection's writer).
//! Overwrite and clear replace the whole payload, which would drop a UUID point's reserved
//! key: they are one engine call over the selected points without that key, plus one call
//! per selected UUID point (writing the same result with its key kept). All of it runs in
//! one blocking piece of work, but the calls for UUID points are separate engine writes.
//! Points chosen by id must exist (the first missing one is 404, as Qdrant answers, before
//! anything is written); a `key` or `keys` path with an array selector is 400.
//!
//! Must not depend on the native routes.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::Response;
use nearstore::{
    Filter, PayloadChange, PointSelector, ScrollRequest, VectorCollection, WriteOptions,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::body::bounded::{Bounded, IdsLimit};
use crate::body::{Typed, qdrant_ok, raw_to_value};
use crate::error::{Error, Result, blocking};
use crate::limits::ticket::write_options;
use crate::model::RawJson;
use crate::qdrant::answer::UpdateResult;
use crate::qdrant::collection;
use crate::qdrant::filter::translate;
use crate::qdrant::ids::{ExtId, UUID_KEY};
use crate::qdrant::model::{IdIn, PointsSelector, is_set};
use crate::state::AppState;

/// `set_payload` / `overwrite_payload` body: the payload, and ids or a filter.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct SetPayload {
    /// The keys to write (a JSON object).
    #[schema(value_type = Object)]
    pub(crate) payload: RawJson,
    #[serde(default)]
    #[schema(value_type = Option<Vec<crate::qdrant::model::PointId>>)]
    pub(crate) points: Option<Bounded<IdIn, IdsLimit>>,
    #[serde(default)]
    #[schema(value_type = Option<crate::qdrant::schema::FilterSchema>)]
    pub(crate) filter: Option<RawJson>,
    /// `set_payload` only: the dotted path of the object to merge into.
    #[serde(default)]
    pub(crate) key: Option<String>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<RawJson>,
}

/// `delete_payload` body: the keys (dotted paths), and ids or a filter.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct DeletePayload {
    #[schema(value_type = Vec<String>)]
    pub(crate) keys: Bounded<String, IdsLimit>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<crate::qdrant::model::PointId>>)]
    pub(crate) points: Option<Bounded<IdIn, IdsLimit>>,
    #[serde(default)]
    #[schema(value_type = Option<crate::qdrant::schema::FilterSchema>)]
    pub(crate) filter: Option<RawJson>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<RawJson>,
}

/// The engine selector of `points` xor `filter` (400 for both or neither).
pub(crate) fn selector(
    points: Option<Bounded<IdIn, IdsLimit>>,
    filter: Option<&RawJson>,
    shard_key: Option<&RawJson>,
) -> Result<PointSelector> {
    Ok(targets(points, filter, shard_key)?.0)
}

/// [`selector`], and the ids as the client wrote them (empty for a filter).
fn targets(
    points: Option<Bounded<IdIn, IdsLimit>>,
    filter: Option<&RawJson>,
    shard_key: Option<&RawJson>,
) -> Result<(PointSelector, Vec<ExtId>)> {
    if is_set(shard_key) {
        return Err(Error::not_supported("\"shard_key\""));
    }
    let filter = match filter {
        Some(raw) if is_set(Some(raw)) => {
            Some(translate(Some(&raw_to_value(raw)?))?.unwrap_or_else(|| Filter::and(Vec::new())))
        }
        _ => None,
    };
    match (points, filter) {
        (Some(ids), None) => {
            let named = ids
                .into_vec()
                .iter()
                .map(ExtId::parse)
                .collect::<Result<Vec<_>>>()?;
            let internal = named.iter().map(ExtId::internal).collect();
            Ok((PointSelector::Ids(internal), named))
        }
        (None, Some(f)) => Ok((PointSelector::Filter(f), Vec::new())),
        _ => Err(Error::validation(
            "expected either \"points\": [ids] or \"filter\": {...} (exactly one)",
        )),
    }
}

/// One payload operation as engine values: which points, what change, and the ids as
/// sent (a missing one is 404, as in Qdrant).
#[derive(Debug)]
pub(crate) struct PayloadWrite {
    selector: PointSelector,
    change: PayloadChange,
    named: Vec<ExtId>,
}

impl PayloadWrite {
    fn new((selector, named): (PointSelector, Vec<ExtId>), change: PayloadChange) -> PayloadWrite {
        PayloadWrite {
            selector,
            change,
            named,
        }
    }
}

/// Refuses a payload write path with an array selector (`[]`, `[N]`): the engine's
/// payload writes take dotted object paths only (400 naming it, never a literal key).
fn object_path(field: &str, path: &str) -> Result<()> {
    if path.contains(['[', ']']) {
        return Err(Error::not_supported(format!(
            "{field} {path:?} (array selectors [] and [N] in payload write paths)"
        )));
    }
    Ok(())
}

/// The payload object of a set or overwrite (400 when not an object or using the reserved
/// key).
fn payload_object(raw: &RawJson) -> Result<Map<String, Value>> {
    match raw_to_value(raw)? {
        Value::Object(m) if m.contains_key(UUID_KEY) => Err(Error::bad_request(format!(
            "payload key {UUID_KEY:?} is reserved"
        ))),
        Value::Object(m) => Ok(m),
        other => Err(Error::validation(format!(
            "a payload must be a JSON object, got {other}"
        ))),
    }
}

fn first_segment(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}

impl SetPayload {
    /// As a merge (`set_payload`).
    pub(crate) fn into_set(self) -> Result<PayloadWrite> {
        let payload = payload_object(&self.payload)?;
        if let Some(key) = self.key.as_deref() {
            if first_segment(key) == UUID_KEY {
                return Err(Error::bad_request(format!(
                    "payload key {UUID_KEY:?} is reserved"
                )));
            }
            object_path("set_payload key", key)?;
        }
        let sel = targets(self.points, self.filter.as_ref(), self.shard_key.as_ref())?;
        Ok(PayloadWrite::new(
            sel,
            PayloadChange::Set {
                key: self.key,
                payload,
            },
        ))
    }

    /// As a replacement (`overwrite_payload`; `key` is refused).
    pub(crate) fn into_overwrite(self) -> Result<PayloadWrite> {
        if self.key.is_some() {
            return Err(Error::not_supported("\"key\" with overwrite_payload"));
        }
        let payload = payload_object(&self.payload)?;
        let sel = targets(self.points, self.filter.as_ref(), self.shard_key.as_ref())?;
        Ok(PayloadWrite::new(sel, PayloadChange::Overwrite(payload)))
    }
}

impl DeletePayload {
    /// As a key removal; the (invisible) reserved key is never removed.
    pub(crate) fn into_change(self) -> Result<PayloadWrite> {
        let keys: Vec<String> = self
            .keys
            .into_vec()
            .into_iter()
            .filter(|k| first_segment(k) != UUID_KEY)
            .collect();
        for key in &keys {
            object_path("delete_payload key", key)?;
        }
        let sel = targets(self.points, self.filter.as_ref(), self.shard_key.as_ref())?;
        Ok(PayloadWrite::new(sel, PayloadChange::DeleteKeys(keys)))
    }
}

impl PointsSelector {
    /// As a `clear_payload`.
    pub(crate) fn into_clear(self) -> Result<PayloadWrite> {
        let sel = targets(self.points, self.filter.as_ref(), self.shard_key.as_ref())?;
        Ok(PayloadWrite::new(sel, PayloadChange::Clear))
    }
}

/// Applies one payload operation (see the module docs for UUID points). Points chosen by
/// id must all exist: the first missing one is 404 and nothing is written (Qdrant's
/// answer; checked in the same blocking work, just before the write).
pub(crate) fn apply(
    c: &VectorCollection,
    write: &PayloadWrite,
    options: &WriteOptions,
) -> Result<usize> {
    if let PointSelector::Ids(ids) = &write.selector {
        for (stored, named) in c.get(ids)?.iter().zip(&write.named) {
            if stored.is_none() {
                return Err(Error::NotFound(format!(
                    "No point with id {} found",
                    named.to_json()
                )));
            }
        }
    }
    let (selector, change) = (&write.selector, &write.change);
    let whole = match change {
        PayloadChange::Overwrite(m) => m.clone(),
        PayloadChange::Clear => Map::new(),
        _ => return Ok(c.update_payload(selector, change, options)?),
    };
    // UUID points: (stored id, UUID string) of the selected ones.
    let (plain, uuid_points): (PointSelector, Vec<(u64, String)>) = match selector {
        PointSelector::Ids(ids) => {
            let mut plain = Vec::new();
            let mut uuids = Vec::new();
            for (id, point) in ids.iter().zip(c.get(ids)?) {
                match point.as_ref().and_then(|p| {
                    crate::qdrant::ids::stored_uuid(p.payload.as_ref()).map(str::to_string)
                }) {
                    Some(u) => uuids.push((*id, u)),
                    None => plain.push(*id),
                }
            }
            (PointSelector::Ids(plain), uuids)
        }
        PointSelector::Filter(f) => {
            let with_uuid = Filter::and(vec![f.clone(), Filter::not(Filter::is_empty(UUID_KEY))]);
            let request = ScrollRequest::new()
                .filter(with_uuid)
                .with_payload(true)
                .with_vector(false);
            let uuids = c
                .scan(&request)?
                .into_iter()
                .filter_map(|p| {
                    crate::qdrant::ids::stored_uuid(p.payload.as_ref())
                        .map(|u| (p.id, u.to_string()))
                })
                .collect();
            let plain = Filter::and(vec![f.clone(), Filter::is_empty(UUID_KEY)]);
            (PointSelector::Filter(plain), uuids)
        }
    };
    let mut n = c.update_payload(&plain, change, options)?;
    for (id, uuid) in uuid_points {
        let mut kept = whole.clone();
        kept.insert(UUID_KEY.to_string(), Value::String(uuid));
        n += c.update_payload(
            &PointSelector::Ids(vec![id]),
            &PayloadChange::Overwrite(kept),
            &WriteOptions::default(),
        )?;
    }
    Ok(n)
}

async fn run(
    state: AppState,
    name: String,
    started: Instant,
    op: Result<PayloadWrite>,
) -> Result<Response> {
    let write = op?;
    let c = collection(&state, &name)?;
    let options = write_options();
    blocking(move || apply(&c, &write, &options)).await?;
    Ok(qdrant_ok(UpdateResult::completed(), started))
}

/// `POST /collections/{name}/points/payload`: merges keys into the selected payloads.
pub(crate) async fn set(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<SetPayload>,
) -> Result<Response> {
    run(state, name, Instant::now(), body.into_set()).await
}

/// `PUT /collections/{name}/points/payload`: replaces the selected payloads.
pub(crate) async fn overwrite(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<SetPayload>,
) -> Result<Response> {
    run(state, name, Instant::now(), body.into_overwrite()).await
}

/// `POST /collections/{name}/points/payload/delete`: removes keys.
pub(crate) async fn delete_keys(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<DeletePayload>,
) -> Result<Response> {
    run(state, name, Instant::now(), body.into_change()).await
}

/// `POST /collections/{name}/points/payload/clear`: removes the whole payloads.
pub(crate) async fn clear(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<PointsSelector>,
) -> Result<Response> {
    run(state, name, Instant::now(), body.into_clear()).await
}
