//! Request bodies: reading them within the limits, and the JSON extractors every route
//! uses (so bad JSON, a wrong content type and an oversized body answer in the server's
//! error shape, never axum's plain text), plus the Qdrant response envelope.
//!
//! Reading a body, in order, each step refused before the next one allocates:
//!
//! 1. `Content-Length` over `max_body_bytes`: 413 before a byte is read; otherwise the
//!    declared length is reserved from the memory budget (503 when the budget is used up)
//!    and the body read (a body without a length is reserved as it arrives, and cut at
//!    `max_body_bytes`);
//! 2. [`shape::scan`]: nesting deeper than `max_json_depth` is 400, an array or object
//!    with more than `max_json_width` elements 413; the scan's bound of what parsing into
//!    this server's typed bodies allocates is reserved;
//! 3. parsing, during which a [`bounded::Bounded`] list stops at its limit (413);
//! 4. for typed bodies, each raw payload or filter becomes a JSON value only through
//!    [`raw_to_value`], which reserves that value's bound first.
//!
//! Everything reserved stays reserved until the request's ticket is dropped (after the
//! response and the blocking work it handed off).

pub(crate) mod bounded;
pub(crate) mod ndjson;
pub(crate) mod shape;

use std::time::Instant;

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::body::bounded::ParseLimits;
use crate::body::shape::{ShapeError, ShapeLimits};
use crate::error::{Error, Result};
use crate::limits::ticket;
use crate::state::AppState;

/// A typed body (native or Qdrant), read by the one decoder every route uses: the body's
/// bytes and the memory of parsing it are reserved before parsing, depth and width are
/// bounded by a scan, and [`bounded::Bounded`] lists stop at their limits.
/// `Content-Type: application/json` (or `...+json`) is required; errors are 400 with
/// serde's message, 413 over a limit.
#[derive(Debug)]
pub(crate) struct Typed<T>(pub T);

/// A body read as two typed views of the same JSON object (each ignoring the other's keys):
/// e.g. a Qdrant search body and the grouping keys `groups` adds to it. Read like
/// [`Typed`], the bytes once, parsed once per view.
#[derive(Debug)]
pub(crate) struct TypedPair<A, B>(pub A, pub B);

/// Like [`Typed`], but an empty body (with any or no content type) is `T::default()`.
#[derive(Debug)]
pub(crate) struct OptionalTyped<T>(pub T);

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

fn too_large() -> Error {
    Error::TooLarge("request body is larger than the server's limit".to_string())
}

/// Reads the body within `max_body_bytes`, reserving its bytes as it goes (step 1).
async fn read_body(req: Request, state: &AppState) -> Result<Vec<u8>> {
    let max = state.limits.max_body_bytes;
    let ticket = ticket::current();
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let mut buf: Vec<u8> = Vec::new();
    // Bytes of the budget reserved for `buf` so far: always at least its capacity.
    let mut reserved = 0usize;
    if let (Some(n), Some(t)) = (declared, &ticket) {
        t.reserve(n)?;
        reserved = n;
        buf.reserve_exact(n);
    }
    let mut body = req.into_body();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| Error::bad_request(format!("cannot read the request body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let needed = buf.len().saturating_add(data.len());
        if needed > max {
            return Err(too_large());
        }
        if needed > buf.capacity() {
            // Past what was declared (or no length at all): reserve the grown buffer
            // before it grows, doubling so a trickled body costs O(log n) reservations.
            let grown = needed.max(buf.capacity().saturating_mul(2)).min(max);
            if let Some(t) = &ticket {
                t.reserve(grown.saturating_sub(reserved))?;
                reserved = reserved.max(grown);
            }
            buf.reserve_exact(grown - buf.len());
        }
        buf.extend_from_slice(&data);
    }
    Ok(buf)
}

/// Steps 2 and 3: scan, reserve the parse's bound, parse.
fn parse_within<T: DeserializeOwned>(bytes: &[u8], state: &AppState) -> Result<T> {
    let limits = ShapeLimits {
        depth: state.limits.max_json_depth,
        width: state.limits.max_json_width,
    };
    let shape = shape::scan(bytes, limits).map_err(|e| match e {
        ShapeError::TooDeep { limit, offset } => Error::bad_request(format!(
            "JSON nested deeper than the server's limit of {limit} (at byte {offset})"
        )),
        ShapeError::TooWide { limit, offset } => Error::TooLarge(format!(
            "a JSON array or object wider than the server's limit of {limit} elements (at byte {offset})"
        )),
    })?;
    if let Some(t) = ticket::current() {
        t.reserve(shape.typed_bytes())?;
    }
    bounded::parse(bytes, ParseLimits::from_limits(&state.limits))
}

/// Step 4: a raw payload or filter of a typed body as a JSON value, its bound reserved
/// first. The depth was bounded by the scan of the whole body.
pub(crate) fn raw_to_value(raw: &RawValue) -> Result<Value> {
    let text = raw.get().as_bytes();
    if let Some(t) = ticket::current() {
        let shape = shape::scan(text, ShapeLimits::NONE).unwrap_or_default();
        t.reserve(shape.value_tree_bytes())?;
    }
    serde_json::from_slice(text).map_err(|e| Error::bad_request(format!("invalid JSON: {e}")))
}

fn expect_json(req: &Request) -> Result<()> {
    if is_json(req) {
        Ok(())
    } else {
        Err(Error::bad_request(
            "expected a JSON body with Content-Type: application/json",
        ))
    }
}

async fn required<T: DeserializeOwned>(req: Request, state: &AppState) -> Result<T> {
    expect_json(&req)?;
    let bytes = read_body(req, state).await?;
    parse_within(&bytes, state)
}

async fn optional<T: DeserializeOwned + Default>(req: Request, state: &AppState) -> Result<T> {
    let json = is_json(&req);
    let bytes = read_body(req, state).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    if !json {
        return Err(Error::bad_request(
            "expected a JSON body with Content-Type: application/json",
        ));
    }
    parse_within(&bytes, state)
}

impl<T: DeserializeOwned> FromRequest<AppState> for Typed<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self> {
        Ok(Typed(required(req, state).await?))
    }
}

impl<A: DeserializeOwned, B: DeserializeOwned> FromRequest<AppState> for TypedPair<A, B> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self> {
        expect_json(&req)?;
        let bytes = read_body(req, state).await?;
        Ok(TypedPair(
            parse_within(&bytes, state)?,
            parse_within(&bytes, state)?,
        ))
    }
}

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalTyped<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self> {
        Ok(OptionalTyped(optional(req, state).await?))
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
