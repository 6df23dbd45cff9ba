//! Points: upsert, upsert_bulk, get, delete, delete_by_filter, count, scroll, and bad input.

use nearstore::{CollectionConfig, DistanceMetric, ErrorKind, Filter, Point, SearchRequest};
use serde_json::json;

use super::{filled, payload_for, temp_db, vector_for};

#[test]
fn upsert_get_replace_and_delete() {
    let (_dir, db) = temp_db();
    let c = db
        .create_collection("p", 3, DistanceMetric::Euclidean)
        .unwrap();
    c.upsert(vec![
        Point::new(1, vec![1.0, 0.0, 0.0], Some(json!({"v": 1}))),
        Point::new(2, vec![0.0, 1.0, 0.0], None),
    ])
    .unwrap();
    let got = c.get(&[2, 3, 1]).unwrap();
    assert_eq!(got[0], Some(Point::new(2, vec![0.0, 1.0, 0.0], None)));
    assert_eq!(got[1], None);
    assert_eq!(
        got[2],
        Some(Point::new(1, vec![1.0, 0.0, 0.0], Some(json!({"v": 1}))))
    );
    // Replace: vector and payload change together; a later duplicate in a batch wins.
    c.upsert(vec![
        Point::new(1, vec![0.0, 0.0, 5.0], Some(json!({"v": 2}))),
        Point::new(1, vec![0.0, 0.0, 9.0], Some(json!({"v": 3}))),
    ])
    .unwrap();
    assert_eq!(c.len(), 2);
    let p = c.get(&[1]).unwrap().remove(0).unwrap();
    assert_eq!(p.vector, vec![0.0, 0.0, 9.0]);
    assert_eq!(p.payload, Some(json!({"v": 3})));
    let hits = c.search(&[0.0, 0.0, 9.0], 1).unwrap();
    assert_eq!((hits[0].point.id, hits[0].score), (1, 0.0));
    assert_eq!(c.delete(&[1, 1, 77]).unwrap(), 1);
    assert_eq!(c.get(&[1]).unwrap(), vec![None]);
    assert_eq!(c.count(None).unwrap(), 1);
    assert!(
        c.search(&[0.0, 0.0, 9.0], 5)
            .unwrap()
            .iter()
            .all(|h| h.point.id != 1)
    );
}

#[test]
fn bad_points_are_refused_and_change_nothing() {
    let (_dir, db) = temp_db();
    let mut config = CollectionConfig::new(3, DistanceMetric::Cosine);
    config.max_payload_bytes = 100;
    let c = db.create_collection_with_options("p", config).unwrap();
    c.upsert(vec![Point::new(1, vec![1.0, 0.0, 0.0], None)])
        .unwrap();
    let ok = Point::new(2, vec![0.0, 1.0, 0.0], None);

    let err = c
        .upsert(vec![ok.clone(), Point::new(3, vec![1.0, 2.0], None)])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        err.to_string().contains("holds 3-d vectors, got 2"),
        "{err}"
    );

    let err = c
        .upsert(vec![
            ok.clone(),
            Point::new(3, vec![1.0, f32::NAN, 0.0], None),
        ])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        err.to_string().contains("point 3") && err.to_string().contains("index 1"),
        "{err}"
    );
    let err = c
        .upsert(vec![Point::new(3, vec![f32::INFINITY, 0.0, 0.0], None)])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);

    let big = json!({"text": "x".repeat(200)});
    let err = c
        .upsert(vec![
            ok.clone(),
            Point::new(3, vec![0.0, 0.0, 1.0], Some(big)),
        ])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted);
    assert!(err.to_string().contains("over the 100-byte limit"), "{err}");

    let err = c.search(&[1.0, 0.0], 3).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = c.search(&[f32::NAN, 0.0, 0.0], 3).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = c
        .query(SearchRequest::new(&[1.0, 0.0, 0.0]).limit(200_000))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);

    // Nothing of the refused batches got in.
    assert_eq!(c.len(), 1);
    assert_eq!(c.get(&[2, 3]).unwrap(), vec![None, None]);
}

#[test]
fn count_scroll_and_delete_by_filter() {
    let (_dir, db) = temp_db();
    let c = filled(&db, "s", 4, 1000);
    assert_eq!(c.count(None).unwrap(), 1000);
    let c2 = Filter::parse(&json!({"field": "category", "eq": "c2"})).unwrap();
    assert_eq!(c.count(Some(&c2)).unwrap(), 200);

    // Scroll pages through every matching point once, in id order.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = c.scroll(Some(&c2), 64, cursor).unwrap();
        for p in &page.points {
            assert_eq!(p.payload.as_ref().unwrap()["category"], "c2");
            assert_eq!(p.vector, vector_for(p.id, 0, 4));
        }
        seen.extend(page.points.iter().map(|p| p.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let expected: Vec<u64> = (0..1000).filter(|id| id % 5 == 2).collect();
    assert_eq!(seen, expected);
    let all = c.scroll(None, 10_000, None).unwrap();
    assert_eq!(all.points.len(), 1000);
    assert_eq!(all.next_cursor, None);
    assert_eq!(
        c.scroll(None, 0, None).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );

    assert_eq!(c.delete_by_filter(&c2).unwrap(), 200);
    assert_eq!(c.count(Some(&c2)).unwrap(), 0);
    assert_eq!(c.count(None).unwrap(), 800);
    assert_eq!(c.get(&[2]).unwrap(), vec![None]);
    assert_eq!(
        c.get(&[3]).unwrap()[0].as_ref().unwrap().payload,
        Some(payload_for(3))
    );
}

#[test]
fn upsert_bulk_loads_and_indexes_everything() {
    let (_dir, db) = temp_db();
    let c = filled(&db, "bulk", 16, 3000);
    assert_eq!(c.len(), 3000);
    for id in [0u64, 1234, 2999] {
        // (vector_for repeats every 1000 ids, so the match is by vector, not id)
        let hits = c.search_ids(&vector_for(id, 0, 16), 1).unwrap();
        assert_eq!(hits[0].0 % 1000, id % 1000);
        assert_eq!(hits[0].1, 0.0);
    }
}
