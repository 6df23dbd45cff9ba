//! `nearstore inspect DIR`: a read-only report of a database or store directory and every
//! directory under it (collections, their vector and payload stores); with `--verify`, the
//! engine's scrub of a database directory ([`nearstore::verify::verify_database`]).

use std::path::{Path, PathBuf};
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

/// `dir` and every directory below it, sorted (depth first).
fn directories(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = vec![dir.to_path_buf()];
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for d in subdirs {
        out.extend(directories(&d)?);
    }
    Ok(out)
}

/// Prints the report; the exit code is 2 when a checksum fails.
pub fn run(dir: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        bail!(
            "no database or store directory at {} (create one by opening a database there)",
            dir.display()
        );
    }
    let mut all_ok = true;
    let mut reports = Vec::new();
    for d in directories(dir)? {
        let report =
            inspect(&FsBackend, &d).with_context(|| format!("inspecting {}", d.display()))?;
        all_ok &= report.all_checksums_ok();
        if !report.files.is_empty() {
            reports.push((d, report));
        }
    }
    if as_json {
        let dirs: Vec<_> = reports
            .iter()
            .map(|(d, r)| {
                let files: Vec<_> = r.files.iter().map(to_json).collect();
                json!({"dir": d, "all_checksums_ok": r.all_checksums_ok(), "files": files})
            })
            .collect();
        // The first directory's files stay at the top level (the store layout of old).
        let files = dirs
            .first()
            .map(|d| d["files"].clone())
            .unwrap_or(json!([]));
        let out =
            json!({"dir": dir, "all_checksums_ok": all_ok, "files": files, "directories": dirs});
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(if all_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        });
    }
    for (d, report) in &reports {
        print_table(d, report);
    }
    println!(
        "{}",
        if all_ok {
            "every checksum verifies"
        } else {
            "SOME CHECKSUMS FAIL"
        }
    );
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn print_table(dir: &Path, report: &nearstore::storage::inspect::InspectReport) {
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
}

/// `inspect --verify`: prints the scrub report (text or JSON); the exit code is 2 when any
/// file is damaged.
pub fn run_verify(dir: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    if !dir.join("database.manifest").is_file() && !dir.join("collections").is_dir() {
        bail!(
            "{} is not a database directory (no database.manifest); `nearstore inspect` without \
             --verify reports store directories",
            dir.display()
        );
    }
    let report = nearstore::verify::verify_database(dir)
        .with_context(|| format!("verifying {}", dir.display()))?;
    if as_json {
        let mut out = serde_json::to_value(&report)?;
        out["clean"] = json!(report.is_clean());
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{report}");
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_exits_zero_on_a_clean_database_and_two_on_a_damaged_one() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = nearstore::Database::open(dir.path()).unwrap();
            let c = db
                .create_collection("docs", 4, nearstore::DistanceMetric::Cosine)
                .unwrap();
            let points = (0..50)
                .map(|i| nearstore::Point::new(i, vec![1.0, i as f32, 2.0, 3.0], None))
                .collect();
            c.upsert(points).unwrap();
        }
        assert_eq!(run_verify(dir.path(), false).unwrap(), ExitCode::SUCCESS);
        let data = dir.path().join("collections/docs/vectors/vectors.dat");
        let mut bytes = std::fs::read(&data).unwrap();
        bytes[4096 + 16 * 7 + 5] ^= 0x10;
        std::fs::write(&data, bytes).unwrap();
        assert_eq!(run_verify(dir.path(), true).unwrap(), ExitCode::from(2));
        let report = nearstore::verify::verify_database(dir.path()).unwrap();
        assert_eq!(report.damaged_files(), vec![data.as_path()]);
        assert!(report.to_string().contains("at byte 4208"), "{report}");
    }
}
