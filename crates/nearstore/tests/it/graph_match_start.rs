//! MATCH's start choice on a hub-heavy graph: the walk from an indexed start is estimated
//! from the start nodes' actual edges, so a hub start (whose walk covers the graph) gives
//! way to the vector index, and a leaf start does not.

use nearstore::{
    DistanceMetric, FieldIndexKind, Filter, GraphCollectionConfig, GraphEdge, MatchRequest,
    NodePattern, PathPattern, Point, RelPattern, SimilarityCondition, ThresholdOp,
};
use serde_json::json;

use crate::temp_db;

#[test]
fn graph_match_from_an_indexed_hub_uses_the_vector_start_and_from_a_leaf_walks() {
    let (_dir, db) = temp_db();
    let n = 3_000u64;
    let config = GraphCollectionConfig::schemaless().with_embedding(2, DistanceMetric::Cosine);
    let g = db.create_graph_collection("g", config).unwrap();
    let points: Vec<Point> = (0..n)
        .map(|i| {
            let x = i as f32 / 100.0;
            let payload = json!({"_labels": ["N"], "name": format!("n{i}")});
            Point::new(i, vec![x.cos(), x.sin()], Some(payload))
        })
        .collect();
    g.upsert(points).unwrap();
    // Node 0 is a hub (an edge to every other node); every other node has one edge. The
    // mean out-degree is 2.
    let mut edges: Vec<GraphEdge> = (1..n).map(|i| GraphEdge::new(i, 0, i, "E")).collect();
    edges.extend((1..n).map(|i| GraphEdge::new(n + i, i, (i * 7 + 1) % n, "E")));
    g.add_edges_batch(edges).unwrap();
    g.create_node_property_index("name", FieldIndexKind::Keyword)
        .unwrap();
    let request = |start: &str| {
        let mut r = MatchRequest::new(
            PathPattern::new(NodePattern::named("a").condition(Filter::eq("name", json!(start))))
                .then(
                    RelPattern::outgoing().types(&["E"]),
                    NodePattern::named("b"),
                )
                .then(
                    RelPattern::outgoing().types(&["E"]),
                    NodePattern::named("c"),
                )
                .into(),
        );
        r.similarity = Some(SimilarityCondition {
            var: "c".into(),
            vector: vec![1.0, 0.0],
            threshold: Some((ThresholdOp::Gt, 0.999)),
        });
        r
    };
    // From the hub the walk reaches ~6,000 bindings, more than the graph's 3,000 nodes (a
    // mean-degree estimate said 1 x 2 x 2 = 4).
    let hub = g.explain_match(&request("n0")).unwrap();
    assert!(
        hub.plan.iter().any(|l| l.contains("vector index")),
        "{:?}",
        hub.plan
    );
    let leaf = g.explain_match(&request("n5")).unwrap();
    assert!(
        !leaf.plan.iter().any(|l| l.contains("vector index")),
        "{:?}",
        leaf.plan
    );
    // Either start finds the same matches.
    let from_hub = g.match_pattern(&request("n0")).unwrap();
    assert!(!from_hub.rows.is_empty());
    let mut walked = request("n0");
    walked.similarity = None;
    let all = g.match_pattern(&walked).unwrap();
    let mut expected: Vec<(u64, u64)> = all
        .rows
        .iter()
        .filter(|r| {
            let x = r.nodes[2] as f32 / 100.0;
            x.cos() > 0.999
        })
        .map(|r| (r.nodes[1], r.nodes[2]))
        .collect();
    let mut got: Vec<(u64, u64)> = from_hub
        .rows
        .iter()
        .map(|r| (r.nodes[1], r.nodes[2]))
        .collect();
    expected.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, expected);
}
