//! Qdrant's single-vector edits: `PUT /collections/{c}/points/vectors` (set some named
//! dense or sparse vectors of existing points, the rest untouched) and
//! `POST /collections/{c}/points/vectors/delete` (remove vectors by name from points chosen
//! by ids or a filter), and their `points/batch` forms (`update_vectors`,
//! `delete_vectors`). Each is one engine edit ([`VectorCollection::update_vectors`],
//! [`VectorCollection::delete_vectors`]), which checks names, dimensions and that every
//! point exists (404 otherwise) before changing anything.
//!
//! A filter is resolved by the engine ([`VectorCollection::matching_ids`]) under the
//! request's deadline, then the ids are edited; a point deleted by another writer between
//! the two makes the engine refuse the edit (nothing applied), and the filter is resolved
//! again (a few times at most). Must not scan points itself.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::Response;
use nearstore::{ErrorKind, PointSelector, PointVectors, VectorCollection, WriteOptions};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::body::bounded::{Bounded, IdsLimit, PointsLimit, QueriesLimit};
use crate::body::{Typed, qdrant_ok};
use crate::error::{Error, Result, blocking};
use crate::limits::ticket::write_options;
use crate::model::RawJson;
use crate::qdrant::answer::UpdateResult;
use crate::qdrant::collection;
use crate::qdrant::ids::ExtId;
use crate::qdrant::model::{IdIn, is_set};
use crate::qdrant::vectors::VectorStruct;
use crate::state::AppState;

/// How often a filtered vector delete resolves its filter again after a concurrent delete
/// removed one of the points it found.
const FILTER_ATTEMPTS: usize = 3;

/// One point of `PUT points/vectors`: its id and the vectors to set.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = QdrantPointVectors)]
pub(crate) struct PointVectorsIn {
    #[schema(value_type = crate::qdrant::model::PointId)]
    pub(crate) id: IdIn,
    /// The vectors to set: `[..]` (the unnamed one) or `{name: [..] | {indices, values}}`.
    #[schema(value_type = crate::qdrant::schema::VectorStructSchema)]
    pub(crate) vector: VectorStruct,
}

/// `PUT /collections/{name}/points/vectors` body (and the batch `update_vectors`).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = QdrantUpdateVectors)]
pub(crate) struct UpdateVectors {
    #[schema(value_type = Vec<PointVectorsIn>)]
    pub(crate) points: Bounded<PointVectorsIn, PointsLimit>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<RawJson>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) update_filter: Option<RawJson>,
}

/// `POST /collections/{name}/points/vectors/delete` body (and the batch `delete_vectors`):
/// `points` xor `filter`, and the names of the vectors to remove.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = QdrantDeleteVectors)]
pub(crate) struct DeleteVectors {
    #[serde(default)]
    #[schema(value_type = Option<Vec<crate::qdrant::model::PointId>>)]
    pub(crate) points: Option<Bounded<IdIn, IdsLimit>>,
    #[serde(default)]
    #[schema(value_type = Option<crate::qdrant::schema::FilterSchema>)]
    pub(crate) filter: Option<RawJson>,
    /// The vector names (`""`: the unnamed vector); at least one.
    #[schema(value_type = Vec<String>)]
    pub(crate) vector: Bounded<String, QueriesLimit>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<RawJson>,
}

/// A vector delete as engine values: which points, which names.
#[derive(Debug)]
pub(crate) struct VectorDelete {
    selector: PointSelector,
    names: Vec<String>,
}

impl UpdateVectors {
    /// The engine's edits (422 for a point naming no vector; 400 for what is not supported).
    pub(crate) fn into_edits(self) -> Result<Vec<PointVectors>> {
        for (name, raw) in [
            ("shard_key", &self.shard_key),
            ("update_filter", &self.update_filter),
        ] {
            if is_set(raw.as_ref()) {
                return Err(Error::not_supported(format!("\"{name}\"")));
            }
        }
        self.points
            .into_vec()
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let id = ExtId::parse(&p.id)?;
                if p.vector.is_empty() {
                    return Err(Error::validation(format!(
                        "points[{i}].vector: at least one vector to set is required"
                    )));
                }
                p.vector.into_point_vectors(id.internal())
            })
            .collect()
    }
}

impl DeleteVectors {
    /// The points and names (422 for none or both of `points` and `filter`, or no name).
    pub(crate) fn into_delete(self) -> Result<VectorDelete> {
        let selector = crate::qdrant::payload::selector(
            self.points,
            self.filter.as_ref(),
            self.shard_key.as_ref(),
        )?;
        let names = self.vector.into_vec();
        if names.is_empty() {
            return Err(Error::validation(
                "vector: at least one vector name is required",
            ));
        }
        Ok(VectorDelete { selector, names })
    }
}

/// Sets the vectors of `edits` (one engine write).
pub(crate) fn apply_update(
    c: &VectorCollection,
    edits: &[PointVectors],
    options: &WriteOptions,
) -> Result<()> {
    Ok(c.update_vectors(edits, options)?)
}

/// Removes the vectors of `delete` (one engine write; a filter resolved by the engine).
pub(crate) fn apply_delete(
    c: &VectorCollection,
    delete: &VectorDelete,
    options: &WriteOptions,
) -> Result<()> {
    let names: Vec<&str> = delete.names.iter().map(String::as_str).collect();
    let filter = match &delete.selector {
        PointSelector::Ids(ids) => return Ok(c.delete_vectors(ids, &names, options)?),
        PointSelector::Filter(f) => f,
    };
    let mut attempt = 1;
    loop {
        let ids = c.matching_ids(Some(filter), options.deadline.as_ref())?;
        match c.delete_vectors(&ids, &names, options) {
            Err(e) if e.kind() == ErrorKind::NotFound && attempt < FILTER_ATTEMPTS => {
                attempt += 1;
            }
            other => return Ok(other?),
        }
    }
}

/// `PUT /collections/{name}/points/vectors`.
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<UpdateVectors>,
) -> Result<Response> {
    let started = Instant::now();
    let edits = body.into_edits()?;
    let c = collection(&state, &name)?;
    let options = write_options();
    blocking(move || apply_update(&c, &edits, &options)).await?;
    Ok(qdrant_ok(UpdateResult::completed(), started))
}

/// `POST /collections/{name}/points/vectors/delete`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<DeleteVectors>,
) -> Result<Response> {
    let started = Instant::now();
    let delete = body.into_delete()?;
    let c = collection(&state, &name)?;
    let options = write_options();
    blocking(move || apply_delete(&c, &delete, &options)).await?;
    Ok(qdrant_ok(UpdateResult::completed(), started))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::bounded::{ParseLimits, parse};

    fn read<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
        parse(text.as_bytes(), ParseLimits::default())
    }

    #[test]
    fn update_bodies_become_engine_edits() {
        let body = read::<UpdateVectors>(
            r#"{"points": [{"id": 1, "vector": {"text": [1, 2], "s": {"indices": [4], "values": [0.5]}}},
                           {"id": 2, "vector": [3, 4]}]}"#,
        )
        .unwrap();
        let edits = body.into_edits().unwrap();
        assert_eq!(edits[0].id, 1);
        assert_eq!(edits[0].vectors["text"], vec![1.0, 2.0]);
        assert_eq!(edits[0].sparse["s"].indices(), &[4]);
        assert_eq!(edits[1].vectors[""], vec![3.0, 4.0]);
        let empty = read::<UpdateVectors>(r#"{"points": [{"id": 1, "vector": {}}]}"#).unwrap();
        assert_eq!(empty.into_edits().unwrap_err().status().as_u16(), 422);
        let filtered = read::<UpdateVectors>(
            r#"{"points": [{"id": 1, "vector": [1]}], "update_filter": {"must": []}}"#,
        )
        .unwrap();
        assert_eq!(filtered.into_edits().unwrap_err().status().as_u16(), 400);
    }

    #[test]
    fn delete_bodies_need_a_selector_and_names() {
        let d = read::<DeleteVectors>(r#"{"points": [1, 2], "vector": ["image"]}"#)
            .unwrap()
            .into_delete()
            .unwrap();
        assert!(matches!(d.selector, PointSelector::Ids(ref ids) if ids == &[1, 2]));
        assert_eq!(d.names, vec!["image".to_string()]);
        let d = read::<DeleteVectors>(r#"{"filter": {"must": []}, "vector": ["a", "b"]}"#)
            .unwrap()
            .into_delete()
            .unwrap();
        assert!(matches!(d.selector, PointSelector::Filter(_)));
        for bad in [
            r#"{"points": [1], "vector": []}"#,
            r#"{"vector": ["a"]}"#,
            r#"{"points": [1], "filter": {}, "vector": ["a"]}"#,
        ] {
            let err = read::<DeleteVectors>(bad)
                .unwrap()
                .into_delete()
                .unwrap_err();
            assert_eq!(err.status().as_u16(), 422, "{bad}: {err:?}");
        }
    }
}
