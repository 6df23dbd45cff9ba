//! [`WallClock`]: the calendar time point expiry is read against.
//!
//! Expiry times are wall-clock instants (milliseconds since the Unix epoch, UTC), unlike
//! deadlines, which run on the monotonic [`crate::Clock`]. A collection reads its wall clock
//! once per request, and only when some point in it carries an expiry time. The clock is
//! injectable ([`crate::VectorCollection::set_wall_clock`],
//! [`crate::Database::set_wall_clock`]) so tests can set it and jump it forward or back
//! without sleeping.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current calendar time, in milliseconds since the Unix epoch.
pub trait WallClock: Send + Sync + fmt::Debug {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    fn now_millis(&self) -> u64;
}

/// The system's calendar clock (a time before the epoch reads as 0).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemWallClock;

impl WallClock for SystemWallClock {
    fn now_millis(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

/// A wall clock that reads what it was last set to (for tests: set it, jump it forward or
/// back; it never moves by itself).
#[derive(Debug, Default)]
pub struct ManualWallClock {
    millis: AtomicU64,
}

impl ManualWallClock {
    /// A clock reading `millis`.
    pub fn new(millis: u64) -> Self {
        ManualWallClock {
            millis: AtomicU64::new(millis),
        }
    }

    /// Sets the time (earlier than before is allowed: a clock jumping back).
    pub fn set_millis(&self, millis: u64) {
        self.millis.store(millis, Ordering::SeqCst);
    }

    /// Moves the time forward by `by` (saturating).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |m| {
                Some(m.saturating_add(by))
            });
    }
}

impl WallClock for ManualWallClock {
    fn now_millis(&self) -> u64 {
        self.millis.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_reads_what_it_was_set_to_and_jumps_both_ways() {
        let c = ManualWallClock::new(1_000);
        assert_eq!(c.now_millis(), 1_000);
        c.advance(Duration::from_secs(2));
        assert_eq!(c.now_millis(), 3_000);
        c.set_millis(10);
        assert_eq!(c.now_millis(), 10);
        assert!(SystemWallClock.now_millis() > 1_700_000_000_000);
    }
}
