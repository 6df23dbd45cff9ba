//! `parse(to_json(f)) == f`, also through JSON text and serde.

use nearstore_filter::{Filter, Op};
use proptest::prelude::*;

use crate::strategies;

/// Snaps geo coordinates to a quarter-degree grid: serde_json (without its
/// `float_roundtrip` feature) may read an arbitrary f64 back one ulp off from its text.
fn snap(f: Filter) -> Filter {
    let q = |x: f64| (x * 4.0).round() / 4.0;
    match f {
        Filter::And(parts) => Filter::And(parts.into_iter().map(snap).collect()),
        Filter::Or(parts) => Filter::Or(parts.into_iter().map(snap).collect()),
        Filter::Not(part) => Filter::not(snap(*part)),
        Filter::Condition(mut c) => {
            match &mut c.op {
                Op::GeoRadius { lat, lon, meters } => {
                    (*lat, *lon, *meters) = (q(*lat), q(*lon), q(*meters));
                }
                Op::GeoBox {
                    top_left,
                    bottom_right,
                } => {
                    top_left.lat = q(top_left.lat);
                    top_left.lon = q(top_left.lon);
                    bottom_right.lat = q(bottom_right.lat);
                    bottom_right.lon = q(bottom_right.lon);
                }
                _ => {}
            }
            Filter::Condition(c)
        }
        other => other,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn parse_of_to_json_is_identity(f in strategies::filter()) {
        prop_assert!(f.validate().is_ok(), "{:?}", f.validate());
        prop_assert_eq!(Filter::parse(&f.to_json()).unwrap(), f);
    }

    #[test]
    fn serde_through_text_is_identity(f in strategies::filter().prop_map(snap)) {
        let text = serde_json::to_string(&f).unwrap();
        let back: Filter = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, f);
    }
}
