//! Scenario tests of the storage layer: one module per concern.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alloc_probe;
mod checksums;
mod damaged_records;
mod durability;
mod kill9;
mod op_log;
mod payload_store;
mod power_loss;
mod snapshot;
mod snapshot_archive;
mod vector_store;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nearstore_storage::{
    FaultyBackend, PayloadStore, PayloadStoreOptions, SharedBackend, VectorStore,
    VectorStoreOptions,
};

/// A deterministic vector for (id, version): every component depends on both.
pub fn vector_for(id: u64, version: u64, dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|i| ((id * 31 + version * 7 + i as u64 * 13) % 1000) as f32 / 7.0 - 50.0)
        .collect()
}

/// The directory used inside in-memory backends.
pub fn mem_dir() -> PathBuf {
    PathBuf::from("/store")
}

/// Opens a vector store over an in-memory backend.
pub fn open_mem(backend: &FaultyBackend, dim: usize, options: VectorStoreOptions) -> VectorStore {
    let shared: SharedBackend = Arc::new(backend.clone());
    VectorStore::open_with(shared, &mem_dir(), dim, options).expect("open vector store")
}

/// Opens a payload store over an in-memory backend.
pub fn open_mem_payloads(backend: &FaultyBackend, options: PayloadStoreOptions) -> PayloadStore {
    let shared: SharedBackend = Arc::new(backend.clone());
    PayloadStore::open_with(shared, &mem_dir(), options).expect("open payload store")
}

/// The process-crash image of a backend: what a restart after `kill -9` finds.
pub fn process_crash_image(backend: &FaultyBackend) -> FaultyBackend {
    backend.crash_images().swap_remove(0).backend
}

/// The power-loss image of a backend: only synced state.
pub fn power_loss_image(backend: &FaultyBackend) -> FaultyBackend {
    backend.crash_images().swap_remove(1).backend
}

/// Reads a real file's bytes.
pub fn read_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read file")
}
