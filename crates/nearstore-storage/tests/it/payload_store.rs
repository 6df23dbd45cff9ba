//! The payload store's required behaviour (`spec/storage.md` lines 15-17).

use nearstore_storage::{Durability, FaultyBackend, PayloadStore, PayloadStoreOptions};
use serde_json::json;

use super::{open_mem_payloads, process_crash_image};

#[test]
fn opening_creates_the_log_and_json_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = PayloadStore::open(dir.path()).unwrap();
    assert!(dir.path().join("payloads.log").is_file());
    let doc = json!({
        "nested": {"deep": {"list": [1, 2.5, -3e-7, "x", null, true, {"k": []}]}},
        "float": 0.1, "big": 18446744073709551615u64, "neg": -9223372036854775808i64,
        "bool": false, "null": null, "text": "ünïcødé \" \\ \n"
    });
    store.store(1, &doc).unwrap();
    store.store(2, &json!([1, 2, 3])).unwrap();
    assert_eq!(store.retrieve(1).unwrap().unwrap(), doc);
    assert_eq!(store.retrieve(2).unwrap().unwrap(), json!([1, 2, 3]));
    assert!(store.retrieve(3).unwrap().is_none());
    assert_eq!(store.len(), 2);
    store.store(2, &json!("replaced")).unwrap();
    assert_eq!(store.retrieve(2).unwrap().unwrap(), json!("replaced"));
    assert!(store.delete(1).unwrap());
    assert!(!store.delete(1).unwrap());
    assert!(store.retrieve(1).unwrap().is_none());
    assert_eq!(store.len(), 1);
}

#[test]
fn flushed_payloads_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = PayloadStore::open(dir.path()).unwrap();
        let batch: Vec<(u64, serde_json::Value)> = (0..1000)
            .map(|id| (id, json!({"id": id, "tag": format!("t{}", id % 7)})))
            .collect();
        store.store_batch(&batch).unwrap();
        store.delete(500).unwrap();
        store.flush().unwrap();
    }
    let store = PayloadStore::open(dir.path()).unwrap();
    assert_eq!(store.len(), 999);
    assert_eq!(
        store.retrieve(42).unwrap().unwrap(),
        json!({"id": 42, "tag": "t0"})
    );
    assert!(store.retrieve(500).unwrap().is_none());
}

#[test]
fn the_log_compacts_so_reopen_does_not_replay_the_whole_history() {
    let backend = FaultyBackend::new();
    let options = PayloadStoreOptions {
        compact_dead_bytes: 64 << 10,
        ..PayloadStoreOptions::default()
    };
    {
        let store = open_mem_payloads(&backend, options);
        for round in 0..2_000u64 {
            store
                .store(round % 10, &json!({"round": round, "pad": "x".repeat(100)}))
                .unwrap();
        }
        store.flush().unwrap();
        let m = store.metrics();
        assert!(m.compactions >= 1, "{m:?}");
        assert!(m.dead_bytes <= (64 << 10) + m.live_bytes, "{m:?}");
    }
    let log = backend
        .read_file(&super::mem_dir().join("payloads.log"))
        .unwrap();
    assert!(
        log.len() < 200 << 10,
        "log stays bounded: {} bytes",
        log.len()
    );
    let store = open_mem_payloads(&backend, options);
    assert!(store.metrics().records_replayed < 2_000);
    for id in 0..10u64 {
        let v = store.retrieve(id).unwrap().unwrap();
        assert_eq!(v["round"], json!(1990 + id));
    }
}

#[test]
fn oversized_payload_is_refused_and_changes_nothing() {
    let backend = FaultyBackend::new();
    let options = PayloadStoreOptions {
        max_payload_bytes: 100,
        ..PayloadStoreOptions::default()
    };
    let store = open_mem_payloads(&backend, options);
    store.store(1, &json!("small")).unwrap();
    let err = store
        .store_batch(&[(2, json!("ok")), (3, json!("y".repeat(200)))])
        .unwrap_err();
    assert!(err.to_string().contains("over the 100-byte limit"), "{err}");
    assert_eq!(store.len(), 1);
}

#[test]
fn an_unflushed_payload_batch_recovers_whole_after_a_process_crash() {
    let backend = FaultyBackend::new();
    let options = PayloadStoreOptions {
        durability: Durability::Flush,
        ..PayloadStoreOptions::default()
    };
    let store = open_mem_payloads(&backend, options);
    let batch: Vec<(u64, serde_json::Value)> = (0..100).map(|id| (id, json!(id))).collect();
    store.store_batch(&batch).unwrap();
    let image = process_crash_image(&backend);
    let recovered = open_mem_payloads(&image, options);
    assert_eq!(recovered.len(), 100);
    assert_eq!(recovered.retrieve(99).unwrap().unwrap(), json!(99));
}

#[test]
fn apply_sets_the_mark_atomically_with_its_changes_and_compaction_keeps_it() {
    let backend = FaultyBackend::new();
    let options = PayloadStoreOptions::default();
    let path = super::mem_dir().join("payloads.log");
    let full;
    {
        let store = open_mem_payloads(&backend, options);
        assert_eq!(store.mark(), 0);
        store.store(1, &json!("one")).unwrap();
        let two = json!({"n": 2});
        store.apply(&[(1, None), (2, Some(&two))], 7).unwrap();
        assert_eq!(store.mark(), 7);
        store.apply(&[], 9).unwrap();
        // The log as a crash before any flush leaves it: nothing recorded durable beyond
        // the header, so a cut below is a torn tail (once a flush, a drop or an open has
        // synced the records, the same cut is corruption).
        full = backend.read_file(&path).unwrap();
    }
    {
        let store = open_mem_payloads(&backend, options);
        assert_eq!(store.mark(), 9);
        assert!(store.retrieve(1).unwrap().is_none());
        assert_eq!(store.retrieve(2).unwrap().unwrap(), json!({"n": 2}));
        store.compact().unwrap();
        assert_eq!(store.mark(), 9);
    }
    let store = open_mem_payloads(&backend, options);
    assert_eq!(store.mark(), 9);
    assert_eq!(store.retrieve(2).unwrap().unwrap(), json!({"n": 2}));
    drop(store);
    // Cut the last byte of the first applied group's mark record: the group (including the
    // delete of 1) is not there, and neither is the later mark.
    let first_group_end = full.len() - 30; // the second apply is a lone 30-byte mark record
    backend.replace_file(&path, &full[..first_group_end - 1]);
    let store = open_mem_payloads(&backend, options);
    assert_eq!(store.mark(), 0);
    assert_eq!(store.retrieve(1).unwrap().unwrap(), json!("one"));
    assert!(store.retrieve(2).unwrap().is_none());
}
