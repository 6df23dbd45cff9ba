//! Graph store benchmark: generates a power-law "follows" graph, writes it as CSV (so a peer
//! engine can load the very same graph), loads it back from the CSV into a [`GraphStore`]
//! and measures load time and 1-, 2- and 3-hop expansion throughput.
//!
//! ```text
//! cargo run --release -p nearstore-graph --example graph_bench -- \
//!     --dir /tmp/g [--nodes 200000] [--edges 1000000] [--starts 200] [--seed 7]
//! ```
//!
//! Files written to `--dir`: `nodes.csv` (`id`), `edges.csv` (`from,to`), `starts.txt`
//! (one start node per line). Prints one JSON object on stdout.
//!
//! The graph: node ids `0..nodes`; each edge's source is drawn with weight `rank^-0.5` and its
//! target with weight `rank^-0.85` over a random permutation of the nodes (in-degrees follow
//! a steep power law, out-degrees a mild one, like followers); self-loops are dropped and so
//! is any pair of nodes already joined in either direction, so no walk of up to 3 hops can
//! reuse an edge and walk and relationship-isomorphism semantics count the same nodes.
//!
//! "k-hop expansion": for each start node, the number of distinct nodes `c` such that some
//! path of exactly `k` outgoing edges leads from the start to `c` (Cypher:
//! `MATCH (a {id: $s})-[:FOLLOWS]->()-[:FOLLOWS]->(c) RETURN count(DISTINCT c)` for k = 2).
//! Throughput = start nodes answered per second, one thread; the sum of the counts over all
//! starts is printed so the peer's answer can be checked against it.
//!
//! Load time = reading both CSV files, parsing them, checking every edge's endpoints against
//! the node set and building the adjacency (one bulk batch, merged into CSR arrays); the best
//! of three loads.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use nearstore_graph::{Budget, Direction, FrontierExpander, GraphEdge, GraphStore};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use roaring::RoaringTreemap;

type BoxError = Box<dyn std::error::Error>;

/// Loads timed; the best is reported.
const LOAD_RUNS: usize = 3;

struct Args {
    dir: PathBuf,
    nodes: u64,
    edges: u64,
    starts: usize,
    seed: u64,
}

fn parse_args() -> Result<Args, BoxError> {
    let mut args = Args {
        dir: PathBuf::from("graph-bench"),
        nodes: 200_000,
        edges: 1_000_000,
        starts: 200,
        seed: 7,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--dir" => args.dir = PathBuf::from(value),
            "--nodes" => args.nodes = value.parse()?,
            "--edges" => args.edges = value.parse()?,
            "--starts" => args.starts = value.parse()?,
            "--seed" => args.seed = value.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(args)
}

/// Cumulative weights `rank^-exponent` for inverse-CDF sampling.
fn cumulative(n: u64, exponent: f64) -> Vec<f64> {
    let mut sum = 0.0;
    (1..=n)
        .map(|rank| {
            sum += (rank as f64).powf(-exponent);
            sum
        })
        .collect()
}

fn draw(cdf: &[f64], rng: &mut impl Rng) -> usize {
    let total = cdf.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cdf.partition_point(|&c| c < x)
        .min(cdf.len().saturating_sub(1))
}

fn generate(args: &Args) -> Result<(), BoxError> {
    std::fs::create_dir_all(&args.dir)?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut order: Vec<u64> = (0..args.nodes).collect();
    order.shuffle(&mut rng);
    let out_cdf = cumulative(args.nodes, 0.5);
    let in_cdf = cumulative(args.nodes, 0.85);
    let mut pairs: HashSet<(u64, u64)> = HashSet::with_capacity(args.edges as usize);
    let mut edges = BufWriter::new(std::fs::File::create(args.dir.join("edges.csv"))?);
    let mut written = 0;
    while written < args.edges {
        let s = order[draw(&out_cdf, &mut rng)];
        let t = order[draw(&in_cdf, &mut rng)];
        if s == t || !pairs.insert((s.min(t), s.max(t))) {
            continue;
        }
        writeln!(edges, "{s},{t}")?;
        written += 1;
    }
    edges.flush()?;
    let mut nodes = BufWriter::new(std::fs::File::create(args.dir.join("nodes.csv"))?);
    for id in 0..args.nodes {
        writeln!(nodes, "{id}")?;
    }
    nodes.flush()?;
    let mut starts = String::new();
    for _ in 0..args.starts {
        let _ = writeln!(starts, "{}", rng.random_range(0..args.nodes));
    }
    std::fs::write(args.dir.join("starts.txt"), starts)?;
    Ok(())
}

fn read_lines(
    path: &Path,
    mut f: impl FnMut(&str) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    // the whole file at once, split in place: no per-line copy
    let bytes = std::fs::read(path)?;
    for line in bytes.split(|&b| b == b'\n') {
        let line = std::str::from_utf8(line)?.trim_end();
        if !line.is_empty() {
            f(line)?;
        }
    }
    Ok(())
}

fn load(dir: &Path) -> Result<GraphStore, BoxError> {
    let mut nodes = RoaringTreemap::new();
    read_lines(&dir.join("nodes.csv"), |l| {
        nodes.insert(l.parse()?);
        Ok(())
    })?;
    let mut edges = Vec::new();
    read_lines(&dir.join("edges.csv"), |l| {
        let (s, t) = l.split_once(',').ok_or("edge line without a comma")?;
        let id = edges.len() as u64;
        edges.push(GraphEdge::new(id, s.parse()?, t.parse()?, "FOLLOWS"));
        Ok(())
    })?;
    let parsed = Instant::now();
    let mut store = GraphStore::new();
    store.add_edges_batch(edges, &nodes)?;
    eprintln!(
        "  (of which building the store: {:.3}s)",
        parsed.elapsed().as_secs_f64()
    );
    Ok(store)
}

fn main() -> Result<(), BoxError> {
    let args = parse_args()?;
    let started = Instant::now();
    generate(&args)?;
    eprintln!("generated in {:.2}s", started.elapsed().as_secs_f64());

    // best of LOAD_RUNS loads (the machine is shared; the peer script does the same)
    let mut load_seconds = f64::INFINITY;
    let mut loaded = None;
    for _ in 0..LOAD_RUNS {
        drop(loaded.take());
        let started = Instant::now();
        let store = load(&args.dir)?;
        load_seconds = load_seconds.min(started.elapsed().as_secs_f64());
        loaded = Some(store);
    }
    let store = loaded.ok_or("no load run")?;
    eprintln!(
        "loaded {} edges in {load_seconds:.3}s ({} MiB)",
        store.edge_count(),
        store.memory_bytes() >> 20
    );

    let mut starts = Vec::new();
    read_lines(&args.dir.join("starts.txt"), |l| {
        starts.push(l.parse::<u64>()?);
        Ok(())
    })?;
    let labels = store.label_set(&["FOLLOWS"]);
    let budget = Budget::unlimited();
    let mut expander = FrontierExpander::new();
    let mut hops_json = Vec::new();
    for k in 1..=3u32 {
        // one untimed pass warms caches, then the timed pass
        let mut best = f64::INFINITY;
        let mut total = 0usize;
        for _ in 0..2 {
            let t = Instant::now();
            total = 0;
            for &s in &starts {
                total += expander.expand(&store, &[s], k, Direction::Outgoing, &labels, &budget)?;
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        let per_second = starts.len() as f64 / best;
        eprintln!("{k}-hop: {per_second:.0} starts/s, distinct total {total}");
        hops_json.push(format!(
            "{{\"hops\":{k},\"seconds\":{best:.6},\"starts_per_second\":{per_second:.1},\"distinct_total\":{total}}}"
        ));
    }
    println!(
        "{{\"system\":\"nearstore-graph\",\"nodes\":{},\"edges\":{},\"starts\":{},\"load_seconds\":{load_seconds:.6},\"expansions\":[{}]}}",
        args.nodes,
        store.edge_count(),
        starts.len(),
        hops_json.join(",")
    );
    Ok(())
}
