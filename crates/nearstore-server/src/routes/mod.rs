//! The route table: every route with its method, path, access level, tag and summary. The
//! router, the authorization check, the metrics labels and the OpenAPI document are all
//! built from this one table, so they cannot disagree.

pub(crate) mod admin;
pub(crate) mod collections;
pub(crate) mod graphs;
pub(crate) mod points;
pub(crate) mod search;
pub(crate) mod snapshots;
pub(crate) mod streaming;
pub(crate) mod text;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, MethodRouter, on};

use utoipa::ToSchema;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Ref, RefOr};

use crate::auth::{self, Access};
use crate::model::collections::{
    CollectionDeleted, CollectionInfo, CollectionList, CreateCollection, CreateIndex, IndexDropped,
    IndexList, QuantizerTrained,
};
use crate::model::graphs::{
    AddEdges, CreateGraph, CreateMetadata, Degree, EdgeIn, EdgeList, EdgeRemoved, EdgesAdded,
    EmbeddingSearch, GraphInfo, NodePayload, NodePayloadSet, SetNodePayload, TraversalAnswer,
    Traverse,
};
use crate::model::points::PointRow;
use crate::model::points::{
    CountPoints, DeletePoints, GetPoints, PointCount, PointList, PointOut, PointsDeleted,
    ScrollPage, ScrollPoints, Upsert, Upserted,
};
use crate::model::search::{BatchAnswer, Search, SearchAnswer, SearchBatch};
use crate::model::service::{Flushed, QueryAnswer, QueryText, Verified};
use crate::model::snapshots::{Restored, SnapshotDeleted, SnapshotList, SnapshotName};
use crate::model::streaming::{Streamed, StreamingSettings, StreamingState};
use crate::model::text::{TextConfig, TextIndexState};
use crate::state::AppState;
use crate::{limits, metrics, openapi, qdrant};

/// An HTTP method of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    pub(crate) fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Put => Method::PUT,
            Verb::Patch => Method::PATCH,
            Verb::Delete => Method::DELETE,
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Patch => MethodFilter::PATCH,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

/// Adds a body type's schema (and those it refers to) to the list and returns a reference
/// to it: how a route names its request and response bodies for `/openapi.json`.
pub(crate) type SchemaFn = fn(&mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema>;

fn schema_of<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    let name = T::name().into_owned();
    out.push((name.clone(), T::schema()));
    T::schemas(out);
    RefOr::Ref(Ref::from_schema_name(name))
}

fn qdrant_schema_of<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    crate::qdrant::schema::envelope(schema_of::<T>(out))
}

/// What the table says about one route.
#[derive(Debug, Clone)]
pub(crate) struct RouteSpec {
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    pub(crate) access: Access,
    /// `native`, `qdrant`, `operations` or `qdrant-unsupported`.
    pub(crate) tag: &'static str,
    pub(crate) summary: &'static str,
    /// The request body's schema, when the route takes a typed body.
    pub(crate) request: Option<SchemaFn>,
    /// The success body's schema, when the route answers a typed body.
    pub(crate) response: Option<SchemaFn>,
    /// The success status (200, or 201 for a create).
    pub(crate) success: u16,
    /// The route reads no body (a POST that only triggers something).
    pub(crate) no_body: bool,
    /// The request body's media type (`application/json` unless the route says).
    pub(crate) request_type: &'static str,
}

/// A route: its description and its handler.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) spec: RouteSpec,
    pub(crate) handler: MethodRouter<AppState>,
}

/// Builds one table row.
pub(crate) fn route<H, T>(
    verb: Verb,
    path: &'static str,
    access: Access,
    tag: &'static str,
    summary: &'static str,
    handler: H,
) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Route {
        spec: RouteSpec {
            method: verb.method(),
            path,
            access,
            tag,
            summary,
            request: None,
            response: None,
            success: 200,
            no_body: false,
            request_type: "application/json",
        },
        handler: on(verb.filter(), handler),
    }
}

impl Route {
    /// The route takes a `T` body (its schema goes into `/openapi.json`).
    pub(crate) fn takes<T: ToSchema>(mut self) -> Self {
        self.spec.request = Some(schema_of::<T>);
        self
    }

    /// The route takes a multipart body of any size: the server's body limit is lifted
    /// (the handler enforces its own, `max_snapshot_upload_bytes`), and the document says
    /// `multipart/form-data`.
    pub(crate) fn multipart_body(mut self) -> Self {
        self.handler = self.handler.layer(DefaultBodyLimit::disable());
        self.spec.request_type = "multipart/form-data";
        self.spec.no_body = true;
        self
    }

    /// The route takes NDJSON: one `T` per line.
    pub(crate) fn takes_lines_of<T: ToSchema>(mut self) -> Self {
        self.spec.request = Some(schema_of::<T>);
        self.spec.request_type = crate::body::ndjson::NDJSON_TYPES[0];
        self
    }

    /// The route answers a `T` body on success.
    pub(crate) fn answers<T: ToSchema>(mut self) -> Self {
        self.spec.response = Some(schema_of::<T>);
        self
    }

    /// The route answers a `T` in Qdrant's `{result, status, time}` envelope on success.
    pub(crate) fn answers_qdrant<T: ToSchema>(mut self) -> Self {
        self.spec.response = Some(qdrant_schema_of::<T>);
        self
    }

    /// The route reads no body.
    pub(crate) fn no_body(mut self) -> Self {
        self.spec.no_body = true;
        self
    }

    /// The route answers 201 on success.
    pub(crate) fn created(mut self) -> Self {
        self.spec.success = 201;
        self
    }
}

/// The native routes and the operational ones.
fn native() -> Vec<Route> {
    use Access::{Open, Read, Write};
    use Verb::{Delete, Get, Post, Put};
    const N: &str = "native";
    const OPS: &str = "operations";
    vec![
        route(
            Get,
            "/healthz",
            Open,
            OPS,
            "Liveness: the process is up",
            admin::healthz,
        ),
        route(
            Get,
            "/livez",
            Open,
            OPS,
            "Liveness: the process is up",
            admin::livez,
        ),
        route(
            Get,
            "/readyz",
            Open,
            OPS,
            "Readiness: the database is open and the server is not shutting down",
            admin::readyz,
        ),
        route(
            Get,
            "/metrics",
            Read,
            OPS,
            "Prometheus metrics (text exposition)",
            metrics::scrape,
        ),
        route(
            Get,
            "/openapi.json",
            Open,
            OPS,
            "This OpenAPI document",
            openapi::document,
        ),
        route(
            Get,
            "/v1/collections",
            Read,
            N,
            "List collections with their info",
            collections::list,
        )
        .answers::<CollectionList>(),
        route(
            Post,
            "/v1/collections",
            Write,
            N,
            "Create a collection {name, dim, metric, hnsw, durability, max_payload_bytes, storage_mode, quantization: {oversampling, train_at}}",
            collections::create,
        )
        .takes::<CreateCollection>().answers::<CollectionInfo>().created(),
        route(
            Get,
            "/v1/collections/{name}",
            Read,
            N,
            "Collection info: config, points_count, field_indexes",
            collections::get,
        )
        .answers::<CollectionInfo>(),
        route(
            Delete,
            "/v1/collections/{name}",
            Write,
            N,
            "Drop a collection",
            collections::delete,
        )
        .answers::<CollectionDeleted>(),
        route(
            Put,
            "/v1/collections/{name}/points",
            Write,
            N,
            "Upsert points: [{id, vector, payload}], {points: [...]} or {ids, vectors, payloads}",
            points::upsert,
        )
        .takes::<Upsert>().answers::<Upserted>(),
        route(
            Post,
            "/v1/collections/{name}/points/stream",
            Write,
            N,
            "Stream points: NDJSON, one upsert point {id, vector, payload, expires_at|ttl} per line, queued whole or refused whole (429 with Retry-After when the streaming queue is full); visible once drained",
            streaming::stream_points,
        )
        .takes_lines_of::<PointRow>().answers::<Streamed>(),
        route(
            Get,
            "/v1/collections/{name}/streaming",
            Read,
            N,
            "Streaming ingest: enabled, queued points and settings",
            streaming::get,
        )
        .answers::<StreamingState>(),
        route(
            Put,
            "/v1/collections/{name}/streaming",
            Write,
            N,
            "Turn streaming ingest on {buffer_size, batch_size, flush_interval_ms} (each optional)",
            streaming::enable,
        )
        .takes::<StreamingSettings>().answers::<StreamingState>(),
        route(
            Delete,
            "/v1/collections/{name}/streaming",
            Write,
            N,
            "Turn streaming ingest off (queued points are applied first)",
            streaming::disable,
        )
        .answers::<StreamingState>(),
        route(
            Post,
            "/v1/collections/{name}/points/get",
            Read,
            N,
            "Get points by ids {ids, with_vector, with_payload}",
            points::get_many,
        )
        .takes::<GetPoints>().answers::<PointList>(),
        route(
            Get,
            "/v1/collections/{name}/points/{id}",
            Read,
            N,
            "Get one point",
            points::get_one,
        )
        .answers::<PointOut>(),
        route(
            Post,
            "/v1/collections/{name}/points/delete",
            Write,
            N,
            "Delete points {ids} or {filter}",
            points::delete,
        )
        .takes::<DeletePoints>().answers::<PointsDeleted>(),
        route(
            Post,
            "/v1/collections/{name}/points/scroll",
            Read,
            N,
            "Page through points {filter, limit, cursor}",
            points::scroll,
        )
        .takes::<ScrollPoints>().answers::<ScrollPage>(),
        route(
            Post,
            "/v1/collections/{name}/points/count",
            Read,
            N,
            "Count points {filter}",
            points::count,
        )
        .takes::<CountPoints>().answers::<PointCount>(),
        route(
            Post,
            "/v1/collections/{name}/search",
            Read,
            N,
            "Vector search {vector, ...} or full-text search {text: {query, field}, ...} with {limit, offset, filter, ef|quality, rerank, oversampling, with_payload, with_vector, score_threshold}",
            search::search,
        )
        .takes::<Search>().answers::<SearchAnswer>(),
        route(
            Post,
            "/v1/collections/{name}/search/batch",
            Read,
            N,
            "Several searches {searches: [...]}",
            search::search_batch,
        )
        .takes::<SearchBatch>().answers::<BatchAnswer>(),
        route(
            Get,
            "/v1/collections/{name}/text",
            Read,
            N,
            "Full-text index: its fields (analyzer, BM25) and counts",
            text::get,
        )
        .answers::<TextIndexState>(),
        route(
            Put,
            "/v1/collections/{name}/text",
            Write,
            N,
            "Set the full-text fields {fields: [{name, analyzer, bm25}]} (indexes existing points)",
            text::set,
        )
        .takes::<TextConfig>().answers::<TextIndexState>(),
        route(
            Delete,
            "/v1/collections/{name}/text",
            Write,
            N,
            "Turn full-text indexing off",
            text::turn_off,
        )
        .answers::<TextIndexState>(),
        route(
            Get,
            "/v1/collections/{name}/indexes",
            Read,
            N,
            "List payload indexes",
            admin::list_indexes,
        )
        .answers::<IndexList>(),
        route(
            Post,
            "/v1/collections/{name}/indexes",
            Write,
            N,
            "Create a payload index {field, kind: keyword|integer|float|bool}",
            admin::create_index,
        )
        .takes::<CreateIndex>().answers::<IndexList>().created(),
        route(
            Delete,
            "/v1/collections/{name}/indexes/{field}",
            Write,
            N,
            "Drop a payload index",
            admin::drop_index,
        )
        .answers::<IndexDropped>(),
        route(
            Post,
            "/v1/collections/{name}/train_quantizer",
            Write,
            N,
            "Train a quantized collection's quantizer now on the points it holds (durable); 400 for storage mode full",
            collections::train_quantizer,
        )
        .no_body()
        .answers::<QuantizerTrained>(),
        route(
            Post,
            "/v1/collections/{name}/flush",
            Write,
            N,
            "Flush one collection (durability barrier)",
            admin::flush_collection,
        )
        .no_body()
        .answers::<Flushed>(),
        route(
            Post,
            "/v1/flush",
            Write,
            N,
            "Flush every collection",
            admin::flush_all,
        )
        .no_body()
        .answers::<Flushed>(),
        route(
            Post,
            "/v1/verify",
            Write,
            N,
            "Verify every file of the database (checksums, cross-checks); the engine's report",
            admin::verify,
        )
        .no_body()
        .answers::<Verified>(),
        route(
            Post,
            "/v1/snapshot",
            Write,
            N,
            "Snapshot the whole database into the new archive {name} of the server's snapshot directory (a plain file name ending in .snapshot)",
            snapshots::snapshot,
        )
        .takes::<SnapshotName>().answers::<crate::snapshots::SnapshotDescription>(),
        route(
            Post,
            "/v1/restore",
            Write,
            N,
            "Replace the whole database with the archive {name} of the server's snapshot directory (verified first)",
            snapshots::restore,
        )
        .takes::<SnapshotName>().answers::<Restored>(),
        route(
            Get,
            "/v1/snapshots",
            Read,
            N,
            "List the archives of the server's snapshot directory",
            snapshots::list,
        )
        .answers::<SnapshotList>(),
        route(
            Delete,
            "/v1/snapshots/{name}",
            Write,
            N,
            "Delete an archive of the server's snapshot directory",
            snapshots::delete,
        )
        .answers::<SnapshotDeleted>(),
        route(
            Post,
            "/v1/metadata_collections",
            Write,
            N,
            "Create a metadata collection {name}: payload-only points (filters, scroll, count, text search; a vector search is an error)",
            graphs::create_metadata,
        )
        .takes::<CreateMetadata>().answers::<CollectionInfo>().created(),
        route(
            Post,
            "/v1/graphs",
            Write,
            N,
            "Create a graph collection {name, embedding: {dim, metric}, schema} (schemaless without a schema; its nodes are the collection's points)",
            graphs::create,
        )
        .takes::<CreateGraph>().answers::<GraphInfo>().created(),
        route(
            Get,
            "/v1/graphs/{name}",
            Read,
            N,
            "Graph info: points_count, edges_count, embedding, schema",
            graphs::get,
        )
        .answers::<GraphInfo>(),
        route(
            Post,
            "/v1/graphs/{name}/edges",
            Write,
            N,
            "Add one edge {id, source, target, label, properties} (both endpoints must exist)",
            graphs::add_edge,
        )
        .takes::<EdgeIn>().answers::<EdgesAdded>(),
        route(
            Post,
            "/v1/graphs/{name}/edges/batch",
            Write,
            N,
            "Add edges {edges: [...]}, all or none, as one logged write",
            graphs::add_edges,
        )
        .takes::<AddEdges>().answers::<EdgesAdded>(),
        route(
            Get,
            "/v1/graphs/{name}/edges",
            Read,
            N,
            "List edges sorted by id (?label=L: only that label)",
            graphs::list_edges,
        )
        .answers::<EdgeList>(),
        route(
            Delete,
            "/v1/graphs/{name}/edges/{id}",
            Write,
            N,
            "Remove an edge ({removed: false} when there is none)",
            graphs::remove_edge,
        )
        .answers::<EdgeRemoved>(),
        route(
            Get,
            "/v1/graphs/{name}/nodes/{id}/outgoing",
            Read,
            N,
            "A node's outgoing edges",
            graphs::outgoing,
        )
        .answers::<EdgeList>(),
        route(
            Get,
            "/v1/graphs/{name}/nodes/{id}/incoming",
            Read,
            N,
            "A node's incoming edges",
            graphs::incoming,
        )
        .answers::<EdgeList>(),
        route(
            Get,
            "/v1/graphs/{name}/nodes/{id}/degree",
            Read,
            N,
            "A node's in- and out-degree",
            graphs::degree,
        )
        .answers::<Degree>(),
        route(
            Get,
            "/v1/graphs/{name}/nodes/{id}/payload",
            Read,
            N,
            "A node's payload (404 when the node does not exist)",
            graphs::get_node_payload,
        )
        .answers::<NodePayload>(),
        route(
            Put,
            "/v1/graphs/{name}/nodes/{id}/payload",
            Write,
            N,
            "Set a node's payload {payload} (an existing node keeps its embedding; a new node has none)",
            graphs::set_node_payload,
        )
        .takes::<SetNodePayload>().answers::<NodePayloadSet>(),
        route(
            Post,
            "/v1/graphs/{name}/traverse/bfs",
            Read,
            N,
            "Breadth-first traversal {source, min_depth, max_depth, limit, rel_types}: each node once, at its shortest depth, with a path",
            graphs::traverse_bfs,
        )
        .takes::<Traverse>().answers::<TraversalAnswer>(),
        route(
            Post,
            "/v1/graphs/{name}/traverse/dfs",
            Read,
            N,
            "Depth-first traversal {source, min_depth, max_depth, limit, rel_types}",
            graphs::traverse_dfs,
        )
        .takes::<Traverse>().answers::<TraversalAnswer>(),
        route(
            Post,
            "/v1/graphs/{name}/search",
            Read,
            N,
            "Search by embedding {vector, limit, with_payload}: the nearest nodes, best first",
            graphs::search,
        )
        .takes::<EmbeddingSearch>().answers::<SearchAnswer>(),
        route(
            Post,
            "/v1/query",
            Write,
            N,
            "Query language: {query, params} -> {rows}",
            admin::query_language,
        )
        .takes::<QueryText>().answers::<QueryAnswer>(),
    ]
}

/// Every route.
pub(crate) fn table() -> Vec<Route> {
    let mut routes = native();
    routes.extend(qdrant::routes());
    routes
}

/// The application: the table's routes behind the metrics, auth and limit layers.
pub(crate) fn build(state: AppState, routes: Vec<Route>) -> Router {
    let mut router = Router::new();
    for r in routes {
        router = router.route(r.spec.path, r.handler);
    }
    let body_limit = state.limits.max_body_bytes;
    router
        .fallback(admin::not_found)
        .method_not_allowed_fallback(admin::method_not_allowed)
        .route_layer(from_fn_with_state(state.clone(), limits::shed_and_time))
        .route_layer(from_fn_with_state(state.clone(), auth::require_key))
        .route_layer(from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}
