//! Full-text bodies: a collection's text index configuration (its fields, each with its
//! analyzer and BM25 parameters) in and out, and what the index holds.
//!
//! The shapes mirror `nearstore_text`'s `TextIndexConfig` field for field; they are the
//! server's own so that `/openapi.json` describes them, and [`TextConfig::into_engine`] is
//! the one conversion (the engine validates the values: field count, names, BM25 ranges).

use nearstore::{
    AnalyzerConfig, Bm25Params, FieldConfig, Language, TextIndexConfig, TextIndexInfo, Tokenizer,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How text is cut into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenizerName {
    /// Split on every character that is not a letter or digit (the default).
    Alphanumeric,
    /// Unicode word boundaries.
    Word,
    /// Unicode whitespace only.
    Whitespace,
    /// The whole text is one token (exact keyword match).
    Raw,
}

impl From<TokenizerName> for Tokenizer {
    fn from(t: TokenizerName) -> Self {
        match t {
            TokenizerName::Alphanumeric => Tokenizer::Alphanumeric,
            TokenizerName::Word => Tokenizer::Word,
            TokenizerName::Whitespace => Tokenizer::Whitespace,
            TokenizerName::Raw => Tokenizer::Raw,
        }
    }
}

impl From<Tokenizer> for TokenizerName {
    fn from(t: Tokenizer) -> Self {
        match t {
            Tokenizer::Alphanumeric => TokenizerName::Alphanumeric,
            Tokenizer::Word => TokenizerName::Word,
            Tokenizer::Whitespace => TokenizerName::Whitespace,
            Tokenizer::Raw => TokenizerName::Raw,
        }
    }
}

/// A field's analyzer; every option defaults to the engine's default analyzer
/// (alphanumeric, lowercase, ASCII folding, no stemming, no stop words).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Analyzer {
    pub(crate) tokenizer: TokenizerName,
    pub(crate) lowercase: bool,
    /// Decompose and drop non-ASCII code points ("café" -> "cafe").
    pub(crate) ascii_folding: bool,
    /// A Snowball stemming language in lowercase (`english`, `french`, `german`, ...), or
    /// null for none.
    #[schema(value_type = Option<String>)]
    pub(crate) stemmer: Option<Language>,
    /// Tokens dropped after lowercasing.
    pub(crate) stop_words: Vec<String>,
    /// Shorter tokens are dropped.
    pub(crate) min_token_chars: usize,
    /// Longer tokens are dropped (null: no bound but the engine's term size limit).
    pub(crate) max_token_chars: Option<usize>,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::from(AnalyzerConfig::default())
    }
}

impl From<AnalyzerConfig> for Analyzer {
    fn from(a: AnalyzerConfig) -> Self {
        Analyzer {
            tokenizer: a.tokenizer.into(),
            lowercase: a.lowercase,
            ascii_folding: a.ascii_folding,
            stemmer: a.stemmer,
            stop_words: a.stop_words,
            min_token_chars: a.min_token_chars,
            max_token_chars: a.max_token_chars,
        }
    }
}

impl From<Analyzer> for AnalyzerConfig {
    fn from(a: Analyzer) -> Self {
        AnalyzerConfig {
            tokenizer: a.tokenizer.into(),
            lowercase: a.lowercase,
            ascii_folding: a.ascii_folding,
            stemmer: a.stemmer,
            stop_words: a.stop_words,
            min_token_chars: a.min_token_chars,
            max_token_chars: a.max_token_chars,
        }
    }
}

/// Okapi BM25 parameters (defaults k1 = 1.2, b = 0.75).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Bm25 {
    pub(crate) k1: f64,
    pub(crate) b: f64,
}

impl Default for Bm25 {
    fn default() -> Self {
        let p = Bm25Params::default();
        Bm25 { k1: p.k1, b: p.b }
    }
}

/// One text field.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TextField {
    /// A dotted payload path, or `_all` for every string leaf of the payload.
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) analyzer: Analyzer,
    #[serde(default)]
    pub(crate) bm25: Bm25,
}

/// `PUT /v1/collections/{name}/text` body: the text fields (replacing the current ones;
/// the existing points are indexed before the answer).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TextConfig {
    pub(crate) fields: Vec<TextField>,
}

impl TextConfig {
    /// The engine's configuration.
    pub(crate) fn into_engine(self) -> TextIndexConfig {
        TextIndexConfig {
            fields: self
                .fields
                .into_iter()
                .map(|f| {
                    let mut out = FieldConfig::new(f.name);
                    out.analyzer = f.analyzer.into();
                    out.bm25 = Bm25Params {
                        k1: f.bm25.k1,
                        b: f.bm25.b,
                    };
                    out
                })
                .collect(),
        }
    }
}

/// What the text index holds.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TextStats {
    /// Live documents with at least one indexed term.
    pub(crate) documents: usize,
    /// Entries of deleted or replaced documents not yet reclaimed by a merge.
    pub(crate) dead_entries: usize,
    pub(crate) segments: usize,
    /// Approximate heap bytes of the in-memory index.
    pub(crate) heap_bytes: usize,
    /// Bytes of its checkpoint image.
    pub(crate) image_bytes: usize,
}

/// `GET|PUT|DELETE /v1/collections/{name}/text` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TextIndexState {
    /// Whether text indexing is on.
    pub(crate) enabled: bool,
    /// The text fields (empty when off).
    pub(crate) fields: Vec<TextField>,
    /// Counts and sizes (null when off).
    #[schema(nullable)]
    pub(crate) stats: Option<TextStats>,
}

impl TextIndexState {
    pub(crate) fn of(config: Option<TextIndexConfig>, info: Option<TextIndexInfo>) -> Self {
        let fields = config
            .map(|c| {
                c.fields
                    .into_iter()
                    .map(|f| TextField {
                        name: f.name,
                        analyzer: f.analyzer.into(),
                        bm25: Bm25 {
                            k1: f.bm25.k1,
                            b: f.bm25.b,
                        },
                    })
                    .collect()
            })
            .unwrap_or_default();
        TextIndexState {
            enabled: info.is_some(),
            fields,
            stats: info.map(|i| TextStats {
                documents: i.documents,
                dead_entries: i.dead_entries,
                segments: i.segments,
                heap_bytes: i.heap_bytes,
                image_bytes: i.image_bytes,
            }),
        }
    }
}
