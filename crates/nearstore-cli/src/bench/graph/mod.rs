//! `nearstore bench graph`: the graph benchmark through the engine. Generates a power-law
//! "follows" graph with node payloads and embeddings ([`generate`]), writes it as CSV (the
//! files `bench/graph_peers.sh` loads into kuzu), loads those files into a graph collection
//! in a temporary database and measures load time and expansion throughput through the
//! engine's API ([`engine`]), then prints one JSON object with the figures the peer script
//! compares.
//!
//! Must not depend on anything but the engine's public API and the generator.

pub mod engine;
pub mod generate;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::ensure;
use clap::Args;
use nearstore::Database;
use serde_json::json;

use engine::Batches;
use generate::{GraphSpec, SocialGraph};

use super::{remove_temp_data_dir, temp_data_dir};

/// The benchmark's collection.
const COLLECTION: &str = "bench_graph";

/// Options of `nearstore bench graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Nodes to generate.
    #[arg(long, default_value_t = 200_000)]
    pub nodes: u64,
    /// Edges to generate (distinct pairs, no self-loops).
    #[arg(long, default_value_t = 1_000_000)]
    pub edges: u64,
    /// Start nodes of the 1-, 2- and 3-hop expansion figures.
    #[arg(long, default_value_t = 200)]
    pub starts: usize,
    /// Queries of the vector + pattern figure.
    #[arg(long, default_value_t = 100)]
    pub queries: usize,
    /// Embedding dimension.
    #[arg(long, default_value_t = 32)]
    pub dim: usize,
    /// Topic centres the embeddings cluster around.
    #[arg(long, default_value_t = 50)]
    pub topics: usize,
    /// Seed of the generator (the same seed gives the same graph).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Write the graph as CSV into this directory (kept; for a peer engine). Default: a
    /// temporary directory, removed afterwards.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Loads timed (each into a fresh collection); the best is reported.
    #[arg(long, default_value_t = 3)]
    pub loads: usize,
    /// Nodes per `upsert_bulk` call.
    #[arg(long, default_value_t = 10_000)]
    pub node_batch: usize,
    /// Edges per `add_edges_batch` call.
    #[arg(long, default_value_t = 250_000)]
    pub edge_batch: usize,
    /// Similarity threshold of the vector + pattern query.
    #[arg(long, default_value_t = 0.6)]
    pub threshold: f32,
    /// Rows of the vector + pattern query (its LIMIT).
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Database directory (default: a fresh temporary one, removed afterwards).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

impl GraphArgs {
    fn spec(&self) -> GraphSpec {
        GraphSpec {
            nodes: self.nodes,
            edges: self.edges,
            starts: self.starts,
            queries: self.queries,
            dim: self.dim,
            topics: self.topics,
            seed: self.seed,
        }
    }
}

/// Runs `nearstore bench graph`.
pub fn run_graph(args: &GraphArgs) -> anyhow::Result<()> {
    ensure!(args.loads > 0, "--loads must be positive");
    let started = Instant::now();
    let graph = SocialGraph::generate(args.spec())?;
    eprintln!(
        "generated {} nodes, {} edges in {:.2}s",
        args.nodes,
        graph.edges.len(),
        started.elapsed().as_secs_f64()
    );
    let (csv_dir, csv_temporary) = match &args.csv {
        Some(d) => (d.clone(), false),
        None => (temp_data_dir("graph-csv")?, true),
    };
    graph.write_csv(&csv_dir)?;
    let (data_dir, data_temporary) = match &args.data {
        Some(d) => (d.clone(), false),
        None => (temp_data_dir("graph")?, true),
    };
    let result = measure(args, &graph, &csv_dir, &data_dir);
    if data_temporary {
        remove_temp_data_dir(&data_dir);
    }
    if csv_temporary {
        let _ = std::fs::remove_dir_all(&csv_dir);
    }
    println!("{}", result?);
    Ok(())
}

fn measure(
    args: &GraphArgs,
    generated: &SocialGraph,
    csv_dir: &std::path::Path,
    data_dir: &std::path::Path,
) -> anyhow::Result<serde_json::Value> {
    let db = Database::open(data_dir)?;
    let batches = Batches {
        nodes: args.node_batch,
        edges: args.edge_batch,
    };
    let mut best: Option<engine::LoadTimes> = None;
    let mut loaded = None;
    for _ in 0..args.loads {
        drop(loaded.take());
        let (graph, times) = engine::load(&db, COLLECTION, csv_dir, args.dim, batches)?;
        eprintln!(
            "loaded (durable, searchable) in {:.3}s (parse {:.3}s beside the writes, which \
             waited {:.3}s for it; nodes {:.3}s, edges {:.3}s, flush {:.3}s); indexed in {:.3}s",
            times.total,
            times.parse,
            times.waited,
            times.nodes,
            times.edges,
            times.flush,
            times.indexed
        );
        if best.is_none_or(|b| times.total < b.total) {
            best = Some(times);
        }
        loaded = Some(graph);
    }
    let (Some(graph), Some(load)) = (loaded, best) else {
        anyhow::bail!("no load ran");
    };
    let edges = graph.edge_count()?;
    ensure!(
        edges == generated.edges.len(),
        "the collection holds {edges} edges, {} were generated",
        generated.edges.len()
    );
    let starts = engine::read_starts(csv_dir)?;
    let mut expansions = Vec::new();
    for k in 1..=3u32 {
        engine::expand_within(&graph, &starts[..starts.len().div_ceil(10)], k)?;
        let (mut seconds, mut total) = (f64::INFINITY, 0);
        for _ in 0..2 {
            let (s, t) = engine::expand_within(&graph, &starts, k)?;
            seconds = seconds.min(s);
            total = t;
        }
        let per_second = starts.len() as f64 / seconds;
        eprintln!("{k}-hop (within): {per_second:.0} starts/s, distinct total {total}");
        expansions.push(
            json!({"hops": k, "definition": "within", "api": "traverse_bfs",
                               "seconds": seconds, "starts_per_second": per_second,
                               "distinct_total": total}),
        );
    }
    let vector_pattern = vector_pattern_figures(args, &db, &starts, &generated.queries)?;
    let mut report = json!({
        "system": "nearstore",
        "version": env!("CARGO_PKG_VERSION"),
        "nodes": args.nodes,
        "edges": edges,
        "dim": args.dim,
        "starts": starts.len(),
        "durability": "flush (every write logged; flush() fsyncs the log)",
        "load_seconds": load.total,
        "load_indexed_seconds": load.indexed,
        "load": load.to_json(),
        "loads": args.loads,
        "expansions": expansions,
    });
    match vector_pattern {
        Ok(figures) => report["vector_pattern"] = figures,
        Err(note) => report["vector_pattern_note"] = json!(note),
    }
    Ok(report)
}

/// The vector + pattern figures (p50 / p99 / mean latency, rows, result ids) after one
/// untimed pass over a tenth of the queries; the engine's message when it refuses `MATCH`.
fn vector_pattern_figures(
    args: &GraphArgs,
    db: &Database,
    starts: &[u64],
    queries: &[Vec<f32>],
) -> anyhow::Result<Result<serde_json::Value, String>> {
    if queries.is_empty() {
        return Ok(Err("no queries (--queries 0)".to_string()));
    }
    let (threshold, limit) = (args.threshold, args.limit);
    if let Err(note) = engine::vector_pattern(
        db,
        starts,
        &queries[..queries.len().div_ceil(10)],
        threshold,
        limit,
    )? {
        eprintln!("vector + pattern: not run ({note})");
        return Ok(Err(note));
    }
    let engine::Answers { latencies, results } =
        match engine::vector_pattern(db, starts, queries, threshold, limit)? {
            Ok(answers) => answers,
            Err(note) => return Ok(Err(note)),
        };
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let ms = |p: f64| super::percentile(&sorted, p) * 1e3;
    let rows: usize = results.iter().map(Vec::len).sum();
    let mean_ms = latencies.iter().sum::<f64>() / latencies.len() as f64 * 1e3;
    eprintln!(
        "vector + pattern: p50 {:.3} ms, p99 {:.3} ms, {rows} rows",
        ms(0.5),
        ms(0.99)
    );
    Ok(Ok(json!({
        "queries": queries.len(), "threshold": threshold, "limit": limit,
        "p50_ms": ms(0.5), "p99_ms": ms(0.99), "mean_ms": mean_ms,
        "rows": rows, "results": results,
    })))
}
