//! The seeded graph-collection workload shared by the crash tests (`power_loss`, `kill9`):
//! node upserts and deletes (a delete takes the node's edges along), edge inserts (single
//! and batched) and removals, node and edge property indexes, flushes, checkpoints; the
//! model it implies (live nodes, the edge set) and the invariant check of a recovered
//! graph: adjacency = the model's edge set, incoming = outgoing transposed, no edge at a
//! missing node, and the property indexes answering like brute force.

use std::collections::{BTreeMap, BTreeSet};

use nearstore::{
    FieldIndexKind, Filter, GraphCollection, GraphEdge, MatchRequest, NodePattern, PathPattern,
    Point, RelPattern, ScrollRequest,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Node ids are `0..NODES`.
pub const NODES: u64 = 12;

/// One graph write.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum GraphOp {
    /// Upsert nodes (payload `{"_labels": ["N"], "n": id % 4}`).
    Nodes(Vec<u64>),
    /// Delete nodes (and so their edges).
    DeleteNodes(Vec<u64>),
    /// Add edges `(id, source, target, weight)`, all valid when generated.
    AddEdges(Vec<(u64, u64, u64, u64)>),
    /// Remove an existing edge.
    RemoveEdge(u64),
    Flush,
    Checkpoint,
    /// A node (`n`) or edge (`w`) property index.
    CreateIndex(bool),
}

/// Live nodes and edges `id -> (source, target, weight)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphModel {
    pub nodes: BTreeSet<u64>,
    pub edges: BTreeMap<u64, (u64, u64, u64)>,
}

fn label(weight: u64) -> &'static str {
    if weight.is_multiple_of(2) { "A" } else { "B" }
}

impl GraphOp {
    pub fn apply(&self, m: &mut GraphModel) {
        match self {
            GraphOp::Nodes(ids) => m.nodes.extend(ids),
            GraphOp::DeleteNodes(ids) => {
                for id in ids {
                    m.nodes.remove(id);
                }
                m.edges
                    .retain(|_, (s, t, _)| !ids.contains(s) && !ids.contains(t));
            }
            GraphOp::AddEdges(edges) => {
                for &(id, s, t, w) in edges {
                    m.edges.insert(id, (s, t, w));
                }
            }
            GraphOp::RemoveEdge(id) => {
                m.edges.remove(id);
            }
            GraphOp::Flush | GraphOp::Checkpoint | GraphOp::CreateIndex(_) => {}
        }
    }

    pub fn is_barrier(&self) -> bool {
        matches!(
            self,
            GraphOp::Flush | GraphOp::Checkpoint | GraphOp::CreateIndex(_)
        )
    }
}

/// `n` operations, each valid in the state the ones before it leave (so every write is
/// acknowledged on a clean run).
pub fn generate(seed: u64, n: usize) -> Vec<GraphOp> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut model = GraphModel::default();
    let mut next_edge = 1000u64;
    (0..n)
        .map(|i| {
            let op = next_op(&mut rng, &model, &mut next_edge, i);
            op.apply(&mut model);
            op
        })
        .collect()
}

/// The `i`-th operation of a run, valid in `model`'s state; edge ids count up from
/// `next_edge`.
pub fn next_op(rng: &mut ChaCha8Rng, model: &GraphModel, next_edge: &mut u64, i: usize) -> GraphOp {
    let nodes: Vec<u64> = model.nodes.iter().copied().collect();
    if nodes.len() < 3 || i.is_multiple_of(9) {
        return GraphOp::Nodes((0..3).map(|_| rng.random_range(0..NODES)).collect());
    }
    if i % 11 == 7 {
        return GraphOp::CreateIndex(i % 22 == 7);
    }
    match rng.random_range(0..20) {
        0..=7 => {
            let count = if rng.random_bool(0.5) {
                1
            } else {
                rng.random_range(2..6)
            };
            GraphOp::AddEdges(
                (0..count)
                    .map(|_| {
                        *next_edge += 1;
                        let s = nodes[rng.random_range(0..nodes.len())];
                        let t = nodes[rng.random_range(0..nodes.len())];
                        (*next_edge, s, t, rng.random_range(0..4))
                    })
                    .collect(),
            )
        }
        8..=10 if !model.edges.is_empty() => {
            let ids: Vec<u64> = model.edges.keys().copied().collect();
            GraphOp::RemoveEdge(ids[rng.random_range(0..ids.len())])
        }
        11..=13 => GraphOp::DeleteNodes(vec![nodes[rng.random_range(0..nodes.len())]]),
        14..=15 => GraphOp::Nodes(vec![rng.random_range(0..NODES)]),
        16..=17 => GraphOp::Flush,
        _ => GraphOp::Checkpoint,
    }
}

pub fn execute(g: &GraphCollection, op: &GraphOp) -> nearstore::Result<()> {
    match op {
        GraphOp::Nodes(ids) => g.upsert(
            ids.iter()
                .map(|&id| Point::without_vector(id, Some(json!({"_labels": ["N"], "n": id % 4}))))
                .collect(),
        ),
        GraphOp::DeleteNodes(ids) => g.delete(ids).map(|_| ()),
        GraphOp::AddEdges(edges) => g.add_edges_batch(
            edges
                .iter()
                .map(|&(id, s, t, w)| {
                    GraphEdge::new(id, s, t, label(w)).with_properties(json!({"w": w}))
                })
                .collect(),
        ),
        GraphOp::RemoveEdge(id) => g.remove_edge(*id).map(|_| ()),
        GraphOp::Flush => g.flush(),
        GraphOp::Checkpoint => g.checkpoint(),
        GraphOp::CreateIndex(true) => g.create_node_property_index("n", FieldIndexKind::Integer),
        GraphOp::CreateIndex(false) => g.create_edge_property_index("w", FieldIndexKind::Integer),
    }
}

/// The graph's content, after checking its invariants.
pub fn content(g: &GraphCollection) -> GraphModel {
    let nodes: BTreeSet<u64> = g
        .scan(&ScrollRequest::new())
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    let mut edges = BTreeMap::new();
    for e in g.all_edges().unwrap() {
        assert!(
            nodes.contains(&e.source) && nodes.contains(&e.target),
            "edge {} at a missing node",
            e.id
        );
        let w = e.properties["w"].as_u64().unwrap();
        assert_eq!(e.label, label(w), "edge {} whole", e.id);
        edges.insert(e.id, (e.source, e.target, w));
    }
    assert_eq!(g.edge_count().unwrap(), edges.len());
    let (mut out, mut inc) = (BTreeSet::new(), BTreeSet::new());
    for &n in &nodes {
        out.extend(
            g.get_outgoing(n)
                .unwrap()
                .iter()
                .map(|e| (e.id, e.source, e.target)),
        );
        inc.extend(
            g.get_incoming(n)
                .unwrap()
                .iter()
                .map(|e| (e.id, e.source, e.target)),
        );
    }
    let all: BTreeSet<(u64, u64, u64)> = edges.iter().map(|(&id, &(s, t, _))| (id, s, t)).collect();
    assert_eq!(out, all, "outgoing adjacency = the edge set");
    assert_eq!(inc, all, "incoming = outgoing transposed");
    // The property indexes (when created) answer like brute force: a MATCH starting from
    // them finds exactly the matching edges and nodes.
    let heavy = MatchRequest::new(
        PathPattern::new(NodePattern::named("a"))
            .then(
                RelPattern::outgoing()
                    .named("r")
                    .condition(Filter::gte("w", json!(2))),
                NodePattern::named("b"),
            )
            .into(),
    );
    let response = g.match_pattern(&heavy).unwrap();
    let r = response
        .rel_vars
        .iter()
        .position(|v| v.as_deref() == Some("r"))
        .unwrap();
    let got: BTreeSet<u64> = response.rows.iter().map(|row| row.edges[r][0]).collect();
    let want: BTreeSet<u64> = edges
        .iter()
        .filter(|(_, (_, _, w))| *w >= 2)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(got, want, "edges with w >= 2");
    let odd = MatchRequest::new(
        PathPattern::new(NodePattern::named("a").condition(Filter::eq("n", json!(1)))).into(),
    );
    let got: BTreeSet<u64> = g
        .match_pattern(&odd)
        .unwrap()
        .rows
        .iter()
        .map(|r| r.node)
        .collect();
    let want: BTreeSet<u64> = nodes.iter().copied().filter(|n| n % 4 == 1).collect();
    assert_eq!(got, want, "nodes with n = 1");
    GraphModel { nodes, edges }
}
