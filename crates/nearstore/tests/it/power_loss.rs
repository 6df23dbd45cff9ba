//! Simulated crashes and power loss at every I/O call of a seeded collection workload
//! (through the storage layer's fault-injecting in-memory backend), and again at I/O calls
//! of the recovery from those images.
//!
//! On every image the recovered collection must pass the invariant check of
//! [`super::workload::content`] (whole points only, index = live points, payload indexes =
//! brute force) and equal the model after some prefix of the workload that includes every
//! operation covered by a completed barrier (flush, checkpoint, index creation; every
//! acknowledged operation in `PerWrite`, and after a process crash in `Flush` / `PerWrite`)
//! and nothing beyond the operation in flight. Expiry times are part of the model (see
//! `workload.rs`): each recovered point carries exactly the time last written for it, and
//! no expired point is visible. Streamed writes (`stream_insert_batch`, the drain paused
//! so the run is deterministic) are covered like upserts.

use std::path::Path;
use std::sync::Arc;

use nearstore::storage::{CrashImageKind, FaultyBackend};
use nearstore::{CollectionConfig, Database, Durability, ErrorKind, StorageMode, VectorCollection};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::workload::{self, BARE, Model, Op, content, execute, next_op, no_default};

fn open(
    backend: &FaultyBackend,
    durability: Durability,
    storage: StorageMode,
) -> nearstore::Result<(Database, VectorCollection)> {
    let db = Database::open_with(Arc::new(backend.clone()), Path::new("/db"))?;
    // No background purge: every I/O call happens in the same order on every run.
    db.set_purge_interval(None)?;
    let c = match db.get_vector_collection("c") {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let config = CollectionConfig {
                durability,
                ..match storage {
                    StorageMode::Full => super::workload::config(),
                    mode => super::workload::quantized_config(mode),
                }
            };
            db.create_collection_with_options("c", config)?
        }
        Err(e) => return Err(e),
    };
    super::workload::enable_streaming(&c, true)?;
    Ok((db, c))
}

/// A workload step: an operation, or closing and reopening the database.
#[derive(Debug, Clone)]
enum Step {
    Op(Op),
    Reopen,
}

fn workload(seed: u64, n: usize, storage: StorageMode) -> Vec<Step> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut version = 0;
    let mut last_upserted = 0;
    (0..n)
        .map(|i| {
            if i % 13 == 12 {
                Step::Reopen
            } else if storage != StorageMode::Full && i % 11 == 6 {
                // On-demand training (its crash points are crashes during training).
                Step::Op(Op::TrainQuantizer)
            } else if i % 10 == 9 {
                // A streamed batch in every run, queued (the drain is paused) until the next
                // write applies it: a crash in between recovers it from the log.
                version += 1;
                let first = version;
                version += 1;
                Step::Op(Op::Stream(vec![
                    (last_upserted, first),
                    ((last_upserted + 7) % workload::IDS, version),
                ]))
            } else if i % 17 == 8 {
                // A text configuration change (a new text index generation) in every run.
                Step::Op(Op::TextConfig(i % 34 == 8))
            } else if i % 7 == 3 {
                // Partial payload writes in every run: one point's payload rewritten (to a
                // point upserted earlier, so it is usually live), and a filter-selected clear.
                version += 1;
                Step::Op(Op::SetPayload(last_upserted, version))
            } else if i % 23 == 15 {
                // A datetime payload index in every run (a checkpoint of its kind, then
                // replay of the writes after it into the loaded index).
                Step::Op(Op::CreateIndex("at".into()))
            } else if i % 19 == 10 {
                Step::Op(Op::ClearCategory(i as u64 % 4))
            } else if i % 11 == 5 {
                // Points without vectors in every run: one without any vector and one
                // without the default vector, then single-vector edits of both (every vector
                // set on the first, every vector removed from the second).
                version = next_version(version, 10);
                let bare = version;
                version = next_version(version, 4);
                let ids = (last_upserted, (last_upserted + 1) % workload::IDS);
                Step::Op(Op::Upsert(vec![(ids.0, bare), (ids.1, version)]))
            } else if i % 11 == 6 {
                version = next_version(version, 1);
                Step::Op(Op::SetVectors(last_upserted, version))
            } else if i % 11 == 7 {
                Step::Op(Op::DropVectors((last_upserted + 1) % workload::IDS))
            } else if i % 9 == 1 {
                // An expiry time set or removed in every run (see `workload::set_expiry_for`).
                version += 1;
                Step::Op(Op::SetExpiry(last_upserted, version))
            } else {
                let op = next_op(&mut rng, &mut version);
                if let Op::Upsert(items) | Op::Bulk(items) | Op::Stream(items) = &op {
                    last_upserted = items.first().map_or(last_upserted, |&(id, _)| id);
                }
                Step::Op(op)
            }
        })
        .collect()
}

/// The first version after `after` that is `residue` modulo 12 (see `workload::canonical`).
fn next_version(after: u64, residue: u64) -> u64 {
    let mut v = after + 1;
    while v % 12 != residue {
        v += 1;
    }
    v
}

#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    acked: usize,
    flushed: usize,
}

fn run(
    backend: &FaultyBackend,
    steps: &[Step],
    durability: Durability,
    storage: StorageMode,
) -> Progress {
    let mut progress = Progress::default();
    let Ok(mut opened) = open(backend, durability, storage) else {
        return progress;
    };
    for (i, step) in steps.iter().enumerate() {
        let result = match step {
            Step::Op(op) => execute(&opened.1, op),
            Step::Reopen => {
                drop(opened);
                match open(backend, durability, storage) {
                    Ok(o) => {
                        opened = o;
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
        let barrier = match step {
            Step::Op(op) => op.is_barrier() || durability == Durability::PerWrite,
            Step::Reopen => false,
        };
        if barrier {
            progress.flushed = i + 1;
        }
    }
    progress
}

fn check_image(image: &FaultyBackend, states: &[Model], lo: usize, hi: usize, what: &str) {
    // An existing collection: the storage mode comes from its manifest.
    let (_db, c) = open(image, Durability::Flush, StorageMode::Full)
        .unwrap_or_else(|e| panic!("unopenable database after {what}: {e}"));
    let state = content(&c);
    let ok = (lo..=hi.min(states.len() - 1)).any(|i| states[i] == state);
    assert!(
        ok,
        "after {what}: {} points match no prefix in {lo}..={hi} (at least {} expected)",
        state.len(),
        states[lo].len()
    );
}

fn simulate(seed: u64, n_steps: usize, durability: Durability) -> (u64, u64, u64) {
    simulate_in(seed, n_steps, durability, StorageMode::Full)
}

fn simulate_in(
    seed: u64,
    n_steps: usize,
    durability: Durability,
    storage: StorageMode,
) -> (u64, u64, u64) {
    let steps = workload(seed, n_steps, storage);
    let mut states = vec![Model::new()];
    let mut payload_writes = 0;
    for step in &steps {
        let mut next = states.last().cloned().unwrap_or_default();
        if let Step::Op(op) = step {
            op.apply(&mut next);
        }
        if let Step::Op(Op::SetPayload(..) | Op::ClearCategory(_)) = step
            && next != *states.last().unwrap_or(&next)
        {
            payload_writes += 1;
        }
        states.push(next);
    }
    assert!(
        payload_writes > 0,
        "the workload changes some payload in place"
    );
    let has =
        |pred: &dyn Fn(u64) -> bool| states.iter().any(|m| m.values().any(|(v, _, _)| pred(*v)));
    assert!(
        has(&|v| v == BARE) && has(&|v| no_default(v) && v != BARE),
        "the workload holds points without any vector and without the default vector"
    );
    assert!(
        states.iter().any(|m| m.values().any(|e| e.2 != 0)),
        "the workload holds points with an expiry time"
    );
    let clean = FaultyBackend::new();
    assert_eq!(
        run(&clean, &steps, durability, storage).acked,
        steps.len(),
        "clean run"
    );
    let total_calls = clean.calls();
    let (mut images, mut recovery_images) = (0u64, 0u64);
    for n in 0..total_calls {
        let backend = FaultyBackend::new();
        backend.crash_after(n);
        let progress = run(&backend, &steps, durability, storage);
        let hi = (progress.acked + 1).min(steps.len());
        for (k, image) in backend.crash_images().into_iter().enumerate() {
            let lo = match image.kind {
                CrashImageKind::ProcessCrash | CrashImageKind::TornWrite
                    if durability != Durability::Bulk =>
                {
                    progress.acked
                }
                _ => progress.flushed,
            };
            let what = format!("{durability:?} crash at call {n} ({:?})", image.kind);
            let pristine = image.backend.crash_images().swap_remove(0).backend;
            check_image(&image.backend, &states, lo, hi, &what);
            images += 1;
            // Crash again during recovery, for a sample of the images and of the recovery's
            // calls (every call of every recovery would take minutes).
            if k == 0 && n % 4 == 0 {
                let probe = pristine.crash_images().swap_remove(0).backend;
                let before = probe.calls();
                drop(open(&probe, Durability::Flush, storage).expect("recovery succeeds"));
                for m in (0..probe.calls() - before).step_by(3) {
                    let again = pristine.crash_images().swap_remove(0).backend;
                    again.crash_after(m);
                    let _ = open(&again, Durability::Flush, storage);
                    for nested in again.crash_images() {
                        let what = format!(
                            "{what}, then recovery crash at call {m} ({:?})",
                            nested.kind
                        );
                        check_image(&nested.backend, &states, lo, hi, &what);
                        recovery_images += 1;
                    }
                }
            }
        }
    }
    println!(
        "collection ({durability:?}, {}): {} steps, {total_calls} crash points, {images} crash images, {recovery_images} recovery-crash images: all recovered consistent, no barrier-covered write lost",
        storage.name(),
        steps.len()
    );
    (total_calls, images, recovery_images)
}

#[test]
fn a_crash_or_power_loss_at_any_io_call_recovers_a_consistent_prefix_flush_mode() {
    let (points, images, _) = simulate(11, 30, Durability::Flush);
    assert!(points > 50 && images > points);
}

#[test]
fn a_crash_or_power_loss_at_any_io_call_recovers_a_consistent_prefix_per_write_and_bulk() {
    let (points, _, _) = simulate(12, 24, Durability::PerWrite);
    assert!(points > 50);
    let (points, _, _) = simulate(13, 24, Durability::Bulk);
    assert!(points > 20);
}

#[test]
fn a_quantized_collection_recovers_a_consistent_prefix_from_a_crash_at_any_io_call_training_included()
 {
    let (points, images, _) = simulate_in(5, 18, Durability::Flush, StorageMode::Sq8);
    assert!(points > 50 && images > points);
}

// ---- the same simulation on a graph collection (edges, node deletes, property indexes) ----

use super::graph_workload::{self, GraphModel, GraphOp};
use nearstore::{GraphCollection, GraphCollectionConfig};

fn open_graph(
    backend: &FaultyBackend,
    durability: Durability,
) -> nearstore::Result<(Database, GraphCollection)> {
    let db = Database::open_with(Arc::new(backend.clone()), Path::new("/db"))?;
    db.set_purge_interval(None)?;
    let g = match db.get_graph_collection("g") {
        Ok(g) => g,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let mut config = GraphCollectionConfig::schemaless().collection_config();
            config.durability = durability;
            db.create_collection_with_options("g", config)?;
            db.get_graph_collection("g")?
        }
        Err(e) => return Err(e),
    };
    Ok((db, g))
}

/// Runs the graph workload, reopening the database every 7th step.
fn run_graph(backend: &FaultyBackend, ops: &[GraphOp], durability: Durability) -> Progress {
    let mut progress = Progress::default();
    let Ok(mut opened) = open_graph(backend, durability) else {
        return progress;
    };
    for (i, op) in ops.iter().enumerate() {
        if i % 7 == 6 {
            drop(opened);
            match open_graph(backend, durability) {
                Ok(o) => opened = o,
                Err(_) => return progress,
            }
        }
        if graph_workload::execute(&opened.1, op).is_err() {
            return progress;
        }
        progress.acked = i + 1;
        if op.is_barrier() || durability == Durability::PerWrite {
            progress.flushed = i + 1;
        }
    }
    progress
}

fn check_graph_image(
    image: &FaultyBackend,
    states: &[GraphModel],
    lo: usize,
    hi: usize,
    what: &str,
) {
    let (_db, g) = open_graph(image, Durability::Flush)
        .unwrap_or_else(|e| panic!("unopenable graph after {what}: {e}"));
    let state = graph_workload::content(&g);
    assert!(
        (lo..=hi.min(states.len() - 1)).any(|i| states[i] == state),
        "after {what}: {} nodes, {} edges match no prefix in {lo}..={hi}",
        state.nodes.len(),
        state.edges.len()
    );
}

fn simulate_graph(seed: u64, n_ops: usize, durability: Durability) -> (u64, u64) {
    let ops = graph_workload::generate(seed, n_ops);
    let mut states = vec![GraphModel::default()];
    for op in &ops {
        let mut next = states.last().cloned().unwrap_or_default();
        op.apply(&mut next);
        states.push(next);
    }
    assert!(
        ops.iter().any(|op| matches!(op, GraphOp::DeleteNodes(ids)
            if states.iter().any(|s| s.edges.values().any(|(a, b, _)| ids.contains(a) || ids.contains(b))))),
        "the workload deletes a node that has edges"
    );
    assert!(ops.iter().any(|op| matches!(op, GraphOp::RemoveEdge(_))));
    let clean = FaultyBackend::new();
    assert_eq!(
        run_graph(&clean, &ops, durability).acked,
        ops.len(),
        "clean run"
    );
    let total_calls = clean.calls();
    let mut images = 0u64;
    for n in 0..total_calls {
        let backend = FaultyBackend::new();
        backend.crash_after(n);
        let progress = run_graph(&backend, &ops, durability);
        let hi = (progress.acked + 1).min(ops.len());
        for (k, image) in backend.crash_images().into_iter().enumerate() {
            let lo = match image.kind {
                CrashImageKind::ProcessCrash | CrashImageKind::TornWrite
                    if durability != Durability::Bulk =>
                {
                    progress.acked
                }
                _ => progress.flushed,
            };
            let what = format!("graph {durability:?} crash at call {n} ({:?})", image.kind);
            check_graph_image(&image.backend, &states, lo, hi, &what);
            images += 1;
            // A crash during the recovery of a sample of the images.
            if k == 0 && n % 4 == 0 {
                let pristine = image.backend.crash_images().swap_remove(0).backend;
                let probe = pristine.crash_images().swap_remove(0).backend;
                let before = probe.calls();
                drop(open_graph(&probe, Durability::Flush).expect("recovery succeeds"));
                for m in (0..probe.calls() - before).step_by(3) {
                    let again = pristine.crash_images().swap_remove(0).backend;
                    again.crash_after(m);
                    let _ = open_graph(&again, Durability::Flush);
                    for nested in again.crash_images() {
                        let what =
                            format!("{what}, then recovery crash at {m} ({:?})", nested.kind);
                        check_graph_image(&nested.backend, &states, lo, hi, &what);
                        images += 1;
                    }
                }
            }
        }
    }
    println!(
        "graph ({durability:?}): {} operations, {total_calls} crash points, {images} crash images: adjacency = a prefix of the edge writes after each",
        ops.len()
    );
    (total_calls, images)
}

#[test]
fn a_crash_or_power_loss_at_any_io_call_leaves_the_graph_a_consistent_prefix_of_its_writes() {
    let (points, images) = simulate_graph(21, 26, Durability::Flush);
    assert!(points > 50 && images > points, "{points} {images}");
    let (points, _) = simulate_graph(22, 18, Durability::PerWrite);
    assert!(points > 30);
}
