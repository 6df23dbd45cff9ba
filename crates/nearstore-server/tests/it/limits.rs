//! Limits: body size, batch sizes, load shedding and the request timeout, made
//! deterministic by holding a request in flight with a body that is cut short.

use std::time::Duration;

use nearstore_server::{Limits, ServerConfig};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::harness::{error_message, read_response, start};

fn limits(f: impl FnOnce(&mut Limits)) -> ServerConfig {
    let mut config = ServerConfig::default();
    f(&mut config.limits);
    config
}

#[tokio::test]
async fn oversized_bodies_and_batches_are_413() {
    let s = start(limits(|l| {
        l.max_body_bytes = 2048;
        l.max_batch_points = 3;
        l.max_batch_queries = 2;
    }))
    .await;
    s.post("/v1/collections", json!({"name": "c", "dim": 2}))
        .await;
    let big: Vec<_> = (0..200)
        .map(|i| json!({"id": i, "vector": [1.0, 0.5]}))
        .collect();
    let (st, err) = s.put("/v1/collections/c/points", json!(big)).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_message(&err).contains("larger than"), "{err}");
    let four: Vec<_> = (0..4)
        .map(|i| json!({"id": i, "vector": [1.0, 0.5]}))
        .collect();
    let (st, err) = s.put("/v1/collections/c/points", json!(four)).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_message(&err).contains("more than 3 points"), "{err}");
    let (st, _) = s
        .put(
            "/v1/collections/c/points",
            json!({"ids": [1, 2, 3, 4], "vectors": [[1, 0], [1, 0], [1, 0], [1, 0]]}),
        )
        .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    let q = json!({"vector": [1.0, 0.0]});
    let (st, err) = s
        .post(
            "/v1/collections/c/search/batch",
            json!({"searches": [q, q, q]}),
        )
        .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_message(&err).contains("queries"));
    let (st, _) = s
        .post(
            "/collections/c/points/search/batch",
            json!({"searches": [q, q, q]}),
        )
        .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    let (st, _) = s.put("/v1/collections/c/points", json!(four[..3])).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn a_saturated_server_sheds_load_with_503_at_once() {
    let s = start(limits(|l| l.max_concurrent_requests = 1)).await;
    s.post("/v1/collections", json!({"name": "c", "dim": 2}))
        .await;
    // This request holds the only slot until its body is complete.
    let body = br#"[{"id": 1, "vector": [1.0, 0.0]}]"#;
    let mut held = s
        .partial_request("PUT", "/v1/collections/c/points", body.len(), &body[..5])
        .await;
    s.wait_for_slots_in_use(1).await;
    let (st, err) = s.get("/v1/collections/c").await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
    assert!(error_message(&err).contains("overloaded"));
    // Probes and scrapes are not limited.
    assert_eq!(s.get("/healthz").await.0, StatusCode::OK);
    assert!(
        s.metrics()
            .await
            .contains("nearstore_http_requests_shed_total 1")
    );
    // Completing the held request frees the slot, and it succeeds.
    held.write_all(&body[5..]).await.unwrap();
    let (status, text) = read_response(&mut held).await;
    assert_eq!((status, text.as_str()), (200, r#"{"upserted":1}"#));
    s.wait_for_slots_in_use(0).await;
    assert_eq!(s.get("/v1/collections/c").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_request_over_the_timeout_is_408() {
    let s = start(limits(|l| l.request_timeout = Duration::from_millis(200))).await;
    s.post("/v1/collections", json!({"name": "c", "dim": 2}))
        .await;
    let mut stalled = s
        .partial_request("PUT", "/v1/collections/c/points", 100, b"[")
        .await;
    let (status, text) = read_response(&mut stalled).await;
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("timed out"), "{text}");
}

#[tokio::test]
async fn a_write_that_timed_out_before_reaching_the_engine_says_not_applied() {
    let s = start(limits(|l| l.request_timeout = Duration::from_millis(200))).await;
    s.post("/v1/collections", json!({"name": "c", "dim": 2}))
        .await;
    let body = br#"[{"id": 1, "vector": [1.0, 0.0]}]"#;
    let mut stalled = s
        .partial_request("PUT", "/v1/collections/c/points", body.len(), &body[..10])
        .await;
    let (status, text) = read_response(&mut stalled).await;
    assert_eq!(status, 408, "{text}");
    let err: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(err["write"], "not_applied", "{text}");
    // And it is true: the rest of the body arriving later changes nothing.
    let _ = stalled.write_all(&body[10..]).await;
    drop(stalled);
    let (st, count) = s.post("/v1/collections/c/points/count", json!({})).await;
    assert_eq!((st, count), (StatusCode::OK, json!({"count": 0})));
}
