//! Qdrant filters translated to the engine's [`Filter`].
//!
//! | Qdrant | engine |
//! |---|---|
//! | `must: [c...]` (or one condition) | `and` |
//! | `should: [c...]` | `or` (an empty list is no constraint) |
//! | `must_not: [c...]` | `not(or(...))` |
//! | `{"key": k, "match": {"value": v}}` | `eq(k, v)` (any element of an array) |
//! | `match: {"any": [..]}` | `in` |
//! | `match: {"except": [..]}` | `is_not_null(k) and not_in(k, ..)` |
//! | `match: {"text": s}` | `text(k, s)`: every term of `s` occurs in the field (cut by the field's full-text index analyzer; a field without one by the default analyzer, which is word-level where Qdrant matches a substring) |
//! | `match: {"phrase": s}` | `phrase(k, s)`: the terms occur adjacent and in order |
//! | `range: {gt, gte, lt, lte}` | the same comparisons, and-ed (numbers or date strings) |
//! | `geo_radius`, `geo_bounding_box` | `geo_radius`, `geo_box` |
//! | `{"is_null": {"key": k}}`, `{"key": k, "is_null": true}` | `is_explicit_null(k)` (an explicit `null`; a missing field does not match) |
//! | `{"is_empty": {"key": k}}`, `{"key": k, "is_empty": true}` | `is_empty(k)` (missing, `null` or `[]`) |
//! | `{"has_id": [...]}` (at any depth, in any clause) | `has_id` (resolved by the engine to its id bitmap) |
//!
//! Keys are dotted paths (`metadata.source`) with Qdrant's array selectors (`a[].b`: any
//! element's `b`; `a[0]`: one element), passed to the engine as they are (the filter crate
//! owns path syntax and refuses a malformed one). Quoted keys, `nested`, `has_vector`,
//! `values_count`, `min_should`, `geo_polygon` and `match.text_any` are answered 400 "not
//! supported".

use nearstore::filter::GeoPoint;
use nearstore::{Datetime, DatetimeRange, Filter};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::qdrant::ids::ExtId;

/// Translates an optional raw Qdrant filter of a typed body (`None` or `null`: no
/// constraint); the filter's value tree is reserved from the memory budget first.
pub(crate) fn from_raw(raw: Option<&serde_json::value::RawValue>) -> Result<Option<Filter>> {
    match raw {
        None => Ok(None),
        Some(raw) => translate(Some(&crate::body::raw_to_value(raw)?)),
    }
}

/// Translates an optional Qdrant filter (`None`: no constraint).
pub(crate) fn translate(v: Option<&Value>) -> Result<Option<Filter>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let filter = filter_parts(as_object(v, "filter")?)?;
    if let Some(f) = &filter {
        f.validate().map_err(nearstore::Error::from)?;
    }
    Ok(filter)
}

fn as_object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| Error::bad_request(format!("{what} must be a JSON object, got {v}")))
}

/// A clause's conditions: a list, or one condition object (Qdrant accepts both).
fn conditions(v: &Value) -> Result<Vec<&Map<String, Value>>> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(|c| as_object(c, "a condition")).collect(),
        Value::Object(o) => Ok(vec![o]),
        other => Err(Error::bad_request(format!(
            "a filter clause is a condition or a list of conditions, got {other}"
        ))),
    }
}

fn id_list(v: &Value) -> Result<Vec<u64>> {
    let items = v
        .as_array()
        .ok_or_else(|| Error::bad_request("has_id must be a list of point ids"))?;
    ExtId::internal_ids(items)
}

/// A nested filter object (`must`, `should`, `must_not`, `min_should`).
fn nested_filter(obj: &Map<String, Value>) -> Result<Filter> {
    Ok(filter_parts(obj)?.unwrap_or_else(|| Filter::and(Vec::new())))
}

fn filter_parts(obj: &Map<String, Value>) -> Result<Option<Filter>> {
    let mut parts = Vec::new();
    for (key, value) in obj {
        match key.as_str() {
            "must" => {
                let cs = conditions(value)?
                    .into_iter()
                    .map(condition)
                    .collect::<Result<Vec<_>>>()?;
                parts.push(Filter::and(cs));
            }
            "should" => {
                let cs = conditions(value)?
                    .into_iter()
                    .map(condition)
                    .collect::<Result<Vec<_>>>()?;
                if !cs.is_empty() {
                    parts.push(Filter::or(cs));
                }
            }
            "must_not" => {
                let cs = conditions(value)?
                    .into_iter()
                    .map(condition)
                    .collect::<Result<Vec<_>>>()?;
                if !cs.is_empty() {
                    parts.push(Filter::not(Filter::or(cs)));
                }
            }
            "min_should" => {
                if !value.is_null() {
                    return Err(Error::not_supported("the min_should filter clause"));
                }
            }
            other => {
                return Err(Error::bad_request(format!(
                    "unknown filter clause {other:?} (expected must, should, must_not)"
                )));
            }
        }
    }
    Ok(match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Filter::and(parts)),
    })
}

fn key_of(v: &Value) -> Result<String> {
    let key = v.as_str().ok_or_else(|| {
        Error::bad_request(format!("a condition's key must be a string, got {v}"))
    })?;
    if key.contains('"') {
        return Err(Error::not_supported(format!(
            "the key {key:?} (quoted key paths)"
        )));
    }
    Ok(key.to_string())
}

/// One condition.
fn condition(c: &Map<String, Value>) -> Result<Filter> {
    if c.contains_key("must") || c.contains_key("should") || c.contains_key("must_not") {
        return nested_filter(c);
    }
    if let Some(ids) = c.get("has_id") {
        return Ok(Filter::has_id(id_list(ids)?));
    }
    // `{"is_null": {"key": k}}` and `{"is_empty": {"key": k}}`; the field-condition forms
    // `{"key": k, "is_null": true}` are handled with the other field conditions.
    if let Some(Value::Object(o)) = c.get("is_null") {
        return Ok(Filter::is_explicit_null(&key_of(
            o.get("key").unwrap_or(&Value::Null),
        )?));
    }
    if let Some(Value::Object(o)) = c.get("is_empty") {
        return Ok(Filter::is_empty(&key_of(
            o.get("key").unwrap_or(&Value::Null),
        )?));
    }
    for unsupported in ["nested", "has_vector"] {
        if c.contains_key(unsupported) {
            return Err(Error::not_supported(format!("the {unsupported} condition")));
        }
    }
    let Some(key) = c.get("key") else {
        return Err(Error::bad_request(format!(
            "unknown condition {} (expected a field condition with \"key\", is_null, is_empty, has_id or a nested filter)",
            Value::Object(c.clone())
        )));
    };
    field_condition(&key_of(key)?, c)
}

/// Qdrant's `range` is a datetime range when a bound is a string (its `DatetimeRange`).
fn is_datetime_range(range: &Map<String, Value>) -> bool {
    range.values().any(Value::is_string)
}

/// A `range` with RFC 3339 / ISO 8601 string bounds (as Qdrant accepts them: a date, a
/// date and time, with or without an offset; no offset is UTC) as the engine's datetime
/// range condition. A bound that is not a datetime string is 400.
fn datetime_range(key: &str, range: &Map<String, Value>) -> Result<Filter> {
    let mut r = DatetimeRange::default();
    for (op, bound) in range {
        if bound.is_null() {
            continue;
        }
        let at = bound.as_str().and_then(Datetime::parse).ok_or_else(|| {
            Error::bad_request(format!(
                "datetime range bound {op:?} must be an RFC 3339 datetime string, got {bound}"
            ))
        })?;
        let slot = match op.as_str() {
            "gt" => &mut r.gt,
            "gte" => &mut r.gte,
            "lt" => &mut r.lt,
            "lte" => &mut r.lte,
            other => {
                return Err(Error::bad_request(format!(
                    "unknown range bound {other:?} (expected gt, gte, lt, lte)"
                )));
            }
        };
        *slot = Some(at);
    }
    Ok(Filter::datetime_range(key, r))
}

fn field_condition(key: &str, c: &Map<String, Value>) -> Result<Filter> {
    let mut parts = Vec::new();
    for (name, v) in c {
        if v.is_null() {
            continue;
        }
        match name.as_str() {
            "key" => {}
            "match" => parts.push(match_condition(key, as_object(v, "match")?)?),
            "range" if is_datetime_range(as_object(v, "range")?) => {
                parts.push(datetime_range(key, as_object(v, "range")?)?);
            }
            "range" => {
                for (op, bound) in as_object(v, "range")? {
                    if bound.is_null() {
                        continue;
                    }
                    parts.push(match op.as_str() {
                        "gt" => Filter::gt(key, bound.clone()),
                        "gte" => Filter::gte(key, bound.clone()),
                        "lt" => Filter::lt(key, bound.clone()),
                        "lte" => Filter::lte(key, bound.clone()),
                        other => {
                            return Err(Error::bad_request(format!(
                                "unknown range bound {other:?} (expected gt, gte, lt, lte)"
                            )));
                        }
                    });
                }
            }
            "geo_radius" => {
                let o = as_object(v, "geo_radius")?;
                let (lat, lon) = geo_point(o.get("center"))?;
                let radius = o
                    .get("radius")
                    .and_then(Value::as_f64)
                    .ok_or_else(|| Error::bad_request("geo_radius needs a numeric \"radius\""))?;
                parts.push(Filter::geo_radius(key, lat, lon, radius));
            }
            "geo_bounding_box" => {
                let o = as_object(v, "geo_bounding_box")?;
                let (tl_lat, tl_lon) = geo_point(o.get("top_left"))?;
                let (br_lat, br_lon) = geo_point(o.get("bottom_right"))?;
                parts.push(Filter::geo_box(
                    key,
                    GeoPoint::new(tl_lat, tl_lon),
                    GeoPoint::new(br_lat, br_lon),
                ));
            }
            "is_empty" => match v.as_bool() {
                Some(true) => parts.push(Filter::is_empty(key)),
                Some(false) => parts.push(Filter::not(Filter::is_empty(key))),
                None => return Err(Error::bad_request("is_empty must be a bool")),
            },
            "is_null" => match v.as_bool() {
                Some(true) => parts.push(Filter::is_explicit_null(key)),
                Some(false) => parts.push(Filter::not(Filter::is_explicit_null(key))),
                None => return Err(Error::bad_request("is_null must be a bool")),
            },
            "geo_polygon" | "values_count" | "datetime_range" => {
                return Err(Error::not_supported(format!("the {name} condition")));
            }
            other => {
                return Err(Error::bad_request(format!(
                    "unknown field condition {other:?}"
                )));
            }
        }
    }
    match parts.len() {
        0 => Err(Error::bad_request(format!(
            "the condition on {key:?} has no match, range or geo part"
        ))),
        1 => Ok(parts.remove(0)),
        _ => Ok(Filter::and(parts)),
    }
}

fn geo_point(v: Option<&Value>) -> Result<(f64, f64)> {
    let o = v
        .and_then(Value::as_object)
        .ok_or_else(|| Error::bad_request("a geo point is {\"lat\": .., \"lon\": ..}"))?;
    match (
        o.get("lat").and_then(Value::as_f64),
        o.get("lon").and_then(Value::as_f64),
    ) {
        (Some(lat), Some(lon)) => Ok((lat, lon)),
        _ => Err(Error::bad_request("a geo point needs numeric lat and lon")),
    }
}

fn match_condition(key: &str, m: &Map<String, Value>) -> Result<Filter> {
    if let Some(v) = m.get("value") {
        return Ok(Filter::eq(key, v.clone()));
    }
    if let Some(v) = m.get("any") {
        let items = v
            .as_array()
            .ok_or_else(|| Error::bad_request("match.any must be a list"))?;
        return Ok(Filter::is_in(key, items.clone()));
    }
    if let Some(v) = m.get("except") {
        let items = v
            .as_array()
            .ok_or_else(|| Error::bad_request("match.except must be a list"))?;
        return Ok(Filter::and(vec![
            Filter::is_not_null(key),
            Filter::not_in(key, items.clone()),
        ]));
    }
    if let Some(v) = m.get("text") {
        let text = v
            .as_str()
            .ok_or_else(|| Error::bad_request("match.text must be a string"))?;
        return Ok(Filter::text(key, text));
    }
    if let Some(v) = m.get("phrase") {
        let text = v
            .as_str()
            .ok_or_else(|| Error::bad_request("match.phrase must be a string"))?;
        return Ok(Filter::phrase(key, text));
    }
    if m.contains_key("text_any") {
        return Err(Error::not_supported("match.text_any"));
    }
    Err(Error::bad_request(format!(
        "unknown match {} (expected value, any, except, text or phrase)",
        Value::Object(m.clone())
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(v: Value) -> Filter {
        translate(Some(&v)).unwrap().unwrap()
    }

    #[test]
    fn clauses_translate_to_their_engine_forms() {
        let filter = f(json!({
            "must": [{"key": "metadata.lang", "match": {"value": "en"}}],
            "should": [{"key": "n", "range": {"gte": 1, "lt": 5}}],
            "must_not": [{"key": "tag", "match": {"any": ["x", "y"]}}]
        }));
        assert!(filter.matches(&json!({"metadata": {"lang": "en"}, "n": 2, "tag": "z"})));
        assert!(!filter.matches(&json!({"metadata": {"lang": "en"}, "n": 2, "tag": "x"})));
        assert!(!filter.matches(&json!({"metadata": {"lang": "en"}, "n": 7, "tag": "z"})));
        assert!(!filter.matches(&json!({"metadata": {"lang": "de"}, "n": 2})));
    }

    #[test]
    fn except_text_and_empty_follow_qdrant() {
        let except = f(json!({"must": {"key": "c", "match": {"except": ["a"]}}}));
        assert!(except.matches(&json!({"c": "b"})));
        assert!(!except.matches(&json!({"c": "a"})));
        assert!(!except.matches(&json!({})));
        // Full-text conditions go to the engine (which resolves them through its text index).
        assert_eq!(
            f(json!({"must": [{"key": "t", "match": {"text": "vector db"}}]})),
            Filter::and(vec![Filter::text("t", "vector db")])
        );
        assert_eq!(
            f(json!({"must": {"key": "t", "match": {"phrase": "vector db"}}})),
            Filter::and(vec![Filter::phrase("t", "vector db")])
        );
        let e =
            translate(Some(&json!({"must": {"key": "t", "match": {"phrase": 3}}}))).unwrap_err();
        assert!(
            e.to_string().contains("match.phrase must be a string"),
            "{e}"
        );
        for empty in [
            f(json!({"must": [{"is_empty": {"key": "t"}}]})),
            f(json!({"must": [{"key": "t", "is_empty": true}]})),
        ] {
            assert!(empty.matches(&json!({"t": []})));
            assert!(empty.matches(&json!({"t": null})));
            assert!(empty.matches(&json!({})));
            assert!(!empty.matches(&json!({"t": [1]})));
            assert!(!empty.matches(&json!({"t": "x"})));
        }
    }

    #[test]
    fn is_null_is_an_explicit_null_only() {
        for null in [
            f(json!({"must": [{"is_null": {"key": "t"}}]})),
            f(json!({"must": [{"key": "t", "is_null": true}]})),
        ] {
            assert!(null.matches(&json!({"t": null})));
            assert!(!null.matches(&json!({})), "a missing key is not null");
            assert!(!null.matches(&json!({"t": []})));
        }
        let not_null = f(json!({"must": [{"key": "t", "is_null": false}]}));
        assert!(not_null.matches(&json!({})));
        assert!(!not_null.matches(&json!({"t": null})));
    }

    #[test]
    fn has_id_translates_at_any_depth() {
        let t = f(json!({"must": [{"has_id": [1, 2]}], "must_not": [{"has_id": [2]}]}));
        let p = json!({});
        assert!(t.matches_point(1, &p) && !t.matches_point(2, &p) && !t.matches_point(3, &p));
        let nested = f(json!({"should": [
            {"must_not": [{"has_id": [1]}], "must": [{"key": "a", "match": {"value": 1}}]},
            {"has_id": [5]}
        ]}));
        assert!(nested.matches_point(2, &json!({"a": 1})));
        assert!(!nested.matches_point(1, &json!({"a": 1})));
        assert!(nested.matches_point(5, &p));
        assert!(!nested.matches_point(6, &p));
    }

    #[test]
    fn array_paths_match_any_element_as_in_qdrant() {
        let f = translate(Some(&json!({"must": [
            {"key": "country.cities[].population", "range": {"gte": 9.0}}
        ]})))
        .unwrap()
        .unwrap();
        let big = json!({"country": {"cities": [{"population": 8.9}, {"population": 9.1}]}});
        let small = json!({"country": {"cities": [{"population": 1.0}, {"population": 2.0}]}});
        assert!(f.matches(&big));
        assert!(!f.matches(&small));
        let bad = translate(Some(
            &json!({"must": [{"key": "a[x]", "match": {"value": 1}}]}),
        ));
        assert!(bad.is_err(), "a malformed selector is refused");
    }

    #[test]
    fn unsupported_parts_say_so() {
        for v in [
            json!({"must": [{"nested": {"key": "a", "filter": {}}}]}),
            json!({"must": [{"key": "\"a.b\"", "match": {"value": 1}}]}),
            json!({"must": [{"key": "a", "values_count": {"gt": 1}}]}),
        ] {
            let e = translate(Some(&v)).unwrap_err();
            assert!(e.to_string().contains("not supported"), "{e}");
        }
    }
}
