//! Filters of every operator through the collection (payload indexes + planner), checked
//! against brute-force evaluation of the same filter over the same payloads (proptest):
//! `count`, `scroll`, exact filtered search and `delete_by_filter`, with and without payload
//! indexes, after updates and deletes, and after a reopen.

use std::collections::BTreeMap;

use nearstore::{
    Database, DistanceMetric, FieldIndexKind, Filter, Point, SearchQuality, SearchRequest,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const DIM: usize = 4;

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..6).prop_map(|n| json!(n)),
        (0i64..12).prop_map(|n| json!(n as f64 / 2.0)),
        prop::sample::select(vec!["a", "b", "ab", "Ba", "c"]).prop_map(|s| json!(s)),
        any::<bool>().prop_map(|b| json!(b)),
    ]
}

fn payload() -> impl Strategy<Value = Option<Value>> {
    let doc = (
        prop::option::of(prop::sample::select(vec!["a", "b", "ab", "Ba", "c"])),
        prop::option::of(0i64..6),
        prop::option::of(0i64..12),
        prop::option::of(any::<bool>()),
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d"]), 0..3),
        prop::option::of((-3i64..=3, -3i64..=3)),
        prop::option::of(0i64..4),
    )
        .prop_map(|(cat, n, f, flag, tags, loc, nested)| {
            let mut m = serde_json::Map::new();
            if let Some(c) = cat {
                m.insert("cat".into(), json!(c));
            }
            match n {
                Some(5) => m.insert("n".into(), Value::Null),
                Some(n) => m.insert("n".into(), json!(n)),
                None => None,
            };
            if let Some(f) = f {
                m.insert("f".into(), json!(f as f64 / 2.0));
            }
            if let Some(b) = flag {
                m.insert("flag".into(), json!(b));
            }
            m.insert("tags".into(), json!(tags));
            if let Some((lat, lon)) = loc {
                m.insert("loc".into(), json!({"lat": lat as f64, "lon": lon as f64}));
            }
            if let Some(x) = nested {
                m.insert("nested".into(), json!({"x": x}));
            }
            Value::Object(m)
        });
    prop::option::weighted(0.9, doc)
}

fn field() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["cat", "n", "f", "flag", "tags", "nested.x", "missing"])
}

fn condition() -> impl Strategy<Value = Filter> {
    prop_oneof![
        (field(), scalar()).prop_map(|(f, v)| Filter::eq(f, v)),
        (field(), scalar()).prop_map(|(f, v)| Filter::ne(f, v)),
        (field(), scalar()).prop_map(|(f, v)| Filter::gt(f, v)),
        (field(), scalar()).prop_map(|(f, v)| Filter::gte(f, v)),
        (field(), scalar()).prop_map(|(f, v)| Filter::lt(f, v)),
        (field(), scalar()).prop_map(|(f, v)| Filter::lte(f, v)),
        (field(), prop::collection::vec(scalar(), 1..4)).prop_map(|(f, v)| Filter::is_in(f, v)),
        (field(), prop::collection::vec(scalar(), 1..4)).prop_map(|(f, v)| Filter::not_in(f, v)),
        (field(), 0i64..4, 0i64..4).prop_map(|(f, a, b)| Filter::between(
            f,
            json!(a.min(b)),
            json!(a.max(b))
        )),
        (
            field(),
            prop::sample::select(vec!["a%", "%a", "_", "%b%", "ab"])
        )
            .prop_map(|(f, p)| Filter::like(f, p)),
        (field(), prop::sample::select(vec!["a%", "B%", "%A"]))
            .prop_map(|(f, p)| Filter::ilike(f, p)),
        field().prop_map(Filter::is_null),
        field().prop_map(Filter::is_not_null),
        scalar().prop_map(|v| Filter::contains("tags", v)),
        prop::collection::vec(scalar(), 1..3).prop_map(|v| Filter::contains_any("tags", v)),
        prop::collection::vec(scalar(), 1..3).prop_map(|v| Filter::contains_all("tags", v)),
        (-3i64..=3, -3i64..=3, 0u32..400_000).prop_map(|(lat, lon, m)| Filter::geo_radius(
            "loc",
            lat as f64,
            lon as f64,
            f64::from(m)
        )),
        (-3i64..=3, -3i64..=3, 0i64..4, 0i64..4).prop_map(|(lat, lon, h, w)| Filter::geo_box(
            "loc",
            nearstore::filter::GeoPoint::new(lat as f64, lon as f64),
            nearstore::filter::GeoPoint::new((lat - h) as f64, (lon + w) as f64),
        )),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    condition()
        .prop_recursive(2, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..3).prop_map(Filter::and),
                prop::collection::vec(inner.clone(), 1..3).prop_map(Filter::or),
                inner.prop_map(Filter::not),
            ]
        })
        // Only filters the engine accepts (e.g. no `gt` on a bool); invalid ones are tested
        // for their errors elsewhere.
        .prop_filter("valid filter", |f| f.validate().is_ok())
}

fn indexes() -> impl Strategy<Value = Vec<(&'static str, FieldIndexKind)>> {
    prop::sample::subsequence(
        vec![
            ("cat", FieldIndexKind::Keyword),
            ("tags", FieldIndexKind::Keyword),
            ("n", FieldIndexKind::Integer),
            ("f", FieldIndexKind::Float),
            ("flag", FieldIndexKind::Bool),
            ("nested.x", FieldIndexKind::Integer),
        ],
        0..=6,
    )
}

fn vector(id: u64) -> Vec<f32> {
    (0..DIM)
        .map(|i| ((id * 7 + i as u64 * 3) % 11) as f32)
        .collect()
}

/// Every way the collection answers `f` agrees with brute force over `model`.
fn check(c: &nearstore::VectorCollection, model: &BTreeMap<u64, Option<Value>>, f: &Filter) {
    let want: Vec<u64> = model
        .iter()
        .filter(|(_, p)| f.matches(p.as_ref().unwrap_or(&Value::Null)))
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(
        c.count(Some(f)).unwrap(),
        want.len(),
        "count of {}",
        f.to_json()
    );
    let page = c.scroll(Some(f), 10_000, None).unwrap();
    let got: Vec<u64> = page.points.iter().map(|p| p.id).collect();
    assert_eq!(got, want, "scroll of {}", f.to_json());
    let hits = c
        .query(
            SearchRequest::new(&vector(3))
                .limit(want.len().max(1))
                .filter(f.clone())
                .quality(SearchQuality::Perfect)
                .with_payload(false),
        )
        .unwrap();
    let mut hit_ids: Vec<u64> = hits.iter().map(|h| h.point.id).collect();
    hit_ids.sort_unstable();
    assert_eq!(hit_ids, want, "search of {}", f.to_json());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_operator_agrees_with_brute_force(
        payloads in prop::collection::vec(payload(), 30..60),
        updates in prop::collection::vec((0u64..60, payload()), 0..15),
        deletes in prop::collection::vec(0u64..60, 0..10),
        indexed in indexes(),
        early_index in any::<bool>(),
        filters in prop::collection::vec(filter(), 6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut model: BTreeMap<u64, Option<Value>> = BTreeMap::new();
        {
            let db = Database::open(dir.path()).unwrap();
            let c = db.create_collection("f", DIM, DistanceMetric::Euclidean).unwrap();
            if early_index {
                for (field, kind) in &indexed {
                    c.create_field_index(field, *kind).unwrap();
                }
            }
            let points: Vec<Point> = payloads
                .iter()
                .enumerate()
                .map(|(i, p)| Point::new(i as u64, vector(i as u64), p.clone()))
                .collect();
            c.upsert_bulk(&points).unwrap();
            for p in points {
                model.insert(p.id, p.payload);
            }
            if !early_index {
                for (field, kind) in &indexed {
                    c.create_field_index(field, *kind).unwrap();
                }
            }
            for (id, p) in &updates {
                c.upsert(vec![Point::new(*id, vector(*id), p.clone())]).unwrap();
                model.insert(*id, p.clone());
            }
            c.delete(&deletes).unwrap();
            for id in &deletes {
                model.remove(id);
            }
            for f in &filters {
                check(&c, &model, f);
            }
            c.flush().unwrap();
        }
        // After a reopen (payload indexes loaded, not rebuilt) and a delete_by_filter.
        let db = Database::open(dir.path()).unwrap();
        let c = db.get_vector_collection("f").unwrap();
        let mut kinds: Vec<_> = c.field_indexes();
        kinds.sort_by(|a, b| a.0.cmp(&b.0));
        let mut want_kinds: Vec<_> = indexed.iter().map(|(f, k)| (f.to_string(), *k)).collect();
        want_kinds.sort_by(|a, b| a.0.cmp(&b.0));
        prop_assert_eq!(kinds, want_kinds);
        for f in &filters {
            check(&c, &model, f);
        }
        let doomed = &filters[0];
        let n = c.delete_by_filter(doomed).unwrap();
        let before = model.len();
        model.retain(|_, p| !doomed.matches(p.as_ref().unwrap_or(&Value::Null)));
        prop_assert_eq!(n, before - model.len());
        for f in &filters {
            check(&c, &model, f);
        }
    }
}

#[test]
fn array_paths_reach_every_element_in_text_conditions_and_ordered_scrolls() {
    use nearstore::{OrderBy, ScrollRequest};
    let (_dir, db) = crate::temp_db();
    let c = db
        .create_collection("c", 2, DistanceMetric::Cosine)
        .unwrap();
    c.upsert(vec![
        Point::new(
            1,
            vec![1.0, 0.0],
            Some(json!({"docs": [{"title": "red fox", "n": 5}, {"title": "blue whale", "n": 9}]})),
        ),
        Point::new(
            2,
            vec![0.0, 1.0],
            Some(json!({"docs": [{"title": "green frog", "n": 3}]})),
        ),
        Point::new(
            3,
            vec![1.0, 1.0],
            Some(json!({"docs": [{"title": "grey whale", "n": 7}, {"n": 1}]})),
        ),
    ])
    .unwrap();
    let ids = |request: ScrollRequest| -> Vec<u64> {
        let page = c.scroll_with(&request).unwrap();
        page.points.iter().map(|p| p.id).collect()
    };
    // A text condition on a field without its own text index looks at every title, not
    // only the first element's.
    let whale = Filter::text("docs[].title", "whale");
    assert_eq!(ids(ScrollRequest::new().filter(whale)), vec![1, 3]);
    // Ordered by the smallest (largest) value any element holds.
    assert_eq!(
        ids(ScrollRequest::new().order_by(OrderBy::asc("docs[].n"))),
        vec![3, 2, 1]
    );
    assert_eq!(
        ids(ScrollRequest::new().order_by(OrderBy::desc("docs[].n"))),
        vec![1, 3, 2]
    );
}
