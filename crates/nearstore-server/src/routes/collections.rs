//! Native collection routes: create, list, get info, delete. Bodies and the one
//! validating conversion live in `crate::model::collections`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use nearstore::{CollectionConfig, DistanceMetric};

use crate::body::Typed;
use crate::error::{Result, blocking};
pub(crate) use crate::model::collections::HnswOptions;
use crate::model::collections::{
    CollectionDeleted, CollectionInfo, CollectionList, CreateCollection, QuantizerTrained,
};
use crate::state::AppState;

/// Builds an engine config within the server's dimension limit (for the Qdrant layer).
pub(crate) fn collection_config(
    state: &AppState,
    dim: usize,
    metric: DistanceMetric,
    hnsw: &HnswOptions,
) -> Result<CollectionConfig> {
    crate::model::collections::collection_config(&state.limits, dim, metric, hnsw)
}

/// `POST /v1/collections`: 201 with the collection's info.
pub(crate) async fn create(
    State(state): State<AppState>,
    Typed(body): Typed<CreateCollection>,
) -> Result<(StatusCode, Json<CollectionInfo>)> {
    let (name, config) = body.into_config(&state.limits)?;
    let db = state.db.clone();
    let c = blocking(move || Ok(db.create_collection_with_options(&name, config)?)).await?;
    Ok((StatusCode::CREATED, Json(CollectionInfo::of(&c))))
}

/// `GET /v1/collections`.
pub(crate) async fn list(State(state): State<AppState>) -> Json<CollectionList> {
    let collections = state
        .db
        .list_collections()
        .iter()
        .filter_map(|name| state.db.get_vector_collection(name).ok())
        .map(|c| CollectionInfo::of(&c))
        .collect();
    Json(CollectionList { collections })
}

/// `GET /v1/collections/{name}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<CollectionInfo>> {
    Ok(Json(CollectionInfo::of(&state.collection(&name)?)))
}

/// `DELETE /v1/collections/{name}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<CollectionDeleted>> {
    let db = state.db.clone();
    blocking(move || Ok(db.drop_collection(&name)?)).await?;
    Ok(Json(CollectionDeleted { deleted: true }))
}

/// `POST /v1/collections/{name}/train_quantizer`: trains a quantized collection's quantizer
/// now on the points it holds (durably); 400 for a `full` collection.
pub(crate) async fn train_quantizer(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<QuantizerTrained>> {
    let c = state.collection(&name)?;
    let (trained, collection) = blocking(move || {
        let trained = c.train_quantizer()?;
        Ok((trained, CollectionInfo::of(&c)))
    })
    .await?;
    Ok(Json(QuantizerTrained {
        trained,
        collection,
    }))
}
