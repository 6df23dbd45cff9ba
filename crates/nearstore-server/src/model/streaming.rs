//! Streaming ingest bodies: the settings that turn it on, the queue's state, and the
//! answer of a streamed batch. The NDJSON lines of `points/stream` are
//! [`PointRow`](crate::model::points::PointRow)s, the native upsert's point shape.

use std::time::Duration;

use nearstore::{StreamingConfig, StreamingStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// `PUT /v1/collections/{name}/streaming` body (every field optional; an empty body takes
/// the engine's defaults: 10,000 points, batches of 1,000, 50 ms).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamingSettings {
    /// The queue's capacity in points: a streamed batch that does not fit whole is
    /// refused with 429 and a `Retry-After` header.
    pub(crate) buffer_size: Option<usize>,
    /// The most points applied at once by the background drain.
    pub(crate) batch_size: Option<usize>,
    /// The longest a queued point waits to be applied, in milliseconds.
    pub(crate) flush_interval_ms: Option<u64>,
}

impl StreamingSettings {
    /// The engine's settings (its defaults for what is not given; zero sizes are the
    /// engine's 400).
    pub(crate) fn into_config(self) -> Result<StreamingConfig> {
        let defaults = StreamingConfig::default();
        let flush_interval = match self.flush_interval_ms {
            None => defaults.flush_interval,
            Some(0) => {
                return Err(Error::validation(
                    "flush_interval_ms must be at least 1".to_string(),
                ));
            }
            Some(ms) => Duration::from_millis(ms),
        };
        Ok(StreamingConfig {
            buffer_size: self.buffer_size.unwrap_or(defaults.buffer_size),
            batch_size: self.batch_size.unwrap_or(defaults.batch_size),
            flush_interval,
        })
    }
}

/// A collection's streaming ingest: off, or on with its queue and settings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StreamingState {
    /// Whether streaming ingest is on (it is not persisted: off after a restart).
    pub(crate) enabled: bool,
    /// Points accepted and not yet applied (visible once applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) queued: Option<usize>,
    /// The queue's capacity (`buffer_size`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) buffer_size: Option<usize>,
    /// Points applied at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) batch_size: Option<usize>,
    /// The drain's interval in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) flush_interval_ms: Option<u64>,
    /// Whether the drain is paused (the engine's `set_streaming_paused`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) paused: Option<bool>,
}

impl StreamingState {
    pub(crate) fn of(status: Option<StreamingStatus>) -> Self {
        match status {
            None => StreamingState {
                enabled: false,
                queued: None,
                buffer_size: None,
                batch_size: None,
                flush_interval_ms: None,
                paused: None,
            },
            Some(s) => StreamingState {
                enabled: true,
                queued: Some(s.queued),
                buffer_size: Some(s.capacity),
                batch_size: Some(s.config.batch_size),
                flush_interval_ms: Some(
                    u64::try_from(s.config.flush_interval.as_millis()).unwrap_or(u64::MAX),
                ),
                paused: Some(s.paused),
            },
        }
    }
}

/// `POST /v1/collections/{name}/points/stream` answer: the batch was logged and queued
/// whole (visible once the drain applies it, or at the next flush).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Streamed {
    /// Points accepted.
    pub(crate) queued: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_take_the_engine_defaults_for_what_is_missing() {
        let config = StreamingSettings::default().into_config().unwrap();
        assert_eq!(config, StreamingConfig::default());
        let config = StreamingSettings {
            buffer_size: Some(3),
            batch_size: None,
            flush_interval_ms: Some(7),
        }
        .into_config()
        .unwrap();
        assert_eq!(config.buffer_size, 3);
        assert_eq!(config.flush_interval, Duration::from_millis(7));
        let zero = StreamingSettings {
            flush_interval_ms: Some(0),
            ..StreamingSettings::default()
        };
        assert_eq!(zero.into_config().unwrap_err().status().as_u16(), 422);
    }
}
