//! Graceful shutdown: in-flight requests finish, then every collection is flushed, and a
//! reopened database holds every acknowledged write.

use nearstore::Database;
use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::harness::{read_response, start};

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_then_flushes() {
    let mut s = start(ServerConfig::default()).await;
    let (st, _) = s
        .post(
            "/v1/collections",
            json!({"name": "c", "dim": 2, "durability": "bulk"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = s
        .put(
            "/v1/collections/c/points",
            json!([{"id": 1, "vector": [1.0, 0.0]}]),
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    let body = br#"[{"id": 2, "vector": [0.0, 1.0], "payload": {"late": true}}]"#;
    let mut in_flight = s
        .partial_request("PUT", "/v1/collections/c/points", body.len(), &body[..3])
        .await;
    s.wait_for_slots_in_use(1).await;
    s.begin_shutdown();
    // Once the listener is closed, shutdown has begun (bounded poll).
    let mut refused = false;
    for _ in 0..2000 {
        if tokio::net::TcpStream::connect(s.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "the listener never closed");
    in_flight.write_all(&body[3..]).await.unwrap();
    let (status, text) = read_response(&mut in_flight).await;
    assert_eq!(status, 200, "{text}");
    drop(in_flight);

    let dir = s.stop().await;
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_vector_collection("c").unwrap();
    assert_eq!(c.len(), 2);
    let got = c.get(&[2]).unwrap();
    assert_eq!(
        got[0].as_ref().unwrap().payload,
        Some(json!({"late": true}))
    );
}

#[tokio::test]
async fn stopping_the_server_releases_the_database() {
    let s = start(ServerConfig::default()).await;
    assert_eq!(s.get("/readyz").await.0, StatusCode::OK);
    let dir = s.stop().await;
    // The directory lock is released once the server is gone.
    Database::open(dir.path()).unwrap();
}
