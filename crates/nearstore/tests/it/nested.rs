//! Nested requests (`Leg::nested`) and re-scoring (`SearchRequest::rescoring`) against
//! oracles built from separate requests: a re-scoring request equals ranking, by brute
//! force, the union of what its candidate legs find alone; a nested leg's list equals its
//! request run alone (under the parent's filter), fused by the written-out RRF formula.
//! And their refusals.

use std::collections::HashMap;

use nearstore::{
    Database, DistanceMetric, ErrorKind, Filter, FusionStrategy, Leg, Point, SearchRequest,
    VectorCollection,
};
use proptest::prelude::*;
use serde_json::json;

const DIM: usize = 3;

fn vector() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-5.0f32..5.0, DIM)
}

fn collection(
    dir: &tempfile::TempDir,
    metric: DistanceMetric,
    points: &[(Vec<f32>, bool)],
) -> VectorCollection {
    let db = Database::open(dir.path()).unwrap();
    let c = db.create_collection("n", DIM, metric).unwrap();
    c.upsert(
        points
            .iter()
            .enumerate()
            .map(|(id, (v, flag))| Point::new(id as u64, v.clone(), Some(json!({"flag": flag}))))
            .collect(),
    )
    .unwrap();
    c
}

fn flag_filter() -> Filter {
    Filter::parse(&json!({"field": "flag", "eq": true})).unwrap()
}

/// The ids of `request` run alone.
fn ids(c: &VectorCollection, request: SearchRequest) -> Vec<u64> {
    c.query(request)
        .unwrap()
        .into_iter()
        .map(|r| r.point.id)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn rescoring_ranks_the_candidates_union_exactly(
        points in prop::collection::vec((vector(), any::<bool>()), 1..80),
        ranking in vector(),
        finders in prop::collection::vec((vector(), 1usize..20), 1..3),
        metric in prop::sample::select(vec![
            DistanceMetric::Euclidean, DistanceMetric::DotProduct, DistanceMetric::Cosine,
        ]),
        limit in 1usize..15,
        filtered in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let c = collection(&dir, metric, &points);
        let mut request = SearchRequest::new(&ranking).limit(limit).rescoring();
        for (q, depth) in &finders {
            request = request.leg(Leg::dense("", q).limit(*depth));
        }
        if filtered {
            request = request.filter(flag_filter());
        }
        let got = c.query(request).unwrap();
        // The oracle: each finder alone, under the same filter, then every candidate
        // scored against the ranking vector by the metric, best first, ties to the smaller id.
        let mut candidates: Vec<u64> = Vec::new();
        for (q, depth) in &finders {
            let mut alone = SearchRequest::new(q).limit(*depth);
            if filtered {
                alone = alone.filter(flag_filter());
            }
            candidates.extend(ids(&c, alone));
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut expected: Vec<(u64, f32)> = candidates
            .iter()
            .map(|&id| (id, nearstore::distance(metric, &ranking, &points[id as usize].0)))
            .collect();
        let better = |a: f32, b: f32| if metric.is_similarity() { b.total_cmp(&a) } else { a.total_cmp(&b) };
        expected.sort_by(|a, b| better(a.1, b.1).then(a.0.cmp(&b.0)));
        expected.truncate(limit);
        prop_assert_eq!(got.len(), expected.len());
        for (g, (id, score)) in got.iter().zip(&expected) {
            prop_assert!((g.score - score).abs() <= 1e-3 * score.abs().max(1.0), "{} vs {}", g.score, score);
            prop_assert!(candidates.contains(&g.point.id));
            if filtered {
                prop_assert_eq!(g.point.payload.as_ref().unwrap()["flag"].as_bool(), Some(true));
            }
            // Ties may order differently only among equal scores.
            if g.point.id != *id {
                let mine = nearstore::distance(metric, &ranking, &points[g.point.id as usize].0);
                prop_assert!((mine - score).abs() <= 1e-4 * score.abs().max(1.0));
            }
        }
    }

    #[test]
    fn a_nested_fusion_is_its_request_run_alone_then_fused(
        points in prop::collection::vec((vector(), any::<bool>()), 1..80),
        inner in prop::collection::vec((vector(), 1usize..20), 2..4),
        inner_limit in 1usize..20,
        outer in vector(),
        outer_depth in 1usize..20,
        limit in 1usize..15,
        filtered in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let c = collection(&dir, DistanceMetric::Euclidean, &points);
        let mut nested = SearchRequest::new(&[]).limit(inner_limit).fusion(FusionStrategy::Dbsf);
        for (q, depth) in &inner {
            nested = nested.leg(Leg::dense("", q).limit(*depth));
        }
        let mut request = SearchRequest::new(&[])
            .leg(Leg::nested(nested.clone()))
            .leg(Leg::dense("", &outer).limit(outer_depth))
            .limit(limit);
        let mut alone_outer = SearchRequest::new(&outer).limit(outer_depth);
        if filtered {
            request = request.filter(flag_filter());
            nested = nested.filter(flag_filter());
            alone_outer = alone_outer.filter(flag_filter());
        }
        let got = c.query(request).unwrap();
        // The oracle: RRF (k = 60, ranks from 1) of the two lists run alone.
        let mut fused: HashMap<u64, f64> = HashMap::new();
        for list in [ids(&c, nested), ids(&c, alone_outer)] {
            for (rank, id) in list.into_iter().enumerate() {
                *fused.entry(id).or_default() += 1.0 / (60.0 + rank as f64 + 1.0);
            }
        }
        prop_assert_eq!(got.len(), fused.len().min(limit));
        for g in &got {
            let want = fused.get(&g.point.id).copied();
            prop_assert!(want.is_some(), "{} came from no list", g.point.id);
            prop_assert!((f64::from(g.score) - want.unwrap_or(0.0)).abs() < 1e-6);
            if filtered {
                prop_assert_eq!(g.point.payload.as_ref().unwrap()["flag"].as_bool(), Some(true));
            }
        }
        let mut best: Vec<f64> = fused.values().copied().collect();
        best.sort_by(|a, b| b.total_cmp(a));
        for (g, want) in got.iter().zip(&best) {
            prop_assert!((f64::from(g.score) - want).abs() < 1e-6);
        }
    }
}

#[test]
fn a_nested_request_keeps_its_own_threshold_and_filter() {
    let dir = tempfile::tempdir().unwrap();
    let points: Vec<(Vec<f32>, bool)> = (0..20)
        .map(|i| (vec![i as f32, 0.0, 0.0], i % 2 == 0))
        .collect();
    let c = collection(&dir, DistanceMetric::Euclidean, &points);
    // Inner: the points within distance 5.5 of the origin that are flagged: 0, 2, 4.
    let inner = SearchRequest::new(&[0.0, 0.0, 0.0])
        .limit(10)
        .score_threshold(5.5)
        .filter(flag_filter());
    // Re-scored by distance to 19: the farthest of them last.
    let got = ids(
        &c,
        SearchRequest::new(&[19.0, 0.0, 0.0])
            .leg(Leg::nested(inner))
            .rescoring()
            .limit(10),
    );
    assert_eq!(got, vec![4, 2, 0]);
}

#[test]
fn nesting_and_rescoring_mistakes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = collection(
        &dir,
        DistanceMetric::Euclidean,
        &[(vec![1.0, 0.0, 0.0], true)],
    );
    let q = [1.0, 0.0, 0.0];
    let refused = |r: SearchRequest, what: &str| {
        let e = c.query(r).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        assert!(e.to_string().contains(what), "{e}");
    };
    refused(
        SearchRequest::new(&q).rescoring(),
        "re-scoring request needs",
    );
    refused(
        SearchRequest::new(&q)
            .leg(Leg::dense("", &q))
            .rescoring()
            .fusion(FusionStrategy::Dbsf),
        "takes no fusion",
    );
    refused(
        SearchRequest::new(&[])
            .leg(Leg::nested(SearchRequest::new(&q)).limit(5))
            .leg(Leg::dense("", &q)),
        "no leg limit",
    );
    refused(
        SearchRequest::new(&[])
            .leg(Leg::nested(SearchRequest::new(&q).group_by("flag", 1)))
            .leg(Leg::dense("", &q)),
        "cannot group",
    );
    refused(
        SearchRequest::new(&[])
            .leg(Leg::nested(SearchRequest::new(&q).deadline(
                nearstore::Deadline::after(std::time::Duration::from_secs(60)),
            )))
            .leg(Leg::dense("", &q)),
        "parent's deadline",
    );
    let mut deep = SearchRequest::new(&q);
    for _ in 0..=nearstore::MAX_NESTING {
        deep = SearchRequest::new(&[])
            .leg(Leg::nested(deep))
            .leg(Leg::dense("", &q));
    }
    refused(deep, "nested requests more than");
    // A nested request's own mistakes are found before anything runs.
    let e = c
        .query(
            SearchRequest::new(&[])
                .leg(Leg::nested(SearchRequest::new(&[1.0, 2.0])))
                .leg(Leg::dense("", &q)),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}
