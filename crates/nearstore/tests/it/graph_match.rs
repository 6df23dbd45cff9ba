//! MATCH through the engine: scenarios for each feature of the pattern language (labels,
//! properties, directions, alternatives, variable length, several parts, `@collection`,
//! WHERE, similarity, RETURN / aggregates / ORDER BY / LIMIT, MATCH in a SELECT's WHERE,
//! EXPLAIN, guardrails), and a proptest against a brute-force pattern matcher.

use std::collections::{BTreeMap, BTreeSet};

use nearstore::{Database, DistanceMetric, ErrorKind, GraphCollectionConfig, GraphEdge, Point};
use proptest::prelude::*;
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

/// People 1..=4 and documents 10..=12 with 2-d embeddings:
/// 1 -KNOWS-> 2 -KNOWS-> 3 -KNOWS-> 4, 1 -LIKES-> 3, 1 -WROTE-> 10, 2 -WROTE-> 11,
/// 3 -WROTE-> 12, 10 -CITES-> 11.
fn social(db: &Database) {
    let g = db
        .create_graph_collection(
            "social",
            GraphCollectionConfig::schemaless().with_embedding(2, DistanceMetric::Cosine),
        )
        .unwrap();
    let people = [
        (1, "ann", 31),
        (2, "bob", 25),
        (3, "cy", 40),
        (4, "dan", 19),
    ];
    let mut points: Vec<Point> = people
        .iter()
        .map(|&(id, name, age)| {
            Point::new(
                id,
                vec![1.0, id as f32 * 0.1],
                Some(json!({"_labels": ["Person"], "name": name, "age": age})),
            )
        })
        .collect();
    for (id, title, year, v) in [
        (10, "graphs", 2020, [1.0, 0.0]),
        (11, "vectors", 2021, [0.0, 1.0]),
        (12, "search", 2020, [0.7, 0.7]),
    ] {
        points.push(Point::new(
            id,
            v.to_vec(),
            Some(json!({"_labels": ["Doc"], "title": title, "year": year})),
        ));
    }
    g.upsert(points).unwrap();
    g.add_edges_batch(vec![
        GraphEdge::new(1, 1, 2, "KNOWS").with_properties(json!({"since": 2010})),
        GraphEdge::new(2, 2, 3, "KNOWS").with_properties(json!({"since": 2015})),
        GraphEdge::new(3, 3, 4, "KNOWS").with_properties(json!({"since": 2020})),
        GraphEdge::new(4, 1, 3, "LIKES"),
        GraphEdge::new(5, 1, 10, "WROTE"),
        GraphEdge::new(6, 2, 11, "WROTE"),
        GraphEdge::new(7, 3, 12, "WROTE"),
        GraphEdge::new(8, 10, 11, "CITES"),
    ])
    .unwrap();
}

fn names(rows: &[Value], key: &str) -> Vec<Value> {
    rows.iter().map(|r| r[key].clone()).collect()
}

#[test]
fn labels_properties_and_directions_select_the_bindings() {
    let (_dir, db) = temp_db();
    social(&db);
    let none = Value::Null;
    let out = rows(
        &db,
        "MATCH (a:Person {name: 'ann'})-[:KNOWS]->(b) RETURN b.name",
        &none,
    );
    assert_eq!(out, [json!({"b.name": "bob"})]);
    let incoming = rows(
        &db,
        "MATCH (a:Person)<-[:KNOWS]-(b:Person) WHERE a.name = 'cy' RETURN b.name",
        &none,
    );
    assert_eq!(incoming, [json!({"b.name": "bob"})]);
    let undirected = rows(
        &db,
        "MATCH (a {name: 'bob'})-[:KNOWS]-(b) RETURN b.name ORDER BY b.name",
        &none,
    );
    assert_eq!(names(&undirected, "b.name"), [json!("ann"), json!("cy")]);
    let either = rows(
        &db,
        "MATCH (a {name: 'ann'})-[r:KNOWS|LIKES]->(b) RETURN b.name, r.since ORDER BY b.name",
        &none,
    );
    assert_eq!(
        either,
        [
            json!({"b.name": "bob", "r.since": 2010}),
            json!({"b.name": "cy", "r.since": null})
        ]
    );
    let alternatives = rows(
        &db,
        "MATCH (a {name: 'ann'})-[]->(b:Doc|Robot) RETURN b.title",
        &none,
    );
    assert_eq!(alternatives, [json!({"b.title": "graphs"})]);
}

#[test]
fn variable_length_several_parts_and_where() {
    let (_dir, db) = temp_db();
    social(&db);
    let none = Value::Null;
    let reach = rows(
        &db,
        "MATCH (a {name: 'ann'})-[:KNOWS*1..3]->(b) RETURN b.name ORDER BY b.age",
        &none,
    );
    assert_eq!(
        names(&reach, "b.name"),
        [json!("dan"), json!("bob"), json!("cy")]
    );
    let two = rows(
        &db,
        "MATCH (a {name: 'ann'})-[r:KNOWS*2]->(b) RETURN b.name, r",
        &none,
    );
    assert_eq!(two.len(), 1);
    assert_eq!(two[0]["b.name"], json!("cy"));
    assert_eq!(two[0]["r"].as_array().unwrap().len(), 2);
    let parts = rows(
        &db,
        "MATCH (a:Person)-[:WROTE]->(d), (d)-[:CITES]->(e) RETURN a.name, e.title",
        &none,
    );
    assert_eq!(parts, [json!({"a.name": "ann", "e.title": "vectors"})]);
    let filtered = rows(
        &db,
        "MATCH (a:Person)-[r:KNOWS]->(b:Person) WHERE a.age > 20 AND r.since >= 2015 \
         AND (b.name = 'cy' OR b.name = 'dan') RETURN a.name, b.name",
        &none,
    );
    assert_eq!(
        filtered,
        [
            json!({"a.name": "bob", "b.name": "cy"}),
            json!({"a.name": "cy", "b.name": "dan"})
        ]
    );
    let residual = rows(
        &db,
        "MATCH (a:Person)-[:KNOWS]->(b:Person) WHERE a.age > b.age RETURN a.name ORDER BY a.name",
        &none,
    );
    assert_eq!(names(&residual, "a.name"), [json!("ann"), json!("cy")]);
}

#[test]
fn similarity_return_aggregates_order_and_limit() {
    let (_dir, db) = temp_db();
    social(&db);
    let v = json!({"v": [1.0, 0.0]});
    let near = rows(
        &db,
        "MATCH (a:Person)-[:WROTE]->(d:Doc) WHERE similarity(d.embedding, $v) > 0.5 \
         RETURN a.name, d.title, similarity() AS score ORDER BY similarity() DESC LIMIT 5",
        &v,
    );
    assert_eq!(names(&near, "d.title"), [json!("graphs"), json!("search")]);
    assert!((near[0]["score"].as_f64().unwrap() - 1.0).abs() < 1e-5);
    let counted = rows(
        &db,
        "MATCH (a:Person)-[:KNOWS]->(b) RETURN COUNT(*) AS n, MAX(b.age) AS oldest",
        &Value::Null,
    );
    assert_eq!(counted, [json!({"n": 3, "oldest": 40})]);
    let per_person = rows(
        &db,
        "MATCH (a:Person)-[]->(b) RETURN a.name, COUNT(*) AS n ORDER BY n DESC LIMIT 1",
        &Value::Null,
    );
    assert_eq!(per_person, [json!({"a.name": "ann", "n": 3})]);
    let limited = rows(&db, "MATCH (a:Person) RETURN a.name LIMIT 2", &Value::Null);
    assert_eq!(limited.len(), 2);
    let whole = rows(&db, "MATCH (a:Person {name: 'dan'}) RETURN a", &Value::Null);
    assert_eq!(whole[0]["a"]["id"], json!(4));
    assert_eq!(whole[0]["a"]["payload"]["age"], json!(19));
}

#[test]
fn explain_shows_the_start_and_analyze_counts_the_work() {
    let (_dir, db) = temp_db();
    social(&db);
    let v = json!({"v": [0.0, 1.0]});
    let plan = rows(
        &db,
        "EXPLAIN MATCH (a:Person)-[:WROTE]->(d:Doc) WHERE similarity(d.embedding, $v) > 0.9 \
         RETURN a.name",
        &v,
    );
    let steps: Vec<String> = plan[0]["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert!(
        steps[0].starts_with("vector index top-k for d: 1 nodes"),
        "{steps:?}"
    );
    assert!(steps.iter().any(|s| s.starts_with("start d")), "{steps:?}");
    let g = db.get_graph_collection("social").unwrap();
    g.create_node_property_index("name", nearstore::FieldIndexKind::Keyword)
        .unwrap();
    let indexed = rows(
        &db,
        "EXPLAIN ANALYZE MATCH (a {name: 'bob'})-[:KNOWS]->(b) RETURN b.name",
        &Value::Null,
    );
    let p = &indexed[0]["plan"];
    assert!(
        p["steps"][0]
            .as_str()
            .unwrap()
            .contains("node property index"),
        "{p}"
    );
    assert_eq!(p["actual_rows"], json!(1));
    assert!(p["actual"]["edges_visited"].as_u64().unwrap() >= 1, "{p}");
    // A property index giving a few start nodes beats the exact search over every
    // embedding: the plan starts there and checks each binding's score.
    let sql = "MATCH (a {name: 'bob'})-[:WROTE]->(d) WHERE similarity(d.embedding, $v) > 0.9 \
               RETURN d.title";
    let plan = rows(&db, &format!("EXPLAIN {sql}"), &v);
    let steps = plan[0]["plan"]["steps"].as_array().unwrap();
    assert!(
        steps[0].as_str().unwrap().contains("node property index"),
        "{steps:?}"
    );
    assert!(
        !steps
            .iter()
            .any(|s| s.as_str().unwrap().contains("vector index")),
        "{steps:?}"
    );
    let all = rows(
        &db,
        "MATCH (a {name: 'bob'})-[:WROTE]->(d) RETURN d.title, similarity(d.embedding, $v) AS s",
        &v,
    );
    let mut want: Vec<Value> = all
        .iter()
        .filter(|r| r["s"].as_f64().unwrap() > 0.9)
        .map(|r| r["d.title"].clone())
        .collect();
    let mut got: Vec<Value> = rows(&db, sql, &v)
        .iter()
        .map(|r| r["d.title"].clone())
        .collect();
    want.sort_by_key(|t| t.to_string());
    got.sort_by_key(|t| t.to_string());
    assert_eq!(want, [json!("vectors")]);
    assert_eq!(got, want);
    let scan = rows(
        &db,
        "EXPLAIN MATCH (a:Person)-[:KNOWS]->(b) RETURN b",
        &Value::Null,
    );
    assert!(
        scan[0]["plan"]["steps"][0]
            .as_str()
            .unwrap()
            .contains("scan"),
        "{scan:?}"
    );
}

#[test]
fn match_as_a_select_predicate_and_collection_bindings() {
    let (_dir, db) = temp_db();
    social(&db);
    let authors = rows(
        &db,
        "SELECT id FROM social WHERE MATCH (p:Person)-[:WROTE]->(d:Doc {year: 2020}) ORDER BY id",
        &Value::Null,
    );
    assert_eq!(names(&authors, "id"), [json!(1), json!(3)]);
    let m = db.create_metadata_collection("reviews").unwrap();
    m.upsert(vec![
        Point::without_vector(10, Some(json!({"stars": 5}))),
        Point::without_vector(11, Some(json!({"stars": 2}))),
    ])
    .unwrap();
    let good = rows(
        &db,
        "MATCH (a@social)-[:WROTE]->(r@reviews) WHERE r.stars > 3 RETURN a.name, r.stars",
        &Value::Null,
    );
    assert_eq!(good, [json!({"a.name": "ann", "r.stars": 5})]);
}

#[test]
fn guardrails_are_clear_errors() {
    let (_dir, db) = temp_db();
    social(&db);
    let deep = db
        .execute("MATCH (a)-[:KNOWS*1..100]->(b) RETURN b", &Value::Null)
        .unwrap_err();
    assert_eq!(deep.kind(), ErrorKind::InvalidArgument);
    assert!(deep.to_string().contains("64"), "{deep}");
    let g = db.get_graph_collection("social").unwrap();
    let mut request = nearstore::MatchRequest::new(
        nearstore::PathPattern::new(nearstore::NodePattern::named("a"))
            .then(
                nearstore::RelPattern::both().hops(1, 5),
                nearstore::NodePattern::named("b"),
            )
            .into(),
    );
    request.max_rows = Some(3);
    assert_eq!(
        g.match_pattern(&request).unwrap_err().kind(),
        ErrorKind::ResourceExhausted
    );
    request.max_rows = None;
    request.deadline = Some(nearstore::Deadline::expired());
    assert_eq!(
        g.match_pattern(&request).unwrap_err().kind(),
        ErrorKind::Cancelled
    );
    let no_embedding = db
        .create_graph_collection("plain", GraphCollectionConfig::schemaless())
        .unwrap();
    no_embedding.upsert_node_payload(1, json!({})).unwrap();
    let err = db
        .execute(
            "MATCH (a@plain) WHERE similarity(a.embedding, $v) > 0.5 RETURN a",
            &json!({"v": [1.0, 0.0]}),
        )
        .unwrap_err();
    assert!(err.to_string().contains("no embeddings"), "{err}");
}

// ---- proptest against a brute-force matcher ----

/// A random small graph: node labels (A/B), an integer property, 2-d embeddings, labelled
/// edges (R/S).
#[derive(Debug, Clone)]
struct Model {
    nodes: Vec<(u64, &'static str, i64, [f32; 2])>,
    edges: Vec<(u64, u64, u64, &'static str)>,
}

fn arb_model() -> impl Strategy<Value = Model> {
    (
        proptest::collection::vec((any::<bool>(), 0i64..4, -3i8..4, -3i8..4), 2..7),
        proptest::collection::vec((0usize..7, 0usize..7, any::<bool>()), 0..12),
    )
        .prop_map(|(nodes, edges)| {
            let nodes: Vec<_> = nodes
                .into_iter()
                .enumerate()
                .map(|(i, (a, p, x, y))| {
                    (
                        i as u64 + 1,
                        if a { "A" } else { "B" },
                        p,
                        [f32::from(x), f32::from(y)],
                    )
                })
                .collect();
            let n = nodes.len();
            let edges = edges
                .into_iter()
                .enumerate()
                .map(|(i, (s, t, r))| {
                    (
                        i as u64 + 100,
                        (s % n) as u64 + 1,
                        (t % n) as u64 + 1,
                        if r { "R" } else { "S" },
                    )
                })
                .collect();
            Model { nodes, edges }
        })
}

/// The query shapes checked: `(a:LA)-[:T*min..max dir]-(b) WHERE a.p >= k [AND
/// similarity(b) > t]`.
#[derive(Debug, Clone)]
struct Shape {
    label: Option<&'static str>,
    rel: Option<&'static str>,
    dir: u8,
    min: u32,
    max: u32,
    p_at_least: i64,
    threshold: Option<f32>,
}

fn arb_shape() -> impl Strategy<Value = Shape> {
    (
        proptest::option::of(prop_oneof![Just("A"), Just("B")]),
        proptest::option::of(prop_oneof![Just("R"), Just("S")]),
        0u8..3,
        0u32..3,
        0u32..3,
        0i64..4,
        proptest::option::of(-1.0f32..1.0),
    )
        .prop_map(|(label, rel, dir, a, b, p, threshold)| Shape {
            label,
            rel,
            dir,
            min: a.min(b),
            max: a.max(b).max(1),
            p_at_least: p,
            threshold,
        })
}

fn cosine(a: [f32; 2], b: [f32; 2]) -> Option<f32> {
    let na = (a[0] * a[0] + a[1] * a[1]).sqrt();
    let nb = (b[0] * b[0] + b[1] * b[1]).sqrt();
    (na > 0.0 && nb > 0.0).then(|| (a[0] * b[0] + a[1] * b[1]) / (na * nb))
}

/// Every (a, b) with a trail of min..=max edges (no edge twice) from a to b.
fn brute_force(m: &Model, s: &Shape, q: [f32; 2]) -> BTreeMap<(u64, u64), usize> {
    let mut out = BTreeMap::new();
    let node = |id: u64| m.nodes.iter().find(|n| n.0 == id).copied();
    for a in &m.nodes {
        if s.label.is_some_and(|l| l != a.1) || a.2 < s.p_at_least {
            continue;
        }
        // Depth-first over trails.
        let mut stack: Vec<(u64, Vec<u64>)> = vec![(a.0, Vec::new())];
        while let Some((at, used)) = stack.pop() {
            let depth = used.len() as u32;
            if depth >= s.min {
                let b = node(at).unwrap();
                let ok = match s.threshold {
                    Some(t) => cosine(b.3, q).is_some_and(|c| c > t),
                    None => true,
                };
                if ok {
                    *out.entry((a.0, at)).or_insert(0) += 1;
                }
            }
            if depth == s.max {
                continue;
            }
            for e in &m.edges {
                if used.contains(&e.0) || s.rel.is_some_and(|r| r != e.3) {
                    continue;
                }
                let next = match s.dir {
                    0 if e.1 == at => Some(e.2),
                    1 if e.2 == at => Some(e.1),
                    2 if e.1 == at => Some(e.2),
                    2 if e.2 == at => Some(e.1),
                    _ => None,
                };
                // An undirected self-loop is one step, not two.
                let nexts: Vec<u64> = match (s.dir, next) {
                    (2, _) if e.1 == at && e.2 == at => vec![at],
                    (_, Some(n)) => vec![n],
                    _ => Vec::new(),
                };
                for n in nexts {
                    let mut u = used.clone();
                    u.push(e.0);
                    stack.push((n, u));
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn match_equals_a_brute_force_matcher(model in arb_model(), shapes in proptest::collection::vec(arb_shape(), 4)) {
        let (_dir, db) = temp_db();
        let g = db
            .create_graph_collection(
                "g",
                GraphCollectionConfig::schemaless().with_embedding(2, DistanceMetric::Cosine),
            )
            .unwrap();
        g.upsert(
            model
                .nodes
                .iter()
                .map(|&(id, l, p, v)| {
                    let vector = if v == [0.0, 0.0] { vec![1.0, 0.0] } else { v.to_vec() };
                    Point::new(id, vector, Some(json!({"_labels": [l], "p": p})))
                })
                .collect(),
        )
        .unwrap();
        let model = Model {
            nodes: model
                .nodes
                .iter()
                .map(|&(id, l, p, v)| (id, l, p, if v == [0.0, 0.0] { [1.0, 0.0] } else { v }))
                .collect(),
            edges: model.edges.clone(),
        };
        g.add_edges_batch(
            model
                .edges
                .iter()
                .map(|&(id, s, t, l)| GraphEdge::new(id, s, t, l))
                .collect(),
        )
        .unwrap();
        let q = [0.6f32, 0.8];
        for s in shapes {
            let label = s.label.map(|l| format!(":{l}")).unwrap_or_default();
            let rel = s.rel.map(|r| format!(":{r}")).unwrap_or_default();
            let hops = format!("*{}..{}", s.min, s.max);
            let (left, right) = match s.dir {
                0 => ("-", "->"),
                1 => ("<-", "-"),
                _ => ("-", "-"),
            };
            let mut sql = format!(
                "MATCH (a{label})" ) + &format!("{left}[{rel}{hops}]{right}(b) WHERE a.p >= {}", s.p_at_least);
            if let Some(t) = s.threshold {
                sql.push_str(&format!(" AND similarity(b.embedding, $v) > {t}"));
            }
            sql.push_str(" RETURN a.id AS a, b.id AS b LIMIT 10000");
            let got = rows(&db, &sql, &json!({"v": q}));
            let mut counts: BTreeMap<(u64, u64), usize> = BTreeMap::new();
            for r in &got {
                *counts
                    .entry((r["a"].as_u64().unwrap(), r["b"].as_u64().unwrap()))
                    .or_insert(0) += 1;
            }
            let expected = brute_force(&model, &s, q);
            prop_assert_eq!(&counts, &expected, "{}", sql);
            let distinct: BTreeSet<_> = counts.keys().collect();
            prop_assert!(distinct.len() <= counts.len());
        }
    }
}

#[test]
fn a_match_row_stands_for_the_end_node_of_the_first_path() {
    use nearstore::{MatchRequest, NodePattern, PathPattern, RelPattern};
    let (_dir, db) = temp_db();
    social(&db);
    let g = db.get_graph_collection("social").unwrap();
    let ann = || NodePattern::named("a").condition(nearstore::Filter::eq("name", json!("ann")));
    let named = MatchRequest::new(
        PathPattern::new(ann())
            .then(
                RelPattern::outgoing().types(&["KNOWS"]),
                NodePattern::named("b"),
            )
            .into(),
    );
    let rows = g.match_pattern(&named).unwrap().rows;
    assert_eq!(rows.iter().map(|r| r.node).collect::<Vec<_>>(), [2]);
    let anonymous = MatchRequest::new(
        PathPattern::new(ann())
            .then(RelPattern::outgoing().types(&["WROTE"]), NodePattern::any())
            .into(),
    );
    assert_eq!(g.match_pattern(&anonymous).unwrap().rows[0].node, 10);
    let alone = MatchRequest::new(PathPattern::new(ann()).into());
    assert_eq!(g.match_pattern(&alone).unwrap().rows[0].node, 1);
}

#[test]
fn an_expired_node_is_matched_by_no_pattern_and_gets_no_new_edge() {
    let (_dir, db) = temp_db();
    let clock = std::sync::Arc::new(nearstore::ManualWallClock::new(1_000_000));
    db.set_wall_clock(clock.clone());
    let g = db
        .create_graph_collection("g", GraphCollectionConfig::schemaless())
        .unwrap();
    g.upsert(vec![
        Point::without_vector(1, Some(json!({"n": 1}))),
        Point::without_vector(2, Some(json!({"n": 2}))).with_expires_at(1_000_500),
        Point::without_vector(3, Some(json!({"n": 3}))),
    ])
    .unwrap();
    g.add_edges_batch(vec![
        GraphEdge::new(1, 1, 2, "R"),
        GraphEdge::new(2, 1, 3, "R"),
    ])
    .unwrap();
    let before = rows(
        &db,
        "MATCH (a {n: 1})-[:R]->(b) RETURN b.n LIMIT 1",
        &Value::Null,
    );
    assert_eq!(before.len(), 1);
    clock.advance(std::time::Duration::from_secs(1));
    let after = rows(&db, "MATCH (a {n: 1})-[:R]->(b) RETURN b.n", &Value::Null);
    assert_eq!(after, [json!({"b.n": 3})]);
    let limited = rows(
        &db,
        "MATCH (a {n: 1})-[:R]->(b) RETURN b.n LIMIT 1",
        &Value::Null,
    );
    assert_eq!(limited, [json!({"b.n": 3})]);
    assert_eq!(
        g.add_edge(GraphEdge::new(3, 3, 2, "R")).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}
