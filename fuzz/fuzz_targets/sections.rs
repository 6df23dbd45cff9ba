//! Checksummed section files (`nearstore_storage::sections::read_sections`), checked by a
//! round trip: sections that read back are written again and read back equal.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nearstore_fuzz::{DIR, backend, put_file};
use nearstore_storage::format::VECTOR_INDEX_MAGIC;
use nearstore_storage::sections::{read_sections, write_sections};

fuzz_target!(|data: &[u8]| {
    let b = backend();
    let backend = b.as_ref();
    let dir = Path::new(DIR);
    let path = dir.join("index.bin");
    put_file(backend, &path, data);
    let Ok(sections) = read_sections(backend, &path, &VECTOR_INDEX_MAGIC) else {
        return;
    };
    let refs: Vec<&[u8]> = sections.iter().map(Vec::as_slice).collect();
    let again = dir.join("again.bin");
    write_sections(backend, &again, &VECTOR_INDEX_MAGIC, &refs).expect("rewrite");
    let back = read_sections(backend, &again, &VECTOR_INDEX_MAGIC).expect("read back");
    assert_eq!(sections, back);
});
