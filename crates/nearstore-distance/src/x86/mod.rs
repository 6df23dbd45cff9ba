//! x86_64 kernels: [`avx2`] (AVX2 + FMA + F16C) and [`avx512`] (F/BW/VL, and a VNNI +
//! VPOPCNTDQ variant), plus POPCNT bit kernels shared by the tables without VPOPCNTDQ.
//!
//! Invariant: every `#[target_feature]` function here is reached only through a
//! [`crate::Kernels`] table returned by its module's `table()`, which checks
//! `is_x86_feature_detected!` for every feature the kernels enable.

pub(crate) mod avx2;
pub(crate) mod avx512;

use crate::SetCounts;

/// POPCNT bit kernels (scalar `popcnt` instructions, 4-way unrolled). Callers must have
/// detected `popcnt`; both x86 tables require it.
pub(crate) mod popcnt {
    use super::SetCounts;

    #[target_feature(enable = "popcnt")]
    pub(crate) fn hamming_bits(a: &[u64], b: &[u64]) -> u64 {
        let n = a.len().min(b.len());
        let (ac, at) = a[..n].as_chunks::<4>();
        let (bc, bt) = b[..n].as_chunks::<4>();
        let mut s = [0u64; 4];
        for (x, y) in ac.iter().zip(bc) {
            for l in 0..4 {
                s[l] += u64::from((x[l] ^ y[l]).count_ones());
            }
        }
        for (x, y) in at.iter().zip(bt) {
            s[0] += u64::from((x ^ y).count_ones());
        }
        s[0] + s[1] + s[2] + s[3]
    }

    #[target_feature(enable = "popcnt")]
    pub(crate) fn and_popcount_planes(a: &[u64], b: &[u64]) -> u64 {
        let n = a.len();
        if n == 0 {
            return 0;
        }
        let mut acc = 0u64;
        for (j, plane) in b.chunks_exact(n).enumerate() {
            let (ac, at) = a.as_chunks::<4>();
            let (bc, bt) = plane.as_chunks::<4>();
            let mut s = [0u64; 4];
            for (x, y) in ac.iter().zip(bc) {
                for l in 0..4 {
                    s[l] += u64::from((x[l] & y[l]).count_ones());
                }
            }
            for (x, y) in at.iter().zip(bt) {
                s[0] += u64::from((x & y).count_ones());
            }
            acc = acc.wrapping_add(
                (s[0] + s[1] + s[2] + s[3])
                    .checked_shl(j as u32)
                    .unwrap_or(0),
            );
        }
        acc
    }

    #[target_feature(enable = "popcnt")]
    pub(crate) fn jaccard_bits(a: &[u64], b: &[u64]) -> SetCounts {
        let n = a.len().min(b.len());
        let (ac, at) = a[..n].as_chunks::<4>();
        let (bc, bt) = b[..n].as_chunks::<4>();
        let (mut i, mut u) = ([0u64; 4], [0u64; 4]);
        for (x, y) in ac.iter().zip(bc) {
            for l in 0..4 {
                i[l] += u64::from((x[l] & y[l]).count_ones());
                u[l] += u64::from((x[l] | y[l]).count_ones());
            }
        }
        for (x, y) in at.iter().zip(bt) {
            i[0] += u64::from((x & y).count_ones());
            u[0] += u64::from((x | y).count_ones());
        }
        SetCounts {
            intersection: i.iter().sum(),
            union: u.iter().sum(),
        }
    }
}
