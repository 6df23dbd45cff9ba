//! Qdrant filters and scrolls that the engine answers: `has_id` and `must_not has_id` at
//! any nesting in delete, count, scroll and search; `is_null` (an explicit null) vs
//! `is_empty` (missing, null or []) vs a missing key; scroll `order_by` across pages; a
//! payload index on an array path (`a[].b`) and filters through it.

use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, start};

fn ok(st: StatusCode, body: &Value) -> Value {
    assert_eq!(st, StatusCode::OK, "{body}");
    body["result"].clone()
}

/// Points 0..20 (vector [1, id]); payload `n` = id, `t` varying by id % 5:
/// null, missing, [], [null], "x".
async fn server() -> TestServer {
    let s = start(ServerConfig::default()).await;
    let (st, b) = s
        .put(
            "/collections/q",
            json!({"vectors": {"size": 2, "distance": "Euclid"}}),
        )
        .await;
    ok(st, &b);
    let points: Vec<Value> = (0..20u64)
        .map(|id| {
            let mut payload = json!({"n": id, "g": id % 3});
            match id % 5 {
                0 => payload["t"] = Value::Null,
                1 => {}
                2 => payload["t"] = json!([]),
                3 => payload["t"] = json!([null]),
                _ => payload["t"] = json!("x"),
            }
            json!({"id": id, "vector": [1.0, id as f32], "payload": payload})
        })
        .collect();
    let (st, b) = s
        .put("/collections/q/points?wait=true", json!({"points": points}))
        .await;
    ok(st, &b);
    s
}

fn sorted_ids(points: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = points
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

async fn scroll_ids(s: &TestServer, filter: Value) -> Vec<u64> {
    let (st, b) = s
        .post(
            "/collections/q/points/scroll",
            json!({"filter": filter, "limit": 100}),
        )
        .await;
    sorted_ids(&ok(st, &b)["points"])
}

async fn count(s: &TestServer, filter: Value) -> u64 {
    let (st, b) = s
        .post("/collections/q/points/count", json!({"filter": filter}))
        .await;
    ok(st, &b)["count"].as_u64().unwrap()
}

async fn search_ids(s: &TestServer, filter: Value) -> Vec<u64> {
    let (st, b) = s
        .post(
            "/collections/q/points/search",
            json!({"vector": [1.0, 0.0], "limit": 100, "filter": filter}),
        )
        .await;
    sorted_ids(&ok(st, &b))
}

#[tokio::test]
async fn has_id_and_must_not_has_id_at_any_nesting() {
    let s = server().await;
    let cases: Vec<(Value, Vec<u64>)> = vec![
        (json!({"must": [{"has_id": [1, 2, 3, 77]}]}), vec![1, 2, 3]),
        (
            json!({"must_not": [{"has_id": (0..17).collect::<Vec<u64>>()}]}),
            vec![17, 18, 19],
        ),
        (
            json!({"should": [
                {"must": [{"key": "g", "match": {"value": 0}}], "must_not": [{"has_id": [0, 3, 6]}]},
                {"has_id": [1]}
            ]}),
            vec![1, 9, 12, 15, 18],
        ),
        (
            json!({"must": [{"must_not": [{"should": [{"has_id": [4]}, {"key": "n", "range": {"gte": 6}}]}]}]}),
            vec![0, 1, 2, 3, 5],
        ),
    ];
    for (filter, expected) in &cases {
        assert_eq!(&scroll_ids(&s, filter.clone()).await, expected, "{filter}");
        assert_eq!(count(&s, filter.clone()).await, expected.len() as u64);
        assert_eq!(&search_ids(&s, filter.clone()).await, expected, "{filter}");
    }
    // Delete with a nested must_not has_id (was refused before the engine knew has_id).
    let (st, b) = s
        .post(
            "/collections/q/points/delete?wait=true",
            json!({"filter": {"must": [{"key": "g", "match": {"value": 1}}, {"must_not": [{"has_id": [1, 4]}]}]}}),
        )
        .await;
    ok(st, &b);
    assert_eq!(
        scroll_ids(&s, json!({"must": [{"key": "g", "match": {"value": 1}}]})).await,
        [1, 4]
    );
    assert_eq!(count(&s, Value::Null).await, 20 - 5);
}

#[tokio::test]
async fn is_null_is_empty_and_missing_keep_their_meanings() {
    let s = server().await;
    let every = |r: u64| -> Vec<u64> { (0..20).filter(|id| id % 5 == r).collect() };
    let nulls = every(0);
    let mut empty: Vec<u64> = (0..20).filter(|id| [0, 1, 2].contains(&(id % 5))).collect();
    empty.sort_unstable();
    for filter in [
        json!({"must": [{"is_null": {"key": "t"}}]}),
        json!({"must": [{"key": "t", "is_null": true}]}),
    ] {
        assert_eq!(scroll_ids(&s, filter.clone()).await, nulls, "{filter}");
        assert_eq!(search_ids(&s, filter).await, nulls);
    }
    for filter in [
        json!({"must": [{"is_empty": {"key": "t"}}]}),
        json!({"must": [{"key": "t", "is_empty": true}]}),
    ] {
        assert_eq!(scroll_ids(&s, filter.clone()).await, empty, "{filter}");
        assert_eq!(count(&s, filter).await, empty.len() as u64);
    }
    let not_empty: Vec<u64> = (0..20).filter(|id| !empty.contains(id)).collect();
    assert_eq!(
        scroll_ids(&s, json!({"must_not": [{"is_empty": {"key": "t"}}]})).await,
        not_empty
    );
    // With a payload index on the key, the same answers.
    let (st, b) = s
        .put(
            "/collections/q/index?wait=true",
            json!({"field_name": "t", "field_schema": "keyword"}),
        )
        .await;
    ok(st, &b);
    assert_eq!(
        scroll_ids(&s, json!({"must": [{"is_null": {"key": "t"}}]})).await,
        nulls
    );
    assert_eq!(
        scroll_ids(&s, json!({"must": [{"is_empty": {"key": "t"}}]})).await,
        empty
    );
}

#[tokio::test]
async fn scroll_order_by_pages_through_a_field() {
    let s = server().await;
    // As in Qdrant, ordering needs a range index on the key (integer or float).
    let (st, b) = s
        .post("/collections/q/points/scroll", json!({"order_by": "n"}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["status"]["error"]
            .as_str()
            .unwrap()
            .contains("No range index for `order_by` key: `n`"),
        "{b}"
    );
    let (st, b) = s
        .put(
            "/collections/q/index?wait=true",
            json!({"field_name": "n", "field_schema": "integer"}),
        )
        .await;
    ok(st, &b);
    let mut seen = Vec::new();
    let mut start_from: Option<u64> = None;
    loop {
        let mut order = json!({"key": "n", "direction": "desc"});
        if let Some(v) = start_from {
            order["start_from"] = json!(v);
        }
        let (st, b) = s
            .post(
                "/collections/q/points/scroll",
                json!({"order_by": order, "limit": 6, "filter": {"must_not": [{"has_id": [10]}]}}),
            )
            .await;
        let r = ok(st, &b);
        assert!(r["next_page_offset"].is_null(), "as in Qdrant: {r}");
        let page: Vec<(u64, u64)> = r["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["id"].as_u64().unwrap(),
                    p["order_value"].as_u64().unwrap(),
                )
            })
            .collect();
        for (id, value) in &page {
            assert_eq!(id, value);
        }
        // start_from is inclusive: drop the value the previous page ended with.
        let fresh: Vec<u64> = page
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| Some(*id) != start_from)
            .collect();
        if fresh.is_empty() {
            break;
        }
        start_from = fresh.last().copied();
        seen.extend(fresh);
    }
    let expected: Vec<u64> = (0..20).rev().filter(|&id| id != 10).collect();
    assert_eq!(seen, expected);
    let (st, b) = s
        .post(
            "/collections/q/points/scroll",
            json!({"order_by": "n", "offset": 3}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn ordered_scroll_reports_the_number_each_point_was_placed_by() {
    let s = start(ServerConfig::default()).await;
    let (st, b) = s
        .put(
            "/collections/o",
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    ok(st, &b);
    let points = json!({"points": [
        {"id": 1, "vector": [1.0, 0.0], "payload": {"n": 3, "k": "c"}},
        {"id": 2, "vector": [1.0, 0.0], "payload": {"n": [2, 7], "k": "a"}},
        {"id": 3, "vector": [1.0, 0.0], "payload": {"n": 1.5, "k": "b"}},
        {"id": 4, "vector": [1.0, 0.0], "payload": {"k": "d"}},
    ]});
    let (st, b) = s.put("/collections/o/points?wait=true", points).await;
    ok(st, &b);
    for (field, schema) in [("n", "float"), ("k", "keyword")] {
        let (st, b) = s
            .put(
                "/collections/o/index?wait=true",
                json!({"field_name": field, "field_schema": schema}),
            )
            .await;
        ok(st, &b);
    }
    // An array is placed by its smallest number ascending, its largest descending, and
    // order_value is that number (Qdrant's order_value is one number, never a list).
    for (direction, expected) in [
        ("asc", json!([[3, 1.5], [2, 2], [1, 3]])),
        ("desc", json!([[2, 7], [1, 3], [3, 1.5]])),
    ] {
        let (st, b) = s
            .post(
                "/collections/o/points/scroll",
                json!({"order_by": {"key": "n", "direction": direction}}),
            )
            .await;
        let got: Vec<Value> = ok(st, &b)["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| json!([p["id"], p["order_value"]]))
            .collect();
        assert_eq!(Value::Array(got), expected, "{direction}: {b}");
    }
    // A keyword index is no range index: refused, as in Qdrant.
    let (st, b) = s
        .post("/collections/o/points/scroll", json!({"order_by": "k"}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn an_array_path_index_is_filled_and_filters_through_it() {
    let s = start(ServerConfig::default()).await;
    let (st, b) = s
        .put(
            "/collections/a",
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    ok(st, &b);
    let country = |pops: &[f64]| json!({"country": {"cities": pops.iter().map(|p| json!({"population": p})).collect::<Vec<_>>()}});
    let points = json!({"points": [
        {"id": 1, "vector": [1.0, 0.0], "payload": country(&[1.5, 9.5])},
        {"id": 2, "vector": [1.0, 0.0], "payload": country(&[2.0])},
        {"id": 3, "vector": [1.0, 0.0], "payload": {"country": {"name": "none"}}},
        {"id": 4, "vector": [1.0, 0.0], "payload": country(&[12.0, 0.5])},
    ]});
    let (st, b) = s.put("/collections/a/points?wait=true", points).await;
    ok(st, &b);
    let field = "country.cities[].population";
    let (st, b) = s
        .put(
            "/collections/a/index?wait=true",
            json!({"field_name": field, "field_schema": "float"}),
        )
        .await;
    ok(st, &b);
    // The index holds the points that have a value under the path (1, 2 and 4).
    let (st, b) = s.get("/collections/a").await;
    let info = ok(st, &b);
    assert_eq!(
        info["payload_schema"][field],
        json!({"data_type": "float", "points": 3}),
        "{info}"
    );
    // Any city above 9: points 1 and 4, in scroll, count and search alike.
    let filter = json!({"must": [{"key": field, "range": {"gt": 9.0}}]});
    assert_eq!(scroll_ids_in(&s, "a", filter.clone()).await, vec![1, 4]);
    let (st, b) = s
        .post(
            "/collections/a/points/count",
            json!({"filter": filter, "exact": true}),
        )
        .await;
    assert_eq!(ok(st, &b)["count"], json!(2));
    let (st, b) = s
        .post(
            "/collections/a/points/search",
            json!({"vector": [1.0, 0.0], "limit": 10, "filter": filter}),
        )
        .await;
    assert_eq!(sorted_ids(&ok(st, &b)), vec![1, 4]);
}

async fn scroll_ids_in(s: &TestServer, collection: &str, filter: Value) -> Vec<u64> {
    let (st, b) = s
        .post(
            &format!("/collections/{collection}/points/scroll"),
            json!({"filter": filter, "limit": 100}),
        )
        .await;
    sorted_ids(&ok(st, &b)["points"])
}
