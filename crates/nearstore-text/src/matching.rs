//! Boolean full-text matching (the filter conditions `text` and `phrase`): which documents
//! contain every term of a query, or the query as a phrase, in one field.
//!
//! Two implementations of one rule: [`TextIndex::matching_ids`] answers from the posting
//! lists (every query term becomes a required clause aimed at the field), and
//! [`value_matches`] analyzes one JSON value directly (the engine's fallback for a field the
//! index does not hold, and the oracle the index is tested against). A query with no term
//! matches nothing.

use rustc_hash::FxHashSet;
use serde_json::Value;

use crate::analyzer::Analyzer;
use crate::error::Result;
use crate::index::TextIndex;
use crate::query::{Clause, Occur, TextQuery};
use crate::schema::for_each_string_leaf;

impl TextIndex {
    /// Whether the index has a field of this name ([`crate::ALL_FIELD`] or a dotted path).
    pub fn has_field(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.name == name)
    }

    /// The live documents whose field `field` contains every term of `query` (or, with
    /// `phrase`, the terms adjacent and in order), ascending; `None` when the index has no
    /// such field.
    pub fn matching_ids(&self, field: &str, query: &str, phrase: bool) -> Result<Option<Vec<u64>>> {
        if !self.has_field(field) {
            return Ok(None);
        }
        let clause = Clause {
            occur: Occur::Must,
            field: Some(field.to_owned()),
            text: query.to_owned(),
            raw: query.to_owned(),
            phrase,
        };
        let parsed = TextQuery {
            clauses: vec![clause],
        };
        let out = self.search_query(&parsed, self.len().max(1), None)?;
        let mut ids: Vec<u64> = out.hits.iter().map(|h| h.id).collect();
        ids.sort_unstable();
        Ok(Some(ids))
    }

    /// The query written with every clause that names no field aimed at `field` (how the
    /// engine runs `field MATCH 'query'`).
    pub fn parse_query_in_field(query: &str, field: &str) -> TextQuery {
        let mut parsed = TextQuery::parse(query);
        for clause in &mut parsed.clauses {
            if clause.field.is_none() {
                clause.field = Some(field.to_owned());
            }
        }
        parsed
    }
}

/// Whether `value`'s text (the string itself, or every string below it) contains every term
/// of `query` under `analyzer` (with `phrase`: the terms adjacent and in order within one
/// string). A query with no term matches nothing.
pub fn value_matches(analyzer: &Analyzer, value: &Value, query: &str, phrase: bool) -> bool {
    let wanted = analyzer.terms(query);
    let Some((first, _)) = wanted.first() else {
        return false;
    };
    let mut scratch = String::new();
    if !phrase {
        let mut missing: FxHashSet<&str> = wanted.iter().map(|(t, _)| t.as_str()).collect();
        for_each_string_leaf(value, &mut |text| {
            if missing.is_empty() {
                return;
            }
            analyzer.analyze(text, 0, &mut scratch, &mut |term, _| {
                missing.remove(term);
            });
        });
        return missing.is_empty();
    }
    let base = wanted[0].1;
    let offsets: Vec<(&str, u32)> = wanted.iter().map(|(t, p)| (t.as_str(), p - base)).collect();
    let mut found = false;
    let mut leaf: Vec<(String, u32)> = Vec::new();
    for_each_string_leaf(value, &mut |text| {
        if found {
            return;
        }
        leaf.clear();
        analyzer.analyze(text, 0, &mut scratch, &mut |term, pos| {
            leaf.push((term.to_owned(), pos))
        });
        found = leaf.iter().filter(|(t, _)| t == first).any(|(_, start)| {
            offsets.iter().all(|&(term, offset)| {
                let at = start + offset;
                leaf.iter().any(|(t, p)| *p == at && t == term)
            })
        });
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TextIndexConfig;
    use serde_json::json;

    #[test]
    fn value_matches_terms_and_phrases_within_one_string() {
        let a = Analyzer::default();
        let v = json!({"t": ["The quick brown", "fox jumps"]});
        assert!(value_matches(&a, &v, "fox QUICK", false));
        assert!(!value_matches(&a, &v, "fox cat", false));
        assert!(value_matches(&a, &v, "quick brown", true));
        assert!(!value_matches(&a, &v, "brown quick", true));
        assert!(
            !value_matches(&a, &v, "brown fox", true),
            "not across strings"
        );
        assert!(!value_matches(&a, &v, " ,, ", false), "no term: no match");
        assert!(!value_matches(&a, &json!(5), "5", false));
    }

    #[test]
    fn matching_ids_answers_from_the_index() -> Result<()> {
        let mut index = TextIndex::new(TextIndexConfig::named(["title", "body"]))?;
        index.index_document(1, &json!({"title": "red apple pie", "body": "green"}));
        index.index_document(2, &json!({"title": "apple red", "body": "red apple"}));
        index.index_document(3, &json!({"title": "pie"}));
        assert_eq!(
            index.matching_ids("title", "apple red", false)?,
            Some(vec![1, 2])
        );
        assert_eq!(
            index.matching_ids("title", "red apple", true)?,
            Some(vec![1])
        );
        assert_eq!(
            index.matching_ids("body", "red apple", true)?,
            Some(vec![2])
        );
        assert_eq!(index.matching_ids("title", "kiwi", false)?, Some(vec![]));
        assert_eq!(index.matching_ids("other", "pie", false)?, None);
        index.delete_document(1);
        assert_eq!(index.matching_ids("title", "pie", false)?, Some(vec![3]));
        Ok(())
    }
}
