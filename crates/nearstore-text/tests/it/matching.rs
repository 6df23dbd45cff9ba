//! `TextIndex::matching_ids` (posting lists) equals `value_matches` (direct analysis) over
//! random corpora with deletes and re-indexing, for term sets and phrases.

use nearstore_text::{Analyzer, TextIndex, TextIndexConfig, value_matches};
use proptest::prelude::*;
use serde_json::{Value, json};

const WORDS: [&str; 6] = ["ant", "Bee", "cat", "dog", "eel", "fox"];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS.to_vec()), 0..6).prop_map(|w| w.join(" "))
}

fn doc() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(|t| json!({"body": t})),
        (text(), text()).prop_map(|(a, b)| json!({"body": [a, b], "other": "ant"})),
        Just(json!({"other": "bee"})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn matching_ids_equal_direct_analysis(
        docs in prop::collection::vec(doc(), 1..40),
        deletes in prop::collection::vec(0u64..40, 0..10),
        queries in prop::collection::vec((text(), any::<bool>()), 1..8),
    ) {
        let mut index = TextIndex::new(TextIndexConfig::named(["body"]))
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .with_seal_docs(7);
        let mut live: Vec<Option<&Value>> = Vec::new();
        for (id, d) in docs.iter().enumerate() {
            index.index_document(id as u64, d);
            live.push(Some(d));
        }
        for &id in &deletes {
            index.delete_document(id);
            if let Some(slot) = live.get_mut(id as usize) {
                *slot = None;
            }
        }
        let analyzer = Analyzer::default();
        for (query, phrase) in &queries {
            let got = index
                .matching_ids("body", query, *phrase)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let expected: Vec<u64> = live
                .iter()
                .enumerate()
                .filter_map(|(id, d)| d.map(|d| (id as u64, d)))
                .filter(|(_, d)| {
                    d.get("body").is_some_and(|b| value_matches(&analyzer, b, query, *phrase))
                })
                .map(|(id, _)| id)
                .collect();
            prop_assert_eq!(got, Some(expected), "query {:?} phrase {}", query, phrase);
        }
    }
}
