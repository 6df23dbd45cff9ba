//! Single-vector edits: set or remove some vectors of existing points, leaving their other
//! vectors and their payload untouched (Qdrant's `PUT points/vectors` and
//! `POST points/vectors/delete`).
//!
//! Validation (names declared, dimensions, finite values) and the liveness of every named
//! point are checked under the writer lock, so nothing is logged for a request that names
//! an unknown point or vector: the whole request is refused and nothing changes. The edit
//! is logged as one operation (tag 7, see `ops.rs`), then applied in one pass to the
//! default store and index, each named space and the sparse indexes. Replay applies it the
//! same way (storing a vector is "add or replace", removing one idempotent), and marks the
//! point live: an edit is only ever logged for a live point, and the live set an open
//! starts from may predate the upsert that created it.

use std::collections::BTreeMap;

use super::ops::{self, VectorEdit};
use super::write::Targets;
use super::{Collection, VectorCollection};
use crate::error::{Error, Result};
use crate::request::WriteOptions;
use nearstore_text::SparseVector;

/// Vectors to set on one existing point (see [`VectorCollection::update_vectors`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PointVectors {
    /// The point's id.
    pub id: u64,
    /// Dense vectors to set, by name (`""`: the default vector).
    pub vectors: BTreeMap<String, Vec<f32>>,
    /// Sparse vectors to set, by name.
    pub sparse: BTreeMap<String, SparseVector>,
}

impl PointVectors {
    /// Nothing to set yet on point `id`.
    pub fn new(id: u64) -> Self {
        PointVectors {
            id,
            ..PointVectors::default()
        }
    }

    /// Also sets the dense vector `name` (`""`: the default vector).
    pub fn with_vector(mut self, name: &str, vector: Vec<f32>) -> Self {
        self.vectors.insert(name.to_owned(), vector);
        self
    }

    /// Also sets the sparse vector `name`.
    pub fn with_sparse(mut self, name: &str, vector: SparseVector) -> Self {
        self.sparse.insert(name.to_owned(), vector);
        self
    }
}

impl Collection {
    /// Checks a dense vector to set under `name` (`""`: the default one).
    fn check_dense_edit(&self, id: u64, name: &str, vector: &[f32]) -> Result<()> {
        if name.is_empty() {
            self.check_default_space()?;
            self.check_vector(id, vector)
        } else {
            self.check_named_vector(id, name, vector)
        }
    }

    /// Checks a name to remove: the default vector, a named dense vector, or a sparse
    /// vector the collection accepts (any name when it declares none; `""` is also the
    /// default sparse name).
    fn check_removed_name(&self, name: &str) -> Result<()> {
        crate::config::check_vector_name(name)?;
        if self.spaces.contains_key(name) || (name.is_empty() && self.config.default_vector) {
            return Ok(());
        }
        let known = match &self.config.sparse {
            Some(declared) => declared.contains_key(name),
            None => true,
        };
        if known {
            Ok(())
        } else {
            Err(Error::UnknownVector {
                collection: self.name.clone(),
                name: name.to_owned(),
            })
        }
    }

    /// Logs and applies `edits` after checking them and that every point is live.
    fn edit_vectors(&self, edits: Vec<VectorEdit>, options: &WriteOptions) -> Result<()> {
        self.check_open()?;
        let deadline = options.deadline.as_ref();
        for e in &edits {
            for (name, v) in &e.dense {
                self.check_dense_edit(e.id, name, v)?;
            }
            for name in e.sparse.keys() {
                self.sparse_config(name)?;
            }
        }
        let mut w = self.lock_writer()?;
        for e in &edits {
            for name in &e.removed {
                self.check_removed_name(name)?;
            }
        }
        {
            let st = self.state.read();
            // An expired point is not there for a write either.
            if let Some(e) = edits
                .iter()
                .find(|e| !st.live.contains(e.id) || self.is_expired(&st, e.id))
            {
                return Err(Error::PointNotFound {
                    collection: self.name.clone(),
                    id: e.id,
                });
            }
        }
        if edits.is_empty() {
            return Ok(());
        }
        let bytes = ops::encode_vectors(&edits);
        self.commit_locked(&mut w, &bytes, deadline, edits.len(), || {
            self.apply_vector_edits(&edits, Targets::ALL)
        })
    }

    /// Applies vector edits (live write or replay), in order.
    pub(super) fn apply_vector_edits(&self, edits: &[VectorEdit], targets: Targets) -> Result<()> {
        self.settle_linking_of(edits.iter().map(|e| e.id));
        for e in edits {
            {
                let mut st = self.state.write();
                st.live.insert(e.id);
                if targets.sparse {
                    for (name, v) in &e.sparse {
                        if !st.sparse.contains_key(name) {
                            let index = nearstore_text::SparseIndex::new(self.sparse_config(name)?);
                            st.sparse.insert(name.clone(), index);
                        }
                        if let Some(index) = st.sparse.get_mut(name) {
                            index.upsert(e.id, v);
                        }
                    }
                    for name in &e.removed {
                        if let Some(index) = st.sparse.get_mut(name) {
                            index.delete(e.id);
                        }
                    }
                }
            }
            for (name, v) in &e.dense {
                let item = [(e.id, v.as_slice())];
                if name.is_empty() {
                    self.vectors.store_batch(&item)?;
                    if targets.index {
                        self.index.insert_batch(&item)?;
                        self.unpend([e.id]);
                    }
                } else if let Some(space) = self.spaces.get(name) {
                    space.vectors.store_batch(&item)?;
                    if targets.spaces {
                        space.index.insert_batch(&item)?;
                    }
                }
            }
            for name in &e.removed {
                if name.is_empty() {
                    if targets.index {
                        self.index.delete_ids(&[e.id]);
                    }
                    self.unpend([e.id]);
                    self.vectors.delete_batch(&[e.id])?;
                } else if let Some(space) = self.spaces.get(name) {
                    if targets.spaces {
                        space.index.delete_ids(&[e.id]);
                    }
                    space.vectors.delete_batch(&[e.id])?;
                }
            }
        }
        Ok(())
    }
}

impl VectorCollection {
    /// Sets some vectors of existing points (dense by name, `""` the default one, and
    /// sparse), leaving their other vectors and payloads as they are; one atomic, logged
    /// write, searchable when it returns. An unknown point id fails with
    /// [`Error::PointNotFound`], an undeclared name with [`Error::UnknownVector`], a wrong
    /// dimension with [`Error::DimensionMismatch`]; then nothing is changed. With a deadline
    /// it is all or nothing like [`VectorCollection::upsert_with`].
    pub fn update_vectors(&self, points: &[PointVectors], options: &WriteOptions) -> Result<()> {
        let edits = points
            .iter()
            .map(|p| VectorEdit {
                id: p.id,
                dense: p.vectors.clone(),
                sparse: p.sparse.clone(),
                removed: Vec::new(),
            })
            .collect();
        self.inner.edit_vectors(edits, options)
    }

    /// Removes the vectors `names` from the points `ids` (a name removes the dense and the
    /// sparse vector of that name, where the point has them; `""` the default dense and the
    /// default sparse vector), leaving the points, their payloads and their other vectors; a point then found
    /// by no search on those vectors. A name a point does not carry is skipped; an unknown
    /// point id or vector name fails as in [`VectorCollection::update_vectors`], changing
    /// nothing.
    pub fn delete_vectors(
        &self,
        ids: &[u64],
        names: &[&str],
        options: &WriteOptions,
    ) -> Result<()> {
        let removed: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let edits = ids
            .iter()
            .map(|&id| VectorEdit {
                id,
                removed: removed.clone(),
                ..VectorEdit::default()
            })
            .collect();
        self.inner.edit_vectors(edits, options)
    }
}
