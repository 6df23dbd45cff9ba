//! Typed Qdrant request bodies: plain serde structs (with `utoipa` schemas) read without
//! building a JSON value tree, each with one validating conversion into engine values.
//!
//! Typed so far: the upsert (`PUT points`, where the size matters: a batch is read into
//! [`Bounded`] lists that stop at the server's batch limit, vectors straight into `f32`s,
//! payloads kept as raw text until converted), `recommend` and `PATCH /collections/{name}`.
//! The other Qdrant routes still read `serde_json` maps (see `crate::qdrant`).
//!
//! Must not depend on axum: these are values, not handlers.

use nearstore::Point;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::Value;
use utoipa::ToSchema;

use crate::body::bounded::{Bounded, PointsLimit};
use crate::error::{Error, Result};
use crate::model::{RawJson, payload};
use crate::qdrant::ids::{ExtId, stored_payload};
use crate::qdrant::request::VectorInput;
use crate::qdrant::vectors::{BatchVectors, VectorStruct};

/// A point id as sent: an unsigned integer or a UUID string (checked by the conversion).
pub(crate) type IdIn = Value;

/// The schema of a point id: an unsigned integer or a UUID string.
#[derive(Debug)]
pub(crate) struct PointId;

impl utoipa::PartialSchema for PointId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            )
            .item(ObjectBuilder::new().schema_type(Type::String))
            .description(Some("An unsigned integer or a UUID string"))
            .into()
    }
}

impl ToSchema for PointId {}

/// The schema of a recommend example: a point id or a vector.
#[derive(Debug)]
pub(crate) struct ExampleSchema;

impl utoipa::PartialSchema for ExampleSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Ref, Type};
        OneOfBuilder::new()
            .item(Ref::from_schema_name("PointId"))
            .item(ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::Number)))
            .description(Some("A point id or a vector"))
            .into()
    }
}

impl ToSchema for ExampleSchema {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push(("PointId".to_string(), PointId::schema()));
    }
}

/// One point of the `points` form.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PointStruct {
    #[schema(value_type = PointId)]
    pub(crate) id: IdIn,
    /// The point's vectors; absent or `{}`: a point without vectors (stored, filterable,
    /// found by no vector search).
    #[serde(default)]
    #[schema(value_type = Option<crate::qdrant::schema::VectorStructSchema>)]
    pub(crate) vector: VectorStruct,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) payload: Option<RawJson>,
}

/// The `batch` form: as many vectors (and payloads, when given) as ids.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PointsBatch {
    #[schema(value_type = Vec<PointId>)]
    pub(crate) ids: Bounded<IdIn, PointsLimit>,
    #[schema(value_type = crate::qdrant::schema::BatchVectorsSchema)]
    pub(crate) vectors: BatchVectors,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Option<Object>>>)]
    pub(crate) payloads: Option<Bounded<Option<RawJson>, PointsLimit>>,
}

/// Qdrant's `update_mode` of an upsert: which of the sent points are written. Only
/// `upsert` is accepted: `insert_only` and `update_only` are conditional writes (the
/// existence check and the write as one step), which the engine does not offer; checking
/// first and writing after in the server would let a concurrent writer land between the
/// two, so they answer 400 naming the option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum UpdateMode {
    /// Every point (the default).
    #[default]
    Upsert,
    /// Not supported (400): only points whose id is not stored yet.
    InsertOnly,
    /// Not supported (400): only points whose id is stored already.
    UpdateOnly,
}

/// `PUT /collections/{name}/points` body: `{"points": [...]}` or `{"batch": {...}}`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct UpsertPoints {
    #[serde(default)]
    #[schema(value_type = Option<Vec<PointStruct>>)]
    pub(crate) points: Option<Bounded<PointStruct, PointsLimit>>,
    #[serde(default)]
    pub(crate) batch: Option<PointsBatch>,
    #[serde(default)]
    pub(crate) update_mode: Option<UpdateMode>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<RawJson>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) update_filter: Option<RawJson>,
}

/// Whether an optional raw JSON field is present and not `null`.
pub(crate) fn is_set(raw: Option<&RawJson>) -> bool {
    raw.is_some_and(|r| r.get().trim() != "null")
}

impl UpsertPoints {
    /// The engine points, each with the id the client sent.
    pub(crate) fn into_points(self) -> Result<Vec<(ExtId, Point)>> {
        for (name, raw) in [
            ("shard_key", &self.shard_key),
            ("update_filter", &self.update_filter),
        ] {
            if is_set(raw.as_ref()) {
                return Err(Error::not_supported(format!("\"{name}\"")));
            }
        }
        match self.update_mode.unwrap_or_default() {
            UpdateMode::Upsert => {}
            mode @ (UpdateMode::InsertOnly | UpdateMode::UpdateOnly) => {
                let name = if mode == UpdateMode::InsertOnly {
                    "insert_only"
                } else {
                    "update_only"
                };
                return Err(Error::not_supported(format!(
                    "update_mode {name} (a conditional write: the engine has no insert-only or update-only upsert)"
                )));
            }
        }
        let mut out = Vec::new();
        match (self.points, self.batch) {
            (Some(points), None) => {
                for p in points.into_vec() {
                    let id = ExtId::parse(&p.id)?;
                    let payload = stored_payload(&id, payload(p.payload.as_deref())?)?;
                    out.push((id.clone(), p.vector.into_point(id.internal(), payload)?));
                }
            }
            (None, Some(batch)) => {
                let ids = batch.ids.into_vec();
                let vectors = batch.vectors.per_point(ids.len())?;
                let payloads = batch.payloads.map(Bounded::into_vec);
                if payloads.as_ref().is_some_and(|p| p.len() != ids.len()) {
                    return Err(Error::bad_request(
                        "batch.ids, batch.vectors and batch.payloads must have the same length",
                    ));
                }
                let mut payloads = payloads.map(Vec::into_iter);
                for (id, vector) in ids.iter().zip(vectors) {
                    let id = ExtId::parse(id)?;
                    let raw = payloads.as_mut().and_then(Iterator::next).flatten();
                    let payload = stored_payload(&id, payload(raw.as_deref())?)?;
                    out.push((id.clone(), vector.into_point(id.internal(), payload)?));
                }
            }
            _ => {
                return Err(Error::bad_request(
                    "expected {\"points\": [...]} or {\"batch\": {\"ids\", \"vectors\", \"payloads\"}}",
                ));
            }
        }
        Ok(out)
    }
}

/// A recommend example: a point id (integer or UUID) or a vector.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Example {
    Id(IdIn),
    Vector(Vec<f32>),
}

impl<'de> Deserialize<'de> for Example {
    /// Read as the Query API's vector input (one reading of ids and vectors), of which a
    /// recommend example takes the id and dense forms.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match VectorInput::deserialize(d)? {
            VectorInput::Id(id) => Ok(Example::Id(id)),
            VectorInput::Dense(v) => Ok(Example::Vector(v)),
            VectorInput::Sparse(_) => Err(de::Error::custom(
                "a recommend example is a point id or a dense vector, not a sparse vector",
            )),
        }
    }
}

/// How recommend turns its examples into a ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RecommendStrategy {
    /// One search for `avg(positive) + (avg(positive) - avg(negative))` (or
    /// `avg(positive)` without negatives).
    #[default]
    AverageVector,
    /// Every candidate scored by its best similarity to the examples (the engine's
    /// best-score leg).
    BestScore,
    /// Not supported (400 naming it).
    SumScores,
}

/// `POST /collections/{name}/points/recommend` body.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RecommendRequest {
    #[serde(default)]
    #[schema(value_type = Vec<ExampleSchema>)]
    pub(crate) positive: Bounded<Example, PointsLimit>,
    #[serde(default)]
    #[schema(value_type = Vec<ExampleSchema>)]
    pub(crate) negative: Bounded<Example, PointsLimit>,
    #[serde(default)]
    pub(crate) strategy: Option<RecommendStrategy>,
    #[serde(default)]
    #[schema(value_type = Option<crate::qdrant::schema::FilterSchema>)]
    pub(crate) filter: Option<RawJson>,
    #[serde(default)]
    pub(crate) params: Option<crate::qdrant::request::SearchParams>,
    #[serde(default)]
    pub(crate) limit: Option<usize>,
    #[serde(default)]
    pub(crate) offset: Option<usize>,
    #[serde(default)]
    #[schema(value_type = Option<crate::qdrant::schema::WithPayloadSchema>)]
    pub(crate) with_payload: Option<crate::qdrant::request::WithPayload>,
    #[serde(default)]
    #[schema(value_type = Option<crate::qdrant::schema::WithVectorSchema>)]
    pub(crate) with_vector: Option<crate::qdrant::request::WithVector>,
    #[serde(default)]
    pub(crate) score_threshold: Option<f32>,
    /// The vector searched and read from the examples (default: the unnamed one).
    #[serde(default)]
    pub(crate) using: Option<String>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) lookup_from: Option<RawJson>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<RawJson>,
}

/// `POST /collections/{name}/points/recommend/batch` body.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RecommendBatch {
    #[schema(value_type = Vec<RecommendRequest>)]
    pub(crate) searches: Bounded<RecommendRequest, crate::body::bounded::QueriesLimit>,
}

impl RecommendRequest {
    /// Refuses what recommend cannot honour here (`lookup_from`, shard keys); the
    /// strategy and the examples are checked where they become the query
    /// ([`crate::qdrant::query_plan::recommend_input`]).
    pub(crate) fn check(&self) -> Result<()> {
        for (name, raw) in [
            ("lookup_from", &self.lookup_from),
            ("shard_key", &self.shard_key),
        ] {
            if is_set(raw.as_ref()) {
                return Err(Error::not_supported(format!("\"{name}\"")));
            }
        }
        Ok(())
    }
}

/// `PATCH /collections/{name}` body. NearStore can change only the search-time candidate
/// list (`hnsw_config.ef`, a NearStore extension: Qdrant sets it per request as
/// `params.hnsw_ef`); every other section must be absent, null or empty.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct UpdateCollection {
    #[serde(default)]
    pub(crate) hnsw_config: Option<HnswConfigDiff>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) optimizers_config: Option<RawJson>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) params: Option<RawJson>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) vectors: Option<RawJson>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) quantization_config: Option<RawJson>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) sparse_vectors: Option<RawJson>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) strict_mode_config: Option<RawJson>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) metadata: Option<RawJson>,
}

/// The `hnsw_config` of a PATCH: `ef` may change; `m` and `ef_construct` only to their
/// current values (the graph is built with them); the rest must be null.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct HnswConfigDiff {
    #[serde(default)]
    pub(crate) ef: Option<usize>,
    #[serde(default)]
    pub(crate) m: Option<usize>,
    #[serde(default)]
    pub(crate) ef_construct: Option<usize>,
    #[serde(default)]
    pub(crate) full_scan_threshold: Option<usize>,
    #[serde(default)]
    pub(crate) max_indexing_threads: Option<usize>,
    #[serde(default)]
    pub(crate) on_disk: Option<bool>,
    #[serde(default)]
    pub(crate) payload_m: Option<usize>,
    /// `pinned` only (the graph is held in memory): naming it changes nothing.
    #[serde(default)]
    pub(crate) memory: Option<crate::qdrant::collection_model::Memory>,
}

fn is_empty_section(raw: Option<&RawJson>) -> bool {
    match raw.map(|r| r.get().trim()) {
        None | Some("null") => true,
        Some(text) => text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .is_some_and(|inner| inner.trim().is_empty()),
    }
}

impl UpdateCollection {
    /// The new `ef_search`, if one is asked; refuses (400) every change the engine cannot
    /// make on a live collection, naming it.
    pub(crate) fn into_ef(self, m: usize, ef_construct: usize) -> Result<Option<usize>> {
        for (name, raw) in [
            ("optimizers_config", &self.optimizers_config),
            ("params", &self.params),
            ("vectors", &self.vectors),
            ("quantization_config", &self.quantization_config),
            ("sparse_vectors", &self.sparse_vectors),
            ("strict_mode_config", &self.strict_mode_config),
            ("metadata", &self.metadata),
        ] {
            if !is_empty_section(raw.as_ref()) {
                return Err(Error::not_supported(format!(
                    "changing {name} of an existing collection"
                )));
            }
        }
        let Some(h) = self.hnsw_config else {
            return Ok(None);
        };
        if h.m.is_some_and(|v| v != m) || h.ef_construct.is_some_and(|v| v != ef_construct) {
            return Err(Error::not_supported(
                "changing hnsw_config.m or hnsw_config.ef_construct of an existing collection (the graph is built with them)",
            ));
        }
        if h.full_scan_threshold.is_some()
            || h.max_indexing_threads.is_some()
            || h.on_disk.is_some()
            || h.payload_m.is_some()
        {
            return Err(Error::not_supported(
                "hnsw_config.full_scan_threshold, max_indexing_threads, on_disk and payload_m",
            ));
        }
        crate::qdrant::collection_model::check_memory(
            "hnsw_config.memory",
            h.memory,
            crate::qdrant::collection_model::Placement::Heap,
        )?;
        if h.ef == Some(0) {
            return Err(Error::validation(
                "hnsw_config.ef: value 0 invalid, must be 1 or larger",
            ));
        }
        Ok(h.ef)
    }
}

/// Which points a delete in a `points/batch` removes: ids or a filter.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PointsSelector {
    #[serde(default)]
    #[schema(value_type = Option<Vec<PointId>>)]
    pub(crate) points: Option<Bounded<IdIn, crate::body::bounded::IdsLimit>>,
    #[serde(default)]
    #[schema(value_type = Option<crate::qdrant::schema::FilterSchema>)]
    pub(crate) filter: Option<RawJson>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<RawJson>,
}

impl PointsSelector {
    /// The engine's selector: ids xor a filter (422 for both or neither).
    pub(crate) fn into_selector(self) -> Result<nearstore::PointSelector> {
        crate::qdrant::payload::selector(self.points, self.filter.as_ref(), self.shard_key.as_ref())
    }
}

/// One operation of `POST /collections/{name}/points/batch`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum UpdateOperation {
    Upsert(UpsertPoints),
    Delete(PointsSelector),
    SetPayload(crate::qdrant::payload::SetPayload),
    OverwritePayload(crate::qdrant::payload::SetPayload),
    DeletePayload(crate::qdrant::payload::DeletePayload),
    ClearPayload(ClearPayloadOp),
    UpdateVectors(crate::qdrant::vector_edits::UpdateVectors),
    DeleteVectors(crate::qdrant::vector_edits::DeleteVectors),
}

/// A batch `clear_payload`: `{"points": PointsSelector}` (Qdrant's shape).
#[derive(Debug, Deserialize)]
pub(crate) struct ClearPayloadOp {
    pub(crate) points: PointsSelector,
}

/// `POST /collections/{name}/points/batch` body.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct UpdateBatch {
    /// `{"upsert": {...}}`, `{"delete": {"points" | "filter"}}`, `{"set_payload": ..}`,
    /// `{"overwrite_payload": ..}`, `{"delete_payload": ..}`,
    /// `{"clear_payload": {"points": {"points" | "filter"}}}`,
    /// `{"update_vectors": {"points": [{id, vector}]}}` or
    /// `{"delete_vectors": {"points" | "filter", "vector": [names]}}`, applied in order.
    #[schema(value_type = Vec<Object>)]
    pub(crate) operations: Bounded<UpdateOperation, crate::body::bounded::QueriesLimit>,
}

/// A `points/batch` operation as engine values.
#[derive(Debug)]
pub(crate) enum BatchWrite {
    Upsert(Vec<(ExtId, Point)>),
    DeleteIds(Vec<u64>),
    DeleteMatching(nearstore::Filter),
    Payload(crate::qdrant::payload::PayloadWrite),
    UpdateVectors(Vec<nearstore::PointVectors>),
    DeleteVectors(crate::qdrant::vector_edits::VectorDelete),
}

impl UpdateBatch {
    /// Every operation converted (or the request refused, nothing applied).
    pub(crate) fn into_writes(self) -> Result<Vec<BatchWrite>> {
        let mut out = Vec::new();
        for (i, op) in self.operations.into_vec().into_iter().enumerate() {
            out.push(match op {
                UpdateOperation::Upsert(u) => BatchWrite::Upsert(u.into_points()?),
                UpdateOperation::Delete(sel) => match sel.into_selector() {
                    Ok(nearstore::PointSelector::Ids(ids)) => BatchWrite::DeleteIds(ids),
                    Ok(nearstore::PointSelector::Filter(f)) => BatchWrite::DeleteMatching(f),
                    Err(e) => {
                        return Err(Error::bad_request(format!("operation {i}: {e}")));
                    }
                },
                UpdateOperation::SetPayload(s) => BatchWrite::Payload(s.into_set()?),
                UpdateOperation::OverwritePayload(s) => BatchWrite::Payload(s.into_overwrite()?),
                UpdateOperation::DeletePayload(d) => BatchWrite::Payload(d.into_change()?),
                UpdateOperation::ClearPayload(c) => BatchWrite::Payload(c.points.into_clear()?),
                UpdateOperation::UpdateVectors(u) => BatchWrite::UpdateVectors(u.into_edits()?),
                UpdateOperation::DeleteVectors(d) => BatchWrite::DeleteVectors(d.into_delete()?),
            });
        }
        Ok(out)
    }
}
