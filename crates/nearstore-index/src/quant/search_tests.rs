//! Quantized HNSW search: recall of each mode against the exact answer, exact scores after
//! rescoring, training threshold, persistence, filters and deletes on codes.

use std::sync::Arc;

use nearstore_storage::{FaultyBackend, SharedBackend};
use nearstore_testkit::{random_vectors, recall_at_k};
use proptest::prelude::*;

use super::*;
use crate::{
    AllowList, DistanceMetric, FlatIndex, HnswIndex, HnswParams, IdSetAllowList, QueryOptions,
    SearchHit, SearchQuality, VectorIndex,
};

fn quantized(
    data: &[Vec<f32>],
    metric: DistanceMetric,
    mode: StorageMode,
) -> (HnswIndex, FlatIndex, Arc<MemorySource>) {
    quantized_with(data, metric, QuantConfig::new(mode))
}

pub(crate) fn quantized_with(
    data: &[Vec<f32>],
    metric: DistanceMetric,
    config: QuantConfig,
) -> (HnswIndex, FlatIndex, Arc<MemorySource>) {
    let dim = data[0].len();
    let source = MemorySource::new();
    let index =
        HnswIndex::new_quantized(dim, metric, HnswParams::default(), config, source.clone())
            .unwrap();
    let flat = FlatIndex::new(dim, metric);
    let items: Vec<(u64, &[f32])> = data
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u64, v.as_slice()))
        .collect();
    for (id, v) in &items {
        source.put(*id, v);
        flat.upsert(*id, v).unwrap();
    }
    index.insert_batch(&items).unwrap();
    (index, flat, source)
}

fn mean_recall(
    index: &HnswIndex,
    flat: &FlatIndex,
    queries: &[Vec<f32>],
    quality: SearchQuality,
    allow: Option<&dyn AllowList>,
    opts: SearchOptions,
) -> f64 {
    let total: f64 = queries
        .iter()
        .map(|q| {
            let got = ids(&index.search_with(q, 10, quality, allow, opts).unwrap());
            let want = ids(&flat.search(q, 10, SearchQuality::Perfect, allow).unwrap());
            recall_at_k(&got, &want, 10)
        })
        .sum();
    total / queries.len() as f64
}

fn ids(hits: &[SearchHit]) -> Vec<u64> {
    hits.iter().map(|h| h.id).collect()
}

/// Every returned score is the exact score of that id.
fn assert_exact_scores(flat: &FlatIndex, q: &[f32], hits: &[SearchHit]) {
    let all = flat
        .search(q, flat.len(), SearchQuality::Perfect, None)
        .unwrap();
    for h in hits {
        let exact = all.iter().find(|e| e.id == h.id).unwrap().score;
        assert!(
            (exact - h.score).abs() <= 1e-5 * exact.abs().max(1.0),
            "{h:?} vs {exact}"
        );
    }
}

#[test]
fn sq8_recall_is_high_and_scores_are_exact() {
    for metric in [
        DistanceMetric::Cosine,
        DistanceMetric::Euclidean,
        DistanceMetric::DotProduct,
    ] {
        let data = random_vectors(3000, 48, 1);
        let (index, flat, _) = quantized(&data, metric, StorageMode::Sq8);
        assert_eq!(
            index.active_storage(),
            StorageMode::Sq8,
            "trained on the bulk insert"
        );
        let queries = random_vectors(50, 48, 2);
        let r = mean_recall(
            &index,
            &flat,
            &queries,
            SearchQuality::Ef(64),
            None,
            SearchOptions::default(),
        );
        assert!(r >= 0.95, "{metric}: sq8 recall@10 {r}");
        for q in &queries[..10] {
            let hits = index.search(q, 10, SearchQuality::Balanced, None).unwrap();
            assert_eq!(hits.len(), 10);
            assert_exact_scores(&flat, q, &hits);
        }
        // Without rescoring the order comes from the codes alone: still a usable ranking.
        let raw = SearchOptions {
            rerank: Some(false),
            oversampling: None,
        };
        let r = mean_recall(&index, &flat, &queries, SearchQuality::Ef(64), None, raw);
        assert!(r >= 0.75, "{metric}: sq8 without rescoring {r}");
    }
}

/// A source with only the per-id methods (the trait's default batch methods).
#[derive(Debug)]
struct PerIdSource(Arc<MemorySource>);

impl VectorSource for PerIdSource {
    fn with_vector(&self, id: u64, f: &mut dyn FnMut(&[f32])) -> bool {
        self.0.with_vector(id, f)
    }
}

#[test]
fn batched_source_reads_rescore_exactly_like_per_id_reads() {
    let data = random_vectors(2000, 32, 11);
    let queries = random_vectors(20, 32, 12);
    for mode in [StorageMode::Sq8, StorageMode::Rabitq, StorageMode::Pq] {
        let (index, flat, source) = quantized(&data, DistanceMetric::Euclidean, mode);
        let path = std::env::temp_dir().join(format!(
            "nearstore-batched-source-{}-{}",
            std::process::id(),
            mode.name()
        ));
        index.save(&nearstore_storage::FsBackend, &path, 0).unwrap();
        let per_id: Arc<dyn VectorSource> = Arc::new(PerIdSource(source.clone()));
        let (other, _) =
            HnswIndex::load_with_source(&nearstore_storage::FsBackend, &path, Some(per_id))
                .unwrap();
        std::fs::remove_file(&path).unwrap();
        // 10 x 7 = 70 candidates: several batches of 16, the last one partial.
        let opts = SearchOptions {
            rerank: None,
            oversampling: Some(7.0),
        };
        for q in &queries {
            let a = index
                .search_with(q, 10, SearchQuality::Ef(32), None, opts)
                .unwrap();
            let b = other
                .search_with(q, 10, SearchQuality::Ef(32), None, opts)
                .unwrap();
            assert_eq!(a, b, "{mode:?}");
            assert_eq!(a.len(), 10);
            assert_exact_scores(&flat, q, &a);
        }
    }
}

#[test]
fn rabitq_recall_with_bounded_rescoring_is_high_and_scores_are_exact() {
    for metric in [
        DistanceMetric::Cosine,
        DistanceMetric::Euclidean,
        DistanceMetric::DotProduct,
    ] {
        // 96-d: extended (4-bit) codes by default, and 1-bit codes by the setting.
        for bits in [0, 1] {
            let data = random_vectors(3000, 96, 21);
            let config = QuantConfig {
                rabitq_bits: bits,
                ..QuantConfig::new(StorageMode::Rabitq)
            };
            let (index, flat, _) = quantized_with(&data, metric, config);
            assert_eq!(index.active_storage(), StorageMode::Rabitq);
            let queries = random_vectors(50, 96, 22);
            // Uniform random vectors are the hardest case for one bit per dimension (0.87 at
            // oversampling 10, 0.99 at 30, measured); real embeddings need less (the default 3
            // reaches 0.95 on wordnet-dev).
            let wide = SearchOptions {
                rerank: None,
                oversampling: Some(30.0),
            };
            let r = mean_recall(&index, &flat, &queries, SearchQuality::Ef(128), None, wide);
            assert!(r >= 0.95, "{metric}: rabitq recall@10 {r}");
            for q in &queries[..10] {
                let hits = index.search(q, 10, SearchQuality::Balanced, None).unwrap();
                assert_eq!(hits.len(), 10);
                assert_exact_scores(&flat, q, &hits);
            }
            // The estimates alone (no rescoring) still rank far better than chance (0.003).
            let raw = SearchOptions {
                rerank: Some(false),
                oversampling: None,
            };
            let r = mean_recall(&index, &flat, &queries, SearchQuality::Ef(128), None, raw);
            assert!(r >= 0.3, "{metric} bits {bits}: rabitq estimates alone {r}");
            if bits == 0 {
                // Extended codes rank far better: the default oversampling already reaches 0.9.
                let r = mean_recall(
                    &index,
                    &flat,
                    &queries,
                    SearchQuality::Ef(128),
                    None,
                    SearchOptions::default(),
                );
                assert!(
                    r >= 0.9,
                    "{metric}: 4-bit rabitq recall@10 {r} at the default"
                );
            }
        }
    }
}

#[test]
fn pq_recall_with_rescoring_is_high_and_scores_are_exact() {
    for metric in [
        DistanceMetric::Cosine,
        DistanceMetric::Euclidean,
        DistanceMetric::DotProduct,
    ] {
        let data = random_vectors(3000, 48, 31);
        let (index, flat, _) = quantized(&data, metric, StorageMode::Pq);
        assert_eq!(index.active_storage(), StorageMode::Pq);
        let queries = random_vectors(50, 48, 32);
        let r = mean_recall(
            &index,
            &flat,
            &queries,
            SearchQuality::Ef(64),
            None,
            SearchOptions::default(),
        );
        // Measured 0.956-0.958 over the three metrics (default oversampling 4).
        assert!(r >= 0.92, "{metric}: pq recall@10 {r}");
        for q in &queries[..10] {
            let hits = index.search(q, 10, SearchQuality::Balanced, None).unwrap();
            assert_eq!(hits.len(), 10);
            assert_exact_scores(&flat, q, &hits);
        }
        // The table walk alone ranks far better than chance (0.003): measured 0.66-0.71.
        let raw = SearchOptions {
            rerank: Some(false),
            oversampling: None,
        };
        let r = mean_recall(&index, &flat, &queries, SearchQuality::Ef(64), None, raw);
        assert!(r >= 0.55, "{metric}: pq without rescoring {r}");
    }
}

/// `n` points around 40 centres in `dim` dimensions (centres spread 4, points 0.5): the
/// clustered case where RaBitQ codes relative to one global centroid rank poorly.
fn clustered(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let centres = random_vectors(40, dim, 500);
    random_vectors(n, dim, seed)
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let c = &centres[(i * 7 + seed as usize) % 40];
            c.iter().zip(&e).map(|(c, e)| c * 4.0 + e * 0.5).collect()
        })
        .collect()
}

#[test]
fn rabitq_on_clustered_data_codes_against_local_centroids_and_keeps_them() {
    let data = clustered(4000, 64, 31);
    let (index, flat, source) = quantized(&data, DistanceMetric::Euclidean, StorageMode::Rabitq);
    assert!(
        index.rabitq_list_count() >= 2,
        "clustered data is coded against local centroids"
    );
    let queries = clustered(60, 64, 32);
    let wide = SearchOptions {
        rerank: None,
        oversampling: Some(6.0),
    };
    let r = mean_recall(&index, &flat, &queries, SearchQuality::Ef(64), None, wide);
    assert!(
        r >= 0.95,
        "rabitq with lists, oversampling 6: recall@10 {r}"
    );
    let loaded = reloaded(&index, &source);
    for q in &queries[..20] {
        let a = index.search(q, 10, SearchQuality::Balanced, None).unwrap();
        let b = loaded.search(q, 10, SearchQuality::Balanced, None).unwrap();
        assert_eq!(a, b);
        assert_exact_scores(&flat, q, &b);
    }
}

/// `index` saved to a checkpoint and loaded back with `source` for its vectors.
fn reloaded(index: &HnswIndex, source: &Arc<MemorySource>) -> HnswIndex {
    let backend = FaultyBackend::new();
    let shared: SharedBackend = Arc::new(backend);
    let path = std::path::Path::new("/idx/reloaded.ckpt");
    index.save(shared.as_ref(), path, 1).unwrap();
    let src: Arc<dyn VectorSource> = source.clone();
    HnswIndex::load_with_source(shared.as_ref(), path, Some(src))
        .unwrap()
        .0
}

/// The cluster of point `i` of `clustered(_, _, seed)`.
fn cluster_of(i: usize, seed: u64) -> usize {
    (i * 7 + seed as usize) % 40
}

#[test]
fn rabitq_searches_start_inside_the_query_s_list_through_deletes_and_slot_reuse() {
    let data = clustered(4000, 64, 41);
    let (index, flat, source) = quantized(&data, DistanceMetric::Euclidean, StorageMode::Rabitq);
    assert!(index.rabitq_list_count() >= 2);
    let queries = clustered(40, 64, 42);
    let wide = SearchOptions {
        rerank: None,
        oversampling: Some(6.0),
    };
    // Where the CPU scans too slowly (scalar and NEON tables), searches descend instead.
    let scans = crate::hnsw::scan_pays();
    let starts_in_its_cluster = |index: &HnswIndex, what: &str| {
        for (i, q) in queries.iter().enumerate() {
            let Some(id) = index.list_entry_id(q) else {
                assert!(!scans, "{what}: query {i}: a search on lists starts in one");
                continue;
            };
            assert!(scans, "no list entries where the scan does not pay");
            assert_eq!(
                cluster_of(id as usize % 10_000, if id < 10_000 { 41 } else { 43 }),
                cluster_of(i, 42),
                "{what}: query {i} starts from point {id}, outside its cluster"
            );
        }
    };
    starts_in_its_cluster(&index, "built");
    // Delete the points searches start from, three times over: each list whose entry is
    // deleted gets its best live member instead, so searches still start inside the query's
    // cluster, never from a deleted point, and still find k points.
    let mut dead = Vec::new();
    for round in 0..3 {
        for q in &queries {
            // Without list entries, points spread over the clusters instead.
            let id = index.list_entry_id(q).unwrap_or(dead.len() as u64 * 31);
            assert!(
                !dead.contains(&id),
                "a deleted point ({id}) is never a start"
            );
            dead.push(id);
            index.delete_ids(&[id]);
            flat.delete(id).unwrap();
            source.remove(id);
        }
        assert!(index.list_entries_match_a_rebuild(), "round {round}");
        starts_in_its_cluster(&index, "after deletes");
    }
    let check = |index: &HnswIndex, flat: &FlatIndex, what: &str| {
        for q in &queries {
            let hits = index
                .search_with(q, 10, SearchQuality::Balanced, None, wide)
                .unwrap();
            assert_eq!(hits.len(), 10, "{what}: k results");
            assert!(hits.iter().all(|h| !dead.contains(&h.id)), "{what}");
            assert_exact_scores(flat, q, &hits);
        }
        let r = mean_recall(index, flat, &queries, SearchQuality::Ef(64), None, wide);
        assert!(r >= 0.95, "{what}: recall@10 {r}");
    };
    check(&index, &flat, "after deleting entries");
    // Freed slots reused by new points (rows overwritten in place): the entries stay what a
    // rebuild from the live blocks gives, and a reload starts and answers the same.
    assert_eq!(index.vacuum(), dead.len());
    let fresh = clustered(dead.len(), 64, 43);
    let items: Vec<(u64, &[f32])> = fresh
        .iter()
        .enumerate()
        .map(|(i, v)| (10_000 + i as u64, v.as_slice()))
        .collect();
    for (id, v) in &items {
        source.put(*id, v);
        flat.upsert(*id, v).unwrap();
    }
    index.insert_batch(&items).unwrap();
    assert!(index.list_entries_match_a_rebuild());
    starts_in_its_cluster(&index, "after reusing the slots");
    check(&index, &flat, "after reusing the slots");
    let loaded = reloaded(&index, &source);
    for q in &queries {
        assert_eq!(loaded.list_entry_id(q), index.list_entry_id(q));
        let a = index
            .search_with(q, 10, SearchQuality::Balanced, None, wide)
            .unwrap();
        let b = loaded
            .search_with(q, 10, SearchQuality::Balanced, None, wide)
            .unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn rabitq_list_entries_serve_cosine_and_dot_product_too() {
    // The entry is found by L2 to the list centres whatever the metric (where the query
    // lies); searches ranked by cosine or inner product start there and keep their recall.
    let data = clustered(4000, 64, 51);
    let queries = clustered(40, 64, 52);
    let wide = SearchOptions {
        rerank: None,
        oversampling: Some(6.0),
    };
    for metric in [DistanceMetric::Cosine, DistanceMetric::DotProduct] {
        let (index, flat, _source) = quantized(&data, metric, StorageMode::Rabitq);
        assert!(index.rabitq_list_count() >= 2, "{metric:?}: lists kept");
        let starts = queries
            .iter()
            .filter(|q| index.list_entry_id(q).is_some())
            .count();
        let want = if crate::hnsw::scan_pays() {
            queries.len()
        } else {
            0
        };
        assert_eq!(starts, want, "{metric:?}: searches starting from a list");
        let r = mean_recall(&index, &flat, &queries, SearchQuality::Ef(64), None, wide);
        assert!(r >= 0.95, "{metric:?}: recall@10 {r}");
    }
}

#[test]
fn binary_recall_with_rescoring_reaches_a_floor() {
    let data = random_vectors(3000, 64, 3);
    let (index, flat, _) = quantized(&data, DistanceMetric::Cosine, StorageMode::Binary);
    assert_eq!(index.active_storage(), StorageMode::Binary);
    let queries = random_vectors(50, 64, 4);
    let opts = SearchOptions {
        rerank: Some(false),
        oversampling: Some(10.0),
    };
    let r = mean_recall(&index, &flat, &queries, SearchQuality::Ef(200), None, opts);
    // One bit per dimension at 64-d is coarse (0.70 measured); a broken code scores ~0.1.
    assert!(r >= 0.6, "binary recall@10 {r} (rescoring is forced on)");
    let hits = index
        .search(&queries[0], 10, SearchQuality::Balanced, None)
        .unwrap();
    assert_exact_scores(&flat, &queries[0], &hits);
}

#[test]
fn a_quantized_index_holds_no_f32_copy_and_is_much_smaller() {
    let data = random_vectors(4000, 128, 5);
    let full = HnswIndex::new(128, DistanceMetric::Cosine, HnswParams::default()).unwrap();
    let items: Vec<(u64, &[f32])> = data
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u64, v.as_slice()))
        .collect();
    full.insert_batch(&items).unwrap();
    let (sq8, _, source) = quantized(&data, DistanceMetric::Cosine, StorageMode::Sq8);
    let (full_b, sq8_b) = (full.memory_bytes(), sq8.memory_bytes());
    assert!(sq8_b * 10 < full_b * 5, "sq8 {sq8_b} vs full {full_b}");
    assert!(
        full_b - sq8_b >= source.memory_bytes() / 2,
        "the f32 rows are gone"
    );
}

#[test]
fn until_trained_it_searches_in_f32_and_later_points_get_codes() {
    let data = random_vectors(1500, 24, 6);
    let source = MemorySource::new();
    let config = QuantConfig {
        train_at: 1000,
        ..QuantConfig::new(StorageMode::Sq8)
    };
    let index = HnswIndex::new_quantized(
        24,
        DistanceMetric::Euclidean,
        HnswParams::default(),
        config,
        source.clone(),
    )
    .unwrap();
    let flat = FlatIndex::new(24, DistanceMetric::Euclidean);
    for (i, v) in data.iter().enumerate() {
        source.put(i as u64, v);
        flat.upsert(i as u64, v).unwrap();
        if i < 999 {
            index.upsert(i as u64, v).unwrap();
            assert_eq!(index.active_storage(), StorageMode::Full);
        } else {
            index.upsert(i as u64, v).unwrap();
            assert_eq!(
                index.active_storage(),
                StorageMode::Sq8,
                "trained at point {i}"
            );
        }
    }
    // Points written after training are found: each is its own nearest neighbour.
    for i in (1000..1500).step_by(50) {
        let hits = index
            .search(&data[i], 1, SearchQuality::Balanced, None)
            .unwrap();
        assert_eq!(hits[0].id, i as u64);
        assert_eq!(hits[0].score, 0.0);
    }
    let queries = random_vectors(30, 24, 7);
    let r = mean_recall(
        &index,
        &flat,
        &queries,
        SearchQuality::Balanced,
        None,
        SearchOptions::default(),
    );
    assert!(r >= 0.95, "{r}");
    // Training on demand (a retraining, from the source) keeps the answers.
    assert!(index.train_quantizer().unwrap());
    let r2 = mean_recall(
        &index,
        &flat,
        &queries,
        SearchQuality::Balanced,
        None,
        SearchOptions::default(),
    );
    assert!(r2 >= 0.95, "{r2}");
}

#[test]
fn filters_deletes_and_the_exact_plan_work_on_codes() {
    let data = random_vectors(3000, 32, 8);
    let (index, flat, source) = quantized(&data, DistanceMetric::Cosine, StorageMode::Sq8);
    let dead: Vec<u64> = (0..3000).filter(|i| i % 7 == 0).collect();
    index.delete_ids(&dead);
    for id in &dead {
        flat.delete(*id).unwrap();
        source.remove(*id);
    }
    let queries = random_vectors(30, 32, 9);
    for allowed in [50usize, 600, 2500] {
        let allow = IdSetAllowList::new((0..allowed as u64 * 3 / 2).filter(|i| i % 3 != 0));
        let opts = SearchOptions::default();
        for q in &queries {
            let hits = index
                .search_with(q, 10, SearchQuality::Balanced, Some(&allow), opts)
                .unwrap();
            assert_eq!(hits.len(), 10, "k results whenever k points are allowed");
            assert!(hits.iter().all(|h| allow.allows(h.id) && h.id % 7 != 0));
            assert_exact_scores(&flat, q, &hits);
        }
        let r = mean_recall(
            &index,
            &flat,
            &queries,
            SearchQuality::Balanced,
            Some(&allow),
            opts,
        );
        assert!(r >= 0.9, "allowed {allowed}: recall {r}");
    }
    // The exact plan reads the source: identical to the exact index.
    for q in &queries[..5] {
        let got = index.search(q, 10, SearchQuality::Perfect, None).unwrap();
        let want = flat.search(q, 10, SearchQuality::Perfect, None).unwrap();
        assert_eq!(ids(&got), ids(&want));
        assert_exact_scores(&flat, q, &got);
    }
    assert_eq!(index.vacuum(), dead.len());
    let r = mean_recall(
        &index,
        &flat,
        &queries,
        SearchQuality::Balanced,
        None,
        SearchOptions::default(),
    );
    assert!(r >= 0.95, "after vacuum {r}");
}

#[test]
fn manhattan_refuses_every_quantized_mode_and_serves_full() {
    for mode in StorageMode::ALL {
        let r = HnswIndex::new_quantized(
            8,
            DistanceMetric::Manhattan,
            HnswParams::default(),
            QuantConfig::new(mode),
            MemorySource::new(),
        );
        if mode == StorageMode::Full {
            assert!(r.is_ok(), "full storage serves manhattan");
        } else {
            let err = r.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                err.contains(mode.name()) && err.contains("manhattan"),
                "{mode:?}: {err}"
            );
        }
    }
}

#[test]
fn set_metrics_cannot_be_quantized() {
    let r = HnswIndex::new_quantized(
        8,
        DistanceMetric::Hamming,
        HnswParams::default(),
        QuantConfig::new(StorageMode::Sq8),
        MemorySource::new(),
    );
    assert!(r.is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Against the brute-force oracle: the exact plan equals it, and every graph result
    /// carries its exact score, is live and allowed, and there are `min(k, allowed)` of them.
    #[test]
    fn quantized_search_agrees_with_the_oracle(
        n in 1usize..400,
        seed in any::<u64>(),
        k in 1usize..20,
        mode in 1usize..StorageMode::ALL.len(),
        deletes in 0usize..50,
    ) {
        let mode = StorageMode::ALL[mode];
        let data = random_vectors(n, 12, seed);
        let source = MemorySource::new();
        let config = QuantConfig { train_at: 1, ..QuantConfig::new(mode) };
        let index = HnswIndex::new_quantized(12, DistanceMetric::Euclidean, HnswParams::default(), config, source.clone()).unwrap();
        let flat = FlatIndex::new(12, DistanceMetric::Euclidean);
        for (i, v) in data.iter().enumerate() {
            source.put(i as u64, v);
            flat.upsert(i as u64, v).unwrap();
            index.upsert(i as u64, v).unwrap();
        }
        let dead: Vec<u64> = (0..n as u64).step_by(n / deletes.max(1) + 1).take(deletes).collect();
        index.delete_ids(&dead);
        for d in &dead {
            flat.delete(*d).unwrap();
        }
        let allow = IdSetAllowList::new((0..n as u64).filter(|i| i % 2 == 0));
        let q = &random_vectors(1, 12, seed ^ 1)[0];
        let exact = index.search(q, k, SearchQuality::Perfect, Some(&allow)).unwrap();
        let want = flat.search(q, k, SearchQuality::Perfect, Some(&allow)).unwrap();
        prop_assert_eq!(ids(&exact), ids(&want));
        let hits = index.search(q, k, SearchQuality::Balanced, Some(&allow)).unwrap();
        prop_assert_eq!(hits.len(), want.len());
        prop_assert!(hits.iter().all(|h| h.id % 2 == 0 && !dead.contains(&h.id)));
        assert_exact_scores(&flat, q, &hits);
    }
}

#[test]
fn the_one_query_entry_point_honours_its_stop_hook_and_rescoring() {
    let data = random_vectors(1500, 24, 31);
    let (index, flat, _) = quantized(&data, DistanceMetric::Euclidean, StorageMode::Sq8);
    let q = &random_vectors(1, 24, 32)[0];
    let stop = || true;
    let stopped = QueryOptions {
        stop: Some(&stop),
        ..QueryOptions::default()
    };
    assert_eq!(index.query(q, 10, &stopped).unwrap(), None, "gave up");
    let go_on = || false;
    let odd = IdSetAllowList::new((0..1500).filter(|i| i % 2 == 1));
    let opts = QueryOptions {
        quality: SearchQuality::Ef(64),
        allow: Some(&odd),
        rescore: SearchOptions {
            rerank: Some(true),
            oversampling: Some(3.0),
        },
        stop: Some(&go_on),
    };
    let hits = index.query(q, 10, &opts).unwrap().unwrap();
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| h.id % 2 == 1));
    assert_exact_scores(&flat, q, &hits);
    // The shorthands answer as the entry point does.
    let with = index
        .search_with(q, 10, SearchQuality::Ef(64), Some(&odd), opts.rescore)
        .unwrap();
    assert_eq!(with, hits);
    let until = index
        .search_until(q, 10, SearchQuality::Ef(64), Some(&odd), &go_on)
        .unwrap();
    assert_eq!(until.map(|h| ids(&h)), Some(ids(&hits)));
    let bad = QueryOptions {
        rescore: SearchOptions {
            rerank: None,
            oversampling: Some(0.5),
        },
        ..QueryOptions::default()
    };
    assert!(index.query(q, 10, &bad).is_err());
}
