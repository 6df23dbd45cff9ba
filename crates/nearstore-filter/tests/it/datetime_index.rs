//! The datetime index against the brute-force evaluator: `datetime_range` conditions are
//! answered exactly (by instant, whatever offset or form a string is written in), through
//! upserts, deletes and a trip through the persistent form; a keyword index and no index
//! give the same matches.

use std::collections::BTreeMap;

use nearstore_filter::{Datetime, DatetimeRange, FieldIndexKind, Filter, PayloadIndexes};
use proptest::prelude::*;
use roaring::RoaringTreemap;
use serde_json::{Value, json};

use crate::strategies::{self, id};

fn brute_force(points: &BTreeMap<u64, Value>, filter: &Filter) -> RoaringTreemap {
    points
        .iter()
        .filter(|(id, p)| filter.matches_point(**id, p))
        .map(|(id, _)| *id)
        .collect()
}

fn indexed(kind: FieldIndexKind, field: &str, points: &BTreeMap<u64, Value>) -> PayloadIndexes {
    let mut indexes = PayloadIndexes::new();
    indexes
        .create_field(field, kind, points.iter().map(|(id, p)| (*id, p)))
        .unwrap();
    indexes
}

/// Independent of the evaluator: the instants of every string the field holds, compared
/// as microseconds.
fn by_instant(points: &BTreeMap<u64, Value>, range: &DatetimeRange) -> RoaringTreemap {
    let within = |t: i64| {
        range.gt.is_none_or(|b| t > b.micros())
            && range.gte.is_none_or(|b| t >= b.micros())
            && range.lt.is_none_or(|b| t < b.micros())
            && range.lte.is_none_or(|b| t <= b.micros())
    };
    points
        .iter()
        .filter(|(_, p)| {
            let values = match p.get("t") {
                Some(Value::Array(items)) => items.clone(),
                Some(v) => vec![v.clone()],
                None => vec![],
            };
            values
                .iter()
                .filter_map(Datetime::of_value)
                .any(|t| within(t.micros()))
        })
        .map(|(id, _)| *id)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn datetime_ranges_resolve_exactly_and_agree_with_brute_force(
        writes in prop::collection::vec((0usize..24, prop::option::of(strategies::payload())), 0..60),
        ranges in prop::collection::vec(strategies::datetime_range(), 1..8),
    ) {
        let mut index = indexed(FieldIndexKind::Datetime, "t", &BTreeMap::new());
        let mut points: BTreeMap<u64, Value> = BTreeMap::new();
        for (i, write) in writes {
            let key = id(i);
            if let Some(old) = points.remove(&key) {
                index.remove(key, &old);
            }
            if let Some(payload) = write {
                index.insert(key, &payload);
                points.insert(key, payload);
            }
        }
        prop_assert_eq!(&index, &indexed(FieldIndexKind::Datetime, "t", &points));
        let decoded = PayloadIndexes::decode(&index.encode()).unwrap();
        let keyword = indexed(FieldIndexKind::Keyword, "t", &points);
        let universe: RoaringTreemap = points.keys().copied().collect();
        for range in ranges {
            for field in ["t", "ts[]"] {
                let filter = Filter::datetime_range(field, range);
                let expected = brute_force(&points, &filter);
                prop_assert_eq!(&expected, &by_instant(&points, &range));
                let unindexed = PayloadIndexes::new().resolve(&filter, &universe);
                prop_assert!(expected.is_subset(&unindexed.ids));
                if field == "ts[]" {
                    continue; // only `t` is indexed here
                }
                for answer in [&index, &decoded, &keyword] {
                    let got = answer.resolve(&filter, &universe);
                    prop_assert!(got.exact, "{}", filter.to_json());
                    prop_assert_eq!(&got.ids, &expected, "{}", filter.to_json());
                    let negated = answer.resolve(&Filter::not(filter.clone()), &universe);
                    prop_assert!(negated.exact);
                    prop_assert_eq!(&negated.ids, &(&universe - &expected));
                }
            }
        }
    }
}

#[test]
fn one_instant_written_three_ways_is_one_key() {
    let points: BTreeMap<u64, Value> = [
        (1, json!({"t": "2024-03-01T12:30:00Z"})),
        (2, json!({"t": "2024-03-01T13:30:00+01:00"})),
        (3, json!({"t": "2024-03-01 12:30:00"})),
        (4, json!({"t": "2024-03-01"})),
        (5, json!({"t": "not a time"})),
        (6, json!({"t": 1_709_296_200})),
    ]
    .into_iter()
    .collect();
    let index = indexed(FieldIndexKind::Datetime, "t", &points);
    let universe: RoaringTreemap = points.keys().copied().collect();
    let at = Datetime::parse("2024-03-01T12:30:00Z");
    let exactly = Filter::datetime_range(
        "t",
        DatetimeRange {
            gte: at,
            lte: at,
            ..DatetimeRange::default()
        },
    );
    let got = index.resolve(&exactly, &universe);
    assert!(got.exact);
    assert_eq!(got.ids.iter().collect::<Vec<_>>(), vec![1, 2, 3]);
    // The JSON form (Qdrant's `datetime_range`) parses to the same filter.
    let parsed = Filter::parse(&json!({"field": "t", "datetime_range": {
        "gte": "2024-03-01T12:30:00Z", "lte": "2024-03-01T13:30:00+01:00", "gt": null
    }}))
    .unwrap();
    assert_eq!(parsed, exactly);
    // Other conditions on a datetime index are answered as bounds and checked.
    let eq = index.resolve(&Filter::eq("t", json!("2024-03-01")), &universe);
    assert!(!eq.exact && eq.ids.contains(4));
}

#[test]
fn datetime_range_operands_must_be_datetimes() {
    for bad in [
        json!({"field": "t", "datetime_range": {"gt": 5}}),
        json!({"field": "t", "datetime_range": {"gt": "tomorrow"}}),
        json!({"field": "t", "datetime_range": {"after": "2024-03-01"}}),
        json!({"field": "t", "datetime_range": "2024-03-01"}),
    ] {
        let err = Filter::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("datetime_range"), "{err}");
    }
}
