//! Nibble-packed 4-bit codes x bytes (extended RaBitQ's estimator; layout and meaning in
//! [`crate::scalar::dot_u4_u8`]), AVX-512 BW and VNNI.

use std::arch::x86_64::*;

use super::{ld_u8, ld_u64};

/// The whole chunks of [`crate::scalar::dot_u4_u8`]'s layout that `q` covers, by `step`
/// (which adds one chunk's 64 low-nibble and 64 high-nibble products into the
/// accumulator); the rest (a partial chunk or one `q` does not cover) by the oracle.
macro_rules! nibble_chunks {
    ($a:expr, $q:expr, |$acc:ident, $code:ident, $lo:ident, $hi:ident| $step:expr) => {{
        let (a, q) = ($a, $q);
        let whole = (a.len() / 8).min(q.len() / 128);
        let (ac, _) = a[..whole * 8].as_chunks::<8>();
        let (qc, _) = q[..whole * 128].as_chunks::<64>();
        let mut $acc = _mm512_setzero_si512();
        for (c, qs) in ac.iter().zip(qc.chunks_exact(2)) {
            let $code = ld_u64(c);
            let ($lo, $hi) = (ld_u8(&qs[0]), ld_u8(&qs[1]));
            $step;
        }
        let head = _mm512_reduce_add_epi32($acc) as u32;
        // The oracle only for a remainder (a 128-d code has none: no call at all).
        if whole * 8 == a.len() {
            head
        } else {
            head.wrapping_add(crate::scalar::dot_u4_u8(
                &a[whole * 8..],
                &q[(whole * 128).min(q.len())..],
            ))
        }
    }};
}

/// `Σ cᵢqᵢ` of nibble-packed codes and bytes: per 64-byte chunk the low nibbles (mask) and
/// high nibbles (shift, mask) as signed bytes 0..=15 against the query's unsigned bytes,
/// `vpmaddubsw` (at most 2 * 255 * 15 per `i16` lane, no saturation) then `vpmaddwd` by 1.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(super) fn dot_u4_u8_k(a: &[u64], q: &[u8]) -> u32 {
    let mask = _mm512_set1_epi8(0x0f);
    let ones = _mm512_set1_epi16(1);
    nibble_chunks!(a, q, |acc, code, lo, hi| {
        let cl = _mm512_and_si512(code, mask);
        let ch = _mm512_and_si512(_mm512_srli_epi16::<4>(code), mask);
        let p = _mm512_add_epi16(_mm512_maddubs_epi16(lo, cl), _mm512_maddubs_epi16(hi, ch));
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(p, ones));
    })
}

/// [`dot_u4_u8_k`] with `vpdpbusd` (unsigned query bytes x signed nibbles 0..=15).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn dot_u4_u8_vnni(a: &[u64], q: &[u8]) -> u32 {
    let mask = _mm512_set1_epi8(0x0f);
    nibble_chunks!(a, q, |acc, code, lo, hi| {
        let cl = _mm512_and_si512(code, mask);
        let ch = _mm512_and_si512(_mm512_srli_epi16::<4>(code), mask);
        acc = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc, lo, cl), hi, ch);
    })
}
