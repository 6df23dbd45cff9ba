//! End-to-end tests of the `nearstore` binary.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use nearstore::{PayloadStore, VectorStore};

fn nearstore() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nearstore"))
}

#[test]
fn help_and_version_print_and_succeed() {
    let out = nearstore().arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("inspect"));
    let out = nearstore().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn inspect_reports_records_live_dead_bytes_and_checksums() {
    let dir = tempfile::tempdir().unwrap();
    {
        let v = VectorStore::open(dir.path(), 4).unwrap();
        for id in 0..10 {
            v.store(id, &[id as f32; 4]).unwrap();
        }
        v.delete(3).unwrap();
        v.checkpoint().unwrap();
        v.store(20, &[1.0; 4]).unwrap();
        let p = PayloadStore::open(dir.path()).unwrap();
        p.store(1, &serde_json::json!({"a": 1})).unwrap();
        p.store(1, &serde_json::json!({"a": 2})).unwrap();
    }
    let out = nearstore()
        .arg("inspect")
        .arg(dir.path())
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["all_checksums_ok"], true);
    let file = |name: &str| {
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        file("vectors.idx")["records"],
        9,
        "9 live at the checkpoint"
    );
    assert_eq!(file("vectors.wal")["records"], 1, "one write after it");
    assert_eq!(file("vectors.dat")["dead_bytes"], 16, "one dead 4-d slot");
    assert_eq!(file("payloads.log")["records"], 2);
    assert!(file("payloads.log")["dead_bytes"].as_u64().unwrap() > 0);

    let table = nearstore().arg("inspect").arg(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("every checksum verifies"), "{text}");
}

#[test]
fn inspect_flags_a_damaged_file_with_exit_status_2() {
    let dir = tempfile::tempdir().unwrap();
    {
        let v = VectorStore::open(dir.path(), 4).unwrap();
        v.store(1, &[1.0; 4]).unwrap();
    }
    let idx = dir.path().join("vectors.idx");
    let mut bytes = std::fs::read(&idx).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&idx, bytes).unwrap();
    let out = nearstore().arg("inspect").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED"));
}

#[test]
fn inspect_of_a_missing_directory_is_a_clear_error() {
    let out = nearstore()
        .args(["inspect", "/nonexistent/nearstore"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store directory"));
}
