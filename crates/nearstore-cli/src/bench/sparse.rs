//! `nearstore bench sparse`: sparse vectors through the engine, on generated SPLADE-like
//! data. Documents and queries draw their distinct dimensions from a Zipf distribution over
//! a vocabulary (a few dimensions are in most documents, most are rare; rank `r` is mapped
//! to a random dimension id) with positive weights, from one seed. The benchmark bulk-loads
//! the documents through `upsert_bulk` (each point carries its sparse vector under the
//! default name and a tiny placeholder dense vector), checkpoints, and reports: load
//! throughput, the sparse index's bytes on disk (its checkpoint image, which is the store of
//! the vectors) per stored nonzero, single-thread exact top-10 QPS through
//! `VectorCollection::sparse_search`, and exactness of a sample of queries against a
//! brute-force dot product over the generated documents (ids, ties to the smaller id, and
//! the largest relative score error).
//!
//! Must not depend on anything but the engine's public API and the generator below.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, ensure};
use clap::Args;
use nearstore::{CollectionConfig, Database, DistanceMetric, HnswParams, Point, SparseVector};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};
use serde_json::json;

use super::{peak_rss_mib, percentile, remove_temp_data_dir, temp_data_dir};

/// Options of `nearstore bench sparse`.
#[derive(Debug, Args)]
pub struct SparseArgs {
    /// Documents to generate and load.
    #[arg(long, default_value_t = 100_000)]
    docs: usize,
    /// Vocabulary size (dimensions `0..vocab`).
    #[arg(long, default_value_t = 30_000)]
    vocab: u32,
    /// Distinct nonzero dimensions per document.
    #[arg(long, default_value_t = 120)]
    doc_nnz: usize,
    /// Distinct nonzero dimensions per query.
    #[arg(long, default_value_t = 20)]
    query_nnz: usize,
    /// Queries to time.
    #[arg(long, default_value_t = 500)]
    queries: usize,
    /// Queries checked against the brute-force dot product.
    #[arg(long, default_value_t = 50)]
    check: usize,
    /// Zipf exponent of the dimension distribution.
    #[arg(long, default_value_t = 1.0)]
    zipf: f64,
    /// Seed of the generator (the same seed gives the same data).
    #[arg(long, default_value_t = 20_261_205)]
    seed: u64,
    /// Points per `upsert_bulk` call.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Timed passes over the queries (after one warm-up pass).
    #[arg(long, default_value_t = 3)]
    passes: usize,
    /// Database directory (default: a fresh temporary one, removed afterwards).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// The generator of SPLADE-like sparse vectors.
struct Generator {
    rng: ChaCha8Rng,
    zipf: Zipf<f64>,
    /// Dimension id of each Zipf rank.
    dimension_of_rank: Vec<u32>,
}

impl Generator {
    fn new(vocab: u32, exponent: f64, seed: u64) -> anyhow::Result<Self> {
        ensure!(vocab > 0, "--vocab must be positive");
        let zipf = Zipf::new(f64::from(vocab), exponent)
            .map_err(|e| anyhow::anyhow!("--zipf {exponent}: {e}"))?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut dimension_of_rank: Vec<u32> = (0..vocab).collect();
        dimension_of_rank.shuffle(&mut rng);
        Ok(Generator {
            rng,
            zipf,
            dimension_of_rank,
        })
    }

    /// A vector of `nnz` distinct dimensions (fewer only if the vocabulary is smaller) with
    /// weights in [0.05, 3): the shape of a SPLADE document or query.
    fn vector(&mut self, nnz: usize) -> anyhow::Result<SparseVector> {
        let want = nnz.min(self.dimension_of_rank.len());
        let mut dims: Vec<u32> = Vec::with_capacity(want);
        // Rejection of repeats; bounded so that a steep distribution cannot loop forever.
        let mut tries = 0usize;
        while dims.len() < want && tries < want * 1000 {
            tries += 1;
            let rank = self.zipf.sample(&mut self.rng) as usize;
            let d = self.dimension_of_rank[rank.clamp(1, self.dimension_of_rank.len()) - 1];
            if !dims.contains(&d) {
                dims.push(d);
            }
        }
        let values = dims
            .iter()
            .map(|_| self.rng.random_range(0.05f32..3.0))
            .collect();
        Ok(SparseVector::new(dims, values)?)
    }
}

/// Dimension of the placeholder dense vectors (every point needs one until points may omit
/// their dense vector).
const PLACEHOLDER_DIM: usize = 4;

/// The exact top `k` of `query` over `docs` (row i = point id i) by dot product, ties to
/// the smaller id, computed in `f64` over a dense copy of the query.
fn brute_force_top(
    query: &SparseVector,
    docs: &[SparseVector],
    vocab: u32,
    k: usize,
) -> Vec<(u64, f64)> {
    let mut dense = vec![0f64; vocab as usize];
    for (d, w) in query.iter() {
        dense[d as usize] = f64::from(w);
    }
    let mut scored: Vec<(u64, f64)> = docs
        .iter()
        .enumerate()
        .filter_map(|(i, doc)| {
            let mut s = 0f64;
            let mut hit = false;
            for (d, w) in doc.iter() {
                let q = dense[d as usize];
                if q != 0.0 {
                    s += q * f64::from(w);
                    hit = true;
                }
            }
            hit.then_some((i as u64, s))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(k);
    scored
}

/// The dot product of two sparse vectors in `f64`.
fn exact_dot(a: &SparseVector, b: &SparseVector) -> f64 {
    let (mut i, mut j, mut s) = (0, 0, 0f64);
    let (ai, av, bi, bv) = (a.indices(), a.values(), b.indices(), b.values());
    while i < ai.len() && j < bi.len() {
        match ai[i].cmp(&bi[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s += f64::from(av[i]) * f64::from(bv[j]);
                i += 1;
                j += 1;
            }
        }
    }
    s
}

/// Total size of the files named `sparse-*.index` under `dir` (the sparse checkpoints).
fn sparse_image_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        if path.is_dir() {
            total += sparse_image_bytes(&path)?;
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("sparse-") && n.ends_with(".index"))
        {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

/// Runs the benchmark and prints its report.
pub fn run_sparse(args: &SparseArgs) -> anyhow::Result<()> {
    ensure!(
        args.docs > 0 && args.queries > 0,
        "--docs and --queries must be positive"
    );
    let generated = Instant::now();
    let mut generator = Generator::new(args.vocab, args.zipf, args.seed)?;
    let docs: Vec<SparseVector> = (0..args.docs)
        .map(|_| generator.vector(args.doc_nnz))
        .collect::<anyhow::Result<_>>()?;
    let queries: Vec<SparseVector> = (0..args.queries)
        .map(|_| generator.vector(args.query_nnz))
        .collect::<anyhow::Result<_>>()?;
    let generate_seconds = generated.elapsed().as_secs_f64();
    let nonzeros: usize = docs.iter().map(SparseVector::len).sum();

    let (dir, temporary) = match &args.data {
        Some(d) => (d.clone(), false),
        None => (temp_data_dir("sparse")?, true),
    };
    let db = Database::open(&dir)?;
    let _ = db.drop_collection("bench_sparse");
    let config = CollectionConfig {
        hnsw: HnswParams {
            m: 8,
            ef_construction: 32,
            ..HnswParams::default()
        },
        ..CollectionConfig::new(PLACEHOLDER_DIM, DistanceMetric::Euclidean).with_text(None)
    };
    let c = db.create_collection_with_options("bench_sparse", config)?;
    let loading = Instant::now();
    for (chunk_index, chunk) in docs.chunks(args.batch.max(1)).enumerate() {
        let first = chunk_index * args.batch.max(1);
        let points: Vec<Point> = chunk
            .iter()
            .enumerate()
            .map(|(j, v)| {
                let id = (first + j) as u64;
                Point::new(id, placeholder_vector(id), None).with_sparse("", v.clone())
            })
            .collect();
        c.upsert_bulk(&points)?;
    }
    c.flush()?;
    // The placeholder vectors' HNSW linking runs in the background: finished inside the
    // load figure, so it neither flatters the load nor runs during the queries.
    c.wait_indexed()?;
    let load_seconds = loading.elapsed().as_secs_f64();
    let checkpointing = Instant::now();
    c.checkpoint()?;
    let checkpoint_seconds = checkpointing.elapsed().as_secs_f64();
    let image_bytes = sparse_image_bytes(&dir)?;

    // Exactness on a sample (spread over the query set).
    let step = (args.queries / args.check.max(1)).max(1);
    let (mut checked, mut exact, mut max_rel) = (0usize, 0usize, 0f64);
    let mut first_mismatch = None;
    for qi in (0..args.queries).step_by(step).take(args.check) {
        let got: Vec<(u64, f32)> = c
            .sparse_search(&queries[qi], 10, "")?
            .iter()
            .map(|h| (h.point.id, h.score))
            .collect();
        let want = brute_force_top(&queries[qi], &docs, args.vocab, 10);
        checked += 1;
        // Exact up to ties: each position holds the true answer, or a point whose true dot
        // product equals the true answer's there (to 1e-5 relative: f32 summation order).
        let same = got.len() == want.len()
            && got.iter().zip(&want).all(|(g, w)| {
                g.0 == w.0 || {
                    let truth = exact_dot(&queries[qi], &docs[g.0 as usize]);
                    (truth - w.1).abs() <= 1e-5 * w.1.abs().max(1e-12)
                }
            });
        exact += usize::from(same);
        if !same && first_mismatch.is_none() {
            first_mismatch = Some(qi);
        }
        for ((_, g), (_, w)) in got.iter().zip(&want) {
            max_rel = max_rel.max((f64::from(*g) - w).abs() / w.abs().max(1e-12));
        }
    }

    // Single-thread QPS at k = 10 (one warm-up pass, then the timed passes).
    for q in &queries {
        c.sparse_search(q, 10, "")?;
    }
    let mut latencies = Vec::with_capacity(queries.len() * args.passes.max(1));
    let timed = Instant::now();
    for _ in 0..args.passes.max(1) {
        for q in &queries {
            let s = Instant::now();
            c.sparse_search(q, 10, "")?;
            latencies.push(s.elapsed().as_secs_f64() * 1e6);
        }
    }
    let qps = latencies.len() as f64 / timed.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    drop(c);
    let _ = db.drop_collection("bench_sparse");
    drop(db);
    if temporary {
        remove_temp_data_dir(&dir);
    }

    let report = json!({
        "docs": args.docs, "vocab": args.vocab, "doc_nnz": args.doc_nnz,
        "query_nnz": args.query_nnz, "zipf": args.zipf, "seed": args.seed,
        "nonzeros": nonzeros, "queries": args.queries,
        "generate_seconds": generate_seconds,
        "load_seconds": load_seconds,
        "load_docs_per_second": args.docs as f64 / load_seconds,
        "checkpoint_seconds": checkpoint_seconds,
        "sparse_image_bytes": image_bytes,
        "image_bytes_per_nonzero": image_bytes as f64 / nonzeros.max(1) as f64,
        "checked_queries": checked, "exact_top10_queries": exact,
        "first_mismatch": first_mismatch,
        "max_relative_score_error": max_rel,
        "qps_k10_single_thread": qps,
        "p50_us": percentile(&latencies, 0.5),
        "p99_us": percentile(&latencies, 0.99),
        "peak_rss_mib": peak_rss_mib(),
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "data              {} docs x {} nnz, {} queries x {} nnz, vocab {}, zipf {}, seed {}",
            args.docs, args.doc_nnz, args.queries, args.query_nnz, args.vocab, args.zipf, args.seed
        );
        println!(
            "load              {:.0} docs/s ({load_seconds:.2} s, upsert_bulk + flush; checkpoint {checkpoint_seconds:.2} s)",
            args.docs as f64 / load_seconds
        );
        println!(
            "sparse image      {image_bytes} bytes on disk, {:.2} bytes per stored nonzero ({nonzeros} nonzeros)",
            image_bytes as f64 / nonzeros.max(1) as f64
        );
        println!(
            "exact top-10      {exact}/{checked} sampled queries (max rel. score error {max_rel:.1e})"
        );
        println!(
            "QPS (k=10, 1 thread) {qps:.0}  p50 {:.0} us  p99 {:.0} us",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
    ensure!(
        exact == checked,
        "{} of {checked} sampled queries disagree with the brute-force dot product (first: query {})",
        checked - exact,
        first_mismatch.unwrap_or(0)
    );
    Ok(())
}

/// A point's placeholder dense vector: `PLACEHOLDER_DIM` values in [0, 1) from a hash of
/// its id (spread out, so the HNSW build stays cheap).
fn placeholder_vector(id: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(id);
    (0..PLACEHOLDER_DIM)
        .map(|_| rng.random_range(0.0f32..1.0))
        .collect()
}
