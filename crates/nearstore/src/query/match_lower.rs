//! `MATCH` lowered to one engine [`MatchRequest`]: the graph it runs on, the pattern
//! (labels and `{...}` as node and relationship conditions), WHERE's AND terms on one
//! variable pushed into that variable's conditions (through the filter model, so they mean
//! what they mean in a SELECT), `similarity(x.embedding, $v) <op> t` as the request's
//! similarity, `@collection` nodes as foreign bindings, the other terms left for the rows.

use std::collections::{BTreeMap, HashMap};

use super::Context;
use super::lower::{condition_to_filter, json_of};
use crate::CollectionKind;
use crate::error::{Error, Result};
use crate::graph_collection::GraphCollection;
use crate::graph_match::{ForeignNode, MatchRequest, SimilarityCondition, ThresholdOp};
use nearstore_filter::Filter;
use nearstore_graph::{
    Direction, MAX_TRAVERSAL_DEPTH, NodePattern, PathPattern, Pattern, RelPattern,
};
use nearstore_ql::ast::{self, CompareOp, Condition, Expr, GraphPattern};

/// A lowered MATCH: the graph, the engine request, the WHERE terms left for the rows.
pub(super) struct LoweredMatch {
    pub graph: GraphCollection,
    pub request: MatchRequest,
    pub residual: Vec<Condition>,
    /// Collection of each `@collection` node variable.
    pub foreign_names: HashMap<String, String>,
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
