//! Simulated crashes and power loss at every I/O call of a seeded workload, and again at every
//! I/O call of the recovery from each crash image; plus injected EIO/ENOSPC failures.
//!
//! Property checked on every image: the recovered store equals the model after some prefix of
//! the workload that (a) includes every write covered by a completed `flush()`/`compact()`
//! (power loss) or every acknowledged write (process crash: acknowledged writes are in the
//! page cache), and (b) includes nothing beyond the write in flight. So: no flushed write lost,
//! no delete resurrected, no half-applied batch, no unopenable store, no panic.

use std::collections::BTreeMap;
use std::sync::Arc;

use nearstore_storage::{
    CrashImageKind, Durability, Error, FaultKind, FaultyBackend, PayloadStore, PayloadStoreOptions,
    SharedBackend, VectorStore, VectorStoreOptions,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::mem_dir;

type Model = BTreeMap<u64, u64>;

#[derive(Debug, Clone)]
enum SimOp {
    Put(Vec<(u64, u64)>),
    Delete(Vec<u64>),
    Flush,
    Compact,
    Reopen,
}

impl SimOp {
    fn apply(&self, model: &mut Model) {
        match self {
            SimOp::Put(items) => {
                for &(id, version) in items {
                    model.insert(id, version);
                }
            }
            SimOp::Delete(ids) => {
                for id in ids {
                    model.remove(id);
                }
            }
            SimOp::Flush | SimOp::Compact | SimOp::Reopen => {}
        }
    }

    fn is_barrier(&self) -> bool {
        matches!(self, SimOp::Flush | SimOp::Compact)
    }
}

/// A seeded workload of `n` operations over ids 0..48.
fn workload(seed: u64, n: usize) -> Vec<SimOp> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut next_version = 1u64;
    let mut version = || {
        next_version += 1;
        next_version
    };
    (0..n)
        .map(|_| match rng.random_range(0..100) {
            0..=34 => SimOp::Put(vec![(rng.random_range(0..48), version())]),
            35..=49 => {
                let k = rng.random_range(2..12);
                SimOp::Put(
                    (0..k)
                        .map(|_| (rng.random_range(0..48), version()))
                        .collect(),
                )
            }
            50..=64 => SimOp::Delete(vec![rng.random_range(0..48)]),
            65..=69 => SimOp::Delete(
                (0..rng.random_range(2..6))
                    .map(|_| rng.random_range(0..48))
                    .collect(),
            ),
            70..=84 => SimOp::Flush,
            85..=92 => SimOp::Compact,
            _ => SimOp::Reopen,
        })
        .collect()
}

/// What the simulation needs from a store.
trait SimStore: Sized {
    const NAME: &'static str;
    fn open(backend: &FaultyBackend, durability: Durability) -> Result<Self, Error>;
    fn put(&self, items: &[(u64, u64)]) -> Result<(), Error>;
    fn delete(&self, ids: &[u64]) -> Result<(), Error>;
    fn flush(&self) -> Result<(), Error>;
    fn compact(&self) -> Result<(), Error>;
    /// The whole content as id -> version, checking every value is intact.
    fn state(&self) -> Result<Model, Error>;
}

const DIM: usize = 6;

fn sim_vector(id: u64, version: u64) -> Vec<f32> {
    let mut v = vec![id as f32, version as f32];
    v.extend((0..DIM - 2).map(|i| ((id * 7 + version * 13 + i as u64) % 97) as f32));
    v
}

fn shared(backend: &FaultyBackend) -> SharedBackend {
    Arc::new(backend.clone())
}

impl SimStore for VectorStore {
    const NAME: &'static str = "vector store";
    fn open(backend: &FaultyBackend, durability: Durability) -> Result<Self, Error> {
        let options = VectorStoreOptions {
            durability,
            initial_capacity_bytes: 256,
            checkpoint_wal_bytes: 2048,
        };
        VectorStore::open_with(shared(backend), &mem_dir(), DIM, options)
    }
    fn put(&self, items: &[(u64, u64)]) -> Result<(), Error> {
        let batch: Vec<(u64, Vec<f32>)> = items
            .iter()
            .map(|&(id, v)| (id, sim_vector(id, v)))
            .collect();
        self.store_batch(&batch)
    }
    fn delete(&self, ids: &[u64]) -> Result<(), Error> {
        self.delete_batch(ids).map(|_| ())
    }
    fn flush(&self) -> Result<(), Error> {
        VectorStore::flush(self)
    }
    fn compact(&self) -> Result<(), Error> {
        VectorStore::compact(self).map(|_| ())
    }
    fn state(&self) -> Result<Model, Error> {
        let mut model = Model::new();
        for id in self.ids() {
            let v = self.retrieve(id)?.expect("listed id is readable");
            let version = v[1] as u64;
            assert_eq!(v, sim_vector(id, version), "vector of id {id} is intact");
            model.insert(id, version);
        }
        Ok(model)
    }
}

impl SimStore for PayloadStore {
    const NAME: &'static str = "payload store";
    fn open(backend: &FaultyBackend, durability: Durability) -> Result<Self, Error> {
        let options = PayloadStoreOptions {
            durability,
            compact_dead_bytes: 1024,
            ..PayloadStoreOptions::default()
        };
        PayloadStore::open_with(shared(backend), &mem_dir(), options)
    }
    fn put(&self, items: &[(u64, u64)]) -> Result<(), Error> {
        let batch: Vec<(u64, serde_json::Value)> = items
            .iter()
            .map(|&(id, v)| (id, json!({"id": id, "v": v})))
            .collect();
        self.store_batch(&batch)
    }
    fn delete(&self, ids: &[u64]) -> Result<(), Error> {
        self.delete_batch(ids).map(|_| ())
    }
    fn flush(&self) -> Result<(), Error> {
        PayloadStore::flush(self)
    }
    fn compact(&self) -> Result<(), Error> {
        PayloadStore::compact(self).map(|_| ())
    }
    fn state(&self) -> Result<Model, Error> {
        let mut model = Model::new();
        for id in self.ids() {
            let p = self.retrieve(id)?.expect("listed id is readable");
            assert_eq!(p["id"], json!(id), "payload of id {id} is intact");
            model.insert(id, p["v"].as_u64().expect("version"));
        }
        Ok(model)
    }
}

/// How far a run got before its first error.
#[derive(Debug, Clone, Copy)]
struct Progress {
    /// Operations that returned Ok (a prefix of the workload).
    acked: usize,
    /// Operations up to and including the last completed flush/compact.
    flushed: usize,
}

fn run<S: SimStore>(backend: &FaultyBackend, ops: &[SimOp], durability: Durability) -> Progress {
    let mut progress = Progress {
        acked: 0,
        flushed: 0,
    };
    let Ok(mut store) = S::open(backend, durability) else {
        return progress;
    };
    for (i, op) in ops.iter().enumerate() {
        let result = match op {
            SimOp::Put(items) => store.put(items),
            SimOp::Delete(ids) => store.delete(ids),
            SimOp::Flush => store.flush(),
            SimOp::Compact => store.compact(),
            SimOp::Reopen => {
                drop(store);
                match S::open(backend, durability) {
                    Ok(s) => {
                        store = s;
                        Ok(())
                    }
                    Err(_) => return progress,
                }
            }
        };
        if result.is_err() {
            return progress;
        }
        progress.acked = i + 1;
        let durable_on_return = durability == Durability::PerWrite && !matches!(op, SimOp::Reopen);
        if op.is_barrier() || durable_on_return {
            progress.flushed = i + 1;
        }
    }
    progress
}

/// Checks that opening `image` gives the model after some prefix in `lo..=hi`.
fn check_image<S: SimStore>(
    image: &FaultyBackend,
    states: &[Model],
    lo: usize,
    hi: usize,
    what: &str,
) {
    let store = S::open(image, Durability::Flush)
        .unwrap_or_else(|e| panic!("{}: unopenable store after {what}: {e}", S::NAME));
    let state = store.state().expect("readable");
    let ok = (lo..=hi.min(states.len() - 1)).any(|i| states[i] == state);
    assert!(
        ok,
        "{}: after {what}, state matches no prefix in {lo}..={hi}: {state:?}\nexpected at least {:?}",
        S::NAME,
        states[lo]
    );
}

#[derive(Debug, Default)]
struct Tally {
    crash_points: u64,
    images: u64,
    recovery_crash_images: u64,
}

fn simulate<S: SimStore>(seed: u64, n_ops: usize, durability: Durability) -> Tally {
    let ops = workload(seed, n_ops);
    let mut states = vec![Model::new()];
    for op in &ops {
        let mut next = states.last().cloned().unwrap_or_default();
        op.apply(&mut next);
        states.push(next);
    }
    let clean = FaultyBackend::new();
    let full = run::<S>(&clean, &ops, durability);
    assert_eq!(
        full.acked,
        ops.len(),
        "the workload runs cleanly without faults"
    );
    let total_calls = clean.calls();
    let mut tally = Tally::default();
    for n in 0..total_calls {
        let backend = FaultyBackend::new();
        backend.crash_after(n);
        let progress = run::<S>(&backend, &ops, durability);
        tally.crash_points += 1;
        // The operation in flight may or may not have happened.
        let hi = (progress.acked + 1).min(ops.len());
        for image in backend.crash_images() {
            let lo = match image.kind {
                CrashImageKind::ProcessCrash | CrashImageKind::TornWrite
                    if durability != Durability::Bulk =>
                {
                    progress.acked
                }
                _ => progress.flushed,
            };
            let what = format!("crash at call {n} ({:?})", image.kind);
            // Opening recovers in place, so keep an untouched copy for the recovery crashes.
            let pristine = super::process_crash_image(&image.backend);
            check_image::<S>(&image.backend, &states, lo, hi, &what);
            tally.images += 1;
            // Crash again at every mutating call of the recovery.
            let probe = super::process_crash_image(&pristine);
            let before = probe.calls();
            let recovered = S::open(&probe, Durability::Flush).expect("recovery succeeds");
            let recovery_calls = probe.calls() - before;
            drop(recovered);
            for m in 0..recovery_calls {
                let again = super::process_crash_image(&pristine);
                again.crash_after(m);
                assert!(
                    S::open(&again, Durability::Flush).is_err(),
                    "recovery crashed"
                );
                for nested in again.crash_images() {
                    let what = format!(
                        "{what}, then recovery crash at call {m} ({:?})",
                        nested.kind
                    );
                    check_image::<S>(&nested.backend, &states, lo, hi, &what);
                    tally.recovery_crash_images += 1;
                }
            }
        }
    }
    println!(
        "{} ({durability:?}): {} operations, {} crash points, {} crash images, {} recovery-crash images checked",
        S::NAME,
        ops.len(),
        tally.crash_points,
        tally.images,
        tally.recovery_crash_images
    );
    tally
}

#[test]
fn vector_store_loses_no_flushed_write_at_any_crash_point() {
    let t = simulate::<VectorStore>(7, 320, Durability::Flush);
    assert!(t.crash_points > 300 && t.images > 600, "{t:?}");
}

#[test]
fn vector_store_per_write_durability_holds_at_any_crash_point() {
    let t = simulate::<VectorStore>(11, 120, Durability::PerWrite);
    assert!(t.crash_points > 100, "{t:?}");
}

#[test]
fn vector_store_bulk_mode_rolls_back_to_the_last_flush_at_any_crash_point() {
    let t = simulate::<VectorStore>(13, 120, Durability::Bulk);
    assert!(t.crash_points > 50, "{t:?}");
}

#[test]
fn payload_store_loses_no_flushed_write_at_any_crash_point() {
    let t = simulate::<PayloadStore>(17, 320, Durability::Flush);
    assert!(t.crash_points > 300 && t.images > 600, "{t:?}");
}

/// Runs the workload with one injected failure; after the first error the store is reopened
/// and must hold the model either just before or just after the failed operation.
fn inject<S: SimStore>(kind: FaultKind, nth: u64, errno: i32) -> bool {
    let ops = workload(23, 80);
    let backend = FaultyBackend::new();
    backend.fail_nth(kind, nth, errno);
    let durability = Durability::Flush;
    let Ok(mut store) = S::open(&backend, durability) else {
        let reopened = S::open(&backend, durability).expect("open after a failed open");
        assert!(reopened.state().unwrap().is_empty());
        return true;
    };
    let mut model = Model::new();
    for op in &ops {
        let result = match op {
            SimOp::Put(items) => store.put(items),
            SimOp::Delete(ids) => store.delete(ids),
            SimOp::Flush => store.flush(),
            SimOp::Compact => store.compact(),
            SimOp::Reopen => {
                drop(store);
                match S::open(&backend, durability) {
                    Ok(s) => {
                        store = s;
                        Ok(())
                    }
                    Err(e) => {
                        assert!(e.raw_os_error() == Some(errno), "{e}");
                        let reopened =
                            S::open(&backend, durability).expect("open after a failed open");
                        assert_eq!(
                            reopened.state().unwrap(),
                            model,
                            "{} after a failed reopen",
                            S::NAME
                        );
                        return true;
                    }
                }
            }
        };
        if let Err(e) = result {
            assert!(
                e.raw_os_error() == Some(errno) || matches!(e, Error::Poisoned(_)),
                "{e}"
            );
            let mut after = model.clone();
            op.apply(&mut after);
            drop(store);
            let reopened = S::open(&backend, durability).expect("reopen after a failure");
            let state = reopened.state().unwrap();
            assert!(
                state == model || state == after,
                "{} after {kind:?} #{nth}: {state:?}",
                S::NAME
            );
            return true;
        }
        op.apply(&mut model);
    }
    false
}

#[test]
fn injected_eio_and_enospc_fail_one_operation_and_lose_nothing_else() {
    let mut hits = 0;
    for errno in [5, 28] {
        for kind in [FaultKind::Write, FaultKind::Sync, FaultKind::Allocate] {
            for nth in 1..40 {
                hits += u32::from(inject::<VectorStore>(kind, nth, errno));
                hits += u32::from(inject::<PayloadStore>(kind, nth, errno));
            }
        }
    }
    assert!(hits > 200, "failures actually hit operations: {hits}");
}
