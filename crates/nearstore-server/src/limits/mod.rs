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
//! Memory: see [`budget`]. Timeout: at `request_timeout` the handler is dropped and the
//! answer is 408; for a write route whose write already reached the engine, the answer
//! waits for that write to end and says whether it was applied (the `write` field of the
//! error body, [`ticket::WriteOutcome`]).

pub(crate) mod budget;
pub(crate) mod ticket;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

use crate::auth::{Access, route_access};
use crate::error::Error;
use crate::state::AppState;

/// Whether a route counts against the concurrency limit and the timeout.
pub(crate) fn is_limited(state: &AppState, req: &Request, route: &str) -> bool {
    route_access(state, req.method(), route) != Access::Open && route != "/metrics"
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
    let timeout = state.limits.request_timeout;
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
