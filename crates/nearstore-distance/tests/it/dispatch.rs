//! Dispatch: the tables this machine offers and the force-scalar switch.

use nearstore_distance::{Isa, Kernels, force_scalar_requested, kernels};

#[test]
fn available_tables_are_distinct_and_start_with_scalar() {
    let all = Kernels::available();
    assert_eq!(all[0].isa, Isa::Scalar);
    for (i, k) in all.iter().enumerate() {
        assert!(all[i + 1..].iter().all(|o| o.isa != k.isa));
    }
    eprintln!(
        "kernels available: {:?}; dispatched: {}",
        all.iter().map(|k| k.isa.name()).collect::<Vec<_>>(),
        kernels().isa.name()
    );
}

#[test]
fn dispatch_picks_scalar_exactly_when_forced() {
    if force_scalar_requested() {
        assert_eq!(kernels().isa, Isa::Scalar);
    } else {
        let best = Kernels::available().last().map(|k| k.isa);
        assert_eq!(Some(kernels().isa), best);
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn every_simd_table_the_cpu_supports_is_offered() {
    let has = |isa| Kernels::for_isa(isa).is_some();
    assert_eq!(
        has(Isa::Avx2),
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    );
    if is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512vl") {
        assert!(has(Isa::Avx512));
    }
    if has(Isa::Avx512)
        && is_x86_feature_detected!("avx512vnni")
        && is_x86_feature_detected!("avx512vpopcntdq")
    {
        assert!(has(Isa::Avx512Vnni));
    }
}
