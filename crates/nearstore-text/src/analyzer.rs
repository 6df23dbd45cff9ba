//! Analyzers: text -> a sequence of terms with positions, the same on documents and queries.
//!
//! Owns the analysis pipeline (ASCII folding -> lowercase -> tokenizer -> length bounds ->
//! stop words -> stemming) and its serializable configuration. The default
//! ([`AnalyzerConfig::default`]) is exactly the BM25 definition of the benchmark data: NFKD,
//! drop every non-ASCII code point (without splitting there), ASCII lowercase, split on every
//! character outside `[a-z0-9]`, no stemming, no stop words, no length bounds.
//!
//! Invariants: an analyzer is a pure function of its configuration (documents and queries see
//! the same terms); every emitted term is non-empty and at most [`MAX_TERM_BYTES`] bytes
//! (longer tokens are dropped, not cut); positions count every token the tokenizer produced,
//! so a dropped stop word leaves a gap and phrases do not match across it.
//!
//! Depends only on the Unicode crates and the stemmer; knows nothing of indexes or payloads.

use std::borrow::Cow;

use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

use crate::error::{Error, Result};

/// Longest term in bytes; longer tokens are dropped (they are never useful search terms and
/// the bound keeps the persisted vocabulary's lengths small).
pub const MAX_TERM_BYTES: usize = 1024;

/// How text is cut into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tokenizer {
    /// Split on every character that is not alphanumeric (after folding and lowercasing, with
    /// the default options: everything outside `[a-z0-9]`).
    #[default]
    Alphanumeric,
    /// Unicode word boundaries (UAX #29), keeping the segments that contain a letter or digit.
    Word,
    /// Split on Unicode whitespace only.
    Whitespace,
    /// The whole (folded, lowercased) text is one token: exact keyword match.
    Raw,
}

/// Snowball stemmer languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[expect(missing_docs, reason = "language names say what they are")]
pub enum Language {
    Arabic,
    Danish,
    Dutch,
    English,
    Finnish,
    French,
    German,
    Greek,
    Hungarian,
    Italian,
    Norwegian,
    Portuguese,
    Romanian,
    Russian,
    Spanish,
    Swedish,
    Tamil,
    Turkish,
}

impl Language {
    fn algorithm(self) -> rust_stemmers::Algorithm {
        use rust_stemmers::Algorithm as A;
        match self {
            Language::Arabic => A::Arabic,
            Language::Danish => A::Danish,
            Language::Dutch => A::Dutch,
            Language::English => A::English,
            Language::Finnish => A::Finnish,
            Language::French => A::French,
            Language::German => A::German,
            Language::Greek => A::Greek,
            Language::Hungarian => A::Hungarian,
            Language::Italian => A::Italian,
            Language::Norwegian => A::Norwegian,
            Language::Portuguese => A::Portuguese,
            Language::Romanian => A::Romanian,
            Language::Russian => A::Russian,
            Language::Spanish => A::Spanish,
            Language::Swedish => A::Swedish,
            Language::Tamil => A::Tamil,
            Language::Turkish => A::Turkish,
        }
    }
}

/// A field's analyzer settings (persisted with the index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyzerConfig {
    /// How text is cut into tokens.
    pub tokenizer: Tokenizer,
    /// Lowercase (Unicode lowercase; ASCII only after folding).
    pub lowercase: bool,
    /// NFKD-decompose and drop every non-ASCII code point ("café" -> "cafe", "ﬁ" -> "fi").
    pub ascii_folding: bool,
    /// Snowball stemmer applied to every token, if any.
    pub stemmer: Option<Language>,
    /// Tokens dropped after lowercasing (compared as analyzed before stemming).
    pub stop_words: Vec<String>,
    /// Tokens with fewer characters are dropped.
    pub min_token_chars: usize,
    /// Tokens with more characters are dropped (`None`: only [`MAX_TERM_BYTES`] applies).
    pub max_token_chars: Option<usize>,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            tokenizer: Tokenizer::Alphanumeric,
            lowercase: true,
            ascii_folding: true,
            stemmer: None,
            stop_words: Vec::new(),
            min_token_chars: 1,
            max_token_chars: None,
        }
    }
}

/// A ready analyzer built from an [`AnalyzerConfig`].
pub struct Analyzer {
    config: AnalyzerConfig,
    /// The default pipeline runs as one hand-written byte loop (the bulk-load hot path).
    reference_fast_path: bool,
    stemmer: Option<rust_stemmers::Stemmer>,
    stop_words: FxHashSet<String>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Clone for Analyzer {
    fn clone(&self) -> Self {
        // Building from a config that already validated cannot fail.
        Analyzer::build(self.config.clone())
    }
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::build(AnalyzerConfig::default())
    }
}

impl Analyzer {
    /// Checks the configuration and builds the analyzer.
    pub fn new(config: AnalyzerConfig) -> Result<Self> {
        if config.min_token_chars == 0 {
            return Err(Error::InvalidConfig {
                reason: "min_token_chars must be at least 1".into(),
            });
        }
        if let Some(max) = config.max_token_chars
            && max < config.min_token_chars
        {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "max_token_chars {max} is below min_token_chars {}",
                    config.min_token_chars
                ),
            });
        }
        Ok(Analyzer::build(config))
    }

    fn build(config: AnalyzerConfig) -> Self {
        let reference_fast_path = config == AnalyzerConfig::default();
        let stemmer = config
            .stemmer
            .map(|l| rust_stemmers::Stemmer::create(l.algorithm()));
        let stop_words = config.stop_words.iter().cloned().collect();
        Analyzer {
            config,
            reference_fast_path,
            stemmer,
            stop_words,
        }
    }

    /// The configuration this analyzer was built from.
    pub fn config(&self) -> &AnalyzerConfig {
        &self.config
    }

    /// Calls `sink(term, position)` for every term of `text`, positions counted from
    /// `first_position`; returns the position after the last token.
    /// `scratch` is reused between calls to avoid allocating per text.
    pub fn analyze(
        &self,
        text: &str,
        first_position: u32,
        scratch: &mut String,
        sink: &mut dyn FnMut(&str, u32),
    ) -> u32 {
        if self.reference_fast_path {
            return reference_analyze(text, first_position, scratch, sink);
        }
        scratch.clear();
        let folded: &str = if self.config.ascii_folding {
            fold_ascii_into(text, scratch);
            scratch.as_str()
        } else {
            text
        };
        let lowered: Cow<'_, str> = if self.config.lowercase {
            Cow::Owned(folded.to_lowercase())
        } else {
            Cow::Borrowed(folded)
        };
        let mut position = first_position;
        let mut emit = |token: &str| {
            self.emit_token(token, position, sink);
            position = position.saturating_add(1);
        };
        match self.config.tokenizer {
            Tokenizer::Alphanumeric => lowered
                .split(|c: char| !c.is_alphanumeric())
                .filter(|t| !t.is_empty())
                .for_each(&mut emit),
            Tokenizer::Word => lowered
                .unicode_words()
                .filter(|t| t.chars().any(char::is_alphanumeric))
                .for_each(&mut emit),
            Tokenizer::Whitespace => lowered.split_whitespace().for_each(&mut emit),
            Tokenizer::Raw => {
                if !lowered.is_empty() {
                    emit(&lowered)
                }
            }
        }
        position
    }

    fn emit_token(&self, token: &str, position: u32, sink: &mut dyn FnMut(&str, u32)) {
        let chars = token.chars().count();
        if chars < self.config.min_token_chars
            || self.config.max_token_chars.is_some_and(|max| chars > max)
            || self.stop_words.contains(token)
        {
            return;
        }
        let term = match &self.stemmer {
            Some(stemmer) => stemmer.stem(token),
            None => Cow::Borrowed(token),
        };
        if !term.is_empty() && term.len() <= MAX_TERM_BYTES {
            sink(&term, position);
        }
    }

    /// The terms of `text` in order (convenience for tests and query parsing).
    pub fn terms(&self, text: &str) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        let mut scratch = String::new();
        self.analyze(text, 0, &mut scratch, &mut |t, p| {
            out.push((t.to_owned(), p))
        });
        out
    }
}

/// NFKD, then keep only the ASCII code points (what Python's
/// `normalize('NFKD', s).encode('ascii', 'ignore')` keeps).
fn fold_ascii_into(text: &str, out: &mut String) {
    if text.is_ascii() {
        out.push_str(text);
        return;
    }
    out.extend(text.nfkd().filter(char::is_ascii));
}

/// The reference analyzer as one pass: ASCII letters and digits extend the current token
/// (lowercased), other ASCII ends it, non-ASCII code points are NFKD-decomposed and only
/// their ASCII parts take part (the rest vanishes without ending the token).
fn reference_analyze(
    text: &str,
    first_position: u32,
    token: &mut String,
    sink: &mut dyn FnMut(&str, u32),
) -> u32 {
    token.clear();
    let mut position = first_position;
    let mut flush = |token: &mut String, position: &mut u32| {
        if !token.is_empty() {
            if token.len() <= MAX_TERM_BYTES {
                sink(token, *position);
            }
            *position = position.saturating_add(1);
            token.clear();
        }
    };
    let mut push_ascii = |c: char, token: &mut String, position: &mut u32| {
        if c.is_ascii_alphanumeric() {
            token.push(c.to_ascii_lowercase());
        } else {
            flush(token, position);
        }
    };
    if text.is_ascii() {
        for &b in text.as_bytes() {
            push_ascii(char::from(b), token, &mut position);
        }
    } else {
        for c in text.chars() {
            if c.is_ascii() {
                push_ascii(c, token, &mut position);
            } else {
                unicode_normalization::char::decompose_compatible(c, |d| {
                    if d.is_ascii() {
                        push_ascii(d, token, &mut position);
                    }
                });
            }
        }
    }
    flush(token, &mut position);
    position
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(analyzer: &Analyzer, text: &str) -> Vec<String> {
        analyzer.terms(text).into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn default_folds_lowercases_and_splits_on_non_alphanumerics() {
        let a = Analyzer::default();
        assert_eq!(
            words(&a, "Crème-Brûlée, naïve CAFÉ x2;\"quoted\""),
            ["creme", "brulee", "naive", "cafe", "x2", "quoted"]
        );
    }

    #[test]
    fn default_drops_non_ascii_without_splitting() {
        // The reference drops code points with no ASCII decomposition in place: the em dash
        // joins its neighbours, "ﬁ" (a compatibility ligature) becomes "fi".
        let a = Analyzer::default();
        // Expected values are Python's `normalize('NFKD', s).encode('ascii', 'ignore')`,
        // lowercased and split on `[^a-z0-9]+`.
        assert_eq!(words(&a, "a—b ﬁne ½"), ["ab", "fine", "12"]);
        assert_eq!(words(&a, "İstanbul ǅemal ß"), ["istanbul", "dzemal"]);
        assert_eq!(words(&a, "Ⅻ ＡＢＣ"), ["xii", "abc"]);
        assert_eq!(words(&a, "日本 語"), Vec::<String>::new());
    }

    #[test]
    fn default_fast_path_equals_the_general_pipeline() {
        let fast = Analyzer::default();
        let general = Analyzer {
            reference_fast_path: false,
            ..Analyzer::default()
        };
        for text in [
            "Crème-Brûlée, naïve CAFÉ x2",
            "a—b ﬁne ½ Ⅻ ＡＢＣ",
            "",
            "  --  ",
            "İstanbul ǅemal ß",
        ] {
            assert_eq!(fast.terms(text), general.terms(text), "{text:?}");
        }
    }

    #[test]
    fn positions_count_tokens_and_stop_words_leave_gaps() {
        let a = Analyzer::new(AnalyzerConfig {
            stop_words: vec!["the".into()],
            ..AnalyzerConfig::default()
        })
        .unwrap_or_default();
        assert_eq!(
            a.terms("the cat the hat"),
            [("cat".to_owned(), 1), ("hat".to_owned(), 3)]
        );
    }

    #[test]
    fn english_stemmer_and_length_bounds() {
        let a = Analyzer::new(AnalyzerConfig {
            stemmer: Some(Language::English),
            min_token_chars: 2,
            max_token_chars: Some(8),
            ..AnalyzerConfig::default()
        })
        .unwrap_or_default();
        assert_eq!(
            words(&a, "running dogs a extraordinarily jumped"),
            ["run", "dog", "jump"]
        );
    }

    #[test]
    fn whitespace_raw_and_word_tokenizers() {
        let ws = Analyzer::new(AnalyzerConfig {
            tokenizer: Tokenizer::Whitespace,
            ..AnalyzerConfig::default()
        })
        .unwrap_or_default();
        assert_eq!(words(&ws, "e-mail  Foo.Bar"), ["e-mail", "foo.bar"]);
        let raw = Analyzer::new(AnalyzerConfig {
            tokenizer: Tokenizer::Raw,
            lowercase: false,
            ascii_folding: false,
            ..AnalyzerConfig::default()
        })
        .unwrap_or_default();
        assert_eq!(words(&raw, "New York"), ["New York"]);
        let word = Analyzer::new(AnalyzerConfig {
            tokenizer: Tokenizer::Word,
            ascii_folding: false,
            ..AnalyzerConfig::default()
        })
        .unwrap_or_default();
        assert_eq!(
            words(&word, "Ünïcode, can't stop!"),
            ["ünïcode", "can't", "stop"]
        );
    }

    #[test]
    fn bad_length_bounds_are_rejected() {
        assert!(
            Analyzer::new(AnalyzerConfig {
                min_token_chars: 0,
                ..AnalyzerConfig::default()
            })
            .is_err()
        );
        assert!(
            Analyzer::new(AnalyzerConfig {
                min_token_chars: 3,
                max_token_chars: Some(2),
                ..AnalyzerConfig::default()
            })
            .is_err()
        );
    }

    #[test]
    fn overlong_tokens_are_dropped() {
        let long = "x".repeat(MAX_TERM_BYTES + 1);
        assert_eq!(
            words(&Analyzer::default(), &format!("a {long} b")),
            ["a", "b"]
        );
    }
}
