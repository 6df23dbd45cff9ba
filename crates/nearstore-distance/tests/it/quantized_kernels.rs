//! The asymmetric `f32` x `u8` kernel (scalar-quantization codes) on every ISA vs the scalar
//! oracle, within the dot-product bound of the numerics contract, and the product-quantization
//! lookup (ADC) likewise; the dispatched table (the
//! scalar one under `NEARSTORE_FORCE_SCALAR=1`) too.

use nearstore_distance::{Kernels, kernels, scalar};
use proptest::prelude::*;

use crate::vectors::{Rng, assert_close, case, f32_vec, sum_bound};

fn codes(rng: &mut Rng, len: usize, off: usize, mode: u64) -> Vec<u8> {
    let mut v = vec![0x5Au8; off];
    v.extend((0..len).map(|_| match mode {
        0 => 0,
        1 => 255,
        _ => rng.next_u64() as u8,
    }));
    v
}

fn check(q: &[f32], c: &[u8]) {
    let n = q.len().min(c.len());
    let abs: f64 = q
        .iter()
        .zip(c)
        .map(|(x, y)| (f64::from(*x) * f64::from(*y)).abs())
        .sum();
    let want = scalar::dot_f32_u8(q, c);
    let bound = sum_bound(n, abs, want);
    for k in Kernels::available() {
        assert_close(
            &format!("{} dot_f32_u8 n={n}", k.isa.name()),
            k.dot_f32_u8(q, c),
            want,
            bound,
        );
    }
    assert_close(
        "dispatched dot_f32_u8",
        kernels().dot_f32_u8(q, c),
        want,
        bound,
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn dot_f32_u8_matches_the_oracle_on_every_isa(c in case(), mode in 0u64..4, extra in 0usize..3) {
        let mut rng = Rng::new(c.seed);
        let q = f32_vec(&mut rng, c.len, c.off_a, c.scale, c.shape_a);
        // The codes may be longer than the query: kernels use the common prefix.
        let b = codes(&mut rng, c.len + extra, c.off_b, mode);
        check(&q[c.off_a..], &b[c.off_b..]);
    }
}

#[test]
fn dot_f32_u8_exact_small_cases() {
    let q: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
    let c: Vec<u8> = (0..37).map(|i| (i * 7 % 256) as u8).collect();
    let exact: f64 = q
        .iter()
        .zip(&c)
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .sum();
    for k in Kernels::available() {
        assert_eq!(f64::from(k.dot_f32_u8(&q, &c)), exact, "{}", k.isa.name());
        assert_eq!(k.dot_f32_u8(&[], &c), 0.0);
    }
}

/// The product-quantization lookup on every ISA (and the dispatched table) against the
/// oracle, within the dot-product bound over the entries read.
fn check_adc(table: &[f32], c: &[u8]) {
    let m = (table.len() / scalar::ADC_ROW).min(c.len());
    let abs: f64 = (0..m)
        .map(|j| f64::from(table[j * 256 + usize::from(c[j])]).abs())
        .sum();
    let want = scalar::adc_f32_u8(table, c);
    let bound = sum_bound(m, abs, want);
    for k in Kernels::available() {
        assert_close(
            &format!("{} adc_f32_u8 m={m}", k.isa.name()),
            k.adc_f32_u8(table, c),
            want,
            bound,
        );
    }
    assert_close(
        "dispatched adc_f32_u8",
        kernels().adc_f32_u8(table, c),
        want,
        bound,
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn adc_f32_u8_matches_the_oracle_on_every_isa(
        m in 0usize..200,
        partial in 0usize..256,
        extra in 0usize..3,
        mode in 0u64..4,
        scale in prop::sample::select(crate::vectors::SCALES.to_vec()),
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        // A trailing partial row is never read; codes may outnumber the table's rows.
        let table: Vec<f32> = (0..m * 256 + partial).map(|_| rng.unit() * scale).collect();
        let c = codes(&mut rng, m + extra, 0, mode);
        check_adc(&table, &c);
    }
}

#[test]
fn adc_f32_u8_reads_one_entry_per_subspace() {
    // Entry (j, c) = 1000 j + c: the sum names exactly which entries were read.
    let m = 21;
    let table: Vec<f32> = (0..m * 256)
        .map(|i| ((i / 256) * 1000 + i % 256) as f32)
        .collect();
    let c: Vec<u8> = (0..m).map(|j| (j * 37 % 256) as u8).collect();
    let exact: f64 = (0..m).map(|j| (j * 1000 + j * 37 % 256) as f64).sum();
    for k in Kernels::available() {
        assert_eq!(
            f64::from(k.adc_f32_u8(&table, &c)),
            exact,
            "{}",
            k.isa.name()
        );
        assert_eq!(k.adc_f32_u8(&table, &[]), 0.0);
        assert_eq!(k.adc_f32_u8(&table[..255], &c), 0.0, "no whole row");
    }
}

/// Nibble-packed 4-bit codes x bytes on every ISA (and the dispatched table): exact, so
/// equal to the oracle.
fn check_u4(a: &[u64], q: &[u8]) {
    let want = scalar::dot_u4_u8(a, q);
    for k in Kernels::available() {
        assert_eq!(
            k.dot_u4_u8(a, q),
            want,
            "{} dot_u4_u8 words={} q={}",
            k.isa.name(),
            a.len(),
            q.len()
        );
    }
    assert_eq!(kernels().dot_u4_u8(a, q), want, "dispatched dot_u4_u8");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn dot_u4_u8_matches_the_oracle_on_every_isa(
        words in 0usize..70,
        qlen in 0usize..1200,
        mode in 0u64..4,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let a: Vec<u64> = (0..words)
            .map(|_| match mode {
                0 => 0,
                1 => u64::MAX,
                _ => rng.next_u64(),
            })
            .collect();
        let q = codes(&mut rng, qlen, 0, mode);
        check_u4(&a, &q);
    }
}

#[test]
fn dot_u4_u8_reads_the_chunk_layout() {
    // Coordinate 0 in byte 0's low nibble, 64 in its high nibble, 128 in byte 64's low one.
    let mut a = vec![0u64; 16];
    a[0] = 0x3 | 0x5 << 4;
    a[8] = 0x7;
    let mut q = vec![0u8; 256];
    q[0] = 2;
    q[64] = 10;
    q[128] = 100;
    let want = 3 * 2 + 5 * 10 + 7 * 100;
    assert_eq!(scalar::dot_u4_u8(&a, &q), want);
    check_u4(&a, &q);
    // All nibbles 15 against all bytes 255.
    let full = vec![u64::MAX; 16];
    let q = vec![255u8; 256];
    assert_eq!(scalar::dot_u4_u8(&full, &q), 256 * 15 * 255);
    check_u4(&full, &q);
    // A query shorter than the code: coordinates beyond it count 0.
    assert_eq!(scalar::dot_u4_u8(&full, &q[..64]), 64 * 15 * 255);
    check_u4(&full, &q[..100]);
}

/// Bytes x 16 interleaved signed-byte rows on every ISA (and the dispatched table): exact,
/// so equal to the oracle.
fn check_rows16(q: &[u8], b: &[i8]) {
    let want = scalar::dot_u8_i8_x16(q, b);
    for k in Kernels::available() {
        assert_eq!(
            k.dot_u8_i8_x16(q, b),
            want,
            "{} dot_u8_i8_x16 q={} b={}",
            k.isa.name(),
            q.len(),
            b.len()
        );
    }
    assert_eq!(
        kernels().dot_u8_i8_x16(q, b),
        want,
        "dispatched dot_u8_i8_x16"
    );
}

/// Row `r`'s coordinates of a block in `dot_u8_i8_x16`'s layout, the slow way.
fn row_of(b: &[i8], r: usize) -> Vec<i32> {
    (0..b.len().div_ceil(64) * 4)
        .map(|i| {
            b.get(64 * (i / 4) + 4 * r + i % 4)
                .map_or(0, |&x| i32::from(x))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn dot_u8_i8_x16_matches_the_oracle_on_every_isa(
        qlen in 0usize..600,
        blen in 0usize..2200,
        mode in 0u64..4,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let q = codes(&mut rng, qlen, 0, mode);
        let b: Vec<i8> = (0..blen)
            .map(|_| match mode {
                0 => 0,
                1 => i8::MIN,
                _ => rng.next_u64() as i8,
            })
            .collect();
        check_rows16(&q, &b);
        // The oracle is each row's plain dot product with the query.
        let want = scalar::dot_u8_i8_x16(&q, &b);
        for (r, got) in want.iter().enumerate() {
            let plain: i32 = row_of(&b, r)
                .iter()
                .zip(&q)
                .map(|(x, y)| x * i32::from(*y))
                .sum();
            prop_assert_eq!(*got, plain, "row {}", r);
        }
    }
}

#[test]
fn dot_u8_i8_x16_reads_the_group_layout() {
    // Row 0 coordinate 0 at byte 0; row 1 coordinate 2 at byte 6; row 15 coordinate 7 at
    // byte 64 + 60 + 3.
    let mut b = vec![0i8; 128];
    b[0] = 3;
    b[6] = -5;
    b[127] = 7;
    let q: Vec<u8> = (1..=8).collect();
    let mut want = [0i32; 16];
    want[0] = 3;
    want[1] = -5 * 3;
    want[15] = 7 * 8;
    assert_eq!(scalar::dot_u8_i8_x16(&q, &b), want);
    check_rows16(&q, &b);
    // Extremes: 255 x -128 over 256 coordinates in every row.
    let b = vec![i8::MIN; 64 * 64];
    let q = vec![255u8; 256];
    assert_eq!(scalar::dot_u8_i8_x16(&q, &b), [256 * 255 * -128; 16]);
    check_rows16(&q, &b);
    // A query shorter than the rows: coordinates beyond it count 0.
    assert_eq!(scalar::dot_u8_i8_x16(&q[..6], &b), [6 * 255 * -128; 16]);
    check_rows16(&q[..6], &b);
}
