//! `nearstore inspect DIR`: a read-only report of a store directory.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use nearstore::storage::{FsBackend, inspect::FileReport, inspect::inspect};
use serde_json::json;

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |n| n.to_string())
}

fn to_json(f: &FileReport) -> serde_json::Value {
    json!({
        "name": f.name, "bytes": f.bytes, "kind": f.kind, "records": f.records,
        "live_bytes": f.live_bytes, "dead_bytes": f.dead_bytes,
        "checksums_ok": f.checksums_ok, "note": f.note,
    })
}

/// Prints the report; the exit code is 2 when a checksum fails.
pub fn run(dir: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        bail!(
            "no store directory at {} (create one by opening a store there)",
            dir.display()
        );
    }
    let report =
        inspect(&FsBackend, dir).with_context(|| format!("inspecting {}", dir.display()))?;
    if as_json {
        let files: Vec<_> = report.files.iter().map(to_json).collect();
        let out =
            json!({"dir": dir, "all_checksums_ok": report.all_checksums_ok(), "files": files});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", dir.display());
        println!(
            "{:<22} {:>12} {:>9} {:>12} {:>12}  {:<9} kind / note",
            "file", "bytes", "records", "live bytes", "dead bytes", "checksums"
        );
        for f in &report.files {
            let note = f
                .note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            println!(
                "{:<22} {:>12} {:>9} {:>12} {:>12}  {:<9} {}{}",
                f.name,
                f.bytes,
                opt(f.records),
                opt(f.live_bytes),
                opt(f.dead_bytes),
                if f.checksums_ok { "ok" } else { "FAILED" },
                f.kind,
                note
            );
        }
        println!(
            "{}",
            if report.all_checksums_ok() {
                "every checksum verifies"
            } else {
                "SOME CHECKSUMS FAIL"
            }
        );
    }
    Ok(if report.all_checksums_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
