//! Prepared queries: [`prepare`] resolves the kernel table once and precomputes what depends
//! only on the query (its norm for cosine), so [`Scorer::score`] in the hot loop is one
//! indirect call to the kernel plus a little arithmetic: no feature detection, no
//! normalisation.

use half::f16;

use crate::dispatch::{Kernels, kernels};
use crate::{DistanceMetric, DotNorm, Error, cosine_from_lengths, jaccard_from_counts};

/// A query prepared for scoring many `f32` candidates with one metric.
#[derive(Debug, Clone)]
pub struct Scorer<'q> {
    metric: DistanceMetric,
    query: &'q [f32],
    kernels: &'static Kernels,
    /// `|q|` (summed in `f64`) for cosine; 0.0 for a zero query, whose every score is 0.0.
    query_norm: f32,
}

/// Prepares `query` for scoring `f32` candidates with `metric` (kernels resolved via
/// [`crate::kernels`]).
pub fn prepare(metric: DistanceMetric, query: &[f32]) -> Scorer<'_> {
    let query_norm = match metric {
        DistanceMetric::Cosine => query_length(query.iter().map(|x| f64::from(*x))),
        _ => 0.0,
    };
    Scorer {
        metric,
        query,
        kernels: kernels(),
        query_norm,
    }
}

fn query_length(xs: impl Iterator<Item = f64>) -> f32 {
    xs.map(|x| x * x).sum::<f64>().sqrt() as f32
}

/// Cosine from a prepared query norm and a candidate's sums; never NaN for finite input.
#[inline]
fn cosine_prepared(query_norm: f32, dn: DotNorm) -> f32 {
    if query_norm == 0.0 || dn.norm_sq <= 0.0 {
        return 0.0;
    }
    cosine_from_lengths(dn.dot, query_norm, dn.norm_sq.sqrt())
}

impl Scorer<'_> {
    /// The metric this scorer ranks by.
    pub fn metric(&self) -> DistanceMetric {
        self.metric
    }

    /// The query's dimension; every candidate must have it.
    pub fn dim(&self) -> usize {
        self.query.len()
    }

    /// The ranking key of `candidate`: the score itself, except squared L2 for Euclidean
    /// (monotone in the score, cheaper). Same direction as the metric's scores; convert
    /// with [`DistanceMetric::score_from_key`].
    ///
    /// # Panics
    /// If `candidate.len() != self.dim()`.
    #[inline]
    pub fn rank_key(&self, candidate: &[f32]) -> f32 {
        assert_eq!(
            candidate.len(),
            self.query.len(),
            "vector dimensions differ"
        );
        let (q, k) = (self.query, self.kernels);
        match self.metric {
            DistanceMetric::DotProduct => k.dot_f32(q, candidate),
            DistanceMetric::Euclidean => k.l2sq_f32(q, candidate),
            DistanceMetric::Cosine => {
                cosine_prepared(self.query_norm, k.dot_norm_f32(q, candidate))
            }
            DistanceMetric::Hamming => k.hamming_f32(q, candidate) as f32,
            DistanceMetric::Jaccard => jaccard_from_counts(k.jaccard_f32(q, candidate)),
            DistanceMetric::Manhattan => k.l1_f32(q, candidate),
        }
    }

    /// The user-facing score of `candidate` (see [`DistanceMetric`]): true L2 distance for
    /// Euclidean.
    ///
    /// # Panics
    /// If `candidate.len() != self.dim()`.
    #[inline]
    pub fn score(&self, candidate: &[f32]) -> f32 {
        self.metric.score_from_key(self.rank_key(candidate))
    }
}

/// The metrics an [`F16Scorer`] can rank by.
#[derive(Debug, Clone, Copy)]
enum F16Metric {
    Dot,
    L2,
    /// `query_norm` as in [`Scorer`].
    Cosine {
        query_norm: f32,
    },
}

/// A query prepared for scoring candidates stored as `f16` (cosine, Euclidean, dot).
///
/// The query is rounded to `f16` once, at preparation, so both sides of every kernel are
/// `f16` widened exactly to `f32`; the extra error is the query's own rounding (relative
/// 2⁻¹¹ per component), the same as the candidates' storage rounding.
#[derive(Debug, Clone)]
pub struct F16Scorer {
    metric: DistanceMetric,
    query: Vec<f16>,
    kernels: &'static Kernels,
    prepared: F16Metric,
}

/// Prepares `query` for scoring `f16` candidates.
///
/// # Errors
/// [`Error::UnsupportedMetric`] for Hamming and Jaccard (use `f32` or packed bits) and
/// for Manhattan (no `f16` L1 kernel: use `f32` storage).
pub fn prepare_f16(metric: DistanceMetric, query: &[f32]) -> Result<F16Scorer, Error> {
    let query: Vec<f16> = query.iter().map(|x| f16::from_f32(*x)).collect();
    let prepared = match metric {
        DistanceMetric::Cosine => F16Metric::Cosine {
            query_norm: query_length(query.iter().map(|x| x.to_f64())),
        },
        DistanceMetric::Euclidean => F16Metric::L2,
        DistanceMetric::DotProduct => F16Metric::Dot,
        DistanceMetric::Hamming | DistanceMetric::Jaccard | DistanceMetric::Manhattan => {
            return Err(Error::UnsupportedMetric {
                metric,
                element: "f16",
            });
        }
    };
    Ok(F16Scorer {
        metric,
        query,
        kernels: kernels(),
        prepared,
    })
}

impl F16Scorer {
    /// The metric this scorer ranks by.
    pub fn metric(&self) -> DistanceMetric {
        self.metric
    }

    /// The query's dimension; every candidate must have it.
    pub fn dim(&self) -> usize {
        self.query.len()
    }

    /// The query as rounded to `f16`.
    pub fn query(&self) -> &[f16] {
        &self.query
    }

    /// As [`Scorer::rank_key`], for an `f16` candidate.
    ///
    /// # Panics
    /// If `candidate.len() != self.dim()`.
    #[inline]
    pub fn rank_key(&self, candidate: &[f16]) -> f32 {
        assert_eq!(
            candidate.len(),
            self.query.len(),
            "vector dimensions differ"
        );
        let (q, k) = (&self.query, self.kernels);
        match self.prepared {
            F16Metric::Dot => k.dot_f16(q, candidate),
            F16Metric::L2 => k.l2sq_f16(q, candidate),
            F16Metric::Cosine { query_norm } => {
                cosine_prepared(query_norm, k.dot_norm_f16(q, candidate))
            }
        }
    }

    /// As [`Scorer::score`], for an `f16` candidate.
    ///
    /// # Panics
    /// If `candidate.len() != self.dim()`.
    #[inline]
    pub fn score(&self, candidate: &[f16]) -> f32 {
        self.metric.score_from_key(self.rank_key(candidate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_scores_equal_one_shot_distance() {
        let q = [0.3, -1.0, 2.0, 0.7, 0.0];
        let c = [1.0, 0.6, -0.5, 0.9, 2.0];
        for m in DistanceMetric::ALL {
            let s = prepare(m, &q).score(&c);
            let d = crate::distance(m, &q, &c);
            assert!((s - d).abs() <= 1e-6 * d.abs().max(1.0), "{m}: {s} vs {d}");
        }
    }

    #[test]
    fn euclidean_rank_key_is_squared_distance() {
        let s = prepare(DistanceMetric::Euclidean, &[0.0, 0.0]);
        assert_eq!(s.rank_key(&[3.0, 4.0]), 25.0);
        assert_eq!(s.score(&[3.0, 4.0]), 5.0);
    }

    #[test]
    fn zero_query_cosine_scores_zero() {
        let s = prepare(DistanceMetric::Cosine, &[0.0; 7]);
        assert_eq!(s.score(&[1.0; 7]), 0.0);
        let s = prepare_f16(DistanceMetric::Cosine, &[0.0; 7]).unwrap();
        assert_eq!(s.score(&[f16::ONE; 7]), 0.0);
    }

    #[test]
    fn f16_scorer_rejects_set_metrics() {
        assert!(prepare_f16(DistanceMetric::Hamming, &[1.0]).is_err());
        assert!(prepare_f16(DistanceMetric::Manhattan, &[1.0]).is_err());
        let s = prepare_f16(DistanceMetric::DotProduct, &[1.0, 2.0]).unwrap();
        assert_eq!(s.score(&[f16::from_f32(3.0), f16::from_f32(0.5)]), 4.0);
    }
}
