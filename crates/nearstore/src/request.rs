//! [`SearchRequest`]: the one general description of a vector search.

use nearstore_filter::Filter;
use nearstore_index::SearchQuality;

/// Largest `limit + offset` a search accepts.
pub const MAX_SEARCH_RESULTS: usize = 100_000;

/// A vector search: what to look for, how many, which points qualify, what to return.
///
/// ```
/// # use nearstore::{SearchRequest, Filter, SearchQuality};
/// # use serde_json::json;
/// let request = SearchRequest::new(&[0.1, 0.2, 0.3])
///     .limit(10)
///     .offset(5)
///     .filter(Filter::parse(&json!({"field": "lang", "eq": "en"}))?)
///     .quality(SearchQuality::Accurate)
///     .with_vector(true);
/// # Ok::<(), nearstore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// The query vector.
    pub vector: Vec<f32>,
    /// How many results (default 10).
    pub limit: usize,
    /// How many of the best results to skip first (default 0).
    pub offset: usize,
    /// Only points whose payload matches (default: every point).
    pub filter: Option<Filter>,
    /// How hard the index tries (default [`SearchQuality::Balanced`]).
    pub quality: SearchQuality,
    /// Whether results carry payloads (default true).
    pub with_payload: bool,
    /// Whether results carry vectors (default false).
    pub with_vector: bool,
    /// Drop results worse than this score (in the metric's direction: for similarities a
    /// minimum, for distances a maximum).
    pub score_threshold: Option<f32>,
}

impl SearchRequest {
    /// A request for the 10 nearest neighbours of `vector`.
    pub fn new(vector: &[f32]) -> Self {
        SearchRequest {
            vector: vector.to_vec(),
            limit: 10,
            offset: 0,
            filter: None,
            quality: SearchQuality::Balanced,
            with_payload: true,
            with_vector: false,
            score_threshold: None,
        }
    }

    /// Sets how many results to return.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Sets how many of the best results to skip.
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// Restricts the search to points matching `filter`.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Sets the search quality.
    pub fn quality(mut self, quality: SearchQuality) -> Self {
        self.quality = quality;
        self
    }

    /// Sets an exact candidate-list size (`ef`) for the graph search.
    pub fn ef(mut self, ef: usize) -> Self {
        self.quality = SearchQuality::Ef(ef);
        self
    }

    /// Whether results carry payloads.
    pub fn with_payload(mut self, yes: bool) -> Self {
        self.with_payload = yes;
        self
    }

    /// Whether results carry vectors.
    pub fn with_vector(mut self, yes: bool) -> Self {
        self.with_vector = yes;
        self
    }

    /// Drops results worse than `score`.
    pub fn score_threshold(mut self, score: f32) -> Self {
        self.score_threshold = Some(score);
        self
    }
}
