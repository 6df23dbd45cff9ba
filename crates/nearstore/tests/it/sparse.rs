//! Named sparse vectors through the collection: `sparse_search` against a brute-force dot
//! product over a random history (upserts replacing or dropping sparse vectors, deletes,
//! filters) across checkpoints, clean reopens and crashes that replay the log; declared
//! names; bad input; the sparse leg in fused requests.

use std::collections::BTreeMap;

use nearstore::{
    CollectionConfig, Database, DistanceMetric, ErrorKind, Filter, FusionStrategy, Leg, Point,
    SearchRequest, SparseConfig, SparseModifier, SparseVector, VectorCollection,
};
use proptest::prelude::*;
use serde_json::json;

use crate::temp_db;

fn sv(pairs: &[(u32, f32)]) -> SparseVector {
    SparseVector::new(
        pairs.iter().map(|p| p.0).collect(),
        pairs.iter().map(|p| p.1).collect(),
    )
    .unwrap()
}

fn create(db: &Database, config: CollectionConfig) -> VectorCollection {
    db.create_collection_with_options("sp", config).unwrap()
}

fn ids(results: &[nearstore::SearchResult]) -> Vec<u64> {
    results.iter().map(|r| r.point.id).collect()
}

#[test]
fn sparse_search_ranks_by_dot_product_and_sees_writes_at_once() {
    let (_dir, db) = temp_db();
    let c = create(&db, CollectionConfig::new(2, DistanceMetric::Cosine));
    c.upsert(vec![
        Point::new(1, vec![1.0, 0.0], None).with_sparse("", sv(&[(1, 1.0), (5, 2.0)])),
        Point::new(2, vec![0.0, 1.0], None).with_sparse("", sv(&[(5, 3.0)])),
        Point::new(3, vec![1.0, 1.0], None).with_sparse("", sv(&[(1, -4.0)])),
        Point::new(4, vec![1.0, 1.0], None),
    ])
    .unwrap();
    let q = sv(&[(1, 1.0), (5, 1.0)]);
    let hits = c.sparse_search(&q, 10, "").unwrap();
    assert_eq!(ids(&hits), [1, 2, 3], "negative scores still rank, last");
    assert_eq!(
        hits.iter().map(|h| h.score).collect::<Vec<_>>(),
        [3.0, 3.0, -4.0]
    );
    // Point reads carry the sparse vectors (with vectors).
    let p = c.get(&[1]).unwrap().remove(0).unwrap();
    assert_eq!(p.sparse[""], sv(&[(1, 1.0), (5, 2.0)]));
    // An upsert without the sparse vector removes it; a delete removes the point.
    c.upsert(vec![Point::new(1, vec![1.0, 0.0], None)]).unwrap();
    c.delete(&[3]).unwrap();
    assert_eq!(ids(&c.sparse_search(&q, 10, "").unwrap()), [2]);
    // A name no point carries yet finds nothing (any name is accepted by default).
    assert!(c.sparse_search(&q, 10, "other").unwrap().is_empty());
}

#[test]
fn declared_names_refuse_others_and_bad_vectors_are_clear_errors() {
    let (_dir, db) = temp_db();
    let config = CollectionConfig::new(2, DistanceMetric::Cosine).with_sparse_vectors([(
        "bm25".to_owned(),
        SparseConfig {
            modifier: SparseModifier::Idf,
        },
    )]);
    let c = create(&db, config);
    let err = c
        .upsert(vec![
            Point::new(1, vec![1.0, 0.0], None).with_sparse("splade", sv(&[(1, 1.0)])),
        ])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("\"splade\""), "{err}");
    assert_eq!(c.len(), 0, "nothing written");
    let err = c.sparse_search(&sv(&[(1, 1.0)]), 3, "splade").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    // Malformed sparse vectors never reach the engine.
    assert!(SparseVector::new(vec![1, 2], vec![1.0]).is_err());
    assert!(SparseVector::new(vec![1], vec![f32::NAN]).is_err());
    let parsed: Result<Point, _> = serde_json::from_value(
        json!({"id": 1, "vector": [1.0, 0.0], "sparse": {"bm25": {"indices": [1, 1], "values": [1.0, f32::MAX]}}}),
    );
    assert!(parsed.is_ok(), "duplicates are summed");
    let parsed: Result<Point, _> = serde_json::from_value(
        json!({"id": 1, "vector": [1.0], "sparse": {"bm25": {"indices": [1, 2], "values": [1.0]}}}),
    );
    assert!(parsed.is_err());
    // IDF: a rare dimension outweighs a common one of the same raw weight.
    c.upsert(vec![
        Point::new(1, vec![1.0, 0.0], None).with_sparse("bm25", sv(&[(1, 1.0)])),
        Point::new(2, vec![1.0, 0.0], None).with_sparse("bm25", sv(&[(1, 1.0), (2, 1.0)])),
        Point::new(3, vec![1.0, 0.0], None).with_sparse("bm25", sv(&[(1, 1.0), (3, 1.0)])),
    ])
    .unwrap();
    let hits = c
        .sparse_search(&sv(&[(1, 1.0), (2, 1.0)]), 3, "bm25")
        .unwrap();
    assert_eq!(ids(&hits), [2, 1, 3]);
    assert_eq!(
        c.sparse_vectors().get("bm25").map(|s| s.modifier),
        Some(SparseModifier::Idf)
    );
}

#[test]
fn hybrid_sparse_search_filters_inside_each_leg() {
    let (_dir, db) = temp_db();
    let c = create(&db, CollectionConfig::new(2, DistanceMetric::Euclidean));
    let points: Vec<Point> = (0..50u64)
        .map(|id| {
            let p = Point::new(id, vec![id as f32, 0.0], Some(json!({"odd": id % 2 == 1})));
            if id % 5 == 0 {
                p
            } else {
                p.with_sparse("s", sv(&[(id as u32 % 7, 1.0 + id as f32)]))
            }
        })
        .collect();
    c.upsert_bulk(&points).unwrap();
    let odd = Filter::eq("odd", json!(true));
    let q = sv(&[(3, 1.0), (4, 1.0)]);
    let hits = c
        .query(
            SearchRequest::new(&[10.0, 0.0])
                .leg(Leg::sparse("s", &q))
                .filter(odd.clone())
                .limit(20),
        )
        .unwrap();
    assert_eq!(hits.len(), 20);
    assert!(hits.iter().all(|h| h.point.id % 2 == 1));
    let both = c
        .hybrid_sparse_search(&[10.0, 0.0], &q, 5, "s", FusionStrategy::Dbsf)
        .unwrap();
    assert_eq!(both.len(), 5);
    assert!(both.iter().any(|h| h.legs.len() == 2));
}

/// One step of a random history.
#[derive(Debug, Clone)]
enum Step {
    /// id, its default sparse vector, its "b" sparse vector, group.
    Upsert(u64, Vec<(u32, i8)>, Vec<(u32, i8)>, u8),
    Delete(u64),
    Checkpoint,
    Reopen,
    Crash,
}

fn entries() -> impl Strategy<Value = Vec<(u32, i8)>> {
    prop::collection::vec((0u32..12, -3i8..4), 0..5)
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0u64..25, entries(), entries(), 0u8..2)
            .prop_map(|(id, a, b, g)| Step::Upsert(id, a, b, g)),
        3 => (0u64..25).prop_map(Step::Delete),
        1 => Just(Step::Checkpoint),
        1 => Just(Step::Reopen),
        1 => Just(Step::Crash),
    ]
}

fn to_sv(e: &[(u32, i8)]) -> SparseVector {
    SparseVector::new(
        e.iter().map(|p| p.0).collect(),
        e.iter().map(|p| f32::from(p.1)).collect(),
    )
    .unwrap()
}

/// The brute-force answer: live points whose `name` vector shares a dimension with `q`,
/// by dot product best first, ties to the smaller id.
fn oracle(
    model: &BTreeMap<u64, (SparseVector, SparseVector, u8)>,
    q: &SparseVector,
    b: bool,
    group: Option<u8>,
) -> Vec<(u64, f32)> {
    let mut out: Vec<(u64, f32)> = model
        .iter()
        .filter(|(_, v)| group.is_none_or(|g| v.2 == g))
        .filter_map(|(id, v)| {
            let v = if b { &v.1 } else { &v.0 };
            let shares = v.indices().iter().any(|i| q.indices().contains(i));
            shares.then(|| (*id, q.dot(v)))
        })
        .collect();
    out.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// After every step, sparse search (with and without a filter, on both names) equals
    /// the brute-force dot product over the model, across checkpoints, clean reopens and
    /// crashes after a flush (the image plus the log tail).
    #[test]
    fn sparse_search_equals_brute_force_across_reopens_and_crashes(
        steps in prop::collection::vec(step(), 1..30),
        q in prop::collection::vec((0u32..12, -2i8..3), 1..4),
    ) {
        let mut dirs = vec![tempfile::tempdir().unwrap()];
        let mut db = Some(Database::open(dirs[0].path()).unwrap());
        let mut c = Some(create(db.as_ref().unwrap(), CollectionConfig::new(1, DistanceMetric::Euclidean)));
        let mut model: BTreeMap<u64, (SparseVector, SparseVector, u8)> = BTreeMap::new();
        let q = to_sv(&q);
        for s in &steps {
            let coll = c.as_ref().unwrap();
            match s {
                Step::Upsert(id, a, b, g) => {
                    let mut p = Point::new(*id, vec![*id as f32], Some(json!({"g": g})));
                    if !a.is_empty() {
                        p = p.with_sparse("", to_sv(a));
                    }
                    if !b.is_empty() {
                        p = p.with_sparse("b", to_sv(b));
                    }
                    coll.upsert(vec![p]).unwrap();
                    model.insert(*id, (to_sv(a), to_sv(b), *g));
                }
                Step::Delete(id) => {
                    coll.delete(&[*id]).unwrap();
                    model.remove(id);
                }
                Step::Checkpoint => coll.checkpoint().unwrap(),
                Step::Reopen | Step::Crash => {
                    coll.flush().unwrap();
                    let at = dirs.len() - 1;
                    if matches!(s, Step::Crash) {
                        std::mem::forget(c.take());
                        std::mem::forget(db.take());
                        let copy = tempfile::tempdir().unwrap();
                        crate::conformance::copy_dir(dirs[at].path(), copy.path());
                        dirs.push(copy);
                    } else {
                        drop(c.take());
                        drop(db.take());
                    }
                    let at = dirs.len() - 1;
                    db = Some(Database::open(dirs[at].path()).unwrap());
                    c = Some(db.as_ref().unwrap().get_vector_collection("sp").unwrap());
                }
            }
            let coll = c.as_ref().unwrap();
            for (name, b) in [("", false), ("b", true)] {
                for group in [None, Some(1u8)] {
                    let mut request = SearchRequest::new(&[]).leg(Leg::sparse(name, &q)).limit(100);
                    if let Some(g) = group {
                        request = request.filter(Filter::eq("g", json!(g)));
                    }
                    let got: Vec<(u64, f32)> = coll
                        .query(request)
                        .unwrap()
                        .iter()
                        .map(|h| (h.point.id, h.score))
                        .collect();
                    prop_assert_eq!(got, oracle(&model, &q, b, group), "name {:?} group {:?}", name, group);
                }
            }
        }
    }
}

#[test]
fn sparse_near_in_the_query_language_ranks_and_fuses() {
    let (_dir, db) = temp_db();
    let c = create(&db, CollectionConfig::new(2, DistanceMetric::Euclidean));
    c.upsert(vec![
        Point::new(1, vec![0.0, 0.0], Some(json!({"k": 1}))).with_sparse("s", sv(&[(7, 2.0)])),
        Point::new(2, vec![5.0, 5.0], Some(json!({"k": 2})))
            .with_sparse("s", sv(&[(7, 1.0), (9, 4.0)])),
        Point::new(3, vec![1.0, 1.0], Some(json!({"k": 2}))),
    ])
    .unwrap();
    let rows = |sql: &str, params: serde_json::Value| -> Vec<serde_json::Value> {
        db.execute(sql, &params)
            .unwrap()
            .rows
            .iter()
            .map(|r| r.to_json())
            .collect()
    };
    let got = rows(
        "SELECT id, similarity() AS s FROM sp WHERE s SPARSE_NEAR {7: 1, 9: 1} LIMIT 5",
        json!({}),
    );
    assert_eq!(got, [json!({"id": 2, "s": 5}), json!({"id": 1, "s": 2})]);
    let got = rows(
        "SELECT id FROM sp WHERE vector SPARSE_NEAR $q USING 's' AND k = 2 LIMIT 5",
        json!({"q": {"indices": [7], "values": [1.0]}}),
    );
    assert_eq!(got, [json!({"id": 2})]);
    let got = rows(
        "SELECT id, _legs.s.rank AS sparse_rank, _legs.vector.rank AS dense_rank FROM sp \
         WHERE s SPARSE_NEAR $q AND vector NEAR $v LIMIT 3",
        json!({"q": {"7": 1.0}, "v": [0.0, 0.0]}),
    );
    assert_eq!(
        got[0],
        json!({"id": 1, "sparse_rank": 1, "dense_rank": 1}),
        "{got:?}"
    );
    assert_eq!(got.len(), 3);
    let err = db
        .execute(
            "SELECT id FROM sp WHERE s SPARSE_NEAR $q LIMIT 3",
            &json!({"q": {"indices": [1], "values": [1.0, 2.0]}}),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}
