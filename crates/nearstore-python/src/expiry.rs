//! Point expiry arguments: `upsert(..., ttl=, expires_at=)` and the expiry methods' values.
//!
//! `ttl` is seconds from the write (a non-negative number); `expires_at` is milliseconds
//! since the Unix epoch (a non-negative int) or an RFC 3339 / ISO 8601 datetime string. Each
//! is one value for every point or a list with one entry per point (`None`: no expiry).

use std::time::Duration;

use nearstore::Point;
use pyo3::prelude::*;
use pyo3::types::{PySequence, PyString};

use crate::{errors, json};

/// An expiry time from an int (epoch milliseconds) or a datetime string, by the engine's
/// one rule ([`nearstore::Expiry::at_from_json`]); `None` for Python's `None`.
pub(crate) fn at(py: Python<'_>, obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<u64>> {
    let value = json::to_json(obj, what)?;
    match nearstore::Expiry::at_from_json(&value) {
        Ok(expiry) => Ok(expiry.and_then(|e| match e {
            nearstore::Expiry::At(ms) => Some(ms),
            nearstore::Expiry::Ttl(_) => None,
        })),
        Err(e) => Err(errors::invalid(py, format!("{what}: {e}"))),
    }
}

/// A TTL in seconds (finite, >= 0).
pub(crate) fn ttl(py: Python<'_>, obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Duration> {
    let secs: f64 = obj
        .extract()
        .map_err(|_| errors::invalid(py, format!("{what} must be a number of seconds")))?;
    Duration::try_from_secs_f64(secs).map_err(|_| {
        errors::invalid(
            py,
            format!("{what} must be a finite, non-negative number of seconds, got {secs}"),
        )
    })
}

/// The per-point values of an argument: one for all, or a list of one per point.
fn per_point<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    n: usize,
    what: &str,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let is_list = !obj.is_instance_of::<PyString>() && obj.cast::<PySequence>().is_ok();
    if !is_list {
        return Ok(vec![obj.clone(); n]);
    }
    let list = obj.cast::<PySequence>()?;
    if list.len()? != n {
        return Err(errors::invalid(
            py,
            format!("{n} ids but {} {what} entries", list.len()?),
        ));
    }
    (0..n).map(|i| list.get_item(i)).collect()
}

/// Sets each point's expiry from `upsert`'s `ttl` / `expires_at` (not both).
pub(crate) fn apply(
    py: Python<'_>,
    points: Vec<Point>,
    ttl_arg: Option<&Bound<'_, PyAny>>,
    expires_at: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<Point>> {
    match (
        ttl_arg.filter(|t| !t.is_none()),
        expires_at.filter(|e| !e.is_none()),
    ) {
        (None, None) => Ok(points),
        (Some(_), Some(_)) => Err(errors::invalid(
            py,
            "upsert takes ttl or expires_at, not both",
        )),
        (Some(t), None) => each(py, points, t, "ttl", |p, v, what| {
            Ok(p.with_ttl(ttl(py, v, what)?))
        }),
        (None, Some(e)) => each(py, points, e, "expires_at", |p, v, what| {
            Ok(match at(py, v, what)? {
                Some(ms) => p.with_expires_at(ms),
                None => p,
            })
        }),
    }
}

/// Applies `set` to each point with its value of `arg` (one for all or one per point; a
/// `None` value leaves the point as it is).
fn each<'py>(
    py: Python<'py>,
    points: Vec<Point>,
    arg: &Bound<'py, PyAny>,
    name: &str,
    set: impl Fn(Point, &Bound<'py, PyAny>, &str) -> PyResult<Point>,
) -> PyResult<Vec<Point>> {
    let values = per_point(py, arg, points.len(), name)?;
    points
        .into_iter()
        .zip(values)
        .enumerate()
        .map(|(i, (p, v))| match v.is_none() {
            true => Ok(p),
            false => set(p, &v, &format!("{name}[{i}]")),
        })
        .collect()
}
