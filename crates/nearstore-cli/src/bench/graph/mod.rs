//! `nearstore bench graph`: the graph benchmark. Generates a power-law "follows" graph with
//! node payloads and embeddings ([`generate`]), writes it as CSV for a peer engine
//! (`bench/graph_peers.sh` loads the same files into kuzu), and prints one JSON object with
//! the figures the peer script compares.
//!
//! Must not depend on anything but the engine's public API and the generator.

pub mod generate;

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde_json::json;

use generate::{GraphSpec, SocialGraph};

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
    /// Write the graph as CSV into this directory (for a peer engine).
    #[arg(long)]
    pub csv: Option<PathBuf>,
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
    let started = Instant::now();
    let graph = SocialGraph::generate(args.spec())?;
    eprintln!(
        "generated {} nodes, {} edges in {:.2}s",
        args.nodes,
        graph.edges.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(dir) = &args.csv {
        graph.write_csv(dir)?;
    }
    println!(
        "{}",
        json!({
            "system": "nearstore",
            "nodes": args.nodes,
            "edges": graph.edges.len(),
            "dim": args.dim,
            "starts": graph.starts.len(),
        })
    );
    Ok(())
}
