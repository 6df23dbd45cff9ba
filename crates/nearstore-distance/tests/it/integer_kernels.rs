//! u8/i8 scalar-quantization kernels: exact (and identically wrapping) on every ISA.

use nearstore_distance::{Kernels, dot_i8, dot_u8, l2_squared_i8, l2_squared_u8, scalar};
use proptest::prelude::*;

use crate::vectors::Rng;

fn check(a: &[u8], b: &[u8]) {
    let (ia, ib): (Vec<i8>, Vec<i8>) = (
        a.iter().map(|x| *x as i8).collect(),
        b.iter().map(|x| *x as i8).collect(),
    );
    let want = (
        scalar::dot_u8(a, b),
        scalar::l2sq_u8(a, b),
        scalar::dot_i8(&ia, &ib),
        scalar::l2sq_i8(&ia, &ib),
    );
    for k in Kernels::available() {
        let got = (
            k.dot_u8(a, b),
            k.l2sq_u8(a, b),
            k.dot_i8(&ia, &ib),
            k.l2sq_i8(&ia, &ib),
        );
        assert_eq!(got, want, "{} n={}", k.isa.name(), a.len());
    }
    assert_eq!(
        (
            dot_u8(a, b),
            l2_squared_u8(a, b),
            dot_i8(&ia, &ib),
            l2_squared_i8(&ia, &ib)
        ),
        want
    );
}

fn bytes(rng: &mut Rng, len: usize, off: usize, mode: u32) -> Vec<u8> {
    let mut v = vec![0xA5u8; off];
    v.extend((0..len).map(|_| match mode {
        0 => 0,
        1 => 255,
        2 => {
            if rng.next_u64() & 1 == 0 {
                0x80
            } else {
                0x7F
            }
        }
        _ => rng.next_u64() as u8,
    }));
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn integer_kernels_are_exact_on_every_isa(
        len in prop_oneof![0usize..200, 0usize..2100],
        off_a in 0usize..16, off_b in 0usize..16,
        ma in 0u32..5, mb in 0u32..5, seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let a = bytes(&mut rng, len, off_a, ma);
        let b = bytes(&mut rng, len, off_b, mb);
        check(&a[off_a..], &b[off_b..]);
    }
}

#[test]
fn every_tail_length_is_exact() {
    let mut rng = Rng::new(1);
    for len in 0..=200 {
        let a = bytes(&mut rng, len, 1, 3);
        let b = bytes(&mut rng, len, 0, 3);
        check(&a[1..], &b);
    }
}

#[test]
fn documented_overflow_bounds_hold_exactly() {
    // u8 dot and L2² are exact up to 66_051 elements of the extreme value.
    let n = 66_051;
    let (max, zero) = (vec![255u8; n], vec![0u8; n]);
    let (imin, imax) = (vec![i8::MIN; n], vec![i8::MAX; n]);
    let exact = 65_025u64 * n as u64;
    assert!(exact < 1 << 32);
    for k in Kernels::available() {
        assert_eq!(u64::from(k.dot_u8(&max, &max)), exact, "{}", k.isa.name());
        assert_eq!(u64::from(k.l2sq_u8(&max, &zero)), exact, "{}", k.isa.name());
        assert_eq!(
            u64::from(k.l2sq_i8(&imin, &imax)),
            exact,
            "{}",
            k.isa.name()
        );
    }
    // i8 dot is exact up to 131_071 elements of (-128)².
    let n = 131_071;
    let imin = vec![i8::MIN; n];
    for k in Kernels::available() {
        assert_eq!(
            i64::from(k.dot_i8(&imin, &imin)),
            16_384 * n as i64,
            "{}",
            k.isa.name()
        );
    }
}

#[test]
fn past_the_bounds_every_isa_wraps_identically() {
    let n = 100_003;
    let max = vec![255u8; n];
    let imin = vec![i8::MIN; 300_001];
    for k in Kernels::available() {
        assert_eq!(
            k.dot_u8(&max, &max),
            scalar::dot_u8(&max, &max),
            "{}",
            k.isa.name()
        );
        assert_eq!(
            k.dot_i8(&imin, &imin),
            scalar::dot_i8(&imin, &imin),
            "{}",
            k.isa.name()
        );
    }
}
