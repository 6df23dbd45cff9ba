//! `nearstore bench text`: full-text search through the engine as users meet it. Loads a
//! JSON-lines corpus into a collection whose only text field is `--field`, then reports
//! indexing throughput (bulk-indexing the loaded collection's payloads, checkpoint included)
//! and index bytes, BM25 exactness against a ground truth (top-10 id agreement, ties to the
//! smaller id, and the largest relative score error when `<gt>.scores.fvecs` is beside it),
//! and single-thread QPS at k = 10. With `--compare-load` it also times a bulk load of the
//! corpus with its vectors (`base.fvecs` beside the corpus) with the default text indexing
//! on and off; with `--hybrid` it also reports hybrid quality and latency per fusion strategy
//! (see [`super::hybrid`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use clap::Args;
use nearstore::storage::vecfile::{read_fvecs, read_ivecs};
use nearstore::{
    CollectionConfig, Database, DistanceMetric, HnswParams, Point, SearchRequest, TextIndexConfig,
    VectorCollection,
};
use serde_json::{Value, json};

use super::hybrid::{HybridInputs, KeywordQuery, print_hybrid, run_hybrid};
use super::{peak_rss_mib, percentile, remove_temp_data_dir, temp_data_dir};

/// Options of `nearstore bench text`.
#[derive(Debug, Args)]
pub struct TextArgs {
    /// The corpus: one JSON object per line (its `id`, else the line number, is the point id).
    #[arg(long, default_value = "../shared/data/wordnet-dev/base.jsonl")]
    corpus: PathBuf,
    /// The payload field indexed as the collection's only text field.
    #[arg(long, default_value = "text")]
    field: String,
    /// Queries: one JSON object per line; its `text` is the query.
    #[arg(
        long,
        default_value = "../shared/data/wordnet-dev/query_keywords.jsonl"
    )]
    queries: PathBuf,
    /// Ground-truth ids (.ivecs, ranked, -1 padded); `<stem>.scores.fvecs` beside it holds
    /// the scores when present.
    #[arg(
        long,
        default_value = "../shared/data/wordnet-dev/groundtruth_bm25.ivecs"
    )]
    gt: PathBuf,
    /// Skip the exactness check (a corpus without a ground truth, such as generated
    /// passages): only indexing and speed are reported.
    #[arg(long, conflicts_with = "gt")]
    no_gt: bool,
    /// Points per `upsert_bulk` call while loading.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Passes over the queries for the QPS figure (after one warm-up pass).
    #[arg(long, default_value_t = 3)]
    passes: usize,
    /// Also time a bulk load of the corpus with its vectors (`base.fvecs` beside the corpus)
    /// with the default text indexing on and off.
    #[arg(long)]
    compare_load: bool,
    /// Also measure hybrid quality and latency: the corpus with its vectors, each query as
    /// dense only, BM25 only and fused (RRF, relative score, DBSF), recall@10 against the
    /// dense neighbours of the passage each query stands for.
    #[arg(long)]
    hybrid: bool,
    /// `--hybrid`: the corpus vectors (default `base.fvecs` beside the corpus).
    #[arg(long, requires = "hybrid")]
    vectors: Option<PathBuf>,
    /// `--hybrid`: the query embeddings (default the queries' path with `.fvecs`).
    #[arg(long, requires = "hybrid")]
    query_vectors: Option<PathBuf>,
    /// `--hybrid`: exact dense neighbours per `query_id` (default `groundtruth.ivecs`
    /// beside the corpus).
    #[arg(long, requires = "hybrid")]
    dense_gt: Option<PathBuf>,
    /// Database directory (default: a fresh temporary one, removed afterwards).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// The corpus rows as (point id, payload).
fn read_corpus(path: &Path) -> anyhow::Result<Vec<(u64, Value)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(row, line)| {
            let v: Value = serde_json::from_str(line)
                .with_context(|| format!("{} line {}", path.display(), row + 1))?;
            let id = v.get("id").and_then(Value::as_u64).unwrap_or(row as u64);
            Ok((id, v))
        })
        .collect()
}

/// The queries (`text` of each line; `query_id`, else the line number, names the row of a
/// dense ground truth).
fn read_queries(path: &Path) -> anyhow::Result<Vec<KeywordQuery>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(row, line)| {
            let v: Value = serde_json::from_str(line)
                .with_context(|| format!("{} line {}", path.display(), row + 1))?;
            let text = v
                .get("text")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .with_context(|| format!("{} line {}: no \"text\"", path.display(), row + 1))?;
            let truth_row = match v.get("query_id") {
                None => row,
                Some(id) => id
                    .as_u64()
                    .and_then(|id| usize::try_from(id).ok())
                    .with_context(|| {
                        format!("{} line {}: bad \"query_id\" {id}", path.display(), row + 1)
                    })?,
            };
            Ok(KeywordQuery { text, truth_row })
        })
        .collect()
}

/// Per query, (id, score) best first.
type Ranked = Vec<Vec<(u64, f32)>>;

/// Ground truth per query, and whether it has scores (`NaN` without a scores file).
fn read_truth(gt: &Path) -> anyhow::Result<(Ranked, bool)> {
    let ids = read_ivecs(gt).with_context(|| format!("ground truth {}", gt.display()))?;
    let name = gt
        .file_name()
        .and_then(|n| n.to_str())
        .context("ground truth file name")?;
    let stem = name.strip_suffix(".ivecs").unwrap_or(name);
    let scores_path = gt.with_file_name(format!("{stem}.scores.fvecs"));
    let scores = if scores_path.exists() {
        Some(read_fvecs(&scores_path).with_context(|| format!("{}", scores_path.display()))?)
    } else {
        None
    };
    let rows = (0..ids.len())
        .map(|i| {
            ids.row(i)
                .iter()
                .enumerate()
                .filter(|(_, id)| **id >= 0)
                .map(|(j, &id)| {
                    let s = scores
                        .as_ref()
                        .and_then(|s| (i < s.len()).then(|| s.row(i).get(j).copied()))
                        .flatten()
                        .unwrap_or(f32::NAN);
                    (id as u64, s)
                })
                .collect()
        })
        .collect();
    Ok((rows, scores.is_some()))
}

/// One text query through the collection's one request path: (id, score) best first.
fn text_top10(c: &VectorCollection, query: &str) -> anyhow::Result<Vec<(u64, f32)>> {
    Ok(
        c.query(SearchRequest::text(query).limit(10).with_payload(false))?
            .iter()
            .map(|h| (h.point.id, h.score))
            .collect(),
    )
}

/// Loads `corpus` (payload = the whole row) into a new collection `name` of `config`;
/// returns the seconds taken, the final flush included.
pub(super) fn bulk_load(
    db: &Database,
    name: &str,
    config: CollectionConfig,
    corpus: &[(u64, Value)],
    vector: &dyn Fn(usize) -> Vec<f32>,
    batch: usize,
) -> anyhow::Result<(VectorCollection, f64)> {
    let _ = db.drop_collection(name);
    let c = db.create_collection_with_options(name, config)?;
    let started = Instant::now();
    let rows: Vec<usize> = (0..corpus.len()).collect();
    for chunk in rows.chunks(batch.max(1)) {
        let points: Vec<Point> = chunk
            .iter()
            .map(|&i| Point::new(corpus[i].0, vector(i), Some(corpus[i].1.clone())))
            .collect();
        c.upsert_bulk(&points)?;
    }
    c.flush()?;
    // The placeholder vectors' HNSW linking runs in the background: finished inside the
    // load figure, so it neither flatters the load nor runs during the queries.
    c.wait_indexed()?;
    Ok((c, started.elapsed().as_secs_f64()))
}

/// Dimension of the placeholder vectors the text benchmark loads its corpus with.
const PLACEHOLDER_DIM: usize = 4;

/// A point's placeholder vector: `PLACEHOLDER_DIM` values in [0, 1) from a hash of its row
/// (deterministic, spread out, so the HNSW build stays cheap).
fn placeholder_vector(row: usize) -> Vec<f32> {
    let mut x = row as u64;
    (0..PLACEHOLDER_DIM)
        .map(|_| {
            // splitmix64 step
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

/// Runs the benchmark and prints its report.
pub fn run_text(args: &TextArgs) -> anyhow::Result<()> {
    let corpus = read_corpus(&args.corpus)?;
    ensure!(!corpus.is_empty(), "{} is empty", args.corpus.display());
    let queries = read_queries(&args.queries)?;
    let (truth, have_scores) = if args.no_gt {
        (vec![Vec::new(); queries.len()], false)
    } else {
        read_truth(&args.gt)?
    };
    let check_truth = !args.no_gt;
    ensure!(
        truth.len() >= queries.len(),
        "ground truth has {} rows for {} queries",
        truth.len(),
        queries.len()
    );
    let (dir, temporary) = match &args.data {
        Some(d) => (d.clone(), false),
        None => (temp_data_dir("text")?, true),
    };
    let db = Database::open(&dir)?;

    // Load without text indexing (small pseudo-random vectors: the text figures are the
    // subject; points on a line, the obvious placeholder, make the HNSW build quadratic),
    // then index the field in bulk: that is the indexing throughput.
    let config = CollectionConfig {
        hnsw: HnswParams {
            m: 8,
            ef_construction: 32,
            ..HnswParams::default()
        },
        ..CollectionConfig::new(PLACEHOLDER_DIM, DistanceMetric::Euclidean).with_text(None)
    };
    let (c, load_seconds) = bulk_load(
        &db,
        "bench_text",
        config,
        &corpus,
        &placeholder_vector,
        args.batch,
    )?;
    let indexing = Instant::now();
    c.set_text_config(Some(TextIndexConfig::named([args.field.as_str()])))?;
    let index_seconds = indexing.elapsed().as_secs_f64();
    let info = c
        .text_index_info()
        .context("the text index is missing after set_text_config")?;

    // Exactness.
    let (mut agree, mut max_rel, mut worst) = (0usize, 0f64, None);
    for (qi, q) in queries.iter().enumerate().filter(|_| check_truth) {
        let got = text_top10(&c, &q.text)?;
        let want: Vec<(u64, f32)> = truth[qi].iter().take(10).copied().collect();
        let ids_equal = got.iter().map(|h| h.0).eq(want.iter().map(|w| w.0));
        agree += usize::from(ids_equal);
        if !ids_equal && worst.is_none() {
            worst = Some(qi);
        }
        if have_scores {
            for ((_, g), (_, w)) in got.iter().zip(&want) {
                let rel = (f64::from(*g) - f64::from(*w)).abs() / f64::from(*w).abs().max(1e-12);
                max_rel = max_rel.max(rel);
            }
        }
    }

    // Single-thread QPS at k = 10 (one warm-up pass, then `passes` timed passes).
    for q in &queries {
        text_top10(&c, &q.text)?;
    }
    let mut latencies = Vec::with_capacity(queries.len() * args.passes.max(1));
    let timed = Instant::now();
    for _ in 0..args.passes.max(1) {
        for q in &queries {
            let s = Instant::now();
            text_top10(&c, &q.text)?;
            latencies.push(s.elapsed().as_secs_f64() * 1e6);
        }
    }
    let qps = latencies.len() as f64 / timed.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    drop(c);
    let _ = db.drop_collection("bench_text");

    // Bulk load with the default text indexing on vs off (real vectors).
    let load = if args.compare_load {
        let base_path = args.corpus.with_file_name("base.fvecs");
        let base = read_fvecs(&base_path)
            .with_context(|| format!("--compare-load needs {}", base_path.display()))?;
        ensure!(
            base.len() >= corpus.len(),
            "{} has {} rows for {} documents",
            base_path.display(),
            base.len(),
            corpus.len()
        );
        let vector = |i: usize| base.row(i).to_vec();
        let mut seconds = Vec::new();
        for (name, text) in [
            ("bench_load_off", None),
            ("bench_load_on", Some(TextIndexConfig::default())),
        ] {
            let config = CollectionConfig::new(base.dim, DistanceMetric::Cosine).with_text(text);
            let (c, s) = bulk_load(&db, name, config, &corpus, &vector, args.batch)?;
            drop(c);
            let _ = db.drop_collection(name);
            seconds.push(s);
        }
        Some(json!({
            "points": corpus.len(), "dim": base.dim,
            "text_off_seconds": seconds[0], "text_on_seconds": seconds[1],
            "on_over_off": seconds[1] / seconds[0],
        }))
    } else {
        None
    };
    let hybrid = if args.hybrid {
        let defaults = HybridInputs::beside(&args.corpus, &args.queries);
        let inputs = HybridInputs {
            vectors: args.vectors.clone().unwrap_or(defaults.vectors),
            query_vectors: args.query_vectors.clone().unwrap_or(defaults.query_vectors),
            dense_gt: args.dense_gt.clone().unwrap_or(defaults.dense_gt),
            ..defaults
        };
        Some(run_hybrid(
            &db,
            &corpus,
            &args.field,
            &queries,
            &inputs,
            args.batch,
            args.passes,
        )?)
    } else {
        None
    };
    drop(db);
    if temporary {
        remove_temp_data_dir(&dir);
    }

    let n = queries.len();
    let report = json!({
        "corpus": args.corpus.display().to_string(),
        "field": args.field,
        "documents": corpus.len(),
        "indexed_documents": info.documents,
        "load_seconds_without_text": load_seconds,
        "index_seconds": index_seconds,
        "index_docs_per_second": corpus.len() as f64 / index_seconds,
        "index_image_bytes": info.image_bytes,
        "index_heap_bytes": info.heap_bytes,
        "queries": n,
        "top10_agreement": check_truth.then(|| agree as f64 / n.max(1) as f64),
        "top10_exact_queries": check_truth.then_some(agree),
        "first_disagreeing_query": worst,
        "max_relative_score_error": if have_scores { json!(max_rel) } else { Value::Null },
        "qps_k10_single_thread": qps,
        "p50_us": percentile(&latencies, 0.5),
        "p99_us": percentile(&latencies, 0.99),
        "peak_rss_mib": peak_rss_mib(),
        "bulk_load": load,
        "hybrid": hybrid,
    });
    if args.json {
        println!("{report}");
        return Ok(());
    }
    println!(
        "corpus            {} ({} documents, field {:?})",
        args.corpus.display(),
        corpus.len(),
        args.field
    );
    println!(
        "indexing          {:.0} docs/s ({index_seconds:.2} s, checkpoint included)",
        corpus.len() as f64 / index_seconds
    );
    println!(
        "index size        {} bytes image, {} bytes heap",
        info.image_bytes, info.heap_bytes
    );
    if check_truth {
        println!("top-10 agreement  {agree}/{n} queries (ties to the smaller id)");
    } else {
        println!("top-10 agreement  (not checked: --no-gt)");
    }
    if have_scores {
        println!("max rel. error    {max_rel:.2e}");
    } else if check_truth {
        println!("max rel. error    (no scores file beside the ground truth)");
    }
    println!(
        "QPS (k=10, 1 thread) {qps:.0}  p50 {:.0} us  p99 {:.0} us",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    if let Some(l) = report.get("bulk_load").filter(|l| !l.is_null()) {
        println!(
            "bulk load         text off {:.2} s, default text on {:.2} s: {:.2}x",
            l["text_off_seconds"].as_f64().unwrap_or(0.0),
            l["text_on_seconds"].as_f64().unwrap_or(0.0),
            l["on_over_off"].as_f64().unwrap_or(0.0)
        );
    }
    if let Some(h) = report.get("hybrid").filter(|h| !h.is_null()) {
        print_hybrid(h);
    }
    if check_truth && agree != n {
        bail!(
            "{} of {n} queries disagree with the ground truth",
            n - agree
        );
    }
    Ok(())
}
