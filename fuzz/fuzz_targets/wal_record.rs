//! The vector WAL's records, through `VectorStore::open_with` (the record decoder
//! `vector::wal::decode` is private to the storage crate). The first byte picks the
//! dimension (1..=8); the rest is cut into record bodies framed with valid checksums
//! after the header of a freshly created WAL, so replay reaches the record decoder.
//! A store that opens lists only ids it holds, and opens again to the same ids.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearstore_fuzz::{DIR, backend, framed_log, path, put_file};
use nearstore_storage::vector::WAL_FILE;
use nearstore_storage::{VectorStore, VectorStoreOptions};

fuzz_target!(|data: &[u8]| {
    let Some((&d, rest)) = data.split_first() else {
        return;
    };
    let dim = usize::from(d % 8) + 1;
    let b = backend();
    let dir = std::path::Path::new(DIR);
    drop(
        VectorStore::open_with(b.clone(), dir, dim, VectorStoreOptions::default()).expect("create"),
    );
    let wal = path(WAL_FILE);
    let header = b.read_file(&wal).expect("a new store has a WAL");
    put_file(&b, &wal, &framed_log(&header, rest));
    let Ok(store) = VectorStore::open_with(b.clone(), dir, dim, VectorStoreOptions::default())
    else {
        return;
    };
    let mut ids = store.ids();
    assert_eq!(ids.len(), store.len());
    assert!(ids.iter().all(|&id| store.contains(id)));
    drop(store);
    let again = VectorStore::open_with(b, dir, dim, VectorStoreOptions::default())
        .expect("a store that opened opens again");
    let mut ids2 = again.ids();
    ids.sort_unstable();
    ids2.sort_unstable();
    assert_eq!(ids, ids2);
});
