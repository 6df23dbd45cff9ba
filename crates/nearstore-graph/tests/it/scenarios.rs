//! Scenarios for every public operation: validation errors, all-or-nothing batches, node
//! removal, replay idempotence, guardrails, and the bulk-load path.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use nearstore_graph::{
    AnyNode, Applied, Budget, Direction, Error, FrontierExpander, GraphEdge, GraphOp, GraphStore,
    MAX_TRAVERSAL_DEPTH, MIN_DELTA_BEFORE_MERGE, TraversalConfig,
};
use roaring::RoaringTreemap;
use serde_json::json;

fn ids(edges: &[GraphEdge]) -> Vec<u64> {
    let mut ids: Vec<u64> = edges.iter().map(|e| e.id).collect();
    ids.sort_unstable();
    ids
}

/// A chain 0 -> 1 -> ... -> n of label "NEXT" (edge i leaves node i).
fn chain(n: u64) -> GraphStore {
    let mut g = GraphStore::new();
    let edges = (0..n)
        .map(|i| GraphEdge::new(i, i, i + 1, "NEXT"))
        .collect();
    assert!(g.add_edges_batch(edges, &AnyNode).is_ok());
    g
}

#[test]
fn add_edge_rejects_blank_labels_duplicates_and_missing_nodes() {
    let nodes: RoaringTreemap = [1u64, 2, 3].into_iter().collect();
    let mut g = GraphStore::new();
    assert_eq!(g.add_edge(GraphEdge::new(1, 1, 2, "R"), &nodes), Ok(()));
    assert_eq!(
        g.add_edge(GraphEdge::new(1, 2, 3, "R"), &nodes),
        Err(Error::DuplicateEdge { edge: 1 })
    );
    assert_eq!(
        g.add_edge(GraphEdge::new(2, 2, 3, "  "), &nodes),
        Err(Error::BlankLabel { edge: 2 })
    );
    assert_eq!(
        g.add_edge(GraphEdge::new(2, 2, 9, "R"), &nodes),
        Err(Error::MissingNode {
            edge: 2,
            endpoint: "target",
            node: 9
        })
    );
    let err = g.add_edge(GraphEdge::new(2, 8, 2, "R"), &nodes).err();
    assert_eq!(
        err.map(|e| e.to_string()),
        Some("edge 2: source node 8 does not exist".to_owned())
    );
    assert_eq!(g.edge_count(), 1);
}

#[test]
fn a_batch_with_one_bad_edge_changes_nothing() {
    let mut g = chain(3);
    let batch = vec![
        GraphEdge::new(10, 0, 2, "SKIP"),
        GraphEdge::new(11, 1, 3, "SKIP"),
        GraphEdge::new(10, 2, 0, "SKIP"),
    ];
    assert_eq!(
        g.add_edges_batch(batch, &AnyNode),
        Err(Error::DuplicateEdge { edge: 10 })
    );
    assert_eq!(g.edge_count(), 3);
    assert!(g.get_edges("SKIP").is_empty());
    assert_eq!(g.node_degree(0).outgoing, 1);
}

#[test]
fn outgoing_incoming_degree_and_label_filters() {
    let mut g = GraphStore::new();
    let edges = vec![
        GraphEdge::new(1, 1, 2, "KNOWS"),
        GraphEdge::new(2, 1, 3, "LIKES"),
        GraphEdge::new(3, 3, 1, "KNOWS"),
        GraphEdge::new(4, 1, 1, "SELF"),
    ];
    assert!(g.add_edges_batch(edges, &AnyNode).is_ok());
    assert_eq!(ids(&g.get_outgoing::<&str>(1, &[])), vec![1, 2, 4]);
    assert_eq!(ids(&g.get_outgoing(1, &["KNOWS"])), vec![1]);
    assert_eq!(ids(&g.get_outgoing(1, &["KNOWS", "LIKES"])), vec![1, 2]);
    assert_eq!(ids(&g.get_incoming::<&str>(1, &[])), vec![3, 4]);
    assert!(g.get_outgoing(1, &["NOPE"]).is_empty());
    let d = g.node_degree(1);
    assert_eq!((d.outgoing, d.incoming), (3, 2));
    assert_eq!(ids(&g.get_edges("KNOWS")), vec![1, 3]);
    // undirected: the self-loop once
    assert_eq!(
        ids(&g.node_edges::<&str>(1, Direction::Both, &[])),
        vec![1, 2, 3, 4]
    );
    assert_eq!(g.labels(), ["KNOWS", "LIKES", "SELF"]);
}

#[test]
fn remove_node_removes_and_returns_every_edge_at_it() {
    let mut g = GraphStore::new();
    let edges = vec![
        GraphEdge::new(5, 1, 2, "R"),
        GraphEdge::new(6, 2, 3, "R"),
        GraphEdge::new(7, 3, 2, "S"),
        GraphEdge::new(8, 2, 2, "R"),
        GraphEdge::new(9, 1, 3, "R"),
    ];
    assert!(g.add_edges_batch(edges, &AnyNode).is_ok());
    g.merge();
    assert!(g.add_edge(GraphEdge::new(10, 4, 2, "T"), &AnyNode).is_ok());
    assert_eq!(ids(&g.remove_node(2)), vec![5, 6, 7, 8, 10]);
    assert_eq!(g.edge_count(), 1);
    assert!(g.get_incoming::<&str>(2, &[]).is_empty());
    assert!(
        g.get_outgoing::<&str>(1, &["R"])
            .iter()
            .all(|e| e.target != 2)
    );
    assert!(
        g.remove_node(2).is_empty(),
        "removing again removes nothing"
    );
    assert_eq!(g.remove_edge(5), None);
}

#[test]
fn logged_operations_replay_idempotently() {
    let ops = [
        GraphOp::AddEdges(vec![
            GraphEdge::new(1, 1, 2, "R"),
            GraphEdge::new(2, 2, 3, "R"),
        ]),
        GraphOp::RemoveNode(3),
        GraphOp::AddEdges(vec![
            GraphEdge::new(3, 2, 1, "R").with_properties(json!({"x": 1})),
        ]),
        GraphOp::RemoveEdge(1),
    ];
    let mut live = GraphStore::new();
    for (seq, op) in (1u64..).zip(&ops) {
        assert!(live.apply_logged(seq, op).is_ok());
    }
    // crash after seq 2 was checkpointed: image covers 1..=2, the log still has 1..=4
    let mut image = GraphStore::new();
    for (seq, op) in (1u64..).zip(&ops[..2]) {
        assert!(image.apply_logged(seq, op).is_ok());
    }
    let mut recovered = GraphStore::decode(&image.encode()).unwrap_or_default();
    for (seq, op) in (1u64..).zip(&ops) {
        let applied = recovered.apply_logged(seq, op);
        if seq <= 2 {
            assert_eq!(applied, Ok(Applied::AlreadyApplied));
        }
    }
    assert_eq!(recovered.encode(), {
        live.merge();
        live.encode()
    });
    // each op on its own: re-adding an identical edge and removing a missing one are no-ops
    assert_eq!(
        recovered.apply_logged(
            9,
            &GraphOp::AddEdges(vec![
                GraphEdge::new(3, 2, 1, "R").with_properties(json!({"x": 1}))
            ])
        ),
        Ok(Applied::Added(0))
    );
    assert_eq!(
        recovered.apply_logged(10, &GraphOp::AddEdges(vec![GraphEdge::new(3, 2, 1, "Q")])),
        Err(Error::ReplayConflict { edge: 3 })
    );
    assert_eq!(
        recovered.apply_logged(11, &GraphOp::RemoveEdge(1)),
        Ok(Applied::Removed(Vec::new()))
    );
}

#[test]
fn prepared_operations_applied_live_leave_the_store_replay_builds() {
    // The live path: prepare on the store, log, apply the prepared edges as they are.
    // Replaying the same log into a fresh store gives the same image.
    let batches = [
        vec![GraphEdge::new(1, 1, 2, "R"), GraphEdge::new(2, 2, 3, "R")],
        vec![GraphEdge::new(3, 2, 1, "S").with_properties(serde_json::Value::Null)],
        (10..300)
            .map(|i| GraphEdge::new(i, i % 7, i % 11, "R"))
            .collect(),
    ];
    let mut live = GraphStore::new();
    let mut log = Vec::new();
    for (seq, batch) in (1u64..).zip(batches) {
        let prepared = live.prepare_edges(batch, &AnyNode).unwrap();
        let op = GraphOp::AddEdges(prepared);
        log.push(op.clone());
        let added = live.apply_prepared(seq, op.clone()).unwrap();
        assert!(matches!(added, Applied::Added(n) if n > 0), "{added:?}");
        assert_eq!(
            live.apply_prepared(seq, op),
            Ok(Applied::AlreadyApplied),
            "an applied sequence number changes nothing"
        );
    }
    log.push(GraphOp::RemoveNode(3));
    assert_eq!(
        live.apply_prepared(4, GraphOp::RemoveNode(3))
            .map(|a| matches!(a, Applied::Removed(r) if r.iter().all(|e| e.source == 3 || e.target == 3) && r.len() > 2)),
        Ok(true),
        "other operations apply as logged"
    );
    let mut replayed = GraphStore::new();
    for (seq, op) in (1u64..).zip(&log) {
        assert!(replayed.apply_logged(seq, op).is_ok());
    }
    live.merge();
    replayed.merge();
    assert_eq!(live.encode(), replayed.encode());
    assert_eq!(live.get_edge(3).unwrap().properties, serde_json::json!({}));
}

#[test]
fn traversal_reports_paths_depths_and_limits() {
    let g = chain(6);
    let config = TraversalConfig {
        min_depth: 2,
        max_depth: 4,
        limit: 10,
        ..TraversalConfig::default()
    };
    let bfs = g
        .traverse_bfs(0, &config, &Budget::default())
        .unwrap_or_default();
    let got: Vec<(u64, u32, Vec<u64>)> = bfs
        .into_iter()
        .map(|r| (r.target, r.depth, r.path))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, 2, vec![0, 1]),
            (3, 3, vec![0, 1, 2]),
            (4, 4, vec![0, 1, 2, 3])
        ]
    );
    let limited = TraversalConfig {
        limit: 1,
        ..config.clone()
    };
    assert_eq!(
        g.traverse_dfs(0, &limited, &Budget::default())
            .map(|r| r.len()),
        Ok(1)
    );
    let back = TraversalConfig {
        direction: Direction::Incoming,
        min_depth: 0,
        ..config
    };
    let targets: Vec<u64> = g
        .traverse_bfs(3, &back, &Budget::default())
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.target)
        .collect();
    assert_eq!(targets, vec![3, 2, 1, 0]);
}

#[test]
fn guardrails_stop_with_clear_errors() {
    let g = chain(50);
    let deep = TraversalConfig {
        max_depth: MAX_TRAVERSAL_DEPTH + 1,
        ..TraversalConfig::default()
    };
    assert_eq!(
        g.traverse_bfs(0, &deep, &Budget::default()),
        Err(Error::DepthLimit {
            requested: MAX_TRAVERSAL_DEPTH + 1,
            max: MAX_TRAVERSAL_DEPTH
        })
    );
    let wide = TraversalConfig {
        max_depth: 40,
        limit: 1000,
        ..TraversalConfig::default()
    };
    assert_eq!(
        g.traverse_bfs(0, &wide, &Budget::default().max_rows(10)),
        Err(Error::TooManyRows { max_rows: 10 })
    );
    let inverted = TraversalConfig {
        min_depth: 3,
        max_depth: 2,
        ..TraversalConfig::default()
    };
    assert!(matches!(
        g.traverse_dfs(0, &inverted, &Budget::default()),
        Err(Error::InvalidTraversal { .. })
    ));
    // a dense graph and a deadline already past: stopped by the periodic check
    let mut dense = GraphStore::new();
    let edges = (0..100u64)
        .flat_map(|a| (0..100u64).map(move |b| GraphEdge::new(a * 100 + b, a, b, "R")))
        .collect();
    assert!(dense.add_edges_batch(edges, &AnyNode).is_ok());
    let past = Instant::now()
        .checked_sub(Duration::from_millis(5))
        .unwrap_or_else(Instant::now);
    let set = dense.label_set::<&str>(&[]);
    assert_eq!(
        dense.expand_var_length(
            0,
            1,
            3,
            Direction::Outgoing,
            &set,
            &Budget::with_deadline(past)
        ),
        Err(Error::DeadlineExceeded)
    );
    let cancelled = Budget {
        cancelled: Some(Arc::new(AtomicBool::new(true))),
        ..Budget::default()
    };
    let mut expander = FrontierExpander::new();
    assert_eq!(
        expander.expand(&dense, &[0, 1, 2], 3, Direction::Outgoing, &set, &cancelled),
        Err(Error::Cancelled)
    );
}

#[test]
fn var_length_never_reuses_an_edge_on_one_path() {
    // a -> b -> a (two edges): *1..4 from a gives paths of length 1 and 2 only
    let mut g = GraphStore::new();
    let edges = vec![GraphEdge::new(1, 0, 1, "R"), GraphEdge::new(2, 1, 0, "R")];
    assert!(g.add_edges_batch(edges, &AnyNode).is_ok());
    let set = g.label_set::<&str>(&[]);
    let paths = g
        .expand_var_length(0, 1, 4, Direction::Outgoing, &set, &Budget::default())
        .unwrap_or_default();
    let got: Vec<(u64, Vec<u64>)> = paths.into_iter().map(|p| (p.end, p.edges)).collect();
    assert_eq!(got, vec![(1, vec![1]), (0, vec![1, 2])]);
}

#[test]
fn bulk_batches_build_the_csr_and_later_writes_go_to_the_delta() {
    let n = MIN_DELTA_BEFORE_MERGE as u64 * 2;
    let mut g = chain(n);
    assert_eq!(g.delta_len(), 0, "a large batch is merged at once");
    assert!(
        g.add_edge(GraphEdge::new(n, n, 0, "NEXT"), &AnyNode)
            .is_ok()
    );
    assert!(g.remove_edge(5).is_some());
    assert_eq!(g.delta_len(), 2);
    assert_eq!(g.node_degree(5).outgoing, 0);
    assert_eq!(ids(&g.get_incoming::<&str>(0, &[])), vec![n]);
    // enough removals trigger a merge by themselves
    for id in 100..(100 + n / 2) {
        assert!(g.remove_edge(id).is_some());
    }
    assert!(g.delta_len() < n as usize / 2);
    assert_eq!(g.edge_count(), n as usize + 1 - 1 - n as usize / 2);
    let mut expander = FrontierExpander::new();
    let set = g.label_set(&["NEXT"]);
    assert_eq!(
        expander.expand(&g, &[0], 3, Direction::Outgoing, &set, &Budget::default()),
        Ok(1)
    );
    assert_eq!(expander.nodes(&g).collect::<Vec<_>>(), vec![3]);
}

#[test]
fn the_store_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>(_: &T) {}
    let g = chain(2);
    shared(&g);
    let handle = std::thread::scope(|s| s.spawn(|| g.edge_count()).join());
    assert_eq!(handle.ok(), Some(2));
}
