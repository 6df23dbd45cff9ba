//! NEON kernels for aarch64.
//!
//! NEON is mandatory on aarch64 and enabled in the baseline of every aarch64 Rust target,
//! so calling these `#[target_feature(enable = "neon")]` kernels is always sound; [`table`]
//! still asks the runtime, for symmetry with x86. Float kernels keep four 4-lane `f32`
//! accumulators (16 lanes) and zero-pad the tail block. Integer kernels use widening
//! multiplies (`umull`/`smull`, exact in 16 bits) and pairwise-accumulate into `u32`/`i32`
//! lanes. The `f16` entries reuse the scalar kernels: stable Rust has no `float16x4_t` yet.
//!
//! Checked with `cargo clippy --target aarch64-unknown-linux-gnu`, and the crate's test suite
//! has passed under `qemu-aarch64` user-mode emulation (see BENCHMARKS.md for the commands);
//! it has not yet run on ARM hardware.

use std::arch::aarch64::*;

use crate::dispatch::{Isa, Kernels};
use crate::{CosineParts, DotNorm, SetCounts, scalar};

#[inline]
#[target_feature(enable = "neon")]
fn ld(p: &[f32; 4]) -> float32x4_t {
    // SAFETY: `p` refers to 4 contiguous f32 (16 readable bytes); vld1q has no alignment
    // requirement beyond the element's.
    unsafe { vld1q_f32(p.as_ptr()) }
}

#[inline]
#[target_feature(enable = "neon")]
fn ld_u8(p: &[u8; 16]) -> uint8x16_t {
    // SAFETY: `p` refers to 16 readable bytes.
    unsafe { vld1q_u8(p.as_ptr()) }
}

#[inline]
#[target_feature(enable = "neon")]
fn ld_i8(p: &[i8; 16]) -> int8x16_t {
    // SAFETY: `p` refers to 16 readable bytes.
    unsafe { vld1q_s8(p.as_ptr()) }
}

#[inline]
#[target_feature(enable = "neon")]
fn ld_u64(p: &[u64; 2]) -> uint64x2_t {
    // SAFETY: `p` refers to 2 contiguous u64 (16 readable bytes).
    unsafe { vld1q_u64(p.as_ptr()) }
}

/// A zero-filled block holding `t` (shorter than the block) at its start.
#[inline]
fn pad<T: Copy + Default, const N: usize>(t: &[T]) -> [T; N] {
    let mut block = [T::default(); N];
    let len = t.len().min(N);
    block[..len].copy_from_slice(&t[..len]);
    block
}

#[target_feature(enable = "neon")]
fn dot_f32_k(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<4>();
    let (bc, bt) = b[..n].as_chunks::<4>();
    let (ac4, ac1) = ac.as_chunks::<4>();
    let (bc4, bc1) = bc.as_chunks::<4>();
    let mut s = [vdupq_n_f32(0.0); 4];
    for (x, y) in ac4.iter().zip(bc4) {
        for l in 0..4 {
            s[l] = vfmaq_f32(s[l], ld(&x[l]), ld(&y[l]));
        }
    }
    for (x, y) in ac1.iter().zip(bc1) {
        s[2] = vfmaq_f32(s[2], ld(x), ld(y));
    }
    if !at.is_empty() {
        s[3] = vfmaq_f32(s[3], ld(&pad(at)), ld(&pad(bt)));
    }
    vaddvq_f32(vaddq_f32(vaddq_f32(s[0], s[1]), vaddq_f32(s[2], s[3])))
}

#[target_feature(enable = "neon")]
fn l2sq_f32_k(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<4>();
    let (bc, bt) = b[..n].as_chunks::<4>();
    let (ac4, ac1) = ac.as_chunks::<4>();
    let (bc4, bc1) = bc.as_chunks::<4>();
    let mut s = [vdupq_n_f32(0.0); 4];
    for (x, y) in ac4.iter().zip(bc4) {
        for l in 0..4 {
            let d = vsubq_f32(ld(&x[l]), ld(&y[l]));
            s[l] = vfmaq_f32(s[l], d, d);
        }
    }
    for (x, y) in ac1.iter().zip(bc1) {
        let d = vsubq_f32(ld(x), ld(y));
        s[2] = vfmaq_f32(s[2], d, d);
    }
    if !at.is_empty() {
        let d = vsubq_f32(ld(&pad(at)), ld(&pad(bt)));
        s[3] = vfmaq_f32(s[3], d, d);
    }
    vaddvq_f32(vaddq_f32(vaddq_f32(s[0], s[1]), vaddq_f32(s[2], s[3])))
}

/// f32 L1 (`Σ |aᵢ-bᵢ|`): `vabdq_f32` (absolute difference) into four 4-lane chains.
#[target_feature(enable = "neon")]
fn l1_f32_k(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<4>();
    let (bc, bt) = b[..n].as_chunks::<4>();
    let (ac4, ac1) = ac.as_chunks::<4>();
    let (bc4, bc1) = bc.as_chunks::<4>();
    let mut s = [vdupq_n_f32(0.0); 4];
    for (x, y) in ac4.iter().zip(bc4) {
        for l in 0..4 {
            s[l] = vaddq_f32(s[l], vabdq_f32(ld(&x[l]), ld(&y[l])));
        }
    }
    for (x, y) in ac1.iter().zip(bc1) {
        s[2] = vaddq_f32(s[2], vabdq_f32(ld(x), ld(y)));
    }
    if !at.is_empty() {
        s[3] = vaddq_f32(s[3], vabdq_f32(ld(&pad(at)), ld(&pad(bt))));
    }
    vaddvq_f32(vaddq_f32(vaddq_f32(s[0], s[1]), vaddq_f32(s[2], s[3])))
}

#[target_feature(enable = "neon")]
fn cos_f32_k(a: &[f32], b: &[f32]) -> CosineParts {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<4>();
    let (bc, bt) = b[..n].as_chunks::<4>();
    let (ac2, ac1) = ac.as_chunks::<2>();
    let (bc2, bc1) = bc.as_chunks::<2>();
    let z = vdupq_n_f32(0.0);
    let (mut ab, mut aa, mut bb) = ([z; 2], [z; 2], [z; 2]);
    for (x, y) in ac2.iter().zip(bc2) {
        for l in 0..2 {
            let (x, y) = (ld(&x[l]), ld(&y[l]));
            ab[l] = vfmaq_f32(ab[l], x, y);
            aa[l] = vfmaq_f32(aa[l], x, x);
            bb[l] = vfmaq_f32(bb[l], y, y);
        }
    }
    let rest = ac1
        .iter()
        .zip(bc1)
        .map(|(x, y)| (*x, *y))
        .chain((!at.is_empty()).then(|| (pad(at), pad(bt))));
    for (x, y) in rest {
        let (x, y) = (ld(&x), ld(&y));
        ab[0] = vfmaq_f32(ab[0], x, y);
        aa[0] = vfmaq_f32(aa[0], x, x);
        bb[0] = vfmaq_f32(bb[0], y, y);
    }
    CosineParts {
        dot: vaddvq_f32(vaddq_f32(ab[0], ab[1])),
        norm_a_sq: vaddvq_f32(vaddq_f32(aa[0], aa[1])),
        norm_b_sq: vaddvq_f32(vaddq_f32(bb[0], bb[1])),
    }
}

#[target_feature(enable = "neon")]
fn dot_norm_f32_k(q: &[f32], c: &[f32]) -> DotNorm {
    let n = q.len().min(c.len());
    let (qch, qt) = q[..n].as_chunks::<4>();
    let (cch, ct) = c[..n].as_chunks::<4>();
    let (q2, q1) = qch.as_chunks::<2>();
    let (c2, c1) = cch.as_chunks::<2>();
    let z = vdupq_n_f32(0.0);
    let (mut qc, mut cc) = ([z; 2], [z; 2]);
    for (x, y) in q2.iter().zip(c2) {
        for l in 0..2 {
            let (x, y) = (ld(&x[l]), ld(&y[l]));
            qc[l] = vfmaq_f32(qc[l], x, y);
            cc[l] = vfmaq_f32(cc[l], y, y);
        }
    }
    let rest = q1
        .iter()
        .zip(c1)
        .map(|(x, y)| (*x, *y))
        .chain((!qt.is_empty()).then(|| (pad(qt), pad(ct))));
    for (x, y) in rest {
        let (x, y) = (ld(&x), ld(&y));
        qc[0] = vfmaq_f32(qc[0], x, y);
        cc[0] = vfmaq_f32(cc[0], y, y);
    }
    DotNorm {
        dot: vaddvq_f32(vaddq_f32(qc[0], qc[1])),
        norm_sq: vaddvq_f32(vaddq_f32(cc[0], cc[1])),
    }
}

/// All-ones lanes where the component is `> 0.5` (NaN compares false).
#[inline]
#[target_feature(enable = "neon")]
fn set_lanes(v: float32x4_t) -> uint32x4_t {
    vcgtq_f32(v, vdupq_n_f32(0.5))
}

/// Number of all-ones lanes.
#[inline]
#[target_feature(enable = "neon")]
fn count_lanes(m: uint32x4_t) -> u64 {
    u64::from(vaddvq_u32(vshrq_n_u32::<31>(m)))
}

/// The 4-element blocks of `a` and `b` (common prefix), the last one zero-padded.
fn blocks<T: Copy + Default, const N: usize>(
    a: &[T],
    b: &[T],
) -> impl Iterator<Item = ([T; N], [T; N])> {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<N>();
    let (bc, bt) = b[..n].as_chunks::<N>();
    ac.iter()
        .zip(bc)
        .map(|(x, y)| (*x, *y))
        .chain((!at.is_empty()).then(|| (pad(at), pad(bt))))
}

#[target_feature(enable = "neon")]
fn hamming_f32_k(a: &[f32], b: &[f32]) -> u64 {
    let mut count = 0;
    for (x, y) in blocks::<f32, 4>(a, b) {
        count += count_lanes(veorq_u32(set_lanes(ld(&x)), set_lanes(ld(&y))));
    }
    count
}

#[target_feature(enable = "neon")]
fn jaccard_f32_k(a: &[f32], b: &[f32]) -> SetCounts {
    let mut c = SetCounts::default();
    for (x, y) in blocks::<f32, 4>(a, b) {
        let (ma, mb) = (set_lanes(ld(&x)), set_lanes(ld(&y)));
        c.intersection += count_lanes(vandq_u32(ma, mb));
        c.union += count_lanes(vorrq_u32(ma, mb));
    }
    c
}

/// Adds `x[i] * y[i]` (bytes, widened exactly to 16 bits) pairwise into `u32` lanes.
#[inline]
#[target_feature(enable = "neon")]
fn mul_acc_u8(acc: uint32x4_t, x: uint8x16_t, y: uint8x16_t) -> uint32x4_t {
    let lo = vmull_u8(vget_low_u8(x), vget_low_u8(y));
    let hi = vmull_high_u8(x, y);
    vpadalq_u16(vpadalq_u16(acc, lo), hi)
}

#[target_feature(enable = "neon")]
fn dot_u8_k(a: &[u8], b: &[u8]) -> u32 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<16>();
    let (bc, bt) = b[..n].as_chunks::<16>();
    let mut acc = vdupq_n_u32(0);
    for (x, y) in ac.iter().zip(bc) {
        acc = mul_acc_u8(acc, ld_u8(x), ld_u8(y));
    }
    if !at.is_empty() {
        acc = mul_acc_u8(acc, ld_u8(&pad(at)), ld_u8(&pad(bt)));
    }
    vaddvq_u32(acc)
}

#[target_feature(enable = "neon")]
fn l2sq_u8_k(a: &[u8], b: &[u8]) -> u32 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<16>();
    let (bc, bt) = b[..n].as_chunks::<16>();
    let mut acc = vdupq_n_u32(0);
    for (x, y) in ac.iter().zip(bc) {
        let d = vabdq_u8(ld_u8(x), ld_u8(y));
        acc = mul_acc_u8(acc, d, d);
    }
    if !at.is_empty() {
        let d = vabdq_u8(ld_u8(&pad(at)), ld_u8(&pad(bt)));
        acc = mul_acc_u8(acc, d, d);
    }
    vaddvq_u32(acc)
}

#[inline]
#[target_feature(enable = "neon")]
fn mul_acc_i8(acc: int32x4_t, x: int8x16_t, y: int8x16_t) -> int32x4_t {
    let lo = vmull_s8(vget_low_s8(x), vget_low_s8(y));
    let hi = vmull_high_s8(x, y);
    vpadalq_s16(vpadalq_s16(acc, lo), hi)
}

#[target_feature(enable = "neon")]
fn dot_i8_k(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<16>();
    let (bc, bt) = b[..n].as_chunks::<16>();
    let mut acc = vdupq_n_s32(0);
    for (x, y) in ac.iter().zip(bc) {
        acc = mul_acc_i8(acc, ld_i8(x), ld_i8(y));
    }
    if !at.is_empty() {
        acc = mul_acc_i8(acc, ld_i8(&pad(at)), ld_i8(&pad(bt)));
    }
    vaddvq_s32(acc)
}

#[target_feature(enable = "neon")]
fn l2sq_i8_k(a: &[i8], b: &[i8]) -> u32 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<16>();
    let (bc, bt) = b[..n].as_chunks::<16>();
    let mut acc = vdupq_n_u32(0);
    // |x - y| fits in 8 unsigned bits; vabdq_s8 returns it modulo 256, i.e. exactly.
    for (x, y) in ac.iter().zip(bc) {
        let d = vreinterpretq_u8_s8(vabdq_s8(ld_i8(x), ld_i8(y)));
        acc = mul_acc_u8(acc, d, d);
    }
    if !at.is_empty() {
        let d = vreinterpretq_u8_s8(vabdq_s8(ld_i8(&pad(at)), ld_i8(&pad(bt))));
        acc = mul_acc_u8(acc, d, d);
    }
    vaddvq_u32(acc)
}

#[inline]
#[target_feature(enable = "neon")]
fn popcount(v: uint64x2_t) -> u64 {
    u64::from(vaddlvq_u8(vcntq_u8(vreinterpretq_u8_u64(v))))
}

#[target_feature(enable = "neon")]
fn hamming_bits_k(a: &[u64], b: &[u64]) -> u64 {
    let mut count = 0;
    for (x, y) in blocks::<u64, 2>(a, b) {
        count += popcount(veorq_u64(ld_u64(&x), ld_u64(&y)));
    }
    count
}

#[target_feature(enable = "neon")]
fn jaccard_bits_k(a: &[u64], b: &[u64]) -> SetCounts {
    let mut c = SetCounts::default();
    for (x, y) in blocks::<u64, 2>(a, b) {
        let (x, y) = (ld_u64(&x), ld_u64(&y));
        c.intersection += popcount(vandq_u64(x, y));
        c.union += popcount(vorrq_u64(x, y));
    }
    c
}

static TABLE: Kernels = Kernels {
    isa: Isa::Neon,
    dot_f32: dot_f32_k,
    l2sq_f32: l2sq_f32_k,
    l1_f32: l1_f32_k,
    cos_f32: cos_f32_k,
    dot_norm_f32: dot_norm_f32_k,
    hamming_f32: hamming_f32_k,
    jaccard_f32: jaccard_f32_k,
    dot_f16: scalar::dot_f16,
    l2sq_f16: scalar::l2sq_f16,
    cos_f16: scalar::cos_f16,
    dot_norm_f16: scalar::dot_norm_f16,
    dot_u8: dot_u8_k,
    l2sq_u8: l2sq_u8_k,
    dot_i8: dot_i8_k,
    l2sq_i8: l2sq_i8_k,
    hamming_bits: hamming_bits_k,
    jaccard_bits: jaccard_bits_k,
    // `count_ones` compiles to NEON `cnt` here; no hand-written kernel this machine could test.
    and_popcount_planes: scalar::and_popcount_planes,
    // No NEON kernel yet: the scalar oracle (this machine cannot test a NEON one).
    dot_f32_u8: scalar::dot_f32_u8,
    adc_f32_u8: scalar::adc_f32_u8,
    dot_u4_u8: scalar::dot_u4_u8,
    dot_u8_i8_x16: scalar::dot_u8_i8_x16,
};

/// The NEON table (always present on aarch64).
pub(crate) fn table() -> Option<&'static Kernels> {
    std::arch::is_aarch64_feature_detected!("neon").then_some(&TABLE)
}
