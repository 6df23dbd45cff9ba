//! EXPLAIN [ANALYZE]: one row per plan step of a query, UPDATE or DELETE.

use serde_json::Value;
use std::cell::RefCell;
use std::time::Instant;

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
    let source = if let Some(n) = &plan.near {
        format!(
            "VectorSearch: {} by {} (k = LIMIT + OFFSET), filter pushed down: [{}]{}",
            select.from.name,
            match &n.vector {
                nearstore_ql::ast::VectorExpr::Param(p) => format!("${p}"),
                nearstore_ql::ast::VectorExpr::Literal(v) => format!("{}-d literal", v.len()),
            },
            plan.pushed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" AND "),
            n.threshold
                .as_ref()
                .map_or(String::new(), |(op, v)| format!(
                    ", score threshold {op:?} {v}"
                )),
        )
    } else if let Some(t) = &plan.text {
        format!(
            "TextSearch: {} by BM25 on {} for {} (k = LIMIT + OFFSET, block-max WAND), filter pushed down: [{}]",
            select.from.name,
            t.field.as_deref().unwrap_or("every text field"),
            t.text,
            plan.pushed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" AND ")
        )
    } else if plan.ids.is_some() {
        format!("IdLookup: {}", select.from.name)
    } else {
        format!(
            "Scan: {}, filter pushed down: [{}]",
            select.from.name,
            plan.pushed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" AND ")
        )
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
