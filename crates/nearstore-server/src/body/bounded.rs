//! [`Bounded`]: a list in a typed body that stops parsing the moment it passes its limit,
//! so an oversized batch is refused (413) having cost one element more than the limit,
//! not the whole batch; and that reserves its buffer from the request's memory budget
//! before each time it grows (its element size times the added capacity), so a parse
//! stops at the budget too (503, or 413 past the whole budget) instead of after it.
//!
//! The limits are the server's configuration, known only at run time, and serde's derived
//! `Deserialize` has no way to hand run-time context to a nested field (short of writing
//! every body's `DeserializeSeed` by hand). So [`parse`] puts the limits in a thread-local
//! for the length of one synchronous `serde_json::from_slice` call and takes them out
//! again (a guard restores the previous value, also on unwinding); outside `parse` a
//! `Bounded` list falls back to [`ParseLimits::default`]'s built-in ceilings. When a list
//! stops, the thread-local also records which limit it was, so the caller answers 413
//! (batch) or 400 (vector longer than the largest dimension) instead of serde's generic
//! message.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::mem::size_of;

use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::body::shape::ALLOC_OVERHEAD;
use crate::config::Limits;
use crate::error::{Error, Result};
use crate::limits::ticket;

/// The limits lists are parsed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParseLimits {
    /// Points in one upsert, ids in one get or delete.
    pub(crate) batch_points: usize,
    /// Searches in one batch.
    pub(crate) batch_queries: usize,
    /// Components of one vector.
    pub(crate) dimension: usize,
}

impl ParseLimits {
    pub(crate) fn from_limits(l: &Limits) -> Self {
        ParseLimits {
            batch_points: l.max_batch_points,
            batch_queries: l.max_batch_queries,
            dimension: l.max_dimension,
        }
    }
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits::from_limits(&Limits::default())
    }
}

/// Which limit a list is held to.
pub(crate) trait ListLimit {
    /// What the list holds, for messages (`"points"`).
    const WHAT: &'static str;
    /// The limit out of the parse limits.
    fn limit(l: &ParseLimits) -> usize;
    /// Whether passing it is a size limit (413) or an invalid argument (400).
    const TOO_LARGE: bool = true;
}

/// Points in one upsert.
#[derive(Debug)]
pub(crate) enum PointsLimit {}
impl ListLimit for PointsLimit {
    const WHAT: &'static str = "points";
    fn limit(l: &ParseLimits) -> usize {
        l.batch_points
    }
}

/// Ids in one get or delete.
#[derive(Debug)]
pub(crate) enum IdsLimit {}
impl ListLimit for IdsLimit {
    const WHAT: &'static str = "ids";
    fn limit(l: &ParseLimits) -> usize {
        l.batch_points
    }
}

/// Searches in one batch.
#[derive(Debug)]
pub(crate) enum QueriesLimit {}
impl ListLimit for QueriesLimit {
    const WHAT: &'static str = "queries";
    fn limit(l: &ParseLimits) -> usize {
        l.batch_queries
    }
}

/// Components of one vector.
#[derive(Debug)]
pub(crate) enum DimensionLimit {}
impl ListLimit for DimensionLimit {
    const WHAT: &'static str = "vector components";
    fn limit(l: &ParseLimits) -> usize {
        l.dimension
    }
    const TOO_LARGE: bool = false;
}

/// A list that passed its limit while being parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Overflow {
    what: &'static str,
    limit: usize,
    too_large: bool,
}

thread_local! {
    static LIMITS: Cell<Option<ParseLimits>> = const { Cell::new(None) };
    static OVERFLOW: Cell<Option<Overflow>> = const { Cell::new(None) };
    /// The memory budget's refusal that stopped the parse.
    static OUT_OF_BUDGET: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// Restores the previous limits on drop.
struct Scope {
    previous: Option<ParseLimits>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        LIMITS.with(|l| l.set(self.previous));
    }
}

/// Parses `bytes` as `T` with its [`Bounded`] lists held to `limits`. Errors: 413 for a
/// batch over its limit, 400 for a vector over the largest dimension or bad JSON.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8], limits: ParseLimits) -> Result<T> {
    let _scope = Scope {
        previous: LIMITS.with(|l| l.replace(Some(limits))),
    };
    OVERFLOW.with(|o| o.set(None));
    OUT_OF_BUDGET.with(|b| b.borrow_mut().take());
    let parsed = serde_json::from_slice(bytes);
    let overflow = OVERFLOW.with(Cell::take);
    if let (Err(_), Some(refused)) = (&parsed, OUT_OF_BUDGET.with(|b| b.borrow_mut().take())) {
        return Err(refused);
    }
    parsed.map_err(|e| match overflow {
        Some(o) if o.too_large => Error::TooLarge(format!(
            "more than {} {} in one request, the server's limit is {}",
            o.limit, o.what, o.limit
        )),
        Some(o) => Error::bad_request(format!(
            "more than {} {}: the server's largest dimension is {}",
            o.limit, o.what, o.limit
        )),
        None => Error::bad_request(format!("invalid JSON body: {e}")),
    })
}

/// A list held to limit `L` while it is parsed (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct Bounded<T, L> {
    pub(crate) items: Vec<T>,
    #[serde(skip)]
    limit: PhantomData<L>,
}

impl<T, L> Bounded<T, L> {
    pub(crate) fn into_vec(self) -> Vec<T> {
        self.items
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

impl<T, L> Default for Bounded<T, L> {
    fn default() -> Self {
        Bounded {
            items: Vec::new(),
            limit: PhantomData,
        }
    }
}

impl<T, L> From<Vec<T>> for Bounded<T, L> {
    fn from(items: Vec<T>) -> Self {
        Bounded {
            items,
            limit: PhantomData,
        }
    }
}

struct BoundedVisitor<T, L>(PhantomData<(T, L)>);

impl<'de, T: Deserialize<'de>, L: ListLimit> Visitor<'de> for BoundedVisitor<T, L> {
    type Value = Bounded<T, L>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of {}", L::WHAT)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let limit = L::limit(&LIMITS.with(Cell::get).unwrap_or_default());
        let ticket = ticket::current();
        let mut items: Vec<T> = Vec::new();
        while let Some(item) = seq.next_element()? {
            if items.len() == limit {
                OVERFLOW.with(|o| {
                    o.set(Some(Overflow {
                        what: L::WHAT,
                        limit,
                        too_large: L::TOO_LARGE,
                    }));
                });
                return Err(de::Error::custom(format_args!(
                    "more than {limit} {}",
                    L::WHAT
                )));
            }
            if items.len() == items.capacity() {
                // Grow by doubling, reserving the added bytes first.
                let old = items.capacity();
                // `old < limit` here (the length check above), so `new > old`.
                let new = old.saturating_mul(2).max(4).min(limit);
                let added = new.saturating_sub(old).saturating_mul(size_of::<T>())
                    + if old == 0 { ALLOC_OVERHEAD } else { 0 };
                if let Some(Err(refused)) = ticket.as_ref().map(|t| t.reserve(added)) {
                    let message = refused.to_string();
                    OUT_OF_BUDGET.with(|b| *b.borrow_mut() = Some(refused));
                    return Err(de::Error::custom(message));
                }
                items.reserve_exact(new.saturating_sub(old));
            }
            items.push(item);
        }
        Ok(items.into())
    }
}

impl<'de, T: Deserialize<'de>, L: ListLimit> Deserialize<'de> for Bounded<T, L> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(BoundedVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(n: usize) -> ParseLimits {
        ParseLimits {
            batch_points: n,
            batch_queries: n,
            dimension: n,
        }
    }

    #[test]
    fn a_list_over_its_limit_stops_the_parse_with_413() {
        let err = parse::<Bounded<u64, IdsLimit>>(b"[1,2,3,4]", limits(3)).unwrap_err();
        assert_eq!(err.status().as_u16(), 413, "{err}");
        assert!(err.to_string().contains("more than 3 ids"), "{err}");
        let ok = parse::<Bounded<u64, IdsLimit>>(b"[1,2,3]", limits(3)).unwrap();
        assert_eq!(ok.into_vec(), vec![1, 2, 3]);
    }

    #[test]
    fn the_parse_stops_before_reading_past_the_limit() {
        // Garbage after the limit is never reached: the error is the limit, not syntax.
        let err = parse::<Bounded<u64, IdsLimit>>(b"[1,2,3,4,5,oops", limits(3)).unwrap_err();
        assert_eq!(err.status().as_u16(), 413, "{err}");
    }

    #[test]
    fn a_vector_over_the_dimension_limit_is_400() {
        let err = parse::<Bounded<f32, DimensionLimit>>(b"[1,2,3]", limits(2)).unwrap_err();
        assert_eq!(err.status().as_u16(), 400, "{err}");
        assert!(err.to_string().contains("largest dimension is 2"), "{err}");
    }

    #[test]
    fn bad_json_keeps_serdes_message() {
        let err = parse::<Bounded<u64, IdsLimit>>(b"[1,", limits(3)).unwrap_err();
        assert!(err.to_string().starts_with("invalid JSON body"), "{err}");
    }
}
