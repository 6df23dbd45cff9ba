//! Damaged logs: torn tails are cut off, damage followed by valid records is reported with its
//! offset, absurd lengths allocate nothing, and no input panics.

use std::path::PathBuf;

use nearstore_storage::format::{LOG_V2_RECORDS_START, RECORD_HEADER_LEN};
use nearstore_storage::{Error, FaultyBackend, PayloadStoreOptions, VectorStoreOptions};
use proptest::prelude::*;
use serde_json::json;

use super::{
    mem_dir, open_mem, open_mem_payloads, power_loss_image, process_crash_image, vector_for,
};
use crate::alloc_probe;

const DIM: usize = 8;
const RECORDS: u64 = 10;

/// (start, end) of every record in a log file.
fn record_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut at = LOG_V2_RECORDS_START as usize;
    while at + RECORD_HEADER_LEN as usize <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        let end = at + RECORD_HEADER_LEN as usize + len;
        spans.push((at, end));
        at = end;
    }
    assert_eq!(at, bytes.len(), "test setup: log parses cleanly");
    spans
}

/// An image (made by `crash`) of a vector store whose WAL holds one record per id
/// 0..RECORDS, each flushed before the next is written.
fn vector_image_by(crash: fn(&FaultyBackend) -> FaultyBackend) -> (FaultyBackend, PathBuf) {
    let backend = FaultyBackend::new();
    let store = open_mem(&backend, DIM, VectorStoreOptions::default());
    for id in 0..RECORDS {
        store.store(id, &vector_for(id, 0, DIM)).unwrap();
        store.flush().unwrap();
    }
    let image = crash(&backend);
    drop(store);
    (image, mem_dir().join("vectors.wal"))
}

/// An image (made by `crash`) of a payload store whose log holds one flushed record per id
/// 0..RECORDS.
fn payload_image_by(crash: fn(&FaultyBackend) -> FaultyBackend) -> (FaultyBackend, PathBuf) {
    let backend = FaultyBackend::new();
    let store = open_mem_payloads(&backend, PayloadStoreOptions::default());
    for id in 0..RECORDS {
        store.store(id, &json!({"id": id})).unwrap();
        store.flush().unwrap();
    }
    let image = crash(&backend);
    drop(store);
    (image, mem_dir().join("payloads.log"))
}

/// The process-crash image: every record durable, and the last flush recorded so.
fn vector_image() -> (FaultyBackend, PathBuf) {
    vector_image_by(process_crash_image)
}

fn payload_image() -> (FaultyBackend, PathBuf) {
    payload_image_by(process_crash_image)
}

fn copy(image: &FaultyBackend) -> FaultyBackend {
    process_crash_image(image)
}

/// Ids present after opening the vector store on `backend`, or the open error.
fn vector_ids(backend: &FaultyBackend) -> Result<Vec<u64>, Error> {
    let shared: nearstore_storage::SharedBackend = std::sync::Arc::new(backend.clone());
    let store = nearstore_storage::VectorStore::open_with(
        shared,
        &mem_dir(),
        DIM,
        VectorStoreOptions::default(),
    )?;
    let mut ids = store.ids();
    ids.sort_unstable();
    for &id in &ids {
        assert_eq!(store.retrieve(id)?.unwrap(), vector_for(id, 0, DIM));
    }
    Ok(ids)
}

fn payload_ids(backend: &FaultyBackend) -> Result<Vec<u64>, Error> {
    let shared: nearstore_storage::SharedBackend = std::sync::Arc::new(backend.clone());
    let store = nearstore_storage::PayloadStore::open_with(
        shared,
        &mem_dir(),
        PayloadStoreOptions::default(),
    )?;
    let mut ids = store.ids();
    ids.sort_unstable();
    for &id in &ids {
        assert_eq!(store.retrieve(id)?.unwrap(), json!({"id": id}));
    }
    Ok(ids)
}

type Opener = fn(&FaultyBackend) -> Result<Vec<u64>, Error>;
type ImageMaker = fn() -> (FaultyBackend, PathBuf);

fn kinds() -> [(&'static str, ImageMaker, Opener); 2] {
    [
        ("vector WAL", vector_image, vector_ids),
        ("payload log", payload_image, payload_ids),
    ]
}

#[test]
fn truncating_a_flushed_log_anywhere_is_corruption_at_the_cut_record() {
    for (name, make, open) in kinds() {
        let (image, log) = make();
        let bytes = image.read_file(&log).unwrap();
        let spans = record_spans(&bytes);
        assert_eq!(spans.len() as u64, RECORDS);
        let mut checked = 0;
        for &(start, end) in spans.iter().skip(spans.len() - 3) {
            // `end` itself: a log cut at a record boundary is as short.
            for cut in start..=end.min(bytes.len() - 1) {
                let b = copy(&image);
                b.replace_file(&log, &bytes[..cut]);
                match open(&b) {
                    Err(Error::Corruption { file, offset, .. }) => {
                        assert_eq!(file, log, "{name} cut at {cut}");
                        assert!(offset <= cut as u64, "{name} cut at {cut}: offset {offset}");
                        assert!(
                            offset >= start as u64,
                            "{name} cut at {cut}: offset {offset}"
                        );
                    }
                    other => panic!("{name} cut at {cut}: expected corruption, got {other:?}"),
                }
                checked += 1;
            }
        }
        assert!(checked > 30, "{name}: {checked} cuts");
    }
}

#[test]
fn after_power_loss_a_cut_in_the_last_flushed_record_is_a_torn_tail() {
    // Power lost right after the last flush's fsync: the slot recording that flush was
    // written after it and never synced, so the last record is not known durable and a cut
    // there recovers every earlier record; a cut in an earlier record is still corruption.
    let images: [(&str, ImageMaker, Opener); 2] = [
        (
            "vector WAL",
            || vector_image_by(power_loss_image),
            vector_ids,
        ),
        (
            "payload log",
            || payload_image_by(power_loss_image),
            payload_ids,
        ),
    ];
    for (name, make, open) in images {
        let (image, log) = make();
        let bytes = image.read_file(&log).unwrap();
        let spans = record_spans(&bytes);
        let k = spans.len() - 1;
        let (start, end) = spans[k];
        for cut in start..end {
            let b = copy(&image);
            b.replace_file(&log, &bytes[..cut]);
            let ids = open(&b).unwrap_or_else(|e| panic!("{name} cut at {cut}: {e}"));
            assert_eq!(
                ids,
                (0..k as u64).collect::<Vec<_>>(),
                "{name} cut at {cut}"
            );
        }
        let (start, end) = spans[k - 1];
        for cut in start..end {
            let b = copy(&image);
            b.replace_file(&log, &bytes[..cut]);
            let err = open(&b)
                .err()
                .unwrap_or_else(|| panic!("{name} cut at {cut}"));
            assert!(err.is_corruption(), "{name} cut at {cut}: {err}");
        }
    }
}

#[test]
fn a_flipped_bit_in_a_middle_record_is_corruption_at_its_offset() {
    for (name, make, open) in kinds() {
        let (image, log) = make();
        let bytes = image.read_file(&log).unwrap();
        let (start, end) = record_spans(&bytes)[5];
        // Magic, length, checksum and body bytes of record 5 (of 10).
        for pos in [start, start + 5, start + 9, start + 12, end - 1] {
            let mut damaged = bytes.clone();
            damaged[pos] ^= 0x10;
            let b = copy(&image);
            b.replace_file(&log, &damaged);
            match open(&b) {
                Err(Error::Corruption { offset, file, .. }) => {
                    assert_eq!(offset, start as u64, "{name}: flip at {pos}");
                    assert_eq!(file, log);
                }
                other => panic!("{name}: flip at {pos}: expected corruption, got {other:?}"),
            }
        }
    }
}

#[test]
fn damage_in_the_unsynced_tail_is_a_torn_tail_not_corruption() {
    // Power loss may persist a later unsynced write without an earlier one: a damaged record
    // followed only by records written after the last fsync is cut off, not reported.
    let backend = FaultyBackend::new();
    let store = open_mem_payloads(&backend, PayloadStoreOptions::default());
    store.store(0, &json!({"id": 0})).unwrap();
    store.flush().unwrap();
    for id in 1..4 {
        store.store(id, &json!({"id": id})).unwrap();
    }
    let image = process_crash_image(&backend);
    drop(store);
    let log = mem_dir().join("payloads.log");
    let mut bytes = image.read_file(&log).unwrap();
    let (start, end) = record_spans(&bytes)[1];
    bytes[start..end].fill(0);
    image.replace_file(&log, &bytes);
    assert_eq!(payload_ids(&image).unwrap(), vec![0]);
}

#[test]
fn a_four_gib_length_field_allocates_nothing() {
    for (name, make, open) in kinds() {
        let (image, log) = make();
        let bytes = image.read_file(&log).unwrap();
        let spans = record_spans(&bytes);
        // Every record of the image is recorded durable: damage in any is corruption.
        for (k, expect_ok) in [(RECORDS as usize - 1, false), (4, false)] {
            let (start, _) = spans[k];
            let mut damaged = bytes.clone();
            damaged[start + 4..start + 8].copy_from_slice(&u32::MAX.to_le_bytes());
            let b = copy(&image);
            b.replace_file(&log, &damaged);
            let (result, peak) = alloc_probe::peak_during(|| open(&b));
            assert!(peak < 64 << 20, "{name}: largest allocation {peak} bytes");
            match result {
                Ok(ids) => {
                    assert!(expect_ok, "{name}: middle damage must be reported");
                    assert_eq!(ids.len(), k);
                }
                Err(e) => assert!(!expect_ok && e.is_corruption(), "{name}: {e}"),
            }
        }
    }
}

/// A damaged file opened through `open` must give Ok or Err, never a panic; an Ok store must
/// be fully readable.
fn damage(bytes: &[u8], edits: &[(usize, u8)], cut: Option<usize>, tail: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for &(pos, v) in edits {
        if !out.is_empty() {
            let p = pos % out.len();
            out[p] = v;
        }
    }
    if let Some(c) = cut {
        out.truncate(c % (out.len() + 1));
    }
    out.extend_from_slice(tail);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn no_damage_to_any_store_file_panics(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<usize>()),
        tail in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let (image, file, payloads): (FaultyBackend, PathBuf, bool) = match which {
            0 => { let (i, p) = vector_image(); (i, p, false) }
            1 => { let (i, _) = vector_image(); (i, mem_dir().join("vectors.idx"), false) }
            2 => { let (i, _) = vector_image(); (i, mem_dir().join("vectors.dat"), false) }
            _ => { let (i, p) = payload_image(); (i, p, true) }
        };
        let bytes = image.read_file(&file).unwrap();
        let b = copy(&image);
        b.replace_file(&file, &damage(&bytes, &edits, cut, &tail));
        let shared: nearstore_storage::SharedBackend = std::sync::Arc::new(b.clone());
        if payloads {
            if let Ok(store) = nearstore_storage::PayloadStore::open_with(shared, &mem_dir(), PayloadStoreOptions::default()) {
                for id in store.ids() {
                    let _ = store.retrieve(id);
                }
            }
        } else if let Ok(store) = nearstore_storage::VectorStore::open_with(shared, &mem_dir(), DIM, VectorStoreOptions::default()) {
            for id in store.ids() {
                let _ = store.retrieve(id);
            }
        }
    }
}
