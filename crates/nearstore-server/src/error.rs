//! The server's one [`Error`] type and the one table mapping errors to HTTP statuses.
//!
//! Every failure leaves the server as `{"status": {"error": "<message>"}, "time": 0.0}`
//! (Qdrant's error envelope, used by the native API too) with the status from
//! [`Error::status`]:
//!
//! | error | status |
//! |---|---|
//! | engine `InvalidArgument`, bad JSON, wrong content type, unsupported feature | 400 |
//! | missing or unknown API key | 401 |
//! | read-only key on a write route | 403 |
//! | engine `NotFound`, unknown route or point | 404 |
//! | known route, other method | 405 |
//! | engine `Cancelled`, request timeout (the body's `write` field says whether a write was applied) | 408 |
//! | engine `AlreadyExists`, engine `Conflict` | 409 |
//! | body or batch over a limit, engine payload-too-large | 413 |
//! | engine `Overloaded` (a full streaming queue), with a `Retry-After` header in whole seconds (at least 1) | 429 |
//! | engine `Corruption`, `Io`, `Internal` | 500 |
//! | not implemented yet | 501 |
//! | overloaded (load shedding), memory budget of bodies in flight used up, shutting down | 503 |
//! | engine `ResourceExhausted` other than payload size (disk full) | 507 |

use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nearstore::ErrorKind;
use serde_json::json;

use crate::limits::ticket::{self, WorkEnd, WriteOutcome};

/// Result alias for the server.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while serving a request (or starting the server).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An engine error; its status follows its [`ErrorKind`].
    #[error(transparent)]
    Engine(#[from] nearstore::Error),
    /// A malformed request: bad JSON, wrong content type, a bad parameter.
    #[error("{0}")]
    BadRequest(String),
    /// A request that parses but breaks a rule on a value (a count below 1, a name too
    /// long): 422, as Qdrant answers its validation errors.
    #[error("Validation error: {0}")]
    Validation(String),
    /// A feature this server does not offer (for example parts of Qdrant's API).
    #[error("{0} is not supported by NearStore")]
    NotSupported(String),
    /// An unknown route, collection or point.
    #[error("{0}")]
    NotFound(String),
    /// A known route called with a method it does not serve.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A body or batch over a configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// A state conflict found by the server (for example two UUIDs mapping to one id).
    #[error("{0}")]
    Conflict(String),
    /// No API key, or an unknown one.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A read-only API key on a write route.
    #[error("this API key is read-only; {method} {route} needs a read-write key")]
    Forbidden {
        /// The request method.
        method: String,
        /// The route pattern.
        route: String,
    },
    /// Every request slot is busy: the request was shed.
    #[error("server overloaded: {limit} requests in flight; retry later")]
    Overloaded {
        /// The concurrency limit.
        limit: usize,
    },
    /// The server is shutting down.
    #[error("server is shutting down")]
    ShuttingDown,
    /// The request took longer than the configured timeout.
    #[error("request timed out after {after:?}{}", timeout_write_note(write.as_ref()))]
    Timeout {
        /// The configured timeout.
        after: Duration,
        /// For a write route: whether its write was applied (`None` for reads).
        write: Option<WriteOutcome>,
    },
    /// The bodies of the requests in flight already hold the server's memory budget.
    #[error(
        "server busy: request bodies in flight hold the memory budget of {} MiB; retry later",
        budget_bytes >> 20
    )]
    MemoryBudget {
        /// The budget.
        budget_bytes: usize,
    },
    /// A route reserved for a feature that is not built yet.
    #[error("{0} is not implemented yet")]
    NotImplemented(&'static str),
    /// Binding or serving failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A bug or a panicked task.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The HTTP status of this error: the one mapping table of the server.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Engine(e) => engine_status(e),
            Error::BadRequest(_) | Error::NotSupported(_) => StatusCode::BAD_REQUEST,
            Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden { .. } => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Timeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Error::Overloaded { .. } | Error::MemoryBudget { .. } | Error::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Error::Io { .. } | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON error body: `{"status": {"error": message}, "time": 0.0}`, plus `"write"`
    /// (`not_applied`, `applied`, `failed`) on a write route's timeout.
    pub(crate) fn body(&self) -> serde_json::Value {
        let mut body = error_body(&self.to_string());
        if let (Error::Timeout { write: Some(w), .. }, Some(map)) = (self, body.as_object_mut()) {
            map.insert("write".into(), json!(w.name()));
        }
        body
    }

    /// True for the engine's answer to a request past its deadline (`Cancelled`,
    /// `WriteCancelled`: nothing was written).
    fn is_engine_cancel(&self) -> bool {
        matches!(self, Error::Engine(e) if e.kind() == ErrorKind::Cancelled)
    }

    /// The delay a 429 tells the client to wait (the engine's hint for a full streaming
    /// queue).
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Engine(nearstore::Error::Overloaded { retry_after, .. }) => Some(*retry_after),
            _ => None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Error::BadRequest(message.into())
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Error::Validation(message.into())
    }

    pub(crate) fn not_supported(what: impl Into<String>) -> Self {
        Error::NotSupported(what.into())
    }
}

/// A `Retry-After` value: whole seconds, rounded up, at least 1 (HTTP has no finer unit).
fn retry_after_seconds(after: Duration) -> axum::http::HeaderValue {
    let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
    axum::http::HeaderValue::from(secs.max(1))
}

/// The JSON error body.
pub(crate) fn error_body(message: &str) -> serde_json::Value {
    json!({"status": {"error": message}, "time": 0.0})
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(self.body())).into_response();
        if let Error::Unauthorized(_) = self {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if let Some(after) = self.retry_after() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after_seconds(after));
        }
        response
    }
}

/// The status of an engine error: by its [`ErrorKind`], except a payload over the
/// collection's limit, which is 413 like every other size limit.
fn engine_status(e: &nearstore::Error) -> StatusCode {
    if let nearstore::Error::PayloadTooLarge { .. } = e {
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    match e.kind() {
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists | ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::ResourceExhausted => StatusCode::INSUFFICIENT_STORAGE,
        ErrorKind::Cancelled => StatusCode::REQUEST_TIMEOUT,
        ErrorKind::Overloaded => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Corruption | ErrorKind::Io | ErrorKind::Internal => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        // `ErrorKind` is `#[non_exhaustive]`, so the compiler insists on this arm even
        // though every kind is named above; a kind added later lands here. Removing
        // `#[non_exhaustive]` from `ErrorKind` (the engine's call) would make a new kind a
        // compile error in this match instead.
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn timeout_write_note(write: Option<&WriteOutcome>) -> String {
    match write {
        None => String::new(),
        Some(WriteOutcome::NotApplied) => "; the write was not applied".into(),
        Some(WriteOutcome::Applied) => {
            "; the write reached the engine before the deadline and was applied in full".into()
        }
        Some(WriteOutcome::Failed(message)) => {
            format!("; the write reached the engine and failed: {message}")
        }
    }
}

/// Runs blocking engine work on the blocking pool. The closure holds the current request's
/// ticket (see [`crate::limits::ticket`]), so the request's slot and memory stay taken
/// until the work ends, and a write's outcome is known after a timeout.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let ticket = ticket::current();
    if let Some(t) = &ticket {
        t.work_started();
    }
    tokio::task::spawn_blocking(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        let Some(t) = &ticket else {
            return result.unwrap_or_else(|_| Err(Error::Internal("engine task panicked".into())));
        };
        let end = match &result {
            Ok(Ok(_)) => WorkEnd::Done,
            Ok(Err(e)) if e.is_engine_cancel() => WorkEnd::Cancelled,
            Ok(Err(e)) => WorkEnd::Failed(e.to_string()),
            Err(_) => WorkEnd::Failed("the engine task panicked".to_string()),
        };
        t.work_finished(end);
        match result {
            // The engine stopped at the request's deadline: the same 408 as the timeout
            // middleware's, saying a write was not applied (the engine wrote nothing).
            Ok(Err(e)) if e.is_engine_cancel() => Err(Error::Timeout {
                after: t.timeout(),
                write: t.writes().then_some(WriteOutcome::NotApplied),
            }),
            Ok(r) => r,
            Err(_) => Err(Error::Internal("engine task panicked".into())),
        }
    })
    .await
    .map_err(|e| Error::Internal(format!("engine task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_kinds_map_to_their_statuses() {
        let cases: Vec<(nearstore::Error, u16)> = vec![
            (nearstore::Error::InvalidArgument("x".into()), 400),
            (nearstore::Error::CollectionNotFound("c".into()), 404),
            (nearstore::Error::CollectionExists("c".into()), 409),
            (
                nearstore::Error::PayloadTooLarge {
                    id: 1,
                    bytes: 2,
                    limit: 1,
                },
                413,
            ),
            (
                nearstore::Error::Corruption {
                    file: "f".into(),
                    reason: "r".into(),
                },
                500,
            ),
        ];
        for (e, status) in cases {
            assert_eq!(Error::Engine(e).status().as_u16(), status);
        }
    }

    #[test]
    fn a_full_streaming_queue_is_429_with_retry_after_in_whole_seconds() {
        for (after, header) in [(1, "1"), (50, "1"), (1000, "1"), (1001, "2"), (2500, "3")] {
            let e = Error::Engine(nearstore::Error::Overloaded {
                collection: "c".into(),
                capacity: 1,
                queued: 1,
                offered: 2,
                retry_after: Duration::from_millis(after),
            });
            assert_eq!(e.status().as_u16(), 429);
            let response = e.into_response();
            assert_eq!(
                response.headers()[axum::http::header::RETRY_AFTER],
                header,
                "{after} ms"
            );
        }
        let other = Error::Engine(nearstore::Error::InvalidArgument("x".into())).into_response();
        assert!(
            other
                .headers()
                .get(axum::http::header::RETRY_AFTER)
                .is_none()
        );
    }

    #[test]
    fn server_errors_map_to_their_statuses() {
        assert_eq!(Error::Unauthorized("x").status().as_u16(), 401);
        let forbidden = Error::Forbidden {
            method: "PUT".into(),
            route: "/x".into(),
        };
        assert_eq!(forbidden.status().as_u16(), 403);
        assert_eq!(Error::Overloaded { limit: 1 }.status().as_u16(), 503);
        assert_eq!(Error::TooLarge("x".into()).status().as_u16(), 413);
        assert_eq!(Error::not_supported("gRPC").status().as_u16(), 400);
        assert_eq!(
            Error::not_supported("gRPC").to_string(),
            "gRPC is not supported by NearStore"
        );
    }
}
