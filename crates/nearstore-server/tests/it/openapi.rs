//! `/openapi.json` describes every native body with a real schema: each native and
//! operational route is called and its live answer validated against the schema the
//! document gives for that route and status.

use std::collections::BTreeSet;

use nearstore_server::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::start;

/// Validates `answer` against the success schema of `method path` at `status`.
pub(crate) fn check(doc: &Value, method: &str, path: &str, status: StatusCode, answer: &Value) {
    let op = &doc["paths"][path][method.to_lowercase()];
    let schema = &op["responses"][status.as_str()]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object() && schema.as_object().is_some_and(|o| !o.is_empty()),
        "{method} {path} {status}: no schema in the document"
    );
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": doc["components"],
        "allOf": [schema],
    });
    let validator = jsonschema::validator_for(&root)
        .unwrap_or_else(|e| panic!("{method} {path}: schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(answer)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} answered {answer}\nwhich breaks its schema {schema}: {errors:?}"
    );
}

#[tokio::test]
async fn live_answers_of_every_native_route_match_the_document() {
    let s = start(ServerConfig::default()).await;
    let (st, doc) = s.get("/openapi.json").await;
    assert_eq!(st, StatusCode::OK);
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let calls: Vec<(Method, &str, &str, Option<Value>, StatusCode)> = vec![
        (
            Method::POST,
            "/v1/collections",
            "/v1/collections",
            Some(
                json!({"name": "docs", "dim": 3, "metric": "l2", "hnsw": {"m": 8}, "durability": "flush"}),
            ),
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            "/v1/collections",
            "/v1/collections",
            None,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/collections/docs",
            "/v1/collections/{name}",
            None,
            StatusCode::OK,
        ),
        (
            Method::PUT,
            "/v1/collections/docs/points",
            "/v1/collections/{name}/points",
            Some(json!([
                {"id": 1, "vector": [1.0, 0.0, 0.0], "payload": {"lang": "en", "n": 1}},
                {"id": 2, "vector": [0.0, 1.0, 0.0], "payload": {"lang": "de"}},
                {"id": 3, "vector": [0.0, 0.0, 1.0]},
            ])),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/collections/docs/points/get",
            "/v1/collections/{name}/points/get",
            Some(json!({"ids": [1, 3, 99]})),
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/collections/docs/points/1",
            "/v1/collections/{name}/points/{id}",
            None,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/collections/docs/points/scroll",
            "/v1/collections/{name}/points/scroll",
            Some(json!({"limit": 2})),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/collections/docs/points/count",
            "/v1/collections/{name}/points/count",
            Some(json!({"filter": {"field": "lang", "eq": "en"}})),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/collections/docs/search",
            "/v1/collections/{name}/search",
            Some(json!({"vector": [1.0, 0.1, 0.0], "limit": 2, "with_vector": true})),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/collections/docs/search/batch",
            "/v1/collections/{name}/search/batch",
            Some(
                json!({"searches": [{"vector": [1.0, 0.0, 0.0]}, {"vector": [0.0, 1.0, 0.0], "quality": "fast"}]}),
            ),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/collections/docs/search",
            "/v1/collections/{name}/search",
            Some(json!({"text": {"query": "en de"}, "limit": 2})),
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/collections/docs/text",
            "/v1/collections/{name}/text",
            None,
            StatusCode::OK,
        ),
        (
            Method::PUT,
            "/v1/collections/docs/text",
            "/v1/collections/{name}/text",
            Some(
                json!({"fields": [{"name": "lang", "analyzer": {"tokenizer": "word",
                "stemmer": "english", "max_token_chars": 10}}]}),
            ),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/collections/docs/search",
            "/v1/collections/{name}/search",
            Some(
                json!({"text": {"query": "en", "field": "lang"}, "filter": {"field": "n", "eq": 1}}),
            ),
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            "/v1/collections/docs/text",
            "/v1/collections/{name}/text",
            None,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/collections/docs/indexes",
            "/v1/collections/{name}/indexes",
            Some(json!({"field": "lang", "kind": "keyword"})),
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            "/v1/collections/docs/indexes",
            "/v1/collections/{name}/indexes",
            None,
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            "/v1/collections/docs/indexes/lang",
            "/v1/collections/{name}/indexes/{field}",
            None,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/collections/docs/flush",
            "/v1/collections/{name}/flush",
            None,
            StatusCode::OK,
        ),
        (Method::POST, "/v1/flush", "/v1/flush", None, StatusCode::OK),
        (
            Method::POST,
            "/v1/collections",
            "/v1/collections",
            Some(
                json!({"name": "q8", "dim": 3, "storage_mode": "sq8", "quantization": {"train_at": 0, "oversampling": 2.0}}),
            ),
            StatusCode::CREATED,
        ),
        (
            Method::POST,
            "/v1/collections/q8/train_quantizer",
            "/v1/collections/{name}/train_quantizer",
            None,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/verify",
            "/v1/verify",
            None,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/query",
            "/v1/query",
            Some(json!({"query": "SELECT * FROM docs LIMIT 2"})),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/collections/docs/points/delete",
            "/v1/collections/{name}/points/delete",
            Some(json!({"ids": [3]})),
            StatusCode::OK,
        ),
        (
            Method::PUT,
            "/v1/collections/docs/streaming",
            "/v1/collections/{name}/streaming",
            Some(json!({"buffer_size": 10, "flush_interval_ms": 5})),
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/collections/docs/streaming",
            "/v1/collections/{name}/streaming",
            None,
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            "/v1/collections/docs/streaming",
            "/v1/collections/{name}/streaming",
            None,
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            "/v1/collections/docs",
            "/v1/collections/{name}",
            None,
            StatusCode::OK,
        ),
    ];
    for (method, url, path, body, want) in calls {
        let (st, answer) = s.call(method.clone(), url, body).await;
        assert_eq!(st, want, "{method} {url}: {answer}");
        check(&doc, method.as_str(), path, st, &answer);
        seen.insert((method.as_str().to_lowercase(), path.to_string()));
    }
    // The graph routes, on a graph with embeddings (its nodes upserted as points).
    let graph_calls: Vec<(Method, &str, &str, Option<Value>, StatusCode)> = vec![
        (
            Method::POST,
            "/v1/graphs",
            "/v1/graphs",
            Some(json!({"name": "g", "embedding": {"dim": 2, "metric": "cosine"}})),
            StatusCode::CREATED,
        ),
        (
            Method::POST,
            "/v1/metadata_collections",
            "/v1/metadata_collections",
            Some(json!({"name": "meta"})),
            StatusCode::CREATED,
        ),
        (
            Method::PUT,
            "/v1/graphs/g/nodes/3/payload",
            "/v1/graphs/{name}/nodes/{id}/payload",
            Some(json!({"payload": {"name": "c"}})),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/graphs/g/edges",
            "/v1/graphs/{name}/edges",
            Some(
                json!({"id": 1, "source": 1, "target": 2, "label": "KNOWS", "properties": {"since": 2020}}),
            ),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/graphs/g/edges/batch",
            "/v1/graphs/{name}/edges/batch",
            Some(
                json!({"edges": [{"id": 2, "source": 2, "target": 3, "label": "KNOWS"},
                                  {"id": 3, "source": 1, "target": 3, "label": "LIKES"}]}),
            ),
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/graphs/g",
            "/v1/graphs/{name}",
            None,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/graphs/g/edges?label=KNOWS",
            "/v1/graphs/{name}/edges",
            None,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/graphs/g/nodes/1/outgoing",
            "/v1/graphs/{name}/nodes/{id}/outgoing",
            None,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/graphs/g/nodes/3/incoming",
            "/v1/graphs/{name}/nodes/{id}/incoming",
            None,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/graphs/g/nodes/2/degree",
            "/v1/graphs/{name}/nodes/{id}/degree",
            None,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/graphs/g/nodes/3/payload",
            "/v1/graphs/{name}/nodes/{id}/payload",
            None,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/graphs/g/traverse/bfs",
            "/v1/graphs/{name}/traverse/bfs",
            Some(json!({"source": 1, "max_depth": 2})),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/graphs/g/traverse/dfs",
            "/v1/graphs/{name}/traverse/dfs",
            Some(json!({"source": 1, "rel_types": ["KNOWS"]})),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/graphs/g/search",
            "/v1/graphs/{name}/search",
            Some(json!({"vector": [1.0, 0.0], "limit": 2})),
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            "/v1/graphs/g/edges/3",
            "/v1/graphs/{name}/edges/{id}",
            None,
            StatusCode::OK,
        ),
    ];
    for (i, (method, url, path, body, want)) in graph_calls.into_iter().enumerate() {
        if i == 2 {
            let (st, answer) = s
                .put(
                    "/v1/collections/g/points",
                    json!([{"id": 1, "vector": [1.0, 0.0]}, {"id": 2, "vector": [0.0, 1.0]}]),
                )
                .await;
            assert_eq!(st, StatusCode::OK, "{answer}");
        }
        if let Some(b) = &body {
            let errors = check_request(&doc, &method.as_str().to_lowercase(), path, b);
            assert!(errors.is_empty(), "{method} {path}: {errors:?}");
        }
        let (st, answer) = s.call(method.clone(), url, body).await;
        assert_eq!(st, want, "{method} {url}: {answer}");
        check(&doc, method.as_str(), path, st, &answer);
        seen.insert((method.as_str().to_lowercase(), path.to_string()));
    }
    // The NDJSON route (its body is not JSON), on a collection with streaming on.
    let (st, _) = s
        .post(
            "/v1/collections",
            json!({"name": "s", "dim": 2, "metric": "l2"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = s.put("/v1/collections/s/streaming", json!({})).await;
    assert_eq!(st, StatusCode::OK);
    let stream_path = "/v1/collections/{name}/points/stream";
    let resp = s
        .client
        .post(format!("{}/v1/collections/s/points/stream", s.url))
        .header("content-type", "application/x-ndjson")
        .body("{\"id\": 1, \"vector\": [1.0, 2.0]}\n")
        .send()
        .await
        .unwrap();
    let st = resp.status();
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(st, StatusCode::OK, "{answer}");
    check(&doc, "POST", stream_path, st, &answer);
    let line_schema = &doc["paths"][stream_path]["post"]["requestBody"]["content"]["application/x-ndjson"]
        ["schema"];
    assert_eq!(
        line_schema["$ref"], "#/components/schemas/PointRow",
        "{line_schema}"
    );
    seen.insert(("post".into(), stream_path.into()));
    // The database snapshot routes, an archive of the server's snapshot directory.
    for route in ["/v1/snapshot", "/v1/restore"] {
        let body = json!({"name": "db.snapshot"});
        let errors = check_request(&doc, "post", route, &body);
        assert!(errors.is_empty(), "{route}: {errors:?}");
        let (st, answer) = s.post(route, body).await;
        assert_eq!(st, StatusCode::OK, "{route}: {answer}");
        check(&doc, "POST", route, st, &answer);
        seen.insert(("post".into(), route.into()));
    }
    let (st, answer) = s.get("/v1/snapshots").await;
    assert_eq!(st, StatusCode::OK, "{answer}");
    check(&doc, "GET", "/v1/snapshots", st, &answer);
    seen.insert(("get".into(), "/v1/snapshots".into()));
    let (st, answer) = s.delete("/v1/snapshots/db.snapshot").await;
    assert_eq!(st, StatusCode::OK, "{answer}");
    check(&doc, "DELETE", "/v1/snapshots/{name}", st, &answer);
    seen.insert(("delete".into(), "/v1/snapshots/{name}".into()));
    let (st, answer) = s.get("/openapi.json").await;
    assert_eq!(st, StatusCode::OK);
    check(&doc, "GET", "/openapi.json", st, &answer);
    seen.insert(("get".into(), "/openapi.json".into()));
    seen.insert(("get".into(), "/metrics".into())); // text, checked in native.rs
    for probe in ["/healthz", "/livez", "/readyz"] {
        seen.insert(("get".into(), probe.into())); // text, checked in qdrant_conformance.rs
    }

    // Every native and operational route of the document was called.
    let mut listed: BTreeSet<(String, String)> = BTreeSet::new();
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap();
            if tag == "native" || tag == "operations" {
                listed.insert((method.clone(), path.clone()));
                assert!(
                    op.get("x-untyped-body").is_none(),
                    "{method} {path} has no typed body"
                );
            }
        }
    }
    assert_eq!(listed, seen);
}

#[test]
fn request_schemas_are_real() {
    let doc = nearstore_server::openapi_document();
    let upsert = &doc["paths"]["/v1/collections/{name}/points"]["put"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(upsert["$ref"], "#/components/schemas/Upsert", "{upsert}");
    let search = &doc["components"]["schemas"]["Search"];
    assert!(search["properties"]["vector"].is_object(), "{search}");
    assert!(search["properties"]["text"].is_object(), "{search}");
    // A search has a vector or a text query: neither is required on its own.
    assert!(
        search.get("required").is_none_or(|r| !r
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "vector" || f == "text")),
        "{search}"
    );
    let text = &doc["components"]["schemas"]["TextConfig"];
    assert!(text["properties"]["fields"].is_object(), "{text}");
    assert!(doc["components"]["schemas"]["TokenizerName"]["enum"].is_array());
    assert!(doc["components"]["schemas"]["MetricName"]["enum"].is_array());
}

/// Validates `body` against the request schema the document gives `method path`.
pub(crate) fn check_request(doc: &Value, method: &str, path: &str, body: &Value) -> Vec<String> {
    let schema =
        &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    assert!(
        schema.get("$ref").is_some(),
        "{method} {path}: no typed request schema: {schema}"
    );
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": doc["components"],
        "allOf": [schema],
    });
    let validator = jsonschema::validator_for(&root)
        .unwrap_or_else(|e| panic!("{method} {path}: schema does not compile: {e}"));
    validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// The typed Qdrant bodies have real request schemas: bodies the server accepts (each sent
/// to a live server too) validate against them, and a body of the wrong shape does not.
#[tokio::test]
async fn typed_qdrant_bodies_have_request_schemas() {
    let s = start(ServerConfig::default()).await;
    let (st, doc) = s.get("/openapi.json").await;
    assert_eq!(st, StatusCode::OK);
    let (st, b) = s
        .put(
            "/collections/q",
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let accepted: Vec<(Method, &str, &str, Value)> = vec![
        (
            Method::PUT,
            "/collections/q/points",
            "/collections/{name}/points",
            json!({"points": [{"id": 1, "vector": [1.0, 0.0], "payload": {"a": 1}}], "update_mode": "upsert"}),
        ),
        (
            Method::POST,
            "/collections/q/points/batch",
            "/collections/{name}/points/batch",
            json!({"operations": [{"delete": {"points": [5]}}]}),
        ),
        (
            Method::POST,
            "/collections/q/points/recommend",
            "/collections/{name}/points/recommend",
            json!({"positive": [[1.0, 0.0]], "limit": 2, "strategy": "average_vector"}),
        ),
        (
            Method::POST,
            "/collections/q/points/recommend/batch",
            "/collections/{name}/points/recommend/batch",
            json!({"searches": [{"positive": [1]}]}),
        ),
        (
            Method::PATCH,
            "/collections/q",
            "/collections/{name}",
            json!({"hnsw_config": {"ef": 40}}),
        ),
        (
            Method::POST,
            "/collections/q/points/payload?wait=true",
            "/collections/{name}/points/payload",
            json!({"payload": {"b": {"c": 1}}, "points": [1]}),
        ),
        (
            Method::POST,
            "/collections/q/points/payload",
            "/collections/{name}/points/payload",
            json!({"payload": {"d": 2}, "filter": {"must": [{"key": "a", "match": {"value": 1}}]}, "key": "b"}),
        ),
        (
            Method::PUT,
            "/collections/q/points/payload",
            "/collections/{name}/points/payload",
            json!({"payload": {"a": 1, "e": [1, 2]}, "points": [1]}),
        ),
        (
            Method::POST,
            "/collections/q/points/payload/delete",
            "/collections/{name}/points/payload/delete",
            json!({"keys": ["e", "b.c"], "points": [1]}),
        ),
        (
            Method::POST,
            "/collections/q/points/payload/clear",
            "/collections/{name}/points/payload/clear",
            json!({"filter": {"must": [{"key": "a", "match": {"value": 1}}]}}),
        ),
        (
            Method::POST,
            "/collections/q/points/batch",
            "/collections/{name}/points/batch",
            json!({"operations": [
                {"set_payload": {"payload": {"x": 1}, "points": [1]}},
                {"clear_payload": {"points": {"points": [1]}}},
            ]}),
        ),
    ];
    for (method, url, path, body) in accepted {
        let m = method.as_str().to_lowercase();
        let errors = check_request(&doc, &m, path, &body);
        assert!(errors.is_empty(), "{m} {path} {body}: {errors:?}");
        let (st, answer) = s.call(method, url, Some(body)).await;
        assert_eq!(st, StatusCode::OK, "{m} {url}: {answer}");
        if path.contains("/points/payload") {
            check(&doc, &m, path, st, &answer);
        }
    }
    for (path, method) in [
        ("/collections/{name}/points/payload", "put"),
        ("/collections/{name}/points/payload/delete", "post"),
    ] {
        let wrong = json!({"payload": "text", "keys": "a", "points": {}});
        assert!(
            !check_request(&doc, method, path, &wrong).is_empty(),
            "{path}"
        );
    }
    let wrong = json!({"points": "not a list", "update_mode": "sideways"});
    assert!(!check_request(&doc, "put", "/collections/{name}/points", &wrong).is_empty());
}
