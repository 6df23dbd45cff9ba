//! Native whole-database snapshot routes: `POST /v1/snapshot` writes a consistent snapshot
//! of every collection into one archive file on the server, `POST /v1/restore` replaces
//! the database with one (verified block by block first). Both take the archive's path,
//! absolute and outside the data directory (`crate::snapshots`). Every collection handle
//! is replaced by a restore; requests in flight on the old ones answer 404.

use std::path::PathBuf;

use axum::Json;
use axum::extract::State;

use crate::body::Typed;
use crate::error::{Result, blocking};
use crate::model::snapshots::{Restored, SnapshotPath};
use crate::snapshots::{self, SnapshotDescription};
use crate::state::AppState;

/// `POST /v1/snapshot`.
pub(crate) async fn snapshot(
    State(state): State<AppState>,
    Typed(body): Typed<SnapshotPath>,
) -> Result<Json<SnapshotDescription>> {
    let db = state.db.clone();
    let path = PathBuf::from(body.path);
    let made =
        blocking(move || snapshots::snapshot_database_to(&db, &path, &mut |_, _| {})).await?;
    Ok(Json(made))
}

/// `POST /v1/restore`.
pub(crate) async fn restore(
    State(state): State<AppState>,
    Typed(body): Typed<SnapshotPath>,
) -> Result<Json<Restored>> {
    let db = state.db.clone();
    let path = PathBuf::from(body.path);
    let info =
        blocking(move || snapshots::restore_database_from(&db, &path, &mut |_, _| {})).await?;
    Ok(Json(Restored {
        collections: info.collections,
        files: info.files,
        bytes: info.bytes,
    }))
}
