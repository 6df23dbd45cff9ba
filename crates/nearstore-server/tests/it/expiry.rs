//! Point expiry on the native routes: `expires_at` (epoch milliseconds or a datetime) and
//! `ttl` (seconds) on upserted points, answered back by get, and expired points invisible
//! to search, get, scroll and count as the database's wall clock moves.

use std::sync::Arc;
use std::time::Duration;

use nearstore::{Database, ManualWallClock};
use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::start_on;

const NOW: u64 = 1_800_000_000_000;

fn ids(v: &Value, key: &str) -> Vec<u64> {
    let mut ids: Vec<u64> = v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn expired_points_vanish_from_every_native_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let clock = Arc::new(ManualWallClock::new(NOW));
    db.set_wall_clock(clock.clone());
    let s = start_on(db, dir, ServerConfig::default()).await;
    let (st, _) = s
        .post(
            "/v1/collections",
            json!({"name": "m", "dim": 2, "metric": "euclidean"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, body) = s
        .put(
            "/v1/collections/m/points",
            json!([
                {"id": 1, "vector": [0.0, 0.0]},
                {"id": 2, "vector": [0.1, 0.0], "expires_at": NOW + 1_000},
                {"id": 3, "vector": [0.2, 0.0], "ttl": 60},
                // NOW is 2027-01-15T08:00:00Z: this is a day later, with an offset.
                {"id": 4, "vector": [0.3, 0.0], "expires_at": "2027-01-16T09:00:00+01:00"},
            ]),
        )
        .await;
    assert_eq!((st, body), (StatusCode::OK, json!({"upserted": 4})));
    let (st, got) = s
        .post(
            "/v1/collections/m/points/get",
            json!({"ids": [1, 2, 3, 4], "with_vector": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(got["points"][0].get("expires_at").is_none(), "{got}");
    assert_eq!(got["points"][1]["expires_at"], NOW + 1_000);
    assert_eq!(
        got["points"][2]["expires_at"],
        NOW + 60_000,
        "a TTL from the write"
    );
    assert_eq!(got["points"][3]["expires_at"], NOW + 86_400_000);

    let search = json!({"vector": [0.0, 0.0], "limit": 10});
    let (_, r) = s.post("/v1/collections/m/search", search.clone()).await;
    assert_eq!(ids(&r, "results"), [1, 2, 3, 4]);

    // 2 expires; then 3.
    clock.advance(Duration::from_millis(1_000));
    let (_, r) = s.post("/v1/collections/m/search", search.clone()).await;
    assert_eq!(ids(&r, "results"), [1, 3, 4]);
    let (_, page) = s
        .post("/v1/collections/m/points/scroll", json!({"limit": 10}))
        .await;
    assert_eq!(ids(&page, "points"), [1, 3, 4]);
    let (_, n) = s.post("/v1/collections/m/points/count", json!({})).await;
    assert_eq!(n["count"], 3);
    let (st, _) = s.get("/v1/collections/m/points/2").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    clock.advance(Duration::from_secs(60));
    let (_, r) = s.post("/v1/collections/m/search", search).await;
    assert_eq!(ids(&r, "results"), [1, 4]);

    // Both forms at once, a negative number and a non-datetime string are 400.
    for bad in [
        json!({"id": 9, "vector": [0.0, 0.0], "expires_at": NOW, "ttl": 5}),
        json!({"id": 9, "vector": [0.0, 0.0], "expires_at": -5}),
        json!({"id": 9, "vector": [0.0, 0.0], "expires_at": "tomorrow"}),
        json!({"id": 9, "vector": [0.0, 0.0], "ttl": -1}),
    ] {
        let (st, body) = s.put("/v1/collections/m/points", json!([bad])).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (st, _) = s.get("/v1/collections/m/points/9").await;
    assert_eq!(st, StatusCode::NOT_FOUND, "a refused batch writes nothing");
}
