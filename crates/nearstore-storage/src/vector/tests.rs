//! Unit tests that need the store's internals.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use super::*;
use crate::backend::FaultyBackend;

fn mem_store(dim: usize) -> VectorStore {
    let backend: SharedBackend = Arc::new(FaultyBackend::new());
    VectorStore::open_with(backend, Path::new("/s"), dim, VectorStoreOptions::default()).unwrap()
}

#[test]
fn a_corrupted_slot_in_the_id_map_is_invalid_data_not_a_wild_read() {
    let store = mem_store(4);
    store.store(1, &[1.0; 4]).unwrap();
    store.set_slot_for_test(1, u32::MAX);
    match store.retrieve_ref(1) {
        Err(Error::Corruption { offset, .. }) => {
            assert_eq!(
                offset,
                crate::format::VECTOR_DATA_HEADER_LEN + u64::from(u32::MAX) * 16
            )
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    assert!(store.retrieve(1).unwrap_err().is_corruption());
}

#[test]
fn a_misaligned_offset_is_invalid_data_not_a_wild_read() {
    let store = mem_store(4);
    store.store(1, &[1.0; 4]).unwrap();
    let mapping = store.index.read().mapping.clone();
    let guards = Arc::new(AtomicUsize::new(0));
    let slot = store.index.read().slots[&1];
    let err = VectorGuard::new(
        mapping.clone(),
        4097,
        4,
        guards.clone(),
        Path::new("v"),
        slot,
    )
    .unwrap_err();
    assert!(err.is_corruption(), "{err}");
    let err = VectorGuard::new(
        mapping,
        u64::MAX - 3,
        4,
        guards.clone(),
        Path::new("v"),
        slot,
    )
    .unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert_eq!(
        guards.load(Ordering::Acquire),
        0,
        "failed guards are not counted"
    );
}

#[test]
fn pending_slots_are_reclaimed_only_once_the_freeing_write_is_durable() {
    let store = mem_store(4);
    store.store(1, &[1.0; 4]).unwrap();
    store.store(1, &[2.0; 4]).unwrap();
    assert_eq!(
        store.writer.lock().pending.len(),
        1,
        "old slot waits for durability"
    );
    store.flush().unwrap();
    assert!(store.writer.lock().pending.is_empty());
}

#[test]
fn a_logged_put_past_the_next_free_slot_is_damage_not_a_huge_file() {
    // A checksummed WAL record claiming slot 2^31 (found by fuzzing: replaying it grew the
    // data file to that slot, gigabytes for a few bytes of log).
    let backend = Arc::new(FaultyBackend::new());
    let shared: SharedBackend = backend.clone();
    let dir = Path::new("/s");
    let dim = 4;
    let store =
        VectorStore::open_with(shared.clone(), dir, dim, VectorStoreOptions::default()).unwrap();
    store.store(1, &[1.0; 4]).unwrap();
    drop(store);
    let wal = dir.join(WAL_FILE);
    let mut bytes = backend.read_file(&wal).unwrap();
    let mut record = wal::WalRecordBuilder::new(1_000, 64);
    record.put(9, 1 << 31, &[0u8; 16]);
    let synced = bytes.len() as u64;
    crate::log::frame(&record.finish(), synced, &mut bytes);
    crate::backend::write_file_atomically(shared.as_ref(), &wal, &bytes).unwrap();
    let Err(err) = VectorStore::open_with(shared, dir, dim, VectorStoreOptions::default()) else {
        panic!("a put past the high-water mark must not open");
    };
    match err {
        Error::Corruption { file, .. } => assert!(file.ends_with(WAL_FILE), "{file:?}"),
        other => panic!("expected corruption, got {other:?}"),
    }
}
