//! The Qdrant-compatible subset: routes, envelopes and shapes, integer and UUID ids,
//! filters, and "not supported" answers.

use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, error_message, start};

const U1: &str = "550e8400-e29b-41d4-a716-446655440000";
const U2: &str = "6ba7b8109dad11d180b400c04fd430c8";

fn ok(st: StatusCode, body: &Value) -> Value {
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    assert!(body["time"].is_f64(), "{body}");
    body["result"].clone()
}

async fn with_points() -> TestServer {
    let s = start(ServerConfig::default()).await;
    let (st, b) = s
        .put(
            "/collections/qc",
            json!({"vectors": {"size": 3, "distance": "Cosine"}}),
        )
        .await;
    assert_eq!(ok(st, &b), json!(true));
    let (st, b) = s
        .put(
            "/collections/qc/points?wait=true",
            json!({"points": [
                {"id": 1, "vector": [1.0, 0.0, 0.0], "payload": {"city": "Berlin", "n": 1, "metadata": {"source": "a"}}},
                {"id": U1, "vector": [0.9, 0.1, 0.0], "payload": {"city": "Paris", "n": 5, "metadata": {"source": "b"}, "tags": []}},
                {"id": U2, "vector": {"": [0.0, 1.0, 0.0]}, "payload": {"city": "Rome", "n": 9, "tags": ["x"]}},
            ]}),
        )
        .await;
    assert_eq!(ok(st, &b)["status"], "completed");
    let (st, b) = s
        .put(
            "/collections/qc/points",
            json!({"batch": {"ids": [2, 3], "vectors": [[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]], "payloads": [{"city": "Berlin", "n": 2}, null]}}),
        )
        .await;
    ok(st, &b);
    s
}

fn ids(points: &Value) -> Vec<Value> {
    points
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect()
}

#[tokio::test]
async fn collections_have_qdrant_shapes() {
    let s = with_points().await;
    let (st, b) = s.get("/").await;
    assert_eq!(st, StatusCode::OK);
    assert!(b["version"].as_str().unwrap().starts_with("1."));
    let (st, b) = s.get("/collections").await;
    assert_eq!(ok(st, &b), json!({"collections": [{"name": "qc"}]}));
    let (st, b) = s.get("/collections/qc/exists").await;
    assert_eq!(ok(st, &b), json!({"exists": true}));
    let (st, b) = s.get("/collections/zz/exists").await;
    assert_eq!(ok(st, &b), json!({"exists": false}));
    let (st, b) = s
        .put(
            "/collections/qc/index",
            json!({"field_name": "city", "field_schema": "keyword"}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .put(
            "/collections/qc/index",
            json!({"field_name": "n", "field_schema": {"type": "integer"}}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s.get("/collections/qc").await;
    let info = ok(st, &b);
    assert_eq!(info["status"], "green");
    assert_eq!(info["points_count"], 5);
    assert_eq!(
        info["config"]["params"]["vectors"],
        json!({"size": 3, "distance": "Cosine", "on_disk": true})
    );
    assert!(info["config"]["hnsw_config"]["m"].is_u64());
    assert!(info["config"]["optimizer_config"]["flush_interval_sec"].is_u64());
    assert_eq!(
        info["payload_schema"]["city"],
        json!({"data_type": "keyword", "points": 4})
    );
    assert_eq!(info["payload_schema"]["n"]["data_type"], "integer");
    let (st, b) = s.delete("/collections/qc/index/n").await;
    ok(st, &b);
    let (st, b) = s.get("/collections/zz").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(error_message(&b).contains("does not exist"));
    let (st, b) = s
        .put(
            "/collections/qc",
            json!({"vectors": {"size": 3, "distance": "Cosine"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
    let (st, b) = s.delete("/collections/qc").await;
    assert_eq!(ok(st, &b), json!(true));
    let (st, b) = s.delete("/collections/qc").await;
    assert_eq!(ok(st, &b), json!(false));
    // The named-map form with the default name "" (what LangChain sends) is accepted.
    let (st, b) = s
        .put(
            "/collections/lc",
            json!({"vectors": {"": {"size": 2, "distance": "Dot"}}, "sparse_vectors": {}}),
        )
        .await;
    ok(st, &b);
    let (_, b) = s.get("/collections/lc").await;
    assert_eq!(
        b["result"]["config"]["params"]["vectors"]["distance"],
        "Dot"
    );
}

#[tokio::test]
async fn ids_come_back_in_the_form_sent() {
    let s = with_points().await;
    let (st, b) = s
        .post(
            "/collections/qc/points",
            json!({"ids": [U1, 1, U2, 77], "with_vector": true}),
        )
        .await;
    let records = ok(st, &b);
    assert_eq!(ids(&records), vec![json!(U1), json!(1), json!(U2)]);
    assert_eq!(records[0]["payload"]["city"], "Paris");
    assert!(records[0]["payload"].get("__nearstore_uuid").is_none());
    assert_eq!(records[2]["vector"], json!([0.0, 1.0, 0.0]));
    let (st, b) = s.get(&format!("/collections/qc/points/{U1}")).await;
    assert_eq!(ok(st, &b)["id"], U1);
    // The hyphenated and simple spellings name the same point.
    let simple = U1.replace('-', "");
    let (st, b) = s
        .post("/collections/qc/points", json!({"ids": [simple]}))
        .await;
    assert_eq!(ok(st, &b).as_array().unwrap().len(), 1);
    let (st, b) = s
        .put(
            "/collections/qc/points",
            json!({"points": [{"id": "not-a-uuid", "vector": [1, 0, 0]}]}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let (st, b) = s
        .put("/collections/qc/points", json!({"points": [{"id": 1, "vector": [1, 0, 0], "payload": {"__nearstore_uuid": "x"}}]}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn query_and_search_return_scored_points() {
    let s = with_points().await;
    let (st, b) = s
        .post(
            "/collections/qc/points/query",
            json!({"query": [1.0, 0.0, 0.0], "limit": 2, "with_payload": true}),
        )
        .await;
    let r = ok(st, &b);
    let points = &r["points"];
    assert_eq!(ids(points), vec![json!(1), json!(U1)]);
    assert_eq!(points[0]["version"], 0);
    assert!(points[0]["score"].as_f64().unwrap() > 0.99);
    assert_eq!(points[0]["payload"]["city"], "Berlin");
    assert_eq!(points[0]["vector"], Value::Null);
    let (st, b) = s
        .post(
            "/collections/qc/points/query",
            json!({"query": {"nearest": [1.0, 0.0, 0.0]}, "using": "", "limit": 1}),
        )
        .await;
    let r = ok(st, &b);
    assert_eq!(
        r["points"][0]["payload"],
        Value::Null,
        "with_payload defaults to false"
    );
    let (st, b) = s
        .post(
            "/collections/qc/points/query",
            json!({"query": U2, "limit": 1}),
        )
        .await;
    assert_eq!(ids(&ok(st, &b)["points"]), vec![json!(U2)]);
    let (st, b) = s
        .post("/collections/qc/points/search", json!({"vector": [1.0, 0.0, 0.0], "limit": 3, "offset": 1, "with_payload": ["city"], "params": {"hnsw_ef": 64}}))
        .await;
    let r = ok(st, &b);
    assert_eq!(ids(&r)[0], json!(U1));
    assert_eq!(r[0]["payload"], json!({"city": "Paris"}));
    let (st, b) = s
        .post("/collections/qc/points/search", json!({"vector": {"name": "", "vector": [1.0, 0.0, 0.0]}, "limit": 1, "score_threshold": 0.5, "params": {"exact": true}}))
        .await;
    assert_eq!(ids(&ok(st, &b)), vec![json!(1)]);
    let (st, b) = s
        .post("/collections/qc/points/search/batch", json!({"searches": [{"vector": [0.0, 1.0, 0.0], "limit": 1}, {"vector": [0.0, 0.0, 1.0], "limit": 1}]}))
        .await;
    let r = ok(st, &b);
    assert_eq!(
        (r[0][0]["id"].clone(), r[1][0]["id"].clone()),
        (json!(U2), json!(2))
    );
    let (st, b) = s
        .post(
            "/collections/qc/points/query/batch",
            json!({"searches": [{"query": [0.0, 1.0, 0.0], "limit": 1}]}),
        )
        .await;
    assert_eq!(ok(st, &b)[0]["points"][0]["id"], U2);
    let (st, b) = s
        .post("/collections/qc/points/query", json!({"query": [1.0, 0.0]}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert!(error_message(&b).contains("dimension"));
}

async fn filtered(s: &TestServer, filter: Value) -> Vec<Value> {
    let (st, b) = s
        .post(
            "/collections/qc/points/scroll",
            json!({"filter": filter, "limit": 100}),
        )
        .await;
    let r = ok(st, &b);
    let mut got = ids(&r["points"]);
    got.sort_by_key(|v| v.to_string());
    got
}

#[tokio::test]
async fn qdrant_filters_translate() {
    let s = with_points().await;
    let set = |v: Vec<Value>| {
        let mut v = v;
        v.sort_by_key(|v| v.to_string());
        v
    };
    assert_eq!(
        filtered(
            &s,
            json!({"must": [{"key": "city", "match": {"value": "Berlin"}}]})
        )
        .await,
        set(vec![json!(1), json!(2)])
    );
    assert_eq!(
        filtered(
            &s,
            json!({"should": [{"key": "city", "match": {"any": ["Rome", "Paris"]}}]})
        )
        .await,
        set(vec![json!(U1), json!(U2)])
    );
    assert_eq!(
        filtered(
            &s,
            json!({"must_not": [{"key": "city", "match": {"value": "Berlin"}}]})
        )
        .await,
        set(vec![json!(3), json!(U1), json!(U2)])
    );
    assert_eq!(
        filtered(
            &s,
            json!({"must": [{"key": "n", "range": {"gt": 1, "lte": 5}}]})
        )
        .await,
        set(vec![json!(2), json!(U1)])
    );
    assert_eq!(
        filtered(
            &s,
            json!({"must": [{"key": "metadata.source", "match": {"value": "b"}}]})
        )
        .await,
        vec![json!(U1)]
    );
    assert_eq!(
        filtered(
            &s,
            json!({"must": [{"key": "city", "match": {"except": ["Berlin", "Rome"]}}]})
        )
        .await,
        vec![json!(U1)]
    );
    assert_eq!(
        filtered(
            &s,
            json!({"must": [{"key": "city", "match": {"text": "PARIS"}}]})
        )
        .await,
        vec![json!(U1)]
    );
    // Point 3 has no payload: its tags are empty, and its city is missing, not null.
    assert_eq!(filtered(&s, json!({"must": [{"is_empty": {"key": "tags"}}], "must_not": [{"is_null": {"key": "city"}}]})).await, set(vec![json!(1), json!(2), json!(3), json!(U1)]));
    assert_eq!(
        filtered(
            &s,
            json!({"must": [{"has_id": [1, U2, 3]}], "must_not": [{"has_id": [3]}]})
        )
        .await,
        set(vec![json!(1), json!(U2)])
    );
    assert_eq!(filtered(&s, json!({"must": [{"must": [{"key": "n", "range": {"gte": 5}}]}, {"should": [{"key": "city", "match": {"value": "Rome"}}]}]})).await, vec![json!(U2)]);

    let (st, b) = s.post("/collections/qc/points/count", json!({"filter": {"must": [{"key": "city", "match": {"value": "Berlin"}}]}, "exact": true})).await;
    assert_eq!(ok(st, &b), json!({"count": 2}));
    let (st, b) = s
        .post(
            "/collections/qc/points/count",
            json!({"filter": {"must_not": [{"has_id": [1, 2]}]}}),
        )
        .await;
    assert_eq!(ok(st, &b), json!({"count": 3}));
    let (st, b) = s
        .post(
            "/collections/qc/points/query",
            json!({"query": [1.0, 0.0, 0.0], "filter": {"must": [{"has_id": [2, 3]}]}, "limit": 5}),
        )
        .await;
    assert_eq!(ids(&ok(st, &b)["points"]), vec![json!(3), json!(2)]);
    let (st, b) = s
        .post("/collections/qc/points/query", json!({"query": [1.0, 0.0, 0.0], "filter": {"must_not": [{"has_id": [1]}]}, "limit": 1}))
        .await;
    assert_eq!(ids(&ok(st, &b)["points"]), vec![json!(U1)]);
    let (st, b) = s
        .post("/collections/qc/points/query", json!({"query": [1.0, 0.0, 0.0], "filter": {"must": [{"key": "city", "match": {"value": "Rome"}}]}}))
        .await;
    assert_eq!(ids(&ok(st, &b)["points"]), vec![json!(U2)]);
}

#[tokio::test]
async fn scroll_pages_and_deletes() {
    let s = with_points().await;
    let mut seen = Vec::new();
    let mut offset = Value::Null;
    loop {
        let (st, b) = s
            .post(
                "/collections/qc/points/scroll",
                json!({"limit": 2, "offset": offset}),
            )
            .await;
        let r = ok(st, &b);
        seen.extend(ids(&r["points"]));
        offset = r["next_page_offset"].clone();
        if offset.is_null() {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(&seen[..3], &[json!(1), json!(2), json!(3)]);

    let (st, b) = s
        .post(
            "/collections/qc/points/delete?wait=true",
            json!({"points": [1, U1]}),
        )
        .await;
    assert_eq!(ok(st, &b)["status"], "completed");
    let (st, b) = s
        .post(
            "/collections/qc/points/delete",
            json!({"filter": {"must": [{"key": "city", "match": {"value": "Rome"}}]}}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s.post("/collections/qc/points/count", json!({})).await;
    assert_eq!(ok(st, &b)["count"], 2);
    let (st, b) = s
        .post(
            "/collections/qc/points/delete",
            json!({"filter": {"must": [{"has_id": [2]}]}}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s.post("/collections/qc/points/count", json!({})).await;
    assert_eq!(ok(st, &b)["count"], 1);
}

#[tokio::test]
async fn unsupported_features_say_not_supported() {
    let s = with_points().await;
    let cases = [
        (
            "POST",
            "/collections/qc/points/query",
            json!({"query": {"discover": {"target": 1, "context": []}}}),
        ),
        (
            "POST",
            "/collections/qc/points/query",
            json!({"query": {"recommend": {"positive": [1], "strategy": "sum_scores"}}}),
        ),
        (
            "POST",
            "/collections/qc/points/scroll",
            json!({"filter": {"must": [{"nested": {"key": "a", "filter": {}}}]}}),
        ),
        (
            "POST",
            "/collections/qc/points/recommend",
            json!({"positive": [1], "strategy": "sum_scores"}),
        ),
        (
            "PUT",
            "/collections/qc/index",
            json!({"field_name": "t", "field_schema": {"type": "text", "tokenizer": "prefix"}}),
        ),
    ];
    for (method, path, body) in cases {
        let method: reqwest::Method = method.parse().unwrap();
        let body = (!body.is_null()).then_some(body);
        let (st, b) = s.call(method.clone(), path, body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{method} {path}: {b}");
        assert!(
            error_message(&b).contains("not supported"),
            "{method} {path}: {b}"
        );
    }
    // A vector the collection does not declare ("image"; a sparse vector's fields read as
    // vector names): the engine's 400.
    for vector in [
        json!({"image": [1, 0, 0]}),
        json!({"indices": [1], "values": [0.5]}),
    ] {
        let (st, b) = s
            .put(
                "/collections/qc/points",
                json!({"points": [{"id": 9, "vector": vector}]}),
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    }
    // A vector name the collection lacks: the engine's own 400 naming it.
    let (st, b) = s
        .post(
            "/collections/qc/points/query",
            json!({"query": [1, 0, 0], "using": "image"}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        error_message(&b).contains("no vector named \"image\""),
        "{b}"
    );
}
