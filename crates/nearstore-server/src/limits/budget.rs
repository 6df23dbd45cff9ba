//! [`MemoryBudget`]: one budget for the memory of every request body in flight, and the
//! [`Reservation`] each request holds against it.
//!
//! The budget is counted in KiB permits of a [`tokio::sync::Semaphore`] and is only ever
//! taken with `try_acquire`: a request that does not fit what is left is refused at once
//! (503, [`Error::MemoryBudget`]), and a request that could never fit the whole budget is
//! refused as too large (413). Nothing waits for memory, so nothing queues without bound.
//!
//! What a request charges (see `crate::body`): its raw body bytes before they are read, then
//! an upper bound of what parsing them can allocate (computed from a scan of the bytes)
//! before parsing starts, then the bound of each payload or filter it turns into a JSON
//! value. A reservation is released when the request's ticket is dropped, which is after
//! both its response and every piece of blocking work it handed off have finished.
//! Memory the engine allocates inside a call (index updates, WAL buffers) is not counted
//! here: it is bounded by the batch limits and by the concurrency limit.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// Bytes per permit.
const UNIT: usize = 1024;

/// The shared budget (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct MemoryBudget {
    permits: Arc<Semaphore>,
    total_units: usize,
}

impl MemoryBudget {
    /// A budget of `bytes` (rounded up to whole KiB; at least 1 KiB).
    pub(crate) fn new(bytes: usize) -> Self {
        let total_units = bytes.div_ceil(UNIT).clamp(1, Semaphore::MAX_PERMITS);
        MemoryBudget {
            permits: Arc::new(Semaphore::new(total_units)),
            total_units,
        }
    }

    /// An empty reservation against this budget.
    pub(crate) fn reservation(&self) -> Reservation {
        Reservation {
            budget: self.clone(),
            held: None,
            charged: 0,
        }
    }

    /// Bytes reserved by requests right now.
    pub(crate) fn in_use_bytes(&self) -> usize {
        self.total_units
            .saturating_sub(self.permits.available_permits())
            .saturating_mul(UNIT)
    }

    /// The whole budget in bytes.
    pub(crate) fn total_bytes(&self) -> usize {
        self.total_units.saturating_mul(UNIT)
    }
}

/// Memory one request holds against the [`MemoryBudget`]; released on drop.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: MemoryBudget,
    held: Option<OwnedSemaphorePermit>,
    /// Bytes charged, exactly: permits are taken for whole KiB of this sum, so many small
    /// charges (a vector's buffer growing) cost what they add up to, not a KiB each.
    charged: usize,
}

impl Reservation {
    /// Bytes held (charged so far).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.charged
    }

    fn held_units(&self) -> usize {
        self.held
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }

    /// Reserves `bytes` more: 413 when this request would need more than the whole budget,
    /// 503 when what is left of it is too little right now.
    pub(crate) fn grow(&mut self, bytes: usize) -> Result<()> {
        let charged = self.charged.saturating_add(bytes);
        let held_units = self.held_units();
        let wanted = charged.div_ceil(UNIT);
        if wanted <= held_units {
            self.charged = charged;
            return Ok(());
        }
        let units = wanted - held_units;
        if wanted > self.budget.total_units {
            return Err(Error::TooLarge(format!(
                "this request needs about {} MiB of working memory, over the server's \
                 in-flight body budget of {} MiB",
                wanted.saturating_mul(UNIT) >> 20,
                self.budget.total_bytes() >> 20
            )));
        }
        // `wanted <= total_units <= Semaphore::MAX_PERMITS < u32::MAX` on every platform
        // we build for; a failed conversion is reported as over budget, never a panic.
        let Ok(n) = u32::try_from(units) else {
            return Err(Error::MemoryBudget {
                budget_bytes: self.budget.total_bytes(),
            });
        };
        let permit = self
            .budget
            .permits
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| Error::MemoryBudget {
                budget_bytes: self.budget.total_bytes(),
            })?;
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        self.charged = charged;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_one_budget_and_release_on_drop() {
        let budget = MemoryBudget::new(10 * UNIT);
        let mut a = budget.reservation();
        a.grow(6 * UNIT).unwrap();
        let mut b = budget.reservation();
        let err = b.grow(5 * UNIT).unwrap_err();
        assert_eq!(err.status().as_u16(), 503, "{err}");
        b.grow(4 * UNIT).unwrap();
        assert_eq!(budget.in_use_bytes(), 10 * UNIT);
        drop(a);
        assert_eq!(budget.in_use_bytes(), 4 * UNIT);
        drop(b);
        assert_eq!(budget.in_use_bytes(), 0);
    }

    #[test]
    fn a_request_larger_than_the_whole_budget_is_too_large() {
        let budget = MemoryBudget::new(10 * UNIT);
        let mut r = budget.reservation();
        r.grow(3 * UNIT).unwrap();
        let err = r.grow(8 * UNIT).unwrap_err();
        assert_eq!(err.status().as_u16(), 413, "{err}");
        assert_eq!(r.bytes(), 3 * UNIT, "a refused grow keeps what was held");
    }

    #[test]
    fn small_charges_add_up_to_their_bytes() {
        let budget = MemoryBudget::new(20 * UNIT);
        let mut r = budget.reservation();
        for _ in 0..1000 {
            r.grow(16).unwrap();
        }
        assert_eq!(r.bytes(), 16_000);
        assert_eq!(budget.in_use_bytes(), 16 * UNIT, "whole KiB of the sum");
    }
}
