//! The graph store's byte forms: its checksummed image (`nearstore_graph::GraphStore::decode`)
//! and one logged operation (`GraphOp::decode`). The first byte picks the input's form: the
//! image as it is (0), the rest as an image body behind a valid header and checksum (1, to
//! reach the body's decoders past the checksum), or an operation (2). Checked: decoding never
//! panics; what decodes re-encodes to bytes that decode and encode to the same bytes; a
//! decoded store agrees with itself (each edge is seen from both endpoints, counts add up)
//! and answers a traversal and a variable-length pattern without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearstore_graph::{
    Budget, Direction, GraphOp, GraphStore, MatchOptions, NodePattern, NodePayloads, PathPattern,
    RelPattern, StartCandidates, TraversalConfig,
};
use nearstore_storage::format::crc32c_parts;

/// Edges whose adjacency is cross-checked per input (keeps each run short).
const CHECKED_EDGES: usize = 64;

fn framed_image(body: &[u8]) -> Vec<u8> {
    let mut out = b"NSGRAPH1".to_vec();
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32c_parts(&[body]).to_le_bytes());
    out.extend_from_slice(body);
    out
}

fn check_store(store: &GraphStore) {
    let encoded = store.encode();
    let again = GraphStore::decode(&encoded).expect("a re-encoded image decodes");
    assert_eq!(encoded, again.encode(), "image encoding is not stable");
    let mut total = 0;
    let mut nodes = NodePayloads::new();
    let mut first = None;
    for label in store.labels() {
        let edges = store.get_edges(label);
        total += edges.len();
        for e in edges.iter().take(CHECKED_EDGES) {
            assert!(store.get_outgoing(e.source, &[label]).iter().any(|o| o.id == e.id));
            assert!(store.get_incoming(e.target, &[label]).iter().any(|i| i.id == e.id));
            assert_eq!(store.get_edge(e.id).as_ref(), Some(e));
            nodes.insert(e.source, serde_json::Value::Null);
            nodes.insert(e.target, serde_json::Value::Null);
            first.get_or_insert(e.source);
        }
    }
    assert_eq!(total, store.edge_count(), "edges by label do not add up");
    let Some(start) = first else { return };
    let budget = Budget::default().max_rows(10_000);
    let config = TraversalConfig {
        direction: Direction::Both,
        ..TraversalConfig::default()
    };
    let _ = store.traverse_bfs(start, &config, &budget);
    let pattern = PathPattern::new(NodePattern::named("a"))
        .then(RelPattern::both().hops(1, 2), NodePattern::named("b"));
    let options = MatchOptions {
        start: Some(StartCandidates {
            var: "a".to_owned(),
            ids: vec![start],
        }),
        budget,
        limit: Some(1_000),
        ..MatchOptions::default()
    };
    let _ = store.find_matches(&pattern.into(), &nodes, &options);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(store) = GraphStore::decode(rest) {
                check_store(&store);
            }
        }
        1 => {
            if let Ok(store) = GraphStore::decode(&framed_image(rest)) {
                check_store(&store);
            }
        }
        _ => {
            if let Ok(op) = GraphOp::decode(rest) {
                let encoded = op.encode();
                let again = GraphOp::decode(&encoded).expect("a re-encoded operation decodes");
                assert_eq!(again, op);
                let mut store = GraphStore::new();
                let _ = store.apply_logged(1, &op);
                check_store(&store);
            }
        }
    }
});
