//! HNSW tests: recall against the exact index, graph invariants, filters, deletes,
//! persistence.

use std::sync::Arc;

use nearstore_storage::{FaultyBackend, SharedBackend};
use nearstore_testkit::{random_vectors, recall_at_k};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::{FlatIndex, IdSetAllowList};

fn build(vectors: &[Vec<f32>], metric: DistanceMetric) -> (HnswIndex, FlatIndex) {
    let dim = vectors[0].len();
    let hnsw = HnswIndex::new(dim, metric, HnswParams::default()).unwrap();
    let flat = FlatIndex::new(dim, metric);
    let items: Vec<(u64, &[f32])> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u64, v.as_slice()))
        .collect();
    hnsw.insert_batch(&items).unwrap();
    for (id, v) in &items {
        flat.upsert(*id, v).unwrap();
    }
    (hnsw, flat)
}

/// Mean recall@10 of `index` against `flat` over `queries`.
fn recall(
    index: &HnswIndex,
    flat: &FlatIndex,
    queries: &[Vec<f32>],
    quality: SearchQuality,
    allow: Option<&dyn AllowList>,
) -> f64 {
    let total: f64 = queries
        .iter()
        .map(|q| {
            let got: Vec<u64> = index
                .search(q, 10, quality, allow)
                .unwrap()
                .iter()
                .map(|h| h.id)
                .collect();
            let truth: Vec<u64> = flat
                .search(q, 10, SearchQuality::Perfect, allow)
                .unwrap()
                .iter()
                .map(|h| h.id)
                .collect();
            recall_at_k(&got, &truth, 10)
        })
        .sum();
    total / queries.len() as f64
}

/// A Gaussian mixture: tight, well-separated clusters (where evicting the farthest link
/// splits the graph into islands).
fn clustered(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centers = random_vectors(clusters, dim, seed + 1);
    (0..n)
        .map(|i| {
            centers[i % clusters]
                .iter()
                .map(|c| c * 10.0 + rng.random_range(-0.05f32..0.05))
                .collect()
        })
        .collect()
}

#[test]
fn recall_matches_the_exact_index_on_random_data() {
    for metric in [
        DistanceMetric::Cosine,
        DistanceMetric::Euclidean,
        DistanceMetric::DotProduct,
        DistanceMetric::Manhattan,
    ] {
        let data = random_vectors(3000, 24, 1);
        let (hnsw, flat) = build(&data, metric);
        let queries = random_vectors(60, 24, 2);
        let r = recall(&hnsw, &flat, &queries, SearchQuality::Ef(128), None);
        assert!(r >= 0.95, "{metric:?}: recall {r}");
    }
}

#[test]
fn manhattan_scores_are_l1_distances_sorted_ascending_on_both_indexes() {
    let data = random_vectors(400, 10, 7);
    let (hnsw, flat) = build(&data, DistanceMetric::Manhattan);
    let q = &data[3];
    for hits in [
        flat.search(q, 10, SearchQuality::Perfect, None).unwrap(),
        hnsw.search(q, 10, SearchQuality::Ef(128), None).unwrap(),
    ] {
        assert_eq!(hits.len(), 10);
        assert_eq!((hits[0].id, hits[0].score), (3, 0.0));
        assert!(hits.windows(2).all(|w| w[0].score <= w[1].score));
        for h in &hits {
            let exact =
                nearstore_distance::distance(DistanceMetric::Manhattan, q, &data[h.id as usize]);
            assert!(
                (h.score - exact).abs() <= 1e-4 * exact.max(1.0),
                "{h:?} vs {exact}"
            );
        }
    }
    let truth: Vec<u64> = flat
        .search(q, 10, SearchQuality::Perfect, None)
        .unwrap()
        .iter()
        .map(|h| h.id)
        .collect();
    let mut brute: Vec<(f32, u64)> = data
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                nearstore_distance::distance(DistanceMetric::Manhattan, q, v),
                i as u64,
            )
        })
        .collect();
    brute.sort_by(|a, b| a.0.total_cmp(&b.0));
    let brute: Vec<u64> = brute[..10].iter().map(|x| x.1).collect();
    assert_eq!(truth, brute);
}

#[test]
fn clustered_data_stays_one_connected_graph_with_high_recall() {
    let mut data = clustered(4080, 16, 40, 3);
    let queries = data.split_off(4000);
    let (hnsw, flat) = build(&data, DistanceMetric::Euclidean);
    let reach = hnsw.graph.read().reachable_from_entry();
    assert!(
        reach.iter().all(|&r| r),
        "every node reachable from the entry point"
    );
    let r = recall(&hnsw, &flat, &queries, SearchQuality::Ef(64), None);
    assert!(r >= 0.95, "recall on clustered data {r}");
}

#[test]
fn filtered_search_returns_k_whenever_k_match_at_every_selectivity() {
    let data = random_vectors(4000, 16, 5);
    let (hnsw, flat) = build(&data, DistanceMetric::Euclidean);
    let queries = random_vectors(30, 16, 6);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for selectivity in [0.5, 0.1, 0.01, 0.001] {
        let allow = IdSetAllowList::new((0..4000u64).filter(|_| rng.random_bool(selectivity)));
        let allowed = allow.count_hint().unwrap();
        for q in &queries {
            let hits = hnsw
                .search(q, 10, SearchQuality::Balanced, Some(&allow))
                .unwrap();
            assert_eq!(hits.len(), allowed.min(10), "selectivity {selectivity}");
            assert!(hits.iter().all(|h| allow.allows(h.id)));
        }
        let r = recall(
            &hnsw,
            &flat,
            &queries,
            SearchQuality::Balanced,
            Some(&allow),
        );
        assert!(r >= 0.95, "selectivity {selectivity}: recall {r}");
    }
}

#[test]
fn recall_holds_after_deleting_thirty_percent_and_vacuum_frees_the_slots() {
    let data = random_vectors(4000, 16, 8);
    let (hnsw, flat) = build(&data, DistanceMetric::Euclidean);
    let queries = random_vectors(60, 16, 9);
    let before = recall(&hnsw, &flat, &queries, SearchQuality::Ef(64), None);
    let doomed: Vec<u64> = (0..4000u64).filter(|i| i % 10 < 3).collect();
    assert_eq!(hnsw.delete_ids(&doomed), doomed.len());
    for id in &doomed {
        flat.delete(*id).unwrap();
    }
    assert_eq!(hnsw.len(), 2800);
    let after = recall(&hnsw, &flat, &queries, SearchQuality::Ef(64), None);
    assert!(
        after >= 0.95 && after >= before - 0.03,
        "before {before}, after deletes {after}"
    );
    assert_eq!(hnsw.vacuum(), doomed.len());
    let g = hnsw.graph.read();
    let mut links = Vec::new();
    for s in 0..g.len() as u32 {
        for level in 0..=g.level(s) {
            g.links_into(s, level, &mut links);
            assert!(
                links.iter().all(|&l| !g.is_deleted(l)),
                "no edge to a vacuumed slot"
            );
        }
    }
    drop(g);
    let vacuumed = recall(&hnsw, &flat, &queries, SearchQuality::Ef(64), None);
    assert!(vacuumed >= 0.95, "after vacuum {vacuumed}");
    // Freed slots are reused.
    hnsw.upsert(99_999, &data[0]).unwrap();
    assert_eq!(hnsw.slots(), 4000);
}

#[test]
fn upsert_replaces_and_errors_are_clear() {
    let hnsw = HnswIndex::new(3, DistanceMetric::Euclidean, HnswParams::default()).unwrap();
    hnsw.upsert(1, &[0.0, 0.0, 0.0]).unwrap();
    hnsw.upsert(2, &[5.0, 5.0, 5.0]).unwrap();
    hnsw.upsert(1, &[9.0, 9.0, 9.0]).unwrap();
    assert_eq!(hnsw.len(), 2);
    let hits = hnsw
        .search(&[9.0, 9.0, 9.0], 1, SearchQuality::Balanced, None)
        .unwrap();
    assert_eq!((hits[0].id, hits[0].score), (1, 0.0));
    assert!(matches!(
        hnsw.upsert(3, &[1.0]),
        Err(Error::DimensionMismatch {
            expected: 3,
            actual: 1
        })
    ));
    assert!(matches!(
        hnsw.upsert(3, &[1.0, f32::NAN, 0.0]),
        Err(Error::NonFinite { index: 1, .. })
    ));
    assert!(
        hnsw.search(&[1.0, 2.0], 1, SearchQuality::Balanced, None)
            .is_err()
    );
}

#[test]
fn every_metric_survives_a_checkpoint() {
    let backend = FaultyBackend::new();
    let shared: SharedBackend = Arc::new(backend.clone());
    for metric in DistanceMetric::ALL {
        let hnsw = HnswIndex::new(4, metric, HnswParams::default()).unwrap();
        hnsw.upsert(1, &[1.0, 0.0, 1.0, 0.0]).unwrap();
        let path = std::path::PathBuf::from(format!("/idx/{metric}.ckpt"));
        hnsw.save(shared.as_ref(), &path, 1).unwrap();
        let (loaded, _) = HnswIndex::load(shared.as_ref(), &path).unwrap();
        assert_eq!(loaded.metric(), metric);
    }
}

#[test]
fn a_checkpoint_loads_without_rebuilding_and_answers_identically() {
    let data = random_vectors(2000, 16, 10);
    let (hnsw, _) = build(&data, DistanceMetric::Cosine);
    hnsw.delete_ids(&[5, 6, 7]);
    let backend = FaultyBackend::new();
    let shared: SharedBackend = Arc::new(backend.clone());
    let path = std::path::Path::new("/idx/hnsw.ckpt");
    hnsw.save(shared.as_ref(), path, 42).unwrap();
    let (loaded, lsn) = HnswIndex::load(shared.as_ref(), path).unwrap();
    assert_eq!(lsn, 42);
    assert_eq!(loaded.len(), hnsw.len());
    for q in random_vectors(20, 16, 11) {
        let a = hnsw.search(&q, 10, SearchQuality::Balanced, None).unwrap();
        let b = loaded
            .search(&q, 10, SearchQuality::Balanced, None)
            .unwrap();
        assert_eq!(a, b);
    }
    // A damaged checkpoint is an error, never a panic.
    let mut bytes = backend.read_file(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    backend.replace_file(path, &bytes);
    assert!(HnswIndex::load(shared.as_ref(), path).is_err());
}

#[test]
fn searches_run_while_points_are_inserted() {
    let data = random_vectors(3000, 16, 12);
    let hnsw =
        Arc::new(HnswIndex::new(16, DistanceMetric::Euclidean, HnswParams::default()).unwrap());
    let items: Vec<(u64, &[f32])> = data[..1000]
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u64, v.as_slice()))
        .collect();
    hnsw.insert_batch(&items).unwrap();
    std::thread::scope(|s| {
        let writer = hnsw.clone();
        let rest = &data[1000..];
        s.spawn(move || {
            for (i, v) in rest.iter().enumerate() {
                writer.upsert(1000 + i as u64, v).unwrap();
            }
        });
        for q in random_vectors(200, 16, 13) {
            let hits = hnsw.search(&q, 10, SearchQuality::Balanced, None).unwrap();
            assert_eq!(hits.len(), 10);
        }
    });
    assert_eq!(hnsw.len(), 3000);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn graph_invariants_hold_after_random_inserts_deletes_and_vacuums(
        seed in 0u64..1000,
        n in 50usize..400,
        delete_every in 2u64..7,
        vacuum in any::<bool>(),
    ) {
        let data = random_vectors(n, 8, seed);
        let params = HnswParams { m: 6, ef_construction: 40, ..HnswParams::default() };
        let hnsw = HnswIndex::new(8, DistanceMetric::Euclidean, params).unwrap();
        let items: Vec<(u64, &[f32])> = data.iter().enumerate().map(|(i, v)| (i as u64, v.as_slice())).collect();
        hnsw.insert_batch(&items).unwrap();
        let doomed: Vec<u64> = (0..n as u64).filter(|i| i % delete_every == 0).collect();
        hnsw.delete_ids(&doomed);
        if vacuum {
            hnsw.vacuum();
        }
        let g = hnsw.graph.read();
        let reach = g.reachable_from_entry();
        let mut links = Vec::new();
        for s in 0..g.len() as u32 {
            if !g.is_deleted(s) {
                prop_assert!(reach[s as usize], "live slot {} unreachable", s);
            }
            for level in 0..=g.level(s) {
                g.links_into(s, level, &mut links);
                prop_assert!(links.len() <= g.max_links(level));
                prop_assert!(links.iter().all(|&l| (l as usize) < g.len() && l != s));
                if vacuum {
                    prop_assert!(links.iter().all(|&l| !g.is_deleted(l)));
                }
            }
        }
    }
}

#[test]
fn the_exact_scorer_scores_a_vector_like_the_index_does() {
    // The engine scores points waiting for the index with it and merges them with the
    // index's hits: the same vector must get the same bits either way, or a point's rank
    // and ties would change when it is linked.
    for metric in [
        DistanceMetric::Cosine,
        DistanceMetric::Euclidean,
        DistanceMetric::DotProduct,
    ] {
        for dim in [8usize, 32, 384] {
            let vectors = random_vectors(1000, dim, 3);
            let (hnsw, _) = build(&vectors, metric);
            for q in &random_vectors(10, dim, 4) {
                for quality in [SearchQuality::Balanced, SearchQuality::Perfect] {
                    let hits = hnsw.search(q, 10, quality, None).unwrap();
                    let mut all = hnsw.exact_scorer(q, 10).unwrap();
                    for (id, v) in vectors.iter().enumerate() {
                        all.offer(id as u64, v);
                    }
                    let exact = all.into_hits();
                    for h in &hits {
                        let mut one = hnsw.exact_scorer(q, 1).unwrap();
                        one.offer(h.id, &vectors[h.id as usize]);
                        let bits = one.into_hits()[0].score.to_bits();
                        assert_eq!(bits, h.score.to_bits(), "{metric:?} {dim}-d id {}", h.id);
                    }
                    if quality == SearchQuality::Perfect {
                        assert_eq!(exact, hits, "{metric:?} {dim}-d: exact top 10");
                    }
                }
            }
        }
    }
}

/// The descent skips nodes it has scored; it must land where the plain greedy descent
/// (every neighbour scored at every step) lands, from the top layer down to each layer.
#[test]
fn the_descent_that_skips_scored_nodes_lands_where_the_plain_descent_does() {
    let data = clustered(3000, 16, 12, 5);
    for mode in [StorageMode::Full, StorageMode::Rabitq] {
        let index = if mode == StorageMode::Full {
            build(&data, DistanceMetric::Euclidean).0
        } else {
            let config = crate::QuantConfig::new(mode);
            crate::quant::search_tests::quantized_with(&data, DistanceMetric::Euclidean, config).0
        };
        assert_eq!(index.active_storage(), mode);
        let g = index.graph.read();
        let entry = g.entry.unwrap();
        assert!(entry.1 >= 2, "the test needs upper layers");
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut links = Vec::new();
        for _ in 0..50 {
            let query: Vec<f32> = (0..16).map(|_| rng.random_range(-3.0..3.0)).collect();
            let q = g.probe(&index.space, &query);
            for down_to in 0..entry.1 {
                let mut visited = index.visited.take(g.len());
                let got = search::descend(&g, &q, entry, down_to, &mut visited, &mut links);
                index.visited.give_back(visited);
                // The plain descent.
                let (mut cur, mut cur_dist) = (entry.0, g.distance(&q, entry.0));
                for level in (down_to + 1..=entry.1).rev() {
                    let mut changed = true;
                    while changed {
                        changed = false;
                        g.links_into(cur, level, &mut links);
                        for &n in &links {
                            let d = g.distance(&q, n);
                            if d < cur_dist {
                                (cur, cur_dist) = (n, d);
                                changed = true;
                            }
                        }
                    }
                }
                assert_eq!(
                    (got.id, got.dist.to_bits()),
                    (cur, cur_dist.to_bits()),
                    "{mode:?}"
                );
            }
        }
    }
}
