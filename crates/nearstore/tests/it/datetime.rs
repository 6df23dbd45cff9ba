//! The datetime payload index through the collection: `datetime_range` filters (with and
//! without the index, the same matches), scrolls ordered by time over a datetime-indexed
//! field (pages, cursors, `start_from`), filtered search, and the index across checkpoints,
//! log replay and reopen. The crash tests (`kill9`, `power_loss`) also index `at` as a
//! datetime in their workload.

use std::collections::BTreeMap;

use nearstore::{
    Database, Datetime, DatetimeRange, Direction, DistanceMetric, FieldIndexKind, Filter, OrderBy,
    Point, ScrollCursor, ScrollRequest, SearchQuality, SearchRequest, VectorCollection,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Times written in several forms; string order is not time order.
const TIMES: [&str; 8] = [
    "2024-03-01T12:30:00Z",
    "2024-03-01T13:30:00+01:00", // the same instant as the first
    "2024-03-01T08:00:00-05:00", // 13:00Z
    "2024-03-01",                // midnight UTC
    "2024-03-01 23:59:59.5",
    "2023-12-31T23:00:00-02:00", // 2024-01-01T01:00Z
    "2024-02-29T12:00:00+14:00",
    "not a time",
];

fn point(id: u64, at: Value) -> Point {
    Point::new(id, vec![id as f32, 1.0], Some(json!({"at": at, "n": id})))
}

fn instant(v: &Value) -> Option<i64> {
    let items = match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    items
        .iter()
        .filter_map(Datetime::of_value)
        .map(Datetime::micros)
        .min()
}

fn range(gte: Option<&str>, lt: Option<&str>) -> DatetimeRange {
    DatetimeRange {
        gte: gte.and_then(Datetime::parse),
        lt: lt.and_then(Datetime::parse),
        ..DatetimeRange::default()
    }
}

/// Every page of an ordered scroll, following the cursors.
fn ordered(c: &VectorCollection, order: OrderBy, page: usize) -> Vec<u64> {
    let mut out = Vec::new();
    let mut cursor: Option<ScrollCursor> = None;
    loop {
        let mut request = ScrollRequest::new()
            .order_by(order.clone())
            .limit(page)
            .ids_only();
        if let Some(at) = cursor.take() {
            request = request.cursor(at);
        }
        let got = c.scroll_with(&request).unwrap();
        // Each point comes with the instant it was placed by (microseconds), in page order.
        assert_eq!(got.order_values.len(), got.points.len());
        let keys: Vec<i64> = got
            .order_values
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let desc = order.direction == nearstore::Direction::Desc;
        assert!(
            keys.windows(2)
                .all(|w| if desc { w[0] >= w[1] } else { w[0] <= w[1] }),
            "{keys:?}"
        );
        out.extend(got.points.iter().map(|p| p.id));
        match got.next {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

fn setup() -> (tempfile::TempDir, Database, VectorCollection) {
    let (dir, db) = crate::temp_db();
    let c = db
        .create_collection("events", 2, DistanceMetric::Euclidean)
        .unwrap();
    let mut points: Vec<Point> = TIMES
        .iter()
        .enumerate()
        .map(|(i, t)| point(i as u64, json!(t)))
        .collect();
    points.push(point(8, json!(["2024-03-02", "2023-06-01T00:00:00Z"])));
    points.push(point(9, json!(1_709_296_200)));
    points.push(Point::new(10, vec![0.0, 0.0], None));
    c.upsert(points).unwrap();
    (dir, db, c)
}

#[test]
fn datetime_range_matches_by_instant_with_and_without_the_index() {
    let (_dir, _db, c) = setup();
    let f = Filter::datetime_range(
        "at",
        range(Some("2024-03-01T12:30:00Z"), Some("2024-03-02")),
    );
    let matching = |c: &VectorCollection| -> Vec<u64> {
        c.scroll_with(&ScrollRequest::new().filter(f.clone()).limit(100).ids_only())
            .unwrap()
            .points
            .iter()
            .map(|p| p.id)
            .collect()
    };
    let unindexed = matching(&c);
    assert_eq!(unindexed, vec![0, 1, 2, 4]);
    c.create_field_index("at", FieldIndexKind::Datetime)
        .unwrap();
    assert_eq!(matching(&c), unindexed);
    assert_eq!(c.count(Some(&f)).unwrap(), 4);
    // A string comparison would call "2024-03-01T08:00:00-05:00" earlier than 12:30Z.
    let by_string = Filter::gte("at", json!("2024-03-01T12:30:00Z"));
    assert!(
        !c.scroll(Some(&by_string), 100, None)
            .unwrap()
            .points
            .iter()
            .any(|p| p.id == 2)
    );
    // The JSON form (Qdrant's datetime_range) and filtered search use the same index.
    let parsed = Filter::parse(&json!({"field": "at", "datetime_range": {
        "gte": "2024-03-01T12:30:00Z", "lt": "2024-03-02"}}))
    .unwrap();
    assert_eq!(parsed, f);
    let hits = c
        .query(
            SearchRequest::new(&[0.0, 1.0])
                .filter(parsed)
                .limit(10)
                .quality(SearchQuality::Perfect),
        )
        .unwrap();
    let mut ids: Vec<u64> = hits.iter().map(|h| h.point.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![0, 1, 2, 4]);
}

#[test]
fn scroll_orders_by_time_over_a_datetime_index_with_cursors_and_start_from() {
    let (_dir, _db, c) = setup();
    c.create_field_index("at", FieldIndexKind::Datetime)
        .unwrap();
    // Point 8 sorts by its earliest instant ascending, its latest descending.
    let asc = vec![8, 5, 6, 3, 0, 1, 2, 4];
    assert_eq!(ordered(&c, OrderBy::asc("at"), 3), asc);
    assert_eq!(ordered(&c, OrderBy::asc("at"), 100), asc);
    // Ascending, a point is placed by its earliest instant.
    let page = c
        .scroll_with(&ScrollRequest::new().order_by(OrderBy::asc("at")).limit(100))
        .unwrap();
    for (p, key) in page.points.iter().zip(&page.order_values) {
        let at = &p.payload.as_ref().unwrap()["at"];
        assert_eq!(key.as_i64(), instant(at), "point {}", p.id);
    }
    let desc = ordered(&c, OrderBy::desc("at"), 2);
    assert_eq!(desc, vec![8, 4, 2, 0, 1, 3, 6, 5]);
    // start_from as a datetime in any form, or as the cursor's microseconds.
    let from = OrderBy::asc("at").start_from(json!("2024-03-01T07:30:00-05:00"));
    assert_eq!(ordered(&c, from, 2), vec![0, 1, 2, 4]);
    let micros = Datetime::parse("2024-03-01T12:30:00Z").unwrap().micros();
    let from = OrderBy::desc("at").start_from(json!(micros));
    assert_eq!(ordered(&c, from, 10), vec![0, 1, 3, 6, 5]);
    let page = c
        .scroll_with(&ScrollRequest::new().order_by(OrderBy::asc("at")).limit(1))
        .unwrap();
    let Some(ScrollCursor::Ordered { value, id }) = page.next else {
        panic!("an ordered cursor")
    };
    let second = Datetime::parse("2024-01-01T01:00:00Z").unwrap().micros();
    assert_eq!((value, id), (json!(second), 5));
    let bad = ScrollRequest::new().order_by(OrderBy::asc("at").start_from(json!("soon")));
    let err = c.scroll_with(&bad).unwrap_err().to_string();
    assert!(err.contains("start_from"), "{err}");
    assert_eq!(
        OrderBy::desc("at").direction,
        Direction::Desc,
        "the builder sets the direction"
    );
}

#[test]
fn a_cursor_taken_before_the_datetime_index_continues_by_time() {
    let (_dir, _db, c) = setup();
    // Without the index the order is by JSON value (the number of point 9, then strings):
    // the second point's cursor carries a string.
    let first = c
        .scroll_with(&ScrollRequest::new().order_by(OrderBy::asc("at")).limit(1))
        .unwrap();
    assert_eq!(first.points[0].id, 9);
    let Some(ScrollCursor::Ordered { value, .. }) = &first.next else {
        panic!("an ordered cursor")
    };
    assert!(value.is_string(), "{value}");
    c.create_field_index("at", FieldIndexKind::Datetime)
        .unwrap();
    // The string cursor is read as its instant: the rest in time order from there.
    let rest = c
        .scroll_with(
            &ScrollRequest::new()
                .order_by(OrderBy::asc("at"))
                .cursor(first.next.clone().unwrap())
                .limit(100),
        )
        .unwrap();
    let ids: Vec<u64> = rest.points.iter().map(|p| p.id).collect();
    let Some(ScrollCursor::Ordered { value, id }) = first.next else {
        panic!("an ordered cursor")
    };
    let from = Datetime::of_value(&value).unwrap().micros();
    let mut want: Vec<(i64, u64)> = c
        .scroll(None, 100, None)
        .unwrap()
        .points
        .iter()
        .filter_map(|p| instant(&p.payload.as_ref()?["at"]).map(|t| (t, p.id)))
        .filter(|&(t, pid)| (t, pid) >= (from, id))
        .collect();
    want.sort_unstable();
    assert_eq!(ids, want.into_iter().map(|(_, id)| id).collect::<Vec<_>>());
    let bad = ScrollRequest::new()
        .order_by(OrderBy::asc("at"))
        .cursor(ScrollCursor::Ordered {
            value: json!("later"),
            id: 1,
        });
    assert!(c.scroll_with(&bad).is_err());
}

#[test]
fn ordered_scroll_walks_the_index_across_batches_and_keys_shared_by_many_points() {
    let (_dir, db) = crate::temp_db();
    let c = db
        .create_collection("many", 2, DistanceMetric::Euclidean)
        .unwrap();
    c.create_field_index("at", FieldIndexKind::Datetime)
        .unwrap();
    // 3,000 points over 5 instants (so one key holds more than a walk's batch of 1,024),
    // every seventh with two instants, every eleventh without a datetime.
    let at = |i: u64| format!("2024-03-0{}T00:00:00Z", 1 + i % 5);
    let points: Vec<Point> = (0..3_000u64)
        .map(|i| {
            let value = match (i % 7, i % 11) {
                (_, 0) => json!("no time"),
                (0, _) => json!([at(i), at(i + 2)]),
                _ => json!(at(i)),
            };
            point(i, value)
        })
        .collect();
    c.upsert_bulk(&points).unwrap();
    for desc in [false, true] {
        let mut want: Vec<(i64, u64)> = points
            .iter()
            .filter_map(|p| {
                let v = &p.payload.as_ref()?["at"];
                let items = match v {
                    Value::Array(items) => items.clone(),
                    other => vec![other.clone()],
                };
                let times = items
                    .iter()
                    .filter_map(Datetime::of_value)
                    .map(Datetime::micros);
                let key = if desc { times.max() } else { times.min() }?;
                Some((if desc { -key } else { key }, p.id))
            })
            .collect();
        want.sort_unstable();
        let want: Vec<u64> = want.into_iter().map(|(_, id)| id).collect();
        let order = if desc {
            OrderBy::desc("at")
        } else {
            OrderBy::asc("at")
        };
        let all: Vec<u64> = c
            .scan(&ScrollRequest::new().order_by(order.clone()).ids_only())
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(all, want, "desc {desc}");
        assert_eq!(ordered(&c, order, 700), want, "desc {desc}");
    }
}

#[test]
fn the_datetime_index_survives_checkpoint_replay_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let f = Filter::datetime_range("at", range(Some("2024-03-01"), None));
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db
            .create_collection("events", 2, DistanceMetric::Euclidean)
            .unwrap();
        c.upsert(vec![
            point(1, json!("2024-03-05")),
            point(2, json!("2024-02-01")),
        ])
        .unwrap();
        c.create_field_index("at", FieldIndexKind::Datetime)
            .unwrap();
        c.checkpoint().unwrap();
        // After the checkpoint, only in the log: replayed into the loaded index.
        c.upsert(vec![
            point(3, json!("2024-03-01T00:00:00+00:00")),
            point(2, json!("2024-04-01T00:00:00-01:00")),
        ])
        .unwrap();
        c.delete(&[1]).unwrap();
        c.flush().unwrap();
        assert_eq!(c.count(Some(&f)).unwrap(), 2);
    }
    for round in 0..2 {
        let db = Database::open(dir.path()).unwrap();
        let c = db.get_vector_collection("events").unwrap();
        assert_eq!(
            c.field_indexes(),
            vec![("at".to_owned(), FieldIndexKind::Datetime)],
            "round {round}"
        );
        assert_eq!(
            ordered(&c, OrderBy::asc("at"), 1),
            vec![3, 2],
            "round {round}"
        );
        assert_eq!(c.count(Some(&f)).unwrap(), 2, "round {round}");
        c.checkpoint().unwrap();
    }
}

fn time_value() -> impl Strategy<Value = Value> {
    let one = prop::sample::select(TIMES.to_vec()).prop_map(|s| json!(s));
    prop_oneof![
        6 => one.clone(),
        1 => prop::collection::vec(one, 0..3).prop_map(Value::Array),
        1 => Just(Value::Null),
        1 => Just(json!(7)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Ordered scrolls and range counts against a brute-force sort and filter of the model,
    /// after upserts and deletes, and again after a reopen.
    #[test]
    fn ordered_scroll_and_ranges_agree_with_brute_force(
        writes in prop::collection::vec((0u64..30, prop::option::of(time_value())), 1..60),
        index_first in any::<bool>(),
        page in 1usize..7,
        lower in prop::option::of(prop::sample::select(TIMES.to_vec())),
        upper in prop::option::of(prop::sample::select(TIMES.to_vec())),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut model: BTreeMap<u64, Value> = BTreeMap::new();
        let f = Filter::datetime_range("at", range(lower, upper));
        let check = |c: &VectorCollection, model: &BTreeMap<u64, Value>| -> Result<(), TestCaseError> {
            let mut keyed: Vec<(i64, u64)> = model
                .iter()
                .filter_map(|(id, at)| instant(at).map(|t| (t, *id)))
                .collect();
            keyed.sort_unstable();
            let want: Vec<u64> = keyed.iter().map(|(_, id)| *id).collect();
            prop_assert_eq!(ordered(c, OrderBy::asc("at"), page), want);
            let brute = model
                .values()
                .filter(|at| f.matches(&json!({"at": at})))
                .count();
            prop_assert_eq!(c.count(Some(&f)).unwrap(), brute);
            Ok(())
        };
        {
            let db = Database::open(dir.path()).unwrap();
            let c = db.create_collection("e", 2, DistanceMetric::Euclidean).unwrap();
            if index_first {
                c.create_field_index("at", FieldIndexKind::Datetime).unwrap();
            }
            for (id, write) in writes {
                match write {
                    Some(at) => {
                        c.upsert(vec![point(id, at.clone())]).unwrap();
                        model.insert(id, at);
                    }
                    None => {
                        c.delete(&[id]).unwrap();
                        model.remove(&id);
                    }
                }
            }
            if !index_first {
                c.create_field_index("at", FieldIndexKind::Datetime).unwrap();
            }
            check(&c, &model)?;
        }
        let db = Database::open(dir.path()).unwrap();
        let c = db.get_vector_collection("e").unwrap();
        check(&c, &model)?;
    }
}
