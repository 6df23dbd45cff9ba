//! Typed Qdrant request bodies: plain serde structs (with `utoipa` schemas) read without
//! building a JSON value tree, each with one validating conversion into engine values.
//!
//! Typed so far: the upsert (`PUT points`, where the size matters: a batch is read into
//! [`Bounded`] lists that stop at the server's batch limit, vectors straight into `f32`s,
//! payloads kept as raw text until converted), `recommend` and `PATCH /collections/{name}`.
//! The other Qdrant routes still read `serde_json` maps (see `crate::qdrant`).
//!
//! Must not depend on axum: these are values, not handlers.

use std::fmt;

use nearstore::Point;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use utoipa::ToSchema;

use crate::body::bounded::{Bounded, DimensionLimit, PointsLimit};
use crate::error::{Error, Result};
use crate::model::{RawJson, payload};
use crate::qdrant::ids::{ExtId, stored_payload};

/// The default (unnamed) dense vector of a Qdrant `VectorStruct`: a list of numbers, or
/// `{"": [...]}`. Named, sparse and multi-vectors and inference objects are refused while
/// parsing (400, "not supported").
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DenseVector(pub(crate) Vec<f32>);

impl<'de> Deserialize<'de> for DenseVector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DenseVector;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a dense vector (a list of numbers, or {\"\": [...]})")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<DenseVector, A::Error> {
                let v: Bounded<f32, DimensionLimit> =
                    Bounded::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(DenseVector(v.into_vec()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DenseVector, A::Error> {
                let mut out = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "" if out.is_none() => out = Some(map.next_value::<DenseVector>()?),
                        "indices" | "values" => {
                            return Err(de::Error::custom(
                                "sparse vectors are not supported by NearStore",
                            ));
                        }
                        "text" | "image" | "object" | "model" => {
                            return Err(de::Error::custom(
                                "inference objects (documents, images) are not supported by NearStore",
                            ));
                        }
                        other => {
                            return Err(de::Error::custom(format!(
                                "named vectors ({other:?}) are not supported by NearStore; only the default unnamed vector \"\" exists"
                            )));
                        }
                    }
                }
                out.ok_or_else(|| de::Error::custom("an empty vector object"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A point id as sent: an unsigned integer or a UUID string (checked by the conversion).
pub(crate) type IdIn = Value;

/// One point of the `points` form.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PointStruct {
    #[schema(value_type = Object)]
    pub(crate) id: IdIn,
    #[schema(value_type = Vec<f32>)]
    pub(crate) vector: DenseVector,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) payload: Option<RawJson>,
}

/// The vectors of the `batch` form: a list, or `{"": [...]}`.
#[derive(Debug)]
pub(crate) struct BatchVectors(pub(crate) Bounded<DenseVector, PointsLimit>);

impl<'de> Deserialize<'de> for BatchVectors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BatchVectors;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of vectors, or {\"\": [...]}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<BatchVectors, A::Error> {
                Ok(BatchVectors(Bounded::deserialize(
                    de::value::SeqAccessDeserializer::new(seq),
                )?))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BatchVectors, A::Error> {
                let mut out = None;
                while let Some(key) = map.next_key::<String>()? {
                    if !key.is_empty() || out.is_some() {
                        return Err(de::Error::custom(
                            "named vectors are not supported by NearStore (only the default unnamed vector \"\")",
                        ));
                    }
                    out = Some(map.next_value::<BatchVectors>()?);
                }
                out.ok_or_else(|| de::Error::custom("an empty vectors object"))
            }
        }
        d.deserialize_any(V)
    }
}

/// The `batch` form: as many vectors (and payloads, when given) as ids.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PointsBatch {
    #[schema(value_type = Vec<Object>)]
    pub(crate) ids: Bounded<IdIn, PointsLimit>,
    #[schema(value_type = Vec<Vec<f32>>)]
    pub(crate) vectors: BatchVectors,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Option<Object>>>)]
    pub(crate) payloads: Option<Bounded<Option<RawJson>, PointsLimit>>,
}

/// Qdrant's `update_mode` of an upsert: which of the sent points are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum UpdateMode {
    /// Every point (the default).
    #[default]
    Upsert,
    /// Only points whose id is not stored yet; existing points are left as they are.
    InsertOnly,
    /// Only points whose id is stored already; new ids are skipped.
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

fn is_set(raw: Option<&RawJson>) -> bool {
    raw.is_some_and(|r| r.get().trim() != "null")
}

impl UpsertPoints {
    /// The engine points, each with the id the client sent.
    pub(crate) fn into_points(self) -> Result<(Vec<(ExtId, Point)>, UpdateMode)> {
        for (name, raw) in [
            ("shard_key", &self.shard_key),
            ("update_filter", &self.update_filter),
        ] {
            if is_set(raw.as_ref()) {
                return Err(Error::not_supported(format!("\"{name}\"")));
            }
        }
        let mode = self.update_mode.unwrap_or_default();
        let mut out = Vec::new();
        match (self.points, self.batch) {
            (Some(points), None) => {
                for p in points.into_vec() {
                    let id = ExtId::parse(&p.id)?;
                    let payload = stored_payload(&id, payload(p.payload.as_deref())?)?;
                    out.push((id.clone(), Point::new(id.internal(), p.vector.0, payload)));
                }
            }
            (None, Some(batch)) => {
                let ids = batch.ids.into_vec();
                let vectors = batch.vectors.0.into_vec();
                let payloads = batch.payloads.map(Bounded::into_vec);
                if vectors.len() != ids.len()
                    || payloads.as_ref().is_some_and(|p| p.len() != ids.len())
                {
                    return Err(Error::bad_request(
                        "batch.ids, batch.vectors and batch.payloads must have the same length",
                    ));
                }
                let mut payloads = payloads.map(Vec::into_iter);
                for (id, vector) in ids.iter().zip(vectors) {
                    let id = ExtId::parse(id)?;
                    let raw = payloads.as_mut().and_then(Iterator::next).flatten();
                    let payload = stored_payload(&id, payload(raw.as_deref())?)?;
                    out.push((id.clone(), Point::new(id.internal(), vector.0, payload)));
                }
            }
            _ => {
                return Err(Error::bad_request(
                    "expected {\"points\": [...]} or {\"batch\": {\"ids\", \"vectors\", \"payloads\"}}",
                ));
            }
        }
        Ok((out, mode))
    }
}
