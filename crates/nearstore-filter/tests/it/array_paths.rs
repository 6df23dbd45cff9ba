//! Array paths (`arr[].n`, `arr[].t[]`): the index-backed answer equals brute-force
//! evaluation for random payloads with nested arrays. On these paths every condition below
//! has an operand of the index's type, so the indexes must answer it exactly (no payload
//! check), through inserts, removals and a trip through the persistent form.

use std::collections::BTreeMap;

use nearstore_filter::{FieldIndexKind, Filter, Op, PayloadIndexes};
use proptest::prelude::*;
use roaring::RoaringTreemap;
use serde_json::{Value, json};

use crate::strategies::{self, id};

const INDEXED: [(&str, FieldIndexKind); 4] = [
    ("arr[].n", FieldIndexKind::Integer),
    ("arr[].t[]", FieldIndexKind::Keyword),
    ("arr[].s", FieldIndexKind::Keyword),
    ("arr[1].n", FieldIndexKind::Integer),
];

fn word() -> impl Strategy<Value = Value> + Clone {
    prop::sample::select(vec!["", "a", "ab", "b", "B", "a%"]).prop_map(|s| json!(s))
}

fn small_int() -> impl Strategy<Value = Value> + Clone {
    (-4i64..5).prop_map(|i| json!(i))
}

/// Conditions the indexes answer exactly on [`INDEXED`].
fn exact_condition() -> impl Strategy<Value = Filter> {
    let shape = prop::sample::select(vec![
        Op::IsNull,
        Op::IsNotNull,
        Op::IsExplicitNull,
        Op::IsEmpty,
    ]);
    let typed = |field: &'static str, operand: BoxedStrategy<Value>| {
        let list = prop::collection::vec(operand.clone(), 0..3);
        prop_oneof![
            operand.clone().prop_map(Op::Eq),
            operand.prop_map(Op::Ne),
            list.clone().prop_map(Op::In),
            list.prop_map(Op::NotIn),
        ]
        .prop_map(move |op| Filter::condition(field, op))
    };
    prop_oneof![
        (
            prop::sample::select(INDEXED.map(|(f, _)| f).to_vec()),
            shape
        )
            .prop_map(|(f, op)| Filter::condition(f, op)),
        typed("arr[].n", small_int().boxed()),
        typed("arr[1].n", small_int().boxed()),
        typed("arr[].t[]", word().boxed()),
        typed("arr[].s", word().boxed()),
        word().prop_map(|w| Filter::gte("arr[].s", w)),
        word().prop_map(|w| Filter::like("arr[].t[]", &format!("{}%", w.as_str().unwrap_or("")))),
    ]
}

fn exact_filter() -> impl Strategy<Value = Filter> {
    exact_condition().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 0..3).prop_map(Filter::Or),
            inner.prop_map(Filter::not),
        ]
    })
}

fn assert_exact(
    indexes: &PayloadIndexes,
    points: &BTreeMap<u64, Value>,
    filters: &[Filter],
) -> Result<(), TestCaseError> {
    let universe: RoaringTreemap = points.keys().copied().collect();
    for filter in filters {
        let expected: RoaringTreemap = points
            .iter()
            .filter(|(_, p)| filter.matches(p))
            .map(|(id, _)| *id)
            .collect();
        let got = indexes.resolve(filter, &universe);
        prop_assert!(got.exact, "not exact for {}", filter.to_json());
        prop_assert_eq!(&got.ids, &expected, "wrong for {}", filter.to_json());
    }
    Ok(())
}

fn build(points: &BTreeMap<u64, Value>) -> PayloadIndexes {
    let mut indexes = PayloadIndexes::new();
    for (field, kind) in INDEXED {
        indexes
            .create_field(field, kind, points.iter().map(|(id, p)| (*id, p)))
            .unwrap();
    }
    indexes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn index_answers_on_array_paths_equal_brute_force(
        payloads in prop::collection::vec(strategies::payload(), 0..40),
        filters in prop::collection::vec(exact_filter(), 1..12),
    ) {
        let points: BTreeMap<u64, Value> =
            payloads.into_iter().enumerate().map(|(i, p)| (id(i), p)).collect();
        let indexes = build(&points);
        assert_exact(&indexes, &points, &filters)?;
        let decoded = PayloadIndexes::decode(&indexes.encode()).unwrap();
        prop_assert_eq!(&decoded, &indexes);
        assert_exact(&decoded, &points, &filters)?;
    }

    #[test]
    fn array_path_indexes_follow_upserts_and_deletes(
        writes in prop::collection::vec((0usize..12, prop::option::of(strategies::payload())), 0..50),
        filters in prop::collection::vec(exact_filter(), 1..8),
    ) {
        let mut indexes = build(&BTreeMap::new());
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
        prop_assert_eq!(&indexes, &build(&points));
        assert_exact(&indexes, &points, &filters)?;
    }
}

#[test]
fn qdrant_example_country_cities_population() {
    let points: BTreeMap<u64, Value> = [
        (
            1,
            json!({"country": {"cities": [{"population": 9}, {"population": 20}]}}),
        ),
        (2, json!({"country": {"cities": [{"population": 3}]}})),
        (3, json!({"country": {"cities": []}})),
        (4, json!({"country": {"cities": [{"population": null}]}})),
        (5, json!({"country": "none"})),
    ]
    .into_iter()
    .collect();
    let field = "country.cities[].population";
    let mut indexes = PayloadIndexes::new();
    indexes
        .create_field(
            field,
            FieldIndexKind::Integer,
            points.iter().map(|(i, p)| (*i, p)),
        )
        .unwrap();
    let universe: RoaringTreemap = points.keys().copied().collect();
    let ids = |f: Filter| {
        let c = indexes.resolve(&f, &universe);
        assert!(c.exact, "{}", f.to_json());
        c.ids.iter().collect::<Vec<_>>()
    };
    assert_eq!(ids(Filter::gt(field, json!(5))), vec![1]);
    assert_eq!(
        ids(Filter::not(Filter::gt(field, json!(5)))),
        vec![2, 3, 4, 5]
    );
    assert_eq!(ids(Filter::is_empty(field)), vec![3, 4, 5]);
    assert_eq!(ids(Filter::is_explicit_null(field)), vec![4]);
    assert_eq!(ids(Filter::eq(field, json!(3))), vec![2]);
    let parsed = Filter::parse(&json!({"field": field, "gte": 9})).unwrap();
    assert_eq!(ids(parsed), vec![1]);
}
