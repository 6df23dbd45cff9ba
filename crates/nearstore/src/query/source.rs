//! The FROM step of a SELECT: the source rows through one engine request (a vector or
//! full-text search with the pushed-down filter and the result window, an id lookup as a `has_id` filter, or
//! one scan), and equi-joins with further tables (each scanned once).
//!
//! Nothing here scores, sorts by score or pages: the engine does that.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;

use super::Context;
use super::eval::{Row, Source, resolve_path};
use super::legs::{legs_value, ranking_request};
use super::lower::{SelectPlan, condition_to_filter, json_of};
use crate::VectorCollection;
use crate::error::{Error, Result};
use crate::request::SearchRequest;
use nearstore_filter::Filter;
use nearstore_ql::MAX_LIMIT;
use nearstore_ql::ast::{CompareOp, JoinCondition, JoinKind};

fn point_source(alias: &str, c: &VectorCollection, p: crate::Point) -> Source {
    Source {
        alias: alias.to_string(),
        collection: c.name().to_string(),
        id: p.id,
        payload: p.payload.unwrap_or(Value::Null),
        vector: (!p.vector.is_empty()).then_some(p.vector),
        legs: None,
    }
}

/// The FROM table's rows after the pushed-down conditions.
pub(crate) fn source_rows(
    ctx: &Context,
    plan: &SelectPlan,
    c: &VectorCollection,
    want: Option<usize>,
) -> Result<Vec<Row>> {
    let started = Instant::now();
    let alias = &plan.aliases[0];
    let filter = match plan.pushed.as_slice() {
        [] => None,
        parts => {
            let mut fs = Vec::with_capacity(parts.len());
            for p in parts {
                fs.push(condition_to_filter(ctx, p)?.1);
            }
            Some(if fs.len() == 1 {
                fs.remove(0)
            } else {
                Filter::and(fs)
            })
        }
    };
    let filter_text = filter
        .as_ref()
        .map_or_else(String::new, |f| f.to_json().to_string());
    ctx.check_deadline()?;
    let rows: Vec<Row> = if plan.near.is_some() || !plan.legs.is_empty() {
        let k = want
            .unwrap_or(MAX_LIMIT as usize)
            .clamp(1, MAX_LIMIT as usize);
        let mut request =
            ranking_request(ctx, plan.near.as_ref(), &plan.legs, plan.fusion.as_ref())?
                .limit(k)
                .with_payload(true);
        if let Some(d) = ctx.engine_deadline() {
            request = request.deadline(d);
        }
        if let Some(f) = filter.clone() {
            request = request.filter(f);
        }
        if let Some(q) = plan.options.quality {
            request = request.quality(q);
        }
        request.rerank = plan.options.rerank;
        request.oversampling = plan.options.oversampling;
        if let Some(near) = &plan.near
            && let Some((op, value)) = &near.threshold
        {
            request = similarity_threshold(ctx, c, request, *op, value)?;
        }
        let quality = request.quality;
        let (hits, stats) = c.text_query(&request)?;
        let search = nearstore_index::last_search_stats();
        let out: Vec<Row> = hits
            .into_iter()
            .map(|h| {
                let legs = legs_value(&request, &h);
                let mut source = point_source(alias, c, h.point);
                source.legs = legs;
                Row::single(source, Some(h.score))
            })
            .collect();
        let filter_text = if filter_text.is_empty() {
            "none"
        } else {
            &filter_text
        };
        let names = request.leg_names();
        let (step, detail) = match names.as_slice() {
            [one] if one == "text" || one.starts_with("text:") => (
                "TextSearch",
                format!(
                    "collection {}, BM25 top {k} (block-max pruning), field {}, filter {filter_text}; {} segments, {} postings scanned, {} blocks decoded, {} blocks skipped, {} documents scored",
                    c.name(),
                    request
                        .text
                        .as_ref()
                        .and_then(|t| t.field.as_deref())
                        .or(match plan.legs.first() {
                            Some(super::legs::LegPart::Text { field, .. }) => field.as_deref(),
                            _ => None,
                        })
                        .unwrap_or("all text fields"),
                    stats.segments,
                    stats.postings_scanned,
                    stats.blocks_decoded,
                    stats.blocks_skipped,
                    stats.documents_scored
                ),
            ),
            [one] if one == "sparse" || one.starts_with("sparse:") => (
                "SparseSearch",
                format!(
                    "collection {}, {one} exact top {k} by dot product (MaxScore), filter {filter_text}",
                    c.name()
                ),
            ),
            [_] => (
                "VectorSearch",
                format!(
                    "collection {}, k {k}, quality {quality:?}, filter {filter_text}; {}: {} nodes visited, {} distance computations",
                    c.name(),
                    if search.exact {
                        "exact scan"
                    } else {
                        "graph search"
                    },
                    search.nodes_visited,
                    search.distance_computations
                ),
            ),
            _ => (
                "HybridSearch",
                format!(
                    "collection {}, k {k}, legs [{}] fused by {}, each leg under filter {filter_text}",
                    c.name(),
                    names.join(", "),
                    request.fusion.name(),
                ),
            ),
        };
        ctx.record(step, out.len(), started, detail);
        out
    } else if let Some(ids) = &plan.ids {
        let mut wanted = Vec::new();
        for e in ids {
            let v = json_of(ctx, e)?;
            if let Some(id) = v.as_u64() {
                wanted.push(id);
            }
        }
        // The ids and the pushed-down filter go to the engine as one filter: `has_id` is
        // its id bitmap. Rows come back in the order the ids were written.
        let by_id = Filter::has_id(wanted.iter().copied());
        let id_filter = match filter.clone() {
            Some(f) => Filter::and(vec![by_id, f]),
            None => by_id,
        };
        let found = c.scan(&ctx.scroll_request(Some(id_filter)))?;
        let mut found: HashMap<u64, crate::Point> = found.into_iter().map(|p| (p.id, p)).collect();
        let out: Vec<Row> = wanted
            .iter()
            .filter_map(|id| found.remove(id))
            .map(|p| Row::single(point_source(alias, c, p), None))
            .collect();
        ctx.record(
            "IdLookup",
            out.len(),
            started,
            format!("collection {}, {} ids", c.name(), wanted.len()),
        );
        out
    } else {
        let out: Vec<Row> = c
            .scan_up_to(&ctx.scroll_request(filter.clone()), want)?
            .into_iter()
            .map(|p| Row::single(point_source(alias, c, p), None))
            .collect();
        ctx.record(
            "Scan",
            out.len(),
            started,
            format!(
                "collection {}, filter {}",
                c.name(),
                if filter_text.is_empty() {
                    "none"
                } else {
                    &filter_text
                }
            ),
        );
        out
    };
    Ok(rows)
}

fn join_key(v: &Value) -> String {
    match v {
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |f| f.to_string()),
        other => other.to_string(),
    }
}

/// Joins `rows` with the table of `join` on one key.
pub(crate) fn join_rows(
    ctx: &Context,
    rows: Vec<Row>,
    join: &nearstore_ql::ast::Join,
    index: usize,
) -> Result<Vec<Row>> {
    let started = Instant::now();
    let right = ctx.db.get_vector_collection(&join.table.name)?;
    let alias = ctx.aliases[index].clone();
    let (left_path, right_field): (Vec<String>, Vec<String>) = match &join.on {
        JoinCondition::Using(cols) => match cols.as_slice() {
            [col] => (vec![col.clone()], vec![col.clone()]),
            _ => {
                return Err(Error::Unsupported(
                    "JOIN USING more than one column is not supported yet".into(),
                ));
            }
        },
        JoinCondition::On(a, b) => {
            let refers_right = |p: &Vec<String>| p.first() == Some(&alias);
            let (l, r) = if refers_right(b) {
                (a.clone(), b.clone())
            } else if refers_right(a) {
                (b.clone(), a.clone())
            } else {
                return Err(Error::InvalidArgument(format!(
                    "JOIN ... ON must compare a column of {alias} with one of the other tables"
                )));
            };
            (l, r[1..].to_vec())
        }
    };
    // Index the right table by its key.
    let mut by_key: HashMap<String, Vec<Source>> = HashMap::new();
    let mut right_all = Vec::new();
    for p in right.scan(&ctx.scroll_request(None))? {
        let s = point_source(&alias, &right, p);
        let key = match right_field.as_slice() {
            [only] if only == "id" => Value::from(s.id),
            path => super::eval::lookup(&s.payload, path).clone(),
        };
        if !key.is_null() {
            by_key.entry(join_key(&key)).or_default().push(s.clone());
        }
        right_all.push(s);
    }
    let mut matched_right: std::collections::HashSet<u64> = Default::default();
    let mut out = Vec::new();
    for row in rows {
        ctx.check_deadline()?;
        let key = resolve_path(ctx, &row, &left_path);
        let matches = if key.is_null() {
            None
        } else {
            by_key.get(&join_key(&key))
        };
        match matches {
            Some(sources) => {
                for s in sources {
                    matched_right.insert(s.id);
                    let mut r = row.clone();
                    r.sources.push(Some(s.clone()));
                    out.push(r);
                }
            }
            None if matches!(join.kind, JoinKind::Left | JoinKind::Full) => {
                let mut r = row.clone();
                r.sources.push(None);
                out.push(r);
            }
            None => {}
        }
    }
    if matches!(join.kind, JoinKind::Right | JoinKind::Full) {
        let width = index;
        for s in right_all
            .into_iter()
            .filter(|s| !matched_right.contains(&s.id))
        {
            let mut sources = vec![None; width];
            sources.push(Some(s));
            out.push(Row {
                sources,
                score: None,
                columns: None,
            });
        }
    }
    ctx.record(
        "Join",
        out.len(),
        started,
        format!(
            "{:?} join with {} on {}",
            join.kind,
            join.table.name,
            left_path.join(".")
        ),
    );
    Ok(out)
}

/// `similarity() op t` folded into a single dense search as its score threshold.
fn similarity_threshold(
    ctx: &Context,
    c: &VectorCollection,
    request: SearchRequest,
    op: CompareOp,
    value: &nearstore_ql::ast::Expr,
) -> Result<SearchRequest> {
    let t = json_of(ctx, value)?
        .as_f64()
        .ok_or_else(|| Error::InvalidArgument("a similarity threshold must be a number".into()))?
        as f32;
    let metric = c.config().metric;
    let minimum = matches!(op, CompareOp::Gt | CompareOp::GtEq);
    if minimum != metric.is_similarity() {
        return Err(Error::InvalidArgument(format!(
            "similarity() on a {} collection is a {}: compare it with {}",
            metric.name(),
            if metric.is_similarity() {
                "similarity"
            } else {
                "distance"
            },
            if metric.is_similarity() {
                "> or >="
            } else {
                "< or <="
            }
        )));
    }
    // `similarity() > t` / `< t` exclude a score of exactly `t`.
    Ok(if matches!(op, CompareOp::Gt | CompareOp::Lt) {
        request.score_threshold_exclusive(t)
    } else {
        request.score_threshold(t)
    })
}
