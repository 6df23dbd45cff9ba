//! `nearstore snapshot <data-dir> <out>` and `nearstore restore <snapshot> <data-dir>`: a
//! consistent snapshot of a whole database as ONE archive file, and a database replaced by
//! one, through the same code as the server's `POST /v1/snapshot` / `POST /v1/restore`
//! (`nearstore_server::snapshots`: the engine's snapshot directory, packed and unpacked by
//! the storage crate with every block checked, the working directory beside the archive
//! and removed afterwards). The archive must be outside the data directory (compared
//! canonically: symbolic links and `..` resolved).
//!
//! Progress goes to stderr, one line per phase (`snapshot`, `archive`; `unpack`,
//! `restore`), rewritten in place: `snapshot: 37% (12.0 of 32.4 MiB)`; a summary line
//! goes to stdout.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use nearstore::Database;
use nearstore::storage::snapshot::Progress;
use nearstore_server::snapshots;

/// `nearstore snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The database directory (not opened by another process: the snapshot opens it).
    pub data_dir: PathBuf,
    /// The archive file to write (must not exist).
    pub out: PathBuf,
}

/// `nearstore restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// An archive written by `nearstore snapshot`.
    pub snapshot: PathBuf,
    /// The database directory to replace (created when missing; not opened by another
    /// process).
    pub data_dir: PathBuf,
}

/// Prints each phase's progress to stderr, one line per phase, rewritten when its whole
/// percentage changes.
#[derive(Default)]
struct ProgressLines {
    phase: Option<&'static str>,
    shown: Option<u64>,
}

impl ProgressLines {
    fn update(&mut self, phase: &'static str, p: Progress) {
        if self.phase != Some(phase) {
            if self.phase.is_some() {
                eprintln!();
            }
            self.phase = Some(phase);
            self.shown = None;
        }
        let percent = (p.bytes_done * 100)
            .checked_div(p.bytes_total)
            .unwrap_or(100);
        if self.shown == Some(percent) {
            return;
        }
        self.shown = Some(percent);
        let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
        eprint!(
            "\r{phase}: {percent}% ({:.1} of {:.1} MiB)",
            mib(p.bytes_done),
            mib(p.bytes_total)
        );
        // Best effort: progress is decoration.
        let _ = std::io::stderr().flush();
    }

    fn finish(self) {
        if self.phase.is_some() {
            eprintln!();
        }
    }
}

/// `nearstore snapshot <data-dir> <out>`.
pub fn run_snapshot(args: &SnapshotArgs) -> Result<()> {
    if !args.data_dir.is_dir() {
        bail!("{} is not a database directory", args.data_dir.display());
    }
    let db = Database::open(&args.data_dir)
        .with_context(|| format!("opening {}", args.data_dir.display()))?;
    let out = std::path::absolute(&args.out)?;
    let mut lines = ProgressLines::default();
    let made = snapshots::snapshot_database_to(&db, &out, &mut |phase, p| lines.update(phase, p));
    lines.finish();
    let made = made?;
    println!(
        "snapshot of {} collection(s): {} bytes, sha256 {} -> {}",
        db.list_collections().len(),
        made.size,
        snapshots::sha256_hex(&out)?,
        args.out.display()
    );
    Ok(())
}

/// `nearstore restore <snapshot> <data-dir>`.
pub fn run_restore(args: &RestoreArgs) -> Result<()> {
    let db = Database::open(&args.data_dir)
        .with_context(|| format!("opening {}", args.data_dir.display()))?;
    let archive = std::path::absolute(&args.snapshot)?;
    let mut lines = ProgressLines::default();
    let restored =
        snapshots::restore_database_from(&db, &archive, &mut |phase, p| lines.update(phase, p));
    lines.finish();
    let info = restored.with_context(|| format!("restoring {}", args.snapshot.display()))?;
    println!(
        "restored {} collection(s) into {}: {} files, {} bytes",
        info.collections.len(),
        args.data_dir.display(),
        info.files,
        info.bytes
    );
    Ok(())
}
