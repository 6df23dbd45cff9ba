//! The corruption matrix: media damage in every file of a collection is either refused as a
//! `Corruption` error naming the file, or the collection reads back exactly what was written.
//!
//! A pristine database is built once (payloads, two payload indexes, a checkpointed HNSW
//! index, a payload log of several checkpoints and a non-empty operation log), copied while
//! it is open after a flush (what a crash leaves). Each trial copies it, damages one file
//! (bit flip, multi-bit flip, zeroed 4 KiB block, truncation, appended garbage; at a seeded
//! offset, three out of four inside the bytes the file actually uses), runs
//! [`nearstore::verify::verify_database`], opens the copy and reads every point and a set of
//! searches. The outcome must be:
//! - `Corruption` at open or at a read, its message naming the damaged file, and the verify
//!   report naming that file as damaged; or
//! - every point's vector and payload exactly as written, and every search (plain and
//!   filtered) equal to a brute-force answer over the written points.
//!
//! No exception is made for the operation log: the image is copied after a flush, so every
//! logged operation lies below the log's recorded durable length and damage to any of them
//! is refused (record-log format 2, `docs/design/storage-format.md`).
//!
//! `NEARSTORE_CORRUPTION_TRIALS` sets the trials per (file, damage) pair (default 3: 135
//! trials in CI); the figures in the README come from a larger run.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use crate::conformance::copy_dir;
use nearstore::{
    CollectionConfig, Database, DistanceMetric, ErrorKind, FieldIndexKind, Filter, HnswParams,
    Point, distance,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

const DIM: usize = 16;
const METRIC: DistanceMetric = DistanceMetric::Euclidean;
const K: usize = 10;

/// What a collection holds: id -> (vector, payload).
type State = BTreeMap<u64, (Vec<f32>, Option<Value>)>;
/// Search answers: per query, (id, score) best first.
type Answers = Vec<Vec<(u64, f32)>>;

/// The files damaged, relative to the database directory.
const FILES: [&str; 10] = [
    "database.manifest",
    "collections/docs/collection.manifest",
    "collections/docs/ops.log",
    "collections/docs/hnsw.index",
    "collections/docs/payload.indexes",
    "collections/docs/text-0.index",
    "collections/docs/vectors/vectors.dat",
    "collections/docs/vectors/vectors.idx",
    "collections/docs/vectors/vectors.wal",
    "collections/docs/payloads/payloads.log",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Damage {
    BitFlip,
    MultiBitFlip,
    ZeroBlock,
    Truncate,
    AppendGarbage,
}

const DAMAGES: [Damage; 5] = [
    Damage::BitFlip,
    Damage::MultiBitFlip,
    Damage::ZeroBlock,
    Damage::Truncate,
    Damage::AppendGarbage,
];

fn payload(id: u64, version: u64) -> Option<Value> {
    (!id.is_multiple_of(7)).then(|| {
        json!({"category": format!("c{}", (id + version) % 4), "n": id * 10 + version, "v": version})
    })
}

fn random_vector(rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..DIM).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// The pristine database and the states it went through (a recovery must show the last).
struct Fixture {
    _root: tempfile::TempDir,
    image: PathBuf,
    /// `states[0]`: the last checkpoint; `states[i]`: after the i-th logged operation.
    states: Vec<State>,
    queries: Vec<Vec<f32>>,
}

fn upsert(c: &nearstore::VectorCollection, state: &mut State, points: Vec<Point>) {
    for p in &points {
        state.insert(p.id, (p.vector.clone(), p.payload.clone()));
    }
    c.upsert(points).unwrap();
}

fn build_fixture() -> Fixture {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let mut state = State::new();
    let db = Database::open(&live).unwrap();
    let config = CollectionConfig {
        hnsw: HnswParams {
            ef_search: 512,
            ..HnswParams::default()
        },
        ..CollectionConfig::new(DIM, METRIC)
    };
    let c = db.create_collection_with_options("docs", config).unwrap();
    // Checkpointed history: a bulk load, updates, deletes, over several checkpoints.
    let points: Vec<Point> = (0..200)
        .map(|id| Point::new(id, random_vector(&mut rng), payload(id, 0)))
        .collect();
    upsert(&c, &mut state, points);
    c.create_field_index("category", FieldIndexKind::Keyword)
        .unwrap();
    let updates: Vec<Point> = (0..30)
        .map(|i| {
            let id = i * 5;
            Point::new(id, random_vector(&mut rng), payload(id, 1))
        })
        .collect();
    upsert(&c, &mut state, updates);
    let gone: Vec<u64> = (0..20).map(|i| i * 9 + 1).collect();
    c.delete(&gone).unwrap();
    gone.iter().for_each(|id| {
        state.remove(id);
    });
    c.create_field_index("n", FieldIndexKind::Integer).unwrap();
    c.checkpoint().unwrap();
    let mut states = vec![state.clone()];
    // The logged tail: one operation per flush.
    for round in 0..8u64 {
        if round % 3 == 2 {
            let ids: Vec<u64> = (0..4).map(|i| round * 17 + i * 3 + 2).collect();
            c.delete(&ids).unwrap();
            ids.iter().for_each(|id| {
                state.remove(id);
            });
        } else {
            let points: Vec<Point> = (0..6)
                .map(|i| {
                    let id = if i % 2 == 0 {
                        200 + round * 6 + i
                    } else {
                        round * 11 + i
                    };
                    Point::new(id, random_vector(&mut rng), payload(id, 2 + round))
                })
                .collect();
            upsert(&c, &mut state, points);
        }
        c.flush().unwrap();
        states.push(state.clone());
    }
    let image = root.path().join("image");
    copy_dir(&live, &image);
    let queries = (0..6).map(|_| random_vector(&mut rng)).collect();
    drop(c);
    drop(db);
    Fixture {
        _root: root,
        image,
        states,
        queries,
    }
}

/// Bytes of `path` up to its last non-zero byte (the part a damage should mostly hit:
/// `vectors.dat` is preallocated far beyond its used slots).
fn used_len(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |p| p as u64 + 1)
}

/// Damages `path`; returns a description of what was done.
fn damage(path: &Path, kind: Damage, rng: &mut ChaCha8Rng) -> String {
    let mut bytes = std::fs::read(path).unwrap();
    let len = bytes.len() as u64;
    let used = used_len(path).max(1);
    let span = if rng.random_bool(0.75) {
        used
    } else {
        len.max(1)
    };
    let at = rng.random_range(0..span) as usize;
    match kind {
        Damage::BitFlip if len > 0 => {
            let bit = rng.random_range(0..8);
            bytes[at] ^= 1 << bit;
        }
        Damage::MultiBitFlip if len > 0 => {
            // 2 to 8 distinct bits among the 16 bytes from `at` (fewer near the end).
            let end = (at + 16).min(bytes.len());
            let mut bits = std::collections::BTreeSet::new();
            let want = rng.random_range(2..=8).min((end - at) * 8);
            while bits.len() < want {
                bits.insert((rng.random_range(at..end), rng.random_range(0..8u8)));
            }
            for (i, bit) in bits {
                bytes[i] ^= 1 << bit;
            }
        }
        Damage::ZeroBlock => {
            let end = (at + 4096).min(bytes.len());
            bytes[at..end].fill(0);
        }
        Damage::Truncate => bytes.truncate(at),
        Damage::AppendGarbage => {
            let n = rng.random_range(1..4096);
            bytes.extend((0..n).map(|_| rng.random::<u8>()));
        }
        _ => {}
    }
    std::fs::write(path, &bytes).unwrap();
    format!("{kind:?} at byte {at} of {len}")
}

/// What a trial observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    RefusedAtOpen,
    RefusedAtRead,
    Exact,
}

/// Reads every point that any state holds, and the searches; `Err` is the first error.
/// The terms whose text search results are checked (category values, in the `_all` field).
const TEXT_TERMS: [&str; 2] = ["c1", "c2"];

/// The ids a text search for each of [`TEXT_TERMS`] finds, ascending.
fn text_sets(c: &nearstore::VectorCollection) -> nearstore::Result<Vec<Vec<u64>>> {
    TEXT_TERMS
        .iter()
        .map(|term| {
            let mut ids: Vec<u64> = c
                .text_search(term, 10_000)?
                .iter()
                .map(|h| h.point.id)
                .collect();
            ids.sort_unstable();
            Ok(ids)
        })
        .collect()
}

/// [`text_sets`] by brute force over `state`.
fn text_sets_brute(state: &State) -> Vec<Vec<u64>> {
    TEXT_TERMS
        .iter()
        .map(|term| {
            state
                .iter()
                .filter(|(_, (_, p))| p.as_ref().is_some_and(|p| p["category"] == *term))
                .map(|(id, _)| *id)
                .collect()
        })
        .collect()
}

fn observe(db: &Database, fixture: &Fixture) -> nearstore::Result<(State, Answers, Vec<Vec<u64>>)> {
    let c = db.get_vector_collection("docs")?;
    let ids: Vec<u64> = fixture
        .states
        .iter()
        .flat_map(|s| s.keys().copied())
        .collect::<std::collections::BTreeSet<u64>>()
        .into_iter()
        .collect();
    let mut state = State::new();
    for (id, point) in ids.iter().zip(c.get(&ids)?) {
        if let Some(p) = point {
            state.insert(*id, (p.vector, p.payload));
        }
    }
    if c.len() != state.len() {
        state.insert(u64::MAX, (Vec::new(), Some(json!("count differs"))));
    }
    let mut searches = Vec::new();
    for (i, q) in fixture.queries.iter().enumerate() {
        let hits = if i % 2 == 0 {
            c.search(q, K)?
        } else {
            let category = format!("c{}", i % 4);
            c.search_with_filter(q, K, &Filter::eq("category", json!(category)))?
        };
        searches.push(hits.into_iter().map(|h| (h.point.id, h.score)).collect());
    }
    let texts = text_sets(&c)?;
    Ok((state, searches, texts))
}

/// Brute-force answers of the fixture's searches over `state`.
fn brute_force(state: &State, queries: &[Vec<f32>]) -> Answers {
    queries
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let category = json!(format!("c{}", i % 4));
            let mut scored: Vec<(u64, f32)> = state
                .iter()
                .filter(|(_, (_, p))| {
                    i % 2 == 0 || p.as_ref().is_some_and(|p| p["category"] == category)
                })
                .map(|(id, (v, _))| (*id, distance(METRIC, q, v)))
                .collect();
            scored.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            scored.truncate(K);
            scored
        })
        .collect()
}

fn searches_agree(got: &[Vec<(u64, f32)>], want: &[Vec<(u64, f32)>]) -> bool {
    got.len() == want.len()
        && got.iter().zip(want).all(|(g, w)| {
            g.len() == w.len()
                && g.iter()
                    .zip(w)
                    .all(|(a, b)| a.0 == b.0 && (a.1 - b.1).abs() <= 1e-4 * b.1.abs().max(1.0))
        })
}

/// One trial; panics (a test failure) on any outcome the matrix forbids.
fn trial(fixture: &Fixture, file: &str, kind: Damage, seed: u64) -> Outcome {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let db_dir = dir.path().join("db");
    copy_dir(&fixture.image, &db_dir);
    let what = damage(&db_dir.join(file), kind, &mut rng);
    let name = Path::new(file).file_name().unwrap().to_string_lossy();
    let context = format!("{file}: {what} (seed {seed})");
    let report = nearstore::verify::verify_database(&db_dir).unwrap();
    let reported = report.damaged_files().iter().any(|p| p.ends_with(file));
    let refused = |e: nearstore::Error, outcome: Outcome| {
        assert_eq!(e.kind(), ErrorKind::Corruption, "{context}: {e}");
        let message = e.to_string();
        assert!(
            message.contains(name.as_ref()),
            "{context}: error does not name the file: {message}"
        );
        assert!(
            reported,
            "{context}: the engine refused it ({message}) but verify found no damage in it: {report:?}"
        );
        outcome
    };
    let db = match Database::open(&db_dir) {
        Ok(db) => db,
        Err(e) => return refused(e, Outcome::RefusedAtOpen),
    };
    let (state, searches, texts) = match observe(&db, fixture) {
        Ok(seen) => seen,
        Err(e) => return refused(e, Outcome::RefusedAtRead),
    };
    let last = fixture.states.len() - 1;
    {
        let want = &fixture.states[last];
        if state == *want {
            assert!(
                searches_agree(&searches, &brute_force(want, &fixture.queries)),
                "{context}: the points read back exactly but a search differs from brute force"
            );
            assert_eq!(
                texts,
                text_sets_brute(want),
                "{context}: the points read back exactly but a text search differs"
            );
            return Outcome::Exact;
        }
    }
    let want = &fixture.states[last];
    let differing: Vec<u64> = want
        .keys()
        .chain(state.keys())
        .filter(|id| want.get(id) != state.get(id))
        .copied()
        .take(5)
        .collect();
    panic!("{context}: opened and served data that was never written (ids {differing:?} differ)");
}

fn trials_per_pair() -> u64 {
    std::env::var("NEARSTORE_CORRUPTION_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

#[test]
fn damage_to_any_file_is_refused_by_name_or_reads_back_exactly() {
    let fixture = build_fixture();
    let trials = trials_per_pair();
    let mut tally: BTreeMap<(&str, Outcome), u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for (f, file) in FILES.iter().enumerate() {
        for (d, kind) in DAMAGES.iter().enumerate() {
            for t in 0..trials {
                let seed = (f as u64) << 40 | (d as u64) << 32 | t;
                match catch_unwind(AssertUnwindSafe(|| trial(&fixture, file, *kind, seed))) {
                    Ok(outcome) => *tally.entry((file, outcome)).or_default() += 1,
                    Err(panic) => failures.push(
                        panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default(),
                    ),
                }
            }
        }
    }
    eprintln!("corruption matrix: {trials} trials per (file, damage) pair");
    eprintln!("{:<40} {:>8} {:>8} {:>8}", "file", "open", "read", "exact");
    for file in FILES {
        let n = |o| tally.get(&(file, o)).copied().unwrap_or(0);
        eprintln!(
            "{file:<40} {:>8} {:>8} {:>8}",
            n(Outcome::RefusedAtOpen),
            n(Outcome::RefusedAtRead),
            n(Outcome::Exact)
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} trials failed:\n{}",
        failures.len(),
        FILES.len() as u64 * DAMAGES.len() as u64 * trials,
        failures.join("\n")
    );
    let refused: u64 = tally
        .iter()
        .filter(|((_, o), _)| matches!(o, Outcome::RefusedAtOpen | Outcome::RefusedAtRead))
        .map(|(_, n)| n)
        .sum();
    assert!(refused > 0, "no trial was refused: the damage never landed");
}

#[test]
fn verify_reports_no_damage_on_a_clean_database() {
    let fixture = build_fixture();
    let report = nearstore::verify::verify_database(&fixture.image).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert!(report.files.len() >= FILES.len(), "{report:?}");
    let db = Database::open(&fixture.image).unwrap();
    let live = db.verify().unwrap();
    assert!(live.is_clean(), "{live:?}");
    assert!(live.to_string().contains("no damage"), "{live}");
}

#[test]
fn open_names_the_damaged_collection_and_skipping_it_serves_the_others() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        for name in ["good", "bad"] {
            let c = db.create_collection(name, 4, METRIC).unwrap();
            let points = (0..20)
                .map(|i| Point::new(i, vec![i as f32, 1.0, 2.0, 3.0], Some(json!({"i": i}))))
                .collect();
            c.upsert(points).unwrap();
        }
    }
    let data = dir.path().join("collections/bad/vectors/vectors.dat");
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[4096 + 3 * 16] ^= 1;
    std::fs::write(&data, bytes).unwrap();

    let e = Database::open(dir.path()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption);
    let message = e.to_string();
    for part in [
        "vectors.dat",
        "at byte 4144",
        "\"bad\"",
        "(good) are undamaged and usable",
    ] {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }

    let db = Database::open_skipping_damaged(dir.path()).unwrap();
    assert_eq!(db.list_collections(), vec!["good".to_string()]);
    assert_eq!(db.damaged_collections().len(), 1);
    let good = db.get_vector_collection("good").unwrap();
    assert_eq!(good.len(), 20);
    assert_eq!(
        good.get(&[3]).unwrap()[0].as_ref().unwrap().vector,
        vec![3.0, 1.0, 2.0, 3.0]
    );
    let e = db.get_vector_collection("bad").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption);
    assert!(e.to_string().contains("vectors.dat"), "{e}");
    assert_eq!(
        db.create_collection("bad", 4, METRIC).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    let report = db.verify().unwrap();
    assert_eq!(report.damaged_files(), vec![data.as_path()]);

    // Dropping the damaged collection keeps the others listed and makes the name free again.
    db.drop_collection("bad").unwrap();
    drop(good);
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.list_collections(), vec!["good".to_string()]);
    db.create_collection("bad", 4, METRIC).unwrap();
}

#[test]
fn a_payload_log_cut_below_its_checkpoint_is_refused_not_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("collections/docs/payloads/payloads.log");
    let first_len = {
        let db = Database::open(dir.path()).unwrap();
        let c = db.create_collection("docs", 4, METRIC).unwrap();
        c.upsert(vec![Point::new(1, vec![1.0; 4], Some(json!({"v": 1})))])
            .unwrap();
        c.checkpoint().unwrap();
        let first_len = std::fs::metadata(&log).unwrap().len();
        c.upsert(vec![Point::new(1, vec![2.0; 4], Some(json!({"v": 2})))])
            .unwrap();
        c.checkpoint().unwrap();
        first_len
    };
    // Cut back exactly to the end of the first checkpoint's group: a valid, older log.
    let file = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    file.set_len(first_len).unwrap();
    drop(file);
    let e = Database::open(dir.path()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption);
    assert!(e.to_string().contains("payloads.log"), "{e}");
    assert!(
        e.to_string().contains(&format!("at byte {first_len}")),
        "{e}"
    );
    let report = nearstore::verify::verify_database(dir.path()).unwrap();
    assert!(
        report
            .damaged_files()
            .iter()
            .any(|p| p.ends_with("payloads.log")),
        "{report}"
    );
}

#[test]
fn verify_checks_named_and_sparse_vector_files() {
    use nearstore::{SparseVector, VectorSpaceConfig};
    let dir = tempfile::tempdir().unwrap();
    let config = CollectionConfig::new(4, METRIC)
        .with_vector("img", VectorSpaceConfig::new(3, DistanceMetric::Cosine));
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db.create_collection_with_options("c", config).unwrap();
        let points = (0..30u64)
            .map(|i| {
                let x = i as f32;
                let p = Point::new(i, vec![x, 1.0, 2.0, 3.0], None).with_sparse(
                    "",
                    SparseVector::new(vec![i as u32 % 7, 100], vec![1.0, x]).unwrap(),
                );
                // Every third point has no `img` vector.
                if i % 3 == 0 {
                    p
                } else {
                    p.with_vector("img", vec![x, 1.0, 0.5])
                }
            })
            .collect();
        c.upsert(points).unwrap();
        c.checkpoint().unwrap();
        // A logged tail after the checkpoint: one point loses `img`, one is deleted.
        c.upsert(vec![Point::new(1, vec![0.0, 1.0, 2.0, 3.0], None)])
            .unwrap();
        c.delete(&[2]).unwrap();
    }
    let report = nearstore::verify::verify_database(dir.path()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    let coll = dir.path().join("collections/c");
    let listed: Vec<_> = report.files.iter().map(|f| f.path.clone()).collect();
    let sparse = coll.join("sparse-.index");
    let img_index = coll.join("hnsw-696d67.index");
    let img_data = coll.join("vectors-696d67/vectors.dat");
    for f in [&sparse, &img_index, &img_data] {
        assert!(listed.contains(f), "{f:?} not checked: {listed:?}");
    }

    for damaged in [&sparse, &img_index] {
        let saved = std::fs::read(damaged).unwrap();
        let mut bytes = saved.clone();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x10;
        std::fs::write(damaged, &bytes).unwrap();
        let report = nearstore::verify::verify_database(dir.path()).unwrap();
        assert_eq!(
            report.damaged_files(),
            vec![damaged.as_path()],
            "{report:?}"
        );
        std::fs::write(damaged, saved).unwrap();
    }
}
