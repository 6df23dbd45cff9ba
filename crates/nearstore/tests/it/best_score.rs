//! The best-score recommendation leg (`Leg::best_score`) against a brute-force oracle: the
//! formula written out over every point under the filter; and its refusals.

use nearstore::{Database, DistanceMetric, ErrorKind, Filter, Leg, Point, SearchRequest};
use proptest::prelude::*;
use serde_json::json;

const DIM: usize = 3;

fn sigmoid(x: f32) -> f32 {
    0.5 * (x / (1.0 + x.abs()) + 1.0)
}

/// The documented formula, one candidate at a time.
fn oracle_score(m: DistanceMetric, c: &[f32], pos: &[Vec<f32>], neg: &[Vec<f32>]) -> f32 {
    let sim = |x: &Vec<f32>| {
        let d = nearstore::distance(m, c, x);
        if m.is_similarity() { d } else { -d }
    };
    let p = pos.iter().map(sim).fold(f32::NEG_INFINITY, f32::max);
    let n = neg.iter().map(sim).fold(f32::NEG_INFINITY, f32::max);
    if p > n { sigmoid(p) } else { -sigmoid(n) }
}

fn vector() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-5.0f32..5.0, DIM)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn best_score_equals_brute_force(
        points in prop::collection::vec((vector(), any::<bool>()), 1..80),
        positive in prop::collection::vec(vector(), 0..3),
        negative in prop::collection::vec(vector(), 0..3),
        metric in prop::sample::select(vec![
            DistanceMetric::Euclidean, DistanceMetric::DotProduct, DistanceMetric::Cosine,
        ]),
        limit in 1usize..15,
        filtered in any::<bool>(),
    ) {
        prop_assume!(!positive.is_empty() || !negative.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).unwrap();
        let c = db.create_collection("r", DIM, metric).unwrap();
        c.upsert(
            points
                .iter()
                .enumerate()
                .map(|(id, (v, flag))| Point::new(id as u64, v.clone(), Some(json!({"flag": flag}))))
                .collect(),
        )
        .unwrap();
        let mut request = SearchRequest::new(&[])
            .leg(Leg::best_score("", positive.clone(), negative.clone()))
            .limit(limit);
        if filtered {
            request = request.filter(Filter::parse(&json!({"field": "flag", "eq": true})).unwrap());
        }
        let got: Vec<(u64, f32)> = c
            .query(request)
            .unwrap()
            .into_iter()
            .map(|r| (r.point.id, r.score))
            .collect();
        // Stored vectors may be normalized (cosine): score what the collection stores.
        let stored = c.get(&(0..points.len() as u64).collect::<Vec<_>>()).unwrap();
        let mut want: Vec<(u64, f32)> = stored
            .into_iter()
            .flatten()
            .filter(|p| !filtered || points[p.id as usize].1)
            .map(|p| (p.id, oracle_score(metric, &p.vector, &positive, &negative)))
            .collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        want.truncate(limit);
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert!((g.1 - w.1).abs() <= 1e-5, "{:?} vs {:?}", got, want);
        }
        // Same ids where the oracle's scores are not tied.
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let tied = want.iter().enumerate().any(|(j, o)| j != i && (o.1 - w.1).abs() <= 1e-5);
            if !tied {
                prop_assert_eq!(g.0, w.0);
            }
        }
    }
}

#[test]
fn best_score_ranks_near_positives_first_and_near_negatives_last() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = db
        .create_collection("r", 2, DistanceMetric::Euclidean)
        .unwrap();
    c.upsert(
        (0..10u64)
            .map(|i| Point::new(i, vec![i as f32, 0.0], None))
            .collect(),
    )
    .unwrap();
    // Positive at 0 and 9.5, negative at 6: 0 and 9 are near a positive; 6 is the negative.
    let hits = c
        .query(
            SearchRequest::new(&[])
                .leg(Leg::best_score(
                    "",
                    vec![vec![0.0, 0.0], vec![9.5, 0.0]],
                    vec![vec![6.0, 0.0]],
                ))
                .limit(10),
        )
        .unwrap();
    let ids: Vec<u64> = hits.iter().map(|h| h.point.id).collect();
    assert_eq!(ids[..2], [0, 9]);
    assert_eq!(*ids.last().unwrap(), 6);
    assert!(hits[0].score > 0.0 && hits[9].score < 0.0);
    // A threshold cuts in the best-score direction (higher is better).
    let kept = c
        .query(
            SearchRequest::new(&[])
                .leg(Leg::best_score("", vec![vec![0.0, 0.0]], vec![]))
                .limit(10)
                .score_threshold(0.3),
        )
        .unwrap();
    assert!(kept.iter().all(|h| h.score >= 0.3) && !kept.is_empty() && kept.len() < 10);
}

#[test]
fn best_score_without_examples_or_with_a_wrong_dimension_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = db
        .create_collection("r", 2, DistanceMetric::Euclidean)
        .unwrap();
    let run = |leg: Leg| {
        c.query(SearchRequest::new(&[]).leg(leg))
            .unwrap_err()
            .kind()
    };
    assert_eq!(
        run(Leg::best_score("", vec![], vec![])),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        run(Leg::best_score("", vec![vec![1.0]], vec![])),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        run(Leg::best_score("nope", vec![vec![1.0, 0.0]], vec![])),
        ErrorKind::InvalidArgument
    );
}
