//! Full-text search through the server: the native text leg against the engine's own
//! `text_search`, the native text index routes, and Qdrant's full-text payload index with
//! `match: {text}` / `match: {phrase}` filters.

use std::collections::BTreeSet;

use nearstore::{Database, Filter};
use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, error_message, start, start_on};

const CORPUS: [&str; 12] = [
    "the quick brown fox jumps over the lazy dog",
    "a quick brown dog runs in the park",
    "lazy afternoons in the park with a good book",
    "foxes are quick and clever animals",
    "the dog sleeps all day long",
    "brown bears and brown foxes live in the forest",
    "running fast is what the fox does best",
    "the book about the quick fox",
    "nothing to see here",
    "dog dog dog dog a very doggy text",
    "Café crème and a croissant",
    "the park is closed on mondays",
];

fn corpus_points() -> Value {
    let points: Vec<Value> = CORPUS
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"id": i + 1, "vector": [1.0, i as f32],
                   "payload": {"body": t, "even": i % 2 == 0}})
        })
        .collect();
    Value::Array(points)
}

async fn with_corpus() -> (TestServer, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let s = start_on(db.clone(), dir, ServerConfig::default()).await;
    let (st, b) = s
        .post(
            "/v1/collections",
            json!({"name": "t", "dim": 2, "metric": "l2"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let (st, b) = s.put("/v1/collections/t/points", corpus_points()).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    (s, db)
}

fn ids_and_scores(results: &Value) -> Vec<(u64, f32)> {
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["id"].as_u64().unwrap(),
                h["score"].as_f64().unwrap() as f32,
            )
        })
        .collect()
}

#[tokio::test]
async fn native_text_search_returns_the_engine_ids_and_scores() {
    let (s, db) = with_corpus().await;
    let c = db.get_vector_collection("t").unwrap();
    let queries = [
        "quick fox",
        "dog",
        "brown",
        "park book",
        "\"quick brown\"",
        "+dog -lazy",
        "cafe",
        "absent",
    ];
    for q in queries {
        let (st, b) = s
            .post(
                "/v1/collections/t/search",
                json!({"text": {"query": q}, "limit": 5}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{q}: {b}");
        let got = ids_and_scores(&b["results"]);
        let want: Vec<(u64, f32)> = c
            .text_search(q, 5)
            .unwrap()
            .into_iter()
            .map(|r| (r.point.id, r.score))
            .collect();
        assert_eq!(got, want, "{q}");
        if q != "absent" {
            assert!(!got.is_empty(), "{q}: the corpus contains it");
        }
        // Filtered, and paged: the same as the engine.
        let (st, b) = s
            .post(
                "/v1/collections/t/search",
                json!({"text": {"query": q}, "limit": 3, "filter": {"field": "even", "eq": true}}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{q}: {b}");
        let want: Vec<(u64, f32)> = c
            .text_search_with_filter(q, 3, &Filter::eq("even", json!(true)))
            .unwrap()
            .into_iter()
            .map(|r| (r.point.id, r.score))
            .collect();
        assert_eq!(ids_and_scores(&b["results"]), want, "{q} filtered");
        let (st, b) = s
            .post(
                "/v1/collections/t/search",
                json!({"text": {"query": q}, "limit": 2, "offset": 1, "with_payload": false}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{q}: {b}");
        let full = c.text_search(q, 3).unwrap();
        let want: Vec<(u64, f32)> = full.iter().skip(1).map(|r| (r.point.id, r.score)).collect();
        assert_eq!(ids_and_scores(&b["results"]), want, "{q} offset");
        assert!(
            b["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|h| h.get("payload").is_none())
        );
    }
    // "dog" ranks the document that repeats it first, with its payload.
    let (_, b) = s
        .post(
            "/v1/collections/t/search",
            json!({"text": {"query": "dog"}, "limit": 1}),
        )
        .await;
    assert_eq!(b["results"][0]["id"], 10);
    assert_eq!(b["results"][0]["payload"]["body"], CORPUS[9]);
}

#[tokio::test]
async fn a_text_search_is_refused_clearly_when_it_cannot_run() {
    let (s, _db) = with_corpus().await;
    // A vector and a text query together are one hybrid request (the engine fuses the two
    // legs with RRF, k = 60): every fused score is at most 2 / 61.
    let (st, b) = s
        .post(
            "/v1/collections/t/search",
            json!({"vector": [1.0, 0.0], "text": {"query": "dog"}, "limit": 3}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let results = b["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{b}");
    for r in results {
        let score = r["score"].as_f64().unwrap();
        assert!(score > 0.0 && score <= 2.0 / 61.0 + 1e-6, "{b}");
    }
    let cases = [
        (json!({"limit": 3}), "give a \"vector\""),
        (
            json!({"text": {"query": "dog"}, "quality": "fast"}),
            "not to a text search",
        ),
    ];
    for (body, says) in cases {
        let (st, b) = s.post("/v1/collections/t/search", body.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert!(error_message(&b).contains(says), "{body}: {b}");
    }
    let (st, b) = s
        .post(
            "/v1/collections/t/search",
            json!({"text": {"query": "dog", "fuzzy": true}}),
        )
        .await;
    assert!(st.is_client_error(), "{b}");
}

#[tokio::test]
async fn native_text_routes_configure_the_index() {
    let (s, db) = with_corpus().await;
    // The default: every string leaf as one field.
    let (st, b) = s.get("/v1/collections/t/text").await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["enabled"], true);
    assert_eq!(b["fields"][0]["name"], nearstore::ALL_FIELD);
    assert_eq!(b["stats"]["documents"], CORPUS.len());
    // One named field with English stemming and a stop word.
    let (st, b) = s
        .put(
            "/v1/collections/t/text",
            json!({"fields": [{"name": "body", "analyzer": {"tokenizer": "word",
                    "stemmer": "english", "stop_words": ["the"]}, "bm25": {"k1": 1.5}}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["fields"][0]["name"], "body");
    assert_eq!(b["fields"][0]["analyzer"]["stemmer"], "english");
    assert_eq!(b["fields"][0]["bm25"]["k1"], 1.5);
    assert_eq!(b["fields"][0]["bm25"]["b"], 0.75);
    let engine = db
        .get_vector_collection("t")
        .unwrap()
        .text_config()
        .unwrap();
    assert_eq!(engine.fields.len(), 1);
    assert_eq!(
        engine.fields[0].analyzer.stemmer,
        Some(nearstore::Language::English)
    );
    // Stemming: "runs" and "running" meet at "run".
    let (st, b) = s
        .post(
            "/v1/collections/t/search",
            json!({"text": {"query": "run", "field": "body"}, "with_payload": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let ids: BTreeSet<u64> = ids_and_scores(&b["results"]).iter().map(|h| h.0).collect();
    assert_eq!(ids, BTreeSet::from([2, 7]));
    // "the" is a stop word: it matches nothing.
    let (_, b) = s
        .post(
            "/v1/collections/t/search",
            json!({"text": {"query": "the"}}),
        )
        .await;
    assert_eq!(b["results"], json!([]));
    // Bad analyzer options are refused.
    for bad in [
        json!({"fields": [{"name": "body", "analyzer": {"stemmer": "klingon"}}]}),
        json!({"fields": [{"name": "body", "analyzer": {"tokeniser": "word"}}]}),
    ] {
        let (st, b) = s.put("/v1/collections/t/text", bad.clone()).await;
        assert!(st.is_client_error(), "{bad}: {st} {b}");
    }
    // Off: text searches say there is no text index.
    let (st, b) = s.delete("/v1/collections/t/text").await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b, json!({"enabled": false, "fields": [], "stats": null}));
    assert!(
        db.get_vector_collection("t")
            .unwrap()
            .text_config()
            .is_none()
    );
    let (st, b) = s
        .post(
            "/v1/collections/t/search",
            json!({"text": {"query": "dog"}}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let (st, _) = s.get("/v1/collections/nope/text").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

fn qdrant_ok(st: StatusCode, b: &Value) -> Value {
    assert_eq!(st, StatusCode::OK, "{b}");
    b["result"].clone()
}

async fn qdrant_ids(s: &TestServer, filter: Value) -> BTreeSet<u64> {
    let (st, b) = s
        .post(
            "/collections/q/points/scroll",
            json!({"filter": filter, "limit": 100}),
        )
        .await;
    let r = qdrant_ok(st, &b);
    let ids: BTreeSet<u64> = r["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    let (st, b) = s
        .post(
            "/collections/q/points/count",
            json!({"filter": filter, "exact": true}),
        )
        .await;
    assert_eq!(qdrant_ok(st, &b)["count"], ids.len(), "{filter}");
    ids
}

#[tokio::test]
async fn qdrant_full_text_index_and_match_filters() {
    let s = start(ServerConfig::default()).await;
    let (st, b) = s
        .put(
            "/collections/q",
            json!({"vectors": {"size": 2, "distance": "Euclid"}}),
        )
        .await;
    qdrant_ok(st, &b);
    let points: Vec<Value> = CORPUS
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"id": i + 1, "vector": [1.0, i as f32], "payload": {"body": t}}))
        .collect();
    let (st, b) = s
        .put("/collections/q/points?wait=true", json!({"points": points}))
        .await;
    qdrant_ok(st, &b);
    let (st, b) = s
        .put(
            "/collections/q/index",
            json!({"field_name": "body", "field_schema": {"type": "text", "tokenizer": "word",
                   "lowercase": true, "min_token_len": 2, "max_token_len": 20,
                   "ascii_folding": true, "phrase_matching": true}}),
        )
        .await;
    qdrant_ok(st, &b);
    let (st, b) = s.get("/collections/q").await;
    let info = qdrant_ok(st, &b);
    let schema = &info["payload_schema"]["body"];
    assert_eq!(schema["data_type"], "text", "{info}");
    assert_eq!(schema["points"], CORPUS.len());
    assert_eq!(schema["params"]["tokenizer"], "word");
    assert_eq!(schema["params"]["min_token_len"], 2);
    assert_eq!(schema["params"]["max_token_len"], 20);
    assert_eq!(schema["params"]["ascii_folding"], true);

    // Every word present, in any order and case.
    let text = |t: &str| json!({"must": [{"key": "body", "match": {"text": t}}]});
    assert_eq!(
        qdrant_ids(&s, text("QUICK fox")).await,
        BTreeSet::from([1, 8])
    );
    assert_eq!(
        qdrant_ids(&s, text("dog")).await,
        BTreeSet::from([1, 2, 5, 10])
    );
    assert_eq!(qdrant_ids(&s, text("cafe")).await, BTreeSet::from([11]));
    assert_eq!(qdrant_ids(&s, text("park lazy")).await, BTreeSet::from([3]));
    // A token under min_token_len is dropped from the query too.
    assert_eq!(
        qdrant_ids(&s, text("a croissant")).await,
        BTreeSet::from([11])
    );
    // Phrases: adjacent and in order.
    let phrase = |t: &str| json!({"must": [{"key": "body", "match": {"phrase": t}}]});
    assert_eq!(
        qdrant_ids(&s, phrase("quick brown")).await,
        BTreeSet::from([1, 2])
    );
    assert_eq!(qdrant_ids(&s, phrase("brown quick")).await, BTreeSet::new());
    // Combined with must_not.
    let (st, b) = s
        .post(
            "/collections/q/points/search",
            json!({"vector": [1.0, 0.0], "limit": 10,
                   "filter": {"must": [{"key": "body", "match": {"text": "dog"}}],
                              "must_not": [{"key": "body", "match": {"text": "park"}}]}}),
        )
        .await;
    let hits: BTreeSet<u64> = qdrant_ok(st, &b)
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_u64().unwrap())
        .collect();
    assert_eq!(hits, BTreeSet::from([1, 5, 10]));

    // Deleting the index drops it from payload_schema; the filters still answer.
    let (st, b) = s.delete("/collections/q/index/body?wait=true").await;
    qdrant_ok(st, &b);
    let (st, b) = s.get("/collections/q").await;
    assert!(qdrant_ok(st, &b)["payload_schema"].get("body").is_none());
    assert_eq!(
        qdrant_ids(&s, text("quick fox")).await,
        BTreeSet::from([1, 8])
    );
}

#[tokio::test]
async fn qdrant_text_index_options_we_do_not_support_are_refused() {
    let s = start(ServerConfig::default()).await;
    let (st, b) = s
        .put(
            "/collections/q",
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    qdrant_ok(st, &b);
    for (schema, says) in [
        (
            json!({"type": "text", "tokenizer": "prefix"}),
            "not supported",
        ),
        (
            json!({"type": "text", "tokenizer": "multilingual"}),
            "not supported",
        ),
        (json!({"type": "text", "on_disk": true}), "not supported"),
        (
            json!({"type": "text", "stopwords": "english"}),
            "not supported",
        ),
        (json!({"type": "text", "bm25_k1": 2}), "not supported"),
        (
            json!({"type": "text", "tokenizer": "letters"}),
            "unknown tokenizer",
        ),
    ] {
        let (st, b) = s
            .put(
                "/collections/q/index",
                json!({"field_name": "body", "field_schema": schema}),
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{schema}: {b}");
        assert!(error_message(&b).contains(says), "{schema}: {b}");
    }
    let (st, b) = s.get("/collections/q").await;
    assert_eq!(qdrant_ok(st, &b)["payload_schema"], json!({}));
}
