//! Bytes x 16 interleaved signed-byte rows (layout and meaning in
//! [`crate::scalar::dot_u8_i8_x16`]), AVX-512 VNNI: one `vpdpbusd` a 64-byte group (without
//! VNNI the table borrows the AVX2 kernel).

use std::arch::x86_64::*;

use super::ld_i8;
use crate::scalar::{self, BLOCK_ROWS};

/// Each whole group `q` covers: its four query bytes broadcast to every row's lane, times
/// the group's signed bytes, summed into the row's lane by `vpdpbusd`; the rest (a partial
/// group, or groups past `q`'s end) by the oracle.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) fn dot_u8_i8_x16_vnni(q: &[u8], b: &[i8]) -> [i32; BLOCK_ROWS] {
    let (quads, groups) = scalar::rows16_groups(q, b);
    // Four accumulators, so that consecutive `vpdpbusd` do not wait on each other (one
    // chain of 32 would be bound by the instruction's latency, not its throughput).
    let mut acc = [_mm512_setzero_si512(); 4];
    let (quad4, quad_rest) = quads.as_chunks::<4>();
    let (group4, group_rest) = groups.as_chunks::<4>();
    for (qs, gs) in quad4.iter().zip(group4) {
        for ((a, quad), group) in acc.iter_mut().zip(qs).zip(gs) {
            let qv = _mm512_set1_epi32(i32::from_le_bytes(*quad));
            *a = _mm512_dpbusd_epi32(*a, qv, ld_i8(group));
        }
    }
    for ((a, quad), group) in acc.iter_mut().zip(quad_rest).zip(group_rest) {
        let qv = _mm512_set1_epi32(i32::from_le_bytes(*quad));
        *a = _mm512_dpbusd_epi32(*a, qv, ld_i8(group));
    }
    let sum = _mm512_add_epi32(
        _mm512_add_epi32(acc[0], acc[1]),
        _mm512_add_epi32(acc[2], acc[3]),
    );
    let mut out = [0i32; BLOCK_ROWS];
    // SAFETY: `out` is 16 writable i32 (64 bytes); storeu needs no alignment.
    unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast(), sum) };
    scalar::rows16_rest(&mut out, q, b, quads.len());
    out
}
