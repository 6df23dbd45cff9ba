//! Qdrant's collection snapshot routes over the engine's collection snapshots, each packed
//! into one archive file under `<snapshots dir>/<collection>/` (`crate::snapshots`):
//! create, list, download, delete, recover from an upload (multipart field `snapshot`) and
//! recover from a `file://` location inside the server's snapshot directory. Qdrant's
//! full-storage snapshot routes (`POST|GET /snapshots`, `GET|DELETE /snapshots/{name}`)
//! are the database snapshots, `full-snapshot-<stamp>.snapshot` in the snapshot directory
//! itself, with the same shapes; a full snapshot is restored through `POST /v1/restore`. Answers are Qdrant's
//! `SnapshotDescription` (`name`, `creation_time`, `size`, `checksum`: SHA-256 hex) or
//! `true`. Every call waits for its work (`wait` is accepted either way). `priority`:
//! `snapshot` (the default: the snapshot's data replaces the collection) is the only one a
//! single node can honour; `replica` and `no_sync` are 400. A recovered snapshot must be of
//! a collection of the same name (the engine's check).
//!
//! Must not depend on the native routes.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use nearstore::storage::FsBackend;
use nearstore::storage::backend::Backend;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::body::{Typed, qdrant_ok};
use crate::error::{Error, Result, blocking};
use crate::qdrant::answer::Flag;
use crate::qdrant::collections::check_name;
use crate::snapshots::{self, SnapshotDescription};
use crate::state::AppState;

/// `PUT /collections/{name}/snapshots/recover` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = QdrantSnapshotRecover)]
pub(crate) struct SnapshotRecover {
    /// `file:///path` inside the server's snapshot directory.
    pub(crate) location: String,
    /// `snapshot` (default); `replica` and `no_sync` are refused.
    #[serde(default)]
    pub(crate) priority: Option<String>,
    /// The archive's SHA-256, hex: checked before anything is restored.
    #[serde(default)]
    pub(crate) checksum: Option<String>,
    /// Qdrant's key for fetching a remote location: refused (only local files are read).
    #[serde(default)]
    pub(crate) api_key: Option<String>,
}

/// The value of `key` in a raw query string.
fn query_value<'q>(query: Option<&'q str>, key: &str) -> Option<&'q str> {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

fn check_priority(priority: Option<&str>) -> Result<()> {
    match priority {
        None | Some("snapshot") => Ok(()),
        Some(other @ ("replica" | "no_sync")) => Err(Error::not_supported(format!(
            "snapshot recovery priority {other:?} (a single node restores the snapshot's data: priority \"snapshot\")"
        ))),
        Some(other) => Err(Error::bad_request(format!(
            "unknown snapshot priority {other:?}: expected snapshot, replica or no_sync"
        ))),
    }
}

/// `POST /collections/{name}/snapshots`.
pub(crate) async fn create(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response> {
    let started = Instant::now();
    check_name(&name)?;
    state.collection(&name)?;
    let db = state.db.clone();
    let root = state.snapshots_dir.clone();
    let made = blocking(move || snapshots::snapshot_collection(&db, &root, &name)).await?;
    Ok(qdrant_ok(made, started))
}

/// `GET /collections/{name}/snapshots`.
pub(crate) async fn list(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response> {
    let started = Instant::now();
    check_name(&name)?;
    state.collection(&name)?;
    let (db, root) = (state.db.clone(), state.snapshots_dir.clone());
    let listed: Vec<SnapshotDescription> =
        blocking(move || snapshots::list_collection_snapshots(&db, &root, &name)).await?;
    Ok(qdrant_ok(listed, started))
}

/// `GET /collections/{name}/snapshots/{snapshot_name}`: the archive's bytes, streamed.
pub(crate) async fn download(
    State(state): State<AppState>,
    Path((name, snapshot)): Path<(String, String)>,
) -> Result<Response> {
    check_name(&name)?;
    let (db, root) = (state.db.clone(), state.snapshots_dir.clone());
    let archive =
        blocking(move || snapshots::collection_archive(&db, &root, &name, &snapshot)).await?;
    stream_archive(&archive)
}

/// The archive's bytes as a download (`application/octet-stream`, its file name).
fn stream_archive(archive: &std::path::Path) -> Result<Response> {
    let snapshot = archive
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let file = FsBackend
        .open(archive, false)
        .map_err(|e| Error::Engine(e.into()))?;
    let len = file.len().map_err(|e| Error::Engine(e.into()))?;
    // Chunks read on the blocking pool, two in flight at most.
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(2);
    tokio::task::spawn_blocking(move || {
        let mut at = 0u64;
        while at < len {
            let n = usize::try_from(len - at).map_or(1 << 20, |left| left.min(1 << 20));
            let mut chunk = vec![0u8; n];
            let read = file
                .read_exact_at(&mut chunk, at)
                .map(|()| chunk)
                .map_err(std::io::Error::other);
            let failed = read.is_err();
            if tx.blocking_send(read).is_err() || failed {
                return;
            }
            at += n as u64;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok((
        [
            (CONTENT_TYPE, "application/octet-stream".to_string()),
            (CONTENT_LENGTH, len.to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{snapshot}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// `DELETE /collections/{name}/snapshots/{snapshot_name}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path((name, snapshot)): Path<(String, String)>,
) -> Result<Response> {
    let started = Instant::now();
    check_name(&name)?;
    let (db, root) = (state.db.clone(), state.snapshots_dir.clone());
    blocking(move || snapshots::delete_collection_snapshot(&db, &root, &name, &snapshot)).await?;
    Ok(qdrant_ok(Flag(true), started))
}

/// `PUT /collections/{name}/snapshots/recover`: from a local `file://` location.
pub(crate) async fn recover(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<SnapshotRecover>,
) -> Result<Response> {
    let started = Instant::now();
    check_name(&name)?;
    check_priority(body.priority.as_deref())?;
    if body.api_key.is_some() {
        return Err(Error::not_supported(
            "api_key in a snapshot recovery (only local file:// locations are read)",
        ));
    }
    let (db, root) = (state.db.clone(), state.snapshots_dir.clone());
    let location = body.location.clone();
    let archive = blocking(move || snapshots::local_location(&db, &root, &location)).await?;
    let db = state.db.clone();
    blocking(move || snapshots::recover_collection(&db, &name, &archive, body.checksum.as_deref()))
        .await?;
    Ok(qdrant_ok(Flag(true), started))
}

/// `POST /collections/{name}/snapshots/upload`: multipart, the archive in field
/// `snapshot` (query `priority`, `checksum`, `wait`). Written to a hidden file in the
/// collection's snapshot directory, recovered from, removed.
pub(crate) async fn upload(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    mut form: Multipart,
) -> Result<Response> {
    let started = Instant::now();
    check_name(&name)?;
    check_priority(query_value(query.as_deref(), "priority"))?;
    let checksum = query_value(query.as_deref(), "checksum").map(str::to_owned);
    let max = state.limits.max_snapshot_upload_bytes;
    let (db, root) = (state.db.clone(), state.snapshots_dir.clone());
    let collection = name.clone();
    let path = blocking(move || snapshots::upload_path(&db, &root, &collection)).await?;
    let file = FsBackend
        .open(&path, true)
        .map_err(|e| Error::Engine(e.into()))?;
    let written = async {
        let mut at = 0u64;
        let mut found = false;
        while let Some(mut field) = form
            .next_field()
            .await
            .map_err(|e| Error::bad_request(format!("multipart body: {e}")))?
        {
            if field.name() != Some("snapshot") || found {
                return Err(Error::bad_request(format!(
                    "unexpected multipart field {:?}: send one field \"snapshot\"",
                    field.name().unwrap_or("")
                )));
            }
            found = true;
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| Error::bad_request(format!("multipart body: {e}")))?
            {
                if at + chunk.len() as u64 > max {
                    return Err(Error::TooLarge(format!(
                        "snapshot upload larger than the server's limit of {max} bytes"
                    )));
                }
                let (f, offset, len) = (file.clone(), at, chunk.len() as u64);
                blocking(move || {
                    Ok(f.write_all_at(&chunk, offset)
                        .map_err(nearstore::Error::from)?)
                })
                .await?;
                at += len;
            }
        }
        if !found {
            return Err(Error::bad_request(
                "no multipart field \"snapshot\" with the archive",
            ));
        }
        Ok(())
    }
    .await;
    drop(file);
    let db = state.db.clone();
    let upload = path.clone();
    let recovered = match written {
        Ok(()) => {
            blocking(move || {
                snapshots::recover_collection(&db, &name, &upload, checksum.as_deref())
            })
            .await
        }
        Err(e) => Err(e),
    };
    // Best effort: a hidden leftover is skipped by listings either way.
    let _ = FsBackend.remove_file(&path);
    recovered?;
    Ok(qdrant_ok(Flag(true), started))
}

/// `POST /snapshots`: a snapshot of the whole database (Qdrant's full-storage snapshot).
pub(crate) async fn create_full(State(state): State<AppState>) -> Result<Response> {
    let started = Instant::now();
    let (db, root) = (state.db.clone(), state.snapshots_dir.clone());
    let made = blocking(move || snapshots::snapshot_database_named(&db, &root, None)).await?;
    Ok(qdrant_ok(made, started))
}

/// `GET /snapshots`.
pub(crate) async fn list_full(State(state): State<AppState>) -> Result<Response> {
    let started = Instant::now();
    let (db, root) = (state.db.clone(), state.snapshots_dir.clone());
    let listed: Vec<SnapshotDescription> =
        blocking(move || snapshots::list_database_snapshots(&db, &root)).await?;
    Ok(qdrant_ok(listed, started))
}

/// `GET /snapshots/{snapshot_name}`: the archive's bytes, streamed.
pub(crate) async fn download_full(
    State(state): State<AppState>,
    Path(snapshot): Path<String>,
) -> Result<Response> {
    let (db, root) = (state.db.clone(), state.snapshots_dir.clone());
    let archive = blocking(move || snapshots::database_archive(&db, &root, &snapshot)).await?;
    stream_archive(&archive)
}

/// `DELETE /snapshots/{snapshot_name}`.
pub(crate) async fn delete_full(
    State(state): State<AppState>,
    Path(snapshot): Path<String>,
) -> Result<Response> {
    let started = Instant::now();
    let (db, root) = (state.db.clone(), state.snapshots_dir.clone());
    blocking(move || snapshots::delete_database_snapshot(&db, &root, &snapshot)).await?;
    Ok(qdrant_ok(Flag(true), started))
}
