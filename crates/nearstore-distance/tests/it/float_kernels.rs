//! f32 and f16 kernels (dot, L2², L1 over f32, cosine parts, prepared dot+norm) on every ISA vs the
//! scalar oracle, within the documented bounds.

use nearstore_distance::{
    CosineParts, DistanceMetric, Kernels, cosine_from_parts, distance, f16, prepare, prepare_f16,
    scalar,
};
use proptest::prelude::*;

use crate::vectors::{Case, assert_close, case, cosine_bound, f32_pair, sum_bound};

/// `Σ|aᵢbᵢ|`, `Σaᵢ²`, `Σbᵢ²`, `Σ(aᵢ-bᵢ)²` in f64 (exact for these magnitudes).
fn abs_sums(a: &[f32], b: &[f32]) -> (f64, f64, f64, f64) {
    let (mut ab, mut aa, mut bb, mut dd) = (0.0, 0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += (x * y).abs();
        aa += x * x;
        bb += y * y;
        dd += (x - y) * (x - y);
    }
    (ab, aa, bb, dd)
}

fn check_cosine(what: &str, n: usize, sums: (f64, f64, f64, f64), ours: f32, oracle: f32) {
    assert!(
        ours.is_finite() && (-1.0..=1.0).contains(&ours),
        "{what}: {ours}"
    );
    if let Some(bound) = cosine_bound(n, sums.0, sums.1, sums.2, oracle) {
        assert_close(what, ours, oracle, bound);
    }
}

fn check_f32_kernels(a: &[f32], b: &[f32]) {
    let n = a.len();
    let sums = abs_sums(a, b);
    let dot = scalar::dot_f32(a, b);
    let l2 = scalar::l2sq_f32(a, b);
    let l1 = scalar::l1_f32(a, b);
    let l1_abs_sum: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs())
        .sum();
    let parts = scalar::cos_f32(a, b);
    let cos = cosine_from_parts(parts);
    for k in Kernels::available() {
        let isa = k.isa.name();
        assert_close(
            &format!("{isa} dot_f32 n={n}"),
            k.dot_f32(a, b),
            dot,
            sum_bound(n, sums.0, dot),
        );
        assert_close(
            &format!("{isa} l2sq_f32 n={n}"),
            k.l2sq_f32(a, b),
            l2,
            sum_bound(n + 8, sums.3, l2),
        );
        assert_close(
            &format!("{isa} l1_f32 n={n}"),
            k.l1_f32(a, b),
            l1,
            sum_bound(n + 16, l1_abs_sum, l1),
        );
        let p = k.cos_f32(a, b);
        assert_close(
            &format!("{isa} cos.dot"),
            p.dot,
            parts.dot,
            sum_bound(n, sums.0, dot),
        );
        assert_close(
            &format!("{isa} cos.aa"),
            p.norm_a_sq,
            parts.norm_a_sq,
            sum_bound(n, sums.1, parts.norm_a_sq),
        );
        assert_close(
            &format!("{isa} cos.bb"),
            p.norm_b_sq,
            parts.norm_b_sq,
            sum_bound(n, sums.2, parts.norm_b_sq),
        );
        check_cosine(
            &format!("{isa} cosine n={n}"),
            n,
            sums,
            cosine_from_parts(p),
            cos,
        );
        let dn = k.dot_norm_f32(a, b);
        assert_close(
            &format!("{isa} dot_norm.dot"),
            dn.dot,
            dot,
            sum_bound(n, sums.0, dot),
        );
        assert_close(
            &format!("{isa} dot_norm.norm"),
            dn.norm_sq,
            parts.norm_b_sq,
            sum_bound(n, sums.2, parts.norm_b_sq),
        );
    }
    // The dispatched paths (scalar under NEARSTORE_FORCE_SCALAR=1).
    assert_close(
        "distance dot",
        distance(DistanceMetric::DotProduct, a, b),
        dot,
        sum_bound(n, sums.0, dot),
    );
    let l2_true = distance(DistanceMetric::Euclidean, a, b);
    let l2_prepared = prepare(DistanceMetric::Euclidean, a).score(b);
    for ours in [l2_true, l2_prepared] {
        assert_close(
            "euclidean^2",
            ours * ours,
            l2,
            2.0 * sum_bound(n + 8, sums.3, l2) + 4.0 * f64::from(f32::EPSILON) * f64::from(l2),
        );
    }
    for (what, ours) in [
        (
            "distance manhattan",
            distance(DistanceMetric::Manhattan, a, b),
        ),
        (
            "prepared manhattan",
            prepare(DistanceMetric::Manhattan, a).score(b),
        ),
        ("pairwise l1", nearstore_distance::l1(a, b)),
    ] {
        assert_close(what, ours, l1, sum_bound(n + 16, l1_abs_sum, l1));
    }
    check_cosine(
        "distance cosine",
        n,
        sums,
        distance(DistanceMetric::Cosine, a, b),
        cos,
    );
    check_cosine(
        "prepared cosine",
        n,
        sums,
        prepare(DistanceMetric::Cosine, a).score(b),
        cos,
    );
    check_cosine(
        "pairwise cosine",
        n,
        sums,
        nearstore_distance::cosine(a, b),
        cos,
    );
}

fn to_f16(v: &[f32]) -> Vec<f16> {
    v.iter().map(|x| f16::from_f32(*x)).collect()
}

fn check_f16_kernels(a: &[f16], b: &[f16]) {
    let n = a.len();
    let (wa, wb): (Vec<f32>, Vec<f32>) = (
        a.iter().map(|x| x.to_f32()).collect(),
        b.iter().map(|x| x.to_f32()).collect(),
    );
    let sums = abs_sums(&wa, &wb);
    let dot = scalar::dot_f16(a, b);
    let l2 = scalar::l2sq_f16(a, b);
    let parts = scalar::cos_f16(a, b);
    let cos = cosine_from_parts(parts);
    assert_eq!(
        dot,
        scalar::dot_f32(&wa, &wb),
        "f16 oracle = f32 oracle on widened values"
    );
    for k in Kernels::available() {
        let isa = k.isa.name();
        assert_close(
            &format!("{isa} dot_f16 n={n}"),
            k.dot_f16(a, b),
            dot,
            sum_bound(n, sums.0, dot),
        );
        assert_close(
            &format!("{isa} l2sq_f16 n={n}"),
            k.l2sq_f16(a, b),
            l2,
            sum_bound(n + 8, sums.3, l2),
        );
        let p = k.cos_f16(a, b);
        check_cosine(
            &format!("{isa} cos_f16 n={n}"),
            n,
            sums,
            cosine_from_parts(p),
            cos,
        );
        let dn = k.dot_norm_f16(a, b);
        assert_close(
            &format!("{isa} dot_norm_f16.dot"),
            dn.dot,
            dot,
            sum_bound(n, sums.0, dot),
        );
        assert_close(
            &format!("{isa} dot_norm_f16.norm"),
            dn.norm_sq,
            parts.norm_b_sq,
            sum_bound(n, sums.2, parts.norm_b_sq),
        );
    }
    let s = prepare_f16(DistanceMetric::Cosine, &wa).expect("cosine over f16 is supported");
    check_cosine("prepared f16 cosine", n, sums, s.score(b), cos);
}

fn run_case(c: &Case) {
    let (ba, bb) = f32_pair(c);
    let (a, b) = (&ba[c.off_a..], &bb[c.off_b..]);
    check_f32_kernels(a, b);
    // f16 storage: keep magnitudes inside f16's range (max 65504).
    let scale = c.scale.min(64.0) / c.scale;
    let ha = to_f16(&a.iter().map(|x| x * scale).collect::<Vec<_>>());
    let hb = to_f16(&b.iter().map(|x| x * scale).collect::<Vec<_>>());
    let mut ha_buf = vec![f16::ONE; c.off_a];
    ha_buf.extend_from_slice(&ha);
    let mut hb_buf = vec![f16::ONE; c.off_b];
    hb_buf.extend_from_slice(&hb);
    check_f16_kernels(&ha_buf[c.off_a..], &hb_buf[c.off_b..]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn float_kernels_match_the_oracle_within_the_contract(c in case()) {
        run_case(&c);
    }
}

/// A positive `f32` whose decimal exponent is uniform in `lo..hi`.
fn magnitude(lo: f64, hi: f64) -> impl Strategy<Value = f32> {
    (lo..hi, 1.0f64..10.0)
        .prop_map(|(e, m)| (m * 10f64.powf(e.floor())).min(f64::from(f32::MAX)) as f32)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The finishing step alone: from any three sums a kernel can return (squared norms from
    /// the smallest subnormal to `f32::MAX`, any dot within Cauchy-Schwarz), the cosine is
    /// within 3 ulps of the exact quotient of those sums, in `[-1, 1]`, never NaN.
    #[test]
    fn cosine_from_parts_is_within_three_ulps_of_the_exact_quotient(
        aa in magnitude(-45.0, 39.0),
        bb in magnitude(-45.0, 39.0),
        t in -1.0f64..=1.0,
    ) {
        let exact_len = (f64::from(aa) * f64::from(bb)).sqrt();
        let dot = (t * exact_len) as f32;
        let ours = cosine_from_parts(CosineParts { dot, norm_a_sq: aa, norm_b_sq: bb });
        let exact = (f64::from(dot) / exact_len).clamp(-1.0, 1.0);
        prop_assert!((-1.0..=1.0).contains(&ours), "{ours}");
        let ulp3 = 3.0 * f64::from(f32::EPSILON) * exact.abs().max(f64::from(f32::MIN_POSITIVE));
        prop_assert!(
            (f64::from(ours) - exact).abs() <= ulp3,
            "aa={aa:e} bb={bb:e} dot={dot:e}: {ours} vs {exact}"
        );
    }
}

#[test]
fn every_tail_length_up_to_three_blocks_matches_the_oracle() {
    for len in (0..=200).chain([511, 512, 513, 1023, 1024, 1025, 2047, 2048, 2049, 2099]) {
        for (off, shape) in [
            (0, crate::vectors::Shape::Uniform),
            (3, crate::vectors::Shape::Zero),
            (13, crate::vectors::Shape::Uniform),
        ] {
            run_case(&Case {
                len,
                off_a: off,
                off_b: (off * 7) % 16,
                scale: 1.0,
                seed: len as u64,
                shape_a: shape,
                shape_b: crate::vectors::Shape::Uniform,
            });
        }
    }
}

#[test]
fn zero_norm_cosine_is_zero_on_every_isa() {
    let z = vec![0.0f32; 37];
    let v: Vec<f32> = (0..37).map(|i| i as f32 - 3.0).collect();
    for k in Kernels::available() {
        assert_eq!(
            cosine_from_parts(k.cos_f32(&z, &v)),
            0.0,
            "{}",
            k.isa.name()
        );
        assert_eq!(
            cosine_from_parts(k.cos_f32(&z, &z)),
            0.0,
            "{}",
            k.isa.name()
        );
        assert_eq!(
            cosine_from_parts(k.cos_f32(&[], &[])),
            0.0,
            "{}",
            k.isa.name()
        );
    }
    assert_eq!(prepare(DistanceMetric::Cosine, &z).score(&v), 0.0);
    assert_eq!(prepare(DistanceMetric::Cosine, &v).score(&z), 0.0);
}

#[test]
fn identical_vectors_have_cosine_one_and_distance_zero() {
    let v: Vec<f32> = (0..777)
        .map(|i| ((i * 37) % 101) as f32 / 13.0 - 3.0)
        .collect();
    for k in Kernels::available() {
        let c = cosine_from_parts(k.cos_f32(&v, &v));
        assert!((c - 1.0).abs() <= 1e-6, "{} {c}", k.isa.name());
        assert_eq!(k.l2sq_f32(&v, &v), 0.0);
        assert_eq!(k.l1_f32(&v, &v), 0.0);
    }
}

#[test]
fn nan_input_gives_nan_not_a_crash() {
    let mut a = vec![1.0f32; 40];
    a[33] = f32::NAN;
    for k in Kernels::available() {
        assert!(k.dot_f32(&a, &a).is_nan(), "{}", k.isa.name());
        assert!(k.l2sq_f32(&a, &a).is_nan(), "{}", k.isa.name());
        assert!(k.l1_f32(&a, &a).is_nan(), "{}", k.isa.name());
    }
}
