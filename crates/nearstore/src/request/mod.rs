//! Engine requests: [`SearchRequest`] (a vector or full-text search), [`ScrollRequest`] (reading matching
//! points page by page), [`WriteOptions`] (bulk writes), and the [`Deadline`] each carries.
//!
//! Where the pieces of a request are applied: the filter is resolved to an id bitmap
//! (payload indexes, then payload evaluation) before the index runs; the index searches
//! `limit + offset` deep under that bitmap; [`window::ResultWindow`] then applies the score
//! threshold, the offset and the limit (only there); payloads and vectors are read for the
//! final hits only. The deadline is checked by every loop that can run long.

pub(crate) mod best_score;
mod deadline;
pub(crate) mod fusion;
pub(crate) mod group;
pub(crate) mod legs;
mod quality;
mod scroll;
mod wall_clock;
pub(crate) mod window;

pub(crate) use deadline::check as check_deadline;
pub use deadline::{Clock, Deadline, SteppingClock, SystemClock};
pub use fusion::{DEFAULT_RRF_K, FusionStrategy, LegScore};
pub use group::{GROUP_DEPTH_GROWTH, GroupBy, MIN_GROUP_DEPTH, SearchGroup};
pub use legs::{LEG_DEPTH_FACTOR, Leg, LegQuery, MAX_NESTING, MIN_WINDOW_FOR_LEGS};
pub use quality::{SEARCH_QUALITY_NAMES, parse_search_quality, search_quality_names};
pub use scroll::{Direction, MAX_SCROLL_LIMIT, OrderBy, ScrollCursor, ScrollRequest};
pub use wall_clock::{ManualWallClock, SystemWallClock, WallClock};

use nearstore_filter::Filter;
use nearstore_index::SearchQuality;

/// Largest `limit + offset` a search accepts.
pub const MAX_SEARCH_RESULTS: usize = 100_000;

/// The text leg of a search: a full-text query ranked by BM25 (syntax in
/// `nearstore_text`'s query module: words OR-ed, `"phrases"`, `+required`, `-excluded`,
/// `field:word`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TextLeg {
    /// The query text.
    pub query: String,
    /// The text field that clauses naming no field search (`None`: every text field), as
    /// in the query language's `field MATCH 'query'`.
    pub field: Option<String>,
}

/// A search: what to look for, how many, which points qualify, what to return.
///
/// Its legs: the dense vector (`vector`, non-empty, on the vector named `using`), the text
/// query (`text`), and any further `legs` (see [`Leg`]). A request with one leg returns that
/// leg's scores; a request with several (hybrid: e.g. a vector and a text query) runs each
/// leg under the same filter, fuses their lists by `fusion` (default RRF, `k` = 60) and
/// returns the fused scores (higher is better) with each leg's score and rank
/// ([`crate::SearchResult::legs`]). Limit, offset and threshold apply to the fused list.
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
    /// The query vector (empty in a text-only request).
    pub vector: Vec<f32>,
    /// The dense vector `vector` searches (default `""`: the collection's default vector).
    pub using: String,
    /// The text leg (default none).
    pub text: Option<TextLeg>,
    /// Further legs (default none).
    pub legs: Vec<Leg>,
    /// How several legs' lists are fused (default RRF with `k` = 60).
    pub fusion: FusionStrategy,
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
    /// Whether a result scoring exactly the threshold is kept (default true).
    pub score_threshold_inclusive: bool,
    /// When to stop working ([`crate::ErrorKind::Cancelled`] after it; default none).
    pub deadline: Option<Deadline>,
    /// Re-scoring (default false): the first leg ranks only the points the other legs
    /// found (Qdrant's query over prefetches): the other legs run first, each under the
    /// filter and its own; the first leg then scores exactly the union of their hits, and
    /// its scores, in its metric's direction, are the result. Needs two legs or more and
    /// takes no fusion.
    pub rescore: bool,
    /// Group the hits by a payload field (default none): then `limit` counts groups, and
    /// the request runs through [`crate::VectorCollection::query_groups`].
    pub group_by: Option<GroupBy>,
    /// In a quantized collection (storage mode `sq8`, `binary`, `pq`, `rabitq`), whether
    /// the dense legs rescore their candidates with the exact `f32` vectors (default
    /// `None`: yes). `Some(false)` returns the codes' approximate scores (`binary` and
    /// `rabitq` always rescore: they refuse it). A `full` collection's scores are always
    /// exact.
    pub rerank: Option<bool>,
    /// In a quantized collection, candidates rescored per wanted result (default `None`:
    /// the collection's [`crate::QuantizationConfig::oversampling`]); 1..=100. A `full`
    /// collection scores exactly and has nothing to oversample.
    pub oversampling: Option<f32>,
}

impl SearchRequest {
    /// A request for the 10 nearest neighbours of `vector`.
    pub fn new(vector: &[f32]) -> Self {
        SearchRequest {
            vector: vector.to_vec(),
            using: String::new(),
            text: None,
            legs: Vec::new(),
            fusion: FusionStrategy::default(),
            limit: 10,
            offset: 0,
            filter: None,
            quality: SearchQuality::Balanced,
            with_payload: true,
            with_vector: false,
            score_threshold: None,
            score_threshold_inclusive: true,
            deadline: None,
            rescore: false,
            group_by: None,
            rerank: None,
            oversampling: None,
        }
    }

    /// A request for the 10 best points for a full-text `query` (BM25, higher is better),
    /// with no vector leg.
    pub fn text(query: &str) -> Self {
        SearchRequest::new(&[]).text_query(query)
    }

    /// Sets the text leg's query (keeping its field, if one was set).
    pub fn text_query(mut self, query: &str) -> Self {
        let field = self.text.take().and_then(|t| t.field);
        self.text = Some(TextLeg {
            query: query.to_owned(),
            field,
        });
        self
    }

    /// Aims the text leg's clauses that name no field at `field` (a text field of the
    /// collection).
    pub fn text_field(mut self, field: &str) -> Self {
        let query = self.text.take().map(|t| t.query).unwrap_or_default();
        self.text = Some(TextLeg {
            query,
            field: Some(field.to_owned()),
        });
        self
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

    /// Drops results worse than `score` (a result scoring exactly `score` is kept).
    pub fn score_threshold(mut self, score: f32) -> Self {
        self.score_threshold = Some(score);
        self.score_threshold_inclusive = true;
        self
    }

    /// Drops results worse than `score` or scoring exactly `score`.
    pub fn score_threshold_exclusive(mut self, score: f32) -> Self {
        self.score_threshold = Some(score);
        self.score_threshold_inclusive = false;
        self
    }

    /// Makes the first leg rank the other legs' candidates (see [`SearchRequest::rescore`]):
    ///
    /// ```
    /// # use nearstore::{Leg, SearchRequest};
    /// // Find 100 candidates on a small vector, rank them by the large one.
    /// let request = SearchRequest::new(&[0.1; 8])
    ///     .using("large")
    ///     .leg(Leg::dense("small", &[0.2, 0.3]).limit(100))
    ///     .rescoring();
    /// assert!(request.rescore);
    /// ```
    pub fn rescoring(mut self) -> Self {
        self.rescore = true;
        self
    }

    /// Whether a quantized collection rescores candidates with exact vectors (see
    /// [`SearchRequest::rerank`](struct.SearchRequest.html#structfield.rerank)).
    pub fn rerank(mut self, yes: bool) -> Self {
        self.rerank = Some(yes);
        self
    }

    /// Candidates a quantized collection rescores per wanted result (see
    /// [`SearchRequest::oversampling`](struct.SearchRequest.html#structfield.oversampling)).
    pub fn oversampling(mut self, factor: f32) -> Self {
        self.oversampling = Some(factor);
        self
    }

    /// Groups the hits by the payload field `field`, at most `group_size` per group;
    /// `limit` then counts groups (see [`crate::VectorCollection::query_groups`]).
    pub fn group_by(mut self, field: &str, group_size: usize) -> Self {
        self.group_by = Some(GroupBy {
            field: field.to_owned(),
            group_size,
        });
        self
    }

    /// Stops at `deadline`.
    pub fn deadline(mut self, deadline: Deadline) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

/// Options of a write ([`crate::VectorCollection::upsert_with`]).
///
/// A write with a deadline is all or nothing: the deadline is checked while the batch is
/// validated and encoded and once more just before it is logged. If it has passed by then
/// the call fails with [`crate::Error::WriteCancelled`] and nothing was written; once
/// logged, the write is applied whole and the call succeeds, even when that finishes after
/// the deadline (a logged write is never stopped half applied).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteOptions {
    /// When to give up before writing.
    pub deadline: Option<Deadline>,
}

impl WriteOptions {
    /// Options with a deadline.
    pub fn deadline(deadline: Deadline) -> Self {
        WriteOptions {
            deadline: Some(deadline),
        }
    }
}

/// Options of a read by id ([`crate::VectorCollection::get_with`]): what to return and when
/// to give up (checked before the read and every 1,024 points; past it the read fails with
/// `ErrorKind::Cancelled`). The default returns vectors and payloads, without a deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// When to give up.
    pub deadline: Option<Deadline>,
    /// Return the points' vectors (default, named and sparse).
    pub with_vector: bool,
    /// Return the points' payloads.
    pub with_payload: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            deadline: None,
            with_vector: true,
            with_payload: true,
        }
    }
}

impl ReadOptions {
    /// The default options with a deadline.
    pub fn deadline(deadline: Deadline) -> Self {
        ReadOptions {
            deadline: Some(deadline),
            ..ReadOptions::default()
        }
    }
}
