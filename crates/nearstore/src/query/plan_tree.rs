//! The plan tree EXPLAIN returns: one [`PlanNode`] per step of a SELECT (source, joins,
//! residual filter, windows, aggregation, sort, limit), each with its strategy and the
//! planner's estimates, the later step the parent of the earlier one.
//!
//! Estimates come from the collection's payload indexes ([`crate::FilterEstimate`]: the
//! pushed-down filter's candidates, exact when the indexes answer it alone) and a simple
//! cost model, in *units of work*: points or postings touched by the source (vector
//! distances for a vector search: an exact scan of the candidates when there are at most
//! [`EXACT_SCAN_ESTIMATE`], else about `20 · k · log2(candidates)` graph distances), rows
//! read by the relational steps (`n log2 n` for a sort or a window). A residual predicate
//! is guessed to keep half its rows, a join one right row per left row.

use serde_json::{Map, Value};

use super::Context;
use super::legs::{LegPart, fusion_strategy, vector_text};
use super::lower::{SelectPlan, condition_to_filter};
use crate::error::Result;
use nearstore_filter::Filter;
use nearstore_ql::ast::{Expr, SelectQuery};
use nearstore_ql::{DEFAULT_LIMIT, MAX_LIMIT};

/// Candidate counts up to which a vector search is estimated as an exact scan.
pub(crate) const EXACT_SCAN_ESTIMATE: u64 = 2_000;

/// One node of the plan tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlanNode {
    /// What the node does: `VectorSearch`, `Scan`, `Filter`, `Sort`, ...
    pub node: String,
    /// How it does it, in words (what EXPLAIN printed before it returned a tree).
    pub strategy: String,
    pub estimated_rows: u64,
    pub estimated_cost: u64,
    pub children: Vec<PlanNode>,
    /// EXPLAIN ANALYZE: rows out, time spent (ms), what the step measured.
    pub actual: Option<(usize, f64, String)>,
    /// The name EXPLAIN ANALYZE records the step under (`source` for any source).
    pub key: &'static str,
}

impl PlanNode {
    fn new(key: &'static str, node: &str, strategy: String, rows: u64, cost: u64) -> Self {
        PlanNode {
            node: node.to_string(),
            strategy,
            estimated_rows: rows,
            estimated_cost: cost,
            children: Vec::new(),
            actual: None,
            key,
        }
    }

    /// A node over `children` (a set operation, a DELETE over its query).
    pub(crate) fn over(node: &str, strategy: String, children: Vec<PlanNode>) -> Self {
        let rows = children.iter().map(|c| c.estimated_rows).sum();
        let cost = children.iter().map(|c| c.estimated_cost).sum();
        PlanNode {
            children,
            ..PlanNode::new("", node, strategy, rows, cost)
        }
    }

    /// The node as JSON: `node`, `strategy`, `estimated_rows`, `estimated_cost`, then for
    /// EXPLAIN ANALYZE `actual_rows`, `actual_time_ms` (and `actual`, what it measured),
    /// and `children`.
    pub(crate) fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("node".into(), Value::from(self.node.clone()));
        m.insert("strategy".into(), Value::from(self.strategy.clone()));
        m.insert("estimated_rows".into(), Value::from(self.estimated_rows));
        m.insert("estimated_cost".into(), Value::from(self.estimated_cost));
        if let Some((rows, ms, detail)) = &self.actual {
            m.insert("actual_rows".into(), Value::from(*rows));
            m.insert("actual_time_ms".into(), super::value::number(*ms));
            if !detail.is_empty() && *detail != self.strategy {
                m.insert("actual".into(), Value::from(detail.clone()));
            }
        }
        m.insert(
            "children".into(),
            Value::Array(self.children.iter().map(PlanNode::to_json).collect()),
        );
        Value::Object(m)
    }

    /// Calls `f` on every node of this tree, root first, depth first, children in order.
    pub(crate) fn visit_mut(&mut self, f: &mut impl FnMut(&mut PlanNode)) {
        f(self);
        for c in &mut self.children {
            c.visit_mut(f);
        }
    }
}

fn log2(n: u64) -> u64 {
    u64::from(64 - n.max(1).leading_zeros())
}

fn joined(items: impl IntoIterator<Item = String>, sep: &str) -> String {
    items.into_iter().collect::<Vec<_>>().join(sep)
}

/// The steps of one SELECT in execution order (source first), with estimates; chained into
/// a tree by [`chain`].
pub(crate) fn select_steps(
    ctx: &Context,
    select: &SelectQuery,
    plan: &SelectPlan,
) -> Result<Vec<PlanNode>> {
    let c = ctx.db.get_vector_collection(&select.from.name)?;
    let pushed_text = joined(plan.pushed.iter().map(ToString::to_string), " AND ");
    let mut parts = Vec::new();
    for p in &plan.pushed {
        parts.push(condition_to_filter(ctx, p)?.1);
    }
    let filter = match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Filter::and(parts)),
    };
    let estimate = c.estimate_filter(filter.as_ref())?;
    let candidates = estimate.candidates;
    let filter_strategy = match (&filter, estimate.exact) {
        (None, _) => "no filter".to_string(),
        (Some(_), true) => {
            format!("filter [{pushed_text}] answered by payload indexes: {candidates} points")
        }
        (Some(_), false) if candidates == estimate.live => format!(
            "filter [{pushed_text}]: no payload index narrows it, each of the {candidates} points is checked on its payload"
        ),
        (Some(_), false) => format!(
            "filter [{pushed_text}]: payload indexes narrow it to {candidates} of {} points, each checked on its payload",
            estimate.live
        ),
    };
    let limit = select.limit.unwrap_or(DEFAULT_LIMIT);
    let offset = select.offset.unwrap_or(0);
    let window = (limit + offset).min(MAX_LIMIT);
    let k = if plan.residual.is_empty() {
        window
    } else {
        (window * 10).clamp(1000, MAX_LIMIT)
    };
    let ranked_rows = k.min(candidates);
    let search_cost = |candidates: u64| {
        if candidates <= EXACT_SCAN_ESTIMATE {
            candidates
        } else {
            (20 * k.max(1) * log2(candidates)).min(candidates)
        }
    };
    let name = &select.from.name;
    let source = if let (Some(n), true) = (&plan.near, plan.legs.is_empty()) {
        let strategy = format!(
            "{name} by {}{} (k = LIMIT + OFFSET{}), filter pushed down: [{pushed_text}]{}; {}; {}",
            vector_text(&n.vector),
            if n.using.is_empty() {
                String::new()
            } else {
                format!(" on vector {}", n.using)
            },
            if plan.residual.is_empty() {
                ""
            } else {
                ", x10 for the residual filter"
            },
            n.threshold
                .as_ref()
                .map_or(String::new(), |(op, v)| format!(
                    ", score threshold {op:?} {v}"
                )),
            filter_strategy,
            if candidates <= EXACT_SCAN_ESTIMATE {
                "few candidates: at most one distance computation each (exact scan or graph search)"
            } else {
                "HNSW graph search under the filter's id set expected"
            }
        );
        PlanNode::new(
            "source",
            "VectorSearch",
            strategy,
            ranked_rows,
            search_cost(candidates),
        )
    } else if let (None, [LegPart::Text { field, text }]) = (&plan.near, plan.legs.as_slice()) {
        let strategy = format!(
            "{name} by BM25 on {} for {text} (k = LIMIT + OFFSET, block-max pruning), filter pushed down: [{pushed_text}]; {filter_strategy}",
            field.as_deref().unwrap_or("every text field"),
        );
        PlanNode::new("source", "TextSearch", strategy, ranked_rows, candidates)
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
        let (node, strategy) = if let (None, [sparse @ LegPart::Sparse { .. }]) =
            (&plan.near, plan.legs.as_slice())
        {
            (
                "SparseSearch",
                format!(
                    "{name} by {} (k = LIMIT + OFFSET), filter pushed down: [{pushed_text}]; {filter_strategy}",
                    sparse.describe()
                ),
            )
        } else {
            (
                "HybridSearch",
                format!(
                    "{name} fusing {} legs by {fusion} (each leg {}x the window deep unless \
                     limited, under the pushed-down filter [{pushed_text}]): {}; {filter_strategy}",
                    legs.len(),
                    crate::LEG_DEPTH_FACTOR,
                    joined(
                        legs.iter()
                            .enumerate()
                            .map(|(i, l)| format!("leg {i}: {l}")),
                        "; "
                    )
                ),
            )
        };
        let cost = legs.len() as u64 * search_cost(candidates);
        PlanNode::new("source", node, strategy, ranked_rows, cost)
    } else if let Some(ids) = &plan.ids {
        let n = ids.len() as u64;
        PlanNode::new(
            "source",
            "IdLookup",
            format!(
                "{name}: {n} id{} as a has_id filter; {filter_strategy}",
                if n == 1 { "" } else { "s" }
            ),
            n.min(candidates),
            n,
        )
    } else {
        PlanNode::new(
            "source",
            "Scan",
            format!("{name}, filter pushed down: [{pushed_text}]; {filter_strategy}"),
            candidates,
            if estimate.exact {
                candidates
            } else {
                candidates.max(1)
            },
        )
    };
    let mut steps = vec![source];
    let mut rows = steps[0].estimated_rows;
    for j in &select.joins {
        let right = ctx.db.get_vector_collection(&j.table.name)?;
        let right_rows = right.estimate_filter(None)?.live;
        let mut join = PlanNode::new(
            "Join",
            "Join",
            format!(
                "{:?} join with {} (hash join on one key)",
                j.kind, j.table.name
            ),
            rows,
            rows + right_rows,
        );
        join.children.push(PlanNode::new(
            "",
            "Scan",
            format!("{}, every point (the join's right side)", j.table.name),
            right_rows,
            right_rows,
        ));
        steps.push(join);
    }
    let mut step = |key: &'static str, strategy: String, out: u64, cost: u64| {
        steps.push(PlanNode::new(key, key, strategy, out, cost));
        out
    };
    if !plan.residual.is_empty() {
        let text = joined(plan.residual.iter().map(ToString::to_string), " AND ");
        rows = step(
            "Filter",
            format!("per-row predicates after the source: {text}"),
            rows.div_ceil(2),
            rows,
        );
    }
    let windows = window_texts(select);
    if !windows.is_empty() {
        rows = step("Window", windows.join(", "), rows, rows * log2(rows));
    }
    let grouped = !select.group_by.is_empty() || has_aggregate(select);
    if grouped || select.having.is_some() {
        let out = if select.group_by.is_empty() { 1 } else { rows };
        rows = step(
            "Aggregate",
            format!(
                "group by [{}]",
                joined(select.group_by.iter().map(|p| p.join(".")), ", ")
            ),
            out,
            rows,
        );
    }
    if !select.order_by.is_empty() {
        let order = joined(
            select
                .order_by
                .iter()
                .map(|o| format!("{}{}", o.expr, if o.descending { " DESC" } else { "" })),
            ", ",
        );
        rows = step("Sort", order, rows, rows * log2(rows));
    }
    let out = rows.saturating_sub(offset).min(limit);
    step(
        "Limit",
        format!(
            "{}offset {offset}, limit {limit}",
            if select.distinct { "distinct, " } else { "" }
        ),
        out,
        out,
    );
    Ok(steps)
}

/// The steps as a tree: the last step is the root, each step the first child of the next.
pub(crate) fn chain(steps: Vec<PlanNode>) -> PlanNode {
    let mut iter = steps.into_iter();
    let mut tree = iter
        .next()
        .unwrap_or_else(|| PlanNode::over("Empty", String::new(), Vec::new()));
    for mut parent in iter {
        parent.children.insert(0, tree);
        tree = parent;
    }
    tree
}

fn has_aggregate(q: &SelectQuery) -> bool {
    fn walk(e: &Expr) -> bool {
        match e {
            Expr::Aggregate { .. } => true,
            Expr::Binary { lhs, rhs, .. } => walk(lhs) || walk(rhs),
            Expr::Negate(x) => walk(x),
            _ => false,
        }
    }
    q.items.iter().any(|i| match i {
        nearstore_ql::ast::SelectItem::Expr { expr, .. } => walk(expr),
        _ => false,
    }) || q.order_by.iter().any(|o| walk(&o.expr))
}

fn window_texts(q: &SelectQuery) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |e: &Expr| {
        if matches!(e, Expr::Window { .. }) && !out.contains(&e.to_string()) {
            out.push(e.to_string());
        }
    };
    for i in &q.items {
        if let nearstore_ql::ast::SelectItem::Expr { expr, .. } = i {
            push(expr);
        }
    }
    for o in &q.order_by {
        push(&o.expr);
    }
    out
}
