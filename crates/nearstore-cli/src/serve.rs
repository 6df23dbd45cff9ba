//! `nearstore serve`: the HTTP server (native REST API and the Qdrant-compatible subset)
//! over a database directory, until Ctrl-C / SIGTERM (then it drains and flushes).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use nearstore::Database;
use nearstore_server::{ApiKey, ServerConfig};

/// Options of `nearstore serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The database directory (created if missing).
    #[arg(long, default_value = crate::DEFAULT_DATA_DIR)]
    pub data: PathBuf,
    /// Interface to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 6333)]
    pub port: u16,
    /// A read-write API key (repeatable); with none, the server is open.
    #[arg(long = "api-key")]
    pub api_keys: Vec<String>,
    /// A read-only API key (repeatable).
    #[arg(long = "read-only-key")]
    pub read_only_keys: Vec<String>,
    /// The directory of the snapshot archives the server writes and reads (default: a
    /// sibling of the data directory, `<data dir>-snapshots`; never inside the data
    /// directory).
    #[arg(long = "snapshots-dir")]
    pub snapshots_dir: Option<PathBuf>,
}

/// Runs the server until a shutdown signal.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let db =
        Database::open(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let mut config = ServerConfig {
        host: args.host.clone(),
        port: args.port,
        snapshots_dir: args.snapshots_dir.clone(),
        ..ServerConfig::default()
    };
    config
        .api_keys
        .extend(args.api_keys.iter().map(ApiKey::read_write));
    config
        .api_keys
        .extend(args.read_only_keys.iter().map(ApiKey::read_only));
    eprintln!(
        "nearstore: serving {} (Ctrl-C to stop)",
        args.data.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(nearstore_server::serve(
        db,
        config,
        nearstore_server::shutdown_signal(),
    ))?;
    Ok(())
}
