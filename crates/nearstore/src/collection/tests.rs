//! Unit tests of the collection's recovery bookkeeping (scenario tests are in `tests/`).

use std::path::Path;

use serde_json::json;

use super::*;
use crate::point::Point;
use nearstore_distance::DistanceMetric;
use nearstore_index::VectorIndex;
use nearstore_storage::{Backend, FaultyBackend};

fn open(backend: &Arc<FaultyBackend>) -> Collection {
    let dir = Path::new("/db/c");
    let shared: SharedBackend = backend.clone();
    if backend.exists(&dir.join(MANIFEST_FILE)).unwrap() {
        Collection::open(shared, dir).unwrap()
    } else {
        let config = CollectionConfig::new(2, DistanceMetric::Euclidean);
        Collection::create(shared, dir, "c", config).unwrap()
    }
}

#[test]
fn a_reopen_replays_the_log_tail_into_every_component() {
    let backend = Arc::new(FaultyBackend::new());
    {
        let c = open(&backend);
        c.upsert(
            &[
                Point::new(1, vec![0.0, 0.0], Some(json!({"k": 1}))),
                Point::new(2, vec![1.0, 0.0], None),
            ],
            &crate::WriteOptions::default(),
        )
        .unwrap();
        c.flush().unwrap();
        // Leave without the checkpoint a clean close would write.
        c.mark_dropped();
    }
    let c = open(&backend);
    assert_eq!(c.writer.lock().checkpoint_seq, 0);
    assert_eq!(c.state.read().live.len(), 2);
    assert_eq!(
        c.current_payload(1).unwrap().unwrap().as_ref(),
        &json!({"k": 1})
    );
    // The replay leaves new ids to the background indexing (not running here: the
    // collection is not shared), so they wait in the backlog.
    assert_eq!(c.index.len(), 0);
    assert_eq!(c.pending_count(), 2);
    drop(c);
    // The clean close checkpointed: nothing to replay any more.
    let c = open(&backend);
    assert_eq!(c.writer.lock().checkpoint_seq, 1);
    assert_eq!(c.writer.lock().ops.len_bytes(), 0);
    assert_eq!(c.payloads.mark(), 1);
    assert_eq!(c.index.len() as u64 + c.pending_count(), 2);
}

#[test]
fn a_format_2_collection_without_vectorless_ids_opens_with_its_points_and_upgrades() {
    let backend = Arc::new(FaultyBackend::new());
    let dir = Path::new("/db/c");
    {
        let c = open(&backend);
        c.upsert(
            &[
                Point::new(1, vec![0.0, 0.0], Some(json!({"k": 1}))),
                Point::new(2, vec![1.0, 0.0], None),
            ],
            &crate::WriteOptions::default(),
        )
        .unwrap();
    }
    // What a build before points without vectors left: a format 2 manifest and no
    // `vectorless.ids` (every live point had a default vector).
    let shared: SharedBackend = backend.clone();
    let mut m = checkpoint::read_manifest(&shared, dir).unwrap();
    m.format = 2;
    checkpoint::write_manifest(&shared, dir, &m).unwrap();
    backend
        .remove_file(&dir.join(vectorless::VECTORLESS_FILE))
        .unwrap();
    let c = open(&backend);
    assert_eq!(c.state.read().live.len(), 2);
    // A point without a vector, then a checkpoint: the manifest becomes the current format
    // and the point survives the reopen.
    c.upsert(
        &[Point::without_vector(3, Some(json!({"k": 3})))],
        &crate::WriteOptions::default(),
    )
    .unwrap();
    drop(c);
    assert_eq!(
        checkpoint::read_manifest(&shared, dir).unwrap().format,
        checkpoint::MANIFEST_FORMAT
    );
    let c = open(&backend);
    assert_eq!(c.state.read().live.len(), 3);
    assert_eq!(c.index.len(), 2);
    assert_eq!(
        c.current_payload(3).unwrap().unwrap().as_ref(),
        &json!({"k": 3})
    );
}

#[test]
fn a_format_3_collection_without_expiry_times_opens_and_upgrades() {
    let backend = Arc::new(FaultyBackend::new());
    let dir = Path::new("/db/c");
    {
        let c = open(&backend);
        c.upsert(
            &[Point::new(1, vec![0.0, 0.0], None)],
            &crate::WriteOptions::default(),
        )
        .unwrap();
    }
    // What a build before point expiry left: a format 3 manifest and no `expiry.times`.
    let shared: SharedBackend = backend.clone();
    let mut m = checkpoint::read_manifest(&shared, dir).unwrap();
    m.format = 3;
    checkpoint::write_manifest(&shared, dir, &m).unwrap();
    backend.remove_file(&dir.join(expiry::EXPIRY_FILE)).unwrap();
    let c = open(&backend);
    assert_eq!(c.state.read().live.len(), 1);
    assert!(c.state.read().expiry.is_empty());
    c.upsert(
        &[Point::new(2, vec![1.0, 0.0], None).with_expires_at(u64::MAX - 1)],
        &crate::WriteOptions::default(),
    )
    .unwrap();
    drop(c);
    assert_eq!(
        checkpoint::read_manifest(&shared, dir).unwrap().format,
        checkpoint::MANIFEST_FORMAT
    );
    let c = open(&backend);
    assert_eq!(c.state.read().expiry.get(2), Some(u64::MAX - 1));
    assert_eq!(c.state.read().live.len(), 2);
}

#[test]
fn a_format_4_collection_opens_as_a_vector_collection_and_upgrades() {
    let backend = Arc::new(FaultyBackend::new());
    let dir = Path::new("/db/c");
    {
        let c = open(&backend);
        c.upsert(
            &[Point::new(1, vec![0.0, 0.0], None)],
            &crate::WriteOptions::default(),
        )
        .unwrap();
    }
    // What a build before collection kinds left: a format 4 manifest whose configuration
    // has no `kind`.
    let shared: SharedBackend = backend.clone();
    let mut m = checkpoint::read_manifest(&shared, dir).unwrap();
    m.format = 4;
    let json = serde_json::to_value(&m.config).unwrap();
    assert!(json.get("kind").is_none(), "{json}");
    checkpoint::write_manifest(&shared, dir, &m).unwrap();
    let c = open(&backend);
    assert_eq!(c.kind(), crate::CollectionKind::Vector);
    assert!(c.state.read().graph.is_none());
    c.upsert(
        &[Point::new(2, vec![1.0, 0.0], None)],
        &crate::WriteOptions::default(),
    )
    .unwrap();
    drop(c);
    assert_eq!(
        checkpoint::read_manifest(&shared, dir).unwrap().format,
        checkpoint::MANIFEST_FORMAT
    );
    assert_eq!(open(&backend).state.read().live.len(), 2);
}
