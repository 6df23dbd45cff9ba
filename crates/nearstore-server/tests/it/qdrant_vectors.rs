//! Named-only collections, points carrying any subset of their vectors, and single-vector
//! edits over the Qdrant API: `vectors: {name: ..}` without `""` is a collection without a
//! default vector, a point may omit any vector (stored, filterable, found by no search on
//! what it lacks), `PUT points/vectors` and `POST points/vectors/delete` (and their
//! `points/batch` forms) change only the named vectors.

use std::collections::BTreeSet;

use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, error_message, start};

fn ok(st: StatusCode, body: &Value) -> Value {
    assert_eq!(st, StatusCode::OK, "{body}");
    body["result"].clone()
}

fn ids(points: &Value) -> BTreeSet<u64> {
    points
        .as_array()
        .unwrap_or_else(|| panic!("a list of points: {points}"))
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect()
}

fn set(v: &[u64]) -> BTreeSet<u64> {
    v.iter().copied().collect()
}

/// Collection `n`: dense "text" (2-d, Dot), dense "image" (3-d, Cosine), sparse "s"; no
/// default vector. Points: 1 all three, 2 text, 3 image + s, 4 `vector: {}`, 5 no vector.
async fn named_only(s: &TestServer) {
    let (st, b) = s
        .put(
            "/collections/n",
            json!({
                "vectors": {
                    "text": {"size": 2, "distance": "Dot"},
                    "image": {"size": 3, "distance": "Cosine", "hnsw_config": {"m": 8}},
                },
                "sparse_vectors": {"s": {}},
            }),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .put(
            "/collections/n/points?wait=true",
            json!({"points": [
                {"id": 1, "vector": {"text": [1.0, 0.0], "image": [1.0, 0.0, 0.0],
                                      "s": {"indices": [5], "values": [1.0]}}, "payload": {"k": "x"}},
                {"id": 2, "vector": {"text": [0.5, 0.5]}, "payload": {"k": "y"}},
                {"id": 3, "vector": {"image": [0.0, 1.0, 0.0], "s": {"indices": [5, 9], "values": [2.0, 1.0]}},
                 "payload": {"k": "x"}},
                {"id": 4, "vector": {}, "payload": {"k": "x"}},
                {"id": 5, "payload": {"k": "z"}},
            ]}),
        )
        .await;
    ok(st, &b);
}

async fn query(s: &TestServer, body: Value) -> BTreeSet<u64> {
    let (st, b) = s.post("/collections/n/points/query", body).await;
    ids(&ok(st, &b)["points"])
}

async fn vectors_of(s: &TestServer, id: u64) -> Value {
    let (st, b) = s
        .post(
            "/collections/n/points",
            json!({"ids": [id], "with_vector": true, "with_payload": true}),
        )
        .await;
    ok(st, &b)[0]["vector"].clone()
}

#[tokio::test]
async fn a_named_only_collection_holds_points_with_any_subset_of_vectors() {
    let s = start(ServerConfig::default()).await;
    named_only(&s).await;

    let (st, b) = s.get("/collections/n").await;
    let info = ok(st, &b);
    let vectors = &info["config"]["params"]["vectors"];
    let names: Vec<&String> = vectors.as_object().unwrap().keys().collect();
    assert_eq!(names, ["image", "text"], "{vectors}");
    assert_eq!(vectors["image"]["size"], 3);
    assert_eq!(vectors["image"]["distance"], "Cosine");
    assert_eq!(vectors["image"]["hnsw_config"]["m"], 8);
    assert_eq!(vectors["text"]["distance"], "Dot");
    assert!(info["config"]["params"]["sparse_vectors"]["s"].is_object());
    assert_eq!(info["points_count"], 5, "{info}");

    // Each point returns exactly the vectors it has; a point without any returns {}.
    let v1 = vectors_of(&s, 1).await;
    assert_eq!(v1["text"], json!([1.0, 0.0]));
    assert_eq!(v1["image"], json!([1.0, 0.0, 0.0]));
    assert_eq!(v1["s"], json!({"indices": [5], "values": [1.0]}));
    assert_eq!(vectors_of(&s, 2).await, json!({"text": [0.5, 0.5]}));
    let v3 = vectors_of(&s, 3).await;
    assert_eq!(
        v3.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["image", "s"]
    );
    assert_eq!(vectors_of(&s, 4).await, json!({}));
    assert_eq!(vectors_of(&s, 5).await, json!({}));
    // Scroll returns the same shapes.
    let (st, b) = s
        .post(
            "/collections/n/points/scroll",
            json!({"limit": 10, "with_vector": true}),
        )
        .await;
    let page = ok(st, &b)["points"].clone();
    let by_id = |id: u64| {
        page.as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["vector"].clone())
    };
    assert_eq!(by_id(2), Some(json!({"text": [0.5, 0.5]})), "{page}");
    assert_eq!(by_id(5), Some(json!({})), "{page}");
    // Asking for one name returns only it.
    let (st, b) = s
        .post(
            "/collections/n/points",
            json!({"ids": [1], "with_vector": ["image"]}),
        )
        .await;
    assert_eq!(ok(st, &b)[0]["vector"], json!({"image": [1.0, 0.0, 0.0]}));

    // Each search finds exactly the points carrying its vector.
    let text = query(
        &s,
        json!({"query": [1.0, 0.0], "using": "text", "limit": 10}),
    )
    .await;
    assert_eq!(text, set(&[1, 2]));
    let image = query(
        &s,
        json!({"query": [0.0, 1.0, 0.0], "using": "image", "limit": 10}),
    )
    .await;
    assert_eq!(image, set(&[1, 3]));
    let sparse = query(
        &s,
        json!({"query": {"indices": [5], "values": [1.0]}, "using": "s", "limit": 10}),
    )
    .await;
    assert_eq!(sparse, set(&[1, 3]));
    // A filtered search on a named vector: the filter and the vector both hold.
    let filtered = query(
        &s,
        json!({"query": [0.0, 1.0, 0.0], "using": "image", "limit": 10,
               "filter": {"must": [{"key": "k", "match": {"value": "x"}}]}}),
    )
    .await;
    assert_eq!(filtered, set(&[1, 3]));
    // Prefetch over two named vectors, fused.
    let fused = query(
        &s,
        json!({"prefetch": [{"query": [1.0, 0.0], "using": "text"},
                            {"query": [0.0, 1.0, 0.0], "using": "image"}],
               "query": {"fusion": "rrf"}, "limit": 10}),
    )
    .await;
    assert_eq!(fused, set(&[1, 2, 3]));
    // The search route's {name, vector} form.
    let (st, b) = s
        .post(
            "/collections/n/points/search",
            json!({"vector": {"name": "text", "vector": [0.0, 1.0]}, "limit": 10}),
        )
        .await;
    assert_eq!(ids(&ok(st, &b)), set(&[1, 2]));

    // Vectorless points are stored and filterable.
    let (st, b) = s
        .post(
            "/collections/n/points/scroll",
            json!({"filter": {"must": [{"key": "k", "match": {"value": "z"}}]}}),
        )
        .await;
    assert_eq!(ids(&ok(st, &b)["points"]), set(&[5]));
    let (st, b) = s
        .post(
            "/collections/n/points/count",
            json!({"filter": {"must": [{"key": "k", "match": {"value": "x"}}]}}),
        )
        .await;
    assert_eq!(ok(st, &b)["count"], 3);

    // Without `using` there is no vector to search: 400 saying so, on every search route.
    for (path, body) in [
        ("/collections/n/points/query", json!({"query": [1.0, 0.0]})),
        (
            "/collections/n/points/search",
            json!({"vector": [1.0, 0.0]}),
        ),
    ] {
        let (st, b) = s.post(path, body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{path}: {b}");
        assert!(
            error_message(&b).contains("no default vector"),
            "{path}: {b}"
        );
    }
    // Nor can a point carry the unnamed vector there.
    let (st, b) = s
        .put(
            "/collections/n/points",
            json!({"points": [{"id": 6, "vector": [1.0, 0.0]}]}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    // Querying by a point that lacks the vector named: 400 naming it.
    let (st, b) = s
        .post(
            "/collections/n/points/query",
            json!({"query": 3, "using": "text"}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert!(error_message(&b).contains("\"text\""), "{b}");

    // A collection of sparse vectors only (`vectors` absent) and an empty `vectors` map.
    for (name, body) in [
        ("sp", json!({"sparse_vectors": {"s": {"modifier": "idf"}}})),
        ("em", json!({"vectors": {}, "sparse_vectors": {"s": {}}})),
    ] {
        let (st, b) = s.put(&format!("/collections/{name}"), body).await;
        ok(st, &b);
        let (st, b) = s.get(&format!("/collections/{name}")).await;
        assert_eq!(ok(st, &b)["config"]["params"]["vectors"], json!({}));
        let (st, b) = s
            .put(
                &format!("/collections/{name}/points?wait=true"),
                json!({"points": [{"id": 1, "vector": {"s": {"indices": [2], "values": [1.0]}}}]}),
            )
            .await;
        ok(st, &b);
        let (st, b) = s
            .post(
                &format!("/collections/{name}/points/query"),
                json!({"query": {"indices": [2], "values": [1.0]}, "using": "s"}),
            )
            .await;
        assert_eq!(ids(&ok(st, &b)["points"]), set(&[1]));
    }
}

#[tokio::test]
async fn points_vectors_sets_and_deletes_only_the_named_vectors() {
    let s = start(ServerConfig::default()).await;
    named_only(&s).await;

    // Give the vectorless point 4 a text vector; its payload stays.
    let (st, b) = s
        .put(
            "/collections/n/points/vectors?wait=true",
            json!({"points": [{"id": 4, "vector": {"text": [0.0, 1.0]}}]}),
        )
        .await;
    assert_eq!(ok(st, &b)["status"], "completed");
    assert_eq!(vectors_of(&s, 4).await, json!({"text": [0.0, 1.0]}));
    let text = query(
        &s,
        json!({"query": [0.0, 1.0], "using": "text", "limit": 10}),
    )
    .await;
    assert_eq!(text, set(&[1, 2, 4]));
    // Replace point 1's image and sparse vectors; its text vector is untouched.
    let (st, b) = s
        .put(
            "/collections/n/points/vectors",
            json!({"points": [{"id": 1, "vector": {"image": [0.0, 0.0, 1.0],
                                                     "s": {"indices": [7], "values": [3.0]}}}]}),
        )
        .await;
    ok(st, &b);
    let v1 = vectors_of(&s, 1).await;
    assert_eq!(v1["text"], json!([1.0, 0.0]));
    assert_eq!(v1["image"], json!([0.0, 0.0, 1.0]));
    assert_eq!(v1["s"], json!({"indices": [7], "values": [3.0]}));
    let sparse = query(
        &s,
        json!({"query": {"indices": [5], "values": [1.0]}, "using": "s", "limit": 10}),
    )
    .await;
    assert_eq!(sparse, set(&[3]), "point 1 no longer has dimension 5");

    // Refusals change nothing: an unknown point (404), an undeclared name, a wrong
    // dimension, the unnamed vector of a named-only collection (400).
    for (body, status) in [
        (
            json!({"points": [{"id": 2, "vector": {"text": [9.0, 9.0]}}, {"id": 99, "vector": {"text": [1.0, 1.0]}}]}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"points": [{"id": 2, "vector": {"audio": [1.0]}}]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"points": [{"id": 2, "vector": {"text": [1.0, 2.0, 3.0]}}]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"points": [{"id": 2, "vector": [1.0, 2.0]}]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"points": [{"id": 2, "vector": {}}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (st, b) = s.put("/collections/n/points/vectors", body.clone()).await;
        assert_eq!(st, status, "{body}: {b}");
        assert_eq!(
            vectors_of(&s, 2).await,
            json!({"text": [0.5, 0.5]}),
            "{body}"
        );
    }

    // Delete point 1's text vector by id: it leaves the text search, keeps the rest.
    let (st, b) = s
        .post(
            "/collections/n/points/vectors/delete?wait=true",
            json!({"points": [1], "vector": ["text"]}),
        )
        .await;
    ok(st, &b);
    let text = query(
        &s,
        json!({"query": [1.0, 0.0], "using": "text", "limit": 10}),
    )
    .await;
    assert_eq!(text, set(&[2, 4]));
    let v1 = vectors_of(&s, 1).await;
    assert!(v1.get("text").is_none(), "{v1}");
    assert_eq!(v1["image"], json!([0.0, 0.0, 1.0]));
    // By filter: every k = "x" point (1, 3, 4) loses image and s; 2 is not matched.
    let (st, b) = s
        .post(
            "/collections/n/points/vectors/delete",
            json!({"filter": {"must": [{"key": "k", "match": {"value": "x"}}]},
                   "vector": ["image", "s"]}),
        )
        .await;
    ok(st, &b);
    assert_eq!(vectors_of(&s, 1).await, json!({}));
    assert_eq!(vectors_of(&s, 3).await, json!({}));
    assert_eq!(vectors_of(&s, 4).await, json!({"text": [0.0, 1.0]}));
    let image = query(
        &s,
        json!({"query": [0.0, 1.0, 0.0], "using": "image", "limit": 10}),
    )
    .await;
    assert!(image.is_empty(), "{image:?}");
    let (st, b) = s.post("/collections/n/points/count", json!({})).await;
    assert_eq!(ok(st, &b)["count"], 5, "the points themselves stay");
    // An unknown point or name is refused; nothing changes.
    for (body, status) in [
        (
            json!({"points": [2, 99], "vector": ["text"]}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"points": [2], "vector": ["audio"]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"points": [2], "vector": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (st, b) = s
            .post("/collections/n/points/vectors/delete", body.clone())
            .await;
        assert_eq!(st, status, "{body}: {b}");
        assert_eq!(
            vectors_of(&s, 2).await,
            json!({"text": [0.5, 0.5]}),
            "{body}"
        );
    }

    // The points/batch forms, applied in order.
    let (st, b) = s
        .post(
            "/collections/n/points/batch?wait=true",
            json!({"operations": [
                {"update_vectors": {"points": [{"id": 5, "vector": {"image": [1.0, 1.0, 0.0]}},
                                               {"id": 3, "vector": {"image": [0.0, 1.0, 1.0]}}]}},
                {"delete_vectors": {"points": [2, 4], "vector": ["text"]}},
                {"delete_vectors": {"filter": {"must": [{"key": "k", "match": {"value": "z"}}]},
                                    "vector": ["image"]}},
            ]}),
        )
        .await;
    ok(st, &b);
    let image = query(
        &s,
        json!({"query": [0.0, 1.0, 0.0], "using": "image", "limit": 10}),
    )
    .await;
    assert_eq!(image, set(&[3]));
    let text = query(
        &s,
        json!({"query": [1.0, 0.0], "using": "text", "limit": 10}),
    )
    .await;
    assert!(text.is_empty(), "{text:?}");
}

#[tokio::test]
async fn points_may_omit_the_unnamed_vector_of_a_default_collection() {
    let s = start(ServerConfig::default()).await;
    let (st, b) = s
        .put(
            "/collections/d",
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .put(
            "/collections/d/points?wait=true",
            json!({"points": [{"id": 1, "vector": [1.0, 0.0]}, {"id": 2, "payload": {"a": 1}}]}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .post(
            "/collections/d/points/query",
            json!({"query": [1.0, 0.0], "limit": 10}),
        )
        .await;
    assert_eq!(ids(&ok(st, &b)["points"]), set(&[1]));
    let (st, b) = s.get("/collections/d/points/2").await;
    let p = ok(st, &b);
    assert_eq!(p["vector"], json!({}));
    assert_eq!(p["payload"], json!({"a": 1}));
    let (st, b) = s.get("/collections/d/points/1").await;
    assert_eq!(ok(st, &b)["vector"], json!([1.0, 0.0]));
    // Query by a point without the vector: 400, not an empty query vector.
    let (st, b) = s
        .post("/collections/d/points/query", json!({"query": 2}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    // The unnamed vector set by `points/vectors` (a plain list), then deleted by "".
    let (st, b) = s
        .put(
            "/collections/d/points/vectors",
            json!({"points": [{"id": 2, "vector": [0.0, 1.0]}]}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .post(
            "/collections/d/points/query",
            json!({"query": [0.0, 1.0], "limit": 10}),
        )
        .await;
    assert_eq!(ids(&ok(st, &b)["points"]), set(&[1, 2]));
    let (st, b) = s
        .post(
            "/collections/d/points/vectors/delete",
            json!({"points": [1], "vector": [""]}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .post(
            "/collections/d/points/query",
            json!({"query": [0.0, 1.0], "limit": 10}),
        )
        .await;
    assert_eq!(ids(&ok(st, &b)["points"]), set(&[2]));
}
