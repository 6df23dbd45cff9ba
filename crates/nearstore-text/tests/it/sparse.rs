//! The sparse index against a brute-force dot product: random sparse data (skewed
//! dimensions, negative weights, integer weights for exact ties) under random upserts,
//! deletes and compactions, with and without filters and the IDF modifier; the same after an
//! image round trip; plus scenarios for negative scores, ties and the stop check.

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;

use nearstore_text::{
    FilterFn, SparseConfig, SparseIndex, SparseModifier, SparseVector, TextFilter, idf,
};

#[derive(Debug, Clone)]
enum Op {
    Upsert(u64, SparseVector),
    Delete(u64),
    Compact,
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        3 => (-4i8..=4).prop_map(f32::from),
        1 => -10.0f32..10.0,
    ]
}

fn vector(max_len: usize) -> impl Strategy<Value = SparseVector> {
    // Low dimensions are far more common than high ones (long and short lists).
    let dim = prop_oneof![4 => 0u32..6, 2 => 0u32..30, 1 => 0u32..400];
    prop::collection::vec((dim, value()), 0..max_len).prop_map(|pairs| {
        let (indices, values) = pairs.into_iter().unzip();
        // Finite values, equal lengths: normalisation cannot fail.
        SparseVector::new(indices, values).unwrap_or_default()
    })
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        10 => (0u64..60, vector(12)).prop_map(|(id, v)| Op::Upsert(id, v)),
        3 => (0u64..60).prop_map(Op::Delete),
        1 => Just(Op::Compact),
    ];
    prop::collection::vec(op, 1..150)
}

/// The top k by brute force: every live allowed point sharing a dimension with the query,
/// scored in increasing dimension order in f64 (query values times IDF when asked).
fn oracle(
    model: &BTreeMap<u64, SparseVector>,
    query: &SparseVector,
    k: usize,
    modifier: SparseModifier,
    allowed: Option<&HashSet<u64>>,
) -> Vec<(u64, f32)> {
    let n = model.len() as u64;
    let weights: Vec<(u32, f64)> = query
        .iter()
        .map(|(d, q)| {
            let q = f64::from(q);
            let w = match modifier {
                SparseModifier::Idf => {
                    let df = model.values().filter(|v| v.indices().contains(&d)).count();
                    q * idf(n, df as u64)
                }
                _ => q,
            };
            (d, w)
        })
        .collect();
    let mut scored: Vec<(f64, u64)> = model
        .iter()
        .filter(|(id, _)| allowed.is_none_or(|a| a.contains(id)))
        .filter_map(|(&id, v)| {
            let mut shared = false;
            let mut score = 0.0f64;
            for &(d, q) in &weights {
                if let Ok(at) = v.indices().binary_search(&d) {
                    shared = true;
                    score += q * f64::from(v.values()[at]);
                }
            }
            shared.then_some((score, id))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(k)
        .map(|(s, id)| (id, s as f32))
        .collect()
}

fn never() -> bool {
    false
}

fn search(
    index: &SparseIndex,
    query: &SparseVector,
    k: usize,
    filter: Option<&dyn TextFilter>,
) -> Vec<(u64, f32)> {
    // Without a stop the search always completes.
    index
        .search(query, k, filter, &never)
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn assert_same(got: &[(u64, f32)], want: &[(u64, f32)]) -> Result<(), TestCaseError> {
    let ids: Vec<u64> = got.iter().map(|h| h.0).collect();
    let want_ids: Vec<u64> = want.iter().map(|h| h.0).collect();
    prop_assert_eq!(ids, want_ids);
    for (g, w) in got.iter().zip(want) {
        let tolerance = 1e-5 * w.1.abs().max(1e-6);
        prop_assert!((g.1 - w.1).abs() <= tolerance, "score {} vs {}", g.1, w.1);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn top_k_equals_brute_force(
        ops in ops(),
        queries in prop::collection::vec(vector(8), 1..6),
        k in 1usize..20,
        idf_on in any::<bool>(),
        allowed_mask in any::<u64>(),
    ) {
        let modifier = if idf_on { SparseModifier::Idf } else { SparseModifier::None };
        let mut index = SparseIndex::new(SparseConfig { modifier });
        let mut model = BTreeMap::new();
        for op in &ops {
            match op {
                Op::Upsert(id, v) => {
                    index.upsert(*id, v);
                    if v.is_empty() {
                        model.remove(id);
                    } else {
                        model.insert(*id, v.clone());
                    }
                }
                Op::Delete(id) => {
                    prop_assert_eq!(index.delete(*id), model.remove(id).is_some());
                }
                Op::Compact => index.compact(),
            }
        }
        prop_assert_eq!(index.len(), model.len());
        for id in 0..60u64 {
            prop_assert_eq!(index.get(id), model.get(&id).cloned());
        }
        let allowed: HashSet<u64> = (0..60u64).filter(|i| allowed_mask >> i & 1 == 1).collect();
        let decoded = SparseIndex::decode_image(&index.encode_image())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for query in &queries {
            let want = oracle(&model, query, k, modifier, None);
            assert_same(&search(&index, query, k, None), &want)?;
            assert_same(&search(&decoded, query, k, None), &want)?;
            let want = oracle(&model, query, k, modifier, Some(&allowed));
            assert_same(&search(&index, query, k, Some(&allowed)), &want)?;
            let by_closure = FilterFn(|id: u64| allowed.contains(&id));
            assert_same(&search(&decoded, query, k, Some(&by_closure)), &want)?;
        }
    }
}

fn sv(pairs: &[(u32, f32)]) -> SparseVector {
    let (indices, values) = pairs.iter().copied().unzip();
    SparseVector::new(indices, values).unwrap_or_default()
}

#[test]
fn negative_scores_still_fill_k_and_unrelated_points_never_appear() {
    let mut index = SparseIndex::default();
    index.upsert(1, &sv(&[(5, 2.0)]));
    index.upsert(2, &sv(&[(5, 1.0), (9, 4.0)]));
    index.upsert(3, &sv(&[(9, 1.0)])); // shares nothing with the query
    let hits = search(&index, &sv(&[(5, -1.0)]), 10, None);
    assert_eq!(hits, vec![(2, -1.0), (1, -2.0)]);
}

#[test]
fn ties_go_to_the_smaller_id_whatever_the_insertion_order() {
    let mut index = SparseIndex::default();
    for id in [9u64, 4, 7, 1, 8] {
        index.upsert(id, &sv(&[(3, 1.5), (4, -0.5)]));
    }
    index.upsert(4, &sv(&[(3, 1.5), (4, -0.5)])); // re-inserted last, same vector
    let ids: Vec<u64> = search(&index, &sv(&[(3, 2.0), (4, 1.0)]), 3, None)
        .iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(ids, [1, 4, 7]);
}

#[test]
fn a_stop_that_fires_gives_up_and_one_that_does_not_completes() {
    let mut index = SparseIndex::default();
    for id in 0..5_000u64 {
        index.upsert(id, &sv(&[(id as u32 % 3, 1.0 + (id % 17) as f32)]));
    }
    let query = sv(&[(0, 1.0), (1, 1.0), (2, -1.0)]);
    let always = || true;
    assert!(matches!(index.search(&query, 10, None, &always), Ok(None)));
    assert_eq!(search(&index, &query, 10, None).len(), 10);
}
