//! `kill -9` torture at collection level: a child process (this test binary, re-executed)
//! runs a seeded workload on a real database directory — upserts with payloads, bulk
//! upserts, streamed writes (`stream_insert`, drained by the background thread), deletes,
//! deletes by filter, flushes, checkpoints, payload-index creation — and
//! reports each operation to the parent before ("begin") and after ("ack") it returns. The
//! parent SIGKILLs it after a random number of acknowledgements; the next child recovers,
//! checks the collection's invariants (every live point has its vector and exactly the
//! payload written with it; the index holds exactly the live ids; payload-index answers equal
//! brute force) and reports its content, which the parent checks against its model:
//! - `Flush` and `PerWrite`: every acknowledged operation is there, the one in flight wholly
//!   or not at all;
//! - `Bulk`: the content is the model after some prefix of the operations, at least up to
//!   the last acknowledged flush.
//!
//! Two directories in three store the default vector quantized (`sq8`, `rabitq`), training
//! at 24 points and on demand every 29 operations, so kills land before, during and after
//! training.

use std::path::Path;

use nearstore::{CollectionConfig, Database, Durability, ErrorKind, StorageMode, VectorCollection};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use nearstore_testkit::kill9::{self, Event};

use super::workload::{Model, Op, content, execute, next_op};

const CHILD_TEST: &str = "kill9::collection_driver_workload_matches_its_model";

fn durability(seed: u64) -> Durability {
    match seed % 5 {
        0 => Durability::PerWrite,
        1 => Durability::Bulk,
        _ => Durability::Flush,
    }
}

/// Two directories in three store their default vector quantized (`sq8` or `rabitq`).
fn storage(seed: u64) -> StorageMode {
    match (seed / 1000) % 3 {
        1 => StorageMode::Sq8,
        2 => StorageMode::Rabitq,
        _ => StorageMode::Full,
    }
}

fn open(dir: &Path, seed: u64) -> (Database, VectorCollection) {
    let db = Database::open(dir).expect("recovery after kill -9");
    let c = match db.get_vector_collection("c") {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let config = CollectionConfig {
                durability: durability(seed),
                ..match storage(seed) {
                    StorageMode::Full => super::workload::config(),
                    mode => super::workload::quantized_config(mode),
                }
            };
            db.create_collection_with_options("c", config).unwrap()
        }
        Err(e) => panic!("{e}"),
    };
    super::workload::enable_streaming(&c, false).unwrap();
    (db, c)
}

fn child_main(dir: &Path, seed: u64, max_ops: u64) {
    let (_db, c) = open(dir, seed);
    kill9::report(Event::State(&serde_json::to_string(&content(&c)).unwrap()));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Versions stay below 2^24 so they are exact in an f32 component.
    let mut version = (seed % 1000) * 10_000;
    for i in 0..max_ops {
        // An on-demand training now and then (a kill may land in it), besides the
        // automatic one at the threshold.
        let op = if i % 29 == 28 {
            Op::TrainQuantizer
        } else {
            next_op(&mut rng, &mut version)
        };
        kill9::report(Event::Begin(&serde_json::to_string(&op).unwrap()));
        execute(&c, &op).expect("operation");
        kill9::report(Event::Ack);
    }
}

fn spawn_child(dir: &Path, seed: u64, max_ops: u64) -> std::process::Child {
    kill9::spawn_child(
        CHILD_TEST,
        &[
            ("NEARSTORE_KILL9_DIR", dir.display().to_string()),
            ("NEARSTORE_KILL9_SEED", seed.to_string()),
            ("NEARSTORE_KILL9_OPS", max_ops.to_string()),
        ],
    )
}

/// The parent's model of one directory.
struct Tracker {
    durability: Durability,
    acked: Model,
    /// Models after each acknowledged operation since the last acknowledged barrier (the
    /// first entry is the model at that barrier): a `Bulk` recovery must match one of them.
    since_barrier: Vec<Model>,
    kills: u64,
    acked_writes: u64,
}

impl Tracker {
    fn new(durability: Durability) -> Self {
        Tracker {
            durability,
            acked: Model::new(),
            since_barrier: vec![Model::new()],
            kills: 0,
            acked_writes: 0,
        }
    }

    fn ack(&mut self, op: &Op) {
        op.apply(&mut self.acked);
        self.acked_writes += u64::from(!op.is_barrier());
        if op.is_barrier() {
            self.since_barrier.clear();
        }
        self.since_barrier.push(self.acked.clone());
    }

    fn check(&mut self, got: &Model, inflight: Option<&Op>) {
        let mut with_inflight = self.acked.clone();
        if let Some(op) = inflight {
            op.apply(&mut with_inflight);
        }
        let ok = *got == self.acked
            || *got == with_inflight
            || (self.durability == Durability::Bulk && self.since_barrier.contains(got));
        assert!(
            ok,
            "{:?} after kill {}: recovered {} points, acknowledged model has {} (in flight: {:?})",
            self.durability,
            self.kills,
            got.len(),
            self.acked.len(),
            inflight.map(|op| format!("{op:?}").chars().take(80).collect::<String>())
        );
        self.acked = got.clone();
        self.since_barrier = vec![got.clone()];
    }
}

fn run_and_kill(dir: &Path, seed: u64, kill_after: u64, t: &mut Tracker) -> Option<Op> {
    let mut inflight: Option<Op> = None;
    kill9::run_until_killed(spawn_child(dir, seed, u64::MAX), kill_after, |e| match e {
        Event::State(state) => t.check(&serde_json::from_str(state).unwrap(), None),
        Event::Begin(op) => inflight = Some(serde_json::from_str(op).unwrap()),
        Event::Ack => t.ack(&inflight.take().expect("ack after begin")),
    });
    t.kills += 1;
    inflight
}

fn recover_and_check(dir: &Path, seed: u64, inflight: Option<&Op>, t: &mut Tracker) {
    kill9::run_to_end(spawn_child(dir, seed, 0), |e| {
        if let Event::State(state) = e {
            t.check(&serde_json::from_str(state).unwrap(), inflight);
        }
    });
}

#[test]
fn collections_survive_repeated_kill9_consistent_and_with_no_acknowledged_write_lost() {
    let dirs = 10u64;
    let kills_per_dir = 21u64;
    let mut total_kills = 0;
    let mut total_writes = 0;
    let mut quantized_kills = 0;
    let mut rng = ChaCha8Rng::seed_from_u64(0xc011);
    for d in 0..dirs {
        let dir = tempfile::tempdir().unwrap();
        // Every child of a directory uses the directory's durability (the seed's residue).
        let base = d * 1000;
        let mut t = Tracker::new(durability(base + 5));
        let mut inflight: Option<Op> = None;
        for k in 0..kills_per_dir {
            let seed = base + 5 * (k + 1);
            if let Some(op) = inflight.take() {
                recover_and_check(dir.path(), seed, Some(&op), &mut t);
            }
            let kill_after = rng.random_range(1..120);
            inflight = run_and_kill(dir.path(), seed, kill_after, &mut t);
        }
        recover_and_check(dir.path(), base + 5, inflight.as_ref(), &mut t);
        quantized_kills += if storage(base) == StorageMode::Full {
            0
        } else {
            t.kills
        };
        total_kills += t.kills;
        total_writes += t.acked_writes;
    }
    println!(
        "collection kill -9 torture: {total_kills} kills over {dirs} directories ({quantized_kills} in quantized ones), {total_writes} acknowledged writes, 0 lost, 0 half-present points, invariants held after every recovery"
    );
    assert!(total_kills >= 200);
    assert!(quantized_kills >= 100);
}

/// In a child process: the torture driver. Run directly, it runs a short workload on a
/// fresh directory and checks the result against its own model.
#[test]
fn collection_driver_workload_matches_its_model() {
    if let Ok(dir) = std::env::var("NEARSTORE_KILL9_DIR") {
        let seed: u64 = std::env::var("NEARSTORE_KILL9_SEED")
            .unwrap()
            .parse()
            .unwrap();
        let ops: u64 = std::env::var("NEARSTORE_KILL9_OPS")
            .unwrap()
            .parse()
            .unwrap();
        child_main(Path::new(&dir), seed, ops);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_db, c) = open(dir.path(), 2);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut version = 0;
    let mut model = Model::new();
    for _ in 0..300 {
        let op = next_op(&mut rng, &mut version);
        execute(&c, &op).expect("operation");
        op.apply(&mut model);
    }
    // Streamed points are read once applied: stopping streaming applies what is queued.
    c.disable_streaming().unwrap();
    assert_eq!(content(&c), model);
}

// ---- the same torture on a graph collection: edge inserts and removals, node deletes ----

use super::graph_workload::{self, GraphModel, GraphOp};

const GRAPH_CHILD_TEST: &str = "kill9::graph_driver_workload_matches_its_model";

fn open_graph(dir: &Path, seed: u64) -> (Database, nearstore::GraphCollection) {
    let db = Database::open(dir).expect("recovery after kill -9");
    let g = match db.get_graph_collection("g") {
        Ok(g) => g,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let mut config = nearstore::GraphCollectionConfig::schemaless().collection_config();
            config.durability = durability(seed);
            db.create_collection_with_options("g", config).unwrap();
            db.get_graph_collection("g").unwrap()
        }
        Err(e) => panic!("{e}"),
    };
    (db, g)
}

/// A child: recovers, reports the graph (after its invariant check), then writes operations
/// valid in the recovered state (edge ids from the seed, so no child reuses one).
fn graph_child_main(dir: &Path, seed: u64, max_ops: u64) {
    let (_db, g) = open_graph(dir, seed);
    let mut model = graph_workload::content(&g);
    kill9::report(Event::State(&serde_json::to_string(&model).unwrap()));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut next_edge = seed * 100_000;
    for i in 0..max_ops {
        let op = graph_workload::next_op(&mut rng, &model, &mut next_edge, i as usize);
        kill9::report(Event::Begin(&serde_json::to_string(&op).unwrap()));
        graph_workload::execute(&g, &op).expect("operation");
        op.apply(&mut model);
        kill9::report(Event::Ack);
    }
}

/// The parent's model of one graph directory (as [`Tracker`]).
struct GraphTracker {
    durability: Durability,
    acked: GraphModel,
    since_barrier: Vec<GraphModel>,
    kills: u64,
    acked_writes: u64,
}

impl GraphTracker {
    fn ack(&mut self, op: &GraphOp) {
        op.apply(&mut self.acked);
        self.acked_writes += u64::from(!op.is_barrier());
        if op.is_barrier() {
            self.since_barrier.clear();
        }
        self.since_barrier.push(self.acked.clone());
    }

    fn check(&mut self, got: &GraphModel, inflight: Option<&GraphOp>) {
        let mut with_inflight = self.acked.clone();
        if let Some(op) = inflight {
            op.apply(&mut with_inflight);
        }
        let ok = *got == self.acked
            || *got == with_inflight
            || (self.durability == Durability::Bulk && self.since_barrier.contains(got));
        assert!(
            ok,
            "{:?} graph after kill {}: recovered {} edges, acknowledged model has {} (in flight: {inflight:?})",
            self.durability,
            self.kills,
            got.edges.len(),
            self.acked.edges.len(),
        );
        self.acked = got.clone();
        self.since_barrier = vec![got.clone()];
    }
}

#[test]
fn graphs_survive_repeated_kill9_with_adjacency_equal_to_the_acknowledged_edges() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x96a9);
    let (mut total_kills, mut total_writes) = (0, 0);
    // Directory seeds with residues 0 (PerWrite), 1 (Bulk) and 2 (Flush).
    for base in [5_000u64, 6_001, 7_002] {
        let dir = tempfile::tempdir().unwrap();
        let mut t = GraphTracker {
            durability: durability(base),
            acked: GraphModel::default(),
            since_barrier: vec![GraphModel::default()],
            kills: 0,
            acked_writes: 0,
        };
        let mut inflight: Option<GraphOp> = None;
        for k in 0..12u64 {
            let seed = base + 5 * (k + 1);
            let check = |t: &mut GraphTracker, inflight: Option<&GraphOp>| {
                kill9::run_to_end(
                    kill9::spawn_child(
                        GRAPH_CHILD_TEST,
                        &[
                            ("NEARSTORE_KILL9_DIR", dir.path().display().to_string()),
                            ("NEARSTORE_KILL9_SEED", seed.to_string()),
                            ("NEARSTORE_KILL9_OPS", "0".to_string()),
                        ],
                    ),
                    |e| {
                        if let Event::State(state) = e {
                            t.check(&serde_json::from_str(state).unwrap(), inflight);
                        }
                    },
                );
            };
            if let Some(op) = inflight.take() {
                check(&mut t, Some(&op));
            }
            let child = kill9::spawn_child(
                GRAPH_CHILD_TEST,
                &[
                    ("NEARSTORE_KILL9_DIR", dir.path().display().to_string()),
                    ("NEARSTORE_KILL9_SEED", seed.to_string()),
                    ("NEARSTORE_KILL9_OPS", u64::MAX.to_string()),
                ],
            );
            let mut current: Option<GraphOp> = None;
            kill9::run_until_killed(child, rng.random_range(1..60), |e| match e {
                Event::State(state) => t.check(&serde_json::from_str(state).unwrap(), None),
                Event::Begin(op) => current = Some(serde_json::from_str(op).unwrap()),
                Event::Ack => t.ack(&current.take().expect("ack after begin")),
            });
            t.kills += 1;
            inflight = current;
        }
        let last = inflight.take();
        kill9::run_to_end(
            kill9::spawn_child(
                GRAPH_CHILD_TEST,
                &[
                    ("NEARSTORE_KILL9_DIR", dir.path().display().to_string()),
                    ("NEARSTORE_KILL9_SEED", base.to_string()),
                    ("NEARSTORE_KILL9_OPS", "0".to_string()),
                ],
            ),
            |e| {
                if let Event::State(state) = e {
                    t.check(&serde_json::from_str(state).unwrap(), last.as_ref());
                }
            },
        );
        total_kills += t.kills;
        total_writes += t.acked_writes;
    }
    println!(
        "graph kill -9 torture: {total_kills} kills, {total_writes} acknowledged graph writes, 0 lost, adjacency = the model after every recovery"
    );
    assert!(
        total_kills >= 36 && total_writes > 100,
        "{total_kills} {total_writes}"
    );
}

/// In a child process: the graph torture driver. Run directly, it runs a short workload
/// and checks it against the model.
#[test]
fn graph_driver_workload_matches_its_model() {
    if let Ok(dir) = std::env::var("NEARSTORE_KILL9_DIR") {
        let var = |name: &str| std::env::var(name).unwrap().parse::<u64>().unwrap();
        graph_child_main(
            Path::new(&dir),
            var("NEARSTORE_KILL9_SEED"),
            var("NEARSTORE_KILL9_OPS"),
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_db, g) = open_graph(dir.path(), 2);
    let mut model = GraphModel::default();
    for op in graph_workload::generate(9, 200) {
        graph_workload::execute(&g, &op).expect("operation");
        op.apply(&mut model);
    }
    assert_eq!(graph_workload::content(&g), model);
}
