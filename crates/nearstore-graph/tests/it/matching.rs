//! Scenarios for pattern matching: one test per feature of the pattern IR and executor
//! (labels and alternatives, property conditions, directions, types, variable length,
//! several parts, relationship uniqueness, start candidates, the predicate hook, limits,
//! guardrails and planning errors) on a small social graph.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use nearstore_graph::{
    AnyNode, Binding, Budget, Direction, Error, FieldIndexKind, Filter, GraphEdge, GraphStore,
    MAX_TRAVERSAL_DEPTH, MatchOptions, NodePattern, NodePayloads, NodePredicate, PathPattern,
    Pattern, RelPattern, StartCandidates, StartKind,
};
use serde_json::json;

/// People 1 Alice, 2 Bob, 3 Carol (also Admin), 5 Dave (no edges); company 4 Acme.
/// KNOWS: 10 = 1->2, 11 = 2->3, 12 = 3->1 (a 3-cycle); WORKS_AT: 13 = 1->4, 14 = 2->4;
/// LIKES: 15 = 3->2. KNOWS edges carry `since`.
fn social() -> (GraphStore, NodePayloads) {
    let mut nodes = NodePayloads::new();
    nodes.insert(
        1,
        json!({"_labels": ["Person"], "name": "Alice", "age": 30}),
    );
    nodes.insert(2, json!({"_labels": ["Person"], "name": "Bob", "age": 40}));
    nodes.insert(
        3,
        json!({"_labels": ["Person", "Admin"], "name": "Carol", "age": 50}),
    );
    nodes.insert(4, json!({"_labels": ["Company"], "name": "Acme"}));
    nodes.insert(5, json!({"_labels": ["Person"], "name": "Dave", "age": 20}));
    let mut g = GraphStore::new();
    let edges = vec![
        GraphEdge::new(10, 1, 2, "KNOWS").with_properties(json!({"since": 2010})),
        GraphEdge::new(11, 2, 3, "KNOWS").with_properties(json!({"since": 2015})),
        GraphEdge::new(12, 3, 1, "KNOWS").with_properties(json!({"since": 2020})),
        GraphEdge::new(13, 1, 4, "WORKS_AT"),
        GraphEdge::new(14, 2, 4, "WORKS_AT"),
        GraphEdge::new(15, 3, 2, "LIKES"),
    ];
    assert_eq!(g.add_edges_batch(edges, &AnyNode), Ok(()));
    (g, nodes)
}

fn n(var: &str) -> NodePattern {
    NodePattern::named(var)
}

fn name(value: &str) -> Filter {
    Filter::eq("name", json!(value))
}

fn run(g: &GraphStore, nodes: &NodePayloads, pattern: Pattern) -> Vec<Binding> {
    run_with(g, nodes, pattern, &MatchOptions::default())
}

fn run_with(
    g: &GraphStore,
    nodes: &NodePayloads,
    pattern: Pattern,
    options: &MatchOptions<'_>,
) -> Vec<Binding> {
    let found = g.find_matches(&pattern, nodes, options);
    assert!(found.is_ok(), "{found:?}");
    let mut found = found.unwrap_or_default();
    found.sort();
    found
}

/// The node columns of the bindings, sorted.
fn node_rows(found: &[Binding]) -> Vec<Vec<u64>> {
    let mut rows: Vec<Vec<u64>> = found.iter().map(|b| b.nodes.clone()).collect();
    rows.sort();
    rows
}

#[test]
fn one_outgoing_hop_with_label_and_type() {
    let (g, nodes) = social();
    let p = PathPattern::new(n("a").label("Person"))
        .then(RelPattern::outgoing().types(&["KNOWS"]), n("b"));
    let found = run(&g, &nodes, p.into());
    assert_eq!(node_rows(&found), vec![vec![1, 2], vec![2, 3], vec![3, 1]]);
    assert!(
        found
            .iter()
            .all(|b| b.edges.len() == 1 && b.edges[0].len() == 1)
    );
}

#[test]
fn incoming_hop_binds_the_edge_source_on_the_right() {
    let (g, nodes) = social();
    let p = PathPattern::new(n("c").label("Company")).then(
        RelPattern::incoming().types(&["WORKS_AT"]).named("w"),
        n("p"),
    );
    let found = run(&g, &nodes, p.into());
    let rows: Vec<(Vec<u64>, Vec<u64>)> = found
        .iter()
        .map(|b| (b.nodes.clone(), b.edges[0].clone()))
        .collect();
    assert_eq!(rows, vec![(vec![4, 1], vec![13]), (vec![4, 2], vec![14])]);
}

#[test]
fn undirected_hop_follows_both_ways() {
    let (g, nodes) = social();
    let p = PathPattern::new(n("a").condition(name("Alice")))
        .then(RelPattern::both().named("r"), n("b"));
    let found = run(&g, &nodes, p.into());
    let pairs: BTreeSet<(u64, u64)> = found.iter().map(|b| (b.edges[0][0], b.nodes[1])).collect();
    assert_eq!(pairs, BTreeSet::from([(10, 2), (12, 3), (13, 4)]));
}

#[test]
fn type_alternatives_and_node_conditions_on_the_far_end() {
    let (g, nodes) = social();
    let p = PathPattern::new(n("a")).then(
        RelPattern::outgoing().types(&["KNOWS", "LIKES"]),
        n("b").label("Person").condition(name("Bob")),
    );
    let found = run(&g, &nodes, p.into());
    assert_eq!(node_rows(&found), vec![vec![1, 2], vec![3, 2]]);
}

#[test]
fn label_alternatives_and_label_conjunctions() {
    let (g, nodes) = social();
    let either = run(
        &g,
        &nodes,
        PathPattern::new(n("x").any_label(&["Company", "Admin"])).into(),
    );
    assert_eq!(node_rows(&either), vec![vec![3], vec![4]]);
    let both = run(
        &g,
        &nodes,
        PathPattern::new(n("x").label("Person").label("Admin")).into(),
    );
    assert_eq!(node_rows(&both), vec![vec![3]]);
}

#[test]
fn label_alternatives_start_from_the_label_index() {
    let (mut g, nodes) = social();
    let pattern: Pattern = PathPattern::new(n("x").any_label(&["Company", "Admin"]))
        .then(RelPattern::both(), n("y").label("Person"))
        .into();
    let scanned = run(&g, &nodes, pattern.clone());
    assert!(!scanned.is_empty());
    let payloads: Vec<(u64, serde_json::Value)> = (1..=5)
        .filter_map(|id| nodes.get(id).map(|p| (id, p.clone())))
        .collect();
    assert!(
        g.create_node_index(
            "_labels",
            FieldIndexKind::Keyword,
            payloads.iter().map(|(i, p)| (*i, p))
        )
        .is_ok()
    );
    // `:Company|Admin` is nodes 3 and 4; `:Person` is four nodes: x is the cheaper start.
    let plan = g.plan_match(&pattern, &nodes, &MatchOptions::default());
    assert_eq!(
        plan.map(|p| p.starts()).ok(),
        Some(vec![(Some("x".to_owned()), StartKind::NodeIndex, 2)])
    );
    assert_eq!(run(&g, &nodes, pattern), scanned);
}

#[test]
fn range_conditions_use_the_node_index_when_there_is_one() {
    let (mut g, nodes) = social();
    let pattern: Pattern = PathPattern::new(
        n("a")
            .label("Person")
            .condition(Filter::gt("age", json!(35))),
    )
    .into();
    let unindexed = run(&g, &nodes, pattern.clone());
    assert_eq!(node_rows(&unindexed), vec![vec![2], vec![3]]);
    let plan = g.plan_match(&pattern, &nodes, &MatchOptions::default());
    assert_eq!(
        plan.map(|p| p.starts()).ok(),
        Some(vec![(Some("a".to_owned()), StartKind::Scan, 5)])
    );
    let payloads: Vec<(u64, serde_json::Value)> = (1..=5)
        .filter_map(|id| nodes.get(id).map(|p| (id, p.clone())))
        .collect();
    assert!(
        g.create_node_index(
            "age",
            FieldIndexKind::Integer,
            payloads.iter().map(|(i, p)| (*i, p))
        )
        .is_ok()
    );
    assert!(
        g.create_node_index(
            "_labels",
            FieldIndexKind::Keyword,
            payloads.iter().map(|(i, p)| (*i, p))
        )
        .is_ok()
    );
    let plan = g.plan_match(&pattern, &nodes, &MatchOptions::default());
    assert_eq!(
        plan.map(|p| p.starts()).ok(),
        Some(vec![(Some("a".to_owned()), StartKind::NodeIndex, 2)])
    );
    assert_eq!(run(&g, &nodes, pattern), unindexed);
}

#[test]
fn variable_length_lists_every_trail_in_order() {
    let (g, nodes) = social();
    let p = PathPattern::new(n("a").condition(name("Alice"))).then(
        RelPattern::outgoing()
            .types(&["KNOWS"])
            .hops(1, 3)
            .named("r"),
        n("b"),
    );
    let found = run(&g, &nodes, p.into());
    let rows: Vec<(u64, Vec<u64>)> = found
        .iter()
        .map(|b| (b.nodes[1], b.edges[0].clone()))
        .collect();
    assert_eq!(
        rows,
        vec![(1, vec![10, 11, 12]), (2, vec![10]), (3, vec![10, 11])]
    );
}

#[test]
fn zero_length_binds_the_start_itself() {
    let (g, nodes) = social();
    let p = PathPattern::new(n("a").condition(name("Dave")))
        .then(RelPattern::outgoing().hops(0, 2).named("r"), n("b"));
    let found = run(&g, &nodes, p.into());
    assert_eq!(
        found,
        vec![Binding {
            nodes: vec![5, 5],
            edges: vec![vec![]]
        }]
    );
}

#[test]
fn a_path_expanded_from_its_right_end_still_lists_edges_left_to_right() {
    let (g, nodes) = social();
    let p = PathPattern::new(n("a")).then(
        RelPattern::outgoing()
            .types(&["KNOWS"])
            .hops(2, 2)
            .named("r"),
        n("b"),
    );
    let options = MatchOptions {
        start: Some(StartCandidates {
            var: "b".to_owned(),
            ids: vec![3],
        }),
        ..MatchOptions::default()
    };
    let plan = g.plan_match(&p.clone().into(), &nodes, &options);
    assert!(
        plan.as_ref()
            .is_ok_and(|p| p.to_string().contains("from b")),
        "{plan:?}"
    );
    let found = run_with(&g, &nodes, p.into(), &options);
    assert_eq!(
        found,
        vec![Binding {
            nodes: vec![1, 3],
            edges: vec![vec![10, 11]]
        }]
    );
}

#[test]
fn parts_share_variables_and_never_reuse_an_edge() {
    let (g, nodes) = social();
    let works = || RelPattern::outgoing().types(&["WORKS_AT"]);
    let pattern = Pattern::new(vec![
        PathPattern::new(n("a")).then(works(), n("c")),
        PathPattern::new(n("b")).then(works(), n("c")),
    ]);
    let found = run(&g, &nodes, pattern);
    // a, c, b: the same WORKS_AT edge cannot serve both parts, so a != b here.
    assert_eq!(node_rows(&found), vec![vec![1, 4, 2], vec![2, 4, 1]]);
}

#[test]
fn relationship_uniqueness_bounds_a_walk_around_a_cycle() {
    let (g, nodes) = social();
    let knows = || RelPattern::outgoing().types(&["KNOWS"]);
    let three = PathPattern::new(n("a"))
        .then(knows(), n("b"))
        .then(knows(), n("c"))
        .then(knows(), n("d"));
    let found = run(&g, &nodes, three.clone().into());
    assert_eq!(found.len(), 3);
    assert!(found.iter().all(|b| b.nodes[0] == b.nodes[3]));
    let four = three.then(knows(), n("e"));
    assert!(run(&g, &nodes, four.into()).is_empty());
    // the same through variable length: at most 3 distinct KNOWS edges on a trail
    let var = PathPattern::new(n("a").condition(name("Alice")))
        .then(RelPattern::outgoing().types(&["KNOWS"]).hops(4, 6), n("b"));
    assert!(run(&g, &nodes, var.into()).is_empty());
}

#[test]
fn a_closed_cycle_is_checked_not_expanded() {
    let (g, nodes) = social();
    let knows = || RelPattern::outgoing().types(&["KNOWS"]);
    let pattern: Pattern = PathPattern::new(n("a"))
        .then(knows(), n("b"))
        .then(knows(), n("c"))
        .then(knows(), n("a"))
        .into();
    let plan = g.plan_match(&pattern, &nodes, &MatchOptions::default());
    let text = plan.map(|p| p.to_string()).unwrap_or_default();
    assert!(text.contains("check (c)-[:KNOWS]->(a)"), "{text}");
    let found = run(&g, &nodes, pattern);
    assert_eq!(
        node_rows(&found),
        vec![vec![1, 2, 3], vec![2, 3, 1], vec![3, 1, 2]]
    );
}

#[test]
fn start_candidates_restrict_the_variable_and_keep_their_order() {
    let (g, nodes) = social();
    let p: Pattern = PathPattern::new(n("a"))
        .then(RelPattern::outgoing().types(&["KNOWS"]), n("b"))
        .into();
    let options = MatchOptions {
        start: Some(StartCandidates {
            var: "a".to_owned(),
            ids: vec![3, 99, 1, 3],
        }),
        ..MatchOptions::default()
    };
    let plan = g.plan_match(&p, &nodes, &options);
    assert_eq!(
        plan.as_ref().map(|p| p.starts()).ok(),
        Some(vec![(Some("a".to_owned()), StartKind::Given, 2)])
    );
    let mut order = Vec::new();
    if let Ok(plan) = &plan {
        let stats = g.match_pattern(plan, &nodes, &options, |b| {
            order.push(b.nodes.clone());
            ControlFlow::Continue(())
        });
        assert_eq!(stats.map(|s| s.bindings).ok(), Some(2));
    }
    assert_eq!(order, vec![vec![3, 1], vec![1, 2]]);
}

/// Accepts even node ids for `b`, counting the calls.
struct EvenB {
    calls: RefCell<Vec<u64>>,
}

impl NodePredicate for EvenB {
    fn constrains(&self, var: &str) -> bool {
        var == "b"
    }
    fn accept(&self, var: &str, node: u64) -> bool {
        assert_eq!(var, "b");
        self.calls.borrow_mut().push(node);
        node.is_multiple_of(2)
    }
}

#[test]
fn the_predicate_hook_filters_and_is_asked_once_per_node() {
    let (g, nodes) = social();
    let hook = EvenB {
        calls: RefCell::new(Vec::new()),
    };
    let options = MatchOptions {
        predicate: Some(&hook),
        ..MatchOptions::default()
    };
    // (a)-[]-(b): node 2 and 4 are reached as b from several a's
    let p = PathPattern::new(n("a")).then(RelPattern::both(), n("b"));
    let found = run_with(&g, &nodes, p.into(), &options);
    assert!(!found.is_empty());
    assert!(found.iter().all(|b| b.nodes[1].is_multiple_of(2)));
    let all = run(
        &g,
        &nodes,
        PathPattern::new(n("a"))
            .then(RelPattern::both(), n("b"))
            .into(),
    );
    assert_eq!(
        found.len(),
        all.iter().filter(|b| b.nodes[1].is_multiple_of(2)).count()
    );
    let calls = hook.calls.borrow();
    let distinct: BTreeSet<u64> = calls.iter().copied().collect();
    assert_eq!(calls.len(), distinct.len(), "asked twice: {calls:?}");
}

#[test]
fn limit_truncates_and_zero_returns_nothing() {
    let (g, nodes) = social();
    let p: Pattern = PathPattern::new(n("a"))
        .then(RelPattern::both(), n("b"))
        .into();
    for (limit, expected) in [(0, 0), (2, 2), (100, 12)] {
        let options = MatchOptions {
            limit: Some(limit),
            ..MatchOptions::default()
        };
        assert_eq!(run_with(&g, &nodes, p.clone(), &options).len(), expected);
    }
}

#[test]
fn edge_conditions_use_the_edge_index_for_the_start() {
    let (mut g, nodes) = social();
    let since = Filter::gte("since", json!(2015));
    let p: Pattern = PathPattern::new(n("a"))
        .then(
            RelPattern::outgoing().named("r").condition(since.clone()),
            n("b"),
        )
        .into();
    let unindexed = run(&g, &nodes, p.clone());
    let edges: BTreeSet<u64> = unindexed.iter().map(|b| b.edges[0][0]).collect();
    assert_eq!(edges, BTreeSet::from([11, 12]));
    assert!(
        g.create_edge_index("since", FieldIndexKind::Integer)
            .is_ok()
    );
    let plan = g.plan_match(&p, &nodes, &MatchOptions::default());
    assert_eq!(
        plan.map(|p| p.starts()).ok(),
        Some(vec![(Some("a".to_owned()), StartKind::EdgeIndex, 2)])
    );
    assert_eq!(run(&g, &nodes, p), unindexed);
    // every edge of a variable-length match must pass
    let var = PathPattern::new(n("a").condition(name("Bob")))
        .then(RelPattern::outgoing().hops(1, 3).condition(since), n("b"));
    let found = run(&g, &nodes, var.into());
    assert_eq!(node_rows(&found), vec![vec![2, 1], vec![2, 3]]);
}

#[test]
fn parts_without_shared_variables_form_a_product() {
    let (g, nodes) = social();
    let pattern = Pattern::new(vec![
        PathPattern::new(n("c").label("Company")),
        PathPattern::new(
            n("p")
                .label("Person")
                .condition(Filter::lt("age", json!(35))),
        ),
    ]);
    let found = run(&g, &nodes, pattern);
    assert_eq!(node_rows(&found), vec![vec![4, 1], vec![4, 5]]);
}

#[test]
fn invalid_patterns_are_refused_with_a_reason() {
    let (g, nodes) = social();
    let plan = |p: Pattern, options: &MatchOptions<'_>| g.plan_match(&p, &nodes, options).err();
    let none = MatchOptions::default();
    let twice = PathPattern::new(n("a"))
        .then(RelPattern::outgoing().named("r"), n("b"))
        .then(RelPattern::outgoing().named("r"), n("c"));
    assert!(matches!(
        plan(twice.into(), &none),
        Some(Error::InvalidPattern { .. })
    ));
    let clash = PathPattern::new(n("a")).then(RelPattern::outgoing().named("a"), n("b"));
    assert!(matches!(
        plan(clash.into(), &none),
        Some(Error::InvalidPattern { .. })
    ));
    let backwards = PathPattern::new(n("a")).then(RelPattern::outgoing().hops(3, 2), n("b"));
    assert!(matches!(
        plan(backwards.into(), &none),
        Some(Error::InvalidPattern { .. })
    ));
    let deep = PathPattern::new(n("a")).then(
        RelPattern::outgoing().hops(1, MAX_TRAVERSAL_DEPTH + 1),
        n("b"),
    );
    assert_eq!(
        plan(deep.into(), &none),
        Some(Error::DepthLimit {
            requested: MAX_TRAVERSAL_DEPTH + 1,
            max: MAX_TRAVERSAL_DEPTH
        })
    );
    assert!(matches!(
        plan(Pattern::new(vec![]), &none),
        Some(Error::InvalidPattern { .. })
    ));
    let unknown = MatchOptions {
        start: Some(StartCandidates {
            var: "zz".to_owned(),
            ids: vec![1],
        }),
        ..MatchOptions::default()
    };
    assert!(matches!(
        plan(PathPattern::new(n("a")).into(), &unknown),
        Some(Error::InvalidPattern { .. })
    ));
    let bad_filter = PathPattern::new(n("a").condition(Filter::gt("x", json!(f64::NAN))));
    assert!(matches!(
        plan(bad_filter.into(), &none),
        Some(Error::PropertyIndex(_))
    ));
}

/// A complete graph on `n` nodes (every ordered pair), all of type "E".
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
fn guardrails_stop_a_large_expansion() {
    let (g, nodes) = complete(30);
    let p: Pattern = PathPattern::new(n("a"))
        .then(RelPattern::outgoing().hops(1, 4), n("b"))
        .into();
    let stop = || true;
    let stopped = MatchOptions {
        stop: Some(&stop),
        ..MatchOptions::default()
    };
    assert_eq!(
        g.find_matches(&p, &nodes, &stopped).err(),
        Some(Error::Cancelled)
    );
    let past = Instant::now()
        .checked_sub(Duration::from_millis(1))
        .unwrap_or_else(Instant::now);
    let late = MatchOptions {
        budget: Budget::with_deadline(past),
        ..MatchOptions::default()
    };
    assert_eq!(
        g.find_matches(&p, &nodes, &late).err(),
        Some(Error::DeadlineExceeded)
    );
    let small = MatchOptions {
        budget: Budget::default().max_rows(500),
        ..MatchOptions::default()
    };
    assert_eq!(
        g.find_matches(&p, &nodes, &small).err(),
        Some(Error::TooManyRows { max_rows: 500 })
    );
}

#[test]
fn matches_are_the_same_before_and_after_a_merge_and_a_round_trip() {
    let (mut g, nodes) = social();
    // some edges in the delta, one CSR edge removed
    assert_eq!(
        g.add_edge(GraphEdge::new(16, 5, 1, "KNOWS"), &AnyNode),
        Ok(())
    );
    assert!(g.remove_edge(11).is_some());
    let p: Pattern = PathPattern::new(n("a"))
        .then(
            RelPattern::outgoing()
                .types(&["KNOWS"])
                .hops(1, 3)
                .named("r"),
            n("b"),
        )
        .into();
    let before = run(&g, &nodes, p.clone());
    assert!(before.iter().any(|b| b.edges[0].contains(&16)));
    assert!(before.iter().all(|b| !b.edges[0].contains(&11)));
    let decoded = GraphStore::decode(&g.encode());
    assert!(decoded.is_ok());
    let decoded = decoded.unwrap_or_default();
    assert_eq!(run(&decoded, &nodes, p.clone()), before);
    g.merge();
    assert_eq!(run(&g, &nodes, p), before);
    assert_eq!(Direction::Both, RelPattern::both().direction);
}
