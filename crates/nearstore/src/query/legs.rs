//! The ranking legs of a SELECT: which WHERE terms rank the rows, and the one engine
//! [`SearchRequest`] they become.
//!
//! Top-level AND terms that rank: `field NEAR v` (a dense leg on the vector named `field`;
//! `vector` is the default vector `""`), `field NEAR_FUSED [v, ...]` (one dense leg per
//! vector), `[field] MATCH 'q'` (the text leg) and `field SPARSE_NEAR sv [USING 'name']`
//! (a sparse leg). One ranking term keeps its own score; several are fused, by
//! `USING FUSION (strategy = ..., ...)` after the SELECT or the `NEAR_FUSED` clause, RRF
//! (`k` = 60) by default. The pushed-down filter goes into the request, so every leg
//! searches under it (the engine's rule, never a post-filter here).
//!
//! Each row carries its legs' scores and ranks under the pseudo-field `_legs`:
//! `_legs.<name>.score` / `_legs.<name>.rank` with the names of
//! [`SearchRequest::leg_names`] (`dense`, `dense:image`, `text`, ...), the vector's own
//! name (`vector`, `image`), and the leg's position (`_legs.leg0.score`); the first leg of a
//! name wins.

use serde_json::{Map, Value, json};

use super::Context;
use super::lower::{NearPart, json_of};
use crate::error::{Error, Result};
use crate::point::SearchResult;
use crate::request::{FusionStrategy, Leg, LegQuery, SearchRequest, TextLeg};
use nearstore_ql::ast::{Expr, FusionClause, OptionList, VectorExpr};

/// One ranking term after the first `NEAR` (which is the plan's `near`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LegPart {
    /// `field NEAR v` on the vector named `using`.
    Dense { using: String, vector: VectorExpr },
    /// `[field] MATCH 'q'`.
    Text { field: Option<String>, text: Expr },
}

impl LegPart {
    pub(crate) fn describe(&self) -> String {
        match self {
            LegPart::Dense { using, vector } => {
                format!("dense {} by {}", vector_name(using), vector_text(vector))
            }
            LegPart::Text { field, text } => format!(
                "text BM25 on {} for {text}",
                field.as_deref().unwrap_or("every text field")
            ),
        }
    }
}

/// The vector name a `field NEAR` refers to (`vector`: the default vector `""`).
pub(crate) fn vector_using(field: &[String], main: &str) -> Option<String> {
    match field {
        [only] if only == "vector" => Some(String::new()),
        [a, only] if a == main && only == "vector" => Some(String::new()),
        [only] => Some(only.clone()),
        [a, only] if a == main => Some(only.clone()),
        _ => None,
    }
}

fn vector_name(using: &str) -> String {
    if using.is_empty() {
        "vector".into()
    } else {
        using.to_owned()
    }
}

pub(crate) fn vector_text(v: &VectorExpr) -> String {
    match v {
        VectorExpr::Param(p) => format!("${p}"),
        VectorExpr::Literal(v) => format!("{}-d literal", v.len()),
    }
}

/// The text of a MATCH query (a string or a parameter holding one).
fn match_text(ctx: &Context, text: &Expr) -> Result<String> {
    let query = json_of(ctx, text)?;
    query
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::InvalidArgument(format!("MATCH needs a string, got {query}")))
}

/// The one request of a ranked SELECT: the first NEAR as the request's vector, then the
/// other legs in the order written, and the fusion.
pub(crate) fn ranking_request(
    ctx: &Context,
    near: Option<&NearPart>,
    legs: &[LegPart],
    fusion: Option<&FusionClause>,
) -> Result<SearchRequest> {
    let mut request = match near {
        Some(n) => SearchRequest::new(&ctx.vector(&n.vector)?).using(&n.using),
        None => SearchRequest::new(&[]),
    };
    for leg in legs {
        request = match leg {
            LegPart::Dense { using, vector } => {
                request.leg(Leg::dense(using, &ctx.vector(vector)?))
            }
            LegPart::Text { field, text } => request.leg(Leg {
                query: LegQuery::Text(TextLeg {
                    query: match_text(ctx, text)?,
                    field: field.clone(),
                }),
                limit: None,
            }),
        };
    }
    if let Some(f) = fusion {
        request = request.fusion(fusion_strategy(ctx, f)?);
    }
    Ok(request)
}

fn weights(ctx: &Context, params: &OptionList, strategy: &str) -> Result<Vec<f32>> {
    let mut out = Vec::new();
    for (key, value) in params {
        if !key.eq_ignore_ascii_case("weights") {
            return Err(unsupported_option(strategy, key));
        }
        let v = json_of(ctx, value)?;
        let list = v.as_array().ok_or_else(|| {
            Error::InvalidArgument(format!("fusion weights must be a list of numbers, got {v}"))
        })?;
        for w in list {
            let w = w.as_f64().ok_or_else(|| {
                Error::InvalidArgument(format!("fusion weight {w} is not a number"))
            })?;
            out.push(w as f32);
        }
    }
    Ok(out)
}

fn unsupported_option(strategy: &str, key: &str) -> Error {
    Error::InvalidArgument(format!(
        "fusion {strategy} has no option {key:?} (rrf takes k; relative_score and weighted take \
         weights = [...]; dbsf, average and maximum take none)"
    ))
}

/// `USING FUSION (strategy = 'rrf', k = 60)` / `'relative_score' (weights = [0.7, 0.3])`.
pub(crate) fn fusion_strategy(ctx: &Context, clause: &FusionClause) -> Result<FusionStrategy> {
    let name = clause
        .strategy
        .as_deref()
        .unwrap_or("rrf")
        .to_ascii_lowercase();
    let none = |s: FusionStrategy| match clause.params.first() {
        Some((key, _)) => Err(unsupported_option(&name, key)),
        None => Ok(s),
    };
    match name.as_str() {
        "rrf" => {
            let mut k = crate::DEFAULT_RRF_K;
            for (key, value) in &clause.params {
                if !key.eq_ignore_ascii_case("k") {
                    return Err(unsupported_option(&name, key));
                }
                let v = json_of(ctx, value)?;
                k = v
                    .as_u64()
                    .and_then(|k| u32::try_from(k).ok())
                    .ok_or_else(|| {
                        Error::InvalidArgument(format!("fusion rrf k = {v}: expected 0..=2^32-1"))
                    })?;
            }
            Ok(FusionStrategy::Rrf { k })
        }
        "relative_score" | "rsf" => Ok(FusionStrategy::RelativeScore {
            weights: weights(ctx, &clause.params, &name)?,
        }),
        "weighted" => Ok(FusionStrategy::Weighted {
            weights: weights(ctx, &clause.params, &name)?,
        }),
        "dbsf" => none(FusionStrategy::Dbsf),
        "average" | "avg" => none(FusionStrategy::Average),
        "maximum" | "max" => none(FusionStrategy::Maximum),
        other => Err(Error::InvalidArgument(format!(
            "unknown fusion strategy {other:?} (expected rrf, relative_score, dbsf, weighted, \
             average or maximum)"
        ))),
    }
}

/// The `_legs` pseudo-field of a result of `request` (`None` for a single-leg request).
pub(crate) fn legs_value(request: &SearchRequest, hit: &SearchResult) -> Option<Value> {
    if hit.legs.is_empty() {
        return None;
    }
    let names = request.leg_names();
    let mut out = Map::new();
    for ls in &hit.legs {
        let v = json!({"score": ls.score, "rank": ls.rank});
        if let Some(name) = names.get(ls.leg) {
            // `dense:image` is also `image`, `dense` also `vector` (path-friendly names).
            let short = match name.split_once(':') {
                Some((_, n)) => n,
                None if name == "dense" => "vector",
                None => name,
            };
            for key in [name.as_str(), short] {
                out.entry(key.to_owned()).or_insert_with(|| v.clone());
            }
        }
        out.insert(format!("leg{}", ls.leg), v);
    }
    Some(Value::Object(out))
}
