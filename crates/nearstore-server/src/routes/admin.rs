//! Native admin routes: payload indexes, flush, health and readiness, and the reserved
//! query-language endpoint.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::body::Typed;
use crate::error::{Error, Result, blocking};
use crate::model::collections::{CreateIndex, IndexDropped, IndexList, field_indexes};
use crate::model::service::{Flushed, QueryAnswer, QueryText, Verified};
use crate::state::AppState;

/// `GET /v1/collections/{name}/indexes`: `{"indexes": [{field, kind}]}`.
pub(crate) async fn list_indexes(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<IndexList>> {
    Ok(Json(IndexList {
        indexes: field_indexes(state.collection(&name)?.field_indexes()),
    }))
}

/// `POST /v1/collections/{name}/indexes`: 201 with the collection's indexes.
pub(crate) async fn create_index(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<CreateIndex>,
) -> Result<(StatusCode, Json<IndexList>)> {
    let c = state.collection(&name)?;
    let list = blocking(move || {
        c.create_field_index(&body.field, body.kind.into())?;
        Ok(c.field_indexes())
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(IndexList {
            indexes: field_indexes(list),
        }),
    ))
}

/// `DELETE /v1/collections/{name}/indexes/{field}`: 404 when there is no such index.
pub(crate) async fn drop_index(
    State(state): State<AppState>,
    Path((name, field)): Path<(String, String)>,
) -> Result<Json<IndexDropped>> {
    let c = state.collection(&name)?;
    let f = field.clone();
    let existed = blocking(move || Ok(c.drop_field_index(&f)?)).await?;
    if !existed {
        return Err(Error::NotFound(format!(
            "collection {name:?} has no index on {field:?}"
        )));
    }
    Ok(Json(IndexDropped { dropped: field }))
}

/// `POST /v1/collections/{name}/flush`.
pub(crate) async fn flush_collection(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Flushed>> {
    let c = state.collection(&name)?;
    blocking(move || Ok(c.flush()?)).await?;
    Ok(Json(Flushed {
        flushed: vec![name],
    }))
}

/// `POST /v1/flush`: flushes every collection.
pub(crate) async fn flush_all(State(state): State<AppState>) -> Result<Json<Flushed>> {
    state.flush_all().await?;
    Ok(Json(Flushed {
        flushed: state.db.list_collections(),
    }))
}

/// `POST /v1/verify`: reads every file of the database and checks every checksum and
/// cross-check (`Database::verify`; each collection's writes wait while its files are
/// read). 200 with the report whether or not damage was found; `clean` says which.
pub(crate) async fn verify(State(state): State<AppState>) -> Result<Json<Verified>> {
    let db = state.db.clone();
    let report = blocking(move || Ok(db.verify()?)).await?;
    let damaged_files = report
        .damaged_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let clean = report.is_clean();
    let report = serde_json::to_value(&report)
        .map_err(|e| Error::Internal(format!("the verify report did not serialize: {e}")))?;
    Ok(Json(Verified {
        clean,
        damaged_files,
        report,
    }))
}

/// `GET /healthz`: the process is up (plain text, Qdrant's body).
pub(crate) async fn healthz() -> &'static str {
    "healthz check passed"
}

/// `GET /livez`: the process is up (plain text, Qdrant's body).
pub(crate) async fn livez() -> &'static str {
    "livez check passed"
}

/// `GET /readyz`: the database is open and the server is not shutting down.
/// Plain text, Qdrant's body.
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<&'static str> {
    if state.is_shutting_down() {
        return Err(Error::ShuttingDown);
    }
    Ok("all shards are ready")
}

/// `POST /v1/query`: a query-language statement with its `$name` bindings, run on the
/// blocking pool: `{"rows": [...]}`.
pub(crate) async fn query_language(
    State(state): State<AppState>,
    Typed(body): Typed<QueryText>,
) -> Result<Json<QueryAnswer>> {
    let (query, params) = body.into_parts()?;
    let db = state.db.clone();
    let result = blocking(move || Ok(db.execute(&query, &params)?)).await?;
    Ok(Json(QueryAnswer { rows: result.rows }))
}

/// A known route with another method: 405 in the error shape.
pub(crate) async fn method_not_allowed(req: axum::extract::Request) -> Error {
    Error::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        req.method(),
        req.uri().path()
    ))
}

/// Every unknown route: 404 in the error shape.
pub(crate) async fn not_found(
    State(state): State<AppState>,
    req: axum::extract::Request,
) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let response = Error::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
    .into_response();
    state
        .metrics
        .record_request(&method, "unmatched", 404, started.elapsed());
    response
}
