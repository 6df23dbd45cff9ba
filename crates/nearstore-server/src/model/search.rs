//! Search bodies: one query (a vector or a full-text query), a batch, and the hits.

use nearstore::{SearchQuality, SearchRequest, SearchResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::body::bounded::{Bounded, QueriesLimit};
use crate::error::{Error, Result};
use crate::model::points::VectorIn;
use crate::model::{RawJson, filter, yes};

/// Search quality by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum QualityName {
    Fast,
    Balanced,
    Accurate,
    Perfect,
    Adaptive,
}

impl From<QualityName> for SearchQuality {
    fn from(q: QualityName) -> Self {
        match q {
            QualityName::Fast => SearchQuality::Fast,
            QualityName::Balanced => SearchQuality::Balanced,
            QualityName::Accurate => SearchQuality::Accurate,
            QualityName::Perfect => SearchQuality::Perfect,
            QualityName::Adaptive => SearchQuality::Adaptive,
        }
    }
}

fn ten() -> usize {
    10
}

/// The text leg of a search: a full-text query ranked by BM25 (higher is better).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TextQueryIn {
    /// Words (OR-ed), `"quoted phrases"`, `+required`, `-excluded`, `field:word`.
    pub(crate) query: String,
    /// The text field that words naming no field search (default: every text field).
    #[serde(default)]
    pub(crate) field: Option<String>,
}

/// `POST /v1/collections/{name}/search` body: a vector search (`vector`) or a full-text
/// search (`text`); exactly one of the two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Search {
    #[serde(default)]
    #[schema(value_type = Option<Vec<f32>>)]
    pub(crate) vector: Option<VectorIn>,
    #[serde(default)]
    pub(crate) text: Option<TextQueryIn>,
    #[serde(default = "ten")]
    #[schema(default = 10)]
    pub(crate) limit: usize,
    #[serde(default)]
    pub(crate) offset: usize,
    /// A filter in the engine's JSON form.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) filter: Option<RawJson>,
    /// Candidate list size; exclusive with `quality`.
    #[serde(default)]
    pub(crate) ef: Option<usize>,
    #[serde(default)]
    pub(crate) quality: Option<QualityName>,
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub(crate) with_payload: bool,
    #[serde(default)]
    pub(crate) with_vector: bool,
    #[serde(default)]
    pub(crate) score_threshold: Option<f32>,
    /// A quantized collection: rescore the candidates with the exact vectors (default
    /// true; `false` returns the codes' approximate scores, `sq8` and `pq` only).
    #[serde(default)]
    pub(crate) rerank: Option<bool>,
    /// A quantized collection: candidates rescored per result, 1 to 100 (default: the
    /// collection's).
    #[serde(default)]
    pub(crate) oversampling: Option<f32>,
}

impl Search {
    /// The engine request. A body with both legs goes to the engine as it is, which
    /// refuses it (fusion is not supported yet: 400 with the engine's message).
    pub(crate) fn into_request(self) -> Result<SearchRequest> {
        let vector = self.vector.map(VectorIn::into_vec).unwrap_or_default();
        let mut r = SearchRequest::new(&vector);
        match self.text {
            Some(text) => {
                if self.ef.is_some()
                    || self.quality.is_some()
                    || self.rerank.is_some()
                    || self.oversampling.is_some()
                {
                    return Err(Error::bad_request(
                        "\"ef\", \"quality\", \"rerank\" and \"oversampling\" apply to the vector index, not to a text search",
                    ));
                }
                r = r.text_query(&text.query);
                if let Some(field) = &text.field {
                    r = r.text_field(field);
                }
            }
            None if vector.is_empty() => {
                return Err(Error::bad_request(
                    "give a \"vector\" (vector search) or a \"text\" query (full-text search)",
                ));
            }
            None => {}
        }
        r = r
            .limit(self.limit)
            .offset(self.offset)
            .with_payload(self.with_payload)
            .with_vector(self.with_vector);
        if let Some(f) = filter(self.filter.as_deref())? {
            r = r.filter(f);
        }
        r = match (self.ef, self.quality) {
            (Some(_), Some(_)) => {
                return Err(Error::bad_request(
                    "give at most one of \"ef\" and \"quality\"",
                ));
            }
            (Some(ef), None) => r.ef(ef),
            (None, Some(q)) => r.quality(q.into()),
            (None, None) => r,
        };
        if let Some(t) = self.score_threshold {
            r = r.score_threshold(t);
        }
        // Checked by the engine (oversampling 1..=100; a `full` collection scores exactly).
        r.rerank = self.rerank;
        r.oversampling = self.oversampling;
        Ok(r)
    }
}

/// `POST /v1/collections/{name}/search/batch` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchBatch {
    #[schema(value_type = Vec<Search>)]
    pub(crate) searches: Bounded<Search, QueriesLimit>,
}

impl SearchBatch {
    pub(crate) fn into_requests(self) -> Result<Vec<SearchRequest>> {
        self.searches
            .into_vec()
            .into_iter()
            .map(Search::into_request)
            .collect()
    }
}

/// One result, best first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Hit {
    pub(crate) id: u64,
    /// Similarity (cosine, dot, jaccard: higher is better) or distance (euclidean,
    /// hamming: lower is better); BM25 for a text search (higher is better).
    pub(crate) score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub(crate) payload: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vector: Option<Vec<f32>>,
}

impl From<SearchResult> for Hit {
    fn from(r: SearchResult) -> Self {
        Hit {
            id: r.point.id,
            score: r.score,
            payload: r.point.payload,
            vector: (!r.point.vector.is_empty()).then_some(r.point.vector),
        }
    }
}

/// `POST /v1/collections/{name}/search` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SearchAnswer {
    pub(crate) results: Vec<Hit>,
}

/// `POST /v1/collections/{name}/search/batch` answer: one list per search, in order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchAnswer {
    pub(crate) results: Vec<Vec<Hit>>,
}
