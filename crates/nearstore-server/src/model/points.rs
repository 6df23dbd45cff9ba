//! Point bodies: upsert (three forms), get, delete, scroll, count, and the point answers.

use std::fmt;

use nearstore::{Filter, Point};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::body::bounded::{Bounded, DimensionLimit, IdsLimit, PointsLimit};
use crate::error::{Error, Result};
use crate::model::{RawJson, filter, payload, yes};

/// A vector as the body gives it (at most the server's largest dimension).
pub(crate) type VectorIn = Bounded<f32, DimensionLimit>;

/// One point in the row form.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PointRow {
    pub(crate) id: u64,
    #[schema(value_type = Vec<f32>)]
    pub(crate) vector: VectorIn,
    /// Any JSON object (or `null`: no payload).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) payload: Option<RawJson>,
    /// When the point expires: milliseconds since the Unix epoch, or an RFC 3339 / ISO 8601
    /// datetime (UTC without an offset). An expired point is invisible to every read.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) expires_at: Option<Value>,
    /// Seconds from the write until the point expires (not with `expires_at`).
    #[serde(default)]
    pub(crate) ttl: Option<u64>,
}

impl PointRow {
    /// The engine's point, its payload reserved first and its expiry read.
    pub(crate) fn into_point(self) -> Result<Point> {
        let payload = payload(self.payload.as_deref())?;
        let point = Point::new(self.id, self.vector.into_vec(), payload);
        match (self.expires_at, self.ttl) {
            (Some(_), Some(_)) => Err(Error::bad_request(format!(
                "point {}: give expires_at or ttl, not both",
                self.id
            ))),
            (Some(at), None) => match nearstore::Expiry::at_from_json(&at) {
                Ok(expiry) => Ok(Point { expiry, ..point }),
                Err(e) => Err(Error::bad_request(format!("point {}: {e}", self.id))),
            },
            (None, Some(secs)) => Ok(point.with_ttl(std::time::Duration::from_secs(secs))),
            (None, None) => Ok(point),
        }
    }
}

/// The `{"points": [...]}` form.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PointRows {
    #[schema(value_type = Vec<PointRow>)]
    pub(crate) points: Bounded<PointRow, PointsLimit>,
}

/// The column form: as many vectors (and payloads, when given) as ids.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PointColumns {
    #[schema(value_type = Vec<u64>)]
    pub(crate) ids: Bounded<u64, PointsLimit>,
    #[schema(value_type = Vec<Vec<f32>>)]
    pub(crate) vectors: Bounded<VectorIn, PointsLimit>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Option<Object>>>)]
    pub(crate) payloads: Option<Bounded<Option<RawJson>, PointsLimit>>,
}

/// `PUT /v1/collections/{name}/points` body: `[{id, vector, payload}]`,
/// `{"points": [...]}` or `{"ids": [...], "vectors": [...], "payloads": [...]}`.
#[derive(Debug)]
pub(crate) enum Upsert {
    /// An array of points.
    Rows(Bounded<PointRow, PointsLimit>),
    /// `{"points": [...]}`.
    Points(PointRows),
    /// `{"ids", "vectors", "payloads"?}`.
    Columns(PointColumns),
}

impl utoipa::PartialSchema for Upsert {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, OneOfBuilder, Ref};
        OneOfBuilder::new()
            .item(ArrayBuilder::new().items(Ref::from_schema_name("PointRow")))
            .item(Ref::from_schema_name("PointRows"))
            .item(Ref::from_schema_name("PointColumns"))
            .description(Some(
                "An array of points, {\"points\": [...]} or the column form",
            ))
            .into()
    }
}

impl ToSchema for Upsert {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        for (name, schema) in [
            ("PointRow", PointRow::schema()),
            ("PointRows", PointRows::schema()),
            ("PointColumns", PointColumns::schema()),
        ] {
            schemas.push((name.to_string(), schema));
        }
        <PointRows as ToSchema>::schemas(schemas);
        <PointColumns as ToSchema>::schemas(schemas);
    }
}

/// Reads the three forms without buffering (serde's `untagged` would build a whole value
/// tree first, and its batch would not stop at the limit).
impl<'de> Deserialize<'de> for Upsert {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Upsert;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an array of points, {\"points\": [...]} or {\"ids\": [...], \"vectors\": [...], \"payloads\": [...]}",
                )
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Upsert, A::Error> {
                let rows = Bounded::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Upsert::Rows(rows))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Upsert, A::Error> {
                let mut points = None;
                let mut columns = PointColumns::default();
                let mut column_keys = 0;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "points" if points.is_none() => points = Some(map.next_value()?),
                        "ids" => {
                            columns.ids = map.next_value()?;
                            column_keys += 1;
                        }
                        "vectors" => {
                            columns.vectors = map.next_value()?;
                            column_keys += 1;
                        }
                        "payloads" => {
                            columns.payloads = map.next_value()?;
                            column_keys += 1;
                        }
                        other => {
                            return Err(de::Error::unknown_field(
                                other,
                                &["points", "ids", "vectors", "payloads"],
                            ));
                        }
                    }
                }
                match (points, column_keys) {
                    (Some(points), 0) => Ok(Upsert::Points(PointRows { points })),
                    (None, n) if n > 0 => Ok(Upsert::Columns(columns)),
                    (Some(_), _) => Err(de::Error::custom(
                        "give either \"points\" or the columns \"ids\", \"vectors\", \"payloads\"",
                    )),
                    (None, _) => Err(de::Error::missing_field("points")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Upsert {
    /// The engine's points, payloads converted one at a time (each reserved first).
    pub(crate) fn into_points(self) -> Result<Vec<Point>> {
        let rows = match self {
            Upsert::Rows(rows) | Upsert::Points(PointRows { points: rows }) => rows,
            Upsert::Columns(c) => return columns_into_points(c),
        };
        rows.into_vec()
            .into_iter()
            .map(PointRow::into_point)
            .collect()
    }
}

fn columns_into_points(c: PointColumns) -> Result<Vec<Point>> {
    let n = c.ids.len();
    if c.vectors.len() != n || c.payloads.as_ref().is_some_and(|p| p.len() != n) {
        return Err(Error::bad_request(format!(
            "column form needs as many vectors (got {}) and payloads (got {}) as ids ({n})",
            c.vectors.len(),
            c.payloads.as_ref().map_or(n, Bounded::len)
        )));
    }
    let mut payloads = c.payloads.map(Bounded::into_vec).map(Vec::into_iter);
    c.ids
        .into_vec()
        .into_iter()
        .zip(c.vectors.into_vec())
        .map(|(id, v)| {
            let raw = payloads.as_mut().and_then(Iterator::next).flatten();
            Ok(Point::new(id, v.into_vec(), payload(raw.as_deref())?))
        })
        .collect()
}

/// `PUT /v1/collections/{name}/points` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Upserted {
    pub(crate) upserted: usize,
}

/// `POST /v1/collections/{name}/points/get` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetPoints {
    #[schema(value_type = Vec<u64>)]
    pub(crate) ids: Bounded<u64, IdsLimit>,
    #[serde(default = "yes")]
    pub(crate) with_vector: bool,
    #[serde(default = "yes")]
    pub(crate) with_payload: bool,
}

/// A point as answered: the vector is left out when not asked for (or empty), the payload
/// when not asked for or absent.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PointOut {
    pub(crate) id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vector: Option<Vec<f32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub(crate) payload: Option<Value>,
    /// When the point expires (milliseconds since the Unix epoch); left out without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) expires_at: Option<u64>,
}

impl PointOut {
    pub(crate) fn shaped(p: Point, with_vector: bool, with_payload: bool) -> Self {
        PointOut {
            id: p.id,
            expires_at: p.expires_at(),
            vector: (with_vector && !p.vector.is_empty()).then_some(p.vector),
            payload: if with_payload { p.payload } else { None },
        }
    }
}

/// `POST /v1/collections/{name}/points/get` answer: one entry per id asked, `null` for a
/// missing point.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PointList {
    pub(crate) points: Vec<Option<PointOut>>,
}

/// `POST /v1/collections/{name}/points/delete` body: exactly one of `ids` and `filter`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeletePoints {
    #[serde(default)]
    #[schema(value_type = Option<Vec<u64>>)]
    pub(crate) ids: Option<Bounded<u64, IdsLimit>>,
    /// A filter in the engine's JSON form.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) filter: Option<RawJson>,
}

/// What a delete removes.
#[derive(Debug)]
pub(crate) enum DeleteTarget {
    Ids(Vec<u64>),
    Matching(Filter),
}

impl DeletePoints {
    pub(crate) fn into_target(self) -> Result<DeleteTarget> {
        match (self.ids, filter(self.filter.as_deref())?) {
            (Some(ids), None) => Ok(DeleteTarget::Ids(ids.into_vec())),
            (None, Some(f)) => Ok(DeleteTarget::Matching(f)),
            _ => Err(Error::bad_request(
                "give exactly one of \"ids\" and \"filter\"",
            )),
        }
    }
}

/// `POST /v1/collections/{name}/points/delete` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PointsDeleted {
    pub(crate) deleted: usize,
}

/// `POST /v1/collections/{name}/points/scroll` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScrollPoints {
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) filter: Option<RawJson>,
    /// Points per page (default 100).
    #[serde(default)]
    pub(crate) limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub(crate) cursor: Option<u64>,
    #[serde(default)]
    pub(crate) with_vector: Option<bool>,
    #[serde(default)]
    pub(crate) with_payload: Option<bool>,
}

/// A validated scroll.
#[derive(Debug)]
pub(crate) struct Scroll {
    pub(crate) filter: Option<Filter>,
    pub(crate) limit: usize,
    pub(crate) cursor: Option<u64>,
    pub(crate) with_vector: bool,
    pub(crate) with_payload: bool,
}

impl ScrollPoints {
    pub(crate) fn into_scroll(self) -> Result<Scroll> {
        Ok(Scroll {
            filter: filter(self.filter.as_deref())?,
            limit: self.limit.unwrap_or(100),
            cursor: self.cursor,
            with_vector: self.with_vector.unwrap_or(true),
            with_payload: self.with_payload.unwrap_or(true),
        })
    }
}

/// `POST /v1/collections/{name}/points/scroll` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScrollPage {
    pub(crate) points: Vec<PointOut>,
    /// Where the next page starts; `null` after the last page.
    pub(crate) next_cursor: Option<u64>,
}

/// `POST /v1/collections/{name}/points/count` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CountPoints {
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) filter: Option<RawJson>,
}

impl CountPoints {
    pub(crate) fn into_filter(self) -> Result<Option<Filter>> {
        filter(self.filter.as_deref())
    }
}

/// `POST /v1/collections/{name}/points/count` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PointCount {
    pub(crate) count: usize,
}
