//! Hamming and Jaccard, over f32 set-ness and over packed bits: bit-identical on every ISA.

use nearstore_distance::{
    DistanceMetric, Kernels, SetCounts, distance, hamming_bits, jaccard_bits, jaccard_from_counts,
    kernels, prepare, scalar,
};
use proptest::prelude::*;

use crate::vectors::{Case, Rng, case, f32_pair};

fn check_f32(a: &[f32], b: &[f32]) {
    let h = scalar::hamming_f32(a, b);
    let j = scalar::jaccard_f32(a, b);
    for k in Kernels::available() {
        assert_eq!(
            k.hamming_f32(a, b),
            h,
            "{} hamming_f32 n={}",
            k.isa.name(),
            a.len()
        );
        assert_eq!(
            k.jaccard_f32(a, b),
            j,
            "{} jaccard_f32 n={}",
            k.isa.name(),
            a.len()
        );
    }
    assert_eq!(distance(DistanceMetric::Hamming, a, b), h as f32);
    assert_eq!(
        prepare(DistanceMetric::Jaccard, a).score(b),
        jaccard_from_counts(j)
    );
}

fn bits(rng: &mut Rng, words: usize, off: usize, density: u32) -> Vec<u64> {
    let mut v = vec![u64::MAX; off];
    v.extend((0..words).map(|_| match density {
        0 => 0,
        1 => rng.next_u64() & rng.next_u64() & rng.next_u64(),
        2 => rng.next_u64(),
        _ => !0,
    }));
    v
}

fn check_bits(a: &[u64], b: &[u64]) {
    let h = scalar::hamming_bits(a, b);
    let j = scalar::jaccard_bits(a, b);
    for k in Kernels::available() {
        assert_eq!(
            k.hamming_bits(a, b),
            h,
            "{} hamming_bits n={}",
            k.isa.name(),
            a.len()
        );
        assert_eq!(
            k.jaccard_bits(a, b),
            j,
            "{} jaccard_bits n={}",
            k.isa.name(),
            a.len()
        );
    }
    assert_eq!(hamming_bits(a, b), h);
    assert_eq!(jaccard_bits(a, b), jaccard_from_counts(j));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn f32_set_metrics_are_bit_identical_on_every_isa(c in case()) {
        let (a, b) = f32_pair(&c);
        check_f32(&a[c.off_a..], &b[c.off_b..]);
    }

    #[test]
    fn bit_metrics_are_bit_identical_on_every_isa(
        words in 0usize..300, off_a in 0usize..8, off_b in 0usize..8,
        da in 0u32..4, db in 0u32..4, seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let a = bits(&mut rng, words, off_a, da);
        let b = bits(&mut rng, words, off_b, db);
        check_bits(&a[off_a..], &b[off_b..]);
    }
}

#[test]
fn every_tail_length_counts_exactly() {
    for len in 0..=80 {
        let c = Case {
            len,
            off_a: len % 16,
            off_b: 5,
            scale: 1.0,
            seed: len as u64,
            shape_a: crate::vectors::Shape::AroundHalf,
            shape_b: crate::vectors::Shape::AroundHalf,
        };
        let (a, b) = f32_pair(&c);
        check_f32(&a[c.off_a..], &b[c.off_b..]);
        let mut rng = Rng::new(len as u64);
        let (x, y) = (bits(&mut rng, len, 3, 2), bits(&mut rng, len, 0, 1));
        check_bits(&x[3..], &y);
    }
}

#[test]
fn empty_sets_have_jaccard_one_and_nan_is_never_set() {
    for k in Kernels::available() {
        let c = k.jaccard_f32(&[0.0; 20], &[0.5; 20]);
        assert_eq!(c, SetCounts::default(), "{}", k.isa.name());
        assert_eq!(jaccard_from_counts(c), 1.0);
        let nan = [f32::NAN; 19];
        assert_eq!(k.hamming_f32(&nan, &[0.0; 19]), 0, "{}", k.isa.name());
        assert_eq!(k.hamming_f32(&nan, &[1.0; 19]), 19, "{}", k.isa.name());
        assert_eq!(jaccard_from_counts(k.jaccard_bits(&[0; 9], &[0; 9])), 1.0);
    }
}

/// The planes kernel against the oracle on every ISA, and the oracle against its meaning:
/// the inner product of a 0/1 code with per-dimension integers whose bit `j` is plane `j`.
fn check_planes(a: &[u64], b: &[u64]) {
    let want = scalar::and_popcount_planes(a, b);
    for k in Kernels::available() {
        assert_eq!(
            k.and_popcount_planes(a, b),
            want,
            "{} and_popcount_planes words={} planes={}",
            k.isa.name(),
            a.len(),
            b.len().checked_div(a.len()).unwrap_or(0)
        );
    }
    assert_eq!(kernels().and_popcount_planes(a, b), want);
    let n = a.len();
    if n > 0 && b.len() / n < 8 {
        let planes = b.len() / n;
        let mut dot = 0u64;
        for bit in 0..n * 64 {
            let (w, s) = (bit / 64, bit % 64);
            if a[w] >> s & 1 == 1 {
                let value: u64 = (0..planes).map(|j| (b[j * n + w] >> s & 1) << j).sum();
                dot += value;
            }
        }
        assert_eq!(want, dot, "oracle vs the per-dimension inner product");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn bit_plane_products_are_bit_identical_on_every_isa(
        words in 0usize..40, planes in 0usize..9, extra in 0usize..3, off_a in 0usize..8,
        off_b in 0usize..8, da in 0u32..4, db in 0u32..4, seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let a = bits(&mut rng, words, off_a, da);
        let b = bits(&mut rng, words * planes + extra, off_b, db);
        check_planes(&a[off_a..], &b[off_b..]);
    }
}

#[test]
fn bit_plane_products_cover_every_tail_and_many_planes() {
    for words in 0..=20 {
        let mut rng = Rng::new(words as u64);
        let a = bits(&mut rng, words, 1, 2);
        let b = bits(&mut rng, words * 4, 0, 2);
        check_planes(&a[1..], &b);
    }
    // Planes past the 63rd count 0 on every ISA (documented), even when all bits are set.
    check_planes(&[!0u64; 3], &vec![!0u64; 3 * 70]);
}
