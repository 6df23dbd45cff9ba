//! Storage benchmarks: the cost of each durability mode on the real file system.
//!
//! Run with `cargo bench -p nearstore-storage --bench stores`; results and their reading are in
//! `crates/nearstore-storage/BENCHMARKS.md`.
//!
//! Every store lives in a `tempfile::tempdir()` (on the same file system as `/tmp`) and is
//! opened through `fs_backend()`. Write benchmarks (`iter_custom`) keep writing new, increasing
//! ids into one store, which is replaced by a fresh, empty one after `MAX_IDS` ids; the
//! replacement (drop, whose flush is a checkpoint in `Bulk` mode, and open) is not timed, so
//! only the `store`/`store_batch` (and, where named, `flush`) calls are. The timings therefore
//! include what a growing store pays in steady state: the data file growing (fallocate +
//! remap) and, in the logged modes, the automatic checkpoint when the WAL passes 64 MiB.

// Benches are test code: a failed store operation should abort the run loudly, as in tests.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use nearstore_storage::{
    Durability, PayloadStore, PayloadStoreOptions, VectorStore, VectorStoreOptions, fs_backend,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tempfile::TempDir;

/// Vector dimension (f32), a typical small sentence-embedding size.
const DIM: usize = 384;
/// Vectors per `store_batch` call.
const BATCH: usize = 100;
/// Number of vectors (and payloads) a read benchmark's store is pre-filled with.
const PREFILL: u64 = 10_000;
/// Number of pre-drawn random ids the read benchmarks cycle through.
const RANDOM_IDS: usize = 8192;
/// `store+flush_every_100`: one `flush()` per this many stores.
const FLUSH_EVERY: u64 = 100;
/// Write benchmarks move on to a fresh store after this many ids (~147 MiB of vectors; more
/// than the ~41k vectors after which the 64 MiB WAL of the logged modes triggers a checkpoint).
const MAX_IDS: u64 = 100_000;

const VECTOR_MODES: [(Durability, &str); 3] = [
    (Durability::PerWrite, "per_write"),
    (Durability::Flush, "flush"),
    (Durability::Bulk, "bulk"),
];

/// `Bulk` behaves like `Flush` in the payload store, so it is not measured separately.
const PAYLOAD_MODES: [(Durability, &str); 2] = [
    (Durability::PerWrite, "per_write"),
    (Durability::Flush, "flush"),
];

/// A few distinct pseudo-random vectors, reused round-robin as the stored data.
fn sample_vectors() -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    (0..16)
        .map(|_| (0..DIM).map(|_| rng.random_range(-1.0f32..1.0)).collect())
        .collect()
}

/// Ids drawn uniformly from `0..PREFILL`.
fn random_ids() -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(0x1d5);
    (0..RANDOM_IDS)
        .map(|_| rng.random_range(0..PREFILL))
        .collect()
}

fn small_payload() -> Value {
    json!({"lang": "en", "n": 123, "tags": ["a", "b"]})
}

fn open_vectors(dir: &Path, durability: Durability) -> VectorStore {
    VectorStore::open_with(
        fs_backend(),
        dir,
        DIM,
        VectorStoreOptions {
            durability,
            ..Default::default()
        },
    )
    .expect("open vector store")
}

fn open_payloads(dir: &Path, durability: Durability) -> PayloadStore {
    PayloadStore::open_with(
        fs_backend(),
        dir,
        PayloadStoreOptions {
            durability,
            ..Default::default()
        },
    )
    .expect("open payload store")
}

fn tempdir() -> TempDir {
    tempfile::tempdir().expect("create temp dir")
}

/// A store that write benchmarks keep appending new ids to, replaced by a fresh, empty one
/// (outside the timed region) once `MAX_IDS` ids have been written, so the disk footprint
/// stays bounded however many iterations criterion asks for.
struct WriteFixture<S> {
    open: fn(&Path, Durability) -> S,
    mode: Durability,
    /// The store and its directory; the store is dropped (and flushes) before the directory.
    current: Option<(S, TempDir)>,
    next_id: u64,
}

impl<S> WriteFixture<S> {
    /// Also flushes every file system's dirty data (`sync(2)`), so that a benchmark's
    /// `fdatasync`s do not wait on write-back left over from earlier benchmarks (on ext4 in
    /// `data=ordered` mode a journal commit waits for dirty data of other files).
    fn new(open: fn(&Path, Durability) -> S, mode: Durability) -> Self {
        rustix::fs::sync();
        WriteFixture {
            open,
            mode,
            current: None,
            next_id: 0,
        }
    }

    /// Runs `op(store, first_id)` `iters` times, each writing `ids_per_iter` new ids starting
    /// at `first_id`, and returns the time spent in `op` only.
    fn run(&mut self, iters: u64, ids_per_iter: u64, mut op: impl FnMut(&S, u64)) -> Duration {
        let mut elapsed = Duration::ZERO;
        let mut remaining = iters;
        while remaining > 0 {
            if self.current.is_none() || self.next_id + ids_per_iter > MAX_IDS {
                // Drop the old store (its Drop flushes) and directory before making a new one.
                self.current = None;
                let dir = tempdir();
                let store = (self.open)(dir.path(), self.mode);
                self.current = Some((store, dir));
                self.next_id = 0;
            }
            let (store, _dir) = self.current.as_ref().expect("store was just opened");
            let n = remaining.min((MAX_IDS - self.next_id) / ids_per_iter);
            let mut id = self.next_id;
            let started = Instant::now();
            for _ in 0..n {
                op(store, id);
                id += ids_per_iter;
            }
            elapsed += started.elapsed();
            self.next_id = id;
            remaining -= n;
        }
        elapsed
    }
}

fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, elements: u64) {
    group.throughput(Throughput::Elements(elements));
}

fn vector_store(c: &mut Criterion) {
    let vectors = sample_vectors();
    let pick = |id: u64| vectors[id as usize % vectors.len()].as_slice();
    let mut group = c.benchmark_group("vector/store");
    configure(&mut group, 1);
    for (mode, name) in VECTOR_MODES {
        let mut fixture = WriteFixture::new(open_vectors, mode);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                fixture.run(iters, 1, |store, id| {
                    store.store(id, pick(id)).expect("store");
                })
            });
        });
    }
    group.finish();

    // Flush mode with the durability barrier taken once every 100 stores.
    let mut group = c.benchmark_group("vector/store+flush_every_100");
    configure(&mut group, 1);
    let mut fixture = WriteFixture::new(open_vectors, Durability::Flush);
    group.bench_function("flush", |b| {
        b.iter_custom(|iters| {
            fixture.run(iters, 1, |store, id| {
                store.store(id, pick(id)).expect("store");
                if (id + 1).is_multiple_of(FLUSH_EVERY) {
                    store.flush().expect("flush");
                }
            })
        });
    });
    group.finish();
}

fn vector_store_batch(c: &mut Criterion) {
    let vectors = sample_vectors();
    let mut items: Vec<(u64, &[f32])> = (0..BATCH)
        .map(|k| (0, vectors[k % vectors.len()].as_slice()))
        .collect();
    let mut group = c.benchmark_group("vector/store_batch");
    configure(&mut group, BATCH as u64);
    for (mode, name) in VECTOR_MODES {
        let mut fixture = WriteFixture::new(open_vectors, mode);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                fixture.run(iters, BATCH as u64, |store, first| {
                    for (k, item) in items.iter_mut().enumerate() {
                        item.0 = first + k as u64;
                    }
                    store.store_batch(&items).expect("store_batch");
                })
            });
        });
    }
    group.finish();
}

/// A store in `mode` holding ids `0..PREFILL`, flushed (checkpointed in `Bulk`).
fn prefilled_vectors(dir: &Path, mode: Durability, vectors: &[Vec<f32>]) -> VectorStore {
    let store = open_vectors(dir, mode);
    let ids: Vec<u64> = (0..PREFILL).collect();
    for chunk in ids.chunks(1000) {
        let items: Vec<(u64, &[f32])> = chunk
            .iter()
            .map(|&id| (id, vectors[id as usize % vectors.len()].as_slice()))
            .collect();
        store.store_batch(&items).expect("prefill store_batch");
    }
    store.flush().expect("prefill flush");
    store
}

fn vector_retrieve(c: &mut Criterion) {
    let vectors = sample_vectors();
    let ids = random_ids();
    for (mode, name) in VECTOR_MODES {
        let dir = tempdir();
        let store = prefilled_vectors(dir.path(), mode, &vectors);

        let mut group = c.benchmark_group("vector/retrieve");
        configure(&mut group, 1);
        group.bench_function(name, |b| {
            let mut i = 0usize;
            b.iter(|| {
                let id = ids[i % RANDOM_IDS];
                i += 1;
                black_box(store.retrieve(black_box(id)).expect("retrieve"))
            });
        });
        group.finish();

        let mut group = c.benchmark_group("vector/retrieve_ref");
        configure(&mut group, 1);
        group.bench_function(name, |b| {
            let mut i = 0usize;
            b.iter(|| {
                let id = ids[i % RANDOM_IDS];
                i += 1;
                let guard = store
                    .retrieve_ref(black_box(id))
                    .expect("retrieve_ref")
                    .expect("id is stored");
                black_box(guard[0])
            });
        });
        group.finish();
    }
}

/// Opening a checkpointed store of `PREFILL` vectors (reading `vectors.idx` and checking
/// every live slot's CRC) and closing it again.
fn vector_open(c: &mut Criterion) {
    let vectors = sample_vectors();
    let dir = tempdir();
    let store = prefilled_vectors(dir.path(), Durability::Flush, &vectors);
    store.checkpoint().expect("checkpoint");
    drop(store);
    let mut group = c.benchmark_group("vector/open+close");
    configure(&mut group, PREFILL);
    group.bench_function("10k_checkpointed", |b| {
        b.iter(|| {
            let store = VectorStore::open(dir.path(), DIM).expect("open");
            black_box(store.len())
        });
    });
    group.finish();
}

fn payload_store(c: &mut Criterion) {
    let payload = small_payload();
    let mut group = c.benchmark_group("payload/store");
    configure(&mut group, 1);
    for (mode, name) in PAYLOAD_MODES {
        let mut fixture = WriteFixture::new(open_payloads, mode);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                fixture.run(iters, 1, |store, id| {
                    store.store(id, &payload).expect("store payload");
                })
            });
        });
    }
    group.finish();
}

fn payload_retrieve(c: &mut Criterion) {
    let payload = small_payload();
    let ids = random_ids();
    let dir = tempdir();
    let store = open_payloads(dir.path(), Durability::Flush);
    let all: Vec<u64> = (0..PREFILL).collect();
    for chunk in all.chunks(1000) {
        let items: Vec<(u64, &Value)> = chunk.iter().map(|&id| (id, &payload)).collect();
        store.store_batch(&items).expect("prefill payloads");
    }
    store.flush().expect("prefill flush");

    let mut group = c.benchmark_group("payload/retrieve");
    configure(&mut group, 1);
    group.bench_function("flush", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let id = ids[i % RANDOM_IDS];
            i += 1;
            black_box(store.retrieve(black_box(id)).expect("retrieve payload"))
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
}

criterion_group! {
    name = benches;
    config = config();
    targets = vector_store, vector_store_batch, vector_retrieve, vector_open, payload_store,
        payload_retrieve
}
criterion_main!(benches);
