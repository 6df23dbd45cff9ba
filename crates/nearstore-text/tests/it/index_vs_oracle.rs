//! Property tests: the index's top-k equals the brute-force oracle over random corpora with
//! random updates, deletes, seals and merges, with and without filters, for words, phrases,
//! `+`/`-` clauses and `field:` targeting; and it still does after an encode/decode round trip.

use proptest::prelude::*;
use roaring::RoaringTreemap;
use serde_json::json;

use nearstore_text::{TextIndex, TextIndexConfig};

use crate::oracle::{GenClause, Oracle, render};

const WORDS: [&str; 8] = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen"];

#[derive(Debug, Clone)]
enum Op {
    Upsert(u64, Vec<String>),
    Delete(u64),
    Seal,
    Merge,
}

fn text() -> impl Strategy<Value = String> {
    // Skewed word choice so some terms are common and others rare.
    prop::collection::vec(
        prop::sample::select(vec![0usize, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7]),
        0..10,
    )
    .prop_map(|ix| ix.iter().map(|&i| WORDS[i]).collect::<Vec<_>>().join(" "))
}

fn ops(n_fields: usize) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        8 => (0u64..40, prop::collection::vec(text(), n_fields)).prop_map(|(id, t)| Op::Upsert(id, t)),
        2 => (0u64..40).prop_map(Op::Delete),
        1 => Just(Op::Seal),
        1 => Just(Op::Merge),
    ];
    prop::collection::vec(op, 1..80)
}

fn clause(n_fields: usize) -> impl Strategy<Value = GenClause> {
    (
        prop::sample::select(vec![0u8, 0, 0, 1, 2]),
        prop::option::weighted(0.4, 0..n_fields),
        prop::collection::vec(prop::sample::select(WORDS.to_vec()), 1..4),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(occur, field, words, phrase)| {
            let words: Vec<String> = words.into_iter().map(str::to_owned).collect();
            let words = if phrase { words } else { words[..1].to_vec() };
            GenClause {
                occur,
                field,
                words,
                phrase,
            }
        })
}

fn payload(field_names: &[&str], texts: &[String]) -> serde_json::Value {
    if field_names.is_empty() {
        // `_all`: one string leaf, nested to check that depth does not matter.
        json!({"n": 7, "inner": {"text": texts[0]}})
    } else {
        let mut obj = serde_json::Map::new();
        for (name, t) in field_names.iter().zip(texts) {
            obj.insert((*name).to_owned(), json!(t));
        }
        serde_json::Value::Object(obj)
    }
}

fn apply(ops: &[Op], field_names: &[&str], seal_docs: usize) -> (TextIndex, Oracle) {
    let config = if field_names.is_empty() {
        TextIndexConfig::default()
    } else {
        TextIndexConfig::named(field_names.iter().copied())
    };
    let mut index = TextIndex::new(config)
        .map(|i| i.with_seal_docs(seal_docs))
        .unwrap_or_else(|e| panic!("config: {e}"));
    let mut oracle = Oracle::new(field_names.len().max(1));
    for op in ops {
        match op {
            Op::Upsert(id, texts) => {
                index.index_document(*id, &payload(field_names, texts));
                oracle.upsert(*id, texts);
            }
            Op::Delete(id) => {
                index.delete_document(*id);
                oracle.delete(*id);
            }
            Op::Seal => index.seal(),
            Op::Merge => index.merge_all(),
        }
    }
    (index, oracle)
}

/// The index's hits agree with the oracle's ranking: same count, same scores rank by rank,
/// every returned id a match with that score.
fn check(
    index: &TextIndex,
    oracle: &Oracle,
    q: &[GenClause],
    names: &[&str],
    k: usize,
    allow: Option<&RoaringTreemap>,
) -> Result<(), TestCaseError> {
    let query = render(q, if names.is_empty() { &["_all"] } else { names });
    let out = match allow {
        Some(f) => index.search_filtered(&query, k, f),
        None => index.search(&query, k),
    }
    .map_err(|e| TestCaseError::fail(format!("search failed: {e}")))?;
    let expected = oracle.search(q, &|id| allow.is_none_or(|f| f.contains(id)));
    let want = expected.len().min(k);
    prop_assert_eq!(
        out.hits.len(),
        want,
        "query {:?}: {:?} vs {:?}",
        query,
        out.hits,
        &expected[..want]
    );
    let mut seen = std::collections::HashSet::new();
    for (hit, (_, oracle_score)) in out.hits.iter().zip(&expected) {
        let tol = 1e-5 * oracle_score.abs().max(1e-3);
        prop_assert!(
            (f64::from(hit.score) - oracle_score).abs() <= tol,
            "query {:?}: rank score {} vs {}",
            query,
            hit.score,
            oracle_score
        );
        let own = expected.iter().find(|(id, _)| *id == hit.id);
        prop_assert!(
            own.is_some_and(|(_, s)| (f64::from(hit.score) - s).abs() <= tol),
            "query {:?}: hit {:?} is not a match with that score",
            query,
            hit
        );
        prop_assert!(seen.insert(hit.id), "duplicate hit");
    }
    Ok(())
}

fn run_case(
    names: &[&str],
    ops: &[Op],
    seal_docs: usize,
    queries: &[Vec<GenClause>],
    k: usize,
    filter_bits: u64,
) -> Result<(), TestCaseError> {
    let (index, oracle) = apply(ops, names, seal_docs);
    prop_assert_eq!(index.len(), oracle.docs.len());
    let filter: RoaringTreemap = (0..40u64).filter(|i| filter_bits >> i & 1 == 1).collect();
    let decoded = TextIndex::decode(&index.encode())
        .map_err(|e| TestCaseError::fail(format!("decode: {e}")))?;
    for q in queries {
        for idx in [&index, &decoded] {
            check(idx, &oracle, q, names, k, None)?;
            check(idx, &oracle, q, names, k, Some(&filter))?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn all_field_top_k_equals_the_oracle(
        ops in ops(1),
        seal_docs in 1usize..20,
        queries in prop::collection::vec(prop::collection::vec(clause(1), 1..4), 1..6),
        k in 1usize..12,
        filter_bits in any::<u64>(),
    ) {
        run_case(&[], &ops, seal_docs, &queries, k, filter_bits)?;
    }

    #[test]
    fn named_fields_top_k_equals_the_oracle(
        ops in ops(2),
        seal_docs in 1usize..20,
        queries in prop::collection::vec(prop::collection::vec(clause(2), 1..4), 1..6),
        k in 1usize..12,
        filter_bits in any::<u64>(),
    ) {
        run_case(&["title", "body"], &ops, seal_docs, &queries, k, filter_bits)?;
    }
}

#[test]
fn ties_go_to_the_smaller_point_id_across_segments() -> anyhow::Result<()> {
    let mut index = TextIndex::new(TextIndexConfig::default())?.with_seal_docs(3);
    // Same text everywhere: equal scores; inserted in descending id order over several
    // segments.
    for id in (0..20u64).rev() {
        index.index_document(id * 10, &json!({"t": "same words here"}));
    }
    let hits = index.search("words", 5)?.hits;
    let ids: Vec<u64> = hits.iter().map(|h| h.id).collect();
    assert_eq!(ids, [0, 10, 20, 30, 40]);
    Ok(())
}

#[test]
fn huge_k_and_empty_queries_are_answered_not_refused() -> anyhow::Result<()> {
    let mut index = TextIndex::new(TextIndexConfig::default())?;
    index.index_document(1, &json!({"t": "alpha beta"}));
    index.index_document(2, &json!({"t": "beta"}));
    let ids: Vec<u64> = index
        .search("beta", usize::MAX)?
        .hits
        .iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ids, [2, 1]);
    for q in ["", "   ", "-beta", "+ -", "!!! ---", "\"\"", "zeta"] {
        assert!(index.search(q, 10)?.hits.is_empty(), "{q:?}");
    }
    assert!(index.search("beta", 0)?.hits.is_empty());
    Ok(())
}

#[test]
fn pruning_skips_blocks_on_a_large_corpus() -> anyhow::Result<()> {
    let mut index = TextIndex::new(TextIndexConfig::default())?;
    for id in 0..20_000u64 {
        let text = if id % 1000 == 7 {
            "common rare"
        } else {
            "common filler text"
        };
        index.index_document(id, &json!({"t": text}));
    }
    index.merge_all();
    let out = index.search("common rare", 5)?;
    let ids: Vec<u64> = out.hits.iter().map(|h| h.id).collect();
    assert_eq!(ids, [7, 1007, 2007, 3007, 4007]);
    assert!(out.stats.blocks_skipped > 0, "{:?}", out.stats);
    assert!(out.stats.documents_scored < 20_000, "{:?}", out.stats);
    Ok(())
}

/// A corpus of `n` documents long enough for posting lists of many blocks (so the window
/// scorer's block bounds, lazy skips and several windows per segment are exercised), then
/// deletes of every `delete_every`-th id from `delete_from` on.
fn large_corpus() -> impl Strategy<Value = (Vec<String>, usize, usize)> {
    (300usize..2500).prop_flat_map(|n| (prop::collection::vec(text(), n), 1usize..50, 0usize..n))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn plain_queries_over_multi_block_lists_equal_the_oracle(
        (texts, delete_every, delete_from) in large_corpus(),
        seal_docs in prop::sample::select(vec![150usize, 700, 100_000]),
        merge in any::<bool>(),
        queries in prop::collection::vec(prop::collection::vec(prop::sample::select(WORDS.to_vec()), 1..4), 1..6),
        k in 1usize..12,
        filter_bits in any::<u64>(),
    ) {
        let mut ops: Vec<Op> = texts
            .iter()
            .enumerate()
            .map(|(id, t)| Op::Upsert(id as u64, vec![t.clone()]))
            .collect();
        ops.extend((delete_from..texts.len()).step_by(delete_every).map(|id| Op::Delete(id as u64)));
        if merge {
            ops.push(Op::Merge);
        }
        let (index, oracle) = apply(&ops, &[], seal_docs);
        // Every id whose low 6 bits are set in `filter_bits`.
        let filter: RoaringTreemap = (0..texts.len() as u64)
            .filter(|i| filter_bits >> (i % 64) & 1 == 1)
            .collect();
        for words in &queries {
            let q: Vec<GenClause> = words
                .iter()
                .map(|w| GenClause {
                    occur: 0,
                    field: None,
                    words: vec![(*w).to_owned()],
                    phrase: false,
                })
                .collect();
            check(&index, &oracle, &q, &[], k, None)?;
            check(&index, &oracle, &q, &[], k, Some(&filter))?;
        }
    }
}
