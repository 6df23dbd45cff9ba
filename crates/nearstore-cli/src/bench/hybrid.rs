//! `nearstore bench text --hybrid`: hybrid (dense + BM25) quality and latency through the
//! engine. Loads the corpus with its real vectors and the text field indexed, then runs each
//! keyword query as dense only, BM25 only, and dense + BM25 fused by RRF, relative score and
//! DBSF, every one as one [`SearchRequest`] (the fusion happens in the engine, never here).
//! Quality is recall@10 against the dense neighbours of the full passage each keyword query
//! was cut from; latency is measured interleaved (each query runs every variant in turn, in a
//! rotating order), so the hybrid and dense figures share the same machine state.
//!
//! Must not depend on anything but the engine's public API and the benchmark's readers.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, ensure};
use nearstore::storage::vecfile::{read_fvecs, read_ivecs, recall_at_k};
use nearstore::{
    CollectionConfig, Database, DistanceMetric, FusionStrategy, SearchRequest, TextIndexConfig,
};
use serde_json::{Value, json};

use super::percentile;

/// One retrieval variant of the benchmark: its name and the request it sends for a query.
struct Variant {
    name: &'static str,
    request: fn(&[f32], &str) -> SearchRequest,
}

/// The variants in report order: the two single legs, then the fused ones.
const VARIANTS: [Variant; 5] = [
    Variant {
        name: "dense",
        request: |v, _| SearchRequest::new(v),
    },
    Variant {
        name: "bm25",
        request: |_, t| SearchRequest::text(t),
    },
    Variant {
        name: "rrf",
        request: |v, t| {
            SearchRequest::new(v)
                .text_query(t)
                .fusion(FusionStrategy::rrf())
        },
    },
    Variant {
        name: "relative_score",
        request: |v, t| {
            SearchRequest::new(v)
                .text_query(t)
                .fusion(FusionStrategy::RelativeScore {
                    weights: Vec::new(),
                })
        },
    },
    Variant {
        name: "dbsf",
        request: |v, t| {
            SearchRequest::new(v)
                .text_query(t)
                .fusion(FusionStrategy::Dbsf)
        },
    },
];

/// Where the hybrid benchmark's inputs are (defaults: beside the corpus and the queries).
#[derive(Debug, Clone)]
pub struct HybridInputs {
    /// The corpus vectors (row i = the corpus's i-th line).
    pub vectors: PathBuf,
    /// The keyword queries' embeddings (row i = the i-th query line).
    pub query_vectors: PathBuf,
    /// Exact dense neighbours of the passage each query stands for (row = its `query_id`).
    pub dense_gt: PathBuf,
    /// Distance metric of the vectors.
    pub metric: DistanceMetric,
}

impl HybridInputs {
    /// The defaults for a corpus and a query file: `base.fvecs` beside the corpus,
    /// `<queries stem>.fvecs` beside the queries, `groundtruth.ivecs` beside the corpus.
    pub fn beside(corpus: &Path, queries: &Path) -> Self {
        HybridInputs {
            vectors: corpus.with_file_name("base.fvecs"),
            query_vectors: queries.with_extension("fvecs"),
            dense_gt: corpus.with_file_name("groundtruth.ivecs"),
            metric: DistanceMetric::Cosine,
        }
    }
}

/// A keyword query: its text, the row of the dense ground truth it answers to.
pub struct KeywordQuery {
    /// The query text.
    pub text: String,
    /// The ground-truth row (`query_id` of its line, else its line number).
    pub truth_row: usize,
}

/// Runs the hybrid benchmark on a fresh collection `bench_hybrid` of `db` and returns its
/// report: per variant recall@10, p50 and p99 latency (µs), plus the hybrid overhead at p50.
pub fn run_hybrid(
    db: &Database,
    corpus: &[(u64, Value)],
    field: &str,
    queries: &[KeywordQuery],
    inputs: &HybridInputs,
    batch: usize,
    passes: usize,
) -> anyhow::Result<Value> {
    let base = read_fvecs(&inputs.vectors).with_context(|| {
        format!(
            "--hybrid needs the corpus vectors {}",
            inputs.vectors.display()
        )
    })?;
    let qv = read_fvecs(&inputs.query_vectors).with_context(|| {
        format!(
            "--hybrid needs the query vectors {}",
            inputs.query_vectors.display()
        )
    })?;
    let gt = read_ivecs(&inputs.dense_gt).with_context(|| {
        format!(
            "--hybrid needs the dense ground truth {}",
            inputs.dense_gt.display()
        )
    })?;
    ensure!(
        base.len() >= corpus.len(),
        "{} has {} rows for {} documents",
        inputs.vectors.display(),
        base.len(),
        corpus.len()
    );
    ensure!(
        qv.len() >= queries.len() && qv.dim == base.dim,
        "{} has {} rows of {} dimensions for {} queries of {} dimensions",
        inputs.query_vectors.display(),
        qv.len(),
        qv.dim,
        queries.len(),
        base.dim
    );
    let truth: Vec<Vec<u64>> = queries
        .iter()
        .map(|q| {
            ensure!(
                q.truth_row < gt.len(),
                "{} has no row {} (a query's query_id)",
                inputs.dense_gt.display(),
                q.truth_row
            );
            Ok(gt
                .row(q.truth_row)
                .iter()
                .filter(|&&x| x >= 0)
                .map(|&x| x as u64)
                .collect())
        })
        .collect::<anyhow::Result<_>>()?;

    let config = CollectionConfig::new(base.dim, inputs.metric)
        .with_text(Some(TextIndexConfig::named([field])));
    let vector = |i: usize| base.row(i).to_vec();
    let (c, load_seconds) =
        super::text::bulk_load(db, "bench_hybrid", config, corpus, &vector, batch)?;

    let run = |variant: &Variant, qi: usize| -> anyhow::Result<Vec<u64>> {
        let request = (variant.request)(qv.row(qi), &queries[qi].text)
            .limit(10)
            .with_payload(false);
        Ok(c.query(request)?.iter().map(|h| h.point.id).collect())
    };

    // Quality (and a warm-up pass).
    let mut recall = [0.0f64; VARIANTS.len()];
    for (qi, t) in truth.iter().enumerate() {
        for (vi, v) in VARIANTS.iter().enumerate() {
            recall[vi] += recall_at_k(&run(v, qi)?, t, 10);
        }
    }
    // Latency, interleaved: every query runs every variant in turn, starting from a
    // different variant per query (so none always runs right after the same other one).
    let mut latencies: Vec<Vec<f64>> = vec![Vec::new(); VARIANTS.len()];
    for _ in 0..passes.max(1) {
        for qi in 0..queries.len() {
            for step in 0..VARIANTS.len() {
                let vi = (qi + step) % VARIANTS.len();
                let s = Instant::now();
                run(&VARIANTS[vi], qi)?;
                latencies[vi].push(s.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    drop(c);
    let _ = db.drop_collection("bench_hybrid");

    let n = queries.len().max(1) as f64;
    let rows: Vec<Value> = VARIANTS
        .iter()
        .zip(recall)
        .zip(&mut latencies)
        .map(|((v, r), lat)| {
            lat.sort_by(f64::total_cmp);
            json!({"strategy": v.name, "recall_at_10": r / n,
                   "p50_us": percentile(lat, 0.5), "p99_us": percentile(lat, 0.99)})
        })
        .collect();
    let dense_p50 = percentile(&latencies[0], 0.5);
    let rrf_p50 = percentile(&latencies[2], 0.5);
    Ok(json!({
        "points": corpus.len(),
        "dim": base.dim,
        "queries": queries.len(),
        "load_seconds": load_seconds,
        "strategies": rows,
        "hybrid_rrf_minus_dense_p50_us": rrf_p50 - dense_p50,
    }))
}

/// Prints the hybrid report as a table.
pub fn print_hybrid(report: &Value) {
    println!(
        "hybrid            {} points x {}, {} keyword queries (recall@10 vs the full passage's dense top 10)",
        report["points"], report["dim"], report["queries"]
    );
    for row in report["strategies"].as_array().into_iter().flatten() {
        println!(
            "  {:<16} recall@10 {:.3}  p50 {:>7.1} us  p99 {:>7.1} us",
            row["strategy"].as_str().unwrap_or("?"),
            row["recall_at_10"].as_f64().unwrap_or(0.0),
            row["p50_us"].as_f64().unwrap_or(0.0),
            row["p99_us"].as_f64().unwrap_or(0.0)
        );
    }
    println!(
        "  hybrid (RRF) - dense at p50: {:.1} us (target <= 1500 us)",
        report["hybrid_rrf_minus_dense_p50_us"]
            .as_f64()
            .unwrap_or(0.0)
    );
}
