//! Durability modes: what survives power loss in each.

use nearstore_storage::{Durability, FaultyBackend, PayloadStoreOptions, VectorStoreOptions};
use serde_json::json;

use super::{open_mem, open_mem_payloads, power_loss_image, process_crash_image, vector_for};

fn options(durability: Durability) -> VectorStoreOptions {
    VectorStoreOptions {
        durability,
        ..VectorStoreOptions::default()
    }
}

#[test]
fn per_write_mode_makes_each_returned_write_survive_power_loss() {
    let backend = FaultyBackend::new();
    let store = open_mem(&backend, 4, options(Durability::PerWrite));
    store.store(1, &vector_for(1, 0, 4)).unwrap();
    store.delete(1).unwrap();
    store.store(2, &vector_for(2, 0, 4)).unwrap();
    let image = power_loss_image(&backend);
    let recovered = open_mem(&image, 4, options(Durability::PerWrite));
    assert_eq!(recovered.ids(), vec![2]);
}

#[test]
fn flush_mode_makes_writes_survive_power_loss_once_flush_returns() {
    let backend = FaultyBackend::new();
    let store = open_mem(&backend, 4, options(Durability::Flush));
    store.store(1, &vector_for(1, 0, 4)).unwrap();
    let before_flush = power_loss_image(&backend);
    assert!(open_mem(&before_flush, 4, options(Durability::Flush)).is_empty());
    store.flush().unwrap();
    store.store(2, &vector_for(2, 0, 4)).unwrap();
    let after_flush = power_loss_image(&backend);
    let recovered = open_mem(&after_flush, 4, options(Durability::Flush));
    assert_eq!(recovered.ids(), vec![1]);
    assert_eq!(recovered.retrieve(1).unwrap().unwrap(), vector_for(1, 0, 4));
}

#[test]
fn bulk_mode_rolls_back_to_the_last_flush_on_any_crash() {
    let backend = FaultyBackend::new();
    let store = open_mem(&backend, 4, options(Durability::Bulk));
    store.store(1, &vector_for(1, 0, 4)).unwrap();
    store.flush().unwrap();
    store.store(2, &vector_for(2, 0, 4)).unwrap();
    store.delete(1).unwrap();
    for image in [process_crash_image(&backend), power_loss_image(&backend)] {
        let recovered = open_mem(&image, 4, options(Durability::Bulk));
        assert_eq!(recovered.ids(), vec![1], "rolled back to the checkpoint");
        assert_eq!(recovered.retrieve(1).unwrap().unwrap(), vector_for(1, 0, 4));
    }
}

#[test]
fn payload_store_per_write_and_flush_modes_hold_their_promise() {
    for durability in [Durability::PerWrite, Durability::Flush] {
        let backend = FaultyBackend::new();
        let o = PayloadStoreOptions {
            durability,
            ..PayloadStoreOptions::default()
        };
        let store = open_mem_payloads(&backend, o);
        store.store(1, &json!({"a": 1})).unwrap();
        let image = power_loss_image(&backend);
        let n = open_mem_payloads(&image, o).len();
        assert_eq!(
            n,
            usize::from(durability == Durability::PerWrite),
            "{durability:?}"
        );
        store.flush().unwrap();
        let image = power_loss_image(&backend);
        assert_eq!(open_mem_payloads(&image, o).len(), 1);
    }
}

#[test]
fn new_files_appear_whole_or_not_at_all() {
    use nearstore_storage::{PayloadStore, SharedBackend, VectorStore};
    use std::sync::Arc;
    // Count the mutating calls of creating both stores, then crash at each of them.
    let probe = FaultyBackend::new();
    drop(open_mem(&probe, 4, options(Durability::Flush)));
    drop(open_mem_payloads(&probe, PayloadStoreOptions::default()));
    let calls = probe.calls();
    let names = ["vectors.dat", "vectors.wal", "vectors.idx", "payloads.log"];
    let mut images = 0;
    for n in 0..calls {
        let backend = FaultyBackend::new();
        backend.crash_after(n);
        let shared: SharedBackend = Arc::new(backend.clone());
        let _ = VectorStore::open_with(
            shared.clone(),
            &super::mem_dir(),
            4,
            options(Durability::Flush),
        )
        .and_then(|_| {
            PayloadStore::open_with(shared, &super::mem_dir(), PayloadStoreOptions::default())
        });
        for image in backend.crash_images() {
            // A file under its final name is never a partial one: its header parses.
            for name in names {
                if let Some(bytes) = image.backend.read_file(&super::mem_dir().join(name)) {
                    assert!(
                        bytes.len() >= 32,
                        "{name} visible but partial after crash at {n}"
                    );
                }
            }
            let v = open_mem(&image.backend, 4, options(Durability::Flush));
            let p = open_mem_payloads(&image.backend, PayloadStoreOptions::default());
            assert!(v.is_empty() && p.is_empty());
            images += 1;
        }
    }
    assert!(images > 20, "{images}");
}
