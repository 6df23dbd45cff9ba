//! Qdrant's quantization on NearStore's storage modes.
//!
//! - A create's `quantization_config` (collection-wide, or the unnamed vector's own one,
//!   which wins) becomes the engine's `CollectionConfig::storage_mode`:
//!   `{"scalar": {"type": "int8"}}` is `sq8`, `{"binary": {}}` is `binary` (one bit per
//!   dimension, Hamming traversal), `{"product": {"compression": "x16"}}` is `pq` (the
//!   engine's product quantizer keeps 4 dimensions per byte: 16 bytes of `f32` per code
//!   byte, so only `x16`, and only for a dimension divisible by 4). Anything the engine
//!   cannot honour is 400 naming it: another compression, a binary encoding other than
//!   `one_bit`, an asymmetric `query_encoding`, `turbo`, a `memory` tier other than
//!   `pinned`, and quantization of a named vector (the engine quantizes only the default
//!   vector). `always_ram` is accepted either way: the engine holds the codes in memory
//!   (as `always_ram: true` asks), and where the codes live changes no result (Qdrant's
//!   `false` only lets them be paged from disk), so the flag is harmless as a no-op.
//!   Scalar's `quantile` becomes the engine's SQ8 `quantile` (the share of the sample each
//!   dimension's range covers); left out, it is 1.0, the whole range, as in Qdrant.
//! - The collection info reports the mode back in Qdrant's shape ([`report`]); `rabitq`,
//!   which Qdrant cannot describe, is `null` there and named by the NearStore extension
//!   `config.nearstore_storage_mode` (present for every collection).
//! - A search's `params.quantization` ([`QuantizationParams`]) becomes the request's
//!   `rerank` / `oversampling`; `ignore: true` on a quantized collection becomes an exact
//!   search (every point scored with its `f32` vector: the full-precision answer Qdrant's
//!   `ignore` asks for, found without the codes). On a `full` collection (and on named
//!   vectors) the section changes nothing, as in Qdrant: the search already runs on the
//!   `f32` vectors.
//!
//! Must not depend on axum: these are values, not handlers.

use nearstore::{
    CollectionConfig, QuantizationConfig, SQ8_DEFAULT_QUANTILE, SearchQuality, SearchRequest,
    StorageMode,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::model::RawJson;
use crate::qdrant::collection_model::{Memory, Placement, check_memory};

/// Qdrant's scalar `quantile` when left out: the whole range of values.
const QDRANT_DEFAULT_QUANTILE: f32 = 1.0;

/// The engine's product quantizer: dimensions per one-byte subspace (nearstore-index
/// `quant/pq.rs`, `DIMS_PER_SUBSPACE`), so `4 * 4` bytes of `f32` per code byte.
const PQ_DIMS_PER_BYTE: usize = 4;

/// The one compression ratio the engine's PQ has (see [`PQ_DIMS_PER_BYTE`]).
const PQ_COMPRESSION: &str = "x16";

fn object<'a>(at: &str, v: &'a Value) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| Error::bad_request(format!("{at}: expected an object, got {v}")))
}

/// Refuses keys outside `known` (Qdrant's models forbid unknown fields too).
fn known_keys(at: &str, o: &Map<String, Value>, known: &[&str]) -> Result<()> {
    match o.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(Error::bad_request(format!(
            "{at}: unknown field {k:?} (expected {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

/// A string field, `None` when absent or null.
fn string<'a>(at: &str, o: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(Error::bad_request(format!(
            "{at}.{key}: expected a string, got {v}"
        ))),
    }
}

/// `always_ram` (a flag, accepted either way: see the module doc) and `memory` (`pinned`
/// only: the codes are held in memory).
fn placement(at: &str, o: &Map<String, Value>) -> Result<()> {
    match o.get("always_ram") {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(v) => {
            return Err(Error::bad_request(format!(
                "{at}.always_ram: expected true or false, got {v}"
            )));
        }
    }
    match o.get("memory") {
        None | Some(Value::Null) => Ok(()),
        Some(v) => {
            let m: Memory = serde_json::from_value(v.clone())
                .map_err(|e| Error::bad_request(format!("{at}.memory: {e}")))?;
            check_memory(&format!("{at}.memory"), Some(m), Placement::Heap)
        }
    }
}

/// The storage mode and quantizer settings a Qdrant `quantization_config` at `at` (e.g.
/// `quantization_config`, `vectors.quantization_config`) asks for on a vector of `dim`
/// dimensions.
pub(crate) fn storage_mode(
    at: &str,
    raw: &RawJson,
    dim: usize,
) -> Result<(StorageMode, QuantizationConfig)> {
    let v: Value =
        serde_json::from_str(raw.get()).map_err(|e| Error::bad_request(format!("{at}: {e}")))?;
    let o = object(at, &v)?;
    let (kind, params) = match (o.len(), o.iter().next()) {
        (1, Some((k, p))) => (k.as_str(), p),
        _ => {
            return Err(Error::bad_request(format!(
                "{at}: expected one of {{\"scalar\": {{..}}}}, {{\"product\": {{..}}}} or {{\"binary\": {{..}}}}, got {v}"
            )));
        }
    };
    let at = format!("{at}.{kind}");
    match kind {
        "scalar" => {
            let p = object(&at, params)?;
            known_keys(&at, p, &["type", "quantile", "always_ram", "memory"])?;
            match string(&at, p, "type")? {
                Some("int8") => {}
                Some(other) => {
                    return Err(Error::bad_request(format!(
                        "{at}.type: unknown scalar type {other:?} (expected \"int8\")"
                    )));
                }
                None => return Err(Error::bad_request(format!("{at}.type: missing"))),
            }
            let quantile = match p.get("quantile") {
                None | Some(Value::Null) => QDRANT_DEFAULT_QUANTILE,
                Some(q) => {
                    let Some(x) = q.as_f64() else {
                        return Err(Error::bad_request(format!(
                            "{at}.quantile: expected a number, got {q}"
                        )));
                    };
                    if !(0.5..=1.0).contains(&x) {
                        return Err(Error::validation(format!(
                            "{at}.quantile: value {x} invalid, must be from 0.5 to 1.0"
                        )));
                    }
                    x as f32
                }
            };
            placement(&at, p)?;
            let settings = QuantizationConfig {
                quantile: Some(quantile),
                ..Default::default()
            };
            Ok((StorageMode::Sq8, settings))
        }
        "product" => {
            let p = object(&at, params)?;
            known_keys(&at, p, &["compression", "always_ram", "memory"])?;
            let Some(c) = string(&at, p, "compression")? else {
                return Err(Error::bad_request(format!("{at}.compression: missing")));
            };
            if !matches!(c, "x4" | "x8" | "x16" | "x32" | "x64") {
                return Err(Error::bad_request(format!(
                    "{at}.compression: unknown ratio {c:?} (expected x4, x8, x16, x32 or x64)"
                )));
            }
            if c != PQ_COMPRESSION {
                return Err(Error::not_supported(format!(
                    "{at}.compression = {c:?} (NearStore's product quantizer codes {PQ_DIMS_PER_BYTE} dimensions per byte: only \"{PQ_COMPRESSION}\")"
                )));
            }
            if !dim.is_multiple_of(PQ_DIMS_PER_BYTE) {
                return Err(Error::not_supported(format!(
                    "{at}.compression = \"{PQ_COMPRESSION}\" for {dim} dimensions (exactly x16 needs a dimension divisible by {PQ_DIMS_PER_BYTE})"
                )));
            }
            placement(&at, p)?;
            Ok((StorageMode::Pq, QuantizationConfig::default()))
        }
        "binary" => {
            let p = object(&at, params)?;
            known_keys(
                &at,
                p,
                &["always_ram", "memory", "encoding", "query_encoding"],
            )?;
            match string(&at, p, "encoding")? {
                None | Some("one_bit") => {}
                Some(e @ ("two_bits" | "one_and_half_bits")) => {
                    return Err(Error::not_supported(format!(
                        "{at}.encoding = {e:?} (NearStore's binary codes have one bit per dimension: \"one_bit\")"
                    )));
                }
                Some(e) => {
                    return Err(Error::bad_request(format!(
                        "{at}.encoding: unknown encoding {e:?} (expected one_bit, two_bits or one_and_half_bits)"
                    )));
                }
            }
            match string(&at, p, "query_encoding")? {
                None | Some("default" | "binary") => {}
                Some(e @ ("scalar4bits" | "scalar8bits")) => {
                    return Err(Error::not_supported(format!(
                        "{at}.query_encoding = {e:?} (NearStore compares binary codes with the query's own bits: \"default\" or \"binary\")"
                    )));
                }
                Some(e) => {
                    return Err(Error::bad_request(format!(
                        "{at}.query_encoding: unknown encoding {e:?} (expected default, binary, scalar4bits or scalar8bits)"
                    )));
                }
            }
            placement(&at, p)?;
            Ok((StorageMode::Binary, QuantizationConfig::default()))
        }
        "turbo" => Err(Error::not_supported(format!(
            "{at} (TurboQuant; NearStore's rotation-based mode is the native API's storage_mode \"rabitq\")"
        ))),
        other => Err(Error::bad_request(format!(
            "{at}: unknown quantization {other:?} (expected scalar, product or binary)"
        ))),
    }
}

/// Qdrant's compression ratio nearest (in log scale) to what the engine's PQ codes of
/// `dim` dimensions achieve: `x16` when `dim` is divisible by 4.
fn pq_compression(dim: usize) -> &'static str {
    // The engine's default subspace count, `dim / 4` and at least 1 (`pq::default_subspaces`).
    let bytes = (dim / PQ_DIMS_PER_BYTE).max(1);
    let ratio = (4 * dim) as f64 / bytes as f64;
    [
        ("x4", 4.0),
        ("x8", 8.0),
        ("x16", 16.0),
        ("x32", 32.0),
        ("x64", 64.0),
    ]
    .into_iter()
    .min_by(|a, b| {
        let d = |r: f64| (ratio.ln() - r.ln()).abs();
        d(a.1).total_cmp(&d(b.1))
    })
    .map_or(PQ_COMPRESSION, |(name, _)| name)
}

/// The `quantization_config` Qdrant reports for the default vector of `config`: `null`
/// for `full` (and for `rabitq` and any mode Qdrant has no shape for; the collection
/// info's `nearstore_storage_mode` names it). Codes are held in memory:
/// `always_ram: true`.
pub(crate) fn report(config: &CollectionConfig) -> Value {
    let dim = config.dim;
    match config.storage_mode {
        StorageMode::Sq8 => json!({"scalar": {
            "type": "int8",
            "quantile": decimal(config.quantization.quantile.unwrap_or(SQ8_DEFAULT_QUANTILE)),
            "always_ram": true,
        }}),
        StorageMode::Binary => json!({"binary": {"always_ram": true, "encoding": "one_bit"}}),
        StorageMode::Pq => json!({"product": {
            "compression": pq_compression(dim), "always_ram": true,
        }}),
        _ => Value::Null,
    }
}

/// `x` as the `f64` with the same shortest decimal form (0.99, not 0.9900000095...).
fn decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// A search's `params.quantization`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = QdrantQuantizationSearchParams)]
pub(crate) struct QuantizationParams {
    /// `true`: search without the codes. On a quantized collection the search is exact
    /// (every point scored with its `f32` vector); `rescore: false` and `oversampling`
    /// contradict it (400).
    #[serde(default)]
    pub(crate) ignore: Option<bool>,
    /// Rescore the candidates with the exact `f32` vectors (default: yes). `false` returns
    /// the codes' approximate scores (`sq8` and `pq`; a `binary` or `rabitq` collection
    /// always rescores, so `false` there is 400).
    #[serde(default)]
    pub(crate) rescore: Option<bool>,
    /// Candidates rescored per result wanted, 1 to 100 (default: the collection's).
    #[serde(default)]
    pub(crate) oversampling: Option<f64>,
}

/// The engine's largest oversampling (`SearchRequest::oversampling`).
const MAX_OVERSAMPLING: f64 = 100.0;

impl QuantizationParams {
    /// Checks what does not depend on the collection: `oversampling` below 1 is Qdrant's
    /// validation error (422), above the engine's 100 is 400; `ignore: true` with
    /// `rescore: false` or an `oversampling` is a contradiction (400).
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(o) = self.oversampling {
            if !o.is_finite() || o < 1.0 {
                return Err(Error::validation(format!(
                    "params.quantization.oversampling: value {o} invalid, must be 1.0 or larger"
                )));
            }
            if o > MAX_OVERSAMPLING {
                return Err(Error::not_supported(format!(
                    "params.quantization.oversampling = {o} (at most {MAX_OVERSAMPLING})"
                )));
            }
        }
        if self.ignore == Some(true) && (self.rescore == Some(false) || self.oversampling.is_some())
        {
            return Err(Error::bad_request(
                "params.quantization.ignore = true searches the exact f32 vectors without the codes: rescore = false and oversampling contradict it",
            ));
        }
        Ok(())
    }

    /// `r` with these settings, for a collection whose default vector is stored in `mode`.
    /// Applied after the request's quality: `ignore: true` on a quantized collection makes
    /// the search exact whatever `hnsw_ef` said.
    pub(crate) fn apply(&self, mut r: SearchRequest, mode: StorageMode) -> Result<SearchRequest> {
        self.check()?;
        if self.ignore == Some(true) {
            if mode.is_quantized() {
                r = r.quality(SearchQuality::Perfect);
            }
            return Ok(r);
        }
        if let Some(b) = self.rescore {
            r = r.rerank(b);
        }
        if let Some(o) = self.oversampling {
            r = r.oversampling(o as f32);
        }
        Ok(r)
    }
}
