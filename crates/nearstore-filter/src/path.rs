//! Field paths: the one reading of a path like `country.cities[].population` that the
//! evaluator, the payload indexes and [`field_value`](crate::field_value) share.
//!
//! A path is `.`-separated parts; each part is a non-empty object key followed by any number
//! of array selectors: `[]` (every element) or `[N]` (element `N`, a decimal `usize`). A key
//! runs up to the next `.` or `[` and must not contain `]` or `"`; a key holding `.`, `[`,
//! `]` (or anything else) is written in double quotes, as in Qdrant's JSON paths:
//! `"a.b".c` is the key `a.b`, then `c`. A quoted key runs to the next `"` (there is no
//! escape, so a key holding `"` cannot be addressed) and is followed by a selector, a `.`
//! or the end. Anything else (an empty path, an empty key as in `a..b`, `a.`, `""`, `[]`
//! or `a.[]`, an unclosed quote or selector, a non-numeric selector) is invalid: [`check`]
//! says why, and walking an invalid path reaches nothing. [`parse_path`] gives a path's
//! steps to code outside this crate that walks payloads itself (the server's
//! `with_payload` selection), so there is one grammar.
//!
//! Walking a payload collects the values a path *reaches*, in document order: a key
//! descends into an object (anything else, or a missing key, reaches nothing), `[N]` into
//! one element of an array, `[]` into each element of an array (a non-array reaches
//! nothing; elements that are themselves arrays are not flattened further by the walk).
//! A path without `[]` reaches at most one value. Explicit `null`s are reached like any
//! value; what a condition makes of them is in the crate docs.
//!
//! The walk recurses once per path segment that descends into the payload, so its depth is
//! bounded by the payload's nesting; it never allocates for a path without `[]`.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment<'p> {
    /// An object key.
    Key(&'p str),
    /// `[]`: every element of an array.
    Each,
    /// `[N]`: one element of an array.
    Index(usize),
    /// A malformed step; the message says what is wrong.
    Invalid(&'static str),
}

/// The segments of a path, read lazily (no allocation).
#[derive(Debug, Clone)]
pub(crate) struct Segments<'p> {
    rest: &'p str,
    /// The next segment starts a new part (a key is expected).
    part_start: bool,
    done: bool,
}

pub(crate) fn segments(path: &str) -> Segments<'_> {
    Segments {
        rest: path,
        part_start: true,
        done: false,
    }
}

impl<'p> Iterator for Segments<'p> {
    type Item = Segment<'p>;

    fn next(&mut self) -> Option<Segment<'p>> {
        if self.done {
            return None;
        }
        if self.part_start {
            self.part_start = false;
            if let Some(quoted) = self.rest.strip_prefix('"') {
                let Some(end) = quoted.find('"') else {
                    return Some(self.invalid("an unclosed quote"));
                };
                let (key, rest) = (&quoted[..end], &quoted[end + 1..]);
                self.rest = rest;
                return Some(if key.is_empty() {
                    self.invalid("an empty key")
                } else if !(rest.is_empty() || rest.starts_with(['.', '['])) {
                    self.invalid("text after a quoted key (expected `.`, `[]`, `[N]` or the end)")
                } else {
                    Segment::Key(key)
                });
            }
            let end = self.rest.find(['.', '[']).unwrap_or(self.rest.len());
            let (key, rest) = self.rest.split_at(end);
            self.rest = rest;
            return Some(if key.is_empty() {
                self.invalid("an empty key")
            } else if key.contains(']') {
                self.invalid("a `]` without `[`")
            } else if key.contains('"') {
                self.invalid("a `\"` inside a key (quote the whole key)")
            } else {
                Segment::Key(key)
            });
        }
        if let Some(rest) = self.rest.strip_prefix('.') {
            self.rest = rest;
            self.part_start = true;
            return self.next();
        }
        if let Some(rest) = self.rest.strip_prefix("[]") {
            self.rest = rest;
            return Some(Segment::Each);
        }
        if let Some(rest) = self.rest.strip_prefix('[') {
            let Some(close) = rest.find(']') else {
                return Some(self.invalid("an unclosed `[`"));
            };
            let digits = &rest[..close];
            self.rest = &rest[close + 1..];
            let index = digits.bytes().all(|b| b.is_ascii_digit()).then_some(digits);
            return Some(match index.and_then(|d| d.parse::<usize>().ok()) {
                Some(i) => Segment::Index(i),
                None => self.invalid("a selector other than `[]` or `[N]`"),
            });
        }
        if self.rest.is_empty() {
            self.done = true;
            return None;
        }
        Some(self.invalid("text after a selector (expected `.`, `[]` or `[N]`)"))
    }
}

impl Segments<'_> {
    fn invalid(&mut self, message: &'static str) -> Segment<'static> {
        self.done = true;
        Segment::Invalid(message)
    }
}

/// Why a path is invalid, or `Ok` (see the module docs for the grammar).
pub(crate) fn check(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("field path must not be empty");
    }
    for segment in segments(path) {
        if let Segment::Invalid(message) = segment {
            return Err(message);
        }
    }
    Ok(())
}

/// One step of a field path (see the module docs for the grammar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// An object key (unquoted).
    Key(String),
    /// `[]`: every element of an array.
    Each,
    /// `[N]`: element `N` of an array.
    Index(usize),
}

/// The steps of a field path, or why it is invalid: the same reading the evaluator and the
/// payload indexes walk payloads by, for code that walks them itself.
pub fn parse_path(path: &str) -> Result<Vec<PathStep>, &'static str> {
    check(path)?;
    Ok(segments(path)
        .filter_map(|segment| match segment {
            Segment::Key(key) => Some(PathStep::Key(key.to_owned())),
            Segment::Each => Some(PathStep::Each),
            Segment::Index(i) => Some(PathStep::Index(i)),
            // Not reached: `check` refused every path with an invalid segment.
            Segment::Invalid(_) => None,
        })
        .collect())
}

/// Whether the path can reach more than one value (it has a `[]` segment).
pub(crate) fn is_multi(path: &str) -> bool {
    segments(path).any(|s| s == Segment::Each)
}

/// The values a path reaches in a payload (see the module docs). Small paths without `[]`
/// stay inline.
#[derive(Debug)]
pub(crate) enum Reached<'a> {
    One([&'a Value; 1]),
    Many(Vec<&'a Value>),
}

impl<'a> Reached<'a> {
    pub(crate) fn as_slice(&self) -> &[&'a Value] {
        match self {
            Reached::One(one) => one,
            Reached::Many(many) => many,
        }
    }

    /// The reached values that are not `null`.
    pub(crate) fn present(&self) -> impl Iterator<Item = &'a Value> + '_ {
        self.as_slice().iter().copied().filter(|v| !v.is_null())
    }
}

/// Walks `path` through `payload`.
pub(crate) fn reach<'a>(payload: &'a Value, path: &str) -> Reached<'a> {
    if !path.contains(['[', '"']) {
        // No selectors or quotes: at most one value, found without allocating.
        let mut current = payload;
        for key in path.split('.') {
            if key.is_empty() || key.contains(']') {
                return Reached::Many(Vec::new());
            }
            match current.as_object().and_then(|o| o.get(key)) {
                Some(v) => current = v,
                None => return Reached::Many(Vec::new()),
            }
        }
        return Reached::One([current]);
    }
    let mut out = Vec::new();
    walk(payload, segments(path), &mut out);
    Reached::Many(out)
}

fn walk<'a>(value: &'a Value, mut rest: Segments<'_>, out: &mut Vec<&'a Value>) {
    match rest.next() {
        None => out.push(value),
        Some(Segment::Key(key)) => {
            if let Some(v) = value.as_object().and_then(|o| o.get(key)) {
                walk(v, rest, out);
            }
        }
        Some(Segment::Index(i)) => {
            if let Some(v) = value.as_array().and_then(|a| a.get(i)) {
                walk(v, rest, out);
            }
        }
        Some(Segment::Each) => {
            if let Value::Array(items) = value {
                for item in items {
                    walk(item, rest.clone(), out);
                }
            }
        }
        Some(Segment::Invalid(_)) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all<'a>(p: &'a Value, path: &str) -> Vec<&'a Value> {
        reach(p, path).as_slice().to_vec()
    }

    #[test]
    fn segments_of_a_qdrant_path() {
        let s: Vec<_> = segments("country.cities[].population").collect();
        assert_eq!(
            s,
            vec![
                Segment::Key("country"),
                Segment::Key("cities"),
                Segment::Each,
                Segment::Key("population")
            ]
        );
        let s: Vec<_> = segments("a[2][].b").collect();
        assert_eq!(
            s,
            vec![
                Segment::Key("a"),
                Segment::Index(2),
                Segment::Each,
                Segment::Key("b")
            ]
        );
    }

    #[test]
    fn invalid_paths_say_why() {
        for bad in [
            "", "a..b", "a.", ".a", "[]", "a.[]", "a[", "a[x]", "a[-1]", "a]", "a[]b", "a[1",
        ] {
            assert!(check(bad).is_err(), "{bad:?} should be invalid");
        }
        for good in ["a", "a.b", "a[]", "a[].b", "a[][]", "a[0].b[]", "tags[]"] {
            assert_eq!(check(good), Ok(()), "{good:?}");
        }
        assert!(is_multi("a[0][]") && !is_multi("a[0].b"));
    }

    #[test]
    fn quoted_keys_hold_dots_brackets_and_anything_but_quotes() {
        let s: Vec<_> = segments("\"a.b\".c[0].\"x[]\"[]").collect();
        assert_eq!(
            s,
            vec![
                Segment::Key("a.b"),
                Segment::Key("c"),
                Segment::Index(0),
                Segment::Key("x[]"),
                Segment::Each
            ]
        );
        for bad in ["\"a", "\"\"", "\"a\"b", "a\"b", "a.\"b", "\"a\".", "\"a\"]"] {
            assert!(check(bad).is_err(), "{bad:?} should be invalid");
        }
        for good in ["\"a\"", "\"a b\".c", "x.\"y.z\"", "\"]\"[1]"] {
            assert_eq!(check(good), Ok(()), "{good:?}");
        }
        assert_eq!(
            parse_path("\"x.y\"[2].z").unwrap(),
            vec![
                PathStep::Key("x.y".into()),
                PathStep::Index(2),
                PathStep::Key("z".into())
            ]
        );
        assert!(parse_path("a..b").is_err());
        let p = json!({"a.b": {"c": [1, {"x[]": ["q"]}]}, "a": {"b": 2}});
        assert_eq!(all(&p, "\"a.b\".c[0]"), vec![&json!(1)]);
        assert_eq!(all(&p, "\"a.b\".c[1].\"x[]\"[]"), vec![&json!("q")]);
        assert_eq!(
            all(&p, "a.b"),
            vec![&json!(2)],
            "unquoted dots still descend"
        );
        assert_eq!(all(&p, "\"a\".\"b\""), vec![&json!(2)]);
        assert!(all(&p, "a\"b").is_empty());
    }

    #[test]
    fn each_collects_every_element_in_order() {
        let p = json!({"country": {"cities": [
            {"population": 1}, {"name": "x"}, {"population": [2, 3]}, 7, {"population": null}
        ]}});
        assert_eq!(
            all(&p, "country.cities[].population"),
            vec![&json!(1), &json!([2, 3]), &json!(null)]
        );
        assert_eq!(all(&p, "country.cities[1].name"), vec![&json!("x")]);
        assert!(all(&p, "country.cities[9]").is_empty());
        assert!(all(&p, "country[]").is_empty(), "[] on an object");
        assert!(all(&p, "country.cities.population").is_empty());
        let nested = json!({"m": [[1, 2], [3]]});
        assert_eq!(all(&nested, "m[][]"), vec![&json!(1), &json!(2), &json!(3)]);
        assert_eq!(all(&nested, "m[]"), vec![&json!([1, 2]), &json!([3])]);
    }

    #[test]
    fn plain_paths_reach_at_most_one_value_including_null() {
        let p = json!({"a": {"b": null}, "c": 1});
        assert_eq!(all(&p, "a.b"), vec![&Value::Null]);
        assert_eq!(all(&p, "c"), vec![&json!(1)]);
        assert!(all(&p, "c.d").is_empty());
        assert!(all(&p, "a..b").is_empty(), "invalid paths reach nothing");
        assert!(all(&p, "a]").is_empty());
        assert_eq!(reach(&p, "a.b").present().count(), 0);
    }
}
