//! Qdrant payload operations (`set_payload`, `overwrite_payload`, `delete_payload`,
//! `clear_payload`) as routes and as `points/batch` operations: each change is read back by
//! retrieve, scroll and filters.

use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, start};

const UUID: &str = "550e8400-e29b-41d4-a716-446655440000";

fn ok(st: StatusCode, body: &Value) -> Value {
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    body["result"].clone()
}

async fn setup(s: &TestServer, name: &str) {
    let (st, b) = s
        .put(
            &format!("/collections/{name}"),
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .put(
            &format!("/collections/{name}/points?wait=true"),
            json!({"points": [
                {"id": 1, "vector": [1.0, 0.0], "payload": {"a": 1, "m": {"n": 1, "o": 2}, "t": "x"}},
                {"id": 2, "vector": [0.0, 1.0], "payload": {"a": 2, "t": "y"}},
                {"id": 3, "vector": [0.5, 0.5]},
                {"id": UUID, "vector": [0.2, 0.2], "payload": {"a": 1, "t": "u"}},
            ]}),
        )
        .await;
    ok(st, &b);
}

/// The visible payloads by id, through retrieve.
async fn payloads(s: &TestServer, name: &str) -> Vec<Value> {
    let (st, b) = s
        .post(
            &format!("/collections/{name}/points"),
            json!({"ids": [1, 2, 3, UUID]}),
        )
        .await;
    let records = ok(st, &b);
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 4, "{records:?}");
    assert_eq!(records[3]["id"], json!(UUID));
    records.iter().map(|r| r["payload"].clone()).collect()
}

/// The ids a scroll with `filter` returns.
async fn matching(s: &TestServer, name: &str, filter: Value) -> Vec<Value> {
    let (st, b) = s
        .post(
            &format!("/collections/{name}/points/scroll"),
            json!({"filter": filter, "limit": 10}),
        )
        .await;
    ok(st, &b)["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect()
}

fn completed(st: StatusCode, b: &Value) {
    let r = ok(st, b);
    assert_eq!(r["status"], "completed", "{b}");
    assert!(r["operation_id"].is_u64(), "{b}");
    assert!(b["time"].is_f64(), "{b}");
}

#[tokio::test]
async fn set_overwrite_delete_and_clear_by_ids() {
    let s = start(ServerConfig::default()).await;
    setup(&s, "p").await;

    // An absent id is 404 naming it, as in Qdrant, for every operation; nothing is written.
    let before = payloads(&s, "p").await;
    for (method, path, body) in [
        (
            "POST",
            "payload",
            json!({"payload": {"b": true}, "points": [1, UUID, 77]}),
        ),
        (
            "PUT",
            "payload",
            json!({"payload": {"b": true}, "points": [77, 1]}),
        ),
        (
            "POST",
            "payload/delete",
            json!({"keys": ["a"], "points": [1, 77]}),
        ),
        ("POST", "payload/clear", json!({"points": [1, 77]})),
        (
            "POST",
            "batch",
            json!({"operations": [{"set_payload": {"payload": {"b": 1}, "points": [77]}}]}),
        ),
    ] {
        let url = format!("/collections/p/points/{path}?wait=true");
        let (st, b) = if method == "PUT" {
            s.put(&url, body).await
        } else {
            s.post(&url, body).await
        };
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}: {b}");
        assert!(
            b["status"]["error"]
                .as_str()
                .unwrap()
                .contains("No point with id 77 found"),
            "{b}"
        );
    }
    assert_eq!(payloads(&s, "p").await, before);

    // set merges keys (by ids, a UUID among them).
    let (st, b) = s
        .post(
            "/collections/p/points/payload?wait=true",
            json!({"payload": {"b": true, "a": 9}, "points": [1, UUID]}),
        )
        .await;
    completed(st, &b);
    let p = payloads(&s, "p").await;
    assert_eq!(
        p[0],
        json!({"a": 9, "b": true, "m": {"n": 1, "o": 2}, "t": "x"})
    );
    assert_eq!(p[1], json!({"a": 2, "t": "y"}));
    assert_eq!(p[3], json!({"a": 9, "b": true, "t": "u"}));
    assert_eq!(
        matching(
            &s,
            "p",
            json!({"must": [{"key": "b", "match": {"value": true}}]})
        )
        .await,
        [json!(1), json!(UUID)]
    );

    // set with a key merges into a nested object.
    let (st, b) = s
        .post(
            "/collections/p/points/payload",
            json!({"payload": {"k": 5}, "points": [1], "key": "m"}),
        )
        .await;
    completed(st, &b);
    assert_eq!(
        payloads(&s, "p").await[0]["m"],
        json!({"n": 1, "o": 2, "k": 5})
    );

    // delete removes keys, a dotted one included.
    let (st, b) = s
        .post(
            "/collections/p/points/payload/delete?wait=true",
            json!({"keys": ["b", "m.n"], "points": [1, UUID]}),
        )
        .await;
    completed(st, &b);
    let p = payloads(&s, "p").await;
    assert_eq!(p[0], json!({"a": 9, "m": {"o": 2, "k": 5}, "t": "x"}));
    assert_eq!(p[3], json!({"a": 9, "t": "u"}));
    assert!(
        matching(
            &s,
            "p",
            json!({"must": [{"key": "m.n", "match": {"value": 1}}]})
        )
        .await
        .is_empty()
    );

    // overwrite replaces the whole payload (the UUID point keeps its id).
    let (st, b) = s
        .put(
            "/collections/p/points/payload?wait=true",
            json!({"payload": {"z": "new"}, "points": [2, UUID]}),
        )
        .await;
    completed(st, &b);
    let p = payloads(&s, "p").await;
    assert_eq!(p[1], json!({"z": "new"}));
    assert_eq!(p[3], json!({"z": "new"}));
    assert_eq!(
        matching(
            &s,
            "p",
            json!({"must": [{"key": "z", "match": {"value": "new"}}]})
        )
        .await,
        [json!(2), json!(UUID)]
    );

    // clear empties the payload.
    let (st, b) = s
        .post(
            "/collections/p/points/payload/clear",
            json!({"points": [1, UUID]}),
        )
        .await;
    completed(st, &b);
    let p = payloads(&s, "p").await;
    assert_eq!(p[0], json!({}));
    assert_eq!(p[1], json!({"z": "new"}));
    assert_eq!(p[3], json!({}));
    assert_eq!(
        matching(
            &s,
            "p",
            json!({"must": [{"key": "t", "match": {"value": "x"}}]})
        )
        .await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn set_overwrite_delete_and_clear_by_filter() {
    let s = start(ServerConfig::default()).await;
    setup(&s, "f").await;
    let a1 = json!({"must": [{"key": "a", "match": {"value": 1}}]});

    let (st, b) = s
        .post(
            "/collections/f/points/payload",
            json!({"payload": {"tag": "one"}, "filter": a1}),
        )
        .await;
    completed(st, &b);
    assert_eq!(
        matching(
            &s,
            "f",
            json!({"must": [{"key": "tag", "match": {"value": "one"}}]})
        )
        .await,
        [json!(1), json!(UUID)]
    );

    let (st, b) = s
        .post(
            "/collections/f/points/payload/delete",
            json!({"keys": ["m.o", "t"], "filter": a1}),
        )
        .await;
    completed(st, &b);
    let p = payloads(&s, "f").await;
    assert_eq!(p[0], json!({"a": 1, "m": {"n": 1}, "tag": "one"}));
    assert_eq!(p[1], json!({"a": 2, "t": "y"}));
    assert_eq!(p[3], json!({"a": 1, "tag": "one"}));

    let (st, b) = s
        .put(
            "/collections/f/points/payload",
            json!({"payload": {"a": 5}, "filter": a1}),
        )
        .await;
    completed(st, &b);
    let p = payloads(&s, "f").await;
    assert_eq!(p[0], json!({"a": 5}));
    assert_eq!(p[3], json!({"a": 5}));
    assert_eq!(
        matching(
            &s,
            "f",
            json!({"must": [{"key": "a", "match": {"value": 5}}]})
        )
        .await,
        [json!(1), json!(UUID)]
    );

    let (st, b) = s
        .post(
            "/collections/f/points/payload/clear",
            json!({"filter": {"must": [{"key": "a", "match": {"value": 5}}]}}),
        )
        .await;
    completed(st, &b);
    let p = payloads(&s, "f").await;
    assert_eq!(
        p,
        [json!({}), json!({"a": 2, "t": "y"}), json!({}), json!({})]
    );
    assert_eq!(
        matching(&s, "f", json!({"must": [{"is_empty": {"key": "a"}}]})).await,
        [json!(1), json!(3), json!(UUID)]
    );
}

#[tokio::test]
async fn payload_operations_in_a_points_batch_apply_in_order() {
    let s = start(ServerConfig::default()).await;
    setup(&s, "b").await;
    let (st, b) = s
        .post(
            "/collections/b/points/batch?wait=true",
            json!({"operations": [
                {"set_payload": {"payload": {"s": 1}, "points": [1, 2]}},
                {"overwrite_payload": {"payload": {"o": 1}, "points": [3]}},
                {"delete_payload": {"keys": ["a"], "filter": {"must": [{"key": "s", "match": {"value": 1}}]}}},
                {"clear_payload": {"points": {"points": [UUID]}}},
            ]}),
        )
        .await;
    let r = ok(st, &b);
    assert_eq!(r[0]["status"], "completed", "{b}");
    let p = payloads(&s, "b").await;
    assert_eq!(p[0], json!({"m": {"n": 1, "o": 2}, "s": 1, "t": "x"}));
    assert_eq!(p[1], json!({"s": 1, "t": "y"}));
    assert_eq!(p[2], json!({"o": 1}));
    assert_eq!(p[3], json!({}));

    // A malformed payload operation refuses the whole batch before anything is applied.
    let (st, b) = s
        .post(
            "/collections/b/points/batch",
            json!({"operations": [
                {"clear_payload": {"points": {"points": [1]}}},
                {"set_payload": {"payload": {"x": 1}, "points": [1], "filter": {}}},
            ]}),
        )
        .await;
    assert!(st.is_client_error(), "{b}");
    assert_eq!(payloads(&s, "b").await[0]["s"], json!(1));
}

#[tokio::test]
async fn malformed_payload_bodies_and_unknown_collections_are_refused() {
    let s = start(ServerConfig::default()).await;
    setup(&s, "m").await;
    let bad: Vec<(reqwest::Method, &str, Value)> = vec![
        // both points and filter, neither
        (
            reqwest::Method::POST,
            "/collections/m/points/payload",
            json!({"payload": {"x": 1}, "points": [1], "filter": {"must": []}}),
        ),
        (
            reqwest::Method::POST,
            "/collections/m/points/payload",
            json!({"payload": {"x": 1}}),
        ),
        // a payload that is not an object, or missing
        (
            reqwest::Method::PUT,
            "/collections/m/points/payload",
            json!({"payload": [1, 2], "points": [1]}),
        ),
        (
            reqwest::Method::POST,
            "/collections/m/points/payload",
            json!({"points": [1]}),
        ),
        (
            reqwest::Method::POST,
            "/collections/m/points/payload/delete",
            json!({"keys": "a", "points": [1]}),
        ),
        (
            reqwest::Method::POST,
            "/collections/m/points/payload/delete",
            json!({"keys": ["a..b"], "points": [1]}),
        ),
        (
            reqwest::Method::POST,
            "/collections/m/points/payload/clear",
            json!({}),
        ),
        // the reserved UUID key
        (
            reqwest::Method::POST,
            "/collections/m/points/payload",
            json!({"payload": {"__nearstore_uuid": "x"}, "points": [1]}),
        ),
    ];
    for (method, url, body) in bad {
        let (st, b) = s.call(method.clone(), url, Some(body.clone())).await;
        assert!(
            st == StatusCode::BAD_REQUEST || st == StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {url} {body}: {st} {b}"
        );
    }
    // Array selectors in a write path: the engine's payload writes take object paths only,
    // so they are refused by name (never written as a literal key like "cities[0]").
    for (url, body, path) in [
        (
            "/collections/m/points/payload",
            json!({"payload": {"q": 1}, "points": [1], "key": "m.list[0]"}),
            "m.list[0]",
        ),
        (
            "/collections/m/points/payload/delete",
            json!({"keys": ["m.list[].n"], "points": [1]}),
            "m.list[].n",
        ),
    ] {
        let (st, b) = s.post(url, body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
        let msg = b["status"]["error"].as_str().unwrap();
        assert!(msg.contains(path) && msg.contains("not supported"), "{msg}");
    }
    // Nothing changed.
    assert_eq!(
        payloads(&s, "m").await[0],
        json!({"a": 1, "m": {"n": 1, "o": 2}, "t": "x"})
    );
    let (st, b) = s
        .post(
            "/collections/nope/points/payload",
            json!({"payload": {"x": 1}, "points": [1]}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
    let (st, b) = s
        .post(
            "/collections/nope/points/payload/clear",
            json!({"points": [1]}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
}
