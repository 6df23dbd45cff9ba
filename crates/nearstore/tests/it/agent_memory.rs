//! Agent memory scenarios, one per method: the three collections, semantic store / query /
//! delete, episodic record / recent / older_than / recall_similar, procedural learn /
//! recall / reinforce with its rule and eviction, TTLs through point expiry, auto_expire,
//! and scored recall (relevance, recency with a half-life, importance, BM25 through hybrid).

use std::sync::Arc;
use std::time::Duration;

use nearstore::agent_memory::{
    DEFAULT_EVICTION_THRESHOLD, DEFAULT_MEMORY_DIMENSION, EPISODIC_COLLECTION, MemoryRecall,
    PROCEDURAL_COLLECTION, RecallWeights, SEMANTIC_COLLECTION,
};
use nearstore::{AgentMemory, Database, ErrorKind, ManualWallClock};

use super::temp_db;

/// A unit vector along axis `i` of 4, tilted by `t` toward axis 1.
fn v(i: usize, t: f32) -> Vec<f32> {
    let mut out = vec![0.0; 4];
    out[i] = 1.0;
    out[(i + 1) % 4] += t;
    out
}

fn memory(db: &Database) -> AgentMemory {
    AgentMemory::with_dimension(db, 4).unwrap()
}

#[test]
fn new_keeps_three_ordinary_collections_and_checks_the_dimension() {
    let (dir, db) = temp_db();
    let m = AgentMemory::new(&db).unwrap();
    let mut names = db.list_collections();
    names.sort();
    assert_eq!(
        names,
        [
            EPISODIC_COLLECTION,
            PROCEDURAL_COLLECTION,
            SEMANTIC_COLLECTION
        ]
    );
    assert_eq!(
        m.semantic().collection().config().dim,
        DEFAULT_MEMORY_DIMENSION
    );
    let e = AgentMemory::with_dimension(&db, 8).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // Reopened: the same memories.
    m.semantic()
        .store(1, "water boils at 100 C", &[1.0; 384])
        .unwrap();
    drop((m, db));
    let db = Database::open(dir.path()).unwrap();
    let m = AgentMemory::new(&db).unwrap();
    assert_eq!(
        m.semantic().query(&[1.0; 384], 1).unwrap()[0].2,
        "water boils at 100 C"
    );
}

#[test]
fn semantic_store_query_delete() {
    let (_dir, db) = temp_db();
    let m = memory(&db);
    let s = m.semantic();
    s.store(1, "paris is the capital of france", &v(0, 0.0))
        .unwrap();
    s.store(2, "rust has no garbage collector", &v(1, 0.0))
        .unwrap();
    s.store(3, "lyon is in france", &v(0, 0.3)).unwrap();
    let hits = s.query(&v(0, 0.1), 2).unwrap();
    assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(hits[0].2, "paris is the capital of france");
    assert!(hits[0].1 >= hits[1].1, "best first");
    // Replace, delete.
    s.store(1, "paris, france", &v(0, 0.0)).unwrap();
    assert_eq!(s.query(&v(0, 0.0), 1).unwrap()[0].2, "paris, france");
    assert!(s.delete(1).unwrap());
    assert!(!s.delete(1).unwrap());
    assert_eq!(s.query(&v(0, 0.0), 1).unwrap()[0].0, 3);
    let e = s.store(4, "x", &[1.0, 2.0]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = s
        .store_with_importance(4, "x", &v(2, 0.0), 1.5)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn episodic_record_recent_older_than_recall_similar() {
    let (_dir, db) = temp_db();
    let m = memory(&db);
    let e = m.episodic();
    e.record(1, "woke up", 1_000, Some(&v(0, 0.0))).unwrap();
    e.record(2, "had coffee", 2_000, Some(&v(1, 0.0))).unwrap();
    e.record(3, "read mail", 3_000, None).unwrap();
    e.record(4, "meeting", 4_000, Some(&v(0, 0.2))).unwrap();
    let recent = e.recent(3, None).unwrap();
    assert_eq!(recent.iter().map(|r| r.0).collect::<Vec<_>>(), [4, 3, 2]);
    assert_eq!(recent[1], (3, "read mail".to_string(), 3_000));
    let since = e.recent(10, Some(2_000)).unwrap();
    assert_eq!(
        since.iter().map(|r| r.0).collect::<Vec<_>>(),
        [4, 3],
        "after, exclusive"
    );
    let old = e.older_than(3_000, 10).unwrap();
    assert_eq!(
        old.iter().map(|r| r.0).collect::<Vec<_>>(),
        [1, 2],
        "oldest first"
    );
    assert_eq!(e.older_than(3_000, 1).unwrap().len(), 1);
    let similar = e.recall_similar(&v(0, 0.0), 2).unwrap();
    assert_eq!(similar.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 4]);
    assert_eq!((similar[0].1.as_str(), similar[0].2), ("woke up", 1_000));
    // An event without an embedding is found by time only.
    assert!(
        e.recall_similar(&v(0, 0.0), 10)
            .unwrap()
            .iter()
            .all(|r| r.0 != 3)
    );
    assert!(e.delete(3).unwrap());
    assert_eq!(e.recent(10, None).unwrap().len(), 3);
}

#[test]
fn procedural_learn_recall_with_min_confidence() {
    let (_dir, db) = temp_db();
    let m = memory(&db);
    let p = m.procedural();
    let steps = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    p.learn(
        1,
        "deploy",
        &steps(&["build", "test", "ship"]),
        Some(&v(0, 0.0)),
        0.9,
    )
    .unwrap();
    p.learn(2, "deploy-fast", &steps(&["ship"]), Some(&v(0, 0.05)), 0.2)
        .unwrap();
    p.learn(3, "cook", &steps(&["boil"]), Some(&v(2, 0.0)), 0.8)
        .unwrap();
    // The k best among the confident ones (2 is closer but under the bar).
    let got = p.recall(&v(0, 0.05), 1, 0.5).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].id, got[0].name.as_str()), (1, "deploy"));
    assert_eq!(got[0].steps, ["build", "test", "ship"]);
    assert!((got[0].confidence - 0.9).abs() < 1e-6);
    let all = p.recall(&v(0, 0.05), 3, 0.0).unwrap();
    assert_eq!(all[0].id, 2);
    let e = p.learn(4, "x", &[], None, 1.5).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn reinforce_follows_the_rule_and_evicts_low_confidence_procedures() {
    let (_dir, db) = temp_db();
    let m = memory(&db);
    let p = m.procedural();
    p.learn(1, "a", &[], Some(&v(0, 0.0)), 0.5).unwrap();
    assert!((p.reinforce(1, true).unwrap().unwrap() - 0.6).abs() < 1e-6);
    assert!((p.reinforce(1, false).unwrap().unwrap() - 0.55).abs() < 1e-6);
    for _ in 0..10 {
        p.reinforce(1, true).unwrap();
    }
    let got = p.get(1).unwrap().unwrap();
    assert_eq!(got.confidence, 1.0, "clamped");
    assert_eq!(got.usage_count, 12);
    // The vector is kept: still recalled by similarity.
    assert_eq!(p.recall(&v(0, 0.0), 1, 0.0).unwrap()[0].id, 1);
    // A failure under the threshold evicts.
    assert_eq!(DEFAULT_EVICTION_THRESHOLD, 0.05);
    p.learn(2, "b", &[], None, 0.08).unwrap();
    assert_eq!(p.reinforce(2, false).unwrap(), None);
    assert_eq!(p.get(2).unwrap(), None);
    assert_eq!(
        p.reinforce(2, true).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // No eviction when off; eviction in bulk.
    p.set_eviction_threshold(None).unwrap();
    p.learn(3, "c", &[], None, 0.02).unwrap();
    assert_eq!(p.reinforce(3, false).unwrap(), Some(0.0));
    p.learn(4, "d", &[], None, 0.3).unwrap();
    assert_eq!(p.evict_below(0.25).unwrap(), 1);
    assert!(p.get(4).unwrap().is_some() && p.get(3).unwrap().is_none());
}

#[test]
fn ttls_are_point_expiry_and_auto_expire_is_a_no_op() {
    let (_dir, db) = temp_db();
    let clock = Arc::new(ManualWallClock::new(1_000_000));
    db.set_wall_clock(clock.clone());
    let m = memory(&db);
    m.semantic().store(1, "fact", &v(0, 0.0)).unwrap();
    m.episodic().record(1, "event", 5, None).unwrap();
    m.procedural().learn(1, "proc", &[], None, 0.5).unwrap();
    m.set_semantic_ttl(1, 10).unwrap();
    m.set_episodic_ttl(1, 20).unwrap();
    m.set_procedural_ttl(1, 30).unwrap();
    assert_eq!(m.semantic().collection().expires_at(1), Some(1_010_000));
    clock.advance(Duration::from_secs(15));
    assert!(m.semantic().query(&v(0, 0.0), 5).unwrap().is_empty());
    assert_eq!(m.episodic().recent(5, None).unwrap().len(), 1);
    clock.advance(Duration::from_secs(10));
    assert!(m.episodic().recent(5, None).unwrap().is_empty());
    assert!(m.procedural().get(1).unwrap().is_some());
    clock.advance(Duration::from_secs(10));
    assert!(m.procedural().get(1).unwrap().is_none());
    assert_eq!(m.auto_expire().unwrap(), 0);
    assert_eq!(
        m.set_semantic_ttl(99, 1).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn scored_recall_weighs_relevance_recency_and_importance() {
    let (_dir, db) = temp_db();
    let m = memory(&db);
    let e = m.episodic();
    let now = 1_000_000;
    let day = 24 * 3600;
    // 1: most relevant, old, unimportant; 2: less relevant, recent; 3: important.
    e.record_with_importance(1, "old match", now - 30 * day, Some(&v(0, 0.0)), 0.1)
        .unwrap();
    e.record_with_importance(2, "fresh", now - 60, Some(&v(0, 0.6)), 0.1)
        .unwrap();
    e.record_with_importance(3, "vital", now - 10 * day, Some(&v(0, 0.9)), 1.0)
        .unwrap();
    let only = |w: RecallWeights| {
        let r = MemoryRecall::new(&v(0, 0.0), 3).weights(w).now(now);
        e.recall(&r)
            .unwrap()
            .iter()
            .map(|h| h.id)
            .collect::<Vec<_>>()
    };
    let zero = RecallWeights {
        relevance: 0.0,
        recency: 0.0,
        importance: 0.0,
    };
    assert_eq!(
        only(RecallWeights {
            relevance: 1.0,
            ..zero
        })[0],
        1
    );
    assert_eq!(
        only(RecallWeights {
            recency: 1.0,
            ..zero
        })[0],
        2
    );
    assert_eq!(
        only(RecallWeights {
            importance: 1.0,
            ..zero
        })[0],
        3
    );
    // Each part normalized to [0, 1]; the score their weighted mean.
    let hits = e
        .recall(&MemoryRecall::new(&v(0, 0.0), 3).now(now))
        .unwrap();
    for h in &hits {
        for x in [h.relevance, h.recency, h.importance] {
            assert!((0.0..=1.0).contains(&x));
        }
        let mean = (h.relevance + h.recency + h.importance) / 3.0;
        assert!((h.score - mean).abs() < 1e-5);
    }
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    // A half-life of a year makes a month-old memory nearly as recent as a new one.
    let slow = MemoryRecall::new(&v(0, 0.0), 3)
        .now(now)
        .half_life(Duration::from_secs(365 * day as u64));
    let first = &e.recall(&slow).unwrap()[0];
    assert!(first.recency <= 1.0);
    let e2 = MemoryRecall::new(&v(0, 0.0), 1).weights(zero);
    assert_eq!(
        e.recall(&e2).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn scored_recall_with_text_fuses_bm25_through_hybrid() {
    let (_dir, db) = temp_db();
    let m = memory(&db);
    let s = m.semantic();
    // 2 is far by vector but the only one with the words.
    s.store(1, "the cat sat", &v(0, 0.0)).unwrap();
    s.store(2, "quantum chromodynamics lecture", &v(2, 0.0))
        .unwrap();
    s.store(3, "a dog ran", &v(0, 0.1)).unwrap();
    let relevance_only = RecallWeights {
        relevance: 1.0,
        recency: 0.0,
        importance: 0.0,
    };
    let plain = MemoryRecall::new(&v(0, 0.0), 3).weights(relevance_only);
    assert_ne!(s.recall(&plain).unwrap()[0].id, 2);
    let hybrid = plain.clone().text("quantum chromodynamics");
    let hits = s.recall(&hybrid).unwrap();
    assert!(
        hits.iter().position(|h| h.id == 2).unwrap() <= 1,
        "{hits:?}"
    );
    assert_eq!(
        hits.iter().find(|h| h.id == 2).unwrap().payload["content"],
        "quantum chromodynamics lecture"
    );
}

#[test]
fn an_existing_memory_collection_needs_cosine_and_gets_its_text_index() {
    let (_dir, db) = temp_db();
    db.create_collection(SEMANTIC_COLLECTION, 4, nearstore::DistanceMetric::Euclidean)
        .unwrap();
    let e = AgentMemory::with_dimension(&db, 4).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    db.drop_collection(SEMANTIC_COLLECTION).unwrap();
    // Cosine without a text index: the memory adds the field it searches.
    let mut config = nearstore::CollectionConfig::new(4, nearstore::DistanceMetric::Cosine);
    config.text = None;
    let c = db
        .create_collection_with_options(SEMANTIC_COLLECTION, config)
        .unwrap();
    assert!(c.text_config().is_none());
    memory(&db);
    let fields: Vec<String> = c
        .text_config()
        .unwrap()
        .fields
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(fields, ["content"]);
}

#[test]
fn reinforcements_through_two_memory_handles_lose_no_update() {
    let (_dir, db) = temp_db();
    let (a, b) = (memory(&db), memory(&db));
    a.procedural()
        .learn(1, "p", &["s".to_string()], None, 0.5)
        .unwrap();
    std::thread::scope(|s| {
        for m in [&a, &b] {
            s.spawn(move || {
                for _ in 0..50 {
                    m.procedural().reinforce(1, true).unwrap();
                }
            });
        }
    });
    assert_eq!(a.procedural().get(1).unwrap().unwrap().usage_count, 100);
}
