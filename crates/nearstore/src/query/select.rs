//! Executing SELECT (and set operations over SELECTs).
//!
//! Steps, in order: source and joins (`source.rs`: one engine request per table) ->
//! residual predicates -> window functions -> grouping and aggregates (+ HAVING) ->
//! projection -> ORDER BY -> DISTINCT -> OFFSET / LIMIT over the relational rows. The
//! source step goes through [`crate::VectorCollection::query`] / `scan`, so a vector query
//! in the language and the same request through the builder API take one path.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{Map, Value};

use super::eval::{Row, aggregate, eval, eval_condition, resolve_path};
use super::lower::lower_select;
use super::source::{join_rows, source_rows};
use super::value::compare;
use super::{Context, QueryRow, with_deadline};
use crate::error::{Error, Result};
use nearstore_ql::ast::{
    AggregateArgument, AggregateFunction, Condition, Expr, OrderItem, SelectItem, SelectQuery,
    SetOperator, WindowFunction,
};
use nearstore_ql::{DEFAULT_LIMIT, MAX_LIMIT};

/// Every aggregate / window expression in the query's items, HAVING and ORDER BY.
fn collect_exprs(q: &SelectQuery, pick: &dyn Fn(&Expr) -> bool) -> Vec<Expr> {
    fn walk(e: &Expr, pick: &dyn Fn(&Expr) -> bool, out: &mut Vec<Expr>) {
        if pick(e) {
            if !out.contains(e) {
                out.push(e.clone());
            }
            return;
        }
        match e {
            Expr::Binary { lhs, rhs, .. } => {
                walk(lhs, pick, out);
                walk(rhs, pick, out);
            }
            Expr::Negate(x) => walk(x, pick, out),
            Expr::List(items) => items.iter().for_each(|i| walk(i, pick, out)),
            _ => {}
        }
    }
    fn walk_cond(c: &Condition, pick: &dyn Fn(&Expr) -> bool, out: &mut Vec<Expr>) {
        match c {
            Condition::And(p) | Condition::Or(p) => p.iter().for_each(|x| walk_cond(x, pick, out)),
            Condition::Not(x) | Condition::Group(x) => walk_cond(x, pick, out),
            Condition::Compare { left, right, .. } => {
                walk(left, pick, out);
                walk(right, pick, out);
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for item in &q.items {
        if let SelectItem::Expr { expr, .. } = item {
            walk(expr, pick, &mut out);
        }
    }
    if let Some(h) = &q.having {
        walk_cond(h, pick, &mut out);
    }
    for o in &q.order_by {
        walk(&o.expr, pick, &mut out);
    }
    out
}

fn cmp_rows(ctx: &Context, a: &Row, b: &Row, order: &[OrderItem]) -> std::cmp::Ordering {
    for o in order {
        let (x, y) = (
            eval(ctx, a, &o.expr).unwrap_or(Value::Null),
            eval(ctx, b, &o.expr).unwrap_or(Value::Null),
        );
        // NULL sorts last ascending, first descending.
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ => compare(&x, &y),
        };
        let ord = if o.descending { ord.reverse() } else { ord };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
    }
    std::cmp::Ordering::Equal
}

/// Window functions: each computes a column over its partition in its order.
fn apply_windows(ctx: &Context, rows: &mut [Row], windows: &[Expr]) -> Result<()> {
    for w in windows {
        let Expr::Window {
            function,
            partition_by,
            order_by,
        } = w
        else {
            continue;
        };
        let key = w.to_string();
        let mut parts: HashMap<String, Vec<usize>> = HashMap::new();
        let mut order_of_parts = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let k: Vec<Value> = partition_by
                .iter()
                .map(|p| resolve_path(ctx, r, p))
                .collect();
            let k = serde_json::to_string(&k).unwrap_or_default();
            if !parts.contains_key(&k) {
                order_of_parts.push(k.clone());
            }
            parts.entry(k).or_default().push(i);
        }
        for k in order_of_parts {
            let mut idx = parts.remove(&k).unwrap_or_default();
            idx.sort_by(|&a, &b| cmp_rows(ctx, &rows[a], &rows[b], order_by));
            let (mut rank, mut dense) = (0usize, 0usize);
            for (pos, &i) in idx.iter().enumerate() {
                let tie = pos > 0
                    && cmp_rows(ctx, &rows[idx[pos - 1]], &rows[i], order_by)
                        == std::cmp::Ordering::Equal;
                if !tie {
                    rank = pos + 1;
                    dense += 1;
                }
                let v = match function {
                    WindowFunction::RowNumber => pos + 1,
                    WindowFunction::Rank => rank,
                    WindowFunction::DenseRank => dense,
                };
                rows[i]
                    .columns
                    .get_or_insert_with(Map::new)
                    .insert(key.clone(), Value::from(v));
            }
        }
    }
    Ok(())
}

/// GROUP BY + aggregates: one row per group, with the group keys and aggregate values as
/// columns (keyed by the path and by the aggregate's canonical text).
fn group(
    ctx: &Context,
    q: &SelectQuery,
    rows: Vec<Row>,
    aggregates: &[Expr],
    ranked: bool,
) -> Result<Vec<Row>> {
    let mut groups: Vec<(Vec<Value>, Vec<Row>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for r in rows {
        let key: Vec<Value> = q
            .group_by
            .iter()
            .map(|p| resolve_path(ctx, &r, p))
            .collect();
        let k = serde_json::to_string(&key).unwrap_or_default();
        let at = *index.entry(k).or_insert_with(|| {
            groups.push((key.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(r);
    }
    if groups.is_empty() && q.group_by.is_empty() {
        groups.push((Vec::new(), Vec::new()));
    }
    let mut out = Vec::with_capacity(groups.len());
    for (key, members) in groups {
        let mut cols = Map::new();
        for (p, v) in q.group_by.iter().zip(key) {
            cols.insert(p.join("."), v);
        }
        for a in aggregates {
            let Expr::Aggregate { function, argument } = a else {
                continue;
            };
            let values: Vec<Value> = match argument {
                AggregateArgument::Star => Vec::new(),
                AggregateArgument::Path(p) if ranked && is_score_path(ctx, p) => members
                    .iter()
                    .map(|r| {
                        r.score
                            .map_or(Value::Null, |s| super::value::number(f64::from(s)))
                    })
                    .collect(),
                AggregateArgument::Path(p) => {
                    members.iter().map(|r| resolve_path(ctx, r, p)).collect()
                }
            };
            cols.insert(a.to_string(), aggregate(*function, &values, members.len()));
        }
        // Rows arrive in rank order, so a ranked group's first member holds its best score
        // (`similarity()` of the group row).
        let first = members.into_iter().next();
        let score = first.as_ref().and_then(|r| r.score);
        out.push(Row {
            sources: first.map(|r| r.sources).unwrap_or_default(),
            score,
            columns: Some(cols),
        });
    }
    if let Some(h) = &q.having {
        let mut kept = Vec::new();
        for r in out {
            if eval_condition(ctx, &r, h)? {
                kept.push(r);
            }
        }
        out = kept;
    }
    Ok(out)
}

/// Whether an aggregate's argument names the search score (`MAX(score)`, as in the
/// reference engine) rather than a payload field or a per-row LET of that name.
fn is_score_path(ctx: &Context, p: &[String]) -> bool {
    matches!(p, [only] if (only == "score" || only == "similarity")
        && !ctx.row_lets.contains_key(only))
}

/// The reference engine's rules for aggregates: `FIRST()` needs `GROUP BY` (without it
/// there is no group whose first row it could name), and an aggregate of the score needs a
/// search that ranks the rows (NEAR, NEAR_FUSED, SPARSE_NEAR, MATCH).
fn check_aggregates(
    ctx: &Context,
    q: &SelectQuery,
    aggregates: &[Expr],
    ranked: bool,
) -> Result<()> {
    for a in aggregates {
        let Expr::Aggregate { function, argument } = a else {
            continue;
        };
        if *function == AggregateFunction::First && q.group_by.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{a} needs GROUP BY (FIRST is the first row of each group)"
            )));
        }
        if let AggregateArgument::Path(p) = argument
            && is_score_path(ctx, p)
            && !ranked
        {
            return Err(Error::InvalidArgument(format!(
                "{a} aggregates the search score: the query needs a vector search \
                 (WHERE vector NEAR ...) or another ranking term"
            )));
        }
    }
    Ok(())
}

/// The output key of a projected expression: its alias, a path's dotted text, the
/// reference's names for unaliased aggregates (`count`, `count_<field>`, `sum_<field>`,
/// `avg_<field>`, `min_<field>`, `max_<field>`), else the expression's canonical text.
fn column_name(expr: &Expr, alias: &Option<String>) -> String {
    match (alias, expr) {
        (Some(a), _) => a.clone(),
        (None, Expr::Path(p)) => p.join("."),
        (None, Expr::Aggregate { function, argument }) => {
            let prefix = match function {
                AggregateFunction::Count => "count",
                AggregateFunction::Sum => "sum",
                AggregateFunction::Avg => "avg",
                AggregateFunction::Min => "min",
                AggregateFunction::Max => "max",
                _ => return expr.to_string(),
            };
            match argument {
                AggregateArgument::Star => prefix.to_string(),
                AggregateArgument::Path(p) => format!("{prefix}_{}", p.join(".")),
            }
        }
        (None, e) => e.to_string(),
    }
}

/// The output row of a projected row.
fn project(ctx: &Context, q: &SelectQuery, row: &Row, grouped: bool) -> Result<QueryRow> {
    let star_only = q.items.len() == 1 && matches!(q.items[0], SelectItem::Wildcard);
    if star_only
        && !grouped
        && row.sources.len() == 1
        && let Some(s) = row.first()
    {
        return Ok(QueryRow::Point {
            id: s.id,
            score: row.score,
            payload: (!s.payload.is_null()).then(|| s.payload.clone()),
        });
    }
    let mut cols = Map::new();
    for item in &q.items {
        match item {
            SelectItem::Wildcard => {
                if grouped {
                    if let Some(c) = &row.columns {
                        cols.extend(c.clone());
                    }
                    continue;
                }
                for (i, s) in row.sources.iter().enumerate() {
                    let alias = ctx.aliases.get(i).cloned().unwrap_or_default();
                    let v = match s {
                        Some(s) => serde_json::json!({"id": s.id, "payload": s.payload}),
                        None => Value::Null,
                    };
                    cols.insert(alias, v);
                }
                if let Some(score) = row.score {
                    cols.insert("score".into(), super::value::number(f64::from(score)));
                }
            }
            SelectItem::QualifiedWildcard(alias) => {
                if let Some(s) = row.sources.iter().flatten().find(|s| &s.alias == alias) {
                    cols.insert(format!("{alias}.id"), Value::from(s.id));
                    if let Value::Object(m) = &s.payload {
                        for (k, v) in m {
                            cols.insert(format!("{alias}.{k}"), v.clone());
                        }
                    }
                }
            }
            SelectItem::Expr { expr, alias } => {
                cols.insert(column_name(expr, alias), eval(ctx, row, expr)?);
            }
        }
    }
    Ok(QueryRow::Columns(cols))
}

/// Runs a SELECT; returns its output rows.
pub(crate) fn run_select(ctx: &Context, q: &SelectQuery) -> Result<Vec<QueryRow>> {
    let mut ctx = Context {
        aliases: Vec::new(),
        ..ctx.nested()
    };
    ctx.stats = None;
    run_select_with(&ctx, q)
}

/// Runs a SELECT in `ctx` (whose stats, if any, collect EXPLAIN ANALYZE figures).
pub(crate) fn run_select_with(outer: &Context, q: &SelectQuery) -> Result<Vec<QueryRow>> {
    let mut ctx = Context {
        db: outer.db,
        params: outer.params,
        lets: outer.lets.clone(),
        row_lets: outer.row_lets.clone(),
        now: outer.now,
        aliases: Vec::new(),
        deadline: outer.deadline,
        stats: outer.stats,
    };
    let plan = lower_select(&ctx, q)?;
    ctx.aliases = plan.aliases.clone();
    let ctx = with_deadline(&ctx, plan.options.timeout_ms);
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit > MAX_LIMIT {
        return Err(Error::InvalidArgument(format!(
            "LIMIT {limit} is over the maximum of {MAX_LIMIT}"
        )));
    }
    let offset = q.offset.unwrap_or(0);
    let window_exprs = collect_exprs(q, &|e| matches!(e, Expr::Window { .. }));
    let aggregate_exprs = collect_exprs(q, &|e| matches!(e, Expr::Aggregate { .. }));
    let grouped = !q.group_by.is_empty() || !aggregate_exprs.is_empty();
    let ranked = plan.near.is_some() || !plan.legs.is_empty();
    check_aggregates(&ctx, q, &aggregate_exprs, ranked)?;
    let c = ctx.db.get_vector_collection(&q.from.name)?;
    // How many source rows are needed: all of them unless nothing after the source can
    // drop, add or reorder rows.
    // A vector (or MATCH) search takes the LIMIT + OFFSET best points that satisfy the FROM table's
    // conditions (oversampled when some of those are evaluated after the search); joins,
    // grouping and the rest then work on those. A scan stops early only when nothing after
    // it can drop, add or reorder rows.
    let streaming = plan.residual.is_empty()
        && q.joins.is_empty()
        && !grouped
        && !q.distinct
        && window_exprs.is_empty();
    let want = ((offset + limit) as usize).min(MAX_LIMIT as usize);
    let want = if plan.near.is_some() || !plan.legs.is_empty() {
        Some(if plan.residual.is_empty() {
            want
        } else {
            (want * 10).clamp(1000, MAX_LIMIT as usize)
        })
    } else if streaming && q.order_by.is_empty() {
        Some(want)
    } else {
        None
    };
    // A ranked GROUP BY: LIMIT (+ OFFSET) counts groups, so the search reads deeper (x4
    // per pass, like the engine's grouped search) until that many groups come out of it or
    // the ranking is exhausted. The engine's `query_groups` does not fit here: SQL groups
    // by several keys, nested paths and a NULL group, and aggregates need every member the
    // search read, not `group_size` of them.
    let deepen_groups = grouped && !q.group_by.is_empty() && want.is_some() && plan.ids.is_none();
    let groups_wanted = (offset + limit) as usize;
    let mut want = want;
    let rows = loop {
        let mut rows = source_rows(&ctx, &plan, &c, want)?;
        let read = rows.len();
        for (i, j) in q.joins.iter().enumerate() {
            rows = join_rows(&ctx, rows, j, i + 1)?;
        }
        if !plan.residual.is_empty() {
            let started = Instant::now();
            let mut kept = Vec::with_capacity(rows.len());
            for (n, r) in rows.into_iter().enumerate() {
                if n % 1024 == 0 {
                    ctx.check_deadline()?;
                }
                if plan.residual.iter().try_fold(true, |ok, cond| {
                    Ok::<_, Error>(ok && eval_condition(&ctx, &r, cond)?)
                })? {
                    kept.push(r);
                }
            }
            let text: Vec<String> = plan.residual.iter().map(ToString::to_string).collect();
            ctx.record("Filter", kept.len(), started, text.join(" AND "));
            rows = kept;
        }
        if !window_exprs.is_empty() {
            let started = Instant::now();
            apply_windows(&ctx, &mut rows, &window_exprs)?;
            ctx.record(
                "Window",
                rows.len(),
                started,
                window_exprs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        if grouped {
            let started = Instant::now();
            rows = group(&ctx, q, rows, &aggregate_exprs, ranked)?;
            ctx.record(
                "Aggregate",
                rows.len(),
                started,
                format!(
                    "group by [{}]",
                    q.group_by
                        .iter()
                        .map(|p| p.join("."))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        match want {
            Some(k)
                if deepen_groups
                    && rows.len() < groups_wanted
                    && read >= k
                    && k < MAX_LIMIT as usize =>
            {
                want = Some((k * 4).min(MAX_LIMIT as usize));
            }
            _ => break rows,
        }
    };
    ctx.check_deadline()?;
    project_order_limit(&ctx, q, rows, grouped, offset, limit)
}

/// The rows a query's source, grouping and filters produced, in their final shape:
/// projected (so ORDER BY can name the aliases), ordered, made distinct, cut to OFFSET /
/// LIMIT. The one implementation for SELECT and MATCH.
fn project_order_limit(
    ctx: &Context,
    q: &SelectQuery,
    rows: Vec<Row>,
    grouped: bool,
    offset: u64,
    limit: u64,
) -> Result<Vec<QueryRow>> {
    // Projection first (so ORDER BY can name its aliases), keeping each row's sources.
    let started = Instant::now();
    let mut projected: Vec<(Row, QueryRow)> = Vec::with_capacity(rows.len());
    for r in rows {
        let out = project(ctx, q, &r, grouped)?;
        let mut keyed = r;
        if let QueryRow::Columns(cols) = &out {
            let merged = keyed.columns.get_or_insert_with(Map::new);
            for (k, v) in cols {
                merged.insert(k.clone(), v.clone());
            }
        }
        projected.push((keyed, out));
    }
    if !q.order_by.is_empty() {
        projected.sort_by(|a, b| cmp_rows(ctx, &a.0, &b.0, &q.order_by));
        let order = q
            .order_by
            .iter()
            .map(|o| format!("{}{}", o.expr, if o.descending { " DESC" } else { "" }))
            .collect::<Vec<_>>()
            .join(", ");
        ctx.record("Sort", projected.len(), started, order);
    }
    let started = Instant::now();
    let mut out: Vec<QueryRow> = projected.into_iter().map(|(_, o)| o).collect();
    if q.distinct {
        let mut seen = std::collections::HashSet::new();
        out.retain(|r| seen.insert(r.to_json().to_string()));
    }
    let out: Vec<QueryRow> = out
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .collect();
    ctx.record(
        "Limit",
        out.len(),
        started,
        format!(
            "{}offset {offset}, limit {limit}",
            if q.distinct { "distinct, " } else { "" }
        ),
    );
    Ok(out)
}

/// The tail of a query over rows another source produced (a MATCH's bindings): aggregates
/// (grouped by `q.group_by`) and HAVING, projection, ORDER BY, DISTINCT, LIMIT, through the
/// same steps as a SELECT's.
pub(crate) fn finish_rows(
    ctx: &Context,
    q: &SelectQuery,
    rows: Vec<Row>,
    ranked: bool,
) -> Result<Vec<QueryRow>> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit > MAX_LIMIT {
        return Err(Error::InvalidArgument(format!(
            "LIMIT {limit} is over the maximum of {MAX_LIMIT}"
        )));
    }
    let aggregate_exprs = collect_exprs(q, &|e| matches!(e, Expr::Aggregate { .. }));
    let grouped = !q.group_by.is_empty() || !aggregate_exprs.is_empty();
    check_aggregates(ctx, q, &aggregate_exprs, ranked)?;
    let rows = if grouped {
        let started = Instant::now();
        let rows = group(ctx, q, rows, &aggregate_exprs, ranked)?;
        ctx.record("Aggregate", rows.len(), started, String::new());
        rows
    } else {
        rows
    };
    ctx.check_deadline()?;
    project_order_limit(ctx, q, rows, grouped, q.offset.unwrap_or(0), limit)
}

/// The ids of the FROM table's rows that pass `q`'s WHERE (its LIMIT, OFFSET and the rest
/// are not applied): one engine scan with the pushed-down filter, then the residual
/// predicates, so UPDATE and DELETE take time linear in the rows they match.
pub(crate) fn matching_source_ids(outer: &Context, q: &SelectQuery) -> Result<Vec<u64>> {
    let mut ctx = Context {
        aliases: Vec::new(),
        ..outer.nested()
    };
    let plan = lower_select(&ctx, q)?;
    ctx.aliases = plan.aliases.clone();
    let ctx = with_deadline(&ctx, plan.options.timeout_ms);
    let c = ctx.db.get_vector_collection(&q.from.name)?;
    let rows = source_rows(&ctx, &plan, &c, None)?;
    let mut ids = Vec::with_capacity(rows.len());
    for (n, r) in rows.into_iter().enumerate() {
        if n % 1024 == 0 {
            ctx.check_deadline()?;
        }
        if plan.residual.iter().try_fold(true, |ok, cond| {
            Ok::<_, Error>(ok && eval_condition(&ctx, &r, cond)?)
        })? && let Some(Some(source)) = r.sources.first()
        {
            ids.push(source.id);
        }
    }
    Ok(ids)
}

/// A SELECT or subquery with no outer state (used by subqueries).
pub(crate) fn run_query(ctx: &Context, q: &SelectQuery) -> Result<Vec<QueryRow>> {
    run_select(ctx, q)
}

/// `a UNION b ...`, left to right.
pub(crate) fn run_compound(
    ctx: &Context,
    first: &SelectQuery,
    rest: &[(SetOperator, SelectQuery)],
) -> Result<Vec<QueryRow>> {
    let mut acc = run_select_with(ctx, first)?;
    let key = |r: &QueryRow| r.to_json().to_string();
    for (op, q) in rest {
        let next = run_select_with(ctx, q)?;
        acc = match op {
            SetOperator::UnionAll => acc.into_iter().chain(next).collect(),
            SetOperator::Union => {
                let mut seen = std::collections::HashSet::new();
                acc.into_iter()
                    .chain(next)
                    .filter(|r| seen.insert(key(r)))
                    .collect()
            }
            SetOperator::Intersect => {
                let right: std::collections::HashSet<String> = next.iter().map(key).collect();
                let mut seen = std::collections::HashSet::new();
                acc.into_iter()
                    .filter(|r| right.contains(&key(r)) && seen.insert(key(r)))
                    .collect()
            }
            SetOperator::Except => {
                let right: std::collections::HashSet<String> = next.iter().map(key).collect();
                let mut seen = std::collections::HashSet::new();
                acc.into_iter()
                    .filter(|r| !right.contains(&key(r)) && seen.insert(key(r)))
                    .collect()
            }
        };
    }
    Ok(acc)
}
