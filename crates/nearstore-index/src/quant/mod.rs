//! Quantized storage of an index's vectors: compact codes the graph is walked on, and the
//! exact `f32` vectors read back from a [`VectorSource`] (the engine's storage mapping) to
//! rescore the best candidates.
//!
//! - [`StorageMode`]: `full` (the index keeps its own aligned `f32` rows), `sq8` (one byte
//!   per dimension, per-dimension ranges from quantiles of a sample) and `binary` (one bit
//!   per dimension: the sign after centering, compared by Hamming distance), `rabitq` and
//!   `pq` (product quantization: `m` bytes, table lookups per query).
//! - [`QuantConfig`]: the mode, the default oversampling and the training threshold.
//! - [`SearchOptions`]: per-search `rerank` / `oversampling` overrides.
//! - [`VectorSource`]: where rescoring and exact scans of a quantized index read `f32`
//!   vectors; [`MemorySource`] is an in-memory one for tests and benchmarks.
//!
//! Invariants: a quantized index holds no `f32` copy of its vectors once trained (before
//! training it keeps them, and searches in `f32`, exactly like `full`); the codes of every
//! slot are computed with the one codebook the index holds; scores returned with rerank on
//! are exact `f32` scores. This module depends on nothing above the index layer.

pub(crate) mod binary;
pub(crate) mod kmeans;
pub(crate) mod pq;
pub use pq::{CENTROIDS as PQ_CENTROIDS, default_subspaces as pq_subspaces};
pub(crate) mod rabitq;
pub(crate) mod sq8;

use std::sync::Arc;

use nearstore_storage::VECTOR_READ_AHEAD;
use parking_lot::RwLock;
use rustc_hash::FxHashMap;

use crate::error::{Error, Result};

/// How an index stores the vectors its graph is walked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StorageMode {
    /// `f32` rows inside the index; exact traversal distances.
    #[default]
    Full,
    /// One `u8` code per dimension; asymmetric `f32` query x `u8` code distances.
    Sq8,
    /// One bit per dimension (sign after centering); Hamming traversal, rescoring always on.
    Binary,
    /// RaBitQ: one bit per dimension after a random rotation plus four correction floats;
    /// traversal on the unbiased estimate, rescoring (always on) pruned by its error bound.
    Rabitq,
    /// Product quantization: `m` subspaces (default `dim / 4`) of 256 k-means centroids
    /// each, one byte per subspace; traversal on per-query lookup tables (ADC).
    Pq,
}

impl StorageMode {
    /// Every mode, in persisted order (the position is the on-disk byte).
    pub const ALL: [StorageMode; 5] = [
        StorageMode::Full,
        StorageMode::Sq8,
        StorageMode::Binary,
        StorageMode::Rabitq,
        StorageMode::Pq,
    ];

    /// The lowercase name (`full`, `sq8`, `binary`, `rabitq`, `pq`).
    pub const fn name(self) -> &'static str {
        match self {
            StorageMode::Full => "full",
            StorageMode::Sq8 => "sq8",
            StorageMode::Binary => "binary",
            StorageMode::Rabitq => "rabitq",
            StorageMode::Pq => "pq",
        }
    }

    /// Parses a name as [`StorageMode::name`] prints it (any case).
    pub fn parse(name: &str) -> Result<Self> {
        StorageMode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown or unsupported storage mode {name:?} (expected full, sq8, binary, rabitq or pq)"
                ))
            })
    }

    /// The oversampling used when a search does not give one: candidates rescored per
    /// result wanted (measured on wordnet-dev, see the README's benchmark section).
    pub const fn default_oversampling(self) -> f32 {
        match self {
            StorageMode::Full => 1.0,
            StorageMode::Sq8 => 1.5,
            StorageMode::Binary => 8.0,
            StorageMode::Rabitq => 3.0,
            StorageMode::Pq => 4.0,
        }
    }
}

/// Points at which an untrained quantized index trains itself (on the insert that reaches
/// it): enough for stable per-dimension quantiles.
pub const DEFAULT_TRAIN_AT: usize = 1_024;

/// At most this many vectors are sampled to train a codebook.
pub const TRAIN_SAMPLE: usize = 20_000;

/// Quantization settings of an index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantConfig {
    /// The storage mode.
    pub mode: StorageMode,
    /// Default candidates rescored per wanted result (at least 1).
    pub oversampling: f32,
    /// Train automatically once the index holds this many points (0: only on demand).
    pub train_at: usize,
    /// RaBitQ bits per coordinate: 1, [`RABITQ_EX_BITS`] (extended codes), or 0 for the
    /// default by dimension ([`QuantConfig::rabitq_bits_for`]). Read when a codebook is
    /// trained; a trained codebook records its own.
    pub rabitq_bits: u8,
    /// SQ8: the share of a training sample's values each dimension's code range covers
    /// (the rest, split evenly between both ends, is clipped), 0.5..=1.0; 1.0 is the whole
    /// range. Default [`SQ8_DEFAULT_QUANTILE`]. Read when a codebook is trained.
    pub sq8_quantile: f32,
}

/// The SQ8 range's default coverage of the training sample: 0.1% clipped at each end,
/// so a few outliers do not stretch a dimension's range for every vector.
pub const SQ8_DEFAULT_QUANTILE: f32 = 0.998;

/// Bits per coordinate of extended RaBitQ codes (the one multi-bit width).
pub const RABITQ_EX_BITS: u8 = rabitq::EX_BITS;

/// Dimensions up to which RaBitQ defaults to extended codes: there `EX_BITS` bits a
/// coordinate take no more bytes than one bit over the 512 coordinates a 1-bit code is
/// padded to (at 128-d both are 64 bytes), and estimate far closer (see the README's
/// "Extended RaBitQ codes" section); above it, 1-bit codes stay (at 384-d 4 bits would
/// take 4x the bytes).
pub const RABITQ_EX_MAX_DIM: usize = 128;

impl QuantConfig {
    /// The defaults of `mode`.
    pub fn new(mode: StorageMode) -> Self {
        QuantConfig {
            mode,
            oversampling: mode.default_oversampling(),
            train_at: DEFAULT_TRAIN_AT,
            rabitq_bits: 0,
            sq8_quantile: SQ8_DEFAULT_QUANTILE,
        }
    }

    /// The RaBitQ bits per coordinate a codebook for `dim` is trained with: the configured
    /// ones, or by default [`RABITQ_EX_BITS`] up to [`RABITQ_EX_MAX_DIM`] dimensions and 1
    /// above.
    pub fn rabitq_bits_for(&self, dim: usize) -> u8 {
        match self.rabitq_bits {
            0 if dim <= RABITQ_EX_MAX_DIM => RABITQ_EX_BITS,
            0 => 1,
            b => b,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        check_oversampling(self.oversampling)?;
        if self.rabitq_bits != 0 {
            check_rabitq_bits(self.rabitq_bits)?;
        }
        check_sq8_quantile(self.sq8_quantile)
    }
}

// The ranges of the settings a user gives, checked here once: the index's own
// configuration and the engine's collection options and requests call these.

/// Refuses an oversampling factor (candidates rescored per wanted result) outside 1..=100.
pub fn check_oversampling(oversampling: f32) -> Result<()> {
    if oversampling.is_finite() && (1.0..=100.0).contains(&oversampling) {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "oversampling must be 1..=100, got {oversampling}"
    )))
}

/// Refuses a RaBitQ code width other than 1 or [`RABITQ_EX_BITS`] bits per coordinate.
pub fn check_rabitq_bits(bits: u8) -> Result<()> {
    if bits == 1 || bits == RABITQ_EX_BITS {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "rabitq_bits must be 1 or {RABITQ_EX_BITS}, got {bits}"
    )))
}

/// Refuses an SQ8 quantile (the share of the training sample a code range covers) outside
/// 0.5..=1.0.
pub fn check_sq8_quantile(quantile: f32) -> Result<()> {
    if (0.5..=1.0).contains(&quantile) {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "quantile must be 0.5..=1.0, got {quantile}"
    )))
}

impl Default for QuantConfig {
    fn default() -> Self {
        QuantConfig::new(StorageMode::Full)
    }
}

/// Per-search controls of a quantized index (ignored by a `full` one).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SearchOptions {
    /// Rescore candidates with exact `f32` vectors (default on; `binary` always rescores).
    pub rerank: Option<bool>,
    /// Candidates rescored per wanted result (default: the index's [`QuantConfig`]).
    pub oversampling: Option<f32>,
}

/// Where a quantized index reads exact `f32` vectors (rescoring, exact scans, retraining).
///
/// The engine implements it over its storage mapping (zero-copy: the closure runs while the
/// mapping is borrowed). Vectors are as the user wrote them (not normalized).
pub trait VectorSource: Send + Sync + std::fmt::Debug {
    /// Calls `f` with the vector of `id`; returns `false` (without calling it) when the
    /// source does not hold `id`.
    fn with_vector(&self, id: u64, f: &mut dyn FnMut(&[f32])) -> bool;

    /// Calls `f(i, vector)` for each `ids[i]` the source holds, in order (skipping the
    /// others). Rescoring, exact scans and linking on exact vectors read their candidates
    /// this way, a batch at a time. A source should override it to take its lock once a batch (each lock operation
    /// is a full memory barrier: on wordnet-dev per-id reads were a fifth of a RaBitQ
    /// search), look all the ids up before reading any vector, and announce each vector to
    /// the cache a few places ahead of the one it passes, as the storage layer's
    /// `VectorStore::with_vectors` does (see [`nearstore_storage::VECTOR_READ_AHEAD`]).
    fn with_vectors(&self, ids: &[u64], f: &mut dyn FnMut(usize, &[f32])) {
        for (i, &id) in ids.iter().enumerate() {
            self.with_vector(id, &mut |v| f(i, v));
        }
    }
}

/// [`VectorSource::with_vector`] for a source whose batch read is its primary one: the one
/// id through [`VectorSource::with_vectors`].
pub fn vector_through_batch<S: VectorSource + ?Sized>(
    source: &S,
    id: u64,
    f: &mut dyn FnMut(&[f32]),
) -> bool {
    let mut found = false;
    source.with_vectors(&[id], &mut |_, v| {
        found = true;
        f(v);
    });
    found
}

/// An in-memory [`VectorSource`] (tests, benchmarks).
#[derive(Debug, Default)]
pub struct MemorySource {
    vectors: RwLock<FxHashMap<u64, Box<[f32]>>>,
}

impl MemorySource {
    /// An empty source, shared.
    pub fn new() -> Arc<Self> {
        Arc::new(MemorySource::default())
    }

    /// Stores (or replaces) the vector of `id`.
    pub fn put(&self, id: u64, v: &[f32]) {
        self.vectors.write().insert(id, v.into());
    }

    /// Forgets `id`.
    pub fn remove(&self, id: u64) {
        self.vectors.write().remove(&id);
    }

    /// Bytes held by the vectors (not counting the map).
    pub fn memory_bytes(&self) -> usize {
        self.vectors.read().values().map(|v| v.len() * 4).sum()
    }
}

impl VectorSource for MemorySource {
    fn with_vector(&self, id: u64, f: &mut dyn FnMut(&[f32])) -> bool {
        match self.vectors.read().get(&id) {
            Some(v) => {
                f(v);
                true
            }
            None => false,
        }
    }

    fn with_vectors(&self, ids: &[u64], f: &mut dyn FnMut(usize, &[f32])) {
        // The storage layer's batch read, over boxed rows: the ids looked up a chunk at a
        // time, each row announced `VECTOR_READ_AHEAD` places before it is passed.
        const CHUNK: usize = 32;
        let map = self.vectors.read();
        for (c, chunk) in ids.chunks(CHUNK).enumerate() {
            let mut found: [Option<&[f32]>; CHUNK] = [None; CHUNK];
            for (place, id) in found.iter_mut().zip(chunk) {
                *place = map.get(id).map(|v| &v[..]);
            }
            for v in found.iter().take(VECTOR_READ_AHEAD).flatten() {
                nearstore_distance::prefetch_ahead(v);
            }
            for (i, place) in found.iter().take(chunk.len()).enumerate() {
                if let Some(Some(ahead)) = found.get(i + VECTOR_READ_AHEAD) {
                    nearstore_distance::prefetch_ahead(ahead);
                }
                if let Some(v) = place {
                    f(c * CHUNK + i, v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_by_name_and_unknown_ones_are_errors() {
        for m in StorageMode::ALL {
            assert_eq!(StorageMode::parse(m.name()).ok(), Some(m));
        }
        assert_eq!(StorageMode::parse("SQ8").ok(), Some(StorageMode::Sq8));
        assert_eq!(StorageMode::parse("PQ").ok(), Some(StorageMode::Pq));
        assert!(StorageMode::parse("opq").is_err());
        assert!(
            QuantConfig {
                oversampling: 0.5,
                ..QuantConfig::new(StorageMode::Sq8)
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn memory_source_serves_what_was_put() {
        let s = MemorySource::new();
        s.put(3, &[1.0, 2.0]);
        let mut seen = Vec::new();
        assert!(s.with_vector(3, &mut |v| seen = v.to_vec()));
        assert_eq!(seen, vec![1.0, 2.0]);
        s.put(5, &[3.0]);
        let mut batch = Vec::new();
        s.with_vectors(&[5, 4, 3], &mut |i, v| batch.push((i, v.to_vec())));
        assert_eq!(
            batch,
            vec![(0, vec![3.0]), (2, vec![1.0, 2.0])],
            "4 is skipped"
        );
        s.remove(3);
        assert!(!s.with_vector(3, &mut |_| panic!("removed")));
    }
}

#[cfg(test)]
pub(crate) mod search_tests;

#[cfg(test)]
mod checkpoint_tests;
