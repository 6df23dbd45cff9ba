//! Collection configuration and its persisted form.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use nearstore_distance::DistanceMetric;
use nearstore_index::HnswParams;
use nearstore_storage::Durability;
use std::collections::BTreeMap;

use nearstore_graph::GraphSchema;
use nearstore_text::{SparseConfig, TextIndexConfig};

/// What a collection holds: its kind is fixed at creation and persisted in the manifest
/// (manifests written before kinds existed open as [`CollectionKind::Vector`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CollectionKind {
    /// Points with vectors (the default).
    #[default]
    Vector,
    /// Payload-only points: filters, scroll, count and text search; no vector search.
    Metadata,
    /// A property graph: points are its nodes (payload, labels in `_labels`, optionally an
    /// embedding as the default vector) and it keeps typed edges between them.
    Graph,
}

impl CollectionKind {
    /// The kind's name as the query language and the server print it.
    pub fn name(self) -> &'static str {
        match self {
            CollectionKind::Vector => "vector",
            CollectionKind::Metadata => "metadata",
            CollectionKind::Graph => "graph",
        }
    }
}

/// Longest sparse vector name, in bytes.
pub const MAX_VECTOR_NAME_BYTES: usize = 128;

pub use crate::quantization::{
    DEFAULT_TRAIN_AT, QuantizationConfig, SQ8_DEFAULT_QUANTILE, StorageMode,
};

/// Largest dimension a collection accepts.
pub const MAX_DIMENSION: usize = 65_536;
/// Default largest serialized payload, in bytes.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 1 << 20;

/// One named dense vector of a collection (fixed at creation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VectorSpaceConfig {
    /// Its dimension.
    pub dim: usize,
    /// Its distance metric.
    pub metric: DistanceMetric,
    /// Its HNSW parameters.
    pub hnsw: HnswParams,
}

impl VectorSpaceConfig {
    /// A named dense vector with default HNSW parameters.
    pub fn new(dim: usize, metric: DistanceMetric) -> Self {
        VectorSpaceConfig {
            dim,
            metric,
            hnsw: HnswParams::default(),
        }
    }
}

/// Everything fixed when a collection is created (the text index can change later:
/// [`crate::VectorCollection::set_text_config`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionConfig {
    /// Vector dimension.
    pub dim: usize,
    /// Distance metric.
    pub metric: DistanceMetric,
    /// How the default vector space keeps its vectors for search (`full`, or a quantized
    /// mode: see [`StorageMode`]).
    pub storage_mode: StorageMode,
    /// The quantizer's settings of a quantized `storage_mode` (default: the mode's).
    pub quantization: QuantizationConfig,
    /// HNSW build and search parameters.
    pub hnsw: HnswParams,
    /// When writes become durable (see [`Durability`]; `Flush` by default: `flush()` is the
    /// barrier).
    pub durability: Durability,
    /// Largest serialized payload accepted, in bytes.
    pub max_payload_bytes: usize,
    /// Full-text indexing of payloads: `None` turns it off; the default (what the reference
    /// engine does) indexes every string leaf of the payload as one field
    /// [`nearstore_text::ALL_FIELD`] with the default analyzer; or named fields, each with
    /// its own analyzer and BM25 parameters.
    pub text: Option<TextIndexConfig>,
    /// Sparse vectors: `None` (the default, as the reference engine does) accepts any name,
    /// each created with the default [`SparseConfig`] on first use; `Some(names)` accepts
    /// only these, each with its configuration (e.g. the IDF modifier). `""` is the default
    /// name.
    pub sparse: Option<BTreeMap<String, SparseConfig>>,
    /// Named dense vectors besides the default one (`dim`, `metric`, `hnsw`), each with its
    /// own dimension, metric and HNSW parameters; a point may omit any of them (default:
    /// none). Fixed at creation.
    pub vectors: BTreeMap<String, VectorSpaceConfig>,
    /// Whether the collection has the default (unnamed) dense vector space `dim`, `metric`,
    /// `hnsw` (`true`, the default). `false`: only the named vectors of
    /// [`CollectionConfig::vectors`] (Qdrant's `vectors: {name: {...}}` collections), or no
    /// vector at all (a payload-only collection); `dim`, `metric` and `hnsw` are then unused,
    /// a point must not carry a default vector and a search on it is refused with
    /// [`crate::Error::NoDefaultVector`]. Fixed at creation; see
    /// [`CollectionConfig::default_space`].
    pub default_vector: bool,
    /// What the collection holds (see [`CollectionKind`]); set by
    /// [`crate::Database::create_metadata_collection`] and
    /// [`crate::Database::create_graph_collection`].
    pub kind: CollectionKind,
    /// A graph collection's schema (`None`: schemaless); only a graph collection has one.
    pub graph_schema: Option<GraphSchema>,
}

impl CollectionConfig {
    /// Defaults for a `dim`-dimensional collection under `metric`.
    pub fn new(dim: usize, metric: DistanceMetric) -> Self {
        CollectionConfig {
            dim,
            metric,
            storage_mode: StorageMode::Full,
            quantization: QuantizationConfig::default(),
            hnsw: HnswParams::default(),
            durability: Durability::Flush,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            text: Some(TextIndexConfig::default()),
            sparse: None,
            vectors: BTreeMap::new(),
            default_vector: true,
            kind: CollectionKind::Vector,
            graph_schema: None,
        }
    }

    /// A collection without the default (unnamed) vector space: add named dense vectors
    /// with [`CollectionConfig::with_vector`] and sparse ones with
    /// [`CollectionConfig::with_sparse_vectors`]; with neither it holds payloads only.
    pub fn without_default_vector() -> Self {
        CollectionConfig {
            default_vector: false,
            // Unused; a valid placeholder so the (empty) default store can exist on disk.
            ..CollectionConfig::new(1, DistanceMetric::Cosine)
        }
    }

    /// The default (unnamed) vector space, `None` when the collection has none.
    pub fn default_space(&self) -> Option<VectorSpaceConfig> {
        self.default_vector.then_some(VectorSpaceConfig {
            dim: self.dim,
            metric: self.metric,
            hnsw: self.hnsw,
        })
    }

    /// The same configuration with the named dense vector `name`.
    pub fn with_vector(mut self, name: &str, space: VectorSpaceConfig) -> Self {
        self.vectors.insert(name.to_owned(), space);
        self
    }

    /// The same configuration accepting only the sparse vectors `names` (with their
    /// configurations).
    pub fn with_sparse_vectors(
        mut self,
        names: impl IntoIterator<Item = (String, SparseConfig)>,
    ) -> Self {
        self.sparse = Some(names.into_iter().collect());
        self
    }

    /// The same configuration storing the default vector space in `mode` (with the
    /// mode's default quantizer settings).
    pub fn with_storage_mode(mut self, mode: StorageMode) -> Self {
        self.storage_mode = mode;
        self
    }

    /// The same configuration with text indexing set to `text` (`None`: off).
    pub fn with_text(mut self, text: Option<TextIndexConfig>) -> Self {
        self.text = text;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if let Some(schema) = &self.graph_schema {
            if self.kind != CollectionKind::Graph {
                return Err(Error::InvalidArgument(
                    "only a graph collection has a graph schema".into(),
                ));
            }
            schema.validate()?;
        }
        if self.kind == CollectionKind::Metadata
            && (self.default_vector || !self.vectors.is_empty())
        {
            return Err(Error::InvalidArgument(
                "a metadata collection holds payloads only (no vectors)".into(),
            ));
        }
        if self.dim == 0 || self.dim > MAX_DIMENSION {
            return Err(Error::InvalidArgument(format!(
                "dimension must be 1..={MAX_DIMENSION}, got {}",
                self.dim
            )));
        }
        if self.max_payload_bytes == 0 {
            return Err(Error::InvalidArgument(
                "max_payload_bytes must be positive".into(),
            ));
        }
        // The index validates its own parameters; check them before anything is created.
        nearstore_index::HnswIndex::new(self.dim, self.metric, self.hnsw)?;
        self.quantization.validate(self.storage_mode)?;
        if self.storage_mode.is_quantized() {
            if !self.default_vector {
                return Err(Error::InvalidArgument(format!(
                    "storage mode {} applies to the default vector, and this collection has none",
                    self.storage_mode.name()
                )));
            }
            // Refuses a metric the quantizers do not support (Manhattan).
            nearstore_index::HnswIndex::new_quantized(
                self.dim,
                self.metric,
                self.hnsw,
                self.quantization.index_config(self.storage_mode),
                nearstore_index::MemorySource::new(),
            )?;
        }
        if let Some(text) = &self.text {
            nearstore_text::TextIndex::new(text.clone())?;
        }
        for name in self.sparse.iter().flat_map(BTreeMap::keys) {
            check_vector_name(name)?;
        }
        for (name, space) in &self.vectors {
            check_vector_name(name)?;
            if name.is_empty() {
                return Err(Error::InvalidArgument(
                    "the default dense vector \"\" is the collection's own dim and metric; \
                     named vectors need a name"
                        .into(),
                ));
            }
            if space.dim == 0 || space.dim > MAX_DIMENSION {
                return Err(Error::InvalidArgument(format!(
                    "vector {name:?}: dimension must be 1..={MAX_DIMENSION}, got {}",
                    space.dim
                )));
            }
            nearstore_index::HnswIndex::new(space.dim, space.metric, space.hnsw)?;
        }
        Ok(())
    }
}

/// Refuses a vector name longer than [`MAX_VECTOR_NAME_BYTES`].
pub(crate) fn check_vector_name(name: &str) -> Result<()> {
    if name.len() > MAX_VECTOR_NAME_BYTES {
        return Err(Error::InvalidArgument(format!(
            "a vector name is at most {MAX_VECTOR_NAME_BYTES} bytes, got {}",
            name.len()
        )));
    }
    Ok(())
}

/// The persisted form of [`CollectionConfig`] (inside the collection manifest).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ConfigRecord {
    dim: usize,
    metric: DistanceMetric,
    storage_mode: StorageMode,
    /// Absent in manifests written before quantized storage, and when default.
    #[serde(default, skip_serializing_if = "QuantizationConfig::is_default")]
    quantization: QuantizationConfig,
    m: usize,
    ef_construction: usize,
    ef_search: usize,
    seed: u64,
    durability: Durability,
    max_payload_bytes: usize,
    /// Absent in manifests written before full-text search: text indexing off.
    #[serde(default)]
    text: Option<TextIndexConfig>,
    /// Absent in manifests written before sparse vectors: any name accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sparse: Option<BTreeMap<String, SparseConfig>>,
    /// Absent in manifests written before named vectors: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    vectors: BTreeMap<String, SpaceRecord>,
    /// Absent in manifests written before collections without a default vector: `true`.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    default_vector: bool,
    /// Absent in manifests written before collection kinds: a vector collection.
    #[serde(default, skip_serializing_if = "is_vector")]
    kind: CollectionKind,
    /// Absent unless the collection is a graph with a schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    graph_schema: Option<GraphSchema>,
}

fn is_vector(kind: &CollectionKind) -> bool {
    *kind == CollectionKind::Vector
}

fn default_true() -> bool {
    true
}

/// serde's `skip_serializing_if` passes a reference.
fn is_true(b: &bool) -> bool {
    *b
}

/// The persisted form of a [`VectorSpaceConfig`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct SpaceRecord {
    dim: usize,
    metric: DistanceMetric,
    m: usize,
    ef_construction: usize,
    ef_search: usize,
    seed: u64,
}

impl From<&VectorSpaceConfig> for SpaceRecord {
    fn from(c: &VectorSpaceConfig) -> Self {
        SpaceRecord {
            dim: c.dim,
            metric: c.metric,
            m: c.hnsw.m,
            ef_construction: c.hnsw.ef_construction,
            ef_search: c.hnsw.ef_search,
            seed: c.hnsw.seed,
        }
    }
}

impl From<&SpaceRecord> for VectorSpaceConfig {
    fn from(r: &SpaceRecord) -> Self {
        VectorSpaceConfig {
            dim: r.dim,
            metric: r.metric,
            hnsw: HnswParams {
                m: r.m,
                ef_construction: r.ef_construction,
                ef_search: r.ef_search,
                seed: r.seed,
            },
        }
    }
}

impl From<&CollectionConfig> for ConfigRecord {
    fn from(c: &CollectionConfig) -> Self {
        ConfigRecord {
            dim: c.dim,
            metric: c.metric,
            storage_mode: c.storage_mode,
            quantization: c.quantization,
            m: c.hnsw.m,
            ef_construction: c.hnsw.ef_construction,
            ef_search: c.hnsw.ef_search,
            seed: c.hnsw.seed,
            durability: c.durability,
            max_payload_bytes: c.max_payload_bytes,
            text: c.text.clone(),
            sparse: c.sparse.clone(),
            vectors: c
                .vectors
                .iter()
                .map(|(n, v)| (n.clone(), v.into()))
                .collect(),
            default_vector: c.default_vector,
            kind: c.kind,
            graph_schema: c.graph_schema.clone(),
        }
    }
}

impl From<&ConfigRecord> for CollectionConfig {
    fn from(r: &ConfigRecord) -> Self {
        CollectionConfig {
            dim: r.dim,
            metric: r.metric,
            storage_mode: r.storage_mode,
            quantization: r.quantization,
            hnsw: HnswParams {
                m: r.m,
                ef_construction: r.ef_construction,
                ef_search: r.ef_search,
                seed: r.seed,
            },
            durability: r.durability,
            max_payload_bytes: r.max_payload_bytes,
            text: r.text.clone(),
            sparse: r.sparse.clone(),
            vectors: r
                .vectors
                .iter()
                .map(|(n, v)| (n.clone(), v.into()))
                .collect(),
            default_vector: r.default_vector,
            kind: r.kind,
            graph_schema: r.graph_schema.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_persisted_form_round_trips() {
        let mut c = CollectionConfig::new(7, DistanceMetric::Euclidean);
        c.hnsw.m = 12;
        c.durability = Durability::PerWrite;
        c.sparse = Some(BTreeMap::from([(
            "splade".to_owned(),
            SparseConfig {
                modifier: nearstore_text::SparseModifier::Idf,
            },
        )]));
        c = c.with_vector("image", VectorSpaceConfig::new(3, DistanceMetric::Cosine));
        let json = serde_json::to_string(&ConfigRecord::from(&c)).unwrap();
        let back: ConfigRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(CollectionConfig::from(&back), c);
        // Written only when false, so older builds' manifests keep their bytes.
        assert!(!json.contains("default_vector"), "{json}");
        let named_only = CollectionConfig::without_default_vector()
            .with_vector("image", VectorSpaceConfig::new(3, DistanceMetric::Cosine));
        let json = serde_json::to_string(&ConfigRecord::from(&named_only)).unwrap();
        assert!(json.contains("\"default_vector\":false"), "{json}");
        let back: ConfigRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(CollectionConfig::from(&back), named_only);
        assert_eq!(named_only.default_space(), None);
        assert_eq!(c.default_space().map(|s| s.dim), Some(7));
    }

    #[test]
    fn bad_configs_are_refused() {
        assert!(
            CollectionConfig::new(0, DistanceMetric::Cosine)
                .validate()
                .is_err()
        );
        let mut c = CollectionConfig::new(4, DistanceMetric::Cosine);
        c.hnsw.m = 1;
        assert!(c.validate().is_err());
    }
}
