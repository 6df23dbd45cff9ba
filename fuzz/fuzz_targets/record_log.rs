//! The record framing shared by the WAL, the payload log and the op-log
//! (`nearstore_storage::log::RecordLog::open`): any file bytes open to an error or to
//! records whose bodies lie inside the file, never a panic or an allocation the file does
//! not justify. The input is the whole file, header included.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nearstore_fuzz::{DIR, backend, put_file};
use nearstore_storage::format::VECTOR_WAL_MAGIC;
use nearstore_storage::log::RecordLog;

fuzz_target!(|data: &[u8]| {
    let b = backend();
    let backend = b.as_ref();
    let dir = Path::new(DIR);
    let path = dir.join("vectors.wal");
    put_file(backend, &path, data);
    let mut total = 0usize;
    let opened = RecordLog::open(backend, &path, &VECTOR_WAL_MAGIC, |_, body| {
        total += body.len();
        Ok(())
    });
    if opened.is_ok() {
        assert!(total <= data.len(), "record bodies larger than the file");
    }
});
