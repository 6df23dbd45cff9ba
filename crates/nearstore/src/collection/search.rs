//! The one search path: request -> legs -> fusion -> result window -> points.
//!
//! `Collection::ranked` runs every [`SearchRequest`]: it checks each leg before any work
//! (unknown vector name, wrong dimension, no text index, fusion weights, nested requests),
//! resolves the filter once to the exact id bitmap (`resolve_filter`), runs each leg under
//! that bitmap (the dense index's exact-scan-or-graph choice, the text index's block-max
//! pruned top-k, the sparse index's exact MaxScore, see `sparse.rs`; a nested leg is a
//! whole request run the same way inside that bitmap), and keeps the single leg's list as
//! it is, fuses the lists (`request::fusion::fuse`), or, when re-scoring, lets the first
//! leg rank exactly the union of the others' hits. [`ResultWindow`] then applies
//! threshold, offset and limit; payloads and vectors are read for the window's hits only
//! (`results`). So a fused request never returns a point that fails its filter, whichever
//! leg found it, and never filters after fusing.

use std::borrow::Cow;

use rayon::prelude::*;
use roaring::RoaringTreemap;

use super::{Collection, VectorCollection};
use crate::error::{Error, Result};
use crate::plan::BitmapAllowList;
use crate::point::SearchResult;
use crate::request::fusion::{FusedHit, LegList, fuse};
use crate::request::legs::{LegRef, LegSpec, MAX_NESTING, leg_depth};
use crate::request::window::ResultWindow;
use crate::request::{Deadline, FusionStrategy, Leg, SearchRequest, check_deadline};
use nearstore_filter::Filter;
use nearstore_index::{AllowList, QueryOptions, SearchHit, SearchOptions, SearchQuality};
use nearstore_text::SearchStats;

/// The ranked hits of a request after its window, and what its first text leg did.
#[derive(Debug, Default)]
pub(crate) struct Ranked {
    pub hits: Vec<FusedHit>,
    pub text_stats: Option<SearchStats>,
}

/// A single leg's hits as the request's ranked hits (no per-leg scores).
fn unfused(hits: Vec<SearchHit>) -> Vec<FusedHit> {
    hits.into_iter()
        .map(|h| FusedHit {
            id: h.id,
            score: h.score,
            legs: Vec::new(),
        })
        .collect()
}

/// One leg's hits (best first); its direction is what `check_leg` returned.
struct LegHits {
    hits: Vec<SearchHit>,
    text_stats: Option<SearchStats>,
}

impl Collection {
    /// Checks a leg before anything runs; returns its score direction.
    fn check_leg(&self, leg: LegRef<'_>) -> Result<bool> {
        match leg {
            LegRef::Dense { using: "", vector } => {
                self.check_default_space()?;
                self.check_vector(0, vector)?;
                Ok(self.config.metric.is_similarity())
            }
            LegRef::Dense { using, vector } => {
                self.check_named_vector(0, using, vector)?;
                Ok(self.space(using)?.config.metric.is_similarity())
            }
            LegRef::Text(t) => {
                let st = self.state.read();
                let Some(text) = st.text.as_ref() else {
                    return Err(self.no_text_index(None));
                };
                if let Some(field) = &t.field
                    && !text.has_field(field)
                {
                    return Err(self.no_text_index(Some(field)));
                }
                Ok(true)
            }
            LegRef::Sparse { using, .. } => {
                self.sparse_config(using)?;
                Ok(true)
            }
            LegRef::BestScore {
                using,
                positive,
                negative,
            } => {
                self.check_best_score_leg(using, positive, negative)?;
                Ok(true)
            }
            LegRef::Nested(sub) => self.check_nested(sub, None, 0),
        }
    }

    /// Checks `request` before any work: its legs (nested requests included, at most
    /// [`MAX_NESTING`] deep), its fusion or re-scoring, its window. Returns each leg's score
    /// direction when it has several legs (none for one leg: a plain search allocates no
    /// list) and the direction of its result.
    fn check_request(
        &self,
        request: &SearchRequest,
        legs: &[LegSpec<'_>],
        nesting: usize,
    ) -> Result<(Vec<bool>, bool)> {
        if legs.is_empty() {
            // No vector and no text: the empty vector is the wrong dimension.
            self.check_default_space()?;
            self.check_vector(0, &request.vector)?;
        }
        let several = legs.len() > 1;
        let mut directions = Vec::new();
        let mut first_direction = None;
        for (leg, own_limit, _) in legs {
            let d = match leg {
                LegRef::Nested(sub) => self.check_nested(sub, *own_limit, nesting)?,
                leg => self.check_leg(*leg)?,
            };
            first_direction.get_or_insert(d);
            if several {
                directions.push(d);
            }
        }
        if let Some(o) = request.oversampling {
            nearstore_index::quant::check_oversampling(o)?;
        }
        let mode = self.config.storage_mode;
        // Only a leg on the (quantized) default vector rescores.
        let searches_default = || {
            legs.is_empty()
                || legs.iter().any(|(leg, _, _)| {
                    matches!(
                        leg,
                        LegRef::Dense { using: "", .. } | LegRef::BestScore { using: "", .. }
                    )
                })
        };
        if request.rerank == Some(false) && mode.always_rescores() && searches_default() {
            return Err(Error::InvalidArgument(format!(
                "rerank = false: a {} collection always rescores (its codes rank too coarsely \
                 to return their scores)",
                mode.name()
            )));
        }
        if request.rescore {
            // The result is the first leg's ranking of the other legs' candidates.
            let Some(&ranking) = directions.first().filter(|_| several) else {
                return Err(Error::InvalidArgument(
                    "a re-scoring request needs a leg that ranks and at least one leg that finds the candidates".into(),
                ));
            };
            if request.fusion != FusionStrategy::default() {
                return Err(Error::InvalidArgument(
                    "a re-scoring request ranks by its first leg: it takes no fusion".into(),
                ));
            }
            return Ok((directions, ranking));
        }
        if several {
            request.fusion.validate(legs.len())?;
        }
        Ok((directions, several || first_direction.unwrap_or(true)))
    }

    /// Checks a nested request (a leg whose list is that request's result); returns the
    /// direction of its result.
    fn check_nested(
        &self,
        sub: &SearchRequest,
        own_limit: Option<usize>,
        nesting: usize,
    ) -> Result<bool> {
        if nesting >= MAX_NESTING {
            return Err(Error::InvalidArgument(format!(
                "nested requests more than {MAX_NESTING} deep"
            )));
        }
        if own_limit.is_some() {
            return Err(Error::InvalidArgument(
                "a nested leg takes no leg limit: its depth is its request's limit".into(),
            ));
        }
        if sub.group_by.is_some() {
            return Err(Error::InvalidArgument(
                "a nested request cannot group its hits".into(),
            ));
        }
        if sub.deadline.is_some() {
            return Err(Error::InvalidArgument(
                "a nested request runs under its parent's deadline: it takes none of its own"
                    .into(),
            ));
        }
        let legs = sub.leg_refs();
        let (_, higher_is_better) = self.check_request(sub, &legs, nesting + 1)?;
        ResultWindow::of(sub, higher_is_better).checked_depth()?;
        Ok(higher_is_better)
    }

    /// The hits of `request` through its window (see the module docs).
    pub(crate) fn ranked(&self, request: &SearchRequest) -> Result<Ranked> {
        self.check_open()?;
        let legs = request.leg_refs();
        let (directions, higher_is_better) = self.check_request(request, &legs, 0)?;
        self.ranked_checked(
            request,
            &legs,
            (&directions, higher_is_better),
            None,
            request.deadline.as_ref(),
        )
    }

    /// The hits of a checked `request` through its window, among the `parent` ids when
    /// given (a nested request searches inside its parent's id set, under its deadline).
    fn ranked_checked(
        &self,
        request: &SearchRequest,
        legs: &[LegSpec<'_>],
        (directions, higher_is_better): (&[bool], bool),
        parent: Option<&RoaringTreemap>,
        deadline: Option<&Deadline>,
    ) -> Result<Ranked> {
        let window = ResultWindow::of(request, higher_is_better);
        let depth = window.checked_depth()?;
        if request.limit == 0 {
            return Ok(Ranked::default());
        }
        check_deadline(deadline, "search")?;
        let allowed: Option<Cow<'_, RoaringTreemap>> = match (&request.filter, parent) {
            (Some(f), parent) => {
                let mut set = self.resolve_filter(f, deadline)?;
                if let Some(p) = parent {
                    set &= p;
                }
                Some(Cow::Owned(set))
            }
            (None, Some(p)) => Some(Cow::Borrowed(p)),
            // Expired points are excluded like filtered-out ones (inside each leg's search,
            // so the k-guarantee holds); without any, every live point is searched.
            (None, None) => {
                let st = self.state.read();
                self.hidden(&st).map(|h| Cow::Owned(&st.live - &h))
            }
        };
        let allowed = allowed.as_deref();
        let Some(&(first, _, first_filter)) = legs.first() else {
            return Ok(Ranked::default());
        };
        if legs.len() == 1 {
            // One leg: run it directly, without the per-leg lists a fusion needs (this is
            // every plain search's path, so its allocations count).
            let own_set = match first_filter {
                Some(f) => Some(self.leg_set(f, allowed, deadline)?),
                None => None,
            };
            check_deadline(deadline, "search")?;
            let l = self.run_leg(
                first,
                depth,
                own_set.as_ref().or(allowed),
                request.quality,
                rescore_options(request),
                deadline,
            )?;
            return Ok(Ranked {
                hits: window.apply(unfused(l.hits)),
                text_stats: l.text_stats,
            });
        }
        // With re-scoring, the legs after the first find the candidates.
        let searching = if request.rescore { &legs[1..] } else { legs };
        let lists = self.run_legs(searching, depth, allowed, request, deadline)?;
        let text_stats = lists.iter().find_map(|l| l.text_stats);
        if request.rescore {
            let mut candidates: RoaringTreemap = lists
                .iter()
                .flat_map(|l| l.hits.iter().map(|h| h.id))
                .collect();
            if let Some(f) = first_filter {
                candidates &= self.leg_set(f, allowed, deadline)?;
            }
            check_deadline(deadline, "search")?;
            // Exact: the candidates are few, and a re-score must score each of them.
            let l = self.run_leg(
                first,
                depth,
                Some(&candidates),
                SearchQuality::Perfect,
                rescore_options(request),
                deadline,
            )?;
            return Ok(Ranked {
                hits: window.apply(unfused(l.hits)),
                text_stats: text_stats.or(l.text_stats),
            });
        }
        let lists: Vec<LegList> = lists
            .into_iter()
            .zip(directions)
            .map(|(l, &higher_is_better)| LegList {
                hits: l.hits.into_iter().map(|h| (h.id, h.score)).collect(),
                higher_is_better,
            })
            .collect();
        let hits = fuse(&request.fusion, &lists);
        Ok(Ranked {
            hits: window.apply(hits),
            text_stats,
        })
    }

    /// Several legs' hits, in parallel, each `leg_depth` deep among `allowed` ids narrowed
    /// by its own filter (the other legs do not see it).
    fn run_legs(
        &self,
        legs: &[LegSpec<'_>],
        depth: usize,
        allowed: Option<&RoaringTreemap>,
        request: &SearchRequest,
        deadline: Option<&Deadline>,
    ) -> Result<Vec<LegHits>> {
        let mut own_sets: Vec<Option<RoaringTreemap>> = Vec::with_capacity(legs.len());
        for (_, _, own) in legs {
            own_sets.push(match own {
                Some(f) => Some(self.leg_set(f, allowed, deadline)?),
                None => None,
            });
        }
        check_deadline(deadline, "search")?;
        let run = |((leg, own, _), set): (&LegSpec<'_>, &Option<RoaringTreemap>)| {
            self.run_leg(
                *leg,
                leg_depth(depth, *own),
                set.as_ref().or(allowed),
                request.quality,
                rescore_options(request),
                deadline,
            )
        };
        legs.par_iter()
            .zip(own_sets.par_iter())
            .map(run)
            .collect::<Result<_>>()
    }

    /// The ids a leg's own filter `f` matches among the request's `allowed` ids.
    fn leg_set(
        &self,
        f: &Filter,
        allowed: Option<&RoaringTreemap>,
        deadline: Option<&Deadline>,
    ) -> Result<RoaringTreemap> {
        let mut set = self.resolve_filter(f, deadline)?;
        if let Some(all) = allowed {
            set &= all;
        }
        Ok(set)
    }

    /// One leg's hits, `depth` deep, among `allowed` ids (every live id when `None`).
    fn run_leg(
        &self,
        leg: LegRef<'_>,
        depth: usize,
        allowed: Option<&RoaringTreemap>,
        quality: SearchQuality,
        rescore: SearchOptions,
        deadline: Option<&Deadline>,
    ) -> Result<LegHits> {
        match leg {
            LegRef::Nested(sub) => {
                // Checked with the request (`check_nested`); its list is its own window.
                let legs = sub.leg_refs();
                let (directions, higher_is_better) = self.check_request(sub, &legs, 0)?;
                let ranked = self.ranked_checked(
                    sub,
                    &legs,
                    (&directions, higher_is_better),
                    allowed,
                    deadline,
                )?;
                Ok(LegHits {
                    hits: ranked
                        .hits
                        .into_iter()
                        .map(|h| SearchHit {
                            id: h.id,
                            score: h.score,
                        })
                        .collect(),
                    text_stats: ranked.text_stats,
                })
            }
            LegRef::Dense { using, vector } => {
                let allow = allowed.map(BitmapAllowList::new);
                let (index, ef) = if using.is_empty() {
                    (
                        &self.index,
                        self.ef_search.load(std::sync::atomic::Ordering::Acquire),
                    )
                } else {
                    let space = self.space(using)?;
                    (&space.index, space.config.hnsw.ef_search)
                };
                let quality = match quality {
                    SearchQuality::Balanced => SearchQuality::Ef(ef),
                    q => q,
                };
                let stop = || deadline.is_some_and(Deadline::is_expired);
                let opts = QueryOptions {
                    quality,
                    allow: allow.as_ref().map(|a| a as &dyn AllowList),
                    rescore,
                    stop: Some(&stop),
                };
                // The backlog is read before the index: a point leaves it only once linked,
                // so each point is found in one or both (`backlog.rs`).
                let pending = if using.is_empty() {
                    self.pending_among(allowed)
                } else {
                    None
                };
                let mut hits = index.query(vector, depth, &opts)?.ok_or_else(|| {
                    Error::Cancelled("search cancelled: it ran past its deadline".into())
                })?;
                if let Some(pending) = pending {
                    hits = self.merge_pending(hits, vector, depth, &pending, deadline)?;
                }
                if using.is_empty() {
                    // A damaged vector the quantized index met was left out, not served:
                    // the search reports it.
                    self.read_damage.check()?;
                }
                Ok(LegHits {
                    hits,
                    text_stats: None,
                })
            }
            LegRef::Sparse { using, vector } => Ok(LegHits {
                hits: self.sparse_leg_hits(using, vector, depth, allowed, deadline)?,
                text_stats: None,
            }),
            LegRef::BestScore {
                using,
                positive,
                negative,
            } => Ok(LegHits {
                hits: self.best_score_leg_hits(
                    using,
                    (positive, negative),
                    depth,
                    allowed,
                    deadline,
                )?,
                text_stats: None,
            }),
            LegRef::Text(t) => {
                let (hits, stats) = self.text_leg_hits(t, depth, allowed, deadline)?;
                Ok(LegHits {
                    hits,
                    text_stats: Some(stats),
                })
            }
        }
    }

    /// The hits for `request` (ids and scores only), through its result window.
    pub(crate) fn search_hits(&self, request: &SearchRequest) -> Result<Vec<SearchHit>> {
        Ok(self
            .ranked(request)?
            .hits
            .into_iter()
            .map(|h| SearchHit {
                id: h.id,
                score: h.score,
            })
            .collect())
    }

    pub(crate) fn query(&self, request: &SearchRequest) -> Result<Vec<SearchResult>> {
        let ranked = self.ranked(request)?;
        self.results(ranked.hits, request)
    }

    /// The points of ranked hits, with what the request asked for.
    pub(crate) fn results(
        &self,
        hits: Vec<FusedHit>,
        request: &SearchRequest,
    ) -> Result<Vec<SearchResult>> {
        let mut out = Vec::with_capacity(hits.len());
        for h in hits {
            // A point deleted between the search and this read is left out.
            if let Some(point) = self.point(h.id, request.with_vector, request.with_payload)? {
                out.push(SearchResult {
                    point,
                    score: h.score,
                    legs: h.legs,
                });
            }
        }
        Ok(out)
    }
}

impl VectorCollection {
    /// Dense + BM25 hybrid search (the reference's `hybrid_search`): the `k` best points by
    /// relative-score fusion of the nearest neighbours of `vector` and the BM25 ranking of
    /// `text`, the dense side weighted `alpha` and the text side `1 - alpha` (default 0.5).
    /// A shorthand for a [`SearchRequest`] with both legs.
    pub fn hybrid_search(
        &self,
        vector: &[f32],
        text: &str,
        k: usize,
        alpha: Option<f32>,
    ) -> Result<Vec<SearchResult>> {
        let alpha = alpha.unwrap_or(0.5);
        if !(0.0..=1.0).contains(&alpha) {
            return Err(Error::InvalidArgument(format!(
                "hybrid_search alpha must be within 0..=1, got {alpha}"
            )));
        }
        self.query(SearchRequest::new(vector).text_query(text).limit(k).fusion(
            FusionStrategy::RelativeScore {
                weights: vec![alpha, 1.0 - alpha],
            },
        ))
    }

    /// Several dense queries fused into one ranking (the reference's `multi_query_search`),
    /// among the points matching `filter` when given (each query searches under it).
    pub fn multi_query_search(
        &self,
        queries: &[Vec<f32>],
        k: usize,
        strategy: FusionStrategy,
        filter: Option<&Filter>,
    ) -> Result<Vec<SearchResult>> {
        let mut request = SearchRequest::new(&[]).limit(k).fusion(strategy);
        for q in queries {
            request = request.leg(Leg::dense("", q));
        }
        if let Some(f) = filter {
            request = request.filter(f.clone());
        }
        self.query(request)
    }
}

/// The request's rescoring controls for a quantized index (ignored by a `full` one).
fn rescore_options(request: &SearchRequest) -> SearchOptions {
    SearchOptions {
        rerank: request.rerank,
        oversampling: request.oversampling,
    }
}
