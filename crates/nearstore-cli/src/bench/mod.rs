//! Benchmarks: `bench ann` (the HNSW index alone), `bench collection` (the engine as users
//! meet it), `bench memory` (agent memories through streaming ingest: ingest rate, time to
//! visibility, recall latency), `bench sparse` (sparse vectors through the engine) and `bench text` (full-text
//! search through the engine, and with `--hybrid` dense + BM25 fusion quality and latency),
//! with the measurement helpers they share.

pub mod ann;
pub mod collection;
pub mod graph;
pub mod hybrid;
pub mod memory;
pub mod sparse;
pub mod text;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use nearstore::DistanceMetric;
use nearstore::storage::vecfile::{Rows, read_fvecs, read_ivecs, recall_at_k};
use serde_json::{Value, json};

/// The data set used when none is named: the shared benchmark set beside the repository.
pub const DEFAULT_DATASET: &str = "../shared/data/wordnet-dev";

/// The process's peak resident set size so far, in MiB (0 where `/proc` is missing).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The `p` quantile of already sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One sweep point's figures: mean recall@10, QPS, p50 and p99 latency (µs), and how many
/// queries came back with fewer than min(10, exact answers) results.
pub type Measured = (f64, f64, f64, f64, usize);

/// Times `search` (returning result ids, best first) over the queries on one thread against
/// their exact answers.
pub fn measure_searches<Q>(
    queries: &[Q],
    truth: &[Vec<u64>],
    mut search: impl FnMut(&Q) -> anyhow::Result<Vec<u64>>,
) -> anyhow::Result<Measured> {
    let mut latencies = Vec::with_capacity(queries.len());
    let (mut recall, mut short) = (0.0, 0);
    let started = std::time::Instant::now();
    for (q, t) in queries.iter().zip(truth) {
        let s = std::time::Instant::now();
        let ids = search(q)?;
        latencies.push(s.elapsed().as_secs_f64() * 1e6);
        short += usize::from(ids.len() < t.len().min(10));
        recall += recall_at_k(&ids, t, 10);
    }
    let secs = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let n = queries.len() as f64;
    Ok((
        recall / n,
        n / secs,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        short,
    ))
}

/// A fresh directory under the system temp dir for this run.
pub fn temp_data_dir(what: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("nearstore-bench-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Removes a database directory made by [`temp_data_dir`] and the lock file the engine keeps
/// beside it (`<dir>.lock`), once the database is closed; best effort.
pub fn remove_temp_data_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    if let Some(name) = dir.file_name() {
        let mut lock = name.to_os_string();
        lock.push(".lock");
        let _ = std::fs::remove_file(dir.with_file_name(lock));
    }
}

/// Filtered-search results gathered per selectivity band (fraction of points that match).
#[derive(Debug)]
pub struct Bands {
    /// (from, to, filters, recall sum, min recall, short results, seconds per query sum)
    bands: Vec<(f64, f64, usize, f64, f64, usize, f64)>,
}

impl Default for Bands {
    fn default() -> Self {
        let edges = [(0.0, 0.001), (0.001, 0.01), (0.01, 0.1), (0.1, 1.01)];
        Bands {
            bands: edges
                .iter()
                .map(|&(lo, hi)| (lo, hi, 0, 0.0, 1.0, 0, 0.0))
                .collect(),
        }
    }
}

impl Bands {
    /// Adds one filter's result: its selectivity, mean recall@10, short results and QPS.
    pub fn add(&mut self, selectivity: f64, recall: f64, short: usize, qps: f64) {
        if let Some(b) = self
            .bands
            .iter_mut()
            .find(|b| selectivity >= b.0 && selectivity < b.1)
        {
            b.2 += 1;
            b.3 += recall;
            b.4 = b.4.min(recall);
            b.5 += short;
            b.6 += 1.0 / qps;
        }
    }

    /// The non-empty bands as JSON rows.
    pub fn to_json(&self) -> Vec<Value> {
        self.bands
            .iter()
            .filter(|b| b.2 > 0)
            .map(|b| {
                json!({"from": b.0, "to": b.1.min(1.0), "values": b.2,
                       "mean_recall_at_10": b.3 / b.2 as f64, "min_recall_at_10": b.4,
                       "short_results": b.5, "qps": b.2 as f64 / b.6})
            })
            .collect()
    }
}

/// A data set: metric, base rows, queries, exact neighbours per query.
pub type Loaded = (DistanceMetric, Rows<f32>, Vec<Vec<f32>>, Vec<Vec<u64>>);

/// Reads a data set folder's vectors (any file may be given explicitly instead).
pub fn load_vectors(
    dataset: &Path,
    base: Option<&Path>,
    query: Option<&Path>,
    gt: Option<&Path>,
    metric: &str,
) -> anyhow::Result<Loaded> {
    let metric: DistanceMetric = metric.parse().context("--metric")?;
    let in_dataset = |name: &str| dataset.join(name);
    let l2_truth = in_dataset("groundtruth_l2.ivecs");
    let default_gt = if metric == DistanceMetric::Euclidean && l2_truth.exists() {
        l2_truth
    } else {
        in_dataset("groundtruth.ivecs")
    };
    let base_path = base.map_or_else(|| in_dataset("base.fvecs"), Path::to_path_buf);
    let query_path = query.map_or_else(|| in_dataset("query.fvecs"), Path::to_path_buf);
    let gt_path = gt.map_or(default_gt, Path::to_path_buf);
    let base = read_fvecs(&base_path).context("base vectors (see --dataset / --base)")?;
    let query = read_fvecs(&query_path).context("queries (see --dataset / --query)")?;
    let gt = read_ivecs(&gt_path).context("ground truth (see --dataset / --gt)")?;
    if base.dim != query.dim || base.is_empty() || query.is_empty() {
        bail!(
            "base ({}-d) and query ({}-d) must be non-empty and of one dimension",
            base.dim,
            query.dim
        );
    }
    if gt.len() < query.len() {
        bail!(
            "ground truth has {} rows for {} queries",
            gt.len(),
            query.len()
        );
    }
    let truth = (0..query.len())
        .map(|i| {
            gt.row(i)
                .iter()
                .filter(|&&x| x >= 0)
                .map(|&x| x as u64)
                .collect()
        })
        .collect();
    let queries = (0..query.len()).map(|i| query.row(i).to_vec()).collect();
    Ok((metric, base, queries, truth))
}
