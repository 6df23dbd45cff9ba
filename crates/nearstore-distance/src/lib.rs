//! Distance metrics and kernels for NearStore: the only crate that uses `std::arch`.
//!
//! Everything in the engine that scores a vector goes through this crate, so its speed
//! bounds the engine's. It owns:
//!
//! - [`DistanceMetric`] (cosine, euclidean, dot, hamming, jaccard, manhattan), the score direction of
//!   each (documented once, there) and the ordering helper
//!   [`DistanceMetric::cmp_best_first`] every caller sorts with;
//! - scalar oracle kernels ([`scalar`]) and per-ISA SIMD kernels: x86_64 AVX2+FMA+F16C,
//!   AVX-512 (F/BW/VL) and AVX-512 with VNNI + VPOPCNTDQ; aarch64 NEON;
//! - dispatch resolved once per process ([`kernels`], [`Kernels`], [`Isa`]), which the
//!   `NEARSTORE_FORCE_SCALAR=1` environment variable (or the `force-scalar` feature) pins to
//!   the scalar table;
//! - prepared queries ([`prepare`] → [`Scorer`], [`prepare_f16`] → [`F16Scorer`]): the hot
//!   loop does no feature detection and no query normalisation;
//! - memory hints for the arrays a graph search reads: cache prefetches ([`prefetch_slice`],
//!   [`prefetch_ahead`])
//!   and transparent huge pages ([`advise_huge_pages`]);
//! - one-shot pairwise functions for every element type ([`dot`], [`l2_squared`], [`l1`],
//!   [`cosine`], [`dot_f16`], [`dot_u8`], [`hamming_bits`], ...).
//!
//! It depends on nothing in the workspace and knows nothing of storage, indexes or queries.
//!
//! # Element types
//!
//! | elements | metrics | accumulator |
//! | --- | --- | --- |
//! | `f32` | all six | `f32` lanes (SIMD), `f64` (scalar oracle) |
//! | `f16` ([`half::f16`], storage only) | cosine, L2, dot | converted to `f32` in registers, `f32` lanes |
//! | `u8`, `i8` (scalar-quantization codes) | L2², dot | `i32` lanes, wrapping; result `u32` / `i32` |
//! | packed bits (`&[u64]`) | hamming, jaccard | `u64` popcounts |
//!
//! # Numerics contract
//!
//! - **Accumulators.** SIMD float kernels multiply in `f32` with FMA and keep several
//!   independent `f32` lanes per sum (at least 16 on AVX-512 and AVX2, 8 on NEON) that are
//!   added pairwise at the end. The scalar oracle widens to `f64` and sums in index order.
//! - **Tolerance vs the oracle.** For a dot product of length `n` a SIMD kernel satisfies
//!   `|simd - oracle| <= (ceil(n/4) + 16) * f32::EPSILON * Σ|aᵢbᵢ| + n * 2⁻¹⁴⁹ * 4`
//!   (the second term covers products in `f32`'s subnormal range); L2² is the same bound
//!   with `Σ(aᵢ-bᵢ)²` in place of `Σ|aᵢbᵢ|`, and L1 (Manhattan) with `Σ|aᵢ-bᵢ|`. Cosine is finished from the three sums in
//!   `f32` (in `f64` when the norm product leaves `f32`'s normal range), so its error is
//!   `E(ab)/(|a||b|) + |cos|/2 * (E(aa)/aa + E(bb)/bb)` plus at most 3 `f32` ulps, where
//!   `E(..)` is the bound above. `f16` kernels follow the same bounds on the `f16` values
//!   widened exactly to `f32`. The property tests in `tests/it` check exactly
//!   these bounds, for lengths 0..2100, unaligned slices, and magnitudes from 1e-20 to 1e15.
//! - **Exact results.** Hamming and Jaccard (over `f32` set-ness or over bits) and all
//!   integer kernels are bit-identical across kernels. Integer accumulation wraps modulo
//!   2³² identically everywhere; it is exact for `u8` dot and L2² and `i8` L2² while
//!   `len <= 66_051` (`255² * len < 2³²`) and for `i8` dot while `len <= 131_071`.
//! - **Zero norm.** Cosine with a zero-norm vector (including the empty vector) is `0.0`,
//!   never NaN. Results are clamped to `[-1, 1]`. Vectors whose squared norm underflows
//!   `f32` (all `|xᵢ| < ~1e-23`) count as zero-norm; between that and ~1e-19 cosine loses
//!   precision gracefully as the bound above says.
//! - **Jaccard of two empty sets** is `1.0` (the sets are identical).
//! - **NaN and infinity** are rejected upstream (the engine validates vectors on upsert and
//!   queries on entry). The kernels do not check: a NaN input gives a NaN float result
//!   (never a crash) and is never "set" for Hamming/Jaccard; infinities propagate by IEEE
//!   rules; sums whose magnitude exceeds `f32::MAX` (about 1.8e19 per component for L2²)
//!   overflow to infinity.
//! - **Euclidean.** [`DistanceMetric::Euclidean`] scores are the true L2 distance;
//!   [`Scorer::rank_key`] returns the squared distance for ranking, and
//!   [`DistanceMetric::score_from_key`] turns a key into the score.
//! - **Lengths.** Public functions panic when the two lengths differ (or return
//!   [`Error::DimensionMismatch`] in their `try_` form); the raw [`Kernels`] function
//!   pointers compare the common prefix and never read out of bounds.

mod dispatch;
mod huge_pages;
mod metric;
mod pairwise;
mod prefetch;
pub mod scalar;
mod scorer;

#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(target_arch = "aarch64")]
mod aarch64;

pub use dispatch::{Isa, Kernels, force_scalar_requested, kernels};
pub use half::f16;
pub use huge_pages::{HUGE_PAGE_MIN_BYTES, advise_huge_pages};
pub use metric::{DistanceMetric, distance, try_distance};
pub use pairwise::{
    cosine, cosine_f16, dot, dot_f16, dot_i8, dot_u8, hamming_bits, jaccard_bits, l1, l2,
    l2_squared, l2_squared_f16, l2_squared_i8, l2_squared_u8, set_counts_bits,
};
pub use prefetch::{prefetch_ahead, prefetch_slice};
pub use scorer::{F16Scorer, Scorer, prepare, prepare_f16};

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two vectors that must have the same dimension do not.
    #[error("dimension mismatch: expected {expected}, got {actual}")]
    DimensionMismatch {
        /// The dimension of the first (query) vector.
        expected: usize,
        /// The dimension of the other vector.
        actual: usize,
    },
    /// A metric name that is none of the known names or aliases.
    #[error(
        "unknown distance metric {name:?} (expected cosine, euclidean|l2, dot, hamming, jaccard or manhattan|l1)"
    )]
    UnknownMetric {
        /// The name as given.
        name: String,
    },
    /// A metric that has no kernel for an element type (e.g. Hamming over `f16`).
    #[error("metric {metric} is not supported over {element} vectors")]
    UnsupportedMetric {
        /// The metric asked for.
        metric: DistanceMetric,
        /// The element type (`"f16"`, ...).
        element: &'static str,
    },
}

/// The three sums cosine needs, from one pass: `a·b`, `a·a`, `b·b`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CosineParts {
    /// `Σ aᵢbᵢ`.
    pub dot: f32,
    /// `Σ aᵢ²`.
    pub norm_a_sq: f32,
    /// `Σ bᵢ²`.
    pub norm_b_sq: f32,
}

/// A prepared cosine query's per-candidate sums: `q·c` and `c·c`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DotNorm {
    /// `Σ qᵢcᵢ`.
    pub dot: f32,
    /// `Σ cᵢ²`.
    pub norm_sq: f32,
}

/// Sizes of the intersection and union of two sets (set components or set bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetCounts {
    /// `|A ∩ B|`.
    pub intersection: u64,
    /// `|A ∪ B|`.
    pub union: u64,
}

/// Cosine similarity from its three sums: `0.0` when either norm is zero, else
/// `dot / (sqrt(aa) * sqrt(bb))` clamped to `[-1, 1]` (see [`cosine_from_lengths`]).
#[inline]
pub fn cosine_from_parts(p: CosineParts) -> f32 {
    if p.norm_a_sq <= 0.0 || p.norm_b_sq <= 0.0 {
        return 0.0;
    }
    cosine_from_lengths(p.dot, p.norm_a_sq.sqrt(), p.norm_b_sq.sqrt())
}

/// `dot / (len_a * len_b)` clamped to `[-1, 1]`, for positive vector lengths.
///
/// The quotient is formed in `f32` (two roots, a product and a division: within 3 ulps of
/// the exact quotient, a shorter dependency chain than `f64` after every kernel call). When
/// the product leaves `f32`'s normal range (lengths below about `1e-19`, or an overflowed
/// sum) it is formed in `f64` instead, so tiny vectors keep their precision and huge ones
/// give `±1` or `0`, never NaN.
#[inline]
pub(crate) fn cosine_from_lengths(dot: f32, len_a: f32, len_b: f32) -> f32 {
    let denom = len_a * len_b;
    let c = if (f32::MIN_POSITIVE..=f32::MAX).contains(&denom) {
        dot / denom
    } else {
        (f64::from(dot) / (f64::from(len_a) * f64::from(len_b))) as f32
    };
    c.clamp(-1.0, 1.0)
}

/// Jaccard similarity from set sizes: `intersection / union`, `1.0` when both are empty.
pub fn jaccard_from_counts(c: SetCounts) -> f32 {
    if c.union == 0 {
        1.0
    } else {
        (c.intersection as f64 / c.union as f64) as f32
    }
}
