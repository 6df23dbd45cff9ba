//! The HNSW checkpoint (`nearstore_index::HnswIndex::load`). Checksums would stop almost
//! every random file at the section header, so the input is cut into the checkpoint's
//! thirteen sections (the nine of the graph, then the four of quantized storage: settings,
//! codebook, codes, norms / RaBitQ factors; each led by its little-endian u16 length, cut
//! at the input's end) and written as a valid section file: the fuzzer then reaches the
//! graph decoder itself (levels, links, entry point, free list) and the codes' decoders
//! (SQ8 ranges and norms, binary means, RaBitQ centroid, rotation signs and per-vector
//! factors). A file that loads must answer a search (when its dimension is small enough
//! to build a query for) and save again to a file that loads.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nearstore_fuzz::{DIR, backend};
use nearstore_index::{HnswIndex, MemorySource};
use nearstore_storage::sections::write_sections;

/// The checkpoint's magic (`hnsw::io::HNSW_MAGIC`, not exported by the index crate).
const HNSW_MAGIC: [u8; 8] = *b"NSHNSW01";

/// Sections of a checkpoint with quantized storage (a nine-section file loads as `full`).
const SECTIONS: usize = 13;

fn split(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(SECTIONS);
    for _ in 0..SECTIONS {
        let len = match data {
            [a, b, rest @ ..] => {
                data = rest;
                usize::from(u16::from_le_bytes([*a, *b]))
            }
            _ => 0,
        };
        let len = len.min(data.len());
        out.push(data[..len].to_vec());
        data = &data[len..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let b = backend();
    let backend = b.as_ref();
    let dir = Path::new(DIR);
    let path = dir.join("hnsw.bin");
    let sections = split(data);
    let refs: Vec<&[u8]> = sections.iter().map(Vec::as_slice).collect();
    write_sections(backend, &path, &HNSW_MAGIC, &refs).expect("in-memory write");
    // An empty source: a quantized checkpoint needs one to load (rescoring finds nothing).
    let source = MemorySource::new();
    let Ok((index, _lsn)) = HnswIndex::load_with_source(backend, &path, Some(source.clone()))
    else {
        return;
    };
    let dim = nearstore_index::VectorIndex::dimension(&index);
    if dim <= 4096 {
        let query: Vec<f32> = (0..dim).map(|i| (i % 7) as f32 - 3.0).collect();
        let _ = nearstore_index::VectorIndex::search(
            &index,
            &query,
            5,
            nearstore_index::SearchQuality::Balanced,
            None,
        );
    }
    let again = dir.join("again.bin");
    index.save(backend, &again, 0).expect("save a loaded index");
    HnswIndex::load_with_source(backend, &again, Some(source)).expect("a saved index loads");
});
