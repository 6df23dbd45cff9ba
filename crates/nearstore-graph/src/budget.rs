//! [`Budget`]: the guardrails every traversal and expansion runs under (maximum depth,
//! maximum intermediate rows, the request's deadline and a cancellation flag), and the cheap
//! periodic check the loops call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::error::{Error, Result};

/// The deepest traversal or variable-length expansion accepted.
pub const MAX_TRAVERSAL_DEPTH: u32 = 64;

/// Intermediate rows allowed by [`Budget::default`] (visited nodes, produced hops or paths).
pub const DEFAULT_MAX_ROWS: usize = 1_000_000;

/// The deadline and the cancellation flag are read once per this many units of work.
const CHECK_EVERY: u32 = 1024;

/// Limits for one traversal or expansion. Stopping for any of them is an error naming it
/// ([`Error::TooManyRows`], [`Error::DeadlineExceeded`], [`Error::Cancelled`]); a
/// traversal's own `limit` is not a guardrail and just truncates the result.
#[derive(Debug, Clone)]
pub struct Budget {
    /// The most intermediate rows (visited nodes, hops, paths) one call may hold.
    pub max_rows: usize,
    /// Stop once this instant has passed (the request's deadline).
    pub deadline: Option<Instant>,
    /// Stop once this flag is set (the request was cancelled).
    pub cancelled: Option<Arc<AtomicBool>>,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_rows: DEFAULT_MAX_ROWS,
            deadline: None,
            cancelled: None,
        }
    }
}

impl Budget {
    /// No row limit, no deadline (for tests and benchmarks).
    pub fn unlimited() -> Self {
        Budget {
            max_rows: usize::MAX,
            ..Budget::default()
        }
    }

    /// The default budget with a deadline.
    pub fn with_deadline(deadline: Instant) -> Self {
        Budget {
            deadline: Some(deadline),
            ..Budget::default()
        }
    }

    /// The same budget with another row limit.
    #[must_use]
    pub fn max_rows(mut self, max_rows: usize) -> Self {
        self.max_rows = max_rows;
        self
    }

    /// Fails unless `depth` is at most [`MAX_TRAVERSAL_DEPTH`].
    pub(crate) fn check_depth(depth: u32) -> Result<()> {
        if depth > MAX_TRAVERSAL_DEPTH {
            return Err(Error::DepthLimit {
                requested: depth,
                max: MAX_TRAVERSAL_DEPTH,
            });
        }
        Ok(())
    }

    /// Fails when `rows` exceeds the row limit.
    #[inline]
    pub(crate) fn check_rows(&self, rows: usize) -> Result<()> {
        if rows > self.max_rows {
            return Err(Error::TooManyRows {
                max_rows: self.max_rows,
            });
        }
        Ok(())
    }

    /// A ticker for one call; its first tick checks the deadline and the flag (a request
    /// already past its deadline does no work), then every [`CHECK_EVERY`] units.
    pub(crate) fn ticker(&self) -> Ticker<'_> {
        Ticker {
            budget: self,
            countdown: 1,
        }
    }

    pub(crate) fn check_time(&self) -> Result<()> {
        if let Some(flag) = &self.cancelled
            && flag.load(Ordering::Relaxed)
        {
            return Err(Error::Cancelled);
        }
        if let Some(deadline) = self.deadline
            && Instant::now() >= deadline
        {
            return Err(Error::DeadlineExceeded);
        }
        Ok(())
    }
}

/// Counts work and checks the deadline and the flag every [`CHECK_EVERY`] units.
#[derive(Debug)]
pub(crate) struct Ticker<'a> {
    budget: &'a Budget,
    countdown: u32,
}

impl Ticker<'_> {
    /// Records `units` of work (edges looked at, nodes expanded).
    #[inline]
    pub(crate) fn tick(&mut self, units: u32) -> Result<()> {
        if let Some(left) = self.countdown.checked_sub(units)
            && left > 0
        {
            self.countdown = left;
            return Ok(());
        }
        self.countdown = CHECK_EVERY;
        self.budget.check_time()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_past_deadline_stops_at_the_first_check() {
        let past = Instant::now()
            .checked_sub(Duration::from_millis(1))
            .unwrap_or_else(Instant::now);
        let budget = Budget::with_deadline(past);
        let mut ticker = budget.ticker();
        let stopped = (0..2 * CHECK_EVERY).try_for_each(|_| ticker.tick(1));
        assert_eq!(stopped, Err(Error::DeadlineExceeded));
    }

    #[test]
    fn a_set_flag_cancels_and_rows_and_depth_are_bounded() {
        let flag = Arc::new(AtomicBool::new(true));
        let budget = Budget {
            cancelled: Some(flag),
            ..Budget::default()
        };
        assert_eq!(budget.ticker().tick(CHECK_EVERY), Err(Error::Cancelled));
        assert_eq!(
            Budget::default().max_rows(3).check_rows(4),
            Err(Error::TooManyRows { max_rows: 3 })
        );
        assert!(Budget::check_depth(MAX_TRAVERSAL_DEPTH).is_ok());
        assert!(Budget::check_depth(MAX_TRAVERSAL_DEPTH + 1).is_err());
    }
}
