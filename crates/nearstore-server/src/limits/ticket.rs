//! [`Ticket`]: what one limited request holds while any of its work is alive: its
//! concurrency slot, its memory reservation, its deadline, and the record of the writes it
//! handed to the engine.
//!
//! The limit middleware creates the ticket and runs the handler inside a tokio task-local
//! scope holding it. [`crate::error::blocking`] clones the ticket into every closure it
//! sends to the blocking pool, so the slot and the memory stay taken until the last piece
//! of work ends, also when the response has already gone (a timeout). The concurrency
//! limit therefore bounds the work on the blocking pool, not only the requests waiting
//! for it.
//!
//! Deadline: [`engine_deadline`] is the instant the request must finish by, as the
//! engine's [`nearstore::Deadline`]; handlers put it on every engine request that takes one
//! (`SearchRequest`, `ScrollRequest`, `WriteOptions`), so the engine stops its own work
//! there: a search or scroll answers `Cancelled`, a write `WriteCancelled` (nothing
//! written) or, once logged, is applied whole. After the timeout the middleware waits for
//! the work already handed off to end and reports truthfully whether a write was applied
//! ([`WriteOutcome`]); a write the engine cancelled counts as not applied.
//! Every piece of blocking work of a write route counts as its write, so a write handler
//! makes exactly one `blocking` call (today every native and Qdrant write route does);
//! a handler that read first in a separate call could be reported `applied` after only
//! its read ran.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nearstore::{Deadline, ScrollRequest, SearchRequest, WriteOptions};
use parking_lot::Mutex;
use tokio::sync::{Notify, OwnedSemaphorePermit};

use crate::error::Result;
use crate::limits::budget::Reservation;

tokio::task_local! {
    static TICKET: Arc<Ticket>;
}

/// What became of the writes of a request that timed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// No write reached the engine: nothing was applied.
    NotApplied,
    /// Every write the request handed to the engine finished and was applied, after the
    /// deadline had passed.
    Applied,
    /// A write handed to the engine failed; the engine's message says what was refused.
    Failed(String),
}

impl WriteOutcome {
    /// The word used in the error body's `write` field.
    pub fn name(&self) -> &'static str {
        match self {
            WriteOutcome::NotApplied => "not_applied",
            WriteOutcome::Applied => "applied",
            WriteOutcome::Failed(_) => "failed",
        }
    }
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Ticket {
    _slot: OwnedSemaphorePermit,
    memory: Mutex<Reservation>,
    deadline: Instant,
    timeout: Duration,
    /// Whether the route writes (its blocking work is a write).
    writes: bool,
    started: AtomicUsize,
    finished: AtomicUsize,
    /// Pieces of work the engine stopped at the deadline before writing anything.
    cancelled: AtomicUsize,
    first_failure: Mutex<Option<String>>,
    work_done: Notify,
}

impl Ticket {
    pub(crate) fn new(
        slot: OwnedSemaphorePermit,
        memory: Reservation,
        timeout: Duration,
        writes: bool,
    ) -> Self {
        Ticket {
            _slot: slot,
            memory: Mutex::new(memory),
            deadline: Instant::now() + timeout,
            timeout,
            writes,
            started: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            cancelled: AtomicUsize::new(0),
            first_failure: Mutex::new(None),
            work_done: Notify::new(),
        }
    }

    /// Runs `fut` with this ticket as the current one.
    pub(crate) fn scope<F: Future>(
        self: &Arc<Self>,
        fut: F,
    ) -> impl Future<Output = F::Output> + use<F> {
        TICKET.scope(self.clone(), fut)
    }

    /// Reserves `bytes` more of the memory budget for this request (413 or 503, see
    /// [`Reservation::grow`]).
    pub(crate) fn reserve(&self, bytes: usize) -> Result<()> {
        self.memory.lock().grow(bytes)
    }

    /// Called before a piece of work goes to the blocking pool.
    pub(crate) fn work_started(&self) {
        self.started.fetch_add(1, Ordering::AcqRel);
    }

    /// Called when a piece of blocking work ended: with its error message if it failed,
    /// or as cancelled when the engine stopped it at the deadline before writing.
    pub(crate) fn work_finished(&self, end: WorkEnd) {
        match end {
            WorkEnd::Done => {}
            WorkEnd::Cancelled => {
                self.cancelled.fetch_add(1, Ordering::AcqRel);
            }
            WorkEnd::Failed(message) => {
                self.first_failure.lock().get_or_insert(message);
            }
        }
        self.finished.fetch_add(1, Ordering::AcqRel);
        self.work_done.notify_waiters();
    }

    fn all_work_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire) == self.started.load(Ordering::Acquire)
    }

    /// The request's timeout (how long it had from its start).
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether the route writes.
    pub(crate) fn writes(&self) -> bool {
        self.writes
    }

    /// After the deadline passed and the handler was dropped: for a write route, waits
    /// until the blocking work already handed off has ended (the engine stops it at the
    /// deadline, or applies a logged write whole) and says what became of it; `None` for
    /// read routes.
    pub(crate) async fn outcome_after_timeout(&self) -> Option<WriteOutcome> {
        if !self.writes {
            return None;
        }
        loop {
            let done = self.work_done.notified();
            if self.all_work_finished() {
                break;
            }
            done.await;
        }
        if self.started.load(Ordering::Acquire) == self.cancelled.load(Ordering::Acquire) {
            return Some(WriteOutcome::NotApplied);
        }
        Some(match self.first_failure.lock().clone() {
            Some(message) => WriteOutcome::Failed(message),
            None => WriteOutcome::Applied,
        })
    }
}

/// The current request's ticket, if the caller runs inside one.
pub(crate) fn current() -> Option<Arc<Ticket>> {
    TICKET.try_with(Arc::clone).ok()
}

/// How a piece of blocking work ended (see [`Ticket::work_finished`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WorkEnd {
    Done,
    /// The engine stopped it at the request's deadline; a write wrote nothing.
    Cancelled,
    Failed(String),
}

/// The current request's deadline as the engine's [`Deadline`], for every engine request
/// that takes one; `None` outside a limited request (probes, tests calling handlers).
pub(crate) fn engine_deadline() -> Option<Deadline> {
    TICKET.try_with(|t| Deadline::at(t.deadline)).ok()
}

/// `request` with the current request's deadline (unchanged outside a limited request).
pub(crate) fn search_by_deadline(request: SearchRequest) -> SearchRequest {
    match engine_deadline() {
        Some(d) => request.deadline(d),
        None => request,
    }
}

/// `request` with the current request's deadline (unchanged outside a limited request).
pub(crate) fn scroll_by_deadline(request: ScrollRequest) -> ScrollRequest {
    match engine_deadline() {
        Some(d) => request.deadline(d),
        None => request,
    }
}

/// Write options carrying the current request's deadline.
pub(crate) fn write_options() -> WriteOptions {
    engine_deadline().map_or_else(WriteOptions::default, WriteOptions::deadline)
}

/// Runs `fut` inside the current ticket's scope (for futures spawned as their own task).
pub(crate) fn in_current_scope<F: Future>(fut: F) -> impl Future<Output = F::Output> {
    let ticket = current();
    async move {
        match ticket {
            Some(t) => t.scope(fut).await,
            None => fut.await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use tokio::sync::{Semaphore, oneshot};

    use super::*;
    use crate::error::{Error, blocking};
    use crate::limits::budget::MemoryBudget;

    fn ticket(slots: &Arc<Semaphore>, writes: bool) -> Arc<Ticket> {
        let slot = slots.clone().try_acquire_owned().unwrap();
        let memory = MemoryBudget::new(1 << 20).reservation();
        Arc::new(Ticket::new(slot, memory, Duration::from_secs(1), writes))
    }

    /// Hands `result` to the blocking pool under `t`, abandons the handler once the work
    /// runs (as a timeout does), and returns the sender that lets the work finish.
    async fn abandoned_work(t: &Arc<Ticket>, result: Result<()>) -> mpsc::Sender<()> {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (running_tx, running_rx) = oneshot::channel::<()>();
        let handler = tokio::spawn(t.scope(blocking(move || {
            let _ = running_tx.send(());
            let _ = go_rx.recv();
            result
        })));
        running_rx.await.unwrap();
        handler.abort();
        let _ = handler.await;
        go_tx
    }

    #[tokio::test]
    async fn abandoned_blocking_work_keeps_the_slot_until_it_ends() {
        let slots = Arc::new(Semaphore::new(1));
        let t = ticket(&slots, false);
        let go = abandoned_work(&t, Ok(())).await;
        drop(t); // the middleware's handle is gone, as after a 408
        assert!(
            slots.try_acquire().is_err(),
            "the slot must stay taken while the work runs"
        );
        go.send(()).unwrap();
        // Released when the work ends (awaited, not polled).
        drop(slots.acquire().await.unwrap());
    }

    #[tokio::test]
    async fn a_timed_out_write_reports_what_became_of_it() {
        let slots = Arc::new(Semaphore::new(3));
        let applied = ticket(&slots, true);
        let go = abandoned_work(&applied, Ok(())).await;
        let outcome = tokio::spawn({
            let t = applied.clone();
            async move { t.outcome_after_timeout().await }
        });
        go.send(()).unwrap();
        assert_eq!(outcome.await.unwrap(), Some(WriteOutcome::Applied));

        let failed = ticket(&slots, true);
        let go = abandoned_work(&failed, Err(Error::bad_request("refused"))).await;
        go.send(()).unwrap();
        assert_eq!(
            failed.outcome_after_timeout().await,
            Some(WriteOutcome::Failed("refused".into()))
        );

        let untouched = ticket(&slots, true);
        assert_eq!(
            untouched.outcome_after_timeout().await,
            Some(WriteOutcome::NotApplied)
        );
    }

    #[tokio::test]
    async fn a_read_has_no_write_outcome() {
        let slots = Arc::new(Semaphore::new(1));
        assert_eq!(ticket(&slots, false).outcome_after_timeout().await, None);
    }

    /// A request whose deadline has passed when its engine work runs: the engine itself
    /// stops the search, the scroll and the write (nothing written), and each answers the
    /// 408 the timeout would, a write saying `not_applied` (and it is true).
    #[tokio::test]
    async fn the_engine_stops_work_at_the_request_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let db = nearstore::Database::open(dir.path()).unwrap();
        let c = db
            .create_collection("c", 2, nearstore::DistanceMetric::Cosine)
            .unwrap();
        c.upsert(vec![nearstore::Point::new(1, vec![1.0, 0.0], None)])
            .unwrap();
        let slots = Arc::new(Semaphore::new(3));
        let expired = |writes| {
            let slot = slots.clone().try_acquire_owned().unwrap();
            let memory = MemoryBudget::new(1 << 20).reservation();
            Arc::new(Ticket::new(slot, memory, Duration::ZERO, writes))
        };

        let write = expired(true);
        let c2 = c.clone();
        let answer = write
            .scope(async move {
                let options = write_options();
                let point = nearstore::Point::new(2, vec![0.0, 1.0], None);
                blocking(move || Ok(c2.upsert_with(&[point], &options)?)).await
            })
            .await;
        match answer {
            Err(Error::Timeout { write: w, .. }) => assert_eq!(w, Some(WriteOutcome::NotApplied)),
            other => panic!("expected a 408, got {other:?}"),
        }
        assert_eq!(
            write.outcome_after_timeout().await,
            Some(WriteOutcome::NotApplied)
        );
        assert_eq!(c.len(), 1, "the cancelled write wrote nothing");

        let read = expired(false);
        let c2 = c.clone();
        let answer = read
            .scope(async move {
                let request = search_by_deadline(SearchRequest::new(&[1.0, 0.0]));
                blocking(move || Ok(c2.query(request)?)).await
            })
            .await;
        assert!(
            matches!(answer, Err(Error::Timeout { write: None, .. })),
            "{answer:?}"
        );
        let c2 = c.clone();
        let answer = read
            .scope(async move {
                let request = scroll_by_deadline(ScrollRequest::new());
                blocking(move || Ok(c2.scroll_with(&request)?)).await
            })
            .await;
        assert!(
            matches!(answer, Err(Error::Timeout { write: None, .. })),
            "{answer:?}"
        );
    }
}
