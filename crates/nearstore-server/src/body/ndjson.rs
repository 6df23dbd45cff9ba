//! NDJSON bodies: one JSON value per line (`Content-Type: application/x-ndjson`), read
//! within the same limits as every JSON body. The bytes are read and reserved like any body
//! (`max_body_bytes`, the memory budget); each line is scanned and parsed like a whole JSON
//! body (depth, width, the parse's reserved bound); the number of lines is bounded by
//! `max_batch_points` (413 past it). Blank lines are skipped. A line that does not parse is
//! 400 naming its line number. Nothing is handed on until every line parsed, so a route
//! taking an [`Ndjson`] body is all-or-nothing by construction.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::{parse_within, read_body};
use crate::error::{Error, Result};
use crate::state::AppState;

/// The media types read as NDJSON.
pub(crate) const NDJSON_TYPES: [&str; 3] = [
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
];

/// An NDJSON body: every non-blank line parsed as a `T`, in order.
#[derive(Debug)]
pub(crate) struct Ndjson<T>(pub Vec<T>);

fn is_ndjson(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| NDJSON_TYPES.contains(&v.trim().to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// Parses NDJSON `bytes` into `T`s within the server's limits (see the module docs).
pub(crate) fn parse_lines<T: DeserializeOwned>(bytes: &[u8], state: &AppState) -> Result<Vec<T>> {
    let limit = state.limits.max_batch_points;
    let mut out = Vec::new();
    for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if out.len() == limit {
            return Err(Error::TooLarge(format!(
                "more than the server's limit of {limit} points in one streamed request"
            )));
        }
        let value = parse_within(line, state).map_err(|e| match e {
            Error::BadRequest(m) => Error::BadRequest(format!("line {}: {m}", index + 1)),
            Error::TooLarge(m) => Error::TooLarge(format!("line {}: {m}", index + 1)),
            other => other,
        })?;
        out.push(value);
    }
    Ok(out)
}

impl<T: DeserializeOwned> FromRequest<AppState> for Ndjson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self> {
        if !is_ndjson(&req) {
            return Err(Error::bad_request(format!(
                "expected an NDJSON body (one JSON point per line) with Content-Type: {}",
                NDJSON_TYPES[0]
            )));
        }
        let bytes = read_body(req, state).await?;
        Ok(Ndjson(parse_lines(&bytes, state)?))
    }
}
