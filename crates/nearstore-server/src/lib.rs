//! NearStore's HTTP server: a native REST API, a Qdrant-compatible subset, API keys,
//! limits with load shedding, Prometheus metrics and an OpenAPI document, over one
//! [`nearstore::Database`].
//!
//! This crate owns HTTP only: routes, JSON shapes, auth, limits, metrics and the mapping
//! from engine [`nearstore::ErrorKind`]s to HTTP statuses ([`Error::status`], the one
//! table). It must not reach below the `nearstore` engine API. Blocking engine calls run on
//! tokio's blocking pool.
//!
//! # Entry points
//!
//! ```no_run
//! # async fn run() -> Result<(), nearstore_server::Error> {
//! use nearstore_server::{ApiKey, ServerConfig, serve, shutdown_signal};
//! let db = nearstore::Database::open("./data")?;
//! let config = ServerConfig {
//!     port: 0, // any free port; `serve` prints "listening on ADDR"
//!     api_keys: vec![ApiKey::read_write("secret"), ApiKey::read_only("reader")],
//!     ..ServerConfig::default()
//! };
//! serve(db, config, shutdown_signal()).await?; // drains and flushes on SIGINT/SIGTERM
//! # Ok(()) }
//! ```
//!
//! [`router`] gives the bare axum router; [`Server`] binds first and tells the address.
//! `examples/serve.rs` is a small binary (`--data DIR --host H --port P --api-key K
//! --read-only-key K --snapshots-dir DIR`).
//!
//! # Errors
//!
//! Every error is `{"status": {"error": "message"}, "time": 0.0}` with the status of
//! [`Error::status`]: 400 invalid argument, bad JSON (serde's message), wrong content
//! type, unsupported feature; 401 missing/unknown key; 403 read-only key on a write route;
//! 404 unknown collection, point or route; 408 timeout (on a write route the body also
//! says `"write": "not_applied" | "applied" | "failed"`); 409 exists / conflict; 413 body,
//! batch or payload over a limit, or a body that would need more memory than the whole
//! in-flight budget; 429 a full streaming queue (with `Retry-After` in whole seconds);
//! 500 corruption, I/O, internal; 503 overloaded (load shedding), the
//! memory budget of bodies in flight used up, or shutting down; 507 disk full.
//!
//! # Native API (`/v1`)
//!
//! | route | body | answer |
//! |---|---|---|
//! | `GET /v1/collections` | | `{"collections": [info]}` |
//! | `POST /v1/collections` | `{"name", "dim", "metric"?: "cosine"\|"euclidean"\|"l2"\|"dot"\|"hamming"\|"jaccard"\|"manhattan"\|"l1", "hnsw"?: {"m", "ef_construction", "ef_search", "seed"}, "durability"?: "per_write"\|"flush"\|"bulk", "max_payload_bytes"?}` | 201 info |
//! | `GET /v1/collections/{name}` | | info: `{"name", "kind": "vector"\|"metadata"\|"graph", "dim", "metric", "storage_mode", "durability", "max_payload_bytes", "hnsw", "points_count", "field_indexes": [{"field", "kind"}]}` |
//! | `DELETE /v1/collections/{name}` | | `{"deleted": true}` |
//! | `PUT /v1/collections/{name}/points` | `[{"id", "vector", "payload"?}]`, `{"points": [...]}` or `{"ids": [...], "vectors": [[...]], "payloads"?: [...]}` | `{"upserted": n}` |
//! | `POST /v1/collections/{name}/points/get` | `{"ids", "with_vector"?: true, "with_payload"?: true}` | `{"points": [point \| null]}` (request order) |
//! | `GET /v1/collections/{name}/points/{id}` | | point `{"id", "vector", "payload"?}` or 404 |
//! | `POST /v1/collections/{name}/points/delete` | `{"ids": [...]}` or `{"filter": F}` | `{"deleted": n}` |
//! | `POST /v1/collections/{name}/points/scroll` | `{"filter"?, "limit"?: 100, "cursor"?, "with_vector"?, "with_payload"?}` | `{"points", "next_cursor"}` |
//! | `POST /v1/collections/{name}/points/count` | `{"filter"?}` | `{"count": n}` |
//! | `POST /v1/collections/{name}/search` | `{"vector"` or `"text": {"query", "field"?}` (BM25; both: one hybrid request, RRF k = 60), `"limit"?: 10, "offset"?, "filter"?, "ef"? \| "quality"?: "fast"\|"balanced"\|"accurate"\|"perfect"\|"adaptive", "with_payload"?: true, "with_vector"?: false, "score_threshold"?}` | `{"results": [{"id", "score", "payload"?, "vector"?}]}` best first |
//! | `POST /v1/collections/{name}/search/batch` | `{"searches": [search, ...]}` | `{"results": [[...], ...]}` |
//! | `GET /v1/collections/{name}/text` | | `{"enabled", "fields": [{"name", "analyzer", "bm25"}], "stats": {"documents", ...}\|null}` |
//! | `PUT /v1/collections/{name}/text` | `{"fields": [{"name", "analyzer"?: {"tokenizer", "lowercase", "ascii_folding", "stemmer", "stop_words", "min_token_chars", "max_token_chars"}, "bm25"?: {"k1", "b"}}]}` | the same as GET |
//! | `DELETE /v1/collections/{name}/text` | | text indexing off: the same as GET |
//! | `GET /v1/collections/{name}/indexes` | | `{"indexes": [{"field", "kind"}]}` |
//! | `POST /v1/collections/{name}/indexes` | `{"field", "kind": "keyword"\|"integer"\|"float"\|"bool"}` | 201 `{"indexes": [...]}` |
//! | `DELETE /v1/collections/{name}/indexes/{field}` | | `{"dropped": field}` or 404 |
//! | `POST /v1/collections/{name}/flush`, `POST /v1/flush` | | `{"flushed": [names]}` |
//! | `POST /v1/collections/{name}/points/stream` | NDJSON (`application/x-ndjson`): one upsert point `{"id", "vector", "payload"?, "expires_at"? \| "ttl"?}` per line | `{"queued": n}`, all lines or none; 429 + `Retry-After` when the streaming queue cannot take them all |
//! | `GET\|PUT\|DELETE /v1/collections/{name}/streaming` | PUT: `{"buffer_size"?, "batch_size"?, "flush_interval_ms"?}` | `{"enabled", "queued"?, "buffer_size"?, "batch_size"?, "flush_interval_ms"?, "paused"?}` |
//! | `POST /v1/snapshot` | `{"name"}`: a new archive in the server's snapshot directory ([`ServerConfig::snapshots_dir`]): a plain file name ending in `.snapshot` (a separator, `..`, NUL or leading `.`: 400; existing: 409) | `{"name", "creation_time", "size", "checksum"}`: every collection at one point, one archive ([`snapshots`]) |
//! | `POST /v1/restore` | `{"name"}` of such an archive (missing: 404) | `{"collections": {name: sequence}, "files", "bytes"}`: the database replaced (verified first) |
//! | `GET /v1/snapshots` | | `{"snapshots": [{"name", "creation_time", "size", "checksum"}]}`: the archives of the snapshot directory |
//! | `DELETE /v1/snapshots/{name}` | | `{"deleted": name}` (404 when missing; a name that is not plain: 400) |
//! | `POST /v1/metadata_collections` | `{"name"}` | 201 info: a collection of payload-only points (the point, scroll, count and text routes work; a vector search is 400) |
//! | `POST /v1/graphs` | `{"name", "embedding"?: {"dim", "metric"?}, "schema"?: {"node_types": [{"label", "properties": [[name, type]]}], "edge_types": [{"label", "from", "to"}]}}` (type: `String`, `Integer`, `Float`, `Boolean`, `Vector`) | 201 graph info: `{"name", "points_count", "edges_count", "embedding"?, "schema"?}` |
//! | `GET /v1/graphs/{name}` | | graph info (a collection that is not a graph: 400) |
//! | `POST /v1/graphs/{name}/edges` | `{"id", "source", "target", "label", "properties"?}` | `{"added": 1}`; a missing endpoint 404, a duplicate id 409, a blank label or schema violation 400 |
//! | `POST /v1/graphs/{name}/edges/batch` | `{"edges": [edge, ...]}` (all or none) | `{"added": n}` |
//! | `GET /v1/graphs/{name}/edges` | `?label=L` optional | `{"edges": [{"id", "source", "target", "label", "properties"}]}` by id |
//! | `DELETE /v1/graphs/{name}/edges/{id}` | | `{"removed": true\|false}` |
//! | `GET /v1/graphs/{name}/nodes/{id}/outgoing`, `.../incoming` | | `{"edges": [...]}` |
//! | `GET /v1/graphs/{name}/nodes/{id}/degree` | | `{"incoming", "outgoing"}` |
//! | `GET\|PUT /v1/graphs/{name}/nodes/{id}/payload` | PUT: `{"payload": {...}}` (an existing node keeps its embedding) | GET `{"id", "payload"}` (404 when no such node); PUT `{"id", "updated": true}` |
//! | `POST /v1/graphs/{name}/traverse/bfs`, `.../dfs` | `{"source", "min_depth"?: 1, "max_depth"?: 3, "limit"?: 100, "rel_types"?: []}` (outgoing edges; the request's deadline applies) | `{"results": [{"target", "depth", "path": [edge ids]}]}` |
//! | `POST /v1/graphs/{name}/search` | `{"vector", "limit"?: 10, "with_payload"?: true}` | `{"results": [{"id", "score", "payload"?}]}` best first (no embeddings: 400) |
//! | `POST /v1/query` | `{"query": "SELECT ...", "params"?: {"v": [...]}}` | `{"rows": [...]}` (the query language, graph statements and `MATCH` included; read-write keys) |
//! | `POST /v1/verify` | | `{"clean", "damaged_files": [path], "report"}`: `Database::verify` (every checksum and cross-check; per file: kind, bytes, damage with offsets, notes); 200 whether or not damage was found |
//! | `GET /healthz`, `GET /livez`, `GET /readyz` | | plain text as Qdrant answers: `healthz check passed`, `livez check passed`, `all shards are ready` (503 while shutting down); no key needed |
//! | `GET /metrics` | | Prometheus text (see [`metrics`](crate#metrics)) |
//! | `GET /openapi.json` | | OpenAPI 3.1, generated from the route table, with the schemas of every native body derived (`utoipa`) from the types serde reads and writes |
//!
//! Filters `F` use the engine's JSON filter form (`{"field": "lang", "eq": "en"}`,
//! `{"and": [...]}`, ...; see `nearstore::filter`). Scores follow the metric's direction.
//!
//! # Qdrant-compatible subset
//!
//! `GET /`, `GET /collections`, `GET|PUT|DELETE /collections/{name}`,
//! `GET /collections/{name}/exists`, `PUT /collections/{name}/points` (`points` and
//! `batch` forms, `?wait=` accepted), `POST /collections/{name}/points` (retrieve),
//! `GET /collections/{name}/points/{id}`, `POST .../points/{query,query/batch,search,
//! search/batch,scroll,count,delete}` (the Query API's `prefetch` + `fusion: rrf | dbsf`
//! or `{"rrf": {"k"}}` is one engine request, one leg per prefetch: `qdrant::query_plan`),
//! `PUT /collections/{name}/index` (keyword, integer,
//! float, bool, and `text`: a full-text index, see `qdrant::text_index`),
//! `DELETE /collections/{name}/index/{field}`, `POST .../points/batch` (upsert, delete, payload and
//! vector operations in order), `POST .../points/recommend[/batch]` and the Query API's
//! `{"recommend": ..}` (average_vector strategy), scroll `order_by`,
//! `PATCH /collections/{name}` (only the search-time `hnsw_config.ef`, a NearStore
//! extension; other changes 400), with Qdrant's envelopes. `with_payload` lists take
//! dotted paths. Integer and UUID ids (UUIDs map to ids with the top bit set; the original
//! string is kept in the hidden payload key `__nearstore_uuid`), the unnamed dense vector
//! and named dense and sparse vectors (`vectors: {"": .., name: ..}`, a map without `""`
//! making a collection without a default vector, `sparse_vectors`, points carrying any
//! subset `{"": [..], name: [..] | {indices, values}}`, queries with `using`; see
//! `qdrant::vectors`), `PUT .../points/vectors` and `POST .../points/vectors/delete` (and
//! their batch operations; `qdrant::vector_edits`), collection snapshots
//! (`POST|GET /collections/{name}/snapshots`, `GET|DELETE
//! /collections/{name}/snapshots/{snapshot_name}`, `POST .../snapshots/upload` (multipart
//! `snapshot`), `PUT .../snapshots/recover` with a `file://` location inside the snapshot
//! directory ([`ServerConfig::snapshots_dir`]; collection archives are in
//! `<snapshots dir>/<collection>/`); full-storage snapshots `POST|GET /snapshots`,
//! `GET|DELETE /snapshots/{snapshot_name}`, the database archives; `qdrant::snapshots`),
//! Qdrant filters translated to
//! the engine's. Everything else answers 400 "not supported". Every
//! Qdrant request and answer body is a typed serde struct (`qdrant::request`,
//! `qdrant::collection_model`, `qdrant::model`, `qdrant::answer`) read by the same bounded
//! decoder as the native bodies, with its schema in `/openapi.json`.
//!
//! # Limits and keys
//!
//! [`ServerConfig::limits`]: body size (413, before a byte is read when `Content-Length`
//! says so), JSON nesting depth (400) and width (413: an array or object with more than
//! [`Limits::max_json_width`] elements), both checked by a scan before parsing, points per
//! upsert/get/delete and queries per batch (413, *while* parsing: the list stops one
//! element past the limit), vector length (400, while parsing), vector dimension at create
//! (400), per-request timeout (408; Qdrant's `?timeout=` in seconds may shorten it for one request,
//! `timeout=0` is 422), and a concurrency limit that sheds load with an
//! immediate 503.
//!
//! Memory: all bodies in flight together may hold at most
//! [`Limits::max_inflight_body_bytes`] (default 256 MiB). A request reserves, each before
//! it happens: its body's bytes; what parsing may allocate besides lists (its size again,
//! for copied strings and raw payloads and filters); each list's buffer as it grows; and, for each payload or filter
//! turned into a JSON value, that value's bound. A reservation that does not fit what is
//! left is 503 at once; one larger than the whole budget is 413. It is held until the
//! request *and* the blocking work it handed off have ended. Engine memory inside a call
//! is not counted (it is bounded by the batch limits and the concurrency limit).
//! Measured (`tests/it/hostile.rs`): one 15 MB upsert of 400k points is refused 413 with
//! the server's peak RSS going from 10 to 26 MiB (before: 7 to 302 MiB); eleven hostile
//! bodies one by one, then 18 at once, under a 64 MiB budget: peak 10 to 72-101 MiB in
//! five runs (the rest is connection buffers and allocator arenas), every answer 4xx or
//! 503.
//!
//! The concurrency slot, like the memory, is held by the request's blocking work, so the
//! limit bounds the work on the blocking pool, not only the requests waiting for it. At
//! the timeout a read is answered 408 at once (its work keeps the slot until it ends); a
//! write whose work already reached the engine is waited for, and the 408 says whether it
//! was applied. Handlers put the request's deadline on every engine request that takes
//! one (searches, scrolls, upserts: `limits::ticket::engine_deadline`), so the engine stops
//! the work itself and a write it cancelled is reported `not_applied`. A filtered Qdrant count
//! resolves its filter under the deadline (the engine's `matching_ids`); deletes and point
//! reads take no deadline in the engine's API yet and run to their end.
//!
//! Keys: [`ApiKey`], sent as `api-key: <key>` or `Authorization: Bearer <key>`, compared
//! in constant time.
//!
//! # Metrics
//!
//! OpenMetrics text through `prometheus-client`: `nearstore_http_requests_total` and
//! `nearstore_http_request_duration_seconds` by method, route pattern and status;
//! `nearstore_http_requests_shed_total`; `nearstore_http_request_slots_in_use` / `_total`;
//! `nearstore_http_body_memory_bytes` / `_budget_bytes`;
//! `nearstore_search_duration_seconds` by collection; `nearstore_collection_points` by
//! collection.

#![forbid(unsafe_code)]

mod auth;
mod body;
mod config;
mod error;
mod limits;
mod metrics;
mod model;
mod openapi;
mod qdrant;
mod routes;
mod server;
pub mod snapshots;
mod state;

pub use config::{ApiKey, Limits, ServerConfig};
pub use error::{Error, Result};
pub use limits::ticket::WriteOutcome;
pub use server::{Server, router, serve, shutdown_signal};

/// The OpenAPI 3.1 document `GET /openapi.json` serves.
pub fn openapi_document() -> serde_json::Value {
    openapi::build()
}
