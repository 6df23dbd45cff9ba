//! Write throughput of the operation log on the real file system, per durability pattern.
//!
//! ```sh
//! cargo build --release -p nearstore-storage --example oplog_throughput
//! flock /work/cargo.lock target/release/examples/oplog_throughput [ROUNDS]
//! ```
//!
//! Cases (512-byte operations, a fresh log in a temporary directory per case):
//! - `per_write`: `Durability::PerWrite`, one fsync per append (2,000 appends);
//! - `group_16`: `Durability::Flush`, `sync()` after every 16th append (20,000 appends): group
//!   commit;
//! - `no_sync`: `Durability::Flush`, one `sync()` at the end (200,000 appends): the append path
//!   alone.
//!
//! Prints one line per case and round: appends per second and MB/s. Only the public `OpLog`
//! API is used, so the same file measures any version of the crate.

use std::path::Path;
use std::time::Instant;

use nearstore_storage::{Durability, OpLog, fs_backend};

const OP_BYTES: usize = 512;

struct Case {
    name: &'static str,
    durability: Durability,
    appends: u64,
    /// `sync()` after every this many appends (0: only at the end).
    sync_every: u64,
}

const CASES: [Case; 3] = [
    Case {
        name: "per_write",
        durability: Durability::PerWrite,
        appends: 2_000,
        sync_every: 0,
    },
    Case {
        name: "group_16",
        durability: Durability::Flush,
        appends: 20_000,
        sync_every: 16,
    },
    Case {
        name: "no_sync",
        durability: Durability::Flush,
        appends: 200_000,
        sync_every: 0,
    },
];

fn run(case: &Case, dir: &Path) -> Result<f64, nearstore_storage::Error> {
    let backend = fs_backend();
    let path = dir.join("ops.log");
    let mut log = OpLog::open(backend.as_ref(), &path, case.durability, 1, |_, _| Ok(()))?;
    let op: Vec<u8> = (0..OP_BYTES).map(|i| (i * 7) as u8).collect();
    let start = Instant::now();
    for i in 1..=case.appends {
        log.append(&op)?;
        if case.sync_every > 0 && i % case.sync_every == 0 {
            log.sync()?;
        }
    }
    log.sync()?;
    Ok(start.elapsed().as_secs_f64())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(3);
    for round in 0..rounds {
        for case in &CASES {
            let dir = tempfile::tempdir()?;
            let secs = run(case, dir.path())?;
            let per_sec = case.appends as f64 / secs;
            let mb = per_sec * OP_BYTES as f64 / 1e6;
            println!(
                "round {round} {:<10} {:>10.0} appends/s {:>8.2} MB/s",
                case.name, per_sec, mb
            );
        }
    }
    Ok(())
}
