//! Lowering a SELECT's AST to a plan: which WHERE terms become the vector search, which are
//! pushed down into the collection as a [`Filter`] (and so reach the payload indexes and the
//! index's exact-scan-or-graph planner, exactly like the builder API's filters), which select
//! points by id, and which remain as residual predicates evaluated per row.

use serde_json::Value;

use super::Context;
use super::legs::{LegPart, ranking_terms};
use super::lets::{expr_names, row_let_in, row_let_misused};
use crate::error::{Error, Result};
use nearstore_filter::{Filter, GeoPoint};
use nearstore_index::SearchQuality;
use nearstore_ql::ast::{CompareOp, Condition, Expr, FusionClause, Path, SelectQuery, VectorExpr};

/// The first `NEAR` of a WHERE clause (the request's vector).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NearPart {
    /// The dense vector's name (`""`: the default `vector`).
    pub using: String,
    pub vector: VectorExpr,
    /// `similarity(vector, <same vector>) op value` folded into the search.
    pub threshold: Option<(CompareOp, Expr)>,
}

/// Options from `WITH (...)`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct QueryOptions {
    pub quality: Option<SearchQuality>,
    pub timeout_ms: Option<u64>,
    /// `rerank = true|false`: a quantized collection's exact rescoring.
    pub rerank: Option<bool>,
    /// `oversampling = x`: a quantized collection's candidates per result.
    pub oversampling: Option<f32>,
}

/// A lowered SELECT (parameters are bound at execution).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SelectPlan {
    pub query: SelectQuery,
    pub aliases: Vec<String>,
    pub near: Option<NearPart>,
    /// The other ranking terms, in the order written (see `legs.rs`).
    pub legs: Vec<LegPart>,
    /// How several ranking terms are fused (`USING FUSION` or `NEAR_FUSED`'s clause).
    pub fusion: Option<FusionClause>,
    pub ids: Option<Vec<Expr>>,
    pub pushed: Vec<Condition>,
    pub residual: Vec<Condition>,
    pub options: QueryOptions,
}

fn unsupported(what: &str) -> Error {
    Error::Unsupported(format!("{what} is not supported yet"))
}

/// Whether a condition contains a feature that comes with a later release.
fn check_supported(cond: &Condition) -> Result<()> {
    match cond {
        Condition::And(p) | Condition::Or(p) => p.iter().try_for_each(check_supported),
        Condition::Not(c) | Condition::Group(c) => check_supported(c),
        Condition::TextMatch { .. }
        | Condition::VectorNearFused { .. }
        | Condition::SparseNear { .. } => Err(unsupported(
            "MATCH, NEAR_FUSED or SPARSE_NEAR inside OR or NOT (they rank the query: use them \
             as top-level AND terms of WHERE)",
        )),
        _ => Ok(()),
    }
}

fn flatten_and(cond: &Condition, out: &mut Vec<Condition>) {
    match cond {
        Condition::And(parts) => parts.iter().for_each(|p| flatten_and(p, out)),
        // Parentheses only group: `(vector NEAR $v AND a = 1) AND b > 2` is three AND terms.
        Condition::Group(inner) => flatten_and(inner, out),
        other => out.push(other.clone()),
    }
}

/// Whether an expression is a constant of the query (literals, parameters, NOW, INTERVAL,
/// arithmetic over those, uncorrelated subqueries, LET names).
pub(crate) fn is_constant(expr: &Expr, lets: &[String]) -> bool {
    match expr {
        Expr::Integer(_)
        | Expr::Unsigned(_)
        | Expr::Float(_)
        | Expr::String(_)
        | Expr::Bool(_)
        | Expr::Null
        | Expr::Param(_)
        | Expr::Now
        | Expr::Interval(_)
        | Expr::Subquery(_) => true,
        Expr::List(items) => items.iter().all(|e| is_constant(e, lets)),
        Expr::Binary { lhs, rhs, .. } => is_constant(lhs, lets) && is_constant(rhs, lets),
        Expr::Negate(e) => is_constant(e, lets),
        Expr::Path(p) => p.len() == 1 && lets.contains(&p[0]),
        _ => false,
    }
}

/// The table a payload path belongs to, and the field inside the payload; `None` for paths
/// that are not payload fields (`id`, `vector`).
pub(crate) fn payload_field(path: &Path, aliases: &[String]) -> Option<(Option<String>, String)> {
    let (alias, rest) = match path.as_slice() {
        [a, rest @ ..] if !rest.is_empty() && aliases.contains(a) => (Some(a.clone()), rest),
        _ => (None, path.as_slice()),
    };
    match rest {
        [] => None,
        [only] if only == "id" || only == "vector" => None,
        _ => Some((alias, rest.join("."))),
    }
}

/// Whether `cond` can be answered by the payload filter model on one table (`main` being the
/// FROM table's alias): returns that table's alias when so.
fn filter_table(cond: &Condition, aliases: &[String], lets: &[String]) -> Option<Option<String>> {
    let one = |path: &Path, consts: &[&Expr]| -> Option<Option<String>> {
        let (alias, _) = payload_field(path, aliases)?;
        consts
            .iter()
            .all(|e| is_constant(e, lets) && !matches!(e, Expr::Null))
            .then_some(alias)
    };
    match cond {
        Condition::And(parts) | Condition::Or(parts) => {
            let tables: Option<Vec<Option<String>>> = parts
                .iter()
                .map(|p| filter_table(p, aliases, lets))
                .collect();
            let tables = tables?;
            let first = tables.first()?.clone();
            tables.iter().all(|t| *t == first).then_some(first)
        }
        Condition::Not(c) | Condition::Group(c) => filter_table(c, aliases, lets),
        Condition::Compare { left, op, right } => match (left, right) {
            (Expr::Path(p), c) | (c, Expr::Path(p))
                if !is_constant(&Expr::Path(p.clone()), lets) =>
            {
                let _ = op;
                one(p, &[c])
            }
            _ => None,
        },
        Condition::In { path, values, .. } => {
            if values.iter().any(|v| matches!(v, Expr::Subquery(_))) {
                return None;
            }
            one(path, &values.iter().collect::<Vec<_>>())
        }
        Condition::Between { path, low, high } => one(path, &[low, high]),
        Condition::Like { path, pattern, .. } => one(path, &[pattern]),
        Condition::IsNull { path, .. } => one(path, &[]),
        Condition::Contains { path, value } => one(path, &[value]),
        Condition::ContainsAny { path, values } | Condition::ContainsAll { path, values } => {
            one(path, &values.iter().collect::<Vec<_>>())
        }
        Condition::ContainsText { path, text } => one(path, &[text]),
        Condition::GeoDistance {
            path,
            lat,
            lon,
            op,
            meters,
        } => (*op != CompareOp::Eq && *op != CompareOp::NotEq)
            .then(|| one(path, &[lat, lon, meters]))
            .flatten(),
        Condition::GeoBbox {
            path,
            lat_min,
            lon_min,
            lat_max,
            lon_max,
        } => one(path, &[lat_min, lon_min, lat_max, lon_max]),
        _ => None,
    }
}

/// `id = c` or `id IN (c, ...)` on the FROM table.
fn id_lookup(cond: &Condition, main: &str, lets: &[String]) -> Option<Vec<Expr>> {
    let is_id = |p: &Path| p.as_slice() == ["id"] || p.as_slice() == [main, "id"];
    match cond {
        Condition::Compare {
            left: Expr::Path(p),
            op: CompareOp::Eq,
            right,
        }
        | Condition::Compare {
            left: right,
            op: CompareOp::Eq,
            right: Expr::Path(p),
        } if is_id(p) && is_constant(right, lets) => Some(vec![right.clone()]),
        Condition::In {
            path,
            negated: false,
            values,
        } if is_id(path)
            && values
                .iter()
                .all(|v| is_constant(v, lets) && !matches!(v, Expr::Subquery(_))) =>
        {
            Some(values.clone())
        }
        _ => None,
    }
}

fn parse_options(q: &SelectQuery, ctx: &Context) -> Result<QueryOptions> {
    let mut o = QueryOptions::default();
    for (key, value) in &q.with_options {
        let v = option_value(ctx, value)?;
        let text = v.as_str().map(str::to_string);
        match key.to_ascii_lowercase().as_str() {
            "mode" | "quality" => {
                let mode = text.unwrap_or_default();
                o.quality = Some(crate::parse_search_quality(&mode).ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "WITH mode = {mode:?}: expected one of {}",
                        crate::search_quality_names()
                    ))
                })?);
            }
            "ef_search" | "ef" => {
                let ef = v
                    .as_u64()
                    .filter(|&e| (1..=100_000).contains(&e))
                    .ok_or_else(|| {
                        Error::InvalidArgument(format!("WITH ef_search = {v}: expected 1..=100000"))
                    })?;
                o.quality = Some(SearchQuality::Ef(ef as usize));
            }
            "timeout_ms" | "timeout" => {
                o.timeout_ms = Some(v.as_u64().ok_or_else(|| {
                    Error::InvalidArgument(format!("WITH timeout_ms = {v}: expected milliseconds"))
                })?);
            }
            "rerank" | "rescore" => {
                o.rerank = Some(v.as_bool().ok_or_else(|| {
                    Error::InvalidArgument(format!("WITH rerank = {v}: expected true or false"))
                })?);
            }
            "oversampling" => {
                let x = v
                    .as_f64()
                    .filter(|x| (1.0..=100.0).contains(x))
                    .ok_or_else(|| {
                        Error::InvalidArgument(format!("WITH oversampling = {v}: expected 1..=100"))
                    })?;
                o.oversampling = Some(x as f32);
            }
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown WITH option {other:?} (expected mode, ef_search, timeout_ms, rerank, oversampling)"
                )));
            }
        }
    }
    Ok(o)
}

/// Lowers a SELECT.
pub(crate) fn lower_select(ctx: &Context, q: &SelectQuery) -> Result<SelectPlan> {
    let main = q.from.alias.clone().unwrap_or_else(|| q.from.name.clone());
    let mut aliases = vec![main.clone()];
    for j in &q.joins {
        aliases.push(
            j.table
                .alias
                .clone()
                .unwrap_or_else(|| j.table.name.clone()),
        );
    }
    let lets: Vec<String> = ctx.lets.keys().cloned().collect();
    let mut terms = Vec::new();
    if let Some(w) = &q.filter {
        flatten_and(w, &mut terms);
        for t in &terms {
            if !matches!(
                t,
                Condition::TextMatch { .. }
                    | Condition::VectorNearFused { .. }
                    | Condition::SparseNear { .. }
            ) {
                check_supported(t)?;
            }
        }
    }
    if let Some(h) = &q.having {
        check_supported(h)?;
    }
    let is_main_vector = |field: &Path| {
        field.as_slice() == ["vector"] || field.as_slice() == [main.as_str(), "vector"]
    };
    let (mut near, legs, fusion) = ranking_terms(&terms, &main, &aliases, q.fusion.clone())?;
    let ranked = near.is_some() || !legs.is_empty();
    if fusion.is_some() && !ranked {
        return Err(Error::InvalidArgument(
            "USING FUSION needs ranking terms in WHERE (NEAR, NEAR_FUSED, SPARSE_NEAR, MATCH)"
                .into(),
        ));
    }
    let single_near = legs.is_empty();
    let (mut pushed, mut residual, mut ids) = (Vec::new(), Vec::new(), None);
    for t in terms {
        match &t {
            Condition::VectorNear { .. }
            | Condition::VectorNearFused { .. }
            | Condition::SparseNear { .. }
            | Condition::TextMatch { .. } => {}
            Condition::SimilarityThreshold {
                field,
                vector,
                op,
                value,
            } if single_near
                && near.as_ref().is_some_and(|n| {
                    n.vector == *vector && n.threshold.is_none() && n.using.is_empty()
                })
                && is_main_vector(field)
                && is_constant(value, &lets)
                && matches!(
                    op,
                    CompareOp::Gt | CompareOp::GtEq | CompareOp::Lt | CompareOp::LtEq
                ) =>
            {
                if let Some(n) = near.as_mut() {
                    n.threshold = Some((*op, value.clone()));
                }
            }
            // A per-row LET is known only on a row: evaluated after the source.
            _ if row_let_in(&t, &ctx.row_lets).is_some() => residual.push(t),
            _ if ids.is_none() && !ranked && id_lookup(&t, &main, &lets).is_some() => {
                ids = id_lookup(&t, &main, &lets);
            }
            _ => match filter_table(&t, &aliases, &lets) {
                Some(None) => pushed.push(t),
                Some(Some(a)) if a == main => pushed.push(t),
                _ => residual.push(t),
            },
        }
    }
    Ok(SelectPlan {
        query: q.clone(),
        aliases,
        near,
        legs,
        fusion,
        ids,
        pushed,
        residual,
        options: parse_options(q, ctx)?,
    })
}

/// The JSON value of a constant expression (see [`is_constant`]), evaluated like any
/// expression but with no row to read from.
pub(crate) fn json_of(ctx: &Context, expr: &Expr) -> Result<Value> {
    let lets: Vec<String> = ctx.lets.keys().cloned().collect();
    if !is_constant(expr, &lets) {
        if let Some((name, bound)) = expr_names(expr)
            .into_iter()
            .find_map(|n| ctx.row_lets.get_key_value(&n))
        {
            return Err(row_let_misused(name, bound, expr));
        }
        return Err(Error::InvalidArgument(format!(
            "{expr} is not a constant here"
        )));
    }
    super::eval::eval(ctx, &super::eval::Row::default(), expr)
}

/// The value of an option (`WITH (mode = accurate)`, `(metric = 'cosine')`): a bare word
/// is its own text, anything else a constant.
pub(crate) fn option_value(ctx: &Context, expr: &Expr) -> Result<Value> {
    match expr {
        Expr::Path(p)
            if p.len() == 1
                && !ctx.lets.contains_key(&p[0])
                && !ctx.row_lets.contains_key(&p[0]) =>
        {
            Ok(Value::String(p[0].clone()))
        }
        other => json_of(ctx, other),
    }
}

fn number_of(ctx: &Context, e: &Expr, what: &str) -> Result<f64> {
    json_of(ctx, e)?
        .as_f64()
        .ok_or_else(|| Error::InvalidArgument(format!("{what} must be a number, got {e}")))
}

/// Whether an expression computes a time from `NOW()` (see `value.rs`).
pub(crate) fn mentions_now(expr: &Expr) -> bool {
    match expr {
        Expr::Now => true,
        Expr::Binary { lhs, rhs, .. } => mentions_now(lhs) || mentions_now(rhs),
        Expr::Negate(e) => mentions_now(e),
        _ => false,
    }
}

/// The path of an array field's elements (`tags` -> `tags[]`): only an array reaches it.
fn elements_of(field: &str) -> String {
    format!("{field}[]")
}

fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::LtEq => CompareOp::GtEq,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::GtEq => CompareOp::LtEq,
        other => other,
    }
}

/// Converts a payload condition (see [`filter_table`]) to the filter model, with constants
/// bound; returns the table alias it applies to (`None`: the FROM table).
pub(crate) fn condition_to_filter(
    ctx: &Context,
    cond: &Condition,
) -> Result<(Option<String>, Filter)> {
    let aliases = &ctx.aliases;
    let field = |p: &Path| -> Result<(Option<String>, String)> {
        payload_field(p, aliases).ok_or_else(|| {
            Error::InvalidArgument(format!("{} is not a payload field", p.join(".")))
        })
    };
    let values = |v: &[Expr]| -> Result<Vec<Value>> { v.iter().map(|e| json_of(ctx, e)).collect() };
    let (alias, filter) = match cond {
        Condition::And(parts) | Condition::Or(parts) => {
            let mut alias = None;
            let mut fs = Vec::new();
            for p in parts {
                let (a, f) = condition_to_filter(ctx, p)?;
                alias = a;
                fs.push(f);
            }
            let f = if matches!(cond, Condition::And(_)) {
                Filter::and(fs)
            } else {
                Filter::or(fs)
            };
            (alias, f)
        }
        Condition::Not(c) => {
            let (a, f) = condition_to_filter(ctx, c)?;
            (a, Filter::not(f))
        }
        Condition::Group(c) => return condition_to_filter(ctx, c),
        Condition::Compare { left, op, right } => {
            let (path, value, op) = match (left, right) {
                (Expr::Path(p), v) if payload_field(p, aliases).is_some() => (p, v, *op),
                (v, Expr::Path(p)) => (p, v, flip(*op)),
                _ => return Err(Error::InvalidArgument(format!("cannot filter on {cond}"))),
            };
            let (a, f) = field(path)?;
            let v = json_of(ctx, value)?;
            let compare = |v: Value| match op {
                CompareOp::Eq => Filter::eq(&f, v),
                CompareOp::NotEq => Filter::ne(&f, v),
                CompareOp::Lt => Filter::lt(&f, v),
                CompareOp::LtEq => Filter::lte(&f, v),
                CompareOp::Gt => Filter::gt(&f, v),
                CompareOp::GtEq => Filter::gte(&f, v),
            };
            // A time computed from NOW() compares with ISO-8601 string fields as its text
            // and with numeric fields as epoch seconds (how the reference stores times).
            let epoch = mentions_now(value)
                .then(|| v.as_str().and_then(super::value::parse_timestamp))
                .flatten();
            let filter = match (op, epoch) {
                // SQL: a NULL (missing) field is not "different from" a value.
                (CompareOp::NotEq, None) => Filter::and(vec![compare(v), Filter::is_not_null(&f)]),
                (CompareOp::NotEq, Some(t)) => Filter::and(vec![
                    compare(v),
                    compare(Value::from(t)),
                    Filter::is_not_null(&f),
                ]),
                (_, None) => compare(v),
                (_, Some(t)) => Filter::or(vec![compare(v), compare(Value::from(t))]),
            };
            (a, filter)
        }
        Condition::In {
            path,
            negated,
            values: v,
        } => {
            let (a, f) = field(path)?;
            let v = values(v)?;
            let filter = if *negated {
                Filter::and(vec![Filter::not_in(&f, v), Filter::is_not_null(&f)])
            } else {
                Filter::is_in(&f, v)
            };
            (a, filter)
        }
        Condition::Between { path, low, high } => {
            let (a, f) = field(path)?;
            (
                a,
                Filter::between(&f, json_of(ctx, low)?, json_of(ctx, high)?),
            )
        }
        Condition::Like {
            path,
            negated,
            case_insensitive,
            pattern,
        } => {
            let (a, f) = field(path)?;
            let p = json_of(ctx, pattern)?;
            let p = p.as_str().ok_or_else(|| {
                Error::InvalidArgument(format!("LIKE needs a string pattern, got {p}"))
            })?;
            let like = if *case_insensitive {
                Filter::ilike(&f, p)
            } else {
                Filter::like(&f, p)
            };
            let filter = if *negated {
                Filter::and(vec![Filter::not(like), Filter::is_not_null(&f)])
            } else {
                like
            };
            (a, filter)
        }
        Condition::IsNull { path, negated } => {
            let (a, f) = field(path)?;
            (
                a,
                if *negated {
                    Filter::is_not_null(&f)
                } else {
                    Filter::is_null(&f)
                },
            )
        }
        // CONTAINS is array membership only, as in the reference (substrings are
        // CONTAINS_TEXT or LIKE): an equality on the array's elements (`field[]`), which a
        // string (or any non-array) value never reaches.
        Condition::Contains { path, value } => {
            let (a, f) = field(path)?;
            (a, Filter::eq(&elements_of(&f), json_of(ctx, value)?))
        }
        Condition::ContainsAny { path, values: v } => {
            let (a, f) = field(path)?;
            (a, Filter::is_in(&elements_of(&f), values(v)?))
        }
        Condition::ContainsAll { path, values: v } => {
            let (a, f) = field(path)?;
            let each = elements_of(&f);
            let all = values(v)?.into_iter().map(|x| Filter::eq(&each, x));
            (a, Filter::and(all.collect()))
        }
        Condition::ContainsText { path, text } => {
            let (a, f) = field(path)?;
            (a, Filter::contains(&f, json_of(ctx, text)?))
        }
        Condition::GeoDistance {
            path,
            lat,
            lon,
            op,
            meters,
        } => {
            let (a, f) = field(path)?;
            let within = Filter::geo_radius(
                &f,
                number_of(ctx, lat, "GEO_DISTANCE latitude")?,
                number_of(ctx, lon, "GEO_DISTANCE longitude")?,
                number_of(ctx, meters, "GEO_DISTANCE metres")?,
            );
            let filter = match op {
                CompareOp::Lt | CompareOp::LtEq => within,
                CompareOp::Gt | CompareOp::GtEq => {
                    Filter::and(vec![Filter::not(within), Filter::is_not_null(&f)])
                }
                _ => {
                    return Err(Error::InvalidArgument(
                        "GEO_DISTANCE compares with <, <=, > or >=".into(),
                    ));
                }
            };
            (a, filter)
        }
        Condition::GeoBbox {
            path,
            lat_min,
            lon_min,
            lat_max,
            lon_max,
        } => {
            let (a, f) = field(path)?;
            let top_left = GeoPoint::new(
                number_of(ctx, lat_max, "GEO_BBOX")?,
                number_of(ctx, lon_min, "GEO_BBOX")?,
            );
            let bottom_right = GeoPoint::new(
                number_of(ctx, lat_min, "GEO_BBOX")?,
                number_of(ctx, lon_max, "GEO_BBOX")?,
            );
            (a, Filter::geo_box(&f, top_left, bottom_right))
        }
        other => return Err(Error::InvalidArgument(format!("cannot filter on {other}"))),
    };
    filter.validate()?;
    Ok((alias, filter))
}
