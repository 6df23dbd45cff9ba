//! Scrolls ordered by a datetime-indexed field: the index is walked in time order a batch
//! at a time (`PayloadIndexes::datetime_entries`) under the scroll's id set, so a page costs
//! its own entries, not a read and sort of every payload. A point with several instants is
//! listed under each; it is kept only under its sort key (its earliest instant ascending,
//! its latest descending), checked on its payload, as `time_key` defines it.

use serde_json::Value;

use super::Collection;
use super::read::{DEADLINE_STRIDE, IdPage};
use crate::error::{Error, Result};
use crate::request::{Deadline, ScrollCursor, check_deadline};
use nearstore_filter::{Datetime, elements, field_values};
use roaring::RoaringTreemap;

impl Collection {
    /// One page of `set` ordered by the datetime-indexed `field`, from the later (in walk
    /// order) of `bounds` (`start_from` as `(micros, 0)`, the cursor as `(micros, id)`).
    pub(super) fn time_ordered_ids(
        &self,
        set: &RoaringTreemap,
        field: &str,
        desc: bool,
        bounds: [Option<(Option<i64>, u64)>; 2],
        limit: Option<usize>,
        deadline: Option<&Deadline>,
    ) -> Result<IdPage> {
        let walk_key =
            |(k, id): (i64, u64)| (if desc { -i128::from(k) } else { i128::from(k) }, id);
        let mut from: Option<(i64, u64)> = None;
        for (key, id) in bounds.into_iter().flatten() {
            // `instant_key` made every bound an integer number of microseconds.
            let Some(key) = key else { continue };
            from = Some(match from {
                Some(f) if walk_key(f) >= walk_key((key, id)) => f,
                _ => (key, id),
            });
        }
        let want = limit.map(|n| n.saturating_add(1));
        let mut out: Vec<(i64, u64)> = Vec::new();
        'walk: loop {
            check_deadline(deadline, "ordered scroll")?;
            let batch = {
                let st = self.state.read();
                st.fields
                    .datetime_entries(field, desc, from, set, DEADLINE_STRIDE)
            };
            let Some(batch) = batch else {
                return Err(Error::InvalidArgument(format!(
                    "the datetime index on {field} was dropped while a scroll read it: scroll again"
                )));
            };
            for e in &batch {
                if e.several {
                    let payload = self.current_payload(e.id)?;
                    if time_key(payload.as_deref(), field, desc) != Some(Value::from(e.micros)) {
                        continue;
                    }
                }
                out.push((e.micros, e.id));
                if want.is_some_and(|n| out.len() >= n) {
                    break 'walk;
                }
            }
            let (Some(last), true) = (batch.last(), batch.len() == DEADLINE_STRIDE) else {
                break;
            };
            from = match (last.id.checked_add(1), desc) {
                (Some(id), _) => Some((last.micros, id)),
                (None, false) => last.micros.checked_add(1).map(|k| (k, 0)),
                (None, true) => last.micros.checked_sub(1).map(|k| (k, 0)),
            };
            if from.is_none() {
                break;
            }
        }
        let next = match limit {
            Some(n) if out.len() > n => out.pop().map(|(micros, id)| ScrollCursor::Ordered {
                value: Value::from(micros),
                id,
            }),
            _ => None,
        };
        let (keys, ids) = out
            .into_iter()
            .map(|(micros, id)| (Value::from(micros), id))
            .unzip();
        Ok(IdPage { ids, keys, next })
    }
}

/// Where a payload sorts by a datetime-indexed `field`: the earliest instant the path
/// reaches (latest when descending) as microseconds since the epoch, strings that are not
/// datetimes skipped; `None` without one.
pub(super) fn time_key(payload: Option<&Value>, field: &str, desc: bool) -> Option<Value> {
    let instants = field_values(payload?, field)
        .into_iter()
        .flat_map(elements)
        .filter_map(Datetime::of_value)
        .map(Datetime::micros);
    let pick = if desc { instants.max() } else { instants.min() };
    pick.map(Value::from)
}

/// An ordered scroll's `start_from` on a datetime-indexed field: a datetime string, or the
/// microseconds since the epoch a page's cursor carries.
pub(super) fn instant_key(start: &Value) -> Result<Value> {
    let micros = match start {
        Value::String(s) => Datetime::parse(s).map(Datetime::micros),
        Value::Number(n) => n
            .as_i64()
            .and_then(Datetime::from_micros)
            .map(Datetime::micros),
        _ => None,
    };
    micros.map(Value::from).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "start_from on a datetime-indexed field must be an RFC 3339 / ISO 8601 datetime \
             or integer microseconds since the epoch, got {start}"
        ))
    })
}
