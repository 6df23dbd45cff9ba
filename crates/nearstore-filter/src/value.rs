//! Comparing JSON scalars and finding a field in a payload: the one definition of equality
//! and order that the evaluator and the indexes share.
//!
//! Numbers compare by exact mathematical value whatever their JSON representation
//! (`3 == 3.0`, and `9007199254740993 != 9007199254740992.0`); strings compare by bytes;
//! bools only compare for equality; values of different types are never equal or ordered.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use crate::path::reach;

/// A JSON number in the widest exact form.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

pub(crate) fn num(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::Int(i128::from(i))
    } else if let Some(u) = n.as_u64() {
        Num::Int(i128::from(u))
    } else {
        Num::Float(n.as_f64().unwrap_or(0.0))
    }
}

const TWO_POW_127: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;

/// Exact order of an integer and a finite float.
fn int_float_cmp(i: i128, f: f64) -> Ordering {
    if f.is_nan() {
        return Ordering::Less;
    }
    let approx = i as f64;
    match approx.partial_cmp(&f) {
        Some(Ordering::Equal) | None => {
            // `approx` is integral and equal to `f`, so `f` is integral too.
            if f.abs() >= TWO_POW_127 {
                if f > 0.0 {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            } else {
                let fi = f as i128;
                i.cmp(&fi)
            }
        }
        Some(o) => o,
    }
}

pub(crate) fn num_cmp(a: Num, b: Num) -> Ordering {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x.cmp(&y),
        (Num::Float(x), Num::Float(y)) => {
            // `==` first so that -0.0 equals 0.0.
            if x == y {
                Ordering::Equal
            } else {
                x.total_cmp(&y)
            }
        }
        (Num::Int(x), Num::Float(y)) => int_float_cmp(x, y),
        (Num::Float(x), Num::Int(y)) => int_float_cmp(y, x).reverse(),
    }
}

/// Equality of two scalars (numbers numerically, strings, bools); anything else is unequal.
pub(crate) fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(num(x), num(y)) == Ordering::Equal,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => false,
    }
}

/// Order of two numbers or two strings; `None` for any other pair.
pub(crate) fn scalar_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Some(num_cmp(num(x), num(y))),
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        _ => None,
    }
}

fn kind_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// The one total order over JSON values, shared by sorting everywhere (ordered scrolls,
/// the query language's ORDER BY, MIN and MAX): kinds order
/// `null < bool < number < string < array < object`; numbers by exact value (as in
/// filters: `3 == 3.0`), strings by bytes, `false < true`, arrays element by element then
/// by length, objects by length, then key by key (keys in their stored order) and value by
/// value. Values equal under it are equal as filter operands.
pub fn total_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(num(x), num(y)),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => x
            .iter()
            .zip(y)
            .map(|(p, q)| total_cmp(p, q))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| x.len().cmp(&y.len())),
        (Value::Object(x), Value::Object(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter()
                .zip(y)
                .map(|((ka, va), (kb, vb))| ka.cmp(kb).then_with(|| total_cmp(va, vb)))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        _ => kind_rank(a).cmp(&kind_rank(b)),
    }
}

/// The first non-`null` value a field path reaches in a payload (see the crate docs on
/// paths: `"a.b"` descends objects, `"a[].b"` every element of the array at `a`); `None`
/// when it reaches none (the filters' notion of a missing field). For a path without `[]`
/// this is the one value at the path.
pub fn field_value<'a>(payload: &'a Value, path: &str) -> Option<&'a Value> {
    reach(payload, path).present().next()
}

/// Every non-`null` value a field path reaches, in document order (one at most for a path
/// without `[]`). An array value is returned whole; conditions look at its elements.
pub fn field_values<'a>(payload: &'a Value, path: &str) -> Vec<&'a Value> {
    reach(payload, path).present().collect()
}

/// The values an operator looks at: the elements of an array, or the value itself.
pub fn elements(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        other => std::slice::from_ref(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_and_floats_compare_by_value() {
        assert!(scalar_eq(&json!(3), &json!(3.0)));
        assert!(scalar_eq(&json!(0.0), &json!(-0.0)));
        assert_eq!(scalar_cmp(&json!(2), &json!(2.5)), Some(Ordering::Less));
        assert_eq!(
            scalar_cmp(&json!(u64::MAX), &json!(-1)),
            Some(Ordering::Greater)
        );
        assert!(!scalar_eq(
            &json!(9_007_199_254_740_993_i64),
            &json!(9_007_199_254_740_992.0)
        ));
        assert_eq!(
            scalar_cmp(
                &json!(9_007_199_254_740_993_i64),
                &json!(9_007_199_254_740_992.0)
            ),
            Some(Ordering::Greater)
        );
        assert_eq!(
            scalar_cmp(&json!(i64::MIN), &json!(-1e300)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            scalar_cmp(&json!(u64::MAX), &json!(1e300)),
            Some(Ordering::Less)
        );
    }

    #[test]
    fn total_order_ranks_kinds_and_compares_numbers_exactly() {
        let sorted = [
            json!(null),
            json!(false),
            json!(true),
            json!(-1),
            json!(2.5),
            json!(9_007_199_254_740_993_i64),
            json!("B"),
            json!("a"),
            json!([1]),
            json!([1, 2]),
            json!({"a": 1}),
        ];
        for (i, a) in sorted.iter().enumerate() {
            for (j, b) in sorted.iter().enumerate() {
                assert_eq!(total_cmp(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
        assert_eq!(total_cmp(&json!(3), &json!(3.0)), Ordering::Equal);
        assert_eq!(
            total_cmp(
                &json!(9_007_199_254_740_993_i64),
                &json!(9_007_199_254_740_992.0)
            ),
            Ordering::Greater
        );
    }

    #[test]
    fn different_types_never_compare() {
        assert!(!scalar_eq(&json!("1"), &json!(1)));
        assert!(!scalar_eq(&json!(true), &json!(1)));
        assert_eq!(scalar_cmp(&json!(true), &json!(false)), None);
        assert_eq!(
            scalar_cmp(&json!("b"), &json!("a")),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn field_value_descends_objects_and_treats_null_as_missing() {
        let p = json!({"a": {"b": {"c": 1}, "n": null}, "arr": [{"b": null}, {"b": 1}, {"b": 2}]});
        assert_eq!(field_value(&p, "a.b.c"), Some(&json!(1)));
        assert_eq!(field_value(&p, "a.n"), None);
        assert_eq!(field_value(&p, "a.x"), None);
        assert_eq!(field_value(&p, "arr.b"), None);
        assert_eq!(field_value(&p, "arr[].b"), Some(&json!(1)));
        assert_eq!(field_values(&p, "arr[].b"), vec![&json!(1), &json!(2)]);
        assert_eq!(field_value(&Value::Null, "a"), None);
    }
}
