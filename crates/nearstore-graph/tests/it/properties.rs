//! Proptest: edge and node property indexes (equality and range over integers, floats,
//! strings and bools) answer exactly what the brute-force evaluator says, across removals
//! and an encode/decode round trip.

use std::collections::BTreeSet;

use nearstore_graph::{AnyNode, FieldIndexKind, Filter, GraphEdge, GraphStore};
use proptest::prelude::*;
use roaring::RoaringTreemap;
use serde_json::{Value, json};

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-5i64..5).prop_map(|i| json!(i)),
        (-5i64..5).prop_map(|i| json!(i as f64 / 2.0)),
        prop::sample::select(vec!["a", "b", "c"]).prop_map(|s| json!(s)),
        any::<bool>().prop_map(|b| json!(b)),
    ]
}

fn condition() -> impl Strategy<Value = Filter> {
    (0usize..6, scalar(), scalar()).prop_map(|(op, a, b)| match op {
        0 => Filter::eq("v", a),
        1 => Filter::gt("v", a),
        2 => Filter::gte("v", a),
        3 => Filter::lt("v", a),
        4 => Filter::lte("v", a),
        _ => Filter::and(vec![Filter::gte("v", a), Filter::lte("v", b)]),
    })
}

fn kind() -> impl Strategy<Value = FieldIndexKind> {
    prop::sample::select(vec![
        FieldIndexKind::Integer,
        FieldIndexKind::Float,
        FieldIndexKind::Keyword,
        FieldIndexKind::Bool,
    ])
}

proptest! {
    #[test]
    fn property_indexes_match_brute_force(
        values in prop::collection::vec(scalar(), 1..40),
        removed in prop::collection::vec(0u64..40, 0..10),
        filter in condition(),
        kind in kind(),
    ) {
        let mut g = GraphStore::new();
        prop_assert!(g.create_edge_index("v", kind).is_ok());
        let payloads: Vec<Value> = values.iter().map(|v| json!({ "v": v })).collect();
        let edges = (0u64..).zip(&payloads)
            .map(|(i, p)| GraphEdge::new(i, i % 7, i % 5, "R").with_properties(p.clone()))
            .collect();
        prop_assert!(g.add_edges_batch(edges, &AnyNode).is_ok());
        prop_assert!(g.create_node_index("v", kind, (0u64..).zip(&payloads)).is_ok());
        let mut universe: RoaringTreemap = (0..payloads.len() as u64).collect();
        for id in &removed {
            if let Some(p) = payloads.get(*id as usize) && universe.remove(*id) {
                prop_assert!(g.remove_edge(*id).is_some());
                g.unindex_node(*id, p);
            }
        }
        if filter.validate().is_err() {
            // e.g. a range over booleans: refused, not answered
            prop_assert!(g.edges_matching(&filter).is_err());
            prop_assert!(g.nodes_matching(&filter, &universe).is_err());
            return Ok(());
        }
        let expected: BTreeSet<u64> = universe
            .iter()
            .filter(|&id| payloads.get(id as usize).is_some_and(|p| filter.matches(p)))
            .collect();
        for store in [g.clone(), GraphStore::decode(&g.encode()).unwrap_or_default()] {
            let edges = store.edges_matching(&filter);
            prop_assert_eq!(edges.map(|ids| ids.iter().collect::<BTreeSet<_>>()).ok(), Some(expected.clone()));
            let nodes = store.nodes_matching(&filter, &universe);
            prop_assert!(nodes.is_ok());
            if let Ok(nodes) = nodes {
                let possible: BTreeSet<u64> = nodes.ids.iter().collect();
                prop_assert!(expected.is_subset(&possible));
                if nodes.exact {
                    prop_assert_eq!(&possible, &expected);
                }
            }
        }
    }
}
