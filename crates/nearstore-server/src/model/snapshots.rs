//! Native database snapshot bodies: which archive of the server's snapshot directory (a
//! plain file name), the archives there, and what a restore brought back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::snapshots::SnapshotDescription;

/// `POST /v1/snapshot` and `POST /v1/restore` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnapshotName {
    /// The archive's file name in the server's snapshot directory: no path separator, no
    /// `..`, no NUL, no leading `.`, ending in `.snapshot` (else 400). A snapshot never
    /// overwrites an archive (409).
    pub(crate) name: String,
}

/// `GET /v1/snapshots` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SnapshotList {
    /// The archives in the snapshot directory, by name.
    pub(crate) snapshots: Vec<SnapshotDescription>,
}

/// `DELETE /v1/snapshots/{name}` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SnapshotDeleted {
    /// The archive removed.
    pub(crate) deleted: String,
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
