//! What the fuzz targets share: an in-memory backend with one file in it, and framing
//! fuzz input as valid log records, so a target reaches the record decoders behind the
//! checksums instead of stopping at them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nearstore_storage::backend::write_file_atomically;
use nearstore_storage::log::frame;
use nearstore_storage::{Backend, FaultyBackend};

/// The directory every target works in.
pub const DIR: &str = "/fuzz";

/// A fresh in-memory backend with [`DIR`] created.
pub fn backend() -> Arc<FaultyBackend> {
    let b = Arc::new(FaultyBackend::new());
    b.create_dir_all(Path::new(DIR)).expect("in-memory dir");
    b
}

/// `DIR/name`.
pub fn path(name: &str) -> PathBuf {
    Path::new(DIR).join(name)
}

/// Writes `bytes` as the whole file at `path`.
pub fn put_file(backend: &FaultyBackend, path: &Path, bytes: &[u8]) {
    write_file_atomically(backend, path, bytes).expect("in-memory write");
}

/// Cuts `data` into bodies (each led by its little-endian u16 length, cut at the end of
/// the input) and frames each as a checksummed record after `header`, every record marked
/// as written after the previous one was synced.
pub fn framed_log(header: &[u8], mut data: &[u8]) -> Vec<u8> {
    let mut out = header.to_vec();
    while let [a, b, rest @ ..] = data {
        let len = usize::from(u16::from_le_bytes([*a, *b])).min(rest.len());
        let synced = out.len() as u64;
        frame(&rest[..len], synced, &mut out);
        data = &rest[len..];
    }
    out
}
