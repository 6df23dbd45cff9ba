//! Named dense vectors: each its own dimension and metric, optional per point, searched by
//! name (exactly, against brute force), persisted through checkpoints, clean reopens and
//! crashes that replay the log; bad names and dimensions are clear errors; named vectors in
//! the query language and in fused requests.

use std::collections::BTreeMap;

use nearstore::{
    CollectionConfig, Database, DistanceMetric, ErrorKind, Leg, Point, SearchQuality,
    SearchRequest, VectorCollection, VectorSpaceConfig, distance,
};
use proptest::prelude::*;
use serde_json::json;

use crate::temp_db;

fn config() -> CollectionConfig {
    CollectionConfig::new(2, DistanceMetric::Euclidean)
        .with_vector("image", VectorSpaceConfig::new(3, DistanceMetric::Cosine))
        .with_vector(
            "title",
            VectorSpaceConfig::new(2, DistanceMetric::DotProduct),
        )
}

fn image(id: u64, version: u64) -> Vec<f32> {
    vec![
        1.0 + (id % 7) as f32,
        (version % 5) as f32,
        (id % 3) as f32 - 1.0,
    ]
}

fn point(id: u64, version: u64) -> Point {
    let mut p = Point::new(
        id,
        vec![id as f32, version as f32],
        Some(json!({"v": version})),
    );
    if !version.is_multiple_of(3) {
        p = p.with_vector("image", image(id, version));
    }
    p
}

/// Whether `got` holds the same ids as the exact answer `want`, in an order whose exact
/// scores never increase by more than rounding (cosine near-ties may swap).
fn same_ranking(model: &BTreeMap<u64, u64>, q: &[f32], got: &[u64], want: &[u64]) -> bool {
    let mut a = got.to_vec();
    let mut b = want.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    let score = |id: u64| distance(DistanceMetric::Cosine, q, &image(id, model[&id]));
    a == b && got.windows(2).all(|w| score(w[0]) >= score(w[1]) - 1e-5)
}

/// Exact best `k` among the model's points carrying an image (ties by id).
fn exact_image(model: &BTreeMap<u64, u64>, q: &[f32], k: usize) -> Vec<u64> {
    let mut scored: Vec<(f32, u64)> = model
        .iter()
        .filter(|(_, v)| !v.is_multiple_of(3))
        .map(|(&id, &v)| (distance(DistanceMetric::Cosine, q, &image(id, v)), id))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|s| s.1).collect()
}

fn search_image(c: &VectorCollection, q: &[f32], k: usize) -> Vec<u64> {
    c.query(
        SearchRequest::new(q)
            .using("image")
            .limit(k)
            .quality(SearchQuality::Perfect)
            .with_payload(false),
    )
    .unwrap()
    .iter()
    .map(|h| h.point.id)
    .collect()
}

#[test]
fn named_vectors_are_optional_searched_by_name_and_checked() {
    let (_dir, db) = temp_db();
    let c = db.create_collection_with_options("n", config()).unwrap();
    c.upsert((0..30).map(|id| point(id, id)).collect()).unwrap();
    let model: BTreeMap<u64, u64> = (0..30).map(|id| (id, id)).collect();
    let q = [2.0, 1.0, 0.5];
    let all = exact_image(&model, &q, 100);
    assert!(same_ranking(&model, &q, &search_image(&c, &q, 100), &all));
    // Points without an image are stored, filterable, found by the default vector.
    assert_eq!(c.len(), 30);
    assert_eq!(c.search(&[3.0, 3.0], 1).unwrap()[0].point.id, 3);
    let p = c.get(&[4]).unwrap().remove(0).unwrap();
    assert_eq!(p.vectors["image"], image(4, 4));
    assert!(
        !c.get(&[3]).unwrap()[0]
            .as_ref()
            .unwrap()
            .vectors
            .contains_key("image")
    );
    // An upsert without the image drops it; a delete drops everything.
    c.upsert(vec![point(4, 3)]).unwrap();
    c.delete(&[5]).unwrap();
    let all = search_image(&c, &q, 100);
    assert!(
        !all.contains(&4) && !all.contains(&5) && all.len() == 18,
        "{all:?}"
    );
    // Bad input: unknown name, wrong dimension per name, nothing written.
    let err = c
        .upsert(vec![
            Point::new(99, vec![0.0, 0.0], None).with_vector("audio", vec![1.0]),
        ])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("\"audio\""), "{err}");
    let err = c
        .upsert(vec![
            Point::new(99, vec![0.0, 0.0], None).with_vector("image", vec![1.0, 2.0]),
        ])
        .unwrap_err();
    assert!(
        matches!(
            err,
            nearstore::Error::DimensionMismatch {
                expected: 3,
                actual: 2,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(c.len(), 29);
    let err = c
        .query(SearchRequest::new(&[1.0, 2.0]).using("image"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    // Each name keeps its own metric: dot products on `title`, higher is better.
    c.upsert(vec![
        Point::new(50, vec![0.0, 0.0], None).with_vector("title", vec![1.0, 0.0]),
        Point::new(51, vec![0.0, 0.0], None).with_vector("title", vec![3.0, 0.0]),
    ])
    .unwrap();
    let hits = c
        .query(SearchRequest::new(&[1.0, 0.0]).using("title"))
        .unwrap();
    assert_eq!(
        hits.iter().map(|h| h.point.id).collect::<Vec<_>>(),
        [51, 50]
    );
    assert_eq!(hits[0].score, 3.0);
    // Fused with the default vector, and in the query language.
    let fused = c
        .query(
            SearchRequest::new(&[0.0, 0.0])
                .leg(Leg::dense("title", &[1.0, 0.0]))
                .limit(2),
        )
        .unwrap();
    // Default ranks 0, 50, 51 (distance 0, ties by id); title ranks 51, 50: under RRF
    // 1/63 + 1/61 > 2/62 > 1/61.
    assert_eq!(
        fused.iter().map(|h| h.point.id).collect::<Vec<_>>(),
        [51, 50]
    );
    assert!(fused.iter().all(|h| h.legs.len() == 2));
    let rows = db
        .execute(
            "SELECT id FROM n WHERE title NEAR $t LIMIT 2",
            &json!({"t": [1.0, 0.0]}),
        )
        .unwrap();
    assert_eq!(rows.rows[0].to_json(), json!({"id": 51}));
}

/// One step of a random history.
#[derive(Debug, Clone)]
enum Step {
    Upsert(u64, u64),
    Delete(u64),
    Checkpoint,
    Reopen,
    Crash,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0u64..20, 1u64..50).prop_map(|(id, v)| Step::Upsert(id, v)),
        3 => (0u64..20).prop_map(Step::Delete),
        1 => Just(Step::Checkpoint),
        1 => Just(Step::Reopen),
        1 => Just(Step::Crash),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// After every step, the exact search on the named vector finds exactly the live points
    /// carrying it, in brute-force order, across checkpoints, reopens and crashes.
    #[test]
    fn named_vectors_survive_reopens_and_crashes(steps in prop::collection::vec(step(), 1..25)) {
        let mut dirs = vec![tempfile::tempdir().unwrap()];
        let mut db = Some(Database::open(dirs[0].path()).unwrap());
        let mut c = Some(db.as_ref().unwrap().create_collection_with_options("n", config()).unwrap());
        let mut model: BTreeMap<u64, u64> = BTreeMap::new();
        let q = [1.0, 2.0, -0.5];
        for s in &steps {
            let coll = c.as_ref().unwrap();
            match s {
                Step::Upsert(id, v) => {
                    coll.upsert(vec![point(*id, *v)]).unwrap();
                    model.insert(*id, *v);
                }
                Step::Delete(id) => {
                    coll.delete(&[*id]).unwrap();
                    model.remove(id);
                }
                Step::Checkpoint => coll.checkpoint().unwrap(),
                Step::Reopen | Step::Crash => {
                    coll.flush().unwrap();
                    if matches!(s, Step::Crash) {
                        std::mem::forget(c.take());
                        std::mem::forget(db.take());
                        let copy = tempfile::tempdir().unwrap();
                        crate::conformance::copy_dir(dirs[dirs.len() - 1].path(), copy.path());
                        dirs.push(copy);
                    } else {
                        drop(c.take());
                        drop(db.take());
                    }
                    db = Some(Database::open(dirs[dirs.len() - 1].path()).unwrap());
                    c = Some(db.as_ref().unwrap().get_vector_collection("n").unwrap());
                }
            }
            let coll = c.as_ref().unwrap();
            let got = search_image(coll, &q, 100);
            let want = exact_image(&model, &q, 100);
            prop_assert!(same_ranking(&model, &q, &got, &want), "{:?} vs {:?}", got, want);
            prop_assert_eq!(coll.len(), model.len());
        }
    }
}
