//! Named sparse vectors: one `nearstore_text::SparseIndex` per name, as collection state.
//!
//! A point's sparse vectors travel in its upsert (operation tag 4, see `ops.rs`): the log
//! is their commit point, like every other write. They are applied in the same short write
//! section as the live set (`write.rs`): an upsert replaces all of a point's sparse vectors
//! (a name it no longer carries is removed), a delete removes them all, so sparse search
//! sees exactly the live points at once.
//!
//! Storage: the index image *is* the store of a name's vectors (each point's vector is
//! rebuilt from the postings by `SparseIndex::get`), so no second byte store is kept.
//! Each name is checkpointed into `sparse-<hex of the name>.index` (two checksummed
//! sections: the operation sequence number it reflects, then the checksummed
//! `nearstore-text` image), written by write-temp + rename at every checkpoint before the
//! manifest, which lists the names. Opening loads the listed names and replays the log tail
//! past the smallest of their numbers into them (a name first used after the checkpoint
//! starts empty and is rebuilt from the tail; both operations are idempotent on the index,
//! so replaying an operation an image already reflects changes nothing). No rebuild on
//! open, no fsync per point.
//!
//! Names: `CollectionConfig::sparse` `None` accepts any name (created on first use with
//! the default configuration), `Some` only the declared ones.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Collection, VectorCollection};
use crate::config::check_vector_name;
use crate::error::{Error, Result};
use crate::point::{Point, SearchResult};
use crate::request::{FusionStrategy, Leg, LegQuery, SearchRequest};
use nearstore_storage::SharedBackend;
use nearstore_storage::sections::{read_sections, write_sections};
use nearstore_text::{SparseConfig, SparseIndex, SparseVector};

const SPARSE_MAGIC: [u8; 8] = *b"NSSPRCK1";

/// The file of sparse vector `name`.
pub(crate) fn sparse_file(name: &str) -> String {
    let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
    format!("sparse-{hex}.index")
}

/// Writes the image of sparse vector `name` with the sequence number it reflects.
pub(super) fn write_sparse_index(
    backend: &SharedBackend,
    dir: &Path,
    name: &str,
    image: &[u8],
    seq: u64,
) -> Result<()> {
    write_sections(
        backend.as_ref(),
        &dir.join(sparse_file(name)),
        &SPARSE_MAGIC,
        &[&seq.to_le_bytes(), image],
    )?;
    Ok(())
}

/// Reads the index of sparse vector `name` and its sequence number. A damaged file is a
/// corruption error naming it.
pub(super) fn read_sparse_index(
    backend: &SharedBackend,
    dir: &Path,
    name: &str,
) -> Result<(SparseIndex, u64)> {
    let path = dir.join(sparse_file(name));
    let sections = read_sections(backend.as_ref(), &path, &SPARSE_MAGIC)?;
    let [seq, image] = sections.as_slice() else {
        return Err(Error::corruption(path.display(), "expected two sections"));
    };
    let seq: [u8; 8] = seq
        .as_slice()
        .try_into()
        .map_err(|_| Error::corruption(path.display(), "bad sequence number"))?;
    let index = SparseIndex::decode_image(image).map_err(|e| {
        Error::corruption(
            path.display(),
            format!("section 2 (the sparse index image): {e}"),
        )
    })?;
    Ok((index, u64::from_le_bytes(seq)))
}

impl Collection {
    /// The configuration a sparse name gets, or the error for a name not declared.
    pub(super) fn sparse_config(&self, name: &str) -> Result<SparseConfig> {
        check_vector_name(name)?;
        match &self.config.sparse {
            None => Ok(SparseConfig::default()),
            Some(declared) => declared
                .get(name)
                .copied()
                .ok_or_else(|| Error::UnknownVector {
                    collection: self.name.clone(),
                    name: name.to_owned(),
                }),
        }
    }

    /// Checks the sparse vector names of points about to be written.
    pub(super) fn check_sparse_names(&self, point: &Point) -> Result<()> {
        for name in point.sparse.keys() {
            self.sparse_config(name)?;
        }
        Ok(())
    }

    /// A point's sparse vectors (read under the state lock by the caller).
    pub(super) fn sparse_of(
        sparse: &BTreeMap<String, SparseIndex>,
        id: u64,
    ) -> BTreeMap<String, SparseVector> {
        sparse
            .iter()
            .filter_map(|(name, index)| Some((name.clone(), index.get(id)?)))
            .collect()
    }

    /// Every sparse index's image, by name (for a checkpoint).
    pub(super) fn sparse_images(&self) -> Vec<(String, Vec<u8>)> {
        let st = self.state.read();
        st.sparse
            .iter()
            .map(|(name, index)| (name.clone(), index.encode_image()))
            .collect()
    }

    /// Sparse hits `depth` deep among `allowed` (every live id when `None`); an accepted
    /// name no point carries yet finds nothing.
    pub(super) fn sparse_leg_hits(
        &self,
        name: &str,
        query: &SparseVector,
        depth: usize,
        allowed: Option<&roaring::RoaringTreemap>,
        deadline: Option<&crate::request::Deadline>,
    ) -> Result<Vec<nearstore_index::SearchHit>> {
        let st = self.state.read();
        let Some(index) = st.sparse.get(name) else {
            return Ok(Vec::new());
        };
        let stop = || deadline.is_some_and(crate::request::Deadline::is_expired);
        let hits = index
            .search(
                query,
                depth,
                allowed.map(|a| a as &dyn nearstore_text::TextFilter),
                &stop,
            )?
            .ok_or_else(|| {
                Error::Cancelled("sparse search cancelled: it ran past its deadline".into())
            })?;
        Ok(hits
            .into_iter()
            .map(|(id, score)| nearstore_index::SearchHit { id, score })
            .collect())
    }

    /// Counts the points of each sparse index that are not live (recovery's cross-check).
    pub(super) fn sparse_orphans(&self) -> Option<(String, usize)> {
        let st = self.state.read();
        st.sparse.iter().find_map(|(name, index)| {
            let live = st.live.iter().filter(|id| index.contains(*id)).count();
            (live != index.len()).then(|| (name.clone(), index.len() - live))
        })
    }
}

impl VectorCollection {
    /// The `k` points whose sparse vector `name` (`""`: the default) has the largest dot
    /// product with `vector` (with the name's IDF modifier when configured), best first,
    /// ties to the smaller id. Points without that vector are never found.
    pub fn sparse_search(
        &self,
        vector: &SparseVector,
        k: usize,
        name: &str,
    ) -> Result<Vec<SearchResult>> {
        self.query(
            SearchRequest::new(&[])
                .limit(k)
                .leg(Leg::sparse(name, vector)),
        )
    }

    /// Dense + sparse hybrid search (the reference's `hybrid_sparse_search`): the nearest
    /// neighbours of `dense` and the best dot products with `sparse` on the sparse vector
    /// `name`, fused by `strategy`. A shorthand for a [`SearchRequest`] with both legs.
    pub fn hybrid_sparse_search(
        &self,
        dense: &[f32],
        sparse: &SparseVector,
        k: usize,
        name: &str,
        strategy: FusionStrategy,
    ) -> Result<Vec<SearchResult>> {
        self.query(
            SearchRequest::new(dense)
                .limit(k)
                .leg(Leg::sparse(name, sparse))
                .fusion(strategy),
        )
    }

    /// The sparse vector names the collection holds, with their configurations.
    pub fn sparse_vectors(&self) -> BTreeMap<String, SparseConfig> {
        let st = self.inner.state.read();
        let mut out: BTreeMap<String, SparseConfig> =
            self.inner.config.sparse.clone().unwrap_or_default();
        for (name, index) in &st.sparse {
            out.insert(name.clone(), index.config());
        }
        out
    }
}

impl Leg {
    /// A sparse leg on the sparse vector named `using` (`""`: the default name).
    pub fn sparse(using: &str, vector: &SparseVector) -> Self {
        Leg {
            query: LegQuery::Sparse {
                using: using.to_owned(),
                vector: vector.clone(),
            },
            limit: None,
            filter: None,
        }
    }
}
