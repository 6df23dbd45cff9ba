//! Collection bodies: create, and the collection description every route answers with.

use nearstore::{
    CollectionConfig, DistanceMetric, Durability, FieldIndexKind, QuantizationConfig, StorageMode,
    VectorCollection,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Limits;
use crate::error::{Error, Result};

/// Distance metric by name; read through [`DistanceMetric`]'s one parse, so every alias
/// it accepts (`l2`, `dotproduct`, `inner`, `ip`, ...) in any case is accepted here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub(crate) enum MetricName {
    /// Cosine similarity (higher is better).
    #[default]
    Cosine,
    /// Euclidean distance (lower is better).
    Euclidean,
    /// Dot product (higher is better).
    Dot,
    /// Hamming distance (lower is better).
    Hamming,
    /// Jaccard similarity (higher is better).
    Jaccard,
    /// Manhattan (L1) distance (lower is better).
    Manhattan,
}

impl TryFrom<String> for MetricName {
    type Error = <DistanceMetric as std::str::FromStr>::Err;

    fn try_from(name: String) -> std::result::Result<Self, Self::Error> {
        Ok(match name.parse::<DistanceMetric>()? {
            DistanceMetric::Cosine => MetricName::Cosine,
            DistanceMetric::Euclidean => MetricName::Euclidean,
            DistanceMetric::DotProduct => MetricName::Dot,
            DistanceMetric::Hamming => MetricName::Hamming,
            DistanceMetric::Jaccard => MetricName::Jaccard,
            DistanceMetric::Manhattan => MetricName::Manhattan,
        })
    }
}

impl From<MetricName> for DistanceMetric {
    fn from(m: MetricName) -> Self {
        match m {
            MetricName::Cosine => DistanceMetric::Cosine,
            MetricName::Euclidean => DistanceMetric::Euclidean,
            MetricName::Dot => DistanceMetric::DotProduct,
            MetricName::Hamming => DistanceMetric::Hamming,
            MetricName::Jaccard => DistanceMetric::Jaccard,
            MetricName::Manhattan => DistanceMetric::Manhattan,
        }
    }
}

/// Durability by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DurabilityName {
    /// fsync on every write.
    PerWrite,
    /// Durable at each flush (the default).
    Flush,
    /// No fsync (bulk loading).
    Bulk,
}

impl From<DurabilityName> for Durability {
    fn from(d: DurabilityName) -> Self {
        match d {
            DurabilityName::PerWrite => Durability::PerWrite,
            DurabilityName::Flush => Durability::Flush,
            DurabilityName::Bulk => Durability::Bulk,
        }
    }
}

/// Payload index kind by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum IndexKindName {
    /// Exact string match.
    Keyword,
    /// Integer match and range.
    Integer,
    /// Float range.
    Float,
    /// Boolean match.
    Bool,
}

impl From<IndexKindName> for FieldIndexKind {
    fn from(k: IndexKindName) -> Self {
        match k {
            IndexKindName::Keyword => FieldIndexKind::Keyword,
            IndexKindName::Integer => FieldIndexKind::Integer,
            IndexKindName::Float => FieldIndexKind::Float,
            IndexKindName::Bool => FieldIndexKind::Bool,
        }
    }
}

/// HNSW options; every field optional (engine defaults).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HnswOptions {
    pub(crate) m: Option<usize>,
    pub(crate) ef_construction: Option<usize>,
    pub(crate) ef_search: Option<usize>,
    pub(crate) seed: Option<u64>,
}

impl HnswOptions {
    pub(crate) fn new(m: Option<usize>, ef_construction: Option<usize>) -> Self {
        HnswOptions {
            m,
            ef_construction,
            ef_search: None,
            seed: None,
        }
    }
}

/// Builds an engine config, checking the server's dimension limit (the one conversion both
/// the native and the Qdrant create use).
pub(crate) fn collection_config(
    limits: &Limits,
    dim: usize,
    metric: DistanceMetric,
    hnsw: &HnswOptions,
) -> Result<CollectionConfig> {
    if dim > limits.max_dimension {
        return Err(Error::bad_request(format!(
            "dimension {dim} is over the server's limit of {}",
            limits.max_dimension
        )));
    }
    let mut config = CollectionConfig::new(dim, metric);
    if let Some(m) = hnsw.m {
        config.hnsw.m = m;
    }
    if let Some(ef) = hnsw.ef_construction {
        config.hnsw.ef_construction = ef;
    }
    if let Some(ef) = hnsw.ef_search {
        config.hnsw.ef_search = ef;
    }
    if let Some(seed) = hnsw.seed {
        config.hnsw.seed = seed;
    }
    Ok(config)
}

/// A quantized collection's settings (`storage_mode` other than `full`); each optional
/// (the mode's defaults).
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuantizationOptions {
    /// Candidates rescored per result when a search does not say, 1 to 100 (default: the
    /// mode's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) oversampling: Option<f32>,
    /// Train the quantizer by itself once the collection holds this many points (default
    /// 1024; 0: only on demand, `POST /v1/collections/{name}/train_quantizer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) train_at: Option<usize>,
    /// `rabitq` only: bits per rotated coordinate of a code, 1 or 4 (default: 4 up to 128
    /// dimensions, 1 above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rabitq_bits: Option<u8>,
    /// `sq8` only: the share of the training sample's values each dimension's code range
    /// covers, 0.5 to 1.0 (default 0.998; 1.0: the whole range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) quantile: Option<f32>,
}

/// `POST /v1/collections` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateCollection {
    pub(crate) name: String,
    pub(crate) dim: usize,
    #[serde(default)]
    pub(crate) metric: MetricName,
    #[serde(default)]
    pub(crate) hnsw: HnswOptions,
    #[serde(default)]
    pub(crate) durability: Option<DurabilityName>,
    #[serde(default)]
    pub(crate) max_payload_bytes: Option<usize>,
    /// How the vectors are kept for search: `full` (the default), or a quantized mode
    /// (`sq8`, `binary`, `pq`, `rabitq`) whose graph is walked on compact codes and whose
    /// candidates are rescored with the exact vectors.
    #[serde(default)]
    pub(crate) storage_mode: Option<String>,
    /// The quantizer's settings (a quantized `storage_mode` only).
    #[serde(default)]
    pub(crate) quantization: Option<QuantizationOptions>,
}

impl CreateCollection {
    /// The name and the engine config.
    pub(crate) fn into_config(self, limits: &Limits) -> Result<(String, CollectionConfig)> {
        let mut config = collection_config(limits, self.dim, self.metric.into(), &self.hnsw)?;
        if let Some(d) = self.durability {
            config.durability = d.into();
        }
        if let Some(bytes) = self.max_payload_bytes {
            config.max_payload_bytes = bytes;
        }
        if let Some(mode) = self.storage_mode.as_deref() {
            config.storage_mode = StorageMode::parse(mode)?;
        }
        if let Some(q) = self.quantization {
            // The engine refuses settings on a `full` collection and values out of range.
            config.quantization = QuantizationConfig {
                oversampling: q.oversampling,
                train_at: q.train_at,
                rabitq_bits: q.rabitq_bits,
                quantile: q.quantile,
            };
        }
        Ok((self.name, config))
    }
}

/// `POST /v1/collections/{name}/train_quantizer` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuantizerTrained {
    /// Whether it trained (`false`: the collection holds no vector yet).
    pub(crate) trained: bool,
    /// The collection after training.
    pub(crate) collection: CollectionInfo,
}

/// HNSW parameters of a collection.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HnswInfo {
    pub(crate) m: usize,
    pub(crate) ef_construction: usize,
    pub(crate) ef_search: usize,
    pub(crate) seed: u64,
}

/// One payload index.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FieldIndex {
    pub(crate) field: String,
    /// `keyword`, `integer`, `float` or `bool`.
    #[schema(value_type = IndexKindName)]
    pub(crate) kind: FieldIndexKind,
}

pub(crate) fn field_indexes(list: Vec<(String, FieldIndexKind)>) -> Vec<FieldIndex> {
    list.into_iter()
        .map(|(field, kind)| FieldIndex { field, kind })
        .collect()
}

/// The native description of a collection.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CollectionInfo {
    pub(crate) name: String,
    /// `vector`, `metadata` (payload-only points) or `graph` (see `/v1/graphs/{name}`).
    pub(crate) kind: String,
    pub(crate) dim: usize,
    #[schema(value_type = MetricName)]
    pub(crate) metric: DistanceMetric,
    /// How vectors are stored (`full`, or a quantized mode: `sq8`, `binary`, `pq`,
    /// `rabitq`).
    #[schema(value_type = String)]
    pub(crate) storage_mode: nearstore::StorageMode,
    /// A quantized collection's settings as created (absent ones: the mode's defaults);
    /// absent for `full`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) quantization: Option<QuantizationOptions>,
    /// Whether searches walk the graph on codes now (`false` for `full`, and for a
    /// quantized collection not trained yet, which searches its `f32` vectors).
    pub(crate) quantizer_trained: bool,
    #[schema(value_type = DurabilityName)]
    pub(crate) durability: Durability,
    pub(crate) max_payload_bytes: usize,
    pub(crate) hnsw: HnswInfo,
    pub(crate) points_count: usize,
    pub(crate) field_indexes: Vec<FieldIndex>,
}

impl CollectionInfo {
    pub(crate) fn of(c: &VectorCollection) -> Self {
        let config = c.config();
        CollectionInfo {
            name: c.name().to_string(),
            kind: config.kind.name().to_string(),
            dim: config.dim,
            metric: config.metric,
            storage_mode: config.storage_mode,
            quantization: config
                .storage_mode
                .is_quantized()
                .then_some(QuantizationOptions {
                    oversampling: config.quantization.oversampling,
                    train_at: config.quantization.train_at,
                    rabitq_bits: config.quantization.rabitq_bits,
                    quantile: config.quantization.quantile,
                }),
            quantizer_trained: c.quantizer_trained(),
            durability: config.durability,
            max_payload_bytes: config.max_payload_bytes,
            hnsw: HnswInfo {
                m: config.hnsw.m,
                ef_construction: config.hnsw.ef_construction,
                ef_search: config.hnsw.ef_search,
                seed: config.hnsw.seed,
            },
            points_count: c.len(),
            field_indexes: field_indexes(c.field_indexes()),
        }
    }
}

/// `GET /v1/collections` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CollectionList {
    pub(crate) collections: Vec<CollectionInfo>,
}

/// `DELETE /v1/collections/{name}` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CollectionDeleted {
    pub(crate) deleted: bool,
}

/// `POST /v1/collections/{name}/indexes` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateIndex {
    pub(crate) field: String,
    pub(crate) kind: IndexKindName,
}

/// The payload indexes of a collection.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IndexList {
    pub(crate) indexes: Vec<FieldIndex>,
}

/// `DELETE /v1/collections/{name}/indexes/{field}` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IndexDropped {
    pub(crate) dropped: String,
}
