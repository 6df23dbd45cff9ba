//! The background purge of expired points: deletes them for good (a clock set back does
//! not show them again), on request and on its interval; waited on through its run count
//! with a deadline, never by sleeping; stopped when the database closes.

use std::sync::Arc;
use std::time::Duration;

use nearstore::{
    DEFAULT_PURGE_INTERVAL, Database, DistanceMetric, ErrorKind, ManualWallClock, Point,
};

use super::temp_db;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn a_requested_purge_deletes_expired_points_for_good_in_every_collection() {
    let (_dir, db) = temp_db();
    assert_eq!(db.purge_interval(), Some(DEFAULT_PURGE_INTERVAL));
    let clock = Arc::new(ManualWallClock::new(1_000_000));
    db.set_wall_clock(clock.clone());
    for name in ["a", "b"] {
        let c = db
            .create_collection(name, 2, DistanceMetric::Euclidean)
            .unwrap();
        c.upsert(vec![
            Point::new(1, vec![1.0, 0.0], None).with_ttl(Duration::from_secs(10)),
            Point::new(2, vec![2.0, 0.0], None).with_ttl(Duration::from_secs(10)),
            Point::new(3, vec![3.0, 0.0], None),
        ])
        .unwrap();
    }
    clock.advance(Duration::from_secs(20));
    let a = db.get_vector_collection("a").unwrap();
    assert_eq!(a.len(), 1, "hidden at once");
    let before = db.purge_stats();
    db.request_purge();
    let after = db.wait_for_purge_runs(before.runs + 1, WAIT);
    assert!(after.runs > before.runs, "the purge ran");
    assert_eq!(after.purged - before.purged, 4);
    assert_eq!(after.last_error, None);
    // Deleted, not hidden: the clock set back does not bring them back.
    clock.set_millis(1_000_000);
    assert_eq!(a.len(), 1);
    assert_eq!(db.get_vector_collection("b").unwrap().len(), 1);
}

#[test]
fn the_purge_runs_by_itself_on_its_interval_and_only_on_request_without_one() {
    let (_dir, db) = temp_db();
    db.set_purge_interval(Some(Duration::from_millis(5)))
        .unwrap();
    let stats = db.wait_for_purge_runs(3, WAIT);
    assert!(stats.runs >= 3, "{stats:?}");
    db.set_purge_interval(None).unwrap();
    assert_eq!(db.purge_interval(), None);
    let runs = db.purge_stats().runs;
    db.request_purge();
    assert!(db.wait_for_purge_runs(runs + 1, WAIT).runs > runs);
    let e = db.set_purge_interval(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn closing_the_database_stops_the_purge_thread_and_releases_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..5 {
        let db = Database::open(dir.path()).unwrap();
        db.set_purge_interval(Some(Duration::from_millis(1)))
            .unwrap();
        db.wait_for_purge_runs(1, WAIT);
        // A reopen right after the drop finds the lock free: the thread held no handle.
    }
    let db = Database::open(dir.path()).unwrap();
    assert!(db.purge_stats().runs <= 1, "a fresh count per open");
}
