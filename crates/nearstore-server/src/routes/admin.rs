//! Native admin routes: payload indexes, flush, health and readiness, and the reserved
//! query-language endpoint.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nearstore::FieldIndexKind;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::body::JsonBody;
use crate::error::{Error, Result, blocking};
use crate::state::AppState;

fn indexes_json(list: Vec<(String, FieldIndexKind)>) -> Value {
    let list: Vec<Value> = list
        .into_iter()
        .map(|(field, kind)| json!({"field": field, "kind": kind}))
        .collect();
    json!({"indexes": list})
}

/// `GET /v1/collections/{name}/indexes`: `{"indexes": [{field, kind}]}`.
pub(crate) async fn list_indexes(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    Ok(Json(indexes_json(state.collection(&name)?.field_indexes())))
}

/// `POST /v1/collections/{name}/indexes` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateIndex {
    field: String,
    kind: FieldIndexKind,
}

/// `POST /v1/collections/{name}/indexes`: 201 with the collection's indexes.
pub(crate) async fn create_index(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<CreateIndex>,
) -> Result<Response> {
    let c = state.collection(&name)?;
    let list = blocking(move || {
        c.create_field_index(&body.field, body.kind)?;
        Ok(c.field_indexes())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(indexes_json(list))).into_response())
}

/// `DELETE /v1/collections/{name}/indexes/{field}`: 404 when there is no such index.
pub(crate) async fn drop_index(
    State(state): State<AppState>,
    Path((name, field)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let c = state.collection(&name)?;
    let f = field.clone();
    let existed = blocking(move || Ok(c.drop_field_index(&f)?)).await?;
    if !existed {
        return Err(Error::NotFound(format!(
            "collection {name:?} has no index on {field:?}"
        )));
    }
    Ok(Json(json!({"dropped": field})))
}

/// `POST /v1/collections/{name}/flush`.
pub(crate) async fn flush_collection(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    let c = state.collection(&name)?;
    blocking(move || Ok(c.flush()?)).await?;
    Ok(Json(json!({"flushed": [name]})))
}

/// `POST /v1/flush`: flushes every collection.
pub(crate) async fn flush_all(State(state): State<AppState>) -> Result<Json<Value>> {
    state.flush_all().await?;
    Ok(Json(json!({"flushed": state.db.list_collections()})))
}

/// `GET /healthz`: the process is up.
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database is open and the server is not shutting down.
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Value>> {
    if state.is_shutting_down() {
        return Err(Error::ShuttingDown);
    }
    Ok(Json(json!({
        "status": "ready",
        "collections": state.db.list_collections().len(),
    })))
}

/// `POST /v1/query`: reserved for the query language (SQL text plus parameters), which
/// arrives with `Database::execute`. The handler will parse `{"query": "...", "params":
/// {...}}`, run it on the blocking pool and answer `{"rows": [...]}`; until then it answers
/// 501.
pub(crate) async fn query_language(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<QueryBody>,
) -> Result<Json<Value>> {
    let db = state.db.clone();
    let result = blocking(move || Ok(db.execute(&body.query, &body.params)?)).await?;
    Ok(Json(
        serde_json::to_value(result).map_err(|e| Error::Internal(e.to_string()))?,
    ))
}

/// `POST /v1/query` body: the statement and its `$name` bindings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueryBody {
    query: String,
    #[serde(default)]
    params: Value,
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
