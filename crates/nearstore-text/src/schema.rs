//! The field model: which parts of a JSON payload are indexed as which text field, with which
//! analyzer and BM25 parameters.
//!
//! Default (what the reference engine does): one field [`ALL_FIELD`] holding every string leaf
//! of the payload at any depth, in document order. Otherwise a list of named fields, each a
//! dotted key path (`title`, `meta.summary`) whose string leaves (the string itself, or every
//! string below it, arrays included) form that field. Leaves of one field are separated by a
//! position gap so a phrase never matches across two leaves.
//!
//! Depends on the analyzer and serde_json only.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::error::{Error, Result};

/// The name of the field that holds every string leaf of the payload.
pub const ALL_FIELD: &str = "_all";

/// Most fields one index accepts (field ids are stored in 16 bits).
pub const MAX_FIELDS: usize = 256;

/// Position gap between two string leaves of the same field.
const LEAF_POSITION_GAP: u32 = 1;

/// Okapi BM25 parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bm25Params {
    /// Term-frequency saturation.
    pub k1: f64,
    /// Length normalization strength (0 = none, 1 = full).
    pub b: f64,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Bm25Params { k1: 1.2, b: 0.75 }
    }
}

/// One text field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    /// [`ALL_FIELD`] for every string leaf, otherwise a dotted key path in the payload.
    pub name: String,
    /// How this field's text (and query words aimed at it) is analyzed.
    #[serde(default)]
    pub analyzer: AnalyzerConfig,
    /// This field's BM25 parameters.
    #[serde(default)]
    pub bm25: Bm25Params,
}

impl FieldConfig {
    /// A field with the default analyzer and BM25 parameters.
    pub fn new(name: impl Into<String>) -> Self {
        FieldConfig {
            name: name.into(),
            analyzer: AnalyzerConfig::default(),
            bm25: Bm25Params::default(),
        }
    }
}

/// The text fields of an index (persisted inside its image).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextIndexConfig {
    /// The fields, in field-id order.
    pub fields: Vec<FieldConfig>,
}

impl Default for TextIndexConfig {
    /// The reference-compatible default: every string leaf as [`ALL_FIELD`].
    fn default() -> Self {
        TextIndexConfig {
            fields: vec![FieldConfig::new(ALL_FIELD)],
        }
    }
}

impl TextIndexConfig {
    /// Named fields (dotted paths), each with the default analyzer.
    pub fn named<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        TextIndexConfig {
            fields: names.into_iter().map(FieldConfig::new).collect(),
        }
    }
}

/// A validated field ready to extract and analyze.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) name: String,
    /// `None` for [`ALL_FIELD`].
    path: Option<Vec<String>>,
    pub(crate) analyzer: Analyzer,
    pub(crate) bm25: Bm25Params,
}

/// Checks `config` and builds its fields.
pub(crate) fn build_fields(config: &TextIndexConfig) -> Result<Vec<Field>> {
    let invalid = |reason: String| Err(Error::InvalidConfig { reason });
    if config.fields.is_empty() {
        return invalid("a text index needs at least one field".into());
    }
    if config.fields.len() > MAX_FIELDS {
        return invalid(format!(
            "{} fields; at most {MAX_FIELDS}",
            config.fields.len()
        ));
    }
    let mut fields: Vec<Field> = Vec::with_capacity(config.fields.len());
    for f in &config.fields {
        if fields.iter().any(|g| g.name == f.name) {
            return invalid(format!("field {:?} is listed twice", f.name));
        }
        let path = if f.name == ALL_FIELD {
            None
        } else {
            let parts: Vec<String> = f.name.split('.').map(str::to_owned).collect();
            if parts.iter().any(String::is_empty) {
                return invalid(format!("field path {:?} has an empty part", f.name));
            }
            Some(parts)
        };
        let Bm25Params { k1, b } = f.bm25;
        if !(k1.is_finite() && k1 >= 0.0 && (0.0..=1.0).contains(&b)) {
            return invalid(format!(
                "field {:?}: BM25 needs finite k1 >= 0 and b in [0, 1] (got k1 {k1}, b {b})",
                f.name
            ));
        }
        fields.push(Field {
            name: f.name.clone(),
            path,
            analyzer: Analyzer::new(f.analyzer.clone())?,
            bm25: f.bm25,
        });
    }
    Ok(fields)
}

impl Field {
    /// Analyzes this field's text in `payload`: `sink(term, position)` per term; returns the
    /// number of terms.
    pub(crate) fn analyze_payload(
        &self,
        payload: &Value,
        scratch: &mut String,
        sink: &mut dyn FnMut(&str, u32),
    ) -> u32 {
        let root = match &self.path {
            None => Some(payload),
            Some(parts) => parts
                .iter()
                .try_fold(payload, |v, key| v.as_object().and_then(|o| o.get(key))),
        };
        let mut count = 0u32;
        let mut position = 0u32;
        if let Some(root) = root {
            let mut counting = |t: &str, p: u32| {
                count = count.saturating_add(1);
                sink(t, p);
            };
            for_each_string_leaf(root, &mut |text| {
                let end = self
                    .analyzer
                    .analyze(text, position, scratch, &mut counting);
                if end > position {
                    position = end.saturating_add(LEAF_POSITION_GAP);
                }
            });
        }
        count
    }
}

/// Visits every string at any depth of `value`, in document order, without recursion (a
/// deeply nested payload cannot overflow the stack).
pub(crate) fn for_each_string_leaf(value: &Value, visit: &mut dyn FnMut(&str)) {
    let mut stack: Vec<&Value> = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => visit(s),
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(map) => stack.extend(map.values().rev()),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn terms(field: &Field, payload: &Value) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        let mut scratch = String::new();
        let n = field.analyze_payload(payload, &mut scratch, &mut |t, p| {
            out.push((t.to_owned(), p))
        });
        assert_eq!(n as usize, out.len());
        out
    }

    #[test]
    fn all_field_takes_every_string_leaf_in_order_with_gaps() -> Result<()> {
        let fields = build_fields(&TextIndexConfig::default())?;
        let payload =
            json!({"a": "one two", "n": 3, "b": {"c": ["three", {"d": "four"}]}, "t": true});
        let got = terms(&fields[0], &payload);
        let expected = [("one", 0), ("two", 1), ("three", 3), ("four", 5)];
        assert_eq!(got, expected.map(|(t, p)| (t.to_owned(), p)).to_vec());
        Ok(())
    }

    #[test]
    fn named_fields_follow_dotted_paths() -> Result<()> {
        let fields = build_fields(&TextIndexConfig::named(["title", "meta.summary"]))?;
        let payload = json!({"title": "Hello", "meta": {"summary": ["x y"]}, "other": "zzz"});
        assert_eq!(terms(&fields[0], &payload), [("hello".to_owned(), 0)]);
        assert_eq!(
            terms(&fields[1], &payload),
            [("x".to_owned(), 0), ("y".to_owned(), 1)]
        );
        assert!(terms(&fields[0], &json!({"title": 5})).is_empty());
        Ok(())
    }

    #[test]
    fn invalid_configs_are_rejected() {
        assert!(build_fields(&TextIndexConfig { fields: vec![] }).is_err());
        assert!(build_fields(&TextIndexConfig::named(["a", "a"])).is_err());
        assert!(build_fields(&TextIndexConfig::named(["a..b"])).is_err());
        let mut bad = TextIndexConfig::default();
        bad.fields[0].bm25.b = 2.0;
        assert!(build_fields(&bad).is_err());
    }
}
