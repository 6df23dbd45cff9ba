//! What bounds and shapes a variable-length walk: every trail step counts against the row
//! budget (even when no end ever matches), and a walk never binds nor passes through a
//! node the caller does not list (an expired point whose edges are still stored).

use nearstore_graph::{
    AnyNode, Budget, Error, GraphEdge, GraphStore, MatchOptions, NodePattern, NodePayloads,
    PathPattern, Pattern, RelPattern,
};
use serde_json::json;

fn n(var: &str) -> NodePattern {
    NodePattern::named(var)
}

/// A complete graph on `n` nodes (every ordered pair), all of type "E", no labels.
fn complete(n: u64) -> (GraphStore, NodePayloads) {
    let mut g = GraphStore::new();
    let mut nodes = NodePayloads::new();
    let mut edges = Vec::new();
    for a in 0..n {
        nodes.insert(a, json!({}));
        for b in 0..n {
            if a != b {
                edges.push(GraphEdge::new(a * n + b, a, b, "E"));
            }
        }
    }
    assert_eq!(g.add_edges_batch(edges, &AnyNode), Ok(()));
    (g, nodes)
}

#[test]
fn a_walk_whose_end_never_matches_is_stopped_by_the_row_budget() {
    let (g, nodes) = complete(12);
    // No node has the label: no binding of `b` ever happens, only trail steps.
    let p: Pattern = PathPattern::new(n("a"))
        .then(
            RelPattern::outgoing().hops(1, 6),
            NodePattern::named("b").label("Missing"),
        )
        .into();
    let small = MatchOptions {
        budget: Budget::default().max_rows(10_000),
        ..MatchOptions::default()
    };
    assert_eq!(
        g.find_matches(&p, &nodes, &small).err(),
        Some(Error::TooManyRows { max_rows: 10_000 })
    );
    // A shallow walk fits in the same budget and finds nothing.
    let shallow: Pattern = PathPattern::new(n("a"))
        .then(
            RelPattern::outgoing().hops(1, 2),
            NodePattern::named("b").label("Missing"),
        )
        .into();
    assert_eq!(g.find_matches(&shallow, &nodes, &small), Ok(Vec::new()));
}

#[test]
fn a_walk_never_passes_through_a_node_the_caller_does_not_list() {
    // A chain 1 -> 2 -> 3 -> 4; node 2 is not listed (expired), its edges are still stored.
    let mut g = GraphStore::new();
    let edges = vec![
        GraphEdge::new(10, 1, 2, "E"),
        GraphEdge::new(11, 2, 3, "E"),
        GraphEdge::new(12, 3, 4, "E"),
        GraphEdge::new(13, 1, 3, "E"),
    ];
    assert_eq!(g.add_edges_batch(edges, &AnyNode), Ok(()));
    let mut nodes = NodePayloads::new();
    for id in [1, 3, 4] {
        nodes.insert(id, json!({}));
    }
    let p: Pattern = PathPattern::new(n("a"))
        .then(RelPattern::outgoing().named("r").hops(1, 3), n("b"))
        .into();
    let found = g.find_matches(&p, &nodes, &MatchOptions::default());
    let mut rows: Vec<(Vec<u64>, Vec<Vec<u64>>)> = found
        .unwrap_or_default()
        .into_iter()
        .map(|b| (b.nodes, b.edges))
        .collect();
    rows.sort();
    // Only trails through listed nodes: 1-13->3, 1-13->3-12->4, 3-12->4.
    assert_eq!(
        rows,
        vec![
            (vec![1, 3], vec![vec![13]]),
            (vec![1, 4], vec![vec![13, 12]]),
            (vec![3, 4], vec![vec![12]]),
        ]
    );
    // A one-edge hop does not bind it either.
    let one: Pattern = PathPattern::new(n("a"))
        .then(RelPattern::outgoing(), n("b"))
        .into();
    let found = g.find_matches(&one, &nodes, &MatchOptions::default());
    let mut pairs: Vec<Vec<u64>> = found
        .unwrap_or_default()
        .into_iter()
        .map(|b| b.nodes)
        .collect();
    pairs.sort();
    assert_eq!(pairs, vec![vec![1, 3], vec![3, 4]]);
}

#[test]
fn the_first_hop_counts_the_start_nodes_actual_edges() {
    use nearstore_graph::StartCandidates;
    // A hub (0) with 50 outgoing E edges and one F edge; node 1 has one E edge.
    let mut g = GraphStore::new();
    let mut nodes = NodePayloads::new();
    let mut edges = Vec::new();
    for b in 0..=50u64 {
        nodes.insert(b, json!({}));
    }
    for b in 1..=50u64 {
        edges.push(GraphEdge::new(b, 0, b, "E"));
    }
    edges.push(GraphEdge::new(100, 0, 1, "F"));
    edges.push(GraphEdge::new(101, 1, 2, "E"));
    assert_eq!(g.add_edges_batch(edges, &AnyNode), Ok(()));
    let from = |ids: Vec<u64>| MatchOptions {
        start: Some(StartCandidates {
            var: "a".into(),
            ids,
        }),
        ..MatchOptions::default()
    };
    let out: Pattern = PathPattern::new(n("a"))
        .then(RelPattern::outgoing().types(&["E"]), n("b"))
        .into();
    let hops = |p: &Pattern, options: &MatchOptions, cap: u64| {
        let plan = g.plan_match(p, &nodes, options).unwrap();
        g.first_hop_edges(&plan, cap)
    };
    assert_eq!(hops(&out, &from(vec![0]), 1_000), Some(50));
    assert_eq!(hops(&out, &from(vec![0, 1, 7]), 1_000), Some(51));
    // Counting stops at the cap.
    assert_eq!(hops(&out, &from(vec![0]), 10), Some(10));
    // Direction and types as planned.
    let incoming: Pattern = PathPattern::new(n("a"))
        .then(RelPattern::incoming().types(&["E"]), n("b"))
        .into();
    assert_eq!(hops(&incoming, &from(vec![0]), 1_000), Some(0));
    let any: Pattern = PathPattern::new(n("a"))
        .then(RelPattern::outgoing(), n("b"))
        .into();
    assert_eq!(hops(&any, &from(vec![0]), 1_000), Some(51));
    // A scan start has no candidates to count.
    assert_eq!(hops(&out, &MatchOptions::default(), 1_000), None);
}
