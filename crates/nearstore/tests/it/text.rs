//! Full-text search through the collection API: the text leg of `SearchRequest`,
//! `text_search*`, text configuration changes on a loaded collection, full-text filter
//! conditions (indexed and fallback), recovery from the checkpoint image plus the log tail,
//! and a random history checked against a brute-force model across reopens.

use std::collections::BTreeMap;

use nearstore::text::{Analyzer, value_matches};
use nearstore::{
    AnalyzerConfig, CollectionConfig, Database, DistanceMetric, ErrorKind, Filter, Point,
    SearchRequest, TextIndexConfig, VectorCollection,
};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::temp_db;

fn doc(id: u64, body: &str) -> Point {
    Point::new(
        id,
        vec![id as f32, 1.0],
        Some(json!({"title": format!("t{id}"), "body": body})),
    )
}

fn ids(results: &[nearstore::SearchResult]) -> Vec<u64> {
    results.iter().map(|r| r.point.id).collect()
}

fn create(db: &Database, text: Option<TextIndexConfig>) -> VectorCollection {
    let config = CollectionConfig::new(2, DistanceMetric::Euclidean).with_text(text);
    db.create_collection_with_options("docs", config).unwrap()
}

fn corpus(c: &VectorCollection) {
    c.upsert(vec![
        doc(1, "the quick brown fox"),
        doc(2, "a lazy brown dog"),
        doc(3, "quick quick quick"),
        doc(4, "nothing here"),
    ])
    .unwrap();
}

#[test]
fn text_search_ranks_by_bm25_and_sees_writes_at_once() {
    let (_dir, db) = temp_db();
    let c = create(&db, Some(TextIndexConfig::default()));
    corpus(&c);
    let hits = c.text_search("quick", 10).unwrap();
    assert_eq!(ids(&hits), [3, 1]);
    assert!(hits[0].score > hits[1].score, "BM25: higher is better");
    assert_eq!(
        hits[0].point.payload.as_ref().unwrap()["body"],
        "quick quick quick"
    );
    // Delete and update are effective at once.
    c.delete(&[3]).unwrap();
    assert_eq!(ids(&c.text_search("quick", 10).unwrap()), [1]);
    c.upsert(vec![doc(1, "slow turtle")]).unwrap();
    assert!(c.text_search("quick", 10).unwrap().is_empty());
    assert_eq!(ids(&c.text_search("turtle", 10).unwrap()), [1]);
    // A point without payload leaves the index.
    c.upsert(vec![Point::new(1, vec![0.0, 0.0], None)]).unwrap();
    assert!(c.text_search("turtle", 10).unwrap().is_empty());
    // No indexable term: no rows, not an error.
    assert!(c.text_search(" ,; ", 10).unwrap().is_empty());
}

#[test]
fn filtered_text_search_is_never_short_and_windows_apply() {
    let (_dir, db) = temp_db();
    let c = create(&db, None);
    c.set_text_config(Some(TextIndexConfig::default())).unwrap();
    let points: Vec<Point> = (0..300)
        .map(|id| {
            let body = if id % 3 == 0 { "common rare" } else { "common" };
            Point::new(id, vec![0.0, 0.0], Some(json!({"body": body, "n": id})))
        })
        .collect();
    c.upsert_bulk(&points).unwrap();
    let only_odd = Filter::eq("n", json!(299));
    let hits = c.text_search_with_filter("common", 5, &only_odd).unwrap();
    assert_eq!(ids(&hits), [299]);
    let in_range = Filter::between("n", json!(100), json!(119));
    let hits = c.text_search_with_filter("rare", 10, &in_range).unwrap();
    assert_eq!(ids(&hits), [102, 105, 108, 111, 114, 117]);
    // Offset and limit go through the one result window; ties go to the smaller id.
    let page = c
        .query(
            SearchRequest::text("common")
                .limit(3)
                .offset(2)
                .with_payload(false),
        )
        .unwrap();
    let all = c.query(SearchRequest::text("common").limit(5)).unwrap();
    assert_eq!(ids(&page), ids(&all)[2..5]);
    let best = all[0].score;
    let above = c
        .query(
            SearchRequest::text("common rare")
                .limit(300)
                .score_threshold_exclusive(best),
        )
        .unwrap();
    assert!(above.iter().all(|r| r.score > best));
}

#[test]
fn a_request_with_a_vector_and_text_is_hybrid_with_rrf() {
    let (_dir, db) = temp_db();
    let c = create(&db, Some(TextIndexConfig::default()));
    corpus(&c);
    let hits = c
        .query(SearchRequest::new(&[3.0, 1.0]).text_query("quick"))
        .unwrap();
    // Point 3 is first in both legs: 2 / 61; every point is found by the dense leg.
    assert_eq!(hits[0].point.id, 3);
    assert!((hits[0].score - 2.0 / 61.0).abs() < 1e-6);
    assert_eq!(hits[0].legs.len(), 2);
    assert_eq!(hits.len(), 4);
    assert!(hits.iter().all(|h| !h.legs.is_empty()));
}

#[test]
fn text_search_without_a_text_index_says_so() {
    let (_dir, db) = temp_db();
    let c = create(&db, None);
    corpus(&c);
    let err = c.text_search("quick", 10).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("no text index"), "{err}");
    // Turning it on indexes the existing points.
    c.create_text_index("body", AnalyzerConfig::default())
        .unwrap();
    assert_eq!(ids(&c.text_search("quick", 10).unwrap()), [3, 1]);
    let err = c
        .query(SearchRequest::text("quick").text_field("title"))
        .unwrap_err();
    assert!(err.to_string().contains("\"title\""), "{err}");
    assert!(c.drop_text_index("body").unwrap());
    assert_eq!(c.text_config(), None);
}

#[test]
fn named_fields_target_their_own_text() {
    let (_dir, db) = temp_db();
    let c = create(&db, Some(TextIndexConfig::named(["title", "body"])));
    corpus(&c);
    c.upsert(vec![Point::new(
        9,
        vec![0.0, 0.0],
        Some(json!({"title": "quick", "body": "x"})),
    )])
    .unwrap();
    let in_title = c
        .query(SearchRequest::text("quick").text_field("title"))
        .unwrap();
    assert_eq!(ids(&in_title), [9]);
    let in_body = c.query(SearchRequest::text("body:quick")).unwrap();
    assert_eq!(ids(&in_body), [3, 1]);
    // A stemming analyzer on one field.
    let english = AnalyzerConfig {
        stemmer: Some(nearstore::Language::English),
        ..AnalyzerConfig::default()
    };
    c.create_text_index("body", english).unwrap();
    c.upsert(vec![doc(10, "running runners run")]).unwrap();
    assert_eq!(
        ids(&c
            .query(SearchRequest::text("runs").text_field("body"))
            .unwrap()),
        [10]
    );
}

#[test]
fn concurrent_text_field_changes_lose_no_field() {
    // Each change reads the configuration and replaces it under the writer lock: fields
    // added from several threads at once all end up indexed.
    let (_dir, db) = temp_db();
    let c = create(&db, None);
    corpus(&c);
    let fields: Vec<String> = (0..8).map(|i| format!("f{i}")).collect();
    let barrier = std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        for chunk in fields.chunks(2) {
            let (c, barrier) = (&c, &barrier);
            s.spawn(move || {
                barrier.wait();
                for f in chunk {
                    c.create_text_index(f, AnalyzerConfig::default()).unwrap();
                }
            });
        }
    });
    let mut got: Vec<String> = c
        .text_config()
        .unwrap()
        .fields
        .into_iter()
        .map(|f| f.name)
        .collect();
    got.sort();
    assert_eq!(got, fields);
    assert!(c.drop_text_index("f3").unwrap());
    assert!(!c.drop_text_index("f3").unwrap());
    assert_eq!(c.text_config().unwrap().fields.len(), 7);
}

#[test]
fn full_text_filter_conditions_use_the_index_or_analyze_payloads() {
    let (_dir, db) = temp_db();
    let c = create(&db, Some(TextIndexConfig::named(["body"])));
    corpus(&c);
    let count = |f: Filter| c.matching_ids(Some(&f), None).unwrap();
    // Indexed field: all terms, any order; phrase: adjacent, in order.
    assert_eq!(count(Filter::text("body", "fox QUICK")), [1]);
    assert_eq!(count(Filter::text("body", "brown")), [1, 2]);
    assert_eq!(count(Filter::phrase("body", "brown fox")), [1]);
    assert_eq!(
        count(Filter::phrase("body", "fox brown")),
        Vec::<u64>::new()
    );
    assert_eq!(count(Filter::not(Filter::text("body", "brown"))), [3, 4]);
    // Field without a text index: the default analyzer on the payload value.
    assert_eq!(count(Filter::text("title", "T2")), [2]);
    assert_eq!(count(Filter::phrase("title", "t3")), [3]);
    // Inside a search's filter, combined with other conditions.
    let f = Filter::and(vec![
        Filter::text("body", "brown"),
        Filter::text("title", "t2"),
    ]);
    let hits = c.search_with_filter(&[1.0, 1.0], 10, &f).unwrap();
    assert_eq!(ids(&hits), [2]);
    // Through the JSON form.
    let parsed = Filter::parse(&json!({"field": "body", "phrase": "lazy brown"})).unwrap();
    assert_eq!(count(parsed), [2]);
}

#[test]
fn text_index_recovers_from_its_image_and_the_log_tail() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let c = create(&db, Some(TextIndexConfig::default()));
        corpus(&c);
        c.checkpoint().unwrap();
        // After the checkpoint: only in the log.
        c.delete(&[1]).unwrap();
        c.upsert(vec![doc(5, "quick thinking")]).unwrap();
        c.flush().unwrap();
        std::mem::forget(c); // no clean close: the next open replays the tail
        std::mem::forget(db);
    }
    // The leaked database still holds its directory lock: open a copy of the directory
    // (what a crash after the flush leaves).
    let copy = tempfile::tempdir().unwrap();
    crate::conformance::copy_dir(dir.path(), copy.path());
    let db = Database::open(copy.path()).unwrap();
    let c = db.get_vector_collection("docs").unwrap();
    assert_eq!(ids(&c.text_search("quick", 10).unwrap()), [3, 5]);
    assert_eq!(c.text_config(), Some(TextIndexConfig::default()));
}

#[test]
fn a_damaged_text_image_is_corruption_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let c = create(&db, Some(TextIndexConfig::default()));
        corpus(&c);
    }
    let file = dir.path().join("collections/docs/text-0.index");
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&file, bytes).unwrap();
    let err = Database::open(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption);
    assert!(err.to_string().contains("text-0.index"), "{err}");
}

#[test]
fn text_configuration_persists_and_old_manifests_mean_off() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let c = create(&db, None);
        corpus(&c);
        c.set_text_config(Some(TextIndexConfig::named(["body"])))
            .unwrap();
        c.set_text_config(Some(TextIndexConfig::default())).unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_vector_collection("docs").unwrap();
    assert_eq!(c.config().text, Some(TextIndexConfig::default()));
    assert_eq!(ids(&c.text_search("lazy", 10).unwrap()), [2]);
    // Earlier generations' files are gone.
    let names: Vec<String> = std::fs::read_dir(dir.path().join("collections/docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("text-"))
        .collect();
    assert_eq!(names, ["text-2.index"]);
}

/// One step of a random history.
#[derive(Debug, Clone)]
enum Step {
    Upsert(u64, Vec<u8>),
    Delete(u64),
    Reopen,
    Checkpoint,
}

const WORDS: [&str; 5] = ["alpha", "beta", "gamma", "delta", "omega"];

fn body(words: &[u8]) -> Option<Value> {
    if words.is_empty() {
        return None;
    }
    let text: Vec<&str> = words.iter().map(|&w| WORDS[usize::from(w) % 5]).collect();
    Some(json!({"body": text.join(" ")}))
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0u64..20, prop::collection::vec(0u8..5, 0..4)).prop_map(|(id, w)| Step::Upsert(id, w)),
        2 => (0u64..20).prop_map(Step::Delete),
        1 => Just(Step::Reopen),
        1 => Just(Step::Checkpoint),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// After every step, a text search finds exactly the live points containing a query
    /// word, and a `text` filter exactly those containing all of them (brute force over the
    /// model), across checkpoints and reopens that replay the log.
    #[test]
    fn text_search_finds_exactly_the_live_points_with_the_term(
        steps in prop::collection::vec(step(), 1..30),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Some(Database::open(dir.path()).unwrap());
        let mut c = Some(create(db.as_ref().unwrap(), Some(TextIndexConfig::default())));
        let mut model: BTreeMap<u64, Option<Value>> = BTreeMap::new();
        let analyzer = Analyzer::default();
        for s in &steps {
            let coll = c.as_ref().unwrap();
            match s {
                Step::Upsert(id, words) => {
                    coll.upsert(vec![Point::new(*id, vec![0.0, 0.0], body(words))]).unwrap();
                    model.insert(*id, body(words));
                }
                Step::Delete(id) => {
                    coll.delete(&[*id]).unwrap();
                    model.remove(id);
                }
                Step::Checkpoint => coll.checkpoint().unwrap(),
                Step::Reopen => {
                    coll.flush().unwrap();
                    drop(c.take());
                    drop(db.take());
                    db = Some(Database::open(dir.path()).unwrap());
                    c = Some(db.as_ref().unwrap().get_vector_collection("docs").unwrap());
                }
            }
            let coll = c.as_ref().unwrap();
            for (a, b) in [("alpha", "beta"), ("gamma", "omega"), ("delta", "delta")] {
                let query = format!("{a} {b}");
                let mut got = ids(&coll.text_search(&query, 100).unwrap());
                got.sort_unstable();
                let holds = |all: bool| -> Vec<u64> {
                    model.iter().filter_map(|(id, p)| {
                        let p = p.as_ref()?;
                        let has = |w: &str| value_matches(&analyzer, p, w, false);
                        let ok = if all { has(a) && has(b) } else { has(a) || has(b) };
                        ok.then_some(*id)
                    }).collect()
                };
                prop_assert_eq!(&got, &holds(false), "query {}", query);
                let filtered = coll.matching_ids(Some(&Filter::text("body", &query)), None).unwrap();
                prop_assert_eq!(&filtered, &holds(true), "filter {}", query);
            }
        }
        drop(c);
        drop(db);
    }
}

/// BM25 exactness through the collection API on the wordnet-dev sample: with `text` as the
/// only text field (default analyzer), every 10th keyword query's top-10 ids equal
/// `groundtruth_bm25.ivecs` (ties to the smaller id) and the scores are within 1e-4 relative
/// of `groundtruth_bm25.scores.fvecs`, before and after a reopen (image + empty log).
#[test]
fn wordnet_top10_equals_the_bm25_ground_truth_through_the_collection() {
    let data = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/wordnet-dev"
    ));
    assert!(
        data.join("base.jsonl").is_file(),
        "wordnet-dev not found at {} (CI clones the repository with shared/ beside it)",
        data.display()
    );
    let corpus = std::fs::read_to_string(data.join("base.jsonl")).unwrap();
    let points: Vec<Point> = corpus
        .lines()
        .map(|line| {
            let row: Value = serde_json::from_str(line).unwrap();
            let id = row["id"].as_u64().unwrap();
            Point::new(id, vec![id as f32], Some(row))
        })
        .collect();
    assert_eq!(points.len(), 53_171);
    let queries: Vec<String> = std::fs::read_to_string(data.join("query_keywords.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let ids = nearstore_testkit::read_ivecs(data.join("groundtruth_bm25.ivecs")).unwrap();
    let scores = nearstore_testkit::read_fvecs(data.join("groundtruth_bm25.scores.fvecs")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = CollectionConfig {
        hnsw: nearstore::HnswParams {
            m: 8,
            ef_construction: 16,
            ..nearstore::HnswParams::default()
        },
        ..CollectionConfig::new(1, DistanceMetric::Euclidean)
            .with_text(Some(TextIndexConfig::named(["text"])))
    };
    let check = |c: &VectorCollection| {
        for qi in (0..queries.len()).step_by(10) {
            let got = c
                .query(
                    SearchRequest::text(&queries[qi])
                        .limit(10)
                        .with_payload(false),
                )
                .unwrap();
            let want: Vec<(u64, f32)> = ids
                .row(qi)
                .iter()
                .zip(scores.row(qi))
                .filter(|(id, _)| **id >= 0)
                .take(10)
                .map(|(id, s)| (*id as u64, *s))
                .collect();
            let got_ids: Vec<u64> = got.iter().map(|h| h.point.id).collect();
            let want_ids: Vec<u64> = want.iter().map(|w| w.0).collect();
            assert_eq!(got_ids, want_ids, "query {qi} {:?}", queries[qi]);
            for (h, (_, s)) in got.iter().zip(&want) {
                let rel = (f64::from(h.score) - f64::from(*s)).abs() / f64::from(*s).abs();
                assert!(rel <= 1e-4, "query {qi}: score {} vs {s}", h.score);
            }
        }
    };
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db
            .create_collection_with_options("wordnet", config)
            .unwrap();
        for chunk in points.chunks(10_000) {
            c.upsert_bulk(chunk).unwrap();
        }
        check(&c);
    }
    let db = Database::open(dir.path()).unwrap();
    check(&db.get_vector_collection("wordnet").unwrap());
}
