//! Pattern queries (`MATCH`) through the engine: [`MatchRequest`] -> start choice -> the
//! graph crate's planner and executor -> [`MatchResponse`]. The query language builds a
//! `MatchRequest` from its AST (and the server from its body); nothing outside the engine
//! walks the graph.
//!
//! Start choice: when the request has a similarity threshold on a node variable whose
//! direction keeps the better scores (`> t` for a similarity metric, `< t` for a distance),
//! the engine asks the vector store for the nodes past the threshold with an exact search
//! (an approximate one would miss some, and the candidates restrict the variable), at most
//! [`MATCH_VECTOR_CANDIDATES`] deep and with a slightly looser threshold (so a rounding
//! difference between the search's and the exact score cannot drop a node at the
//! threshold); when fewer come back the set is complete and becomes
//! that variable's start candidates (the planner starts there when it is the smallest set).
//! The exact search reads every embedding, so it is skipped when the plan without it starts
//! from nodes a property index gives and its estimated walk reaches no more nodes than the
//! graph holds: walking from there is cheaper, and each binding's score is checked exactly.
//! The estimate is the edges the start nodes actually have in the first hop's direction
//! and types (a hub counts its degree: a mean degree underestimates power-law graphs)
//! times the mean out-degree (at least 1) to the power of the remaining hops (a
//! variable-length relationship counts its maximum). That plan is then the one that runs
//! (planned once, under one read of the state); a vector start plans again with its
//! candidates.
//! Otherwise the graph's planner picks a node property index, the endpoints an edge
//! property index selects, or a label scan. Every node bound to the similarity variable is
//! checked with its exact score from the vector store, so the vector start only narrows.

use std::collections::BTreeMap;

use nearstore_filter::Filter;
use nearstore_graph::{MatchStats, Pattern};

use crate::collection::VectorCollection;
use crate::error::{Error, Result};
use crate::graph_collection::GraphCollection;
use crate::request::{Deadline, SearchRequest};
use nearstore_index::SearchQuality;

/// The most nodes the vector index is asked for when a similarity threshold picks the
/// start: a complete answer below this many becomes the start candidates.
pub const MATCH_VECTOR_CANDIDATES: usize = 1_000;

/// A similarity threshold's comparison (`score > value` and so on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdOp {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl ThresholdOp {
    /// Whether `score` passes `score <op> value`.
    pub fn holds(self, score: f32, value: f32) -> bool {
        match self {
            ThresholdOp::Gt => score > value,
            ThresholdOp::Ge => score >= value,
            ThresholdOp::Lt => score < value,
            ThresholdOp::Le => score <= value,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            ThresholdOp::Gt => ">",
            ThresholdOp::Ge => ">=",
            ThresholdOp::Lt => "<",
            ThresholdOp::Le => "<=",
        }
    }
}

/// `similarity(var.vector, query) <op> value` on one node variable (the graph's embeddings
/// under its metric).
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarityCondition {
    /// The node variable.
    pub var: String,
    /// The query vector.
    pub vector: Vec<f32>,
    /// The threshold (`None`: only scored, for `similarity()` in RETURN / ORDER BY).
    pub threshold: Option<(ThresholdOp, f32)>,
}

/// An `@collection` binding: the node variable is bound to nodes that are also points of
/// `collection`, whose payloads there satisfy `filter` (labels and properties of such a
/// variable are read from that collection).
#[derive(Debug, Clone)]
pub struct ForeignNode {
    /// The collection the node's payload comes from.
    pub collection: VectorCollection,
    /// Conditions on that payload.
    pub filter: Option<Filter>,
}

/// A pattern query on a graph collection.
#[derive(Debug, Clone)]
pub struct MatchRequest {
    /// The pattern (node variables, relationships, labels, conditions).
    pub pattern: Pattern,
    /// A similarity condition on one node variable; its score is each row's `score`.
    pub similarity: Option<SimilarityCondition>,
    /// `@collection` bindings by node variable.
    pub foreign: BTreeMap<String, ForeignNode>,
    /// The caller's start: a node variable bound only to these ids (e.g. a SELECT row's
    /// point for `MATCH (...)` in WHERE); it takes precedence over a vector start.
    pub start: Option<(String, Vec<u64>)>,
    /// At most this many rows (a truncation; `None`: all).
    pub limit: Option<usize>,
    /// Stop with `Cancelled` past this instant.
    pub deadline: Option<Deadline>,
    /// The most partial bindings the execution may produce (default
    /// [`nearstore_graph::DEFAULT_MAX_ROWS`]); past it, `ResourceExhausted`.
    pub max_rows: Option<usize>,
}

impl MatchRequest {
    /// A request for `pattern` with no similarity, binding, limit or deadline.
    pub fn new(pattern: Pattern) -> Self {
        MatchRequest {
            pattern,
            similarity: None,
            foreign: BTreeMap::new(),
            start: None,
            limit: None,
            deadline: None,
            max_rows: None,
        }
    }
}

/// One match.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchRow {
    /// The node the match stands for: the end node of the first path (the last node of
    /// the pattern's first part; its start node when that part has no relationship), as the
    /// reference engine's `MatchResult::node_id` is the node its traversal reached.
    pub node: u64,
    /// Node ids, in the order of [`MatchResponse::node_vars`].
    pub nodes: Vec<u64>,
    /// Edge ids per relationship (left node to right node), in the order of
    /// [`MatchResponse::rel_vars`].
    pub edges: Vec<Vec<u64>>,
    /// The similarity variable's exact score, when the request has one.
    pub score: Option<f32>,
}

/// What a pattern query answered.
#[derive(Debug, Clone, Default)]
pub struct MatchResponse {
    /// Node variables (`None`: anonymous), in binding order.
    pub node_vars: Vec<Option<String>>,
    /// Relationships (`None`: anonymous), as written.
    pub rel_vars: Vec<Option<String>>,
    /// The matches, in plan order.
    pub rows: Vec<MatchRow>,
    /// The plan, one line per step: the chosen start (vector index top-k, property index or
    /// scan) and the expansion order.
    pub plan: Vec<String>,
    /// Nodes and edges visited (for EXPLAIN ANALYZE; zero when only planned).
    pub stats: MatchStats,
    /// How many candidate nodes the plan's first start has when a property index or the
    /// caller gives them (`None` when it is a label scan).
    pub indexed_start_candidates: Option<u64>,
}

/// Start candidates taken from the vector index, with the EXPLAIN line saying so.
pub(crate) struct VectorStart {
    pub(crate) var: String,
    pub(crate) ids: Vec<u64>,
    pub(crate) line: String,
}

impl GraphCollection {
    /// Runs a pattern query: plans it (start choice, expansion order) and enumerates its
    /// matches. Errors: an unknown variable, a pattern past the depth or row guardrails,
    /// the deadline (`Cancelled`), a similarity on a graph without embeddings.
    pub fn match_pattern(&self, request: &MatchRequest) -> Result<MatchResponse> {
        self.run_match(request, true)
    }

    /// Plans a pattern query without running it (EXPLAIN).
    pub fn explain_match(&self, request: &MatchRequest) -> Result<MatchResponse> {
        self.run_match(request, false)
    }

    /// The start choice (module docs), then the plan and, with `execute`, the run. A plan
    /// made to weigh its start against the vector index is the one that runs when its
    /// start wins (planned and run under one read of the state); only a vector start
    /// plans again, with its candidates.
    fn run_match(&self, request: &MatchRequest, execute: bool) -> Result<MatchResponse> {
        let inner = &self.points.inner;
        let planned = |start: Option<VectorStart>, weigh: bool| {
            inner
                .run_match(request, start, execute, weigh)?
                .ok_or_else(|| Error::Internal("a pattern query was planned but not run".into()))
        };
        if let Some((var, ids)) = &request.start {
            return planned(
                Some(VectorStart {
                    var: var.clone(),
                    ids: ids.clone(),
                    line: format!("start {var}: {} given nodes", ids.len()),
                }),
                false,
            );
        }
        if !self.vector_start_possible(request)? {
            return planned(None, false);
        }
        if let Some(response) = inner.run_match(request, None, execute, true)? {
            return Ok(response);
        }
        planned(self.vector_start(request)?, false)
    }

    /// Whether a similarity threshold could pick the start: it keeps the better scores
    /// (`> t` for a similarity metric, `< t` for a distance). A threshold on a graph
    /// without embeddings is an error.
    fn vector_start_possible(&self, request: &MatchRequest) -> Result<bool> {
        let Some(sim) = &request.similarity else {
            return Ok(false);
        };
        let Some((op, _)) = sim.threshold else {
            return Ok(false);
        };
        let config = self.points.config();
        if !config.default_vector {
            return Err(Error::NoEmbedding {
                collection: self.points.name().to_string(),
            });
        }
        Ok(if config.metric.is_similarity() {
            matches!(op, ThresholdOp::Gt | ThresholdOp::Ge)
        } else {
            matches!(op, ThresholdOp::Lt | ThresholdOp::Le)
        })
    }

    /// The vector index's answer for a similarity threshold (`None` when it holds
    /// [`MATCH_VECTOR_CANDIDATES`] nodes or more: then it is no narrower start).
    fn vector_start(&self, request: &MatchRequest) -> Result<Option<VectorStart>> {
        let Some(sim) = &request.similarity else {
            return Ok(None);
        };
        let Some((op, value)) = sim.threshold else {
            return Ok(None);
        };
        let metric = self.points.config().metric;
        // Exact and a little looser: the candidates restrict the variable, so they must hold
        // every node past the threshold; the exact check of each binding trims the margin.
        let margin = 1e-4 * value.abs().max(1.0);
        let looser = if metric.is_similarity() {
            value - margin
        } else {
            value + margin
        };
        let search = SearchRequest::new(&sim.vector)
            .limit(MATCH_VECTOR_CANDIDATES)
            .with_payload(false)
            .quality(SearchQuality::Perfect)
            .score_threshold(looser);
        let search = match &request.deadline {
            Some(d) => search.deadline(d.clone()),
            None => search,
        };
        let hits = self.points.query(search)?;
        if hits.len() >= MATCH_VECTOR_CANDIDATES {
            return Ok(None);
        }
        let line = format!(
            "vector index top-k for {}: {} nodes with similarity {} {value}",
            sim.var,
            hits.len(),
            op.symbol()
        );
        Ok(Some(VectorStart {
            var: sim.var.clone(),
            ids: hits.into_iter().map(|h| h.point.id).collect(),
            line,
        }))
    }
}
