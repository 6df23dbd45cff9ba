//! Qdrant collection aliases: `POST /collections/aliases` (create, delete and rename
//! actions, applied in order, all or nothing), `GET /aliases` and
//! `GET /collections/{name}/aliases`. The aliases are the engine's
//! ([`nearstore::Database::update_aliases`]): durable, resolved wherever a collection name is
//! taken, an alias to a missing collection refused (404), an alias named like a collection
//! refused (409). This module only translates.
//!
//! Must not depend on the native routes.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::Response;
use nearstore::AliasChange;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::body::{Typed, qdrant_ok};
use crate::error::{Error, Result, blocking};
use crate::qdrant::answer::Flag;
use crate::qdrant::collections::{check_name, check_named};
use crate::state::AppState;

/// Most actions one request may carry.
const MAX_ALIAS_ACTIONS: usize = 1_000;

/// `POST /collections/aliases` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = QdrantChangeAliases)]
pub(crate) struct ChangeAliases {
    /// Applied in order; if one fails, none is applied.
    pub(crate) actions: Vec<AliasAction>,
}

/// One alias action: exactly one of its keys.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = QdrantAliasAction)]
pub(crate) enum AliasAction {
    #[serde(rename = "create_alias")]
    #[schema(rename = "create_alias")]
    Create {
        collection_name: String,
        alias_name: String,
    },
    #[serde(rename = "delete_alias")]
    #[schema(rename = "delete_alias")]
    Delete { alias_name: String },
    #[serde(rename = "rename_alias")]
    #[schema(rename = "rename_alias")]
    Rename {
        old_alias_name: String,
        new_alias_name: String,
    },
}

impl AliasAction {
    fn into_change(self) -> Result<AliasChange> {
        Ok(match self {
            AliasAction::Create {
                collection_name,
                alias_name,
            } => {
                check_named("alias_name", &alias_name)?;
                AliasChange::Create {
                    alias: alias_name,
                    collection: collection_name,
                }
            }
            AliasAction::Delete { alias_name } => AliasChange::Delete { alias: alias_name },
            AliasAction::Rename {
                old_alias_name,
                new_alias_name,
            } => {
                check_named("new_alias_name", &new_alias_name)?;
                AliasChange::Rename {
                    from: old_alias_name,
                    to: new_alias_name,
                }
            }
        })
    }
}

/// One alias: Qdrant's `AliasDescription`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantAliasDescription)]
pub(crate) struct AliasDescription {
    pub(crate) alias_name: String,
    pub(crate) collection_name: String,
}

/// `GET /aliases` and `GET /collections/{name}/aliases` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = QdrantAliases)]
pub(crate) struct Aliases {
    pub(crate) aliases: Vec<AliasDescription>,
}

/// `POST /collections/aliases`.
pub(crate) async fn update(
    State(state): State<AppState>,
    Typed(body): Typed<ChangeAliases>,
) -> Result<Response> {
    let started = Instant::now();
    if body.actions.len() > MAX_ALIAS_ACTIONS {
        return Err(Error::BadRequest(format!(
            "{} alias actions, at most {MAX_ALIAS_ACTIONS} per request",
            body.actions.len()
        )));
    }
    let changes = body
        .actions
        .into_iter()
        .map(AliasAction::into_change)
        .collect::<Result<Vec<_>>>()?;
    let db = state.db.clone();
    blocking(move || Ok(db.update_aliases(&changes)?)).await?;
    Ok(qdrant_ok(Flag(true), started))
}

fn described(pairs: Vec<(String, String)>) -> Aliases {
    Aliases {
        aliases: pairs
            .into_iter()
            .map(|(alias_name, collection_name)| AliasDescription {
                alias_name,
                collection_name,
            })
            .collect(),
    }
}

/// `GET /aliases`.
pub(crate) async fn list(State(state): State<AppState>) -> Response {
    let started = Instant::now();
    qdrant_ok(described(state.db.list_aliases()), started)
}

/// `GET /collections/{name}/aliases`: `name` is a collection's own name (404 otherwise).
pub(crate) async fn of_collection(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response> {
    let started = Instant::now();
    check_name(&name)?;
    let aliases = state.db.collection_aliases(&name)?;
    let pairs = aliases.into_iter().map(|a| (a, name.clone())).collect();
    Ok(qdrant_ok(described(pairs), started))
}
