//! `MATCH` in the query language: the AST lowered to one engine request
//! (`match_lower.rs`), run by [`crate::GraphCollection::match_pattern`]; its bindings
//! become rows (one source per node variable and fixed-length relationship variable) that
//! go through the SELECT's own aggregate, projection, ORDER BY and LIMIT steps
//! (`select.rs` `finish_rows`). Also `MATCH (...)` as a predicate of a SELECT's WHERE.
//!
//! Which graph: the `@name` of the first node when it names a graph collection, else the
//! database's only graph collection (an error otherwise). Which node a row stands for
//! (`RETURN *` of one variable, `MatchRow`'s order): see the README ("which id a pattern
//! returns").

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::eval::{Row, Source};
use super::match_lower::{LoweredMatch, lower_match};
use super::select::{collect_exprs, finish_rows};
use super::{Context, QueryRow};
use crate::error::Result;
use crate::graph_match::MatchResponse;
use nearstore_ql::ast::{
    Condition, Expr, GraphPattern, MatchQuery, SelectItem, SelectQuery, TableRef,
};

/// The synthetic SELECT whose tail (aggregates, projection, order, limit) a MATCH's rows
/// run through: RETURN items, grouped by the non-aggregate paths when there are aggregates
/// anywhere in them (Cypher's implicit grouping; `count(*) + 1` is an aggregate too).
fn return_query(q: &MatchQuery) -> SelectQuery {
    let mut select = SelectQuery {
        distinct: false,
        items: q.returns.clone(),
        from: TableRef {
            name: String::new(),
            alias: None,
        },
        joins: Vec::new(),
        filter: None,
        group_by: Vec::new(),
        having: None,
        order_by: q.order_by.clone(),
        limit: q.limit,
        offset: None,
        with_options: Vec::new(),
        fusion: None,
    };
    if has_aggregate(&select) {
        select.group_by = q
            .returns
            .iter()
            .filter_map(|i| match i {
                SelectItem::Expr {
                    expr: Expr::Path(p),
                    ..
                } => Some(p.clone()),
                _ => None,
            })
            .collect();
    }
    select
}

/// Whether an aggregate appears anywhere in the items or ORDER BY (the walk `finish_rows`
/// uses to find them).
fn has_aggregate(select: &SelectQuery) -> bool {
    !collect_exprs(select, &|e| matches!(e, Expr::Aggregate { .. })).is_empty()
}

/// Whether the rows must all be produced before the LIMIT applies.
fn needs_all_rows(select: &SelectQuery, residual: &[Condition]) -> bool {
    !residual.is_empty() || !select.order_by.is_empty() || has_aggregate(select)
}

/// Runs a MATCH statement.
pub(super) fn run_match(ctx: &Context, q: &MatchQuery) -> Result<Vec<QueryRow>> {
    let parts: Vec<&GraphPattern> = q.parts().collect();
    let lowered = lower_match(ctx, &parts, q.filter.as_ref())?;
    Ok(execute_match(ctx, q, lowered)?.0)
}

/// Runs a lowered MATCH: its output rows and the engine's response (plan, statistics).
fn execute_match(
    ctx: &Context,
    q: &MatchQuery,
    mut lowered: LoweredMatch,
) -> Result<(Vec<QueryRow>, MatchResponse)> {
    let select = return_query(q);
    if !needs_all_rows(&select, &lowered.residual) {
        lowered.request.limit = Some(q.limit.unwrap_or(nearstore_ql::DEFAULT_LIMIT) as usize);
    }
    let started = std::time::Instant::now();
    let response = lowered.graph.match_pattern(&lowered.request)?;
    ctx.record(
        "GraphMatch",
        response.rows.len(),
        started,
        format!(
            "{} bindings, {} partial rows, {} nodes checked, {} edges visited",
            response.stats.bindings,
            response.stats.rows,
            response.stats.nodes_checked,
            response.stats.edges_visited
        ),
    );
    let rows = binding_rows(ctx, &lowered, &response)?;
    let rows = residual_rows(ctx, &lowered.residual, rows)?;
    let ctx = ctx.with_aliases(row_aliases(&response));
    let out = finish_rows(&ctx, &select, rows, lowered.request.similarity.is_some())?;
    Ok((out, response))
}

/// The aliases of a MATCH row's sources: named node variables, then named fixed-length
/// relationships.
fn row_aliases(response: &MatchResponse) -> Vec<String> {
    response
        .node_vars
        .iter()
        .flatten()
        .cloned()
        .chain(response.rel_vars.iter().flatten().cloned())
        .collect()
}

fn residual_rows(ctx: &Context, residual: &[Condition], rows: Vec<Row>) -> Result<Vec<Row>> {
    if residual.is_empty() {
        return Ok(rows);
    }
    let mut kept = Vec::with_capacity(rows.len());
    for (n, r) in rows.into_iter().enumerate() {
        if n % 1024 == 0 {
            ctx.check_deadline()?;
        }
        let mut ok = true;
        for c in residual {
            if !super::eval::eval_condition(ctx, &r, c)? {
                ok = false;
                break;
            }
        }
        if ok {
            kept.push(r);
        }
    }
    Ok(kept)
}

/// A node variable's column: `{"id", "payload"}`.
fn node_column(id: u64, payload: &Value) -> Value {
    let mut m = Map::with_capacity(2);
    m.insert("id".into(), Value::from(id));
    m.insert("payload".into(), payload.clone());
    Value::Object(m)
}

/// An edge's column: `{"id", "source", "target", "label", "properties"}`.
fn edge_column(e: &nearstore_graph::GraphEdge) -> Value {
    let mut m = Map::with_capacity(5);
    m.insert("id".into(), Value::from(e.id));
    m.insert("source".into(), Value::from(e.source));
    m.insert("target".into(), Value::from(e.target));
    m.insert("label".into(), Value::from(e.label.as_str()));
    m.insert("properties".into(), e.properties.clone());
    Value::Object(m)
}

/// One row per binding: a source per named node variable (its payload from the graph or
/// its `@collection`) and per named fixed-length relationship (the edge's properties), and
/// columns holding each variable whole (`RETURN a` gives `{"id", "payload"}`, a
/// variable-length relationship its list of edges). Payloads are read once per collection
/// and id; what does not depend on the row (each variable's collection, which
/// relationships are fixed-length) is worked out once; per row each payload is copied
/// twice, into its source and its column (a row owns its values).
fn binding_rows(
    ctx: &Context,
    lowered: &LoweredMatch,
    response: &MatchResponse,
) -> Result<Vec<Row>> {
    let graph_name = lowered.graph.name().to_string();
    // Each named node variable's position and collection.
    let node_vars: Vec<(usize, &String, &String)> = response
        .node_vars
        .iter()
        .enumerate()
        .filter_map(|(i, var)| {
            let var = var.as_ref()?;
            Some((
                i,
                var,
                lowered.foreign_names.get(var).unwrap_or(&graph_name),
            ))
        })
        .collect();
    // Payloads per collection, read once for the ids the rows bind.
    let mut wanted: HashMap<&String, Vec<u64>> = HashMap::new();
    for row in &response.rows {
        for &(i, _, c) in &node_vars {
            if let Some(&id) = row.nodes.get(i) {
                wanted.entry(c).or_default().push(id);
            }
        }
    }
    let mut payloads: HashMap<&String, HashMap<u64, Value>> = HashMap::new();
    for (c, mut ids) in wanted {
        ids.sort_unstable();
        ids.dedup();
        let collection = ctx.db.get_vector_collection(c)?;
        let read = payloads.entry(c).or_default();
        for p in collection.get(&ids)?.into_iter().flatten() {
            read.insert(p.id, p.payload.unwrap_or(Value::Null));
        }
    }
    let mut edges = HashMap::new();
    if response.rel_vars.iter().any(Option::is_some) {
        let ids: Vec<u64> = response
            .rows
            .iter()
            .flat_map(|r| r.edges.iter().flatten().copied())
            .collect();
        for e in lowered.graph.edges_by_id(&ids)?.into_iter().flatten() {
            edges.insert(e.id, e);
        }
    }
    let edge_json = |id: &u64| edges.get(id).map_or(Value::Null, edge_column);
    // Each named relationship's position and whether it is fixed-length.
    let rel_vars: Vec<(usize, &String, bool)> = response
        .rel_vars
        .iter()
        .enumerate()
        .filter_map(|(j, var)| {
            let var = var.as_ref()?;
            let fixed = lowered.request.pattern.parts.iter().any(|p| {
                p.hops
                    .iter()
                    .any(|(r, _)| r.var.as_deref() == Some(var) && r.length.is_none())
            });
            Some((j, var, fixed))
        })
        .collect();
    let null = Value::Null;
    let mut rows = Vec::with_capacity(response.rows.len());
    for (n, row) in response.rows.iter().enumerate() {
        if n % 1024 == 0 {
            ctx.check_deadline()?;
        }
        let mut sources = Vec::with_capacity(node_vars.len() + rel_vars.len());
        let mut columns = Map::new();
        for &(i, var, c) in &node_vars {
            let Some(&id) = row.nodes.get(i) else {
                continue;
            };
            let payload = payloads
                .get(c)
                .and_then(|read| read.get(&id))
                .unwrap_or(&null);
            columns.insert(var.clone(), node_column(id, payload));
            sources.push(Some(Source {
                alias: var.clone(),
                collection: c.clone(),
                id,
                payload: payload.clone(),
                vector: None,
                legs: None,
            }));
        }
        for &(j, var, fixed) in &rel_vars {
            let Some(ids) = row.edges.get(j) else {
                continue;
            };
            if fixed && let Some(id) = ids.first() {
                columns.insert(var.clone(), edge_json(id));
                sources.push(Some(Source {
                    alias: var.clone(),
                    collection: graph_name.clone(),
                    id: *id,
                    payload: edges.get(id).map_or(Value::Null, |e| e.properties.clone()),
                    vector: None,
                    legs: None,
                }));
            } else {
                columns.insert(var.clone(), ids.iter().map(edge_json).collect());
            }
        }
        rows.push(Row {
            sources,
            score: row.score,
            columns: Some(columns),
        });
    }
    Ok(rows)
}

/// `MATCH (pattern)` inside a SELECT's WHERE: holds when the pattern matches with its first
/// node bound to the row's point (the FROM collection must be the graph, or its points the
/// graph's nodes by id).
pub(super) fn row_matches(ctx: &Context, row: &Row, pattern: &GraphPattern) -> Result<bool> {
    let Some(source) = row.first() else {
        return Ok(false);
    };
    let mut lowered = lower_match(ctx, &[pattern], None)?;
    let Some(first) = lowered.request.pattern.parts.first_mut() else {
        return Ok(false);
    };
    const ROW_VAR: &str = "\u{0}row";
    let var = match &first.start.var {
        Some(v) => v.clone(),
        None => {
            first.start.var = Some(ROW_VAR.to_string());
            ROW_VAR.to_string()
        }
    };
    lowered.request.limit = Some(1);
    lowered.request.start = Some((var, vec![source.id]));
    Ok(!lowered
        .graph
        .match_pattern(&lowered.request)?
        .rows
        .is_empty())
}

/// EXPLAIN [ANALYZE] of a MATCH: one row `{"plan": {...}}` with the graph, the chosen start
/// and the expansion order (`steps`), and with ANALYZE the rows and the nodes and edges
/// visited.
pub(super) fn explain_match(ctx: &Context, q: &MatchQuery, analyze: bool) -> Result<Vec<QueryRow>> {
    let parts: Vec<&GraphPattern> = q.parts().collect();
    let lowered = lower_match(ctx, &parts, q.filter.as_ref())?;
    let residual: Vec<Value> = lowered
        .residual
        .iter()
        .map(|c| Value::from(c.to_string()))
        .collect();
    let mut plan = Map::new();
    plan.insert("node".into(), Value::from("GraphMatch"));
    plan.insert("graph".into(), Value::from(lowered.graph.name()));
    let response = if analyze {
        let started = std::time::Instant::now();
        let (out, response) = execute_match(ctx, q, lowered)?;
        plan.insert("actual_rows".into(), Value::from(out.len()));
        plan.insert(
            "actual_time_ms".into(),
            Value::from(started.elapsed().as_millis() as u64),
        );
        plan.insert(
            "actual".into(),
            json!({
                "bindings": response.stats.bindings,
                "partial_rows": response.stats.rows,
                "nodes_checked": response.stats.nodes_checked,
                "edges_visited": response.stats.edges_visited,
            }),
        );
        response
    } else {
        lowered.graph.explain_match(&lowered.request)?
    };
    if !residual.is_empty() {
        plan.insert("residual".into(), Value::Array(residual));
    }
    plan.insert(
        "steps".into(),
        response
            .plan
            .iter()
            .map(|l| Value::from(l.as_str()))
            .collect(),
    );
    Ok(vec![super::statements::columns(vec![(
        "plan",
        Value::Object(plan),
    )])])
}
