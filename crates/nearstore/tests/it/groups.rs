//! Grouped searches (`VectorCollection::query_groups`) against a brute-force oracle: exact
//! distances under the filter, ranked, then grouped by the documented rule; and the
//! deepening that keeps groups full when the best hits crowd into one group.

use nearstore::{Database, DistanceMetric, ErrorKind, Filter, Point, SearchQuality, SearchRequest};
use proptest::prelude::*;
use serde_json::{Value, json};

const DIM: usize = 3;

fn group_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => prop::sample::select(vec!["a", "b", "c", "d", "e"]).prop_map(|s| Some(json!(s))),
        2 => (0i64..4).prop_map(|n| Some(json!(n))),
        1 => prop::collection::vec(prop::sample::select(vec!["a", "b", "x"]), 0..3)
            .prop_map(|v| Some(json!(v))),
        1 => Just(Some(json!(1.5))),
        1 => Just(None),
    ]
}

/// The keys the documented rule takes from a value.
fn keys_of(v: Option<&Value>) -> Vec<Value> {
    let items: Vec<&Value> = match v {
        None => vec![],
        Some(Value::Array(a)) => a.iter().collect(),
        Some(x) => vec![x],
    };
    let mut out: Vec<Value> = Vec::new();
    for i in items {
        let keyable = i.is_string() || i.is_i64() || i.is_u64();
        if keyable && !out.contains(i) {
            out.push(i.clone());
        }
    }
    out
}

/// Brute force: every point under the filter by exact distance, then the greedy rule.
fn oracle(
    points: &[(Vec<f32>, Option<Value>, bool)],
    query: &[f32],
    filtered: bool,
    limit: usize,
    size: usize,
) -> Vec<(Value, Vec<u64>)> {
    let mut ranked: Vec<(f32, u64)> = points
        .iter()
        .enumerate()
        .filter(|(_, (_, _, flag))| !filtered || *flag)
        .map(|(id, (v, _, _))| {
            (
                nearstore::distance(DistanceMetric::Euclidean, v, query),
                id as u64,
            )
        })
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut groups: Vec<(Value, Vec<u64>)> = Vec::new();
    for (_, id) in ranked {
        for k in keys_of(points[id as usize].1.as_ref()) {
            match groups.iter().position(|g| g.0 == k) {
                Some(i) if groups[i].1.len() < size => groups[i].1.push(id),
                Some(_) => {}
                None if groups.len() < limit => groups.push((k, vec![id])),
                None => {}
            }
        }
    }
    groups
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn grouped_search_equals_brute_force(
        points in prop::collection::vec(
            (prop::collection::vec(-10.0f32..10.0, DIM), group_value(), any::<bool>()),
            1..120,
        ),
        query in prop::collection::vec(-10.0f32..10.0, DIM),
        limit in 0usize..6,
        size in 1usize..5,
        filtered in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).unwrap();
        let c = db.create_collection("g", DIM, DistanceMetric::Euclidean).unwrap();
        let batch: Vec<Point> = points
            .iter()
            .enumerate()
            .map(|(id, (v, g, flag))| {
                let mut p = json!({"flag": flag});
                if let Some(g) = g {
                    p["g"] = g.clone();
                }
                Point::new(id as u64, v.clone(), Some(p))
            })
            .collect();
        c.upsert(batch).unwrap();
        let mut request = SearchRequest::new(&query)
            .limit(limit)
            .group_by("g", size)
            .quality(SearchQuality::Perfect);
        if filtered {
            request = request.filter(Filter::parse(&json!({"field": "flag", "eq": true})).unwrap());
        }
        let got: Vec<(Value, Vec<u64>)> = c
            .query_groups(request)
            .unwrap()
            .into_iter()
            .map(|g| (g.key, g.hits.iter().map(|h| h.point.id).collect()))
            .collect();
        prop_assert_eq!(got, oracle(&points, &query, filtered, limit, size));
    }
}

#[test]
fn groups_are_full_even_when_the_best_hits_crowd_into_one_group() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = db
        .create_collection("g", 2, DistanceMetric::Euclidean)
        .unwrap();
    // 5,000 points of group "near" at x = 0..5000 before any other group at x >= 10_000:
    // the first pass (64 deep) sees only "near"; deeper passes find the others.
    let mut batch: Vec<Point> = (0..5_000u64)
        .map(|i| Point::new(i, vec![i as f32, 0.0], Some(json!({"g": "near"}))))
        .collect();
    for (i, g) in ["b", "c", "b", "c", "b"].iter().enumerate() {
        let id = 10_000 + i as u64;
        batch.push(Point::new(id, vec![id as f32, 0.0], Some(json!({"g": g}))));
    }
    c.upsert_bulk(&batch).unwrap();
    let groups = c
        .query_groups(
            SearchRequest::new(&[0.0, 0.0])
                .limit(3)
                .group_by("g", 2)
                .quality(SearchQuality::Perfect)
                .with_payload(false),
        )
        .unwrap();
    let got: Vec<(Value, Vec<u64>)> = groups
        .into_iter()
        .map(|g| (g.key, g.hits.iter().map(|h| h.point.id).collect()))
        .collect();
    assert_eq!(
        got,
        [
            (json!("near"), vec![0, 1]),
            (json!("b"), vec![10_000, 10_002]),
            (json!("c"), vec![10_001, 10_003]),
        ]
    );
}

#[test]
fn a_grouped_request_runs_only_through_query_groups_and_refuses_an_offset() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = db
        .create_collection("g", 2, DistanceMetric::Euclidean)
        .unwrap();
    let r = SearchRequest::new(&[0.0, 0.0]).group_by("g", 1);
    assert_eq!(
        c.query(r.clone()).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let e = c.query_groups(r.clone().offset(1)).unwrap_err();
    assert!(e.to_string().contains("offset"), "{e}");
    assert!(c.query_groups(SearchRequest::new(&[0.0, 0.0])).is_err());
    assert!(c.query_groups(r).unwrap().is_empty());
}
