//! Proptests: random sequences of edge adds (single and batched), edge removals, node
//! removals, merges and encode/decode round trips, applied to the store and to the
//! brute-force model; after every step the adjacency must equal the model, and at the end
//! every traversal and expansion primitive must agree with the model's answer.

use std::collections::BTreeSet;

use nearstore_graph::{
    Budget, Direction, Error, FrontierExpander, GraphEdge, GraphStore, TraversalConfig,
};
use proptest::prelude::*;
use serde_json::json;

use crate::oracle::Model;

/// Nodes 0..EXISTING exist; EXISTING..NODES do not (edges to them are errors).
const EXISTING: u64 = 9;
const NODES: u64 = 11;
const LABELS: [&str; 3] = ["A", "B", "C"];

#[derive(Debug, Clone)]
enum Step {
    Add(GraphEdge),
    Batch(Vec<GraphEdge>),
    RemoveEdge(u64),
    RemoveNode(u64),
    Merge,
    RoundTrip,
}

fn edge() -> impl Strategy<Value = GraphEdge> {
    (0u64..40, 0..NODES, 0..NODES, 0usize..3, 0i64..5).prop_map(|(id, s, t, l, w)| {
        GraphEdge::new(id, s, t, LABELS[l]).with_properties(json!({ "w": w }))
    })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => edge().prop_map(Step::Add),
        2 => prop::collection::vec(edge(), 0..6).prop_map(Step::Batch),
        3 => (0u64..40).prop_map(Step::RemoveEdge),
        1 => (0..NODES).prop_map(Step::RemoveNode),
        1 => Just(Step::Merge),
        1 => Just(Step::RoundTrip),
    ]
}

fn exists(node: u64) -> bool {
    node < EXISTING
}

/// What the model says a batch add must do.
fn expected_add(model: &Model, edges: &[GraphEdge]) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    for e in edges {
        if model.edges.contains_key(&e.id) || !seen.insert(e.id) {
            return Err(Error::DuplicateEdge { edge: e.id });
        }
        for (endpoint, node) in [("source", e.source), ("target", e.target)] {
            if !exists(node) {
                return Err(Error::MissingNode {
                    edge: e.id,
                    endpoint,
                    node,
                });
            }
        }
    }
    Ok(())
}

fn sorted(mut edges: Vec<GraphEdge>) -> Vec<GraphEdge> {
    edges.sort_by_key(|e| e.id);
    edges
}

fn apply(store: &mut GraphStore, model: &mut Model, step: &Step) -> Result<(), TestCaseError> {
    match step {
        Step::Add(e) => {
            let expected = expected_add(model, std::slice::from_ref(e));
            prop_assert_eq!(store.add_edge(e.clone(), &exists), expected.clone());
            if expected.is_ok() {
                model.edges.insert(e.id, e.clone());
            }
        }
        Step::Batch(edges) => {
            let expected = expected_add(model, edges);
            prop_assert_eq!(
                store.add_edges_batch(edges.clone(), &exists),
                expected.clone()
            );
            if expected.is_ok() {
                for e in edges {
                    model.edges.insert(e.id, e.clone());
                }
            }
        }
        Step::RemoveEdge(id) => {
            prop_assert_eq!(store.remove_edge(*id), model.edges.remove(id));
        }
        Step::RemoveNode(node) => {
            let expected: Vec<GraphEdge> = model
                .edges
                .values()
                .filter(|e| e.source == *node || e.target == *node)
                .cloned()
                .collect();
            for e in &expected {
                model.edges.remove(&e.id);
            }
            prop_assert_eq!(store.remove_node(*node), expected);
        }
        Step::Merge => {
            store.merge();
            prop_assert_eq!(store.delta_len(), 0);
        }
        Step::RoundTrip => {
            let decoded = GraphStore::decode(&store.encode());
            prop_assert!(decoded.is_ok(), "decode failed: {:?}", decoded.err());
            if let Ok(decoded) = decoded {
                *store = decoded;
            }
        }
    }
    Ok(())
}

/// Adjacency = the model's edge set, incoming = outgoing transposed, no dangling edge.
fn check_adjacency(store: &GraphStore, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(store.edge_count(), model.edges.len());
    let mut out_ids = BTreeSet::new();
    let mut in_ids = BTreeSet::new();
    for node in 0..NODES {
        let out = sorted(store.get_outgoing::<&str>(node, &[]));
        let inc = sorted(store.get_incoming::<&str>(node, &[]));
        prop_assert_eq!(&out, &model.outgoing(node));
        prop_assert_eq!(&inc, &model.incoming(node));
        let degree = store.node_degree(node);
        prop_assert_eq!((degree.outgoing, degree.incoming), (out.len(), inc.len()));
        out_ids.extend(out.iter().map(|e| e.id));
        in_ids.extend(inc.iter().map(|e| e.id));
        for label in LABELS {
            let labelled = sorted(store.get_outgoing(node, &[label]));
            let expected: Vec<GraphEdge> = model
                .outgoing(node)
                .into_iter()
                .filter(|e| e.label == label)
                .collect();
            prop_assert_eq!(labelled, expected);
        }
    }
    let all: BTreeSet<u64> = model.edges.keys().copied().collect();
    prop_assert_eq!(&out_ids, &all);
    prop_assert_eq!(&in_ids, &all);
    for label in LABELS {
        let expected: Vec<GraphEdge> = model
            .edges
            .values()
            .filter(|e| e.label == label)
            .cloned()
            .collect();
        prop_assert_eq!(store.get_edges(label), expected);
    }
    for (id, e) in &model.edges {
        prop_assert_eq!(store.get_edge(*id), Some(e.clone()));
    }
    Ok(())
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::Outgoing),
        Just(Direction::Incoming),
        Just(Direction::Both)
    ]
}

fn rel_types() -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(LABELS.to_vec(), 0..=2)
        .prop_map(|v| v.into_iter().map(String::from).collect())
}

fn check_traversals(
    store: &GraphStore,
    model: &Model,
    source: u64,
    config: &TraversalConfig,
) -> Result<(), TestCaseError> {
    let budget = Budget::unlimited();
    let depths = model.bfs_depths(
        source,
        config.max_depth,
        config.direction,
        &config.rel_types,
    );
    let expected: BTreeSet<(u64, u32)> = depths
        .iter()
        .filter(|&(_, &d)| d >= config.min_depth)
        .map(|(&n, &d)| (n, d))
        .collect();
    let bfs = store.traverse_bfs(source, config, &budget);
    prop_assert!(bfs.is_ok());
    let bfs = bfs.unwrap_or_default();
    prop_assert_eq!(bfs.len(), expected.len().min(config.limit));
    let mut previous = 0;
    for r in &bfs {
        prop_assert!(
            expected.contains(&(r.target, r.depth)),
            "bfs reported {:?}",
            r
        );
        prop_assert!(r.depth >= previous, "bfs out of depth order");
        previous = r.depth;
        prop_assert_eq!(r.path.len() as u32, r.depth);
        prop_assert!(model.is_path(
            source,
            r.target,
            &r.path,
            config.direction,
            &config.rel_types
        ));
    }
    let dfs = store.traverse_dfs(source, config, &budget);
    prop_assert!(dfs.is_ok());
    let dfs = dfs.unwrap_or_default();
    if config.min_depth <= 1 {
        prop_assert_eq!(dfs.len(), bfs.len());
    }
    let mut targets = BTreeSet::new();
    for r in &dfs {
        prop_assert!(targets.insert(r.target), "dfs reported a node twice");
        prop_assert!(depths.contains_key(&r.target));
        prop_assert!(r.depth >= config.min_depth && r.depth <= config.max_depth);
        prop_assert_eq!(r.path.len() as u32, r.depth);
        prop_assert!(model.is_path(
            source,
            r.target,
            &r.path,
            config.direction,
            &config.rel_types
        ));
    }
    if config.min_depth <= 1 && config.limit >= depths.len() {
        let bfs_targets: BTreeSet<u64> = bfs.iter().map(|r| r.target).collect();
        prop_assert_eq!(targets, bfs_targets);
    }
    Ok(())
}

fn check_expansions(
    store: &GraphStore,
    model: &Model,
    start: u64,
    (min, max): (u32, u32),
    direction: Direction,
    labels: &[String],
) -> Result<(), TestCaseError> {
    let budget = Budget::unlimited();
    let set = store.label_set(labels);
    let trails = store.expand_var_length(start, min, max, direction, &set, &budget);
    prop_assert!(trails.is_ok());
    let mut trails = trails.unwrap_or_default();
    trails.sort();
    prop_assert_eq!(trails, model.trails(start, min, max, direction, labels));

    let frontier: Vec<u64> = (0..NODES).filter(|n| n % 3 == start % 3).collect();
    let hops = store.expand_hop(&frontier, direction, &set, &budget);
    prop_assert!(hops.is_ok());
    let hops: BTreeSet<(u64, u64, u64)> = hops
        .unwrap_or_default()
        .into_iter()
        .map(|h| (h.from, h.edge, h.to))
        .collect();
    let expected: BTreeSet<(u64, u64, u64)> = frontier
        .iter()
        .flat_map(|&f| {
            model
                .steps(f, direction, labels)
                .into_iter()
                .map(move |(e, n)| (f, e, n))
        })
        .collect();
    prop_assert_eq!(hops, expected);

    let mut expander = FrontierExpander::new();
    for k in 1..=3 {
        let count = expander.expand(store, &frontier, k, direction, &set, &budget);
        let reached: BTreeSet<u64> = expander.nodes(store).collect();
        let expected = model.walk_frontier(&frontier, k, direction, labels);
        prop_assert_eq!(count.ok(), Some(reached.len()));
        prop_assert_eq!(reached, expected);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn store_matches_the_model_through_any_history(
        steps in prop::collection::vec(step(), 1..60),
        source in 0..NODES,
        min_depth in 0u32..3,
        extra_depth in 0u32..4,
        limit in 1usize..20,
        direction in direction(),
        rel_types in rel_types(),
    ) {
        let mut store = GraphStore::new();
        let mut model = Model::default();
        for step in &steps {
            apply(&mut store, &mut model, step)?;
            check_adjacency(&store, &model)?;
        }
        let config = TraversalConfig {
            min_depth,
            max_depth: min_depth + extra_depth,
            limit,
            rel_types: rel_types.clone(),
            direction,
        };
        check_traversals(&store, &model, source, &config)?;
        check_traversals(&store, &model, source, &TraversalConfig { limit: usize::MAX, ..config })?;
        check_expansions(&store, &model, source, (min_depth, min_depth + extra_depth.min(2)), direction, &rel_types)?;
    }
}
