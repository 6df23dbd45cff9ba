//! Whole-database snapshots: `POST /v1/snapshot` packs every collection at one point into
//! one archive in the server's snapshot directory, `POST /v1/restore` replaces the
//! database with one (verified block by block first), `GET /v1/snapshots` lists them and
//! `DELETE /v1/snapshots/{name}` removes one. Archives are named by a plain file name
//! (`crate::snapshots::check_archive_name`: 400 otherwise), never by a path. Every
//! collection handle is replaced by a restore; requests in flight on the old ones answer
//! 404.

use axum::Json;
use axum::extract::{Path, State};

use crate::body::Typed;
use crate::error::{Result, blocking};
use crate::model::snapshots::{Restored, SnapshotDeleted, SnapshotList, SnapshotName};
use crate::snapshots::{self, SnapshotDescription};
use crate::state::AppState;

/// `POST /v1/snapshot`.
pub(crate) async fn snapshot(
    State(state): State<AppState>,
    Typed(body): Typed<SnapshotName>,
) -> Result<Json<SnapshotDescription>> {
    snapshots::check_archive_name(&body.name)?;
    let (db, root) = (state.db.clone(), state.snapshots_dir.clone());
    let made =
        blocking(move || snapshots::snapshot_database_named(&db, &root, Some(&body.name))).await?;
    Ok(Json(made))
}

/// `POST /v1/restore`.
pub(crate) async fn restore(
    State(state): State<AppState>,
    Typed(body): Typed<SnapshotName>,
) -> Result<Json<Restored>> {
    snapshots::check_archive_name(&body.name)?;
    let (db, root) = (state.db.clone(), state.snapshots_dir.clone());
    let info = blocking(move || snapshots::restore_database_named(&db, &root, &body.name)).await?;
    Ok(Json(Restored {
        collections: info.collections,
        files: info.files,
        bytes: info.bytes,
    }))
}

/// `GET /v1/snapshots`.
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<SnapshotList>> {
    let (db, root) = (state.db.clone(), state.snapshots_dir.clone());
    let listed = blocking(move || snapshots::list_database_snapshots(&db, &root)).await?;
    Ok(Json(SnapshotList { snapshots: listed }))
}

/// `DELETE /v1/snapshots/{name}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SnapshotDeleted>> {
    snapshots::check_archive_name(&name)?;
    let (db, root) = (state.db.clone(), state.snapshots_dir.clone());
    let deleted = name.clone();
    blocking(move || snapshots::delete_database_snapshot(&db, &root, &name)).await?;
    Ok(Json(SnapshotDeleted { deleted }))
}
