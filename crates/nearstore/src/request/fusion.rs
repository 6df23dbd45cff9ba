//! Fusion: turning the ranked lists of a request's legs into one ranking.
//!
//! Each leg hands in its hits best first, with its score direction. Before any score is
//! used, a lower-is-better score (a distance) is negated, so every formula below works on
//! an *oriented* score `o` where higher is better. Ranks count from 1 in each list. A point
//! missing from a list contributes nothing for that list. The fused score is always
//! higher-is-better; ties go to the smaller id. Arithmetic is in `f64`, the fused score is
//! stored as `f32`.
//!
//! | strategy | fused score of point `p` |
//! |---|---|
//! | `Rrf { k }` | `sum over lists l holding p of 1 / (k + rank_l(p))` |
//! | `RelativeScore { weights }` | `sum_l w_l * (o_l(p) - min_l) / (max_l - min_l)` (a list whose scores are all equal normalizes to 1) |
//! | `Dbsf` | `sum_l (o_l(p) - (mean_l - 3 sd_l)) / (6 sd_l)` (population standard deviation; `sd_l = 0` normalizes to 0.5) |
//! | `Weighted { weights }` | `sum_l w_l * o_l(p)` (raw scores, no normalization) |
//! | `Average` | mean of `o_l(p)` over the lists holding `p` |
//! | `Maximum` | max of `o_l(p)` over the lists holding `p` |
//!
//! Weights: one per leg in the request's leg order, finite; an empty list means 1.0 each.
//! This module knows nothing of indexes or payloads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Reciprocal rank fusion's default `k`.
pub const DEFAULT_RRF_K: u32 = 60;

/// How the ranked lists of several legs become one ranking (formulas in the module docs of
/// `request::fusion`, repeated on each variant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FusionStrategy {
    /// Reciprocal rank fusion: `sum 1 / (k + rank)`, rank from 1 (default `k` = 60).
    Rrf {
        /// The rank offset.
        k: u32,
    },
    /// Min-max normalize each list to `[0, 1]`, then the weighted sum.
    RelativeScore {
        /// One weight per leg (empty: 1.0 each).
        weights: Vec<f32>,
    },
    /// Distribution-based score fusion: normalize each list over `mean +- 3 sd`, then sum.
    Dbsf,
    /// The weighted sum of the legs' raw (oriented) scores.
    Weighted {
        /// One weight per leg (empty: 1.0 each).
        weights: Vec<f32>,
    },
    /// The mean of the (oriented) scores over the legs that found the point.
    Average,
    /// The best (oriented) score over the legs that found the point.
    Maximum,
}

impl Default for FusionStrategy {
    fn default() -> Self {
        FusionStrategy::Rrf { k: DEFAULT_RRF_K }
    }
}

impl FusionStrategy {
    /// Reciprocal rank fusion with the default `k`.
    pub fn rrf() -> Self {
        FusionStrategy::default()
    }

    /// The strategy's name as the query language and the server spell it.
    pub fn name(&self) -> &'static str {
        match self {
            FusionStrategy::Rrf { .. } => "rrf",
            FusionStrategy::RelativeScore { .. } => "relative_score",
            FusionStrategy::Dbsf => "dbsf",
            FusionStrategy::Weighted { .. } => "weighted",
            FusionStrategy::Average => "average",
            FusionStrategy::Maximum => "maximum",
        }
    }

    /// Checks the strategy against a request with `legs` legs.
    pub(crate) fn validate(&self, legs: usize) -> Result<()> {
        if let FusionStrategy::RelativeScore { weights } | FusionStrategy::Weighted { weights } =
            self
        {
            if !weights.is_empty() && weights.len() != legs {
                return Err(Error::InvalidArgument(format!(
                    "{} fusion has {} weights for {legs} legs (give one per leg, or none)",
                    self.name(),
                    weights.len()
                )));
            }
            if let Some(w) = weights.iter().find(|w| !w.is_finite()) {
                return Err(Error::InvalidArgument(format!(
                    "{} fusion weight {w} is not finite",
                    self.name()
                )));
            }
        }
        Ok(())
    }

    fn weight(&self, leg: usize) -> f64 {
        match self {
            FusionStrategy::RelativeScore { weights } | FusionStrategy::Weighted { weights } => {
                weights.get(leg).map_or(1.0, |&w| f64::from(w))
            }
            _ => 1.0,
        }
    }
}

/// One leg's ranked hits, best first, as fusion receives them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegList {
    /// `(id, score)` best first, each id at most once.
    pub hits: Vec<(u64, f32)>,
    /// The score direction of this leg.
    pub higher_is_better: bool,
}

/// What one leg said about a result: its score there and its rank (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LegScore {
    /// The leg's position in the request's leg order (see
    /// [`crate::SearchRequest::leg_names`]).
    pub leg: usize,
    /// The leg's own score (in its own direction: a distance stays a distance).
    pub score: f32,
    /// The point's rank in that leg, from 1.
    pub rank: usize,
}

/// A fused hit: the fused score and what each leg that found it said.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FusedHit {
    pub id: u64,
    pub score: f32,
    pub legs: Vec<LegScore>,
}

/// Min-max or mean +- 3 sd bounds of one list's oriented scores.
fn normalizer(strategy: &FusionStrategy, oriented: &[f64]) -> impl Fn(f64) -> f64 + use<> {
    let n = oriented.len().max(1) as f64;
    let (lo, span, flat) = match strategy {
        FusionStrategy::RelativeScore { .. } => {
            let min = oriented.iter().copied().fold(f64::INFINITY, f64::min);
            let max = oriented.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (min, max - min, 1.0)
        }
        FusionStrategy::Dbsf => {
            let mean = oriented.iter().sum::<f64>() / n;
            let var = oriented
                .iter()
                .map(|o| (o - mean) * (o - mean))
                .sum::<f64>()
                / n;
            let sd = var.sqrt();
            (mean - 3.0 * sd, 6.0 * sd, 0.5)
        }
        _ => (0.0, 1.0, 0.0),
    };
    let identity = !matches!(
        strategy,
        FusionStrategy::RelativeScore { .. } | FusionStrategy::Dbsf
    );
    move |o: f64| {
        if identity {
            o
        } else if span > 0.0 {
            (o - lo) / span
        } else {
            flat
        }
    }
}

/// Fuses `lists` (in leg order) by `strategy`: every id found by any leg, best first, ties
/// to the smaller id.
pub(crate) fn fuse(strategy: &FusionStrategy, lists: &[LegList]) -> Vec<FusedHit> {
    // id -> (sum, max, count, legs)
    let mut acc: BTreeMap<u64, (f64, f64, usize, Vec<LegScore>)> = BTreeMap::new();
    for (leg, list) in lists.iter().enumerate() {
        let oriented: Vec<f64> = list
            .hits
            .iter()
            .map(|&(_, s)| {
                let s = f64::from(s);
                if list.higher_is_better { s } else { -s }
            })
            .collect();
        let normalize = normalizer(strategy, &oriented);
        let weight = strategy.weight(leg);
        for (i, (&(id, score), &o)) in list.hits.iter().zip(&oriented).enumerate() {
            let rank = i + 1;
            let part = match strategy {
                FusionStrategy::Rrf { k } => 1.0 / (f64::from(*k) + rank as f64),
                _ => weight * normalize(o),
            };
            let e = acc
                .entry(id)
                .or_insert((0.0, f64::NEG_INFINITY, 0, Vec::new()));
            e.0 += part;
            e.1 = e.1.max(o);
            e.2 += 1;
            e.3.push(LegScore { leg, score, rank });
        }
    }
    let mut out: Vec<FusedHit> = acc
        .into_iter()
        .map(|(id, (sum, max, count, legs))| {
            let score = match strategy {
                FusionStrategy::Average => sum / count as f64,
                FusionStrategy::Maximum => max,
                _ => sum,
            };
            FusedHit {
                id,
                score: score as f32,
                legs,
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// A list of distinct ids with scores, sorted best first in its direction.
    fn list() -> impl Strategy<Value = LegList> {
        (
            proptest::collection::hash_map(0u64..40, -100.0f32..100.0, 0..25),
            any::<bool>(),
        )
            .prop_map(|(m, higher_is_better)| {
                let mut hits: Vec<(u64, f32)> = m.into_iter().collect();
                hits.sort_by(|a, b| {
                    let o = if higher_is_better {
                        b.1.total_cmp(&a.1)
                    } else {
                        a.1.total_cmp(&b.1)
                    };
                    o.then(a.0.cmp(&b.0))
                });
                LegList {
                    hits,
                    higher_is_better,
                }
            })
    }

    fn lists() -> impl Strategy<Value = Vec<LegList>> {
        proptest::collection::vec(list(), 1..4)
    }

    fn oriented(l: &LegList, s: f32) -> f64 {
        if l.higher_is_better {
            f64::from(s)
        } else {
            -f64::from(s)
        }
    }

    /// The formula written out directly, one point at a time.
    fn oracle(strategy: &FusionStrategy, lists: &[LegList]) -> HashMap<u64, f64> {
        let ids: Vec<u64> = lists
            .iter()
            .flat_map(|l| l.hits.iter().map(|h| h.0))
            .collect();
        let mut out = HashMap::new();
        for &id in &ids {
            let mut parts = Vec::new();
            for (leg, l) in lists.iter().enumerate() {
                let Some(pos) = l.hits.iter().position(|h| h.0 == id) else {
                    continue;
                };
                let o = oriented(l, l.hits[pos].1);
                let all: Vec<f64> = l.hits.iter().map(|h| oriented(l, h.1)).collect();
                let w = |ws: &Vec<f32>| ws.get(leg).map_or(1.0, |&w| f64::from(w));
                let v = match strategy {
                    FusionStrategy::Rrf { k } => 1.0 / (f64::from(*k) + (pos + 1) as f64),
                    FusionStrategy::RelativeScore { weights } => {
                        let min = all.iter().copied().fold(f64::MAX, f64::min);
                        let max = all.iter().copied().fold(f64::MIN, f64::max);
                        let norm = if max > min {
                            (o - min) / (max - min)
                        } else {
                            1.0
                        };
                        w(weights) * norm
                    }
                    FusionStrategy::Dbsf => {
                        let n = all.len() as f64;
                        let mean = all.iter().sum::<f64>() / n;
                        let sd = (all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
                        if sd > 0.0 {
                            (o - (mean - 3.0 * sd)) / (6.0 * sd)
                        } else {
                            0.5
                        }
                    }
                    FusionStrategy::Weighted { weights } => w(weights) * o,
                    FusionStrategy::Average | FusionStrategy::Maximum => o,
                };
                parts.push(v);
            }
            let score = match strategy {
                FusionStrategy::Average => parts.iter().sum::<f64>() / parts.len() as f64,
                FusionStrategy::Maximum => parts.iter().copied().fold(f64::MIN, f64::max),
                _ => parts.iter().sum(),
            };
            out.insert(id, score);
        }
        out
    }

    fn check(
        strategy: &FusionStrategy,
        lists: &[LegList],
    ) -> std::result::Result<(), TestCaseError> {
        let fused = fuse(strategy, lists);
        let expected = oracle(strategy, lists);
        prop_assert_eq!(fused.len(), expected.len());
        for pair in fused.windows(2) {
            prop_assert!(
                pair[0].score > pair[1].score
                    || (pair[0].score == pair[1].score && pair[0].id < pair[1].id),
                "best first, ties to the smaller id"
            );
        }
        for hit in &fused {
            let want = expected[&hit.id];
            let tol = 1e-5 * want.abs().max(1.0);
            prop_assert!(
                (f64::from(hit.score) - want).abs() <= tol,
                "{}: id {} fused {} formula {}",
                strategy.name(),
                hit.id,
                hit.score,
                want
            );
            for ls in &hit.legs {
                let l = &lists[ls.leg];
                prop_assert_eq!(l.hits[ls.rank - 1], (hit.id, ls.score));
            }
        }
        Ok(())
    }

    fn weights(n: usize) -> impl Strategy<Value = Vec<f32>> {
        prop_oneof![
            Just(Vec::new()),
            proptest::collection::vec(0.0f32..2.0, n..=n)
        ]
    }

    proptest! {
        #[test]
        fn rrf_equals_its_formula(lists in lists(), k in 0u32..100) {
            check(&FusionStrategy::Rrf { k }, &lists)?;
        }

        #[test]
        fn relative_score_equals_its_formula(
            (lists, weights) in lists().prop_flat_map(|l| { let n = l.len(); (Just(l), weights(n)) })
        ) {
            check(&FusionStrategy::RelativeScore { weights }, &lists)?;
        }

        #[test]
        fn dbsf_equals_its_formula(lists in lists()) {
            check(&FusionStrategy::Dbsf, &lists)?;
        }

        #[test]
        fn weighted_equals_its_formula(
            (lists, weights) in lists().prop_flat_map(|l| { let n = l.len(); (Just(l), weights(n)) })
        ) {
            check(&FusionStrategy::Weighted { weights }, &lists)?;
        }

        #[test]
        fn average_equals_its_formula(lists in lists()) {
            check(&FusionStrategy::Average, &lists)?;
        }

        #[test]
        fn maximum_equals_its_formula(lists in lists()) {
            check(&FusionStrategy::Maximum, &lists)?;
        }
    }

    #[test]
    fn rrf_ranks_from_one_with_k_60() {
        let a = LegList {
            hits: vec![(7, 0.9), (8, 0.5)],
            higher_is_better: true,
        };
        let b = LegList {
            hits: vec![(8, 0.1)],
            higher_is_better: false,
        };
        let fused = fuse(&FusionStrategy::default(), &[a, b]);
        assert_eq!(fused[0].id, 8);
        assert!((fused[0].score - (1.0 / 62.0 + 1.0 / 61.0) as f32).abs() < 1e-7);
        assert!((fused[1].score - 1.0 / 61.0_f32).abs() < 1e-7);
    }

    #[test]
    fn weights_must_match_the_legs_and_be_finite() {
        let s = FusionStrategy::RelativeScore { weights: vec![0.5] };
        assert!(s.validate(2).is_err());
        assert!(s.validate(1).is_ok());
        let s = FusionStrategy::Weighted {
            weights: vec![f32::NAN, 1.0],
        };
        assert!(s.validate(2).is_err());
        assert!(FusionStrategy::Dbsf.validate(5).is_ok());
    }
}
