//! Native graph routes: create a graph or a metadata collection, describe a graph, edges
//! (add one, add a batch, remove, list), a node's outgoing and incoming edges and degree,
//! breadth- and depth-first traversal, node payloads, and the search by embedding. Each
//! handler converts its body (`crate::model::graphs`) and calls the engine's
//! `GraphCollection` once; `MATCH` goes through `/v1/query` like every statement. The node
//! points themselves (upsert, delete, scroll, ...) are the collection routes': a graph is a
//! collection.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use nearstore::{GraphCollection, SearchRequest, TraversalOptions};

use crate::body::Typed;
use crate::error::{Error, Result, blocking};
use crate::limits::ticket::{engine_deadline, search_by_deadline, write_options};
use crate::model::collections::CollectionInfo;
use crate::model::graphs::{
    AddEdges, CreateGraph, CreateMetadata, Degree, EdgeIn, EdgeList, EdgeQuery, EdgeRemoved,
    EdgesAdded, EmbeddingSearch, GraphInfo, NodePayload, NodePayloadSet, SetNodePayload,
    TraversalAnswer, Traverse,
};
use crate::model::search::{Hit, SearchAnswer};
use crate::state::AppState;

fn graph(state: &AppState, name: &str) -> Result<GraphCollection> {
    Ok(state.db.get_graph_collection(name)?)
}

fn id_of(text: &str, what: &str) -> Result<u64> {
    text.parse().map_err(|_| {
        Error::bad_request(format!("{what} must be an unsigned integer, got {text:?}"))
    })
}

/// `POST /v1/graphs`: 201 with the graph's description.
pub(crate) async fn create(
    State(state): State<AppState>,
    Typed(body): Typed<CreateGraph>,
) -> Result<(StatusCode, Json<GraphInfo>)> {
    let (name, config) = body.into_config(&state.limits)?;
    let db = state.db.clone();
    let info = blocking(move || GraphInfo::of(&db.create_graph_collection(&name, config)?)).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// `POST /v1/metadata_collections`: 201 with the collection's description.
pub(crate) async fn create_metadata(
    State(state): State<AppState>,
    Typed(body): Typed<CreateMetadata>,
) -> Result<(StatusCode, Json<CollectionInfo>)> {
    let db = state.db.clone();
    let c = blocking(move || Ok(db.create_metadata_collection(&body.name)?)).await?;
    Ok((StatusCode::CREATED, Json(CollectionInfo::of(&c))))
}

/// `GET /v1/graphs/{name}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<GraphInfo>> {
    let g = graph(&state, &name)?;
    Ok(Json(blocking(move || GraphInfo::of(&g)).await?))
}

/// `POST /v1/graphs/{name}/edges`: one edge.
pub(crate) async fn add_edge(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<EdgeIn>,
) -> Result<Json<EdgesAdded>> {
    let g = graph(&state, &name)?;
    let edge = body.into_edge()?;
    let options = write_options();
    blocking(move || Ok(g.add_edges_with(vec![edge], &options)?)).await?;
    Ok(Json(EdgesAdded { added: 1 }))
}

/// `POST /v1/graphs/{name}/edges/batch`: edges, all or none.
pub(crate) async fn add_edges(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<AddEdges>,
) -> Result<Json<EdgesAdded>> {
    let g = graph(&state, &name)?;
    let edges = body.into_edges()?;
    let added = edges.len();
    let options = write_options();
    blocking(move || Ok(g.add_edges_with(edges, &options)?)).await?;
    Ok(Json(EdgesAdded { added }))
}

/// `DELETE /v1/graphs/{name}/edges/{id}`.
pub(crate) async fn remove_edge(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<EdgeRemoved>> {
    let id = id_of(&id, "edge id")?;
    let g = graph(&state, &name)?;
    let removed = blocking(move || Ok(g.remove_edge(id)?)).await?;
    Ok(Json(EdgeRemoved { removed }))
}

/// `GET /v1/graphs/{name}/edges[?label=L]`: sorted by id.
pub(crate) async fn list_edges(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<EdgeQuery>,
) -> Result<Json<EdgeList>> {
    let g = graph(&state, &name)?;
    let edges = blocking(move || {
        Ok(match &query.label {
            Some(label) => g.get_edges(label)?,
            None => g.all_edges()?,
        })
    })
    .await?;
    Ok(Json(EdgeList::of(edges)))
}

/// `GET /v1/graphs/{name}/nodes/{id}/outgoing`.
pub(crate) async fn outgoing(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<EdgeList>> {
    let id = id_of(&id, "node id")?;
    let g = graph(&state, &name)?;
    Ok(Json(EdgeList::of(
        blocking(move || Ok(g.get_outgoing(id)?)).await?,
    )))
}

/// `GET /v1/graphs/{name}/nodes/{id}/incoming`.
pub(crate) async fn incoming(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<EdgeList>> {
    let id = id_of(&id, "node id")?;
    let g = graph(&state, &name)?;
    Ok(Json(EdgeList::of(
        blocking(move || Ok(g.get_incoming(id)?)).await?,
    )))
}

/// `GET /v1/graphs/{name}/nodes/{id}/degree`.
pub(crate) async fn degree(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Degree>> {
    let id = id_of(&id, "node id")?;
    let g = graph(&state, &name)?;
    Ok(Json(blocking(move || Ok(g.node_degree(id)?)).await?.into()))
}

/// Which traversal a route runs.
#[derive(Debug, Clone, Copy)]
enum Order {
    Breadth,
    Depth,
}

async fn traverse(
    state: AppState,
    name: String,
    body: Traverse,
    order: Order,
) -> Result<Json<TraversalAnswer>> {
    let g = graph(&state, &name)?;
    let (source, config) = body.into_config(&state.limits)?;
    let options = TraversalOptions {
        deadline: engine_deadline(),
        ..TraversalOptions::default()
    };
    let results = blocking(move || {
        Ok(match order {
            Order::Breadth => g.traverse_bfs_with(source, &config, &options)?,
            Order::Depth => g.traverse_dfs_with(source, &config, &options)?,
        })
    })
    .await?;
    Ok(Json(TraversalAnswer::of(results)))
}

/// `POST /v1/graphs/{name}/traverse/bfs`.
pub(crate) async fn traverse_bfs(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<Traverse>,
) -> Result<Json<TraversalAnswer>> {
    traverse(state, name, body, Order::Breadth).await
}

/// `POST /v1/graphs/{name}/traverse/dfs`.
pub(crate) async fn traverse_dfs(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<Traverse>,
) -> Result<Json<TraversalAnswer>> {
    traverse(state, name, body, Order::Depth).await
}

/// `GET /v1/graphs/{name}/nodes/{id}/payload`: 404 when the node does not exist.
pub(crate) async fn get_node_payload(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<NodePayload>> {
    let id = id_of(&id, "node id")?;
    let g = graph(&state, &name)?;
    let found = blocking(move || Ok(g.get(&[id])?)).await?;
    match found.into_iter().next().flatten() {
        Some(p) => Ok(Json(NodePayload {
            id,
            payload: p.payload,
        })),
        None => Err(Error::NotFound(format!(
            "node {id} does not exist in graph {name:?}"
        ))),
    }
}

/// `PUT /v1/graphs/{name}/nodes/{id}/payload`.
pub(crate) async fn set_node_payload(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    Typed(body): Typed<SetNodePayload>,
) -> Result<Json<NodePayloadSet>> {
    let id = id_of(&id, "node id")?;
    let g = graph(&state, &name)?;
    let payload = body.into_value()?;
    blocking(move || Ok(g.upsert_node_payload(id, payload)?)).await?;
    Ok(Json(NodePayloadSet { id, updated: true }))
}

/// `POST /v1/graphs/{name}/search`: the nodes nearest an embedding, best first.
pub(crate) async fn search(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<EmbeddingSearch>,
) -> Result<Json<SearchAnswer>> {
    let g = graph(&state, &name)?;
    let vector = body.vector.into_vec();
    let request = search_by_deadline(
        SearchRequest::new(&vector)
            .limit(body.limit)
            .with_payload(body.with_payload),
    );
    let hits = blocking(move || Ok(g.query(request)?)).await?;
    Ok(Json(SearchAnswer {
        results: hits.into_iter().map(Hit::from).collect(),
    }))
}
