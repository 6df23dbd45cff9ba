//! Streaming ingest on `Collection`: `enable_streaming`, `stream_insert`,
//! `stream_insert_batch`, `streaming_status`, `set_streaming_paused`, `disable_streaming`,
//! each one engine call with the GIL released (a second `#[pymethods]` block of
//! `PyCollection`, through PyO3's `multiple-pymethods`). A full queue raises
//! `nearstore.Overloaded` with the engine's `retry_after` in seconds.

use std::time::Duration;

use nearstore::{StreamingConfig, StreamingStatus};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::arguments::points_from;
use crate::collection::PyCollection;
use crate::errors;
use crate::expiry;

/// The engine's settings from the keyword arguments (its defaults for what is missing).
pub(crate) fn config(
    py: Python<'_>,
    buffer_size: Option<usize>,
    batch_size: Option<usize>,
    flush_interval: Option<f64>,
) -> PyResult<StreamingConfig> {
    let defaults = StreamingConfig::default();
    let flush_interval = match flush_interval {
        None => defaults.flush_interval,
        Some(secs) if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 => {
            Duration::from_secs_f64(secs)
        }
        Some(secs) => {
            return Err(errors::invalid(
                py,
                format!(
                    "flush_interval must be between 0 and 86400 seconds (exclusive of 0), got {secs}"
                ),
            ));
        }
    };
    Ok(StreamingConfig {
        buffer_size: buffer_size.unwrap_or(defaults.buffer_size),
        batch_size: batch_size.unwrap_or(defaults.batch_size),
        flush_interval,
    })
}

/// `streaming_status()`'s dict.
fn status_dict<'py>(py: Python<'py>, s: StreamingStatus) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("queued", s.queued)?;
    d.set_item("buffer_size", s.capacity)?;
    d.set_item("batch_size", s.config.batch_size)?;
    d.set_item("flush_interval", s.config.flush_interval.as_secs_f64())?;
    d.set_item("paused", s.paused)?;
    Ok(d)
}

#[pymethods]
impl PyCollection {
    /// enable_streaming(buffer_size=10000, batch_size=1000, flush_interval=0.05) -> None
    ///
    /// Turns on streaming ingest: ``stream_insert`` / ``stream_insert_batch`` validate and
    /// log points (durable per the collection's durability, like any write) and queue them;
    /// a background thread applies the queue in batches of ``batch_size``, at the latest
    /// ``flush_interval`` seconds after a point was queued. A queued point is visible to
    /// reads once applied (``flush()`` applies the queue first). A write that does not fit
    /// the queue of ``buffer_size`` points whole raises ``Overloaded`` at once. Enabling
    /// again applies the queue and restarts with the new settings. Not persisted: enable
    /// again after reopening.
    #[pyo3(signature = (buffer_size = None, batch_size = None, flush_interval = None))]
    fn enable_streaming(
        &self,
        py: Python<'_>,
        buffer_size: Option<usize>,
        batch_size: Option<usize>,
        flush_interval: Option<f64>,
    ) -> PyResult<()> {
        let config = config(py, buffer_size, batch_size, flush_interval)?;
        self.call(py, |c| c.enable_streaming(config))
    }

    /// disable_streaming() -> None
    ///
    /// Stops the background thread after applying every queued point; streamed writes
    /// raise ``Conflict`` after. Does nothing when streaming is off.
    fn disable_streaming(&self, py: Python<'_>) -> PyResult<()> {
        self.call(py, |c| c.disable_streaming())
    }

    /// stream_insert(id, vector=None, payload=None, *, ttl=None, expires_at=None) -> None
    ///
    /// Streams one point (the arguments of ``upsert`` for a single point). Raises
    /// ``Overloaded`` (with ``retry_after`` in seconds) when the queue is full: nothing was
    /// written; ``Conflict`` when streaming is off.
    #[pyo3(signature = (id, vector = None, payload = None, *, ttl = None, expires_at = None))]
    fn stream_insert(
        &self,
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        vector: Option<&Bound<'_, PyAny>>,
        payload: Option<&Bound<'_, PyAny>>,
        ttl: Option<&Bound<'_, PyAny>>,
        expires_at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let ids = PyList::new(py, [id])?;
        let vectors = vector
            .filter(|v| !v.is_none())
            .map(|v| PyList::new(py, [v]))
            .transpose()?;
        let payloads = payload
            .filter(|p| !p.is_none())
            .map(|p| PyList::new(py, [p]))
            .transpose()?;
        let points = points_from(
            py,
            ids.as_any(),
            vectors.as_ref().map(|v| v.as_any()),
            payloads.as_ref().map(|p| p.as_any()),
            None,
        )?;
        let points = expiry::apply(py, points, ttl, expires_at)?;
        self.call(py, |c| c.stream_insert_batch(points))
    }

    /// stream_insert_batch(ids, vectors=None, payloads=None, sparse=None, *, ttl=None, expires_at=None) -> None
    ///
    /// Streams a batch (``upsert``'s arguments) as one logged write: queued whole, or
    /// ``Overloaded`` with nothing written when it does not fit the queue now (a batch
    /// larger than ``buffer_size`` never fits: ``InvalidArgument``).
    #[pyo3(signature = (ids, vectors = None, payloads = None, sparse = None, *, ttl = None, expires_at = None))]
    #[allow(clippy::too_many_arguments)]
    fn stream_insert_batch(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        vectors: Option<&Bound<'_, PyAny>>,
        payloads: Option<&Bound<'_, PyAny>>,
        sparse: Option<&Bound<'_, PyAny>>,
        ttl: Option<&Bound<'_, PyAny>>,
        expires_at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let points = points_from(py, ids, vectors, payloads, sparse)?;
        let points = expiry::apply(py, points, ttl, expires_at)?;
        self.call(py, |c| c.stream_insert_batch(points))
    }

    /// streaming_status() -> dict | None
    ///
    /// ``None`` when streaming is off, else ``{"queued", "buffer_size", "batch_size",
    /// "flush_interval", "paused"}`` (``queued``: points accepted and not yet applied).
    fn streaming_status<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        match self.call(py, |c| Ok(c.streaming_status()))? {
            Some(s) => Ok(Some(status_dict(py, s)?)),
            None => Ok(None),
        }
    }

    /// set_streaming_paused(paused) -> None
    ///
    /// Pauses or resumes the background thread (queued points then wait until resumed, or
    /// until a flush or another write applies them); ``Conflict`` when streaming is off.
    fn set_streaming_paused(&self, py: Python<'_>, paused: bool) -> PyResult<()> {
        self.call(py, |c| c.set_streaming_paused(paused))
    }
}
