//! Per-request limits enforced around the handlers: the concurrency limit with load
//! shedding and the request timeout. (The body size limit is axum's `DefaultBodyLimit`,
//! turned into a 413 by the JSON extractor; batch and dimension limits are checked by the
//! handlers through [`crate::state::Shared::check_batch`] and the collection routes.)
//!
//! Load shedding: every limited request takes one of `max_concurrent_requests` permits
//! with `try_acquire`; when none is left the answer is 503 at once, so nothing ever queues
//! without bound. The permit is taken as soon as the request's headers are routed and held
//! until its response is produced (reading the body included). Health, readiness and
//! `/metrics` take no permit, so probes and scrapes still answer under overload.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::{Access, route_access};
use crate::error::Error;
use crate::state::AppState;

/// Whether a route counts against the concurrency limit and the timeout.
pub(crate) fn is_limited(state: &AppState, req: &Request, route: &str) -> bool {
    route_access(state, req.method(), route) != Access::Open && route != "/metrics"
}

/// Middleware: sheds load beyond the concurrency limit and times requests out.
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
    let Ok(_permit) = state.slots.clone().try_acquire_owned() else {
        state.metrics.record_shed();
        return Err(Error::Overloaded {
            limit: state.limits.max_concurrent_requests,
        });
    };
    let timeout = state.limits.request_timeout;
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => Ok(response),
        Err(_) => Err(Error::Timeout(timeout)),
    }
}
