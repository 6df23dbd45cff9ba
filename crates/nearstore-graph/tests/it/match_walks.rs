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
