//! EXPLAIN [ANALYZE]: one row whose `plan` column is the plan tree of a query, UPDATE or
//! DELETE (`plan_tree.rs`: each node's type, strategy, estimated rows and cost, children).
//! EXPLAIN ANALYZE runs the query (a DELETE's selection only: nothing is deleted) and adds
//! each node's `actual_rows` and `actual_time_ms` (and what it measured, `actual`).

use std::cell::RefCell;
use std::time::Instant;

use super::lower::lower_select;
use super::plan_tree::{PlanNode, chain, select_steps};
use super::select::{run_compound, run_select_with};
use super::statements::{columns, unsupported};
use super::{Context, QueryRow, StepStats};
use crate::error::Result;
use nearstore_ql::ast::{SelectItem, SelectQuery, SetOperator, Statement, TableRef};

/// EXPLAIN [ANALYZE] of a query, UPDATE or DELETE: one row, `{"plan": tree}`.
pub(crate) fn explain(
    ctx: &Context,
    statement: &Statement,
    analyze: bool,
) -> Result<Vec<QueryRow>> {
    let (selects, operators): (Vec<SelectQuery>, Vec<SetOperator>) = match statement {
        Statement::Match(q) => return super::graph_match::explain_match(ctx, q, analyze),
        Statement::Select(q) => (vec![q.clone()], Vec::new()),
        Statement::Compound(c) => {
            let mut selects = vec![c.first.clone()];
            let mut ops = Vec::new();
            for (op, q) in &c.rest {
                ops.push(*op);
                selects.push(q.clone());
            }
            (selects, ops)
        }
        Statement::Delete { table, filter } => (
            vec![SelectQuery {
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
            }],
            Vec::new(),
        ),
        _ => {
            return Err(unsupported(&format!(
                "EXPLAIN of {}",
                statement_kind(statement)
            )));
        }
    };
    let mut per_select = Vec::with_capacity(selects.len());
    for q in &selects {
        let plan = lower_select(ctx, q)?;
        per_select.push(select_steps(ctx, q, &plan)?);
    }
    let mut total = None;
    if analyze {
        let stats = RefCell::new(Vec::<StepStats>::new());
        let started = Instant::now();
        let inner = Context {
            stats: Some(&stats),
            ..ctx.nested()
        };
        let out = match statement {
            Statement::Compound(c) => run_compound(&inner, &c.first, &c.rest)?,
            _ => run_select_with(&inner, &selects[0])?,
        };
        attach_actuals(&mut per_select, &stats.borrow());
        total = Some((out.len(), started.elapsed().as_secs_f64() * 1000.0));
    }
    let mut trees: Vec<PlanNode> = per_select.into_iter().map(chain).collect();
    let mut tree = match statement {
        Statement::Compound(_) => PlanNode::over(
            "SetOperation",
            format!(
                "{} over whole rows, left to right",
                operators
                    .iter()
                    .map(|op| format!("{op:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            trees,
        ),
        Statement::Delete { table, .. } => PlanNode::over(
            "Delete",
            format!("deletes the selected points of {table} (one engine delete)"),
            trees,
        ),
        _ => trees.remove(0),
    };
    if let Some((rows, ms)) = total {
        if tree.actual.is_none() {
            tree.actual = Some((rows, ms, String::new()));
        }
        // Steps that record nothing of their own (a join's right side is read and timed
        // by its Join): the rows they hand on, no time of their own.
        tree.visit_mut(&mut |n| {
            if n.actual.is_none() {
                n.actual = Some((
                    n.estimated_rows as usize,
                    0.0,
                    "timed in its parent".to_string(),
                ));
            }
        });
    }
    Ok(vec![columns(vec![("plan", tree.to_json())])])
}

/// The node an EXPLAIN ANALYZE record belongs to: every source step is `source`.
fn key_of(step: &str) -> &str {
    match step {
        "VectorSearch" | "TextSearch" | "SparseSearch" | "HybridSearch" | "IdLookup" | "Scan" => {
            "source"
        }
        other => other,
    }
}

/// Puts each record on its node: the SELECTs in order (a record of a source after a Limit
/// starts the next SELECT of a set operation; a source again before the Limit is the same
/// SELECT reading deeper, for a ranked GROUP BY), joins by their order within a pass. A
/// node's rows are its last pass's, its time the sum of its passes.
fn attach_actuals(selects: &mut [Vec<PlanNode>], stats: &[StepStats]) {
    let (mut at, mut joins, mut finished) = (0usize, 0usize, false);
    for s in stats {
        let key = key_of(&s.step);
        if key == "source" {
            if finished {
                at += 1;
                finished = false;
            }
            joins = 0;
        }
        let Some(steps) = selects.get_mut(at) else {
            return;
        };
        let node = if key == "Join" {
            joins += 1;
            steps.iter_mut().filter(|n| n.key == "Join").nth(joins - 1)
        } else {
            steps.iter_mut().find(|n| n.key == key)
        };
        if let Some(n) = node {
            let before = n.actual.as_ref().map_or(0.0, |a| a.1);
            n.actual = Some((s.rows, before + s.micros as f64 / 1000.0, s.detail.clone()));
        }
        if key == "Limit" {
            finished = true;
        }
    }
}

fn statement_kind(s: &Statement) -> &'static str {
    match s {
        Statement::Match(_) => "MATCH",
        Statement::Update { .. } => "UPDATE",
        Statement::SelectEdges { .. } => "SELECT EDGES",
        _ => "this statement",
    }
}
