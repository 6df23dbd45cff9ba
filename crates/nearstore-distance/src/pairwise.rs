//! One-shot pairwise functions over every element type, through the dispatched kernels.
//!
//! Each panics when the two lengths differ (a caller bug: dimensions are validated where
//! vectors enter the engine). For a query scored against many candidates use
//! [`crate::prepare`] instead.

use half::f16;

use crate::dispatch::kernels;
use crate::{SetCounts, cosine_from_parts};

#[inline]
#[track_caller]
fn check(a: usize, b: usize) {
    assert!(a == b, "vector dimensions differ: {a} vs {b}");
}

/// `Σ aᵢbᵢ` (dot-product similarity).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    check(a.len(), b.len());
    kernels().dot_f32(a, b)
}

/// `Σ (aᵢ-bᵢ)²`, the squared L2 distance (what rankings use).
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    check(a.len(), b.len());
    kernels().l2sq_f32(a, b)
}

/// The L2 (Euclidean) distance, `sqrt(l2_squared)`.
#[inline]
pub fn l2(a: &[f32], b: &[f32]) -> f32 {
    l2_squared(a, b).sqrt()
}

/// `Σ |aᵢ-bᵢ|`, the L1 (Manhattan) distance.
#[inline]
pub fn l1(a: &[f32], b: &[f32]) -> f32 {
    check(a.len(), b.len());
    kernels().l1_f32(a, b)
}

/// Cosine similarity in `[-1, 1]`; `0.0` when either vector has zero norm.
#[inline]
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    check(a.len(), b.len());
    cosine_from_parts(kernels().cos_f32(a, b))
}

/// `Σ aᵢbᵢ` over `f16` storage, accumulated in `f32`.
#[inline]
pub fn dot_f16(a: &[f16], b: &[f16]) -> f32 {
    check(a.len(), b.len());
    kernels().dot_f16(a, b)
}

/// Squared L2 distance over `f16` storage.
#[inline]
pub fn l2_squared_f16(a: &[f16], b: &[f16]) -> f32 {
    check(a.len(), b.len());
    kernels().l2sq_f16(a, b)
}

/// Cosine similarity over `f16` storage (`0.0` for a zero norm).
#[inline]
pub fn cosine_f16(a: &[f16], b: &[f16]) -> f32 {
    check(a.len(), b.len());
    cosine_from_parts(kernels().cos_f16(a, b))
}

/// `Σ aᵢbᵢ` over `u8` codes; exact while `len <= 66_051`, wrapping modulo 2³² beyond.
#[inline]
pub fn dot_u8(a: &[u8], b: &[u8]) -> u32 {
    check(a.len(), b.len());
    kernels().dot_u8(a, b)
}

/// `Σ (aᵢ-bᵢ)²` over `u8` codes; exact while `len <= 66_051`, wrapping modulo 2³² beyond.
#[inline]
pub fn l2_squared_u8(a: &[u8], b: &[u8]) -> u32 {
    check(a.len(), b.len());
    kernels().l2sq_u8(a, b)
}

/// `Σ aᵢbᵢ` over `i8` codes; exact while `len <= 131_071`, wrapping modulo 2³² beyond.
#[inline]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    check(a.len(), b.len());
    kernels().dot_i8(a, b)
}

/// `Σ (aᵢ-bᵢ)²` over `i8` codes; exact while `len <= 66_051`, wrapping modulo 2³² beyond.
#[inline]
pub fn l2_squared_i8(a: &[i8], b: &[i8]) -> u32 {
    check(a.len(), b.len());
    kernels().l2sq_i8(a, b)
}

/// Hamming distance of two packed bit vectors: `popcount(a XOR b)`.
#[inline]
pub fn hamming_bits(a: &[u64], b: &[u64]) -> u64 {
    check(a.len(), b.len());
    kernels().hamming_bits(a, b)
}

/// Jaccard similarity of two packed bit vectors: `|a AND b| / |a OR b|`, `1.0` when both
/// are all zeros.
#[inline]
pub fn jaccard_bits(a: &[u64], b: &[u64]) -> f32 {
    check(a.len(), b.len());
    crate::jaccard_from_counts(kernels().jaccard_bits(a, b))
}

/// Intersection and union bit counts (for callers that combine several blocks).
#[inline]
pub fn set_counts_bits(a: &[u64], b: &[u64]) -> SetCounts {
    check(a.len(), b.len());
    kernels().jaccard_bits(a, b)
}
