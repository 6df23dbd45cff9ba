//! [`DistanceMetric`]: the six metrics, their names, their score direction and the one
//! ordering helper every caller uses to sort scores best first.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::dispatch::kernels;

/// How two vectors are compared.
///
/// # Score direction (the one place it is documented)
///
/// | metric | score | better |
/// | --- | --- | --- |
/// | [`Cosine`](Self::Cosine) | cosine similarity in `[-1, 1]`; `0.0` if either vector has zero norm | **higher** |
/// | [`DotProduct`](Self::DotProduct) | inner product `Σ aᵢbᵢ` | **higher** |
/// | [`Jaccard`](Self::Jaccard) | Jaccard similarity of the set components, in `[0, 1]` | **higher** |
/// | [`Euclidean`](Self::Euclidean) | L2 distance `sqrt(Σ (aᵢ-bᵢ)²)` (ranking may use the square) | **lower** |
/// | [`Hamming`](Self::Hamming) | number of positions whose set-ness differs | **lower** |
/// | [`Manhattan`](Self::Manhattan) | L1 distance `Σ |aᵢ-bᵢ|` | **lower** |
///
/// Cosine, dot and Jaccard are *similarities*; Euclidean, Hamming and Manhattan are
/// *distances*
/// ([`is_similarity`](Self::is_similarity)). Results are always sorted best first with
/// [`cmp_best_first`](Self::cmp_best_first); never sort scores by hand.
///
/// Over `f32` vectors a component is **set** when it is `> 0.5` (so NaN is never set);
/// Hamming counts positions where exactly one of the two components is set and Jaccard is
/// `|A ∩ B| / |A ∪ B|` over the set positions, with `1.0` when both sets are empty (two
/// empty sets are identical). Both are integer counts, so they are bit-identical whichever
/// kernel ran. Over packed bits (`&[u64]`) the same definitions apply to the bits.
///
/// Names: `cosine`, `euclidean` (aliases `l2`), `dot` (aliases `dotproduct`,
/// `dot_product`, `inner`, `inner_product`, `ip`), `hamming`, `jaccard`, `manhattan`
/// (alias `l1`), ASCII
/// case-insensitively. [`FromStr`] is the one parse of a metric name: serde deserializes
/// through it, and the query language and the server call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum DistanceMetric {
    /// Cosine similarity (higher is better).
    Cosine,
    /// Euclidean (L2) distance (lower is better).
    Euclidean,
    /// Inner product (higher is better).
    #[serde(rename = "dot")]
    DotProduct,
    /// Hamming distance over set components or bits (lower is better).
    Hamming,
    /// Jaccard similarity over set components or bits (higher is better).
    Jaccard,
    /// Manhattan (L1) distance (lower is better).
    Manhattan,
}

impl DistanceMetric {
    /// Every metric, in declaration order.
    pub const ALL: [DistanceMetric; 6] = [
        DistanceMetric::Cosine,
        DistanceMetric::Euclidean,
        DistanceMetric::DotProduct,
        DistanceMetric::Hamming,
        DistanceMetric::Jaccard,
        DistanceMetric::Manhattan,
    ];

    /// The canonical name (the serde name).
    pub const fn name(self) -> &'static str {
        match self {
            DistanceMetric::Cosine => "cosine",
            DistanceMetric::Euclidean => "euclidean",
            DistanceMetric::DotProduct => "dot",
            DistanceMetric::Hamming => "hamming",
            DistanceMetric::Jaccard => "jaccard",
            DistanceMetric::Manhattan => "manhattan",
        }
    }

    /// `true` for similarities (higher is better: cosine, dot, jaccard), `false` for
    /// distances (lower is better: euclidean, hamming, manhattan).
    pub const fn is_similarity(self) -> bool {
        matches!(
            self,
            DistanceMetric::Cosine | DistanceMetric::DotProduct | DistanceMetric::Jaccard
        )
    }

    /// Orders two scores of this metric best first: `Less` means `a` ranks before `b`.
    ///
    /// NaN ranks after every number (it is never produced by the kernels for finite
    /// inputs, but a caller's arithmetic might). Use as
    /// `hits.sort_by(|x, y| metric.cmp_best_first(x.score, y.score))`.
    pub fn cmp_best_first(self, a: f32, b: f32) -> Ordering {
        match (a.is_nan(), b.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                // -0.0 and 0.0 are the same score.
                let ord = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
                if self.is_similarity() {
                    ord.reverse()
                } else {
                    ord
                }
            }
        }
    }

    /// `true` when score `a` is strictly better than score `b`.
    pub fn better(self, a: f32, b: f32) -> bool {
        self.cmp_best_first(a, b) == Ordering::Less
    }

    /// The worst possible score (a neutral start for a running best, a heap's sentinel):
    /// `-inf` for similarities, `+inf` for distances.
    pub const fn worst_score(self) -> f32 {
        if self.is_similarity() {
            f32::NEG_INFINITY
        } else {
            f32::INFINITY
        }
    }

    /// Sorts `scores` best first in place (convenience over [`cmp_best_first`](Self::cmp_best_first)).
    pub fn sort_best_first(self, scores: &mut [f32]) {
        scores.sort_by(|a, b| self.cmp_best_first(*a, *b));
    }

    /// Converts a *ranking key* (what [`crate::Scorer::rank_key`] returns) to the
    /// user-facing score: `sqrt` for Euclidean (keys are squared L2), identity otherwise.
    /// Monotone, so ranking on keys and on scores gives the same order.
    pub fn score_from_key(self, key: f32) -> f32 {
        match self {
            DistanceMetric::Euclidean => key.sqrt(),
            _ => key,
        }
    }
}

impl fmt::Display for DistanceMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<String> for DistanceMetric {
    type Error = Error;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl FromStr for DistanceMetric {
    type Err = Error;

    /// Parses the serde names and aliases, ASCII case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "cosine" => Ok(DistanceMetric::Cosine),
            "euclidean" | "l2" => Ok(DistanceMetric::Euclidean),
            "dot" | "dotproduct" | "dot_product" | "inner" | "inner_product" | "ip" => {
                Ok(DistanceMetric::DotProduct)
            }
            "hamming" => Ok(DistanceMetric::Hamming),
            "jaccard" => Ok(DistanceMetric::Jaccard),
            "manhattan" | "l1" => Ok(DistanceMetric::Manhattan),
            _ => Err(Error::UnknownMetric { name: s.to_owned() }),
        }
    }
}

/// The user-facing score of `metric` between two `f32` vectors (see [`DistanceMetric`]
/// for each metric's meaning and direction); Euclidean returns the true L2 distance.
///
/// Uses the dispatched kernels. For many candidates against one query prefer
/// [`crate::prepare`], which hoists the query's norm out of the loop.
///
/// # Panics
/// If `a.len() != b.len()`; see [`try_distance`] for the checked form.
pub fn distance(metric: DistanceMetric, a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "vector dimensions differ");
    let k = kernels();
    match metric {
        DistanceMetric::Cosine => crate::cosine_from_parts(k.cos_f32(a, b)),
        DistanceMetric::Euclidean => k.l2sq_f32(a, b).sqrt(),
        DistanceMetric::DotProduct => k.dot_f32(a, b),
        DistanceMetric::Hamming => k.hamming_f32(a, b) as f32,
        DistanceMetric::Jaccard => crate::jaccard_from_counts(k.jaccard_f32(a, b)),
        DistanceMetric::Manhattan => k.l1_f32(a, b),
    }
}

/// [`distance`] that reports a dimension mismatch instead of panicking.
pub fn try_distance(metric: DistanceMetric, a: &[f32], b: &[f32]) -> Result<f32, Error> {
    if a.len() != b.len() {
        return Err(Error::DimensionMismatch {
            expected: a.len(),
            actual: b.len(),
        });
    }
    Ok(distance(metric, a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_and_aliases_round_trip() {
        for m in DistanceMetric::ALL {
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.name()));
            let back: DistanceMetric = serde_json::from_str(&json).unwrap();
            assert_eq!(back, m);
            assert_eq!(m.name().parse::<DistanceMetric>().unwrap(), m);
        }
        let l2: DistanceMetric = serde_json::from_str("\"l2\"").unwrap();
        assert_eq!(l2, DistanceMetric::Euclidean);
        assert_eq!(
            "L2".parse::<DistanceMetric>().unwrap(),
            DistanceMetric::Euclidean
        );
        assert_eq!(
            "L1".parse::<DistanceMetric>().unwrap(),
            DistanceMetric::Manhattan
        );
        assert!("taxicab".parse::<DistanceMetric>().is_err());
    }

    #[test]
    fn every_reference_alias_parses_case_insensitively() {
        let cases = [
            ("dot", DistanceMetric::DotProduct),
            ("dotproduct", DistanceMetric::DotProduct),
            ("inner", DistanceMetric::DotProduct),
            ("ip", DistanceMetric::DotProduct),
            ("l2", DistanceMetric::Euclidean),
            ("euclidean", DistanceMetric::Euclidean),
            ("cosine", DistanceMetric::Cosine),
            ("hamming", DistanceMetric::Hamming),
            ("jaccard", DistanceMetric::Jaccard),
            ("manhattan", DistanceMetric::Manhattan),
            ("l1", DistanceMetric::Manhattan),
            ("Manhattan", DistanceMetric::Manhattan),
        ];
        for (name, metric) in cases {
            for spelled in [name.to_string(), name.to_ascii_uppercase()] {
                assert_eq!(
                    spelled.parse::<DistanceMetric>().unwrap(),
                    metric,
                    "{spelled}"
                );
                let json = format!("\"{spelled}\"");
                let back: DistanceMetric = serde_json::from_str(&json).unwrap();
                assert_eq!(back, metric, "serde {spelled}");
            }
        }
    }

    #[test]
    fn similarities_sort_descending_and_distances_ascending() {
        let mut s = [0.2, f32::NAN, 0.9, -1.0];
        DistanceMetric::Cosine.sort_best_first(&mut s);
        assert_eq!(&s[..3], &[0.9, 0.2, -1.0]);
        assert!(s[3].is_nan());
        let mut d = [3.0, f32::NAN, 0.5, 7.0];
        DistanceMetric::Euclidean.sort_best_first(&mut d);
        assert_eq!(&d[..3], &[0.5, 3.0, 7.0]);
        assert!(DistanceMetric::Hamming.better(1.0, 2.0));
        assert!(DistanceMetric::Manhattan.better(1.0, 2.0));
        assert!(!DistanceMetric::Manhattan.is_similarity());
        assert!(DistanceMetric::Jaccard.better(0.7, 0.2));
        assert!(!DistanceMetric::DotProduct.better(0.2, 0.2));
    }

    #[test]
    fn worst_score_loses_to_every_number() {
        for m in DistanceMetric::ALL {
            assert!(m.better(0.0, m.worst_score()));
        }
    }

    #[test]
    fn euclidean_distance_is_the_true_l2() {
        assert_eq!(
            distance(DistanceMetric::Euclidean, &[0.0, 0.0], &[3.0, 4.0]),
            5.0
        );
        assert!(try_distance(DistanceMetric::Euclidean, &[0.0], &[3.0, 4.0]).is_err());
    }

    #[test]
    fn manhattan_distance_is_the_sum_of_absolute_differences() {
        assert_eq!(
            distance(
                DistanceMetric::Manhattan,
                &[0.0, 1.0, -2.0],
                &[3.0, -4.0, -2.0]
            ),
            8.0
        );
        assert_eq!(DistanceMetric::Manhattan.score_from_key(8.0), 8.0);
    }

    #[test]
    fn zero_norm_cosine_is_zero_not_nan() {
        assert_eq!(distance(DistanceMetric::Cosine, &[0.0; 5], &[1.0; 5]), 0.0);
        assert_eq!(distance(DistanceMetric::Cosine, &[], &[]), 0.0);
    }

    #[test]
    fn set_metrics_threshold_at_one_half() {
        let a = [0.6, 0.5, 1.0, 0.0];
        let b = [0.7, 0.9, 0.0, 0.0];
        // set(a) = {0, 2}, set(b) = {0, 1}
        assert_eq!(distance(DistanceMetric::Hamming, &a, &b), 2.0);
        assert_eq!(distance(DistanceMetric::Jaccard, &a, &b), 1.0 / 3.0);
        assert_eq!(distance(DistanceMetric::Jaccard, &[0.0; 3], &[0.0; 3]), 1.0);
    }
}
