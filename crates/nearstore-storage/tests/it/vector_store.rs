//! The vector store's required behaviour, one test per line of `spec/storage.md` (1-14).

use std::sync::mpsc;
use std::time::Duration;

use nearstore_storage::format::VECTOR_DATA_HEADER_LEN;
use nearstore_storage::{Error, FaultyBackend, VectorStore, VectorStoreOptions};

use super::{open_mem, process_crash_image, read_bytes, vector_for};

#[test]
fn opening_an_empty_directory_creates_data_file_and_wal_and_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let store = VectorStore::open(dir.path(), 8).unwrap();
    assert!(dir.path().join("vectors.dat").is_file());
    assert!(dir.path().join("vectors.wal").is_file());
    assert_eq!(store.len(), 0);
    assert!(store.is_empty());
}

#[test]
fn stored_vector_reads_back_exactly_and_len_counts_distinct_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = VectorStore::open(dir.path(), 3).unwrap();
    let v = [1.5f32, -0.0, f32::MIN_POSITIVE];
    store.store(7, &v).unwrap();
    store.store(8, &[0.0; 3]).unwrap();
    let back = store.retrieve(7).unwrap().unwrap();
    assert_eq!(
        back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(store.len(), 2);
}

#[test]
fn storing_an_existing_id_replaces_its_vector() {
    let dir = tempfile::tempdir().unwrap();
    let store = VectorStore::open(dir.path(), 2).unwrap();
    store.store(1, &[1.0, 1.0]).unwrap();
    store.store(1, &[2.0, 2.0]).unwrap();
    assert_eq!(store.len(), 1);
    assert_eq!(store.retrieve(1).unwrap().unwrap(), vec![2.0, 2.0]);
}

#[test]
fn retrieving_an_unknown_id_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = VectorStore::open(dir.path(), 2).unwrap();
    assert!(store.retrieve(42).unwrap().is_none());
    store.store(1, &[1.0, 2.0]).unwrap();
    assert!(store.retrieve(42).unwrap().is_none());
}

#[test]
fn delete_hides_the_vector_and_decrements_len() {
    let dir = tempfile::tempdir().unwrap();
    let store = VectorStore::open(dir.path(), 2).unwrap();
    store.store(1, &[1.0, 2.0]).unwrap();
    store.store(2, &[3.0, 4.0]).unwrap();
    assert!(store.delete(1).unwrap());
    assert!(!store.delete(1).unwrap(), "second delete finds nothing");
    assert!(store.retrieve(1).unwrap().is_none());
    assert_eq!(store.len(), 1);
}

#[test]
fn flushed_vectors_survive_reopen_at_every_reference_size() {
    for (count, dim) in [(16u64, 4usize), (100, 32), (5_000, 128), (6_000, 768)] {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = VectorStore::open(dir.path(), dim).unwrap();
            let batch: Vec<(u64, Vec<f32>)> =
                (0..count).map(|id| (id, vector_for(id, 0, dim))).collect();
            store.store_batch(&batch).unwrap();
            store.flush().unwrap();
        }
        let store = VectorStore::open(dir.path(), dim).unwrap();
        assert_eq!(store.len() as u64, count, "{count} x {dim}");
        for id in 0..count {
            assert_eq!(store.retrieve(id).unwrap().unwrap(), vector_for(id, 0, dim));
        }
    }
}

/// State of a store as a sorted list of (id, vector).
fn contents(store: &VectorStore) -> Vec<(u64, Vec<f32>)> {
    let mut ids = store.ids();
    ids.sort_unstable();
    ids.into_iter()
        .map(|id| (id, store.retrieve(id).unwrap().unwrap()))
        .collect()
}

#[test]
fn unflushed_writes_are_recovered_from_the_wal_after_a_crash() {
    let dim = 128;
    let options = VectorStoreOptions::default();
    // A batch, and the same writes as single stores, recover to the same state.
    let batched = FaultyBackend::new();
    let singles = FaultyBackend::new();
    {
        let a = open_mem(&batched, dim, options);
        let b = open_mem(&singles, dim, options);
        let big: Vec<(u64, Vec<f32>)> = (0..100).map(|id| (id, vector_for(id, 1, dim))).collect();
        a.store_batch(&big).unwrap();
        for (id, v) in &big {
            b.store(*id, v).unwrap();
        }
        // A second batch does not contaminate the first; singles after a batch recover too.
        let second: Vec<(u64, Vec<f32>)> =
            (50..60).map(|id| (id, vector_for(id, 2, dim))).collect();
        a.store_batch(&second).unwrap();
        b.store_batch(&second).unwrap();
        a.store(500, &vector_for(500, 3, dim)).unwrap();
        b.store(500, &vector_for(500, 3, dim)).unwrap();
        let a_image = process_crash_image(&batched);
        let b_image = process_crash_image(&singles);
        let a2 = open_mem(&a_image, dim, options);
        let b2 = open_mem(&b_image, dim, options);
        let (ca, cb) = (contents(&a2), contents(&b2));
        assert_eq!(ca, cb);
        assert_eq!(ca.len(), 101);
        assert_eq!(a2.retrieve(55).unwrap().unwrap(), vector_for(55, 2, dim));
        assert_eq!(a2.retrieve(10).unwrap().unwrap(), vector_for(10, 1, dim));
        assert!(a2.metrics().wal_records_replayed >= 3);
    }
}

#[test]
fn retrieve_ref_reads_in_place_and_sees_updates_in_later_guards() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 768;
    let store = VectorStore::open(dir.path(), dim).unwrap();
    store.store(1, &vector_for(1, 0, dim)).unwrap();
    store.store(2, &vector_for(2, 0, dim)).unwrap();
    let g1 = store.retrieve_ref(1).unwrap().unwrap();
    let g1b = store.retrieve_ref(1).unwrap().unwrap();
    let g2 = store.retrieve_ref(2).unwrap().unwrap();
    assert_eq!(
        g1.as_ptr(),
        g1b.as_ptr(),
        "two guards share the mapped bytes: no copy"
    );
    assert_eq!(&*g1, vector_for(1, 0, dim).as_slice());
    assert_eq!(&*g2, vector_for(2, 0, dim).as_slice());
    store.store(1, &vector_for(1, 9, dim)).unwrap();
    let fresh = store.retrieve_ref(1).unwrap().unwrap();
    assert_eq!(&*fresh, vector_for(1, 9, dim).as_slice());
    assert_eq!(
        &*g1,
        vector_for(1, 0, dim).as_slice(),
        "an old guard keeps its vector"
    );
    assert!(store.retrieve_ref(99).unwrap().is_none());
}

#[test]
fn guards_from_an_old_mapping_stay_valid_across_remaps_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 64;
    let store = VectorStore::open(dir.path(), dim).unwrap();
    store.store(0, &vector_for(0, 0, dim)).unwrap();
    let guard = store.retrieve_ref(0).unwrap().unwrap();
    let remaps = store.metrics().remap_count;
    let batch: Vec<(u64, Vec<f32>)> = (1..40_000).map(|id| (id, vector_for(id, 0, dim))).collect();
    store.store_batch(&batch).unwrap();
    assert!(
        store.metrics().remap_count > remaps,
        "the file grew and was remapped"
    );
    store
        .delete_batch(&(1..20_000).collect::<Vec<_>>())
        .unwrap();
    assert!(store.compact().unwrap() > 0);
    assert_eq!(&*guard, vector_for(0, 0, dim).as_slice());
    assert_eq!(
        store.retrieve(30_000).unwrap().unwrap(),
        vector_for(30_000, 0, dim)
    );
}

#[test]
fn growth_is_geometric_and_reserve_capacity_avoids_remaps() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 128;
    let store = VectorStore::open(dir.path(), dim).unwrap();
    let initial = std::fs::metadata(dir.path().join("vectors.dat"))
        .unwrap()
        .len();
    assert!(
        (1 << 20..=16 << 20).contains(&initial),
        "starts with a few MiB: {initial}"
    );
    for id in 0..5_000u64 {
        store.store(id, &vector_for(id, 0, dim)).unwrap();
    }
    assert!(
        store.metrics().remap_count <= 4,
        "only a handful of remaps: {:?}",
        store.metrics()
    );

    let dir2 = tempfile::tempdir().unwrap();
    let reserved = VectorStore::open(dir2.path(), dim).unwrap();
    reserved.reserve_capacity(50_000).unwrap();
    let before = reserved.metrics().remap_count;
    let batch: Vec<(u64, Vec<f32>)> = (0..50_000).map(|id| (id, vector_for(id, 0, dim))).collect();
    for chunk in batch.chunks(1000) {
        reserved.store_batch(chunk).unwrap();
    }
    assert_eq!(
        reserved.metrics().remap_count,
        before,
        "no remap after reserve_capacity"
    );
}

#[test]
fn metrics_record_remaps_and_grow_latency_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    let store = VectorStore::open(dir.path(), 256).unwrap();
    for id in 0..10_000u64 {
        store.store(id, &vector_for(id, 0, 256)).unwrap();
    }
    let m = store.metrics();
    assert!(m.remap_count >= 1);
    assert!(m.bytes_remapped >= 10_000 * 256 * 4);
    let l = m.grow_latency;
    assert!(l.count >= 10_000, "every write checks capacity: {l:?}");
    assert!(
        l.p50_ns <= l.p95_ns && l.p95_ns <= l.p99_ns && l.p99_ns <= l.max_ns,
        "{l:?}"
    );
}

#[test]
fn deletes_leave_holes_that_compaction_reclaims() {
    let dir = tempfile::tempdir().unwrap();
    let store = VectorStore::open(dir.path(), 4).unwrap();
    assert_eq!(store.fragmentation_ratio(), 0.0);
    assert_eq!(
        store.compact().unwrap(),
        0,
        "nothing to reclaim in an empty store"
    );
    for id in 0..4 {
        store.store(id, &vector_for(id, 0, 4)).unwrap();
    }
    assert_eq!(store.fragmentation_ratio(), 0.0);
    store.delete(0).unwrap();
    store.delete(2).unwrap();
    assert!((store.fragmentation_ratio() - 0.5).abs() < 1e-9);

    let dir = tempfile::tempdir().unwrap();
    let store = VectorStore::open(dir.path(), 4).unwrap();
    for id in 0..10 {
        store.store(id, &vector_for(id, 0, 4)).unwrap();
    }
    for id in [1, 3, 5, 7, 9] {
        store.delete(id).unwrap();
    }
    assert!((store.fragmentation_ratio() - 0.5).abs() < 1e-9);
    assert_eq!(
        store.compact().unwrap(),
        80,
        "5 deleted 4-d vectors are 80 bytes"
    );
    assert!(store.fragmentation_ratio() < 1e-9);
    assert_eq!(store.compact().unwrap(), 0);
    for id in 0..10 {
        let got = store.retrieve(id).unwrap();
        assert_eq!(got.is_some(), id % 2 == 0, "id {id}");
        if let Some(v) = got {
            assert_eq!(v, vector_for(id, 0, 4));
        }
    }
    // The store keeps working after compaction: growth and reopen keep every vector.
    let more: Vec<(u64, Vec<f32>)> = (100..400_000)
        .map(|id| (id, vector_for(id, 0, 4)))
        .collect();
    store.store_batch(&more).unwrap();
    drop(store);
    let store = VectorStore::open(dir.path(), 4).unwrap();
    assert_eq!(store.len(), 5 + more.len());
    assert_eq!(store.retrieve(8).unwrap().unwrap(), vector_for(8, 0, 4));
    assert_eq!(
        store.retrieve(399_999).unwrap().unwrap(),
        vector_for(399_999, 0, 4)
    );
}

#[test]
fn deleting_punches_a_hole_and_leaves_the_neighbours_untouched() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    // 1024-d slots are exactly one 4 KiB block, so the hole frees whole blocks.
    let dim = 1024;
    let store = VectorStore::open(dir.path(), dim).unwrap();
    for id in 0..3 {
        store.store(id, &vector_for(id, 0, dim)).unwrap();
    }
    store.flush().unwrap();
    let path = dir.path().join("vectors.dat");
    let blocks_before = std::fs::metadata(&path).unwrap().blocks();
    store.delete(1).unwrap();
    store.flush().unwrap();
    let bytes = read_bytes(&path);
    let slot = |i: usize| {
        let at = VECTOR_DATA_HEADER_LEN as usize + i * dim * 4;
        bytes[at..at + dim * 4].to_vec()
    };
    let as_bytes = |v: Vec<f32>| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    assert!(
        slot(1).iter().all(|&b| b == 0),
        "the deleted slot reads as zeros"
    );
    assert_eq!(slot(0), as_bytes(vector_for(0, 0, dim)));
    assert_eq!(slot(2), as_bytes(vector_for(2, 0, dim)));
    let blocks_after = std::fs::metadata(&path).unwrap().blocks();
    assert!(
        blocks_after < blocks_before,
        "blocks released: {blocks_before} -> {blocks_after}"
    );
}

#[test]
fn holes_are_not_punched_while_a_guard_could_read_the_slot() {
    let dir = tempfile::tempdir().unwrap();
    let store = VectorStore::open(dir.path(), 1024).unwrap();
    store.store(1, &vector_for(1, 0, 1024)).unwrap();
    let guard = store.retrieve_ref(1).unwrap().unwrap();
    store.delete(1).unwrap();
    store.flush().unwrap();
    assert_eq!(&*guard, vector_for(1, 0, 1024).as_slice());
}

#[test]
fn dropping_a_store_returns_promptly_even_with_guards_alive() {
    let dir = tempfile::tempdir().unwrap();
    let store = VectorStore::open(dir.path(), 16).unwrap();
    store.store(1, &[1.0; 16]).unwrap();
    let guard = store.retrieve_ref(1).unwrap().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        drop(store);
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("drop finished instead of blocking");
    assert_eq!(guard[0], 1.0, "guard outlives its store");
}

#[test]
fn a_second_open_of_the_same_directory_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let _store = VectorStore::open(dir.path(), 4).unwrap();
    match VectorStore::open(dir.path(), 4) {
        Err(Error::Locked { path }) => assert_eq!(path, dir.path()),
        other => panic!("expected Locked, got {other:?}"),
    }
}

#[test]
fn wrong_dimension_is_a_clear_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = VectorStore::open(dir.path(), 4).unwrap();
        store.store(1, &[1.0; 4]).unwrap();
        match store.store(2, &[1.0; 3]) {
            Err(Error::DimensionMismatch {
                expected: 4,
                actual: 3,
            }) => {}
            other => panic!("expected DimensionMismatch, got {other:?}"),
        }
        assert!(
            store
                .store_batch(&[(3, vec![1.0; 4]), (4, vec![1.0; 5])])
                .is_err()
        );
        assert_eq!(store.len(), 1, "a bad batch stores nothing");
    }
    assert!(matches!(
        VectorStore::open(dir.path(), 8),
        Err(Error::DimensionMismatch {
            expected: 4,
            actual: 8
        })
    ));
    assert!(VectorStore::open(dir.path(), 0).is_err());
}
