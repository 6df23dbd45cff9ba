//! `MATCH` in the query language: the AST lowered to one engine [`MatchRequest`] (pattern,
//! WHERE terms pushed into node and relationship conditions, the similarity threshold,
//! `@collection` bindings), run by [`crate::GraphCollection::match_pattern`]; its bindings
//! become rows (one source per node variable and fixed-length relationship variable) that
//! go through the SELECT's own aggregate, projection, ORDER BY and LIMIT steps
//! (`select.rs` `finish_rows`). Also `MATCH (...)` as a predicate of a SELECT's WHERE.
//!
//! Which graph: the `@name` of the first node when it names a graph collection, else the
//! database's only graph collection (an error otherwise). Which node a row stands for
//! (`RETURN *` of one variable, `MatchRow`'s order): see the README ("which id a pattern
//! returns").

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use super::eval::{Row, Source};
use super::lower::{condition_to_filter, json_of};
use super::select::finish_rows;
use super::{Context, QueryRow};
use crate::CollectionKind;
use crate::error::{Error, Result};
use crate::graph_collection::GraphCollection;
use crate::graph_match::{
    ForeignNode, MatchRequest, MatchResponse, SimilarityCondition, ThresholdOp,
};
use nearstore_filter::Filter;
use nearstore_graph::{
    Direction, MAX_TRAVERSAL_DEPTH, NodePattern, PathPattern, Pattern, RelPattern,
};
use nearstore_ql::ast::{
    self, AggregateArgument, CompareOp, Condition, Expr, GraphPattern, MatchQuery, SelectItem,
    SelectQuery, TableRef,
};

/// A lowered MATCH: the graph, the engine request, the WHERE terms left for the rows.
pub(super) struct LoweredMatch {
    pub graph: GraphCollection,
    pub request: MatchRequest,
    pub residual: Vec<Condition>,
    /// Collection of each `@collection` node variable.
    foreign_names: HashMap<String, String>,
}

/// The graph a pattern runs on (see the module docs).
fn graph_of(ctx: &Context, first: &ast::NodePattern) -> Result<GraphCollection> {
    if let Some(name) = &first.collection
        && let Ok(c) = ctx.db.get_vector_collection(name)
        && c.kind() == CollectionKind::Graph
    {
        return GraphCollection::new(c);
    }
    let graphs: Vec<String> = ctx
        .db
        .list_collections()
        .into_iter()
        .filter(|n| {
            ctx.db
                .get_vector_collection(n)
                .is_ok_and(|c| c.kind() == CollectionKind::Graph)
        })
        .collect();
    match graphs.as_slice() {
        [only] => ctx.db.get_graph_collection(only),
        [] => Err(Error::InvalidArgument(
            "MATCH needs a graph collection: the database has none".into(),
        )),
        _ => Err(Error::InvalidArgument(format!(
            "MATCH: the database has several graph collections ({}): name one on the first \
             node, e.g. (a@{})",
            graphs.join(", "),
            graphs[0]
        ))),
    }
}

fn direction(d: ast::Direction) -> Direction {
    match d {
        ast::Direction::Outgoing => Direction::Outgoing,
        ast::Direction::Incoming => Direction::Incoming,
        ast::Direction::Undirected => Direction::Both,
    }
}

fn properties_filter(ctx: &Context, props: &ast::OptionList) -> Result<Vec<Filter>> {
    props
        .iter()
        .map(|(k, v)| Ok(Filter::eq(k, json_of(ctx, v)?)))
        .collect()
}

/// Lowers one node; an `@collection` node (not the graph) becomes a foreign binding.
fn lower_node(
    ctx: &Context,
    graph: &GraphCollection,
    node: &ast::NodePattern,
    foreign: &mut BTreeMap<String, (String, NodePattern)>,
) -> Result<NodePattern> {
    let mut n = match &node.alias {
        Some(a) => NodePattern::named(a),
        None => NodePattern::any(),
    };
    for group in node.label_groups() {
        n = n.any_label(group);
    }
    for f in properties_filter(ctx, &node.properties)? {
        n = n.condition(f);
    }
    match &node.collection {
        Some(c) if c != graph.name() => {
            let Some(alias) = &node.alias else {
                return Err(Error::InvalidArgument(format!(
                    "a node bound to @{c} needs a variable name"
                )));
            };
            let entry = foreign
                .entry(alias.clone())
                .or_insert_with(|| (c.clone(), NodePattern::named(alias)));
            if entry.0 != *c {
                return Err(Error::InvalidArgument(format!(
                    "node {alias} is bound to @{} and @{c}",
                    entry.0
                )));
            }
            entry.1.labels.extend(n.labels);
            entry.1.conditions.extend(n.conditions);
            Ok(NodePattern::named(alias))
        }
        _ => Ok(n),
    }
}

fn lower_rel(ctx: &Context, rel: &ast::RelationshipPattern) -> Result<RelPattern> {
    let mut r = RelPattern::new(direction(rel.direction)).types(&rel.types);
    if let Some(a) = &rel.alias {
        r = r.named(a);
    }
    if let Some(range) = rel.length {
        r = r.hops(
            range.min.unwrap_or(1),
            range.max.unwrap_or(MAX_TRAVERSAL_DEPTH),
        );
    }
    for f in properties_filter(ctx, &rel.properties)? {
        r = r.condition(f);
    }
    Ok(r)
}

fn lower_part(
    ctx: &Context,
    graph: &GraphCollection,
    part: &GraphPattern,
    foreign: &mut BTreeMap<String, (String, NodePattern)>,
) -> Result<PathPattern> {
    let mut path = PathPattern::new(lower_node(ctx, graph, &part.start, foreign)?);
    for hop in &part.hops {
        path = path.then(
            lower_rel(ctx, &hop.relationship)?,
            lower_node(ctx, graph, &hop.node, foreign)?,
        );
    }
    Ok(path)
}

fn flatten_and(cond: &Condition, out: &mut Vec<Condition>) {
    match cond {
        Condition::And(parts) => parts.iter().for_each(|p| flatten_and(p, out)),
        Condition::Group(inner) => flatten_and(inner, out),
        other => out.push(other.clone()),
    }
}

/// `similarity(var.vector, $v) <op> t` (either side), as (var, vector, op, t).
fn similarity_term(ctx: &Context, cond: &Condition) -> Result<Option<SimilarityCondition>> {
    let (field, vector, op, value) = match cond {
        Condition::SimilarityThreshold {
            field,
            vector,
            op,
            value,
        } => (field, vector, *op, value),
        Condition::Compare {
            left,
            op,
            right: Expr::Similarity(Some(a)),
        } => (&a.field, &a.vector, flip(*op), left),
        _ => return Ok(None),
    };
    let var = match field.as_slice() {
        [var, field] if field == "vector" || field == "embedding" => var.clone(),
        _ => {
            return Err(Error::InvalidArgument(format!(
                "similarity() in MATCH takes a node's embedding: similarity(n.embedding, $v), \
                 got {}",
                field.join(".")
            )));
        }
    };
    let op = match op {
        CompareOp::Gt => ThresholdOp::Gt,
        CompareOp::GtEq => ThresholdOp::Ge,
        CompareOp::Lt => ThresholdOp::Lt,
        CompareOp::LtEq => ThresholdOp::Le,
        other => {
            return Err(Error::InvalidArgument(format!(
                "a similarity threshold compares with >, >=, < or <=, got {other}"
            )));
        }
    };
    let t = json_of(ctx, value)?
        .as_f64()
        .ok_or_else(|| Error::InvalidArgument("a similarity threshold must be a number".into()))?;
    Ok(Some(SimilarityCondition {
        var,
        vector: ctx.vector(vector)?,
        threshold: Some((op, t as f32)),
    }))
}

fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::GtEq => CompareOp::LtEq,
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::LtEq => CompareOp::GtEq,
        other => other,
    }
}

/// Every path a condition reads (`None` when it holds something other than paths and
/// constants: similarity, subqueries, nested patterns).
fn condition_paths(cond: &Condition) -> Option<Vec<ast::Path>> {
    fn expr(e: &Expr, out: &mut Vec<ast::Path>) -> bool {
        match e {
            Expr::Path(p) => {
                out.push(p.clone());
                true
            }
            Expr::Binary { lhs, rhs, .. } => expr(lhs, out) && expr(rhs, out),
            Expr::Negate(x) => expr(x, out),
            Expr::List(items) => items.iter().all(|i| expr(i, out)),
            Expr::Similarity(_) | Expr::Aggregate { .. } | Expr::Window { .. } => false,
            Expr::Subquery(_) => false,
            _ => true,
        }
    }
    fn walk(c: &Condition, out: &mut Vec<ast::Path>) -> bool {
        match c {
            Condition::And(p) | Condition::Or(p) => p.iter().all(|x| walk(x, out)),
            Condition::Not(x) | Condition::Group(x) => walk(x, out),
            Condition::Compare { left, right, .. } => expr(left, out) && expr(right, out),
            Condition::GraphMatch(_) => false,
            other => {
                let mut local = other.clone();
                match super::eval::leaf_path_mut(&mut local) {
                    Some(p) => {
                        out.push(p.clone());
                        true
                    }
                    None => false,
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(cond, &mut out).then_some(out)
}

/// The one variable every path of `cond` starts with (and has a field after).
fn single_variable(cond: &Condition, vars: &[String]) -> Option<String> {
    let paths = condition_paths(cond)?;
    let first = paths.first()?.first()?.clone();
    paths
        .iter()
        .all(|p| p.len() >= 2 && p[0] == first && vars.contains(&p[0]))
        .then_some(first)
}

/// Lowers a MATCH's pattern and WHERE into the engine request.
pub(super) fn lower_match(
    ctx: &Context,
    parts: &[&GraphPattern],
    filter: Option<&Condition>,
) -> Result<LoweredMatch> {
    let first = parts
        .first()
        .ok_or_else(|| Error::InvalidArgument("MATCH needs a pattern".into()))?;
    let graph = graph_of(ctx, &first.start)?;
    let mut foreign = BTreeMap::new();
    let mut paths = Vec::with_capacity(parts.len());
    for part in parts {
        paths.push(lower_part(ctx, &graph, part, &mut foreign)?);
    }
    let mut node_vars: Vec<String> = Vec::new();
    let mut rel_vars: Vec<(String, bool)> = Vec::new();
    for p in &paths {
        node_vars.extend(p.start.var.clone());
        for (r, n) in &p.hops {
            node_vars.extend(n.var.clone());
            if let Some(v) = &r.var {
                rel_vars.push((v.clone(), r.length.is_none()));
            }
        }
    }
    let mut all_vars = node_vars.clone();
    all_vars.extend(rel_vars.iter().map(|(v, _)| v.clone()));
    let scoped = Context {
        aliases: all_vars.clone(),
        ..ctx.nested()
    };
    let mut terms = Vec::new();
    if let Some(f) = filter {
        flatten_and(f, &mut terms);
    }
    let mut similarity = None;
    let mut residual = Vec::new();
    let mut node_conditions: HashMap<String, Vec<Filter>> = HashMap::new();
    let mut rel_conditions: HashMap<String, Vec<Filter>> = HashMap::new();
    for term in terms {
        if let Some(sim) = similarity_term(ctx, &term)? {
            if similarity.is_some() {
                return Err(Error::InvalidArgument(
                    "one similarity threshold per MATCH".into(),
                ));
            }
            if !node_vars.contains(&sim.var) || foreign.contains_key(&sim.var) {
                return Err(Error::InvalidArgument(format!(
                    "similarity(): {} is not a node variable of the graph",
                    sim.var
                )));
            }
            similarity = Some(sim);
            continue;
        }
        let pushed = match single_variable(&term, &all_vars) {
            Some(var) => match condition_to_filter(&scoped, &term) {
                Ok((Some(alias), f)) if alias == var => {
                    if node_vars.contains(&var) {
                        node_conditions.entry(var).or_default().push(f);
                        true
                    } else if rel_vars.iter().any(|(v, fixed)| *v == var && *fixed) {
                        rel_conditions.entry(var).or_default().push(f);
                        true
                    } else {
                        false
                    }
                }
                _ => false,
            },
            None => false,
        };
        if !pushed {
            residual.push(term);
        }
    }
    for p in &mut paths {
        let mut nodes: Vec<&mut NodePattern> = vec![&mut p.start];
        let mut rels: Vec<&mut RelPattern> = Vec::new();
        for (r, n) in &mut p.hops {
            nodes.push(n);
            rels.push(r);
        }
        for n in nodes {
            if let Some(var) = &n.var
                && !foreign.contains_key(var)
                && let Some(fs) = node_conditions.remove(var)
            {
                n.conditions.extend(fs);
            }
        }
        for r in rels {
            if let Some(var) = &r.var
                && let Some(fs) = rel_conditions.remove(var)
            {
                r.conditions.extend(fs);
            }
        }
    }
    let mut foreign_nodes = BTreeMap::new();
    let mut foreign_names = HashMap::new();
    for (var, (collection, mut pattern)) in foreign {
        if let Some(fs) = node_conditions.remove(&var) {
            pattern.conditions.extend(fs);
        }
        foreign_names.insert(var.clone(), collection.clone());
        foreign_nodes.insert(
            var,
            ForeignNode {
                collection: ctx.db.get_vector_collection(&collection)?,
                filter: pattern.filter(),
            },
        );
    }
    let mut request = MatchRequest::new(Pattern::new(paths));
    request.similarity = similarity;
    request.foreign = foreign_nodes;
    request.deadline = ctx.engine_deadline();
    Ok(LoweredMatch {
        graph,
        request,
        residual,
        foreign_names,
    })
}

/// The synthetic SELECT whose tail (aggregates, projection, order, limit) a MATCH's rows
/// run through: RETURN items, grouped by the non-aggregate paths when there are aggregates
/// (Cypher's implicit grouping).
fn return_query(q: &MatchQuery) -> SelectQuery {
    let has_aggregate = q.returns.iter().any(|i| {
        matches!(
            i,
            SelectItem::Expr {
                expr: Expr::Aggregate { .. },
                ..
            }
        )
    });
    let group_by = if has_aggregate {
        q.returns
            .iter()
            .filter_map(|i| match i {
                SelectItem::Expr {
                    expr: Expr::Path(p),
                    ..
                } => Some(p.clone()),
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    SelectQuery {
        distinct: false,
        items: q.returns.clone(),
        from: TableRef {
            name: String::new(),
            alias: None,
        },
        joins: Vec::new(),
        filter: None,
        group_by,
        having: None,
        order_by: q.order_by.clone(),
        limit: q.limit,
        offset: None,
        with_options: Vec::new(),
        fusion: None,
    }
}

/// Whether the rows must all be produced before the LIMIT applies.
fn needs_all_rows(q: &MatchQuery, residual: &[Condition]) -> bool {
    !residual.is_empty()
        || !q.order_by.is_empty()
        || q.returns.iter().any(|i| {
            matches!(
                i,
                SelectItem::Expr {
                    expr: Expr::Aggregate {
                        argument: AggregateArgument::Star | AggregateArgument::Path(_),
                        ..
                    },
                    ..
                }
            )
        })
}

/// Runs a MATCH statement.
pub(super) fn run_match(ctx: &Context, q: &MatchQuery) -> Result<Vec<QueryRow>> {
    let parts: Vec<&GraphPattern> = q.parts().collect();
    let mut lowered = lower_match(ctx, &parts, q.filter.as_ref())?;
    if !needs_all_rows(q, &lowered.residual) {
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
    let select = return_query(q);
    let ctx = ctx.with_aliases(row_aliases(&response));
    finish_rows(&ctx, &select, rows, lowered.request.similarity.is_some())
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

/// One row per binding: a source per named node variable (its payload from the graph or
/// its `@collection`) and per named fixed-length relationship (the edge's properties), and
/// columns holding each variable whole (`RETURN a` gives `{"id", "payload"}`, a
/// variable-length relationship its list of edges).
fn binding_rows(
    ctx: &Context,
    lowered: &LoweredMatch,
    response: &MatchResponse,
) -> Result<Vec<Row>> {
    let graph_name = lowered.graph.name().to_string();
    // Payloads per collection, read once for the ids the rows bind.
    let mut wanted: HashMap<String, Vec<u64>> = HashMap::new();
    for row in &response.rows {
        for (i, var) in response.node_vars.iter().enumerate() {
            if let (Some(var), Some(&id)) = (var, row.nodes.get(i)) {
                let c = lowered.foreign_names.get(var).unwrap_or(&graph_name);
                wanted.entry(c.clone()).or_default().push(id);
            }
        }
    }
    let mut payloads: HashMap<(String, u64), Value> = HashMap::new();
    for (c, mut ids) in wanted {
        ids.sort_unstable();
        ids.dedup();
        let collection = ctx.db.get_vector_collection(&c)?;
        for p in collection.get(&ids)?.into_iter().flatten() {
            payloads.insert((c.clone(), p.id), p.payload.unwrap_or(Value::Null));
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
    let edge_json = |id: &u64| match edges.get(id) {
        Some(e) => json!({"id": e.id, "source": e.source, "target": e.target,
                          "label": e.label, "properties": e.properties}),
        None => Value::Null,
    };
    let mut rows = Vec::with_capacity(response.rows.len());
    for (n, row) in response.rows.iter().enumerate() {
        if n % 1024 == 0 {
            ctx.check_deadline()?;
        }
        let mut sources = Vec::new();
        let mut columns = Map::new();
        for (i, var) in response.node_vars.iter().enumerate() {
            let (Some(var), Some(&id)) = (var, row.nodes.get(i)) else {
                continue;
            };
            let c = lowered.foreign_names.get(var).unwrap_or(&graph_name);
            let payload = payloads
                .get(&(c.clone(), id))
                .cloned()
                .unwrap_or(Value::Null);
            columns.insert(var.clone(), json!({"id": id, "payload": payload}));
            sources.push(Some(Source {
                alias: var.clone(),
                collection: c.clone(),
                id,
                payload,
                vector: None,
                legs: None,
            }));
        }
        for (j, var) in response.rel_vars.iter().enumerate() {
            let (Some(var), Some(ids)) = (var, row.edges.get(j)) else {
                continue;
            };
            let fixed = lowered.request.pattern.parts.iter().any(|p| {
                p.hops
                    .iter()
                    .any(|(r, _)| r.var.as_deref() == Some(var) && r.length.is_none())
            });
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
    let mut plan = Map::new();
    plan.insert("node".into(), Value::from("GraphMatch"));
    plan.insert("graph".into(), Value::from(lowered.graph.name()));
    let response = if analyze {
        let started = std::time::Instant::now();
        let out = run_match(ctx, q)?;
        let response = lowered.graph.match_pattern(&lowered.request)?;
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
    plan.insert(
        "steps".into(),
        response
            .plan
            .iter()
            .map(|l| Value::from(l.as_str()))
            .collect(),
    );
    if !lowered.residual.is_empty() {
        plan.insert(
            "residual".into(),
            lowered
                .residual
                .iter()
                .map(|c| Value::from(c.to_string()))
                .collect(),
        );
    }
    Ok(vec![super::statements::columns(vec![(
        "plan",
        Value::Object(plan),
    )])])
}
