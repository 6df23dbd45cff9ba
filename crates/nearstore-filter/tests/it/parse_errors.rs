//! Every rejection of `Filter::parse`, each asserting the path it reports.

use nearstore_filter::{Error, Filter, MAX_CONDITIONS, MAX_DEPTH};
use serde_json::{Value, json};

/// Parses, expects an `InvalidFilter`, returns its path and checks the Display form.
fn path_of(json: Value) -> String {
    match Filter::parse(&json) {
        Err(e @ Error::InvalidFilter { .. }) => {
            let Error::InvalidFilter { path, message } = &e else {
                unreachable!()
            };
            let shown = if path.is_empty() {
                "the root"
            } else {
                path.as_str()
            };
            assert_eq!(
                e.to_string(),
                format!("invalid filter at {shown}: {message}")
            );
            path.clone()
        }
        other => panic!("expected an invalid filter error for {json}, got {other:?}"),
    }
}

#[test]
fn wrong_operand_type_reports_the_nested_path() {
    let err = Filter::parse(&json!({"and": [
        {"field": "a", "eq": 1},
        {"or": [{"field": "b", "gt": true}]},
    ]}))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid filter at and[1].or[0].gt: expected a number or string"
    );
}

#[test]
fn unknown_key_in_a_condition() {
    assert_eq!(
        path_of(json!({"and": [{"field": "a", "eq": 1, "boost": 2}]})),
        "and[0].boost"
    );
}

#[test]
fn unknown_key_at_logical_level() {
    assert_eq!(path_of(json!({"not": {"xor": []}})), "not.xor");
}

#[test]
fn logical_object_with_two_keys() {
    assert_eq!(path_of(json!({"or": [{"and": [], "or": []}]})), "or[0]");
}

#[test]
fn two_operators_in_one_condition() {
    assert_eq!(
        path_of(json!({"or": [{"field": "a", "gt": 1, "lt": 5}]})),
        "or[0]"
    );
}

#[test]
fn condition_without_operator() {
    assert_eq!(path_of(json!({"and": [{"field": "a"}]})), "and[0]");
}

#[test]
fn empty_and_or_are_allowed() {
    assert_eq!(
        Filter::parse(&json!({"and": []})).unwrap(),
        Filter::And(vec![])
    );
    assert_eq!(
        Filter::parse(&json!({"or": []})).unwrap(),
        Filter::Or(vec![])
    );
}

#[test]
fn and_must_be_an_array() {
    assert_eq!(
        path_of(json!({"not": {"and": {"field": "a", "eq": 1}}})),
        "not.and"
    );
}

#[test]
fn filter_must_be_an_object() {
    assert_eq!(path_of(json!([1])), "");
    assert_eq!(path_of(json!({"and": [1]})), "and[0]");
    assert_eq!(path_of(json!({})), "");
}

#[test]
fn non_finite_numbers_are_rejected() {
    // JSON text cannot carry NaN or infinity (serde_json refuses 1e999), so non-finite
    // numbers can only come from Rust-built filters; validate catches them with the same path.
    assert!(serde_json::from_str::<Value>(r#"{"field":"x","gt":1e999}"#).is_err());
    let f = Filter::and(vec![Filter::geo_radius("loc", f64::NAN, 0.0, 1.0)]);
    let err = f.validate().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid filter at and[0].geo_radius.lat:"),
        "{err}"
    );
    let f = Filter::geo_radius("loc", 0.0, 0.0, f64::INFINITY);
    assert!(
        f.validate()
            .unwrap_err()
            .to_string()
            .contains("geo_radius.meters")
    );
}

#[test]
fn between_low_above_high() {
    assert_eq!(
        path_of(json!({"and": [{"field": "p", "between": [5, 1]}]})),
        "and[0].between"
    );
    assert_eq!(
        path_of(json!({"field": "p", "between": ["b", "a"]})),
        "between"
    );
}

#[test]
fn between_shape_and_types() {
    assert_eq!(path_of(json!({"field": "p", "between": [1]})), "between");
    assert_eq!(
        path_of(json!({"field": "p", "between": [1, "z"]})),
        "between"
    );
    assert_eq!(
        path_of(json!({"field": "p", "between": [true, 2]})),
        "between[0]"
    );
}

#[test]
fn latitude_out_of_range() {
    assert_eq!(
        path_of(json!({"field": "loc", "geo_radius": {"lat": 91, "lon": 0, "meters": 1}})),
        "geo_radius.lat"
    );
    assert_eq!(
        path_of(json!({"field": "loc", "geo_box": {
            "top_left": {"lat": 10, "lon": 0}, "bottom_right": {"lat": -90.5, "lon": 1}}})),
        "geo_box.bottom_right.lat"
    );
}

#[test]
fn longitude_out_of_range() {
    assert_eq!(
        path_of(
            json!({"or": [{"field": "loc", "geo_radius": {"lat": 0, "lon": -181, "meters": 1}}]})
        ),
        "or[0].geo_radius.lon"
    );
    assert_eq!(
        path_of(json!({"field": "loc", "geo_box": {
            "top_left": {"lat": 10, "lon": 180.5}, "bottom_right": {"lat": 0, "lon": 1}}})),
        "geo_box.top_left.lon"
    );
}

#[test]
fn negative_radius() {
    assert_eq!(
        path_of(json!({"field": "loc", "geo_radius": {"lat": 0, "lon": 0, "meters": -1}})),
        "geo_radius.meters"
    );
}

#[test]
fn geo_shapes_reject_missing_and_unknown_keys() {
    assert_eq!(
        path_of(json!({"field": "loc", "geo_radius": {"lat": 0, "lon": 0}})),
        "geo_radius.meters"
    );
    assert_eq!(
        path_of(json!({"field": "loc", "geo_radius": {"lat": 0, "lon": 0, "meters": 1, "km": 1}})),
        "geo_radius.km"
    );
    assert_eq!(
        path_of(json!({"field": "loc", "geo_box": {"top_left": {"lat": 0, "lon": 0}}})),
        "geo_box.bottom_right"
    );
    assert_eq!(
        path_of(json!({"field": "loc", "geo_box": {
            "top_left": {"lat": 0, "lon": 0}, "bottom_right": {"lat": 10, "lon": 1}}})),
        "geo_box"
    );
}

#[test]
fn in_with_non_scalar_elements() {
    assert_eq!(path_of(json!({"field": "t", "in": ["a", ["b"]]})), "in[1]");
    assert_eq!(
        path_of(json!({"field": "t", "not_in": [null]})),
        "not_in[0]"
    );
    assert_eq!(
        path_of(json!({"field": "t", "contains_all": ["a", {"b": 1}]})),
        "contains_all[1]"
    );
    assert_eq!(
        path_of(json!({"field": "t", "contains_any": "a"})),
        "contains_any"
    );
}

#[test]
fn objects_where_scalars_are_expected() {
    assert_eq!(
        path_of(json!({"and": [{"field": "t", "eq": {"a": 1}}]})),
        "and[0].eq"
    );
    assert_eq!(path_of(json!({"field": "t", "ne": [1]})), "ne");
    assert_eq!(path_of(json!({"field": "t", "contains": null})), "contains");
    assert_eq!(path_of(json!({"field": "t", "lte": {"a": 1}})), "lte");
    assert_eq!(path_of(json!({"field": "t", "like": 5})), "like");
    assert_eq!(path_of(json!({"field": "t", "is_null": false})), "is_null");
}

#[test]
fn empty_field_path() {
    assert_eq!(
        path_of(json!({"and": [{"field": "", "eq": 1}]})),
        "and[0].field"
    );
    assert_eq!(path_of(json!({"field": "a..b", "eq": 1})), "field");
    assert_eq!(path_of(json!({"field": 3, "eq": 1})), "field");
}

#[test]
fn nesting_deeper_than_the_limit() {
    let mut f = json!({"field": "a", "eq": 1});
    for _ in 0..MAX_DEPTH - 1 {
        f = json!({"not": f});
    }
    assert!(
        Filter::parse(&f).is_ok(),
        "exactly MAX_DEPTH levels are fine"
    );
    let f = json!({"not": f});
    let path = path_of(f);
    assert_eq!(path, vec!["not"; MAX_DEPTH].join("."));
}

#[test]
fn too_many_conditions() {
    let leaf = json!({"field": "a", "eq": 1});
    let ok = json!({"or": vec![leaf.clone(); MAX_CONDITIONS]});
    assert!(Filter::parse(&ok).is_ok());
    let too_many = json!({"or": vec![leaf; MAX_CONDITIONS + 1]});
    assert_eq!(path_of(too_many), format!("or[{MAX_CONDITIONS}]"));
}

#[test]
fn serde_deserialize_reports_the_path() {
    let err = serde_json::from_str::<Filter>(r#"{"and":[{"field":"a","in":[{}]}]}"#).unwrap_err();
    assert!(err.to_string().contains("and[0].in[0]"), "{err}");
}

#[test]
fn full_text_operands_must_be_strings() {
    assert_eq!(
        path_of(json!({"not": {"field": "title", "text": 5}})),
        "not.text"
    );
    assert_eq!(
        path_of(json!({"field": "title", "phrase": ["a b"]})),
        "phrase"
    );
    let ok = Filter::parse(&json!({"field": "title", "text": "red fox"})).unwrap();
    assert!(ok.mentions_full_text());
    assert_eq!(Filter::parse(&ok.to_json()).unwrap(), ok);
    // The payload-only evaluator cannot analyze text: full-text conditions do not match.
    assert!(!ok.matches(&json!({"title": "red fox"})));
}
