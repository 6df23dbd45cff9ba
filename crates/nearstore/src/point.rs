//! Points and search results: what users write and read.

use std::borrow::Cow;
use std::collections::BTreeMap;

use nearstore_text::SparseVector;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A vector with an id and an optional JSON payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The point's id (unique within its collection).
    pub id: u64,
    /// Its default (unnamed) vector; empty when the point has none (a point may carry only
    /// named or sparse vectors, or only a payload) and in results that were asked not to
    /// carry vectors (and then left out of the JSON form).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vector: Vec<f32>,
    /// Its payload, if it has one (and results were asked to carry payloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// Its sparse vectors by name (`""`: the default name). An upsert replaces them all: a
    /// name the point no longer carries is removed from that sparse index. In results, only
    /// when vectors were asked for.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sparse: BTreeMap<String, SparseVector>,
    /// Its named dense vectors (each optional; see
    /// [`crate::CollectionConfig::vectors`]). An upsert replaces them all. In results,
    /// only when vectors were asked for.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vectors: BTreeMap<String, Vec<f32>>,
    /// When the point expires (`None`: never). An upsert replaces it like the rest of the
    /// point; a [`Expiry::Ttl`] is turned into [`Expiry::At`] against the collection's
    /// wall clock when the write is applied, so results always carry `At`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<Expiry>,
}

/// A point's expiry time. Once the collection's wall clock reads at or past it, the point
/// is invisible to every read and is later purged (deleted through the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expiry {
    /// At this instant: milliseconds since the Unix epoch (UTC).
    At(u64),
    /// This long after the write is applied (resolved against the collection's wall clock).
    Ttl(std::time::Duration),
}

impl Expiry {
    /// The expiry instant in epoch milliseconds, a TTL counted from `now_millis`
    /// (saturating).
    pub fn resolve(self, now_millis: u64) -> u64 {
        match self {
            Expiry::At(ms) => ms,
            Expiry::Ttl(d) => {
                now_millis.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            }
        }
    }

    /// An `expires_at` value as every surface takes it (the query language, the server, the
    /// Python package): epoch milliseconds (an integer >= 0), an RFC 3339 / ISO 8601
    /// datetime string (UTC without an offset), or null for none.
    pub fn at_from_json(value: &Value) -> crate::Result<Option<Expiry>> {
        let bad = |why: String| crate::Error::InvalidArgument(why);
        match value {
            Value::Null => Ok(None),
            Value::Number(n) => n.as_u64().map(|ms| Some(Expiry::At(ms))).ok_or_else(|| {
                bad(format!(
                    "expires_at must be epoch milliseconds >= 0, got {n}"
                ))
            }),
            Value::String(s) => {
                let at = nearstore_filter::Datetime::parse(s).ok_or_else(|| {
                    bad(format!(
                        "expires_at {s:?} is not a timestamp (an RFC 3339 / ISO 8601 datetime)"
                    ))
                })?;
                let ms = u64::try_from(at.micros().div_euclid(1000))
                    .map_err(|_| bad(format!("expires_at {s:?} is before 1970")))?;
                Ok(Some(Expiry::At(ms)))
            }
            other => Err(bad(format!(
                "expires_at must be epoch milliseconds, a timestamp or NULL, got {other}"
            ))),
        }
    }

    /// The instant a write at `now_millis` stores: [`Expiry::resolve`], where `u64::MAX`
    /// (a TTL that saturated) means no expiry.
    pub(crate) fn instant(self, now_millis: u64) -> Option<u64> {
        Some(self.resolve(now_millis)).filter(|&at| at != u64::MAX)
    }
}

impl Point {
    /// A point.
    pub fn new(id: u64, vector: Vec<f32>, payload: Option<Value>) -> Self {
        Point {
            id,
            vector,
            payload,
            sparse: BTreeMap::new(),
            vectors: BTreeMap::new(),
            expiry: None,
        }
    }

    /// A point without the default vector (give it named or sparse vectors with
    /// [`Point::with_vector`] and [`Point::with_sparse`], or only a payload).
    pub fn without_vector(id: u64, payload: Option<Value>) -> Self {
        Point::new(id, Vec::new(), payload)
    }

    /// The same point carrying the named dense vector `vector` under `name`.
    pub fn with_vector(mut self, name: &str, vector: Vec<f32>) -> Self {
        self.vectors.insert(name.to_owned(), vector);
        self
    }

    /// The same point expiring `ttl` after the write that stores it is applied.
    pub fn with_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.expiry = Some(Expiry::Ttl(ttl));
        self
    }

    /// The same point expiring at `millis` (milliseconds since the Unix epoch, UTC).
    pub fn with_expires_at(mut self, millis: u64) -> Self {
        self.expiry = Some(Expiry::At(millis));
        self
    }

    /// The expiry instant in epoch milliseconds, when it is one (`None` for no expiry or a
    /// TTL not yet applied by a write).
    pub fn expires_at(&self) -> Option<u64> {
        match self.expiry {
            Some(Expiry::At(ms)) => Some(ms),
            _ => None,
        }
    }

    /// The same point carrying the sparse vector `vector` under `name`.
    pub fn with_sparse(mut self, name: &str, vector: SparseVector) -> Self {
        self.sparse.insert(name.to_owned(), vector);
        self
    }
}

/// Points handed to a bulk write: borrowed (`&points`, `&[p, q]`: the collection copies what
/// it keeps, such as the payloads) or owned (`points`: moved in, nothing copied).
pub trait IntoPoints<'a> {
    /// The points, borrowed or owned.
    fn into_points(self) -> Cow<'a, [Point]>;
}

impl<'a> IntoPoints<'a> for &'a [Point] {
    fn into_points(self) -> Cow<'a, [Point]> {
        Cow::Borrowed(self)
    }
}

impl<'a, const N: usize> IntoPoints<'a> for &'a [Point; N] {
    fn into_points(self) -> Cow<'a, [Point]> {
        Cow::Borrowed(self)
    }
}

impl<'a> IntoPoints<'a> for &'a Vec<Point> {
    fn into_points(self) -> Cow<'a, [Point]> {
        Cow::Borrowed(self)
    }
}

impl IntoPoints<'static> for Vec<Point> {
    fn into_points(self) -> Cow<'static, [Point]> {
        Cow::Owned(self)
    }
}

impl<const N: usize> IntoPoints<'static> for [Point; N] {
    fn into_points(self) -> Cow<'static, [Point]> {
        Cow::Owned(Vec::from(self))
    }
}

/// One search result: the point and its score.
///
/// Scores follow [`crate::DistanceMetric`]'s direction (similarities for cosine, dot and
/// jaccard: higher is better; distances for euclidean and hamming: lower is better);
/// results are always sorted best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// The point (its vector and payload as the request asked).
    pub point: Point,
    /// Its score against the query (in a fused request: the fused score, higher is
    /// better).
    pub score: f32,
    /// In a request with several legs, what each leg that found the point said (its score
    /// and rank there); empty for a single-leg request (and then left out of the JSON form).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legs: Vec<crate::request::LegScore>,
}

/// One page of a scroll: points in ascending id order, or in the request's field order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScrollPage {
    /// The points of this page.
    pub points: Vec<Point>,
    /// The id of the next page's first point (`None` on the last page). In id order this
    /// is the next cursor; an ordered scroll continues from [`ScrollPage::next`].
    pub next_cursor: Option<u64>,
    /// The cursor of the next page (`None` on the last page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<crate::request::ScrollCursor>,
    /// In a scroll ordered by a field, the value each point was placed by, one per point:
    /// the smallest value the field reaches (the largest when descending, an array counting
    /// as its elements); over a datetime index the instant in microseconds since the epoch.
    /// Empty in id order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_values: Vec<Value>,
}
