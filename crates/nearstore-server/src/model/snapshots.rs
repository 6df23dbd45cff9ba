//! Native database snapshot bodies: where the archive is (a path on the server's file
//! system, absolute and outside the data directory), and what a restore brought back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/snapshot` and `POST /v1/restore` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnapshotPath {
    /// The archive file on the server: absolute, outside the data directory (a snapshot
    /// never overwrites a file).
    pub(crate) path: String,
}

/// `POST /v1/restore` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Restored {
    /// Each restored collection with the sequence number of its log it reflects.
    pub(crate) collections: BTreeMap<String, u64>,
    /// Files restored.
    pub(crate) files: usize,
    /// Their bytes.
    pub(crate) bytes: u64,
}
