//! AVX-512 integer and bit kernels: `u8` / `i8` dot products and squared L2 (BW, and VNNI's
//! `vpdpbusd` / `vpdpwssd`), and the VPOPCNTDQ bit kernels (Hamming, Jaccard, RaBitQ's
//! plane popcounts). Reached only through the parent's tables (see its soundness note).

use std::arch::x86_64::*;

use super::{ld_i8, ld_u8, ld_u64, tail_i8, tail_u8, tail_u64};
use crate::SetCounts;

// Integer kernels. `$body` runs once per 64-byte block with `$x`, `$y` bound to the
// blocks of `a` and `b` (the tail block zero-filled by masked loads; zeros add nothing to
// any of these sums, except where a kernel says otherwise).

macro_rules! byte_blocks {
    ($a:expr, $b:expr, $ld:ident, $tail:ident, |$x:ident, $y:ident| $body:block) => {{
        let n = $a.len().min($b.len());
        let (ac, at) = $a[..n].as_chunks::<64>();
        let (bc, bt) = $b[..n].as_chunks::<64>();
        for (xa, ya) in ac.iter().zip(bc) {
            let $x = $ld(xa);
            let $y = $ld(ya);
            $body
        }
        if !at.is_empty() {
            let $x = $tail(at);
            let $y = $tail(bt);
            $body
        }
    }};
}

/// `|x - y|` per unsigned byte.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn absdiff_u8(x: __m512i, y: __m512i) -> __m512i {
    _mm512_or_si512(_mm512_subs_epu8(x, y), _mm512_subs_epu8(y, x))
}

/// `|x - y|` per signed byte, as an unsigned byte (the difference is at most 255).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn absdiff_i8(x: __m512i, y: __m512i) -> __m512i {
    _mm512_sub_epi8(_mm512_max_epi8(x, y), _mm512_min_epi8(x, y))
}

/// Sum of squares of 64 unsigned bytes, added into two `i32` accumulators (`vpmaddwd`:
/// each `i32` lane gains at most 2 * 255² = 130_050 per block).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn add_squares_u8(d: __m512i, s0: &mut __m512i, s1: &mut __m512i) {
    let z = _mm512_setzero_si512();
    let lo = _mm512_unpacklo_epi8(d, z);
    let hi = _mm512_unpackhi_epi8(d, z);
    *s0 = _mm512_add_epi32(*s0, _mm512_madd_epi16(lo, lo));
    *s1 = _mm512_add_epi32(*s1, _mm512_madd_epi16(hi, hi));
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(super) fn dot_u8_k(a: &[u8], b: &[u8]) -> u32 {
    let z = _mm512_setzero_si512();
    let (mut s0, mut s1) = (z, z);
    byte_blocks!(a, b, ld_u8, tail_u8, |x, y| {
        let p0 = _mm512_madd_epi16(_mm512_unpacklo_epi8(x, z), _mm512_unpacklo_epi8(y, z));
        let p1 = _mm512_madd_epi16(_mm512_unpackhi_epi8(x, z), _mm512_unpackhi_epi8(y, z));
        s0 = _mm512_add_epi32(s0, p0);
        s1 = _mm512_add_epi32(s1, p1);
    });
    _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1)) as u32
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(super) fn l2sq_u8_k(a: &[u8], b: &[u8]) -> u32 {
    let z = _mm512_setzero_si512();
    let (mut s0, mut s1) = (z, z);
    byte_blocks!(a, b, ld_u8, tail_u8, |x, y| {
        add_squares_u8(absdiff_u8(x, y), &mut s0, &mut s1);
    });
    _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1)) as u32
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(super) fn dot_i8_k(a: &[i8], b: &[i8]) -> i32 {
    let z = _mm512_setzero_si512();
    let (mut s0, mut s1) = (z, z);
    byte_blocks!(a, b, ld_i8, tail_i8, |x, y| {
        let xl = _mm512_cvtepi8_epi16(_mm512_castsi512_si256(x));
        let yl = _mm512_cvtepi8_epi16(_mm512_castsi512_si256(y));
        let xh = _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64::<1>(x));
        let yh = _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64::<1>(y));
        s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(xl, yl));
        s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(xh, yh));
    });
    _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1))
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(super) fn l2sq_i8_k(a: &[i8], b: &[i8]) -> u32 {
    let z = _mm512_setzero_si512();
    let (mut s0, mut s1) = (z, z);
    byte_blocks!(a, b, ld_i8, tail_i8, |x, y| {
        add_squares_u8(absdiff_i8(x, y), &mut s0, &mut s1);
    });
    _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1)) as u32
}

// VNNI variants.

/// `Σ aᵢbᵢ` with `vpdpbusd` (unsigned × signed bytes): `b` is shifted into `i8` range as
/// `b - 128` (XOR 0x80), and `128 * Σ aᵢ` (from `vpsadbw`) is added back. Zero-filled tail
/// bytes have `a = 0`, so they add nothing to either sum.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn dot_u8_vnni(a: &[u8], b: &[u8]) -> u32 {
    let z = _mm512_setzero_si512();
    let flip = _mm512_set1_epi8(i8::MIN);
    let (mut prod, mut sum_a) = (z, z);
    byte_blocks!(a, b, ld_u8, tail_u8, |x, y| {
        prod = _mm512_dpbusd_epi32(prod, x, _mm512_xor_si512(y, flip));
        sum_a = _mm512_add_epi64(sum_a, _mm512_sad_epu8(x, z));
    });
    let prod = _mm512_reduce_add_epi32(prod) as u32;
    let sum_a = _mm512_reduce_add_epi64(sum_a) as u32;
    prod.wrapping_add(sum_a.wrapping_mul(128))
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
fn add_squares_u8_vnni(d: __m512i, s0: &mut __m512i, s1: &mut __m512i) {
    let z = _mm512_setzero_si512();
    let lo = _mm512_unpacklo_epi8(d, z);
    let hi = _mm512_unpackhi_epi8(d, z);
    *s0 = _mm512_dpwssd_epi32(*s0, lo, lo);
    *s1 = _mm512_dpwssd_epi32(*s1, hi, hi);
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn l2sq_u8_vnni(a: &[u8], b: &[u8]) -> u32 {
    let z = _mm512_setzero_si512();
    let (mut s0, mut s1) = (z, z);
    byte_blocks!(a, b, ld_u8, tail_u8, |x, y| {
        add_squares_u8_vnni(absdiff_u8(x, y), &mut s0, &mut s1);
    });
    _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1)) as u32
}

/// `Σ aᵢbᵢ = Σ (aᵢ+128)·bᵢ − 128·Σ bᵢ`: `vpdpbusd` multiplies unsigned by signed bytes, and
/// `aᵢ XOR 0x80` is `aᵢ + 128` as an unsigned byte; a second `vpdpbusd` against ones sums
/// `bᵢ`. Two accumulators of each sum keep the multiply-adds off one dependency chain. Both
/// sums wrap modulo 2³² (non-saturating `vpdpbusd`), so the difference is bit-identical to
/// the oracle's wrapping sum. Masked-off tail bytes are zero in both vectors and add nothing.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn dot_i8_vnni(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<64>();
    let (bc, bt) = b[..n].as_chunks::<64>();
    let (ac2, ac1) = ac.as_chunks::<2>();
    let (bc2, bc1) = bc.as_chunks::<2>();
    let z = _mm512_setzero_si512();
    let flip = _mm512_set1_epi8(i8::MIN);
    let ones = _mm512_set1_epi8(1);
    let (mut prod0, mut prod1, mut sum0, mut sum1) = (z, z, z, z);
    for (x, y) in ac2.iter().zip(bc2) {
        let (y0, y1) = (ld_i8(&y[0]), ld_i8(&y[1]));
        prod0 = _mm512_dpbusd_epi32(prod0, _mm512_xor_si512(ld_i8(&x[0]), flip), y0);
        prod1 = _mm512_dpbusd_epi32(prod1, _mm512_xor_si512(ld_i8(&x[1]), flip), y1);
        sum0 = _mm512_dpbusd_epi32(sum0, ones, y0);
        sum1 = _mm512_dpbusd_epi32(sum1, ones, y1);
    }
    for (x, y) in ac1.iter().zip(bc1) {
        let y0 = ld_i8(y);
        prod0 = _mm512_dpbusd_epi32(prod0, _mm512_xor_si512(ld_i8(x), flip), y0);
        sum0 = _mm512_dpbusd_epi32(sum0, ones, y0);
    }
    if !at.is_empty() {
        let y1 = tail_i8(bt);
        prod1 = _mm512_dpbusd_epi32(prod1, _mm512_xor_si512(tail_i8(at), flip), y1);
        sum1 = _mm512_dpbusd_epi32(sum1, ones, y1);
    }
    let prod = _mm512_reduce_add_epi32(_mm512_add_epi32(prod0, prod1));
    let sum_b = _mm512_reduce_add_epi32(_mm512_add_epi32(sum0, sum1));
    prod.wrapping_sub(sum_b.wrapping_mul(128))
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn l2sq_i8_vnni(a: &[i8], b: &[i8]) -> u32 {
    let z = _mm512_setzero_si512();
    let (mut s0, mut s1) = (z, z);
    byte_blocks!(a, b, ld_i8, tail_i8, |x, y| {
        add_squares_u8_vnni(absdiff_i8(x, y), &mut s0, &mut s1);
    });
    _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1)) as u32
}

// Bit kernels with VPOPCNTDQ.

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq")]
pub(super) fn hamming_bits_vpop(a: &[u64], b: &[u64]) -> u64 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<8>();
    let (bc, bt) = b[..n].as_chunks::<8>();
    let (ac2, ac1) = ac.as_chunks::<2>();
    let (bc2, bc1) = bc.as_chunks::<2>();
    let z = _mm512_setzero_si512();
    let (mut s0, mut s1) = (z, z);
    for (x, y) in ac2.iter().zip(bc2) {
        let d0 = _mm512_xor_si512(ld_u64(&x[0]), ld_u64(&y[0]));
        let d1 = _mm512_xor_si512(ld_u64(&x[1]), ld_u64(&y[1]));
        s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(d0));
        s1 = _mm512_add_epi64(s1, _mm512_popcnt_epi64(d1));
    }
    for (x, y) in ac1.iter().zip(bc1) {
        let d = _mm512_xor_si512(ld_u64(x), ld_u64(y));
        s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(d));
    }
    if !at.is_empty() {
        let d = _mm512_xor_si512(tail_u64(at), tail_u64(bt));
        s1 = _mm512_add_epi64(s1, _mm512_popcnt_epi64(d));
    }
    _mm512_reduce_add_epi64(_mm512_add_epi64(s0, s1)) as u64
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq")]
pub(super) fn jaccard_bits_vpop(a: &[u64], b: &[u64]) -> SetCounts {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<8>();
    let (bc, bt) = b[..n].as_chunks::<8>();
    let z = _mm512_setzero_si512();
    let (mut inter, mut union) = (z, z);
    for (x, y) in ac.iter().zip(bc) {
        let (x, y) = (ld_u64(x), ld_u64(y));
        inter = _mm512_add_epi64(inter, _mm512_popcnt_epi64(_mm512_and_si512(x, y)));
        union = _mm512_add_epi64(union, _mm512_popcnt_epi64(_mm512_or_si512(x, y)));
    }
    if !at.is_empty() {
        let (x, y) = (tail_u64(at), tail_u64(bt));
        inter = _mm512_add_epi64(inter, _mm512_popcnt_epi64(_mm512_and_si512(x, y)));
        union = _mm512_add_epi64(union, _mm512_popcnt_epi64(_mm512_or_si512(x, y)));
    }
    SetCounts {
        intersection: _mm512_reduce_add_epi64(inter) as u64,
        union: _mm512_reduce_add_epi64(union) as u64,
    }
}

/// `Σⱼ 2ʲ · popcount(a AND bⱼ)`: per plane, eight words at a time, the counts shifted by
/// the plane's weight into one accumulator reduced once at the end.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq")]
pub(super) fn and_popcount_planes_vpop(a: &[u64], b: &[u64]) -> u64 {
    let n = a.len();
    if n == 0 {
        return 0;
    }
    let (ac, at) = a.as_chunks::<8>();
    let tail = (!at.is_empty()).then(|| tail_u64(at));
    let mut acc = _mm512_setzero_si512();
    for (j, plane) in b.chunks_exact(n).enumerate() {
        let (bc, bt) = plane.as_chunks::<8>();
        let mut s = _mm512_setzero_si512();
        for (x, y) in ac.iter().zip(bc) {
            s = _mm512_add_epi64(
                s,
                _mm512_popcnt_epi64(_mm512_and_si512(ld_u64(x), ld_u64(y))),
            );
        }
        if let Some(x) = tail {
            s = _mm512_add_epi64(s, _mm512_popcnt_epi64(_mm512_and_si512(x, tail_u64(bt))));
        }
        let shift = _mm_cvtsi64_si128((j as i64).min(64));
        acc = _mm512_add_epi64(acc, _mm512_sll_epi64(s, shift));
    }
    _mm512_reduce_add_epi64(acc) as u64
}
