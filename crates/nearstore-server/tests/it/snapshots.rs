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
    // A snapshot of another collection restores under the name uploaded to: "other" (one
    // point before) now holds the 12 points of c's snapshot.
    collection_with_points(&s, "other", 1).await;
    let (st, body) = upload(&s, "other", "", "snapshot", &archive).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(count(&s, "other").await, 12);

    // Recover by location: only file:// inside the snapshot directory.
    let (st, _) = s
        .post(
            "/collections/c/points/delete?wait=true",
            json!({"points": [5]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    // In the snapshot directory, not in the data directory (a restore would remove it).
    let dir = s.snapshots_dir().join("c");
    assert!(dir.join(&name).is_file());
    assert!(!s.dir.path().join("snapshots").exists());
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
    let (st, made) = s.post("/v1/snapshot", json!({"name": "db.snapshot"})).await;
    assert_eq!(st, StatusCode::OK, "{made}");
    assert_eq!(made["name"], "db.snapshot");
    assert_eq!(made["checksum"].as_str().unwrap().len(), 64, "{made}");
    assert!(s.snapshots_dir().join("db.snapshot").is_file());
    let (st, _) = s.post("/v1/snapshot", json!({"name": "db.snapshot"})).await;
    assert_eq!(st, StatusCode::CONFLICT, "never overwrites");
    let (st, listed) = s.get("/v1/snapshots").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(listed, json!({"snapshots": [made.clone()]}));

    let (st, _) = s.delete("/collections/b").await;
    assert_eq!(st, StatusCode::OK);
    collection_with_points(&s, "c", 1).await;
    let (st, restored) = s.post("/v1/restore", json!({"name": "db.snapshot"})).await;
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
    // The restore replaced the data directory, not the snapshot directory.
    let (_, listed) = s.get("/v1/snapshots").await;
    assert_eq!(listed["snapshots"].as_array().unwrap().len(), 1, "{listed}");

    let (st, _) = s
        .post("/v1/restore", json!({"name": "gone.snapshot"}))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, body) = s.delete("/v1/snapshots/db.snapshot").await;
    assert_eq!(
        (st, body),
        (StatusCode::OK, json!({"deleted": "db.snapshot"}))
    );
    assert!(!s.snapshots_dir().join("db.snapshot").exists());
    assert!(!s.snapshots_dir().join("db.snapshot.sha256").exists());
    let (st, _) = s.delete("/v1/snapshots/db.snapshot").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_native_routes_take_only_plain_archive_names() {
    let s = start(ServerConfig::default()).await;
    collection_with_points(&s, "a", 2).await;
    let outside = tempfile::tempdir().unwrap();
    let absolute = outside.path().join("x.snapshot").display().to_string();
    let inside = s.dir.path().join("x.snapshot").display().to_string();
    let refused = [
        ("a path separator", absolute.as_str()),
        ("a path separator", inside.as_str()),
        ("a path separator", "sub/x.snapshot"),
        ("a path separator", "sub\\x.snapshot"),
        ("a NUL", "x\0.snapshot"),
        ("`..`", "..x.snapshot"),
        ("`..`", "x..snapshot"),
        ("starts with `.`", ".hidden.snapshot"),
        ("end in `.snapshot`", "x.tar"),
        ("end in `.snapshot`", ""),
    ];
    for (why, name) in refused {
        for route in ["/v1/snapshot", "/v1/restore"] {
            let (st, body) = s.post(route, json!({"name": name})).await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{route} {name:?}: {body}");
            assert!(
                error_message(&body).contains(why),
                "{route} {name:?}: {body}"
            );
        }
    }
    // The old body shape is refused, not ignored.
    let (st, body) = s.post("/v1/snapshot", json!({"path": absolute})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    for (why, encoded) in [
        ("a path separator", "..%2Fx.snapshot"),
        ("starts with `.`", ".hidden.snapshot"),
        ("end in `.snapshot`", "x.tar"),
    ] {
        let (st, body) = s.delete(&format!("/v1/snapshots/{encoded}")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{encoded}: {body}");
        assert!(error_message(&body).contains(why), "{encoded}: {body}");
    }
    // Nothing was written anywhere.
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert!(!s.dir.path().join("x.snapshot").exists());
    let (_, listed) = s.get("/v1/snapshots").await;
    assert_eq!(listed, json!({"snapshots": []}));
}

#[tokio::test]
async fn the_default_snapshot_directory_is_a_sibling_of_the_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let db = nearstore::Database::open(&data).unwrap();
    // `start_on` keeps `snapshots_dir: None`: the default.
    let s = crate::harness::start_on(db, tmp, ServerConfig::default()).await;
    collection_with_points(&s, "c", 3).await;
    let (st, made) = s.post("/collections/c/snapshots", json!({})).await;
    assert_eq!(st, StatusCode::OK, "{made}");
    let name = made["result"]["name"].as_str().unwrap();
    let dir = s.dir.path().join("data-snapshots");
    assert!(dir.join("c").join(name).is_file());
    assert!(!data.join("snapshots").exists());
    let (st, full) = s.post("/snapshots", json!({})).await;
    assert_eq!(st, StatusCode::OK, "{full}");
    let full = full["result"]["name"].as_str().unwrap();
    assert!(full.starts_with("full-snapshot-"), "{full}");
    assert!(dir.join(full).is_file());
    // Listings: the full snapshot only (not the collection directory), and the collection's.
    let (_, listed) = s.get("/snapshots").await;
    let names: Vec<_> = listed["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![full]);
    let location = format!("file://{}", dir.join("c").join(name).display());
    let (st, body) = s
        .put(
            "/collections/c/snapshots/recover",
            json!({"location": location}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, _) = s.get(&format!("/snapshots/{full}")).await;
    assert_eq!(st, StatusCode::OK);
    for bad in [
        "..%2Fdata%2Fx.snapshot",
        ".x.snapshot",
        "x.tar",
        "none.snapshot",
    ] {
        let (st, _) = s.get(&format!("/snapshots/{bad}")).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{bad}");
        let (st, _) = s.delete(&format!("/snapshots/{bad}")).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{bad}");
    }
    let (st, body) = s.delete(&format!("/snapshots/{full}")).await;
    assert_eq!((st, body["result"].clone()), (StatusCode::OK, json!(true)));
    assert!(!dir.join(full).exists());
}

#[tokio::test]
async fn a_snapshot_directory_inside_the_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = nearstore::Database::open(dir.path()).unwrap();
    // Refused when binding, whether it exists or not, and also when it holds the data
    // directory.
    for root in [
        dir.path().join("snaps"),
        dir.path().join("not/yet"),
        dir.path().to_path_buf(),
        dir.path().parent().unwrap().to_path_buf(),
    ] {
        let config = ServerConfig {
            host: "127.0.0.1".into(),
            port: 0,
            snapshots_dir: Some(root.clone()),
            ..ServerConfig::default()
        };
        let err = nearstore_server::Server::bind(db.clone(), &config)
            .await
            .err()
            .unwrap_or_else(|| panic!("{} accepted", root.display()));
        assert!(err.to_string().contains("snapshots_dir"), "{err}");
    }
    assert!(!dir.path().join("snaps").exists() && !dir.path().join("not").exists());

    // An embedded router (no bind) answers 500 at each snapshot route instead.
    let config = ServerConfig {
        snapshots_dir: Some(dir.path().join("snaps")),
        ..ServerConfig::default()
    };
    let app = nearstore_server::router(db, &config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    for (method, path) in [
        ("POST", "/snapshots"),
        ("GET", "/v1/snapshots"),
        ("POST", "/v1/snapshot"),
    ] {
        let m: reqwest::Method = method.parse().unwrap();
        let mut request = client.request(m, format!("{url}{path}"));
        if path == "/v1/snapshot" {
            request = request.json(&json!({"name": "x.snapshot"}));
        }
        let resp = request.send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {body}");
        assert!(error_message(&body).contains("snapshots_dir"), "{body}");
    }
    served.abort();
}

#[tokio::test]
async fn a_recover_location_is_checked_after_resolving_links() {
    let s = start(ServerConfig::default()).await;
    collection_with_points(&s, "c", 2).await;
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("evil.snapshot");
    std::fs::write(&target, b"not an archive").unwrap();
    let dir = s.snapshots_dir().join("c");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&target, dir.join("link.snapshot")).unwrap();
    std::os::unix::fs::symlink(outside.path(), s.snapshots_dir().join("out")).unwrap();
    for location in [
        format!("file://{}", dir.join("link.snapshot").display()),
        format!(
            "file://{}",
            s.snapshots_dir().join("out/evil.snapshot").display()
        ),
    ] {
        let (st, body) = s
            .put(
                "/collections/c/snapshots/recover",
                json!({"location": location}),
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{location}: {body}");
        assert!(
            error_message(&body).contains("inside the snapshot directory"),
            "{body}"
        );
    }
    assert_eq!(count(&s, "c").await, 2);
    let missing = format!("file://{}", dir.join("none.snapshot").display());
    let (st, body) = s
        .put(
            "/collections/c/snapshots/recover",
            json!({"location": missing}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
}
