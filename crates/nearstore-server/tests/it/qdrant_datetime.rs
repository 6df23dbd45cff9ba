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
}
