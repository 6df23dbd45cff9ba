//! The legs of a search request: what each retriever looks for and how deep it searches.
//!
//! A [`crate::SearchRequest`]'s legs, in this order (the order fusion weights and
//! [`crate::LegScore::leg`] refer to): its `vector` (when non-empty, on the dense vector
//! named by `using`), its `text` (when set), then its extra `legs`. A request with one leg
//! returns that leg's own scores; with several, each leg searches under the request's
//! filter (the same resolved id set: never a post-filter of the fused list) to its own
//! depth, and the lists are fused ([`crate::FusionStrategy`]) before the one result window.
//!
//! A leg may carry its own filter (Qdrant's prefetch filters): it searches under the
//! request's filter AND its own, resolved to one id set before the leg runs, so it is still
//! filtered inside its own search and never short; the other legs do not see it.
//!
//! A leg's depth: its own `limit` when given, else
//! `min(MAX_SEARCH_RESULTS, LEG_DEPTH_FACTOR * max(limit + offset, MIN_WINDOW_FOR_LEGS))`.
//! With RRF and `k` = 60, a point past that depth in one leg could gain at most
//! `1 / (60 + depth)` there, which is why a few times the window is enough for a stable top k.

use serde::{Deserialize, Serialize};

use super::{MAX_SEARCH_RESULTS, SearchRequest, TextLeg};
use nearstore_filter::Filter;

/// How many times the window's depth each leg of a fused request searches by default.
pub const LEG_DEPTH_FACTOR: usize = 4;
/// The window depth below which the default leg depth stops shrinking.
pub const MIN_WINDOW_FOR_LEGS: usize = 20;

/// What one leg looks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LegQuery {
    /// Nearest neighbours of `vector` on the dense vector named `using` (`""`: the
    /// collection's default vector).
    Dense {
        /// The dense vector's name.
        using: String,
        /// The query vector.
        vector: Vec<f32>,
    },
    /// A full-text query ranked by BM25.
    Text(TextLeg),
    /// The largest dot products with `vector` on the sparse vector named `using` (`""`:
    /// the default name).
    Sparse {
        /// The sparse vector's name.
        using: String,
        /// The query sparse vector.
        vector: nearstore_text::SparseVector,
    },
    /// Recommendation by the best score (Qdrant's `best_score` strategy) on the dense
    /// vector named `using`: every candidate scored against every example (formula in
    /// the module docs of `request::best_score`); higher is better.
    BestScore {
        /// The dense vector's name (`""`: the default vector).
        using: String,
        /// Examples to be near.
        positive: Vec<Vec<f32>>,
        /// Examples to be far from.
        negative: Vec<Vec<f32>>,
    },
}

/// One leg of a request: a query and how many candidates it fetches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    /// What it looks for.
    pub query: LegQuery,
    /// How many candidates it fetches (default: see the module docs of `request::legs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Its own filter, AND-ed with the request's (`None`: the request's alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
}

impl Leg {
    /// A dense leg on the vector named `using` (`""`: the default vector).
    pub fn dense(using: &str, vector: &[f32]) -> Self {
        Leg {
            query: LegQuery::Dense {
                using: using.to_owned(),
                vector: vector.to_vec(),
            },
            limit: None,
            filter: None,
        }
    }

    /// A full-text leg (clauses naming no field search every text field).
    pub fn text(query: &str) -> Self {
        Leg {
            query: LegQuery::Text(TextLeg {
                query: query.to_owned(),
                field: None,
            }),
            limit: None,
            filter: None,
        }
    }

    /// Sets how many candidates this leg fetches.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Gives this leg its own filter, AND-ed with the request's.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// A best-score recommendation leg on the dense vector named `using`.
    pub fn best_score(using: &str, positive: Vec<Vec<f32>>, negative: Vec<Vec<f32>>) -> Self {
        Leg {
            query: LegQuery::BestScore {
                using: using.to_owned(),
                positive,
                negative,
            },
            limit: None,
            filter: None,
        }
    }

    /// A short name: `dense`, `dense:<name>`, `text`, `text:<field>`, `sparse`,
    /// `sparse:<name>`, `best_score`, `best_score:<name>`.
    pub fn name(&self) -> String {
        match &self.query {
            LegQuery::Dense { using, .. } if using.is_empty() => "dense".into(),
            LegQuery::Dense { using, .. } => format!("dense:{using}"),
            LegQuery::Text(TextLeg { field: None, .. }) => "text".into(),
            LegQuery::Text(TextLeg { field: Some(f), .. }) => format!("text:{f}"),
            LegQuery::Sparse { using, .. } if using.is_empty() => "sparse".into(),
            LegQuery::Sparse { using, .. } => format!("sparse:{using}"),
            LegQuery::BestScore { using, .. } if using.is_empty() => "best_score".into(),
            LegQuery::BestScore { using, .. } => format!("best_score:{using}"),
        }
    }
}

/// One leg as the collection runs it: the leg, its own limit and its own filter.
pub(crate) type LegSpec<'a> = (LegRef<'a>, Option<usize>, Option<&'a Filter>);

/// A borrowed view of one leg, as the collection runs it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LegRef<'a> {
    Dense {
        using: &'a str,
        vector: &'a [f32],
    },
    Text(&'a TextLeg),
    Sparse {
        using: &'a str,
        vector: &'a nearstore_text::SparseVector,
    },
    BestScore {
        using: &'a str,
        positive: &'a [Vec<f32>],
        negative: &'a [Vec<f32>],
    },
}

impl SearchRequest {
    /// The request's legs in order (see the module docs of `request::legs`) with their own
    /// limits and filters.
    pub(crate) fn leg_refs(&self) -> Vec<LegSpec<'_>> {
        let mut out = Vec::with_capacity(2 + self.legs.len());
        if !self.vector.is_empty() {
            out.push((
                LegRef::Dense {
                    using: &self.using,
                    vector: &self.vector,
                },
                None,
                None,
            ));
        }
        if let Some(t) = &self.text {
            out.push((LegRef::Text(t), None, None));
        }
        for leg in &self.legs {
            let r = match &leg.query {
                LegQuery::Dense { using, vector } => LegRef::Dense { using, vector },
                LegQuery::Text(t) => LegRef::Text(t),
                LegQuery::Sparse { using, vector } => LegRef::Sparse { using, vector },
                LegQuery::BestScore {
                    using,
                    positive,
                    negative,
                } => LegRef::BestScore {
                    using,
                    positive,
                    negative,
                },
            };
            out.push((r, leg.limit, leg.filter.as_ref()));
        }
        out
    }

    /// The names of the request's legs in order (what [`crate::LegScore::leg`] indexes).
    pub fn leg_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.vector.is_empty() {
            out.push(Leg::dense(&self.using, &[]).name());
        }
        if let Some(t) = &self.text {
            out.push(
                Leg {
                    query: LegQuery::Text(t.clone()),
                    limit: None,
                    filter: None,
                }
                .name(),
            );
        }
        out.extend(self.legs.iter().map(Leg::name));
        out
    }

    /// Adds a leg (after the `vector` and `text` legs and the legs added before).
    pub fn leg(mut self, leg: Leg) -> Self {
        self.legs.push(leg);
        self
    }

    /// Aims the request's `vector` at the dense vector named `name` (`""`: the default).
    pub fn using(mut self, name: &str) -> Self {
        self.using = name.to_owned();
        self
    }

    /// Sets how the legs' lists are fused (default RRF with `k` = 60).
    pub fn fusion(mut self, strategy: crate::FusionStrategy) -> Self {
        self.fusion = strategy;
        self
    }
}

/// How deep a leg of a fused request searches when the window needs `window_depth` hits.
pub(crate) fn leg_depth(window_depth: usize, own: Option<usize>) -> usize {
    own.unwrap_or_else(|| {
        window_depth
            .max(MIN_WINDOW_FOR_LEGS)
            .saturating_mul(LEG_DEPTH_FACTOR)
    })
    .min(MAX_SEARCH_RESULTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_come_in_request_order_with_names() {
        let r = SearchRequest::new(&[1.0, 2.0])
            .text_query("cat")
            .leg(Leg::dense("image", &[0.5]).limit(7))
            .leg(Leg::text("dog"));
        assert_eq!(r.leg_names(), ["dense", "text", "dense:image", "text"]);
        let refs = r.leg_refs();
        assert_eq!(refs.len(), 4);
        assert_eq!(refs[2].1, Some(7));
        assert!(matches!(refs[2].0, LegRef::Dense { using: "image", .. }));
        assert!(SearchRequest::text("x").leg_refs().len() == 1);
    }

    #[test]
    fn default_leg_depth_is_a_multiple_of_the_window() {
        assert_eq!(leg_depth(10, None), 80);
        assert_eq!(leg_depth(100, None), 400);
        assert_eq!(leg_depth(100, Some(5)), 5);
        assert_eq!(leg_depth(MAX_SEARCH_RESULTS, None), MAX_SEARCH_RESULTS);
    }
}
