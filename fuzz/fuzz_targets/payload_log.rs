//! The payload log (`nearstore_storage::PayloadStore::open_with`; its record decoder is
//! private to the storage crate): any `payloads.log` opens to an error or to a store whose
//! every listed id reads back (a payload or a clear error), never a panic. The first byte
//! picks the input's form: the whole file, or record bodies framed with valid checksums
//! after a fresh log's header (to reach the record decoder behind the checksums).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nearstore_fuzz::{DIR, backend, framed_log, path, put_file};
use nearstore_storage::payload::LOG_FILE;
use nearstore_storage::{PayloadStore, PayloadStoreOptions};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let b = backend();
    let dir = Path::new(DIR);
    drop(PayloadStore::open_with(b.clone(), dir, PayloadStoreOptions::default()).expect("create"));
    let log = path(LOG_FILE);
    let bytes = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        framed_log(&b.read_file(&log).expect("a new store has a log"), rest)
    };
    put_file(&b, &log, &bytes);
    let Ok(store) = PayloadStore::open_with(b, dir, PayloadStoreOptions::default()) else {
        return;
    };
    let ids = store.ids();
    assert_eq!(ids.len(), store.len());
    for id in ids {
        assert!(store.contains(id));
        let _ = store.retrieve(id);
    }
});
