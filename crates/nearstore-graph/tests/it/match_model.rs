//! Proptest: pattern matching equals a brute-force matcher on random small graphs.
//!
//! The oracle knows nothing of plans or adjacency: it tries every assignment of nodes to the
//! node variables, checks each variable's labels, age condition, start candidates and
//! predicate by reading the payload spec, then for each relationship (in written order)
//! every sequence of distinct edges not used by an earlier relationship that leads from its
//! left node to its right node in the right direction, types and edge condition. Patterns
//! have labels and label alternatives, payload equality and ranges, all three directions,
//! type alternatives, variable length (zero included), edge conditions and up to three parts
//! sharing variables; graphs have self-loops, parallel edges, edges in the CSR and in the
//! delta, removed edges, and optional node and edge property indexes. The rare case that
//! produces more than [`MAX_ROWS`] partial bindings stops with `TooManyRows` and is
//! discarded (brute-forcing its millions of matches would take minutes).

use std::collections::BTreeMap;

use nearstore_graph::{
    AnyNode, Binding, Budget, Direction, Error, FieldIndexKind, Filter, GraphEdge, GraphStore,
    MatchOptions, NodePattern, NodePayloads, NodePredicate, PathPattern, Pattern, RelPattern,
    StartCandidates,
};
use proptest::prelude::*;
use roaring::RoaringTreemap;
use serde_json::{Value, json};

/// The live edges: id -> (source, target, type, w).
type LiveEdges = BTreeMap<u64, (u64, u64, usize, i64)>;

/// Partial bindings allowed per case (module docs).
const MAX_ROWS: usize = 100_000;

const NODES: u64 = 6;
const LABELS: [&str; 3] = ["A", "B", "C"];
const TYPES: [&str; 3] = ["X", "Y", "Z"];
const VARS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

#[derive(Debug, Clone)]
struct NodeSpec {
    var: Option<usize>,
    groups: Vec<Vec<usize>>,
    age: Option<(i64, i64)>,
}

#[derive(Debug, Clone)]
struct RelSpec {
    named: bool,
    types: Vec<usize>,
    direction: Direction,
    length: Option<(u32, u32)>,
    min_w: Option<i64>,
}

#[derive(Debug, Clone)]
struct GraphSpec {
    /// Per node: labels, age.
    nodes: Vec<(Vec<usize>, i64)>,
    /// id = position: source, target, type, w.
    edges: Vec<(u64, u64, usize, i64)>,
    /// Edges removed after loading.
    removed: Vec<usize>,
    /// How many edges go in one bulk batch (the CSR); the rest one by one (the delta).
    bulk: usize,
    merge: bool,
    indexes: bool,
}

#[derive(Debug, Clone)]
struct Case {
    graph: GraphSpec,
    parts: Vec<(NodeSpec, Vec<(RelSpec, NodeSpec)>)>,
    start: Option<(usize, Vec<u64>)>,
    predicate: Option<Vec<u64>>,
    limit: Option<usize>,
}

fn graph() -> impl Strategy<Value = GraphSpec> {
    (
        prop::collection::vec(
            (prop::collection::vec(0usize..3, 0..4), 0i64..4),
            NODES as usize,
        ),
        prop::collection::vec((0..NODES, 0..NODES, 0usize..2, 0i64..3), 6..18),
        prop::collection::vec(0usize..18, 0..4),
        0usize..18,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(nodes, edges, removed, bulk, merge, indexes)| GraphSpec {
            nodes,
            edges,
            removed,
            bulk,
            merge,
            indexes,
        })
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    (
        prop_oneof![Just(None), (0usize..VARS.len()).prop_map(Some)],
        prop_oneof![
            3 => Just(Vec::new()),
            1 => prop::collection::vec(prop::collection::vec(0usize..3, 1..3), 1..2),
        ],
        prop_oneof![
            5 => Just(None),
            1 => (0i64..4).prop_map(|v| Some((v, v))),
            2 => (0i64..3, 1i64..3).prop_map(|(lo, span)| Some((lo, lo + span))),
        ],
    )
        .prop_map(|(var, groups, age)| NodeSpec { var, groups, age })
}

fn rel_spec() -> impl Strategy<Value = RelSpec> {
    (
        any::<bool>(),
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec(0usize..3, 1..3),
        ],
        prop::sample::select(vec![
            Direction::Outgoing,
            Direction::Incoming,
            Direction::Both,
        ]),
        prop_oneof![
            2 => Just(None),
            1 => (0u32..3, 0u32..3).prop_map(|(min, span)| Some((min, min + span))),
        ],
        prop_oneof![3 => Just(None), 1 => (0i64..3).prop_map(Some)],
    )
        .prop_map(|(named, types, direction, length, min_w)| RelSpec {
            named,
            types,
            direction,
            length,
            min_w,
        })
}

fn case() -> impl Strategy<Value = Case> {
    (
        graph(),
        prop::collection::vec(
            (
                node_spec(),
                prop::collection::vec((rel_spec(), node_spec()), 0..4),
            ),
            1..3,
        ),
        prop_oneof![
            2 => Just(None),
            1 => (0usize..VARS.len(), prop::collection::vec(0..NODES + 2, 0..5))
                .prop_map(Some),
        ],
        prop_oneof![2 => Just(None), 1 => prop::collection::vec(0..NODES, 0..5).prop_map(Some)],
        prop_oneof![3 => Just(None), 1 => (0usize..5).prop_map(Some)],
    )
        .prop_map(|(graph, parts, start, predicate, limit)| Case {
            graph,
            parts,
            start,
            predicate,
            limit,
        })
}

fn payload(spec: &(Vec<usize>, i64)) -> Value {
    let labels: Vec<&str> = spec
        .0
        .iter()
        .filter_map(|&l| LABELS.get(l).copied())
        .collect();
    json!({"_labels": labels, "age": spec.1})
}

/// The store and the node payloads the case describes; the live edges by id.
fn build(spec: &GraphSpec) -> (GraphStore, NodePayloads, LiveEdges) {
    let mut nodes = NodePayloads::new();
    let mut g = GraphStore::new();
    for (id, node) in (0u64..).zip(&spec.nodes) {
        nodes.insert(id, payload(node));
    }
    if spec.indexes {
        let payloads: Vec<(u64, Value)> = (0u64..)
            .zip(&spec.nodes)
            .map(|(id, n)| (id, payload(n)))
            .collect();
        let existing = || payloads.iter().map(|(id, p)| (*id, p));
        assert!(
            g.create_node_index("_labels", FieldIndexKind::Keyword, existing())
                .is_ok()
        );
        assert!(
            g.create_node_index("age", FieldIndexKind::Integer, existing())
                .is_ok()
        );
        assert!(g.create_edge_index("w", FieldIndexKind::Integer).is_ok());
    }
    let edge = |(id, &(s, t, ty, w)): (u64, &(u64, u64, usize, i64))| {
        GraphEdge::new(id, s, t, TYPES[ty]).with_properties(json!({ "w": w }))
    };
    let all: Vec<GraphEdge> = (0u64..).zip(&spec.edges).map(edge).collect();
    let bulk = spec.bulk.min(all.len());
    assert!(g.add_edges_batch(all[..bulk].to_vec(), &AnyNode).is_ok());
    if spec.merge {
        g.merge();
    }
    for e in &all[bulk..] {
        assert!(g.add_edge(e.clone(), &AnyNode).is_ok());
    }
    let mut live: LiveEdges = (0u64..).zip(spec.edges.iter().copied()).collect();
    for &r in &spec.removed {
        let id = r as u64;
        assert_eq!(g.remove_edge(id).is_some(), live.remove(&id).is_some());
    }
    (g, nodes, live)
}

fn node_pattern(spec: &NodeSpec) -> NodePattern {
    let mut node = match spec.var {
        Some(v) => NodePattern::named(VARS[v]),
        None => NodePattern::any(),
    };
    for group in &spec.groups {
        let names: Vec<&str> = group.iter().map(|&l| LABELS[l]).collect();
        node = node.any_label(&names);
    }
    if let Some((lo, hi)) = spec.age {
        node = if lo == hi {
            node.condition(Filter::eq("age", json!(lo)))
        } else {
            node.condition(Filter::and(vec![
                Filter::gte("age", json!(lo)),
                Filter::lte("age", json!(hi)),
            ]))
        };
    }
    node
}

fn pattern(case: &Case) -> Pattern {
    let mut rel_number = 0;
    Pattern::new(
        case.parts
            .iter()
            .map(|(start, hops)| {
                let mut path = PathPattern::new(node_pattern(start));
                for (rel, node) in hops {
                    let types: Vec<&str> = rel.types.iter().map(|&t| TYPES[t]).collect();
                    let mut r = RelPattern::new(rel.direction).types(&types);
                    if rel.named {
                        r = r.named(&format!("r{rel_number}"));
                    }
                    rel_number += 1;
                    if let Some((min, max)) = rel.length {
                        r = r.hops(min, max);
                    }
                    if let Some(w) = rel.min_w {
                        r = r.condition(Filter::gte("w", json!(w)));
                    }
                    path = path.then(r, node_pattern(node));
                }
                path
            })
            .collect(),
    )
}

struct Allowed(RoaringTreemap);

impl NodePredicate for Allowed {
    fn constrains(&self, var: &str) -> bool {
        var == "a"
    }
    fn accept(&self, _var: &str, node: u64) -> bool {
        self.0.contains(node)
    }
}

/// The brute-force matcher (module docs).
struct Oracle<'a> {
    case: &'a Case,
    edges: &'a LiveEdges,
    /// Per node variable: its name (index into VARS) and conditions.
    vars: Vec<(Option<usize>, Vec<&'a NodeSpec>)>,
    rels: Vec<(usize, usize, &'a RelSpec)>,
}

impl<'a> Oracle<'a> {
    fn new(case: &'a Case, edges: &'a LiveEdges) -> Self {
        let mut oracle = Oracle {
            case,
            edges,
            vars: Vec::new(),
            rels: Vec::new(),
        };
        for (start, hops) in &case.parts {
            let mut left = oracle.var(start);
            for (rel, node) in hops {
                let right = oracle.var(node);
                oracle.rels.push((left, right, rel));
                left = right;
            }
        }
        oracle
    }

    fn var(&mut self, spec: &'a NodeSpec) -> usize {
        let found = spec
            .var
            .and_then(|v| self.vars.iter().position(|(name, _)| *name == Some(v)));
        let index = found.unwrap_or_else(|| {
            self.vars.push((spec.var, Vec::new()));
            self.vars.len() - 1
        });
        self.vars[index].1.push(spec);
        index
    }

    fn node_ok(&self, var: usize, node: u64) -> bool {
        let (name, specs) = &self.vars[var];
        let (labels, age) = &self.case.graph.nodes[node as usize];
        let conditions = specs.iter().all(|s| {
            s.groups
                .iter()
                .all(|g| g.iter().any(|l| labels.contains(l)))
                && s.age.is_none_or(|(lo, hi)| (lo..=hi).contains(age))
        });
        let start = match &self.case.start {
            Some((v, ids)) if *name == Some(*v) => ids.contains(&node),
            _ => true,
        };
        let predicate = match &self.case.predicate {
            Some(ids) if *name == Some(0) => ids.contains(&node),
            _ => true,
        };
        conditions && start && predicate
    }

    /// (edge id, other node) from `node` along `rel`'s edges, written direction.
    fn steps(&self, node: u64, rel: &RelSpec) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        for (&id, &(s, t, ty, w)) in self.edges {
            if !(rel.types.is_empty() || rel.types.contains(&ty))
                || rel.min_w.is_some_and(|min| w < min)
            {
                continue;
            }
            match rel.direction {
                Direction::Outgoing if s == node => out.push((id, t)),
                Direction::Incoming if t == node => out.push((id, s)),
                Direction::Both if s == node => out.push((id, t)),
                Direction::Both if t == node => out.push((id, s)),
                _ => {}
            }
        }
        out
    }

    fn all(&self) -> Vec<Binding> {
        let mut out = Vec::new();
        let mut nodes = vec![0u64; self.vars.len()];
        self.assign(0, &mut nodes, &mut out);
        out.sort();
        out
    }

    fn assign(&self, var: usize, nodes: &mut Vec<u64>, out: &mut Vec<Binding>) {
        if var == nodes.len() {
            let mut edges = vec![Vec::new(); self.rels.len()];
            self.paths(0, nodes, &mut edges, out);
            return;
        }
        for node in 0..NODES {
            if self.node_ok(var, node) {
                nodes[var] = node;
                if self.connectable(var, nodes) {
                    self.assign(var + 1, nodes, out);
                }
            }
        }
    }

    /// Pruning (a necessary condition only): every relationship whose ends are now both
    /// assigned has some trail between them, ignoring the other relationships' edges.
    fn connectable(&self, var: usize, nodes: &[u64]) -> bool {
        self.rels
            .iter()
            .filter(|(l, r, _)| (*l).max(*r) == var)
            .all(|&(l, r, spec)| {
                let (min, max) = spec.length.unwrap_or((1, 1));
                let mut any = false;
                self.trails(
                    nodes[l],
                    nodes[r],
                    min,
                    max,
                    spec,
                    &mut Vec::new(),
                    &mut |_| {
                        any = true;
                    },
                );
                any
            })
    }

    fn paths(&self, rel: usize, nodes: &[u64], edges: &mut Vec<Vec<u64>>, out: &mut Vec<Binding>) {
        let Some(&(left, right, spec)) = self.rels.get(rel) else {
            out.push(Binding {
                nodes: nodes.to_vec(),
                edges: edges.clone(),
            });
            return;
        };
        let (min, max) = spec.length.unwrap_or((1, 1));
        let mut trail = Vec::new();
        self.trails(
            nodes[left],
            nodes[right],
            min,
            max,
            spec,
            &mut trail,
            &mut |trail| {
                let used_before = edges[..rel].iter().flatten().any(|e| trail.contains(e));
                if !used_before {
                    edges[rel] = trail.to_vec();
                    self.paths(rel + 1, nodes, edges, out);
                }
            },
        );
        edges[rel].clear();
    }

    #[expect(clippy::too_many_arguments, reason = "a recursive oracle, kept plain")]
    fn trails(
        &self,
        at: u64,
        end: u64,
        min: u32,
        max: u32,
        spec: &RelSpec,
        trail: &mut Vec<u64>,
        found: &mut dyn FnMut(&[u64]),
    ) {
        let len = trail.len() as u32;
        if len >= min && at == end {
            found(trail);
        }
        if len >= max {
            return;
        }
        for (edge, next) in self.steps(at, spec) {
            if !trail.contains(&edge) {
                trail.push(edge);
                self.trails(next, end, min, max, spec, trail, found);
                trail.pop();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matches_equal_brute_force(case in case()) {
        let (g, nodes, live) = build(&case.graph);
        let allowed = Allowed(case.predicate.iter().flatten().copied().collect());
        let options = MatchOptions {
            start: case.start.as_ref().map(|(v, ids)| StartCandidates {
                var: VARS[*v].to_owned(),
                ids: ids.clone(),
            }),
            predicate: case.predicate.is_some().then_some(&allowed as &dyn NodePredicate),
            limit: case.limit,
            budget: Budget::default().max_rows(MAX_ROWS),
            ..MatchOptions::default()
        };
        let pattern = pattern(&case);
        let start_var_used = case.start.as_ref().is_none_or(|(v, _)| {
            case.parts.iter().any(|(s, hops)| {
                s.var == Some(*v) || hops.iter().any(|(_, n)| n.var == Some(*v))
            })
        });
        let found = g.find_matches(&pattern, &nodes, &options);
        // A case whose partial bindings exceed the budget (two variable-length undirected
        // parts over a dense graph: millions of matches) is discarded, not brute-forced.
        prop_assume!(!matches!(found, Err(Error::TooManyRows { .. })));
        if !start_var_used {
            prop_assert!(found.is_err());
            return Ok(());
        }
        prop_assert!(found.is_ok(), "{:?}", found);
        let mut found = found.unwrap_or_default();
        found.sort();
        let expected = Oracle::new(&case, &live).all();
        match case.limit {
            None => prop_assert_eq!(found, expected),
            Some(limit) => {
                prop_assert_eq!(found.len(), limit.min(expected.len()));
                let mut rest = expected.clone();
                for b in &found {
                    let at = rest.iter().position(|e| e == b);
                    prop_assert!(at.is_some(), "{:?} is not a match", b);
                    if let Some(at) = at {
                        rest.remove(at);
                    }
                }
            }
        }
    }
}
