//! `GET /openapi.json`: an OpenAPI 3.1 document generated from the route table
//! ([`crate::routes`]), so every route the router serves is listed with its method, path
//! parameters, access level (security), tag and summary, and every error response shares
//! the one error schema. Request and success bodies are the schemas `utoipa` derives from
//! the very types serde reads and writes (`crate::model`), attached to each row with
//! `Route::takes` / `Route::answers`; a route without a typed body that still reads one
//! would say so with `"x-untyped-body": true` (none does: the openapi test checks it).

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

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

fn to_json(schema: &RefOr<Schema>) -> Value {
    // Serializing utoipa's schema types into a JSON value cannot fail (no maps with
    // non-string keys); an empty schema would be the harmless fallback.
    serde_json::to_value(schema).unwrap_or_else(|_| json!({}))
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn operation(spec: &RouteSpec, schemas: &mut Vec<(String, RefOr<Schema>)>) -> Value {
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
    if let Some(request) = spec.request {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "content": {spec.request_type: {"schema": to_json(&request(schemas))}}}),
        );
    } else if !spec.no_body
        && (spec.method == axum::http::Method::POST || spec.method == axum::http::Method::PUT)
    {
        op.insert(
            "requestBody".into(),
            json!({"required": false, "content": json_content(json!({}))}),
        );
        op.insert("x-untyped-body".into(), json!(true));
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
    let success = match (spec.response, spec.path) {
        (Some(response), _) => json_content(to_json(&response(schemas))),
        (None, "/metrics") => {
            json!({"application/openmetrics-text": {"schema": {"type": "string"}}})
        }
        (None, "/openapi.json") => json_content(json!({"type": "object"})),
        (None, "/healthz" | "/livez" | "/readyz") => {
            json!({"text/plain": {"schema": {"type": "string"}}})
        }
        (None, _) => json_content(json!({})),
    };
    let mut responses = Map::new();
    responses.insert(
        spec.success.to_string(),
        json!({"description": "success", "content": success}),
    );
    op.insert(
        "responses".into(),
        json!({
            "400": err, "401": err, "403": err, "404": err, "408": err, "409": err,
            "413": err, "422": err, "500": err, "503": err,
        }),
    );
    if let Some(Value::Object(all)) = op.get_mut("responses") {
        all.extend(responses);
    }
    Value::Object(op)
}

/// The document.
pub(crate) fn build() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    for r in table() {
        let entry = paths
            .entry(r.spec.path.to_string())
            .or_insert_with(|| json!({}));
        if let Value::Object(methods) = entry {
            methods.insert(
                r.spec.method.as_str().to_lowercase(),
                operation(&r.spec, &mut schemas),
            );
        }
    }
    let mut components: Map<String, Value> = schemas
        .iter()
        .map(|(name, schema)| (name.clone(), to_json(schema)))
        .collect();
    components.insert("Error".into(), error_schema());
    // The hand-written Qdrant schemas, exactly as written (utoipa's model cannot hold
    // every JSON Schema keyword they use).
    for (name, schema) in crate::qdrant::schema::components() {
        if components.contains_key(name) {
            components.insert(name.to_string(), schema);
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
            "schemas": components,
        },
    })
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            },
            "time": {"type": "number"},
            "write": {
                "description": "On a write route's 408: whether the write was applied.",
                "enum": ["not_applied", "applied", "failed"],
            },
        },
    })
}

/// `GET /openapi.json`.
pub(crate) async fn document(State(_state): State<AppState>) -> Json<Value> {
    Json(build())
}
