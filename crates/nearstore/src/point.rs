//! Points and search results: what users write and read.

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

    /// The same point carrying the sparse vector `vector` under `name`.
    pub fn with_sparse(mut self, name: &str, vector: SparseVector) -> Self {
        self.sparse.insert(name.to_owned(), vector);
        self
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
}
