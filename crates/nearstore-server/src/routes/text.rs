//! Native full-text index routes: read a collection's text configuration and counts, set its
//! text fields, turn text indexing off. A change indexes the existing points before the
//! answer (on the blocking pool) and is persisted by the engine (a checkpoint).

use axum::Json;
use axum::extract::{Path, State};
use nearstore::VectorCollection;

use crate::body::Typed;
use crate::error::{Result, blocking};
use crate::model::text::{TextConfig, TextIndexState};
use crate::state::AppState;

fn state_of(c: &VectorCollection) -> TextIndexState {
    TextIndexState::of(c.text_config(), c.text_index_info())
}

/// `GET /v1/collections/{name}/text`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<TextIndexState>> {
    let c = state.collection(&name)?;
    Ok(Json(blocking(move || Ok(state_of(&c))).await?))
}

/// `PUT /v1/collections/{name}/text`: replaces the text fields.
pub(crate) async fn set(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<TextConfig>,
) -> Result<Json<TextIndexState>> {
    let c = state.collection(&name)?;
    let config = body.into_engine();
    let answer = blocking(move || {
        c.set_text_config(Some(config))?;
        Ok(state_of(&c))
    })
    .await?;
    Ok(Json(answer))
}

/// `DELETE /v1/collections/{name}/text`: turns text indexing off.
pub(crate) async fn turn_off(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<TextIndexState>> {
    let c = state.collection(&name)?;
    let answer = blocking(move || {
        c.set_text_config(None)?;
        Ok(state_of(&c))
    })
    .await?;
    Ok(Json(answer))
}
