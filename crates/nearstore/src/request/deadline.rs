//! [`Deadline`]: when a request must stop working, and the clock it is read against.
//!
//! Every engine loop that can run long (exact and graph searches, filter evaluation over
//! payloads, scrolls and scans, the preparation of a bulk write) asks its request's deadline
//! at regular intervals and stops with [`crate::ErrorKind::Cancelled`] once it has passed.
//! The clock is injectable so tests can move time deterministically (no sleeps).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// A source of "now" for deadlines; [`SystemClock`] unless a test injects another.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// The instant after which a request stops working.
#[derive(Debug, Clone)]
pub struct Deadline {
    at: Instant,
    clock: Option<Arc<dyn Clock>>,
}

impl PartialEq for Deadline {
    /// Two deadlines are equal when they end at the same instant (clocks are not compared).
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Deadline {
    /// A deadline at `at` on the system clock.
    pub fn at(at: Instant) -> Self {
        Deadline { at, clock: None }
    }

    /// A deadline `timeout` from now on the system clock.
    pub fn after(timeout: Duration) -> Self {
        let now = Instant::now();
        Deadline::at(
            now.checked_add(timeout)
                .unwrap_or(now + Duration::from_secs(1 << 32)),
        )
    }

    /// A deadline that has already passed: the request stops at its first check.
    pub fn expired() -> Self {
        Deadline::at(Instant::now())
    }

    /// A deadline at `at` read against `clock` (for tests that move time by hand).
    pub fn with_clock(at: Instant, clock: Arc<dyn Clock>) -> Self {
        Deadline {
            at,
            clock: Some(clock),
        }
    }

    /// The instant it ends.
    pub fn instant(&self) -> Instant {
        self.at
    }

    /// Whether it has passed (now at or after it).
    pub fn is_expired(&self) -> bool {
        let now = match &self.clock {
            Some(c) => c.now(),
            None => Instant::now(),
        };
        now >= self.at
    }

    /// `Err(Cancelled)` naming `what` once the deadline has passed.
    pub(crate) fn check(&self, what: &str) -> Result<()> {
        if self.is_expired() {
            return Err(Error::Cancelled(format!(
                "{what} cancelled: it ran past its deadline"
            )));
        }
        Ok(())
    }
}

/// Checks an optional deadline (no deadline never expires).
pub(crate) fn check(deadline: Option<&Deadline>, what: &str) -> Result<()> {
    deadline.map_or(Ok(()), |d| d.check(what))
}

/// A hand-moved clock: every reading advances it by `step` (so a loop that checks its
/// deadline N times sees N steps pass). For deterministic deadline tests.
#[derive(Debug)]
pub struct SteppingClock {
    start: Instant,
    step: Duration,
    reads: std::sync::atomic::AtomicU64,
}

impl SteppingClock {
    /// A clock starting at `start` that moves `step` per reading.
    pub fn new(start: Instant, step: Duration) -> Self {
        SteppingClock {
            start,
            step,
            reads: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many times it has been read.
    pub fn reads(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Clock for SteppingClock {
    fn now(&self) -> Instant {
        let n = self
            .reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let elapsed = self
            .step
            .saturating_mul(u32::try_from(n).unwrap_or(u32::MAX));
        self.start + elapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_deadline_fails_its_check_with_cancelled() {
        let e = Deadline::expired().check("search").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Cancelled);
        assert!(
            Deadline::after(Duration::from_secs(3600))
                .check("x")
                .is_ok()
        );
        assert!(check(None, "x").is_ok());
    }

    #[test]
    fn a_stepping_clock_expires_after_its_steps() {
        let start = Instant::now();
        let clock = Arc::new(SteppingClock::new(start, Duration::from_millis(1)));
        let d = Deadline::with_clock(start + Duration::from_millis(3), clock.clone());
        let seen: Vec<bool> = (0..5).map(|_| d.is_expired()).collect();
        assert_eq!(seen, [false, false, false, true, true]);
        assert_eq!(clock.reads(), 5);
    }
}
