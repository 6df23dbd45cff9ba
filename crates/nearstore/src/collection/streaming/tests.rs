//! Unit tests of the streaming queue's bookkeeping against the operation log (scenario
//! tests are in `tests/it/streaming.rs`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::CollectionConfig;
use crate::request::WriteOptions;
use nearstore_distance::DistanceMetric;
use nearstore_storage::{Backend, FaultyBackend, SharedBackend};

fn open(backend: &Arc<FaultyBackend>) -> VectorCollection {
    let dir = Path::new("/db/c");
    let shared: SharedBackend = backend.clone();
    let inner = if backend
        .exists(&dir.join(super::super::MANIFEST_FILE))
        .unwrap()
    {
        Collection::open(shared, dir).unwrap()
    } else {
        let config = CollectionConfig::new(2, DistanceMetric::Euclidean);
        Collection::create(shared, dir, "c", config).unwrap()
    };
    VectorCollection {
        inner: inner.into_shared(),
    }
}

fn paused(c: &VectorCollection, buffer_size: usize) {
    c.enable_streaming(StreamingConfig {
        buffer_size,
        batch_size: 2,
        flush_interval: Duration::from_secs(3600),
    })
    .unwrap();
    c.set_streaming_paused(true).unwrap();
}

fn point(id: u64) -> Point {
    Point::new(id, vec![id as f32, 0.0], None)
}

#[test]
fn a_refused_batch_logs_nothing_and_queues_nothing() {
    let backend = Arc::new(FaultyBackend::new());
    let c = open(&backend);
    paused(&c, 3);
    c.stream_insert_batch(vec![point(1), point(2)]).unwrap();
    let seq = c.inner.writer.lock().ops.next_seq();
    let e = c.stream_insert_batch(vec![point(3), point(4)]).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Overloaded);
    assert_eq!(c.inner.writer.lock().ops.next_seq(), seq);
    assert_eq!(c.inner.writer.lock().stream.points.len(), 2);
    assert_eq!(c.streaming_status().unwrap().queued, 2);
}

#[test]
fn a_checkpoint_applies_the_queue_before_it_empties_the_log() {
    let backend = Arc::new(FaultyBackend::new());
    {
        let c = open(&backend);
        paused(&c, 10);
        c.stream_insert_batch(vec![point(1), point(2)]).unwrap();
        assert_eq!(c.inner.state.read().live.len(), 0, "queued, not applied");
        c.inner.checkpoint().unwrap();
        assert_eq!(c.inner.state.read().live.len(), 2);
        assert_eq!(c.inner.writer.lock().ops.len_bytes(), 0);
        assert_eq!(c.streaming_status().unwrap().queued, 0);
        // Leave without a clean close: the checkpoint alone must hold the points.
        c.inner.mark_dropped();
    }
    let c = open(&backend);
    assert_eq!(c.inner.state.read().live.len(), 2);
}

#[test]
fn another_write_applies_the_queue_first_so_the_later_write_wins() {
    let backend = Arc::new(FaultyBackend::new());
    let c = open(&backend);
    paused(&c, 10);
    c.stream_insert(point(1)).unwrap();
    c.inner
        .upsert(
            &[Point::new(1, vec![9.0, 9.0], None)],
            &WriteOptions::default(),
        )
        .unwrap();
    assert_eq!(c.inner.writer.lock().stream.points.len(), 0);
    assert_eq!(
        c.get(&[1]).unwrap()[0].as_ref().unwrap().vector,
        vec![9.0, 9.0]
    );
}

#[test]
fn a_poisoned_collection_keeps_its_queue_and_refuses_a_checkpoint() {
    let backend = Arc::new(FaultyBackend::new());
    let c = open(&backend);
    paused(&c, 10);
    c.stream_insert(point(1)).unwrap();
    c.inner.writer.lock().poisoned = Some("test".into());
    let e = c.inner.checkpoint().unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Conflict);
    assert_eq!(c.inner.writer.lock().stream.points.len(), 1);
}

#[test]
fn zero_sizes_are_refused() {
    let backend = Arc::new(FaultyBackend::new());
    let c = open(&backend);
    for (buffer_size, batch_size) in [(0, 1), (1, 0)] {
        let e = c
            .enable_streaming(StreamingConfig {
                buffer_size,
                batch_size,
                flush_interval: Duration::ZERO,
            })
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
    }
    assert!(c.streaming_status().is_none());
}

#[test]
fn a_flush_interval_over_an_hour_is_refused() {
    let backend = Arc::new(FaultyBackend::new());
    let c = open(&backend);
    for flush_interval in [MAX_FLUSH_INTERVAL + Duration::from_millis(1), Duration::MAX] {
        let e = c
            .enable_streaming(StreamingConfig {
                buffer_size: 10,
                batch_size: 2,
                flush_interval,
            })
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{e}");
    }
    assert!(c.streaming_status().is_none());
    c.enable_streaming(StreamingConfig {
        buffer_size: 10,
        batch_size: 2,
        flush_interval: MAX_FLUSH_INTERVAL,
    })
    .unwrap();
    assert!(c.streaming_status().is_some());
}

#[test]
fn a_drain_thread_that_stops_on_a_poisoned_collection_turns_streaming_off() {
    let backend = Arc::new(FaultyBackend::new());
    let c = open(&backend);
    paused(&c, 10);
    c.stream_insert_batch(vec![point(1), point(2)]).unwrap();
    c.inner.writer.lock().poisoned = Some("test".into());
    c.set_streaming_paused(false).unwrap();
    // The thread finds a due batch it cannot apply and ends; wait for it by joining.
    let thread = c.inner.streaming.lock().as_mut().unwrap().thread.take();
    thread.unwrap().join().unwrap();
    assert!(c.streaming_status().is_none());
    assert!(c.inner.writer.lock().stream.config.is_none());
    assert_eq!(
        c.inner.writer.lock().stream.points.len(),
        2,
        "kept for the log"
    );
}
