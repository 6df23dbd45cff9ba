//! [`ServerConfig`]: where the server listens, who may call it, and the limits it enforces.

use std::path::PathBuf;
use std::time::Duration;

/// An API key and what it may do.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The secret, sent as `api-key: <key>` or `Authorization: Bearer <key>`.
    pub key: String,
    /// Read-only keys may call only read routes (a write route answers 403).
    pub read_only: bool,
}

impl ApiKey {
    /// A key that may call every route.
    pub fn read_write(key: impl Into<String>) -> Self {
        ApiKey {
            key: key.into(),
            read_only: false,
        }
    }

    /// A key that may call only read routes.
    pub fn read_only(key: impl Into<String>) -> Self {
        ApiKey {
            key: key.into(),
            read_only: true,
        }
    }
}

impl std::fmt::Debug for ApiKey {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("key", &"<redacted>")
            .field("read_only", &self.read_only)
            .finish()
    }
}

/// The limits one request is held to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Most points in one upsert, one get or one delete by ids (more: 413).
    pub max_batch_points: usize,
    /// Most queries in one batch search (more: 413).
    pub max_batch_queries: usize,
    /// Largest vector dimension a collection may be created with (larger: 400).
    pub max_dimension: usize,
    /// Deepest nesting of arrays and objects in a JSON body (deeper: 400).
    pub max_json_depth: usize,
    /// Most elements of one JSON array or members of one JSON object anywhere in a body
    /// (more: 413, found by the scan before parsing). It bounds what one filter, payload
    /// or id list can hold; it must exceed the batch limits and the largest dimension.
    pub max_json_width: usize,
    /// Memory all request bodies in flight may hold together: their bytes plus a bound of
    /// what parsing them takes (see the crate docs, "Limits and keys"). A request that
    /// does not fit what is left is answered 503 at once; one that could never fit, 413.
    pub max_inflight_body_bytes: usize,
    /// Longest a request may take before it is answered 408. Blocking engine work already
    /// started keeps the request's slot until it ends; a write route's 408 says whether
    /// its write was applied.
    pub request_timeout: Duration,
    /// Most requests served at once; beyond it requests are answered 503 at once (load
    /// shedding, never an unbounded queue). Health, readiness and metrics are not counted.
    pub max_concurrent_requests: usize,
    /// Largest snapshot archive `POST /collections/{name}/snapshots/upload` accepts (it is
    /// streamed to a file, not held in memory; larger: 413).
    pub max_snapshot_upload_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 32 << 20,
            max_batch_points: 10_000,
            max_batch_queries: 256,
            max_dimension: nearstore::MAX_DIMENSION,
            max_json_depth: 64,
            max_json_width: 1 << 18,
            max_inflight_body_bytes: 256 << 20,
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 256,
            max_snapshot_upload_bytes: 16 << 30,
        }
    }
}

/// Everything the server needs besides the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Interface to bind (default `127.0.0.1`).
    pub host: String,
    /// Port to bind (default 6333, Qdrant's; 0 picks a free one).
    pub port: u16,
    /// Accepted API keys; empty means the server is open to everyone.
    pub api_keys: Vec<ApiKey>,
    /// Request limits.
    pub limits: Limits,
    /// The directory every snapshot archive the server writes or reads lives in (the
    /// native `/v1/snapshot*` routes take plain archive names in it; Qdrant's collection
    /// snapshots are in `<snapshots_dir>/<collection>/`). `None`: `<data dir>-snapshots`, a
    /// sibling of the data directory. It must not be inside the data directory (a database
    /// restore replaces that directory whole) nor hold it: [`crate::Server::bind`] refuses
    /// it, and a bare [`crate::router`]'s snapshot routes answer 500.
    pub snapshots_dir: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".to_string(),
            port: 6333,
            api_keys: Vec::new(),
            limits: Limits::default(),
            snapshots_dir: None,
        }
    }
}
