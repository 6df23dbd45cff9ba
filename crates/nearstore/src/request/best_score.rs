//! The best-score recommendation rule (Qdrant's `best_score` strategy), as a leg's scoring.
//!
//! For a candidate `c`, with `sim` the metric's similarity (the score itself for cosine,
//! dot and jaccard; the negated distance for euclidean and hamming, so higher is always
//! more similar), `p = max over positives of sim(c, x)` and `n = max over negatives of
//! sim(c, x)` (`-inf` for an empty list):
//!
//! `score(c) = sigmoid(p)` when `p > n`, else `-sigmoid(n)`, with
//! `sigmoid(x) = 0.5 * (x / (1 + |x|) + 1)` (Qdrant's `scaled_fast_sigmoid`, in `(0, 1)`).
//!
//! So every candidate nearer to some positive than to every negative scores in `(0, 1)`,
//! ranked by its best positive similarity, above every other candidate, which scores in
//! `(-1, 0)`, ranked by how far it is from its nearest negative. With positives only, the
//! ranking is by the best similarity to any positive. The squashing keeps the two
//! branches apart when similarities can be negative (with raw similarities, a candidate
//! with `p = -0.5 > n = -0.9` would score -0.5, below one with `p < n = -0.1` at 0.1).
//!
//! The leg scores every candidate under the request's filter (an exact scan: the score is
//! not a distance to one vector, so the HNSW graph cannot be walked for it) and keeps the
//! best `depth`, ties to the smaller id.

use nearstore_distance::DistanceMetric;

/// Qdrant's `scaled_fast_sigmoid`: a monotonic map of any real number into `(0, 1)`.
pub(crate) fn sigmoid(x: f32) -> f32 {
    0.5 * (x / (1.0 + x.abs()) + 1.0)
}

/// The similarity of two vectors under `metric` (higher is more similar).
pub(crate) fn similarity(metric: DistanceMetric, a: &[f32], b: &[f32]) -> f32 {
    let d = nearstore_distance::distance(metric, a, b);
    if metric.is_similarity() { d } else { -d }
}

/// The best-score of a candidate `c` (see the module docs).
pub(crate) fn best_score(
    metric: DistanceMetric,
    c: &[f32],
    positive: &[Vec<f32>],
    negative: &[Vec<f32>],
) -> f32 {
    let best = |list: &[Vec<f32>]| {
        list.iter()
            .map(|x| similarity(metric, c, x))
            .fold(f32::NEG_INFINITY, f32::max)
    };
    let (p, n) = (best(positive), best(negative));
    if p > n { sigmoid(p) } else { -sigmoid(n) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positives_win_over_negatives_and_the_branches_never_mix() {
        let m = DistanceMetric::Euclidean;
        let pos = vec![vec![0.0, 0.0]];
        let neg = vec![vec![10.0, 0.0]];
        let near_pos = best_score(m, &[1.0, 0.0], &pos, &neg);
        let mid_pos = best_score(m, &[4.0, 0.0], &pos, &neg);
        let near_neg = best_score(m, &[9.0, 0.0], &pos, &neg);
        let far_neg = best_score(m, &[7.0, 0.0], &pos, &neg);
        assert!(near_pos > mid_pos && mid_pos > 0.0);
        assert!(0.0 > far_neg && far_neg > near_neg);
        assert!((near_pos - sigmoid(-1.0)).abs() < 1e-6);
        // Positives only: by the best positive similarity.
        let only = |c: &[f32]| best_score(m, c, &pos, &[]);
        assert!(only(&[1.0, 0.0]) > only(&[2.0, 0.0]));
        // Negatives only: every score negative, the farthest from the negatives best.
        let away = |c: &[f32]| best_score(m, c, &[], &neg);
        assert!(away(&[0.0, 0.0]) > away(&[9.0, 0.0]) && away(&[0.0, 0.0]) < 0.0);
    }

    #[test]
    fn the_sigmoid_is_monotonic_into_zero_one() {
        let xs = [-1e9f32, -3.0, -0.5, 0.0, 0.5, 3.0, 1e9];
        for w in xs.windows(2) {
            assert!(sigmoid(w[0]) < sigmoid(w[1]));
        }
        assert!(xs.iter().all(|&x| (0.0..=1.0).contains(&sigmoid(x))));
        assert_eq!(sigmoid(0.0), 0.5);
    }
}
