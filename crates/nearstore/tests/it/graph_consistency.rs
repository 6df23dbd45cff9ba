//! Graph collections against expiry, schemas and concurrency: a node payload write is done
//! or refused (never a silent no-op), a relabel an existing edge would break is refused
//! under the writer lock, TRUNCATE leaves no edge (expired nodes' included) after reopen
//! and crash recovery, an expired node's edges are invisible to every read, and two pattern
//! queries binding each other's collections do not deadlock with writers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use nearstore::{
    Database, EdgeType, ErrorKind, ForeignNode, GraphCollection, GraphCollectionConfig, GraphEdge,
    GraphSchema, ManualWallClock, MatchRequest, NodePattern, NodeType, PathPattern, Point,
    PointSelector, RelPattern, WallClock,
};
use serde_json::{Value, json};

use crate::temp_db;

const T0: u64 = 1_700_000_000_000;

/// A clock that reads `first` once, then `later` forever: the node it guards expires
/// between the first look at the clock and the next.
#[derive(Debug)]
struct FlipClock {
    reads: AtomicU64,
    first: u64,
    later: u64,
}

impl WallClock for FlipClock {
    fn now_millis(&self) -> u64 {
        match self.reads.fetch_add(1, Ordering::SeqCst) {
            0 => self.first,
            _ => self.later,
        }
    }
}

fn node(label: &str, v: u64) -> Value {
    json!({"_labels": [label], "v": v})
}

fn ids(edges: &[GraphEdge]) -> Vec<u64> {
    edges.iter().map(|e| e.id).collect()
}

fn rows(db: &Database, sql: &str) -> Vec<Value> {
    db.execute(sql, &Value::Null)
        .unwrap()
        .rows
        .iter()
        .map(|r| r.to_json())
        .collect()
}

fn graph_with_clock(db: &Database, name: &str) -> (GraphCollection, Arc<ManualWallClock>) {
    db.set_purge_interval(None).unwrap();
    let clock = Arc::new(ManualWallClock::new(T0));
    db.set_wall_clock(clock.clone());
    let g = db
        .create_graph_collection(name, GraphCollectionConfig::schemaless())
        .unwrap();
    (g, clock)
}

#[test]
fn graph_node_payload_write_is_done_even_when_the_node_expires_during_the_call() {
    let (_dir, db) = temp_db();
    let (g, _clock) = graph_with_clock(&db, "g");
    g.upsert_node_payload(1, node("P", 1)).unwrap();
    g.upsert_node_payload(2, node("P", 1)).unwrap();
    g.add_edge(GraphEdge::new(10, 1, 2, "E")).unwrap();
    g.set_expiry(&[1], Some(T0 + 500)).unwrap();
    // Visible at the call's first look at the clock, expired at every later one.
    g.set_wall_clock(Arc::new(FlipClock {
        reads: AtomicU64::new(0),
        first: T0,
        later: T0 + 1_000,
    }));
    let result = g.upsert_node_payload(1, node("P", 2));
    // Back before the expiry: an `Ok` must have written the payload.
    g.set_wall_clock(Arc::new(ManualWallClock::new(T0)));
    match result {
        Ok(()) => assert_eq!(g.get_node_payload(1).unwrap(), Some(node("P", 2))),
        Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "{e}"),
    }
}

#[test]
fn graph_node_payload_write_to_an_expired_node_makes_a_new_node_without_its_edges() {
    let (_dir, db) = temp_db();
    let (g, clock) = graph_with_clock(&db, "g");
    g.upsert_node_payload(1, node("P", 1)).unwrap();
    g.upsert_node_payload(2, node("P", 1)).unwrap();
    g.add_edge(GraphEdge::new(10, 1, 2, "E")).unwrap();
    g.set_expiry(&[1], Some(T0 + 500)).unwrap();
    clock.set_millis(T0 + 1_000);
    g.upsert_node_payload(1, node("P", 2)).unwrap();
    assert_eq!(g.get_node_payload(1).unwrap(), Some(node("P", 2)));
    assert_eq!(g.expires_at(1), None);
    // The expired node was deleted with its edge, not revived with it.
    clock.set_millis(T0);
    assert!(g.get_outgoing(1).unwrap().is_empty());
    assert!(g.get_incoming(2).unwrap().is_empty());
}

fn works_at_schema() -> GraphSchema {
    GraphSchema::new(
        vec![NodeType::new("Person"), NodeType::new("Company")],
        vec![EdgeType::new("WORKS_AT", "Person", "Company")],
    )
    .unwrap()
}

fn typed_graph(db: &Database) -> GraphCollection {
    let g = db
        .create_graph_collection(
            "typed",
            GraphCollectionConfig::schemaless().with_schema(works_at_schema()),
        )
        .unwrap();
    g.upsert_node_payload(1, json!({"_labels": ["Person"]}))
        .unwrap();
    g.upsert_node_payload(2, json!({"_labels": ["Company"]}))
        .unwrap();
    g.upsert_node_payload(3, json!({"_labels": ["Company"]}))
        .unwrap();
    g.add_edge(GraphEdge::new(10, 1, 2, "WORKS_AT")).unwrap();
    g
}

fn object(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

#[test]
fn graph_relabel_breaking_an_existing_edge_is_refused_by_every_write() {
    let (dir, db) = temp_db();
    let g = typed_graph(&db);
    let person = json!({"_labels": ["Person"]});
    let company = json!({"_labels": ["Company"]});
    let refused = |r: nearstore::Result<()>, what: &str| {
        let e = r.expect_err(what);
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{what}: {e}");
        assert!(e.to_string().contains("edge 10"), "{what}: {e}");
    };
    refused(
        g.upsert_node_payload(2, person.clone()),
        "upsert_node_payload",
    );
    refused(
        g.upsert(vec![Point::without_vector(2, Some(person.clone()))]),
        "upsert",
    );
    refused(
        g.overwrite_payload(&PointSelector::Ids(vec![2]), object(person.clone()))
            .map(|_| ()),
        "overwrite_payload",
    );
    refused(
        g.upsert_node_payload(1, company.clone()),
        "relabelling the source",
    );
    let statement = db.execute(
        "INSERT NODE INTO typed (id = 2, payload = '{\"_labels\": [\"Person\"]}')",
        &Value::Null,
    );
    assert!(statement.is_err(), "INSERT NODE");
    // Nothing changed.
    assert_eq!(g.get_node_payload(2).unwrap(), Some(company.clone()));
    assert_eq!(g.get_node_payload(1).unwrap(), Some(person.clone()));
    // A relabel the edge still fits, and one of a node without edges, go through.
    g.upsert_node_payload(2, json!({"_labels": ["Company", "Person"]}))
        .unwrap();
    g.upsert_node_payload(3, person.clone()).unwrap();
    // Both endpoints in one batch: judged on the payloads after the write.
    g.upsert(vec![
        Point::without_vector(1, Some(company.clone())),
        Point::without_vector(2, Some(person.clone())),
    ])
    .expect_err("the edge would go Company -> Person");
    // Without the edge the relabel is fine.
    assert!(g.remove_edge(10).unwrap());
    g.upsert_node_payload(2, person.clone()).unwrap();
    drop(g);
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    let g = db.get_graph_collection("typed").unwrap();
    assert_eq!(g.get_node_payload(2).unwrap(), Some(person));
}

#[test]
fn graph_concurrent_relabels_and_edge_writes_never_leave_an_edge_breaking_the_schema() {
    let (_dir, db) = temp_db();
    let g = typed_graph(&db);
    let rounds = 1_000u64;
    let start = Arc::new(std::sync::Barrier::new(2));
    let (done, finished) = mpsc::channel();
    let relabeller = {
        let (g, start, done) = (g.clone(), start.clone(), done.clone());
        std::thread::spawn(move || {
            start.wait();
            for i in 0..rounds {
                // Ends on Person: refused once an edge enters node 3.
                let label = if i % 2 == 1 { "Person" } else { "Company" };
                let _ = g.upsert_node_payload(3, json!({"_labels": [label]}));
            }
            done.send(()).unwrap();
        })
    };
    let linker = {
        let g = g.clone();
        std::thread::spawn(move || {
            start.wait();
            for i in 0..rounds {
                // Refused while node 3 is a Person; an edge added stays.
                let _ = g.add_edge(GraphEdge::new(100 + i, 1, 3, "WORKS_AT"));
            }
            done.send(()).unwrap();
        })
    };
    for _ in 0..2 {
        finished
            .recv_timeout(Duration::from_secs(120))
            .expect("the writers finish");
    }
    relabeller.join().unwrap();
    linker.join().unwrap();
    let schema = works_at_schema();
    for e in g.all_edges().unwrap() {
        let source = g.get_node_payload(e.source).unwrap().unwrap();
        let target = g.get_node_payload(e.target).unwrap().unwrap();
        schema.check_edge(&e, &source, &target).unwrap();
    }
}

#[test]
fn graph_streamed_relabels_are_checked_against_edges_and_edges_against_streamed_labels() {
    let (_dir, db) = temp_db();
    let g = typed_graph(&db);
    g.enable_streaming(nearstore::StreamingConfig {
        buffer_size: 100,
        batch_size: 100,
        flush_interval: Duration::from_secs(3_600),
    })
    .unwrap();
    let person = json!({"_labels": ["Person"]});
    // Node 2 has an edge entering it as a Company: a streamed relabel is refused.
    let refused = g
        .stream_insert(Point::without_vector(2, Some(person.clone())))
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidArgument, "{refused}");
    // Node 3 has no edge: its relabel is queued, and an edge that its new label does not
    // allow is refused although the queue has not been drained.
    g.stream_insert(Point::without_vector(3, Some(person.clone())))
        .unwrap();
    let edge = g
        .add_edge(GraphEdge::new(20, 1, 3, "WORKS_AT"))
        .unwrap_err();
    assert_eq!(edge.kind(), ErrorKind::InvalidArgument, "{edge}");
    assert_eq!(g.get_node_payload(3).unwrap(), Some(person));
    assert_eq!(ids(&g.all_edges().unwrap()), [10]);
}

/// Nodes 1..=4, node 3 expiring at T0 + 500; edges at 3 in both directions and others.
fn graph_with_an_expiring_hub(db: &Database) -> (GraphCollection, Arc<ManualWallClock>) {
    let (g, clock) = graph_with_clock(db, "g");
    for id in 1..=4 {
        g.upsert_node_payload(id, node("P", id)).unwrap();
    }
    g.add_edges_batch(vec![
        GraphEdge::new(10, 1, 3, "E"),
        GraphEdge::new(11, 3, 2, "E"),
        GraphEdge::new(12, 2, 1, "E").with_properties(json!({"w": 1})),
        GraphEdge::new(13, 4, 3, "F"),
        GraphEdge::new(14, 3, 3, "E"),
    ])
    .unwrap();
    g.set_expiry(&[3], Some(T0 + 500)).unwrap();
    (g, clock)
}

/// No edge anywhere, with the clock back before any expiry (an expired node left behind
/// would show again with its edges).
fn assert_no_edge(g: &GraphCollection) {
    g.set_wall_clock(Arc::new(ManualWallClock::new(T0)));
    assert_eq!(g.len(), 0);
    assert_eq!(g.edge_count().unwrap(), 0);
    assert!(g.all_edges().unwrap().is_empty());
    for n in 1..=4 {
        assert!(g.get_outgoing(n).unwrap().is_empty(), "outgoing of {n}");
        assert!(g.get_incoming(n).unwrap().is_empty(), "incoming of {n}");
    }
    for id in 10..=14 {
        assert_eq!(g.get_edge(id).unwrap(), None, "edge {id}");
    }
}

#[test]
fn graph_truncate_removes_the_edges_of_expired_nodes_too() {
    let (dir, db) = temp_db();
    let (g, clock) = graph_with_an_expiring_hub(&db);
    clock.set_millis(T0 + 1_000);
    let out = rows(&db, "TRUNCATE g");
    assert_eq!(out[0]["deleted_count"], json!(3), "{out:?}");
    assert_eq!(out[0]["deleted_edges"], json!(1), "{out:?}");
    assert_no_edge(&g);
    // Crash recovery: the files as they are now, no checkpoint since the truncate.
    let copy = tempfile::tempdir().unwrap();
    crate::graph::copy_dir(dir.path(), copy.path());
    drop(g);
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    db.set_purge_interval(None).unwrap();
    assert_no_edge(&db.get_graph_collection("g").unwrap());
    drop(db);
    let db = Database::open(copy.path()).unwrap();
    db.set_purge_interval(None).unwrap();
    assert_no_edge(&db.get_graph_collection("g").unwrap());
}

#[test]
fn graph_edges_of_an_expired_node_are_invisible_to_every_read() {
    let (_dir, db) = temp_db();
    let (g, clock) = graph_with_an_expiring_hub(&db);
    let check = |g: &GraphCollection| {
        assert_eq!(ids(&g.all_edges().unwrap()), [12]);
        assert_eq!(ids(&g.get_edges("E").unwrap()), [12]);
        assert!(g.get_edges("F").unwrap().is_empty());
        assert_eq!(g.edge_count().unwrap(), 1);
        assert_eq!(g.get_edge(10).unwrap(), None);
        assert_eq!(g.get_edge(12).unwrap().map(|e| e.id), Some(12));
        let by_id: Vec<Option<u64>> = g
            .edges_by_id(&[10, 12, 14])
            .unwrap()
            .into_iter()
            .map(|e| e.map(|e| e.id))
            .collect();
        assert_eq!(by_id, [None, Some(12), None]);
        let degree = g.node_degree(3).unwrap();
        assert_eq!((degree.incoming, degree.outgoing), (0, 0));
        let degree = g.node_degree(1).unwrap();
        assert_eq!((degree.incoming, degree.outgoing), (1, 0));
        let degree = g.node_degree(4).unwrap();
        assert_eq!((degree.incoming, degree.outgoing), (0, 0));
        for n in 1..=4 {
            let degree = g.node_degree(n).unwrap();
            assert_eq!(degree.outgoing, g.get_outgoing(n).unwrap().len(), "{n}");
            assert_eq!(degree.incoming, g.get_incoming(n).unwrap().len(), "{n}");
        }
        let selected = rows(&db, "SELECT EDGES FROM g");
        assert_eq!(selected.len(), 1, "{selected:?}");
        assert_eq!(selected[0]["id"], json!(12));
        assert!(rows(&db, "SELECT EDGES FROM g WHERE source = 3").is_empty());
        let matched = rows(&db, "MATCH (a@g)-[r:E]->(b) RETURN a, b");
        assert_eq!(matched.len(), 1, "{matched:?}");
    };
    clock.set_millis(T0 + 1_000);
    check(&g);
    // The purge changes nothing a read sees.
    assert_eq!(g.purge_expired().unwrap(), 1);
    check(&g);
    // Before the expiry everything shows.
    let (_dir2, db2) = temp_db();
    let (g2, _clock2) = graph_with_an_expiring_hub(&db2);
    assert_eq!(g2.edge_count().unwrap(), 5);
    assert_eq!(g2.all_edges().unwrap().len(), 5);
    let degree = g2.node_degree(3).unwrap();
    assert_eq!((degree.incoming, degree.outgoing), (3, 2));
}

#[test]
fn graph_match_over_two_graphs_binding_each_other_does_not_deadlock_with_writers() {
    let (_dir, db) = temp_db();
    let n = 1_000u64;
    for name in ["g1", "g2"] {
        let g = db
            .create_graph_collection(name, GraphCollectionConfig::schemaless())
            .unwrap();
        let nodes: Vec<Point> = (0..n)
            .map(|i| Point::without_vector(i, Some(json!({"_labels": ["N"], "k": i % 10}))))
            .collect();
        g.upsert(nodes).unwrap();
        let edges: Vec<GraphEdge> = (0..n)
            .flat_map(|i| {
                [
                    GraphEdge::new(2 * i, i, (i + 1) % n, "E"),
                    GraphEdge::new(2 * i + 1, i, (i * 7 + 3) % n, "E"),
                ]
            })
            .collect();
        g.add_edges_batch(edges).unwrap();
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (done, finished) = mpsc::channel::<&'static str>();
    // a -E-> b -E-> c on one graph, b bound to the other: each query walks its graph while
    // checking the other collection's points.
    let request = |foreign: &str| {
        let mut r = MatchRequest::new(
            PathPattern::new(NodePattern::named("a"))
                .then(RelPattern::outgoing(), NodePattern::named("b"))
                .then(RelPattern::outgoing(), NodePattern::named("c"))
                .into(),
        );
        r.foreign.insert(
            "b".into(),
            ForeignNode {
                collection: db.get_vector_collection(foreign).unwrap(),
                filter: None,
            },
        );
        r
    };
    let mut queries = Vec::new();
    for (name, graph, foreign) in [("g1 then g2", "g1", "g2"), ("g2 then g1", "g2", "g1")] {
        let g = db.get_graph_collection(graph).unwrap();
        let request = request(foreign);
        let done = done.clone();
        queries.push(std::thread::spawn(move || {
            for _ in 0..200 {
                let out = g.match_pattern(&request).unwrap();
                assert_eq!(out.rows.len() as u64, 4 * n);
            }
            done.send(name).unwrap();
        }));
    }
    // Writers keep a writer queued on each graph's state while the queries run.
    let mut writers = Vec::new();
    for name in ["g1", "g2"] {
        let g = db.get_graph_collection(name).unwrap();
        let stop = stop.clone();
        writers.push(std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let id = i % n;
                // A new payload each time: an unchanged one is not written.
                g.upsert_node_payload(id, json!({"_labels": ["N"], "k": i}))
                    .unwrap();
                i += 1;
            }
        }));
    }
    for _ in 0..queries.len() {
        if finished.recv_timeout(Duration::from_secs(60)).is_err() {
            // Closing the database would wait for the deadlocked writers: leak it.
            std::mem::forget(db);
            panic!("a query did not finish within 60 s: the queries and writers deadlocked");
        }
    }
    stop.store(true, Ordering::SeqCst);
    for t in queries.into_iter().chain(writers) {
        t.join().unwrap();
    }
}
