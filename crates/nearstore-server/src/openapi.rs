//! `GET /openapi.json`: an OpenAPI 3.1 document generated from the route table
//! ([`crate::routes`]), so every route the router serves is listed with its method, path
//! parameters, access level (security), tag and summary, and every error response shares
//! the one error schema.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use crate::auth::Access;
use crate::routes::{RouteSpec, table};
use crate::state::AppState;

fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect()
}

fn operation(spec: &RouteSpec) -> Value {
    let mut op = Map::new();
    op.insert("summary".into(), json!(spec.summary));
    op.insert("tags".into(), json!([spec.tag]));
    op.insert(
        "operationId".into(),
        json!(format!("{} {}", spec.method, spec.path)),
    );
    op.insert("x-access".into(), json!(spec.access.name()));
    let params = path_params(spec.path);
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if spec.method == axum::http::Method::POST || spec.method == axum::http::Method::PUT {
        op.insert(
            "requestBody".into(),
            json!({"required": false, "content": {"application/json": {"schema": {}}}}),
        );
    }
    op.insert(
        "security".into(),
        if spec.access == Access::Open {
            json!([])
        } else {
            json!([{"apiKey": []}, {"bearer": []}])
        },
    );
    let err = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    op.insert(
        "responses".into(),
        json!({
            "200": {"description": "success", "content": {"application/json": {"schema": {}}}},
            "400": err, "401": err, "403": err, "404": err, "408": err, "409": err,
            "413": err, "500": err, "503": err,
        }),
    );
    Value::Object(op)
}

/// The document.
pub(crate) fn build() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in table() {
        let entry = paths
            .entry(r.spec.path.to_string())
            .or_insert_with(|| json!({}));
        if let Value::Object(methods) = entry {
            methods.insert(r.spec.method.as_str().to_lowercase(), operation(&r.spec));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "NearStore HTTP API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Native REST API under /v1 and a Qdrant-compatible subset under /collections. See the nearstore-server crate docs for the JSON shapes.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "api-key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {
                        "status": {
                            "type": "object",
                            "required": ["error"],
                            "properties": {"error": {"type": "string"}},
                        },
                        "time": {"type": "number"},
                    },
                },
            },
        },
    })
}

/// `GET /openapi.json`.
pub(crate) async fn document(State(_state): State<AppState>) -> Json<Value> {
    Json(build())
}
