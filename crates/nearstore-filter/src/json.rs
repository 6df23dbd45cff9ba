//! The JSON form of a filter: [`Filter::parse`] (with error paths), [`Filter::to_json`],
//! serde through both, and the per-condition rule check shared with [`Filter::validate`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::datetime::{Datetime, DatetimeRange};
use crate::error::{Error, Result};
use crate::model::{
    Condition, Filter, GeoPoint, MAX_CONDITIONS, MAX_DEPTH, Op, count_one, push_segment,
};

const OPERATORS: [&str; 23] = [
    "datetime_range",
    "text",
    "phrase",
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
    "between",
    "like",
    "ilike",
    "is_null",
    "is_not_null",
    "is_explicit_null",
    "is_empty",
    "contains",
    "contains_any",
    "contains_all",
    "geo_radius",
    "geo_box",
];

impl Filter {
    /// Parses the JSON form (see the crate docs). Errors name the path of the bad part,
    /// e.g. `and[1].or[0].gt: expected a number or string`.
    pub fn parse(json: &Value) -> Result<Filter> {
        let mut count = 0;
        parse_at(json, &mut String::new(), 1, &mut count)
    }

    /// The JSON form; `Filter::parse(&f.to_json()) == Ok(f)` for every valid filter.
    pub fn to_json(&self) -> Value {
        match self {
            Filter::And(parts) => {
                json!({"and": parts.iter().map(Filter::to_json).collect::<Vec<_>>()})
            }
            Filter::Or(parts) => {
                json!({"or": parts.iter().map(Filter::to_json).collect::<Vec<_>>()})
            }
            Filter::Not(part) => json!({"not": part.to_json()}),
            Filter::HasId(ids) => json!({"has_id": ids.iter().collect::<Vec<u64>>()}),
            Filter::Condition(c) => {
                let mut obj = Map::new();
                obj.insert("field".to_owned(), Value::String(c.field.clone()));
                obj.insert(c.op.name().to_owned(), operand_json(&c.op));
                Value::Object(obj)
            }
        }
    }
}

fn operand_json(op: &Op) -> Value {
    match op {
        Op::Eq(v) | Op::Ne(v) | Op::Gt(v) | Op::Gte(v) | Op::Lt(v) | Op::Lte(v) => v.clone(),
        Op::Contains(v) => v.clone(),
        Op::In(vs) | Op::NotIn(vs) | Op::ContainsAny(vs) | Op::ContainsAll(vs) => {
            Value::Array(vs.clone())
        }
        Op::Between { low, high } => json!([low, high]),
        Op::Like(p) | Op::ILike(p) | Op::Text(p) | Op::Phrase(p) => Value::String(p.clone()),
        Op::IsNull | Op::IsNotNull | Op::IsExplicitNull | Op::IsEmpty => Value::Bool(true),
        Op::GeoRadius { lat, lon, meters } => json!({"lat": lat, "lon": lon, "meters": meters}),
        Op::GeoBox {
            top_left,
            bottom_right,
        } => json!({
            "top_left": {"lat": top_left.lat, "lon": top_left.lon},
            "bottom_right": {"lat": bottom_right.lat, "lon": bottom_right.lon},
        }),
        Op::DatetimeRange(range) => {
            let mut obj = Map::new();
            for (key, bound) in [
                ("gt", range.gt),
                ("gte", range.gte),
                ("lt", range.lt),
                ("lte", range.lte),
            ] {
                if let Some(t) = bound {
                    obj.insert(key.to_owned(), Value::String(t.to_string()));
                }
            }
            Value::Object(obj)
        }
    }
}

fn at(path: &str, segment: &str) -> String {
    let mut p = path.to_owned();
    push_segment(&mut p, segment);
    p
}

fn parse_at(json: &Value, path: &mut String, depth: usize, count: &mut usize) -> Result<Filter> {
    if depth > MAX_DEPTH {
        return Err(Error::invalid(
            path,
            format!("filter nests deeper than {MAX_DEPTH} levels"),
        ));
    }
    let Some(obj) = json.as_object() else {
        return Err(Error::invalid(path, "expected an object"));
    };
    if obj.contains_key("field") {
        count_one(path, count)?;
        let condition = parse_condition(obj, path)?;
        check_condition(&condition, path)?;
        return Ok(Filter::Condition(condition));
    }
    let mut keys = obj.keys();
    let (Some(key), None) = (keys.next(), keys.next()) else {
        return Err(Error::invalid(
            path,
            "expected {\"and\": [..]}, {\"or\": [..]}, {\"not\": ..}, {\"has_id\": [..]} or a condition with a \"field\"",
        ));
    };
    let Some(inner) = obj.get(key) else {
        return Err(Error::invalid(path, "expected an object"));
    };
    let len = path.len();
    let filter = match key.as_str() {
        "and" | "or" => {
            let Some(items) = inner.as_array() else {
                return Err(Error::invalid(
                    &at(path, key),
                    "expected an array of filters",
                ));
            };
            let mut parts = Vec::with_capacity(items.len().min(MAX_CONDITIONS));
            for (i, item) in items.iter().enumerate() {
                push_segment(path, &format!("{key}[{i}]"));
                parts.push(parse_at(item, path, depth + 1, count)?);
                path.truncate(len);
            }
            if key == "and" {
                Filter::And(parts)
            } else {
                Filter::Or(parts)
            }
        }
        "has_id" => {
            count_one(path, count)?;
            Filter::HasId(id_list(inner, &at(path, key))?)
        }
        "not" => {
            push_segment(path, "not");
            let part = parse_at(inner, path, depth + 1, count)?;
            path.truncate(len);
            Filter::Not(Box::new(part))
        }
        other => {
            return Err(Error::invalid(
                &at(path, other),
                format!("unknown key {other:?} (a condition needs a \"field\")"),
            ));
        }
    };
    Ok(filter)
}

fn parse_condition(obj: &Map<String, Value>, path: &str) -> Result<Condition> {
    let field = match obj.get("field") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(Error::invalid(&at(path, "field"), "expected a string")),
    };
    let mut op_key: Option<&str> = None;
    for key in obj.keys() {
        if key == "field" {
            continue;
        }
        if !OPERATORS.contains(&key.as_str()) {
            return Err(Error::invalid(
                &at(path, key),
                format!("unknown key {key:?}"),
            ));
        }
        if let Some(first) = op_key {
            return Err(Error::invalid(
                path,
                format!("a condition takes exactly one operator, found {first:?} and {key:?}"),
            ));
        }
        op_key = Some(key);
    }
    let Some(key) = op_key else {
        return Err(Error::invalid(path, "a condition needs an operator"));
    };
    let operand = obj.get(key).unwrap_or(&Value::Null);
    let op = parse_op(key, operand, &at(path, key))?;
    Ok(Condition { field, op })
}

fn parse_op(key: &str, v: &Value, path: &str) -> Result<Op> {
    let list = || -> Result<Vec<Value>> {
        v.as_array()
            .cloned()
            .ok_or_else(|| Error::invalid(path, "expected an array"))
    };
    let string = || -> Result<String> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::invalid(path, "expected a string pattern"))
    };
    let text = || -> Result<String> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::invalid(path, "expected a string of query text"))
    };
    let flag = || -> Result<()> {
        if *v == Value::Bool(true) {
            Ok(())
        } else {
            Err(Error::invalid(path, "expected true"))
        }
    };
    Ok(match key {
        "eq" => Op::Eq(v.clone()),
        "ne" => Op::Ne(v.clone()),
        "gt" => Op::Gt(v.clone()),
        "gte" => Op::Gte(v.clone()),
        "lt" => Op::Lt(v.clone()),
        "lte" => Op::Lte(v.clone()),
        "in" => Op::In(list()?),
        "not_in" => Op::NotIn(list()?),
        "contains" => Op::Contains(v.clone()),
        "contains_any" => Op::ContainsAny(list()?),
        "contains_all" => Op::ContainsAll(list()?),
        "between" => match v.as_array().map(Vec::as_slice) {
            Some([low, high]) => Op::Between {
                low: low.clone(),
                high: high.clone(),
            },
            _ => return Err(Error::invalid(path, "expected [low, high]")),
        },
        "like" => Op::Like(string()?),
        "ilike" => Op::ILike(string()?),
        "text" => Op::Text(text()?),
        "phrase" => Op::Phrase(text()?),
        "is_null" => {
            flag()?;
            Op::IsNull
        }
        "is_not_null" => {
            flag()?;
            Op::IsNotNull
        }
        "is_explicit_null" => {
            flag()?;
            Op::IsExplicitNull
        }
        "is_empty" => {
            flag()?;
            Op::IsEmpty
        }
        "geo_radius" => {
            let obj = object_with(v, path, &["lat", "lon", "meters"])?;
            Op::GeoRadius {
                lat: number(obj, "lat", path)?,
                lon: number(obj, "lon", path)?,
                meters: number(obj, "meters", path)?,
            }
        }
        "geo_box" => {
            let obj = object_with(v, path, &["top_left", "bottom_right"])?;
            Op::GeoBox {
                top_left: geo_point(obj, "top_left", path)?,
                bottom_right: geo_point(obj, "bottom_right", path)?,
            }
        }
        "datetime_range" => Op::DatetimeRange(datetime_range(v, path)?),
        other => return Err(Error::invalid(path, format!("unknown operator {other:?}"))),
    })
}

/// `{"gt": t, "gte": t, "lt": t, "lte": t}`, every key optional, each a datetime string (or
/// `null`, as Qdrant allows, for no bound).
fn datetime_range(v: &Value, path: &str) -> Result<DatetimeRange> {
    let obj = object_with(v, path, &["gt", "gte", "lt", "lte"])?;
    let bound = |key: &str| -> Result<Option<Datetime>> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Datetime::parse(s).map(Some).ok_or_else(|| {
                Error::invalid(
                    &at(path, key),
                    format!("{s:?} is not an RFC 3339 / ISO 8601 datetime or date"),
                )
            }),
            Some(_) => Err(Error::invalid(
                &at(path, key),
                "expected a datetime string (RFC 3339 / ISO 8601)",
            )),
        }
    };
    Ok(DatetimeRange {
        gt: bound("gt")?,
        gte: bound("gte")?,
        lt: bound("lt")?,
        lte: bound("lte")?,
    })
}

/// The ids of a `has_id`: an array of non-negative integers (duplicates allowed).
fn id_list(v: &Value, path: &str) -> Result<roaring::RoaringTreemap> {
    let Some(items) = v.as_array() else {
        return Err(Error::invalid(path, "expected an array of point ids"));
    };
    let mut ids = roaring::RoaringTreemap::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_u64() {
            Some(id) => {
                ids.insert(id);
            }
            None => {
                return Err(Error::invalid(
                    &format!("{path}[{i}]"),
                    "expected a point id (a non-negative integer)",
                ));
            }
        }
    }
    Ok(ids)
}

/// An object with exactly the given keys.
fn object_with<'a>(v: &'a Value, path: &str, keys: &[&str]) -> Result<&'a Map<String, Value>> {
    let Some(obj) = v.as_object() else {
        return Err(Error::invalid(
            path,
            format!("expected an object with {}", keys.join(", ")),
        ));
    };
    if let Some(extra) = obj.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(Error::invalid(
            &at(path, extra),
            format!("unknown key {extra:?}"),
        ));
    }
    Ok(obj)
}

fn number(obj: &Map<String, Value>, key: &str, path: &str) -> Result<f64> {
    obj.get(key)
        .and_then(Value::as_f64)
        .ok_or_else(|| Error::invalid(&at(path, key), "expected a number"))
}

fn geo_point(obj: &Map<String, Value>, key: &str, path: &str) -> Result<GeoPoint> {
    let path = at(path, key);
    let inner = obj
        .get(key)
        .ok_or_else(|| Error::invalid(&path, "expected {\"lat\": .., \"lon\": ..}"))?;
    let point = object_with(inner, &path, &["lat", "lon"])?;
    Ok(GeoPoint {
        lat: number(point, "lat", &path)?,
        lon: number(point, "lon", &path)?,
    })
}

/// The rules for one condition, reported under `path` (the condition's own path).
pub(crate) fn check_condition(c: &Condition, path: &str) -> Result<()> {
    if let Err(message) = crate::path::check(&c.field) {
        return Err(Error::invalid(
            &at(path, "field"),
            format!("field path {:?}: {message}", c.field),
        ));
    }
    let path = at(path, c.op.name());
    let path = path.as_str();
    match &c.op {
        Op::Eq(v) | Op::Ne(v) | Op::Contains(v) => check_scalar(v, path),
        Op::Gt(v) | Op::Gte(v) | Op::Lt(v) | Op::Lte(v) => check_ordered(v, path),
        Op::In(vs) | Op::NotIn(vs) | Op::ContainsAny(vs) | Op::ContainsAll(vs) => {
            for (i, v) in vs.iter().enumerate() {
                check_scalar(v, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        Op::Between { low, high } => {
            check_ordered(low, &format!("{path}[0]"))?;
            check_ordered(high, &format!("{path}[1]"))?;
            match crate::value::scalar_cmp(low, high) {
                None => Err(Error::invalid(
                    path,
                    "low and high must both be numbers or both strings",
                )),
                Some(std::cmp::Ordering::Greater) => {
                    Err(Error::invalid(path, "low is greater than high"))
                }
                Some(_) => Ok(()),
            }
        }
        Op::Like(_)
        | Op::ILike(_)
        | Op::Text(_)
        | Op::Phrase(_)
        | Op::IsNull
        | Op::IsNotNull
        | Op::IsExplicitNull
        | Op::IsEmpty
        | Op::DatetimeRange(_) => Ok(()),
        Op::GeoRadius { lat, lon, meters } => {
            check_point(GeoPoint::new(*lat, *lon), path)?;
            if meters.is_finite() && *meters >= 0.0 {
                Ok(())
            } else {
                Err(Error::invalid(
                    &at(path, "meters"),
                    "expected a finite, non-negative number of meters",
                ))
            }
        }
        Op::GeoBox {
            top_left,
            bottom_right,
        } => {
            check_point(*top_left, &at(path, "top_left"))?;
            check_point(*bottom_right, &at(path, "bottom_right"))?;
            if top_left.lat < bottom_right.lat {
                return Err(Error::invalid(
                    path,
                    "top_left.lat must not be below bottom_right.lat",
                ));
            }
            Ok(())
        }
    }
}

fn check_scalar(v: &Value, path: &str) -> Result<()> {
    match v {
        Value::Number(_) | Value::String(_) | Value::Bool(_) => Ok(()),
        _ => Err(Error::invalid(path, "expected a number, string or bool")),
    }
}

fn check_ordered(v: &Value, path: &str) -> Result<()> {
    match v {
        Value::Number(_) | Value::String(_) => Ok(()),
        _ => Err(Error::invalid(path, "expected a number or string")),
    }
}

fn check_point(p: GeoPoint, path: &str) -> Result<()> {
    if !(p.lat.is_finite() && (-90.0..=90.0).contains(&p.lat)) {
        return Err(Error::invalid(
            &at(path, "lat"),
            "expected a latitude in [-90, 90]",
        ));
    }
    if !(p.lon.is_finite() && (-180.0..=180.0).contains(&p.lon)) {
        return Err(Error::invalid(
            &at(path, "lon"),
            "expected a longitude in [-180, 180]",
        ));
    }
    Ok(())
}

impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Filter::parse(&value).map_err(serde::de::Error::custom)
    }
}
