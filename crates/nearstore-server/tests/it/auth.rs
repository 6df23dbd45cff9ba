//! API keys: 401 without or with a wrong key, 403 for a read-only key on a write route,
//! open health routes, both header forms.

use nearstore_server::{ApiKey, ServerConfig};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{error_message, start};

fn keyed() -> ServerConfig {
    ServerConfig {
        api_keys: vec![
            ApiKey::read_write("writer-key"),
            ApiKey::read_only("reader-key"),
        ],
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn missing_and_invalid_keys_are_401() {
    let mut s = start(keyed()).await;
    let (st, err) = s.get("/v1/collections").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(error_message(&err).contains("missing API key"));
    let (st, _) = s.get("/collections").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    s.key = Some("writer-kez".into());
    let (st, err) = s.get("/v1/collections").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(error_message(&err), "invalid API key");
    s.key = None;
    for open in ["/healthz", "/readyz", "/"] {
        let (st, _) = s.get(open).await;
        assert_eq!(st, StatusCode::OK, "{open}");
    }
}

#[tokio::test]
async fn read_only_keys_read_but_may_not_write() {
    let mut s = start(keyed()).await;
    s.key = Some("writer-key".into());
    let (st, _) = s
        .post("/v1/collections", json!({"name": "c", "dim": 2}))
        .await;
    assert_eq!(st, StatusCode::CREATED);
    s.key = Some("reader-key".into());
    let (st, _) = s.get("/v1/collections/c").await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .post("/v1/collections/c/search", json!({"vector": [1.0, 0.0]}))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .post("/collections/c/points/query", json!({"query": [1.0, 0.0]}))
        .await;
    assert_eq!(st, StatusCode::OK);
    for (method, path, body) in [
        (
            reqwest::Method::PUT,
            "/v1/collections/c/points",
            json!([{"id": 1, "vector": [1.0, 0.0]}]),
        ),
        (
            reqwest::Method::POST,
            "/v1/collections",
            json!({"name": "d", "dim": 2}),
        ),
        (reqwest::Method::DELETE, "/v1/collections/c", json!(null)),
        (
            reqwest::Method::PUT,
            "/collections/c/points",
            json!({"points": []}),
        ),
        (
            reqwest::Method::POST,
            "/collections/c/points/delete",
            json!({"points": [1]}),
        ),
    ] {
        let (st, err) = s.call(method.clone(), path, Some(body)).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{method} {path}");
        assert!(error_message(&err).contains("read-only"));
    }
}

#[tokio::test]
async fn bearer_tokens_work_like_api_key_headers() {
    let s = start(keyed()).await;
    let resp = s
        .client
        .get(format!("{}/v1/collections", s.url))
        .header("authorization", "Bearer writer-key")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = s
        .client
        .get(format!("{}/v1/collections", s.url))
        .header("authorization", "Bearer nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().contains_key("www-authenticate"));
}
