//! Hand-picked `resolve` cases: which answers are exact, and what they contain.

use nearstore_filter::{FieldIndexKind, Filter, PayloadIndexes};
use roaring::RoaringTreemap;
use serde_json::{Value, json};

fn setup() -> (PayloadIndexes, RoaringTreemap, Vec<Value>) {
    let payloads = vec![
        json!({"n": 1, "f": 0.5, "t": "apple", "tags": ["x", "y"], "ok": true}),
        json!({"n": 2, "f": 2.5, "t": "banana", "tags": ["y"], "ok": false}),
        json!({"n": 3.0, "f": -1, "t": "cherry", "tags": "xylophone"}),
        json!({"n": null, "t": "Apple pie"}),
        json!({}),
    ];
    let mut idx = PayloadIndexes::new();
    let existing: Vec<(u64, &Value)> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| (i as u64, p))
        .collect();
    for (field, kind) in [
        ("n", FieldIndexKind::Integer),
        ("f", FieldIndexKind::Float),
        ("t", FieldIndexKind::Keyword),
        ("tags", FieldIndexKind::Keyword),
        ("ok", FieldIndexKind::Bool),
    ] {
        idx.create_field(field, kind, existing.iter().copied())
            .unwrap();
    }
    let universe = (0..payloads.len() as u64).collect();
    (idx, universe, payloads)
}

fn ids(idx: &PayloadIndexes, universe: &RoaringTreemap, f: &Filter) -> (Vec<u64>, bool) {
    let c = idx.resolve(f, universe);
    (c.ids.iter().collect(), c.exact)
}

#[test]
fn integer_index_answers_float_comparisons_exactly() {
    let (idx, u, _) = setup();
    assert_eq!(ids(&idx, &u, &Filter::gt("n", json!(2.5))), (vec![2], true));
    assert_eq!(
        ids(&idx, &u, &Filter::gte("n", json!(2))),
        (vec![1, 2], true)
    );
    assert_eq!(
        ids(&idx, &u, &Filter::lt("n", json!(1.0001))),
        (vec![0], true)
    );
    assert_eq!(
        ids(&idx, &u, &Filter::lte("n", json!(-1e300))),
        (vec![], true)
    );
    assert_eq!(
        ids(&idx, &u, &Filter::between("n", json!(1.5), json!(3))),
        (vec![1, 2], true)
    );
    assert_eq!(ids(&idx, &u, &Filter::eq("n", json!(3))), (vec![2], true));
    assert_eq!(ids(&idx, &u, &Filter::eq("n", json!(2.5))), (vec![], true));
}

#[test]
fn ne_and_not_in_include_missing_fields() {
    let (idx, u, _) = setup();
    assert_eq!(
        ids(&idx, &u, &Filter::ne("n", json!(1))),
        (vec![1, 2, 3, 4], true)
    );
    assert_eq!(
        ids(&idx, &u, &Filter::not_in("tags", vec![json!("y")])),
        (vec![2, 3, 4], true)
    );
}

#[test]
fn is_null_is_exact_from_presence() {
    let (idx, u, _) = setup();
    assert_eq!(ids(&idx, &u, &Filter::is_null("n")), (vec![3, 4], true));
    assert_eq!(
        ids(&idx, &u, &Filter::is_not_null("ok")),
        (vec![0, 1], true)
    );
}

#[test]
fn keyword_like_contains_and_ranges_are_exact() {
    let (idx, u, _) = setup();
    assert_eq!(ids(&idx, &u, &Filter::like("t", "%an%")), (vec![1], true));
    assert_eq!(
        ids(&idx, &u, &Filter::ilike("t", "apple%")),
        (vec![0, 3], true)
    );
    assert_eq!(
        ids(&idx, &u, &Filter::gt("t", json!("b"))),
        (vec![1, 2], true)
    );
    // "xylophone" is a string field: substring; ["x", "y"] is an array: element.
    assert_eq!(
        ids(&idx, &u, &Filter::contains("tags", json!("x"))),
        (vec![0, 2], true)
    );
    assert_eq!(
        ids(&idx, &u, &Filter::contains("tags", json!("lo"))),
        (vec![2], true)
    );
    assert_eq!(
        ids(&idx, &u, &Filter::contains("tags", json!("y"))),
        (vec![0, 1, 2], true)
    );
    assert_eq!(
        ids(
            &idx,
            &u,
            &Filter::contains_all("tags", vec![json!("x"), json!("y")])
        ),
        (vec![0, 2], true)
    );
}

#[test]
fn bool_index_answers_eq_and_in() {
    let (idx, u, _) = setup();
    assert_eq!(
        ids(&idx, &u, &Filter::eq("ok", json!(true))),
        (vec![0], true)
    );
    assert_eq!(
        ids(&idx, &u, &Filter::ne("ok", json!(true))),
        (vec![1, 2, 3, 4], true)
    );
}

#[test]
fn type_mismatch_is_exactly_empty_when_no_other_values_exist() {
    let (idx, u, _) = setup();
    assert_eq!(ids(&idx, &u, &Filter::eq("n", json!("1"))), (vec![], true));
    assert_eq!(ids(&idx, &u, &Filter::like("n", "%")), (vec![], true));
}

#[test]
fn unindexed_fields_give_the_universe_inexactly() {
    let (idx, u, _) = setup();
    assert_eq!(
        ids(&idx, &u, &Filter::eq("zzz", json!(1))),
        (vec![0, 1, 2, 3, 4], false)
    );
    let not = Filter::not(Filter::eq("zzz", json!(1)));
    assert_eq!(ids(&idx, &u, &not), (vec![0, 1, 2, 3, 4], false));
}

#[test]
fn and_narrows_an_inexact_part_and_or_widens() {
    let (idx, u, payloads) = setup();
    let and = Filter::and(vec![Filter::eq("zzz", json!(1)), Filter::gt("n", json!(1))]);
    assert_eq!(ids(&idx, &u, &and), (vec![1, 2], false));
    let or = Filter::or(vec![Filter::eq("zzz", json!(1)), Filter::gt("n", json!(1))]);
    assert_eq!(ids(&idx, &u, &or), (vec![0, 1, 2, 3, 4], false));
    let exact_and = Filter::and(vec![
        Filter::gt("n", json!(1)),
        Filter::eq("t", json!("banana")),
    ]);
    assert_eq!(ids(&idx, &u, &exact_and), (vec![1], true));
    assert!(payloads[1].is_object());
}

#[test]
fn stale_index_entries_outside_the_universe_are_dropped() {
    let (idx, _, _) = setup();
    let universe: RoaringTreemap = [1u64, 2].into_iter().collect();
    assert_eq!(
        ids(&idx, &universe, &Filter::gte("n", json!(1))),
        (vec![1, 2], true)
    );
    assert_eq!(ids(&idx, &universe, &Filter::is_null("n")), (vec![], true));
}

#[test]
fn mixed_value_types_make_numeric_ranges_inexact_but_complete() {
    let mut idx = PayloadIndexes::new();
    let a = json!({"n": 2.5});
    let b = json!({"n": 7});
    idx.create_field("n", FieldIndexKind::Integer, [(1, &a), (2, &b)])
        .unwrap();
    let u: RoaringTreemap = [1u64, 2].into_iter().collect();
    let c = idx.resolve(&Filter::gt("n", json!(2)), &u);
    assert_eq!(c.ids.iter().collect::<Vec<_>>(), vec![1, 2]);
    assert!(!c.exact);
    let c = idx.resolve(&Filter::eq("n", json!(7)), &u);
    assert_eq!((c.ids.iter().collect::<Vec<_>>(), c.exact), (vec![2], true));
}
