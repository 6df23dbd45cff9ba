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
