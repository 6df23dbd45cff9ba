//! `nearstore import --edges`: edge lists (CSV, JSONL) into a graph collection.

use std::ffi::OsStr;
use std::path::Path;

use nearstore::{Database, GraphCollectionConfig};

use crate::{nearstore, run_ok};

/// A database with the schemaless graph `g` whose nodes are 1..=4.
fn graph_with_nodes(data: &Path) {
    let db = Database::open(data).unwrap();
    let g = db
        .create_graph_collection("g", GraphCollectionConfig::schemaless())
        .unwrap();
    for id in 1..=4u64 {
        g.upsert_node_payload(id, serde_json::json!({"name": format!("n{id}")}))
            .unwrap();
    }
    g.flush().unwrap();
}

fn import(data: &Path, file: &Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<&OsStr> = vec![
        "import".as_ref(),
        file.as_os_str(),
        "-c".as_ref(),
        "g".as_ref(),
        "--edges".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
    ];
    args.extend(extra.iter().map(|a| OsStr::new(*a)));
    nearstore().args(args).output().unwrap()
}

#[test]
fn csv_and_jsonl_edge_lists_are_imported_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    graph_with_nodes(&data);
    let csv = dir.path().join("edges.csv");
    std::fs::write(
        &csv,
        "id,source,target,label,since\n1,1,2,KNOWS,2020\n2,2,3,KNOWS,2021\n3,1,3,LIKES,x\n",
    )
    .unwrap();
    let out = run_ok(&[
        "import".as_ref(),
        csv.as_os_str(),
        "-c".as_ref(),
        "g".as_ref(),
        "--edges".as_ref(),
        "--batch".as_ref(),
        "2".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
    ]);
    assert!(
        out.contains("imported 3 edges") && out.contains("now holds 3 edges"),
        "{out}"
    );
    let jsonl = dir.path().join("more.jsonl");
    std::fs::write(
        &jsonl,
        "{\"source\": 3, \"target\": 4}\n{\"source\": 4, \"target\": 1, \"label\": \"KNOWS\", \"properties\": {\"w\": 2}}\n",
    )
    .unwrap();
    let out = import(&data, &jsonl, &["--label", "FOLLOWS", "--id-start", "100"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = Database::open(&data).unwrap();
    let g = db.get_graph_collection("g").unwrap();
    assert_eq!(g.edge_count().unwrap(), 5);
    let mut from_one: Vec<(u64, u64, String)> = g
        .get_outgoing(1)
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.target, e.label))
        .collect();
    from_one.sort();
    assert_eq!(
        from_one,
        vec![(1, 2, "KNOWS".to_string()), (3, 3, "LIKES".to_string())]
    );
    let e = g.get_edge(1).unwrap().unwrap();
    assert_eq!(e.properties, serde_json::json!({"since": 2020}));
    let e = g.get_edge(100).unwrap().unwrap();
    assert_eq!((e.source, e.target, e.label.as_str()), (3, 4, "FOLLOWS"));
    let e = g.get_edge(101).unwrap().unwrap();
    assert_eq!(e.properties, serde_json::json!({"w": 2}));
}

#[test]
fn a_bad_edge_line_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    graph_with_nodes(&data);
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, "source,target,label\n1,2,A\n2,x,A\n").unwrap();
    let out = import(&data, &csv, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3") && err.contains("target"), "{err}");
    // no label anywhere
    std::fs::write(&csv, "source,target\n1,2\n").unwrap();
    let err = String::from_utf8_lossy(&import(&data, &csv, &[]).stderr).into_owned();
    assert!(err.contains("line 2") && err.contains("--label"), "{err}");
    // an edge to a node that does not exist: the engine's error, nothing of the batch written
    std::fs::write(&csv, "id,source,target,label\n1,1,2,A\n2,1,99,A\n").unwrap();
    let out = import(&data, &csv, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("99"), "{err}");
    let db = Database::open(&data).unwrap();
    assert_eq!(
        db.get_graph_collection("g").unwrap().edge_count().unwrap(),
        0
    );
}

#[test]
fn edges_into_a_missing_or_plain_collection_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    {
        let db = Database::open(&data).unwrap();
        db.create_collection("plain", 2, nearstore::DistanceMetric::Cosine)
            .unwrap();
    }
    let csv = dir.path().join("e.csv");
    std::fs::write(&csv, "source,target,label\n1,2,A\n").unwrap();
    let err = String::from_utf8_lossy(&import(&data, &csv, &[]).stderr).into_owned();
    assert!(err.contains("\"g\""), "{err}");
    let out = nearstore()
        .args([
            "import".as_ref(),
            csv.as_os_str(),
            "-c".as_ref(),
            "plain".as_ref(),
            "--edges".as_ref(),
            "--data".as_ref(),
            data.as_os_str(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plain"), "{err}");
}
