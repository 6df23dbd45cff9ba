//! Graph and metadata collections: every graph API method and graph statement, their errors
//! (nothing written), and reopen (edges, property indexes and adjacency survive; incoming is
//! outgoing transposed).

use std::collections::BTreeSet;

use nearstore::{
    CollectionKind, Database, DistanceMetric, EdgeType, ErrorKind, FieldIndexKind, Filter,
    GraphCollection, GraphCollectionConfig, GraphEdge, GraphSchema, NodeType, Point,
    PropertyTarget, PropertyType, ScrollRequest, TraversalConfig, TraversalOptions,
};
use serde_json::{Value, json};

use crate::temp_db;

fn person(name: &str, age: u64) -> Value {
    json!({"_labels": ["Person"], "name": name, "age": age})
}

/// Nodes 1..=5 (Person), edges 1->2, 2->3, 3->4 KNOWS and 1->5 LIKES.
fn small_graph(db: &Database) -> GraphCollection {
    let g = db
        .create_graph_collection("g", GraphCollectionConfig::schemaless())
        .unwrap();
    for (id, name) in [(1, "ann"), (2, "bob"), (3, "cy"), (4, "dan"), (5, "eve")] {
        g.upsert_node_payload(id, person(name, 20 + id)).unwrap();
    }
    g.add_edges_batch(vec![
        GraphEdge::new(10, 1, 2, "KNOWS").with_properties(json!({"since": 2010})),
        GraphEdge::new(11, 2, 3, "KNOWS").with_properties(json!({"since": 2015})),
        GraphEdge::new(12, 3, 4, "KNOWS"),
    ])
    .unwrap();
    g.add_edge(GraphEdge::new(13, 1, 5, "LIKES")).unwrap();
    g
}

fn ids(edges: &[GraphEdge]) -> Vec<u64> {
    edges.iter().map(|e| e.id).collect()
}

/// Checks incoming = outgoing transposed and that no edge touches a missing node.
fn check_adjacency(g: &GraphCollection) {
    let all = g.all_edges().unwrap();
    assert_eq!(all.len(), g.edge_count().unwrap());
    let nodes: BTreeSet<u64> = g
        .scan(&ScrollRequest::default())
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    let mut out = BTreeSet::new();
    let mut inc = BTreeSet::new();
    for &n in &nodes {
        out.extend(
            g.get_outgoing(n)
                .unwrap()
                .iter()
                .map(|e| (e.id, e.source, e.target)),
        );
        inc.extend(
            g.get_incoming(n)
                .unwrap()
                .iter()
                .map(|e| (e.id, e.source, e.target)),
        );
    }
    let expected: BTreeSet<(u64, u64, u64)> =
        all.iter().map(|e| (e.id, e.source, e.target)).collect();
    assert_eq!(out, expected);
    assert_eq!(inc, expected);
    for e in &all {
        assert!(
            nodes.contains(&e.source) && nodes.contains(&e.target),
            "{e:?}"
        );
    }
}

#[test]
fn edges_are_added_read_and_removed_by_the_reference_names() {
    let (_dir, db) = temp_db();
    let g = small_graph(&db);
    assert_eq!(g.kind(), CollectionKind::Graph);
    assert_eq!(g.edge_count().unwrap(), 4);
    assert_eq!(ids(&g.get_edges("KNOWS").unwrap()), [10, 11, 12]);
    assert_eq!(ids(&g.get_outgoing(1).unwrap()), [10, 13]);
    assert_eq!(ids(&g.get_outgoing_by_label(1, &["LIKES"]).unwrap()), [13]);
    assert_eq!(ids(&g.get_incoming(2).unwrap()), [10]);
    assert_eq!(
        ids(&g.get_incoming_by_label(2, &["LIKES"]).unwrap()),
        Vec::<u64>::new()
    );
    let degree = g.node_degree(2).unwrap();
    assert_eq!((degree.incoming, degree.outgoing), (1, 1));
    assert_eq!(
        g.get_edge(10).unwrap().unwrap().properties,
        json!({"since": 2010})
    );
    assert!(g.remove_edge(11).unwrap());
    assert!(!g.remove_edge(11).unwrap());
    assert_eq!(ids(&g.get_edges("KNOWS").unwrap()), [10, 12]);
    check_adjacency(&g);
}

#[test]
fn bad_edges_are_clear_errors_and_write_nothing() {
    let (_dir, db) = temp_db();
    let g = small_graph(&db);
    let missing = g.add_edge(GraphEdge::new(20, 1, 99, "KNOWS")).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("99"), "{missing}");
    let dup = g.add_edge(GraphEdge::new(10, 1, 3, "KNOWS")).unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::AlreadyExists);
    let blank = g.add_edge(GraphEdge::new(21, 1, 3, "  ")).unwrap_err();
    assert_eq!(blank.kind(), ErrorKind::InvalidArgument);
    // A batch is all or nothing.
    let batch = g
        .add_edges_batch(vec![
            GraphEdge::new(30, 1, 3, "KNOWS"),
            GraphEdge::new(31, 1, 77, "KNOWS"),
        ])
        .unwrap_err();
    assert_eq!(batch.kind(), ErrorKind::NotFound);
    assert_eq!(g.edge_count().unwrap(), 4);
    assert!(g.get_edge(30).unwrap().is_none());
}

#[test]
fn deleting_a_node_deletes_its_edges() {
    let (_dir, db) = temp_db();
    let g = small_graph(&db);
    assert_eq!(g.delete(&[2]).unwrap(), 1);
    assert_eq!(ids(&g.all_edges().unwrap()), [12, 13]);
    assert!(g.get_outgoing(1).unwrap().iter().all(|e| e.target != 2));
    check_adjacency(&g);
    assert_eq!(
        g.delete_by_filter(&Filter::eq("name", json!("dan")))
            .unwrap(),
        1
    );
    assert_eq!(ids(&g.all_edges().unwrap()), [13]);
    // A deleted node cannot get new edges.
    assert_eq!(
        g.add_edge(GraphEdge::new(40, 1, 2, "KNOWS"))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn traversals_follow_the_config_and_stop_at_their_guardrails() {
    let (_dir, db) = temp_db();
    let g = small_graph(&db);
    let bfs = g
        .traverse_bfs(
            1,
            &TraversalConfig {
                max_depth: 3,
                ..Default::default()
            },
        )
        .unwrap();
    let reached: Vec<(u64, u32)> = bfs.iter().map(|r| (r.target, r.depth)).collect();
    assert_eq!(reached, [(2, 1), (5, 1), (3, 2), (4, 3)]);
    assert_eq!(bfs[3].path, [10, 11, 12]);
    let knows_only = g
        .traverse_dfs(
            1,
            &TraversalConfig {
                min_depth: 2,
                max_depth: 3,
                limit: 10,
                rel_types: vec!["KNOWS".into()],
                ..Default::default()
            },
        )
        .unwrap();
    let reached: BTreeSet<u64> = knows_only.iter().map(|r| r.target).collect();
    assert_eq!(reached, BTreeSet::from([3, 4]));
    let too_deep = g
        .traverse_bfs(
            1,
            &TraversalConfig {
                max_depth: 65,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(too_deep.kind(), ErrorKind::InvalidArgument);
    let past_deadline = g
        .traverse_bfs_with(
            1,
            &TraversalConfig::default(),
            &TraversalOptions {
                deadline: Some(nearstore::Deadline::expired()),
                max_rows: None,
            },
        )
        .unwrap_err();
    assert_eq!(past_deadline.kind(), ErrorKind::Cancelled);
    let too_many = g
        .traverse_bfs_with(
            1,
            &TraversalConfig::default(),
            &TraversalOptions {
                deadline: None,
                max_rows: Some(1),
            },
        )
        .unwrap_err();
    assert_eq!(too_many.kind(), ErrorKind::ResourceExhausted);
}

#[test]
fn node_payloads_keep_the_embedding_and_search_needs_one() {
    let (_dir, db) = temp_db();
    let g = db
        .create_graph_collection(
            "e",
            GraphCollectionConfig::schemaless().with_embedding(2, DistanceMetric::Euclidean),
        )
        .unwrap();
    g.upsert(vec![
        Point::new(1, vec![0.0, 0.0], Some(json!({"name": "a"}))),
        Point::new(2, vec![5.0, 5.0], Some(json!({"name": "b"}))),
    ])
    .unwrap();
    g.upsert_node_payload(1, json!({"name": "a2"})).unwrap();
    assert_eq!(g.get_node_payload(1).unwrap(), Some(json!({"name": "a2"})));
    assert_eq!(g.get_node_payload(9).unwrap(), None);
    let hits = g.search_by_embedding(&[0.1, 0.0], 1).unwrap();
    assert_eq!(
        hits[0].point.id, 1,
        "the embedding survived the payload write"
    );
    let plain = small_graph(&db);
    let err = plain.search_by_embedding(&[0.0, 0.0], 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("no embeddings"), "{err}");
    assert!(plain.upsert_node_payload(1, json!([1])).is_err());
}

#[test]
fn a_schema_refuses_nodes_and_edges_it_does_not_declare() {
    let (_dir, db) = temp_db();
    let schema = GraphSchema::new(
        vec![
            NodeType::new("Person").property("age", PropertyType::Integer),
            NodeType::new("Company"),
        ],
        vec![EdgeType::new("WORKS_AT", "Person", "Company")],
    )
    .unwrap();
    let g = db
        .create_graph_collection("s", GraphCollectionConfig::schemaless().with_schema(schema))
        .unwrap();
    g.upsert_node_payload(1, json!({"_labels": ["Person"], "age": 30}))
        .unwrap();
    g.upsert_node_payload(2, json!({"_labels": ["Company"]}))
        .unwrap();
    let bad_type = g
        .upsert_node_payload(3, json!({"_labels": ["Person"], "age": "old"}))
        .unwrap_err();
    assert_eq!(bad_type.kind(), ErrorKind::InvalidArgument);
    assert!(g.get_node_payload(3).unwrap().is_none());
    let unlabelled = g
        .upsert(vec![Point::without_vector(4, Some(json!({})))])
        .unwrap_err();
    assert_eq!(unlabelled.kind(), ErrorKind::InvalidArgument);
    // A payload write of an existing node is checked too.
    assert!(
        g.upsert_node_payload(1, json!({"_labels": ["Robot"]}))
            .is_err()
    );
    g.add_edge(GraphEdge::new(1, 1, 2, "WORKS_AT")).unwrap();
    let reversed = g.add_edge(GraphEdge::new(2, 2, 1, "WORKS_AT")).unwrap_err();
    assert!(reversed.to_string().contains("schema"), "{reversed}");
    let undeclared = g.add_edge(GraphEdge::new(3, 1, 2, "OWNS")).unwrap_err();
    assert_eq!(undeclared.kind(), ErrorKind::InvalidArgument);
    assert_eq!(g.edge_count().unwrap(), 1);
    assert!(g.schema().is_some());
}

#[test]
fn edges_indexes_and_schema_survive_reopen_with_and_without_a_checkpoint() {
    let (dir, db) = temp_db();
    let g = small_graph(&db);
    g.create_node_property_index("age", FieldIndexKind::Integer)
        .unwrap();
    g.create_edge_property_index("since", FieldIndexKind::Integer)
        .unwrap();
    // Written after the checkpoint the index creation made: only in the log.
    g.add_edge(GraphEdge::new(14, 4, 1, "KNOWS").with_properties(json!({"since": 2020})))
        .unwrap();
    assert!(g.remove_edge(12).unwrap());
    g.delete(&[5]).unwrap();
    g.upsert_node_payload(6, person("fay", 40)).unwrap();
    g.flush().unwrap();
    let before = g.all_edges().unwrap();
    drop(g);
    // A clean close checkpoints (the image holds everything).
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    let g = db.get_graph_collection("g").unwrap();
    assert_eq!(g.all_edges().unwrap(), before);
    assert_eq!(ids(&g.get_incoming(1).unwrap()), [14]);
    assert_eq!(
        g.property_indexes(PropertyTarget::Node).unwrap(),
        [("age".to_string(), FieldIndexKind::Integer)]
    );
    assert_eq!(
        g.property_indexes(PropertyTarget::Edge).unwrap(),
        [("since".to_string(), FieldIndexKind::Integer)]
    );
    check_adjacency(&g);
    // A log tail (no checkpoint since these writes) replays into the image on open.
    g.add_edge(GraphEdge::new(15, 6, 1, "KNOWS")).unwrap();
    g.delete(&[4]).unwrap();
    g.flush().unwrap();
    let expected = g.all_edges().unwrap();
    assert_eq!(ids(&expected), [10, 11, 15]);
    // Copied while open: the files as a crash would leave them (the log holds the tail).
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    drop(g);
    drop(db);
    let db = Database::open(copy.path()).unwrap();
    let g = db.get_graph_collection("g").unwrap();
    assert_eq!(g.all_edges().unwrap(), expected);
    check_adjacency(&g);
    let report = db.verify().unwrap();
    assert!(report.is_clean(), "{report:?}");
    let image = report
        .files
        .iter()
        .find(|f| f.path.ends_with("graph.image"))
        .expect("the scrub checks the graph image");
    assert!(image.notes.iter().any(|n| n.contains("edges")), "{image:?}");
    assert!(
        db.get_graph_collection("g")
            .unwrap()
            .traverse_bfs(6, &TraversalConfig::default())
            .unwrap()
            .iter()
            .any(|r| r.target == 2)
    );
}

/// Copies a database directory as a crash would leave it (no lock files).
pub(crate) fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else if !entry.file_name().to_string_lossy().ends_with(".lock") {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_graph_handle_is_refused_on_other_kinds() {
    let (_dir, db) = temp_db();
    db.create_collection("v", 2, DistanceMetric::Cosine)
        .unwrap();
    let err = db.get_graph_collection("v").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("not a graph"), "{err}");
    assert_eq!(
        db.get_graph_collection("nope").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn metadata_collections_hold_payloads_and_refuse_vector_search() {
    let (dir, db) = temp_db();
    let m = db.create_metadata_collection("m").unwrap();
    assert_eq!(m.kind(), CollectionKind::Metadata);
    m.upsert(vec![
        Point::without_vector(1, Some(json!({"title": "graph databases", "n": 1}))),
        Point::without_vector(2, Some(json!({"title": "vector search", "n": 2}))),
    ])
    .unwrap();
    assert_eq!(m.count(Some(&Filter::gt("n", json!(1)))).unwrap(), 1);
    assert_eq!(m.scroll(None, 10, None).unwrap().points.len(), 2);
    assert_eq!(m.text_search("graph", 5).unwrap()[0].point.id, 1);
    let err = m.search(&[1.0], 1).unwrap_err();
    assert!(err.to_string().contains("metadata collection"), "{err}");
    let err = m.upsert(vec![Point::new(3, vec![1.0], None)]).unwrap_err();
    assert!(err.to_string().contains("metadata collection"), "{err}");
    drop(m);
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    let m = db.get_vector_collection("m").unwrap();
    assert_eq!(m.kind(), CollectionKind::Metadata);
    assert_eq!(m.len(), 2);
}

fn rows(db: &Database, sql: &str) -> Vec<Value> {
    db.execute(sql, &Value::Null)
        .unwrap()
        .rows
        .iter()
        .map(|r| r.to_json())
        .collect()
}

#[test]
fn graph_statements_create_write_read_and_truncate() {
    let (_dir, db) = temp_db();
    assert_eq!(
        rows(&db, "CREATE GRAPH COLLECTION social SCHEMALESS"),
        [json!({"created": "social"})]
    );
    rows(
        &db,
        "CREATE GRAPH COLLECTION typed (dimension = 2, metric = 'euclidean') WITH SCHEMA \
         (NODE Person (name: STRING, age: INTEGER), EDGE KNOWS FROM Person TO Person)",
    );
    rows(&db, "CREATE METADATA COLLECTION meta");
    assert_eq!(
        db.get_vector_collection("meta").unwrap().kind(),
        CollectionKind::Metadata
    );
    for id in 1..=3 {
        assert_eq!(
            rows(
                &db,
                &format!(
                    "INSERT NODE INTO social (id = {id}, payload = '{{\"_labels\": [\"Person\"], \"n\": {id}}}')"
                )
            ),
            [json!({"affected": 1})]
        );
    }
    rows(
        &db,
        "INSERT EDGE INTO social (id = 10, source = 1, target = 2, label = 'KNOWS') \
         WITH PROPERTIES (since = 2020)",
    );
    rows(
        &db,
        "INSERT EDGE INTO social (id = 11, source = 2, target = 3, label = 'KNOWS')",
    );
    rows(
        &db,
        "INSERT EDGE INTO social (label = 'LIKES', id = 12, source = 1, target = 3)",
    );
    let all = rows(&db, "SELECT EDGES FROM social");
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[0],
        json!({"id": 10, "source": 1, "target": 2, "label": "KNOWS", "properties": {"since": 2020}})
    );
    let knows = rows(
        &db,
        "SELECT EDGES FROM social WHERE label = 'KNOWS' LIMIT 1",
    );
    assert_eq!(knows.len(), 1);
    assert_eq!(knows[0]["id"], json!(10));
    let from_one = rows(&db, "SELECT EDGES FROM social WHERE source = 1 AND id > 10");
    assert_eq!(from_one.len(), 1);
    assert_eq!(from_one[0]["id"], json!(12));
    let by_property = rows(&db, "SELECT EDGES FROM social WHERE since >= 2020");
    assert_eq!(by_property.len(), 1);
    assert_eq!(
        rows(&db, "DELETE EDGE 11 FROM social"),
        [json!({"affected": 1})]
    );
    assert_eq!(
        rows(&db, "DELETE EDGE 11 FROM social"),
        [json!({"affected": 0})]
    );
    let err = db
        .execute(
            "INSERT EDGE INTO social (id = 13, source = 1, target = 99, label = 'KNOWS')",
            &Value::Null,
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let described = rows(&db, "DESCRIBE social");
    assert_eq!(described[0]["type"], json!("graph"));
    assert_eq!(described[0]["edges"], json!(2));
    assert_eq!(
        rows(&db, "TRUNCATE social"),
        [json!({"deleted_count": 3, "deleted_edges": 2})]
    );
    assert_eq!(rows(&db, "SELECT EDGES FROM social").len(), 0);
    // A schema-typed graph refuses what its schema does not declare.
    let err = db
        .execute(
            "INSERT NODE INTO typed (id = 1, payload = '{\"_labels\": [\"Robot\"]}')",
            &Value::Null,
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    rows(&db, "INSERT INTO meta (id, title) VALUES (1, 'a')");
    assert_eq!(
        rows(&db, "SELECT id, title FROM meta"),
        [json!({"id": 1, "title": "a"})]
    );
    assert_eq!(
        rows(&db, "DROP COLLECTION social"),
        [json!({"dropped": "social"})]
    );
    assert!(db.get_graph_collection("social").is_err());
    let err = db
        .execute(
            "INSERT EDGE INTO meta (id = 1, source = 1, target = 1, label = 'X')",
            &Value::Null,
        )
        .unwrap_err();
    assert!(err.to_string().contains("not a graph"), "{err}");
}

#[test]
fn a_snapshot_restores_the_edges_and_their_indexes() {
    let (_dir, db) = temp_db();
    let g = small_graph(&db);
    g.create_edge_property_index("since", FieldIndexKind::Integer)
        .unwrap();
    // In the log only when the snapshot cuts (the cut checkpoints).
    g.add_edge(GraphEdge::new(14, 5, 1, "KNOWS")).unwrap();
    let snaps = tempfile::tempdir().unwrap();
    db.snapshot(snaps.path().join("s")).unwrap();
    let mut listed = Vec::new();
    list_files(&snaps.path().join("s"), &mut listed);
    assert!(
        listed.iter().any(|f| f.ends_with("graph.image")),
        "{listed:?}"
    );
    let expected = g.all_edges().unwrap();
    g.delete(&[1]).unwrap();
    g.add_edge(GraphEdge::new(15, 2, 4, "KNOWS")).unwrap();
    db.restore(snaps.path().join("s")).unwrap();
    let g = db.get_graph_collection("g").unwrap();
    assert_eq!(g.all_edges().unwrap(), expected);
    assert_eq!(
        g.property_indexes(PropertyTarget::Edge).unwrap(),
        [("since".to_string(), FieldIndexKind::Integer)]
    );
    check_adjacency(&g);
}

fn list_files(dir: &std::path::Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            list_files(&entry.path(), out);
        } else {
            out.push(entry.path().display().to_string());
        }
    }
}
