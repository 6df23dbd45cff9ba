//! A collection's storage mode (how its dense vectors are kept for search) and the
//! settings of its quantizer.
//!
//! `full` keeps `f32` vectors in the index; `sq8`, `binary`, `pq` and `rabitq` walk the
//! HNSW graph on compact codes and rescore the best candidates with the exact `f32`
//! vectors, read in place from the collection's vector store (see
//! `collection/quantized.rs`). The mode and [`QuantizationConfig`] are fixed at creation
//! and persisted in the manifest (manifests from before storage modes open as `full`).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use nearstore_index::{QuantConfig, quant};

/// How a collection keeps its dense vectors for search (names as the reference engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StorageMode {
    /// Full-precision `f32` vectors, on disk and in the index.
    #[default]
    Full,
    /// One byte per dimension (per-dimension ranges from quantiles of a sample).
    Sq8,
    /// One bit per dimension (the sign after centering); rescoring is always on.
    Binary,
    /// Product quantization: one byte per subspace (`dim / 4` subspaces of 256 centroids).
    Pq,
    /// RaBitQ: one bit per dimension after a random rotation, plus correction factors;
    /// rescoring is always on.
    Rabitq,
}

impl StorageMode {
    /// Every mode.
    pub const ALL: [StorageMode; 5] = [
        StorageMode::Full,
        StorageMode::Sq8,
        StorageMode::Binary,
        StorageMode::Pq,
        StorageMode::Rabitq,
    ];

    /// The lowercase name (`full`, `sq8`, `binary`, `pq`, `rabitq`).
    pub const fn name(self) -> &'static str {
        self.index_mode().name()
    }

    /// Parses a name as [`StorageMode::name`] prints it (any case).
    pub fn parse(name: &str) -> Result<Self> {
        StorageMode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown storage mode {name:?} (expected full, sq8, binary, pq or rabitq)"
                ))
            })
    }

    /// Whether the mode stores codes (anything but `full`).
    pub const fn is_quantized(self) -> bool {
        !matches!(self, StorageMode::Full)
    }

    /// Whether a search always rescores (`binary`, `rabitq`: their codes rank too coarsely
    /// to return their scores), so `rerank = false` is refused.
    pub const fn always_rescores(self) -> bool {
        matches!(self, StorageMode::Binary | StorageMode::Rabitq)
    }

    /// The candidates rescored per wanted result when neither the collection nor the
    /// request says (measured per mode on wordnet-dev; see the README).
    pub const fn default_oversampling(self) -> f32 {
        self.index_mode().default_oversampling()
    }

    pub(crate) const fn index_mode(self) -> nearstore_index::StorageMode {
        match self {
            StorageMode::Full => nearstore_index::StorageMode::Full,
            StorageMode::Sq8 => nearstore_index::StorageMode::Sq8,
            StorageMode::Binary => nearstore_index::StorageMode::Binary,
            StorageMode::Pq => nearstore_index::StorageMode::Pq,
            StorageMode::Rabitq => nearstore_index::StorageMode::Rabitq,
        }
    }
}

/// Points at which a quantized vector space trains its quantizer by itself (on the write
/// that reaches it), unless [`QuantizationConfig::train_at`] says otherwise.
pub const DEFAULT_TRAIN_AT: usize = quant::DEFAULT_TRAIN_AT;

/// Settings of a quantized storage mode (ignored by `full`: setting any of them on a
/// `full` vector space is refused).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct QuantizationConfig {
    /// Candidates rescored per wanted result when a request does not say (`None`: the
    /// mode's default, [`StorageMode::default_oversampling`]); 1..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oversampling: Option<f32>,
    /// Train automatically once the vector space holds this many points (`None`:
    /// [`DEFAULT_TRAIN_AT`]; `Some(0)`: only on demand, `train_quantizer()`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_at: Option<usize>,
    /// `rabitq` only: bits per rotated coordinate of a code, 1 or
    /// [`nearstore_index::RABITQ_EX_BITS`] (extended codes, which estimate far closer);
    /// `None`: [`nearstore_index::RABITQ_EX_BITS`] up to
    /// [`nearstore_index::RABITQ_EX_MAX_DIM`] dimensions, 1 above. Used at training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rabitq_bits: Option<u8>,
    /// `sq8` only: the share of the training sample's values (0.5..=1.0) each dimension's
    /// code range covers, the rest clipped evenly at both ends; 1.0 is the whole range.
    /// `None`: [`SQ8_DEFAULT_QUANTILE`]. Used at training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<f32>,
}

/// The SQ8 range's default share of the training sample (0.1% clipped at each end).
pub const SQ8_DEFAULT_QUANTILE: f32 = nearstore_index::SQ8_DEFAULT_QUANTILE;

impl QuantizationConfig {
    /// Whether every setting is the default.
    pub fn is_default(&self) -> bool {
        *self == QuantizationConfig::default()
    }

    /// Refuses bad settings, and any setting on a `full` space (it has no quantizer).
    pub(crate) fn validate(&self, mode: StorageMode) -> Result<()> {
        if !mode.is_quantized() && !self.is_default() {
            return Err(Error::InvalidArgument(
                "oversampling, train_at, rabitq_bits and quantile apply to a quantized \
                 storage mode (sq8, binary, pq, rabitq), not full"
                    .into(),
            ));
        }
        if let Some(o) = self.oversampling {
            quant::check_oversampling(o)?;
        }
        if let Some(b) = self.rabitq_bits {
            if mode != StorageMode::Rabitq {
                return Err(Error::InvalidArgument(format!(
                    "rabitq_bits applies to storage mode rabitq, not {}",
                    mode.name()
                )));
            }
            quant::check_rabitq_bits(b)?;
        }
        if let Some(q) = self.quantile {
            if mode != StorageMode::Sq8 {
                return Err(Error::InvalidArgument(format!(
                    "quantile applies to storage mode sq8, not {}",
                    mode.name()
                )));
            }
            quant::check_sq8_quantile(q)?;
        }
        Ok(())
    }

    /// The index's quantization settings for `mode`.
    pub(crate) fn index_config(&self, mode: StorageMode) -> QuantConfig {
        let mut q = QuantConfig::new(mode.index_mode());
        if let Some(o) = self.oversampling {
            q.oversampling = o;
        }
        if let Some(t) = self.train_at {
            q.train_at = t;
        }
        if let Some(b) = self.rabitq_bits {
            q.rabitq_bits = b;
        }
        if let Some(x) = self.quantile {
            q.sq8_quantile = x;
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_by_name_and_map_onto_the_index_modes() {
        for m in StorageMode::ALL {
            assert_eq!(StorageMode::parse(m.name()).ok(), Some(m));
            assert_eq!(m.index_mode().name(), m.name());
        }
        assert_eq!(StorageMode::parse("SQ8").ok(), Some(StorageMode::Sq8));
        assert!(StorageMode::parse("opq").is_err());
        let json = serde_json::to_string(&StorageMode::Rabitq).unwrap();
        assert_eq!(json, "\"rabitq\"");
    }

    #[test]
    fn settings_are_checked_against_the_mode() {
        let q = QuantizationConfig {
            oversampling: Some(3.0),
            ..Default::default()
        };
        assert!(q.validate(StorageMode::Sq8).is_ok());
        assert!(q.validate(StorageMode::Full).is_err());
        let bad = QuantizationConfig {
            oversampling: Some(0.5),
            ..Default::default()
        };
        assert!(bad.validate(StorageMode::Pq).is_err());
        let bits = |b| QuantizationConfig {
            rabitq_bits: Some(b),
            ..Default::default()
        };
        assert!(bits(1).validate(StorageMode::Rabitq).is_ok());
        assert!(bits(4).validate(StorageMode::Rabitq).is_ok());
        assert!(bits(2).validate(StorageMode::Rabitq).is_err());
        assert!(bits(1).validate(StorageMode::Sq8).is_err());
        assert_eq!(bits(1).index_config(StorageMode::Rabitq).rabitq_bits, 1);
        let quantile = |q| QuantizationConfig {
            quantile: Some(q),
            ..Default::default()
        };
        assert!(quantile(0.99).validate(StorageMode::Sq8).is_ok());
        assert!(quantile(1.0).validate(StorageMode::Sq8).is_ok());
        assert!(quantile(0.4).validate(StorageMode::Sq8).is_err());
        assert!(quantile(f32::NAN).validate(StorageMode::Sq8).is_err());
        assert!(quantile(0.99).validate(StorageMode::Binary).is_err());
        assert!(quantile(0.99).validate(StorageMode::Full).is_err());
        assert_eq!(
            quantile(0.99).index_config(StorageMode::Sq8).sq8_quantile,
            0.99
        );
        assert_eq!(q.index_config(StorageMode::Sq8).oversampling, 3.0);
        assert_eq!(
            QuantizationConfig::default()
                .index_config(StorageMode::Binary)
                .train_at,
            DEFAULT_TRAIN_AT
        );
    }
}
