//! MATCH answers are complete: a similarity start on a graph large enough for the vector
//! index equals the brute-force answer; expired nodes are neither bound nor walked through
//! and the limit still stops the walk; aggregates inside RETURN expressions see every row
//! and group; `similarity(n.embedding, $v)` works in RETURN as in WHERE.

use nearstore::{
    Database, DistanceMetric, GraphCollectionConfig, GraphEdge, MatchRequest, NodePattern,
    PathPattern, Point, RelPattern,
};
use serde_json::{Value, json};

use crate::temp_db;

fn rows(db: &Database, sql: &str, params: &Value) -> Vec<Value> {
    db.execute(sql, params)
        .unwrap()
        .rows
        .iter()
        .map(|r| r.to_json())
        .collect()
}

/// Deterministic pseudo-random vector `i` (a 64-bit LCG), components in [-1, 1).
fn vector(i: u64, dim: usize) -> Vec<f32> {
    let mut x = i
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (0..dim)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn a_similarity_start_on_a_large_graph_equals_the_brute_force_answer() {
    const NODES: u64 = 5_000;
    const DIM: usize = 16;
    let (_dir, db) = temp_db();
    let g = db
        .create_graph_collection(
            "big",
            GraphCollectionConfig::schemaless().with_embedding(DIM, DistanceMetric::Cosine),
        )
        .unwrap();
    let points: Vec<Point> = (0..NODES)
        .map(|i| Point::new(i, vector(i, DIM), Some(json!({"_labels": ["N"], "i": i}))))
        .collect();
    g.upsert(points).unwrap();
    // A ring: every node has one outgoing edge.
    let edges = (0..NODES)
        .map(|i| GraphEdge::new(i + 1, i, (i + 1) % NODES, "NEXT"))
        .collect();
    g.add_edges_batch(edges).unwrap();
    let query = vector(NODES + 7, DIM);
    let mut scored: Vec<(f64, u64)> = (0..NODES)
        .map(|i| (cosine(&vector(i, DIM), &query), i))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    // A threshold well between two neighbouring scores, with several hundred nodes past it
    // (fewer than the vector start's candidate cap, so the start restricts the variable).
    let at = (600..900)
        .find(|&k| scored[k - 1].0 - scored[k].0 > 1e-4)
        .unwrap();
    let threshold = (scored[at - 1].0 + scored[at].0) / 2.0;
    let mut expected: Vec<u64> = scored[..at].iter().map(|&(_, i)| i).collect();
    expected.sort_unstable();
    let params = json!({"v": query, "t": threshold});
    let found = rows(
        &db,
        "MATCH (a:N)-[:NEXT]->(b) WHERE similarity(a.embedding, $v) > $t \
         RETURN a.i ORDER BY a.i LIMIT 5000",
        &params,
    );
    let found: Vec<u64> = found.iter().map(|r| r["a.i"].as_u64().unwrap()).collect();
    assert_eq!(found, expected);
}

#[test]
fn expired_nodes_are_not_walked_through_and_the_limit_still_stops_the_walk() {
    let (_dir, db) = temp_db();
    let clock = std::sync::Arc::new(nearstore::ManualWallClock::new(1_000_000));
    db.set_wall_clock(clock.clone());
    let g = db
        .create_graph_collection("g", GraphCollectionConfig::schemaless())
        .unwrap();
    let mut points = vec![
        Point::without_vector(1, Some(json!({"n": 1}))),
        Point::without_vector(2, Some(json!({"n": 2}))).with_expires_at(1_000_500),
        Point::without_vector(3, Some(json!({"n": 3}))),
        Point::without_vector(4, Some(json!({"n": 4}))),
    ];
    points.extend((100..120).map(|i| Point::without_vector(i, Some(json!({"n": i})))));
    g.upsert(points).unwrap();
    let mut edges = vec![
        GraphEdge::new(1, 1, 2, "R"),
        GraphEdge::new(2, 2, 3, "R"),
        GraphEdge::new(3, 3, 4, "R"),
        GraphEdge::new(4, 1, 3, "R"),
    ];
    edges.extend((100..120).map(|i| GraphEdge::new(i, 4, i, "S")));
    g.add_edges_batch(edges).unwrap();
    let sql = "MATCH (a {n: 1})-[:R*2..3]->(b) RETURN b.n ORDER BY b.n";
    let before = rows(&db, sql, &Value::Null);
    assert_eq!(
        before,
        [json!({"b.n": 3}), json!({"b.n": 4}), json!({"b.n": 4})]
    );
    clock.advance(std::time::Duration::from_secs(1));
    // Only 1 -> 3 -> 4 is left: the paths through the expired node 2 are gone.
    let after = rows(&db, sql, &Value::Null);
    assert_eq!(after, [json!({"b.n": 4})]);
    // With an expired point in the collection the engine still stops at the limit.
    let mut request = MatchRequest::new(
        PathPattern::new(NodePattern::named("a"))
            .then(
                RelPattern::outgoing().types(&["S"]),
                NodePattern::named("b"),
            )
            .into(),
    );
    request.limit = Some(3);
    let response = g.match_pattern(&request).unwrap();
    assert_eq!(response.rows.len(), 3);
    assert_eq!(response.stats.bindings, 3);
}

#[test]
fn aggregates_inside_return_expressions_see_every_row_and_group() {
    let (_dir, db) = temp_db();
    let g = db
        .create_graph_collection("g", GraphCollectionConfig::schemaless())
        .unwrap();
    // More nodes than the default LIMIT (10).
    let points = (1..=25)
        .map(|i| Point::without_vector(i, Some(json!({"k": i % 2}))))
        .collect();
    g.upsert(points).unwrap();
    let total = rows(&db, "MATCH (a) RETURN count(*) + 0 AS n", &Value::Null);
    assert_eq!(total, [json!({"n": 25})]);
    let grouped = rows(
        &db,
        "MATCH (a) RETURN a.k, count(*) * 1 AS n ORDER BY a.k",
        &Value::Null,
    );
    assert_eq!(
        grouped,
        [json!({"a.k": 0, "n": 12}), json!({"a.k": 1, "n": 13})]
    );
}

#[test]
fn similarity_of_a_node_embedding_in_return() {
    let (_dir, db) = temp_db();
    let g = db
        .create_graph_collection(
            "g",
            GraphCollectionConfig::schemaless().with_embedding(2, DistanceMetric::Cosine),
        )
        .unwrap();
    g.upsert(vec![
        Point::new(1, vec![1.0, 0.0], Some(json!({"n": 1}))),
        Point::new(2, vec![0.0, 1.0], Some(json!({"n": 2}))),
    ])
    .unwrap();
    g.add_edges_batch(vec![GraphEdge::new(1, 1, 2, "R")])
        .unwrap();
    let found = rows(
        &db,
        "MATCH (a)-[:R]->(b) RETURN b.n, similarity(b.embedding, $v) AS s",
        &json!({"v": [0.0, 1.0]}),
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["b.n"], json!(2));
    assert!((found[0]["s"].as_f64().unwrap() - 1.0).abs() < 1e-5);
}

#[test]
fn select_edges_stops_at_the_default_limit_and_uses_the_edge_index() {
    let (_dir, db) = temp_db();
    let g = db
        .create_graph_collection("g", GraphCollectionConfig::schemaless())
        .unwrap();
    g.upsert(vec![
        Point::without_vector(1, None),
        Point::without_vector(2, None),
    ])
    .unwrap();
    let edges = (1..=30)
        .map(|i| GraphEdge::new(i, 1, 2, "R").with_properties(json!({"w": i % 3})))
        .collect();
    g.add_edges_batch(edges).unwrap();
    let ids = |sql: &str| -> Vec<u64> {
        rows(&db, sql, &Value::Null)
            .iter()
            .map(|r| r["id"].as_u64().unwrap())
            .collect()
    };
    // No LIMIT: the default one (10), the first ids.
    assert_eq!(ids("SELECT EDGES FROM g"), (1..=10).collect::<Vec<_>>());
    let over = db.execute("SELECT EDGES FROM g LIMIT 100001", &Value::Null);
    assert_eq!(
        over.unwrap_err().kind(),
        nearstore::ErrorKind::InvalidArgument
    );
    // The same answer with and without an index on the property.
    let sql = "SELECT EDGES FROM g WHERE w = 0 AND label = 'R' AND id > 5 LIMIT 100";
    let scanned = ids(sql);
    assert_eq!(scanned, [6, 9, 12, 15, 18, 21, 24, 27, 30]);
    g.create_edge_property_index("w", nearstore::FieldIndexKind::Integer)
        .unwrap();
    assert_eq!(ids(sql), scanned);
    assert_eq!(ids("SELECT EDGES FROM g WHERE w = 1 LIMIT 2"), [1, 4]);
}

#[test]
fn neighbour_reads_and_traversals_hide_an_expired_node() {
    let (_dir, db) = temp_db();
    let clock = std::sync::Arc::new(nearstore::ManualWallClock::new(1_000_000));
    db.set_wall_clock(clock.clone());
    let g = db
        .create_graph_collection("g", GraphCollectionConfig::schemaless())
        .unwrap();
    g.upsert(vec![
        Point::without_vector(1, None),
        Point::without_vector(2, None).with_expires_at(1_000_500),
        Point::without_vector(3, None),
        Point::without_vector(4, None),
    ])
    .unwrap();
    // 1 -> 2 -> 3, 1 -> 4.
    g.add_edges_batch(vec![
        GraphEdge::new(1, 1, 2, "R"),
        GraphEdge::new(2, 2, 3, "R"),
        GraphEdge::new(3, 1, 4, "R"),
    ])
    .unwrap();
    let reached = |g: &nearstore::GraphCollection| -> Vec<u64> {
        let config = nearstore::TraversalConfig::default();
        let mut ids: Vec<u64> = g
            .traverse_bfs(1, &config)
            .unwrap()
            .into_iter()
            .map(|r| r.target)
            .collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(reached(&g), [2, 3, 4]);
    clock.advance(std::time::Duration::from_secs(1));
    let out: Vec<u64> = g.get_outgoing(1).unwrap().iter().map(|e| e.id).collect();
    assert_eq!(out, [3]);
    assert!(g.get_outgoing(2).unwrap().is_empty());
    assert!(g.get_incoming(3).unwrap().is_empty());
    assert_eq!(reached(&g), [4]);
    let dfs = g
        .traverse_dfs(1, &nearstore::TraversalConfig::default())
        .unwrap();
    assert_eq!(dfs.iter().map(|r| r.target).collect::<Vec<_>>(), [4]);
}

#[test]
fn an_upsert_of_an_expired_node_creates_a_new_node_without_its_old_edges() {
    let dir = tempfile::tempdir().unwrap();
    let clock = std::sync::Arc::new(nearstore::ManualWallClock::new(1_000_000));
    {
        let db = nearstore::Database::open(dir.path()).unwrap();
        db.set_wall_clock(clock.clone());
        let g = db
            .create_graph_collection("g", GraphCollectionConfig::schemaless())
            .unwrap();
        g.upsert(vec![
            Point::without_vector(1, None),
            Point::without_vector(2, None).with_expires_at(1_000_500),
            Point::without_vector(3, None),
        ])
        .unwrap();
        g.add_edges_batch(vec![
            GraphEdge::new(1, 1, 2, "R"),
            GraphEdge::new(2, 2, 3, "R"),
        ])
        .unwrap();
        clock.advance(std::time::Duration::from_secs(1));
        // Node 2 expired; writing id 2 again makes a new node: the old edges are gone.
        g.upsert(vec![Point::without_vector(2, None)]).unwrap();
        assert!(g.get_outgoing(1).unwrap().is_empty());
        assert!(g.get_incoming(3).unwrap().is_empty());
        assert_eq!(g.edge_count().unwrap(), 0);
        assert!(g.get_node_payload(2).unwrap().is_none());
        g.add_edge(GraphEdge::new(3, 2, 3, "R")).unwrap();
    }
    // Replayed from the log, the same.
    let db = nearstore::Database::open(dir.path()).unwrap();
    db.set_wall_clock(clock);
    let g = db.get_graph_collection("g").unwrap();
    let out: Vec<u64> = g.get_outgoing(2).unwrap().iter().map(|e| e.id).collect();
    assert_eq!(out, [3]);
    assert!(g.get_incoming(2).unwrap().is_empty());
    assert_eq!(g.edge_count().unwrap(), 1);
}

#[test]
fn a_streamed_point_with_an_expired_node_id_also_drops_its_old_edges() {
    let (_dir, db) = temp_db();
    let clock = std::sync::Arc::new(nearstore::ManualWallClock::new(1_000_000));
    db.set_wall_clock(clock.clone());
    let g = db
        .create_graph_collection("g", GraphCollectionConfig::schemaless())
        .unwrap();
    g.upsert(vec![
        Point::without_vector(1, None),
        Point::without_vector(2, None).with_expires_at(1_000_500),
    ])
    .unwrap();
    g.add_edge(GraphEdge::new(1, 1, 2, "R")).unwrap();
    g.enable_streaming(nearstore::StreamingConfig {
        buffer_size: 100,
        batch_size: 10,
        flush_interval: std::time::Duration::from_secs(3600),
    })
    .unwrap();
    clock.advance(std::time::Duration::from_secs(1));
    g.stream_insert(Point::without_vector(2, None)).unwrap();
    // The next write applies the queue (the point is back, as a new node).
    g.flush().unwrap();
    assert_eq!(g.edge_count().unwrap(), 0);
    assert!(g.get_outgoing(1).unwrap().is_empty());
    assert_eq!(g.get(&[2]).unwrap().len(), 1);
}
