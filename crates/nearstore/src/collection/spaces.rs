//! Named dense vectors: one vector space per name, each its own `VectorStore` directory
//! (`vectors-<hex of the name>/`) and `HnswIndex` checkpoint (`hnsw-<hex>.index`), with its
//! own dimension, metric and HNSW parameters. The collection's own vector store and index
//! are the default space `""`, unchanged on disk.
//!
//! A point may omit any named vector. Named vectors travel in the point's upsert (operation
//! tag 5, see `ops.rs`) and are applied with the rest of the upsert: each space stores and
//! indexes the points carrying its name and drops the upserted points that no longer carry
//! it (an upsert replaces the whole point); a delete removes the point from every space.
//! A checkpoint saves each space's index with the sequence number it reflects and
//! checkpoints its store; opening replays the log tail past the smallest of those numbers
//! into every space (inserts are "add or replace" and deletes idempotent, so replaying an
//! operation a space already reflects changes nothing), then checks that each space's
//! index holds exactly its stored vectors, all of live points.
//!
//! Invariant: the set of spaces is fixed at creation (`CollectionConfig::vectors`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Collection;
use super::write::Targets;
use crate::config::{CollectionConfig, VectorSpaceConfig};
use crate::error::{Error, Result};
use crate::point::Point;
use nearstore_index::{HnswIndex, VectorIndex};
use nearstore_storage::{Durability, SharedBackend, VectorStore, VectorStoreOptions};

/// One named dense vector's store and index.
#[derive(Debug)]
pub(crate) struct Space {
    pub config: VectorSpaceConfig,
    pub vectors: VectorStore,
    pub index: HnswIndex,
}

fn hex(name: &str) -> String {
    name.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The vector store directory of the named vector `name`.
pub(crate) fn space_dir(name: &str) -> String {
    format!("vectors-{}", hex(name))
}

/// The HNSW checkpoint of the named vector `name`.
pub(crate) fn space_index_file(name: &str) -> String {
    format!("hnsw-{}.index", hex(name))
}

/// Writes the empty index of every named vector of a new collection.
pub(super) fn create_spaces(
    backend: &SharedBackend,
    dir: &Path,
    config: &CollectionConfig,
) -> Result<()> {
    for (name, space) in &config.vectors {
        let index = HnswIndex::new(space.dim, space.metric, space.hnsw)?;
        index.save(backend.as_ref(), &dir.join(space_index_file(name)), 0)?;
    }
    Ok(())
}

/// Each component file with the sequence number it reflects.
pub(super) type ComponentSeqs = Vec<(PathBuf, u64)>;

/// Opens every named vector's store and index; returns them and each index file with the
/// sequence number it reflects (for the checkpoint-extent check).
pub(super) fn open_spaces(
    backend: &SharedBackend,
    dir: &Path,
    config: &CollectionConfig,
) -> Result<(BTreeMap<String, Space>, ComponentSeqs)> {
    let mut spaces = BTreeMap::new();
    let mut seqs = Vec::new();
    for (name, space) in &config.vectors {
        let vectors = VectorStore::open_with(
            backend.clone(),
            &dir.join(space_dir(name)),
            space.dim,
            VectorStoreOptions {
                durability: Durability::Bulk,
                ..VectorStoreOptions::default()
            },
        )?;
        let path = dir.join(space_index_file(name));
        let (index, seq) = HnswIndex::load(backend.as_ref(), &path)?;
        if index.dimension() != space.dim || index.metric() != space.metric {
            return Err(Error::corruption(
                path.display(),
                "index dimension or metric differs from the manifest",
            ));
        }
        seqs.push((path, seq));
        spaces.insert(
            name.clone(),
            Space {
                config: *space,
                vectors,
                index,
            },
        );
    }
    Ok((spaces, seqs))
}

impl Collection {
    /// The named vector `name`, or the error for a name the collection does not declare.
    pub(super) fn space(&self, name: &str) -> Result<&Space> {
        self.spaces.get(name).ok_or_else(|| Error::UnknownVector {
            collection: self.name.clone(),
            name: name.to_owned(),
        })
    }

    /// Checks a named dense vector (query or point): declared, its dimension, finite.
    pub(super) fn check_named_vector(&self, id: u64, name: &str, vector: &[f32]) -> Result<()> {
        let space = self.space(name)?;
        if vector.len() != space.config.dim {
            return Err(Error::DimensionMismatch {
                collection: format!("{} (vector {name:?})", self.name),
                expected: space.config.dim,
                actual: vector.len(),
            });
        }
        if let Some(index) = nearstore_index::first_non_finite(vector) {
            return Err(Error::NonFiniteVector { id, index });
        }
        Ok(())
    }

    /// Checks every named vector of a point about to be written.
    pub(super) fn check_named_vectors(&self, p: &Point) -> Result<()> {
        for (name, v) in &p.vectors {
            self.check_named_vector(p.id, name, v)?;
        }
        Ok(())
    }

    /// Applies upserted points (duplicates already resolved) to every space.
    pub(super) fn apply_spaces_upsert(&self, points: &[&Point], targets: Targets) -> Result<()> {
        for (name, space) in &self.spaces {
            let mut items: Vec<(u64, &[f32])> = Vec::new();
            let mut dropped = Vec::new();
            for p in points {
                match p.vectors.get(name) {
                    Some(v) => items.push((p.id, v.as_slice())),
                    None => dropped.push(p.id),
                }
            }
            if targets.spaces {
                space.index.delete_ids(&dropped);
            }
            space.vectors.delete_batch(&dropped)?;
            space.vectors.store_batch(&items)?;
            if targets.spaces {
                space.index.insert_batch(&items)?;
            }
        }
        Ok(())
    }

    /// Removes deleted points from every space.
    pub(super) fn apply_spaces_delete(&self, ids: &[u64], targets: Targets) -> Result<()> {
        for space in self.spaces.values() {
            if targets.spaces {
                space.index.delete_ids(ids);
            }
            space.vectors.delete_batch(ids)?;
        }
        Ok(())
    }

    /// A point's named vectors.
    pub(super) fn named_vectors_of(&self, id: u64) -> Result<BTreeMap<String, Vec<f32>>> {
        let mut out = BTreeMap::new();
        for (name, space) in &self.spaces {
            if let Some(v) = space.vectors.retrieve(id)? {
                out.insert(name.clone(), v);
            }
        }
        Ok(out)
    }

    /// Saves every space's index (reflecting `seq`) and checkpoints its store.
    pub(super) fn checkpoint_spaces(&self, seq: u64) -> Result<()> {
        for (name, space) in &self.spaces {
            let live = space.index.len();
            if space.index.slots() > live + live / 5 + 64 {
                space.index.vacuum();
            }
            space.index.save(
                self.backend.as_ref(),
                &self.dir.join(space_index_file(name)),
                seq,
            )?;
            space.vectors.flush()?;
        }
        Ok(())
    }

    /// After recovery: each space's index holds exactly its stored vectors, all of live
    /// points.
    pub(super) fn check_spaces_agree(&self) -> Result<()> {
        let st = self.state.read();
        for (name, space) in &self.spaces {
            let ids = space.vectors.ids();
            let file = self.dir.join(space_index_file(name));
            if space.index.len() != ids.len() {
                return Err(Error::corruption(
                    file.display(),
                    format!(
                        "the index holds {} points, the vector store {}",
                        space.index.len(),
                        ids.len()
                    ),
                ));
            }
            if let Some(id) = ids.iter().find(|id| !st.live.contains(**id)) {
                return Err(Error::corruption(
                    self.dir.join(space_dir(name)).display(),
                    format!("holds a vector of point {id}, which is not live"),
                ));
            }
        }
        Ok(())
    }
}
