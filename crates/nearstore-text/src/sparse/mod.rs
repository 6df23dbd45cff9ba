//! Sparse vectors and their inverted index: exact top-k by dot product.
//!
//! - [`SparseVector`] (`vector.rs`): validated, normalised `{indices, values}`.
//! - [`SparseIndex`] (`index.rs`): posting lists per `u32` dimension keyed by point id
//!   (`u64`, the id [`crate::TextIndex`] uses), upsert/delete effective at once, compaction
//!   of dead postings past [`DEAD_FRACTION`]; `postings.rs` holds one list and its cursor.
//! - `search.rs`: MaxScore with block-max bounds, negative weights handled, filtered with
//!   the same [`crate::TextFilter`] and stop check as the text search.
//! - `image.rs`: the checksummed byte image the engine checkpoints.
//!
//! The IDF modifier ([`SparseModifier::Idf`]) multiplies each query value by
//! [`idf`]`(N, df)` = `ln(1 + (N - df + 0.5) / (df + 0.5))`, with N the live documents
//! and df those holding the dimension, computed at search time (so always over the live
//! set); document weights are stored as given.
//!
//! Depends on nothing else in this crate but the error type, the filter trait and the
//! top-k window.

mod image;
mod index;
mod postings;
mod search;
mod vector;

pub use image::SPARSE_FORMAT_VERSION;
pub use index::{DEAD_FRACTION, SparseIndex, idf};
pub use vector::SparseVector;

use serde::{Deserialize, Serialize};

/// How the query side is weighted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SparseModifier {
    /// Plain dot product.
    #[default]
    None,
    /// Query values multiplied by their dimension's [`idf`] over the live documents.
    Idf,
}

/// A sparse index's configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SparseConfig {
    /// Query-side weighting.
    #[serde(default)]
    pub modifier: SparseModifier,
}
