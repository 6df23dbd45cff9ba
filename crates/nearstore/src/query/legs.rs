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
use super::lower::{NearPart, json_of, payload_field};
use crate::error::{Error, Result};
use crate::point::SearchResult;
use crate::request::{FusionStrategy, Leg, LegQuery, SearchRequest, TextLeg};
use nearstore_ql::ast::{
    Condition, Expr, FusionClause, OptionList, Path, SparseVectorExpr, VectorExpr,
};
use nearstore_text::SparseVector;

/// One ranking term after the first `NEAR` (which is the plan's `near`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LegPart {
    /// `field NEAR v` on the vector named `using`.
    Dense { using: String, vector: VectorExpr },
    /// `[field] MATCH 'q'`.
    Text { field: Option<String>, text: Expr },
    /// `field SPARSE_NEAR sv [USING 'name']` on the sparse vector named `using`.
    Sparse {
        using: String,
        vector: SparseVectorExpr,
    },
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
            LegPart::Sparse { using, vector } => format!(
                "sparse {} by {} (exact dot product, MaxScore)",
                if using.is_empty() { "\"\"" } else { using },
                match vector {
                    SparseVectorExpr::Param(p) => format!("${p}"),
                    SparseVectorExpr::Literal(e) => format!("{}-entry literal", e.len()),
                }
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
            LegPart::Sparse { using, vector } => {
                request.leg(Leg::sparse(using, &sparse_vector(ctx, vector)?))
            }
            LegPart::Text { field, text } => request.leg(Leg {
                query: LegQuery::Text(TextLeg {
                    query: match_text(ctx, text)?,
                    field: field.clone(),
                }),
                limit: None,
                filter: None,
            }),
        };
    }
    if let Some(f) = fusion {
        request = request.fusion(fusion_strategy(ctx, f)?);
    }
    Ok(request)
}

/// A sparse query vector: a literal `{12: 0.5, ...}` or a parameter holding
/// `{"indices": [...], "values": [...]}` or `{"12": 0.5, ...}` (duplicates summed, zeros
/// dropped, non-finite values refused).
fn sparse_vector(ctx: &Context, v: &SparseVectorExpr) -> Result<SparseVector> {
    let (indices, values): (Vec<u32>, Vec<f32>) = match v {
        SparseVectorExpr::Literal(entries) => entries.iter().copied().unzip(),
        SparseVectorExpr::Param(name) => {
            let value = ctx.param(name)?;
            let bad = || {
                Error::InvalidArgument(format!(
                    "${name} is not a sparse vector (expected {{\"indices\": [...], \"values\": \
                     [...]}} or {{\"12\": 0.5, ...}})"
                ))
            };
            let Some(obj) = value.as_object() else {
                return Err(bad());
            };
            if !(obj.contains_key("indices") && obj.contains_key("values")) {
                let mut pairs = Vec::with_capacity(obj.len());
                for (k, w) in obj {
                    let i: u32 = k.parse().map_err(|_| bad())?;
                    pairs.push((i, w.as_f64().ok_or_else(bad)? as f32));
                }
                pairs.into_iter().unzip()
            } else {
                let sv: SparseVector = serde_json::from_value(value.clone())
                    .map_err(|e| Error::InvalidArgument(format!("${name}: {e}")))?;
                return Ok(sv);
            }
        }
    };
    Ok(SparseVector::new(indices, values)?)
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

/// The ranking terms among `terms` (see the module docs): the first NEAR, the other legs in
/// the order written, and the fusion clause (`fusion`: the SELECT's own `USING FUSION`).
pub(crate) fn ranking_terms(
    terms: &[Condition],
    main: &str,
    aliases: &[String],
    fusion: Option<FusionClause>,
) -> Result<(Option<NearPart>, Vec<LegPart>, Option<FusionClause>)> {
    let (mut near, mut legs, mut fusion) = (None::<NearPart>, Vec::new(), fusion);
    let using_of = |field: &Path| {
        vector_using(field, main).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "NEAR searches a vector of the FROM table, not {}",
                field.join(".")
            ))
        })
    };
    for t in terms {
        match t {
            Condition::VectorNear { field, vector } => {
                let using = using_of(field)?;
                if near.is_none() && legs.is_empty() {
                    near = Some(NearPart {
                        using,
                        vector: vector.clone(),
                        threshold: None,
                    });
                } else {
                    legs.push(LegPart::Dense {
                        using,
                        vector: vector.clone(),
                    });
                }
            }
            Condition::VectorNearFused {
                field,
                vectors,
                fusion: clause,
            } => {
                let using = using_of(field)?;
                legs.extend(vectors.iter().map(|v| LegPart::Dense {
                    using: using.clone(),
                    vector: v.clone(),
                }));
                if let Some(c) = clause {
                    if fusion.is_some() {
                        return Err(Error::InvalidArgument(
                            "two fusion clauses (NEAR_FUSED ... USING FUSION and USING FUSION \
                             (...)): write one"
                                .into(),
                        ));
                    }
                    fusion = Some(c.clone());
                }
            }
            Condition::SparseNear {
                field,
                vector,
                index,
            } => {
                let using = match index {
                    Some(name) => name.clone(),
                    None => using_of(field)?,
                };
                legs.push(LegPart::Sparse {
                    using,
                    vector: vector.clone(),
                });
            }
            Condition::TextMatch { field, text: query } => {
                let field = match field {
                    None => None,
                    Some(path) => match payload_field(path, aliases) {
                        Some((None, f)) => Some(f),
                        Some((Some(a), f)) if a == main => Some(f),
                        _ => {
                            return Err(Error::InvalidArgument(format!(
                                "MATCH searches a text field of the FROM table, not {}",
                                path.join(".")
                            )));
                        }
                    },
                };
                legs.push(LegPart::Text {
                    field,
                    text: query.clone(),
                });
            }
            _ => {}
        }
    }
    Ok((near, legs, fusion))
}
