//! The byte forms: image and operation round trips, and damaged or random bytes always give
//! a corruption error, never a panic or a wrong store.

use nearstore_graph::{AnyNode, Error, FieldIndexKind, Filter, GraphEdge, GraphOp, GraphStore};
use proptest::prelude::*;
use serde_json::json;

fn sample() -> GraphStore {
    let mut g = GraphStore::new();
    let edges = vec![
        GraphEdge::new(1, 10, 20, "KNOWS").with_properties(json!({"since": 2020})),
        GraphEdge::new(2, 20, 30, "KNOWS").with_properties(json!({"since": 2021, "tag": "x"})),
        GraphEdge::new(3, 10, 30, "LIKES"),
    ];
    assert!(g.add_edges_batch(edges, &AnyNode).is_ok());
    assert!(
        g.create_edge_index("since", FieldIndexKind::Integer)
            .is_ok()
    );
    assert!(
        g.create_node_index("age", FieldIndexKind::Integer, [])
            .is_ok()
    );
    g.index_node(10, &json!({"age": 33}));
    assert!(g.remove_edge(3).is_some());
    assert!(
        g.add_edge(GraphEdge::new(4, 30, 10, "LIKES"), &AnyNode)
            .is_ok()
    );
    g
}

#[test]
fn image_round_trip_keeps_edges_indexes_and_sequence() {
    let mut g = sample();
    assert!(g.apply_logged(7, &GraphOp::RemoveEdge(99)).is_ok());
    let decoded = GraphStore::decode(&g.encode());
    assert!(decoded.is_ok(), "{:?}", decoded.err());
    let Ok(d) = decoded else { return };
    assert_eq!(d.applied_seq(), 7);
    assert_eq!(d.edge_count(), 3);
    assert_eq!(d.get_edge(2), g.get_edge(2));
    assert_eq!(
        d.get_outgoing::<&str>(30, &[]),
        g.get_outgoing::<&str>(30, &[])
    );
    assert_eq!(d.get_incoming::<&str>(10, &[]).len(), 1);
    assert_eq!(d.delta_len(), 0);
    let hits = d.edges_matching(&Filter::gte("since", json!(2021)));
    assert_eq!(
        hits.ok().map(|h| h.iter().collect::<Vec<_>>()),
        Some(vec![2])
    );
    assert_eq!(
        d.indexed_fields(nearstore_graph::PropertyTarget::Node)
            .len(),
        1
    );
    // the image is canonical: encoding the decoded store gives the same bytes after a merge
    g.merge();
    assert_eq!(d.encode(), g.encode());
}

#[test]
fn every_flipped_byte_and_every_truncation_is_corruption() {
    let bytes = sample().encode();
    for i in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[i] ^= 0x41;
        let result = GraphStore::decode(&damaged);
        assert!(
            matches!(result, Err(Error::Corruption { .. })),
            "byte {i} flipped decoded as {result:?}"
        );
    }
    for len in 0..bytes.len() {
        assert!(matches!(
            GraphStore::decode(&bytes[..len]),
            Err(Error::Corruption { .. })
        ));
    }
}

#[test]
fn corruption_names_the_part_and_offset() {
    let mut bytes = sample().encode();
    bytes[0] = b'X';
    let err = GraphStore::decode(&bytes).err();
    assert!(
        matches!(&err, Some(Error::Corruption { what, offset: 0, .. }) if what == "header"),
        "{err:?}"
    );
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("byte 0") && message.contains("header"),
        "{message}"
    );
}

#[test]
fn operations_round_trip() {
    let ops = [
        GraphOp::AddEdges(vec![
            GraphEdge::new(1, 2, 3, "R").with_properties(json!({"a": [1, 2]})),
            GraphEdge::new(4, 5, 6, "S"),
        ]),
        GraphOp::AddEdges(Vec::new()),
        GraphOp::RemoveEdge(u64::MAX),
        GraphOp::RemoveNode(0),
    ];
    for op in ops {
        assert_eq!(GraphOp::decode(&op.encode()), Ok(op.clone()));
        let bytes = op.encode();
        for len in 0..bytes.len() {
            assert!(GraphOp::decode(&bytes[..len]).is_err());
        }
    }
}

proptest! {
    #[test]
    fn garbage_images_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = GraphStore::decode(&bytes);
        let _ = GraphOp::decode(&bytes);
    }

    #[test]
    fn garbage_after_a_valid_header_never_panics(
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        // A correct header and checksum over random bytes reaches the body decoder.
        let mut bytes = b"NSGRAPH1".to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
        let result = GraphStore::decode(&bytes);
        let acceptable = result.is_ok() || matches!(result, Err(Error::Corruption { .. }));
        prop_assert!(acceptable);
    }
}
