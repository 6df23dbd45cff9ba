//! Full-text options, already converted to JSON, checked and turned into engine values: the
//! `text` option of `create_collection` into a [`TextIndexConfig`], the analyzer keyword
//! options of `create_text_index` into an [`AnalyzerConfig`], and the text configuration and
//! index counts back into the JSON that `text_index_info()` returns.
//!
//! The analyzer options are the engine's own `AnalyzerConfig` fields, read with its serde
//! form (unknown fields refused), so the package accepts exactly what the engine stores. Plain
//! Rust over `serde_json` values: no Python here, unit-tested without an interpreter.

use nearstore::{AnalyzerConfig, Error, Result, TextIndexConfig, TextIndexInfo};
use serde_json::{Map, Value, json};

/// The keyword options of `create_text_index` (the engine's analyzer settings).
pub(crate) const ANALYZER_OPTIONS: &[&str] = &[
    "tokenizer",
    "lowercase",
    "ascii_folding",
    "stemmer",
    "stop_words",
    "min_token_chars",
    "max_token_chars",
];

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidArgument(message.into())
}

/// The `text` option of `create_collection`: `True` (the default: every string leaf of the
/// payload as one field, `_all`), `False` (no text indexing), a field name or a list of
/// field names (dotted payload paths, each with the default analyzer).
pub(crate) fn collection_text(value: &Value) -> Result<Option<TextIndexConfig>> {
    match value {
        Value::Null | Value::Bool(true) => Ok(Some(TextIndexConfig::default())),
        Value::Bool(false) => Ok(None),
        Value::String(field) => Ok(Some(TextIndexConfig::named([field.as_str()]))),
        Value::Array(items) => {
            let mut fields = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(f) => fields.push(f.as_str()),
                    other => {
                        return Err(invalid(format!(
                            "text fields must be strings (payload paths), got {other}"
                        )));
                    }
                }
            }
            if fields.is_empty() {
                return Err(invalid(
                    "text=[] names no field: give text=False to turn text indexing off",
                ));
            }
            Ok(Some(TextIndexConfig::named(fields)))
        }
        other => Err(invalid(format!(
            "text must be True, False, a field name or a list of field names, got {other}"
        ))),
    }
}

/// The analyzer of `create_text_index(field, **options)`. Options left out keep the
/// default analyzer's value (the benchmark data's: ASCII folding, lowercase, split on
/// everything not a letter or digit, no stemming, no stop words).
pub(crate) fn analyzer(options: &Map<String, Value>) -> Result<AnalyzerConfig> {
    for key in options.keys() {
        if !ANALYZER_OPTIONS.contains(&key.as_str()) {
            return Err(invalid(format!(
                "unknown text analyzer option {key:?}; accepted: {}",
                ANALYZER_OPTIONS.join(", ")
            )));
        }
    }
    // `None` for an option means its default: drop it before the engine's serde form reads
    // the rest (where `stemmer=None` is the same thing, and `max_token_chars=None` too).
    let given: Map<String, Value> = options
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(Value::Object(given))
        .map_err(|e| invalid(format!("bad text analyzer options: {e}")))
}

/// The analyzer as the options that make it (what `create_text_index` takes).
pub(crate) fn analyzer_json(analyzer: &AnalyzerConfig) -> Value {
    // Cannot fail: a derived struct of strings, numbers, booleans and unit enums (serde_json
    // fails only on maps with non-string keys). Null would be visible, never wrong data.
    serde_json::to_value(analyzer).unwrap_or(Value::Null)
}

/// `text_index_info()`: `None` when text indexing is off, otherwise the fields (each with
/// its analyzer and BM25 parameters) and the index's counts.
pub(crate) fn info_json(config: Option<TextIndexConfig>, info: Option<TextIndexInfo>) -> Value {
    let (Some(config), Some(info)) = (config, info) else {
        return Value::Null;
    };
    let mut fields = Map::new();
    for f in &config.fields {
        fields.insert(
            f.name.clone(),
            json!({
                "analyzer": analyzer_json(&f.analyzer),
                "k1": f.bm25.k1,
                "b": f.bm25.b,
            }),
        );
    }
    json!({
        "fields": fields,
        "documents": info.documents,
        "dead_entries": info.dead_entries,
        "segments": info.segments,
        "heap_bytes": info.heap_bytes,
        "image_bytes": info.image_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nearstore::{ALL_FIELD, Language, Tokenizer};

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn collection_text_option() {
        let all = collection_text(&json!(true)).unwrap().unwrap();
        assert_eq!(all.fields.len(), 1);
        assert_eq!(all.fields[0].name, ALL_FIELD);
        assert!(collection_text(&json!(false)).unwrap().is_none());
        let named = collection_text(&json!(["title", "body.text"]))
            .unwrap()
            .unwrap();
        let names: Vec<&str> = named.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["title", "body.text"]);
        let one = collection_text(&json!("title")).unwrap().unwrap();
        assert_eq!(one.fields[0].name, "title");
        for bad in [json!([]), json!([1]), json!(3), json!({"title": {}})] {
            assert!(
                matches!(collection_text(&bad), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn analyzer_options_are_the_engine_fields() {
        let a = analyzer(&map(json!({
            "tokenizer": "whitespace", "lowercase": false, "stemmer": "english",
            "stop_words": ["the"], "min_token_chars": 2, "max_token_chars": null,
        })))
        .unwrap();
        assert_eq!(a.tokenizer, Tokenizer::Whitespace);
        assert!(!a.lowercase && a.ascii_folding);
        assert_eq!(a.stemmer, Some(Language::English));
        assert_eq!(a.stop_words, ["the"]);
        assert_eq!((a.min_token_chars, a.max_token_chars), (2, None));
        assert_eq!(analyzer(&Map::new()).unwrap(), AnalyzerConfig::default());
        // Round trip through what text_index_info reports.
        assert_eq!(analyzer(&map(analyzer_json(&a))).unwrap(), a);
        for bad in [
            json!({"stemmer": "klingon"}),
            json!({"tokenizer": "ngram"}),
            json!({"lowercase": "yes"}),
            json!({"min_token_chars": -1}),
            json!({"stemming": "english"}),
        ] {
            let e = analyzer(&map(bad.clone())).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{bad}: {e:?}");
        }
        let e = analyzer(&map(json!({"stemming": "english"}))).unwrap_err();
        assert!(e.to_string().contains("stop_words"), "{e}");
    }

    #[test]
    fn info_is_null_when_text_indexing_is_off() {
        assert_eq!(info_json(None, None), Value::Null);
    }
}
