//! End-to-end tests of the `nearstore` binary.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bench_fusion_sparse;
mod bench_memory;
mod import_edges;
mod snapshot;

use std::process::Command;

use nearstore::storage::{PayloadStore, VectorStore};

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
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database or store directory"));
}

/// Writes rows in the TEXMEX layout (i32 count, then 4-byte values).
fn write_texmex<T: Copy>(path: &std::path::Path, rows: &[Vec<T>], bytes: fn(T) -> [u8; 4]) {
    let mut out = Vec::new();
    for r in rows {
        out.extend_from_slice(&(r.len() as i32).to_le_bytes());
        for &x in r {
            out.extend_from_slice(&bytes(x));
        }
    }
    std::fs::write(path, out).unwrap();
}

/// A 2,000 x 16 random data set with its exact L2 neighbours, in TEXMEX files.
fn small_l2_set() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let base = nearstore_testkit::random_vectors(2000, 16, 1);
    let queries = nearstore_testkit::random_vectors(50, 16, 2);
    let truth: Vec<Vec<i32>> = queries
        .iter()
        .map(|q| {
            let mut d: Vec<(f32, i32)> = base
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    (
                        v.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum(),
                        i as i32,
                    )
                })
                .collect();
            d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            d.iter().take(10).map(|x| x.1).collect()
        })
        .collect();
    write_texmex(&dir.path().join("base.fvecs"), &base, f32::to_le_bytes);
    write_texmex(&dir.path().join("query.fvecs"), &queries, f32::to_le_bytes);
    write_texmex(
        &dir.path().join("groundtruth.ivecs"),
        &truth,
        i32::to_le_bytes,
    );
    dir
}

#[test]
fn bench_ann_runs_the_passes_stdin_asks_for() {
    use std::io::Write;
    let dir = small_l2_set();
    let run = |commands: &str| {
        let mut child = nearstore()
            .args(["bench", "ann", "--metric", "l2", "--ef", "32"])
            .args(["--json", "--passes-from-stdin", "--dataset"])
            .arg(dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(commands.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("pass 32\npass 64\npass 32\ndone\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "ready, three passes, the report: {lines:?}");
    assert_eq!(lines[0]["ready"], true);
    let efs: Vec<_> = lines[1..4].iter().map(|l| l["ef"].as_u64()).collect();
    assert_eq!(
        efs,
        [Some(32), Some(64), Some(32)],
        "one answer a pass, in order"
    );
    let runs = &lines[4]["runs"];
    assert_eq!(runs[0]["ef"], 32);
    assert_eq!(runs[0]["passes"], 2, "the two passes at ef 32 make one run");
    let fastest = lines[1]["qps"]
        .as_f64()
        .unwrap()
        .max(lines[3]["qps"].as_f64().unwrap());
    assert_eq!(
        runs[0]["qps"].as_f64(),
        Some(fastest),
        "its fastest pass is reported"
    );
    assert_eq!(runs[1]["ef"], 64);
    assert_eq!(runs[1]["passes"], 1);
    assert!(runs[1]["recall_at_10"].as_f64().unwrap() >= 0.95);

    for (bad, says) in [("pass 0\n", "positive ef"), ("sweep\n", "unknown command")] {
        let out = run(bad);
        assert!(!out.status.success(), "{bad:?} is refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{bad:?}: {err}");
    }
}

#[test]
fn bench_ann_reports_recall_and_reload_on_a_small_data_set() {
    let dir = small_l2_set();
    let out = nearstore()
        .args([
            "bench",
            "ann",
            "--metric",
            "l2",
            "--ef",
            "64",
            "--repeats",
            "3",
            "--json",
            "--filter-selectivity",
            "0.05",
        ])
        .arg("--dataset")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["n"], 2000);
    let recall = report["runs"][0]["recall_at_10"].as_f64().unwrap();
    assert!(recall >= 0.95, "recall {recall}");
    assert_eq!(
        report["runs"][0]["passes"], 3,
        "--repeats sets the timed passes"
    );
    assert_eq!(report["reload"]["identical_results"], true);
    assert_eq!(report["filtered"][0]["short_results"], 0);
}

#[test]
fn bench_collection_runs_a_quantized_collection() {
    let dir = tempfile::tempdir().unwrap();
    let base = nearstore_testkit::random_vectors(1500, 16, 3);
    let queries = nearstore_testkit::random_vectors(30, 16, 4);
    let truth: Vec<Vec<i32>> = queries
        .iter()
        .map(|q| {
            let mut d: Vec<(f32, i32)> = base
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let dot: f32 = v.iter().zip(q).map(|(a, b)| a * b).sum();
                    let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt()
                        * q.iter().map(|a| a * a).sum::<f32>().sqrt();
                    (-dot / norm, i as i32)
                })
                .collect();
            d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            d.iter().take(10).map(|x| x.1).collect()
        })
        .collect();
    write_texmex(&dir.path().join("base.fvecs"), &base, f32::to_le_bytes);
    write_texmex(&dir.path().join("query.fvecs"), &queries, f32::to_le_bytes);
    write_texmex(
        &dir.path().join("groundtruth.ivecs"),
        &truth,
        i32::to_le_bytes,
    );
    let payloads: String = (0..base.len())
        .map(|i| format!("{{\"category\": \"c{}\", \"pos\": \"n\"}}\n", i % 3))
        .collect();
    std::fs::write(dir.path().join("base.jsonl"), payloads).unwrap();
    let out = nearstore()
        .args(["bench", "collection", "--json", "--storage-mode", "sq8"])
        .arg("--dataset")
        .arg(dir.path())
        .arg("--data")
        .arg(dir.path().join("db"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["storage_mode"], "sq8");
    let db = nearstore::Database::open(dir.path().join("db")).unwrap();
    let c = db.get_vector_collection("bench").unwrap();
    assert_eq!(c.config().storage_mode, nearstore::StorageMode::Sq8);
    assert!(c.quantizer_trained(), "1500 points: trained while loading");
    let recall = report["runs"][2]["recall_at_10"].as_f64().unwrap();
    assert!(recall >= 0.9, "accurate recall {recall}");
    let out = nearstore()
        .args(["bench", "collection", "--storage-mode", "zip"])
        .arg("--dataset")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("storage mode"));
}

#[test]
fn bench_ann_with_a_missing_data_set_is_a_clear_error() {
    let out = nearstore()
        .args(["bench", "ann", "--dataset", "/nonexistent/set"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("base vectors"));
}

fn run_ok(args: &[&std::ffi::OsStr]) -> String {
    let out = nearstore().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn all_points(data: &std::path::Path, name: &str) -> Vec<nearstore::Point> {
    let db = nearstore::Database::open(data).unwrap();
    let c = db.get_vector_collection(name).unwrap();
    c.scroll(None, 10_000, None).unwrap().points
}

#[test]
fn import_and_export_round_trip_through_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let jsonl = dir.path().join("in.jsonl");
    let mut text = String::new();
    for id in 0..50u64 {
        let v = serde_json::json!({"id": id, "vector": [id as f32, 1.5, -2.0],
            "payload": {"lang": if id % 2 == 0 { "en" } else { "fr" }, "n": id}});
        text.push_str(&format!("{v}\n"));
    }
    std::fs::write(&jsonl, text).unwrap();
    let out = run_ok(&[
        "import".as_ref(),
        jsonl.as_os_str(),
        "-c".as_ref(),
        "docs".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
    ]);
    assert!(
        out.contains("imported 50 points") && out.contains("3-d"),
        "{out}"
    );
    let original = all_points(&data, "docs");
    assert_eq!(original.len(), 50);
    assert_eq!(
        original[7].payload,
        Some(serde_json::json!({"lang": "fr", "n": 7}))
    );

    for ext in ["jsonl", "csv", "npy", "fvecs"] {
        let file = dir.path().join(format!("out.{ext}"));
        let out = run_ok(&[
            "export".as_ref(),
            file.as_os_str(),
            "-c".as_ref(),
            "docs".as_ref(),
            "--data".as_ref(),
            data.as_os_str(),
        ]);
        assert!(out.contains("exported 50 points"), "{out}");
        let back = format!("back_{ext}");
        run_ok(&[
            "import".as_ref(),
            file.as_os_str(),
            "-c".as_ref(),
            back.as_ref(),
            "--data".as_ref(),
            data.as_os_str(),
            "--metric".as_ref(),
            "l2".as_ref(),
        ]);
        let copy = all_points(&data, &back);
        assert_eq!(copy.len(), 50, "{ext}");
        for (a, b) in original.iter().zip(&copy) {
            assert_eq!((a.id, &a.vector), (b.id, &b.vector), "{ext}");
            if ext == "jsonl" || ext == "csv" {
                assert_eq!(a.payload, b.payload, "{ext}");
            }
        }
    }
}

#[test]
fn import_creates_a_quantized_collection_and_checks_an_existing_ones_mode() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let jsonl = dir.path().join("in.jsonl");
    let mut text = String::new();
    for id in 0..40u64 {
        let v = serde_json::json!({"id": id, "vector": [id as f32, 1.5, -2.0, 0.25]});
        text.push_str(&format!("{v}\n"));
    }
    std::fs::write(&jsonl, text).unwrap();
    let import = |mode: &str| {
        nearstore()
            .args([
                "import".as_ref(),
                jsonl.as_os_str(),
                "-c".as_ref(),
                "q".as_ref(),
                "--data".as_ref(),
                data.as_os_str(),
                "--storage-mode".as_ref(),
                mode.as_ref(),
            ])
            .output()
            .unwrap()
    };
    let out = import("sq8");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    {
        let db = nearstore::Database::open(&data).unwrap();
        let c = db.get_vector_collection("q").unwrap();
        assert_eq!(c.config().storage_mode, nearstore::StorageMode::Sq8);
        assert_eq!(c.len(), 40);
    }
    // Importing again into it with the same mode works; another mode is refused.
    assert!(import("SQ8").status.success());
    for (mode, needle) in [
        ("pq", "exists with storage mode sq8"),
        ("opq", "storage mode"),
    ] {
        let out = import(mode);
        assert!(!out.status.success(), "{mode}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{mode}: {err}");
    }
}

#[test]
fn a_damaged_vector_file_is_an_error_naming_the_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![vec![1.0f32, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]];
    let fvecs = dir.path().join("cut.fvecs");
    write_texmex(&fvecs, &rows, f32::to_le_bytes);
    let mut bytes = std::fs::read(&fvecs).unwrap();
    bytes.truncate(bytes.len() - 2);
    std::fs::write(&fvecs, bytes).unwrap();
    let out = nearstore()
        .args([
            "import".as_ref(),
            fvecs.as_os_str(),
            "-c".as_ref(),
            "c".as_ref(),
            "--data".as_ref(),
            dir.path().join("db").as_os_str(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // The third row's header is at byte 24 (two rows of 4 + 2 * 4 bytes before it).
    assert!(
        err.contains("cut.fvecs") && err.contains("at byte 24"),
        "{err}"
    );
}

#[test]
fn a_bad_import_file_is_a_clear_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("bad.jsonl");
    std::fs::write(
        &jsonl,
        "{\"id\": 1, \"vector\": [1.0]}\n{\"id\": 2, \"vector\": \"x\"}\n",
    )
    .unwrap();
    let out = nearstore()
        .args([
            "import".as_ref(),
            jsonl.as_os_str(),
            "-c".as_ref(),
            "c".as_ref(),
            "--data".as_ref(),
            dir.path().join("db").as_os_str(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("vector"), "{err}");
}

#[test]
fn inspect_walks_a_database_and_flags_a_damaged_manifest() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = nearstore::Database::open(dir.path()).unwrap();
        let c = db
            .create_collection("docs", 2, nearstore::DistanceMetric::Cosine)
            .unwrap();
        c.upsert(vec![nearstore::Point::new(1, vec![1.0, 0.0], None)])
            .unwrap();
    }
    let out = run_ok(&["inspect".as_ref(), dir.path().as_os_str()]);
    for expected in [
        "database.manifest",
        "collection.manifest",
        "hnsw.index",
        "ops.log",
        "payloads.log",
        "vectors.dat",
    ] {
        assert!(out.contains(expected), "{expected} in {out}");
    }
    let manifest = dir.path().join("collections/docs/collection.manifest");
    let mut bytes = std::fs::read(&manifest).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x20;
    std::fs::write(&manifest, bytes).unwrap();
    let out = nearstore().arg("inspect").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED"));
}

#[test]
fn sql_runs_one_statement_as_a_table_or_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let sql = |stmt: &str, extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> =
            vec!["sql".as_ref(), "--data".as_ref(), data.as_os_str()];
        args.extend(extra.iter().map(|s| s.as_ref() as &std::ffi::OsStr));
        args.push(stmt.as_ref());
        run_ok(&args)
    };
    sql(
        "CREATE COLLECTION docs (dimension = 2, metric = 'cosine')",
        &[],
    );
    sql(
        "INSERT INTO docs (id, vector, lang) VALUES (1, [1, 0], 'en'), (2, [0, 1], 'fr')",
        &[],
    );
    let table = sql(
        "SELECT id, lang FROM docs WHERE vector NEAR $v LIMIT 2",
        &["--params", r#"{"v": [1, 0.1]}"#],
    );
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "| id | lang |", "{table}");
    assert_eq!(lines[2], "| 1  | en   |", "{table}");
    assert_eq!(lines.last(), Some(&"(2 rows)"));
    let json = sql("SELECT COUNT(*) AS n FROM docs", &["--json"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v, serde_json::json!({"rows": [{"n": 2}]}));
    let out = nearstore()
        .args([
            "sql".as_ref(),
            "--data".as_ref(),
            data.as_os_str(),
            "SELECT * FORM docs".as_ref(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 1, column 10") && err.contains("^^^^"),
        "{err}"
    );
}

/// `nearstore sql --json` prints the reference engine's result shapes, so ported programs
/// read the same keys.
#[test]
fn sql_prints_the_reference_result_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let sql = |stmt: &str| -> serde_json::Value {
        let out = run_ok(&[
            "sql".as_ref(),
            "--data".as_ref(),
            data.as_os_str(),
            "--json".as_ref(),
            stmt.as_ref(),
        ]);
        serde_json::from_str(out.trim()).unwrap()
    };
    sql("CREATE COLLECTION docs (dimension = 2, metric = 'cosine')");
    sql(
        "INSERT INTO docs (id, vector, price) VALUES (1, [1, 0], 2), (2, [0, 1], 4), (3, [1, 1], 9)",
    );
    let rows =
        &sql("SELECT COUNT(*), SUM(price), AVG(price), MIN(price), MAX(price) FROM docs")["rows"];
    let row = rows[0].as_object().unwrap();
    let mut keys: Vec<&str> = row.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["avg_price", "count", "max_price", "min_price", "sum_price"],
        "{rows}"
    );
    assert_eq!(row["count"], 3, "{rows}");
    assert_eq!(row["sum_price"], 15, "{rows}");
    let described = &sql("DESCRIBE docs")["rows"][0];
    assert_eq!(described["type"], "vector", "{described}");
    assert_eq!(described["points"], 3, "{described}");
    assert_eq!(
        sql("CREATE INDEX ON docs (price)")["rows"],
        serde_json::json!([])
    );
    // EXPLAIN: one row whose `plan` is a tree; ANALYZE adds actual rows and time per node.
    let explained =
        &sql("EXPLAIN SELECT id FROM docs WHERE price > 3 ORDER BY price LIMIT 2")["rows"];
    assert_eq!(explained.as_array().map(Vec::len), Some(1), "{explained}");
    let plan = &explained[0]["plan"];
    assert_eq!(plan["node"], "Limit", "{plan}");
    let sort = &plan["children"][0];
    assert_eq!(sort["node"], "Sort", "{plan}");
    let scan = &sort["children"][0];
    assert_eq!(scan["node"], "Scan", "{plan}");
    for node in [plan, sort, scan] {
        assert!(node["strategy"].is_string(), "{node}");
        assert!(
            node["estimated_rows"].is_u64() && node["estimated_cost"].is_u64(),
            "{node}"
        );
        assert!(node.get("actual_rows").is_none(), "{node}");
    }
    let analyzed =
        &sql("EXPLAIN ANALYZE SELECT id FROM docs WHERE price > 3 ORDER BY price LIMIT 2")["rows"]
            [0]["plan"];
    assert_eq!(analyzed["actual_rows"], 2, "{analyzed}");
    assert_eq!(
        analyzed["children"][0]["children"][0]["actual_rows"], 2,
        "{analyzed}"
    );
    assert!(analyzed["actual_time_ms"].is_number(), "{analyzed}");
    // The table form prints the tree, a node a line, children indented.
    let printed = run_ok(&[
        "sql".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "EXPLAIN ANALYZE SELECT id FROM docs WHERE price > 3 ORDER BY price LIMIT 2".as_ref(),
    ]);
    let lines: Vec<&str> = printed.lines().collect();
    assert!(
        lines[0].starts_with("Limit [offset 0, limit 2] (est. rows"),
        "{printed}"
    );
    assert!(lines[0].contains("actual rows 2"), "{printed}");
    assert!(
        lines.iter().any(|l| l.starts_with("└─ Sort [price]")),
        "{printed}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("   └─ Scan [docs")),
        "{printed}"
    );
    assert!(!printed.contains("(1 row)"), "not a table: {printed}");
    let flushed = &sql("FLUSH FULL docs")["rows"][0];
    assert_eq!(flushed["status"], "ok", "{flushed}");
    assert_eq!(flushed["full"], true, "{flushed}");
    let truncated = &sql("TRUNCATE docs")["rows"][0];
    assert_eq!(truncated["deleted_count"], 3, "{truncated}");
    assert_eq!(sql("SELECT COUNT(*) FROM docs")["rows"][0]["count"], 0);
}

#[test]
fn serve_answers_http_and_the_sql_command_can_use_it() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut server = nearstore()
        .args([
            "serve".as_ref(),
            "--port".as_ref(),
            "0".as_ref(),
            "--data".as_ref(),
            dir.path().as_os_str(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = server.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        if let Some(a) = line.strip_prefix("listening on ") {
            break a.to_string();
        }
    };
    let url = format!("http://{addr}");
    let run = |stmt: &str| {
        run_ok(&[
            "sql".as_ref(),
            "--url".as_ref(),
            url.as_ref(),
            "--json".as_ref(),
            stmt.as_ref(),
        ])
    };
    run("CREATE COLLECTION docs (dimension = 2)");
    run("INSERT INTO docs (id, vector, lang) VALUES (7, [1, 0], 'en')");
    let out = run("SELECT id, lang FROM docs");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v, serde_json::json!({"rows": [{"id": 7, "lang": "en"}]}));
    // import / export through the server too
    let jsonl = dir.path().join("in.jsonl");
    std::fs::write(&jsonl, "{\"id\": 1, \"vector\": [0.5, 0.5], \"payload\": {\"k\": 1}}\n{\"id\": 2, \"vector\": [1, 2]}\n").unwrap();
    let out = run_ok(&[
        "import".as_ref(),
        jsonl.as_os_str(),
        "-c".as_ref(),
        "remote".as_ref(),
        "--url".as_ref(),
        url.as_ref(),
    ]);
    assert!(
        out.contains("imported 2 points") && out.contains("(created)"),
        "{out}"
    );
    let exported = dir.path().join("out.jsonl");
    let out = run_ok(&[
        "export".as_ref(),
        exported.as_os_str(),
        "-c".as_ref(),
        "remote".as_ref(),
        "--url".as_ref(),
        url.as_ref(),
    ]);
    assert!(out.contains("exported 2 points"), "{out}");
    let text = std::fs::read_to_string(&exported).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        first,
        serde_json::json!({"id": 1, "vector": [0.5, 0.5], "payload": {"k": 1}})
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
