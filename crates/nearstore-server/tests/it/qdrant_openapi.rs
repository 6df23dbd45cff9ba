//! `/openapi.json` describes every Qdrant body with a real schema: each Qdrant route is
//! called with a body that validates against its request schema, and its live answer is
//! validated against the success schema (or, for the routes outside the subset, the error
//! schema) the document gives for that route and status.

use std::collections::BTreeSet;

use nearstore_server::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::start;
use crate::openapi::{check, check_request};

const UUID: &str = "550e8400-e29b-41d4-a716-446655440000";

#[tokio::test]
async fn live_answers_of_every_qdrant_route_match_the_document() {
    let s = start(ServerConfig::default()).await;
    let (st, doc) = s.get("/openapi.json").await;
    assert_eq!(st, StatusCode::OK);
    let filter_n = json!({"must": [{"key": "n", "range": {"gte": 1}}]});
    let calls: Vec<(Method, String, &str, Option<Value>)> = vec![
        (
            Method::PUT,
            "/collections/q".into(),
            "/collections/{name}",
            Some(json!({
                "vectors": {"size": 2, "distance": "Dot", "on_disk": true},
                "shard_number": 1,
                "hnsw_config": {"m": 16, "ef_construct": 64},
                "optimizers_config": {"indexing_threshold": 0},
                "on_disk_payload": true,
                "quantization_config": {"scalar": {"type": "int8", "always_ram": true}},
            })),
        ),
        (Method::GET, "/".into(), "/", None),
        (Method::GET, "/collections".into(), "/collections", None),
        (
            Method::GET,
            "/collections/q/exists".into(),
            "/collections/{name}/exists",
            None,
        ),
        (
            Method::PATCH,
            "/collections/q".into(),
            "/collections/{name}",
            Some(json!({"hnsw_config": {"ef": 32}})),
        ),
        (
            Method::PUT,
            "/collections/q/index".into(),
            "/collections/{name}/index",
            Some(json!({"field_name": "n", "field_schema": "integer"})),
        ),
        (
            Method::PUT,
            "/collections/q/points?wait=true".into(),
            "/collections/{name}/points",
            Some(json!({"points": [
                {"id": 1, "vector": [0.15, 0.7], "payload": {"n": 1, "a": "x"}},
                {"id": UUID, "vector": [1.0, 0.0], "payload": {"n": 2}},
            ]})),
        ),
        (
            Method::GET,
            "/collections/q".into(),
            "/collections/{name}",
            None,
        ),
        (
            Method::POST,
            "/collections/q/points".into(),
            "/collections/{name}/points",
            Some(json!({"ids": [1, UUID], "with_vector": true, "with_payload": ["n"]})),
        ),
        (
            Method::GET,
            "/collections/q/points/1".into(),
            "/collections/{name}/points/{id}",
            None,
        ),
        (
            Method::POST,
            "/collections/q/points/scroll".into(),
            "/collections/{name}/points/scroll",
            Some(json!({"limit": 1, "with_payload": true, "with_vector": true})),
        ),
        (
            Method::POST,
            "/collections/q/points/scroll".into(),
            "/collections/{name}/points/scroll",
            Some(json!({"order_by": {"key": "n", "direction": "desc"}, "limit": 5})),
        ),
        (
            Method::POST,
            "/collections/q/points/count".into(),
            "/collections/{name}/points/count",
            Some(json!({"filter": filter_n, "exact": true})),
        ),
        (
            Method::POST,
            "/collections/q/points/search".into(),
            "/collections/{name}/points/search",
            Some(json!({
                "vector": [1.0, 0.0], "limit": 2, "with_payload": {"exclude": ["a"]},
                "with_vector": [""], "params": {"hnsw_ef": 16, "exact": false, "quantization": {"rescore": true, "oversampling": 2.0}},
            })),
        ),
        (
            Method::POST,
            "/collections/q/points/search/batch".into(),
            "/collections/{name}/points/search/batch",
            Some(json!({"searches": [
                {"vector": [1.0, 0.0]},
                {"vector": {"name": "", "vector": [0.0, 1.0]}, "filter": {"must_not": [{"has_id": [1]}]}},
            ]})),
        ),
        (
            Method::POST,
            "/collections/q/points/query".into(),
            "/collections/{name}/points/query",
            Some(
                json!({"query": {"nearest": [1.0, 0.0]}, "limit": 2, "with_payload": true, "filter": filter_n}),
            ),
        ),
        (
            Method::POST,
            "/collections/q/points/query/batch".into(),
            "/collections/{name}/points/query/batch",
            Some(json!({"searches": [
                {"query": 1},
                {"query": [0.0, 1.0], "score_threshold": 0.1},
                {"prefetch": [{"query": [1.0, 0.0], "limit": 5}, {"query": 1, "using": ""}],
                 "query": {"fusion": "dbsf"}},
                {"prefetch": {"query": [1.0, 0.0]}, "query": {"rrf": {"k": 30}}},
                {"query": {"recommend": {"positive": [1, [0.5, 0.5]], "negative": null, "strategy": "average_vector"}}},
            ]})),
        ),
        (
            Method::POST,
            "/collections/q/points/recommend".into(),
            "/collections/{name}/points/recommend",
            Some(json!({"positive": [1], "limit": 1, "with_payload": false})),
        ),
        (
            Method::POST,
            "/collections/q/points/recommend/batch".into(),
            "/collections/{name}/points/recommend/batch",
            Some(json!({"searches": [{"positive": [[1.0, 0.0]]}]})),
        ),
        (
            Method::POST,
            "/collections/q/points/payload".into(),
            "/collections/{name}/points/payload",
            Some(json!({"payload": {"b": 1}, "points": [1]})),
        ),
        (
            Method::PUT,
            "/collections/q/points/payload".into(),
            "/collections/{name}/points/payload",
            Some(json!({"payload": {"n": 1, "b": 2}, "points": [1]})),
        ),
        (
            Method::POST,
            "/collections/q/points/payload/delete".into(),
            "/collections/{name}/points/payload/delete",
            Some(json!({"keys": ["b"], "points": [1]})),
        ),
        (
            Method::POST,
            "/collections/q/points/payload/clear".into(),
            "/collections/{name}/points/payload/clear",
            Some(json!({"filter": {"must": [{"key": "n", "match": {"value": 2}}]}})),
        ),
        (
            Method::POST,
            "/collections/q/points/batch".into(),
            "/collections/{name}/points/batch",
            Some(json!({"operations": [
                {"upsert": {"points": [{"id": 3, "vector": [0.5, 0.5]}, {"id": 4, "payload": {"n": 4}}]}},
                {"update_vectors": {"points": [{"id": 4, "vector": [0.25, 0.5]}]}},
                {"delete_vectors": {"points": [3], "vector": [""]}},
                {"delete": {"points": [3, 4]}},
            ]})),
        ),
        (
            Method::PUT,
            "/collections/q/points/vectors?wait=true".into(),
            "/collections/{name}/points/vectors",
            Some(json!({"points": [{"id": 1, "vector": {"": [0.5, 0.25]}}]})),
        ),
        (
            Method::POST,
            "/collections/q/points/vectors/delete?wait=true".into(),
            "/collections/{name}/points/vectors/delete",
            Some(
                json!({"filter": {"must": [{"key": "n", "match": {"value": 2}}]}, "vector": [""]}),
            ),
        ),
        (
            Method::POST,
            "/collections/q/points/delete".into(),
            "/collections/{name}/points/delete",
            Some(json!({"points": [1]})),
        ),
        (
            Method::POST,
            "/collections/q/points/search/groups".into(),
            "/collections/{name}/points/search/groups",
            Some(json!({"vector": [1.0, 0.0], "group_by": "n", "group_size": 2, "limit": 2})),
        ),
        (
            Method::POST,
            "/collections/q/points/query/groups".into(),
            "/collections/{name}/points/query/groups",
            Some(json!({"query": [1.0, 0.0], "group_by": "n", "limit": 2, "with_vector": true})),
        ),
        (
            Method::POST,
            "/collections/aliases".into(),
            "/collections/aliases",
            Some(json!({"actions": [
                {"create_alias": {"collection_name": "q", "alias_name": "qa"}},
                {"rename_alias": {"old_alias_name": "qa", "new_alias_name": "qb"}},
            ]})),
        ),
        (Method::GET, "/aliases".into(), "/aliases", None),
        (
            Method::GET,
            "/collections/q/aliases".into(),
            "/collections/{name}/aliases",
            None,
        ),
        (
            Method::DELETE,
            "/collections/q/index/n".into(),
            "/collections/{name}/index/{field}",
            None,
        ),
        (
            Method::DELETE,
            "/collections/q".into(),
            "/collections/{name}",
            None,
        ),
    ];
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for (method, url, path, body) in calls {
        let m = method.as_str().to_lowercase();
        if let Some(b) = &body {
            let errors = check_request(&doc, &m, path, b);
            assert!(errors.is_empty(), "{m} {path} {b}: {errors:?}");
        }
        let (st, answer) = s.call(method.clone(), &url, body).await;
        assert_eq!(st, StatusCode::OK, "{m} {url}: {answer}");
        check(&doc, method.as_str(), path, st, &answer);
        seen.insert((m, path.to_string()));
    }

    // The snapshot routes, on a collection of their own (names are made by the server).
    let (st, _) = s
        .put(
            "/collections/snap",
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, made) = s.post("/collections/snap/snapshots", json!({})).await;
    check(&doc, "POST", "/collections/{name}/snapshots", st, &made);
    let name = made["result"]["name"].as_str().unwrap().to_owned();
    let (st, listed) = s.get("/collections/snap/snapshots").await;
    check(&doc, "GET", "/collections/{name}/snapshots", st, &listed);
    let download = s
        .client
        .get(format!("{}/collections/snap/snapshots/{name}", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let archive = download.bytes().await.unwrap().to_vec();
    let location = format!(
        "file://{}",
        s.snapshots_dir().join("snap").join(&name).display()
    );
    let recover = json!({"location": location, "priority": "snapshot"});
    let errors = check_request(
        &doc,
        "put",
        "/collections/{name}/snapshots/recover",
        &recover,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let (st, answer) = s.put("/collections/snap/snapshots/recover", recover).await;
    assert_eq!(st, StatusCode::OK, "{answer}");
    check(
        &doc,
        "PUT",
        "/collections/{name}/snapshots/recover",
        st,
        &answer,
    );
    let boundary = "b0undary";
    let mut form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"snapshot\"; filename=\"s.snapshot\"\r\n\r\n"
    )
    .into_bytes();
    form.extend_from_slice(&archive);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let uploaded = s
        .client
        .post(format!("{}/collections/snap/snapshots/upload", s.url))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::OK);
    let answer: Value = uploaded.json().await.unwrap();
    check(
        &doc,
        "POST",
        "/collections/{name}/snapshots/upload",
        StatusCode::OK,
        &answer,
    );
    let (st, answer) = s
        .delete(&format!("/collections/snap/snapshots/{name}"))
        .await;
    check(
        &doc,
        "DELETE",
        "/collections/{name}/snapshots/{snapshot_name}",
        st,
        &answer,
    );
    // The full-storage snapshot routes.
    let (st, made) = s.post("/snapshots", json!({})).await;
    assert_eq!(st, StatusCode::OK, "{made}");
    check(&doc, "POST", "/snapshots", st, &made);
    let full = made["result"]["name"].as_str().unwrap().to_owned();
    let (st, listed) = s.get("/snapshots").await;
    check(&doc, "GET", "/snapshots", st, &listed);
    let download = s
        .client
        .get(format!("{}/snapshots/{full}", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let (st, answer) = s.delete(&format!("/snapshots/{full}")).await;
    check(&doc, "DELETE", "/snapshots/{snapshot_name}", st, &answer);
    for (m, path) in [
        ("post", "/snapshots"),
        ("get", "/snapshots"),
        ("get", "/snapshots/{snapshot_name}"),
        ("delete", "/snapshots/{snapshot_name}"),
        ("post", "/collections/{name}/snapshots"),
        ("get", "/collections/{name}/snapshots"),
        ("get", "/collections/{name}/snapshots/{snapshot_name}"),
        ("put", "/collections/{name}/snapshots/recover"),
        ("post", "/collections/{name}/snapshots/upload"),
        ("delete", "/collections/{name}/snapshots/{snapshot_name}"),
    ] {
        seen.insert((m.to_string(), path.to_string()));
    }

    // The routes outside the subset answer 400 in the error shape.
    let mut listed: BTreeSet<(String, String)> = BTreeSet::new();
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap();
            assert!(
                op.get("x-untyped-body").is_none(),
                "{method} {path} reads a body without a schema"
            );
            match tag {
                "qdrant" => {
                    listed.insert((method.clone(), path.clone()));
                }
                "qdrant-unsupported" => {
                    let url = path.replace("{name}", "q");
                    let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                    let body = (m != Method::GET).then(|| json!({}));
                    let (st, answer) = s.call(m, &url, body).await;
                    assert_eq!(st, StatusCode::BAD_REQUEST, "{method} {path}: {answer}");
                    check(&doc, &method.to_uppercase(), path, st, &answer);
                }
                _ => {}
            }
        }
    }
    assert_eq!(listed, seen, "every Qdrant route was called");
}

/// Bodies of the wrong shape break the request schema and are refused by the server alike.
#[tokio::test]
async fn malformed_qdrant_bodies_break_the_schema_and_are_refused() {
    let s = start(ServerConfig::default()).await;
    let (_, doc) = s.get("/openapi.json").await;
    let (st, b) = s
        .put(
            "/collections/q",
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let cases: Vec<(Method, &str, &str, Value)> = vec![
        (
            Method::POST,
            "/collections/q/points/search",
            "/collections/{name}/points/search",
            json!({"vector": "up", "limit": 2}),
        ),
        (
            Method::POST,
            "/collections/q/points/search",
            "/collections/{name}/points/search",
            json!({"vector": [1.0, 0.0], "with_payload": 3}),
        ),
        (
            Method::POST,
            "/collections/q/points/query",
            "/collections/{name}/points/query",
            json!({"query": {"fusion": "mean"}}),
        ),
        (
            Method::POST,
            "/collections/q/points/scroll",
            "/collections/{name}/points/scroll",
            json!({"limit": -1}),
        ),
        (
            Method::POST,
            "/collections/q/points/scroll",
            "/collections/{name}/points/scroll",
            json!({"order_by": {"key": "n", "direction": "sideways"}}),
        ),
        (
            Method::POST,
            "/collections/q/points",
            "/collections/{name}/points",
            json!({"ids": "all"}),
        ),
        (
            Method::POST,
            "/collections/q/points/count",
            "/collections/{name}/points/count",
            json!({"filter": [1, 2]}),
        ),
        (
            Method::PUT,
            "/collections/r",
            "/collections/{name}",
            json!({"vectors": {"size": "two", "distance": "Dot"}}),
        ),
        (
            Method::PUT,
            "/collections/q/index",
            "/collections/{name}/index",
            json!({"field_name": 3}),
        ),
    ];
    for (method, url, path, body) in cases {
        let m = method.as_str().to_lowercase();
        assert!(
            !check_request(&doc, &m, path, &body).is_empty(),
            "{m} {path}: {body} passes the schema"
        );
        let (st, answer) = s.call(method, url, Some(body.clone())).await;
        assert!(
            st == StatusCode::BAD_REQUEST || st == StatusCode::UNPROCESSABLE_ENTITY,
            "{m} {url} {body}: {st} {answer}"
        );
    }
}
