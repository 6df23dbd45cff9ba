//! Quantized checkpoints: every mode (and both RaBitQ widths) round-trips with identical
//! answers, needs its source, codes later inserts with the recovered codebook and refuses
//! damage; the fuzz target's seeds are written from here on request.

use std::sync::Arc;

use nearstore_storage::{FaultyBackend, SharedBackend};
use nearstore_testkit::random_vectors;

use super::search_tests::quantized_with;
use super::*;
use crate::{DistanceMetric, HnswIndex, SearchQuality, VectorIndex};

/// A small checkpoint of `config` (40 points, 8-d) in the layout of
/// fuzz/fuzz_targets/hnsw_checkpoint.rs (each section led by its u16 length), written to
/// `dir` as a seed of that target.
fn write_fuzz_seed(dir: &std::path::Path, config: QuantConfig) {
    let config = QuantConfig {
        train_at: 1,
        ..config
    };
    let (index, _, _) =
        quantized_with(&random_vectors(40, 8, 3), DistanceMetric::Euclidean, config);
    let backend = FaultyBackend::new();
    let path = std::path::Path::new("/seed.ckpt");
    index.save(&backend, path, 1).unwrap();
    let sections = nearstore_storage::sections::read_sections(&backend, path, b"NSHNSW01").unwrap();
    let mut seed = Vec::new();
    for sec in &sections {
        assert!(sec.len() <= usize::from(u16::MAX));
        seed.extend_from_slice(&(sec.len() as u16).to_le_bytes());
        seed.extend_from_slice(sec);
    }
    let name = format!(
        "seed-{}-{}bit",
        config.mode.name(),
        config.rabitq_bits_for(8)
    );
    std::fs::write(dir.join(name), seed).unwrap();
}

#[test]
fn a_quantized_checkpoint_round_trips_and_needs_its_source() {
    let one_bit = QuantConfig {
        rabitq_bits: 1,
        ..QuantConfig::new(StorageMode::Rabitq)
    };
    let whole_range = QuantConfig {
        sq8_quantile: 1.0,
        ..QuantConfig::new(StorageMode::Sq8)
    };
    let quantile_and_width = QuantConfig {
        sq8_quantile: 0.99,
        rabitq_bits: 1,
        ..QuantConfig::new(StorageMode::Sq8)
    };
    for config in [
        QuantConfig::new(StorageMode::Sq8),
        // A quantile other than the default is persisted (with and without a width).
        whole_range,
        quantile_and_width,
        QuantConfig::new(StorageMode::Binary),
        // 40-d: extended codes by default, and 1-bit ones by the setting.
        QuantConfig::new(StorageMode::Rabitq),
        one_bit,
        QuantConfig::new(StorageMode::Pq),
    ] {
        let mode = config.mode;
        if let Some(dir) = std::env::var_os("NEARSTORE_WRITE_FUZZ_SEEDS")
            && mode == StorageMode::Rabitq
        {
            write_fuzz_seed(std::path::Path::new(&dir), config);
        }
        let data = random_vectors(2000, 40, 10);
        let (index, _, source) = quantized_with(&data, DistanceMetric::Euclidean, config);
        index.delete_ids(&[3, 4]);
        let backend = FaultyBackend::new();
        let shared: SharedBackend = Arc::new(backend.clone());
        let path = std::path::Path::new("/idx/q.ckpt");
        index.save(shared.as_ref(), path, 7).unwrap();
        assert!(
            HnswIndex::load(shared.as_ref(), path).is_err(),
            "a quantized index needs its source"
        );
        let src: Arc<dyn VectorSource> = source.clone();
        let (loaded, lsn) = HnswIndex::load_with_source(shared.as_ref(), path, Some(src)).unwrap();
        assert_eq!(lsn, 7);
        assert_eq!(loaded.active_storage(), mode);
        assert_eq!(loaded.quant_config(), index.quant_config());
        for q in random_vectors(20, 40, 11) {
            let a = index.search(&q, 10, SearchQuality::Balanced, None).unwrap();
            let b = loaded
                .search(&q, 10, SearchQuality::Balanced, None)
                .unwrap();
            assert_eq!(a, b);
        }
        // Later inserts are coded with the recovered codebook.
        let v = vec![0.25f32; 40];
        source.put(9999, &v);
        loaded.upsert(9999, &v).unwrap();
        assert_eq!(
            loaded.search(&v, 1, SearchQuality::Balanced, None).unwrap()[0].id,
            9999
        );
        let mut bytes = backend.read_file(path).unwrap();
        let at = bytes.len() - 20;
        bytes[at] ^= 0x10;
        backend.replace_file(path, &bytes);
        let src: Arc<dyn VectorSource> = source.clone();
        assert!(HnswIndex::load_with_source(shared.as_ref(), path, Some(src)).is_err());
    }
}

#[test]
fn a_quantized_checkpoint_holding_vectors_of_huge_magnitude_loads() {
    // Finite input whose squares overflow f32 (validation checks finiteness only). RaBitQ's
    // factors saturate to the largest finite values instead of overflowing to infinity,
    // which the loader would refuse as damage, leaving an index that saved but never loads.
    let rabitq = |bits| QuantConfig {
        rabitq_bits: bits,
        ..QuantConfig::new(StorageMode::Rabitq)
    };
    let configs = [
        QuantConfig::new(StorageMode::Sq8),
        QuantConfig::new(StorageMode::Binary),
        QuantConfig::new(StorageMode::Pq),
        rabitq(1),
        rabitq(RABITQ_EX_BITS),
    ];
    for metric in [DistanceMetric::Euclidean, DistanceMetric::DotProduct] {
        for config in configs {
            let config = QuantConfig {
                train_at: 1,
                ..config
            };
            let what = format!("{metric:?} {:?} {}-bit", config.mode, config.rabitq_bits);
            let data = random_vectors(600, 16, 21);
            let (index, _, source) = quantized_with(&data, metric, config);
            assert_eq!(index.active_storage(), config.mode, "{what}: trained");
            for (id, x) in [
                (7000u64, 1e19f32),
                (7001, 3e38),
                (7002, -3e38),
                (7003, 1e30),
            ] {
                let mut v = vec![x; 16];
                v[1] = -x;
                source.put(id, &v);
                index.upsert(id, &v).unwrap();
            }
            let backend = FaultyBackend::new();
            let path = std::path::Path::new("/idx/huge.ckpt");
            index.save(&backend, path, 3).unwrap();
            let src: Arc<dyn VectorSource> = source.clone();
            let (loaded, _) = HnswIndex::load_with_source(&backend, path, Some(src))
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            for q in random_vectors(10, 16, 22) {
                let a = index.search(&q, 5, SearchQuality::Balanced, None).unwrap();
                let b = loaded.search(&q, 5, SearchQuality::Balanced, None).unwrap();
                assert_eq!(a, b, "{what}");
            }
        }
    }
}
