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
//! Deadline: [`current_deadline`] tells handlers the instant the request must finish by;
//! when the engine's requests carry a deadline, handlers pass it on and the engine stops
//! its own work there. Until then a write handed to the engine runs to its end, and the
//! timeout waits for it to report truthfully whether it was applied ([`WriteOutcome`]).
//! Every piece of blocking work of a write route counts as its write, so a write handler
//! makes exactly one `blocking` call (today every native and Qdrant write route does);
//! a handler that read first in a separate call could be reported `applied` after only
//! its read ran.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

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
    /// Whether the route writes (its blocking work is a write).
    writes: bool,
    started: AtomicUsize,
    finished: AtomicUsize,
    first_failure: Mutex<Option<String>>,
    work_done: Notify,
}

impl Ticket {
    pub(crate) fn new(
        slot: OwnedSemaphorePermit,
        memory: Reservation,
        deadline: Instant,
        writes: bool,
    ) -> Self {
        Ticket {
            _slot: slot,
            memory: Mutex::new(memory),
            deadline,
            writes,
            started: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
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

    /// Called when a piece of blocking work ended, with its error message if it failed.
    pub(crate) fn work_finished(&self, failure: Option<String>) {
        if let Some(message) = failure {
            self.first_failure.lock().get_or_insert(message);
        }
        self.finished.fetch_add(1, Ordering::AcqRel);
        self.work_done.notify_waiters();
    }

    fn all_work_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire) == self.started.load(Ordering::Acquire)
    }

    /// After the deadline passed and the handler was dropped: for a write route, waits
    /// until the blocking work already handed off has ended (it cannot be stopped before
    /// the engine takes deadlines) and says what became of it; `None` for read routes.
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
        if self.started.load(Ordering::Acquire) == 0 {
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

/// The instant the current request must be answered by (for engine requests that take a
/// deadline); `None` outside a limited request.
#[expect(
    dead_code,
    reason = "the hook for engine deadlines; used when requests take one"
)]
pub(crate) fn current_deadline() -> Option<Instant> {
    TICKET.try_with(|t| t.deadline).ok()
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
    use std::time::Duration;

    use tokio::sync::{Semaphore, oneshot};

    use super::*;
    use crate::error::{Error, blocking};
    use crate::limits::budget::MemoryBudget;

    fn ticket(slots: &Arc<Semaphore>, writes: bool) -> Arc<Ticket> {
        let slot = slots.clone().try_acquire_owned().unwrap();
        let memory = MemoryBudget::new(1 << 20).reservation();
        Arc::new(Ticket::new(
            slot,
            memory,
            Instant::now() + Duration::from_secs(1),
            writes,
        ))
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
}
