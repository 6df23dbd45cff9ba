//! `kill -9` torture: a child process (this test binary, re-executed) runs a seeded workload
//! on a real directory and reports every operation to the parent over its stdout pipe before
//! ("begin") and after ("ack") it returns. The parent SIGKILLs it at a random moment, starts a
//! fresh child on the same directory, which recovers and reports the store's full content,
//! and checks it against the parent's model: every acknowledged write is there (they were in
//! the page cache), the write in flight is either wholly there or not, and nothing deleted
//! comes back. Several kills per directory.

use std::collections::BTreeMap;
use std::path::Path;

use nearstore_storage::{
    Durability, Error, PayloadStore, PayloadStoreOptions, VectorStore, VectorStoreOptions,
    fs_backend,
};
use nearstore_testkit::kill9::{self, Event};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

const DIM: usize = 16;
const CHILD_TEST: &str = "kill9::driver_workload_matches_its_model";

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Op {
    Put(Vec<(u64, u64)>),
    Delete(Vec<u64>),
    Flush,
    Compact,
}

type Model = BTreeMap<u64, u64>;

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
struct Content {
    vectors: Model,
    payloads: Model,
}

impl Op {
    fn apply(&self, m: &mut Model) {
        match self {
            Op::Put(items) => m.extend(items.iter().copied()),
            Op::Delete(ids) => ids.iter().for_each(|id| {
                m.remove(id);
            }),
            Op::Flush | Op::Compact => {}
        }
    }
}

fn vector(id: u64, version: u64) -> Vec<f32> {
    let mut v = vec![id as f32, version as f32];
    v.extend((2..DIM).map(|i| ((id + version * 3 + i as u64) % 101) as f32 * 0.5));
    v
}

fn durability(seed: u64) -> Durability {
    if seed.is_multiple_of(3) {
        Durability::PerWrite
    } else {
        Durability::Flush
    }
}

struct Stores {
    vectors: VectorStore,
    payloads: PayloadStore,
}

fn open(dir: &Path, durability: Durability) -> Result<Stores, Error> {
    let vectors = VectorStore::open_with(
        fs_backend(),
        dir,
        DIM,
        VectorStoreOptions {
            durability,
            initial_capacity_bytes: 64 << 10,
            checkpoint_wal_bytes: 256 << 10,
        },
    )?;
    let payloads = PayloadStore::open_with(
        fs_backend(),
        dir,
        PayloadStoreOptions {
            durability,
            compact_dead_bytes: 64 << 10,
            ..PayloadStoreOptions::default()
        },
    )?;
    Ok(Stores { vectors, payloads })
}

fn content(s: &Stores) -> Content {
    let mut c = Content::default();
    for id in s.vectors.ids() {
        let v = s.vectors.retrieve(id).unwrap().unwrap();
        let version = v[1] as u64;
        assert_eq!(v, vector(id, version), "vector {id} intact");
        c.vectors.insert(id, version);
    }
    for id in s.payloads.ids() {
        let p = s.payloads.retrieve(id).unwrap().unwrap();
        assert_eq!(p["id"], json!(id), "payload {id} intact");
        c.payloads.insert(id, p["v"].as_u64().unwrap());
    }
    c
}

fn next_op(rng: &mut ChaCha8Rng, version: &mut u64) -> Op {
    let mut v = || {
        *version += 1;
        *version
    };
    match rng.random_range(0..100) {
        0..=44 => Op::Put(vec![(rng.random_range(0..200), v())]),
        45..=64 => Op::Put(
            (0..rng.random_range(2..40))
                .map(|_| (rng.random_range(0..200), v()))
                .collect(),
        ),
        65..=84 => Op::Delete(
            (0..rng.random_range(1..4))
                .map(|_| rng.random_range(0..200))
                .collect(),
        ),
        85..=96 => Op::Flush,
        _ => Op::Compact,
    }
}

fn execute(s: &Stores, op: &Op) -> Result<(), Error> {
    match op {
        Op::Put(items) => {
            let vs: Vec<(u64, Vec<f32>)> =
                items.iter().map(|&(id, v)| (id, vector(id, v))).collect();
            s.vectors.store_batch(&vs)?;
            let ps: Vec<(u64, serde_json::Value)> = items
                .iter()
                .map(|&(id, v)| (id, json!({"id": id, "v": v})))
                .collect();
            s.payloads.store_batch(&ps)
        }
        Op::Delete(ids) => {
            s.vectors.delete_batch(ids)?;
            s.payloads.delete_batch(ids).map(|_| ())
        }
        Op::Flush => {
            s.vectors.flush()?;
            s.payloads.flush()
        }
        Op::Compact => {
            s.vectors.compact()?;
            s.payloads.compact().map(|_| ())
        }
    }
}

/// The child's side: recover, report the content, then run operations until killed (or
/// `max_ops` are done), reporting each.
fn child_main(dir: &Path, seed: u64, max_ops: u64) {
    let stores = open(dir, durability(seed)).expect("recovery after kill -9");
    kill9::report(Event::State(
        &serde_json::to_string(&content(&stores)).unwrap(),
    ));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Versions stay below 2^24 so they are exact in an f32 component.
    let mut version = (seed % 1000) * 100_000;
    for _ in 0..max_ops {
        let op = next_op(&mut rng, &mut version);
        kill9::report(Event::Begin(&serde_json::to_string(&op).unwrap()));
        execute(&stores, &op).expect("operation");
        kill9::report(Event::Ack);
    }
}

fn spawn_child(dir: &Path, seed: u64, max_ops: u64, mode: &str) -> std::process::Child {
    kill9::spawn_child(
        CHILD_TEST,
        &[
            ("NEARSTORE_KILL9_DIR", dir.display().to_string()),
            ("NEARSTORE_KILL9_SEED", seed.to_string()),
            ("NEARSTORE_KILL9_OPS", max_ops.to_string()),
            ("NEARSTORE_KILL9_MODE", mode.to_string()),
        ],
    )
}

/// The parent's model of one directory: per store (vectors, payloads), since the two are
/// written one after the other and a kill can fall between them.
#[derive(Default)]
struct Tracker {
    acked: [Model; 2],
    /// Each store's state as of the last acknowledged flush/compact.
    flushed: [Model; 2],
    kills: u64,
    acked_writes: u64,
}

impl Tracker {
    fn ack(&mut self, op: &Op) {
        for m in &mut self.acked {
            op.apply(m);
        }
        self.acked_writes += u64::from(matches!(op, Op::Put(_) | Op::Delete(_)));
        if matches!(op, Op::Flush | Op::Compact) {
            self.flushed = self.acked.clone();
        }
    }

    /// Checks a recovered content against the model and the operation in flight, then adopts it.
    fn check(&mut self, got: &Content, inflight: Option<&Op>) {
        let touched_by_inflight: Vec<u64> = match inflight {
            Some(Op::Put(items)) => items.iter().map(|(id, _)| *id).collect(),
            Some(Op::Delete(ids)) => ids.clone(),
            _ => Vec::new(),
        };
        let states = [&got.vectors, &got.payloads];
        for (i, name) in ["vectors", "payloads"].into_iter().enumerate() {
            let (acked, state) = (&self.acked[i], states[i]);
            let mut with_inflight = acked.clone();
            if let Some(op) = inflight {
                op.apply(&mut with_inflight);
            }
            let lost_flushed = self.flushed[i]
                .iter()
                .filter(|(id, v)| {
                    acked.get(id) == Some(v)
                        && state.get(id) != Some(v)
                        && !touched_by_inflight.contains(id)
                })
                .count();
            assert_eq!(
                lost_flushed, 0,
                "{name}: flushed writes lost after kill {}",
                self.kills
            );
            assert!(
                state == acked || *state == with_inflight,
                "{name} after kill {}: recovered {} ids, acknowledged model has {}",
                self.kills,
                state.len(),
                acked.len()
            );
            self.acked[i] = state.clone();
        }
        self.flushed = self.acked.clone();
    }
}

/// Runs one child until it has acknowledged `kill_after` operations, SIGKILLs it, and reads
/// what it reported (including lines written just before it died).
fn run_and_kill(dir: &Path, seed: u64, kill_after: u64, t: &mut Tracker) -> Option<Op> {
    let mut inflight: Option<Op> = None;
    let child = spawn_child(dir, seed, u64::MAX, "work");
    kill9::run_until_killed(child, kill_after, |e| match e {
        Event::State(state) => t.check(&serde_json::from_str(state).unwrap(), None),
        Event::Begin(op) => inflight = Some(serde_json::from_str(op).unwrap()),
        Event::Ack => t.ack(&inflight.take().expect("ack after begin")),
    });
    t.kills += 1;
    inflight
}

/// Starts a child that only recovers and reports, and checks its report.
fn recover_and_check(dir: &Path, seed: u64, inflight: Option<&Op>, t: &mut Tracker) {
    kill9::run_to_end(spawn_child(dir, seed, 0, "work"), |e| {
        if let Event::State(state) = e {
            t.check(&serde_json::from_str(state).unwrap(), inflight);
        }
    });
}

#[test]
fn stores_survive_repeated_kill9_with_no_acknowledged_write_lost() {
    let kills_per_dir = 8u64;
    let dirs = 26u64;
    let mut total_kills = 0;
    let mut total_writes = 0;
    let mut rng = ChaCha8Rng::seed_from_u64(0x9e37);
    for d in 0..dirs {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Tracker::default();
        let mut inflight: Option<Op> = None;
        for k in 0..kills_per_dir {
            // Each child recovers first; its state report is checked against the previous
            // child's in-flight operation.
            let seed = d * 1000 + k + 1;
            if let Some(op) = inflight.take() {
                recover_and_check(dir.path(), seed, Some(&op), &mut t);
            }
            let kill_after = rng.random_range(1..400);
            inflight = run_and_kill(dir.path(), seed, kill_after, &mut t);
        }
        recover_and_check(dir.path(), d * 1000 + 999, inflight.as_ref(), &mut t);
        total_kills += t.kills;
        total_writes += t.acked_writes;
    }
    println!(
        "kill -9 torture: {total_kills} kills over {dirs} directories, {total_writes} acknowledged writes, 0 lost, 0 unreadable stores"
    );
    assert!(total_kills >= 200);
}

#[test]
fn another_process_opening_a_locked_store_gets_a_locked_error() {
    let dir = tempfile::tempdir().unwrap();
    let _held = open(dir.path(), Durability::Flush).unwrap();
    let child = spawn_child(dir.path(), 1, 0, "lockprobe");
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("KILL9 locked"), "child output: {text}");
}

/// In a child process: the torture driver (or the lock probe). Run directly, it runs a short
/// workload on a fresh directory and checks the result against its own model.
#[test]
fn driver_workload_matches_its_model() {
    if let Ok(dir) = std::env::var("NEARSTORE_KILL9_DIR") {
        let seed: u64 = std::env::var("NEARSTORE_KILL9_SEED")
            .unwrap()
            .parse()
            .unwrap();
        let ops: u64 = std::env::var("NEARSTORE_KILL9_OPS")
            .unwrap()
            .parse()
            .unwrap();
        if std::env::var("NEARSTORE_KILL9_MODE").as_deref() == Ok("lockprobe") {
            match VectorStore::open(&dir, DIM) {
                Err(Error::Locked { .. }) => println!("{}locked", kill9::PREFIX),
                other => println!("{}unexpected {other:?}", kill9::PREFIX),
            }
            return;
        }
        child_main(Path::new(&dir), seed, ops);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let stores = open(dir.path(), Durability::Flush).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut version = 0;
    let mut model = Model::new();
    for _ in 0..500 {
        let op = next_op(&mut rng, &mut version);
        execute(&stores, &op).unwrap();
        op.apply(&mut model);
    }
    let c = content(&stores);
    assert_eq!(c.vectors, model);
    assert_eq!(c.payloads, model);
}
