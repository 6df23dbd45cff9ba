//! Prometheus metrics through `prometheus-client` (OpenMetrics text exposition).
//!
//! - `nearstore_http_requests_total{method, route, status}` (counter) and
//!   `nearstore_http_request_duration_seconds{method, route, status}` (histogram): every
//!   routed request, labelled by its route *pattern* (`/v1/collections/{name}`), so label
//!   cardinality is bounded by the route table; unknown routes are `route="unmatched"`.
//! - `nearstore_http_requests_shed_total` (counter): requests answered 503 by load shedding.
//! - `nearstore_http_request_slots_in_use` / `..._slots_total` (gauges): the concurrency
//!   limit's permits in use and in all.
//! - `nearstore_http_body_memory_bytes` / `..._budget_bytes` (gauges): memory reserved by
//!   request bodies in flight, and the budget.
//! - `nearstore_search_duration_seconds{collection}` (histogram): engine time per search
//!   query (native and Qdrant routes; a batch records each query).
//! - `nearstore_collection_points{collection}` (gauge): live points, read at scrape time.
//!
//! Recording a request takes no exclusive lock: a metric family is looked up under a
//! shared read lock (a write lock only the first time a label set is seen), and the
//! counters and histograms inside are atomics.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::state::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CollectionLabels {
    collection: String,
}

/// The server's metrics registry.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram, fn() -> Histogram>,
    searches: Family<CollectionLabels, Histogram, fn() -> Histogram>,
    shed: Counter,
    slots_in_use: Gauge,
    slots_total: Gauge,
    body_memory: Gauge,
    body_memory_budget: Gauge,
    points: Family<CollectionLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let searches =
            Family::<CollectionLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        let shed = Counter::default();
        let (slots_in_use, slots_total) = (Gauge::default(), Gauge::default());
        let (body_memory, body_memory_budget) = (Gauge::default(), Gauge::default());
        let points = Family::<CollectionLabels, Gauge>::default();
        registry.register(
            "nearstore_http_requests",
            "HTTP requests by route pattern and status",
            requests.clone(),
        );
        registry.register(
            "nearstore_http_request_duration_seconds",
            "HTTP request latency",
            durations.clone(),
        );
        registry.register(
            "nearstore_http_requests_shed",
            "Requests refused with 503 by load shedding",
            shed.clone(),
        );
        registry.register(
            "nearstore_http_request_slots_in_use",
            "Concurrency-limit permits held by requests and their blocking work",
            slots_in_use.clone(),
        );
        registry.register(
            "nearstore_http_request_slots_total",
            "The concurrency limit",
            slots_total.clone(),
        );
        registry.register(
            "nearstore_http_body_memory_bytes",
            "Memory reserved by request bodies in flight",
            body_memory.clone(),
        );
        registry.register(
            "nearstore_http_body_memory_budget_bytes",
            "The memory budget of request bodies in flight",
            body_memory_budget.clone(),
        );
        registry.register(
            "nearstore_search_duration_seconds",
            "Engine time per search query",
            searches.clone(),
        );
        registry.register(
            "nearstore_collection_points",
            "Live points per collection",
            points.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
            searches,
            shed,
            slots_in_use,
            slots_total,
            body_memory,
            body_memory_budget,
            points,
        }
    }
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Metrics {
    pub(crate) fn record_request(&self, method: &str, route: &str, status: u16, d: Duration) {
        let labels = RequestLabels {
            method: method.to_string(),
            route: route.to_string(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.durations
            .get_or_create(&labels)
            .observe(d.as_secs_f64());
    }

    pub(crate) fn record_search(&self, collection: &str, d: Duration) {
        self.searches
            .get_or_create(&CollectionLabels {
                collection: collection.to_string(),
            })
            .observe(d.as_secs_f64());
    }

    pub(crate) fn record_shed(&self) {
        self.shed.inc();
    }

    /// The text exposition, with the gauges read now.
    pub(crate) fn render(&self, state: &AppState) -> String {
        let total = state.limits.max_concurrent_requests;
        let in_use = total.saturating_sub(state.slots.available_permits());
        self.slots_in_use.set(gauge_value(in_use));
        self.slots_total.set(gauge_value(total));
        self.body_memory
            .set(gauge_value(state.memory.in_use_bytes()));
        self.body_memory_budget
            .set(gauge_value(state.memory.total_bytes()));
        self.points.clear();
        for name in state.db.list_collections() {
            if let Ok(c) = state.db.get_vector_collection(&name) {
                self.points
                    .get_or_create(&CollectionLabels { collection: name })
                    .set(gauge_value(c.len()));
            }
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
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
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
