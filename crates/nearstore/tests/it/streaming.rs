//! Streaming ingest: backpressure (made deterministic with a paused drain), validation
//! before anything is queued, ordering against other writes (log order wins), visibility
//! after `flush`, expiry of streamed points, and shutdown with a full queue. Durability
//! across `kill -9` and power loss is in `kill9.rs` / `power_loss.rs` (their workload
//! streams).

use std::sync::Arc;
use std::time::{Duration, Instant};

use nearstore::{
    Database, DistanceMetric, Error, ErrorKind, ManualWallClock, Point, StreamingConfig,
    VectorCollection,
};
use serde_json::json;

use super::temp_db;

fn point(id: u64, version: u64) -> Point {
    Point::new(
        id,
        vec![id as f32, version as f32],
        Some(json!({"v": version})),
    )
}

fn version(c: &VectorCollection, id: u64) -> Option<u64> {
    let p = c.get(&[id]).unwrap().swap_remove(0)?;
    p.payload?.get("v")?.as_u64()
}

/// A paused stream over a queue of `buffer_size` points (the drain never runs by itself).
fn paused(db: &Database, name: &str, buffer_size: usize) -> VectorCollection {
    let c = db
        .create_collection(name, 2, DistanceMetric::Euclidean)
        .unwrap();
    c.enable_streaming(StreamingConfig {
        buffer_size,
        batch_size: 2,
        flush_interval: Duration::from_millis(250),
    })
    .unwrap();
    c.set_streaming_paused(true).unwrap();
    c
}

#[test]
fn a_full_queue_refuses_at_once_with_capacity_and_retry_after_and_queues_nothing() {
    let (_dir, db) = temp_db();
    let c = paused(&db, "s", 4);
    c.stream_insert_batch((0..3).map(|id| point(id, 1)).collect())
        .unwrap();
    c.stream_insert(point(3, 1)).unwrap();
    let e = c.stream_insert(point(4, 1)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    match e {
        Error::Overloaded {
            collection,
            capacity,
            queued,
            offered,
            retry_after,
        } => {
            assert_eq!(
                (collection.as_str(), capacity, queued, offered),
                ("s", 4, 4, 1)
            );
            assert_eq!(retry_after, Duration::from_millis(250));
        }
        other => panic!("{other}"),
    }
    let status = c.streaming_status().unwrap();
    assert_eq!(
        (status.queued, status.capacity, status.paused),
        (4, 4, true)
    );
    // Queued points are not visible yet; a flush applies them.
    assert_eq!(c.len(), 0);
    c.flush().unwrap();
    assert_eq!(c.len(), 4);
    assert_eq!(version(&c, 4), None, "the refused point was not written");
    assert_eq!(c.streaming_status().unwrap().queued, 0);
    // Room again; a batch that can never fit is a different error.
    c.stream_insert(point(4, 1)).unwrap();
    let e = c
        .stream_insert_batch((10..15).map(|id| point(id, 1)).collect())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn a_batch_that_does_not_fit_whole_is_refused_whole() {
    let (_dir, db) = temp_db();
    let c = paused(&db, "s", 4);
    c.stream_insert_batch((0..3).map(|id| point(id, 1)).collect())
        .unwrap();
    let e = c
        .stream_insert_batch(vec![point(10, 1), point(11, 1)])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    c.flush().unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!((version(&c, 10), version(&c, 11)), (None, None));
}

#[test]
fn bad_points_are_refused_before_anything_is_queued() {
    let (_dir, db) = temp_db();
    let c = paused(&db, "s", 10);
    let bad_dim = Point::new(1, vec![1.0, 2.0, 3.0], None);
    let nan = Point::new(2, vec![f32::NAN, 0.0], None);
    for bad in [bad_dim, nan] {
        let e = c.stream_insert_batch(vec![point(0, 1), bad]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
    assert_eq!(c.streaming_status().unwrap().queued, 0);
    c.flush().unwrap();
    assert_eq!(c.len(), 0);
}

#[test]
fn streaming_must_be_enabled_and_disabling_applies_the_queue() {
    let (_dir, db) = temp_db();
    let c = db
        .create_collection("s", 2, DistanceMetric::Euclidean)
        .unwrap();
    let e = c.stream_insert(point(1, 1)).unwrap_err();
    assert!(matches!(e, Error::StreamingDisabled(_)), "{e}");
    assert!(c.streaming_status().is_none());
    let c = paused(&db, "t", 10);
    c.stream_insert_batch((0..5).map(|id| point(id, 1)).collect())
        .unwrap();
    c.disable_streaming().unwrap();
    assert_eq!(c.len(), 5);
    assert!(c.streaming_status().is_none());
    assert!(matches!(
        c.stream_insert(point(9, 1)),
        Err(Error::StreamingDisabled(_))
    ));
}

#[test]
fn writes_apply_in_log_order_a_later_upsert_wins_over_an_earlier_stream() {
    let (dir, db) = temp_db();
    let c = paused(&db, "s", 10);
    c.stream_insert(point(1, 1)).unwrap();
    c.upsert(vec![point(1, 2)]).unwrap();
    assert_eq!(version(&c, 1), Some(2));
    // And the other way round: the stream logged after the upsert wins once applied.
    c.upsert(vec![point(2, 1)]).unwrap();
    c.stream_insert(point(2, 2)).unwrap();
    assert_eq!(version(&c, 2), Some(1), "queued, not applied yet");
    c.flush().unwrap();
    assert_eq!(version(&c, 2), Some(2));
    // A delete after a stream deletes it.
    c.stream_insert(point(3, 1)).unwrap();
    assert_eq!(c.delete(&[3]).unwrap(), 1);
    drop((c, db));
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_vector_collection("s").unwrap();
    assert_eq!(
        (version(&c, 1), version(&c, 2), version(&c, 3)),
        (Some(2), Some(2), None)
    );
}

#[test]
fn the_drain_thread_applies_a_resumed_queue_by_itself() {
    let (_dir, db) = temp_db();
    let c = paused(&db, "s", 100);
    c.stream_insert_batch((0..7).map(|id| point(id, 1)).collect())
        .unwrap();
    assert_eq!(c.len(), 0);
    c.set_streaming_paused(false).unwrap();
    // Waits on the condition with a deadline (the drain runs within 250 ms).
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.streaming_status().unwrap().queued > 0 {
        assert!(
            Instant::now() < deadline,
            "the drain never applied the queue"
        );
        std::thread::yield_now();
    }
    assert_eq!(c.len(), 7);
    assert_eq!(version(&c, 6), Some(1));
}

#[test]
fn a_streamed_ttl_counts_from_the_write_and_expires() {
    let (_dir, db) = temp_db();
    let clock = Arc::new(ManualWallClock::new(1_000_000));
    db.set_wall_clock(clock.clone());
    let c = paused(&db, "s", 10);
    c.stream_insert(point(1, 1).with_ttl(Duration::from_secs(10)))
        .unwrap();
    // Applied later: the time still counts from the write.
    clock.advance(Duration::from_secs(5));
    c.flush().unwrap();
    assert_eq!(c.expires_at(1), Some(1_010_000));
    clock.advance(Duration::from_secs(5));
    assert_eq!(version(&c, 1), None);
}

#[test]
fn closing_with_a_full_paused_queue_neither_hangs_nor_loses_a_point() {
    let (dir, db) = temp_db();
    let c = paused(&db, "s", 50);
    c.stream_insert_batch((0..50).map(|id| point(id, 3)).collect())
        .unwrap();
    assert!(c.stream_insert(point(99, 3)).is_err());
    // A second, running stream too.
    let r = db
        .create_collection("r", 2, DistanceMetric::Euclidean)
        .unwrap();
    r.enable_streaming(StreamingConfig::default()).unwrap();
    r.stream_insert_batch((0..20).map(|id| point(id, 4)).collect())
        .unwrap();
    drop((c, r, db));
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_vector_collection("s").unwrap();
    let r = db.get_vector_collection("r").unwrap();
    assert_eq!((c.len(), r.len()), (50, 20));
    assert_eq!((version(&c, 49), version(&r, 19)), (Some(3), Some(4)));
    assert!(c.streaming_status().is_none(), "streaming is not persisted");
}

#[test]
fn many_concurrent_streamers_lose_nothing() {
    let (_dir, db) = temp_db();
    let c = db
        .create_collection("s", 2, DistanceMetric::Euclidean)
        .unwrap();
    c.enable_streaming(StreamingConfig {
        buffer_size: 100_000,
        batch_size: 64,
        flush_interval: Duration::from_millis(1),
    })
    .unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let c = c.clone();
            s.spawn(move || {
                for i in 0..250 {
                    c.stream_insert(point(t * 1000 + i, t)).unwrap();
                }
            });
        }
    });
    c.flush().unwrap();
    assert_eq!(c.len(), 1000);
    assert_eq!(version(&c, 3249), Some(3));
}

#[test]
fn dropping_a_streaming_collection_stops_its_drain_and_handles_answer_not_found() {
    let (_dir, db) = temp_db();
    let c = paused(&db, "s", 10);
    c.stream_insert(point(1, 1)).unwrap();
    db.drop_collection("s").unwrap();
    assert_eq!(
        c.stream_insert(point(2, 1)).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(c.streaming_status().is_none());
}

#[test]
fn closing_the_database_stops_the_drain_threads_of_collections_still_held() {
    let (_dir, db) = super::temp_db();
    let c = db
        .create_collection("s", 2, nearstore::DistanceMetric::Euclidean)
        .unwrap();
    c.enable_streaming(nearstore::StreamingConfig::default())
        .unwrap();
    assert!(c.streaming_status().is_some());
    drop(db);
    assert!(
        c.streaming_status().is_none(),
        "no drain thread outlives the database"
    );
}
