//! Runtime values of the query language: JSON values with SQL-like ordering, arithmetic and
//! time (`NOW()`, `INTERVAL`).
//!
//! - Ordering (ORDER BY, MIN / MAX, comparisons between computed values): the filter crate's
//!   total order ([`nearstore_filter::total_cmp`]: numbers by exact value, strings by bytes,
//!   false < true, kinds null < bool < number < string < array < object); NULL sorts last
//!   ascending and first descending.
//! - Arithmetic on numbers only; anything with NULL is NULL; division by zero is NULL;
//!   integer results stay integers while they fit.
//! - `NOW()` is the current UTC time as an ISO-8601 string (`2026-11-24T08:00:00Z`), which
//!   compares correctly with payload dates written the same way; `NOW() - INTERVAL '7 days'`
//!   shifts it. An `INTERVAL` alone is its length in seconds. Compared with a numeric
//!   field, a time computed from `NOW()` is its epoch seconds (how the reference stores
//!   times; see `lower.rs` and `eval.rs`).

use std::cmp::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Number, Value};

use crate::error::{Error, Result};

/// The total order over values: the filter crate's, so ORDER BY, MIN / MAX and the
/// filters agree (see [`nearstore_filter::total_cmp`]).
pub fn compare(a: &Value, b: &Value) -> Ordering {
    nearstore_filter::total_cmp(a, b)
}

/// SQL equality: numbers by value (`3 = 3.0`), everything else structurally.
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => compare(a, b) == Ordering::Equal,
        _ => a == b,
    }
}

/// A float as a JSON number (NULL for NaN / infinities).
pub fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return Value::from(f as i64);
    }
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// The four arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

/// `a op b` (see the module docs); `NOW() ± interval` works on ISO timestamps.
pub fn arithmetic(op: Arith, a: &Value, b: &Value) -> Result<Value> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    if let (Value::String(s), Value::Number(n)) = (a, b)
        && let Some(t) = parse_timestamp(s)
    {
        let secs = n.as_f64().unwrap_or(0.0) as i64;
        return match op {
            Arith::Add => Ok(Value::String(format_timestamp(t + secs))),
            Arith::Sub => Ok(Value::String(format_timestamp(t - secs))),
            _ => Err(Error::InvalidArgument(format!(
                "cannot multiply or divide the time {s}"
            ))),
        };
    }
    let (Value::Number(x), Value::Number(y)) = (a, b) else {
        return Err(Error::InvalidArgument(format!(
            "arithmetic needs numbers, got {a} and {b}"
        )));
    };
    if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
        let exact = match op {
            Arith::Add => i.checked_add(j),
            Arith::Sub => i.checked_sub(j),
            Arith::Mul => i.checked_mul(j),
            Arith::Div if j != 0 && i % j == 0 => i.checked_div(j),
            Arith::Div => None,
        };
        if let Some(r) = exact {
            return Ok(Value::from(r));
        }
    }
    let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
    Ok(match op {
        Arith::Add => number(x + y),
        Arith::Sub => number(x - y),
        Arith::Mul => number(x * y),
        Arith::Div if y == 0.0 => Value::Null,
        Arith::Div => Number::from_f64(x / y).map_or(Value::Null, Value::Number),
    })
}

/// Seconds since the epoch, now.
pub fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-11-24T08:00:00Z` for a time in seconds since the epoch.
pub fn format_timestamp(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DD[THH:MM:SS[Z]]` (UTC) to seconds since the epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo as u32, d as u32) * 86_400;
    if b.len() >= 19 && (b[10] == b'T' || b[10] == b' ') {
        secs += num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?;
    } else if b.len() != 10 {
        return None;
    }
    Some(secs)
}

/// The length of an interval such as `7 days`, `2 hours 30 minutes`, `1 week`, in seconds.
pub fn interval_seconds(text: &str) -> Result<i64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return Err(Error::InvalidArgument(format!(
            "INTERVAL '{text}': expected pairs like '7 days' or '2 hours 30 minutes'"
        )));
    }
    let mut total = 0i64;
    for pair in words.chunks(2) {
        let n: i64 = pair[0].parse().map_err(|_| {
            Error::InvalidArgument(format!(
                "INTERVAL '{text}': {:?} is not a whole number",
                pair[0]
            ))
        })?;
        let unit = match pair[1].trim_end_matches('s').to_ascii_lowercase().as_str() {
            "second" | "sec" => 1,
            "minute" | "min" => 60,
            "hour" => 3600,
            "day" => 86_400,
            "week" => 604_800,
            "month" => 2_592_000,
            "year" => 31_536_000,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "INTERVAL '{text}': unknown unit {other:?}"
                )));
            }
        };
        total = total.saturating_add(n.saturating_mul(unit));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_round_trip_and_shift() {
        let t = parse_timestamp("2026-11-24T08:00:00Z").unwrap();
        assert_eq!(format_timestamp(t), "2026-11-24T08:00:00Z");
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            parse_timestamp("2000-02-29").map(format_timestamp).unwrap(),
            "2000-02-29T00:00:00Z"
        );
        let week = interval_seconds("7 days").unwrap();
        let earlier = arithmetic(Arith::Sub, &json!("2026-11-24T08:00:00Z"), &json!(week)).unwrap();
        assert_eq!(earlier, json!("2026-11-17T08:00:00Z"));
        assert!(interval_seconds("7 fortnights").is_err());
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn ordering_is_total_and_sql_like() {
        assert_eq!(compare(&json!(3), &json!(3.0)), Ordering::Equal);
        assert_eq!(compare(&json!(2), &json!(10)), Ordering::Less);
        assert_eq!(compare(&json!("b"), &json!("a")), Ordering::Greater);
        assert_eq!(compare(&Value::Null, &json!(0)), Ordering::Less);
        assert!(equal(&json!(1), &json!(1.0)));
    }

    #[test]
    fn arithmetic_keeps_integers_and_nulls() {
        assert_eq!(
            arithmetic(Arith::Add, &json!(2), &json!(3)).unwrap(),
            json!(5)
        );
        assert_eq!(
            arithmetic(Arith::Div, &json!(7), &json!(2)).unwrap(),
            json!(3.5)
        );
        assert_eq!(
            arithmetic(Arith::Div, &json!(1), &json!(0)).unwrap(),
            Value::Null
        );
        assert_eq!(
            arithmetic(Arith::Mul, &Value::Null, &json!(2)).unwrap(),
            Value::Null
        );
        assert!(arithmetic(Arith::Add, &json!("a"), &json!(1)).is_err());
    }
}
