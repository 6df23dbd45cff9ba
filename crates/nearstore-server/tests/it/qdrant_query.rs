//! The Query API: `prefetch` + `fusion` become one engine request with one leg per
//! prefetch; what one request cannot express is refused with 400, never approximated.

use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, start};

fn ok(st: StatusCode, body: &Value) -> Value {
    assert_eq!(st, StatusCode::OK, "{body}");
    body["result"].clone()
}

/// Points on a quarter circle (Dot), so a query vector ranks them by angle.
async fn arc(s: &TestServer) {
    let (st, b) = s
        .put(
            "/collections/arc",
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    ok(st, &b);
    let points: Vec<Value> = (0..8)
        .map(|i| {
            let a = f64::from(i) * std::f64::consts::FRAC_PI_2 / 7.0;
            json!({"id": i, "vector": [a.cos(), a.sin()], "payload": {"even": i % 2 == 0}})
        })
        .collect();
    let (st, b) = s
        .put(
            "/collections/arc/points?wait=true",
            json!({"points": points}),
        )
        .await;
    ok(st, &b);
}

fn hits(result: &Value) -> Vec<(u64, f64)> {
    result["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_u64().unwrap(), p["score"].as_f64().unwrap()))
        .collect()
}

#[tokio::test]
async fn prefetch_with_rrf_fuses_the_legs_ranks() {
    let s = start(ServerConfig::default()).await;
    arc(&s).await;
    // Leg 1 ranks 0,1,2,..; leg 2 ranks 7,6,5,..; each fetches 3.
    let (st, b) = s
        .post(
            "/collections/arc/points/query",
            json!({
                "prefetch": [
                    {"query": [1.0, 0.0], "limit": 3},
                    {"query": [0.0, 1.0], "limit": 3},
                ],
                "query": {"fusion": "rrf"},
                "limit": 10,
            }),
        )
        .await;
    let got = hits(&ok(st, &b));
    let ids: Vec<u64> = got.iter().map(|(id, _)| *id).collect();
    // Only the legs' top 3 can appear; ties in RRF (rank r in one leg) are broken by id.
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![0, 1, 2, 5, 6, 7], "{b}");
    for (id, score) in &got {
        let rank = match id {
            0 | 7 => 1.0,
            1 | 6 => 2.0,
            _ => 3.0,
        };
        assert!((score - 1.0 / (60.0 + rank)).abs() < 1e-6, "{id}: {score}");
    }
    assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "{b}");
    // A point found by both legs adds both reciprocal ranks.
    let (st, b) = s
        .post(
            "/collections/arc/points/query",
            json!({
                "prefetch": [
                    {"query": [1.0, 0.0], "limit": 8},
                    {"query": [1.0, 0.05], "limit": 8},
                ],
                "query": {"rrf": {"k": 10}},
                "limit": 1,
            }),
        )
        .await;
    let got = hits(&ok(st, &b));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, 0, "{b}");
    assert!((got[0].1 - 2.0 / 11.0).abs() < 1e-6, "{b}");
}

#[tokio::test]
async fn prefetch_with_dbsf_and_a_shared_filter() {
    let s = start(ServerConfig::default()).await;
    arc(&s).await;
    let even = json!({"must": [{"key": "even", "match": {"value": true}}]});
    // LangChain's form: the same filter on every prefetch, none outside.
    let (st, b) = s
        .post(
            "/collections/arc/points/query",
            json!({
                "prefetch": [
                    {"query": [1.0, 0.0], "limit": 4, "filter": even},
                    {"query": [0.0, 1.0], "limit": 4, "filter": even},
                ],
                "query": {"fusion": "dbsf"},
                "limit": 10,
                "with_payload": true,
            }),
        )
        .await;
    let result = ok(st, &b);
    let points = result["points"].as_array().unwrap();
    assert_eq!(points.len(), 4, "{b}");
    for p in points {
        assert_eq!(p["payload"]["even"], json!(true), "{b}");
    }
    // The outer filter and the prefetches' filter are and-ed.
    let (st, b) = s
        .post(
            "/collections/arc/points/query",
            json!({
                "prefetch": [
                    {"query": [1.0, 0.0], "limit": 8, "filter": even},
                    {"query": [0.0, 1.0], "limit": 8, "filter": even},
                ],
                "query": {"fusion": "dbsf"},
                "filter": {"must_not": [{"has_id": [0, 2]}]},
            }),
        )
        .await;
    let mut ids: Vec<u64> = hits(&ok(st, &b)).into_iter().map(|(id, _)| id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![4, 6], "{b}");
}

/// The ids of a single-leg query's top `limit` under `filter`.
async fn leg_top(s: &TestServer, query: [f64; 2], filter: &Value, limit: usize) -> Vec<u64> {
    let (st, b) = s
        .post(
            "/collections/arc/points/query",
            json!({"query": query, "filter": filter, "limit": limit}),
        )
        .await;
    hits(&ok(st, &b)).into_iter().map(|(id, _)| id).collect()
}

#[tokio::test]
async fn prefetches_with_different_filters_fuse_each_filtered_top_list() {
    let s = start(ServerConfig::default()).await;
    arc(&s).await;
    let even = json!({"must": [{"key": "even", "match": {"value": true}}]});
    let odd = json!({"must": [{"key": "even", "match": {"value": false}}]});
    // The outer filter drops point 6 (even) and 1 (odd) everywhere.
    let outer = json!({"must_not": [{"has_id": [1, 6]}]});
    let and = |f: &Value| json!({"must": [f, outer]});
    let legs = [([1.0, 0.0], &even), ([0.0, 1.0], &odd)];
    // The oracle: RRF (k = 60, rank from 1) over each filtered leg's own top 3, computed
    // through separate single-leg requests under that leg's filter and the outer one.
    let mut expected: Vec<(u64, f64)> = Vec::new();
    for (q, f) in legs {
        for (rank, id) in leg_top(&s, q, &and(f), 3).await.into_iter().enumerate() {
            let add = 1.0 / (60.0 + rank as f64 + 1.0);
            match expected.iter_mut().find(|(e, _)| *e == id) {
                Some(e) => e.1 += add,
                None => expected.push((id, add)),
            }
        }
    }
    assert_eq!(expected.len(), 6, "{expected:?}");
    let (st, b) = s
        .post(
            "/collections/arc/points/query",
            json!({
                "prefetch": [
                    {"query": [1.0, 0.0], "limit": 3, "filter": even},
                    {"query": [0.0, 1.0], "limit": 3, "filter": odd},
                ],
                "query": {"fusion": "rrf"},
                "filter": outer,
                "limit": 10,
            }),
        )
        .await;
    let got = hits(&ok(st, &b));
    assert_eq!(got.len(), expected.len(), "{b}");
    for (id, score) in &got {
        assert!(*id != 1 && *id != 6, "{id} fails the outer filter: {b}");
        let want = expected.iter().find(|(e, _)| e == id);
        let want = want.unwrap_or_else(|| panic!("{id} is in no leg's top list: {b}"));
        assert!((score - want.1).abs() < 1e-6, "{id}: {score} vs {}", want.1);
    }
    // Each leg kept its own filter: leg 1 brings only even points, leg 2 only odd ones.
    let mut ids: Vec<u64> = got.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![0, 2, 3, 4, 5, 7], "{b}");
    assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "{b}");
}

#[tokio::test]
async fn what_one_request_cannot_express_is_refused() {
    let s = start(ServerConfig::default()).await;
    arc(&s).await;
    let cases = [
        (
            json!({"prefetch": [{"prefetch": [{"query": [1.0, 0.0]}], "query": {"fusion": "rrf"}}],
                   "query": {"fusion": "rrf"}}),
            "nested prefetch",
        ),
        (
            json!({"prefetch": [{"query": [1.0, 0.0]}], "query": [0.0, 1.0]}),
            "re-scoring",
        ),
        (
            json!({"prefetch": [{"query": [1.0, 0.0], "score_threshold": 0.5}],
                   "query": {"fusion": "rrf"}}),
            "prefetch's own score_threshold",
        ),
        (
            json!({"prefetch": [{"query": [1.0, 0.0], "params": {"hnsw_ef": 16}},
                                {"query": [0.0, 1.0], "params": {"hnsw_ef": 32}}],
                   "query": {"fusion": "rrf"}}),
            "different search params",
        ),
        (json!({"query": {"fusion": "rrf"}}), "needs prefetches"),
    ];
    for (body, needle) in cases {
        let (st, b) = s.post("/collections/arc/points/query", body.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {b}");
        let msg = b["status"]["error"].as_str().unwrap();
        assert!(msg.contains(needle), "{body}: {msg}");
    }
}

#[tokio::test]
async fn query_batch_runs_fused_and_plain_queries() {
    let s = start(ServerConfig::default()).await;
    arc(&s).await;
    let (st, b) = s
        .post(
            "/collections/arc/points/query/batch",
            json!({"searches": [
                {"query": [1.0, 0.0], "limit": 2},
                {"prefetch": [{"query": [1.0, 0.0]}, {"query": 7}], "query": {"fusion": "rrf"}, "limit": 2},
            ]}),
        )
        .await;
    let result = ok(st, &b);
    let plain: Vec<u64> = hits(&result[0]).into_iter().map(|(id, _)| id).collect();
    assert_eq!(plain, vec![0, 1], "{b}");
    let fused: Vec<u64> = hits(&result[1]).into_iter().map(|(id, _)| id).collect();
    assert_eq!(fused.len(), 2, "{b}");
    assert!(fused.contains(&0) && fused.contains(&7), "{b}");
}
