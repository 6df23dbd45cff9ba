//! Request bodies: the JSON extractor every route uses (so bad JSON, a wrong content type
//! and an oversized body answer in the server's error shape, never axum's plain text), and
//! the response envelopes.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::{Error, Result};

/// A JSON request body: `Content-Type: application/json` (or `...+json`) is required, and
/// errors are 400 with serde's message (413 over the body limit).
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub T);

/// Like [`JsonBody`], but an empty body (with any or no content type) is `T::default()`.
#[derive(Debug)]
pub(crate) struct OptionalJsonBody<T>(pub T);

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
        .unwrap_or(false)
}

async fn read_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::TooLarge("request body is larger than the server's limit".to_string())
        } else {
            Error::bad_request(format!(
                "cannot read the request body: {}",
                rejection.body_text()
            ))
        }
    })
}

pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")))
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        if !is_json(&req) {
            return Err(Error::bad_request(
                "expected a JSON body with Content-Type: application/json",
            ));
        }
        let bytes = read_bytes(req, state).await?;
        Ok(JsonBody(parse(&bytes)?))
    }
}

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let json = is_json(&req);
        let bytes = read_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(T::default()));
        }
        if !json {
            return Err(Error::bad_request(
                "expected a JSON body with Content-Type: application/json",
            ));
        }
        Ok(OptionalJsonBody(parse(&bytes)?))
    }
}

/// Qdrant's success envelope: `{"result": ..., "status": "ok", "time": seconds}`.
pub(crate) fn qdrant_ok<T: Serialize>(result: T, started: Instant) -> Response {
    Json(json!({
        "result": result,
        "status": "ok",
        "time": started.elapsed().as_secs_f64(),
    }))
    .into_response()
}
