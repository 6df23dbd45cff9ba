//! Partial payload writes (`set_payload`, `set_payload_at`, `overwrite_payload`,
//! `delete_payload_keys`, `clear_payload`, `update_payload`): what they change, that they
//! keep vectors, payload indexes and the text index consistent, that no concurrent write is
//! lost, and that a reopen replays them exactly.

use std::sync::Arc;

use nearstore::{
    CollectionConfig, Database, Deadline, DistanceMetric, ErrorKind, FieldIndexKind, Filter,
    PayloadChange, Point, PointSelector, TextIndexConfig, VectorCollection, WriteOptions,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn create(db: &Database) -> VectorCollection {
    let config = CollectionConfig::new(2, DistanceMetric::Euclidean)
        .with_text(Some(TextIndexConfig::default()));
    let c = db.create_collection_with_options("c", config).unwrap();
    c.upsert(
        (1..=4)
            .map(|id| {
                Point::new(
                    id,
                    vec![id as f32, 0.5],
                    Some(json!({"kind": "a", "n": id, "body": format!("plain words {id}")})),
                )
            })
            .collect(),
    )
    .unwrap();
    c
}

fn payload(c: &VectorCollection, id: u64) -> Option<Value> {
    c.get(&[id]).unwrap()[0].as_ref().unwrap().payload.clone()
}

fn text_ids(c: &VectorCollection, q: &str) -> Vec<u64> {
    let mut ids: Vec<u64> = c
        .text_search(q, 10)
        .unwrap()
        .iter()
        .map(|h| h.point.id)
        .collect();
    ids.sort_unstable();
    ids
}

fn ids(v: &[u64]) -> PointSelector {
    PointSelector::Ids(v.to_vec())
}

#[test]
fn set_payload_merges_keys_keeps_the_vector_and_is_found_by_filters_and_text() {
    let (_dir, db) = crate::temp_db();
    let c = create(&db);
    c.create_field_index("color", FieldIndexKind::Keyword)
        .unwrap();
    let changed = c
        .set_payload(
            &ids(&[2, 3, 99]),
            map(json!({"color": "red", "note": "zebra crossing"})),
        )
        .unwrap();
    assert_eq!(changed, 2, "the missing id 99 is skipped");
    let p2 = c.get(&[2]).unwrap()[0].clone().unwrap();
    assert_eq!(p2.vector, vec![2.0, 0.5], "the vector is untouched");
    assert_eq!(
        p2.payload,
        Some(
            json!({"kind": "a", "n": 2, "body": "plain words 2", "color": "red", "note": "zebra crossing"})
        )
    );
    let red = Filter::eq("color", json!("red"));
    assert_eq!(c.matching_ids(Some(&red), None).unwrap(), [2, 3]);
    assert_eq!(text_ids(&c, "zebra"), [2, 3]);
    assert_eq!(c.len(), 4);

    let changed = c
        .delete_payload_keys(&ids(&[2, 3]), &["color".into(), "note".into()])
        .unwrap();
    assert_eq!(changed, 2);
    assert!(c.matching_ids(Some(&red), None).unwrap().is_empty());
    assert!(text_ids(&c, "zebra").is_empty());
    assert_eq!(
        payload(&c, 3),
        Some(json!({"kind": "a", "n": 3, "body": "plain words 3"}))
    );
    // Deleting keys that are no longer there changes nothing.
    assert_eq!(
        c.delete_payload_keys(&ids(&[2, 3]), &["color".into()])
            .unwrap(),
        0
    );
}

#[test]
fn a_filter_selects_the_points_and_nested_paths_work() {
    let (_dir, db) = crate::temp_db();
    let c = create(&db);
    let n_ge_3 = PointSelector::Filter(Filter::parse(&json!({"field": "n", "gte": 3})).unwrap());
    assert_eq!(
        c.set_payload_at(&n_ge_3, "meta.flags", map(json!({"hot": true})))
            .unwrap(),
        2
    );
    assert_eq!(
        payload(&c, 4).unwrap()["meta"],
        json!({"flags": {"hot": true}})
    );
    assert_eq!(payload(&c, 1).unwrap().get("meta"), None);
    let hot = Filter::eq("meta.flags.hot", json!(true));
    assert_eq!(c.matching_ids(Some(&hot), None).unwrap(), [3, 4]);
    assert_eq!(
        c.delete_payload_keys(&n_ge_3, &["meta.flags.hot".into()])
            .unwrap(),
        2
    );
    assert_eq!(payload(&c, 4).unwrap()["meta"], json!({"flags": {}}));
    assert!(c.matching_ids(Some(&hot), None).unwrap().is_empty());
    let bad = c.set_payload_at(&n_ge_3, "a..b", Map::new()).unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn overwrite_and_clear_replace_the_payload_and_keep_the_point() {
    let (_dir, db) = crate::temp_db();
    let c = create(&db);
    c.create_field_index("kind", FieldIndexKind::Keyword)
        .unwrap();
    assert_eq!(
        c.overwrite_payload(&ids(&[1]), map(json!({"kind": "b"})))
            .unwrap(),
        1
    );
    assert_eq!(payload(&c, 1), Some(json!({"kind": "b"})));
    let a = Filter::eq("kind", json!("a"));
    assert_eq!(c.matching_ids(Some(&a), None).unwrap(), [2, 3, 4]);
    assert_eq!(text_ids(&c, "plain"), [2, 3, 4]);
    assert_eq!(
        c.clear_payload(&PointSelector::Filter(a.clone())).unwrap(),
        3
    );
    assert_eq!(payload(&c, 2), None);
    assert!(c.matching_ids(Some(&a), None).unwrap().is_empty());
    assert!(text_ids(&c, "plain").is_empty());
    assert_eq!(c.len(), 4, "clearing a payload keeps the point");
    assert_eq!(c.clear_payload(&ids(&[2])).unwrap(), 0, "already clear");
    let hits = c.search(&[2.0, 0.5], 1).unwrap();
    assert_eq!(hits[0].point.id, 2, "the index still holds the point");
}

#[test]
fn an_expired_deadline_or_a_too_large_result_writes_nothing() {
    let (_dir, db) = crate::temp_db();
    let c = create(&db);
    let change = PayloadChange::Clear;
    let err = c
        .update_payload(
            &ids(&[1, 2]),
            &change,
            &WriteOptions::deadline(Deadline::expired()),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert!(payload(&c, 1).is_some());
    let huge = "x".repeat(nearstore::DEFAULT_MAX_PAYLOAD_BYTES + 1);
    let err = c
        .set_payload(&ids(&[1, 2]), map(json!({"big": huge})))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted);
    assert_eq!(payload(&c, 2).unwrap().get("big"), None);
}

#[test]
fn concurrent_set_payloads_of_different_keys_are_all_kept() {
    let (_dir, db) = crate::temp_db();
    let c = Arc::new(create(&db));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                for i in 0..25 {
                    let key = format!("k{t}_{i}");
                    c.set_payload(&ids(&[1]), map(json!({ key: i }))).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let p = payload(&c, 1).unwrap();
    for t in 0..4 {
        for i in 0..25 {
            assert_eq!(p[format!("k{t}_{i}")], json!(i), "no lost update");
        }
    }
}

#[test]
fn payload_writes_replay_exactly_after_an_unclean_close() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let c = create(&db);
        c.create_field_index("color", FieldIndexKind::Keyword)
            .unwrap();
        c.checkpoint().unwrap();
        // After the checkpoint: only in the log.
        c.set_payload(
            &ids(&[1, 2]),
            map(json!({"color": "blue", "note": "okapi"})),
        )
        .unwrap();
        c.delete_payload_keys(&ids(&[2]), &["note".into()]).unwrap();
        c.clear_payload(&ids(&[3])).unwrap();
        c.overwrite_payload(&ids(&[4]), map(json!({"color": "green"})))
            .unwrap();
        c.flush().unwrap();
        std::mem::forget(c); // no clean close: the next open replays the tail
        std::mem::forget(db);
    }
    let copy = tempfile::tempdir().unwrap();
    crate::conformance::copy_dir(dir.path(), copy.path());
    let db = Database::open(copy.path()).unwrap();
    let c = db.get_vector_collection("c").unwrap();
    assert_eq!(
        payload(&c, 1),
        Some(
            json!({"kind": "a", "n": 1, "body": "plain words 1", "color": "blue", "note": "okapi"})
        )
    );
    assert_eq!(payload(&c, 2).unwrap().get("note"), None);
    assert_eq!(payload(&c, 3), None);
    assert_eq!(payload(&c, 4), Some(json!({"color": "green"})));
    assert_eq!(c.get(&[4]).unwrap()[0].as_ref().unwrap().vector, [4.0, 0.5]);
    let blue = Filter::eq("color", json!("blue"));
    assert_eq!(c.matching_ids(Some(&blue), None).unwrap(), [1, 2]);
    assert_eq!(text_ids(&c, "okapi"), [1]);
    assert_eq!(text_ids(&c, "plain"), [1, 2]);
    // And the recovered collection checkpoints and reopens to the same state.
    c.checkpoint().unwrap();
    drop(c);
    drop(db);
    let db = Database::open(copy.path()).unwrap();
    let c = db.get_vector_collection("c").unwrap();
    assert_eq!(payload(&c, 4), Some(json!({"color": "green"})));
    assert_eq!(text_ids(&c, "okapi"), [1]);
}

/// One step of the model-based test.
#[derive(Debug, Clone)]
enum Step {
    Set(Vec<u64>, String, i64),
    DeleteKey(Vec<u64>, String),
    Clear(Vec<u64>),
    Overwrite(Vec<u64>, i64),
    Upsert(u64, i64),
    Delete(u64),
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    let ids = proptest::collection::vec(0u64..8, 1..4);
    let key = prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("m.x".to_string())
    ];
    prop_oneof![
        3 => (ids.clone(), key.clone(), 0i64..5).prop_map(|(i, k, v)| Step::Set(i, k, v)),
        2 => (ids.clone(), key).prop_map(|(i, k)| Step::DeleteKey(i, k)),
        1 => ids.clone().prop_map(Step::Clear),
        1 => (ids, 0i64..5).prop_map(|(i, v)| Step::Overwrite(i, v)),
        2 => (0u64..8, 0i64..5).prop_map(|(id, v)| Step::Upsert(id, v)),
        1 => (0u64..8).prop_map(Step::Delete),
        1 => Just(Step::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Against a model (id -> payload, changed with the same `PayloadChange` semantics
    /// written out by hand here): payloads, the count each write returns, and the indexed
    /// filter `a = v` agree after every step, across unclean reopens.
    #[test]
    fn payload_writes_match_a_model(steps in proptest::collection::vec(step(), 1..25)) {
        use std::collections::BTreeMap;
        let dir = tempfile::tempdir().unwrap();
        let open = |path: &std::path::Path| {
            let db = Database::open(path).unwrap();
            let c = db.get_vector_collection("c").unwrap();
            (db, c)
        };
        let mut dirs = vec![dir];
        let (mut db, mut c) = {
            let db = Database::open(dirs[0].path()).unwrap();
            let c = db.create_collection("c", 2, DistanceMetric::Euclidean).unwrap();
            c.create_field_index("a", FieldIndexKind::Integer).unwrap();
            (db, c)
        };
        let mut model: BTreeMap<u64, Option<Map<String, Value>>> = BTreeMap::new();
        for s in steps {
            let changed = match &s {
                Step::Set(i, k, v) => {
                    let want = i.iter().filter(|id| model.contains_key(id)).collect::<std::collections::BTreeSet<_>>();
                    let mut n = 0;
                    for id in want {
                        let p = model.get_mut(id).unwrap();
                        let mut m = p.clone().unwrap_or_default();
                        match k.split_once('.') {
                            Some((outer, inner)) => {
                                let slot = m.entry(outer).or_insert(json!({}));
                                if !slot.is_object() { *slot = json!({}); }
                                slot.as_object_mut().unwrap().insert(inner.to_string(), json!(v));
                            }
                            None => { m.insert(k.clone(), json!(v)); }
                        }
                        if p.as_ref() != Some(&m) { n += 1; *p = Some(m); }
                    }
                    let (path, key) = match k.split_once('.') {
                        Some((outer, inner)) => (Some(outer.to_string()), inner.to_string()),
                        None => (None, k.clone()),
                    };
                    let change = PayloadChange::Set { key: path, payload: map(json!({ key: v })) };
                    let got = c.update_payload(&ids(i), &change, &WriteOptions::default()).unwrap();
                    Some((got, n))
                }
                Step::DeleteKey(i, k) => {
                    let mut n = 0;
                    for id in i.iter().collect::<std::collections::BTreeSet<_>>() {
                        if let Some(Some(m)) = model.get_mut(id) {
                            let before = m.clone();
                            match k.split_once('.') {
                                Some((outer, inner)) => {
                                    if let Some(Value::Object(o)) = m.get_mut(outer) { o.remove(inner); }
                                }
                                None => { m.remove(k); }
                            }
                            if *m != before { n += 1; }
                        }
                    }
                    Some((c.delete_payload_keys(&ids(i), std::slice::from_ref(k)).unwrap(), n))
                }
                Step::Clear(i) => {
                    let mut n = 0;
                    for id in i.iter().collect::<std::collections::BTreeSet<_>>() {
                        if let Some(p) = model.get_mut(id) && p.is_some() { *p = None; n += 1; }
                    }
                    Some((c.clear_payload(&ids(i)).unwrap(), n))
                }
                Step::Overwrite(i, v) => {
                    let new = map(json!({"a": v}));
                    let mut n = 0;
                    for id in i.iter().collect::<std::collections::BTreeSet<_>>() {
                        if let Some(p) = model.get_mut(id) && p.as_ref() != Some(&new) { *p = Some(new.clone()); n += 1; }
                    }
                    Some((c.overwrite_payload(&ids(i), new).unwrap(), n))
                }
                Step::Upsert(id, v) => {
                    c.upsert(vec![Point::new(*id, vec![*id as f32, 0.0], Some(json!({"a": v})))]).unwrap();
                    model.insert(*id, Some(map(json!({"a": v}))));
                    None
                }
                Step::Delete(id) => {
                    c.delete(&[*id]).unwrap();
                    model.remove(id);
                    None
                }
                Step::Reopen => {
                    c.flush().unwrap();
                    std::mem::forget(c);
                    std::mem::forget(db);
                    let copy = tempfile::tempdir().unwrap();
                    crate::conformance::copy_dir(dirs.last().unwrap().path(), copy.path());
                    dirs.push(copy);
                    (db, c) = open(dirs.last().unwrap().path());
                    None
                }
            };
            if let Some((got, want)) = changed {
                prop_assert_eq!(got, want, "changed count of {:?}", s);
            }
            for (id, p) in &model {
                let got = c.get(&[*id]).unwrap()[0].clone().unwrap();
                prop_assert_eq!(got.vector, vec![*id as f32, 0.0]);
                prop_assert_eq!(got.payload, p.clone().map(Value::Object), "payload of {} after {:?}", id, s);
            }
            for v in 0..5 {
                let want: Vec<u64> = model.iter()
                    .filter(|(_, p)| p.as_ref().and_then(|m| m.get("a")) == Some(&json!(v)))
                    .map(|(id, _)| *id).collect();
                let got = c.matching_ids(Some(&Filter::eq("a", json!(v))), None).unwrap();
                prop_assert_eq!(got, want, "indexed filter a = {}", v);
            }
        }
    }
}
