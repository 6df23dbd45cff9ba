//! The filter model: [`Filter`], [`Condition`], [`Op`] and [`GeoPoint`], with convenience
//! constructors and the structural limits every filter obeys.
//!
//! A filter built in Rust is not checked when it is built; [`Filter::validate`] applies the
//! same rules as [`Filter::parse`] (which calls the same per-condition check). Evaluation
//! never panics on an invalid filter: operands of the wrong type simply match nothing.

use roaring::RoaringTreemap;
use serde_json::Value;

use crate::datetime::DatetimeRange;
use crate::error::{Error, Result};
use crate::json::check_condition;

/// Deepest allowed nesting of `and` / `or` / `not` (the root counts as depth 1).
pub const MAX_DEPTH: usize = 64;

/// Most conditions (leaves) one filter may contain.
pub const MAX_CONDITIONS: usize = 1024;

/// A boolean combination of conditions on a point's JSON payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every part matches (an empty list matches everything).
    And(Vec<Filter>),
    /// At least one part matches (an empty list matches nothing).
    Or(Vec<Filter>),
    /// The part does not match.
    Not(Box<Filter>),
    /// One condition on one field.
    Condition(Condition),
    /// The point's id is one of these (resolved directly to this bitmap; it needs no
    /// payload). [`Filter::matches`] cannot see ids, so there it matches nothing; use
    /// [`Filter::matches_point`].
    HasId(RoaringTreemap),
}

/// One operator applied to the value found at a dotted field path.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Dotted path into nested objects, e.g. `"meta.author.name"`.
    pub field: String,
    /// What the field's value must satisfy.
    pub op: Op,
}

/// A condition's operator and operands. See the crate docs for the exact semantics.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Equal to a scalar (number, string or bool).
    Eq(Value),
    /// Not equal: exactly `not(eq)`, so a missing field matches.
    Ne(Value),
    /// Greater than a number or string.
    Gt(Value),
    /// Greater than or equal to a number or string.
    Gte(Value),
    /// Less than a number or string.
    Lt(Value),
    /// Less than or equal to a number or string.
    Lte(Value),
    /// Equal to one of the scalars.
    In(Vec<Value>),
    /// Exactly `not(in)`.
    NotIn(Vec<Value>),
    /// `low <= value <= high` (both inclusive; both numbers or both strings).
    Between {
        /// Inclusive lower bound.
        low: Value,
        /// Inclusive upper bound.
        high: Value,
    },
    /// SQL `LIKE`: `%` any run of characters, `_` exactly one, `\` escapes the next one.
    Like(String),
    /// Case-insensitive [`Op::Like`].
    ILike(String),
    /// The field is missing or `null` (SQL `IS NULL`).
    IsNull,
    /// Exactly `not(is_null)`.
    IsNotNull,
    /// The field is present and holds an explicit `null` (a missing field does not match).
    IsExplicitNull,
    /// The field is missing, `null`, or an empty array `[]`.
    IsEmpty,
    /// An array field has an element equal to the value, or a string field contains the
    /// string as a substring.
    Contains(Value),
    /// [`Op::Contains`] holds for at least one of the values (none: never).
    ContainsAny(Vec<Value>),
    /// [`Op::Contains`] holds for every one of the values (none: always).
    ContainsAll(Vec<Value>),
    /// A `{lat, lon}` point within `meters` (great-circle distance) of the centre.
    GeoRadius {
        /// Centre latitude in degrees.
        lat: f64,
        /// Centre longitude in degrees.
        lon: f64,
        /// Radius in meters.
        meters: f64,
    },
    /// Full-text match: every term of the query (as the field's analyzer cuts it) occurs in
    /// the field's text. Resolved by the engine through its text index (or, for a field
    /// without one, by analyzing the payload value with the default analyzer); the
    /// payload-only evaluator here cannot analyze text and treats it as not matching.
    Text(String),
    /// Full-text phrase: the query's terms occur adjacent and in order in one string of the
    /// field. Resolved by the engine like [`Op::Text`].
    Phrase(String),
    /// A string that parses as a datetime ([`Datetime::parse`]) within the bounds
    /// (Qdrant's `datetime_range`); other values never match.
    DatetimeRange(DatetimeRange),
    /// A `{lat, lon}` point inside the box (may cross the antimeridian).
    GeoBox {
        /// North-west corner.
        top_left: GeoPoint,
        /// South-east corner.
        bottom_right: GeoPoint,
    },
}

/// A point on Earth in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    /// Latitude in `[-90, 90]`.
    pub lat: f64,
    /// Longitude in `[-180, 180]`.
    pub lon: f64,
}

impl GeoPoint {
    /// A point from latitude and longitude in degrees.
    pub fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }
}

impl Op {
    /// The operator's key in the JSON form, e.g. `"gt"`.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Eq(_) => "eq",
            Op::Ne(_) => "ne",
            Op::Gt(_) => "gt",
            Op::Gte(_) => "gte",
            Op::Lt(_) => "lt",
            Op::Lte(_) => "lte",
            Op::In(_) => "in",
            Op::NotIn(_) => "not_in",
            Op::Between { .. } => "between",
            Op::Like(_) => "like",
            Op::ILike(_) => "ilike",
            Op::IsNull => "is_null",
            Op::IsNotNull => "is_not_null",
            Op::IsExplicitNull => "is_explicit_null",
            Op::IsEmpty => "is_empty",
            Op::Contains(_) => "contains",
            Op::ContainsAny(_) => "contains_any",
            Op::ContainsAll(_) => "contains_all",
            Op::GeoRadius { .. } => "geo_radius",
            Op::GeoBox { .. } => "geo_box",
            Op::Text(_) => "text",
            Op::Phrase(_) => "phrase",
            Op::DatetimeRange(_) => "datetime_range",
        }
    }

    /// Whether this is a full-text operator ([`Op::Text`] or [`Op::Phrase`]), which only the
    /// engine can evaluate.
    pub fn is_full_text(&self) -> bool {
        matches!(self, Op::Text(_) | Op::Phrase(_))
    }
}

fn cond(field: &str, op: Op) -> Filter {
    Filter::Condition(Condition {
        field: field.to_owned(),
        op,
    })
}

impl Filter {
    /// `{"and": parts}`.
    pub fn and(parts: Vec<Filter>) -> Filter {
        Filter::And(parts)
    }
    /// `{"or": parts}`.
    pub fn or(parts: Vec<Filter>) -> Filter {
        Filter::Or(parts)
    }
    /// `{"not": part}`. (An associated function, not `std::ops::Not`.)
    #[expect(
        clippy::should_implement_trait,
        reason = "a constructor named like the JSON key, not a unary operator"
    )]
    pub fn not(part: Filter) -> Filter {
        Filter::Not(Box::new(part))
    }
    /// A condition from a field path and an operator.
    pub fn condition(field: &str, op: Op) -> Filter {
        cond(field, op)
    }
    /// `field == value`.
    pub fn eq(field: &str, value: Value) -> Filter {
        cond(field, Op::Eq(value))
    }
    /// `field != value`.
    pub fn ne(field: &str, value: Value) -> Filter {
        cond(field, Op::Ne(value))
    }
    /// `field > value`.
    pub fn gt(field: &str, value: Value) -> Filter {
        cond(field, Op::Gt(value))
    }
    /// `field >= value`.
    pub fn gte(field: &str, value: Value) -> Filter {
        cond(field, Op::Gte(value))
    }
    /// `field < value`.
    pub fn lt(field: &str, value: Value) -> Filter {
        cond(field, Op::Lt(value))
    }
    /// `field <= value`.
    pub fn lte(field: &str, value: Value) -> Filter {
        cond(field, Op::Lte(value))
    }
    /// `field in values`.
    pub fn is_in(field: &str, values: Vec<Value>) -> Filter {
        cond(field, Op::In(values))
    }
    /// `field not in values`.
    pub fn not_in(field: &str, values: Vec<Value>) -> Filter {
        cond(field, Op::NotIn(values))
    }
    /// `low <= field <= high`.
    pub fn between(field: &str, low: Value, high: Value) -> Filter {
        cond(field, Op::Between { low, high })
    }
    /// SQL `LIKE`.
    pub fn like(field: &str, pattern: &str) -> Filter {
        cond(field, Op::Like(pattern.to_owned()))
    }
    /// Case-insensitive SQL `LIKE`.
    pub fn ilike(field: &str, pattern: &str) -> Filter {
        cond(field, Op::ILike(pattern.to_owned()))
    }
    /// The field is missing or null.
    pub fn is_null(field: &str) -> Filter {
        cond(field, Op::IsNull)
    }
    /// The field is present and not null.
    pub fn is_not_null(field: &str) -> Filter {
        cond(field, Op::IsNotNull)
    }
    /// The field holds an explicit `null` (present, not missing).
    pub fn is_explicit_null(field: &str) -> Filter {
        cond(field, Op::IsExplicitNull)
    }
    /// The field is missing, `null` or `[]`.
    pub fn is_empty(field: &str) -> Filter {
        cond(field, Op::IsEmpty)
    }
    /// The point's id is one of `ids`.
    pub fn has_id(ids: impl IntoIterator<Item = u64>) -> Filter {
        Filter::HasId(ids.into_iter().collect())
    }
    /// Array element or substring.
    pub fn contains(field: &str, value: Value) -> Filter {
        cond(field, Op::Contains(value))
    }
    /// Contains at least one of the values.
    pub fn contains_any(field: &str, values: Vec<Value>) -> Filter {
        cond(field, Op::ContainsAny(values))
    }
    /// Contains every one of the values.
    pub fn contains_all(field: &str, values: Vec<Value>) -> Filter {
        cond(field, Op::ContainsAll(values))
    }
    /// Within `meters` of `(lat, lon)`.
    pub fn geo_radius(field: &str, lat: f64, lon: f64, meters: f64) -> Filter {
        cond(field, Op::GeoRadius { lat, lon, meters })
    }
    /// Inside the box.
    pub fn geo_box(field: &str, top_left: GeoPoint, bottom_right: GeoPoint) -> Filter {
        cond(
            field,
            Op::GeoBox {
                top_left,
                bottom_right,
            },
        )
    }

    /// `field` holds a datetime within `range` (see [`Op::DatetimeRange`]).
    pub fn datetime_range(field: &str, range: DatetimeRange) -> Filter {
        cond(field, Op::DatetimeRange(range))
    }

    /// Full-text match on `field` (see [`Op::Text`]).
    pub fn text(field: &str, query: &str) -> Filter {
        cond(field, Op::Text(query.to_owned()))
    }
    /// Full-text phrase on `field` (see [`Op::Phrase`]).
    pub fn phrase(field: &str, query: &str) -> Filter {
        cond(field, Op::Phrase(query.to_owned()))
    }

    /// Whether the filter has a full-text condition anywhere (which the engine must resolve
    /// through its text index before evaluating the rest).
    pub fn mentions_full_text(&self) -> bool {
        match self {
            Filter::And(parts) | Filter::Or(parts) => parts.iter().any(Filter::mentions_full_text),
            Filter::Not(part) => part.mentions_full_text(),
            Filter::Condition(c) => c.op.is_full_text(),
            Filter::HasId(_) => false,
        }
    }

    /// Number of conditions (leaves) in the filter.
    pub fn condition_count(&self) -> usize {
        match self {
            Filter::And(parts) | Filter::Or(parts) => {
                parts.iter().map(Filter::condition_count).sum()
            }
            Filter::Not(part) => part.condition_count(),
            Filter::Condition(_) | Filter::HasId(_) => 1,
        }
    }

    /// Nesting depth: a condition is 1, `and`/`or`/`not` add one to their deepest part.
    pub fn depth(&self) -> usize {
        match self {
            Filter::And(parts) | Filter::Or(parts) => {
                1 + parts.iter().map(Filter::depth).max().unwrap_or(0)
            }
            Filter::Not(part) => 1 + part.depth(),
            Filter::Condition(_) | Filter::HasId(_) => 1,
        }
    }

    /// Checks a filter built in Rust against the same rules [`Filter::parse`] applies, with
    /// the same error paths.
    pub fn validate(&self) -> Result<()> {
        let mut count = 0;
        validate_at(self, &mut String::new(), 1, &mut count)
    }
}

fn validate_at(filter: &Filter, path: &mut String, depth: usize, count: &mut usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::invalid(
            path,
            format!("filter nests deeper than {MAX_DEPTH} levels"),
        ));
    }
    match filter {
        Filter::And(parts) | Filter::Or(parts) => {
            let key = if matches!(filter, Filter::And(_)) {
                "and"
            } else {
                "or"
            };
            for (i, part) in parts.iter().enumerate() {
                let len = path.len();
                push_segment(path, &format!("{key}[{i}]"));
                validate_at(part, path, depth + 1, count)?;
                path.truncate(len);
            }
            Ok(())
        }
        Filter::Not(part) => {
            let len = path.len();
            push_segment(path, "not");
            validate_at(part, path, depth + 1, count)?;
            path.truncate(len);
            Ok(())
        }
        Filter::Condition(c) => {
            count_one(path, count)?;
            check_condition(c, path)
        }
        Filter::HasId(_) => count_one(path, count),
    }
}

/// Counts one leaf, failing past [`MAX_CONDITIONS`].
pub(crate) fn count_one(path: &str, count: &mut usize) -> Result<()> {
    *count += 1;
    if *count > MAX_CONDITIONS {
        return Err(Error::invalid(
            path,
            format!("filter has more than {MAX_CONDITIONS} conditions"),
        ));
    }
    Ok(())
}

/// Appends `segment` to a dotted error path.
pub(crate) fn push_segment(path: &mut String, segment: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(segment);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_conditions_and_depth() {
        let f = Filter::and(vec![
            Filter::eq("a", json!(1)),
            Filter::not(Filter::or(vec![
                Filter::is_null("b"),
                Filter::gt("c", json!(2)),
            ])),
        ]);
        assert_eq!(f.condition_count(), 3);
        assert_eq!(f.depth(), 4);
        assert_eq!(Filter::and(vec![]).depth(), 1);
    }

    #[test]
    fn validate_reports_the_path_of_a_bad_condition() {
        let f = Filter::and(vec![
            Filter::eq("a", json!(1)),
            Filter::not(Filter::gt("b", json!(true))),
        ]);
        let err = f.validate().unwrap_err().to_string();
        assert!(err.contains("and[1].not.gt"), "{err}");
    }

    #[test]
    fn validate_rejects_deep_nesting() {
        let mut f = Filter::is_null("x");
        for _ in 0..MAX_DEPTH {
            f = Filter::not(f);
        }
        assert!(f.validate().is_err());
    }

    #[test]
    fn op_names_match_json_keys() {
        assert_eq!(Op::NotIn(vec![]).name(), "not_in");
        assert_eq!(Op::IsNotNull.name(), "is_not_null");
    }
}
