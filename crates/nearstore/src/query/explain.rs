//! EXPLAIN [ANALYZE]: one row per plan step of a query, UPDATE or DELETE.

use serde_json::Value;
use std::cell::RefCell;
use std::time::Instant;

use super::legs::{LegPart, fusion_strategy, vector_text};
use super::lower::lower_select;
use super::select::{run_compound, run_select_with};
use super::statements::{columns, unsupported};
use super::{Context, QueryRow, StepStats};
use crate::error::Result;
use nearstore_ql::ast::{SelectItem, SelectQuery, Statement, TableRef};

/// EXPLAIN [ANALYZE] of a query, UPDATE or DELETE: one row per plan step.
pub(crate) fn explain(
    ctx: &Context,
    statement: &Statement,
    analyze: bool,
) -> Result<Vec<QueryRow>> {
    let stats = RefCell::new(Vec::<StepStats>::new());
    let rows_of = |s: &StepStats| {
        let mut m = vec![
            ("step", Value::from(s.step.clone())),
            ("detail", Value::from(s.detail.clone())),
        ];
        if analyze {
            m.push(("rows", Value::from(s.rows)));
            m.push(("time_us", Value::from(s.micros as u64)));
        }
        columns(m)
    };
    let select = match statement {
        Statement::Select(q) => q.clone(),
        Statement::Compound(c) => c.first.clone(),
        Statement::Delete { table, filter } => SelectQuery {
            distinct: false,
            items: vec![SelectItem::Wildcard],
            from: TableRef {
                name: table.clone(),
                alias: None,
            },
            joins: Vec::new(),
            filter: Some(filter.clone()),
            group_by: Vec::new(),
            having: None,
            order_by: Vec::new(),
            limit: Some(nearstore_ql::MAX_LIMIT),
            offset: None,
            with_options: Vec::new(),
            fusion: None,
        },
        _ => {
            return Err(unsupported(&format!(
                "EXPLAIN of {}",
                statement_kind(statement)
            )));
        }
    };
    if analyze {
        let started = Instant::now();
        let inner = Context {
            stats: Some(&stats),
            ..ctx.nested()
        };
        let out = match statement {
            Statement::Compound(c) => run_compound(&inner, &c.first, &c.rest)?,
            _ => run_select_with(&inner, &select)?,
        };
        let mut rows: Vec<QueryRow> = stats.borrow().iter().map(rows_of).collect();
        rows.push(rows_of(&StepStats {
            step: "Total".into(),
            rows: out.len(),
            micros: started.elapsed().as_micros(),
            detail: String::new(),
        }));
        return Ok(rows);
    }
    let plan = lower_select(ctx, &select)?;
    let mut steps = Vec::new();
    let pushed = plan
        .pushed
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" AND ");
    let source = if let (Some(n), true) = (&plan.near, plan.legs.is_empty()) {
        format!(
            "VectorSearch: {} by {}{} (k = LIMIT + OFFSET), filter pushed down: [{pushed}]{}",
            select.from.name,
            vector_text(&n.vector),
            if n.using.is_empty() {
                String::new()
            } else {
                format!(" on vector {}", n.using)
            },
            n.threshold
                .as_ref()
                .map_or(String::new(), |(op, v)| format!(
                    ", score threshold {op:?} {v}"
                )),
        )
    } else if let (None, [LegPart::Text { field, text }]) = (&plan.near, plan.legs.as_slice()) {
        format!(
            "TextSearch: {} by BM25 on {} for {text} (k = LIMIT + OFFSET, block-max pruning), filter pushed down: [{pushed}]",
            select.from.name,
            field.as_deref().unwrap_or("every text field"),
        )
    } else if plan.near.is_some() || !plan.legs.is_empty() {
        let mut legs: Vec<String> = plan
            .near
            .iter()
            .map(|n| {
                LegPart::Dense {
                    using: n.using.clone(),
                    vector: n.vector.clone(),
                }
                .describe()
            })
            .collect();
        legs.extend(plan.legs.iter().map(LegPart::describe));
        let fusion = match &plan.fusion {
            Some(f) => fusion_strategy(ctx, f)?.name(),
            None => crate::FusionStrategy::default().name(),
        };
        format!(
            "HybridSearch: {} fusing {} legs by {fusion} (each leg {}x the window deep unless \
             limited, under the pushed-down filter [{pushed}]): {}",
            select.from.name,
            legs.len(),
            crate::LEG_DEPTH_FACTOR,
            legs.iter()
                .enumerate()
                .map(|(i, l)| format!("leg {i}: {l}"))
                .collect::<Vec<_>>()
                .join("; ")
        )
    } else if plan.ids.is_some() {
        format!("IdLookup: {}", select.from.name)
    } else {
        format!("Scan: {}, filter pushed down: [{pushed}]", select.from.name)
    };
    steps.push(("Source", source));
    for j in &select.joins {
        steps.push(("Join", format!("{:?} {}", j.kind, j.table.name)));
    }
    if !plan.residual.is_empty() {
        steps.push((
            "Filter",
            plan.residual
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" AND "),
        ));
    }
    if !select.group_by.is_empty() || select.having.is_some() {
        steps.push((
            "Aggregate",
            format!(
                "group by [{}]",
                select
                    .group_by
                    .iter()
                    .map(|p| p.join("."))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if !select.order_by.is_empty() {
        steps.push((
            "Sort",
            select
                .order_by
                .iter()
                .map(|o| format!("{}{}", o.expr, if o.descending { " DESC" } else { "" }))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    steps.push((
        "Limit",
        format!(
            "offset {}, limit {}",
            select.offset.unwrap_or(0),
            select.limit.unwrap_or(nearstore_ql::DEFAULT_LIMIT)
        ),
    ));
    Ok(steps
        .into_iter()
        .map(|(step, detail)| {
            columns(vec![
                ("step", Value::from(step)),
                ("detail", Value::from(detail)),
            ])
        })
        .collect())
}

fn statement_kind(s: &Statement) -> &'static str {
    match s {
        Statement::Match(_) => "MATCH",
        Statement::Update { .. } => "UPDATE",
        Statement::SelectEdges { .. } => "SELECT EDGES",
        _ => "this statement",
    }
}
