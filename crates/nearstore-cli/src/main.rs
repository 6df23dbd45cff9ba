//! The `nearstore` command.

mod bench;
mod inspect;
mod remote;
mod serve;
mod snapshot;
mod sql;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: with several threads allocating (the
/// background indexing, the server's workers), glibc's arenas fragment and a traversal's
/// small allocations spent a fifth of their time in `malloc` (`bench graph` 2-hop: 6.6k
/// starts/s with glibc against ~15k before the indexing moved to its own thread).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The data directory used when none is given.
pub const DEFAULT_DATA_DIR: &str = "./nearstore-data";

/// NearStore: an embedded vector database engine.
#[derive(Debug, Parser)]
#[command(name = "nearstore", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Serves the database over HTTP: the native REST API, the query language at
    /// /v1/query, and a Qdrant-compatible subset (so Qdrant clients work unchanged).
    Serve(Box<serve::ServeArgs>),
    /// Runs the query language: one statement, or an interactive shell without one.
    Sql(Box<sql::SqlArgs>),
    /// Imports points from a JSONL, CSV, .npy or .fvecs file into a collection (created when
    /// missing), or with `--edges` an edge list (CSV or JSONL) into a graph collection, with
    /// a progress bar and a summary.
    Import(Box<transfer::import::ImportArgs>),
    /// Exports a collection's points to a JSONL, CSV, .npy or .fvecs file.
    Export(Box<transfer::export::ExportArgs>),
    /// Writes a consistent snapshot of a whole database (every collection, the aliases)
    /// into one archive file, with a progress line.
    Snapshot(snapshot::SnapshotArgs),
    /// Replaces a database with a snapshot archive (verified block by block before
    /// anything is replaced), with a progress line.
    Restore(snapshot::RestoreArgs),
    /// Lists a store directory's files with their records, live and dead bytes, and whether
    /// every checksum verifies (read-only; exits with status 2 if any does not).
    Inspect {
        /// The store directory.
        #[arg(default_value = DEFAULT_DATA_DIR)]
        dir: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Scrub a database directory: read every file, verify every checksum and
        /// cross-check, and report damage per file with offsets ("no damage" when clean;
        /// exit status 2 when anything is damaged).
        #[arg(long)]
        verify: bool,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Builds an HNSW index from .fvecs data and reports build time, memory, and recall@10,
    /// QPS and latency per ef (one search thread), checkpoint reload, and filtered search.
    Ann(Box<bench::ann::AnnArgs>),
    /// Loads a data set with payloads into a collection on disk and reports load, close and
    /// reopen times, recall and QPS, and filtered search by every value of a payload field
    /// (recall against the exact filtered answer, per selectivity band).
    Collection(Box<bench::collection::CollectionArgs>),
    /// Loads a JSON-lines corpus with one text field and reports indexing throughput, index
    /// bytes, BM25 exactness against a ground truth (top-10 ids, score error) and
    /// single-thread QPS at k = 10; `--compare-load` times a bulk load with text on vs off;
    /// `--hybrid` reports recall@10 and latency of dense, BM25 and fused (RRF, relative
    /// score, DBSF) searches.
    Text(Box<bench::text::TextArgs>),
    /// Generates SPLADE-like sparse vectors (Zipf-distributed dimensions, fixed seed), bulk
    /// loads them through the engine and reports load throughput, the sparse index's bytes
    /// on disk, single-thread exact top-10 QPS, and exactness of a sample against a
    /// brute-force dot product.
    Sparse(Box<bench::sparse::SparseArgs>),
    /// Writes agent memories (synthetic embeddings with content, timestamp and importance)
    /// one `stream_insert` at a time into a collection with streaming ingest on, and
    /// reports the ingest rate, time to visibility (p50/p99), recall latency (p50/p99) and
    /// recall@10, and peak RSS.
    Memory(Box<bench::memory::MemoryArgs>),
    /// Generates a power-law "follows" graph (node payloads and embeddings, fixed seed),
    /// writes it as CSV (for a peer engine: `bench/graph_peers.sh`), loads it into a graph
    /// collection and reports load time (until durable) and 1-, 2-, 3-hop expansion
    /// throughput through the engine, as one JSON object.
    Graph(Box<bench::graph::GraphArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { dir, json, verify } => {
            if verify {
                inspect::run_verify(&dir, json)
            } else {
                inspect::run(&dir, json)
            }
        }
        Command::Snapshot(args) => snapshot::run_snapshot(&args).map(|()| ExitCode::SUCCESS),
        Command::Restore(args) => snapshot::run_restore(&args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => serve::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Sql(args) => sql::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Import(args) => transfer::import::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Export(args) => transfer::export::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Bench(BenchCommand::Ann(args)) => {
            bench::ann::run_ann(&args).map(|()| ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Collection(args)) => {
            bench::collection::run_collection(&args).map(|()| ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Text(args)) => {
            bench::text::run_text(&args).map(|()| ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Sparse(args)) => {
            bench::sparse::run_sparse(&args).map(|()| ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Memory(args)) => {
            bench::memory::run_memory(&args).map(|()| ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Graph(args)) => {
            bench::graph::run_graph(&args).map(|()| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
