//! Qdrant's full-text payload index (`field_schema: "text"` or `{"type": "text", ...}`)
//! mapped to the engine's per-field text analyzer, and back for `payload_schema`.
//!
//! | Qdrant `TextIndexParams` | engine `AnalyzerConfig` |
//! |---|---|
//! | `tokenizer: word` (default) | `Tokenizer::Word` (Unicode word boundaries) |
//! | `tokenizer: whitespace` | `Tokenizer::Whitespace` |
//! | `tokenizer: prefix`, `multilingual` | 400 not supported |
//! | `lowercase` (default true) | `lowercase` |
//! | `ascii_folding` (default false) | `ascii_folding` |
//! | `min_token_len`, `max_token_len` | `min_token_chars`, `max_token_chars` |
//! | `stemmer: {type: snowball, language}` | `stemmer` |
//! | `stopwords: {custom: [...]}` | `stop_words` (a language's built-in list: 400 not supported) |
//! | `phrase_matching` | accepted either way: positions are always kept, so phrases always work |
//! | `on_disk: true` | 400 not supported (the text index lives in memory, checkpointed to disk) |
//! | `memory` | `pinned` accepted (in memory); `cached`, `cold`: 400 not supported; another value: 400 |
//!
//! Every other key is refused with 400 naming it: an option is never silently ignored.

use nearstore::{AnalyzerConfig, Language, Tokenizer};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

/// The analyzer for a Qdrant text index schema (`"text"` or the params object).
pub(crate) fn analyzer(schema: &Value) -> Result<AnalyzerConfig> {
    let mut a = AnalyzerConfig {
        tokenizer: Tokenizer::Word,
        lowercase: true,
        ascii_folding: false,
        ..AnalyzerConfig::default()
    };
    let Value::Object(params) = schema else {
        return Ok(a);
    };
    for (key, v) in params {
        if v.is_null() {
            continue;
        }
        match key.as_str() {
            "type" => {}
            "tokenizer" => a.tokenizer = tokenizer(v)?,
            "lowercase" => a.lowercase = flag(key, v)?,
            "ascii_folding" => a.ascii_folding = flag(key, v)?,
            "phrase_matching" => {
                flag(key, v)?;
            }
            "on_disk" => {
                if flag(key, v)? {
                    return Err(Error::not_supported("an on_disk text index"));
                }
            }
            "memory" => crate::qdrant::collection_model::payload_index_memory(v)?,
            "min_token_len" => a.min_token_chars = length(key, v)?,
            "max_token_len" => a.max_token_chars = Some(length(key, v)?),
            "stemmer" => a.stemmer = Some(stemmer(v)?),
            "stopwords" => a.stop_words = stopwords(v)?,
            other => {
                return Err(Error::not_supported(format!(
                    "the text index option {other:?}"
                )));
            }
        }
    }
    if let Some(max) = a.max_token_chars
        && max < a.min_token_chars
    {
        return Err(Error::bad_request(format!(
            "max_token_len ({max}) is below min_token_len ({})",
            a.min_token_chars
        )));
    }
    Ok(a)
}

fn tokenizer(v: &Value) -> Result<Tokenizer> {
    match v.as_str() {
        Some("word") => Ok(Tokenizer::Word),
        Some("whitespace") => Ok(Tokenizer::Whitespace),
        Some(t @ ("prefix" | "multilingual")) => {
            Err(Error::not_supported(format!("the {t} tokenizer")))
        }
        _ => Err(Error::bad_request(format!(
            "unknown tokenizer {v} (expected word or whitespace)"
        ))),
    }
}

fn flag(key: &str, v: &Value) -> Result<bool> {
    v.as_bool()
        .ok_or_else(|| Error::bad_request(format!("{key} must be true or false")))
}

fn length(key: &str, v: &Value) -> Result<usize> {
    v.as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| Error::bad_request(format!("{key} must be a non-negative integer")))
}

fn language(v: &Value) -> Result<Language> {
    serde_json::from_value(v.clone())
        .map_err(|_| Error::not_supported(format!("the stemming language {v}")))
}

fn stemmer(v: &Value) -> Result<Language> {
    let Some(o) = v.as_object() else {
        return Err(Error::bad_request(
            "stemmer must be {\"type\": \"snowball\", \"language\": ...}",
        ));
    };
    for key in o.keys() {
        if key != "type" && key != "language" {
            return Err(Error::not_supported(format!("the stemmer option {key:?}")));
        }
    }
    match o.get("type").and_then(Value::as_str) {
        Some("snowball") => {}
        _ => return Err(Error::not_supported("a stemmer other than snowball")),
    }
    language(o.get("language").unwrap_or(&Value::Null))
}

fn stopwords(v: &Value) -> Result<Vec<String>> {
    let words_of = |list: &Value| -> Result<Vec<String>> {
        list.as_array()
            .and_then(|a| {
                a.iter()
                    .map(|w| w.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| Error::bad_request("stopwords.custom must be a list of strings"))
    };
    match v {
        Value::String(lang) => Err(Error::not_supported(format!(
            "the built-in {lang} stop word list (give stopwords.custom)"
        ))),
        Value::Object(o) => {
            let mut words = Vec::new();
            for (key, list) in o {
                match key.as_str() {
                    "custom" => words = words_of(list)?,
                    "languages" if list.as_array().is_some_and(Vec::is_empty) => {}
                    "languages" => {
                        return Err(Error::not_supported(
                            "built-in stop word lists (give stopwords.custom)",
                        ));
                    }
                    other => {
                        return Err(Error::not_supported(format!(
                            "the stopwords option {other:?}"
                        )));
                    }
                }
            }
            Ok(words)
        }
        _ => Err(Error::bad_request(
            "stopwords must be {\"custom\": [...]} or a language name",
        )),
    }
}

/// The `params` of a text field in `payload_schema` (Qdrant's `TextIndexParams` shape).
pub(crate) fn params(a: &AnalyzerConfig) -> Value {
    let mut p = Map::new();
    p.insert("type".into(), json!("text"));
    let tokenizer = match a.tokenizer {
        Tokenizer::Whitespace => "whitespace",
        // The engine's other tokenizers (alphanumeric, raw) are set through the native
        // API; Qdrant's nearest name is "word".
        _ => "word",
    };
    p.insert("tokenizer".into(), json!(tokenizer));
    p.insert("lowercase".into(), json!(a.lowercase));
    p.insert("ascii_folding".into(), json!(a.ascii_folding));
    p.insert("phrase_matching".into(), json!(true));
    if a.min_token_chars > 1 {
        p.insert("min_token_len".into(), json!(a.min_token_chars));
    }
    if let Some(max) = a.max_token_chars {
        p.insert("max_token_len".into(), json!(max));
    }
    if let Some(lang) = a.stemmer {
        p.insert(
            "stemmer".into(),
            json!({"type": "snowball", "language": lang}),
        );
    }
    if !a.stop_words.is_empty() {
        p.insert("stopwords".into(), json!({"custom": a.stop_words}));
    }
    Value::Object(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qdrant_options_map_to_the_analyzer() {
        let a = analyzer(&json!("text")).unwrap();
        assert_eq!(a.tokenizer, Tokenizer::Word);
        assert!(a.lowercase && !a.ascii_folding);
        let a = analyzer(&json!({
            "type": "text", "tokenizer": "whitespace", "lowercase": false, "min_token_len": 2,
            "max_token_len": 20, "phrase_matching": true, "on_disk": false,
            "stemmer": {"type": "snowball", "language": "english"},
            "stopwords": {"custom": ["the", "a"]}, "ascii_folding": true
        }))
        .unwrap();
        assert_eq!(
            a,
            AnalyzerConfig {
                tokenizer: Tokenizer::Whitespace,
                lowercase: false,
                ascii_folding: true,
                stemmer: Some(Language::English),
                stop_words: vec!["the".into(), "a".into()],
                min_token_chars: 2,
                max_token_chars: Some(20),
            }
        );
        let back = params(&a);
        assert_eq!(analyzer(&back).unwrap(), a, "{back}");
    }

    #[test]
    fn unsupported_options_are_refused_not_ignored() {
        for v in [
            json!({"type": "text", "tokenizer": "prefix"}),
            json!({"type": "text", "tokenizer": "multilingual"}),
            json!({"type": "text", "on_disk": true}),
            json!({"type": "text", "stopwords": "english"}),
            json!({"type": "text", "stopwords": {"languages": ["english"]}}),
            json!({"type": "text", "stemmer": {"type": "snowball", "language": "klingon"}}),
            json!({"type": "text", "fancy": 1}),
        ] {
            let e = analyzer(&v).unwrap_err();
            assert!(e.to_string().contains("not supported"), "{v}: {e}");
        }
        for v in [
            json!({"type": "text", "tokenizer": "bogus"}),
            json!({"type": "text", "lowercase": "yes"}),
            json!({"type": "text", "min_token_len": 5, "max_token_len": 2}),
        ] {
            assert!(matches!(analyzer(&v), Err(Error::BadRequest(_))), "{v}");
        }
    }
}
