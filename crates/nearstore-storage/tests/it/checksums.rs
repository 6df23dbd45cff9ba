//! Checksums of what a store reads back after a checkpoint: every vector slot carries a CRC
//! (in `vectors.idx`) verified at open and on every read; a payload log shorter than the
//! extent its owner's checkpoint recorded is refused, untouched; version 1 checkpoints are
//! upgraded.

use nearstore_storage::format::{
    Encode, VECTOR_DATA_HEADER_LEN, VECTOR_INDEX_HEADER_LEN, VECTOR_INDEX_MAGIC,
};
use nearstore_storage::payload::PayloadExtent;
use nearstore_storage::{Error, PayloadStore, PayloadStoreOptions, VectorStore, fs_backend};
use serde_json::json;

use super::vector_for;

const DIM: usize = 8;

fn checkpointed_store(dir: &std::path::Path) {
    let store = VectorStore::open(dir, DIM).unwrap();
    for id in 0..10 {
        store.store(id, &vector_for(id, 0, DIM)).unwrap();
    }
    store.checkpoint().unwrap();
}

#[test]
fn a_flipped_bit_in_a_checkpointed_slot_is_refused_at_open_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    checkpointed_store(dir.path());
    let data = dir.path().join("vectors.dat");
    let slot_at = VECTOR_DATA_HEADER_LEN + 4 * (DIM as u64 * 4);
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[slot_at as usize + 9] ^= 0x04;
    std::fs::write(&data, &bytes).unwrap();
    match VectorStore::open(dir.path(), DIM) {
        Err(Error::Corruption { file, offset, .. }) => {
            assert_eq!(file, data);
            assert_eq!(offset, slot_at);
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    let report = nearstore_storage::inspect::inspect(fs_backend().as_ref(), dir.path()).unwrap();
    assert!(!report.all_checksums_ok(), "{report:?}");
}

#[test]
fn a_slot_damaged_while_open_is_refused_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = VectorStore::open(dir.path(), DIM).unwrap();
    for id in 0..4 {
        store.store(id, &vector_for(id, 0, DIM)).unwrap();
    }
    store.flush().unwrap();
    // The mapping is shared: a write through another handle is what the media would serve.
    let data = dir.path().join("vectors.dat");
    let file = std::fs::OpenOptions::new().write(true).open(&data).unwrap();
    let slot_at = VECTOR_DATA_HEADER_LEN + 2 * (DIM as u64 * 4);
    std::os::unix::fs::FileExt::write_all_at(&file, &[0u8; 4], slot_at).unwrap();
    assert_eq!(store.retrieve(1).unwrap(), Some(vector_for(1, 0, DIM)));
    let e = store.retrieve(2).unwrap_err();
    assert!(e.is_corruption(), "{e}");
    assert!(e.to_string().contains(&format!("at byte {slot_at}")), "{e}");
}

#[test]
fn a_batch_read_passes_each_held_id_at_its_place_and_stops_at_a_damaged_slot() {
    let dir = tempfile::tempdir().unwrap();
    let store = VectorStore::open(dir.path(), DIM).unwrap();
    for id in 0..100 {
        store.store(id, &vector_for(id, 0, DIM)).unwrap();
    }
    store.flush().unwrap();
    // Out of order, unknown ids between, longer than one lookup chunk (32 ids).
    let ids: Vec<u64> = (0..90u64)
        .map(|i| (i * 37) % 100 + (i % 9 == 4) as u64 * 1000)
        .collect();
    let mut read = Vec::new();
    store
        .with_vectors(&ids, &mut |i, v| read.push((i, v.to_vec())))
        .unwrap();
    let want: Vec<(usize, Vec<f32>)> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| **id < 100)
        .map(|(i, &id)| (i, vector_for(id, 0, DIM)))
        .collect();
    assert_eq!(read, want);
    // A slot damaged behind the store's back: the batch passes the vectors before it, then
    // fails naming the file and the slot's offset.
    let data = dir.path().join("vectors.dat");
    let file = std::fs::OpenOptions::new().write(true).open(&data).unwrap();
    let slot_at = VECTOR_DATA_HEADER_LEN + 50 * (DIM as u64 * 4);
    std::os::unix::fs::FileExt::write_all_at(&file, &[0xffu8; 4], slot_at).unwrap();
    let mut passed = Vec::new();
    let e = store
        .with_vectors(&[3, 40, 50, 60], &mut |i, _| passed.push(i))
        .unwrap_err();
    assert_eq!(passed, vec![0, 1]);
    match e {
        Error::Corruption { file, offset, .. } => {
            assert_eq!(file, data);
            assert_eq!(offset, slot_at);
        }
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]
fn a_version_1_checkpoint_is_upgraded_at_open() {
    let dir = tempfile::tempdir().unwrap();
    checkpointed_store(dir.path());
    // Rewrite vectors.idx in the version 1 layout: 12-byte entries, no slot CRC.
    let idx = dir.path().join("vectors.idx");
    let v2 = std::fs::read(&idx).unwrap();
    let header = VECTOR_INDEX_HEADER_LEN as usize;
    let mut v1 = v2[..header].to_vec();
    v1[8..12].copy_from_slice(&1u32.to_le_bytes());
    for entry in v2[header..v2.len() - 4].chunks_exact(16) {
        v1.extend_from_slice(&entry[..12]);
    }
    let crc = crc32c::crc32c(&v1);
    v1.put_u32(crc);
    std::fs::write(&idx, &v1).unwrap();
    assert_eq!(&v1[..8], &VECTOR_INDEX_MAGIC);

    let store = VectorStore::open(dir.path(), DIM).unwrap();
    for id in 0..10 {
        assert_eq!(store.retrieve(id).unwrap(), Some(vector_for(id, 0, DIM)));
    }
    let upgraded = std::fs::read(&idx).unwrap();
    assert_eq!(u32::from_le_bytes(upgraded[8..12].try_into().unwrap()), 2);
    assert_eq!(
        upgraded, v2,
        "the upgrade writes the same checkpoint version 2 would"
    );
}

#[test]
fn a_payload_log_shorter_than_its_extent_is_refused_and_left_as_found() {
    let dir = tempfile::tempdir().unwrap();
    let (len1, extent) = {
        let store = PayloadStore::open(dir.path()).unwrap();
        store.apply(&[(1, Some(&json!({"v": 1})))], 1).unwrap();
        store.flush().unwrap();
        let len1 = store.log_len();
        store.apply(&[(1, Some(&json!({"v": 2})))], 2).unwrap();
        store.flush().unwrap();
        (
            len1,
            PayloadExtent {
                len: store.log_len(),
                mark: store.mark(),
            },
        )
    };
    let log = dir.path().join("payloads.log");
    let options = PayloadStoreOptions {
        expected: extent,
        ..PayloadStoreOptions::default()
    };
    // Garbage after the extent is a torn tail: cut off, nothing lost.
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(&[0xAB; 100]);
    std::fs::write(&log, &bytes).unwrap();
    let store = PayloadStore::open_with(fs_backend(), dir.path(), options).unwrap();
    assert_eq!(store.retrieve(1).unwrap(), Some(json!({"v": 2})));
    drop(store);
    // Cut inside the second group: the valid records end at the first group's end.
    let cut = extent.len - 3;
    let file = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    file.set_len(cut).unwrap();
    drop(file);
    match PayloadStore::open_with(fs_backend(), dir.path(), options) {
        Err(Error::Corruption { file, offset, .. }) => {
            assert_eq!(file, log);
            // The log's own durable claim catches the cut at the record it shortened (the
            // extent check would name the group's start, `len1`): either is in the group.
            assert!(
                (len1..cut).contains(&offset),
                "{offset} not in {len1}..{cut}"
            );
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    assert_eq!(
        std::fs::metadata(&log).unwrap().len(),
        cut,
        "nothing was cut off"
    );
    // Without an extent (a store that is not part of a collection) the log's own durable
    // claim refuses it as well: the flush recorded the second group durable.
    match PayloadStore::open(dir.path()) {
        Err(Error::Corruption { file, .. }) => assert_eq!(file, log),
        other => panic!("expected corruption, got {other:?}"),
    }
}
