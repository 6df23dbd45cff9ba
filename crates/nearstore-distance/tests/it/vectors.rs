//! Deterministic vector generation and the tolerance bounds of the numerics contract.

use proptest::prelude::*;

/// Magnitudes the float properties sweep (tiny ones reach f32's subnormal range).
pub const SCALES: [f32; 6] = [1e-20, 1e-6, 1e-2, 1.0, 1e6, 1e15];

/// A small, fast, seedable generator (SplitMix64): long vectors without proptest's
/// per-element shrinking cost; proptest shrinks the parameters instead.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// How a generated vector is shaped.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Uniform in [-scale, scale).
    Uniform,
    /// All zeros.
    Zero,
    /// Non-negative, clustered around the 0.5 set threshold (exact 0.5 included).
    AroundHalf,
}

/// Parameters of one case: length, the two sub-slice offsets, a scale, a seed, shapes.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub len: usize,
    pub off_a: usize,
    pub off_b: usize,
    pub scale: f32,
    pub seed: u64,
    pub shape_a: Shape,
    pub shape_b: Shape,
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        6 => Just(Shape::Uniform),
        1 => Just(Shape::Zero),
        2 => Just(Shape::AroundHalf),
    ]
}

pub fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![3 => 0usize..160, 2 => 0usize..2100],
        0usize..16,
        0usize..16,
        prop::sample::select(SCALES.to_vec()),
        any::<u64>(),
        shape(),
        shape(),
    )
        .prop_map(|(len, off_a, off_b, scale, seed, shape_a, shape_b)| Case {
            len,
            off_a,
            off_b,
            scale,
            seed,
            shape_a,
            shape_b,
        })
}

/// A buffer of `off + len` elements; the vector under test is `buf[off..]` (unaligned).
pub fn f32_vec(rng: &mut Rng, len: usize, off: usize, scale: f32, shape: Shape) -> Vec<f32> {
    let mut v = vec![7.0f32; off];
    v.extend((0..len).map(|_| match shape {
        Shape::Uniform => rng.unit() * scale,
        Shape::Zero => 0.0,
        Shape::AroundHalf => match rng.next_u64() % 4 {
            0 => 0.5,
            _ => 0.5 + rng.unit() * 0.5,
        },
    }));
    v
}

/// `(buf_a, buf_b)`: take `&buf_a[case.off_a..]`, `&buf_b[case.off_b..]`.
pub fn f32_pair(c: &Case) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(c.seed);
    let a = f32_vec(&mut rng, c.len, c.off_a, c.scale, c.shape_a);
    let b = f32_vec(&mut rng, c.len, c.off_b, c.scale, c.shape_b);
    (a, b)
}

/// The contract's bound on a SIMD `f32` sum of `n` products whose absolute values sum to
/// `abs_sum` (`Σ|aᵢbᵢ|`, or `Σ(aᵢ-bᵢ)²` for L2²), plus one `f32` rounding of the oracle.
pub fn sum_bound(n: usize, abs_sum: f64, oracle: f32) -> f64 {
    let eps = f64::from(f32::EPSILON);
    let subnormal = 2f64.powi(-149);
    (n.div_ceil(4) + 16) as f64 * eps * abs_sum
        + n as f64 * 4.0 * subnormal
        + eps * f64::from(oracle).abs()
}

/// Asserts `ours` is within `bound` of `oracle`.
pub fn assert_close(what: &str, ours: f32, oracle: f32, bound: f64) {
    let diff = (f64::from(ours) - f64::from(oracle)).abs();
    assert!(
        diff <= bound || (ours.is_infinite() && ours == oracle),
        "{what}: ours {ours:e} vs oracle {oracle:e}: |diff| {diff:e} > bound {bound:e}"
    );
}

/// The contract's bound for cosine; `None` when a squared norm is within its own error
/// bound of zero (cosine then only has to be finite and in [-1, 1]).
pub fn cosine_bound(n: usize, ab_abs: f64, aa: f64, bb: f64, cos: f32) -> Option<f64> {
    let e_ab = sum_bound(n, ab_abs, 0.0);
    let e_aa = sum_bound(n, aa, 0.0);
    let e_bb = sum_bound(n, bb, 0.0);
    if aa <= 2.0 * e_aa || bb <= 2.0 * e_bb {
        return None;
    }
    let eps = f64::from(f32::EPSILON);
    Some(
        e_ab / (aa.sqrt() * bb.sqrt()) + f64::from(cos).abs() * (e_aa / aa + e_bb / bb) + 4.0 * eps,
    )
}
