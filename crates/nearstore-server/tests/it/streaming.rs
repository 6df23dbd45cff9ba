//! Streaming ingest over HTTP: turning it on and off, NDJSON points queued whole or refused
//! whole, a full queue answered 429 with `Retry-After` (deterministically: a tiny queue and
//! the engine's drain paused), visibility after the drain (a flush), and the request limits.

use nearstore::{Database, DistanceMetric, VectorCollection};
use nearstore_server::{Limits, ServerConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, error_message, start_on};

/// A server over a database holding collection `m` (2-d), and the engine's handle on it.
async fn server(config: ServerConfig) -> (TestServer, VectorCollection) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.create_collection("m", 2, DistanceMetric::Euclidean)
        .unwrap();
    let c = db.get_vector_collection("m").unwrap();
    (start_on(db, dir, config).await, c)
}

fn lines(ids: std::ops::Range<u64>) -> String {
    ids.map(|id| {
        format!("{{\"id\": {id}, \"vector\": [{id}.0, 0.5], \"payload\": {{\"n\": {id}}}}}\n")
    })
    .collect()
}

/// POSTs an NDJSON body: (status, Retry-After header, body).
async fn stream(
    s: &TestServer,
    body: impl Into<String>,
    content_type: &str,
) -> (StatusCode, Option<String>, Value) {
    let resp = s
        .client
        .post(format!("{}/v1/collections/m/points/stream", s.url))
        .header("content-type", content_type)
        .body(body.into())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap();
    (
        status,
        retry,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

const NDJSON: &str = "application/x-ndjson";

async fn count(s: &TestServer) -> u64 {
    let (st, body) = s.post("/v1/collections/m/points/count", json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    body["count"].as_u64().unwrap()
}

#[tokio::test]
async fn a_full_queue_is_429_with_retry_after_and_nothing_is_queued() {
    let (s, c) = server(ServerConfig::default()).await;
    let (st, body) = s.get("/v1/collections/m/streaming").await;
    assert_eq!((st, body), (StatusCode::OK, json!({"enabled": false})));
    // Not enabled: the engine's conflict.
    let (st, _, body) = stream(&s, lines(0..1), NDJSON).await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");

    let (st, body) = s
        .put(
            "/v1/collections/m/streaming",
            json!({"buffer_size": 3, "batch_size": 1, "flush_interval_ms": 2500}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["enabled"], true);
    assert_eq!(body["buffer_size"], 3);
    assert_eq!(body["flush_interval_ms"], 2500);
    c.set_streaming_paused(true).unwrap();

    let (st, retry, body) = stream(&s, lines(0..2), NDJSON).await;
    assert_eq!(
        (st, retry, body),
        (StatusCode::OK, None, json!({"queued": 2}))
    );
    let (_, state) = s.get("/v1/collections/m/streaming").await;
    assert_eq!(
        (state["queued"].clone(), state["paused"].clone()),
        (json!(2), json!(true))
    );

    // Two more do not fit a queue of 3 holding 2: refused whole, with the drain's interval
    // as the hint (2.5 s, rounded up).
    let (st, retry, body) = stream(&s, lines(2..4), NDJSON).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(retry.as_deref(), Some("3"));
    assert!(error_message(&body).contains("streaming queue"), "{body}");
    let (_, state) = s.get("/v1/collections/m/streaming").await;
    assert_eq!(
        state["queued"], 2,
        "nothing of the refused batch was queued"
    );
    // A batch larger than the queue can ever hold is a plain 400.
    let (st, _, body) = stream(&s, lines(10..14), NDJSON).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");

    // Queued points are invisible until applied; a flush applies them.
    assert_eq!(count(&s).await, 0);
    let (st, _) = s.post("/v1/collections/m/flush", json!({})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(count(&s).await, 2);
    let (st, got) = s.get("/v1/collections/m/points/1").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(got["payload"], json!({"n": 1}));

    // Off: the queue is applied first, and streamed writes are refused again.
    let (st, _, body) = stream(&s, lines(20..21), NDJSON).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, body) = s.delete("/v1/collections/m/streaming").await;
    assert_eq!((st, body), (StatusCode::OK, json!({"enabled": false})));
    assert_eq!(count(&s).await, 3);
    let (st, _, _) = stream(&s, lines(30..31), NDJSON).await;
    assert_eq!(st, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_bad_line_refuses_the_whole_request() {
    let (s, c) = server(ServerConfig::default()).await;
    let (st, _) = s.put("/v1/collections/m/streaming", json!({})).await;
    assert_eq!(st, StatusCode::OK);
    c.set_streaming_paused(true).unwrap();
    let cases = [
        (
            format!("{}{{\"id\": 9, \"vector\": [1.0", lines(0..1)),
            "line 2",
        ),
        (format!("{}{{\"id\": 9}}\n", lines(0..1)), "line 2"),
        (
            format!(
                "{}{{\"id\": 9, \"vector\": [1.0, 2.0], \"color\": 1}}\n",
                lines(0..1)
            ),
            "line 2",
        ),
        (
            format!(
                "{}\n\n{{\"id\": 9, \"vector\": [1.0, 2.0], \"ttl\": 5, \"expires_at\": 1}}\n",
                lines(0..1)
            ),
            "point 9",
        ),
    ];
    for (body, expected) in cases {
        let (st, _, answer) = stream(&s, body.clone(), NDJSON).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(error_message(&answer).contains(expected), "{answer}");
    }
    // Dimension checks are the engine's, for the batch as a whole.
    let (st, _, answer) = stream(&s, "{\"id\": 1, \"vector\": [1.0]}\n", NDJSON).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{answer}");
    let (st, _, answer) = stream(&s, lines(0..1), "application/json").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        error_message(&answer).contains("application/x-ndjson"),
        "{answer}"
    );
    let (_, state) = s.get("/v1/collections/m/streaming").await;
    assert_eq!(state["queued"], 0);
    // Blank lines and a last line without a newline are fine; TTLs are accepted.
    let body =
        "\n{\"id\": 1, \"vector\": [1.0, 2.0], \"ttl\": 60}\n\n{\"id\": 2, \"vector\": [1.0, 2.0]}";
    let (st, _, answer) = stream(&s, body, "application/x-ndjson; charset=utf-8").await;
    assert_eq!((st, answer), (StatusCode::OK, json!({"queued": 2})));
}

#[tokio::test]
async fn streamed_requests_keep_the_request_limits() {
    let limits = Limits {
        max_batch_points: 3,
        max_body_bytes: 4096,
        max_json_depth: 8,
        ..Limits::default()
    };
    let (s, c) = server(ServerConfig {
        limits,
        ..ServerConfig::default()
    })
    .await;
    let (st, _) = s
        .put("/v1/collections/m/streaming", json!({"buffer_size": 100}))
        .await;
    assert_eq!(st, StatusCode::OK);
    c.set_streaming_paused(true).unwrap();
    let (st, _, body) = stream(&s, lines(0..4), NDJSON).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(error_message(&body).contains("limit of 3 points"), "{body}");
    let big = format!(
        "{{\"id\": 1, \"vector\": [1.0, 2.0], \"payload\": {{\"s\": \"{}\"}}}}\n",
        "x".repeat(5000)
    );
    let (st, _, _) = stream(&s, big, NDJSON).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    let deep = format!(
        "{{\"id\": 1, \"vector\": [1.0, 2.0], \"payload\": {}1{}}}\n",
        "{\"a\": ".repeat(10),
        "}".repeat(10)
    );
    let (st, _, body) = stream(&s, deep, NDJSON).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert!(error_message(&body).contains("line 1"), "{body}");
    let (st, _, body) = stream(&s, lines(0..3), NDJSON).await;
    assert_eq!((st, body), (StatusCode::OK, json!({"queued": 3})));
    // Settings are checked: zero sizes are the engine's 400, a zero interval 422.
    let (st, _) = s
        .put("/v1/collections/m/streaming", json!({"buffer_size": 0}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s
        .put(
            "/v1/collections/m/streaming",
            json!({"flush_interval_ms": 0}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _) = s
        .put("/v1/collections/m/streaming", json!({"buffer": 1}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s.get("/v1/collections/nope/streaming").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
