//! The Manhattan (L1) distance through both APIs: a distance like Euclid, reported as
//! such (lower is better, results ascending), named `Manhattan` by the Qdrant API and
//! `manhattan` (alias `l1`) by the native one.

use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::start;

/// `(id, score)` of each hit.
fn hits(points: &Value) -> Vec<(u64, f64)> {
    points
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_u64().unwrap(), p["score"].as_f64().unwrap()))
        .collect()
}

const POINTS: [(u64, [f32; 3]); 4] = [
    (1, [0.0, 0.0, 0.0]),
    (2, [1.0, 1.0, 1.0]),
    (3, [3.0, 0.0, 0.0]),
    (4, [0.0, -2.5, 0.0]),
];

#[tokio::test]
async fn qdrant_manhattan_collection_reports_l1_distances_ascending() {
    let s = start(ServerConfig::default()).await;
    let (st, b) = s
        .put(
            "/collections/mh",
            json!({"vectors": {"size": 3, "distance": "Manhattan"}}),
        )
        .await;
    assert_eq!(
        (st, b["result"].clone()),
        (StatusCode::OK, json!(true)),
        "{b}"
    );
    let (st, b) = s.get("/collections/mh").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        b["result"]["config"]["params"]["vectors"]["distance"], "Manhattan",
        "{b}"
    );
    let points: Vec<Value> = POINTS
        .iter()
        .map(|(id, v)| json!({"id": id, "vector": v}))
        .collect();
    let (st, b) = s
        .put(
            "/collections/mh/points?wait=true",
            json!({"points": points}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // Query [0.5, 0, 0]: L1 to 1 = 0.5, to 2 = 0.5+1+1 = 2.5, to 3 = 2.5, to 4 = 0.5+2.5 = 3.
    let (st, b) = s
        .post(
            "/collections/mh/points/search",
            json!({"vector": [0.5, 0.0, 0.0], "limit": 4}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let got = hits(&b["result"]);
    assert_eq!(got[0], (1, 0.5));
    assert_eq!(got[3], (4, 3.0));
    let mut middle: Vec<_> = got[1..3].to_vec();
    middle.sort_by_key(|h| h.0);
    assert_eq!(middle, vec![(2, 2.5), (3, 2.5)]);
    // A threshold on a distance keeps the points at most that far.
    let (st, b) = s
        .post(
            "/collections/mh/points/query",
            json!({"query": [0.5, 0.0, 0.0], "score_threshold": 1.0}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(hits(&b["result"]["points"]), vec![(1, 0.5)]);
}

#[tokio::test]
async fn native_manhattan_and_l1_names_create_the_same_metric() {
    let s = start(ServerConfig::default()).await;
    for (name, spelled) in [("a", "manhattan"), ("b", "L1")] {
        let (st, info) = s
            .post(
                "/v1/collections",
                json!({"name": name, "dim": 3, "metric": spelled}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{info}");
        assert_eq!(info["metric"], "manhattan");
    }
    let points: Vec<Value> = POINTS
        .iter()
        .map(|(id, v)| json!({"id": id, "vector": v}))
        .collect();
    let (st, b) = s
        .put("/v1/collections/a/points", json!({"points": points}))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, r) = s
        .post(
            "/v1/collections/a/search",
            json!({"vector": [0.0, -2.0, 0.0], "limit": 2}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    // L1 to 4 = 0.5, to 1 = 2.
    assert_eq!(hits(&r["results"]), vec![(4, 0.5), (1, 2.0)]);
}
