//! Qdrant's validation answers beyond collection creation: a `limit` (or `rrf.k`,
//! `group_size`, `hnsw_ef`) of 0 is 422 on every search route, a huge `group_size` is clamped like a huge `limit`, and a
//! structure's `memory` tier is read wherever Qdrant takes one (unknown: 400; a tier that
//! does not describe where NearStore keeps the structure: 400 not supported).

use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, start};

fn ok(st: StatusCode, body: &Value) -> Value {
    assert_eq!(st, StatusCode::OK, "{body}");
    body["result"].clone()
}

/// Two points on the unit axes, tagged `a` and `b`.
async fn two_points(s: &TestServer, name: &str) {
    let (st, b) = s
        .put(
            &format!("/collections/{name}"),
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .put(
            &format!("/collections/{name}/points?wait=true"),
            json!({"points": [
                {"id": 1, "vector": [1.0, 0.0], "payload": {"tag": "a"}},
                {"id": 2, "vector": [0.0, 1.0], "payload": {"tag": "b"}},
            ]}),
        )
        .await;
    ok(st, &b);
}

fn assert_422_naming(st: StatusCode, b: &Value, field: &str) {
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {b}");
    let msg = b["status"]["error"].as_str().unwrap();
    assert!(
        msg.contains("Validation error") && msg.contains(&format!("{field}: value 0 invalid")),
        "{msg}"
    );
}

#[tokio::test]
async fn a_zero_limit_is_422_on_every_search_route() {
    let s = start(ServerConfig::default()).await;
    two_points(&s, "z").await;
    for (path, body, field) in [
        ("search", json!({"vector": [1.0, 0.0], "limit": 0}), "limit"),
        (
            "search/batch",
            json!({"searches": [{"vector": [1.0, 0.0], "limit": 0}]}),
            "limit",
        ),
        ("query", json!({"query": [1.0, 0.0], "limit": 0}), "limit"),
        (
            "query/batch",
            json!({"searches": [{"query": [1.0, 0.0], "limit": 0}]}),
            "limit",
        ),
        (
            "query",
            json!({"prefetch": [{"query": [1.0, 0.0], "limit": 0}], "query": {"fusion": "rrf"}}),
            "prefetch.limit",
        ),
        (
            "query",
            json!({"prefetch": [{"query": [1.0, 0.0]}], "query": {"rrf": {"k": 0}}}),
            "query.rrf.k",
        ),
        ("recommend", json!({"positive": [1], "limit": 0}), "limit"),
        (
            "recommend/batch",
            json!({"searches": [{"positive": [1], "limit": 0}]}),
            "limit",
        ),
        (
            "search/groups",
            json!({"vector": [1.0, 0.0], "group_by": "tag", "limit": 0}),
            "limit",
        ),
        (
            "query/groups",
            json!({"query": [1.0, 0.0], "group_by": "tag", "limit": 0}),
            "limit",
        ),
        (
            "search/groups",
            json!({"vector": [1.0, 0.0], "group_by": "tag", "group_size": 0}),
            "group_size",
        ),
        // hnsw_ef: `range(min = 1)` in Qdrant since qdrant/qdrant#9320.
        (
            "search",
            json!({"vector": [1.0, 0.0], "params": {"hnsw_ef": 0}}),
            "params.hnsw_ef",
        ),
        (
            "query",
            json!({"prefetch": [{"query": [1.0, 0.0], "params": {"hnsw_ef": 0}}],
                   "query": {"fusion": "dbsf"}}),
            "params.hnsw_ef",
        ),
    ] {
        let (st, b) = s.post(&format!("/collections/z/points/{path}"), body).await;
        assert_422_naming(st, &b, field);
    }
    // Absent, the defaults hold (10 hits; rrf's own k).
    let (st, b) = s
        .post(
            "/collections/z/points/query",
            json!({"prefetch": [{"query": [1.0, 0.0]}], "query": {"rrf": {}}}),
        )
        .await;
    assert_eq!(ok(st, &b)["points"].as_array().unwrap().len(), 2, "{b}");
}

#[tokio::test]
async fn a_huge_group_size_is_clamped_like_a_huge_limit() {
    let s = start(ServerConfig::default()).await;
    two_points(&s, "g").await;
    for (path, key) in [("search/groups", "vector"), ("query/groups", "query")] {
        let (st, b) = s
            .post(
                &format!("/collections/g/points/{path}"),
                json!({key: [1.0, 0.0], "group_by": "tag",
                       "limit": 100_000_000_000u64, "group_size": 100_000_000_000u64}),
            )
            .await;
        let groups = ok(st, &b)["groups"].clone();
        let got: Vec<(Value, Vec<Value>)> = groups
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let hits = g["hits"].as_array().unwrap();
                (
                    g["id"].clone(),
                    hits.iter().map(|h| h["id"].clone()).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![(json!("a"), vec![json!(1)]), (json!("b"), vec![json!(2)])],
            "{path}: {b}"
        );
    }
}

async fn create(s: &TestServer, name: &str, body: Value) -> (StatusCode, Value) {
    s.put(&format!("/collections/{name}"), body).await
}

fn refused(st: StatusCode, b: &Value, words: &[&str]) {
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let msg = b["status"]["error"].as_str().unwrap();
    for w in words {
        assert!(msg.contains(w), "{w:?} not in {msg}");
    }
}

#[tokio::test]
async fn memory_tiers_are_read_and_checked_wherever_qdrant_takes_them() {
    let s = start(ServerConfig::default()).await;
    let dense = json!({"size": 2, "distance": "Dot"});
    let with = |extra: Value| {
        let mut body = json!({"vectors": dense.clone()});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    // An unknown tier is a format error (400) naming the tiers, wherever it appears.
    for body in [
        json!({"vectors": {"size": 2, "distance": "Dot", "memory": "ram"}}),
        json!({"vectors": {"v": {"size": 2, "distance": "Dot", "memory": "ram"}}}),
        with(json!({"hnsw_config": {"memory": "ram"}})),
        with(json!({"payload": {"memory": "ram"}})),
        with(json!({"id_tracker": {"memory": "ram"}})),
        with(json!({"sparse_vectors": {"w": {"index": {"memory": "ram"}}}})),
    ] {
        let (st, b) = create(&s, "m", body.clone()).await;
        refused(st, &b, &["unknown variant", "cold", "cached", "pinned"]);
    }
    // A known tier that does not describe where NearStore keeps the structure: 400 naming
    // it (vectors and payloads are read through the page cache; the graph, the sparse
    // index and the id table are held in memory).
    for (body, at) in [
        (
            json!({"vectors": {"size": 2, "distance": "Dot", "memory": "pinned"}}),
            "vectors.memory",
        ),
        (
            with(json!({"payload": {"memory": "pinned"}})),
            "payload.memory",
        ),
        (
            with(json!({"hnsw_config": {"memory": "cold"}})),
            "hnsw_config.memory",
        ),
        (
            json!({"vectors": {"v": {"size": 2, "distance": "Dot", "hnsw_config": {"memory": "cached"}}}}),
            "vectors.v.hnsw_config.memory",
        ),
        (
            with(json!({"id_tracker": {"memory": "cold"}})),
            "id_tracker.memory",
        ),
        (
            with(json!({"sparse_vectors": {"w": {"index": {"memory": "cached"}}}})),
            "sparse_vectors.w.index.memory",
        ),
    ] {
        let (st, b) = create(&s, "m", body).await;
        refused(st, &b, &[at, "not supported"]);
    }
    let (st, b) = s.get("/collections/m/exists").await;
    assert_eq!(ok(st, &b)["exists"], json!(false), "nothing was created");
    // The tiers that hold are accepted.
    let (st, b) = create(
        &s,
        "m",
        json!({
            "vectors": {"size": 2, "distance": "Dot", "memory": "cached",
                        "hnsw_config": {"memory": "pinned"}},
            "hnsw_config": {"memory": "pinned"},
            "payload": {"memory": "cold"},
            "id_tracker": {"memory": "pinned"},
            "sparse_vectors": {"w": {"index": {"memory": "pinned"}}},
        }),
    )
    .await;
    ok(st, &b);
    // Payload indexes (full-text too) are held in memory.
    for (schema, expect) in [
        (
            json!({"type": "keyword", "memory": "ram"}),
            Some("unknown variant"),
        ),
        (
            json!({"type": "integer", "memory": "cold"}),
            Some("not supported"),
        ),
        (
            json!({"type": "text", "memory": "cached"}),
            Some("not supported"),
        ),
        (json!({"type": "keyword", "memory": "pinned"}), None),
        (json!({"type": "text", "memory": "pinned"}), None),
    ] {
        let field = if schema["type"] == "text" { "t" } else { "k" };
        let (st, b) = s
            .put(
                "/collections/m/index",
                json!({"field_name": field, "field_schema": schema}),
            )
            .await;
        match expect {
            Some(word) => refused(st, &b, &["field_schema.memory", word]),
            None => {
                ok(st, &b);
            }
        }
    }
    let (st, b) = s.get("/collections/m").await;
    let schema = ok(st, &b)["payload_schema"].clone();
    assert_eq!(schema["k"]["data_type"], json!("keyword"), "{schema}");
    assert_eq!(schema["t"]["data_type"], json!("text"), "{schema}");
    // PATCH: naming the graph's tier changes nothing; another tier is refused.
    let (st, b) = s
        .patch(
            "/collections/m",
            json!({"hnsw_config": {"memory": "pinned"}}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .patch("/collections/m", json!({"hnsw_config": {"memory": "cold"}}))
        .await;
    refused(st, &b, &["hnsw_config.memory", "not supported"]);
    let (st, b) = s
        .patch("/collections/m", json!({"hnsw_config": {"memory": "ram"}}))
        .await;
    refused(st, &b, &["unknown variant"]);
}
