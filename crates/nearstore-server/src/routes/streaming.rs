//! Native streaming-ingest routes: turning a collection's streaming on and off, its queue's
//! state, and `points/stream`, which takes NDJSON points and stream-inserts them as one
//! batch (all or nothing). A full queue is the engine's `Overloaded`: 429 with a
//! `Retry-After` header (see `crate::error`).

use axum::Json;
use axum::extract::{Path, State};

use crate::body::OptionalTyped;
use crate::body::ndjson::Ndjson;
use crate::error::{Result, blocking};
use crate::model::points::PointRow;
use crate::model::streaming::{Streamed, StreamingSettings, StreamingState};
use crate::state::AppState;

/// `GET /v1/collections/{name}/streaming`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<StreamingState>> {
    let c = state.collection(&name)?;
    Ok(Json(StreamingState::of(c.streaming_status())))
}

/// `PUT /v1/collections/{name}/streaming`: on with these settings (again: the queue is
/// applied and the drain restarted with the new ones).
pub(crate) async fn enable(
    State(state): State<AppState>,
    Path(name): Path<String>,
    OptionalTyped(body): OptionalTyped<StreamingSettings>,
) -> Result<Json<StreamingState>> {
    let c = state.collection(&name)?;
    let config = body.into_config()?;
    let status = blocking(move || {
        c.enable_streaming(config)?;
        Ok(c.streaming_status())
    })
    .await?;
    Ok(Json(StreamingState::of(status)))
}

/// `DELETE /v1/collections/{name}/streaming`: off; every queued point is applied first.
pub(crate) async fn disable(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<StreamingState>> {
    let c = state.collection(&name)?;
    let status = blocking(move || {
        c.disable_streaming()?;
        Ok(c.streaming_status())
    })
    .await?;
    Ok(Json(StreamingState::of(status)))
}

/// `POST /v1/collections/{name}/points/stream`: NDJSON points, one engine
/// `stream_insert_batch`.
pub(crate) async fn stream_points(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Ndjson(rows): Ndjson<PointRow>,
) -> Result<Json<Streamed>> {
    let c = state.collection(&name)?;
    let points = rows
        .into_iter()
        .map(PointRow::into_point)
        .collect::<Result<Vec<_>>>()?;
    let queued = points.len();
    blocking(move || Ok(c.stream_insert_batch(points)?)).await?;
    Ok(Json(Streamed { queued }))
}
