//! `nearstore bench collection`: the engine as users meet it. Loads a data set into a
//! collection on disk (vectors plus JSON payloads, with payload indexes), then measures
//! load throughput, close and reopen time (a reopen loads checkpoints, it rebuilds nothing;
//! every query's answer after the reopen must equal its answer before, ids and scores),
//! unfiltered recall / QPS, and filtered search by every value of a payload field against
//! the exact filtered answer, per selectivity band.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use nearstore::{
    CollectionConfig, Database, FieldIndexKind, Filter, HnswParams, Point, SearchQuality,
    SearchRequest, StorageMode, VectorCollection,
};
use rayon::prelude::*;
use serde_json::{Map, Value, json};

use super::{
    Bands, DEFAULT_DATASET, Measured, load_vectors, measure_searches, peak_rss_mib,
    remove_temp_data_dir, temp_data_dir,
};

/// Options of `nearstore bench collection`.
#[derive(Debug, Args)]
pub struct CollectionArgs {
    /// A data set folder with `base.fvecs`, `base.jsonl`, `query.fvecs`, `groundtruth.ivecs`.
    #[arg(long, default_value = DEFAULT_DATASET)]
    dataset: PathBuf,
    /// Payloads (.jsonl, one object per base row, in row order); default DATASET/base.jsonl.
    #[arg(long)]
    payloads: Option<PathBuf>,
    /// Comma-separated payload fields to load (each gets a keyword index); `all` loads whole
    /// rows (and indexes nothing but the filter field).
    #[arg(long, default_value = "category,pos", value_delimiter = ',')]
    fields: Vec<String>,
    /// Filter by each value of this field in turn.
    #[arg(long, default_value = "category")]
    filter_field: String,
    /// Metric: cosine, l2 (euclidean) or dot.
    #[arg(long, default_value = "cosine")]
    metric: String,
    /// Links per node.
    #[arg(long, default_value_t = 16)]
    m: usize,
    /// Candidate list size while building.
    #[arg(long, default_value_t = 200)]
    ef_construction: usize,
    /// Points per `upsert_bulk` call while loading.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Queries used per filter value (the first N of the query set).
    #[arg(long, default_value_t = 100)]
    filter_queries: usize,
    /// How the collection keeps its vectors: full, sq8, binary, pq or rabitq (a quantized
    /// mode is trained on the loaded points before the flush).
    #[arg(long, default_value = "full")]
    storage_mode: String,
    /// Database directory (default: a fresh temporary one, removed afterwards).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

/// Every query's top 10 (`Balanced`, ids and exact score bits), to compare across a reopen;
/// in (score bits, id) order, so equal scores (duplicate vectors, whose order follows the
/// index's slot order) compare as a set.
fn answers(c: &VectorCollection, queries: &[Vec<f32>]) -> anyhow::Result<Vec<Vec<(u32, u64)>>> {
    queries
        .iter()
        .map(|q| {
            let hits = c.query(SearchRequest::new(q).limit(10).with_payload(false))?;
            let mut v: Vec<(u32, u64)> = hits
                .iter()
                .map(|h| (h.score.to_bits(), h.point.id))
                .collect();
            v.sort_unstable();
            Ok(v)
        })
        .collect()
}

/// Reads the payload rows, keeping `fields` (all of each row when `fields` is `["all"]`).
fn read_payloads(path: &Path, fields: &[String], rows: usize) -> anyhow::Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let all = fields.len() == 1 && fields[0] == "all";
    let mut out = Vec::with_capacity(rows);
    for (row, line) in text.lines().take(rows).enumerate() {
        let v: Value = serde_json::from_str(line)
            .with_context(|| format!("{} line {}", path.display(), row + 1))?;
        if all {
            out.push(v);
        } else {
            let kept: Map<String, Value> = fields
                .iter()
                .filter_map(|f| v.get(f).map(|x| (f.clone(), x.clone())))
                .collect();
            out.push(Value::Object(kept));
        }
    }
    if out.len() < rows {
        bail!(
            "{} has {} rows for {rows} vectors",
            path.display(),
            out.len()
        );
    }
    Ok(out)
}

/// [`measure_searches`] of `request`s through the collection's general entry point.
fn measure(
    c: &VectorCollection,
    queries: &[Vec<f32>],
    truth: &[Vec<u64>],
    request: impl Fn(&[f32]) -> SearchRequest,
) -> anyhow::Result<Measured> {
    measure_searches(queries, truth, |q| {
        Ok(c.query(request(q))?.iter().map(|h| h.point.id).collect())
    })
}

/// Runs the benchmark and prints its report.
pub fn run_collection(args: &CollectionArgs) -> anyhow::Result<()> {
    let storage_mode = StorageMode::parse(&args.storage_mode)?;
    let (metric, base, queries, truth) =
        load_vectors(&args.dataset, None, None, None, &args.metric)?;
    let payload_path = args
        .payloads
        .clone()
        .unwrap_or_else(|| args.dataset.join("base.jsonl"));
    let payloads = read_payloads(&payload_path, &args.fields, base.len())?;
    let (dir, temporary) = match &args.data {
        Some(d) => (d.clone(), false),
        None => (temp_data_dir("collection")?, true),
    };
    let config = CollectionConfig {
        hnsw: HnswParams {
            m: args.m,
            ef_construction: args.ef_construction,
            ..HnswParams::default()
        },
        ..CollectionConfig::new(base.dim, metric).with_storage_mode(storage_mode)
    };
    let indexed: Vec<String> = if args.fields.len() == 1 && args.fields[0] == "all" {
        vec![args.filter_field.clone()]
    } else {
        args.fields.clone()
    };

    // Load.
    let started = Instant::now();
    let (load_seconds, close_seconds, answers_before) = {
        let db = Database::open(&dir)?;
        let _ = db.drop_collection("bench");
        let c = db.create_collection_with_options("bench", config)?;
        for f in &indexed {
            c.create_field_index(f, FieldIndexKind::Keyword)?;
        }
        let ids: Vec<usize> = (0..base.len()).collect();
        for chunk in ids.chunks(args.batch.max(1)) {
            let points: Vec<Point> = chunk
                .iter()
                .map(|&i| Point::new(i as u64, base.row(i).to_vec(), Some(payloads[i].clone())))
                .collect();
            c.upsert_bulk(&points)?;
        }
        if storage_mode.is_quantized() {
            c.train_quantizer()?;
        }
        c.flush()?;
        // The HNSW linking of `upsert_bulk` runs in the background: the load figure is
        // "until indexed" (as it was when `upsert_bulk` linked inline), and the searches
        // below measure the complete index.
        c.wait_indexed()?;
        let load_seconds = started.elapsed().as_secs_f64();
        let before = answers(&c, &queries)?;
        let closing = Instant::now();
        drop(c);
        drop(db);
        (load_seconds, closing.elapsed().as_secs_f64(), before)
    };
    let rss_after_load = peak_rss_mib();

    // Reopen: manifest, stores, HNSW and payload-index checkpoints; no rebuild.
    let reopening = Instant::now();
    let db = Database::open(&dir)?;
    let c = db.get_vector_collection("bench")?;
    let reopen_seconds = reopening.elapsed().as_secs_f64();
    if c.len() != base.len() {
        bail!(
            "reopened collection has {} points, loaded {}",
            c.len(),
            base.len()
        );
    }
    let answers_after = answers(&c, &queries)?;
    if let Some(q) = (0..queries.len()).find(|&q| answers_before[q] != answers_after[q]) {
        bail!(
            "query {q} answers differently after the reopen: {:?} before, {:?} after",
            answers_before[q],
            answers_after[q]
        );
    }

    // Unfiltered.
    let mut runs = Vec::new();
    for quality in [
        SearchQuality::Fast,
        SearchQuality::Balanced,
        SearchQuality::Accurate,
    ] {
        let (recall, qps, p50, p99, _) = measure(&c, &queries, &truth, |q| {
            SearchRequest::new(q)
                .limit(10)
                .quality(quality)
                .with_payload(false)
        })?;
        runs.push(json!({"quality": format!("{quality:?}"), "recall_at_10": recall, "qps": qps, "p50_us": p50, "p99_us": p99}));
    }
    let (recall_payload, qps_payload, _, _, _) =
        measure(&c, &queries, &truth, |q| SearchRequest::new(q).limit(10))?;

    // Filtered by each value of the filter field.
    let mut values: Vec<String> = payloads
        .iter()
        .filter_map(|p| p.get(&args.filter_field).and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    values.sort();
    values.dedup();
    if values.is_empty() {
        bail!(
            "no string values of {:?} in the payloads",
            args.filter_field
        );
    }
    let fq = &queries[..args.filter_queries.min(queries.len())];
    let mut bands = Bands::default();
    let mut per_value = Vec::new();
    let (mut total_short, mut worst) = (0usize, (f64::INFINITY, String::new()));
    for value in &values {
        let filter = Filter::parse(&json!({"field": args.filter_field, "eq": value}))?;
        let matching = c.count(Some(&filter))?;
        let exact: Vec<Vec<u64>> = fq
            .par_iter()
            .map(|q| {
                let hits = c.query(
                    SearchRequest::new(q)
                        .limit(10)
                        .filter(filter.clone())
                        .quality(SearchQuality::Perfect)
                        .with_payload(false),
                )?;
                Ok(hits.iter().map(|h| h.point.id).collect())
            })
            .collect::<nearstore::Result<_>>()?;
        let (recall, qps, _, _, short) = measure(&c, fq, &exact, |q| {
            SearchRequest::new(q)
                .limit(10)
                .filter(filter.clone())
                .with_payload(false)
        })?;
        let sel = matching as f64 / base.len() as f64;
        bands.add(sel, recall, short, qps);
        total_short += short;
        if recall < worst.0 {
            worst = (recall, value.clone());
        }
        per_value.push(
            json!({"value": value, "matching": matching, "selectivity": sel,
                              "recall_at_10": recall, "qps": qps, "short_results": short}),
        );
    }
    drop(c);
    drop(db);
    if temporary {
        remove_temp_data_dir(&dir);
    }
    let report = json!({
        "points": base.len(), "dim": base.dim, "metric": metric.name(),
        "storage_mode": storage_mode.name(),
        "answers_identical_after_reopen": answers_before.len(),
        "payload_fields": args.fields, "indexed_fields": indexed,
        "load_seconds": load_seconds, "load_points_per_second": base.len() as f64 / load_seconds,
        "close_seconds": close_seconds, "reopen_seconds": reopen_seconds,
        "peak_rss_mib_after_load": rss_after_load,
        "runs": runs,
        "with_payload": {"recall_at_10": recall_payload, "qps": qps_payload},
        "filtered": {"field": args.filter_field, "values": values.len(), "queries": fq.len(),
                     "short_results": total_short, "worst_recall_at_10": worst.0, "worst_value": worst.1,
                     "bands": bands.to_json(), "per_value": per_value},
    });
    if args.json {
        println!("{report}");
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_report(r: &Value) {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    println!(
        "collection: {} points, {}-d, {}, storage mode {}; payload fields {}; keyword indexes {}",
        r["points"],
        r["dim"],
        r["metric"],
        r["storage_mode"],
        r["payload_fields"],
        r["indexed_fields"]
    );
    println!(
        "load {:.2} s ({:.0} points/s, upsert_bulk + flush + wait_indexed), close {:.2} s, reopen {:.3} s, peak RSS {:.0} MiB",
        f(&r["load_seconds"]),
        f(&r["load_points_per_second"]),
        f(&r["close_seconds"]),
        f(&r["reopen_seconds"]),
        f(&r["peak_rss_mib_after_load"])
    );
    println!(
        "all {} queries answered identically (ids and scores, Balanced) before the close and after the reopen",
        r["answers_identical_after_reopen"]
    );
    println!("\n| quality | recall@10 | QPS | p50 µs | p99 µs |\n|---|---|---|---|---|");
    for run in r["runs"].as_array().into_iter().flatten() {
        println!(
            "| {} | {:.3} | {:.0} | {:.0} | {:.0} |",
            run["quality"].as_str().unwrap_or(""),
            f(&run["recall_at_10"]),
            f(&run["qps"]),
            f(&run["p50_us"]),
            f(&run["p99_us"])
        );
    }
    println!(
        "with payloads read for the 10 results: recall@10 {:.3}, {:.0} QPS",
        f(&r["with_payload"]["recall_at_10"]),
        f(&r["with_payload"]["qps"])
    );
    let fl = &r["filtered"];
    println!(
        "\nfiltered by {} = each of {} values ({} queries each, Balanced, against the exact filtered top 10):",
        fl["field"], fl["values"], fl["queries"]
    );
    println!(
        "| selectivity | values | mean recall@10 | min recall@10 | short results | QPS |\n|---|---|---|---|---|---|"
    );
    for b in fl["bands"].as_array().into_iter().flatten() {
        println!(
            "| {:.1}%-{:.1}% | {} | {:.3} | {:.3} | {} | {:.0} |",
            f(&b["from"]) * 100.0,
            f(&b["to"]) * 100.0,
            b["values"],
            f(&b["mean_recall_at_10"]),
            f(&b["min_recall_at_10"]),
            b["short_results"],
            f(&b["qps"])
        );
    }
    println!(
        "short results in total: {}; worst value: {} at recall@10 {:.3}",
        fl["short_results"],
        fl["worst_value"],
        f(&fl["worst_recall_at_10"])
    );
}
