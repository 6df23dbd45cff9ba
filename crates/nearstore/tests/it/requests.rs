//! The engine's requests: deadlines that stop work (an injectable clock or an already
//! expired deadline, never sleeps), scrolls ordered by a payload field across pages,
//! `has_id` at any depth, and the null tests, through the public API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nearstore::{
    Database, Deadline, DistanceMetric, Error, ErrorKind, FieldIndexKind, Filter, OrderBy, Point,
    ReadOptions, ScrollCursor, ScrollRequest, SearchQuality, SearchRequest, SteppingClock,
    WriteOptions,
};
use serde_json::{Value, json};

use crate::{filled, temp_db, vector_for};

/// A deadline that passes after `reads` readings of its clock (each reading moves it 1 ms).
fn after_reads(reads: u32) -> (Deadline, Arc<SteppingClock>) {
    let start = Instant::now();
    let clock = Arc::new(SteppingClock::new(start, Duration::from_millis(1)));
    let deadline = Deadline::with_clock(
        start + Duration::from_millis(u64::from(reads)),
        clock.clone(),
    );
    (deadline, clock)
}

#[test]
fn an_exact_search_stops_inside_its_scan_at_the_deadline() {
    let (_dir, db) = temp_db();
    let c = filled(&db, "c", 8, 6_000);
    let q = vector_for(7, 0, 8);
    let exact = SearchRequest::new(&q)
        .limit(5)
        .quality(SearchQuality::Perfect);
    assert_eq!(c.query(exact.clone()).unwrap().len(), 5);
    let e = c
        .query(exact.clone().deadline(Deadline::expired()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    // Passes after the check before the search and the scan's first look (1,024 points):
    // the scan itself notices it, long before its 6,000 points are scored.
    let (deadline, clock) = after_reads(2);
    let e = c.query(exact.deadline(deadline)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    assert_eq!(clock.reads(), 3, "stopped at the scan's second look");
    // A filter evaluated on payloads stops too.
    let unindexed = Filter::gte("n", json!(0));
    let e = c
        .query(
            SearchRequest::new(&q)
                .filter(unindexed)
                .deadline(Deadline::expired()),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
}

#[test]
fn a_scroll_stops_at_its_deadline() {
    let (_dir, db) = temp_db();
    let c = filled(&db, "c", 4, 5_000);
    let e = c
        .scroll_with(&ScrollRequest::new().deadline(Deadline::expired()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    // An ordered scroll reads every candidate's payload: it looks at the deadline per
    // 1,024 points and stops there.
    let (deadline, clock) = after_reads(1);
    let e = c
        .scan(
            &ScrollRequest::new()
                .order_by(OrderBy::desc("n"))
                .deadline(deadline),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    assert!(clock.reads() < 8, "stopped early: {} reads", clock.reads());
}

#[test]
fn a_bulk_upsert_past_its_deadline_writes_nothing_even_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let points: Vec<Point> = (1_000..6_000)
        .map(|id| Point::new(id, vector_for(id, 1, 4), Some(json!({"n": id}))))
        .collect();
    {
        let db = Database::open(dir.path()).unwrap();
        let c = filled(&db, "c", 4, 100);
        // Expires while the batch is validated (the third look, at point 2,048).
        let (deadline, _) = after_reads(2);
        let e = c
            .upsert_with(&points, &WriteOptions::deadline(deadline))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled);
        assert!(
            matches!(e, Error::WriteCancelled { points: 5_000, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("not applied"), "{e}");
        let e = c
            .upsert_with(&points, &WriteOptions::deadline(Deadline::expired()))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled);
        assert_eq!(c.len(), 100);
        c.flush().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_vector_collection("c").unwrap();
    assert_eq!(c.len(), 100, "nothing of the cancelled writes after reopen");
    assert!(c.get(&[1_000, 5_999]).unwrap().iter().all(Option::is_none));
    // With time to spare the same write lands whole.
    c.upsert_with(
        &points,
        &WriteOptions::deadline(Deadline::after(Duration::from_secs(3600))),
    )
    .unwrap();
    assert_eq!(c.len(), 5_100);
}

#[test]
fn a_delete_past_its_deadline_deletes_nothing_even_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let c = filled(&db, "c", 4, 5_000);
        let ids: Vec<u64> = (0..3_000).collect();
        let e = c
            .delete_with(&ids, &WriteOptions::deadline(Deadline::expired()))
            .unwrap_err();
        assert!(matches!(e, Error::WriteCancelled { .. }), "{e}");
        // Passes the look before the writer lock, expires at the one before the log append.
        let (deadline, clock) = after_reads(1);
        let e = c
            .delete_with(&ids, &WriteOptions::deadline(deadline))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
        assert_eq!(
            clock.reads(),
            2,
            "stopped at the look before the log append"
        );
        // A filter evaluated on payloads stops while it is resolved.
        let unindexed = Filter::gte("n", json!(0));
        let (deadline, clock) = after_reads(2);
        let e = c
            .delete_by_filter_with(&unindexed, &WriteOptions::deadline(deadline))
            .unwrap_err();
        assert!(matches!(e, Error::WriteCancelled { .. }), "{e}");
        assert!(clock.reads() < 6, "stopped early: {} reads", clock.reads());
        assert_eq!(c.len(), 5_000, "nothing deleted");
        c.flush().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_vector_collection("c").unwrap();
    assert_eq!(
        c.len(),
        5_000,
        "nothing of the cancelled deletes after reopen"
    );
    // With time to spare the same delete lands whole.
    let spare = WriteOptions::deadline(Deadline::after(Duration::from_secs(3600)));
    assert_eq!(c.delete_with(&[1, 2, 9_999], &spare).unwrap(), 2);
    assert_eq!(
        c.delete_by_filter_with(&Filter::lt("n", json!(10)), &spare)
            .unwrap(),
        8
    );
    assert_eq!(c.len(), 4_990);
}

#[test]
fn a_get_stops_at_its_deadline_and_returns_what_was_asked() {
    let (_dir, db) = temp_db();
    let c = filled(&db, "c", 4, 3_000);
    let ids: Vec<u64> = (0..3_000).collect();
    let e = c
        .get_with(&ids, &ReadOptions::deadline(Deadline::expired()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    // Looks every 1,024 points: passes the first look, stops at the second.
    let (deadline, clock) = after_reads(1);
    let e = c
        .get_with(&ids, &ReadOptions::deadline(deadline))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    assert_eq!(clock.reads(), 2);
    let bare = ReadOptions {
        with_vector: false,
        with_payload: false,
        ..ReadOptions::default()
    };
    let got = c.get_with(&[5, 7_000], &bare).unwrap();
    let p = got[0].as_ref().unwrap();
    assert!(p.vector.is_empty() && p.payload.is_none());
    assert!(got[1].is_none());
    assert_eq!(
        c.get_with(&[5], &ReadOptions::default()).unwrap(),
        c.get(&[5]).unwrap()
    );
}

/// Every page of an ordered scroll, following the cursors.
fn all_pages(c: &nearstore::VectorCollection, first: ScrollRequest) -> Vec<u64> {
    let mut out = Vec::new();
    let mut request = first;
    loop {
        let page = c.scroll_with(&request).unwrap();
        assert!(page.points.len() <= request.limit);
        out.extend(page.points.iter().map(|p| p.id));
        match page.next {
            Some(cursor) => request = request.cursor(cursor),
            None => return out,
        }
    }
}

#[test]
fn a_scroll_ordered_by_a_field_pages_in_order_with_ties_by_id() {
    let (_dir, db) = temp_db();
    let c = db
        .create_collection("c", 2, DistanceMetric::Euclidean)
        .unwrap();
    // Scores with ties, a float, an array, and points without the field.
    let score = |id: u64| -> Option<Value> {
        match id % 10 {
            0 => None,
            1 => Some(json!(null)),
            2 => Some(json!([id % 7, 100])),
            3 => Some(json!(2.5)),
            _ => Some(json!(id % 4)),
        }
    };
    let points: Vec<Point> = (0..200)
        .map(|id| {
            let payload = match score(id) {
                Some(s) => json!({"score": s}),
                None => json!({}),
            };
            Point::new(id, vec![id as f32, 0.0], Some(payload))
        })
        .collect();
    c.upsert(points).unwrap();
    // The oracle: sort keys by the filter crate's order, ties by id.
    let key = |id: u64, desc: bool| -> Option<Value> {
        match score(id)? {
            Value::Null => None,
            Value::Array(items) => {
                let it = items.into_iter();
                if desc {
                    it.max_by(nearstore::filter::total_cmp)
                } else {
                    it.min_by(nearstore::filter::total_cmp)
                }
            }
            v => Some(v),
        }
    };
    for desc in [false, true] {
        let mut expected: Vec<(Value, u64)> = (0..200)
            .filter_map(|id| key(id, desc).map(|k| (k, id)))
            .collect();
        expected.sort_by(|a, b| {
            let o = nearstore::filter::total_cmp(&a.0, &b.0);
            (if desc { o.reverse() } else { o }).then(a.1.cmp(&b.1))
        });
        let expected: Vec<u64> = expected.into_iter().map(|(_, id)| id).collect();
        let order = if desc {
            OrderBy::desc("score")
        } else {
            OrderBy::asc("score")
        };
        let first = ScrollRequest::new().order_by(order.clone()).limit(7);
        assert_eq!(all_pages(&c, first.clone()), expected, "desc {desc}");
        // A point already passed that moves further back does not disturb the rest of the
        // pages (the cursor is a position in the order, not a count).
        let page = c.scroll_with(&first).unwrap();
        // Each point comes with the value it was placed by (an array's smallest or largest).
        let placed_by: Vec<Value> = page
            .points
            .iter()
            .map(|p| key(p.id, desc).unwrap())
            .collect();
        assert_eq!(page.order_values, placed_by);
        let further_back = if desc { json!(1000) } else { json!(-1) };
        c.upsert(vec![Point::new(
            page.points[0].id,
            vec![0.0, 0.0],
            Some(json!({"score": further_back})),
        )])
        .unwrap();
        let rest = all_pages(&c, first.clone().cursor(page.next.clone().unwrap()));
        assert_eq!(rest, expected[7..].to_vec(), "desc {desc}");
        c.upsert(vec![Point::new(
            page.points[0].id,
            vec![0.0, 0.0],
            Some(json!({"score": score(page.points[0].id)})),
        )])
        .unwrap();
    }
    // start_from and a filter; the ids-only form reads nothing but ids.
    let page = c
        .scroll_with(
            &ScrollRequest::new()
                .filter(Filter::is_in("score", vec![json!(1), json!(3)]))
                .order_by(OrderBy::asc("score").start_from(json!(2)))
                .limit(100)
                .ids_only(),
        )
        .unwrap();
    assert!(page.next.is_none());
    let filter = Filter::is_in("score", vec![json!(1), json!(3)]);
    let mut expected: Vec<(Value, u64)> = (0..200)
        .filter(|&id| {
            let payload = json!({ "score": score(id) });
            filter.matches(&payload)
        })
        .filter_map(|id| key(id, false).map(|k| (k, id)))
        .filter(|(k, _)| nearstore::filter::total_cmp(k, &json!(2)).is_ge())
        .collect();
    expected.sort_by(|a, b| nearstore::filter::total_cmp(&a.0, &b.0).then(a.1.cmp(&b.1)));
    let got: Vec<u64> = page.points.iter().map(|p| p.id).collect();
    assert_eq!(got, expected.iter().map(|e| e.1).collect::<Vec<_>>());
    assert!(!got.is_empty());
    assert!(
        page.points
            .iter()
            .all(|p| p.payload.is_none() && p.vector.is_empty())
    );
    let e = c
        .scroll_with(&ScrollRequest::new().cursor(ScrollCursor::Ordered {
            value: json!(1),
            id: 0,
        }))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn has_id_at_any_depth_in_count_delete_scroll_and_search() {
    let (_dir, db) = temp_db();
    let c = filled(&db, "c", 4, 50);
    let cases = [
        (Filter::has_id([1, 2, 3, 99]), vec![1, 2, 3]),
        (Filter::not(Filter::has_id(0..45)), vec![45, 46, 47, 48, 49]),
        (
            Filter::and(vec![
                Filter::eq("even", json!(true)),
                Filter::not(Filter::or(vec![
                    Filter::has_id(0..40),
                    Filter::and(vec![Filter::has_id([42]), Filter::gte("n", json!(0))]),
                ])),
            ]),
            vec![40, 44, 46, 48],
        ),
    ];
    for with_index in [false, true] {
        if with_index {
            c.create_field_index("even", FieldIndexKind::Bool).unwrap();
        }
        for (f, expected) in &cases {
            assert_eq!(c.count(Some(f)).unwrap(), expected.len());
            let ids: Vec<u64> = c
                .scan(&ScrollRequest::new().filter(f.clone()).ids_only())
                .unwrap()
                .iter()
                .map(|p| p.id)
                .collect();
            assert_eq!(&ids, expected);
            let hits = c
                .query(
                    SearchRequest::new(&vector_for(46, 0, 4))
                        .limit(50)
                        .filter(f.clone()),
                )
                .unwrap();
            let mut got: Vec<u64> = hits.iter().map(|h| h.point.id).collect();
            got.sort_unstable();
            assert_eq!(&got, expected);
        }
    }
    let deleted = c
        .delete_by_filter(&Filter::not(Filter::has_id(0..48)))
        .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(c.len(), 48);
}

#[test]
fn explicit_null_empty_and_missing_are_three_things_indexed_or_not() {
    let (_dir, db) = temp_db();
    let c = db
        .create_collection("c", 2, DistanceMetric::Cosine)
        .unwrap();
    let payloads = [
        json!({"t": null}),
        json!({}),
        json!({"t": []}),
        json!({"t": [null]}),
        json!({"t": "x"}),
        json!({"t": ["y"]}),
    ];
    let points: Vec<Point> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| Point::new(i as u64, vec![1.0, i as f32], Some(p.clone())))
        .collect();
    c.upsert(points).unwrap();
    c.upsert(vec![Point::new(6, vec![1.0, 6.0], None)]).unwrap();
    let ids = |f: Filter| -> Vec<u64> {
        c.scan(&ScrollRequest::new().filter(f).ids_only())
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect()
    };
    for with_index in [false, true] {
        if with_index {
            c.create_field_index("t", FieldIndexKind::Keyword).unwrap();
        }
        assert_eq!(ids(Filter::is_explicit_null("t")), [0]);
        assert_eq!(ids(Filter::is_empty("t")), [0, 1, 2, 6]);
        assert_eq!(ids(Filter::is_null("t")), [0, 1, 6]);
        assert_eq!(ids(Filter::not(Filter::is_empty("t"))), [3, 4, 5]);
    }
}

#[test]
fn a_text_search_stops_inside_its_top_k_loop_at_the_deadline() {
    let (_dir, db) = temp_db();
    let c = db
        .create_collection("t", 2, nearstore::DistanceMetric::Euclidean)
        .unwrap();
    let points: Vec<nearstore::Point> = (0..6_000)
        .map(|id| {
            let body = format!("common w{}", id % 97);
            nearstore::Point::new(id, vec![0.0, 0.0], Some(serde_json::json!({"b": body})))
        })
        .collect();
    c.upsert_bulk(&points).unwrap();
    let request = SearchRequest::text("common")
        .limit(6_000)
        .with_payload(false);
    assert_eq!(c.query(request.clone()).unwrap().len(), 6_000);
    // Two checks before the search, one per segment, then one per 1,024 WAND steps.
    let (deadline, clock) = after_reads(5);
    let err = c.query(request.deadline(deadline)).unwrap_err();
    assert_eq!(err.kind(), nearstore::ErrorKind::Cancelled, "{err}");
    assert!(
        clock.reads() >= 5,
        "stopped inside the loop: {} reads",
        clock.reads()
    );
}
