//! Sparse vectors over the Qdrant API: declared at creation, carried by points (points and
//! batch forms), returned by `with_vector`, searched alone (`using`) and fused with the
//! dense vector through prefetches, each search one engine request.

use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, error_message, start};

fn ok(st: StatusCode, body: &Value) -> Value {
    assert_eq!(st, StatusCode::OK, "{body}");
    body["result"].clone()
}

fn hits(points: &Value) -> Vec<(u64, f64)> {
    points
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_u64().unwrap(), p["score"].as_f64().unwrap()))
        .collect()
}

/// Collection `h`: dense 2-d (Dot) + sparse `s` and `t` (IDF); points 1..=4.
async fn hybrid(s: &TestServer) {
    let (st, b) = s
        .put(
            "/collections/h",
            json!({
                "vectors": {"size": 2, "distance": "Dot"},
                "sparse_vectors": {"s": {}, "t": {"modifier": "idf", "index": {"on_disk": false}}},
            }),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .put(
            "/collections/h/points?wait=true",
            json!({"points": [
                {"id": 1, "vector": {"": [1.0, 0.0], "s": {"indices": [1, 7], "values": [1.0, 0.5]}}},
                {"id": 2, "vector": {"": [0.9, 0.1], "s": {"indices": [7], "values": [2.0]}}},
                {"id": 3, "vector": [0.0, 1.0]},
            ]}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .put(
            "/collections/h/points?wait=true",
            json!({"batch": {
                "ids": [4],
                "vectors": {"": [[0.5, 0.5]], "s": [{"indices": [1], "values": [3.0]}]},
                "payloads": [{"k": "four"}],
            }}),
        )
        .await;
    ok(st, &b);
}

#[tokio::test]
async fn sparse_vectors_are_declared_stored_and_returned() {
    let s = start(ServerConfig::default()).await;
    hybrid(&s).await;
    let (st, b) = s.get("/collections/h").await;
    let sparse = ok(st, &b)["config"]["params"]["sparse_vectors"].clone();
    assert_eq!(
        sparse,
        json!({"s": {"modifier": "none"}, "t": {"modifier": "idf"}}),
        "{b}"
    );
    let (st, b) = s
        .post(
            "/collections/h/points",
            json!({"ids": [1, 3], "with_vector": true}),
        )
        .await;
    let got = ok(st, &b);
    assert_eq!(
        got[0]["vector"],
        json!({"": [1.0, 0.0], "s": {"indices": [1, 7], "values": [1.0, 0.5]}}),
        "{b}"
    );
    // A point with only the unnamed vector comes back as a list.
    assert_eq!(got[1]["vector"], json!([0.0, 1.0]), "{b}");
    let (st, b) = s
        .post(
            "/collections/h/points",
            json!({"ids": [4], "with_vector": ["s"]}),
        )
        .await;
    assert_eq!(
        ok(st, &b)[0]["vector"],
        json!({"s": {"indices": [1], "values": [3.0]}}),
        "{b}"
    );
    // A sparse name the collection did not declare is refused, and nothing is written.
    let (st, b) = s
        .put(
            "/collections/h/points?wait=true",
            json!({"points": [{"id": 9, "vector": {"": [1.0, 0.0], "zz": {"indices": [1], "values": [1.0]}}}]}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let (st, b) = s.post("/collections/h/points/count", json!({})).await;
    assert_eq!(ok(st, &b)["count"], json!(4));
    // Bad sparse vectors: lengths that differ.
    let (st, b) = s
        .put(
            "/collections/h/points",
            json!({"points": [{"id": 9, "vector": {"": [1.0, 0.0], "s": {"indices": [1, 2], "values": [1.0]}}}]}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn a_sparse_query_ranks_by_dot_product() {
    let s = start(ServerConfig::default()).await;
    hybrid(&s).await;
    let sparse_q = json!({"indices": [1, 7], "values": [1.0, 1.0]});
    // Dot products: 1 -> 1.5, 2 -> 2.0, 4 -> 3.0; 3 has no sparse vector.
    let want = vec![(4, 3.0), (2, 2.0), (1, 1.5)];
    let (st, b) = s
        .post(
            "/collections/h/points/query",
            json!({"query": sparse_q, "using": "s", "limit": 10}),
        )
        .await;
    assert_eq!(hits(&ok(st, &b)["points"]), want, "{b}");
    let (st, b) = s
        .post(
            "/collections/h/points/query",
            json!({"query": {"nearest": sparse_q}, "using": "s", "limit": 2}),
        )
        .await;
    assert_eq!(hits(&ok(st, &b)["points"]), want[..2].to_vec(), "{b}");
    let (st, b) = s
        .post(
            "/collections/h/points/search",
            json!({"vector": {"name": "s", "vector": sparse_q}, "limit": 10,
                   "filter": {"must_not": [{"has_id": [4]}]}}),
        )
        .await;
    assert_eq!(hits(&ok(st, &b)), want[1..].to_vec(), "{b}");
    let (st, b) = s
        .post(
            "/collections/h/points/query",
            json!({"query": sparse_q, "using": "nope"}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert!(error_message(&b).contains("nope"), "{b}");
}

#[tokio::test]
async fn dense_and_sparse_prefetches_fuse_in_one_request() {
    let s = start(ServerConfig::default()).await;
    hybrid(&s).await;
    // Dense [1, 0]: 1 (1.0), 2 (0.9), 4 (0.5), 3 (0.0). Sparse {7: 1}: 2 (2.0), 1 (0.5).
    let (st, b) = s
        .post(
            "/collections/h/points/query",
            json!({
                "prefetch": [
                    {"query": [1.0, 0.0], "limit": 3},
                    {"query": {"indices": [7], "values": [1.0]}, "using": "s", "limit": 3},
                ],
                "query": {"fusion": "rrf"},
                "limit": 3,
            }),
        )
        .await;
    let got = hits(&ok(st, &b)["points"]);
    // 1: 1/61 + 1/62; 2: 1/62 + 1/61; 4: 1/63. Ties broken by id.
    let expect = [
        (1, 1.0 / 61.0 + 1.0 / 62.0),
        (2, 1.0 / 62.0 + 1.0 / 61.0),
        (4, 1.0 / 63.0),
    ];
    assert_eq!(got.len(), 3, "{b}");
    for ((id, score), (want_id, want_score)) in got.iter().zip(expect) {
        assert_eq!(*id, want_id, "{b}");
        assert!((score - want_score).abs() < 1e-6, "{b}");
    }
    let (st, b) = s
        .post(
            "/collections/h/points/query",
            json!({
                "prefetch": [
                    {"query": [1.0, 0.0], "limit": 4},
                    {"query": {"indices": [7], "values": [1.0]}, "using": "s", "limit": 4},
                ],
                "query": {"fusion": "dbsf"},
                "limit": 4,
                "with_payload": true,
                "with_vector": ["s"],
            }),
        )
        .await;
    let result = ok(st, &b);
    let points = result["points"].as_array().unwrap();
    assert_eq!(points.len(), 4, "{b}");
    assert!(
        points
            .windows(2)
            .all(|w| w[0]["score"].as_f64() >= w[1]["score"].as_f64()),
        "{b}"
    );
    let four = points.iter().find(|p| p["id"] == json!(4)).unwrap();
    assert_eq!(four["payload"], json!({"k": "four"}), "{b}");
    assert_eq!(
        four["vector"],
        json!({"s": {"indices": [1], "values": [3.0]}}),
        "{b}"
    );
}

#[tokio::test]
async fn named_dense_vectors_are_created_written_searched_and_returned() {
    let s = start(ServerConfig::default()).await;
    let (st, b) = s
        .put(
            "/collections/nd",
            json!({"vectors": {
                "": {"size": 2, "distance": "Dot"},
                "image": {"size": 3, "distance": "Euclid", "hnsw_config": {"m": 8}},
            }}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s.get("/collections/nd").await;
    let vectors = ok(st, &b)["config"]["params"]["vectors"].clone();
    assert_eq!(vectors[""]["size"], json!(2), "{vectors}");
    assert_eq!(vectors["image"]["size"], json!(3), "{vectors}");
    assert_eq!(vectors["image"]["distance"], json!("Euclid"), "{vectors}");
    let (st, b) = s
        .put(
            "/collections/nd/points?wait=true",
            json!({"points": [
                {"id": 1, "vector": {"": [1.0, 0.0], "image": [0.0, 0.0, 0.0]}},
                {"id": 2, "vector": {"": [0.0, 1.0], "image": [1.0, 1.0, 1.0]}},
                {"id": 3, "vector": [0.5, 0.5]},
            ]}),
        )
        .await;
    ok(st, &b);
    // Euclid on "image": 2 is nearest to [1, 1, 1]; 3 has no image vector.
    let (st, b) = s
        .post(
            "/collections/nd/points/query",
            json!({"query": [0.9, 0.9, 0.9], "using": "image", "limit": 5, "with_vector": ["image"]}),
        )
        .await;
    let result = ok(st, &b);
    let ids: Vec<u64> = hits(&result["points"])
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, vec![2, 1], "{b}");
    assert_eq!(
        result["points"][0]["vector"],
        json!({"image": [1.0, 1.0, 1.0]}),
        "{b}"
    );
    // By point id on the named vector, and the search route's {name, vector}.
    let (st, b) = s
        .post(
            "/collections/nd/points/query",
            json!({"query": 1, "using": "image", "limit": 1}),
        )
        .await;
    assert_eq!(hits(&ok(st, &b)["points"])[0].0, 1, "{b}");
    let (st, b) = s
        .post(
            "/collections/nd/points/search",
            json!({"vector": {"name": "image", "vector": [1.0, 1.0, 1.0]}, "limit": 1}),
        )
        .await;
    assert_eq!(hits(&ok(st, &b))[0].0, 2, "{b}");
    // A wrong dimension on a named vector is the engine's 400; nothing is written.
    let (st, b) = s
        .put(
            "/collections/nd/points?wait=true",
            json!({"points": [{"id": 4, "vector": {"": [1.0, 0.0], "image": [1.0]}}]}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    // Named vectors only, without the unnamed one: a collection without a default vector
    // (see qdrant_vectors.rs), whose info lists only the named vector.
    let (st, b) = s
        .put(
            "/collections/only_named",
            json!({"vectors": {"image": {"size": 3, "distance": "Dot"}}}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s.get("/collections/only_named").await;
    let vectors = ok(st, &b)["config"]["params"]["vectors"].clone();
    assert_eq!(vectors.as_object().map(|m| m.len()), Some(1), "{vectors}");
    assert_eq!(vectors["image"]["size"], 3);
}
