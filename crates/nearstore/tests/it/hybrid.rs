//! Requests with several legs: hybrid dense + text, multi-query fusion, the shorthands,
//! per-leg scores and ranks, and the filter applied inside every leg (never after fusing).

use std::collections::{BTreeMap, BTreeSet};

use nearstore::{
    CollectionConfig, Database, DistanceMetric, ErrorKind, Filter, FusionStrategy, Leg, Point,
    SearchQuality, SearchRequest, TextIndexConfig, VectorCollection, distance,
};
use proptest::prelude::*;
use serde_json::json;

use crate::temp_db;

const WORDS: [&str; 6] = ["apple", "banana", "cherry", "date", "elder", "fig"];

fn vector(id: u64) -> Vec<f32> {
    vec![
        (id % 17) as f32,
        (id % 5) as f32 * 2.0,
        (id / 7) as f32 * 0.5,
    ]
}

fn body(id: u64) -> String {
    let mut words: Vec<&str> = (0..(1 + id % 3))
        .map(|i| WORDS[((id * 7 + i * 3) % 6) as usize])
        .collect();
    if id.is_multiple_of(4) {
        words.push("apple");
    }
    words.join(" ")
}

fn create(db: &Database, n: u64) -> VectorCollection {
    let config = CollectionConfig::new(3, DistanceMetric::Euclidean)
        .with_text(Some(TextIndexConfig::default()));
    let c = db.create_collection_with_options("h", config).unwrap();
    let points: Vec<Point> = (0..n)
        .map(|id| {
            Point::new(
                id,
                vector(id),
                Some(json!({"body": body(id), "n": id, "group": id % 3})),
            )
        })
        .collect();
    c.upsert_bulk(&points).unwrap();
    c
}

/// The exact dense list among the points matching `group` (best first, ties by id).
fn exact_dense(n: u64, q: &[f32], group: Option<u64>, depth: usize) -> Vec<(u64, f32)> {
    let mut scored: Vec<(u64, f32)> = (0..n)
        .filter(|id| group.is_none_or(|g| id % 3 == g))
        .map(|id| (id, distance(DistanceMetric::Euclidean, q, &vector(id))))
        .collect();
    scored.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    scored.truncate(depth);
    scored
}

/// RRF written out: sum of 1 / (60 + rank) over the lists, best first, ties by id.
fn rrf(lists: &[Vec<(u64, f32)>]) -> Vec<(u64, f64)> {
    let mut acc: BTreeMap<u64, f64> = BTreeMap::new();
    for l in lists {
        for (i, (id, _)) in l.iter().enumerate() {
            *acc.entry(*id).or_default() += 1.0 / (60.0 + (i + 1) as f64);
        }
    }
    let mut out: Vec<(u64, f64)> = acc.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[test]
fn hybrid_rrf_equals_the_formula_over_each_legs_exact_list() {
    let (_dir, db) = temp_db();
    let n = 300;
    let c = create(&db, n);
    let q = [3.0, 4.0, 2.0];
    let filter = Filter::eq("group", json!(1));
    let request = SearchRequest::new(&q)
        .text_query("apple cherry")
        .filter(filter.clone())
        .quality(SearchQuality::Perfect)
        .limit(10);
    let hits = c.query(request).unwrap();
    // Each leg searched 4 * max(10, 20) = 80 deep under the filter.
    let dense = exact_dense(n, &q, Some(1), 80);
    let text: Vec<(u64, f32)> = c
        .query(
            SearchRequest::text("apple cherry")
                .filter(filter)
                .limit(80)
                .with_payload(false),
        )
        .unwrap()
        .iter()
        .map(|r| (r.point.id, r.score))
        .collect();
    let want = rrf(&[dense.clone(), text.clone()]);
    assert_eq!(hits.len(), 10);
    for (h, (id, score)) in hits.iter().zip(&want) {
        assert_eq!(h.point.id, *id);
        assert!((f64::from(h.score) - score).abs() < 1e-6);
        for ls in &h.legs {
            let list = if ls.leg == 0 { &dense } else { &text };
            assert_eq!(list[ls.rank - 1].0, h.point.id);
            assert!((list[ls.rank - 1].1 - ls.score).abs() < 1e-3);
        }
        assert_eq!(h.point.payload.as_ref().unwrap()["group"], json!(1));
    }
}

#[test]
fn each_leg_searches_under_its_own_filter_and_the_requests() {
    let (_dir, db) = temp_db();
    let n = 300;
    let c = create(&db, n);
    let (q1, q2) = ([3.0, 4.0, 2.0], [10.0, 0.0, 9.0]);
    // Exact best `depth` among group `g` with n <= 200 (the request's filter).
    let exact = |q: &[f32], g: u64, depth: usize| -> Vec<(u64, f32)> {
        let mut l = exact_dense(n, q, Some(g), n as usize);
        l.retain(|(id, _)| *id <= 200);
        l.truncate(depth);
        l
    };
    let request = SearchRequest::new(&[])
        .leg(
            Leg::dense("", &q1)
                .limit(30)
                .filter(Filter::eq("group", json!(1))),
        )
        .leg(
            Leg::dense("", &q2)
                .limit(30)
                .filter(Filter::eq("group", json!(2))),
        )
        .filter(Filter::between("n", json!(0), json!(200)))
        .quality(SearchQuality::Perfect)
        .limit(20);
    let hits = c.query(request.clone()).unwrap();
    let (l1, l2) = (exact(&q1, 1, 30), exact(&q2, 2, 30));
    let want = rrf(&[l1.clone(), l2.clone()]);
    assert_eq!(hits.len(), 20);
    for (h, (id, score)) in hits.iter().zip(&want) {
        assert_eq!(h.point.id, *id);
        assert!((f64::from(h.score) - score).abs() < 1e-6);
        for ls in &h.legs {
            let list = if ls.leg == 0 { &l1 } else { &l2 };
            assert_eq!(
                list[ls.rank - 1].0,
                h.point.id,
                "leg {} filtered inside",
                ls.leg
            );
        }
    }
    // Each leg is full (never short): with room for all, both legs bring their 30
    // candidates (disjoint groups: 60 hits), all passing both filters.
    let hits = c.query(request.clone().limit(60)).unwrap();
    assert_eq!(hits.len(), 60);
    for leg in [0, 1] {
        let ranks = hits
            .iter()
            .flat_map(|h| &h.legs)
            .filter(|l| l.leg == leg)
            .count();
        assert_eq!(
            ranks, 30,
            "leg {leg} fetched its whole depth under its filter"
        );
    }
    // A leg whose filter contradicts the request's finds nothing; the other still does.
    let hits = c
        .query(
            SearchRequest::new(&q1)
                .leg(Leg::dense("", &q2).filter(Filter::gte("n", json!(250))))
                .filter(Filter::lt("n", json!(100)))
                .quality(SearchQuality::Perfect)
                .limit(5),
        )
        .unwrap();
    assert_eq!(hits.len(), 5);
    assert!(
        hits.iter()
            .all(|h| h.point.id < 100 && h.legs.iter().all(|l| l.leg == 0))
    );
}

#[test]
fn shorthands_build_fused_requests() {
    let (_dir, db) = temp_db();
    let c = create(&db, 120);
    let q = vector(10);
    // alpha = 1: only the dense side counts, so the dense neighbour is first.
    let hits = c.hybrid_search(&q, "banana", 5, Some(1.0)).unwrap();
    assert_eq!(hits[0].point.id, 10);
    assert!((hits[0].score - 1.0).abs() < 1e-6);
    let err = c.hybrid_search(&q, "banana", 5, Some(1.5)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    // Two dense queries: a point near both wins under RRF; the filter holds in each leg.
    let only_even = Filter::eq("n", json!(11));
    let hits = c
        .multi_query_search(
            &[vector(10), vector(11)],
            3,
            FusionStrategy::rrf(),
            Some(&only_even),
        )
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].point.id, 11);
    assert_eq!(hits[0].legs.len(), 2);
    let hits = c
        .multi_query_search(&[vector(10), vector(11)], 2, FusionStrategy::Maximum, None)
        .unwrap();
    let ids: BTreeSet<u64> = hits.iter().map(|h| h.point.id).collect();
    assert_eq!(ids, BTreeSet::from([10, 11]));
    assert!(
        c.multi_query_search(&[], 2, FusionStrategy::Dbsf, None)
            .is_err()
    );
}

#[test]
fn bad_legs_and_fusion_options_are_refused_clearly() {
    let (_dir, db) = temp_db();
    let c = create(&db, 20);
    let err = c
        .query(SearchRequest::new(&[1.0, 2.0, 3.0]).using("image"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("\"image\""), "{err}");
    let err = c
        .query(SearchRequest::new(&[1.0, 2.0]).text_query("apple"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    let err = c
        .query(
            SearchRequest::new(&[1.0, 2.0, 3.0])
                .text_query("apple")
                .fusion(FusionStrategy::Weighted {
                    weights: vec![1.0, 2.0, 3.0],
                }),
        )
        .unwrap_err();
    assert!(err.to_string().contains("3 weights for 2 legs"), "{err}");
    // A single leg ignores the fusion and keeps its own score direction (a distance).
    let hits = c
        .query(SearchRequest::new(&vector(4)).fusion(FusionStrategy::Dbsf))
        .unwrap();
    assert_eq!(hits[0].score, 0.0);
    assert!(hits[0].legs.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the legs find, a fused result always satisfies the request's filter, also
    /// when one leg finds nothing (a query with no matching term, or a filter no text match
    /// passes), and the window of a fused list is a slice of the longer one.
    #[test]
    fn a_hybrid_query_never_returns_a_point_failing_its_filter(
        n in 1u64..120,
        group in 0u64..3,
        max_n in 0u64..120,
        query in prop_oneof![Just("apple"), Just("fig date"), Just("zzz"), Just("cherry -apple")],
        limit in 1usize..15,
        offset in 0usize..5,
        strategy in prop_oneof![
            Just(FusionStrategy::rrf()),
            Just(FusionStrategy::Dbsf),
            Just(FusionStrategy::RelativeScore { weights: vec![] }),
            Just(FusionStrategy::Average),
        ],
    ) {
        let (_dir, db) = temp_db();
        let c = create(&db, n);
        let filter = Filter::and(vec![
            Filter::eq("group", json!(group)),
            Filter::between("n", json!(0), json!(max_n)),
        ]);
        let base = SearchRequest::new(&vector(7))
            .text_query(query)
            .leg(Leg::dense("", &vector(50)).limit(3))
            .filter(filter)
            .fusion(strategy);
        let all = c.query(base.clone().limit(limit + offset)).unwrap();
        for h in &all {
            let id = h.point.id;
            prop_assert!(id % 3 == group && id <= max_n, "{} fails the filter", id);
            prop_assert!(!h.legs.is_empty());
        }
        let matching = (0..n).filter(|id| id % 3 == group && *id <= max_n).count();
        prop_assert_eq!(all.len(), (limit + offset).min(matching));
        let page = c.query(base.limit(limit).offset(offset)).unwrap();
        let want: Vec<u64> = all.iter().skip(offset).map(|h| h.point.id).collect();
        prop_assert_eq!(page.iter().map(|h| h.point.id).collect::<Vec<_>>(), want);
    }
}
