//! Points without vectors and single-vector edits: a point may omit the default vector and
//! any named dense or sparse vector; a collection may have no default vector (named ones
//! only) or no vector at all (payloads only). Such points are stored, counted, filtered,
//! found by id, by scroll and by text, and by no search on a vector they lack; vectors of
//! existing points are set and removed one by one (`update_vectors`, `delete_vectors`).
//! A proptest checks a random mix against a brute-force model, across reopens.

use std::collections::BTreeMap;

use nearstore::{
    CollectionConfig, Database, DistanceMetric, ErrorKind, Filter, Leg, Point, PointVectors,
    SearchQuality, SearchRequest, SparseVector, VectorCollection, VectorSpaceConfig, WriteOptions,
    distance,
};
use proptest::prelude::*;
use serde_json::json;

use crate::temp_db;

fn config() -> CollectionConfig {
    CollectionConfig::new(2, DistanceMetric::Euclidean)
        .with_vector("img", VectorSpaceConfig::new(3, DistanceMetric::DotProduct))
}

fn sv(i: u32, x: f32) -> SparseVector {
    SparseVector::new(vec![i, 50], vec![x, 1.0]).unwrap()
}

/// What the model knows of one point.
#[derive(Debug, Clone, PartialEq, Default)]
struct Expected {
    default: Option<Vec<f32>>,
    img: Option<Vec<f32>>,
    sparse: Option<SparseVector>,
    k: u64,
}

/// A random point: each vector present or not, a payload `{"k": 0..3}`.
fn arb_point() -> impl Strategy<Value = (u64, Expected)> {
    (
        0u64..30,
        proptest::option::of(proptest::collection::vec(-4i8..4, 2)),
        proptest::option::of(proptest::collection::vec(-4i8..4, 3)),
        proptest::option::of((0u32..6, -3i8..3)),
        0u64..3,
    )
        .prop_map(|(id, d, i, s, k)| {
            let f = |v: Vec<i8>| v.into_iter().map(f32::from).collect::<Vec<f32>>();
            (
                id,
                Expected {
                    default: d.map(f),
                    img: i.map(f),
                    sparse: s.map(|(i, x)| sv(i, f32::from(x))),
                    k,
                },
            )
        })
}

#[derive(Debug, Clone)]
enum Step {
    Upsert(Vec<(u64, Expected)>),
    Delete(u64),
    /// Set the default and/or img vector of a point (when it exists).
    Set(u64, Option<Vec<f32>>, Option<Vec<f32>>),
    /// Remove the named vectors of a point (when it exists).
    Remove(u64, Vec<&'static str>),
    Reopen,
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => proptest::collection::vec(arb_point(), 1..6).prop_map(Step::Upsert),
        1 => (0u64..30).prop_map(Step::Delete),
        2 => (
            0u64..30,
            proptest::option::of(Just(vec![1.0f32, -1.0])),
            proptest::option::of(Just(vec![0.5f32, 0.5, 2.0]))
        )
            .prop_map(|(id, d, i)| Step::Set(id, d, i)),
        2 => (0u64..30, proptest::sample::subsequence(vec!["", "img", "s"], 1..=3))
            .prop_map(|(id, names)| Step::Remove(id, names)),
        1 => Just(Step::Reopen),
    ]
}

fn to_point(id: u64, e: &Expected) -> Point {
    let mut p = Point::new(
        id,
        e.default.clone().unwrap_or_default(),
        Some(json!({"k": e.k})),
    );
    if let Some(v) = &e.img {
        p = p.with_vector("img", v.clone());
    }
    if let Some(s) = &e.sparse {
        p = p.with_sparse("s", s.clone());
    }
    p
}

/// The ids a search on one vector must return (all its carriers matching `k`, if given),
/// ranked by brute force; ties by id.
fn brute(
    model: &BTreeMap<u64, Expected>,
    k: Option<u64>,
    score: impl Fn(&Expected) -> Option<f32>,
    higher_is_better: bool,
) -> Vec<(u64, f32)> {
    let mut hits: Vec<(u64, f32)> = model
        .iter()
        .filter(|(_, e)| k.is_none_or(|k| e.k == k))
        .filter_map(|(&id, e)| Some((id, score(e)?)))
        .collect();
    hits.sort_by(|a, b| {
        let o = a.1.total_cmp(&b.1);
        (if higher_is_better { o.reverse() } else { o }).then(a.0.cmp(&b.0))
    });
    hits
}

/// Every search, count, filter, scroll and read agrees with the model.
fn check(c: &VectorCollection, model: &BTreeMap<u64, Expected>) {
    assert_eq!(c.len(), model.len());
    for k in [None, Some(0), Some(2)] {
        let filter = k.map(|k| Filter::parse(&json!({"field": "k", "eq": k})).unwrap());
        let n = model.len().max(1);
        let run = |r: SearchRequest| {
            let r = r
                .limit(n)
                .quality(SearchQuality::Perfect)
                .with_payload(false);
            let r = match &filter {
                Some(f) => r.filter(f.clone()),
                None => r,
            };
            c.query(r)
                .unwrap()
                .into_iter()
                .map(|h| (h.point.id, h.score))
                .collect::<Vec<_>>()
        };
        let same = |got: Vec<(u64, f32)>, want: Vec<(u64, f32)>, what: &str| {
            let ids = |v: &[(u64, f32)]| {
                let mut ids: Vec<u64> = v.iter().map(|h| h.0).collect();
                ids.sort_unstable();
                ids
            };
            assert_eq!(
                ids(&got),
                ids(&want),
                "{what} (k = {k:?}) finds exactly its carriers"
            );
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g.1 - w.1).abs() < 1e-4,
                    "{what}: scores {got:?} vs {want:?}"
                );
            }
        };
        let q = [0.5f32, -2.0];
        same(
            run(SearchRequest::new(&q)),
            brute(
                model,
                k,
                |e| {
                    e.default
                        .as_ref()
                        .map(|v| distance(DistanceMetric::Euclidean, &q, v))
                },
                false,
            ),
            "default vector search",
        );
        let qi = [1.0f32, 0.5, -1.0];
        same(
            run(SearchRequest::new(&qi).using("img")),
            brute(
                model,
                k,
                |e| {
                    e.img
                        .as_ref()
                        .map(|v| distance(DistanceMetric::DotProduct, &qi, v))
                },
                true,
            ),
            "img search",
        );
        let qs = SparseVector::new((0..6).chain([50]).collect(), vec![1.0; 7]).unwrap();
        same(
            run(SearchRequest::new(&[]).leg(Leg::sparse("s", &qs))),
            brute(
                model,
                k,
                |e| e.sparse.as_ref().map(|s| s.values().iter().sum::<f32>()),
                true,
            ),
            "sparse search",
        );
        let want_count = model
            .values()
            .filter(|e| k.is_none_or(|k| e.k == k))
            .count();
        assert_eq!(
            c.count(filter.as_ref()).unwrap(),
            want_count,
            "count (k = {k:?})"
        );
    }
    let page = c.scroll(None, 1000, None).unwrap();
    let ids: Vec<u64> = page.points.iter().map(|p| p.id).collect();
    assert_eq!(ids, model.keys().copied().collect::<Vec<_>>(), "scroll");
    for (p, (id, e)) in page.points.iter().zip(model) {
        assert_eq!(p, &to_point(*id, e), "point {id} read back whole");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn points_with_and_without_each_vector_agree_with_brute_force(
        steps in proptest::collection::vec(arb_step(), 1..25)
    ) {
        let (dir, db) = temp_db();
        let mut db = Some(db);
        let mut c = db.as_ref().unwrap().create_collection_with_options("c", config()).unwrap();
        let mut model: BTreeMap<u64, Expected> = BTreeMap::new();
        for step in steps {
            match step {
                Step::Upsert(points) => {
                    c.upsert(points.iter().map(|(id, e)| to_point(*id, e)).collect()).unwrap();
                    model.extend(points);
                }
                Step::Delete(id) => {
                    c.delete(&[id]).unwrap();
                    model.remove(&id);
                }
                Step::Set(id, d, i) => {
                    let mut edit = PointVectors::new(id);
                    if let Some(v) = &d {
                        edit = edit.with_vector("", v.clone());
                    }
                    if let Some(v) = &i {
                        edit = edit.with_vector("img", v.clone());
                    }
                    let result = c.update_vectors(&[edit], &WriteOptions::default());
                    match model.get_mut(&id) {
                        Some(e) => {
                            result.unwrap();
                            if d.is_some() { e.default = d; }
                            if i.is_some() { e.img = i; }
                        }
                        None => prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::NotFound),
                    }
                }
                Step::Remove(id, names) => {
                    let result = c.delete_vectors(&[id], &names, &WriteOptions::default());
                    match model.get_mut(&id) {
                        Some(e) => {
                            result.unwrap();
                            for name in names {
                                match name {
                                    "" => e.default = None,
                                    "img" => e.img = None,
                                    _ => e.sparse = None,
                                }
                            }
                        }
                        None => prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::NotFound),
                    }
                }
                Step::Reopen => {
                    // Alternately a clean close (checkpoint) and a log replay.
                    drop(c);
                    drop(db.take());
                    let reopened = Database::open(dir.path()).unwrap();
                    c = reopened.get_vector_collection("c").unwrap();
                    db = Some(reopened);
                }
            }
            check(&c, &model);
        }
        drop(c);
        drop(db);
        let report = nearstore::verify::verify_database(dir.path()).unwrap();
        prop_assert!(report.is_clean(), "{report:?}");
    }
}

#[test]
fn a_collection_without_a_default_vector_refuses_it_clearly() {
    let (_dir, db) = temp_db();
    let config = CollectionConfig::without_default_vector()
        .with_vector("img", VectorSpaceConfig::new(2, DistanceMetric::Cosine));
    assert_eq!(config.default_space(), None);
    let c = db.create_collection_with_options("c", config).unwrap();
    c.upsert(vec![
        Point::without_vector(1, Some(json!({"a": 1}))).with_vector("img", vec![1.0, 0.0]),
        Point::without_vector(2, None),
    ])
    .unwrap();
    let e = c
        .upsert(vec![Point::new(3, vec![1.0, 2.0], None)])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("has no default vector"), "{e}");
    let e = c.search(&[1.0, 0.0], 5).unwrap_err();
    assert!(e.to_string().contains("has no default vector"), "{e}");
    let e = c
        .update_vectors(
            &[PointVectors::new(1).with_vector("", vec![1.0, 0.0])],
            &WriteOptions::default(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("has no default vector"), "{e}");
    let hits = c
        .query(SearchRequest::new(&[1.0, 0.0]).using("img").limit(5))
        .unwrap();
    assert_eq!(hits.iter().map(|h| h.point.id).collect::<Vec<_>>(), [1]);
    assert_eq!(c.len(), 2);
    assert_eq!(c.len(), 2, "nothing written by the refused upsert");
}

#[test]
fn a_payload_only_collection_persists_filters_and_text_searches() {
    let (dir, db) = temp_db();
    let c = db
        .create_collection_with_options("meta", CollectionConfig::without_default_vector())
        .unwrap();
    let points = (0..20u64)
        .map(|i| {
            Point::without_vector(
                i,
                Some(
                    json!({"kind": format!("k{}", i % 3), "text": format!("doc number{i} shared")}),
                ),
            )
        })
        .collect();
    c.upsert(points).unwrap();
    c.checkpoint().unwrap();
    c.delete(&[4]).unwrap();
    c.upsert(vec![Point::without_vector(100, None)]).unwrap();
    drop(c);
    drop(db);
    // Reopened from the checkpoint plus the logged tail.
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_vector_collection("meta").unwrap();
    assert_eq!(c.len(), 20);
    let f = Filter::parse(&json!({"field": "kind", "eq": "k1"})).unwrap();
    assert_eq!(
        c.count(Some(&f)).unwrap(),
        6,
        "k1: 1, 7, 10, 13, 16, 19 (4 deleted)"
    );
    let got = c.get(&[100, 4, 7]).unwrap();
    assert_eq!(got[0].as_ref().map(|p| p.payload.clone()), Some(None));
    assert!(got[1].is_none());
    let p7 = got[2].as_ref().unwrap();
    assert!(p7.vector.is_empty() && p7.vectors.is_empty() && p7.sparse.is_empty());
    let hits = c.query(SearchRequest::text("number7").limit(5)).unwrap();
    assert_eq!(hits.iter().map(|h| h.point.id).collect::<Vec<_>>(), [7]);
    drop(c);
    drop(db);
    let report = nearstore::verify::verify_database(dir.path()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert!(
        report
            .files
            .iter()
            .any(|f| f.path.ends_with("vectorless.ids")),
        "verify checks the points without a default vector"
    );
}

#[test]
fn vector_edits_refuse_unknown_points_names_and_dimensions_changing_nothing() {
    let (_dir, db) = temp_db();
    let c = db.create_collection_with_options("c", config()).unwrap();
    c.upsert(vec![
        Point::new(1, vec![1.0, 1.0], Some(json!({"a": 1})))
            .with_vector("img", vec![1.0, 2.0, 3.0]),
    ])
    .unwrap();
    let before = c.get(&[1]).unwrap();
    let none = WriteOptions::default();
    // Point 2 does not exist: the whole request (point 1's edit too) is refused.
    let e = c
        .update_vectors(
            &[
                PointVectors::new(1).with_vector("img", vec![0.0, 0.0, 1.0]),
                PointVectors::new(2).with_vector("img", vec![0.0, 0.0, 1.0]),
            ],
            &none,
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("no point 2"), "{e}");
    let e = c
        .update_vectors(
            &[PointVectors::new(1).with_vector("nope", vec![1.0])],
            &none,
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("nope"), "{e}");
    let e = c
        .update_vectors(&[PointVectors::new(1).with_vector("img", vec![1.0])], &none)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("dimension"), "{e}");
    let e = c.delete_vectors(&[1, 9], &["img"], &none).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(c.get(&[1]).unwrap(), before, "nothing changed");
    // A valid edit leaves the payload and the other vector.
    c.update_vectors(
        &[PointVectors::new(1).with_vector("", vec![5.0, 5.0])],
        &none,
    )
    .unwrap();
    c.delete_vectors(&[1], &["img"], &none).unwrap();
    let p = c.get(&[1]).unwrap().remove(0).unwrap();
    assert_eq!(p.vector, [5.0, 5.0]);
    assert!(p.vectors.is_empty());
    assert_eq!(p.payload, Some(json!({"a": 1})));
}

#[test]
fn an_sql_update_keeps_the_named_and_sparse_vectors() {
    let (_dir, db) = temp_db();
    let c = db.create_collection_with_options("c", config()).unwrap();
    c.upsert(vec![
        Point::new(1, vec![1.0, 1.0], Some(json!({"a": 1})))
            .with_vector("img", vec![1.0, 2.0, 3.0])
            .with_sparse("s", sv(3, 2.0)),
    ])
    .unwrap();
    db.execute("UPDATE c SET a = 2 WHERE id = 1", &json!({}))
        .unwrap();
    let p = c.get(&[1]).unwrap().remove(0).unwrap();
    assert_eq!(p.payload, Some(json!({"a": 2})));
    assert_eq!(p.vectors["img"], [1.0, 2.0, 3.0], "named vector kept");
    assert_eq!(p.sparse["s"], sv(3, 2.0), "sparse vector kept");
}
