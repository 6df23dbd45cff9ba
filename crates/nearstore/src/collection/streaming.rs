//! Streaming ingest: a bounded queue of logged points, applied in batches by one background
//! drain thread per collection (a std thread; no async runtime).
//!
//! A streamed write is validated whole, then, under the writer lock, checked against the
//! queue's capacity (a write that does not fit whole is refused with
//! [`Error::Overloaded`], nothing logged or queued), appended to the operation log like any
//! upsert (so it is as durable as the collection's [`crate::Durability`] makes any write:
//! synced in `PerWrite`, written to the OS in `Flush` and synced by `flush()`, buffered in
//! `Bulk`) and queued. It is acknowledged then. The drain thread later applies queued
//! points to the in-memory state and indexes in batches of `batch_size`, under the writer
//! lock; a point becomes visible to reads once applied.
//!
//! The invariant "memory = replay of the log": the queue holds exactly the logged upserts
//! not yet applied, in log order, and they are always the newest operations in the log.
//! Every other write, `flush`, `checkpoint`, snapshot and close takes the writer through
//! [`Collection::lock_writer`], which applies the whole queue first; a checkpoint (which
//! empties the log) applies it too. So operations reach memory in log order, a checkpoint
//! never drops an unapplied operation, and a crash loses nothing the log holds (reopen
//! replays it).
//!
//! Shutdown: `disable_streaming` and dropping the collection stop the thread (it holds only
//! a weak reference, so it never keeps a collection alive) and apply what is queued; a
//! streamed write never waits for room, so nothing can hang on a full queue.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::write::Targets;
use super::{CHECKPOINT_AT_WRITE_BYTES, Collection, VectorCollection, Writer};
use crate::error::{Error, Result};
use crate::point::{Expiry, Point};

/// Streaming ingest's settings (see [`VectorCollection::enable_streaming`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamingConfig {
    /// The queue's capacity in points: a streamed write that does not fit whole is refused
    /// with [`Error::Overloaded`].
    pub buffer_size: usize,
    /// The most points the drain thread applies under one hold of the writer lock; it
    /// starts as soon as this many are queued.
    pub batch_size: usize,
    /// The longest a queued point waits for the drain when fewer than `batch_size` are
    /// queued; at most [`MAX_FLUSH_INTERVAL`] (one hour).
    pub flush_interval: Duration,
}

impl Default for StreamingConfig {
    /// 10,000 points, batches of 1,000, 50 ms.
    fn default() -> Self {
        StreamingConfig {
            buffer_size: 10_000,
            batch_size: 1_000,
            flush_interval: Duration::from_millis(50),
        }
    }
}

/// The longest [`StreamingConfig::flush_interval`] accepted: one hour.
pub const MAX_FLUSH_INTERVAL: Duration = Duration::from_secs(3600);

impl StreamingConfig {
    /// Checks the settings (every caller's one rule): positive sizes, a flush interval of
    /// at most [`MAX_FLUSH_INTERVAL`].
    pub fn validate(&self) -> Result<()> {
        if self.flush_interval > MAX_FLUSH_INTERVAL {
            return Err(Error::InvalidArgument(format!(
                "streaming flush_interval must be at most {} ms (got {} ms)",
                MAX_FLUSH_INTERVAL.as_millis(),
                self.flush_interval.as_millis()
            )));
        }
        if self.buffer_size == 0 || self.batch_size == 0 {
            return Err(Error::InvalidArgument(format!(
                "streaming buffer_size and batch_size must be positive (got {} and {})",
                self.buffer_size, self.batch_size
            )));
        }
        Ok(())
    }

    /// The delay an [`Error::Overloaded`] suggests: one drain interval, at least 1 ms.
    fn retry_after(&self) -> Duration {
        self.flush_interval.max(Duration::from_millis(1))
    }
}

/// A collection's streaming queue as [`VectorCollection::streaming_status`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamingStatus {
    /// Points logged and waiting to be applied.
    pub queued: usize,
    /// The queue's capacity (`buffer_size`).
    pub capacity: usize,
    /// The settings streaming was enabled with.
    pub config: StreamingConfig,
    /// Whether the drain thread is paused ([`VectorCollection::set_streaming_paused`]).
    pub paused: bool,
}

/// The queue, owned by the [`Writer`] (changed only under the writer lock).
#[derive(Debug, Default)]
pub(super) struct StreamQueue {
    /// Logged upserts not yet applied, oldest first; expiry times are instants already.
    points: VecDeque<Point>,
    /// `None`: streaming is off.
    config: Option<StreamingConfig>,
    signal: Option<Arc<Signal>>,
}

/// What the drain thread waits on.
#[derive(Debug, Default)]
struct Signal {
    state: Mutex<SignalState>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct SignalState {
    queued: usize,
    /// When the queue last went from empty to not empty.
    oldest: Option<Instant>,
    paused: bool,
    stop: bool,
}

impl Signal {
    fn queued(&self, n: usize, batch_size: usize) {
        let mut s = self.state.lock();
        if s.queued == 0 {
            s.oldest = Some(Instant::now());
        }
        s.queued += n;
        if s.queued == n || s.queued >= batch_size {
            self.wake.notify_all();
        }
    }

    fn applied(&self, n: usize) {
        let mut s = self.state.lock();
        s.queued = s.queued.saturating_sub(n);
        if s.queued == 0 {
            s.oldest = None;
        }
    }

    fn set(&self, f: impl FnOnce(&mut SignalState)) {
        f(&mut self.state.lock());
        self.wake.notify_all();
    }

    /// Waits until a batch is due; `false` when the thread is to stop.
    fn wait_for_batch(&self, config: &StreamingConfig) -> bool {
        let mut s = self.state.lock();
        loop {
            if s.stop {
                return false;
            }
            if s.paused || s.queued == 0 {
                self.wake.wait(&mut s);
                continue;
            }
            if s.queued >= config.batch_size {
                return true;
            }
            let now = Instant::now();
            // `validate` bounds the interval; an instant past the clock's range is "never".
            match s.oldest.unwrap_or(now).checked_add(config.flush_interval) {
                Some(due) if now >= due => return true,
                Some(due) => {
                    self.wake.wait_until(&mut s, due);
                }
                None => self.wake.wait(&mut s),
            }
        }
    }
}

/// The running drain thread (kept by the [`Collection`], outside the writer).
#[derive(Debug)]
pub(super) struct Drainer {
    config: StreamingConfig,
    signal: Arc<Signal>,
    thread: Option<JoinHandle<()>>,
}

impl Drainer {
    /// Stops the thread and waits for it, except on the thread itself (the last strong
    /// handle may be dropped by the drain thread, which then runs the collection's close).
    pub(super) fn stop(mut self) {
        self.signal.set(|s| s.stop = true);
        if let Some(t) = self.thread.take()
            && t.thread().id() != std::thread::current().id()
        {
            // A panic in the drain thread has already been reported; the points it did not
            // apply are in the log and applied by the caller's close or reopen.
            let _ = t.join();
        }
    }
}

/// The drain thread: waits for a batch, applies it, until stopped or the collection is gone.
fn drain(collection: Weak<Collection>, signal: Arc<Signal>, config: StreamingConfig) {
    while signal.wait_for_batch(&config) {
        let Some(c) = collection.upgrade() else {
            return;
        };
        let mut w = c.writer.lock();
        let progressed =
            matches!(c.apply_streamed_batch(&mut w, config.batch_size), Ok(n) if n > 0);
        let left = !w.stream.points.is_empty();
        drop(w);
        drop(c);
        // Nothing applied with points queued: the collection is poisoned (the log holds them
        // for the next open); spinning would not help. Streaming is off from here on (the
        // status says so; streamed writes are refused).
        if !progressed && left {
            if let Some(c) = collection.upgrade() {
                let mut w = c.writer.lock();
                w.stream.config = None;
                w.stream.signal = None;
            }
            return;
        }
    }
}

impl Collection {
    /// Stops the drain thread (if any) without applying the queue (a close's checkpoint or
    /// the next open does); streaming is off after. For the database's close, so no drain
    /// thread outlives the database's lock.
    pub(crate) fn stop_drainer(&self) {
        if let Some(drainer) = self.streaming.lock().take() {
            drainer.stop();
        }
        let mut w = self.writer.lock();
        w.stream.config = None;
        w.stream.signal = None;
    }

    /// Takes the writer after applying every queued streamed point: the one way a write,
    /// flush or checkpoint takes it, so operations reach memory in log order.
    pub(super) fn lock_writer(&self) -> Result<MutexGuard<'_, Writer>> {
        let mut w = self.writer.lock();
        // Checked under the lock: `mark_dropped` takes it after setting the flag.
        self.check_open()?;
        self.apply_streamed(&mut w)?;
        Ok(w)
    }

    /// Applies the whole streaming queue. In a poisoned collection the queue stays (the log
    /// holds it for the next open) and a checkpoint is refused.
    pub(super) fn apply_streamed(&self, w: &mut Writer) -> Result<()> {
        while !w.stream.points.is_empty() {
            if self.apply_streamed_batch(w, usize::MAX)? == 0 {
                return Err(Error::Poisoned {
                    collection: self.name.clone(),
                    reason: w.poisoned.clone().unwrap_or_default(),
                });
            }
        }
        Ok(())
    }

    /// Applies up to `max` queued points (one batch); returns how many.
    fn apply_streamed_batch(&self, w: &mut Writer, max: usize) -> Result<usize> {
        if w.poisoned.is_some() {
            return Ok(0);
        }
        let n = max.min(w.stream.points.len());
        if n == 0 {
            return Ok(0);
        }
        let batch: Vec<Point> = w.stream.points.drain(..n).collect();
        // The batch spans several logged upserts; applied at once, a later duplicate wins,
        // exactly as in log order. Expiry times were resolved to instants when queued.
        if let Err(e) = self.apply_upsert(batch, Targets::ALL, 0) {
            w.poisoned = Some(e.to_string());
            return Err(e);
        }
        if let Some(signal) = &w.stream.signal {
            signal.applied(n);
        }
        Ok(n)
    }

    fn stream_insert(&self, mut points: Vec<Point>) -> Result<()> {
        self.check_open()?;
        if points.is_empty() {
            return Ok(());
        }
        let (bytes, now) = self.encode_checked_upsert(&points, None)?;
        for p in &mut points {
            // As logged: a TTL counts from `now`, an expiry past the end of time is none.
            p.expiry = p.expiry.and_then(|e| e.instant(now)).map(Expiry::At);
        }
        let mut w = self.writer.lock();
        self.check_writable(&w)?;
        let Some(config) = w.stream.config else {
            return Err(Error::StreamingDisabled(self.name.clone()));
        };
        if points.len() > config.buffer_size {
            return Err(Error::InvalidArgument(format!(
                "a streamed batch of {} points can never fit {}'s streaming queue of {}",
                points.len(),
                self.name,
                config.buffer_size
            )));
        }
        let queued = w.stream.points.len();
        if queued + points.len() > config.buffer_size {
            return Err(Error::Overloaded {
                collection: self.name.clone(),
                capacity: config.buffer_size,
                queued,
                offered: points.len(),
                retry_after: config.retry_after(),
            });
        }
        // As in `upsert`: an expired graph node is deleted (with its edges) before its id is
        // written again; the queue is applied first, so the delete follows it in log order.
        if !self.expired_graph_nodes(&points).is_empty() {
            self.apply_streamed(&mut w)?;
            let expired = self.expired_graph_nodes(&points);
            if !expired.is_empty() {
                self.delete_locked(&mut w, &expired, None)?;
            }
        }
        // A graph with a schema refuses a relabel that an existing edge would break; the
        // queued points' payloads are the nodes' payloads by then.
        if self.config.graph_schema.is_some() {
            let changed: Vec<(u64, Option<&serde_json::Value>)> =
                points.iter().map(|p| (p.id, p.payload.as_ref())).collect();
            let queue = &w.stream.points;
            let queued = |id: u64| {
                queue
                    .iter()
                    .rev()
                    .find(|p| p.id == id)
                    .map(|p| p.payload.clone().map(std::sync::Arc::new))
            };
            self.check_relabels(&changed, Some(&queued))?;
        }
        w.ops.append(&bytes)?;
        let n = points.len();
        w.stream.points.extend(points);
        if let Some(signal) = &w.stream.signal {
            signal.queued(n, config.batch_size);
        }
        if w.ops.len_bytes() > CHECKPOINT_AT_WRITE_BYTES {
            self.checkpoint_locked(&mut w)?;
        }
        Ok(())
    }

    /// Stops the drain thread (if any) and applies what it left; streaming is off after.
    fn stop_streaming(&self) -> Result<()> {
        let mut slot = self.streaming.lock();
        if let Some(drainer) = slot.take() {
            drainer.stop();
        }
        let mut w = self.lock_writer()?;
        w.stream.config = None;
        w.stream.signal = None;
        Ok(())
    }
}

impl VectorCollection {
    /// Turns on streaming ingest ([`VectorCollection::stream_insert`]) with a background
    /// drain thread; enabling it again applies what is queued and restarts the thread with
    /// the new settings. Streaming stays on until [`VectorCollection::disable_streaming`]
    /// or the collection closes (it is not persisted: enable it again after an open).
    pub fn enable_streaming(&self, config: StreamingConfig) -> Result<()> {
        config.validate()?;
        let c = &self.inner;
        c.check_open()?;
        let mut slot = c.streaming.lock();
        if let Some(old) = slot.take() {
            old.stop();
        }
        let signal = Arc::new(Signal::default());
        {
            let mut w = c.lock_writer()?;
            c.check_writable(&w)?;
            w.stream.config = Some(config);
            w.stream.signal = Some(signal.clone());
        }
        let weak = Arc::downgrade(c);
        let thread_signal = signal.clone();
        let thread = std::thread::Builder::new()
            .name(format!("nearstore-stream-{}", c.name))
            .spawn(move || drain(weak, thread_signal, config))
            .map_err(|e| {
                Error::Storage(nearstore_storage::Error::Io {
                    path: c.dir.clone(),
                    source: e,
                })
            });
        match thread {
            Ok(t) => {
                *slot = Some(Drainer {
                    config,
                    signal,
                    thread: Some(t),
                });
                Ok(())
            }
            Err(e) => {
                drop(slot);
                let mut w = c.writer.lock();
                w.stream.config = None;
                w.stream.signal = None;
                Err(e)
            }
        }
    }

    /// Stops the drain thread and applies every queued point; streamed writes are refused
    /// with [`Error::StreamingDisabled`] after. Nothing acknowledged is lost (it was logged
    /// before it was acknowledged). A no-op when streaming is off.
    pub fn disable_streaming(&self) -> Result<()> {
        self.inner.stop_streaming()
    }

    /// Streams one point: validated now, logged (durable per the collection's
    /// [`crate::Durability`], like any write) and queued before it returns; visible to reads
    /// once the drain thread applies it (or any other write, `flush()` or `checkpoint()`
    /// does). A full queue is [`Error::Overloaded`] at once, nothing written.
    pub fn stream_insert(&self, point: Point) -> Result<()> {
        self.inner.stream_insert(vec![point])
    }

    /// Streams a batch as one logged upsert: all of it is queued or none (a batch that does
    /// not fit whole is [`Error::Overloaded`]; one larger than the queue can ever hold is
    /// [`Error::InvalidArgument`]).
    pub fn stream_insert_batch(&self, points: Vec<Point>) -> Result<()> {
        self.inner.stream_insert(points)
    }

    /// The streaming queue's depth, capacity and settings (`None`: streaming is off).
    pub fn streaming_status(&self) -> Option<StreamingStatus> {
        let slot = self.inner.streaming.lock();
        let drainer = slot.as_ref()?;
        // A thread that ended on its own (a poisoned collection) turned streaming off.
        if drainer.thread.as_ref().is_none_or(|t| t.is_finished()) {
            return None;
        }
        let config = drainer.config;
        let s = drainer.signal.state.lock();
        Some(StreamingStatus {
            queued: s.queued,
            capacity: config.buffer_size,
            config,
            paused: s.paused,
        })
    }

    /// Pauses (`true`) or resumes the drain thread. While paused, streamed points wait in
    /// the queue (and a full queue refuses writes) until resumed or until another write,
    /// `flush()` or `checkpoint()` applies them; for tests and for holding visibility back.
    pub fn set_streaming_paused(&self, paused: bool) -> Result<()> {
        let slot = self.inner.streaming.lock();
        match slot.as_ref() {
            Some(d) => {
                d.signal.set(|s| s.paused = paused);
                Ok(())
            }
            None => Err(Error::StreamingDisabled(self.inner.name.clone())),
        }
    }
}

#[cfg(test)]
mod tests;
