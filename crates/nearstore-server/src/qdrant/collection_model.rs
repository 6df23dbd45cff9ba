//! Typed Qdrant collection bodies: `PUT /collections/{name}` (create) and
//! `PUT /collections/{name}/index` (create a payload index), each with one validating
//! conversion. Validation errors are 422 as in Qdrant (`shard_number`,
//! `replication_factor`, `write_consistency_factor` below 1, `hnsw_config.ef_construct`
//! below 4); options that would change behaviour and that NearStore lacks are 400 "not
//! supported", never ignored. Tuning sections that only steer Qdrant's own optimizer and
//! storage (`optimizers_config`, `wal_config`, `on_disk_payload`, `vectors.on_disk`) are
//! accepted and have no effect: the collection info reports where NearStore keeps data.
//! A structure's `memory` tier ([`Memory`]) is read wherever Qdrant takes one and accepted
//! only when it describes where NearStore keeps that structure ([`check_memory`]); an
//! unknown tier is 400, like Qdrant's format error.
//!
//! Must not depend on axum: these are values, not handlers.

use nearstore::{DistanceMetric, QuantizationConfig, StorageMode};
use serde::Deserialize;
use serde::de::IgnoredAny;
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::model::RawJson;
use crate::qdrant::model::is_set;
use crate::qdrant::quantization;
use crate::qdrant::schema::{FieldSchemaSchema, VectorsConfigSchema};

/// Qdrant's distance names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[schema(as = QdrantDistance)]
pub(crate) enum Distance {
    Cosine,
    Euclid,
    Dot,
    /// L1 distance (lower is better, as Qdrant reports it).
    Manhattan,
}

impl Distance {
    pub(crate) fn metric(self) -> Result<DistanceMetric> {
        match self {
            Distance::Cosine => Ok(DistanceMetric::Cosine),
            Distance::Euclid => Ok(DistanceMetric::Euclidean),
            Distance::Dot => Ok(DistanceMetric::DotProduct),
            Distance::Manhattan => Ok(DistanceMetric::Manhattan),
        }
    }
}

/// Qdrant's `memory` tier of one structure (Qdrant 1.19): how it is cached in RAM. A
/// value outside the three is Qdrant's format error (400, from the enum's parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = QdrantMemory)]
pub(crate) enum Memory {
    /// Memory-mapped, not warmed.
    Cold,
    /// Memory-mapped, warmed into the page cache.
    Cached,
    /// On the heap, never evicted.
    Pinned,
}

/// Where NearStore keeps a structure, which decides the `memory` tiers it can honour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Read from a file through the page cache (dense vectors: the memory-mapped vector
    /// file; payloads: the payload log): `cached` or `cold` (`pinned` would need a heap
    /// copy; Qdrant does not pin these either).
    PageCache,
    /// Held in memory and checkpointed to disk (the HNSW graph, payload, full-text and
    /// sparse indexes, the id table): `pinned` only.
    Heap,
}

impl Placement {
    fn honours(self, m: Memory) -> bool {
        match self {
            Placement::PageCache => m != Memory::Pinned,
            Placement::Heap => m == Memory::Pinned,
        }
    }
}

/// Accepts the `memory` tier at `at` (a path such as `vectors.memory`) when it describes
/// where NearStore keeps the structure; any other tier is 400 "not supported", naming it
/// and the tiers that hold.
pub(crate) fn check_memory(at: &str, asked: Option<Memory>, placement: Placement) -> Result<()> {
    let Some(m) = asked else {
        return Ok(());
    };
    if placement.honours(m) {
        return Ok(());
    }
    let name = |m: Memory| match m {
        Memory::Cold => "cold",
        Memory::Cached => "cached",
        Memory::Pinned => "pinned",
    };
    let kept = match placement {
        Placement::PageCache => "reads it from disk through the page cache: cached or cold",
        Placement::Heap => "keeps it in memory: pinned",
    };
    Err(Error::not_supported(format!(
        "{at} {:?} (NearStore {kept})",
        name(m)
    )))
}

/// The `memory` key of a payload index's `field_schema` object (keyword, integer, float,
/// bool, text): parsed as [`Memory`] (400 for another value) and checked against the
/// index's placement (in memory).
pub(crate) fn payload_index_memory(v: &serde_json::Value) -> Result<()> {
    if v.is_null() {
        return Ok(());
    }
    let m: Memory = serde_json::from_value(v.clone())
        .map_err(|e| Error::bad_request(format!("field_schema.memory: {e}")))?;
    check_memory("field_schema.memory", Some(m), Placement::Heap)
}

/// `payload` and `id_tracker` at creation: only their `memory` tier.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[schema(as = QdrantStorageParams)]
pub(crate) struct StorageParams {
    #[serde(default)]
    pub(crate) memory: Option<Memory>,
}

/// `hnsw_config` at creation (collection-wide or per vector).
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[schema(as = QdrantHnswConfig)]
#[expect(
    dead_code,
    reason = "Qdrant's index-building knobs are accepted (and described) without effect"
)]
pub(crate) struct HnswConfigIn {
    #[serde(default)]
    pub(crate) m: Option<usize>,
    #[serde(default)]
    pub(crate) ef_construct: Option<usize>,
    /// Accepted without effect (Qdrant's exact-search threshold; NearStore's planner
    /// chooses from its own estimates).
    #[serde(default)]
    pub(crate) full_scan_threshold: Option<usize>,
    #[serde(default)]
    pub(crate) max_indexing_threads: Option<usize>,
    #[serde(default)]
    pub(crate) on_disk: Option<bool>,
    #[serde(default)]
    pub(crate) payload_m: Option<usize>,
    #[serde(default)]
    pub(crate) copy_vectors: Option<bool>,
    /// `pinned` only: the graph is held in memory.
    #[serde(default)]
    pub(crate) memory: Option<Memory>,
}

/// The parameters of one dense vector.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = VectorParams)]
#[expect(
    dead_code,
    reason = "on_disk is accepted without effect: vectors are memory-mapped either way"
)]
pub(crate) struct VectorParams {
    pub(crate) size: u64,
    pub(crate) distance: Distance,
    #[serde(default)]
    pub(crate) hnsw_config: Option<HnswConfigIn>,
    /// The unnamed vector's own quantization (over the collection's): `scalar` (int8),
    /// `binary` or `product` (`x16`), see [`crate::qdrant::quantization`]; refused on a
    /// named vector (the engine quantizes only the default vector).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) quantization_config: Option<RawJson>,
    /// Accepted: NearStore serves vectors from a memory-mapped file either way.
    #[serde(default)]
    pub(crate) on_disk: Option<bool>,
    /// `cached` or `cold` (the memory-mapped vector file); `pinned` is 400.
    #[serde(default)]
    pub(crate) memory: Option<Memory>,
    /// Only `float32`.
    #[serde(default)]
    pub(crate) datatype: Option<String>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) multivector_config: Option<RawJson>,
}

impl VectorParams {
    /// Checks the parameters of the vector at `at` (`vectors.` or `vectors.{name}.`);
    /// `named`: a named vector, which cannot be quantized.
    fn check(&self, at: &str, named: bool) -> Result<()> {
        if named && is_set(self.quantization_config.as_ref()) {
            return Err(Error::not_supported(format!(
                "{at}quantization_config (NearStore quantizes only the unnamed vector; named vectors keep full f32)"
            )));
        }
        if is_set(self.multivector_config.as_ref()) {
            return Err(Error::not_supported(format!(
                "{at}multivector_config (multi-vectors)"
            )));
        }
        if let Some(dt) = self.datatype.as_deref()
            && dt != "float32"
        {
            return Err(Error::not_supported(format!("the {dt} vector datatype")));
        }
        if self.size == 0 {
            return Err(Error::validation(format!(
                "{at}size: value 0 invalid, must be 1 or larger"
            )));
        }
        check_memory(&format!("{at}memory"), self.memory, Placement::PageCache)
    }
}

/// A sparse vector's `modifier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = QdrantModifier)]
pub(crate) enum Modifier {
    None,
    Idf,
}

/// A sparse vector's `index` parameters: accepted (the engine's sparse index is in memory,
/// checkpointed to disk, exact); only `float32` weights.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[schema(as = QdrantSparseIndexParams)]
#[expect(
    dead_code,
    reason = "on_disk and full_scan_threshold are accepted without effect"
)]
pub(crate) struct SparseIndexParams {
    #[serde(default)]
    pub(crate) on_disk: Option<bool>,
    #[serde(default)]
    pub(crate) full_scan_threshold: Option<usize>,
    #[serde(default)]
    pub(crate) datatype: Option<String>,
    /// `pinned` only: the sparse index is held in memory.
    #[serde(default)]
    pub(crate) memory: Option<Memory>,
}

/// One sparse vector's parameters.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[schema(as = QdrantSparseVectorParams)]
pub(crate) struct SparseVectorParams {
    #[serde(default)]
    pub(crate) index: Option<SparseIndexParams>,
    #[serde(default)]
    pub(crate) modifier: Option<Modifier>,
}

impl SparseVectorParams {
    /// The engine's configuration of this sparse vector.
    pub(crate) fn config(&self, name: &str) -> Result<nearstore::SparseConfig> {
        check_memory(
            &format!("sparse_vectors.{name}.index.memory"),
            self.index.as_ref().and_then(|i| i.memory),
            Placement::Heap,
        )?;
        if let Some(dt) = self.index.as_ref().and_then(|i| i.datatype.as_deref())
            && dt != "float32"
        {
            return Err(Error::not_supported(format!(
                "the {dt} datatype of sparse vector {name:?}"
            )));
        }
        Ok(nearstore::SparseConfig {
            modifier: match self.modifier {
                Some(Modifier::Idf) => nearstore::SparseModifier::Idf,
                None | Some(Modifier::None) => nearstore::SparseModifier::None,
            },
        })
    }
}

/// `PUT /collections/{name}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = QdrantCreateCollection)]
#[expect(
    dead_code,
    reason = "on_disk_payload, wal_config and optimizers_config are accepted without effect"
)]
pub(crate) struct CreateCollection {
    /// One unnamed vector `{size, distance, ...}`, or `{name: {size, distance, ...}}` (a
    /// map without the `""` entry, `{}` or an absent field: no default vector).
    #[serde(default)]
    #[schema(value_type = Option<VectorsConfigSchema>)]
    pub(crate) vectors: Option<RawJson>,
    /// Named sparse vectors and their parameters.
    #[serde(default)]
    pub(crate) sparse_vectors: Option<std::collections::BTreeMap<String, SparseVectorParams>>,
    /// At least 1: 0 is Qdrant's validation error (422); a negative number is not a
    /// `u32`, Qdrant's format error (400). NearStore keeps one shard.
    #[serde(default)]
    pub(crate) shard_number: Option<u32>,
    /// At least 1 (0: 422; negative: 400, as for `shard_number`); NearStore keeps one copy.
    #[serde(default)]
    pub(crate) replication_factor: Option<u32>,
    /// At least 1 (0: 422; negative: 400, as for `shard_number`).
    #[serde(default)]
    pub(crate) write_consistency_factor: Option<u32>,
    #[serde(default)]
    pub(crate) on_disk_payload: Option<bool>,
    /// The payload storage's `memory` tier: `cached` or `cold` (the payload log).
    #[serde(default)]
    pub(crate) payload: Option<StorageParams>,
    /// The id table's `memory` tier: `pinned` (held in memory).
    #[serde(default)]
    pub(crate) id_tracker: Option<StorageParams>,
    #[serde(default)]
    pub(crate) hnsw_config: Option<HnswConfigIn>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) wal_config: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) optimizers_config: Option<IgnoredAny>,
    /// The collection's quantization: `scalar` (int8), `binary` or `product` (`x16`), the
    /// engine's `sq8`, `binary` or `pq` storage mode of the unnamed vector (see
    /// [`crate::qdrant::quantization`]); refused when the collection has named vectors.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) quantization_config: Option<RawJson>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) init_from: Option<RawJson>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) sharding_method: Option<RawJson>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) strict_mode_config: Option<RawJson>,
    /// Not supported: must be absent, null or empty.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) metadata: Option<RawJson>,
}

/// A collection's vectors as asked: the unnamed one, or named ones (with or without `""`).
#[derive(Debug)]
pub(crate) enum VectorsConfig {
    Unnamed(VectorParams),
    Named(Vec<(String, VectorParams)>),
}

/// What a create asks for, validated.
#[derive(Debug)]
pub(crate) struct CollectionPlan {
    pub(crate) vectors: VectorsConfig,
    /// The collection-wide `hnsw_config` (a vector's own one overrides it).
    pub(crate) hnsw: HnswConfigIn,
    /// The sparse vectors declared (empty: none).
    pub(crate) sparse_vectors: Vec<(String, nearstore::SparseConfig)>,
    /// The unnamed vector's storage mode (`Full` unless a `quantization_config` asks)
    /// and its quantizer settings.
    pub(crate) storage_mode: (StorageMode, QuantizationConfig),
}

fn at_least_one(name: &str, v: Option<u32>) -> Result<()> {
    match v {
        Some(0) => Err(Error::validation(format!(
            "{name}: value 0 invalid, must be 1 or larger"
        ))),
        _ => Ok(()),
    }
}

fn check_hnsw(h: &HnswConfigIn, at: &str) -> Result<()> {
    check_memory(
        &format!("{at}hnsw_config.memory"),
        h.memory,
        Placement::Heap,
    )?;
    if let Some(ef) = h.ef_construct
        && ef < 4
    {
        return Err(Error::validation(format!(
            "{at}hnsw_config.ef_construct: value {ef} invalid, must be 4 or larger"
        )));
    }
    if h.m == Some(0) {
        return Err(Error::not_supported(format!(
            "{at}hnsw_config.m = 0 (a collection without an HNSW graph)"
        )));
    }
    Ok(())
}

fn is_empty_object(raw: Option<&RawJson>) -> bool {
    match raw.map(|r| r.get().trim()) {
        None | Some("null") => true,
        Some(text) => text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .is_some_and(|inner| inner.trim().is_empty()),
    }
}

impl CreateCollection {
    /// Validates the body (422 for invalid values, 400 for what NearStore lacks).
    pub(crate) fn into_plan(self) -> Result<CollectionPlan> {
        at_least_one("shard_number", self.shard_number)?;
        at_least_one("replication_factor", self.replication_factor)?;
        at_least_one("write_consistency_factor", self.write_consistency_factor)?;
        for (name, raw) in [
            ("init_from", &self.init_from),
            ("sharding_method", &self.sharding_method),
            ("strict_mode_config", &self.strict_mode_config),
        ] {
            if is_set(raw.as_ref()) {
                return Err(Error::not_supported(name));
            }
        }
        if !is_empty_object(self.metadata.as_ref()) {
            return Err(Error::not_supported("collection metadata"));
        }
        check_memory(
            "payload.memory",
            self.payload.and_then(|p| p.memory),
            Placement::PageCache,
        )?;
        check_memory(
            "id_tracker.memory",
            self.id_tracker.and_then(|p| p.memory),
            Placement::Heap,
        )?;
        let hnsw = self.hnsw_config.unwrap_or_default();
        check_hnsw(&hnsw, "")?;
        let vectors = match &self.vectors {
            Some(raw) if raw.get().trim() != "null" => vectors_config(raw)?,
            _ => VectorsConfig::Named(Vec::new()),
        };
        match &vectors {
            VectorsConfig::Unnamed(p) => {
                p.check("vectors.", false)?;
                if let Some(h) = &p.hnsw_config {
                    check_hnsw(h, "vectors.")?;
                }
            }
            VectorsConfig::Named(list) => {
                for (name, p) in list {
                    let at = format!("vectors.{name}.");
                    p.check(&at, !name.is_empty())?;
                    if let Some(h) = &p.hnsw_config {
                        check_hnsw(h, &at)?;
                    }
                }
            }
        }
        let storage_mode = plan_storage_mode(self.quantization_config.as_ref(), &vectors)?;
        let sparse_vectors = self
            .sparse_vectors
            .unwrap_or_default()
            .iter()
            .map(|(name, p)| Ok((name.clone(), p.config(name)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(CollectionPlan {
            vectors,
            hnsw,
            sparse_vectors,
            storage_mode,
        })
    }
}

/// The unnamed vector's storage mode: its own `quantization_config` when set, else the
/// collection's. The collection's applies to every dense vector in Qdrant, so it is
/// refused when there is a named one (the engine quantizes only the unnamed vector), and
/// when there is no dense vector at all.
fn plan_storage_mode(
    collection: Option<&RawJson>,
    vectors: &VectorsConfig,
) -> Result<(StorageMode, QuantizationConfig)> {
    let (unnamed, has_named) = match vectors {
        VectorsConfig::Unnamed(p) => (Some(p), false),
        VectorsConfig::Named(list) => (
            list.iter().find(|(n, _)| n.is_empty()).map(|(_, p)| p),
            list.iter().any(|(n, _)| !n.is_empty()),
        ),
    };
    let collection = collection.filter(|r| is_set(Some(r)));
    if collection.is_some() && (has_named || unnamed.is_none()) {
        return Err(Error::not_supported(
            "quantization_config on a collection with named vectors or without the unnamed vector (NearStore quantizes only the unnamed vector: set vectors.quantization_config on it)",
        ));
    }
    let full = (StorageMode::Full, QuantizationConfig::default());
    let Some(p) = unnamed else {
        return Ok(full);
    };
    let dim = usize::try_from(p.size).unwrap_or(usize::MAX);
    match (
        p.quantization_config.as_ref().filter(|r| is_set(Some(r))),
        collection,
    ) {
        (Some(own), collection) => {
            if let Some(c) = collection {
                // Checked as well, so a bad collection-wide section is never ignored.
                quantization::storage_mode("quantization_config", c, dim)?;
            }
            quantization::storage_mode("vectors.quantization_config", own, dim)
        }
        (None, Some(c)) => quantization::storage_mode("quantization_config", c, dim),
        (None, None) => Ok(full),
    }
}

/// Reads `vectors`: the unnamed vector's parameters when the object has `size`, else a map
/// of named vectors (whose `""` entry is the unnamed vector; `{}`: no dense vector).
fn vectors_config(raw: &RawJson) -> Result<VectorsConfig> {
    let bad = |e: serde_json::Error| Error::bad_request(format!("invalid \"vectors\": {e}"));
    let keys: std::collections::BTreeMap<String, IgnoredAny> =
        serde_json::from_str(raw.get()).map_err(bad)?;
    if keys.contains_key("size") || keys.contains_key("distance") {
        return Ok(VectorsConfig::Unnamed(
            serde_json::from_str(raw.get()).map_err(bad)?,
        ));
    }
    let named: Vec<(String, VectorParams)> =
        serde_json::from_str::<std::collections::BTreeMap<String, VectorParams>>(raw.get())
            .map_err(bad)?
            .into_iter()
            .collect();
    match named.as_slice() {
        [(name, _)] if name.is_empty() => Ok(VectorsConfig::Unnamed(
            named
                .into_iter()
                .map(|(_, p)| p)
                .next_back()
                .ok_or_else(|| {
                    Error::Internal("one named vector was listed and is gone".to_string())
                })?,
        )),
        _ => Ok(VectorsConfig::Named(named)),
    }
}

/// `PUT /collections/{name}/index` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = QdrantCreateFieldIndex)]
pub(crate) struct CreateFieldIndex {
    pub(crate) field_name: String,
    /// A type name, or `{type, ...}` with the index's parameters.
    #[serde(default)]
    #[schema(value_type = Option<FieldSchemaSchema>)]
    pub(crate) field_schema: Option<RawJson>,
}
