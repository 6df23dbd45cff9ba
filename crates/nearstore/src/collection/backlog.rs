//! The index backlog: points of the default vector space whose current vector is stored
//! (durable and searchable) but not yet linked into the HNSW index, and the background
//! thread that links them (the Qdrant model for bulk loads).
//!
//! - **Who adds.** [`VectorCollection::upsert_bulk`] of a `full` collection puts the ids it
//!   writes that the index does not hold into the backlog (`State::pending`) instead of
//!   linking them; ids the index holds are replaced inline, so the index never holds a
//!   stale vector. Every other write (an ordinary upsert, a vector edit) links inline and
//!   takes its ids out of the backlog. Quantized storage modes (training at a size, codes
//!   computed per point) and named vector spaces always link inline.
//! - **Who removes.** Every delete path (`apply_delete`: delete, delete by filter, expiry
//!   purge, truncate), an upsert without a default vector and a vector edit removing it
//!   take the id out; an update of a pending id leaves it pending (its current vector is
//!   read when it is linked).
//! - **Searches.** The dense leg on the default vector (`search.rs`, the one place it runs)
//!   snapshots the backlog (restricted to the leg's allowed ids) *before* asking the
//!   index, scores those ids exactly from the vector store and merges them with the
//!   index's hits (an id in both, linked meanwhile, counts once). A point always is in the
//!   backlog or the index or both (it leaves the backlog only after it is linked), so no
//!   search misses it, and the k-guarantee holds.
//! - **The worker.** One thread per collection, holding only a `Weak` reference between
//!   batches, started when the backlog becomes non-empty (by a bulk upsert, or by opening a
//!   collection with one). Per batch of [`BATCH_POINTS`] ids it takes the writer lock (the
//!   lock every write takes) only to pick the ids and copy their current vectors, links
//!   them with the parallel `insert_batch` *without* the writer lock (the index is a
//!   concurrent structure, and searches keep finding the batch in the backlog) on the
//!   linking threads (one pool per process, at a lower scheduling priority than the
//!   threads that write and search: [`linking_pool`]), then takes
//!   the writer again to take them out of the backlog. So writes run while a batch links
//!   (a bulk load's nodes phase no longer waits for the indexing), except the two that
//!   would race it: an operation on an id of the batch (delete, update, vector edit) and a
//!   checkpoint wait for the batch's linking and fold it in first ([`Collection::settle_linking`],
//!   at the top of every apply and of the checkpoint), so nothing deleted comes back, no
//!   stale vector stays linked and no id is linked twice. It stops when the backlog is
//!   empty (deciding so under the writer lock, so a bulk upsert either sees it running or
//!   starts a new one), when the collection is dropped or closed, or on failure, which
//!   poisons the collection (writes and flushes report it; a reopen re-derives the backlog)
//!   and is returned by [`VectorCollection::wait_indexed`].
//! - **Durability.** The backlog is not persisted: the index checkpoint holds exactly what
//!   is linked (taken under the writer lock, so it is consistent), and opening derives the
//!   backlog as the stored vectors the index does not hold (after the log replay, which
//!   defers new ids the same way) and starts the worker. `flush()` stays the durability
//!   barrier and does not wait for the index. When a flush finds the log past its
//!   checkpoint size while the worker runs, it returns once the log is synced and leaves
//!   the checkpoint to the worker, which runs it before its next batch (a flush would
//!   otherwise also wait for the batch being linked); a failed one is the next flush's to
//!   run and report (the log keeps every write meanwhile).

use std::sync::{Arc, OnceLock, Weak};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use super::{Collection, VectorCollection};
use crate::error::{Error, Result};

/// Points linked per batch: small, so a write on one of them (or a checkpoint) waits
/// little for it (tens of milliseconds at 32-d).
const BATCH_POINTS: usize = 2048;

/// How much higher the nice value of the threads that link backlogs is than the process's
/// (0 by default): a lower priority than the threads that write and search.
const LINKING_NICE_STEP: i32 = 10;

/// The threads that link backlogs, for every collection of the process: as many as the
/// cores, each at a lower scheduling priority ([`LINKING_NICE_STEP`]) than the threads that
/// write and search. While a bulk load goes on, its writes (and any search) take the cores
/// first and the linking takes what they leave; once they wait, the linking has every core.
/// `None` (the shared pool then links) when the threads cannot be started.
fn linking_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("nearstore-link-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .ok()
    })
    .as_ref()
}

/// Raises the calling thread's nice value (which it inherited) by [`LINKING_NICE_STEP`],
/// to at most 19 (Linux: a nice value is a thread's own). A failure leaves it as it was:
/// only the thread's share of the CPU changes, never what it computes.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let me = Some(rustix::thread::gettid());
        if let Ok(nice) = getpriority_process(me) {
            let _ = setpriority_process(me, (nice + LINKING_NICE_STEP).min(19));
        }
    }
}

/// How an upsert treats the default vectors of ids the index does not hold yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Linking {
    /// Linked into the index before the write returns.
    Inline,
    /// Put into the backlog for the worker (`full` storage only; otherwise inline).
    Deferred,
}

/// The worker's control block (owned by the [`Collection`]).
#[derive(Debug, Default)]
pub(super) struct Backlog {
    /// The collection itself, set once it is shared (`Collection::into_shared`); the worker
    /// holds a clone of it.
    me: OnceLock<Weak<Collection>>,
    state: Mutex<WorkerState>,
    /// Signalled when the worker links a batch, stops or fails.
    changed: Condvar,
    /// False only while `State::pending` is empty, so a search of a collection without a
    /// backlog takes no lock for it. Set (under the state lock) wherever ids are added;
    /// cleared only under the writer lock after the backlog was seen empty (every adder
    /// holds the writer, or runs before the collection is shared), so it is never false
    /// while ids wait.
    nonempty: std::sync::atomic::AtomicBool,
}

impl Backlog {
    /// Records that ids were added to the backlog (the state lock held).
    pub(super) fn added(&self) {
        self.nonempty
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Records that the backlog was seen empty (the writer and the state lock held).
    fn emptied(&self) {
        self.nonempty
            .store(false, std::sync::atomic::Ordering::Release);
    }
}

#[derive(Debug, Default)]
struct WorkerState {
    /// The worker thread, while one runs.
    thread: Option<JoinHandle<()>>,
    running: bool,
    /// Set by `stop` (close, drop): no worker starts again.
    stopped: bool,
    /// Set by `set_indexing_paused`: the worker stops after its batch and none starts.
    paused: bool,
    /// Why the worker failed (the collection is poisoned with it too).
    failed: Option<String>,
    /// Points linked since the graph-wide upkeep last ran (`HnswIndex::upkeep`).
    unkept: usize,
    /// The batch being linked outside the writer lock, until it is folded into the
    /// backlog ([`Collection::settle_linking`]).
    batch: Option<InFlight>,
    /// Points were linked since the last checkpoint: the index differs from its
    /// checkpoint without a logged operation, so a close must still checkpoint.
    linked_since_checkpoint: bool,
    /// A `flush()` found the log past its checkpoint size while this worker ran and left
    /// the checkpoint to it (run before its next batch).
    checkpoint_due: bool,
    /// The last checkpoint the worker ran failed: the next `flush()` checkpoints itself, so
    /// its caller hears the error (the log still holds every write).
    checkpoint_failed: bool,
}

/// A batch the worker links without the writer lock. Its ids stay in `State::pending`
/// (searches score them exactly) until the batch is folded in.
#[derive(Debug)]
struct InFlight {
    ids: rustc_hash::FxHashSet<u64>,
    /// `None` while linking; then whether it linked (a failure leaves the ids waiting;
    /// the worker reports why).
    linked: Option<bool>,
}

/// Marks the in-flight batch linked (or failed) when the linking ends, also by a panic,
/// so no write waiting for it waits forever.
struct LinkingDone<'a> {
    collection: &'a Collection,
    linked: bool,
}

impl Drop for LinkingDone<'_> {
    fn drop(&mut self) {
        let mut s = self.collection.backlog.state.lock();
        if let Some(batch) = s.batch.as_mut() {
            batch.linked = Some(self.linked);
        }
        self.collection.backlog.changed.notify_all();
    }
}

impl Collection {
    /// Shares the collection and starts linking its backlog, if it has one (after open).
    pub(crate) fn into_shared(self) -> Arc<Collection> {
        let c = Arc::new(self);
        // A fresh `OnceLock`: the set cannot fail, and a failure would only leave the
        // backlog to searches' exact scan.
        let _ = c.backlog.me.set(Arc::downgrade(&c));
        c.start_linking();
        c
    }

    /// Whether an upsert with `linking` defers new ids of the default vector.
    pub(super) fn defers(&self, linking: Linking) -> bool {
        linking == Linking::Deferred && !self.config.storage_mode.is_quantized()
    }

    /// The points of the default vector not yet in the index.
    pub(crate) fn pending_count(&self) -> u64 {
        self.state.read().pending.len()
    }

    /// Starts the worker when the backlog is not empty and none runs (a no-op before the
    /// collection is shared, after `stop_linking`, and after a failure).
    pub(super) fn start_linking(&self) {
        if self.state.read().pending.is_empty() {
            return;
        }
        let Some(me) = self.backlog.me.get().cloned() else {
            return;
        };
        let mut s = self.backlog.state.lock();
        if s.running || s.stopped || s.paused || s.failed.is_some() {
            return;
        }
        // A finished worker's handle: it has returned (it cleared `running` last).
        if let Some(t) = s.thread.take() {
            let _ = t.join();
        }
        let spawned = std::thread::Builder::new()
            .name(format!("nearstore-index-{}", self.name))
            .spawn(move || link_backlog(me));
        match spawned {
            Ok(t) => {
                s.running = true;
                s.thread = Some(t);
            }
            // No thread: the backlog stays searchable by exact scan; `wait_indexed` says why.
            Err(e) => s.failed = Some(format!("could not start the indexing thread: {e}")),
        }
    }

    /// Stops the worker for good and waits for its current batch (close, drop): no
    /// worker outlives the database's lock. The backlog stays (re-derived on open).
    pub(crate) fn stop_linking(&self) {
        let thread = {
            let mut s = self.backlog.state.lock();
            s.stopped = true;
            s.thread.take()
        };
        if let Some(t) = thread
            && t.thread().id() != std::thread::current().id()
        {
            // A panic in the worker has been reported already; the backlog stays.
            let _ = t.join();
        }
        self.backlog.changed.notify_all();
    }

    /// Blocks until the backlog is empty; the worker's failure, or why none can run.
    pub(crate) fn wait_indexed(&self) -> Result<()> {
        self.check_open()?;
        loop {
            {
                let mut s = self.backlog.state.lock();
                loop {
                    if let Some(reason) = &s.failed {
                        return Err(Error::Poisoned {
                            collection: self.name.clone(),
                            reason: reason.clone(),
                        });
                    }
                    // Read under the worker's lock: the worker signals after changing the
                    // backlog and taking this lock, so no wake-up is lost between this
                    // check and the wait. A running worker is waited for even when the
                    // backlog is empty: it runs the graph-wide upkeep after the last batch.
                    if s.running {
                        self.backlog.changed.wait(&mut s);
                        continue;
                    }
                    if self.state.read().pending.is_empty() {
                        return Ok(());
                    }
                    break;
                }
                if s.paused {
                    return Err(Error::Conflict(format!(
                        "collection {:?}: background indexing is paused with points waiting \
                         for the index",
                        self.name
                    )));
                }
                if s.stopped || self.backlog.me.get().is_none() {
                    self.check_open()?;
                    return Err(Error::Internal(format!(
                        "collection {:?} has points waiting for the index and no indexing \
                         thread (it was closed)",
                        self.name
                    )));
                }
            }
            // Points waiting and no worker (a bulk write about to start one, or a worker
            // that just finished before it): start one, then wait for it.
            self.start_linking();
        }
    }

    /// Links one batch of the backlog: picks it and copies its vectors with the writer
    /// held, links it without, folds it in with the writer held again. `false` when there
    /// is nothing (more) to do, and the worker then has stopped (decided under the writer
    /// lock).
    fn link_batch(&self) -> bool {
        let items = {
            let mut w = match self.lock_writer() {
                Ok(w) => w,
                // Dropped, or poisoned with streamed points queued: either way for good.
                Err(e) => {
                    return self.worker_done(Some(format!("background indexing stopped: {e}")));
                }
            };
            // A checkpoint left by a flush runs first, also when the worker stops now.
            if w.poisoned.is_none() {
                self.run_deferred_checkpoint(&mut w);
            }
            let halted = {
                let s = self.backlog.state.lock();
                s.stopped || s.paused
            };
            if halted {
                return self.worker_done(None);
            }
            if let Some(reason) = &w.poisoned {
                // Writes are refused; linking would only race the reopen that clears it.
                let reason = reason.clone();
                return self.worker_done(Some(reason));
            }
            let ids: Vec<u64> = {
                let st = self.state.read();
                if st.pending.is_empty() {
                    self.backlog.emptied();
                }
                st.pending.iter().take(BATCH_POINTS).collect()
            };
            if ids.is_empty() {
                self.upkeep_after(0);
                return self.worker_done(None);
            }
            let mut items: Vec<(u64, Vec<f32>)> = Vec::with_capacity(ids.len());
            let read = self
                .vectors
                .with_vectors(&ids, &mut |i, v| items.push((ids[i], v.to_vec())));
            if let Err(e) = read {
                let reason = format!("background indexing failed: {e}");
                w.poisoned = Some(reason.clone());
                return self.worker_done(Some(reason));
            }
            self.backlog.state.lock().batch = Some(InFlight {
                ids: ids.iter().copied().collect(),
                linked: None,
            });
            // Handed to a waiting write at once (a plain unlock lets this thread take it
            // again before the write wakes up).
            parking_lot::MutexGuard::unlock_fair(w);
            items
        };
        let linked = {
            // Set below; a panic in the linking leaves it false.
            let mut done = LinkingDone {
                collection: self,
                linked: false,
            };
            let link = || self.index.insert_batch_deferring_upkeep(&items);
            let linked = match linking_pool() {
                Some(pool) => pool.install(link),
                None => link(),
            }
            .map_err(|e| format!("background indexing failed: {e}"));
            done.linked = linked.is_ok();
            linked
        };
        let mut w = self.writer.lock();
        // A write may have folded the batch in already; a failure is this thread's to
        // report either way.
        self.settle_linking();
        if let Err(reason) = linked {
            w.poisoned = Some(reason.clone());
            return self.worker_done(Some(reason));
        }
        let (drained, unkept) = {
            let s = self.backlog.state.lock();
            (self.state.read().pending.is_empty(), s.unkept)
        };
        // When linked since the last upkeep is half the graph (so a load into an empty
        // index runs a handful, their sizes a geometric series: O(load) in all, and the
        // linking keeps walking a graph mostly in locality order), and when the backlog is
        // linked, before anyone waiting for it hears it is empty.
        if drained || unkept * 2 >= self.index.slots() {
            self.upkeep_after(0);
        }
        parking_lot::MutexGuard::unlock_fair(w);
        let _progress = self.backlog.state.lock();
        self.backlog.changed.notify_all();
        true
    }

    /// Folds the worker's in-flight batch into the backlog, waiting for its linking first
    /// (the writer held: a checkpoint, the worker itself). Once linked, its ids leave the
    /// backlog; a failed batch leaves them waiting (the worker reports the failure and
    /// poisons the collection).
    pub(super) fn settle_linking(&self) {
        self.settle(|_| true);
    }

    /// [`Collection::settle_linking`] for an operation on `ids` (the writer held, at the
    /// top of every apply): waits only when the batch holds one of them. Run after the
    /// linking, the operation sees such a point in the index, so a delete removes it, an
    /// update replaces it, and nothing links it twice.
    pub(super) fn settle_linking_of(&self, ids: impl IntoIterator<Item = u64>) {
        self.settle(|batch| ids.into_iter().any(|id| batch.contains(&id)));
    }

    fn settle(&self, touches: impl FnOnce(&rustc_hash::FxHashSet<u64>) -> bool) {
        let mut s = self.backlog.state.lock();
        let Some(batch) = s.batch.as_ref() else {
            return;
        };
        if batch.linked.is_none() {
            if !touches(&batch.ids) {
                return;
            }
            while s.batch.as_ref().is_some_and(|b| b.linked.is_none()) {
                self.backlog.changed.wait(&mut s);
            }
        }
        let Some(batch) = s.batch.take() else {
            return;
        };
        if batch.linked == Some(true) {
            s.unkept += batch.ids.len();
            s.linked_since_checkpoint = true;
            let mut st = self.state.write();
            // Every id: one whose vector was not stored (none should be) would
            // otherwise stay forever.
            for id in batch.ids {
                st.pending.remove(id);
            }
            if st.pending.is_empty() {
                self.backlog.emptied();
            }
        }
    }

    /// Leaves the checkpoint a `flush()` found due to the running worker, so the flush
    /// returns once the log is synced (everything is durable then; the checkpoint only
    /// bounds the next open's replay). `false`, and nothing changed, when no worker runs or
    /// the worker's last checkpoint failed: the caller checkpoints itself.
    pub(super) fn defer_checkpoint(&self) -> bool {
        let mut s = self.backlog.state.lock();
        if !s.running || s.stopped || s.paused || s.failed.is_some() || s.checkpoint_failed {
            return false;
        }
        s.checkpoint_due = true;
        true
    }

    /// Runs the checkpoint a `flush()` left to the worker (the writer held, between
    /// batches). A failure leaves everything in the log, and the next `flush()`
    /// checkpoints itself and reports it.
    fn run_deferred_checkpoint(&self, w: &mut super::Writer) {
        let due = std::mem::take(&mut self.backlog.state.lock().checkpoint_due);
        if due && self.checkpoint_locked(w).is_err() {
            self.backlog.state.lock().checkpoint_failed = true;
        }
    }

    /// Whether the background indexing linked points since the last checkpoint (the writer
    /// held and the batch settled).
    pub(super) fn linked_since_checkpoint(&self) -> bool {
        self.backlog.state.lock().linked_since_checkpoint
    }

    /// Records a completed checkpoint (the writer held and the batch settled): nothing
    /// linked since, and no failed checkpoint left to report.
    pub(super) fn checkpoint_done(&self) {
        let mut s = self.backlog.state.lock();
        s.linked_since_checkpoint = false;
        s.checkpoint_failed = false;
    }

    /// The graph-wide upkeep (the writer held) a bulk insert runs after a batch that is
    /// large next to the graph, for all the batches since the last (same rule), `linked`
    /// more points included.
    fn upkeep_after(&self, linked: usize) {
        let unkept = std::mem::take(&mut self.backlog.state.lock().unkept) + linked;
        if unkept > 1 && unkept * 100 >= self.index.slots() {
            self.index.upkeep();
        }
    }

    /// Records that the worker stops (with its failure, if any) and wakes the waiters.
    fn worker_done(&self, failed: Option<String>) -> bool {
        let mut s = self.backlog.state.lock();
        s.running = false;
        if failed.is_some() {
            s.failed = failed;
        }
        self.backlog.changed.notify_all();
        false
    }
}

/// The worker: links batches while the collection exists and the backlog is not empty.
fn link_backlog(collection: Weak<Collection>) {
    loop {
        let Some(c) = collection.upgrade() else {
            return;
        };
        // A panic (a bug) must not leave `running` set, or `wait_indexed` would wait
        // forever: it fails the worker and poisons the collection like an error.
        let linked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.link_batch()));
        match linked {
            Ok(true) => {}
            Ok(false) => return,
            Err(_) => {
                let reason = "background indexing panicked".to_string();
                c.writer.lock().poisoned = Some(reason.clone());
                c.worker_done(Some(reason));
                return;
            }
        }
        // The last handle may go here: the collection's close then runs on this thread.
        drop(c);
    }
}

impl VectorCollection {
    /// Blocks until every point written by [`VectorCollection::upsert_bulk`] is linked into
    /// the HNSW index (returns at once when none waits). Searches never need this (they
    /// scan the points not linked yet exactly); it is for measuring and for handing over a
    /// fully indexed collection. `Err` when the background indexing failed (the collection
    /// is then poisoned: writes and `flush` fail until it is reopened, which resumes the
    /// indexing) or cannot run (the collection was closed).
    pub fn wait_indexed(&self) -> Result<()> {
        self.inner.wait_indexed()
    }

    /// How many points of the default vector are stored and searchable but not yet linked
    /// into the HNSW index (see [`VectorCollection::upsert_bulk`]).
    pub fn pending_index_count(&self) -> u64 {
        self.inner.pending_count()
    }

    /// Pauses (`true`) or resumes the background indexing of this handle's collection
    /// (not persisted; a reopened collection indexes). While paused, bulk-loaded points
    /// wait in the backlog (searches still find them, exactly) and
    /// [`VectorCollection::wait_indexed`] fails with a conflict; a running batch finishes
    /// first. For tests, and for holding the indexing back during a series of loads.
    pub fn set_indexing_paused(&self, paused: bool) {
        self.inner.backlog.state.lock().paused = paused;
        if !paused {
            self.inner.start_linking();
        }
    }

    /// How many points the default vector's HNSW index holds.
    pub fn indexed_vectors(&self) -> usize {
        use nearstore_index::VectorIndex;
        self.inner.index.len()
    }
}

/// Backlog points scored between two looks at a search's deadline (and read from the
/// vector store under one lock).
const SCAN_CHUNK: usize = 1024;

impl Collection {
    /// The backlog among `allowed` ids (all of it when `None`), in id order, or `None` when
    /// that is empty: what a dense search on the default vector must score besides the
    /// index.
    pub(super) fn pending_among(
        &self,
        allowed: Option<&roaring::RoaringTreemap>,
    ) -> Option<Vec<u64>> {
        if !self
            .backlog
            .nonempty
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return None;
        }
        let st = self.state.read();
        let ids: Vec<u64> = match allowed {
            Some(a) => (&st.pending & a).iter().collect(),
            None => st.pending.iter().collect(),
        };
        (!ids.is_empty()).then_some(ids)
    }

    /// Merges the index's `hits` with the exact best `depth` of the `pending` ids (scored
    /// from the vector store with the index's own scores), best first; an id in both
    /// (linked since the backlog was read) counts once.
    pub(super) fn merge_pending(
        &self,
        hits: Vec<nearstore_index::SearchHit>,
        query: &[f32],
        depth: usize,
        pending: &[u64],
        deadline: Option<&crate::request::Deadline>,
    ) -> Result<Vec<nearstore_index::SearchHit>> {
        let mut scorer = self.index.exact_scorer(query, depth)?;
        for chunk in pending.chunks(SCAN_CHUNK) {
            crate::request::check_deadline(deadline, "search")?;
            // A point deleted since the backlog was read has no vector: left out.
            self.vectors
                .with_vectors(chunk, &mut |i, v| scorer.offer(chunk[i], v))?;
        }
        let exact = scorer.into_hits();
        let metric = self.config.metric;
        let mut merged: Vec<nearstore_index::SearchHit> =
            Vec::with_capacity(hits.len() + exact.len());
        let mut seen = rustc_hash::FxHashSet::default();
        for h in exact.into_iter().chain(hits) {
            if seen.insert(h.id) {
                merged.push(h);
            }
        }
        merged.sort_by(|a, b| {
            metric
                .cmp_best_first(a.score, b.score)
                .then(a.id.cmp(&b.id))
        });
        merged.truncate(depth);
        Ok(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::Point;

    #[test]
    fn a_batch_that_fails_to_link_poisons_the_collection_and_keeps_its_points_waiting() {
        let backend = Arc::new(nearstore_storage::FaultyBackend::new());
        let shared: nearstore_storage::SharedBackend = backend.clone();
        let config = crate::CollectionConfig::new(2, nearstore_distance::DistanceMetric::Euclidean);
        let c = Collection::create(shared, std::path::Path::new("/db/c"), "c", config)
            .unwrap()
            .into_shared();
        c.backlog.state.lock().paused = true;
        let points: Vec<Point> = (0..100)
            .map(|i| Point::new(i, vec![i as f32, 1.0], None))
            .collect();
        c.upsert_linking(
            std::borrow::Cow::Borrowed(&points),
            &crate::WriteOptions::default(),
            Linking::Deferred,
        )
        .unwrap();
        assert_eq!(c.pending_count(), 100);
        // A stored vector the index refuses (no write path lets one in): the batch fails.
        c.vectors.store(7, &[f32::NAN, 0.0]).unwrap();
        c.backlog.state.lock().paused = false;
        c.start_linking();
        let err = c.wait_indexed().unwrap_err();
        assert!(
            matches!(&err, Error::Poisoned { reason, .. } if reason.contains("background indexing failed")),
            "{err}"
        );
        assert!(c.flush().is_err(), "writes and flushes report the failure");
        assert_eq!(c.pending_count(), 100, "the failed batch stays waiting");
        assert_eq!(nearstore_index::VectorIndex::len(&c.index), 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_linking_threads_run_at_the_lower_priority_and_the_caller_keeps_its_own() {
        let own = || rustix::process::getpriority_process(Some(rustix::thread::gettid()));
        let before = own().unwrap();
        let pool = linking_pool().expect("the linking threads start");
        let inside: Vec<i32> = pool.install(|| {
            use rayon::prelude::*;
            (0..64).into_par_iter().map(|_| own().unwrap()).collect()
        });
        // The pool's threads started from this process's threads (nice `before` or, for a
        // pool another test started, the same inherited value).
        let want = (before + LINKING_NICE_STEP).min(19);
        assert!(inside.iter().all(|&p| p == want), "{inside:?}");
        assert_eq!(own().unwrap(), before, "the calling thread is unchanged");
    }
}
