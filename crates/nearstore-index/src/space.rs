//! The metric space an index ranks in: a distance where lower is better, computed with the
//! kernels of `nearstore-distance` resolved once.
//!
//! Cosine vectors are normalized when they enter the index, so cosine ranks by the dot
//! product; a zero vector stays zero and scores 0.0 against everything (the metric's
//! contract).

use nearstore_distance::{DistanceMetric, Kernels, jaccard_from_counts, kernels};

/// How the internal distance is computed.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// distance = -dot (cosine over normalized vectors, or dot product).
    NegDot,
    /// distance = squared L2.
    L2,
    /// distance = L1 (Manhattan), the score itself.
    L1,
    /// Hamming count.
    Hamming,
    /// distance = -jaccard.
    Jaccard,
}

/// A metric ready for the hot loop.
#[derive(Debug, Clone, Copy)]
pub struct Space {
    metric: DistanceMetric,
    kind: Kind,
    kernels: &'static Kernels,
}

/// Lanes of [`sum_of_squares`]: independent sums, so the additions do not wait on each
/// other (a single running sum cost ~0.5 us per 384-d query, one add latency per float).
const SQUARE_LANES: usize = 8;

/// `Σ x²` in f64 (each square is exact in f64; the sum is kept in lanes, then added up).
fn sum_of_squares(v: &[f32]) -> f64 {
    let mut lanes = [0.0f64; SQUARE_LANES];
    let chunks = v.chunks_exact(SQUARE_LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (lane, x) in lanes.iter_mut().zip(c) {
            *lane += f64::from(*x) * f64::from(*x);
        }
    }
    let mut sum = lanes.iter().sum::<f64>();
    for x in tail {
        sum += f64::from(*x) * f64::from(*x);
    }
    sum
}

impl Space {
    /// Resolves the kernels for `metric`.
    pub fn new(metric: DistanceMetric) -> Self {
        let kind = match metric {
            DistanceMetric::Cosine | DistanceMetric::DotProduct => Kind::NegDot,
            DistanceMetric::Euclidean => Kind::L2,
            DistanceMetric::Manhattan => Kind::L1,
            DistanceMetric::Hamming => Kind::Hamming,
            DistanceMetric::Jaccard => Kind::Jaccard,
        };
        Space {
            metric,
            kind,
            kernels: kernels(),
        }
    }

    /// The metric.
    pub fn metric(&self) -> DistanceMetric {
        self.metric
    }

    /// Whether vectors are normalized on entry.
    pub fn normalizes(&self) -> bool {
        self.metric == DistanceMetric::Cosine
    }

    /// The vector as the index stores it (normalized for cosine).
    pub fn prepare(&self, v: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(v.len());
        self.prepare_into(v, &mut out);
        out
    }

    /// [`Space::prepare`] into `out` (replacing its contents).
    pub fn prepare_into(&self, v: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(v);
        if self.normalizes() {
            let norm = sum_of_squares(v).sqrt();
            if norm > 0.0 {
                for x in out.iter_mut() {
                    *x = (f64::from(*x) / norm) as f32;
                }
            }
        }
    }

    /// Internal distance, lower is better.
    #[inline]
    pub fn distance(&self, a: &[f32], b: &[f32]) -> f32 {
        let k = self.kernels;
        match self.kind {
            Kind::NegDot => -k.dot_f32(a, b),
            Kind::L2 => k.l2sq_f32(a, b),
            Kind::L1 => k.l1_f32(a, b),
            Kind::Hamming => k.hamming_f32(a, b) as f32,
            Kind::Jaccard => -jaccard_from_counts(k.jaccard_f32(a, b)),
        }
    }

    /// The internal distance from `q·x`, `|q|²` and `|x|²` (quantized traversal): `-dot` for
    /// cosine and dot product, `|q|² - 2 q·x + |x|²` for L2. L1 and the set metrics have no
    /// quantized form (an index refuses to quantize them) and give `+inf`.
    #[inline]
    pub fn distance_from_dot(&self, dot: f32, q_sq: f32, x_sq: f32) -> f32 {
        match self.kind {
            Kind::NegDot => -dot,
            Kind::L2 => q_sq - 2.0 * dot + x_sq,
            Kind::L1 | Kind::Hamming | Kind::Jaccard => f32::INFINITY,
        }
    }

    /// Whether the internal distance is the negated dot product (cosine, dot product).
    pub fn ranks_by_dot(&self) -> bool {
        matches!(self.kind, Kind::NegDot)
    }

    /// Whether the metric can be quantized (cosine, dot product, L2). Manhattan cannot: sq8,
    /// binary, RaBitQ and PQ all estimate distances from inner products (or per-subspace
    /// L2 tables), which say nothing exact about an L1 ordering.
    pub fn quantizable(&self) -> bool {
        matches!(self.kind, Kind::NegDot | Kind::L2)
    }

    /// Exact internal distance from a prepared query to a vector as the user wrote it (not
    /// normalized): what rescoring from a vector source computes. For cosine the vector's
    /// norm is divided out in the same pass; a zero vector is at distance 0.
    #[inline]
    pub fn distance_raw(&self, q: &[f32], v: &[f32]) -> f32 {
        if self.normalizes() {
            let dn = self.kernels.dot_norm_f32(q, v);
            if dn.norm_sq > 0.0 {
                -(dn.dot / dn.norm_sq.sqrt())
            } else {
                0.0
            }
        } else {
            self.distance(q, v)
        }
    }

    /// The user-facing score for an internal distance.
    pub fn score(&self, distance: f32) -> f32 {
        match self.metric {
            DistanceMetric::Cosine => (-distance).clamp(-1.0, 1.0),
            DistanceMetric::DotProduct | DistanceMetric::Jaccard => -distance,
            DistanceMetric::Euclidean => distance.max(0.0).sqrt(),
            DistanceMetric::Hamming | DistanceMetric::Manhattan => distance,
        }
    }
}
