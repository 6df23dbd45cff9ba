//! AVX-512 kernels (F/BW/VL + FMA + F16C), and the VNNI + VPOPCNTDQ variants of the
//! integer and bit kernels.
//!
//! The `f32` dot entry is the AVX2 kernel (256-bit, four accumulators): on Zen 4, which
//! executes 512-bit operations as two 256-bit halves, it matched the best 512-bit variant we
//! measured from L1 and streamed from memory at least as fast. On this machine, kernels with
//! more independent chains win from L1 but can lose 5-15% when streaming from memory, so the
//! f32 L2² and cosine kernels keep one 16-lane chain per sum (see their comments); the f16
//! kernels keep two. All use unaligned loads and finish with one masked load for the tail
//! (`maskz` loads never touch the masked-off lanes, so they cannot fault past the slice).
//! Integer kernels widen to `i16` and multiply-add pairs into `i32` lanes (`vpmaddwd`, or
//! `vpdpwssd` with VNNI); the VNNI u8 and i8 dot products use `vpdpbusd` on biased bytes.
//!
//! Soundness: the `#[target_feature]` kernels are only reachable through [`TABLE`] /
//! [`TABLE_VNNI`], which [`table`] / [`table_vnni`] hand out only after detecting every
//! feature the kernels enable; [`Kernels`]' safe methods call them from there.

use std::arch::x86_64::*;

use half::f16;

use crate::dispatch::{Isa, Kernels};
use crate::{CosineParts, DotNorm, SetCounts};

// ---------------------------------------------------------------------------------------
// Loads. Each takes a reference whose extent covers every byte read.

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn ld_f32(p: &[f32; 16]) -> __m512 {
    // SAFETY: `p` refers to 16 contiguous f32 (64 readable bytes); loadu needs no alignment.
    unsafe { _mm512_loadu_ps(p.as_ptr()) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn tail_f32(t: &[f32]) -> __m512 {
    let len = t.len().min(16);
    let mask = ((1u32 << len) - 1) as __mmask16;
    // SAFETY: the mask selects lanes 0..len, all inside `t`; AVX-512 masked loads do not
    // access (or fault on) masked-off lanes.
    unsafe { _mm512_maskz_loadu_ps(mask, t.as_ptr()) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn ld_f16(p: &[f16; 16]) -> __m512 {
    // SAFETY: `p` refers to 16 contiguous f16 (32 readable bytes); loadu needs no alignment.
    let h = unsafe { _mm256_loadu_si256(p.as_ptr().cast()) };
    _mm512_cvtph_ps(h)
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn tail_f16(t: &[f16]) -> __m512 {
    let len = t.len().min(16);
    let mask = ((1u32 << len) - 1) as __mmask16;
    // SAFETY: the mask selects the 16-bit lanes 0..len, all inside `t`; masked-off lanes
    // are not accessed (AVX-512BW/VL fault suppression).
    let h = unsafe { _mm256_maskz_loadu_epi16(mask, t.as_ptr().cast()) };
    _mm512_cvtph_ps(h)
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn ld_u8(p: &[u8; 64]) -> __m512i {
    // SAFETY: `p` refers to 64 readable bytes; loadu needs no alignment.
    unsafe { _mm512_loadu_si512(p.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn tail_u8(t: &[u8]) -> __m512i {
    let len = t.len().min(63);
    let mask: __mmask64 = (1u64 << len) - 1;
    // SAFETY: the mask selects bytes 0..len, all inside `t`; masked-off bytes are not
    // accessed (AVX-512BW fault suppression).
    unsafe { _mm512_maskz_loadu_epi8(mask, t.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn ld_i8(p: &[i8; 64]) -> __m512i {
    // SAFETY: `p` refers to 64 readable bytes; loadu needs no alignment.
    unsafe { _mm512_loadu_si512(p.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn tail_i8(t: &[i8]) -> __m512i {
    let len = t.len().min(63);
    let mask: __mmask64 = (1u64 << len) - 1;
    // SAFETY: as in `tail_u8`: only bytes 0..len of `t` are accessed.
    unsafe { _mm512_maskz_loadu_epi8(mask, t.as_ptr()) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn ld_u64(p: &[u64; 8]) -> __m512i {
    // SAFETY: `p` refers to 8 u64 (64 readable bytes); loadu needs no alignment.
    unsafe { _mm512_loadu_si512(p.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn tail_u64(t: &[u64]) -> __m512i {
    let len = t.len().min(8);
    let mask = ((1u32 << len) - 1) as __mmask8;
    // SAFETY: the mask selects 64-bit lanes 0..len, all inside `t`; masked-off lanes are not
    // accessed.
    unsafe { _mm512_maskz_loadu_epi64(mask, t.as_ptr().cast()) }
}

/// Halves a 16-lane sum to 8 lanes (AVX-512F only: no DQ `extractf32x8`).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn fold256(v: __m512) -> __m256 {
    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
    _mm256_add_ps(_mm512_castps512_ps256(v), hi)
}

/// Horizontal sums of three accumulators at once: `[Σa, Σb, Σc, Σc]`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn reduce3(a: __m512, b: __m512, c: __m512) -> [f32; 4] {
    let (a, b, c) = (fold256(a), fold256(b), fold256(c));
    let h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, c));
    let s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
    let mut out = [0.0f32; 4];
    // SAFETY: `out` is 4 writable f32 (16 bytes); storeu needs no alignment.
    unsafe { _mm_storeu_ps(out.as_mut_ptr(), s) };
    out
}

/// Horizontal sums of two accumulators at once: `[Σa, Σb, Σa, Σb]`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn reduce2(a: __m512, b: __m512) -> [f32; 4] {
    reduce3(a, b, b)
}

// ---------------------------------------------------------------------------------------
// Float kernels, generated for f32 and f16 storage (both computed in f32 lanes).

macro_rules! float_dot_l2 {
    ($elem:ty, $ld:ident, $tail:ident, $dot:ident, $l2sq:ident) => {
        #[target_feature(enable = "avx512f,avx512bw,avx512vl,fma,f16c")]
        fn $dot(a: &[$elem], b: &[$elem]) -> f32 {
            let n = a.len().min(b.len());
            let (ac, at) = a[..n].as_chunks::<16>();
            let (bc, bt) = b[..n].as_chunks::<16>();
            let (ac2, ac1) = ac.as_chunks::<2>();
            let (bc2, bc1) = bc.as_chunks::<2>();
            let (mut s0, mut s1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
            for (x, y) in ac2.iter().zip(bc2) {
                s0 = _mm512_fmadd_ps($ld(&x[0]), $ld(&y[0]), s0);
                s1 = _mm512_fmadd_ps($ld(&x[1]), $ld(&y[1]), s1);
            }
            for (x, y) in ac1.iter().zip(bc1) {
                s0 = _mm512_fmadd_ps($ld(x), $ld(y), s0);
            }
            if !at.is_empty() {
                s1 = _mm512_fmadd_ps($tail(at), $tail(bt), s1);
            }
            _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
        }

        #[target_feature(enable = "avx512f,avx512bw,avx512vl,fma,f16c")]
        fn $l2sq(a: &[$elem], b: &[$elem]) -> f32 {
            let n = a.len().min(b.len());
            let (ac, at) = a[..n].as_chunks::<16>();
            let (bc, bt) = b[..n].as_chunks::<16>();
            let (ac2, ac1) = ac.as_chunks::<2>();
            let (bc2, bc1) = bc.as_chunks::<2>();
            let (mut s0, mut s1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
            for (x, y) in ac2.iter().zip(bc2) {
                let d0 = _mm512_sub_ps($ld(&x[0]), $ld(&y[0]));
                let d1 = _mm512_sub_ps($ld(&x[1]), $ld(&y[1]));
                s0 = _mm512_fmadd_ps(d0, d0, s0);
                s1 = _mm512_fmadd_ps(d1, d1, s1);
            }
            for (x, y) in ac1.iter().zip(bc1) {
                let d = _mm512_sub_ps($ld(x), $ld(y));
                s0 = _mm512_fmadd_ps(d, d, s0);
            }
            if !at.is_empty() {
                let d = _mm512_sub_ps($tail(at), $tail(bt));
                s1 = _mm512_fmadd_ps(d, d, s1);
            }
            _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
        }
    };
}

macro_rules! float_norms {
    ($elem:ty, $ld:ident, $tail:ident, $cos:ident, $dot_norm:ident) => {
        #[target_feature(enable = "avx512f,avx512bw,avx512vl,fma,f16c")]
        fn $cos(a: &[$elem], b: &[$elem]) -> CosineParts {
            let n = a.len().min(b.len());
            let (ac, at) = a[..n].as_chunks::<16>();
            let (bc, bt) = b[..n].as_chunks::<16>();
            let z = _mm512_setzero_ps();
            // One accumulator per sum: streamed from memory (where cosine calls usually
            // read their second vector) this beat two interleaved chains by 6-11% at 768
            // dimensions, while from L1 it gives up 10-15% (figures in BENCHMARKS.md).
            let (mut ab0, mut aa0, mut bb0) = (z, z, z);
            for (x, y) in ac.iter().zip(bc) {
                let (x0, y0) = ($ld(x), $ld(y));
                ab0 = _mm512_fmadd_ps(x0, y0, ab0);
                aa0 = _mm512_fmadd_ps(x0, x0, aa0);
                bb0 = _mm512_fmadd_ps(y0, y0, bb0);
            }
            if !at.is_empty() {
                let (x1, y1) = ($tail(at), $tail(bt));
                ab0 = _mm512_fmadd_ps(x1, y1, ab0);
                aa0 = _mm512_fmadd_ps(x1, x1, aa0);
                bb0 = _mm512_fmadd_ps(y1, y1, bb0);
            }
            let [dot, norm_a_sq, norm_b_sq, _] = reduce3(ab0, aa0, bb0);
            CosineParts {
                dot,
                norm_a_sq,
                norm_b_sq,
            }
        }

        #[target_feature(enable = "avx512f,avx512bw,avx512vl,fma,f16c")]
        fn $dot_norm(q: &[$elem], c: &[$elem]) -> DotNorm {
            let n = q.len().min(c.len());
            let (qc_, qt) = q[..n].as_chunks::<16>();
            let (cc_, ct) = c[..n].as_chunks::<16>();
            let (q2, q1) = qc_.as_chunks::<2>();
            let (c2, c1) = cc_.as_chunks::<2>();
            let z = _mm512_setzero_ps();
            let (mut qc0, mut cc0, mut qc1, mut cc1) = (z, z, z, z);
            for (x, y) in q2.iter().zip(c2) {
                let (x0, y0) = ($ld(&x[0]), $ld(&y[0]));
                let (x1, y1) = ($ld(&x[1]), $ld(&y[1]));
                qc0 = _mm512_fmadd_ps(x0, y0, qc0);
                cc0 = _mm512_fmadd_ps(y0, y0, cc0);
                qc1 = _mm512_fmadd_ps(x1, y1, qc1);
                cc1 = _mm512_fmadd_ps(y1, y1, cc1);
            }
            for (x, y) in q1.iter().zip(c1) {
                let (x0, y0) = ($ld(x), $ld(y));
                qc0 = _mm512_fmadd_ps(x0, y0, qc0);
                cc0 = _mm512_fmadd_ps(y0, y0, cc0);
            }
            if !qt.is_empty() {
                let (x1, y1) = ($tail(qt), $tail(ct));
                qc1 = _mm512_fmadd_ps(x1, y1, qc1);
                cc1 = _mm512_fmadd_ps(y1, y1, cc1);
            }
            let [dot, norm_sq, _, _] = reduce2(_mm512_add_ps(qc0, qc1), _mm512_add_ps(cc0, cc1));
            DotNorm { dot, norm_sq }
        }
    };
}

/// f32 L2² in 512-bit lanes with one chain of separate multiply and add (`vaddps`, 3 cycles,
/// is the chain instead of a 4-cycle FMA). Streamed from memory this held even with simsimd
/// at 768 dimensions where the four-chain AVX2 kernel ran 2-8% behind; from L1 it is
/// 0.75-0.83 of simsimd's time (figures in BENCHMARKS.md). The double rounding stays well
/// inside the crate's error bound.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,fma,f16c")]
fn l2sq_f32_k(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<16>();
    let (bc, bt) = b[..n].as_chunks::<16>();
    let mut s0 = _mm512_setzero_ps();
    for (x, y) in ac.iter().zip(bc) {
        let d = _mm512_sub_ps(ld_f32(x), ld_f32(y));
        s0 = _mm512_add_ps(s0, _mm512_mul_ps(d, d));
    }
    if !at.is_empty() {
        let d = _mm512_sub_ps(tail_f32(at), tail_f32(bt));
        s0 = _mm512_fmadd_ps(d, d, s0);
    }
    _mm512_reduce_add_ps(s0)
}

/// f32 L1 (`Σ |aᵢ-bᵢ|`) in 512-bit lanes with two add chains (`vsubps`, `vandps` via
/// `_mm512_abs_ps`, `vaddps`); the tail is one masked load (masked-off lanes are zero on
/// both sides, so they add nothing).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,fma,f16c")]
fn l1_f32_k(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<16>();
    let (bc, bt) = b[..n].as_chunks::<16>();
    let (ac2, ac1) = ac.as_chunks::<2>();
    let (bc2, bc1) = bc.as_chunks::<2>();
    let mut s0 = _mm512_setzero_ps();
    let mut s1 = s0;
    for (x, y) in ac2.iter().zip(bc2) {
        s0 = _mm512_add_ps(
            s0,
            _mm512_abs_ps(_mm512_sub_ps(ld_f32(&x[0]), ld_f32(&y[0]))),
        );
        s1 = _mm512_add_ps(
            s1,
            _mm512_abs_ps(_mm512_sub_ps(ld_f32(&x[1]), ld_f32(&y[1]))),
        );
    }
    for (x, y) in ac1.iter().zip(bc1) {
        s0 = _mm512_add_ps(s0, _mm512_abs_ps(_mm512_sub_ps(ld_f32(x), ld_f32(y))));
    }
    if !at.is_empty() {
        s1 = _mm512_add_ps(s1, _mm512_abs_ps(_mm512_sub_ps(tail_f32(at), tail_f32(bt))));
    }
    _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
}

// f32 dot comes from the AVX2 module (256-bit; see the module docs).
float_dot_l2!(f16, ld_f16, tail_f16, dot_f16_k, l2sq_f16_k);
float_norms!(f32, ld_f32, tail_f32, cos_f32_k, dot_norm_f32_k);
float_norms!(f16, ld_f16, tail_f16, cos_f16_k, dot_norm_f16_k);

// ---------------------------------------------------------------------------------------
// Set-ness kernels over f32 (exact counts).

#[target_feature(enable = "avx512f,avx512bw,avx512vl,popcnt")]
fn hamming_f32_k(a: &[f32], b: &[f32]) -> u64 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<16>();
    let (bc, bt) = b[..n].as_chunks::<16>();
    let half = _mm512_set1_ps(0.5);
    let mut count = 0u64;
    for (x, y) in ac.iter().zip(bc) {
        let ma = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(ld_f32(x), half);
        let mb = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(ld_f32(y), half);
        count += u64::from((ma ^ mb).count_ones());
    }
    if !at.is_empty() {
        let ma = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(tail_f32(at), half);
        let mb = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(tail_f32(bt), half);
        count += u64::from((ma ^ mb).count_ones());
    }
    count
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,popcnt")]
fn jaccard_f32_k(a: &[f32], b: &[f32]) -> SetCounts {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<16>();
    let (bc, bt) = b[..n].as_chunks::<16>();
    let half = _mm512_set1_ps(0.5);
    let (mut inter, mut union) = (0u64, 0u64);
    for (x, y) in ac.iter().zip(bc) {
        let ma = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(ld_f32(x), half);
        let mb = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(ld_f32(y), half);
        inter += u64::from((ma & mb).count_ones());
        union += u64::from((ma | mb).count_ones());
    }
    if !at.is_empty() {
        let ma = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(tail_f32(at), half);
        let mb = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(tail_f32(bt), half);
        inter += u64::from((ma & mb).count_ones());
        union += u64::from((ma | mb).count_ones());
    }
    SetCounts {
        intersection: inter,
        union,
    }
}

// Integer and bit kernels (u8 / i8, VNNI, VPOPCNTDQ): `avx512/integer.rs`.
mod integer;
use integer::{
    and_popcount_planes_vpop, dot_i8_k, dot_i8_vnni, dot_u8_k, dot_u8_vnni, hamming_bits_vpop,
    jaccard_bits_vpop, l2sq_i8_k, l2sq_i8_vnni, l2sq_u8_k, l2sq_u8_vnni,
};

// ---------------------------------------------------------------------------------------
// Asymmetric f32 x u8 (scalar-quantization codes).

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn ld_u8x16_ps(p: &[u8; 16]) -> __m512 {
    // SAFETY: `p` refers to 16 readable bytes, exactly what `loadu_si128` reads.
    let b = unsafe { _mm_loadu_si128(p.as_ptr().cast()) };
    _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b))
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn tail_u8x16_ps(t: &[u8]) -> __m512 {
    let len = t.len().min(16);
    let mask = ((1u32 << len) - 1) as __mmask16;
    // SAFETY: the mask selects bytes 0..len, all inside `t`; masked-off bytes are not
    // accessed (AVX-512BW/VL fault suppression).
    let b = unsafe { _mm_maskz_loadu_epi8(mask, t.as_ptr().cast()) };
    _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b))
}

/// `Σ qᵢcᵢ` of an `f32` query and `u8` codes: sixteen codes widened to `f32` per step, two
/// independent FMA chains (the conversion, not the FMA, bounds the throughput), one masked
/// step for the tail.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn dot_f32_u8_k(q: &[f32], c: &[u8]) -> f32 {
    let n = q.len().min(c.len());
    let (qc, qt) = q[..n].as_chunks::<16>();
    let (cc, ct) = c[..n].as_chunks::<16>();
    let (qc2, qc1) = qc.as_chunks::<2>();
    let (cc2, cc1) = cc.as_chunks::<2>();
    let mut s0 = _mm512_setzero_ps();
    let mut s1 = s0;
    for (x, y) in qc2.iter().zip(cc2) {
        s0 = _mm512_fmadd_ps(ld_f32(&x[0]), ld_u8x16_ps(&y[0]), s0);
        s1 = _mm512_fmadd_ps(ld_f32(&x[1]), ld_u8x16_ps(&y[1]), s1);
    }
    for (x, y) in qc1.iter().zip(cc1) {
        s0 = _mm512_fmadd_ps(ld_f32(x), ld_u8x16_ps(y), s0);
    }
    if !qt.is_empty() {
        s1 = _mm512_fmadd_ps(tail_f32(qt), tail_u8x16_ps(ct), s1);
    }
    _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
}

// Nibble-packed 4-bit codes x bytes (extended RaBitQ): `avx512/nibble.rs`.
mod nibble;
use nibble::{dot_u4_u8_k, dot_u4_u8_vnni};

// Bytes x 16 interleaved signed-byte rows (RaBitQ's list scan): `avx512/rows16.rs`.
mod rows16;
use rows16::dot_u8_i8_x16_vnni;

// ---------------------------------------------------------------------------------------
// The tables.

const BASE: Kernels = Kernels {
    isa: Isa::Avx512,
    dot_f32: super::avx2::dot_f32_k,
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
    adc_f32_u8: super::avx2::adc_f32_u8_k,
    dot_u4_u8: dot_u4_u8_k,
    dot_u8_i8_x16: super::avx2::dot_u8_i8_x16_k,
};

static TABLE: Kernels = BASE;

static TABLE_VNNI: Kernels = Kernels {
    isa: Isa::Avx512Vnni,
    dot_u8: dot_u8_vnni,
    l2sq_u8: l2sq_u8_vnni,
    dot_i8: dot_i8_vnni,
    l2sq_i8: l2sq_i8_vnni,
    hamming_bits: hamming_bits_vpop,
    jaccard_bits: jaccard_bits_vpop,
    and_popcount_planes: and_popcount_planes_vpop,
    dot_u4_u8: dot_u4_u8_vnni,
    dot_u8_i8_x16: dot_u8_i8_x16_vnni,
    ..BASE
};

/// Also checks everything the borrowed AVX2 kernels need.
fn detected() -> bool {
    super::avx2::detected()
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
        && is_x86_feature_detected!("popcnt")
}

fn detected_vnni() -> bool {
    detected()
        && is_x86_feature_detected!("avx512vnni")
        && is_x86_feature_detected!("avx512vpopcntdq")
}

/// The AVX-512 (F/BW/VL) table, if this CPU has those features plus FMA, F16C and POPCNT.
pub(crate) fn table() -> Option<&'static Kernels> {
    detected().then_some(&TABLE)
}

/// The AVX-512 table with VNNI and VPOPCNTDQ kernels, if this CPU has them too.
pub(crate) fn table_vnni() -> Option<&'static Kernels> {
    detected_vnni().then_some(&TABLE_VNNI)
}
