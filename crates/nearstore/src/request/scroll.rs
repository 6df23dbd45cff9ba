//! [`ScrollRequest`]: reading the points that match a filter page by page, in id order or
//! ordered by a payload field, with a stable cursor.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::deadline::Deadline;
use nearstore_filter::Filter;

/// Largest page a scroll returns.
pub const MAX_SCROLL_LIMIT: usize = 10_000;

/// Which way an ordered scroll runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Smallest value first.
    #[default]
    Asc,
    /// Largest value first.
    Desc,
}

/// Order a scroll by the value of a payload field.
///
/// Values compare by [`nearstore_filter::total_cmp`]; a field holding an array is placed
/// by its smallest element ascending and its largest descending; points without the field
/// (or with `null` or `[]`) are left out. Ties are broken by ascending id, so the order is
/// total and a cursor is stable under concurrent writes to other points.
///
/// On a field with a [`FieldIndexKind::Datetime`](crate::FieldIndexKind::Datetime) payload
/// index the order is by time (Qdrant's ordered scroll over a datetime index): a point sorts
/// by its earliest instant ascending (latest descending), strings that are not datetimes
/// and other values are left out, `start_from` is a datetime string (any form
/// [`crate::Datetime::parse`] reads) or integer microseconds since the epoch, and a page's
/// [`ScrollCursor::Ordered`] value is the instant as integer microseconds. Such a scroll
/// walks the index in time order (a page reads its own entries, not every payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderBy {
    /// The dotted payload path.
    pub field: String,
    /// Ascending or descending.
    #[serde(default)]
    pub direction: Direction,
    /// Start at this value (inclusive: ascending, values `>=` it; descending, `<=` it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_from: Option<Value>,
}

impl OrderBy {
    /// Ascending by `field`.
    pub fn asc(field: &str) -> Self {
        OrderBy {
            field: field.to_owned(),
            direction: Direction::Asc,
            start_from: None,
        }
    }

    /// Descending by `field`.
    pub fn desc(field: &str) -> Self {
        OrderBy {
            direction: Direction::Desc,
            ..OrderBy::asc(field)
        }
    }

    /// Starts at `value` (inclusive).
    pub fn start_from(mut self, value: Value) -> Self {
        self.start_from = Some(value);
        self
    }
}

/// Where a scroll page starts (inclusive): the first point of the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ScrollCursor {
    /// In id order: the first id of the page.
    Id(u64),
    /// Ordered by a field: the first point's sort value and id.
    Ordered {
        /// Its sort value.
        value: Value,
        /// Its id.
        id: u64,
    },
}

/// A scroll: the points matching a filter, a page at a time.
///
/// ```
/// # use nearstore::{Filter, OrderBy, ScrollRequest};
/// # use serde_json::json;
/// let first = ScrollRequest::new()
///     .filter(Filter::eq("lang", json!("en")))
///     .order_by(OrderBy::desc("price"))
///     .limit(100)
///     .with_vector(false);
/// # let _ = first;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ScrollRequest {
    /// Only points matching this (default: every point).
    pub filter: Option<Filter>,
    /// Where to start (default: the beginning); pass the previous page's `next`.
    pub cursor: Option<ScrollCursor>,
    /// Page size, `1..=`[`MAX_SCROLL_LIMIT`] (default 10). [`crate::VectorCollection::scan`]
    /// ignores it and returns every matching point.
    pub limit: usize,
    /// Whether points carry payloads (default true).
    pub with_payload: bool,
    /// Whether points carry vectors (default true).
    pub with_vector: bool,
    /// Order by a payload field instead of by id.
    pub order_by: Option<OrderBy>,
    /// When to stop working ([`crate::ErrorKind::Cancelled`] after it).
    pub deadline: Option<Deadline>,
}

impl Default for ScrollRequest {
    fn default() -> Self {
        ScrollRequest::new()
    }
}

impl ScrollRequest {
    /// Every point in id order, 10 per page, with payloads and vectors.
    pub fn new() -> Self {
        ScrollRequest {
            filter: None,
            cursor: None,
            limit: 10,
            with_payload: true,
            with_vector: true,
            order_by: None,
            deadline: None,
        }
    }

    /// Only points matching `filter`.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Only points matching `filter`, when there is one.
    pub fn filter_opt(mut self, filter: Option<Filter>) -> Self {
        self.filter = filter;
        self
    }

    /// Starts at `cursor` (inclusive).
    pub fn cursor(mut self, cursor: ScrollCursor) -> Self {
        self.cursor = Some(cursor);
        self
    }

    /// Starts at `id` (inclusive) in id order.
    pub fn from_id(self, id: u64) -> Self {
        self.cursor(ScrollCursor::Id(id))
    }

    /// The page size.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Whether points carry payloads.
    pub fn with_payload(mut self, yes: bool) -> Self {
        self.with_payload = yes;
        self
    }

    /// Whether points carry vectors.
    pub fn with_vector(mut self, yes: bool) -> Self {
        self.with_vector = yes;
        self
    }

    /// Only ids: no payloads, no vectors (nothing but liveness is read).
    pub fn ids_only(self) -> Self {
        self.with_payload(false).with_vector(false)
    }

    /// Orders by a payload field.
    pub fn order_by(mut self, order: OrderBy) -> Self {
        self.order_by = Some(order);
        self
    }

    /// Stops at `deadline`.
    pub fn deadline(mut self, deadline: Deadline) -> Self {
        self.deadline = Some(deadline);
        self
    }
}
