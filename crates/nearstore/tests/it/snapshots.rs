//! Database and collection snapshots: consistency at one sequence number per collection
//! while a writer runs, verification before anything is replaced (a flipped byte is refused
//! with the file and offset), restore of the whole database (collections, aliases) and of
//! one collection, streamed points drained before the cut, progress reports. `kill -9`
//! during a snapshot or a restore is in `snapshot_kill9.rs`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nearstore::{Database, DistanceMetric, ErrorKind, Point, StreamingConfig, VectorCollection};
use serde_json::json;

use super::temp_db;

/// id -> version, as stored.
type Content = BTreeMap<u64, u64>;

fn content(c: &VectorCollection) -> Content {
    let mut out = Content::new();
    let mut cursor = None;
    loop {
        let page = c.scroll(None, 1000, cursor).unwrap();
        for p in page.points {
            let v = p.payload.as_ref().unwrap()["v"].as_u64().unwrap();
            assert_eq!(
                p.vector,
                vec![p.id as f32, v as f32],
                "vector of {} whole",
                p.id
            );
            out.insert(p.id, v);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

fn point(id: u64, v: u64) -> Point {
    Point::new(id, vec![id as f32, v as f32], Some(json!({"v": v})))
}

/// The writer's `i`-th operation: an upsert of a point (one logged operation), or every
/// fifth a delete (logged when the point is there).
fn op(c: &VectorCollection, i: u64) {
    if i % 5 == 4 {
        c.delete(&[(i + 1) % 40]).unwrap();
    } else {
        c.upsert(vec![point(i % 40, i)]).unwrap();
    }
}

/// The content after the writer's first `n` logged operations, over `base` (a delete of
/// an absent point logs nothing).
fn model(base: &Content, n: u64) -> Content {
    let mut m = base.clone();
    let (mut logged, mut i) = (0, 0);
    while logged < n {
        if i % 5 == 4 {
            logged += u64::from(m.remove(&((i + 1) % 40)).is_some());
        } else {
            m.insert(i % 40, i);
            logged += 1;
        }
        i += 1;
    }
    m
}

fn open_collection(dir: &Path, name: &str) -> (Database, VectorCollection) {
    let db = Database::open(dir).unwrap();
    let c = db.get_vector_collection(name).unwrap();
    (db, c)
}

#[test]
fn a_snapshot_during_writes_restores_to_the_model_at_one_sequence_number_per_collection() {
    let (_dir, db) = temp_db();
    let names = ["a", "b"];
    let mut bases = BTreeMap::new();
    for name in names {
        let c = db
            .create_collection(name, 2, DistanceMetric::Euclidean)
            .unwrap();
        c.upsert((100..120).map(|id| point(id, 1)).collect())
            .unwrap();
        bases.insert(name, content(&c));
    }
    // The sequence numbers before the writers start: each logged operation takes the next.
    let snaps = tempfile::tempdir().unwrap();
    let before = db.snapshot(snaps.path().join("before")).unwrap();
    let stop = AtomicBool::new(false);
    let info = std::thread::scope(|s| {
        for name in names {
            let c = db.get_vector_collection(name).unwrap();
            let stop = &stop;
            s.spawn(move || {
                let mut i = 0;
                // At least 200 operations, then until the snapshot is done.
                while i < 200 || !stop.load(Ordering::Acquire) {
                    op(&c, i);
                    i += 1;
                }
            });
        }
        // Let the writers get going (their progress is read, not slept on).
        let a = db.get_vector_collection("a").unwrap();
        while a.len() < 40 {
            std::thread::yield_now();
        }
        let info = db.snapshot(snaps.path().join("s")).unwrap();
        stop.store(true, Ordering::Release);
        info
    });
    // Restore into another directory: a fresh database restored from the snapshot.
    let (other, restored) = temp_db();
    restored.restore(snaps.path().join("s")).unwrap();
    let _ = other;
    for name in names {
        let seq = info.collections[name];
        let n = seq - before.collections[name];
        let c = restored.get_vector_collection(name).unwrap();
        assert_eq!(
            content(&c),
            model(&bases[name], n),
            "{name}: the model after the writer's first {n} logged operations (sequence {seq})"
        );
    }
}

#[test]
fn a_restore_replaces_collections_and_aliases_and_old_handles_answer_not_found() {
    let (dir, db) = temp_db();
    let a = db
        .create_collection("a", 2, DistanceMetric::Euclidean)
        .unwrap();
    a.upsert((0..10).map(|id| point(id, 1)).collect()).unwrap();
    db.create_alias("alpha", "a").unwrap();
    let snaps = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    let info = db
        .snapshot_with_progress(snaps.path().join("s"), &mut |p| reports.push(p))
        .unwrap();
    assert_eq!(info.collections.keys().collect::<Vec<_>>(), ["a"]);
    let last = reports.last().unwrap();
    assert_eq!(
        (last.bytes_done, last.bytes_total),
        (info.bytes, info.bytes)
    );
    assert!(
        reports
            .windows(2)
            .all(|w| w[0].bytes_done <= w[1].bytes_done)
    );
    // Change everything after the snapshot.
    a.upsert(vec![point(0, 2), point(50, 2)]).unwrap();
    db.delete_alias("alpha").unwrap();
    db.create_collection("b", 3, DistanceMetric::Cosine)
        .unwrap();
    db.restore(snaps.path().join("s")).unwrap();
    assert_eq!(db.list_collections(), ["a"]);
    let a2 = db.get_vector_collection("alpha").unwrap();
    assert_eq!(content(&a2), (0..10).map(|id| (id, 1)).collect::<Content>());
    assert_eq!(a.get(&[0]).unwrap_err().kind(), ErrorKind::NotFound);
    // The restored database is durable and locked like any.
    a2.upsert(vec![point(7, 9)]).unwrap();
    drop((a, a2, db));
    let (_db, c) = open_collection(dir.path(), "a");
    assert_eq!(content(&c)[&7], 9);
}

#[test]
fn a_flipped_byte_is_refused_with_file_and_offset_and_nothing_changes() {
    let (_dir, db) = temp_db();
    let a = db
        .create_collection("a", 2, DistanceMetric::Euclidean)
        .unwrap();
    a.upsert((0..300).map(|id| point(id, 1)).collect()).unwrap();
    let snaps = tempfile::tempdir().unwrap();
    let snap = snaps.path().join("s");
    db.snapshot(&snap).unwrap();
    a.upsert(vec![point(0, 2)]).unwrap();
    let victim = snap.join("collections/a/vectors/vectors.dat");
    let mut bytes = std::fs::read(&victim).unwrap();
    let at = 4096 + 13;
    bytes[at] ^= 0x40;
    std::fs::write(&victim, bytes).unwrap();
    let e = db.restore(&snap).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption);
    let msg = e.to_string();
    assert!(msg.contains("vectors.dat") && msg.contains("4096"), "{msg}");
    // Nothing replaced, the handle still works.
    assert_eq!(content(&a)[&0], 2);
    a.upsert(vec![point(1, 3)]).unwrap();
    // A collection restore is refused the same way.
    let one = snaps.path().join("one");
    db.snapshot_collection("a", &one).unwrap();
    let victim = one.join("payloads/payloads.log");
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let e = db.restore_collection("a", &one).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption);
    assert!(e.to_string().contains("payloads.log"), "{e}");
    assert_eq!(content(&a)[&1], 3);
}

#[test]
fn a_collection_snapshot_restores_in_place_into_a_dropped_name_or_under_another_name() {
    let (dir, db) = temp_db();
    let a = db
        .create_collection("a", 2, DistanceMetric::Euclidean)
        .unwrap();
    let b = db
        .create_collection("b", 2, DistanceMetric::Euclidean)
        .unwrap();
    a.upsert((0..5).map(|id| point(id, 1)).collect()).unwrap();
    b.upsert(vec![point(1, 7)]).unwrap();
    let snaps = tempfile::tempdir().unwrap();
    let info = db.snapshot_collection("a", snaps.path().join("a")).unwrap();
    assert_eq!(info.collections.len(), 1);
    a.upsert(vec![point(0, 2)]).unwrap();
    b.upsert(vec![point(1, 8)]).unwrap();
    db.restore_collection("a", snaps.path().join("a")).unwrap();
    let a = db.get_vector_collection("a").unwrap();
    assert_eq!(content(&a)[&0], 1);
    assert_eq!(content(&b)[&1], 8, "another collection is untouched");
    // Under another name (Qdrant's recover-from-upload into any collection): renamed.
    let info = db.restore_collection("c", snaps.path().join("a")).unwrap();
    assert_eq!(info.collections.keys().collect::<Vec<_>>(), ["c"]);
    let c = db.get_vector_collection("c").unwrap();
    assert_eq!(c.name(), "c");
    assert_eq!(content(&c).len(), 5);
    drop(c);
    let e = db.restore(snaps.path().join("a")).unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidArgument,
        "not a database snapshot"
    );
    // Into a dropped name: listed again, and after a reopen too.
    drop(a);
    db.drop_collection("a").unwrap();
    db.restore_collection("a", snaps.path().join("a")).unwrap();
    drop((b, db));
    let (db, a) = open_collection(dir.path(), "a");
    assert_eq!(content(&a).len(), 5);
    assert_eq!(db.get_vector_collection("c").unwrap().name(), "c");
}

#[test]
fn streamed_points_queued_before_the_cut_are_in_the_snapshot() {
    let (_dir, db) = temp_db();
    let c = db
        .create_collection("s", 2, DistanceMetric::Euclidean)
        .unwrap();
    c.enable_streaming(StreamingConfig {
        buffer_size: 100,
        batch_size: 100,
        flush_interval: Duration::from_secs(3600),
    })
    .unwrap();
    c.set_streaming_paused(true).unwrap();
    c.stream_insert_batch((0..20).map(|id| point(id, 4)).collect())
        .unwrap();
    let snaps = tempfile::tempdir().unwrap();
    db.snapshot(snaps.path().join("s")).unwrap();
    let (_other, restored) = temp_db();
    restored.restore(snaps.path().join("s")).unwrap();
    let c = restored.get_vector_collection("s").unwrap();
    assert_eq!(content(&c).len(), 20);
}

#[test]
fn a_snapshot_directory_is_not_reused_and_leaves_no_pins_behind() {
    let (dir, db) = temp_db();
    db.create_collection("a", 2, DistanceMetric::Euclidean)
        .unwrap()
        .upsert(vec![point(1, 1)])
        .unwrap();
    let snaps = tempfile::tempdir().unwrap();
    db.snapshot(snaps.path().join("s")).unwrap();
    assert!(db.snapshot(snaps.path().join("s")).is_err());
    assert!(
        !dir.path()
            .join(".snapshot-pins")
            .read_dir()
            .unwrap()
            .any(|_| true)
    );
}

/// Every file under `dir` with a checksum of its bytes.
fn files_of(dir: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::hash::Hash::hash(&std::fs::read(&path).unwrap(), &mut h);
                out.insert(name, std::hash::Hasher::finish(&h));
            }
        }
    }
    out
}

#[test]
fn an_old_handle_dropped_after_a_restore_writes_nothing_into_the_restored_files() {
    let (dir, db) = temp_db();
    let a = db
        .create_collection("a", 2, DistanceMetric::Euclidean)
        .unwrap();
    a.upsert((0..10).map(|id| point(id, 1)).collect()).unwrap();
    let snaps = tempfile::tempdir().unwrap();
    db.snapshot_collection("a", snaps.path().join("a")).unwrap();
    a.upsert((10..30).map(|id| point(id, 2)).collect()).unwrap();
    db.restore_collection("a", snaps.path().join("a")).unwrap();
    let e = a.upsert(vec![point(40, 3)]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let cdir = dir.path().join("collections/a");
    let before = files_of(&cdir);
    // The last old handle goes: its stores must not checkpoint into the restored files.
    drop(a);
    assert_eq!(files_of(&cdir), before);
    // And the same for a whole-database restore.
    let old = db.get_vector_collection("a").unwrap();
    db.snapshot(snaps.path().join("db")).unwrap();
    old.upsert((50..70).map(|id| point(id, 2)).collect())
        .unwrap();
    db.restore(snaps.path().join("db")).unwrap();
    let before = files_of(&cdir);
    drop(old);
    assert_eq!(files_of(&cdir), before);
    drop(db);
    let (_db, c) = open_collection(dir.path(), "a");
    assert_eq!(content(&c), (0..10).map(|id| (id, 1)).collect::<Content>());
}

#[test]
fn the_lock_beside_the_directory_is_held_before_recovery_and_across_a_restore() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("db");
    let db = Database::open(&dir).unwrap();
    db.create_collection("a", 2, DistanceMetric::Euclidean)
        .unwrap();
    let snaps = tempfile::tempdir().unwrap();
    db.snapshot(snaps.path().join("s")).unwrap();
    db.restore(snaps.path().join("s")).unwrap();
    // After the swap the lock beside the directory is still held: another open is refused.
    let e = Database::open(&dir).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    drop(db);
    // Someone holding `<dir>.lock` (e.g. a process mid-restore) keeps an open out before it
    // recovers anything.
    let backend = nearstore_storage::fs_backend();
    let held = backend.lock(&parent.path().join("db.lock"), &dir).unwrap();
    let e = Database::open(&dir).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    drop(held);
    let db = Database::open(&dir).unwrap();
    assert_eq!(db.list_collections(), ["a"]);
}

#[test]
fn a_restore_refused_for_its_arguments_closes_nothing() {
    let (dir, db) = temp_db();
    let a = db
        .create_collection("a", 2, DistanceMetric::Euclidean)
        .unwrap();
    a.upsert(vec![point(1, 1)]).unwrap();
    // A snapshot inside the directory it would replace, named directly and through a
    // symbolic link.
    let inside = dir.path().join("snaps");
    db.snapshot(inside.join("s")).unwrap();
    let in_collection = dir.path().join("collections/a/snaps");
    db.snapshot_collection("a", in_collection.join("one"))
        .unwrap();
    let outside = tempfile::tempdir().unwrap();
    let link = outside.path().join("link");
    std::os::unix::fs::symlink(&inside, &link).unwrap();
    for snap in [inside.join("s"), link.join("s")] {
        let e = db.restore(&snap).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
    let link = outside.path().join("link2");
    std::os::unix::fs::symlink(&in_collection, &link).unwrap();
    for snap in [in_collection.join("one"), link.join("one")] {
        let e = db.restore_collection("a", &snap).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
    // Missing snapshots and wrong kinds are refused too; the handle was never closed.
    let e = db.restore(outside.path().join("missing")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption, "{e}");
    a.upsert(vec![point(2, 1)]).unwrap();
    assert_eq!(content(&a).len(), 2);
}
