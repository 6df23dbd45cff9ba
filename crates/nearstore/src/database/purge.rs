//! The background purge of expired points: one std thread per [`Database`].
//!
//! Expired points are invisible to every read at once (see `collection/expiry.rs`); this
//! thread deletes them for good, in bulk (one logged delete per collection and run, through
//! `VectorCollection::purge_expired`), every [`DEFAULT_PURGE_INTERVAL`] or the interval
//! set with [`Database::set_purge_interval`], and at once on [`Database::request_purge`].
//! It waits on a condvar (never polls), holds only a weak reference to the database (so it
//! never keeps one open), and is stopped and joined when the database closes. A collection
//! with no expiry time costs one check per run (the clock is not even read).
//!
//! Tests observe it through [`Database::purge_stats`] (runs, points purged, the last error)
//! and [`Database::wait_for_purge_runs`] (a condvar wait with a deadline).

use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::{Database, DatabaseInner};
use crate::collection::VectorCollection;
use crate::error::{Error, ErrorKind, Result};

/// How often expired points are purged unless [`Database::set_purge_interval`] says
/// otherwise.
pub const DEFAULT_PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// What the background purge has done since the database was opened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PurgeStats {
    /// Completed runs (each over every open collection).
    pub runs: u64,
    /// Points deleted by them.
    pub purged: u64,
    /// The last failure of a run, if any (the run went on with the other collections).
    pub last_error: Option<String>,
}

#[derive(Debug)]
struct PurgeState {
    /// `None`: only on request.
    interval: Option<Duration>,
    requested: bool,
    stop: bool,
    stats: PurgeStats,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<PurgeState>,
    /// Wakes the thread (request, new interval, stop).
    wake: Condvar,
    /// Tells waiters a run completed.
    ran: Condvar,
}

/// The purge thread's handle, owned by the database.
#[derive(Debug)]
pub(super) struct Purger {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Purger {
    pub(super) fn new() -> Self {
        Purger {
            shared: Arc::new(Shared {
                state: Mutex::new(PurgeState {
                    interval: Some(DEFAULT_PURGE_INTERVAL),
                    requested: false,
                    stop: false,
                    stats: PurgeStats::default(),
                }),
                wake: Condvar::new(),
                ran: Condvar::new(),
            }),
            thread: Mutex::new(None),
        }
    }

    /// Starts the thread for `db`.
    pub(super) fn start(&self, db: Weak<DatabaseInner>, dir: &std::path::Path) -> Result<()> {
        let shared = self.shared.clone();
        let thread = std::thread::Builder::new()
            .name("nearstore-purge".into())
            .spawn(move || run(db, shared))
            .map_err(|e| {
                Error::Storage(nearstore_storage::Error::Io {
                    path: dir.to_path_buf(),
                    source: e,
                })
            })?;
        *self.thread.lock() = Some(thread);
        Ok(())
    }

    /// Stops the thread and waits for it (except on the thread itself, which may hold the
    /// last reference to the database for the length of a run).
    pub(super) fn stop(&self) {
        self.shared.state.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.lock().take()
            && t.thread().id() != std::thread::current().id()
        {
            // A panic in the purge thread was reported when it happened; nothing is left
            // half done by it (each purge is one logged delete).
            let _ = t.join();
        }
    }
}

/// The thread: wait for the interval or a request, purge every open collection, repeat.
fn run(db: Weak<DatabaseInner>, shared: Arc<Shared>) {
    loop {
        {
            let mut s = shared.state.lock();
            loop {
                if s.stop {
                    return;
                }
                if s.requested {
                    s.requested = false;
                    break;
                }
                match s.interval {
                    None => shared.wake.wait(&mut s),
                    Some(every) => {
                        if shared.wake.wait_for(&mut s, every).timed_out() {
                            break;
                        }
                    }
                }
            }
        }
        let Some(inner) = db.upgrade() else {
            return;
        };
        let collections: Vec<VectorCollection> =
            inner.collections.read().values().cloned().collect();
        drop(inner);
        let (mut purged, mut error) = (0u64, None);
        for c in collections {
            // The database closed meanwhile: leave its collections alone.
            if db.strong_count() == 0 {
                break;
            }
            match c.purge_expired() {
                Ok(n) => purged += n as u64,
                // Dropped (or restored over) since the list was taken.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => error = Some(format!("collection {}: {e}", c.name())),
            }
        }
        let mut s = shared.state.lock();
        s.stats.runs += 1;
        s.stats.purged += purged;
        if error.is_some() {
            s.stats.last_error = error;
        }
        shared.ran.notify_all();
    }
}

impl Database {
    /// Sets how often the background thread purges expired points (`None`: only when
    /// [`Database::request_purge`] asks). The default is [`DEFAULT_PURGE_INTERVAL`].
    /// A zero interval is refused.
    pub fn set_purge_interval(&self, interval: Option<Duration>) -> Result<()> {
        if interval == Some(Duration::ZERO) {
            return Err(Error::InvalidArgument(
                "the purge interval must be positive (None turns the periodic purge off)".into(),
            ));
        }
        let shared = &self.inner.purger.shared;
        shared.state.lock().interval = interval;
        shared.wake.notify_all();
        Ok(())
    }

    /// The background purge's interval (`None`: only on request).
    pub fn purge_interval(&self) -> Option<Duration> {
        self.inner.purger.shared.state.lock().interval
    }

    /// Asks the background thread to purge now (returns at once; see
    /// [`Database::wait_for_purge_runs`]).
    pub fn request_purge(&self) {
        let shared = &self.inner.purger.shared;
        shared.state.lock().requested = true;
        shared.wake.notify_all();
    }

    /// What the background purge has done so far.
    pub fn purge_stats(&self) -> PurgeStats {
        self.inner.purger.shared.state.lock().stats.clone()
    }

    /// Waits until the background purge has completed at least `runs` runs in all, or
    /// `timeout` passed; returns the stats then (check `runs`).
    pub fn wait_for_purge_runs(&self, runs: u64, timeout: Duration) -> PurgeStats {
        let shared = &self.inner.purger.shared;
        let deadline = Instant::now() + timeout;
        let mut s = shared.state.lock();
        while s.stats.runs < runs {
            if shared.ran.wait_until(&mut s, deadline).timed_out() {
                break;
            }
        }
        s.stats.clone()
    }
}
