//! Qdrant's datetime payload index (`"field_schema": "datetime"`), mapped onto the engine's
//! datetime index.

use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::start;

#[tokio::test]
async fn a_datetime_payload_index_is_created_and_reported() {
    let s = start(ServerConfig::default()).await;
    let (st, b) = s
        .put(
            "/collections/dt",
            json!({"vectors": {"size": 2, "distance": "Euclid"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, b) = s
        .put(
            "/collections/dt/points?wait=true",
            json!({"points": [
                {"id": 1, "vector": [0.0, 1.0], "payload": {"ts": "2024-01-02T03:04:05Z"}},
                {"id": 2, "vector": [1.0, 0.0], "payload": {"ts": "2025-06-01T00:00:00+02:00"}},
            ]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, b) = s
        .put(
            "/collections/dt/index?wait=true",
            json!({"field_name": "ts", "field_schema": "datetime"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, b) = s.get("/collections/dt").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        b["result"]["payload_schema"]["ts"]["data_type"], "datetime",
        "{b}"
    );
    assert_eq!(b["result"]["payload_schema"]["ts"]["points"], 2, "{b}");
    // Qdrant's datetime range: `range` with string bounds; 2025-06-01T00:00+02:00 is
    // 2025-05-31T22:00Z, so `lt` 2025-05-31T23:00Z keeps it.
    for (range, want) in [
        (json!({"gte": "2024-01-02T03:04:05Z"}), 2),
        (json!({"gt": "2024-01-02T03:04:05Z"}), 1),
        (json!({"lt": "2025-05-31T23:00:00Z", "gt": "2024-06-01"}), 1),
        (json!({"lt": "2024-01-01"}), 0),
    ] {
        let (st, b) = s
            .post(
                "/collections/dt/points/count",
                json!({"filter": {"must": [{"key": "ts", "range": range}]}}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{b}");
        assert_eq!(b["result"]["count"], want, "{range}");
    }
    let (st, b) = s
        .post(
            "/collections/dt/points/count",
            json!({"filter": {"must": [{"key": "ts", "range": {"gt": "yesterday"}}]}}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
}

/// Scroll `order_by` on a datetime-indexed key: points in time order (offsets honoured),
/// `order_value` the instant in microseconds since the epoch as Qdrant reports it, and
/// `start_from` given as a datetime string.
#[tokio::test]
async fn scroll_orders_by_a_datetime_index() {
    let s = start(ServerConfig::default()).await;
    let (st, b) = s
        .put(
            "/collections/dt",
            json!({"vectors": {"size": 2, "distance": "Euclid"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // Written out of time order; 3's offset puts it before 1 although its text sorts after.
    let (st, b) = s
        .put(
            "/collections/dt/points?wait=true",
            json!({"points": [
                {"id": 1, "vector": [0.0, 1.0], "payload": {"ts": "2024-01-02T00:00:00Z"}},
                {"id": 2, "vector": [1.0, 0.0], "payload": {"ts": "2023-05-01"}},
                {"id": 3, "vector": [1.0, 1.0], "payload": {"ts": "2024-01-02T01:00:00+02:00"}},
                {"id": 4, "vector": [0.5, 0.5], "payload": {"other": 1}},
            ]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // Without the index: Qdrant's 400.
    let (st, b) = s
        .post("/collections/dt/points/scroll", json!({"order_by": "ts"}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let (st, b) = s
        .put(
            "/collections/dt/index?wait=true",
            json!({"field_name": "ts", "field_schema": "datetime"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let micros = |text: &str| nearstore::Datetime::parse(text).unwrap().micros();
    let (st, b) = s
        .post("/collections/dt/points/scroll", json!({"order_by": "ts"}))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let ids: Vec<u64> = b["result"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [2, 3, 1], "{b}");
    assert_eq!(
        b["result"]["points"][1]["order_value"],
        micros("2024-01-01T23:00:00Z"),
        "{b}"
    );
    let (st, b) = s
        .post(
            "/collections/dt/points/scroll",
            json!({"order_by": {"key": "ts", "direction": "desc", "start_from": "2024-01-01T23:30:00Z"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let ids: Vec<u64> = b["result"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [3, 2], "{b}");
    assert_eq!(
        b["result"]["points"][1]["order_value"],
        micros("2023-05-01T00:00:00Z"),
        "{b}"
    );
}
