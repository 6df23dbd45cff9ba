//! The Query API: `prefetch` + `fusion` become one engine request with one leg per
//! prefetch, a nearest query over prefetches re-scores them, nested prefetches are nested
//! requests; what one request cannot express is refused with 400, never approximated.

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

/// Point `i`'s dot product with `q` on the arc.
fn arc_score(i: u64, q: [f64; 2]) -> f64 {
    let a = i as f64 * std::f64::consts::FRAC_PI_2 / 7.0;
    q[0] * a.cos() + q[1] * a.sin()
}

async fn query(s: &TestServer, body: Value) -> Vec<(u64, f64)> {
    let (st, b) = s.post("/collections/arc/points/query", body).await;
    hits(&ok(st, &b))
}

fn assert_ranked_by(got: &[(u64, f64)], ids: &[u64], q: [f64; 2]) {
    let got_ids: Vec<u64> = got.iter().map(|(id, _)| *id).collect();
    assert_eq!(got_ids, ids, "{got:?}");
    for (id, score) in got {
        assert!((score - arc_score(*id, q)).abs() < 1e-5, "{id}: {score}");
    }
}

#[tokio::test]
async fn a_nearest_query_rescores_the_prefetched_points() {
    let s = start(ServerConfig::default()).await;
    arc(&s).await;
    // The prefetch finds 0, 1, 2 (nearest [1, 0]); [0, 1] ranks only those, by its own score.
    let got = query(
        &s,
        json!({"prefetch": {"query": [1.0, 0.0], "limit": 3}, "query": [0.0, 1.0], "limit": 10}),
    )
    .await;
    assert_ranked_by(&got, &[2, 1, 0], [0.0, 1.0]);
    // The outer filter applies inside the prefetch too: 0 and 2 are even, so the prefetch
    // finds 1, 3, 5 and the re-scoring ranks them.
    let odd = json!({"must": [{"key": "even", "match": {"value": false}}]});
    let got = query(
        &s,
        json!({"prefetch": {"query": [1.0, 0.0], "limit": 3}, "query": [0.0, 1.0], "filter": odd}),
    )
    .await;
    assert_ranked_by(&got, &[5, 3, 1], [0.0, 1.0]);
}

/// RRF of {0, 1} (nearest [1, 0]) and {7, 6} (nearest [0, 1]) cut to `inner_limit`,
/// re-scored by `q`.
fn fused_then_rescored(inner_limit: usize, q: [f64; 2]) -> Value {
    json!({
        "prefetch": {
            "prefetch": [
                {"query": [1.0, 0.0], "limit": 2},
                {"query": [0.0, 1.0], "limit": 2},
            ],
            "query": {"fusion": "rrf"},
            "limit": inner_limit,
        },
        "query": q,
        "limit": 10,
    })
}

#[tokio::test]
async fn nested_prefetches_fuse_then_rescore() {
    let s = start(ServerConfig::default()).await;
    arc(&s).await;
    // All four fused points, ranked by [0.6, 0.8].
    let q = [0.6, 0.8];
    let got = query(&s, fused_then_rescored(4, q)).await;
    assert_ranked_by(&got, &[6, 7, 1, 0], q);
    // The inner fusion cut to 2: ranks 1 of each leg (0 and 7) tie, both kept.
    let got = query(&s, fused_then_rescored(2, q)).await;
    assert_ranked_by(&got, &[7, 0], q);
}

#[tokio::test]
async fn a_prefetch_keeps_its_own_threshold_params_and_recommend_examples() {
    let s = start(ServerConfig::default()).await;
    arc(&s).await;
    // Leg 1: score >= 0.9 against [1, 0] keeps 0, 1, 2 of its 8; leg 2: 7, 6 (its own ef).
    let got = query(
        &s,
        json!({
            "prefetch": [
                {"query": [1.0, 0.0], "limit": 8, "score_threshold": 0.9},
                {"query": [0.0, 1.0], "limit": 2, "params": {"hnsw_ef": 32}},
            ],
            "query": {"fusion": "rrf"},
        }),
    )
    .await;
    let mut ids: Vec<u64> = got.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![0, 1, 2, 6, 7], "{got:?}");
    for (id, score) in &got {
        let rank = match id {
            0 | 7 => 1.0,
            1 | 6 => 2.0,
            _ => 3.0,
        };
        assert!((score - 1.0 / (60.0 + rank)).abs() < 1e-6, "{id}: {score}");
    }
    // A recommend prefetch: near point 0, never point 0 itself (1, 2, 3), re-scored.
    let got = query(
        &s,
        json!({
            "prefetch": {"query": {"recommend": {"positive": [0]}}, "limit": 3},
            "query": [0.0, 1.0],
        }),
    )
    .await;
    assert_ranked_by(&got, &[3, 2, 1], [0.0, 1.0]);
    // A recommend query re-scoring a prefetch: the prefetch's 0, 1, 2 ranked by nearness to
    // point 7 (at [0, 1]).
    let got = query(
        &s,
        json!({
            "prefetch": {"query": [1.0, 0.0], "limit": 3},
            "query": {"recommend": {"positive": [7]}},
        }),
    )
    .await;
    let ids: Vec<u64> = got.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, vec![2, 1, 0], "{got:?}");
}

#[tokio::test]
async fn what_one_request_cannot_express_is_refused() {
    let s = start(ServerConfig::default()).await;
    arc(&s).await;
    let cases = [
        (
            json!({"prefetch": [{"query": [1.0, 0.0], "lookup_from": {"collection": "x"}}],
                   "query": {"fusion": "rrf"}}),
            "lookup_from",
        ),
        (
            json!({"prefetch": [{"limit": 3}], "query": {"fusion": "rrf"}}),
            "needs a \"query\"",
        ),
        (json!({"query": {"fusion": "rrf"}}), "needs prefetches"),
        (
            json!({"prefetch": [{"prefetch": [{"query": [1.0, 0.0]}], "query": {"fusion": "rrf"}}],
                   "query": {"fusion": "rrf"}, "using": "x"}),
            "\"using\"",
        ),
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
