//! Quantized collections over HTTP: Qdrant's `quantization_config` (create, info) and
//! `params.quantization` (search), and the native API's `storage_mode`, `quantization`,
//! `train_quantizer` route and `rerank` / `oversampling` search options; what cannot be
//! honoured is refused with 400 naming it.

use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, error_message, start};

const DIM: usize = 16;
/// Above the engine's default training threshold (1024 points), so a Qdrant-created
/// quantized collection trains by itself.
const N: usize = 1_200;

/// Deterministic clustered vectors (xorshift; 8 clusters).
fn vectors(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    let centers: Vec<Vec<f32>> = (0..8).map(|_| (0..DIM).map(|_| next()).collect()).collect();
    (0..n)
        .map(|i| centers[i % 8].iter().map(|c| c + 0.3 * next()).collect())
        .collect()
}

fn ok(st: StatusCode, b: &Value) -> Value {
    assert_eq!(st, StatusCode::OK, "{b}");
    b["result"].clone()
}

fn refused(st: StatusCode, b: &Value, words: &[&str]) {
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let msg = error_message(b);
    for w in words {
        assert!(msg.contains(w), "{w:?} not in {msg}");
    }
}

/// Same ids in the same order, scores equal within float rounding.
fn assert_same_hits(got: &[(u64, f64)], want: &[(u64, f64)]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for ((id, score), (wid, wscore)) in got.iter().zip(want) {
        assert_eq!(id, wid, "{got:?} vs {want:?}");
        assert!((score - wscore).abs() < 1e-5, "{score} vs {wscore}");
    }
}

/// `(id, score)` of a Qdrant search answer.
fn hits(result: &Value) -> Vec<(u64, f64)> {
    result
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["id"].as_u64().unwrap(), h["score"].as_f64().unwrap()))
        .collect()
}

async fn qdrant_collection(s: &TestServer, name: &str, quantization: Value) {
    let (st, b) = s
        .put(
            &format!("/collections/{name}"),
            json!({"vectors": {"size": DIM, "distance": "Cosine"}, "quantization_config": quantization}),
        )
        .await;
    ok(st, &b);
    let points: Vec<Value> = vectors(N, 1)
        .into_iter()
        .enumerate()
        .map(|(i, v)| json!({"id": i, "vector": v}))
        .collect();
    let (st, b) = s
        .put(
            &format!("/collections/{name}/points?wait=true"),
            json!({ "points": points }),
        )
        .await;
    ok(st, &b);
}

async fn qdrant_search(
    s: &TestServer,
    name: &str,
    q: &[f32],
    params: Value,
) -> (StatusCode, Value) {
    s.post(
        &format!("/collections/{name}/points/search"),
        json!({"vector": q, "limit": 10, "params": params}),
    )
    .await
}

#[tokio::test]
async fn qdrant_quantization_config_maps_onto_storage_modes_and_is_reported_back() {
    let s = start(ServerConfig::default()).await;
    for (name, asked, reported, mode) in [
        (
            "s",
            json!({"scalar": {"type": "int8", "always_ram": true}}),
            // Left out, Qdrant's quantile is the whole range.
            json!({"scalar": {"type": "int8", "quantile": 1.0, "always_ram": true}}),
            "sq8",
        ),
        (
            "s3",
            json!({"scalar": {"type": "int8", "quantile": 0.99}}),
            json!({"scalar": {"type": "int8", "quantile": 0.99, "always_ram": true}}),
            "sq8",
        ),
        (
            "s2",
            json!({"scalar": {"type": "int8", "quantile": 0.998, "always_ram": false, "memory": "pinned"}}),
            json!({"scalar": {"type": "int8", "quantile": 0.998, "always_ram": true}}),
            "sq8",
        ),
        (
            "b",
            json!({"binary": {"always_ram": true, "encoding": "one_bit", "query_encoding": "default"}}),
            json!({"binary": {"always_ram": true, "encoding": "one_bit"}}),
            "binary",
        ),
        (
            "p",
            json!({"product": {"compression": "x16"}}),
            json!({"product": {"compression": "x16", "always_ram": true}}),
            "pq",
        ),
        ("f", Value::Null, Value::Null, "full"),
    ] {
        let (st, b) = s
            .put(
                &format!("/collections/{name}"),
                json!({"vectors": {"size": DIM, "distance": "Cosine"}, "quantization_config": asked}),
            )
            .await;
        ok(st, &b);
        let (st, b) = s.get(&format!("/collections/{name}")).await;
        let config = ok(st, &b)["config"].clone();
        assert_eq!(config["quantization_config"], reported, "{name}");
        assert_eq!(config["nearstore_storage_mode"], mode, "{name}");
        // The native API sees the same mode.
        let (st, b) = s.get(&format!("/v1/collections/{name}")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(b["storage_mode"], mode, "{name}");
        if mode == "sq8" {
            assert_eq!(
                b["quantization"]["quantile"], reported["scalar"]["quantile"],
                "{name}"
            );
        }
    }
    // The unnamed vector's own section, in the named-map form, wins over the collection's.
    let (st, b) = s
        .put(
            "/collections/own",
            json!({
                "vectors": {"": {"size": DIM, "distance": "Dot", "quantization_config": {"binary": {}}}},
                "quantization_config": {"scalar": {"type": "int8"}},
            }),
        )
        .await;
    ok(st, &b);
    let (_, b) = s.get("/v1/collections/own").await;
    assert_eq!(b["storage_mode"], "binary");
    // With named vectors beside it, the unnamed vector reports its own section.
    let (st, b) = s
        .put(
            "/collections/mixed",
            json!({"vectors": {
                "": {"size": DIM, "distance": "Dot", "quantization_config": {"scalar": {"type": "int8"}}},
                "img": {"size": 4, "distance": "Cosine"},
            }}),
        )
        .await;
    ok(st, &b);
    let (_, b) = s.get("/collections/mixed").await;
    let config = &b["result"]["config"];
    assert_eq!(config["quantization_config"], Value::Null);
    assert_eq!(
        config["params"]["vectors"][""]["quantization_config"]["scalar"]["type"],
        "int8"
    );
    assert_eq!(config["nearstore_storage_mode"], "sq8");
}

#[tokio::test]
async fn qdrant_quantization_the_engine_cannot_honour_is_refused() {
    let s = start(ServerConfig::default()).await;
    let dense = |q: Value| json!({"vectors": {"size": DIM, "distance": "Cosine"}, "quantization_config": q});
    for (body, words) in [
        (
            dense(json!({"product": {"compression": "x4"}})),
            vec!["compression", "x4", "x16"],
        ),
        (
            dense(json!({"product": {"compression": "x64", "always_ram": true}})),
            vec!["x64"],
        ),
        (
            json!({"vectors": {"size": 18, "distance": "Cosine"},
                   "quantization_config": {"product": {"compression": "x16"}}}),
            vec!["18 dimensions", "divisible by 4"],
        ),
        (
            dense(json!({"product": {"compression": "x3"}})),
            vec!["unknown ratio"],
        ),
        (dense(json!({"product": {}})), vec!["compression: missing"]),
        (
            dense(json!({"scalar": {"type": "int4"}})),
            vec!["unknown scalar type"],
        ),
        (dense(json!({"scalar": {}})), vec!["type: missing"]),
        (
            dense(json!({"scalar": {"type": "int8", "bits": 8}})),
            vec!["unknown field \"bits\""],
        ),
        (
            dense(json!({"scalar": {"type": "int8", "memory": "cold"}})),
            vec!["quantization_config.scalar.memory", "pinned"],
        ),
        (
            dense(json!({"binary": {"encoding": "two_bits"}})),
            vec!["two_bits", "one_bit"],
        ),
        (
            dense(json!({"binary": {"query_encoding": "scalar8bits"}})),
            vec!["query_encoding", "scalar8bits"],
        ),
        (
            dense(json!({"turbo": {"bits": "bits1"}})),
            vec!["turbo", "rabitq"],
        ),
        (dense(json!({"opq": {}})), vec!["unknown quantization"]),
        (
            dense(json!({"scalar": {"type": "int8"}, "binary": {}})),
            vec!["expected one of"],
        ),
        (dense(json!("Disabled")), vec!["expected an object"]),
        (
            json!({"vectors": {"img": {"size": 4, "distance": "Cosine",
                   "quantization_config": {"scalar": {"type": "int8"}}}}}),
            vec!["vectors.img.quantization_config", "only the unnamed vector"],
        ),
        (
            json!({"vectors": {"img": {"size": 4, "distance": "Cosine"}},
                   "quantization_config": {"scalar": {"type": "int8"}}}),
            vec!["named vectors"],
        ),
        (
            json!({"vectors": {"size": DIM, "distance": "Manhattan"},
                   "quantization_config": {"scalar": {"type": "int8"}}}),
            vec![],
        ),
    ] {
        let (st, b) = s.put("/collections/r", body.clone()).await;
        refused(st, &b, &words);
        let (st, _) = s.get("/collections/r").await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{body} created a collection");
    }
    // A quantile outside Qdrant's range is its validation error (422).
    let (st, b) = s
        .put(
            "/collections/r",
            dense(json!({"scalar": {"type": "int8", "quantile": 0.2}})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    // A change of quantization on an existing collection is refused (fixed at creation).
    let (st, b) = s
        .put(
            "/collections/f",
            json!({"vectors": {"size": DIM, "distance": "Cosine"}}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .patch(
            "/collections/f",
            json!({"quantization_config": {"scalar": {"type": "int8"}}}),
        )
        .await;
    refused(st, &b, &["quantization_config"]);
}

#[tokio::test]
async fn qdrant_search_params_quantization_map_onto_rerank_and_oversampling() {
    let s = start(ServerConfig::default()).await;
    qdrant_collection(&s, "s", json!({"scalar": {"type": "int8"}})).await;
    let (_, info) = s.get("/v1/collections/s").await;
    assert_eq!(info["quantizer_trained"], true, "{info}");
    let q = &vectors(1, 99)[0];
    let (st, b) = qdrant_search(&s, "s", q, json!({"exact": true})).await;
    let exact = hits(&ok(st, &b));
    let (st, b) = qdrant_search(
        &s,
        "s",
        q,
        json!({"hnsw_ef": 128, "quantization": {"rescore": true, "oversampling": 4.0}}),
    )
    .await;
    assert_same_hits(&hits(&ok(st, &b)), &exact);
    // Without rescoring the scores are the codes' estimates.
    let (st, b) = qdrant_search(&s, "s", q, json!({"quantization": {"rescore": false}})).await;
    let approx = hits(&ok(st, &b));
    assert_eq!(approx.len(), 10);
    let exact_of = |id: u64| exact.iter().find(|h| h.0 == id).map(|h| h.1);
    assert!(
        approx
            .iter()
            .any(|(id, score)| exact_of(*id).is_none_or(|e| (score - e).abs() > 1e-6)),
        "rescore: false returned the exact scores: {approx:?}"
    );
    // ignore: the exact answer, whatever hnsw_ef says.
    let (st, b) = qdrant_search(
        &s,
        "s",
        q,
        json!({"hnsw_ef": 1, "quantization": {"ignore": true}}),
    )
    .await;
    assert_same_hits(&hits(&ok(st, &b)), &exact);
    // The Query API and its prefetches take the same section.
    let (st, b) = s
        .post(
            "/collections/s/points/query",
            json!({
                "prefetch": [{"query": q, "limit": 20, "params": {"quantization": {"oversampling": 2.0}}}],
                "query": q, "limit": 5,
                "params": {"quantization": {"rescore": true}},
            }),
        )
        .await;
    assert_eq!(ok(st, &b)["points"].as_array().unwrap().len(), 5);
    for (params, status, words) in [
        (
            json!({"quantization": {"ignore": true, "rescore": false}}),
            StatusCode::BAD_REQUEST,
            vec!["contradict"],
        ),
        (
            json!({"quantization": {"ignore": true, "oversampling": 2.0}}),
            StatusCode::BAD_REQUEST,
            vec!["contradict"],
        ),
        (
            json!({"quantization": {"oversampling": 0.5}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["oversampling"],
        ),
        (
            json!({"quantization": {"oversampling": 500.0}}),
            StatusCode::BAD_REQUEST,
            vec!["oversampling", "100"],
        ),
        (
            json!({"quantization": {"rescore": true, "bits": 2}}),
            StatusCode::BAD_REQUEST,
            vec!["bits"],
        ),
    ] {
        let (st, b) = qdrant_search(&s, "s", q, params.clone()).await;
        assert_eq!(st, status, "{params}: {b}");
        for w in words {
            assert!(error_message(&b).contains(w), "{w:?} not in {b}");
        }
    }
    // A binary collection always rescores: rescore: false is refused, not ignored.
    qdrant_collection(&s, "b", json!({"binary": {}})).await;
    let (st, b) = qdrant_search(&s, "b", q, json!({"quantization": {"rescore": false}})).await;
    refused(st, &b, &["rescore", "binary", "always rescores"]);
    // Rescored: each hit carries its exact score (one bit per dimension ranks coarsely, so
    // which points are found is not asserted beyond the best one with nearly every point
    // rescored).
    let (st, b) = qdrant_search(
        &s,
        "b",
        q,
        json!({"hnsw_ef": 256, "quantization": {"oversampling": 100.0}}),
    )
    .await;
    let found = hits(&ok(st, &b));
    assert_same_hits(&found[..1], &exact[..1]);
    let (st, b) = qdrant_search(&s, "b", q, json!({"quantization": {"ignore": true}})).await;
    assert_same_hits(&hits(&ok(st, &b)), &exact);
    // A full collection searches its f32 vectors: the section changes nothing (as Qdrant).
    qdrant_collection(&s, "f", Value::Null).await;
    let (st, b) = qdrant_search(
        &s,
        "f",
        q,
        json!({"quantization": {"ignore": true}, "exact": true}),
    )
    .await;
    assert_same_hits(&hits(&ok(st, &b)), &exact);
}

#[tokio::test]
async fn native_storage_modes_train_on_demand_and_search_with_rerank_options() {
    let s = start(ServerConfig::default()).await;
    let (st, b) = s
        .post(
            "/v1/collections",
            json!({"name": "n", "dim": DIM, "storage_mode": "SQ8",
                   "quantization": {"train_at": 0, "oversampling": 3.0}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["storage_mode"], "sq8");
    assert_eq!(
        b["quantization"],
        json!({"train_at": 0, "oversampling": 3.0})
    );
    assert_eq!(b["quantizer_trained"], false);
    let points: Vec<Value> = vectors(500, 2)
        .into_iter()
        .enumerate()
        .map(|(i, v)| json!({"id": i, "vector": v}))
        .collect();
    let (st, b) = s
        .put("/v1/collections/n/points", json!({ "points": points }))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (_, b) = s.get("/v1/collections/n").await;
    assert_eq!(b["quantizer_trained"], false, "train_at 0: only on demand");
    let (st, b) = s
        .post("/v1/collections/n/train_quantizer", Value::Null)
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["trained"], true);
    assert_eq!(b["collection"]["quantizer_trained"], true);
    let q = &vectors(1, 77)[0];
    let search = |extra: Value| {
        let mut body = json!({"vector": q, "limit": 10, "with_payload": false});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        s.post("/v1/collections/n/search", body)
    };
    let score_list = |b: &Value| -> Vec<(u64, f64)> {
        b["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["id"].as_u64().unwrap(), h["score"].as_f64().unwrap()))
            .collect()
    };
    let (st, b) = search(json!({"quality": "perfect"})).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let exact = score_list(&b);
    let (st, b) = search(json!({"oversampling": 5.0, "quality": "accurate"})).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_same_hits(&score_list(&b), &exact);
    let (st, b) = search(json!({"rerank": false})).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let approx = score_list(&b);
    assert!(
        approx.iter().any(|(id, score)| {
            exact
                .iter()
                .find(|h| h.0 == *id)
                .is_none_or(|h| (h.1 - score).abs() > 1e-6)
        }),
        "rerank: false returned exact scores"
    );
    for (extra, words) in [
        (json!({"oversampling": 0.5}), vec!["oversampling"]),
        (json!({"rerank": "no"}), vec!["expected a boolean"]),
    ] {
        let (st, b) = search(extra.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{extra}: {b}");
        for w in words {
            assert!(error_message(&b).contains(w), "{w:?} not in {b}");
        }
    }
    let (st, b) = s
        .post(
            "/v1/collections/n/search/batch",
            json!({"searches": [{"vector": q, "rerank": true, "oversampling": 2.0}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["results"][0].as_array().unwrap().len(), 10);
    // A text search has no codes to tune.
    let (st, b) = s
        .post(
            "/v1/collections/n/search",
            json!({"text": {"query": "x"}, "rerank": true}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert!(error_message(&b).contains("rerank"));
}

#[tokio::test]
async fn native_quantization_refusals_are_clear() {
    let s = start(ServerConfig::default()).await;
    for (body, words) in [
        (
            json!({"name": "r", "dim": DIM, "storage_mode": "opq"}),
            vec!["storage mode", "opq"],
        ),
        (
            json!({"name": "r", "dim": DIM, "quantization": {"oversampling": 2.0}}),
            vec!["quantized storage mode"],
        ),
        (
            json!({"name": "r", "dim": DIM, "storage_mode": "pq", "quantization": {"oversampling": 500.0}}),
            vec!["oversampling"],
        ),
        (
            json!({"name": "r", "dim": DIM, "storage_mode": "sq8", "quantization": {"bits": 4}}),
            vec!["bits"],
        ),
        (
            json!({"name": "r", "dim": DIM, "metric": "manhattan", "storage_mode": "sq8"}),
            vec![],
        ),
    ] {
        let (st, b) = s.post("/v1/collections", body.clone()).await;
        assert!(
            st == StatusCode::BAD_REQUEST || st == StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {st} {b}"
        );
        for w in words {
            assert!(error_message(&b).contains(w), "{w:?} not in {b}");
        }
    }
    let (st, _) = s.get("/v1/collections/r").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Training a full collection, and rerank: false where the mode always rescores.
    let (st, b) = s
        .post("/v1/collections", json!({"name": "f", "dim": DIM}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["quantizer_trained"], false);
    assert!(b.get("quantization").is_none(), "{b}");
    let (st, b) = s
        .post("/v1/collections/f/train_quantizer", Value::Null)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert!(error_message(&b).contains("full"), "{b}");
    let (st, b) = s
        .post(
            "/v1/collections",
            json!({"name": "rb", "dim": DIM, "storage_mode": "rabitq"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let (st, b) = s
        .post(
            "/v1/collections/rb/search",
            json!({"vector": vectors(1, 5)[0], "rerank": false}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert!(error_message(&b).contains("always rescores"), "{b}");
    // Qdrant's view of a rabitq collection: no Qdrant shape, named by the extension.
    let (st, b) = s.get("/collections/rb").await;
    let config = ok(st, &b)["config"].clone();
    assert_eq!(config["quantization_config"], Value::Null);
    assert_eq!(config["nearstore_storage_mode"], "rabitq");
}
