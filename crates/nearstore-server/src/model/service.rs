//! Bodies of the operational routes: health, readiness, flush and the query language.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::body::raw_to_value;
use crate::error::Result;
use crate::model::RawJson;

/// Flush answer: the collections flushed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Flushed {
    pub(crate) flushed: Vec<String>,
}

/// `POST /v1/query` body: the statement and its `$name` bindings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueryText {
    pub(crate) query: String,
    /// `{"name": value}` for each `$name` of the statement.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) params: Option<RawJson>,
}

impl QueryText {
    /// The statement and its parameters as a JSON value (`null` when none).
    pub(crate) fn into_parts(self) -> Result<(String, Value)> {
        let params = match self.params {
            Some(raw) => raw_to_value(&raw)?,
            None => Value::Null,
        };
        Ok((self.query, params))
    }
}

/// `POST /v1/query` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueryAnswer {
    #[schema(value_type = Vec<Object>)]
    pub(crate) rows: Vec<nearstore::QueryRow>,
}

/// `POST /v1/verify` answer: whether every file checked clean, the damaged files, and the
/// engine's full report (per file: path, kind, bytes, damage with offsets, notes).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Verified {
    pub(crate) clean: bool,
    pub(crate) damaged_files: Vec<String>,
    #[schema(value_type = Object)]
    pub(crate) report: Value,
}
