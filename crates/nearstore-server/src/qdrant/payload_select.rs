//! `with_payload` selections: which parts of a payload an answer carries. Paths are
//! Qdrant's JSON paths as the filter crate reads every field path
//! (`nearstore_filter::parse_path`, one grammar): `.`-separated keys, each followed by any
//! number of `[]` (every element of an array) or `[N]` (element `N`); a key holding `.`,
//! `[` or `]` is written in double quotes (`"a.b".c`). A path is parsed once, when the body
//! is read (a malformed one is 400).
//!
//! The selection follows Qdrant's payload selector (a filter over every path of the
//! payload, `segment::json_path` `value_filter`):
//!
//! - `include`: a part is kept when its path and a listed path agree on their common
//!   prefix: the listed path's ancestors are kept with only the matching children (an
//!   object whose listed child is missing stays, empty), everything under it whole, and a
//!   scalar met before the listed path ends is kept as it is.
//! - `exclude`: every part at or under a listed path is dropped; the rest stays.
//!
//! A `[N]` step selects element `N` (Qdrant's filter walks elements as `[]` only, so there
//! `[N]` selects nothing). NearStore extension: a path that is a top-level key as a whole
//! (`"x.y"` stored as one key) selects that key.
//!
//! Must not depend on axum or the engine: values in, values out.

use nearstore::filter::{PathStep, parse_path};
use serde_json::{Map, Value};

use crate::qdrant::ids::visible_payload;

/// A parsed `with_payload` path: its text (for the whole-key extension) and its steps as
/// the filter crate reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PayloadPath {
    raw: String,
    steps: Vec<PathStep>,
}

impl PayloadPath {
    /// Parses `raw` with the one path grammar (`nearstore_filter::parse_path`), or says
    /// what is wrong with it.
    pub(crate) fn parse(raw: &str) -> Result<PayloadPath, String> {
        let steps =
            parse_path(raw).map_err(|why| format!("invalid payload path {raw:?}: {why}"))?;
        Ok(PayloadPath {
            raw: raw.to_string(),
            steps,
        })
    }
}

/// Which payload an answer carries.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PayloadSel {
    All,
    Nothing,
    Include(Vec<PayloadPath>),
    Exclude(Vec<PayloadPath>),
}

impl PayloadSel {
    /// The selected part of a stored payload (the reserved UUID key never shows).
    pub(crate) fn apply(&self, payload: Option<Value>) -> Value {
        let visible = visible_payload(payload);
        match (self, visible) {
            (PayloadSel::Nothing, _) => Value::Null,
            (PayloadSel::All, v) => v,
            (PayloadSel::Include(paths), Value::Object(m)) => Value::Object(include(&m, paths)),
            (PayloadSel::Exclude(paths), Value::Object(m)) => Value::Object(exclude(m, paths)),
            (_, v) => v,
        }
    }
}

/// The steps still to match of each path that agrees with the current position.
type Live<'p> = Vec<&'p [PathStep]>;

fn include(payload: &Map<String, Value>, paths: &[PayloadPath]) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in payload {
        if paths.iter().any(|p| &p.raw == key) {
            out.insert(key.clone(), value.clone());
            continue;
        }
        let live: Live<'_> = paths
            .iter()
            .filter_map(|p| match p.steps.split_first() {
                Some((PathStep::Key(k), tail)) if k == key => Some(tail),
                _ => None,
            })
            .collect();
        if !live.is_empty() {
            out.insert(key.clone(), include_value(value, &live));
        }
    }
    out
}

/// `value` (reached by every path in `live`) with only what they select.
fn include_value(value: &Value, live: &[&[PathStep]]) -> Value {
    if live.iter().any(|steps| steps.is_empty()) {
        return value.clone();
    }
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                let next: Live<'_> = live
                    .iter()
                    .filter_map(|steps| match steps.split_first() {
                        Some((PathStep::Key(k), tail)) if k == key => Some(tail),
                        _ => None,
                    })
                    .collect();
                if !next.is_empty() {
                    out.insert(key.clone(), include_value(child, &next));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let next = element_steps(live, i);
                    (!next.is_empty()).then(|| include_value(item, &next))
                })
                .collect(),
        ),
        scalar => scalar.clone(),
    }
}

/// The tails of the paths whose next step reaches element `i` of an array.
fn element_steps<'p>(live: &[&'p [PathStep]], i: usize) -> Live<'p> {
    live.iter()
        .filter_map(|steps| match steps.split_first() {
            Some((PathStep::Each, tail)) => Some(tail),
            Some((PathStep::Index(n), tail)) if *n == i => Some(tail),
            _ => None,
        })
        .collect()
}

fn exclude(mut payload: Map<String, Value>, paths: &[PayloadPath]) -> Map<String, Value> {
    for p in paths {
        if payload.remove(&p.raw).is_some() {
            continue;
        }
        if let Some((PathStep::Key(k), tail)) = p.steps.split_first() {
            if tail.is_empty() {
                payload.remove(k);
            } else if let Some(v) = payload.get_mut(k) {
                exclude_value(v, tail);
            }
        }
    }
    payload
}

/// Drops what `steps` (non-empty) reach under `value`.
fn exclude_value(value: &mut Value, steps: &[PathStep]) {
    let Some((head, tail)) = steps.split_first() else {
        return;
    };
    match (head, value) {
        (PathStep::Key(k), Value::Object(map)) => {
            if tail.is_empty() {
                map.remove(k);
            } else if let Some(child) = map.get_mut(k) {
                exclude_value(child, tail);
            }
        }
        (PathStep::Each, Value::Array(items)) => {
            if tail.is_empty() {
                items.clear();
            } else {
                for item in items {
                    exclude_value(item, tail);
                }
            }
        }
        (PathStep::Index(n), Value::Array(items)) => {
            if tail.is_empty() {
                if *n < items.len() {
                    items.remove(*n);
                }
            } else if let Some(item) = items.get_mut(*n) {
                exclude_value(item, tail);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(raw: &[&str]) -> Vec<PayloadPath> {
        raw.iter().map(|r| PayloadPath::parse(r).unwrap()).collect()
    }

    fn include_of(p: &Value, raw: &[&str]) -> Value {
        PayloadSel::Include(paths(raw)).apply(Some(p.clone()))
    }

    fn exclude_of(p: &Value, raw: &[&str]) -> Value {
        PayloadSel::Exclude(paths(raw)).apply(Some(p.clone()))
    }

    #[test]
    fn paths_parse_keys_selectors_and_quotes() {
        let p = PayloadPath::parse("a.b[].c[2]").unwrap();
        assert_eq!(
            p.steps,
            vec![
                PathStep::Key("a".into()),
                PathStep::Key("b".into()),
                PathStep::Each,
                PathStep::Key("c".into()),
                PathStep::Index(2)
            ]
        );
        let q = PayloadPath::parse("\"x.y\".z").unwrap();
        assert_eq!(
            q.steps,
            vec![PathStep::Key("x.y".into()), PathStep::Key("z".into())]
        );
        for bad in [
            "", "a..b", "a.", "[]", "a.[]", "a[", "a[x]", "a[]b", "\"a", "a]", "a\"b", "\"\"",
            "\"a\"b",
        ] {
            assert!(PayloadPath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dotted_paths_keep_their_ancestors() {
        let p = json!({"a": {"b": 1, "c": 2}, "d": 3, "x.y": 4, "k": 5});
        assert_eq!(
            include_of(&p, &["a.b", "d"]),
            json!({"a": {"b": 1}, "d": 3})
        );
        assert_eq!(
            include_of(&p, &["a.b", "a.c"]),
            json!({"a": {"b": 1, "c": 2}})
        );
        // As in Qdrant: a listed child that is missing leaves its parent empty; a scalar
        // met before the path ends is kept.
        assert_eq!(include_of(&p, &["a.z", "x.y"]), json!({"a": {}, "x.y": 4}));
        assert_eq!(include_of(&p, &["k.z"]), json!({"k": 5}));
        assert_eq!(
            exclude_of(&p, &["a.b", "x.y"]),
            json!({"a": {"c": 2}, "d": 3, "k": 5})
        );
        assert_eq!(exclude_of(&p, &["d.e", "q"]), p);
    }

    #[test]
    fn array_paths_select_in_every_element() {
        let p = json!({"country": {"name": "X", "cities": [
            {"name": "a", "population": 5},
            {"name": "b", "population": 9},
            {"name": "c"},
        ]}, "tags": ["t", "u"]});
        assert_eq!(
            include_of(&p, &["country.cities[].population"]),
            json!({"country": {"cities": [{"population": 5}, {"population": 9}, {}]}})
        );
        assert_eq!(
            include_of(&p, &["country.cities[1].name", "tags[]"]),
            json!({"country": {"cities": [{"name": "b"}]}, "tags": ["t", "u"]})
        );
        assert_eq!(
            exclude_of(&p, &["country.cities[].population", "country.name"]),
            json!({"country": {"cities": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
                   "tags": ["t", "u"]})
        );
        assert_eq!(
            exclude_of(&p, &["country.cities[0]", "tags[]"]),
            json!({"country": {"name": "X", "cities": [
                {"name": "b", "population": 9}, {"name": "c"}]}, "tags": []})
        );
    }
}
