//! AVX2 + FMA + F16C kernels (x86_64 CPUs without AVX-512).
//!
//! Float kernels keep four independent 8-lane `f32` accumulators (32 lanes); the tail is
//! copied into a zero-filled stack block and processed like a full one (zeros add nothing
//! to any sum here). Integer kernels widen to `i16` and use `vpmaddwd` into `i32` lanes
//! (not `vpmaddubsw`, whose `i16` saturation would break exactness). Bits use POPCNT.
//!
//! Soundness: the `#[target_feature]` kernels are only reachable through [`TABLE`] (and, for
//! f32 dot, the AVX-512 tables), which are handed out only after [`detected`]
//! confirmed every feature they enable; [`Kernels`]' safe methods call them from there.

use std::arch::x86_64::*;

use half::f16;

use crate::dispatch::{Isa, Kernels};
use crate::{CosineParts, DotNorm, SetCounts, scalar};

// ---------------------------------------------------------------------------------------
// Loads.

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld_f32(p: &[f32; 8]) -> __m256 {
    // SAFETY: `p` refers to 8 contiguous f32 (32 readable bytes); loadu needs no alignment.
    unsafe { _mm256_loadu_ps(p.as_ptr()) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld_f16(p: &[f16; 8]) -> __m256 {
    // SAFETY: `p` refers to 8 contiguous f16 (16 readable bytes); loadu needs no alignment.
    let h = unsafe { _mm_loadu_si128(p.as_ptr().cast()) };
    _mm256_cvtph_ps(h)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld_u8(p: &[u8; 32]) -> __m256i {
    // SAFETY: `p` refers to 32 readable bytes; loadu needs no alignment.
    unsafe { _mm256_loadu_si256(p.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld_i8(p: &[i8; 32]) -> __m256i {
    // SAFETY: `p` refers to 32 readable bytes; loadu needs no alignment.
    unsafe { _mm256_loadu_si256(p.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld_u8x8_ps(p: &[u8; 8]) -> __m256 {
    // SAFETY: `p` refers to 8 readable bytes, exactly what `loadl_epi64` reads.
    let b = unsafe { _mm_loadl_epi64(p.as_ptr().cast()) };
    _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b))
}

/// A zero-filled block holding `t` (shorter than the block) at its start.
#[inline]
fn pad<T: Copy + Default, const N: usize>(t: &[T]) -> [T; N] {
    let mut block = [T::default(); N];
    let len = t.len().min(N);
    block[..len].copy_from_slice(&t[..len]);
    block
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
    _mm_cvtss_f32(s)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum_epi32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

// ---------------------------------------------------------------------------------------
// Float kernels, generated for f32 and f16 storage.

macro_rules! float_kernels {
    ($elem:ty, $ld:ident, $dot:ident, $l2sq:ident, $cos:ident, $dot_norm:ident) => {
        #[target_feature(enable = "avx2,fma,f16c")]
        pub(super) fn $dot(a: &[$elem], b: &[$elem]) -> f32 {
            let n = a.len().min(b.len());
            let (ac, at) = a[..n].as_chunks::<8>();
            let (bc, bt) = b[..n].as_chunks::<8>();
            let (ac4, ac1) = ac.as_chunks::<4>();
            let (bc4, bc1) = bc.as_chunks::<4>();
            let mut s0 = _mm256_setzero_ps();
            let (mut s1, mut s2, mut s3) = (s0, s0, s0);
            for (x, y) in ac4.iter().zip(bc4) {
                s0 = _mm256_fmadd_ps($ld(&x[0]), $ld(&y[0]), s0);
                s1 = _mm256_fmadd_ps($ld(&x[1]), $ld(&y[1]), s1);
                s2 = _mm256_fmadd_ps($ld(&x[2]), $ld(&y[2]), s2);
                s3 = _mm256_fmadd_ps($ld(&x[3]), $ld(&y[3]), s3);
            }
            for (x, y) in ac1.iter().zip(bc1) {
                s2 = _mm256_fmadd_ps($ld(x), $ld(y), s2);
            }
            if !at.is_empty() {
                s3 = _mm256_fmadd_ps($ld(&pad(at)), $ld(&pad(bt)), s3);
            }
            hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)))
        }

        #[target_feature(enable = "avx2,fma,f16c")]
        fn $l2sq(a: &[$elem], b: &[$elem]) -> f32 {
            let n = a.len().min(b.len());
            let (ac, at) = a[..n].as_chunks::<8>();
            let (bc, bt) = b[..n].as_chunks::<8>();
            let (ac4, ac1) = ac.as_chunks::<4>();
            let (bc4, bc1) = bc.as_chunks::<4>();
            let mut s0 = _mm256_setzero_ps();
            let (mut s1, mut s2, mut s3) = (s0, s0, s0);
            for (x, y) in ac4.iter().zip(bc4) {
                let d0 = _mm256_sub_ps($ld(&x[0]), $ld(&y[0]));
                let d1 = _mm256_sub_ps($ld(&x[1]), $ld(&y[1]));
                let d2 = _mm256_sub_ps($ld(&x[2]), $ld(&y[2]));
                let d3 = _mm256_sub_ps($ld(&x[3]), $ld(&y[3]));
                s0 = _mm256_fmadd_ps(d0, d0, s0);
                s1 = _mm256_fmadd_ps(d1, d1, s1);
                s2 = _mm256_fmadd_ps(d2, d2, s2);
                s3 = _mm256_fmadd_ps(d3, d3, s3);
            }
            for (x, y) in ac1.iter().zip(bc1) {
                let d = _mm256_sub_ps($ld(x), $ld(y));
                s2 = _mm256_fmadd_ps(d, d, s2);
            }
            if !at.is_empty() {
                let d = _mm256_sub_ps($ld(&pad(at)), $ld(&pad(bt)));
                s3 = _mm256_fmadd_ps(d, d, s3);
            }
            hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)))
        }

        #[target_feature(enable = "avx2,fma,f16c")]
        fn $cos(a: &[$elem], b: &[$elem]) -> CosineParts {
            let n = a.len().min(b.len());
            let (ac, at) = a[..n].as_chunks::<8>();
            let (bc, bt) = b[..n].as_chunks::<8>();
            let (ac2, ac1) = ac.as_chunks::<2>();
            let (bc2, bc1) = bc.as_chunks::<2>();
            let z = _mm256_setzero_ps();
            let (mut ab0, mut aa0, mut bb0, mut ab1, mut aa1, mut bb1) = (z, z, z, z, z, z);
            for (x, y) in ac2.iter().zip(bc2) {
                let (x0, y0) = ($ld(&x[0]), $ld(&y[0]));
                let (x1, y1) = ($ld(&x[1]), $ld(&y[1]));
                ab0 = _mm256_fmadd_ps(x0, y0, ab0);
                aa0 = _mm256_fmadd_ps(x0, x0, aa0);
                bb0 = _mm256_fmadd_ps(y0, y0, bb0);
                ab1 = _mm256_fmadd_ps(x1, y1, ab1);
                aa1 = _mm256_fmadd_ps(x1, x1, aa1);
                bb1 = _mm256_fmadd_ps(y1, y1, bb1);
            }
            for (x, y) in ac1.iter().zip(bc1) {
                let (x0, y0) = ($ld(x), $ld(y));
                ab0 = _mm256_fmadd_ps(x0, y0, ab0);
                aa0 = _mm256_fmadd_ps(x0, x0, aa0);
                bb0 = _mm256_fmadd_ps(y0, y0, bb0);
            }
            if !at.is_empty() {
                let (x1, y1) = ($ld(&pad(at)), $ld(&pad(bt)));
                ab1 = _mm256_fmadd_ps(x1, y1, ab1);
                aa1 = _mm256_fmadd_ps(x1, x1, aa1);
                bb1 = _mm256_fmadd_ps(y1, y1, bb1);
            }
            CosineParts {
                dot: hsum_ps(_mm256_add_ps(ab0, ab1)),
                norm_a_sq: hsum_ps(_mm256_add_ps(aa0, aa1)),
                norm_b_sq: hsum_ps(_mm256_add_ps(bb0, bb1)),
            }
        }

        #[target_feature(enable = "avx2,fma,f16c")]
        fn $dot_norm(q: &[$elem], c: &[$elem]) -> DotNorm {
            let n = q.len().min(c.len());
            let (qch, qt) = q[..n].as_chunks::<8>();
            let (cch, ct) = c[..n].as_chunks::<8>();
            let (q2, q1) = qch.as_chunks::<2>();
            let (c2, c1) = cch.as_chunks::<2>();
            let z = _mm256_setzero_ps();
            let (mut qc0, mut cc0, mut qc1, mut cc1) = (z, z, z, z);
            for (x, y) in q2.iter().zip(c2) {
                let (x0, y0) = ($ld(&x[0]), $ld(&y[0]));
                let (x1, y1) = ($ld(&x[1]), $ld(&y[1]));
                qc0 = _mm256_fmadd_ps(x0, y0, qc0);
                cc0 = _mm256_fmadd_ps(y0, y0, cc0);
                qc1 = _mm256_fmadd_ps(x1, y1, qc1);
                cc1 = _mm256_fmadd_ps(y1, y1, cc1);
            }
            for (x, y) in q1.iter().zip(c1) {
                let (x0, y0) = ($ld(x), $ld(y));
                qc0 = _mm256_fmadd_ps(x0, y0, qc0);
                cc0 = _mm256_fmadd_ps(y0, y0, cc0);
            }
            if !qt.is_empty() {
                let (x1, y1) = ($ld(&pad(qt)), $ld(&pad(ct)));
                qc1 = _mm256_fmadd_ps(x1, y1, qc1);
                cc1 = _mm256_fmadd_ps(y1, y1, cc1);
            }
            DotNorm {
                dot: hsum_ps(_mm256_add_ps(qc0, qc1)),
                norm_sq: hsum_ps(_mm256_add_ps(cc0, cc1)),
            }
        }
    };
}

float_kernels!(
    f32,
    ld_f32,
    dot_f32_k,
    l2sq_f32_k,
    cos_f32_k,
    dot_norm_f32_k
);
float_kernels!(
    f16,
    ld_f16,
    dot_f16_k,
    l2sq_f16_k,
    cos_f16_k,
    dot_norm_f16_k
);

/// `|x - y|` per lane: the difference with its sign bit cleared.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn abs_diff(x: __m256, y: __m256) -> __m256 {
    _mm256_andnot_ps(_mm256_set1_ps(-0.0), _mm256_sub_ps(x, y))
}

/// f32 L1 (`Σ |aᵢ-bᵢ|`): four independent 8-lane chains like L2², the absolute value by
/// clearing the sign bit (`vandnps` with `-0.0`), then a plain add (no FMA shape here).
#[target_feature(enable = "avx2,fma,f16c")]
fn l1_f32_k(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<8>();
    let (bc, bt) = b[..n].as_chunks::<8>();
    let (ac4, ac1) = ac.as_chunks::<4>();
    let (bc4, bc1) = bc.as_chunks::<4>();
    let mut s0 = _mm256_setzero_ps();
    let (mut s1, mut s2, mut s3) = (s0, s0, s0);
    for (x, y) in ac4.iter().zip(bc4) {
        s0 = _mm256_add_ps(s0, abs_diff(ld_f32(&x[0]), ld_f32(&y[0])));
        s1 = _mm256_add_ps(s1, abs_diff(ld_f32(&x[1]), ld_f32(&y[1])));
        s2 = _mm256_add_ps(s2, abs_diff(ld_f32(&x[2]), ld_f32(&y[2])));
        s3 = _mm256_add_ps(s3, abs_diff(ld_f32(&x[3]), ld_f32(&y[3])));
    }
    for (x, y) in ac1.iter().zip(bc1) {
        s2 = _mm256_add_ps(s2, abs_diff(ld_f32(x), ld_f32(y)));
    }
    if !at.is_empty() {
        s3 = _mm256_add_ps(s3, abs_diff(ld_f32(&pad(at)), ld_f32(&pad(bt))));
    }
    hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)))
}

// ---------------------------------------------------------------------------------------
// Set-ness kernels over f32 (exact counts).

/// Bit `i` set when lane `i` is `> 0.5` (ordered compare: NaN is never set).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn set_mask(v: __m256) -> u32 {
    let gt = _mm256_cmp_ps::<_CMP_GT_OQ>(v, _mm256_set1_ps(0.5));
    _mm256_movemask_ps(gt) as u32
}

#[target_feature(enable = "avx2,fma,f16c,popcnt")]
fn hamming_f32_k(a: &[f32], b: &[f32]) -> u64 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<8>();
    let (bc, bt) = b[..n].as_chunks::<8>();
    let mut count = 0u64;
    for (x, y) in ac.iter().zip(bc) {
        count += u64::from((set_mask(ld_f32(x)) ^ set_mask(ld_f32(y))).count_ones());
    }
    if !at.is_empty() {
        let (x, y) = (ld_f32(&pad(at)), ld_f32(&pad(bt)));
        count += u64::from((set_mask(x) ^ set_mask(y)).count_ones());
    }
    count
}

#[target_feature(enable = "avx2,fma,f16c,popcnt")]
fn jaccard_f32_k(a: &[f32], b: &[f32]) -> SetCounts {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<8>();
    let (bc, bt) = b[..n].as_chunks::<8>();
    let (mut inter, mut union) = (0u64, 0u64);
    for (x, y) in ac.iter().zip(bc) {
        let (ma, mb) = (set_mask(ld_f32(x)), set_mask(ld_f32(y)));
        inter += u64::from((ma & mb).count_ones());
        union += u64::from((ma | mb).count_ones());
    }
    if !at.is_empty() {
        let (ma, mb) = (set_mask(ld_f32(&pad(at))), set_mask(ld_f32(&pad(bt))));
        inter += u64::from((ma & mb).count_ones());
        union += u64::from((ma | mb).count_ones());
    }
    SetCounts {
        intersection: inter,
        union,
    }
}

// ---------------------------------------------------------------------------------------
// Integer kernels: `$body` runs per 32-byte block (the tail zero-padded).

macro_rules! byte_blocks {
    ($a:expr, $b:expr, $ld:ident, |$x:ident, $y:ident| $body:block) => {{
        let n = $a.len().min($b.len());
        let (ac, at) = $a[..n].as_chunks::<32>();
        let (bc, bt) = $b[..n].as_chunks::<32>();
        for (xa, ya) in ac.iter().zip(bc) {
            let $x = $ld(xa);
            let $y = $ld(ya);
            $body
        }
        if !at.is_empty() {
            let $x = $ld(&pad(at));
            let $y = $ld(&pad(bt));
            $body
        }
    }};
}

/// Sum of squares of 32 unsigned bytes into two `i32` accumulators.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn add_squares_u8(d: __m256i, s0: &mut __m256i, s1: &mut __m256i) {
    let z = _mm256_setzero_si256();
    let lo = _mm256_unpacklo_epi8(d, z);
    let hi = _mm256_unpackhi_epi8(d, z);
    *s0 = _mm256_add_epi32(*s0, _mm256_madd_epi16(lo, lo));
    *s1 = _mm256_add_epi32(*s1, _mm256_madd_epi16(hi, hi));
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_u8_k(a: &[u8], b: &[u8]) -> u32 {
    let z = _mm256_setzero_si256();
    let (mut s0, mut s1) = (z, z);
    byte_blocks!(a, b, ld_u8, |x, y| {
        let p0 = _mm256_madd_epi16(_mm256_unpacklo_epi8(x, z), _mm256_unpacklo_epi8(y, z));
        let p1 = _mm256_madd_epi16(_mm256_unpackhi_epi8(x, z), _mm256_unpackhi_epi8(y, z));
        s0 = _mm256_add_epi32(s0, p0);
        s1 = _mm256_add_epi32(s1, p1);
    });
    hsum_epi32(_mm256_add_epi32(s0, s1)) as u32
}

#[target_feature(enable = "avx2,fma,f16c")]
fn l2sq_u8_k(a: &[u8], b: &[u8]) -> u32 {
    let z = _mm256_setzero_si256();
    let (mut s0, mut s1) = (z, z);
    byte_blocks!(a, b, ld_u8, |x, y| {
        let d = _mm256_or_si256(_mm256_subs_epu8(x, y), _mm256_subs_epu8(y, x));
        add_squares_u8(d, &mut s0, &mut s1);
    });
    hsum_epi32(_mm256_add_epi32(s0, s1)) as u32
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_i8_k(a: &[i8], b: &[i8]) -> i32 {
    let z = _mm256_setzero_si256();
    let (mut s0, mut s1) = (z, z);
    byte_blocks!(a, b, ld_i8, |x, y| {
        let xl = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(x));
        let yl = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(y));
        let xh = _mm256_cvtepi8_epi16(_mm256_extracti128_si256::<1>(x));
        let yh = _mm256_cvtepi8_epi16(_mm256_extracti128_si256::<1>(y));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(xl, yl));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(xh, yh));
    });
    hsum_epi32(_mm256_add_epi32(s0, s1))
}

#[target_feature(enable = "avx2,fma,f16c")]
fn l2sq_i8_k(a: &[i8], b: &[i8]) -> u32 {
    let z = _mm256_setzero_si256();
    let (mut s0, mut s1) = (z, z);
    byte_blocks!(a, b, ld_i8, |x, y| {
        let d = _mm256_sub_epi8(_mm256_max_epi8(x, y), _mm256_min_epi8(x, y));
        add_squares_u8(d, &mut s0, &mut s1);
    });
    hsum_epi32(_mm256_add_epi32(s0, s1)) as u32
}

// ---------------------------------------------------------------------------------------
// The table.

/// [`crate::scalar::dot_u8_i8_x16`]: per 64-byte group, each quarter (four rows' four
/// coordinates) widened to 16 bits and `vpmaddwd` by the group's four query bytes repeated
/// (products at most 32,640: exact), so every row's sum lands in two 32-bit lanes of one
/// of four accumulators; the rest (a partial group, or groups past `q`'s end) by the oracle.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn dot_u8_i8_x16_k(q: &[u8], b: &[i8]) -> [i32; scalar::BLOCK_ROWS] {
    let (quads, groups) = scalar::rows16_groups(q, b);
    let mut acc = [_mm256_setzero_si256(); 4];
    for (quad, group) in quads.iter().zip(groups) {
        let word = quad
            .iter()
            .enumerate()
            .fold(0u64, |w, (t, &x)| w | u64::from(x) << (16 * t));
        let pattern = _mm256_set1_epi64x(word as i64);
        let (quarters, _) = group.as_chunks::<16>();
        for (a, quarter) in acc.iter_mut().zip(quarters) {
            // SAFETY: `quarter` is 16 readable bytes, exactly what `loadu_si128` reads.
            let x = unsafe { _mm_loadu_si128(quarter.as_ptr().cast()) };
            *a = _mm256_add_epi32(*a, _mm256_madd_epi16(_mm256_cvtepi8_epi16(x), pattern));
        }
    }
    let mut lanes = [0i32; 32];
    for (out, a) in lanes.chunks_exact_mut(8).zip(acc) {
        // SAFETY: `out` is 8 writable i32 (32 bytes); storeu needs no alignment.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), a) };
    }
    let mut rows: [i32; scalar::BLOCK_ROWS] =
        std::array::from_fn(|r| lanes[2 * r].wrapping_add(lanes[2 * r + 1]));
    scalar::rows16_rest(&mut rows, q, b, quads.len());
    rows
}

static TABLE: Kernels = Kernels {
    isa: Isa::Avx2,
    dot_f32: dot_f32_k,
    l2sq_f32: l2sq_f32_k,
    l1_f32: l1_f32_k,
    cos_f32: cos_f32_k,
    dot_norm_f32: dot_norm_f32_k,
    hamming_f32: hamming_f32_k,
    jaccard_f32: jaccard_f32_k,
    dot_f16: dot_f16_k,
    l2sq_f16: l2sq_f16_k,
    cos_f16: cos_f16_k,
    dot_norm_f16: dot_norm_f16_k,
    dot_u8: dot_u8_k,
    l2sq_u8: l2sq_u8_k,
    dot_i8: dot_i8_k,
    l2sq_i8: l2sq_i8_k,
    hamming_bits: super::popcnt::hamming_bits,
    jaccard_bits: super::popcnt::jaccard_bits,
    and_popcount_planes: super::popcnt::and_popcount_planes,
    dot_f32_u8: dot_f32_u8_k,
    adc_f32_u8: adc_f32_u8_k,
    dot_u4_u8: crate::scalar::dot_u4_u8,
    dot_u8_i8_x16: dot_u8_i8_x16_k,
};

/// `Σ qᵢcᵢ` of an `f32` query and `u8` codes: eight codes widened to `f32` per step, four
/// independent FMA chains.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn dot_f32_u8_k(q: &[f32], c: &[u8]) -> f32 {
    let n = q.len().min(c.len());
    let (qc, qt) = q[..n].as_chunks::<8>();
    let (cc, ct) = c[..n].as_chunks::<8>();
    let (qc4, qc1) = qc.as_chunks::<4>();
    let (cc4, cc1) = cc.as_chunks::<4>();
    let mut s0 = _mm256_setzero_ps();
    let (mut s1, mut s2, mut s3) = (s0, s0, s0);
    for (x, y) in qc4.iter().zip(cc4) {
        s0 = _mm256_fmadd_ps(ld_f32(&x[0]), ld_u8x8_ps(&y[0]), s0);
        s1 = _mm256_fmadd_ps(ld_f32(&x[1]), ld_u8x8_ps(&y[1]), s1);
        s2 = _mm256_fmadd_ps(ld_f32(&x[2]), ld_u8x8_ps(&y[2]), s2);
        s3 = _mm256_fmadd_ps(ld_f32(&x[3]), ld_u8x8_ps(&y[3]), s3);
    }
    for (x, y) in qc1.iter().zip(cc1) {
        s2 = _mm256_fmadd_ps(ld_f32(x), ld_u8x8_ps(y), s2);
    }
    if !qt.is_empty() {
        s3 = _mm256_fmadd_ps(ld_f32(&pad(qt)), ld_u8x8_ps(&pad(ct)), s3);
    }
    hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)))
}

/// Product-quantization lookups: the table entries of eight subspaces fetched by one
/// gather (`vgatherdps`) per step, two independent `f32` accumulators; the last `< 8`
/// subspaces are looked up one by one.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn adc_f32_u8_k(table: &[f32], codes: &[u8]) -> f32 {
    let m = (table.len() / crate::scalar::ADC_ROW).min(codes.len());
    // Gather offsets are `i32`: tables beyond 2³¹ entries (never built) take the oracle.
    if table.len() > i32::MAX as usize {
        return crate::scalar::adc_f32_u8(table, codes);
    }
    let (cc, ct) = codes[..m].as_chunks::<8>();
    let rows = _mm256_setr_epi32(0, 256, 512, 768, 1024, 1280, 1536, 1792);
    let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for (i, c) in cc.iter().enumerate() {
        // SAFETY: `c` refers to 8 readable bytes, exactly what `loadl_epi64` reads.
        let bytes = unsafe { _mm_loadl_epi64(c.as_ptr().cast()) };
        let base = _mm256_set1_epi32((i * 8 * 256) as i32);
        let idx = _mm256_add_epi32(_mm256_add_epi32(base, rows), _mm256_cvtepu8_epi32(bytes));
        // SAFETY: lane `l` reads `table[(8i + l)·256 + cₗ]` with `8i + l < m` and `cₗ < 256`,
        // so every index is below `m·256 <= table.len()` (which fits `i32`, checked above).
        let v = unsafe { _mm256_i32gather_ps::<4>(table.as_ptr(), idx) };
        if i % 2 == 0 {
            s0 = _mm256_add_ps(s0, v);
        } else {
            s1 = _mm256_add_ps(s1, v);
        }
    }
    let mut sum = hsum_ps(_mm256_add_ps(s0, s1));
    let done = cc.len() * 8;
    for (j, &c) in ct.iter().enumerate() {
        sum += table[(done + j) * 256 + usize::from(c)];
    }
    sum
}

/// Does this CPU have every feature these kernels enable (AVX2, FMA, F16C, POPCNT)?
pub(super) fn detected() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
        && is_x86_feature_detected!("popcnt")
}

/// The AVX2 table, if this CPU has AVX2, FMA, F16C and POPCNT.
pub(crate) fn table() -> Option<&'static Kernels> {
    detected().then_some(&TABLE)
}
