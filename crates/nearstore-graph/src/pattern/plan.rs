//! The MATCH planner: resolves a [`Pattern`] to variables, finds each node variable's
//! candidate set and cost, and orders the work into steps.
//!
//! Candidates of a node variable (a superset of the nodes it may take): the node property
//! indexes' answer to its labels and conditions (exact when the indexes decide them), the
//! endpoints of the edges an exactly indexed edge condition allows (for a relationship of at
//! least one edge, when those edges are fewer than the live nodes), and the caller's start
//! ids; they intersect. Cost = the candidate count
//! (the live node count when nothing narrows).
//!
//! Steps: each connected group of variables starts at its cheapest variable (ties: first
//! written); then, while relationships remain, one whose both ends are bound is checked
//! first (it only filters), otherwise a fixed-length one before a variable-length one, and
//! among those the one leading to the cheapest unbound variable. Groups that share no
//! variable are matched one inside the other (a cartesian product), cheapest first.

use std::fmt;

use nearstore_filter::Filter;
use roaring::RoaringTreemap;
use rustc_hash::FxHashMap;

use super::{HopRange, MatchOptions, NodeSource, Pattern, RelPattern};
use crate::budget::Budget;
use crate::error::{Error, Result};
use crate::read::{Direction, LabelSet};
use crate::store::GraphStore;

use super::MAX_PATTERN_RELATIONSHIPS;

/// Where a start variable's nodes come from (for EXPLAIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartKind {
    /// The caller's start candidates (e.g. a vector search's top-k).
    Given,
    /// The node property indexes (labels or conditions).
    NodeIndex,
    /// The endpoints of edges an edge property index selects.
    EdgeIndex,
    /// Every live node, conditions checked one by one.
    Scan,
}

impl StartKind {
    fn name(self) -> &'static str {
        match self {
            StartKind::Given => "caller candidates",
            StartKind::NodeIndex => "node property index",
            StartKind::EdgeIndex => "edge property index",
            StartKind::Scan => "scan",
        }
    }
}

/// A node variable as planned.
#[derive(Debug, Clone)]
pub(crate) struct NodeVar {
    pub(crate) name: Option<String>,
    /// Labels and conditions over the payload.
    pub(crate) filter: Option<Filter>,
    /// A superset of the nodes the variable may take; `None` = every live node.
    pub(crate) allowed: Option<RoaringTreemap>,
    /// Every node of `allowed` satisfies `filter` (no payload check needed).
    pub(crate) filter_decided: bool,
    /// The caller's predicate constrains this variable.
    pub(crate) predicate: bool,
    /// The caller's start ids, in the caller's order (already restricted to live nodes).
    pub(crate) given: Option<Vec<u64>>,
    pub(crate) kind: StartKind,
    pub(crate) cost: u64,
}

/// How a relationship's edges are checked against its property conditions.
#[derive(Debug, Clone)]
pub(crate) enum EdgeCheck {
    None,
    /// Exactly these edge ids pass (from the edge property indexes).
    Allowed(RoaringTreemap),
    /// Evaluate the filter on each edge's properties.
    Evaluate(Filter),
}

/// A relationship as planned.
#[derive(Debug, Clone)]
pub(crate) struct RelVar {
    pub(crate) name: Option<String>,
    pub(crate) left: usize,
    pub(crate) right: usize,
    pub(crate) direction: Direction,
    pub(crate) types: Vec<String>,
    pub(crate) labels: LabelSet,
    pub(crate) range: HopRange,
    pub(crate) check: EdgeCheck,
}

/// One unit of work, in execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Bind `var` to each of its start nodes.
    Start { var: usize },
    /// Follow `rel` from bound variable `from` to `to` (bound already when `to_bound`).
    Expand {
        rel: usize,
        from: usize,
        to: usize,
        /// The direction seen from `from`.
        direction: Direction,
        /// `from` is the relationship's right node (edges are found right to left).
        reversed: bool,
        to_bound: bool,
    },
}

/// A planned pattern: its variables and the order of the work. Print it for EXPLAIN.
///
/// A plan holds relationship types resolved to the store's label numbers and candidate sets
/// taken from the store's indexes and the caller's nodes: run it against the same state it
/// was planned on (plan under the same read guard as the execution).
#[derive(Debug, Clone)]
pub struct MatchPlan {
    pub(crate) nodes: Vec<NodeVar>,
    pub(crate) rels: Vec<RelVar>,
    pub(crate) steps: Vec<Step>,
    node_names: Vec<Option<String>>,
    rel_names: Vec<Option<String>>,
}

impl MatchPlan {
    /// The node variables in the order of [`Binding::nodes`](super::Binding::nodes) (first
    /// appearance in the pattern; `None` for anonymous ones).
    pub fn node_vars(&self) -> &[Option<String>] {
        &self.node_names
    }

    /// The relationships in the order of [`Binding::edges`](super::Binding::edges) (as
    /// written; `None` for anonymous ones).
    pub fn rel_vars(&self) -> &[Option<String>] {
        &self.rel_names
    }

    /// The position of node variable `name` in a binding's `nodes`.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.node_names
            .iter()
            .position(|n| n.as_deref() == Some(name))
    }

    /// The position of relationship variable `name` in a binding's `edges`.
    pub fn rel_index(&self, name: &str) -> Option<usize> {
        self.rel_names
            .iter()
            .position(|n| n.as_deref() == Some(name))
    }

    /// The start variables, in order, with where their nodes come from and how many
    /// candidates there are.
    pub fn starts(&self) -> Vec<(Option<String>, StartKind, u64)> {
        self.steps
            .iter()
            .filter_map(|s| match *s {
                Step::Start { var } => self
                    .nodes
                    .get(var)
                    .map(|v| (v.name.clone(), v.kind, v.cost)),
                Step::Expand { .. } => None,
            })
            .collect()
    }

    fn node_label(&self, var: usize) -> String {
        match self.nodes.get(var).and_then(|v| v.name.as_deref()) {
            Some(name) => name.to_owned(),
            None => format!("_{var}"),
        }
    }
}

impl fmt::Display for MatchPlan {
    /// One line per step: `start a: node property index, 12 candidates`,
    /// `expand (a)-[r:KNOWS*1..3]->(b)`, `check (b)-[s]->(a)` (both ends bound).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match *step {
                Step::Start { var } => {
                    let (kind, cost) = self
                        .nodes
                        .get(var)
                        .map_or((StartKind::Scan, 0), |v| (v.kind, v.cost));
                    let plural = if cost == 1 { "" } else { "s" };
                    write!(
                        f,
                        "start {}: {}, {cost} candidate{plural}",
                        self.node_label(var),
                        kind.name()
                    )?;
                }
                Step::Expand {
                    rel,
                    from,
                    to_bound,
                    ..
                } => {
                    let Some(r) = self.rels.get(rel) else {
                        continue;
                    };
                    let verb = if to_bound { "check" } else { "expand" };
                    let name = r.name.as_deref().unwrap_or("");
                    let types = if r.types.is_empty() {
                        String::new()
                    } else {
                        format!(":{}", r.types.join("|"))
                    };
                    let length = if r.range == HopRange::new(1, 1) {
                        String::new()
                    } else {
                        format!("*{}..{}", r.range.min, r.range.max)
                    };
                    let (open, close) = match r.direction {
                        Direction::Outgoing => ("-", "->"),
                        Direction::Incoming => ("<-", "-"),
                        Direction::Both => ("-", "-"),
                    };
                    write!(
                        f,
                        "{verb} ({}){open}[{name}{types}{length}]{close}({}) from {}",
                        self.node_label(r.left),
                        self.node_label(r.right),
                        self.node_label(from)
                    )?;
                }
            }
        }
        Ok(())
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidPattern {
        message: message.into(),
    }
}

/// Variables as written, before candidates are resolved.
struct Resolved {
    nodes: Vec<(Option<String>, Vec<Filter>)>,
    rels: Vec<(usize, usize, RelPattern)>,
}

fn resolve_vars(pattern: &Pattern) -> Result<Resolved> {
    if pattern.parts.is_empty() {
        return Err(invalid("a pattern needs at least one part"));
    }
    let rel_count: usize = pattern.parts.iter().map(|p| p.hops.len()).sum();
    if rel_count > MAX_PATTERN_RELATIONSHIPS {
        return Err(invalid(format!(
            "{rel_count} relationships; at most {MAX_PATTERN_RELATIONSHIPS} are allowed"
        )));
    }
    let mut resolved = Resolved {
        nodes: Vec::new(),
        rels: Vec::new(),
    };
    let mut by_name: FxHashMap<String, usize> = FxHashMap::default();
    let mut node_var = |node: &super::NodePattern,
                        nodes: &mut Vec<(Option<String>, Vec<Filter>)>| {
        let filter = node.filter();
        if node.labels.iter().any(Vec::is_empty) {
            return Err(invalid("a label group without labels"));
        }
        let index = match &node.var {
            Some(name) => *by_name.entry(name.clone()).or_insert_with(|| {
                nodes.push((Some(name.clone()), Vec::new()));
                nodes.len() - 1
            }),
            None => {
                nodes.push((None, Vec::new()));
                nodes.len() - 1
            }
        };
        if let (Some(filter), Some((_, filters))) = (filter, nodes.get_mut(index)) {
            filter.validate()?;
            filters.push(filter);
        }
        Ok::<usize, Error>(index)
    };
    for part in &pattern.parts {
        let mut left = node_var(&part.start, &mut resolved.nodes)?;
        for (rel, node) in &part.hops {
            let right = node_var(node, &mut resolved.nodes)?;
            resolved.rels.push((left, right, rel.clone()));
            left = right;
        }
    }
    let mut rel_names: FxHashMap<&str, ()> = FxHashMap::default();
    for (_, _, rel) in &resolved.rels {
        let range = rel.range();
        if range.min > range.max {
            return Err(invalid(format!(
                "relationship length {}..{}: min is greater than max",
                range.min, range.max
            )));
        }
        Budget::check_depth(range.max)?;
        if let Some(filter) = rel.filter() {
            filter.validate()?;
        }
        if let Some(name) = rel.var.as_deref() {
            if rel_names.insert(name, ()).is_some() {
                return Err(invalid(format!(
                    "relationship variable {name} is used twice"
                )));
            }
            if resolved
                .nodes
                .iter()
                .any(|(n, _)| n.as_deref() == Some(name))
            {
                return Err(invalid(format!(
                    "{name} is both a node and a relationship variable"
                )));
            }
        }
    }
    Ok(resolved)
}

/// Narrows `var`'s candidates to `set`; records `kind` when it made them smaller.
fn narrow(var: &mut NodeVar, set: RoaringTreemap, kind: StartKind) {
    let narrowed = match var.allowed.take() {
        Some(current) => current & set,
        None => set,
    };
    let len = narrowed.len();
    if len < var.cost || var.kind == StartKind::Scan {
        var.kind = kind;
    }
    var.cost = var.cost.min(len);
    var.allowed = Some(narrowed);
}

impl GraphStore {
    /// Plans `pattern`: resolves its variables, each node variable's candidates (node and
    /// edge property indexes, the caller's start ids) and the order of the steps (module
    /// docs of `plan.rs`; printing the plan shows it). Errors: [`Error::InvalidPattern`],
    /// [`Error::DepthLimit`], [`Error::PropertyIndex`] for an invalid condition.
    pub fn plan_match(
        &self,
        pattern: &Pattern,
        nodes: &(impl NodeSource + ?Sized),
        options: &MatchOptions<'_>,
    ) -> Result<MatchPlan> {
        let resolved = resolve_vars(pattern)?;
        let universe = nodes.node_ids();
        let mut vars: Vec<NodeVar> = resolved
            .nodes
            .into_iter()
            .map(|(name, mut filters)| {
                let filter = match filters.len() {
                    0 => None,
                    1 => filters.pop(),
                    _ => Some(Filter::and(filters)),
                };
                let predicate = match (&name, options.predicate) {
                    (Some(n), Some(p)) => p.constrains(n),
                    _ => false,
                };
                NodeVar {
                    name,
                    filter,
                    allowed: None,
                    filter_decided: false,
                    predicate,
                    given: None,
                    kind: StartKind::Scan,
                    cost: universe.len(),
                }
            })
            .collect();
        for var in &mut vars {
            let Some(filter) = &var.filter else { continue };
            if self.node_indexes.is_empty() {
                continue;
            }
            let candidates = self.node_indexes.resolve(filter, universe);
            if candidates.exact || candidates.ids.len() < universe.len() {
                let exact = candidates.exact;
                narrow(var, candidates.ids, StartKind::NodeIndex);
                var.filter_decided = exact;
            }
        }
        let mut rels = Vec::with_capacity(resolved.rels.len());
        for (left, right, rel) in resolved.rels {
            let range = rel.range();
            let check = match rel.filter() {
                None => EdgeCheck::None,
                Some(filter) if self.edge_indexes.is_empty() => EdgeCheck::Evaluate(filter),
                Some(filter) => {
                    let candidates = self.edge_indexes.resolve(&filter, &self.edge_ids);
                    if !candidates.exact {
                        EdgeCheck::Evaluate(filter)
                    } else {
                        // Endpoints narrow the start only when the edges are fewer than the
                        // nodes (walking a million edges per query would cost more).
                        if range.min >= 1 && candidates.ids.len() < universe.len() {
                            self.narrow_by_edges(
                                &mut vars,
                                left,
                                right,
                                rel.direction,
                                &candidates.ids,
                            );
                        }
                        EdgeCheck::Allowed(candidates.ids)
                    }
                }
            };
            rels.push(RelVar {
                name: rel.var.clone(),
                left,
                right,
                direction: rel.direction,
                labels: self.label_set(&rel.types),
                types: rel.types,
                range,
                check,
            });
        }
        if let Some(start) = &options.start {
            let Some(var) = vars
                .iter_mut()
                .find(|v| v.name.as_deref() == Some(start.var.as_str()))
            else {
                return Err(invalid(format!(
                    "start variable {} is not a node variable of the pattern",
                    start.var
                )));
            };
            let mut seen = RoaringTreemap::new();
            let ids: Vec<u64> = start
                .ids
                .iter()
                .copied()
                .filter(|&id| universe.contains(id) && seen.insert(id))
                .collect();
            narrow(var, seen, StartKind::Given);
            var.kind = StartKind::Given;
            var.given = Some(ids);
        }
        let steps = order_steps(&vars, &rels);
        let node_names = vars.iter().map(|v| v.name.clone()).collect();
        let rel_names = rels.iter().map(|r| r.name.clone()).collect();
        Ok(MatchPlan {
            nodes: vars,
            rels,
            steps,
            node_names,
            rel_names,
        })
    }

    /// Narrows the end variables of a relationship to the endpoints of its allowed edges.
    fn narrow_by_edges(
        &self,
        vars: &mut [NodeVar],
        left: usize,
        right: usize,
        direction: Direction,
        edges: &RoaringTreemap,
    ) {
        let mut sources = RoaringTreemap::new();
        let mut targets = RoaringTreemap::new();
        for id in edges {
            if let Some(edge) = self
                .by_id
                .get(&id)
                .and_then(|&slot| self.edges.get(slot as usize))
            {
                sources.insert(self.nodes.id(edge.source));
                targets.insert(self.nodes.id(edge.target));
            }
        }
        let (left_set, right_set) = match direction {
            Direction::Outgoing => (sources, targets),
            Direction::Incoming => (targets, sources),
            Direction::Both => {
                let all = &sources | &targets;
                (all.clone(), all)
            }
        };
        if let Some(var) = vars.get_mut(left) {
            narrow(var, left_set, StartKind::EdgeIndex);
        }
        if let Some(var) = vars.get_mut(right) {
            narrow(var, right_set, StartKind::EdgeIndex);
        }
    }
}

/// The execution order (module docs).
fn order_steps(vars: &[NodeVar], rels: &[RelVar]) -> Vec<Step> {
    let mut bound = vec![false; vars.len()];
    let mut done = vec![false; rels.len()];
    let mut steps = Vec::with_capacity(vars.len() + rels.len());
    let cost = |v: usize| vars.get(v).map_or(u64::MAX, |var| var.cost);
    loop {
        // The next relationship touching a bound variable.
        let mut best: Option<(usize, (u8, u8, u64))> = None;
        for (i, rel) in rels.iter().enumerate() {
            if done.get(i).copied().unwrap_or(true) {
                continue;
            }
            let l = bound.get(rel.left).copied().unwrap_or(false);
            let r = bound.get(rel.right).copied().unwrap_or(false);
            if !l && !r {
                continue;
            }
            let fixed = u8::from(rel.range != HopRange::new(1, 1));
            let key = if l && r {
                (0, fixed, 0)
            } else if l {
                (1, fixed, cost(rel.right))
            } else {
                (1, fixed, cost(rel.left))
            };
            if best.is_none_or(|(_, k)| key < k) {
                best = Some((i, key));
            }
        }
        if let Some((i, _)) = best {
            let Some(rel) = rels.get(i) else { break };
            let from_left = bound.get(rel.left).copied().unwrap_or(false);
            let (from, to) = if from_left {
                (rel.left, rel.right)
            } else {
                (rel.right, rel.left)
            };
            let to_bound = bound.get(to).copied().unwrap_or(false);
            let direction = if from_left {
                rel.direction
            } else {
                match rel.direction {
                    Direction::Outgoing => Direction::Incoming,
                    Direction::Incoming => Direction::Outgoing,
                    Direction::Both => Direction::Both,
                }
            };
            steps.push(Step::Expand {
                rel: i,
                from,
                to,
                direction,
                reversed: !from_left,
                to_bound,
            });
            if let Some(d) = done.get_mut(i) {
                *d = true;
            }
            if let Some(b) = bound.get_mut(to) {
                *b = true;
            }
            continue;
        }
        // Nothing to expand: start the cheapest unbound variable (a new group).
        let next = (0..vars.len())
            .filter(|&v| !bound.get(v).copied().unwrap_or(true))
            .min_by_key(|&v| (cost(v), v));
        let Some(var) = next else { break };
        steps.push(Step::Start { var });
        if let Some(b) = bound.get_mut(var) {
            *b = true;
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::{NodePattern, NodePayloads, PathPattern, StartCandidates};
    use crate::{AnyNode, GraphEdge};
    use serde_json::json;

    fn store_and_nodes() -> (GraphStore, NodePayloads) {
        let mut g = GraphStore::new();
        let edges = (0..6u64)
            .map(|i| GraphEdge::new(i, i, (i + 1) % 6, "R"))
            .collect();
        assert_eq!(g.add_edges_batch(edges, &AnyNode), Ok(()));
        let mut nodes = NodePayloads::new();
        for id in 0..6 {
            nodes.insert(id, json!({}));
        }
        (g, nodes)
    }

    #[test]
    fn explain_shows_the_start_then_checks_before_expansions_and_fixed_before_variable() {
        let (g, nodes) = store_and_nodes();
        // (a)-[*1..2]->(b)-[:R]->(c), (c)-[:R]->(a), (d): start at c (given, 1 candidate);
        // both fixed relationships at c come before the variable-length one (ties: first
        // written), which then has both ends bound and only checks; d is a product.
        let pattern = Pattern::new(vec![
            PathPattern::new(NodePattern::named("a"))
                .then(RelPattern::outgoing().hops(1, 2), NodePattern::named("b"))
                .then(
                    RelPattern::outgoing().types(&["R"]),
                    NodePattern::named("c"),
                ),
            PathPattern::new(NodePattern::named("c")).then(
                RelPattern::outgoing().types(&["R"]),
                NodePattern::named("a"),
            ),
            PathPattern::new(NodePattern::named("d")),
        ]);
        let options = MatchOptions {
            start: Some(StartCandidates {
                var: "c".to_owned(),
                ids: vec![2],
            }),
            ..MatchOptions::default()
        };
        let plan = g.plan_match(&pattern, &nodes, &options);
        let text = plan.map(|p| p.to_string()).unwrap_or_default();
        assert_eq!(
            text,
            "start c: caller candidates, 1 candidate\n\
             expand (b)-[:R]->(c) from c\n\
             expand (c)-[:R]->(a) from c\n\
             check (a)-[*1..2]->(b) from a\n\
             start d: scan, 6 candidates"
        );
    }

    #[test]
    fn anonymous_variables_print_by_position_and_shared_names_unify() {
        let (g, nodes) = store_and_nodes();
        let pattern = Pattern::new(vec![
            PathPattern::new(NodePattern::any())
                .then(RelPattern::both().named("r"), NodePattern::named("x")),
            PathPattern::new(NodePattern::named("x")),
        ]);
        let plan = g.plan_match(&pattern, &nodes, &MatchOptions::default());
        assert!(plan.is_ok());
        if let Ok(plan) = plan {
            assert_eq!(plan.node_vars(), &[None, Some("x".to_owned())]);
            assert_eq!(plan.rel_index("r"), Some(0));
            assert_eq!(plan.node_index("x"), Some(1));
            assert_eq!(
                plan.to_string(),
                "start _0: scan, 6 candidates\nexpand (_0)-[r]-(x) from _0"
            );
        }
    }
}
