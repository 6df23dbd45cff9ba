//! Prometheus metrics, written by hand in the text exposition format (version 0.0.4).
//!
//! - `nearstore_http_requests_total{method, route, status}` (counter) and
//!   `nearstore_http_request_duration_seconds{method, route, status}` (histogram): every
//!   routed request, labelled by its route *pattern* (`/v1/collections/{name}`), so label
//!   cardinality is bounded by the route table; unknown routes are `route="unmatched"`.
//! - `nearstore_http_requests_shed_total` (counter): requests answered 503 by load shedding.
//! - `nearstore_http_request_slots_in_use` / `..._slots_total` (gauges): the concurrency
//!   limit's permits in use and in all.
//! - `nearstore_search_duration_seconds{collection}` (histogram): engine time per search
//!   query (native and Qdrant routes; a batch records each query's share).
//! - `nearstore_collection_points{collection}` (gauge): live points, read at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;

use crate::state::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let secs = d.as_secs_f64();
        for (bound, n) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if secs <= *bound {
                *n += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, n) in BUCKETS.iter().zip(self.counts.iter()) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

type RequestKey = (String, String, u16);

/// The server's metrics registry.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<RequestKey, Histogram>>,
    searches: Mutex<BTreeMap<String, Histogram>>,
    shed: AtomicU64,
}

/// Escapes a label value.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub(crate) fn record_request(&self, method: &str, route: &str, status: u16, d: Duration) {
        self.requests
            .lock()
            .entry((method.to_string(), route.to_string(), status))
            .or_default()
            .observe(d);
    }

    pub(crate) fn record_search(&self, collection: &str, d: Duration) {
        let mut searches = self.searches.lock();
        match searches.get_mut(collection) {
            Some(h) => h.observe(d),
            None => {
                let mut h = Histogram::default();
                h.observe(d);
                searches.insert(collection.to_string(), h);
            }
        }
    }

    pub(crate) fn record_shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition.
    pub(crate) fn render(&self, state: &AppState) -> String {
        let mut out = String::new();
        let requests = self.requests.lock().clone();
        out.push_str(
            "# HELP nearstore_http_requests_total HTTP requests by route pattern and status.\n",
        );
        out.push_str("# TYPE nearstore_http_requests_total counter\n");
        for ((method, route, status), h) in &requests {
            let _ = writeln!(
                out,
                "nearstore_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {}",
                label(method),
                label(route),
                h.count
            );
        }
        out.push_str("# HELP nearstore_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE nearstore_http_request_duration_seconds histogram\n");
        for ((method, route, status), h) in &requests {
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{status}\"",
                label(method),
                label(route)
            );
            h.write(&mut out, "nearstore_http_request_duration_seconds", &labels);
        }
        out.push_str("# HELP nearstore_http_requests_shed_total Requests refused with 503 by load shedding.\n");
        out.push_str("# TYPE nearstore_http_requests_shed_total counter\n");
        let _ = writeln!(
            out,
            "nearstore_http_requests_shed_total {}",
            self.shed.load(Ordering::Relaxed)
        );
        let total = state.limits.max_concurrent_requests;
        let in_use = total.saturating_sub(state.slots.available_permits());
        out.push_str("# HELP nearstore_http_request_slots_in_use Concurrency-limit permits held by requests being served.\n");
        out.push_str("# TYPE nearstore_http_request_slots_in_use gauge\n");
        let _ = writeln!(out, "nearstore_http_request_slots_in_use {in_use}");
        out.push_str("# HELP nearstore_http_request_slots_total The concurrency limit.\n");
        out.push_str("# TYPE nearstore_http_request_slots_total gauge\n");
        let _ = writeln!(out, "nearstore_http_request_slots_total {total}");
        out.push_str("# HELP nearstore_search_duration_seconds Engine time per search query.\n");
        out.push_str("# TYPE nearstore_search_duration_seconds histogram\n");
        for (collection, h) in self.searches.lock().iter() {
            let labels = format!("collection=\"{}\"", label(collection));
            h.write(&mut out, "nearstore_search_duration_seconds", &labels);
        }
        out.push_str("# HELP nearstore_collection_points Live points per collection.\n");
        out.push_str("# TYPE nearstore_collection_points gauge\n");
        for name in state.db.list_collections() {
            if let Ok(c) = state.db.get_vector_collection(&name) {
                let _ = writeln!(
                    out,
                    "nearstore_collection_points{{collection=\"{}\"}} {}",
                    label(&name),
                    c.len()
                );
            }
        }
        out
    }
}

/// Middleware (a route layer): counts and times every routed request.
pub(crate) async fn track(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let route = matched
        .as_ref()
        .map(MatchedPath::as_str)
        .unwrap_or("unmatched")
        .to_string();
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    state.metrics.record_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// `GET /metrics`.
pub(crate) async fn scrape(State(state): State<AppState>) -> Response {
    let body = state.metrics.render(&state);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
