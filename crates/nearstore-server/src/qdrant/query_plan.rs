//! Qdrant searches as ONE engine [`SearchRequest`] each: `points/search`, `points/query`
//! (with `prefetch` and `fusion`) and recommend all become a [`Search`], and
//! [`engine_request`] turns a [`Search`] into the engine's request. Nothing here ranks,
//! merges or windows: the legs, their fusion, the filter and the window are the engine's.
//!
//! The Query API maps onto the engine's request like this:
//!
//! | Qdrant | engine |
//! |---|---|
//! | `query: [..]` / `{"nearest": [..]}` / a point id, `using` | one dense leg on the vector `using` names |
//! | `query: {"indices", "values"}` (or `{"nearest": ..}` of it), `using` | one sparse leg on the sparse vector `using` names |
//! | `prefetch: [p1, p2, ..]` + `query: {"fusion": "rrf" \| "dbsf"}` (or `{"rrf": {"k"}}`) | one leg per prefetch (its `query`, `using`, `limit`: default 10 as in Qdrant), `FusionStrategy::Rrf` / `Dbsf` |
//! | `prefetch: [..]` + a `nearest` or `recommend` query | re-scoring (`SearchRequest::rescoring`): the query's leg first, ranking only what the prefetches' legs found |
//! | a prefetch with its own `prefetch`, `score_threshold`, `params` or recommend examples | a nested request (`Leg::nested`) built by the same rules, its `limit` the prefetch's |
//! | `filter` (outer) | the request's filter, applied inside every leg (nested ones too) and so to the result |
//! | a prefetch's `filter` | that leg's own filter (the engine ANDs it with the request's; the leg searches under the intersection) |
//! | `params` | the search quality and quantization settings (`rerank`, `oversampling`; see `quantization`) of the request (outer) or of the prefetch's nested request |
//! | `limit`, `offset`, `score_threshold` (outer) | the request's one result window |
//!
//! What one request cannot express is refused with 400 naming it, never approximated:
//! `lookup_from`, a query kind NearStore does not offer (see `QueryInput`).
//!
//! Filters follow Qdrant's documented behaviour (hybrid queries, "Query API"): a prefetch's
//! `filter` restricts that prefetch's own search only, and the top-level `filter` is
//! propagated into every prefetch as well as restricting the final result. The engine
//! gives exactly that: the request's filter applies inside every leg (a fused point comes
//! only from the legs, so it passes the request's filter), a leg's filter inside that leg.
//! Must not depend on axum: these are values, not handlers.

use nearstore::{
    Filter, FusionStrategy, Leg, SearchRequest, SparseVector, StorageMode, VectorCollection,
};

use crate::error::{Error, Result};
use crate::qdrant::filter::from_raw;
use crate::qdrant::ids::ExtId;
use crate::qdrant::model::RecommendStrategy;
use crate::qdrant::payload_select::PayloadSel;
use crate::qdrant::recommend::average_vector;
use crate::qdrant::request::{
    Fusion, Prefetch, QueryInput, QueryPoints, SearchParams, SearchPoints, SparseIn, Tuning,
    VectorInput, WithPayload, WithVector, positive_limit, refuse_set,
};

/// Qdrant's default `limit` of a prefetch.
const DEFAULT_PREFETCH_LIMIT: usize = 10;

/// What one leg looks for.
#[derive(Debug)]
pub(crate) enum LegInput {
    Vector(Vec<f32>),
    /// The vector of an existing point.
    Point(ExtId),
    Sparse(SparseIn),
    /// Recommend's average_vector: `avg(positive) + (avg(positive) - avg(negative))` of the
    /// examples (vectors, or points whose vectors are used).
    Average {
        positive: Vec<LegInput>,
        negative: Vec<LegInput>,
    },
    /// Recommend's best_score: the engine's best-score leg over the examples.
    BestScore {
        positive: Vec<LegInput>,
        negative: Vec<LegInput>,
    },
    /// A prefetch that is a query of its own (see [`NestedSearch`]).
    Nested(Box<NestedSearch>),
}

/// A prefetch run as a nested engine request: its own target, filter (its recommend
/// examples' exclusion), threshold and quality; its limit is the leg's.
#[derive(Debug)]
pub(crate) struct NestedSearch {
    target: Target,
    filter: Option<Filter>,
    score_threshold: Option<f32>,
    tuning: Tuning,
}

impl LegInput {
    /// The internal ids of the stored points this input reads vectors from.
    fn point_ids(&self, out: &mut Vec<u64>) {
        match self {
            LegInput::Point(id) => out.push(id.internal()),
            LegInput::Average { positive, negative }
            | LegInput::BestScore { positive, negative } => {
                for i in positive.iter().chain(negative) {
                    i.point_ids(out);
                }
            }
            LegInput::Nested(n) => n.target.point_ids(out),
            LegInput::Vector(_) | LegInput::Sparse(_) => {}
        }
    }
}

/// A recommend query as one leg input, with the filter excluding its examples given by id
/// (Qdrant never recommends an example). average_vector is one nearest search; best_score
/// is the engine's best-score leg (every candidate scored against every example);
/// `sum_scores` is refused (400 naming it).
pub(crate) fn recommend_input(
    positive: Vec<VectorInput>,
    negative: Vec<VectorInput>,
    strategy: RecommendStrategy,
) -> Result<(LegInput, Option<Filter>)> {
    if strategy == RecommendStrategy::SumScores {
        return Err(Error::not_supported(
            "the recommend strategy sum_scores (only average_vector and best_score)",
        ));
    }
    if strategy == RecommendStrategy::BestScore && positive.is_empty() && negative.is_empty() {
        return Err(Error::bad_request(
            "recommend with the best_score strategy needs at least one example",
        ));
    }
    if strategy == RecommendStrategy::AverageVector && positive.is_empty() {
        return Err(Error::bad_request(
            "recommend with the average_vector strategy needs at least one positive example",
        ));
    }
    let example = |v: VectorInput| match v {
        VectorInput::Sparse(_) => Err(Error::not_supported(
            "sparse recommend examples (only point ids and dense vectors)",
        )),
        v => input(v),
    };
    let positive = positive.into_iter().map(example).collect::<Result<_>>()?;
    let negative = negative.into_iter().map(example).collect::<Result<_>>()?;
    let input = match strategy {
        RecommendStrategy::BestScore => LegInput::BestScore { positive, negative },
        _ => LegInput::Average { positive, negative },
    };
    let mut ids = Vec::new();
    input.point_ids(&mut ids);
    let exclude = (!ids.is_empty()).then(|| Filter::not(Filter::has_id(ids)));
    Ok((input, exclude))
}

/// `a AND b`, either possibly absent.
pub(crate) fn and_filters(a: Option<Filter>, b: Option<Filter>) -> Option<Filter> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Filter::and(vec![a, b])),
        (a, b) => a.or(b),
    }
}

/// One leg: what it looks for, on which vector, how deep.
#[derive(Debug)]
pub(crate) struct LegSpec {
    /// The vector name (`""`: the unnamed vector).
    pub(crate) using: String,
    pub(crate) input: LegInput,
    /// How many candidates the leg fetches (`None`: the engine's default depth).
    pub(crate) limit: Option<usize>,
    /// The leg's own filter (a prefetch's), AND-ed by the engine with the request's (boxed:
    /// a filter is large and most legs have none).
    pub(crate) filter: Option<Box<Filter>>,
}

/// What to search for: one leg, several fused, or one re-scoring the others' candidates.
#[derive(Debug)]
pub(crate) enum Target {
    One(LegSpec),
    Fused {
        legs: Vec<LegSpec>,
        fusion: FusionStrategy,
    },
    Rescore {
        query: LegSpec,
        candidates: Vec<LegSpec>,
    },
}

impl Target {
    /// Its legs, the ranking one first.
    fn into_legs(self) -> (Vec<LegSpec>, Option<FusionStrategy>, bool) {
        match self {
            Target::One(leg) => (vec![leg], None, false),
            Target::Fused { legs, fusion } => (legs, Some(fusion), false),
            Target::Rescore { query, candidates } => {
                let mut legs = Vec::with_capacity(1 + candidates.len());
                legs.push(query);
                legs.extend(candidates);
                (legs, None, true)
            }
        }
    }

    /// The internal ids of the stored points its legs read vectors from.
    fn point_ids(&self, out: &mut Vec<u64>) {
        let legs: Box<dyn Iterator<Item = &LegSpec>> = match self {
            Target::One(leg) => Box::new(std::iter::once(leg)),
            Target::Fused { legs, .. } => Box::new(legs.iter()),
            Target::Rescore { query, candidates } => {
                Box::new(std::iter::once(query).chain(candidates))
            }
        };
        for l in legs {
            l.input.point_ids(out);
        }
    }
}

/// One search, from any request shape.
#[derive(Debug)]
pub(crate) struct Search {
    pub(crate) target: Target,
    pub(crate) filter: Option<Filter>,
    pub(crate) limit: usize,
    pub(crate) offset: usize,
    pub(crate) payload: PayloadSel,
    /// `with_vector`.
    pub(crate) vector: Option<WithVector>,
    pub(crate) score_threshold: Option<f32>,
    /// `params`: quality and quantization settings.
    pub(crate) tuning: Tuning,
}

/// Converts a query vector, refusing a bad point id (400) before anything runs.
fn input(v: VectorInput) -> Result<LegInput> {
    Ok(match v {
        VectorInput::Dense(v) => LegInput::Vector(v),
        VectorInput::Id(id) => LegInput::Point(ExtId::parse(&id)?),
        VectorInput::Sparse(s) => LegInput::Sparse(s),
    })
}

/// The engine's fusion; `{"rrf": {"k": 0}}` is Qdrant's validation error (422).
fn fusion(f: Fusion) -> Result<FusionStrategy> {
    Ok(match f {
        Fusion::Rrf => FusionStrategy::rrf(),
        Fusion::RrfK(0) => {
            return Err(Error::validation(
                "query.rrf.k: value 0 invalid, must be 1 or larger",
            ));
        }
        Fusion::RrfK(k) => FusionStrategy::Rrf { k },
        Fusion::Dbsf => FusionStrategy::Dbsf,
    })
}

impl SearchPoints {
    /// The one search this body asks for.
    pub(crate) fn into_search(self) -> Result<Search> {
        refuse_set(&[("shard_key", self.shard_key.as_ref())])?;
        let input = match self.vector.vector {
            VectorInput::Id(_) => {
                return Err(Error::bad_request(
                    "\"vector\" must be a list of numbers (use points/query to search by id)",
                ));
            }
            v => input(v)?,
        };
        Ok(Search {
            target: Target::One(LegSpec {
                using: self.vector.name.unwrap_or_default(),
                input,
                limit: None,
                filter: None,
            }),
            filter: from_raw(self.filter.as_deref())?,
            limit: positive_limit("limit", self.limit, 10)?,
            offset: self.offset.unwrap_or(0),
            payload: WithPayload::selection(self.with_payload.as_ref(), false),
            vector: self.with_vector,
            score_threshold: self.score_threshold,
            tuning: SearchParams::tuning(self.params.as_ref())?,
        })
    }
}

/// A prefetch as a leg: a plain leg with its own limit and filter when its query is one
/// search, else a nested request built by the same rules as the outer query.
fn prefetch_leg(p: Prefetch) -> Result<LegSpec> {
    refuse_set(&[("prefetch.lookup_from", p.lookup_from.as_ref())])?;
    if p.query.is_none() {
        return Err(Error::bad_request("a prefetch needs a \"query\""));
    }
    let limit = Some(positive_limit(
        "prefetch.limit",
        p.limit,
        DEFAULT_PREFETCH_LIMIT,
    )?);
    let filter = from_raw(p.filter.as_deref())?;
    let tuning = SearchParams::tuning(p.params.as_ref())?;
    let inner = p.prefetch.map(|n| n.0).unwrap_or_default();
    let (target, exclude) = query_target(p.query, p.using, inner)?;
    Ok(match target {
        Target::One(mut leg)
            if p.score_threshold.is_none() && tuning.is_default() && exclude.is_none() =>
        {
            leg.limit = limit;
            leg.filter = filter.map(Box::new);
            leg
        }
        target => LegSpec {
            using: String::new(),
            input: LegInput::Nested(Box::new(NestedSearch {
                target,
                filter: and_filters(filter, exclude),
                score_threshold: p.score_threshold,
                tuning,
            })),
            limit,
            filter: None,
        },
    })
}

/// What a `query` over `prefetches` ranks (Qdrant's rules): without prefetches, the query's
/// own search; a fusion query fuses the prefetches; a nearest or recommend query re-scores
/// their candidates. Also the filter excluding the recommend examples given by id.
fn query_target(
    query: Option<QueryInput>,
    using: Option<String>,
    prefetches: Vec<Prefetch>,
) -> Result<(Target, Option<Filter>)> {
    let using = using.unwrap_or_default();
    let (input, exclude) = match query {
        None => {
            return Err(Error::not_supported(
                "a query without \"query\" (use points/scroll)",
            ));
        }
        Some(QueryInput::Unsupported(what)) => return Err(Error::not_supported(what)),
        Some(QueryInput::Fusion(f)) => {
            let fusion = fusion(f)?;
            if prefetches.is_empty() {
                return Err(Error::bad_request("a fusion query needs prefetches"));
            }
            if !using.is_empty() {
                return Err(Error::bad_request(
                    "\"using\" names the vector of a nearest query; a fusion query has none",
                ));
            }
            // The outer filter is the request's (inside every leg, as Qdrant propagates
            // it into the prefetches); each prefetch's filter stays on its own leg.
            let legs = prefetches
                .into_iter()
                .map(prefetch_leg)
                .collect::<Result<_>>()?;
            return Ok((Target::Fused { legs, fusion }, None));
        }
        Some(QueryInput::Nearest(v)) => (input(v)?, None),
        Some(QueryInput::Recommend(r)) => recommend_input(r.positive, r.negative, r.strategy)?,
    };
    let query = LegSpec {
        using,
        input,
        limit: None,
        filter: None,
    };
    if prefetches.is_empty() {
        return Ok((Target::One(query), exclude));
    }
    let candidates = prefetches
        .into_iter()
        .map(prefetch_leg)
        .collect::<Result<_>>()?;
    Ok((Target::Rescore { query, candidates }, exclude))
}

impl QueryPoints {
    /// The one search this body asks for.
    pub(crate) fn into_search(self) -> Result<Search> {
        refuse_set(&[
            ("shard_key", self.shard_key.as_ref()),
            ("lookup_from", self.lookup_from.as_ref()),
        ])?;
        let prefetches = self.prefetch.map(|p| p.0).unwrap_or_default();
        let (target, exclude) = query_target(self.query, self.using, prefetches)?;
        Ok(Search {
            target,
            filter: and_filters(from_raw(self.filter.as_deref())?, exclude),
            limit: positive_limit("limit", self.limit, 10)?,
            offset: self.offset.unwrap_or(0),
            payload: WithPayload::selection(self.with_payload.as_ref(), false),
            vector: self.with_vector,
            score_threshold: self.score_threshold,
            tuning: SearchParams::tuning(self.params.as_ref())?,
        })
    }
}

/// The engine's leg for `spec`, point ids resolved to the stored vectors in `found`.
fn engine_leg(
    spec: LegSpec,
    found: &mut impl FnMut(&ExtId, &str) -> Result<Vec<f32>>,
    depth_cap: usize,
    mode: StorageMode,
) -> Result<Leg> {
    let leg = match spec.input {
        LegInput::Nested(n) => {
            let NestedSearch {
                target,
                filter,
                score_threshold,
                tuning,
            } = *n;
            let mut sub = target_request(target, found, depth_cap, mode)?
                .limit(spec.limit.unwrap_or(DEFAULT_PREFETCH_LIMIT))
                .with_payload(false);
            sub.filter = and_filters(filter, spec.filter.map(|f| *f));
            sub = tuning.apply(sub, mode)?;
            if let Some(t) = score_threshold {
                sub = sub.score_threshold(t);
            }
            return Ok(Leg::nested(sub));
        }
        LegInput::Sparse(s) => {
            let v = SparseVector::new(s.indices, s.values).map_err(nearstore::Error::from)?;
            Leg::sparse(&spec.using, &v)
        }
        LegInput::BestScore { positive, negative } => {
            let mut all = |list: Vec<LegInput>| -> Result<Vec<Vec<f32>>> {
                list.into_iter()
                    .map(|i| dense_vector(i, &spec.using, found))
                    .collect()
            };
            let (positive, negative) = (all(positive)?, all(negative)?);
            Leg::best_score(&spec.using, positive, negative)
        }
        dense => Leg::dense(&spec.using, &dense_vector(dense, &spec.using, found)?),
    };
    let leg = match spec.limit {
        Some(l) => leg.limit(l),
        None => leg,
    };
    Ok(match spec.filter {
        Some(f) => leg.filter(*f),
        None => leg,
    })
}

/// The dense vector `input` stands for on the vector `using`.
fn dense_vector(
    input: LegInput,
    using: &str,
    found: &mut impl FnMut(&ExtId, &str) -> Result<Vec<f32>>,
) -> Result<Vec<f32>> {
    match input {
        LegInput::Vector(v) => Ok(v),
        LegInput::Point(id) => found(&id, using),
        LegInput::Average { positive, negative } => {
            let mut all = |list: Vec<LegInput>| -> Result<Vec<Vec<f32>>> {
                list.into_iter()
                    .map(|i| dense_vector(i, using, found))
                    .collect()
            };
            let (positive, negative) = (all(positive)?, all(negative)?);
            average_vector(&positive, &negative)
        }
        LegInput::Sparse(_) => Err(Error::bad_request(
            "a sparse vector where a dense one is needed",
        )),
        LegInput::BestScore { .. } => Err(Error::not_supported(
            "a best_score recommendation where one vector is needed",
        )),
        LegInput::Nested(_) => Err(Error::not_supported(
            "a nested query where one vector is needed",
        )),
    }
}

/// Builds the one engine request for `s` (without its deadline). Point ids are read with
/// one `get`; the window is clamped to the points stored (Qdrant answers a limit beyond
/// the collection's size with every point; the engine refuses a limit above its maximum),
/// and so is each leg's depth.
pub(crate) fn engine_request(c: &VectorCollection, s: Search) -> Result<SearchRequest> {
    let mut ids: Vec<u64> = Vec::new();
    s.target.point_ids(&mut ids);
    let stored_points = if ids.is_empty() {
        Vec::new()
    } else {
        c.get(&ids)?
    };
    let mut found = |id: &ExtId, using: &str| -> Result<Vec<f32>> {
        let point = stored_points
            .iter()
            .flatten()
            .find(|p| p.id == id.internal())
            .ok_or_else(|| {
                Error::NotFound(format!("no point with id {} to query by", id.to_json()))
            })?;
        let vector = if using.is_empty() {
            Some(&point.vector).filter(|v| !v.is_empty())
        } else {
            point.vectors.get(using)
        };
        vector.cloned().ok_or_else(|| {
            Error::bad_request(format!(
                "point {} has no vector named {using:?} to query by",
                id.to_json()
            ))
        })
    };
    let stored = c.len();
    let depth_cap = stored.clamp(1, nearstore::MAX_SEARCH_RESULTS);
    let mode = c.config().storage_mode;
    let r = target_request(s.target, &mut found, depth_cap, mode)?;
    let offset = s.offset.min(stored);
    let limit = match s.limit {
        0 => 0,
        l => l.min(stored - offset).max(1),
    };
    let mut r = r
        .limit(limit)
        .offset(offset)
        .with_payload(true)
        .with_vector(WithVector::any(s.vector.as_ref()));
    if let Some(f) = s.filter {
        r = r.filter(f);
    }
    r = s.tuning.apply(r, mode)?;
    if let Some(t) = s.score_threshold {
        r = r.score_threshold(t);
    }
    Ok(r)
}

/// The engine request for `target` (its legs; their fusion or re-scoring), without window,
/// filter or quality; each leg's depth clamped to `depth_cap`; `mode`: the collection's
/// storage mode (for a nested request's quantization settings).
fn target_request(
    target: Target,
    found: &mut impl FnMut(&ExtId, &str) -> Result<Vec<f32>>,
    depth_cap: usize,
    mode: StorageMode,
) -> Result<SearchRequest> {
    let (legs, fusion, rescore) = target.into_legs();
    let mut engine_legs = Vec::with_capacity(legs.len());
    for mut spec in legs {
        spec.limit = spec.limit.map(|l| l.clamp(1, depth_cap));
        engine_legs.push(engine_leg(spec, found, depth_cap, mode)?);
    }
    let mut r = SearchRequest::new(&[]);
    if engine_legs.len() == 1 && engine_legs[0].limit.is_none() {
        // One leg: the request's own dense vector (or its one extra leg).
        let leg = engine_legs.remove(0);
        match leg.query {
            nearstore::LegQuery::Dense { using, vector } => {
                r = SearchRequest::new(&vector);
                r.using = using;
            }
            _ => r.legs = vec![leg],
        }
    } else {
        r.legs = engine_legs;
    }
    if let Some(f) = fusion {
        r.fusion = f;
    }
    if rescore {
        r = r.rescoring();
    }
    Ok(r)
}
