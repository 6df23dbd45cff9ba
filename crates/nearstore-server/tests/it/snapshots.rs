//! Snapshots over HTTP: Qdrant's collection snapshot routes (create, list, download,
//! delete, recover from a location and from a multipart upload, with the refusals) and the
//! native whole-database `POST /v1/snapshot` / `POST /v1/restore`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, error_message, start};
use nearstore_server::ServerConfig;

async fn collection_with_points(s: &TestServer, name: &str, n: u64) {
    let (st, body) = s
        .put(
            &format!("/collections/{name}"),
            json!({"vectors": {"size": 2, "distance": "Euclid"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let points: Vec<Value> = (0..n)
        .map(|i| json!({"id": i, "vector": [i as f32, 1.0], "payload": {"i": i}}))
        .collect();
    let (st, body) = s
        .put(
            &format!("/collections/{name}/points?wait=true"),
            json!({"points": points}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

async fn count(s: &TestServer, name: &str) -> u64 {
    let (st, body) = s
        .post(
            &format!("/collections/{name}/points/count"),
            json!({"exact": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    body["result"]["count"].as_u64().unwrap()
}

/// A multipart body with one field `field` holding `bytes`.
fn multipart(field: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "nearstore-test-boundary-7d1f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"s.snapshot\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    s: &TestServer,
    name: &str,
    query: &str,
    field: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let (content_type, body) = multipart(field, bytes);
    let resp = s
        .client
        .post(format!(
            "{}/collections/{name}/snapshots/upload{query}",
            s.url
        ))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn collection_snapshots_round_trip_through_qdrant_routes() {
    let s = start(ServerConfig::default()).await;
    collection_with_points(&s, "c", 12).await;
    let (st, made) = s.post("/collections/c/snapshots", json!({})).await;
    assert_eq!(st, StatusCode::OK, "{made}");
    let made = made["result"].clone();
    let name = made["name"].as_str().unwrap().to_owned();
    assert!(
        name.starts_with("c-") && name.ends_with(".snapshot"),
        "{made}"
    );
    assert_eq!(made["checksum"].as_str().unwrap().len(), 64);
    assert!(made["creation_time"].is_string(), "{made}");
    let (st, listed) = s.get("/collections/c/snapshots").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(listed["result"], json!([made.clone()]));

    let resp = s
        .client
        .get(format!("{}/collections/c/snapshots/{name}", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    let archive = resp.bytes().await.unwrap().to_vec();
    assert_eq!(archive.len() as u64, made["size"].as_u64().unwrap());

    // Changed, then recovered from the upload.
    let (st, _) = s
        .post(
            "/collections/c/points/delete?wait=true",
            json!({"points": [0, 1, 2]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(count(&s, "c").await, 9);
    let checksum = made["checksum"].as_str().unwrap();
    let (st, body) = upload(
        &s,
        "c",
        &format!("?priority=snapshot&checksum={checksum}"),
        "snapshot",
        &archive,
    )
    .await;
    assert_eq!(
        (st, body["result"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    assert_eq!(count(&s, "c").await, 12);

    // Refusals, each leaving the collection as it is.
    let (st, body) = upload(&s, "c", "?priority=no_sync", "snapshot", &archive).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let (st, body) = upload(&s, "c", "?priority=fastest", "snapshot", &archive).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let (st, body) = upload(
        &s,
        "c",
        &format!("?checksum={}", "ab".repeat(32)),
        "snapshot",
        &archive,
    )
    .await;
    assert!(
        st == StatusCode::BAD_REQUEST && error_message(&body).contains("checksum"),
        "{body}"
    );
    let (st, body) = upload(&s, "c", "", "file", &archive).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let mut damaged = archive.clone();
    damaged[600] ^= 1;
    let (st, body) = upload(&s, "c", "", "snapshot", &damaged).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert!(error_message(&body).contains("SNAPSHOT"), "{body}");
    // A snapshot of another collection is refused by the engine.
    collection_with_points(&s, "other", 1).await;
    let (st, body) = upload(&s, "other", "", "snapshot", &archive).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(count(&s, "other").await, 1);

    // Recover by location: only file:// inside the snapshot directory.
    let (st, _) = s
        .post(
            "/collections/c/points/delete?wait=true",
            json!({"points": [5]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let dir = s.dir.path().join("snapshots").join("c");
    let location = format!("file://{}", dir.join(&name).display());
    let (st, body) = s
        .put(
            "/collections/c/snapshots/recover",
            json!({"location": location}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(count(&s, "c").await, 12);
    for bad in [
        "http://127.0.0.1:1/x.snapshot".to_string(),
        "file:///etc/passwd".to_string(),
        format!("file://{}/../../x.snapshot", dir.display()),
    ] {
        let (st, body) = s
            .put("/collections/c/snapshots/recover", json!({"location": bad}))
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }

    // Delete; then the name is gone.
    for bad in ["../c.snapshot", "x.tar", ".hidden.snapshot"] {
        let (st, _) = s.delete(&format!("/collections/c/snapshots/{bad}")).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{bad}");
    }
    let (st, body) = s.delete(&format!("/collections/c/snapshots/{name}")).await;
    assert_eq!((st, body["result"].clone()), (StatusCode::OK, json!(true)));
    let (_, listed) = s.get("/collections/c/snapshots").await;
    assert_eq!(listed["result"], json!([]));
    let (st, _) = s.get(&format!("/collections/c/snapshots/{name}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get("/collections/nope/snapshots").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_native_routes_snapshot_and_restore_the_whole_database() {
    let s = start(ServerConfig::default()).await;
    collection_with_points(&s, "a", 5).await;
    collection_with_points(&s, "b", 3).await;
    let outside = tempfile::tempdir().unwrap();
    let archive = outside.path().join("db.snapshot");
    let path = archive.display().to_string();
    let (st, made) = s.post("/v1/snapshot", json!({"path": path})).await;
    assert_eq!(st, StatusCode::OK, "{made}");
    assert_eq!(made["name"], "db.snapshot");
    assert!(archive.is_file());
    let (st, _) = s.post("/v1/snapshot", json!({"path": path})).await;
    assert_eq!(st, StatusCode::CONFLICT, "never overwrites");
    let inside = s.dir.path().join("x.snapshot").display().to_string();
    let (st, _) = s.post("/v1/snapshot", json!({"path": inside})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s
        .post("/v1/snapshot", json!({"path": "relative.snapshot"}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let (st, _) = s.delete("/collections/b").await;
    assert_eq!(st, StatusCode::OK);
    collection_with_points(&s, "c", 1).await;
    let (st, restored) = s.post("/v1/restore", json!({"path": path})).await;
    assert_eq!(st, StatusCode::OK, "{restored}");
    assert_eq!(
        restored["collections"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    assert_eq!(count(&s, "b").await, 3);
    let (st, _) = s.get("/collections/c").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
