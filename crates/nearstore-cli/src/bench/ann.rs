//! `nearstore bench ann`: build an HNSW index from `.fvecs` data and measure recall, QPS and
//! latency per ef, build time, memory and checkpoint reload; optionally filtered search.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use nearstore::index::{
    AllowList, HnswIndex, HnswParams, IdSetAllowList, MemorySource, QuantConfig, SearchOptions,
    SearchQuality, StorageMode, VectorIndex, VectorSource,
};
use rayon::prelude::*;
use serde_json::{Value, json};

use super::{
    Bands, DEFAULT_DATASET, Measured, load_vectors, measure_searches, peak_rss_mib, temp_data_dir,
};

/// Options of `nearstore bench ann`.
#[derive(Debug, Args)]
pub struct AnnArgs {
    /// A data set folder with `base.fvecs`, `query.fvecs` and `groundtruth.ivecs`
    /// (`groundtruth_l2.ivecs` for l2 when present), used for any file not given below.
    #[arg(long, default_value = DEFAULT_DATASET)]
    dataset: PathBuf,
    /// Base vectors (.fvecs); row i is point id i.
    #[arg(long)]
    base: Option<PathBuf>,
    /// Query vectors (.fvecs).
    #[arg(long)]
    query: Option<PathBuf>,
    /// Ground truth (.ivecs): the exact neighbours of each query, best first.
    #[arg(long)]
    gt: Option<PathBuf>,
    /// Metric: cosine, l2 (euclidean) or dot.
    #[arg(long, default_value = "cosine")]
    metric: String,
    /// Links per node.
    #[arg(long, default_value_t = 16)]
    m: usize,
    /// Candidate list size while building.
    #[arg(long, default_value_t = 200)]
    ef_construction: usize,
    /// Comma-separated search ef values.
    #[arg(long, default_value = "16,32,64,128,256,512", value_delimiter = ',')]
    ef: Vec<usize>,
    /// Timed passes over the query set per ef; the fastest is reported, with its recall and
    /// latencies (machines are noisy).
    #[arg(long, default_value_t = 1)]
    repeats: usize,
    /// Build threads (searches always run on one thread).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Comma-separated selectivities for filtered search with random allow-lists.
    #[arg(long, value_delimiter = ',')]
    filter_selectivity: Vec<f64>,
    /// Payloads (.jsonl, one object per base row, in row order) for `--filter-field`.
    #[arg(long)]
    payloads: Option<PathBuf>,
    /// Filter by each value of this payload field in turn (allow-lists correlated with the
    /// data); recall and QPS are reported per selectivity band.
    #[arg(long, requires = "payloads")]
    filter_field: Option<String>,
    /// Queries used per filter value (the first N).
    #[arg(long, default_value_t = 100)]
    filter_queries: usize,
    /// After the sweep, delete this fraction of the points, vacuum, and measure again.
    #[arg(long)]
    delete_fraction: Option<f64>,
    /// Storage mode of the index: full, sq8, binary, pq or rabitq. A quantized index walks its graph on
    /// codes and rescores candidates with exact vectors from an in-memory source standing in
    /// for the storage mapping (not counted in `index_bytes`; counted in the RSS).
    #[arg(long, default_value = "full")]
    storage_mode: String,
    /// Candidates rescored per result (default: the mode's own).
    #[arg(long)]
    oversampling: Option<f32>,
    /// RaBitQ bits per coordinate: 1 or 4 (default: by dimension, 4 up to 128-d).
    #[arg(long)]
    rabitq_bits: Option<u8>,
    /// Return the codes' ranking without exact rescoring (sq8 only; binary always rescores).
    #[arg(long)]
    no_rerank: bool,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// After the build, run timed passes as stdin asks instead of the `--ef` sweep: prints
    /// `{"ready": true}`, then for each line `pass EF` one timed pass at that ef (its JSON on
    /// one line), and at `done` or the end of input the report, each ef's fastest pass in
    /// its runs. For drivers that alternate systems pass by pass (`bench/peers.py
    /// --interleave`), so a slow phase of a shared machine hits every system alike.
    #[arg(long, requires = "json", conflicts_with = "repeats")]
    passes_from_stdin: bool,
}

/// The search options of a run.
fn options(args: &AnnArgs) -> SearchOptions {
    SearchOptions {
        rerank: Some(!args.no_rerank),
        oversampling: args.oversampling,
    }
}

/// One sweep point: recall@10, QPS and latency over all queries on one thread.
fn measure(
    index: &HnswIndex,
    queries: &[&[f32]],
    truth: &[Vec<u64>],
    quality: SearchQuality,
    allow: Option<&dyn AllowList>,
) -> anyhow::Result<Measured> {
    let opts = RUN_OPTIONS.with(std::cell::Cell::get);
    measure_searches(queries, truth, |q| {
        Ok(index
            .search_with(q, 10, quality, allow, opts)?
            .iter()
            .map(|h| h.id)
            .collect())
    })
}

thread_local! {
    /// The search options every measured search of this run uses (set once by `run_ann`).
    static RUN_OPTIONS: std::cell::Cell<SearchOptions> =
        std::cell::Cell::new(SearchOptions::default());
}

/// Runs the benchmark and prints its report.
pub fn run_ann(args: &AnnArgs) -> anyhow::Result<()> {
    let (metric, base, queries, truth) = load_vectors(
        &args.dataset,
        args.base.as_deref(),
        args.query.as_deref(),
        args.gt.as_deref(),
        &args.metric,
    )?;
    let (n, dim) = (base.len(), base.dim);
    let params = HnswParams {
        m: args.m,
        ef_construction: args.ef_construction,
        ..HnswParams::default()
    };
    let mode = StorageMode::parse(&args.storage_mode)?;
    RUN_OPTIONS.with(|c| c.set(options(args)));
    let items: Vec<(u64, &[f32])> = (0..n).map(|i| (i as u64, base.row(i))).collect();
    let source = MemorySource::new();
    let index = if mode == StorageMode::Full {
        HnswIndex::new(dim, metric, params)?
    } else {
        for (id, v) in &items {
            source.put(*id, v);
        }
        let mut quant = QuantConfig::new(mode);
        if let Some(o) = args.oversampling {
            quant.oversampling = o;
        }
        if let Some(b) = args.rabitq_bits {
            quant.rabitq_bits = b;
        }
        HnswIndex::new_quantized(dim, metric, params, quant, source.clone())?
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.max(1))
        .build()?;
    let started = Instant::now();
    pool.install(|| index.insert_batch(&items))?;
    let build_seconds = started.elapsed().as_secs_f64();
    // The index holds its own copy now: free the input so peak memory is the index's.
    drop(items);
    drop(base);
    let qrefs: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
    // Warm-up (caches, page faults), as the peers' harness does before timing.
    for q in qrefs.iter().take(100) {
        index.search(
            q,
            10,
            SearchQuality::Ef(args.ef.first().copied().unwrap_or(16)),
            None,
        )?;
    }
    let mut best = BestPasses::default();
    if args.passes_from_stdin {
        passes_from_stdin(&mut best, &index, &qrefs, &truth)?;
    } else {
        for &ef in &args.ef {
            for _ in 0..args.repeats.max(1) {
                let pass = measure(&index, &qrefs, &truth, SearchQuality::Ef(ef), None)?;
                best.record(ef, pass);
            }
        }
    }
    let runs = best.into_runs();
    // Peak memory of building and searching, taken before the reload (which holds a second
    // copy of the index) and the filtered and delete runs.
    let peak_rss = peak_rss_mib();
    let src: Option<Arc<dyn VectorSource>> = (mode != StorageMode::Full).then(|| {
        let s: Arc<dyn VectorSource> = source.clone();
        s
    });
    let reload = checkpoint_reload(&index, &qrefs, build_seconds, src)?;
    let filtered = filtered_runs(&index, n, &qrefs, &args.filter_selectivity)?;
    let by_field = match (&args.payloads, &args.filter_field) {
        (Some(path), Some(field)) => {
            let q = &qrefs[..args.filter_queries.min(qrefs.len())];
            field_filter_runs(&index, path, field, q)?
        }
        _ => Value::Null,
    };
    let deletes = match args.delete_fraction {
        Some(f) => delete_runs(&index, n, &qrefs, f, &args.ef)?,
        None => Value::Null,
    };
    let report = json!({
        "system": "nearstore",
        "n": n, "dim": dim, "metric": args.metric, "m": args.m,
        "ef_construction": args.ef_construction, "build_threads": args.threads,
        "build_seconds": build_seconds,
        "vectors_per_second": n as f64 / build_seconds,
        "peak_rss_mib": peak_rss,
        "index_bytes": index.memory_bytes(),
        "storage_mode": mode.name(),
        "active_storage": index.active_storage().name(),
        "oversampling": args.oversampling.unwrap_or(index.quant_config().oversampling),
        "rerank": !args.no_rerank,
        "source_bytes": source.memory_bytes(),
        "runs": runs, "reload": reload, "filtered": filtered, "by_field": by_field,
        "deletes": deletes,
    });
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_tables(&report);
    }
    Ok(())
}

/// Each ef's fastest pass (the peers' harness reports its best pass too: machines are
/// noisy), with the number of passes run, in the order the efs were first measured.
#[derive(Default)]
struct BestPasses(Vec<(usize, Measured, usize)>);

impl BestPasses {
    fn record(&mut self, ef: usize, pass: Measured) {
        match self.0.iter_mut().find(|(e, ..)| *e == ef) {
            Some((_, best, passes)) => {
                *passes += 1;
                if pass.1 > best.1 {
                    *best = pass;
                }
            }
            None => self.0.push((ef, pass, 1)),
        }
    }

    fn into_runs(self) -> Vec<Value> {
        self.0
            .into_iter()
            .map(|(ef, (recall, qps, p50, p99, _), passes)| {
                json!({"ef": ef, "recall_at_10": recall, "qps": qps, "p50_us": p50,
                       "p99_us": p99, "passes": passes})
            })
            .collect()
    }
}

/// The passes stdin asks for (`--passes-from-stdin`'s protocol), each printed as it ends.
fn passes_from_stdin(
    best: &mut BestPasses,
    index: &HnswIndex,
    queries: &[&[f32]],
    truth: &[Vec<u64>],
) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", json!({"ready": true}))?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line.context("reading a pass command from stdin")?;
        let ef = match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["done"] => break,
            ["pass", ef] => ef
                .parse::<usize>()
                .ok()
                .filter(|&ef| ef > 0)
                .with_context(|| format!("`pass EF` needs a positive ef, got {ef:?}"))?,
            _ => anyhow::bail!("unknown command {line:?} on stdin: expected `pass EF` or `done`"),
        };
        let pass = measure(index, queries, truth, SearchQuality::Ef(ef), None)?;
        writeln!(
            out,
            "{}",
            json!({"ef": ef, "recall_at_10": pass.0, "qps": pass.1})
        )?;
        out.flush()?;
        best.record(ef, pass);
    }
    Ok(())
}

/// Saves the index, loads it back, and checks the reloaded index answers identically.
fn checkpoint_reload(
    index: &HnswIndex,
    queries: &[&[f32]],
    build_seconds: f64,
    source: Option<Arc<dyn VectorSource>>,
) -> anyhow::Result<Value> {
    let dir = temp_data_dir("ann")?;
    let path = dir.join("hnsw.ckpt");
    let backend = nearstore::storage::FsBackend;
    let started = Instant::now();
    index.save(&backend, &path, 0)?;
    let save_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let (loaded, _) = HnswIndex::load_with_source(&backend, &path, source)?;
    let load_seconds = started.elapsed().as_secs_f64();
    let identical = queries.iter().all(|q| {
        let a = index.search(q, 10, SearchQuality::Ef(64), None).ok();
        let b = loaded.search(q, 10, SearchQuality::Ef(64), None).ok();
        a.is_some() && a == b
    });
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(json!({
        "save_seconds": save_seconds, "load_seconds": load_seconds, "file_bytes": bytes,
        "load_vs_build": load_seconds / build_seconds, "identical_results": identical,
    }))
}

/// Filtered search with random allow-lists at each selectivity, against exact filtered truth.
fn filtered_runs(
    index: &HnswIndex,
    n: usize,
    queries: &[&[f32]],
    selectivities: &[f64],
) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for (i, &sel) in selectivities.iter().enumerate() {
        let allow = IdSetAllowList::new((0..n as u64).filter(|&id| chosen(id, i as u64, sel)));
        let (recall, qps, p50, p99, short) = measure_filtered(index, queries, &allow)?;
        out.push(json!({
            "selectivity": sel, "allowed": allow.count_hint(), "recall_at_10": recall,
            "qps": qps, "p50_us": p50, "p99_us": p99, "short_results": short,
        }));
    }
    Ok(out)
}

/// A deterministic pseudo-random choice of `fraction` of the ids (splitmix64 on the id).
fn chosen(id: u64, salt: u64, fraction: f64) -> bool {
    let mut x = id.wrapping_add(0x9e37_79b9_7f4a_7c15 ^ salt);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((x ^ (x >> 31)) as f64 / u64::MAX as f64) < fraction
}

/// Exact filtered top-10 ids for each query (the ground truth of a filtered run).
fn exact_truth(
    index: &HnswIndex,
    queries: &[&[f32]],
    allow: Option<&dyn AllowList>,
) -> anyhow::Result<Vec<Vec<u64>>> {
    queries
        .par_iter()
        .map(|q| {
            let exact = index.search(q, 10, SearchQuality::Perfect, allow)?;
            Ok(exact.iter().map(|h| h.id).collect())
        })
        .collect()
}

/// Filtered search at the `Balanced` quality, measured against the exact filtered answer.
fn measure_filtered(
    index: &HnswIndex,
    queries: &[&[f32]],
    allow: &IdSetAllowList,
) -> anyhow::Result<Measured> {
    let truth = exact_truth(index, queries, Some(allow))?;
    measure(index, queries, &truth, SearchQuality::Balanced, Some(allow))
}

/// Filters by each value of a payload field; reports per selectivity band.
fn field_filter_runs(
    index: &HnswIndex,
    path: &std::path::Path,
    field: &str,
    queries: &[&[f32]],
) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut groups: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for (row, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line)
            .with_context(|| format!("{} line {}", path.display(), row + 1))?;
        let key = match &v[field] {
            Value::String(s) => s.clone(),
            Value::Null => continue,
            other => other.to_string(),
        };
        groups.entry(key).or_default().push(row as u64);
    }
    let n = index.len() as f64;
    let mut bands = Bands::default();
    let mut values = Vec::new();
    for (value, ids) in &groups {
        let allow = IdSetAllowList::new(ids.iter().copied());
        let (recall, qps, _, _, short) = measure_filtered(index, queries, &allow)?;
        let sel = ids.len() as f64 / n;
        values.push(json!({"value": value, "allowed": ids.len(), "selectivity": sel, "recall_at_10": recall, "qps": qps, "short_results": short}));
        bands.add(sel, recall, short, qps);
    }
    let bands = bands.to_json();
    Ok(json!({"field": field, "queries": queries.len(), "bands": bands, "values": values}))
}

/// Deletes a fraction of the points, vacuums, and measures recall against the new truth.
fn delete_runs(
    index: &HnswIndex,
    n: usize,
    queries: &[&[f32]],
    fraction: f64,
    efs: &[usize],
) -> anyhow::Result<Value> {
    let doomed: Vec<u64> = (0..n as u64)
        .filter(|&id| chosen(id, 77, fraction))
        .collect();
    let started = Instant::now();
    let deleted = index.delete_ids(&doomed);
    let delete_seconds = started.elapsed().as_secs_f64();
    let truth = exact_truth(index, queries, None)?;
    let mut before_vacuum = Vec::new();
    for &ef in efs {
        let (recall, qps, _, _, _) = measure(index, queries, &truth, SearchQuality::Ef(ef), None)?;
        before_vacuum.push(json!({"ef": ef, "recall_at_10": recall, "qps": qps}));
    }
    let started = Instant::now();
    let vacuumed = index.vacuum();
    let vacuum_seconds = started.elapsed().as_secs_f64();
    let mut after_vacuum = Vec::new();
    for &ef in efs {
        let (recall, qps, _, _, _) = measure(index, queries, &truth, SearchQuality::Ef(ef), None)?;
        after_vacuum.push(json!({"ef": ef, "recall_at_10": recall, "qps": qps}));
    }
    Ok(
        json!({"fraction": fraction, "deleted": deleted, "delete_seconds": delete_seconds,
              "vacuumed": vacuumed, "vacuum_seconds": vacuum_seconds,
              "runs_before_vacuum": before_vacuum, "runs_after_vacuum": after_vacuum}),
    )
}

fn print_tables(r: &Value) {
    println!(
        "nearstore HNSW: n = {}, dim = {}, metric = {}, M = {}, ef_construction = {}, storage {} (active {}, oversampling {}, rerank {})",
        r["n"],
        r["dim"],
        r["metric"],
        r["m"],
        r["ef_construction"],
        r["storage_mode"],
        r["active_storage"],
        r["oversampling"],
        r["rerank"]
    );
    println!(
        "build: {:.2} s with {} threads ({:.0} vectors/s); peak RSS {:.1} MiB; index {:.1} MiB",
        r["build_seconds"].as_f64().unwrap_or(0.0),
        r["build_threads"],
        r["vectors_per_second"].as_f64().unwrap_or(0.0),
        r["peak_rss_mib"].as_f64().unwrap_or(0.0),
        r["index_bytes"].as_f64().unwrap_or(0.0) / (1 << 20) as f64
    );
    println!(
        "{:>6} {:>10} {:>10} {:>9} {:>9}",
        "ef", "recall@10", "QPS", "p50 us", "p99 us"
    );
    for run in r["runs"].as_array().into_iter().flatten() {
        println!(
            "{:>6} {:>10.4} {:>10.0} {:>9.1} {:>9.1}",
            run["ef"],
            run["recall_at_10"].as_f64().unwrap_or(0.0),
            run["qps"].as_f64().unwrap_or(0.0),
            run["p50_us"].as_f64().unwrap_or(0.0),
            run["p99_us"].as_f64().unwrap_or(0.0)
        );
    }
    let reload = &r["reload"];
    println!(
        "checkpoint: saved in {:.2} s, loaded in {:.3} s ({:.3} of build time), identical results: {}",
        reload["save_seconds"].as_f64().unwrap_or(0.0),
        reload["load_seconds"].as_f64().unwrap_or(0.0),
        reload["load_vs_build"].as_f64().unwrap_or(0.0),
        reload["identical_results"]
    );
    for b in r["by_field"]["bands"].as_array().into_iter().flatten() {
        println!(
            "filter by {} with selectivity {}..{}: {} values, mean recall@10 {:.4}, min {:.4}, {:.0} QPS, {} short results",
            r["by_field"]["field"],
            b["from"],
            b["to"],
            b["values"],
            b["mean_recall_at_10"].as_f64().unwrap_or(0.0),
            b["min_recall_at_10"].as_f64().unwrap_or(0.0),
            b["qps"].as_f64().unwrap_or(0.0),
            b["short_results"]
        );
    }
    if let Some(d) = r["deletes"].as_object() {
        println!(
            "deleted {} ({}) in {:.2} s, vacuumed {} in {:.2} s",
            d["deleted"],
            d["fraction"],
            d["delete_seconds"].as_f64().unwrap_or(0.0),
            d["vacuumed"],
            d["vacuum_seconds"].as_f64().unwrap_or(0.0)
        );
        for (before, after) in d["runs_before_vacuum"]
            .as_array()
            .into_iter()
            .flatten()
            .zip(d["runs_after_vacuum"].as_array().into_iter().flatten())
        {
            println!(
                "  ef {:>4}: recall@10 {:.4} before vacuum, {:.4} after ({:.0} QPS)",
                before["ef"],
                before["recall_at_10"].as_f64().unwrap_or(0.0),
                after["recall_at_10"].as_f64().unwrap_or(0.0),
                after["qps"].as_f64().unwrap_or(0.0)
            );
        }
    }
    for f in r["filtered"].as_array().into_iter().flatten() {
        println!(
            "filtered {:>6}: {} allowed, recall@10 {:.4}, {:.0} QPS, {} short results",
            f["selectivity"],
            f["allowed"],
            f["recall_at_10"].as_f64().unwrap_or(0.0),
            f["qps"].as_f64().unwrap_or(0.0),
            f["short_results"]
        );
    }
}
