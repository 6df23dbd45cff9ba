//! Typed Qdrant read bodies: `points/search[/batch]`, `points/query[/batch]`,
//! `points/scroll`, `points/count` and retrieve (`POST points`), plus the pieces they share
//! (`with_payload`, `with_vector`, `params`, query vectors), read by serde without a JSON
//! value tree. Filters stay raw text until [`crate::qdrant::filter::from_raw`] translates
//! them (reserving their value's memory first).
//!
//! Each body has one conversion into what the handler hands the engine; the shapes serde
//! reads through hand-written visitors have their schemas in [`crate::qdrant::schema`].
//! Must not depend on axum: these are values, not handlers.

use std::fmt;

use nearstore::{Direction, OrderBy, SearchQuality};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use utoipa::ToSchema;

use crate::body::bounded::{Bounded, DimensionLimit, IdsLimit, QueriesLimit};
use crate::error::{Error, Result};
use crate::model::RawJson;
use crate::qdrant::model::{IdIn, RecommendStrategy, is_set};
use crate::qdrant::payload_select::{PayloadPath, PayloadSel};
pub(crate) use crate::qdrant::quantization::QuantizationParams;
use crate::qdrant::schema::{
    FilterSchema, NamedVectorSchema, OrderBySchema, PointIdSchema, PrefetchesSchema,
    QueryInputSchema, WithPayloadSchema, WithVectorSchema,
};

/// `with_payload`: a flag, a list of paths, `{"include": [..]}` or `{"exclude": [..]}`;
/// each path parsed as it is read ([`PayloadPath`]: a malformed one is 400).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WithPayload {
    Flag(bool),
    Include(Vec<PayloadPath>),
    Exclude(Vec<PayloadPath>),
}

/// Parses every path of a `with_payload` list.
fn payload_paths<E: de::Error>(fields: Vec<String>) -> Result<Vec<PayloadPath>, E> {
    fields
        .iter()
        .map(|f| PayloadPath::parse(f).map_err(E::custom))
        .collect()
}

impl<'de> Deserialize<'de> for WithPayload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WithPayload;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a bool, a list of fields, {\"include\": [..]} or {\"exclude\": [..]}")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<WithPayload, E> {
                Ok(WithPayload::Flag(b))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<WithPayload, A::Error> {
                let fields: Bounded<String, IdsLimit> =
                    Bounded::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(WithPayload::Include(payload_paths(fields.into_vec())?))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WithPayload, A::Error> {
                let mut out = None;
                while let Some(key) = map.next_key::<String>()? {
                    let fields =
                        payload_paths(map.next_value::<Bounded<String, IdsLimit>>()?.into_vec())?;
                    let sel = match key.as_str() {
                        "include" => WithPayload::Include(fields),
                        "exclude" => WithPayload::Exclude(fields),
                        other => {
                            return Err(de::Error::unknown_field(other, &["include", "exclude"]));
                        }
                    };
                    if out.replace(sel).is_some() {
                        return Err(de::Error::custom(
                            "with_payload takes include or exclude, not both",
                        ));
                    }
                }
                out.ok_or_else(|| de::Error::custom("with_payload: an empty object"))
            }
        }
        d.deserialize_any(V)
    }
}

impl WithPayload {
    /// The selection asked for; `default` (all or nothing) when absent or null.
    pub(crate) fn selection(v: Option<&WithPayload>, default: bool) -> PayloadSel {
        match v {
            None => {
                if default {
                    PayloadSel::All
                } else {
                    PayloadSel::Nothing
                }
            }
            Some(WithPayload::Flag(true)) => PayloadSel::All,
            Some(WithPayload::Flag(false)) => PayloadSel::Nothing,
            Some(WithPayload::Include(f)) => PayloadSel::Include(f.clone()),
            Some(WithPayload::Exclude(f)) => PayloadSel::Exclude(f.clone()),
        }
    }
}

/// `with_vector`: a flag, or the names of the vectors to return (`""`: the unnamed one).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WithVector {
    Flag(bool),
    Names(Vec<String>),
}

impl<'de> Deserialize<'de> for WithVector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WithVector;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a bool or a list of vector names")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<WithVector, E> {
                Ok(WithVector::Flag(b))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<WithVector, A::Error> {
                let names: Bounded<String, IdsLimit> =
                    Bounded::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(WithVector::Names(names.into_vec()))
            }
        }
        d.deserialize_any(V)
    }
}

impl WithVector {
    /// Whether any vector is asked for (false when absent).
    pub(crate) fn any(v: Option<&WithVector>) -> bool {
        match v {
            None => false,
            Some(WithVector::Flag(b)) => *b,
            Some(WithVector::Names(names)) => !names.is_empty(),
        }
    }
}

/// A search's `params`. `hnsw_ef` and `exact` change the search, `quantization` its
/// rescoring on a quantized collection ([`QuantizationParams`]); `indexed_only` and
/// `acorn` tune Qdrant's own index and are accepted without effect (every point is
/// indexed).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = QdrantSearchParams)]
#[expect(
    dead_code,
    reason = "indexed_only and acorn are accepted without effect (see above)"
)]
pub(crate) struct SearchParams {
    #[serde(default)]
    pub(crate) hnsw_ef: Option<u64>,
    #[serde(default)]
    pub(crate) exact: Option<bool>,
    #[serde(default)]
    pub(crate) quantization: Option<QuantizationParams>,
    #[serde(default)]
    pub(crate) indexed_only: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) acorn: Option<IgnoredAny>,
}

/// What a search's `params` ask of the engine request: its quality and its quantization
/// settings.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Tuning {
    pub(crate) quality: Option<SearchQuality>,
    pub(crate) quantization: Option<QuantizationParams>,
}

impl Tuning {
    /// Whether the params ask nothing.
    pub(crate) fn is_default(&self) -> bool {
        *self == Tuning::default()
    }

    /// `r` with this quality and these quantization settings, for a collection whose
    /// default vector is stored in `mode`.
    pub(crate) fn apply(
        &self,
        mut r: nearstore::SearchRequest,
        mode: nearstore::StorageMode,
    ) -> Result<nearstore::SearchRequest> {
        if let Some(q) = self.quality {
            r = r.quality(q);
        }
        match &self.quantization {
            Some(q) => q.apply(r, mode),
            None => Ok(r),
        }
    }
}

impl SearchParams {
    /// The quality and quantization settings `p` asks for (checked: see
    /// [`SearchParams::quality`] and [`QuantizationParams::check`]).
    pub(crate) fn tuning(p: Option<&SearchParams>) -> Result<Tuning> {
        let quantization = p.and_then(|p| p.quantization);
        if let Some(q) = &quantization {
            q.check()?;
        }
        Ok(Tuning {
            quality: SearchParams::quality(p)?,
            quantization,
        })
    }

    /// The engine's search quality (`exact` wins over `hnsw_ef`); `hnsw_ef: 0` is 422.
    pub(crate) fn quality(p: Option<&SearchParams>) -> Result<Option<SearchQuality>> {
        let Some(p) = p else {
            return Ok(None);
        };
        if p.exact == Some(true) {
            return Ok(Some(SearchQuality::Perfect));
        }
        match p.hnsw_ef {
            None => Ok(None),
            // Qdrant validates `hnsw_ef` with `range(min = 1)` (qdrant/qdrant#9320).
            Some(0) => Err(Error::validation(
                "params.hnsw_ef: value 0 invalid, must be 1 or larger",
            )),
            Some(ef) => Ok(Some(SearchQuality::Ef(
                usize::try_from(ef).unwrap_or(usize::MAX),
            ))),
        }
    }
}

/// A sparse vector as sent: parallel lists of dimensions and weights (checked by the
/// engine's `SparseVector` conversion).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "SparseLists")]
pub(crate) struct SparseIn {
    pub(crate) indices: Vec<u32>,
    pub(crate) values: Vec<f32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SparseLists {
    indices: Bounded<u32, DimensionLimit>,
    values: Bounded<f32, DimensionLimit>,
}

impl From<SparseLists> for SparseIn {
    fn from(l: SparseLists) -> Self {
        SparseIn {
            indices: l.indices.into_vec(),
            values: l.values.into_vec(),
        }
    }
}

/// A query vector: dense, sparse, or the id of a stored point whose vector is used.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VectorInput {
    Dense(Vec<f32>),
    Sparse(SparseIn),
    Id(IdIn),
}

/// Reads a sparse vector's two lists from a map whose keys are being visited.
fn sparse_from_map<'de, A: MapAccess<'de>>(first: &str, map: &mut A) -> Result<SparseIn, A::Error> {
    let mut indices: Option<Bounded<u32, DimensionLimit>> = None;
    let mut values: Option<Bounded<f32, DimensionLimit>> = None;
    let mut key = Some(first.to_string());
    while let Some(k) = key {
        match k.as_str() {
            "indices" if indices.is_none() => indices = Some(map.next_value()?),
            "values" if values.is_none() => values = Some(map.next_value()?),
            other => {
                return Err(de::Error::custom(format!(
                    "a sparse vector has \"indices\" and \"values\" once each, got {other:?}"
                )));
            }
        }
        key = map.next_key::<String>()?;
    }
    match (indices, values) {
        (Some(indices), Some(values)) => Ok(SparseIn::from(SparseLists { indices, values })),
        _ => Err(de::Error::custom(
            "a sparse vector needs both \"indices\" and \"values\"",
        )),
    }
}

fn inference_error<E: de::Error>() -> E {
    E::custom("inference objects (documents, images) are not supported by NearStore")
}

struct VectorInputVisitor;

impl<'de> Visitor<'de> for VectorInputVisitor {
    type Value = VectorInput;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a vector (a list of numbers), a sparse vector or a point id")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<VectorInput, E> {
        Ok(VectorInput::Id(Value::from(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<VectorInput, E> {
        Ok(VectorInput::Id(Value::from(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<VectorInput, E> {
        Ok(VectorInput::Id(Value::String(v.to_string())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<VectorInput, A::Error> {
        let v: Bounded<f32, DimensionLimit> =
            Bounded::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(VectorInput::Dense(v.into_vec()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<VectorInput, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Err(de::Error::custom("an empty vector object"));
        };
        match first.as_str() {
            "indices" | "values" => Ok(VectorInput::Sparse(sparse_from_map(&first, &mut map)?)),
            "text" | "image" | "object" | "model" => Err(inference_error()),
            other => Err(de::Error::custom(format!(
                "unexpected key {other:?} in a vector (expected a list of numbers or a sparse vector)"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for VectorInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(VectorInputVisitor)
    }
}

/// The `vector` of `points/search`: a dense vector (the unnamed one), or `{"name",
/// "vector"}` naming the vector searched (dense or sparse).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SearchVector {
    pub(crate) name: Option<String>,
    pub(crate) vector: VectorInput,
}

impl<'de> Deserialize<'de> for SearchVector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SearchVector;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a vector, or {\"name\", \"vector\"}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<SearchVector, A::Error> {
                Ok(SearchVector {
                    name: None,
                    vector: VectorInputVisitor.visit_seq(seq)?,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SearchVector, A::Error> {
                let (mut name, mut vector) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "name" if name.is_none() => name = Some(map.next_value::<String>()?),
                        "vector" if vector.is_none() => {
                            vector = Some(map.next_value::<VectorInput>()?);
                        }
                        "indices" | "values" | "text" | "image" | "object" | "model" => {
                            return Err(de::Error::custom(
                                "a search vector object is {\"name\", \"vector\"}",
                            ));
                        }
                        other => {
                            return Err(de::Error::unknown_field(other, &["name", "vector"]));
                        }
                    }
                }
                match (name, vector) {
                    (
                        Some(name),
                        Some(vector @ (VectorInput::Dense(_) | VectorInput::Sparse(_))),
                    ) => Ok(SearchVector {
                        name: Some(name),
                        vector,
                    }),
                    _ => Err(de::Error::custom(
                        "a named search vector needs \"name\" and a dense or sparse \"vector\"",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `POST /collections/{name}/points/search` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = QdrantSearchPoints)]
pub(crate) struct SearchPoints {
    #[schema(value_type = NamedVectorSchema)]
    pub(crate) vector: SearchVector,
    #[serde(default)]
    #[schema(value_type = Option<FilterSchema>)]
    pub(crate) filter: Option<RawJson>,
    #[serde(default)]
    pub(crate) params: Option<SearchParams>,
    #[serde(default)]
    pub(crate) limit: Option<usize>,
    #[serde(default)]
    pub(crate) offset: Option<usize>,
    #[serde(default)]
    #[schema(value_type = Option<WithPayloadSchema>)]
    pub(crate) with_payload: Option<WithPayload>,
    #[serde(default)]
    #[schema(value_type = Option<WithVectorSchema>)]
    pub(crate) with_vector: Option<WithVector>,
    #[serde(default)]
    pub(crate) score_threshold: Option<f32>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<RawJson>,
}

/// `POST /collections/{name}/points/search/batch` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = QdrantSearchBatch)]
pub(crate) struct SearchBatch {
    #[schema(value_type = Vec<SearchPoints>)]
    pub(crate) searches: Bounded<SearchPoints, QueriesLimit>,
}

/// How the Query API fuses its prefetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Fusion {
    /// Reciprocal rank fusion (`k` = 60).
    Rrf,
    /// Distribution-based score fusion.
    Dbsf,
    /// Reciprocal rank fusion with its `k` (`{"rrf": {"k": n}}`).
    #[serde(skip)]
    RrfK(u32),
}

/// `{"rrf": {"k": n}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RrfParams {
    #[serde(default)]
    k: Option<u32>,
}

/// `{"recommend": {"positive", "negative", "strategy"}}` of the Query API: examples are
/// point ids or vectors (read as [`VectorInput`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecommendIn {
    pub(crate) positive: Vec<VectorInput>,
    pub(crate) negative: Vec<VectorInput>,
    pub(crate) strategy: RecommendStrategy,
}

/// [`RecommendIn`] as sent, its lists bounded while they are read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecommendLists {
    #[serde(default)]
    positive: Option<Bounded<VectorInput, IdsLimit>>,
    #[serde(default)]
    negative: Option<Bounded<VectorInput, IdsLimit>>,
    #[serde(default)]
    strategy: Option<RecommendStrategy>,
}

impl<'de> Deserialize<'de> for RecommendIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let l = RecommendLists::deserialize(d)?;
        Ok(RecommendIn {
            positive: l.positive.map(Bounded::into_vec).unwrap_or_default(),
            negative: l.negative.map(Bounded::into_vec).unwrap_or_default(),
            strategy: l.strategy.unwrap_or_default(),
        })
    }
}

/// `query` of the Query API.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QueryInput {
    /// Nearest neighbours of a vector (or of a stored point's vector).
    Nearest(VectorInput),
    /// Recommend from examples (the average_vector strategy is one nearest search).
    Recommend(RecommendIn),
    /// Fuse the prefetches' results.
    Fusion(Fusion),
    /// A query kind NearStore does not offer (the message names it).
    Unsupported(String),
}

impl<'de> Deserialize<'de> for QueryInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = QueryInput;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a vector, a point id, {\"nearest\": ..} or {\"fusion\": ..}")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<QueryInput, E> {
                VectorInputVisitor.visit_u64(v).map(QueryInput::Nearest)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<QueryInput, E> {
                VectorInputVisitor.visit_i64(v).map(QueryInput::Nearest)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<QueryInput, E> {
                VectorInputVisitor.visit_str(v).map(QueryInput::Nearest)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<QueryInput, A::Error> {
                VectorInputVisitor.visit_seq(seq).map(QueryInput::Nearest)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<QueryInput, A::Error> {
                let mut nearest = None;
                let mut recommend = None;
                let mut fusion = None;
                let mut refused: Option<String> = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "indices" | "values" => {
                            return Ok(QueryInput::Nearest(VectorInput::Sparse(sparse_from_map(
                                &key, &mut map,
                            )?)));
                        }
                        "nearest" if nearest.is_none() => {
                            nearest = Some(map.next_value::<VectorInput>()?);
                        }
                        "recommend" if recommend.is_none() => {
                            recommend = Some(map.next_value::<RecommendIn>()?);
                        }
                        "fusion" if fusion.is_none() => fusion = Some(map.next_value::<Fusion>()?),
                        "rrf" if fusion.is_none() => {
                            let p = map.next_value::<RrfParams>()?;
                            fusion = Some(match p.k {
                                Some(k) => Fusion::RrfK(k),
                                None => Fusion::Rrf,
                            });
                        }
                        "text" | "image" | "object" | "model" => return Err(inference_error()),
                        other => {
                            // Options beside the target (`mmr`) and other query kinds
                            // (`recommend`, `discover`, `order_by`, `formula`, ...): a set
                            // one changes the answer, so it is refused, never ignored.
                            let set = map.next_value::<Option<IgnoredAny>>()?.is_some();
                            if set && refused.is_none() {
                                refused = Some(if other == "mmr" {
                                    "MMR (\"mmr\": diversity re-ranking of a nearest query)"
                                        .to_string()
                                } else {
                                    format!("the {other:?} query")
                                });
                            }
                        }
                    }
                }
                Ok(match (refused, nearest, recommend, fusion) {
                    (Some(what), _, _, _) => QueryInput::Unsupported(what),
                    (None, Some(v), None, None) => QueryInput::Nearest(v),
                    (None, None, Some(r), None) => QueryInput::Recommend(r),
                    (None, None, None, Some(f)) => QueryInput::Fusion(f),
                    (None, None, None, None) => {
                        return Err(de::Error::custom("an empty query object"));
                    }
                    _ => {
                        return Err(de::Error::custom(
                            "a query is one of nearest, recommend or fusion",
                        ));
                    }
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// `prefetch`: one prefetch or a list of them.
#[derive(Debug, Default)]
pub(crate) struct Prefetches(pub(crate) Vec<Prefetch>);

impl<'de> Deserialize<'de> for Prefetches {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Prefetches;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a prefetch or a list of prefetches")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Prefetches, E> {
                Ok(Prefetches::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Prefetches, A::Error> {
                let list: Bounded<Prefetch, QueriesLimit> =
                    Bounded::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Prefetches(list.into_vec()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Prefetches, A::Error> {
                Ok(Prefetches(vec![Prefetch::deserialize(
                    de::value::MapAccessDeserializer::new(map),
                )?]))
            }
        }
        d.deserialize_any(V)
    }
}

/// One prefetch of the Query API: a sub-query whose results the outer query fuses.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = QdrantPrefetch)]
pub(crate) struct Prefetch {
    #[serde(default)]
    #[schema(value_type = Option<PrefetchesSchema>, no_recursion)]
    pub(crate) prefetch: Option<Prefetches>,
    #[serde(default)]
    #[schema(value_type = Option<QueryInputSchema>)]
    pub(crate) query: Option<QueryInput>,
    #[serde(default)]
    pub(crate) using: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<FilterSchema>)]
    pub(crate) filter: Option<RawJson>,
    #[serde(default)]
    pub(crate) params: Option<SearchParams>,
    #[serde(default)]
    pub(crate) score_threshold: Option<f32>,
    #[serde(default)]
    pub(crate) limit: Option<usize>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) lookup_from: Option<RawJson>,
}

/// `POST /collections/{name}/points/query` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = QdrantQueryPoints)]
pub(crate) struct QueryPoints {
    #[serde(default)]
    #[schema(value_type = Option<PrefetchesSchema>)]
    pub(crate) prefetch: Option<Prefetches>,
    #[serde(default)]
    #[schema(value_type = Option<QueryInputSchema>)]
    pub(crate) query: Option<QueryInput>,
    #[serde(default)]
    pub(crate) using: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<FilterSchema>)]
    pub(crate) filter: Option<RawJson>,
    #[serde(default)]
    pub(crate) params: Option<SearchParams>,
    #[serde(default)]
    pub(crate) score_threshold: Option<f32>,
    #[serde(default)]
    pub(crate) limit: Option<usize>,
    #[serde(default)]
    pub(crate) offset: Option<usize>,
    #[serde(default)]
    #[schema(value_type = Option<WithPayloadSchema>)]
    pub(crate) with_payload: Option<WithPayload>,
    #[serde(default)]
    #[schema(value_type = Option<WithVectorSchema>)]
    pub(crate) with_vector: Option<WithVector>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) lookup_from: Option<RawJson>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<RawJson>,
}

/// `POST /collections/{name}/points/query/batch` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = QdrantQueryBatch)]
pub(crate) struct QueryBatch {
    #[schema(value_type = Vec<QueryPoints>)]
    pub(crate) searches: Bounded<QueryPoints, QueriesLimit>,
}

/// A scroll's `order_by`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderByIn(pub(crate) OrderBy);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBySpec {
    key: String,
    #[serde(default)]
    direction: Option<DirectionIn>,
    #[serde(default)]
    start_from: Option<Value>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum DirectionIn {
    Asc,
    Desc,
}

impl<'de> Deserialize<'de> for OrderByIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderByIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key or {\"key\", \"direction\", \"start_from\"}")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<OrderByIn, E> {
                Ok(OrderByIn(OrderBy::asc(key)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OrderByIn, A::Error> {
                let spec = OrderBySpec::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let mut order = OrderBy::asc(&spec.key);
                if let Some(DirectionIn::Desc) = spec.direction {
                    order.direction = Direction::Desc;
                }
                match spec.start_from {
                    None | Some(Value::Null) => {}
                    Some(v @ (Value::Number(_) | Value::String(_))) => order = order.start_from(v),
                    Some(other) => {
                        return Err(de::Error::custom(format!(
                            "order_by.start_from is a number or a date string, got {other}"
                        )));
                    }
                }
                Ok(OrderByIn(order))
            }
        }
        d.deserialize_any(V)
    }
}

/// `POST /collections/{name}/points/scroll` body (an empty body is the default).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = QdrantScrollPoints)]
pub(crate) struct ScrollPoints {
    #[serde(default)]
    #[schema(value_type = Option<PointIdSchema>)]
    pub(crate) offset: Option<IdIn>,
    #[serde(default)]
    pub(crate) limit: Option<usize>,
    #[serde(default)]
    #[schema(value_type = Option<FilterSchema>)]
    pub(crate) filter: Option<RawJson>,
    #[serde(default)]
    #[schema(value_type = Option<WithPayloadSchema>)]
    pub(crate) with_payload: Option<WithPayload>,
    #[serde(default)]
    #[schema(value_type = Option<WithVectorSchema>)]
    pub(crate) with_vector: Option<WithVector>,
    #[serde(default)]
    #[schema(value_type = Option<OrderBySchema>)]
    pub(crate) order_by: Option<OrderByIn>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<RawJson>,
}

/// `POST /collections/{name}/points/count` body (an empty body counts every point).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = QdrantCountPoints)]
#[expect(
    dead_code,
    reason = "exact is accepted: NearStore's counts are always exact"
)]
pub(crate) struct CountPoints {
    #[serde(default)]
    #[schema(value_type = Option<FilterSchema>)]
    pub(crate) filter: Option<RawJson>,
    /// Accepted: NearStore's counts are always exact.
    #[serde(default)]
    pub(crate) exact: Option<bool>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<RawJson>,
}

/// `POST /collections/{name}/points` (retrieve) body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = QdrantRetrievePoints)]
pub(crate) struct RetrievePoints {
    #[schema(value_type = Vec<PointIdSchema>)]
    pub(crate) ids: Bounded<IdIn, IdsLimit>,
    #[serde(default)]
    #[schema(value_type = Option<WithPayloadSchema>)]
    pub(crate) with_payload: Option<WithPayload>,
    #[serde(default)]
    #[schema(value_type = Option<WithVectorSchema>)]
    pub(crate) with_vector: Option<WithVector>,
    /// Not supported: must be absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) shard_key: Option<RawJson>,
}

/// A request's `limit` (`field` names it in the message): `default` when absent; 0 is
/// Qdrant's validation error (422: its `limit` fields are `range(min = 1)`). A limit beyond
/// the collection's size is clamped later, where the size is known
/// ([`crate::qdrant::query_plan::engine_request`]).
pub(crate) fn positive_limit(field: &str, limit: Option<usize>, default: usize) -> Result<usize> {
    match limit {
        None => Ok(default),
        Some(0) => Err(Error::validation(format!(
            "{field}: value 0 invalid, must be 1 or larger"
        ))),
        Some(l) => Ok(l),
    }
}

/// Refuses a set option NearStore does not offer (400 naming it).
pub(crate) fn refuse_set(options: &[(&str, Option<&RawJson>)]) -> Result<()> {
    for (name, raw) in options {
        if is_set(*raw) {
            return Err(Error::not_supported(format!("\"{name}\"")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::bounded::{ParseLimits, parse};

    fn read<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
        parse(text.as_bytes(), ParseLimits::default())
    }

    #[test]
    fn with_payload_forms() {
        let w = |t: &str| read::<WithPayload>(t);
        assert_eq!(w("true").unwrap(), WithPayload::Flag(true));
        let path = |p: &str| PayloadPath::parse(p).unwrap();
        assert_eq!(
            w(r#"["a.b"]"#).unwrap(),
            WithPayload::Include(vec![path("a.b")])
        );
        assert_eq!(
            w(r#"{"exclude": ["c[].d"]}"#).unwrap(),
            WithPayload::Exclude(vec![path("c[].d")])
        );
        // A malformed path is refused while the body is read.
        let err = w(r#"{"include": ["a..b"]}"#).unwrap_err().to_string();
        assert!(err.contains("invalid payload path"), "{err}");
        assert!(w(r#"{"include": ["a"], "exclude": ["b"]}"#).is_err());
        assert!(w(r#"{"only": ["a"]}"#).is_err());
        assert!(w("3").is_err());
    }

    #[test]
    fn query_forms() {
        let q = |t: &str| read::<QueryInput>(t);
        assert_eq!(
            q("[1, 2]").unwrap(),
            QueryInput::Nearest(VectorInput::Dense(vec![1.0, 2.0]))
        );
        assert_eq!(
            q("7").unwrap(),
            QueryInput::Nearest(VectorInput::Id(Value::from(7)))
        );
        assert!(matches!(
            q(r#"{"nearest": {"indices": [1, 5], "values": [0.5, 0.25]}}"#).unwrap(),
            QueryInput::Nearest(VectorInput::Sparse(_))
        ));
        assert!(matches!(
            q(r#"{"values": [0.5], "indices": [3]}"#).unwrap(),
            QueryInput::Nearest(VectorInput::Sparse(_))
        ));
        assert_eq!(
            q(r#"{"fusion": "dbsf"}"#).unwrap(),
            QueryInput::Fusion(Fusion::Dbsf)
        );
        assert!(matches!(
            q(r#"{"nearest": [1], "mmr": {"diversity": 0.5}}"#).unwrap(),
            QueryInput::Unsupported(m) if m.contains("MMR")
        ));
        assert_eq!(
            q(r#"{"nearest": [1], "mmr": null}"#).unwrap(),
            QueryInput::Nearest(VectorInput::Dense(vec![1.0]))
        );
        assert_eq!(
            q(r#"{"recommend": {"positive": [1, [0.5, 1]], "negative": null, "strategy": "best_score"}}"#)
                .unwrap(),
            QueryInput::Recommend(RecommendIn {
                positive: vec![
                    VectorInput::Id(Value::from(1)),
                    VectorInput::Dense(vec![0.5, 1.0])
                ],
                negative: Vec::new(),
                strategy: RecommendStrategy::BestScore,
            })
        );
        assert!(q(r#"{"recommend": {"positive": [1], "lookup": 2}}"#).is_err());
        assert!(q(r#"{"recommend": {"positive": [1]}, "nearest": [1]}"#).is_err());
        assert!(matches!(
            q(r#"{"discover": {"target": 1}}"#).unwrap(),
            QueryInput::Unsupported(m) if m.contains("discover")
        ));
        assert!(q(r#"{"fusion": "mean"}"#).is_err());
        assert!(q(r#"{"text": "hello"}"#).is_err());
    }

    #[test]
    fn search_vectors_may_be_named() {
        let v = read::<SearchVector>(r#"{"name": "img", "vector": [1, 0]}"#).unwrap();
        assert_eq!(v.name.as_deref(), Some("img"));
        assert!(read::<SearchVector>(r#"{"name": "img"}"#).is_err());
        assert!(read::<SearchVector>(r#"{"name": "img", "vector": 3}"#).is_err());
    }

    #[test]
    fn order_by_forms() {
        assert_eq!(
            read::<OrderByIn>(r#""n""#).unwrap(),
            OrderByIn(OrderBy::asc("n"))
        );
        let o = read::<OrderByIn>(r#"{"key": "n", "direction": "desc", "start_from": 3}"#)
            .unwrap()
            .0;
        assert_eq!(o.direction, Direction::Desc);
        assert!(read::<OrderByIn>(r#"{"key": "n", "direction": "up"}"#).is_err());
        assert!(read::<OrderByIn>(r#"{"key": "n", "start_from": [1]}"#).is_err());
    }
}
