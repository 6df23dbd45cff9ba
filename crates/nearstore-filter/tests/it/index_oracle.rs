//! `resolve` against the brute-force evaluator: always a superset of the matching ids, and
//! exactly them when it says `exact`; after bulk creation, inserts, upserts/deletes, and a
//! trip through encode/decode.

use std::collections::BTreeMap;

use nearstore_filter::{FieldIndexKind, Filter, PayloadIndexes};
use proptest::prelude::*;
use roaring::RoaringTreemap;
use serde_json::Value;

use crate::strategies;

use crate::strategies::id;

fn check(
    indexes: &PayloadIndexes,
    points: &BTreeMap<u64, Value>,
    filters: &[Filter],
) -> Result<(), TestCaseError> {
    let universe: RoaringTreemap = points.keys().copied().collect();
    for filter in filters {
        let expected: RoaringTreemap = points
            .iter()
            .filter(|(id, p)| filter.matches_point(**id, p))
            .map(|(id, _)| *id)
            .collect();
        let got = indexes.resolve(filter, &universe);
        prop_assert!(
            got.ids.is_subset(&universe),
            "outside the universe for {}",
            filter.to_json()
        );
        prop_assert!(
            expected.is_subset(&got.ids),
            "missed {:?} for {}",
            (&expected - &got.ids).iter().collect::<Vec<_>>(),
            filter.to_json()
        );
        if got.exact {
            prop_assert_eq!(
                &got.ids,
                &expected,
                "exact but wrong for {}",
                filter.to_json()
            );
        }
    }
    Ok(())
}

fn build_bulk(fields: &[(&str, FieldIndexKind)], points: &BTreeMap<u64, Value>) -> PayloadIndexes {
    let mut indexes = PayloadIndexes::new();
    for (field, kind) in fields {
        indexes
            .create_field(field, *kind, points.iter().map(|(id, p)| (*id, p)))
            .unwrap();
    }
    indexes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn resolve_is_a_superset_and_exact_when_it_says_so(
        payloads in prop::collection::vec(strategies::payload(), 0..50),
        fields in strategies::indexed_fields(),
        filters in prop::collection::vec(strategies::filter(), 1..16),
    ) {
        let points: BTreeMap<u64, Value> =
            payloads.into_iter().enumerate().map(|(i, p)| (id(i), p)).collect();
        let bulk = build_bulk(&fields, &points);
        check(&bulk, &points, &filters)?;

        // The same through inserts into empty indexes.
        let mut incremental = build_bulk(&fields, &BTreeMap::new());
        for (id, p) in &points {
            incremental.insert(*id, p);
        }
        prop_assert_eq!(&incremental, &bulk);

        // And after a trip through the persistent form.
        let decoded = PayloadIndexes::decode(&bulk.encode()).unwrap();
        prop_assert_eq!(&decoded, &bulk);
        check(&decoded, &points, &filters)?;
    }

    #[test]
    fn resolve_stays_correct_through_upserts_and_deletes(
        writes in prop::collection::vec((0usize..20, prop::option::of(strategies::payload())), 0..80),
        fields in strategies::indexed_fields(),
        filters in prop::collection::vec(strategies::filter(), 1..12),
    ) {
        let mut indexes = build_bulk(&fields, &BTreeMap::new());
        let mut points: BTreeMap<u64, Value> = BTreeMap::new();
        for (i, write) in writes {
            let key = id(i);
            if let Some(old) = points.remove(&key) {
                indexes.remove(key, &old);
            }
            if let Some(payload) = write {
                indexes.insert(key, &payload);
                points.insert(key, payload);
            }
        }
        check(&indexes, &points, &filters)?;
        let rebuilt = build_bulk(&fields, &points);
        prop_assert_eq!(&indexes, &rebuilt);
        let decoded = PayloadIndexes::decode(&indexes.encode()).unwrap();
        check(&decoded, &points, &filters)?;
    }

    #[test]
    fn a_universe_smaller_than_the_index_bounds_the_answer(
        payloads in prop::collection::vec(strategies::payload(), 0..40),
        fields in strategies::indexed_fields(),
        filters in prop::collection::vec(strategies::filter(), 1..8),
        live in prop::collection::vec(any::<bool>(), 40),
    ) {
        // Points deleted from the universe but still in the index (a lagging caller).
        let all: BTreeMap<u64, Value> =
            payloads.into_iter().enumerate().map(|(i, p)| (id(i), p)).collect();
        let indexes = build_bulk(&fields, &all);
        let points: BTreeMap<u64, Value> = all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| live[*i])
            .map(|(_, kv)| kv)
            .collect();
        check(&indexes, &points, &filters)?;
    }
}
