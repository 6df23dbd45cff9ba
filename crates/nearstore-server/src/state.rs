//! [`Shared`]: what every handler reads: the database, the limits, the keys, the metrics,
//! the request slots and the route table's access levels.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::Method;
use nearstore::{Database, VectorCollection};
use tokio::sync::Semaphore;

use crate::auth::{Access, KeyRing};
use crate::config::{Limits, ServerConfig};
use crate::error::{Result, blocking};
use crate::limits::budget::MemoryBudget;
use crate::metrics::Metrics;
use crate::routes::RouteSpec;

/// The state handlers share.
pub(crate) type AppState = Arc<Shared>;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) db: Database,
    pub(crate) limits: Limits,
    /// The server's snapshot directory, as configured or defaulted (`crate::snapshots`).
    pub(crate) snapshots_dir: PathBuf,
    pub(crate) keys: KeyRing,
    pub(crate) metrics: Metrics,
    /// One permit per request being served (load shedding when none is left).
    pub(crate) slots: Arc<Semaphore>,
    /// The memory budget of request bodies in flight.
    pub(crate) memory: MemoryBudget,
    /// Access level of each (method, route pattern).
    pub(crate) access: HashMap<(Method, &'static str), Access>,
    /// Set when graceful shutdown starts (readiness then answers 503).
    pub(crate) shutting_down: AtomicBool,
}

impl Shared {
    pub(crate) fn new(db: Database, config: &ServerConfig, routes: &[RouteSpec]) -> Self {
        let snapshots_dir = config
            .snapshots_dir
            .clone()
            .unwrap_or_else(|| crate::snapshots::default_snapshots_dir(db.dir()));
        Shared {
            db,
            limits: config.limits.clone(),
            snapshots_dir,
            keys: KeyRing::new(&config.api_keys),
            metrics: Metrics::default(),
            slots: Arc::new(Semaphore::new(config.limits.max_concurrent_requests)),
            memory: MemoryBudget::new(config.limits.max_inflight_body_bytes),
            access: routes
                .iter()
                .map(|r| ((r.method.clone(), r.path), r.access))
                .collect(),
            shutting_down: AtomicBool::new(false),
        }
    }

    /// A handle on collection `name` (404 when there is none).
    pub(crate) fn collection(&self, name: &str) -> Result<VectorCollection> {
        Ok(self.db.get_vector_collection(name)?)
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Flushes every collection (after shutdown and for `POST /v1/flush`).
    pub(crate) async fn flush_all(&self) -> Result<()> {
        let db = self.db.clone();
        blocking(move || Ok(db.flush()?)).await
    }
}
