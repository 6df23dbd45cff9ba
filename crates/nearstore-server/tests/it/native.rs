//! The native API: every route's success path and its error paths.

use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{error_message, start};

async fn with_docs() -> crate::harness::TestServer {
    let s = start(ServerConfig::default()).await;
    let (st, _) = s
        .post(
            "/v1/collections",
            json!({"name": "docs", "dim": 3, "metric": "cosine"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, body) = s
        .put(
            "/v1/collections/docs/points",
            json!([
                {"id": 1, "vector": [1.0, 0.0, 0.0], "payload": {"lang": "en", "year": 2024}},
                {"id": 2, "vector": [0.9, 0.1, 0.0], "payload": {"lang": "fr", "year": 2021}},
                {"id": 3, "vector": [0.0, 1.0, 0.0], "payload": {"lang": "en", "year": 2019}},
            ]),
        )
        .await;
    assert_eq!((st, body), (StatusCode::OK, json!({"upserted": 3})));
    s
}

#[tokio::test]
async fn collections_are_created_listed_described_and_dropped() {
    let s = start(ServerConfig::default()).await;
    let (st, info) = s
        .post(
            "/v1/collections",
            json!({"name": "c", "dim": 4, "metric": "l2", "hnsw": {"m": 8, "ef_construction": 50},
                   "durability": "per_write", "max_payload_bytes": 1000}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(info["dim"], 4);
    assert_eq!(info["metric"], "euclidean");
    assert_eq!(info["hnsw"]["m"], 8);
    assert_eq!(info["durability"], "per_write");
    assert_eq!(info["points_count"], 0);
    let (st, again) = s
        .post("/v1/collections", json!({"name": "c", "dim": 4}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(error_message(&again).contains("already exists"));
    let (st, list) = s.get("/v1/collections").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["collections"][0]["name"], "c");
    let (st, got) = s.get("/v1/collections/c").await;
    assert_eq!(
        (st, got["max_payload_bytes"].clone()),
        (StatusCode::OK, json!(1000))
    );
    let (st, _) = s.delete("/v1/collections/c").await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = s.get("/v1/collections/c").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(error_message(&body).contains("does not exist"));
    let (st, _) = s.delete("/v1/collections/c").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_collection_definitions_are_400() {
    let s = start(ServerConfig::default()).await;
    for body in [
        json!({"name": "x", "dim": 0}),
        json!({"name": "../x", "dim": 3}),
        json!({"name": "x", "dim": 3, "metric": "taxicab"}),
        json!({"name": "x", "dim": 3, "hnsw": {"m": 1}}),
        json!({"name": "x", "dim": 3, "surprise": true}),
        json!({"name": "x", "dim": 10_000_000}),
    ] {
        let (st, err) = s.post("/v1/collections", body.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert!(!error_message(&err).is_empty());
    }
}

#[tokio::test]
async fn upsert_forms_get_scroll_and_count() {
    let s = with_docs().await;
    let (st, body) = s
        .put(
            "/v1/collections/docs/points",
            json!({"ids": [4, 5], "vectors": [[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]],
                   "payloads": [{"lang": "de"}, null]}),
        )
        .await;
    assert_eq!((st, body), (StatusCode::OK, json!({"upserted": 2})));
    let (st, body) = s
        .put(
            "/v1/collections/docs/points",
            json!({"points": [{"id": 6, "vector": [0.1, 0.2, 0.3]}]}),
        )
        .await;
    assert_eq!((st, body), (StatusCode::OK, json!({"upserted": 1})));

    let (st, got) = s
        .post(
            "/v1/collections/docs/points/get",
            json!({"ids": [4, 99, 1], "with_vector": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        got["points"],
        json!([{"id": 4, "payload": {"lang": "de"}}, null, {"id": 1, "payload": {"lang": "en", "year": 2024}}])
    );
    let (st, one) = s.get("/v1/collections/docs/points/5").await;
    assert_eq!(
        (st, one),
        (StatusCode::OK, json!({"id": 5, "vector": [0.5, 0.5, 0.0]}))
    );
    let (st, _) = s.get("/v1/collections/docs/points/77").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get("/v1/collections/docs/points/abc").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let (st, page) = s
        .post("/v1/collections/docs/points/scroll", json!({"limit": 4}))
        .await;
    assert_eq!(st, StatusCode::OK);
    let ids: Vec<u64> = page["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4]);
    assert_eq!(page["next_cursor"], 5);
    let (_, page) = s
        .post(
            "/v1/collections/docs/points/scroll",
            json!({"limit": 4, "cursor": 5, "with_vector": false}),
        )
        .await;
    assert_eq!(page["points"], json!([{"id": 5}, {"id": 6}]));
    assert_eq!(page["next_cursor"], json!(null));
    let (_, page) = s
        .post(
            "/v1/collections/docs/points/scroll",
            json!({"filter": {"field": "lang", "eq": "en"}}),
        )
        .await;
    assert_eq!(page["points"].as_array().unwrap().len(), 2);

    let (st, n) = s.post("/v1/collections/docs/points/count", json!({})).await;
    assert_eq!((st, n), (StatusCode::OK, json!({"count": 6})));
    let (_, n) = s
        .post(
            "/v1/collections/docs/points/count",
            json!({"filter": {"field": "year", "gte": 2021}}),
        )
        .await;
    assert_eq!(n, json!({"count": 2}));
    let (st, err) = s
        .post(
            "/v1/collections/docs/points/count",
            json!({"filter": {"field": "year", "bogus": 1}}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
}

#[tokio::test]
async fn search_honours_every_option() {
    let s = with_docs().await;
    let (st, r) = s
        .post(
            "/v1/collections/docs/search",
            json!({"vector": [1.0, 0.0, 0.0], "limit": 2}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let hits = r["results"].as_array().unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0]["id"], 1);
    assert_eq!(hits[0]["payload"]["lang"], "en");
    assert!(hits[0].get("vector").is_none());
    assert!(hits[0]["score"].as_f64().unwrap() > hits[1]["score"].as_f64().unwrap());

    let (_, r) = s
        .post(
            "/v1/collections/docs/search",
            json!({"vector": [1.0, 0.0, 0.0], "limit": 5, "filter": {"field": "lang", "eq": "en"},
                   "with_payload": false, "with_vector": true, "quality": "perfect"}),
        )
        .await;
    let hits = r["results"].as_array().unwrap();
    assert_eq!(
        hits.iter()
            .map(|h| h["id"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert!(hits[0].get("payload").is_none());
    assert_eq!(hits[0]["vector"], json!([1.0, 0.0, 0.0]));

    let (_, r) = s
        .post(
            "/v1/collections/docs/search",
            json!({"vector": [1.0, 0.0, 0.0], "offset": 1, "ef": 32}),
        )
        .await;
    assert_eq!(r["results"][0]["id"], 2);
    let (_, r) = s
        .post(
            "/v1/collections/docs/search",
            json!({"vector": [1.0, 0.0, 0.0], "score_threshold": 0.5}),
        )
        .await;
    assert_eq!(r["results"].as_array().unwrap().len(), 2);

    let (st, r) = s
        .post(
            "/v1/collections/docs/search/batch",
            json!({"searches": [{"vector": [1.0, 0.0, 0.0], "limit": 1}, {"vector": [0.0, 1.0, 0.0], "limit": 1}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(r["results"][0][0]["id"], 1);
    assert_eq!(r["results"][1][0]["id"], 3);

    let (st, _) = s
        .post(
            "/v1/collections/docs/search",
            json!({"vector": [1.0, 0.0, 0.0], "ef": 10, "quality": "fast"}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s
        .post(
            "/v1/collections/nope/search",
            json!({"vector": [1.0, 0.0, 0.0]}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn delete_by_ids_and_by_filter() {
    let s = with_docs().await;
    let (st, r) = s
        .post(
            "/v1/collections/docs/points/delete",
            json!({"ids": [2, 42]}),
        )
        .await;
    assert_eq!((st, r), (StatusCode::OK, json!({"deleted": 1})));
    let (st, r) = s
        .post(
            "/v1/collections/docs/points/delete",
            json!({"filter": {"field": "year", "lt": 2020}}),
        )
        .await;
    assert_eq!((st, r), (StatusCode::OK, json!({"deleted": 1})));
    let (_, n) = s.post("/v1/collections/docs/points/count", json!({})).await;
    assert_eq!(n["count"], 1);
    let (st, _) = s
        .post("/v1/collections/docs/points/delete", json!({}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s
        .post(
            "/v1/collections/docs/points/delete",
            json!({"ids": [1], "filter": {"field": "a", "eq": 1}}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn payload_indexes_flush_and_operational_routes() {
    let s = with_docs().await;
    let (st, r) = s
        .post(
            "/v1/collections/docs/indexes",
            json!({"field": "lang", "kind": "keyword"}),
        )
        .await;
    assert_eq!(
        (st, r),
        (
            StatusCode::CREATED,
            json!({"indexes": [{"field": "lang", "kind": "keyword"}]})
        )
    );
    let (_, r) = s.get("/v1/collections/docs/indexes").await;
    assert_eq!(r["indexes"][0]["kind"], "keyword");
    let (_, info) = s.get("/v1/collections/docs").await;
    assert_eq!(info["field_indexes"][0]["field"], "lang");
    let (st, _) = s
        .post(
            "/v1/collections/docs/indexes",
            json!({"field": "lang", "kind": "vector"}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s.delete("/v1/collections/docs/indexes/lang").await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s.delete("/v1/collections/docs/indexes/lang").await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (st, r) = s.post("/v1/collections/docs/flush", json!({})).await;
    assert_eq!((st, r), (StatusCode::OK, json!({"flushed": ["docs"]})));
    let (st, r) = s.post("/v1/flush", json!({})).await;
    assert_eq!((st, r), (StatusCode::OK, json!({"flushed": ["docs"]})));
    let (st, r) = s.get("/healthz").await;
    assert_eq!((st, r), (StatusCode::OK, json!("healthz check passed")));
    let (st, r) = s.get("/readyz").await;
    assert_eq!((st, r), (StatusCode::OK, json!("all shards are ready")));
    let (st, r) = s
        .post(
            "/v1/query",
            json!({"query": "SELECT id FROM docs WHERE vector NEAR $v LIMIT 1", "params": {"v": [1.0, 0.0, 0.0]}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert!(
        r["rows"].as_array().is_some_and(|rows| rows.len() == 1),
        "{r}"
    );
    let (st, r) = s
        .post("/v1/query", json!({"query": "SELECT * FORM docs"}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(error_message(&r).contains("line 1, column 10"), "{r}");
    let (st, _) = s
        .post("/v1/query", json!({"query": "SELECT * FROM nowhere"}))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn malformed_requests_are_400_with_the_reason() {
    let s = with_docs().await;
    let url = format!("{}/v1/collections/docs/points", s.url);
    let resp = s
        .client
        .put(&url)
        .header("content-type", "application/json")
        .body("{\"points\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(error_message(&body).contains("invalid JSON body"), "{body}");
    assert!(
        error_message(&body).contains("line 1"),
        "serde's position: {body}"
    );

    let resp = s
        .client
        .put(&url)
        .header("content-type", "text/plain")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(error_message(&body).contains("Content-Type"), "{body}");

    let cases = [
        (json!([{"id": 9, "vector": [1.0, 0.0]}]), "dimension"),
        (json!([{"id": 9, "vector": [1.0, null, 0.0]}]), "null"),
        (
            json!([{"id": 9, "vector": [1e39, 0.0, 0.0]}]),
            "out of range",
        ),
        (
            json!([{"id": 9, "vector": [1.0, 0.0, 0.0], "payload": 5, "x": 1}]),
            "unknown field",
        ),
        (
            json!([{"id": -1, "vector": [1.0, 0.0, 0.0]}]),
            "invalid value",
        ),
        (
            json!({"ids": [1, 2], "vectors": [[1.0, 0.0, 0.0]]}),
            "as many",
        ),
        (json!("points"), "expected an array"),
    ];
    for (body, needle) in cases {
        let (st, err) = s.put("/v1/collections/docs/points", body.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert!(error_message(&err).contains(needle), "{body}: {err}");
    }
    let resp = s
        .client
        .put(&url)
        .header("content-type", "application/json")
        .body(r#"[{"id": 9, "vector": [1e400, 0, 0]}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let (st, err) = s
        .put(
            "/v1/collections/nope/points",
            json!([{"id": 1, "vector": [1.0, 0.0, 0.0]}]),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{err}");
    let (st, err) = s.get("/no/such/route").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(error_message(&err).contains("no route"), "{err}");
    let (st, err) = s
        .call(reqwest::Method::PATCH, "/v1/collections", None)
        .await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    assert!(error_message(&err).contains("not allowed"), "{err}");
}

#[tokio::test]
async fn payload_over_the_collection_limit_is_413() {
    let s = start(ServerConfig::default()).await;
    s.post(
        "/v1/collections",
        json!({"name": "small", "dim": 2, "max_payload_bytes": 16}),
    )
    .await;
    let (st, err) = s
        .put("/v1/collections/small/points", json!([{"id": 1, "vector": [1.0, 0.0], "payload": {"text": "much longer than sixteen bytes"}}]))
        .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
}

#[tokio::test]
async fn metrics_and_openapi_describe_the_server() {
    let s = with_docs().await;
    s.post(
        "/v1/collections/docs/search",
        json!({"vector": [1.0, 0.0, 0.0]}),
    )
    .await;
    s.get("/v1/collections/missing").await;
    let text = s.metrics().await;
    for needle in [
        "nearstore_http_requests_total{method=\"POST\",route=\"/v1/collections/{name}/search\",status=\"200\"} 1",
        "nearstore_http_requests_total{method=\"GET\",route=\"/v1/collections/{name}\",status=\"404\"} 1",
        "nearstore_http_request_duration_seconds_bucket{le=\"+Inf\",method=\"POST\",route=\"/v1/collections\",status=\"201\"} 1",
        "nearstore_search_duration_seconds_count{collection=\"docs\"} 1",
        "nearstore_collection_points{collection=\"docs\"} 3",
        "nearstore_http_requests_shed_total 0",
        "# TYPE nearstore_http_request_duration_seconds histogram",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let (st, doc) = s.get("/openapi.json").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, method) in [
        ("/v1/collections/{name}/search", "post"),
        ("/v1/collections/{name}/points", "put"),
        ("/collections/{name}/points/query", "post"),
        ("/healthz", "get"),
    ] {
        assert!(
            doc["paths"][path][method]["summary"].is_string(),
            "{path} {method}"
        );
    }
    assert_eq!(
        doc["paths"]["/v1/collections/{name}"]["get"]["parameters"][0]["name"],
        "name"
    );
}

fn find_file(dir: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

#[tokio::test]
async fn verify_reports_a_damaged_file() {
    let s = start(ServerConfig::default()).await;
    s.post("/v1/collections", json!({"name": "c", "dim": 2}))
        .await;
    let points: Vec<_> = (0..50)
        .map(|i| json!({"id": i, "vector": [1.0, i as f32], "payload": {"text": format!("point number {i}")}}))
        .collect();
    assert_eq!(
        s.put("/v1/collections/c/points", json!(points)).await.0,
        StatusCode::OK
    );
    assert_eq!(s.post("/v1/flush", json!(null)).await.0, StatusCode::OK);
    let (st, clean) = s.post("/v1/verify", json!(null)).await;
    assert_eq!(st, StatusCode::OK, "{clean}");
    assert_eq!(clean["clean"], true, "{clean}");
    assert_eq!(clean["damaged_files"], json!([]));
    assert!(
        !clean["report"]["files"].as_array().unwrap().is_empty(),
        "{clean}"
    );

    // Flip one byte in the middle of the operation log: after a flush the 50 points are one
    // logged operation there (not yet checkpointed into the payload log), so the byte is
    // inside that record, below the log's recorded durable length.
    let log = find_file(s.dir.path(), "ops.log").expect("an operation log");
    let mut bytes = std::fs::read(&log).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&log, bytes).unwrap();
    let (st, damaged) = s.post("/v1/verify", json!(null)).await;
    assert_eq!(st, StatusCode::OK, "{damaged}");
    assert_eq!(damaged["clean"], false, "{damaged}");
    let files = damaged["damaged_files"].as_array().unwrap();
    assert!(
        files
            .iter()
            .any(|f| f.as_str().unwrap().ends_with("ops.log")),
        "{damaged}"
    );
}
