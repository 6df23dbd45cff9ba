//! `kill -9` during a snapshot and during a restore: a child process (this test binary,
//! re-executed) snapshots or restores a real database directory and acknowledges every
//! progress report; the parent SIGKILLs it after a chosen number of them. Then:
//! - after a killed snapshot the database is exactly as it was, and the snapshot directory
//!   is either refused (no manifest) or a complete snapshot of that content;
//! - after a killed restore the database opens (recovering the restore) wholly as it was or
//!   wholly as the snapshot, never a mix.

use std::collections::BTreeMap;
use std::path::Path;

use nearstore::{Database, DistanceMetric, Point, VectorCollection};
use serde_json::json;

use nearstore_testkit::kill9::{self, Event};

const CHILD_TEST: &str = "snapshot_kill9::snapshot_or_restore_driver";

/// Collection name -> (id -> version).
type Content = BTreeMap<String, BTreeMap<u64, u64>>;

fn collection_content(c: &VectorCollection) -> BTreeMap<u64, u64> {
    let page = c.scroll(None, 10_000, None).unwrap();
    page.points
        .iter()
        .map(|p| {
            let v = p.payload.as_ref().unwrap()["v"].as_u64().unwrap();
            assert_eq!(
                p.vector,
                vec![p.id as f32, v as f32],
                "point {} whole",
                p.id
            );
            (p.id, v)
        })
        .collect()
}

fn content(db: &Database) -> Content {
    db.list_collections()
        .into_iter()
        .map(|n| {
            let c = db.get_vector_collection(&n).unwrap();
            (n, collection_content(&c))
        })
        .collect()
}

fn fill(db: &Database, name: &str, ids: std::ops::Range<u64>, v: u64) {
    let c = match db.get_vector_collection(name) {
        Ok(c) => c,
        Err(_) => db
            .create_collection(name, 2, DistanceMetric::Euclidean)
            .unwrap(),
    };
    let points = ids
        .map(|id| {
            Point::new(
                id,
                vec![id as f32, v as f32],
                Some(json!({"v": v, "pad": "x".repeat(200)})),
            )
        })
        .collect();
    c.upsert(points).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn child_main(dir: &Path, mode: &str, snapshot: &Path) {
    let db = Database::open(dir).unwrap();
    kill9::report(Event::Begin(&format!("\"{mode}\"")));
    // Paced, so a kill after the n-th acknowledgement lands inside the operation (the
    // checks hold wherever it lands; the pacing only makes the kill points varied).
    let mut ack = |_| {
        kill9::report(Event::Ack);
        std::thread::park_timeout(std::time::Duration::from_millis(2));
    };
    match mode {
        "snapshot" => drop(db.snapshot_with_progress(snapshot, &mut ack).unwrap()),
        _ => drop(db.restore_with_progress(snapshot, &mut ack).unwrap()),
    }
    kill9::report(Event::Begin("\"done\""));
    // Wait to be killed (the parent may ask for more acknowledgements than there were).
    loop {
        kill9::report(Event::Ack);
        std::thread::park_timeout(std::time::Duration::from_millis(1));
    }
}

/// Runs the child on `dir` and kills it after `kill_after` acknowledgements; whether it
/// reported that it finished.
fn run_killed(dir: &Path, mode: &str, snapshot: &Path, kill_after: u64) -> bool {
    let child = kill9::spawn_child(
        CHILD_TEST,
        &[
            ("NEARSTORE_SNAPKILL_DIR", dir.display().to_string()),
            ("NEARSTORE_SNAPKILL_MODE", mode.to_string()),
            (
                "NEARSTORE_SNAPKILL_SNAPSHOT",
                snapshot.display().to_string(),
            ),
        ],
    );
    let mut done = false;
    kill9::run_until_killed(child, kill_after, |e| {
        if e == Event::Begin("\"done\"") {
            done = true;
        }
    });
    done
}

#[test]
fn kill9_during_a_snapshot_or_a_restore_leaves_the_database_old_or_wholly_restored() {
    let work = tempfile::tempdir().unwrap();
    let pristine = work.path().join("pristine");
    let snap_a = work.path().join("snap-a");
    // State A, snapshotted; then state B (a collection changed, one dropped, one new).
    let (a, b) = {
        let db = Database::open(&pristine).unwrap();
        fill(&db, "one", 0..300, 1);
        fill(&db, "two", 0..50, 1);
        db.snapshot(&snap_a).unwrap();
        let a = content(&db);
        fill(&db, "one", 100..400, 2);
        db.drop_collection("two").unwrap();
        fill(&db, "three", 0..20, 3);
        (a, content(&db))
    };
    let (mut snapshot_kills, mut restore_kills, mut restored, mut finished) = (0, 0, 0, 0);
    for kill_after in [1u64, 2, 4, 8, 16, 32, 64, 400] {
        // A snapshot killed: the database is untouched; the snapshot is none or whole.
        let dir = work.path().join(format!("s{kill_after}"));
        copy_dir(&pristine, &dir);
        let snap = work.path().join(format!("snap-s{kill_after}"));
        finished += u64::from(run_killed(&dir, "snapshot", &snap, kill_after));
        snapshot_kills += 1;
        let db = Database::open(&dir).unwrap();
        assert_eq!(content(&db), b, "the database after a killed snapshot");
        if nearstore::storage::snapshot::read_manifest(
            nearstore::storage::fs_backend().as_ref(),
            &snap,
        )
        .is_ok()
        {
            let check = work.path().join(format!("check{kill_after}"));
            let other = Database::open(&check).unwrap();
            other.restore(&snap).unwrap();
            assert_eq!(content(&other), b, "a complete snapshot holds the content");
        }
        drop(db);

        // A restore killed: old or restored, whole.
        let dir = work.path().join(format!("r{kill_after}"));
        copy_dir(&pristine, &dir);
        finished += u64::from(run_killed(&dir, "restore", &snap_a, kill_after));
        restore_kills += 1;
        let db = Database::open(&dir).unwrap();
        let got = content(&db);
        assert!(got == a || got == b, "a killed restore left a mix: {got:?}");
        restored += u64::from(got == a);
        // And the database works after it.
        fill(&db, "one", 0..1, 9);
    }
    println!(
        "snapshot/restore kill -9: {snapshot_kills} snapshots and {restore_kills} restores killed ({finished} after finishing), {restored} restores recovered as restored, the rest as before; never a mix"
    );
    assert!(
        restored > 0 && restored < restore_kills,
        "kills both before and after the commit"
    );
}

/// In a child process: the driver. Run directly, it checks that a snapshot and a restore
/// report progress up to their totals (the acknowledgements the parent counts).
#[test]
fn snapshot_or_restore_driver() {
    if let Ok(dir) = std::env::var("NEARSTORE_SNAPKILL_DIR") {
        let mode = std::env::var("NEARSTORE_SNAPKILL_MODE").unwrap();
        let snap = std::env::var("NEARSTORE_SNAPKILL_SNAPSHOT").unwrap();
        child_main(Path::new(&dir), &mode, Path::new(&snap));
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let db = Database::open(work.path().join("db")).unwrap();
    fill(&db, "one", 0..300, 1);
    let snap = work.path().join("snap");
    for restore in [false, true] {
        let mut last = None;
        let mut reports = 0;
        let mut note = |p: nearstore::SnapshotProgress| {
            reports += 1;
            last = Some(p);
        };
        let info = match restore {
            false => db.snapshot_with_progress(&snap, &mut note),
            true => db.restore_with_progress(&snap, &mut note),
        }
        .unwrap();
        let last = last.unwrap();
        assert!(reports > 5, "{reports} reports");
        assert_eq!(last.bytes_done, last.bytes_total);
        assert!(last.bytes_total >= info.bytes);
    }
}
