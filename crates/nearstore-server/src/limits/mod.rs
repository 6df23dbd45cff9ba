//! Per-request limits enforced around the handlers: the concurrency limit with load
//! shedding, the memory budget of bodies in flight, and the request timeout. (The body
//! size limit, the JSON depth limit and the batch limits are enforced while the body is
//! read and parsed, in [`crate::body`]; the dimension limit by the collection routes.)
//!
//! Load shedding: every limited request takes one of `max_concurrent_requests` permits
//! with `try_acquire`; when none is left the answer is 503 at once, so nothing ever queues
//! without bound. The permit lives in the request's [`ticket::Ticket`], which the blocking
//! work the request hands off holds too: a slot is free again only when the response is
//! produced *and* that work has ended. Health, readiness and `/metrics` take no permit, so
//! probes and scrapes still answer under overload.
//!
//! Memory: see [`budget`]. Timeout: at `request_timeout` (or the request's own shorter
//! `?timeout=` in seconds, Qdrant's parameter) the handler is dropped and the
//! answer is 408; for a write route whose write already reached the engine, the answer
//! waits for that write to end and says whether it was applied (the `write` field of the
//! error body, [`ticket::WriteOutcome`]).

pub(crate) mod budget;
pub(crate) mod ticket;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Access, route_access};
use crate::error::Error;
use crate::state::AppState;

/// Whether a route counts against the concurrency limit and the timeout.
pub(crate) fn is_limited(state: &AppState, req: &Request, route: &str) -> bool {
    route_access(state, req.method(), route) != Access::Open && route != "/metrics"
}

/// The `timeout` query parameter Qdrant's routes take (whole seconds, at least 1): a
/// request may shorten its own timeout, never lengthen the server's. `timeout=0` is 422 as
/// in Qdrant, a value that is not a whole number 400.
fn requested_timeout(query: Option<&str>) -> Result<Option<Duration>, Error> {
    let Some(value) = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("timeout="))
    else {
        return Ok(None);
    };
    match value.parse::<u64>() {
        Ok(0) => Err(Error::validation(
            "timeout: value 0 invalid, must be 1 or larger",
        )),
        Ok(seconds) => Ok(Some(Duration::from_secs(seconds))),
        Err(_) => Err(Error::bad_request(format!(
            "timeout must be a whole number of seconds, got {value:?}"
        ))),
    }
}

/// Middleware: sheds load beyond the concurrency limit, gives the request its ticket and
/// times it out.
pub(crate) async fn shed_and_time(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Result<Response, Error> {
    let route = matched.as_ref().map(MatchedPath::as_str).unwrap_or("");
    if !is_limited(&state, &req, route) {
        return Ok(next.run(req).await);
    }
    let Ok(slot) = state.slots.clone().try_acquire_owned() else {
        state.metrics.record_shed();
        return Err(Error::Overloaded {
            limit: state.limits.max_concurrent_requests,
        });
    };
    let timeout = match requested_timeout(req.uri().query())? {
        Some(asked) => asked.min(state.limits.request_timeout),
        None => state.limits.request_timeout,
    };
    let writes = route_access(&state, req.method(), route) == Access::Write;
    let ticket = Arc::new(ticket::Ticket::new(
        slot,
        state.memory.reservation(),
        timeout,
        writes,
    ));
    match tokio::time::timeout(timeout, ticket.scope(next.run(req))).await {
        Ok(response) => Ok(response),
        Err(_) => Err(Error::Timeout {
            after: timeout,
            write: ticket.outcome_after_timeout().await,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_parameter_shortens_and_zero_is_a_validation_error() {
        assert_eq!(requested_timeout(None).unwrap(), None);
        assert_eq!(requested_timeout(Some("wait=true")).unwrap(), None);
        assert_eq!(
            requested_timeout(Some("wait=true&timeout=5")).unwrap(),
            Some(Duration::from_secs(5))
        );
        let zero = requested_timeout(Some("timeout=0")).unwrap_err();
        assert_eq!(zero.status().as_u16(), 422);
        assert!(
            zero.to_string().contains("timeout: value 0 invalid"),
            "{zero}"
        );
        assert_eq!(
            requested_timeout(Some("timeout=soon"))
                .unwrap_err()
                .status()
                .as_u16(),
            400
        );
    }
}
