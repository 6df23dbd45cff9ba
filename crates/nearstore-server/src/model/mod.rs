//! The native API's bodies as plain typed values, and the one validating conversion of
//! each request into what the engine takes.
//!
//! Two layers, like a command line parsed into plain flags and then validated once: serde
//! parses a body into the structs here (every field typed; lists are
//! [`Bounded`](crate::body::bounded::Bounded) so a batch stops at its limit; payloads and
//! filters stay raw JSON text until the conversion), and one `into_*` method per request
//! checks what serde cannot (exactly one of two fields, column lengths, names) and builds
//! the engine's values. Handlers call that method and the engine, nothing else.
//!
//! Every struct derives [`utoipa::ToSchema`], so `/openapi.json` describes exactly the
//! shapes serde reads and writes. The Qdrant layer (`crate::qdrant`) owns its own bodies;
//! its routes get schemas the same way, through `Route::takes` / `Route::answers`.
//!
//! Must not depend on axum: these are values, not handlers.

pub(crate) mod collections;
pub(crate) mod graphs;
pub(crate) mod points;
pub(crate) mod search;
pub(crate) mod service;
pub(crate) mod snapshots;
pub(crate) mod streaming;
pub(crate) mod text;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::body::raw_to_value;
use crate::error::Result;

/// A payload or filter held as raw JSON text until it is converted (see
/// [`crate::body::raw_to_value`]).
pub(crate) type RawJson = Box<RawValue>;

/// An optional raw filter in the engine's JSON form, as an engine filter.
pub(crate) fn filter(raw: Option<&RawValue>) -> Result<Option<nearstore::Filter>> {
    match raw {
        None => Ok(None),
        Some(raw) => match raw_to_value(raw)? {
            Value::Null => Ok(None),
            v => Ok(Some(
                nearstore::Filter::parse(&v).map_err(nearstore::Error::from)?,
            )),
        },
    }
}

/// An optional raw payload as a JSON value (`null` is no payload).
pub(crate) fn payload(raw: Option<&RawValue>) -> Result<Option<Value>> {
    match raw {
        None => Ok(None),
        Some(raw) => match raw_to_value(raw)? {
            Value::Null => Ok(None),
            v => Ok(Some(v)),
        },
    }
}

pub(crate) fn yes() -> bool {
    true
}
