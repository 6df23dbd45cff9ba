//! Qdrant conformance details: number printing, validation status codes, probe bodies,
//! collection info fields and options that change behaviour.

use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, start};

fn ok(st: StatusCode, body: &Value) -> Value {
    assert_eq!(st, StatusCode::OK, "{body}");
    body["result"].clone()
}

async fn dot_collection(s: &TestServer, name: &str) {
    let (st, b) = s
        .put(
            &format!("/collections/{name}"),
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    ok(st, &b);
}

/// The raw text of a response (the harness parses numbers into f64, which hides nothing
/// here: 0.15000000596046448 and 0.15 are distinct f64 values, but the text is checked too).
async fn raw(s: &TestServer, path: &str, body: Value) -> String {
    let resp = s
        .client
        .post(format!("{}{path}", s.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.unwrap()
}

#[tokio::test]
async fn vectors_and_scores_print_as_f32() {
    let s = start(ServerConfig::default()).await;
    dot_collection(&s, "f").await;
    let (st, b) = s
        .put(
            "/collections/f/points?wait=true",
            json!({"points": [{"id": 1, "vector": [0.15, 0.7]}]}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .post(
            "/collections/f/points/search",
            json!({"vector": [1.0, 0.0], "limit": 1, "with_vector": true}),
        )
        .await;
    let hits = ok(st, &b);
    assert_eq!(hits[0]["score"], json!(0.15), "{hits}");
    assert_eq!(hits[0]["vector"], json!([0.15, 0.7]), "{hits}");
    let (st, b) = s
        .post(
            "/collections/f/points",
            json!({"ids": [1], "with_vector": true}),
        )
        .await;
    assert_eq!(ok(st, &b)[0]["vector"], json!([0.15, 0.7]));
    let text = raw(
        &s,
        "/collections/f/points/query",
        json!({"query": [1.0, 0.0], "with_vector": true}),
    )
    .await;
    assert!(text.contains("\"score\":0.15,"), "{text}");
    assert!(text.contains("[0.15,0.7]"), "{text}");
    // The native API prints f32 the same way.
    let (st, b) = s
        .post(
            "/v1/collections/f/search",
            json!({"vector": [1.0, 0.0], "limit": 1, "with_vector": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["results"][0]["score"], json!(0.15), "{b}");
    assert_eq!(b["results"][0]["vector"], json!([0.15, 0.7]), "{b}");
}

#[tokio::test]
async fn invalid_settings_are_422() {
    let s = start(ServerConfig::default()).await;
    for key in [
        "shard_number",
        "replication_factor",
        "write_consistency_factor",
    ] {
        // 0 breaks the `range(min = 1)` rule: Qdrant's validation error (422) naming the key.
        let (st, b) = s
            .put(
                "/collections/bad",
                json!({"vectors": {"size": 2, "distance": "Dot"}, key: 0}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{key} {b}");
        assert!(b["status"]["error"].as_str().unwrap().contains(key), "{b}");
        // A negative number is no u32 at all: Qdrant's format error (400).
        let (st, b) = s
            .put(
                "/collections/bad",
                json!({"vectors": {"size": 2, "distance": "Dot"}, key: -1}),
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{key} {b}");
        assert!(
            b["status"]["error"]
                .as_str()
                .unwrap()
                .contains("expected u32"),
            "{b}"
        );
    }
    let (st, b) = s.get("/collections/bad/exists").await;
    assert_eq!(ok(st, &b)["exists"], json!(false));
    let long = "n".repeat(256);
    let (st, b) = s
        .put(
            &format!("/collections/{long}"),
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    // Every route naming a collection validates the name first, as Qdrant does.
    for path in [
        format!("/collections/{long}/points/1"),
        format!("/collections/{long}"),
        format!("/collections/{long}/exists"),
    ] {
        let (st, b) = s.get(&path).await;
        if path.ends_with("/exists") {
            // Qdrant answers exists for any name (false for one it cannot hold).
            assert_eq!(ok(st, &b)["exists"], json!(false));
            continue;
        }
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {b}");
        let msg = b["status"]["error"].as_str().unwrap();
        assert!(msg.contains("Validation error"), "{msg}");
    }
    let (st, b) = s
        .post(
            &format!("/collections/{long}/points/search"),
            json!({"vector": [1.0, 0.0]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    // Qdrant's `timeout` query parameter: 0 is a validation error, a positive value is
    // accepted (it can only shorten the server's timeout).
    let (st, b) = s
        .put(
            "/collections/t?timeout=0",
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["status"]["error"]
            .as_str()
            .unwrap()
            .contains("timeout: value 0 invalid"),
        "{b}"
    );
    let (st, b) = s.get("/collections/t/exists").await;
    assert_eq!(ok(st, &b)["exists"], json!(false));
    let (st, b) = s
        .put(
            "/collections/t?timeout=5",
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    ok(st, &b);
    // hnsw_config.ef_construct below 4 is a validation error naming the field.
    for hnsw in [
        json!({"hnsw_config": {"ef_construct": 0}}),
        json!({"vectors": {"size": 2, "distance": "Dot", "hnsw_config": {"ef_construct": 2}}}),
    ] {
        let mut body = json!({"vectors": {"size": 2, "distance": "Dot"}});
        for (k, v) in hnsw.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (st, b) = s.put("/collections/bad", body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        let msg = b["status"]["error"].as_str().unwrap();
        assert!(
            msg.contains("Validation error") && msg.contains("hnsw_config.ef_construct"),
            "{msg}"
        );
    }
    let (st, b) = s
        .put(
            "/collections/good",
            json!({"vectors": {"size": 2, "distance": "Dot"}, "shard_number": 1, "replication_factor": 2}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .put(
            "/collections/good/index",
            json!({"field_name": "n", "field_schema": {"type": "integer", "lookup": false, "range": false}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let (st, b) = s
        .put(
            "/collections/good/index",
            json!({"field_name": "n", "field_schema": {"type": "integer", "lookup": false, "range": true}}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .post(
            "/collections/good/points/search",
            json!({"vector": [1.0, 0.0], "params": {"hnsw_ef": 0}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
}

#[tokio::test]
async fn a_huge_limit_is_clamped() {
    let s = start(ServerConfig::default()).await;
    dot_collection(&s, "h").await;
    let (st, b) = s
        .put(
            "/collections/h/points?wait=true",
            json!({"points": [{"id": 1, "vector": [1.0, 0.0]}, {"id": 2, "vector": [0.0, 1.0]}]}),
        )
        .await;
    ok(st, &b);
    for path in [
        "/collections/h/points/search",
        "/collections/h/points/query",
    ] {
        let key = if path.ends_with("search") {
            "vector"
        } else {
            "query"
        };
        let (st, b) = s
            .post(
                path,
                json!({key: [1.0, 0.0], "limit": 1_000_000_000_000u64}),
            )
            .await;
        let hits = ok(st, &b);
        let hits = hits.get("points").unwrap_or(&hits);
        assert_eq!(hits.as_array().unwrap().len(), 2, "{b}");
    }
    // Scroll: a huge page is clamped to the engine's largest page (every point here);
    // 0 is Qdrant's 422.
    let (st, b) = s
        .post(
            "/collections/h/points/scroll",
            json!({"limit": 1_000_000_000_000u64}),
        )
        .await;
    let page = ok(st, &b);
    assert_eq!(page["points"].as_array().unwrap().len(), 2, "{b}");
    assert_eq!(page["next_page_offset"], Value::Null, "{b}");
    let (st, b) = s
        .post("/collections/h/points/scroll", json!({"limit": 0}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["status"]["error"].as_str().unwrap().contains("limit"),
        "{b}"
    );
}

#[tokio::test]
async fn root_and_probes_answer_as_qdrant_does() {
    let s = start(ServerConfig::default()).await;
    let (st, b) = s.get("/").await;
    assert_eq!(st, StatusCode::OK);
    let root = b.as_object().unwrap();
    assert!(root.contains_key("commit"), "{b}");
    assert!(b["commit"].is_string() || b["commit"].is_null(), "{b}");
    for (path, body) in [
        ("/healthz", "healthz check passed"),
        ("/livez", "livez check passed"),
        ("/readyz", "all shards are ready"),
    ] {
        let resp = s
            .client
            .get(format!("{}{path}", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("text/plain"), "{path}: {kind}");
        assert_eq!(resp.text().await.unwrap(), body, "{path}");
    }
}

#[tokio::test]
async fn collection_info_says_where_data_lives() {
    let s = start(ServerConfig::default()).await;
    dot_collection(&s, "i").await;
    let (st, b) = s.get("/collections/i").await;
    let params = ok(st, &b)["config"]["params"].clone();
    // Full storage: vectors served from the memory-mapped vector file, payloads from the
    // payload log.
    assert_eq!(
        params["vectors"],
        json!({"size": 2, "distance": "Dot", "on_disk": true}),
        "{params}"
    );
    assert_eq!(params["on_disk_payload"], json!(true), "{params}");
}

async fn stored_ids(s: &TestServer, name: &str) -> Vec<Value> {
    let (st, b) = s
        .post(
            &format!("/collections/{name}/points/scroll"),
            json!({"limit": 100, "with_vector": true}),
        )
        .await;
    let page = ok(st, &b);
    page["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| json!([p["id"], p["vector"]]))
        .collect()
}

#[tokio::test]
async fn update_mode_insert_only_and_update_only_are_refused_by_name() {
    let s = start(ServerConfig::default()).await;
    dot_collection(&s, "u").await;
    let (st, b) = s
        .put(
            "/collections/u/points?wait=true",
            json!({"points": [{"id": 1, "vector": [1.0, 0.0]}]}),
        )
        .await;
    ok(st, &b);
    // The engine has no conditional upsert: both modes answer 400 naming the mode, in
    // the points and the batch forms and inside points/batch, and nothing is written.
    for (mode, body) in [
        (
            "insert_only",
            json!({"update_mode": "insert_only", "points": [
                {"id": 1, "vector": [0.5, 0.5]}, {"id": 2, "vector": [0.0, 1.0]}]}),
        ),
        (
            "update_only",
            json!({"update_mode": "update_only", "batch": {
                "ids": [1, 3], "vectors": [[0.25, 0.75], [1.0, 1.0]]}}),
        ),
    ] {
        let (st, b) = s.put("/collections/u/points?wait=true", body.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
        assert!(b.to_string().contains(mode), "{b}");
        let (st, b) = s
            .post(
                "/collections/u/points/batch?wait=true",
                json!({"operations": [{"upsert": body}]}),
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
        assert!(b.to_string().contains(mode), "{b}");
    }
    assert_eq!(stored_ids(&s, "u").await, vec![json!([1, [1.0, 0.0]])]);
    // The default (and "upsert") writes everything; an unknown mode is refused.
    let (st, b) = s
        .put(
            "/collections/u/points?wait=true",
            json!({"update_mode": "upsert", "points": [{"id": 3, "vector": [1.0, 1.0]}]}),
        )
        .await;
    ok(st, &b);
    assert_eq!(stored_ids(&s, "u").await.len(), 2);
    let (st, b) = s
        .put(
            "/collections/u/points",
            json!({"update_mode": "sometimes", "points": [{"id": 4, "vector": [1.0, 1.0]}]}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(stored_ids(&s, "u").await.len(), 2);
}

#[tokio::test]
async fn mmr_is_refused_not_ignored() {
    let s = start(ServerConfig::default()).await;
    dot_collection(&s, "m").await;
    let (st, b) = s
        .post(
            "/collections/m/points/query",
            json!({"query": {"nearest": [1.0, 0.0], "mmr": {"diversity": 0.5}}}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let msg = b["status"]["error"].as_str().unwrap();
    assert!(
        msg.contains("MMR") && msg.contains("not supported"),
        "{msg}"
    );
    // Without mmr the same query is answered.
    let (st, b) = s
        .post(
            "/collections/m/points/query",
            json!({"query": {"nearest": [1.0, 0.0], "mmr": null}}),
        )
        .await;
    ok(st, &b);
}
