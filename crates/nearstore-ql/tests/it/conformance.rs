//! Conformance with the graph spec's "Query language" section (`shared/spec/graph.md`) and
//! the reference's parser-level items (issue 13): each statement they name parses to the tree
//! it means, and its canonical form re-parses to the same tree.

use nearstore_ql::ast::*;
use nearstore_ql::{Script, parse};

/// Parses `text`, checks the canonical round trip, returns the statement.
fn parses(text: &str) -> Statement {
    let script: Script = parse(text).unwrap_or_else(|e| panic!("{}", e.render(text)));
    let printed = script.to_string();
    let again = parse(&printed).unwrap_or_else(|e| panic!("{}", e.render(&printed)));
    assert_eq!(
        again, script,
        "the canonical form {printed} changed the tree"
    );
    script.statement
}

fn match_query(text: &str) -> MatchQuery {
    match parses(text) {
        Statement::Match(query) => query,
        other => panic!("{text} is not a MATCH: {other:?}"),
    }
}

fn path(segments: &[&str]) -> Path {
    segments.iter().map(|s| s.to_string()).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_spec_example_parses_to_its_parts() {
    let q = match_query(
        "MATCH (a:Label {p: v})-[r:TYPE*1..3]->(b) WHERE a.x > 1 AND similarity(b.embedding, $v) > 0.8 \
         RETURN a.name, b, similarity() ORDER BY similarity() DESC LIMIT 10",
    );
    assert_eq!(q.pattern.start.labels, strings(&["Label"]));
    assert_eq!(
        q.pattern.start.properties,
        vec![("p".to_string(), Expr::Path(path(&["v"])))]
    );
    let hop = &q.pattern.hops[0];
    assert_eq!(hop.relationship.types, strings(&["TYPE"]));
    assert_eq!(hop.relationship.direction, Direction::Outgoing);
    assert_eq!(
        hop.relationship.length,
        Some(HopRange {
            min: Some(1),
            max: Some(3)
        })
    );
    let Some(Condition::And(terms)) = &q.filter else {
        panic!("WHERE is not an AND: {:?}", q.filter);
    };
    assert!(matches!(
        &terms[1],
        Condition::SimilarityThreshold { field, vector: VectorExpr::Param(p), op: CompareOp::Gt, .. }
            if *field == path(&["b", "embedding"]) && p == "v"
    ));
    assert_eq!(q.returns.len(), 3);
    assert!(q.order_by[0].descending);
    assert_eq!(q.limit, Some(10));
}

#[test]
fn directions_types_and_variable_lengths() {
    let q = match_query(
        "MATCH (a)-[:R|S]-(b)<-[:T]-(c)-[*]->(d)-[*2]->(e)-[*..4]->(f)-[*1..]->(g) RETURN a",
    );
    let rels: Vec<&RelationshipPattern> = q.pattern.hops.iter().map(|h| &h.relationship).collect();
    assert_eq!(rels[0].direction, Direction::Undirected);
    assert_eq!(rels[0].types, strings(&["R", "S"]));
    assert_eq!(rels[1].direction, Direction::Incoming);
    let lengths: Vec<Option<HopRange>> = rels[2..].iter().map(|r| r.length).collect();
    let range = |min, max| Some(HopRange { min, max });
    assert_eq!(
        lengths,
        vec![
            range(None, None),
            range(Some(2), Some(2)),
            range(None, Some(4)),
            range(Some(1), None)
        ]
    );
}

#[test]
fn node_labels_all_hold_and_alternatives_are_groups() {
    let q = match_query("MATCH (n:A|B:C)-[]->(m:X:Y|Z|W) RETURN n");
    assert_eq!(q.pattern.start.labels, strings(&["C"]));
    assert_eq!(
        q.pattern.start.label_alternatives,
        vec![strings(&["A", "B"])]
    );
    let m = &q.pattern.hops[0].node;
    assert_eq!(m.labels, strings(&["X"]));
    assert_eq!(m.label_alternatives, vec![strings(&["Y", "Z", "W"])]);
    // Both spellings of one conjunction are one tree.
    assert_eq!(
        match_query("MATCH (n:C:A|B) RETURN n").pattern.start,
        q.pattern.start
    );
}

#[test]
fn several_pattern_parts_share_the_statement() {
    let q = match_query("MATCH (a)-[:R]->(b), (b)-[:S]->(c), (d) RETURN a, c, d");
    assert_eq!(q.further_parts.len(), 2);
    assert_eq!(q.further_parts[0].start.alias.as_deref(), Some("b"));
    assert_eq!(q.further_parts[1].start.alias.as_deref(), Some("d"));
    assert!(q.further_parts[1].hops.is_empty());
    let starts: Vec<Option<&str>> = q.parts().map(|p| p.start.alias.as_deref()).collect();
    assert_eq!(starts, vec![Some("a"), Some("b"), Some("d")]);
}

#[test]
fn collection_bindings() {
    let q = match_query("MATCH (a@people)-[:WROTE]->(d:Doc@docs {year: 2020}) RETURN d");
    assert_eq!(q.pattern.start.collection.as_deref(), Some("people"));
    let d = &q.pattern.hops[0].node;
    assert_eq!(d.collection.as_deref(), Some("docs"));
    assert_eq!(d.labels, strings(&["Doc"]));
}

#[test]
fn where_takes_every_filter_operator_on_aliased_paths() {
    let q = match_query(
        "MATCH (a)-[]->(b) WHERE a.x = 1 AND a.y != 2 AND a.y <> 3 AND a.z < 1 AND a.z <= 2 \
         AND a.w > 3 AND a.w >= 4 AND a.x IN (1, 2) AND a.y NOT IN ('a') AND a.z BETWEEN 1 AND 2 \
         AND a.s LIKE 'a%' AND a.s NOT ILIKE 'b%' AND a.n IS NULL AND a.m IS NOT NULL \
         AND b.tags CONTAINS 'x' AND b.tags CONTAINS ANY ('x', 'y') AND b.tags CONTAINS ALL ('x') \
         AND b.body MATCH 'hello' AND b.body CONTAINS_TEXT 'hi' \
         AND GEO_DISTANCE(b.loc, 1.0, 2.0) < 10 AND GEO_BBOX(b.loc, 0, 0, 1, 1) \
         AND similarity(b.embedding, [0.5, 1]) >= 0.5 AND (a.q = 1 OR NOT a.q = 2) RETURN a",
    );
    let Some(Condition::And(terms)) = q.filter else {
        panic!("WHERE is not an AND");
    };
    assert_eq!(terms.len(), 23);
    // Every leaf names its alias-qualified field; none was read as something else.
    let printed = terms
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" | ");
    for fragment in [
        "a.y != 2",
        "a.y != 3",
        "a.x IN (1, 2)",
        "a.y NOT IN ('a')",
        "a.z BETWEEN 1 AND 2",
        "a.s NOT ILIKE 'b%'",
        "a.m IS NOT NULL",
        "b.tags CONTAINS ANY ('x', 'y')",
        "b.body MATCH 'hello'",
        "GEO_BBOX(b.loc, 0, 0, 1, 1)",
        "SIMILARITY(b.embedding, [0.5, 1.0]) >= 0.5",
    ] {
        assert!(printed.contains(fragment), "{fragment} not in {printed}");
    }
}

#[test]
fn return_projections_aggregates_order_and_limit() {
    let q = match_query(
        "MATCH (a)-[r]->(b) RETURN a.name AS name, COUNT(*) AS n, COUNT(b), AVG(b.age), \
         MIN(b.age), MAX(b.age), SUM(b.age), similarity() AS score, * ORDER BY n DESC, name LIMIT 5",
    );
    assert_eq!(q.returns.len(), 9);
    assert!(matches!(
        &q.returns[1],
        SelectItem::Expr { expr: Expr::Aggregate { function: AggregateFunction::Count, .. }, alias: Some(a) } if a == "n"
    ));
    assert!(matches!(q.returns[8], SelectItem::Wildcard));
    assert_eq!(q.order_by.len(), 2);
    assert!(q.order_by[0].descending && !q.order_by[1].descending);
    assert_eq!(q.limit, Some(5));
}

#[test]
fn match_is_a_predicate_inside_select() {
    let Statement::Select(select) = parses(
        "SELECT * FROM docs WHERE MATCH (d:Doc|Note)-[:CITES]->(o:Doc {year: 2020}) AND vector NEAR $v LIMIT 5",
    ) else {
        panic!("not a SELECT");
    };
    let Some(Condition::And(terms)) = select.filter else {
        panic!("WHERE is not an AND");
    };
    let Condition::GraphMatch(pattern) = &terms[0] else {
        panic!("first term is not a graph MATCH: {:?}", terms[0]);
    };
    assert_eq!(
        pattern.start.label_alternatives,
        vec![strings(&["Doc", "Note"])]
    );
}

#[test]
fn explain_match() {
    for analyze in [false, true] {
        let word = if analyze { "ANALYZE " } else { "" };
        let text = format!("EXPLAIN {word}MATCH (a)-[:R]->(b), (b)-[]->(c) RETURN c");
        let Statement::Explain {
            analyze: a,
            statement,
        } = parses(&text)
        else {
            panic!("not an EXPLAIN");
        };
        assert_eq!(a, analyze);
        assert!(matches!(*statement, Statement::Match(ref q) if q.further_parts.len() == 1));
    }
}

#[test]
fn graph_ddl() {
    for (text, dimension) in [
        ("CREATE GRAPH COLLECTION g SCHEMALESS", None),
        ("create graph collection g schemaless", None),
        ("CREATE GRAPH COLLECTION g", None),
        (
            "CREATE GRAPH COLLECTION g (dimension = 4, metric = 'cosine') SCHEMALESS",
            Some(4),
        ),
        (
            "CREATE GRAPH COLLECTION g (dimension = 4) WITH (m = 8) SCHEMALESS",
            Some(4),
        ),
    ] {
        let Statement::CreateCollection {
            kind,
            options,
            schema,
            ..
        } = parses(text)
        else {
            panic!("{text} is not a CREATE COLLECTION");
        };
        assert_eq!(kind, CollectionKind::Graph, "{text}");
        assert_eq!(schema, None, "{text}");
        assert_eq!(options.dimension, dimension, "{text}");
    }
    let Statement::CreateCollection { schema, .. } = parses(
        "CREATE GRAPH COLLECTION g WITH SCHEMA (NODE Person (name: STRING, age: INTEGER), \
         NODE Company, EDGE WORKS_AT FROM Person TO Company)",
    ) else {
        panic!("not a CREATE COLLECTION");
    };
    let schema = schema.expect("WITH SCHEMA gives a schema");
    assert_eq!(schema.nodes.len(), 2);
    assert_eq!(
        schema.nodes[0].properties,
        vec![
            ("name".to_string(), PropertyType::String),
            ("age".to_string(), PropertyType::Integer)
        ]
    );
    assert_eq!(
        schema.edges,
        vec![EdgeSchema {
            label: "WORKS_AT".into(),
            from: "Person".into(),
            to: "Company".into()
        }]
    );
    let Statement::CreateCollection { kind, .. } = parses("CREATE METADATA COLLECTION m") else {
        panic!("not a CREATE COLLECTION");
    };
    assert_eq!(kind, CollectionKind::Metadata);
    // SCHEMALESS belongs to graphs, and excludes a schema.
    for text in [
        "CREATE COLLECTION c SCHEMALESS",
        "CREATE METADATA COLLECTION m SCHEMALESS",
        "CREATE GRAPH COLLECTION g SCHEMALESS SCHEMALESS",
        "CREATE GRAPH COLLECTION g SCHEMALESS WITH SCHEMA (NODE A)",
        "CREATE GRAPH COLLECTION g WITH SCHEMA (NODE A) SCHEMALESS",
    ] {
        assert!(parse(text).is_err(), "{text} parsed");
    }
}

#[test]
fn graph_dml_and_truncate() {
    assert!(matches!(
        parses(
            r#"INSERT NODE INTO g (id = 1, payload = '{"_labels": ["Person"], "name": "Ann"}')"#
        ),
        Statement::InsertNode {
            id: Expr::Integer(1),
            payload: Some(_),
            ..
        }
    ));
    assert!(matches!(
        parses("INSERT EDGE INTO g (id = 10, source = 1, target = 2, label = 'KNOWS') WITH PROPERTIES (since = 2020)"),
        Statement::InsertEdge { id: Expr::Integer(10), ref properties, .. } if properties.len() == 1
    ));
    assert!(matches!(
        parses("DELETE EDGE 10 FROM g"),
        Statement::DeleteEdge {
            id: Expr::Integer(10),
            ..
        }
    ));
    assert!(matches!(
        parses("SELECT EDGES FROM g WHERE label = 'KNOWS' AND source = 1 LIMIT 10"),
        Statement::SelectEdges {
            filter: Some(_),
            limit: Some(10),
            ..
        }
    ));
    for text in ["TRUNCATE g", "TRUNCATE COLLECTION g"] {
        assert_eq!(parses(text), Statement::Truncate { name: "g".into() });
    }
}

#[test]
fn ids_above_i64_max_are_u64() {
    let max = u64::MAX;
    assert!(matches!(
        parses(&format!("DELETE EDGE {max} FROM g")),
        Statement::DeleteEdge {
            id: Expr::Unsigned(u64::MAX),
            ..
        }
    ));
    let first = 1u64 << 63;
    let Statement::Insert { rows, .. } = parses(&format!(
        "INSERT INTO t (id, vector) VALUES ({first}, [1.0])"
    )) else {
        panic!("not an INSERT");
    };
    assert_eq!(rows[0][0], Expr::Unsigned(first));
    assert!(matches!(
        parses(&format!("INSERT NODE INTO g (id = {max})")),
        Statement::InsertNode {
            id: Expr::Unsigned(u64::MAX),
            ..
        }
    ));
    assert!(parse("DELETE EDGE 18446744073709551616 FROM g").is_err());
}

#[test]
fn every_metric_alias_passes_through_as_written_in_any_case() {
    for metric in [
        "dot",
        "dotproduct",
        "inner",
        "ip",
        "l2",
        "euclidean",
        "cosine",
        "hamming",
        "jaccard",
    ] {
        for written in [
            metric.to_string(),
            metric.to_ascii_uppercase(),
            format!("'{metric}'"),
            format!("'{}'", metric.to_ascii_uppercase()),
        ] {
            let text = format!("CREATE COLLECTION c (dimension = 4, metric = {written})");
            let Statement::CreateCollection { options, .. } = parses(&text) else {
                panic!("{text} is not a CREATE COLLECTION");
            };
            assert_eq!(
                options.metric.map(|m| m.to_ascii_lowercase()),
                Some(metric.to_string()),
                "{text}"
            );
        }
    }
}

#[test]
fn hnsw_options_in_with_are_kept_in_order() {
    let Statement::CreateCollection { options, with, .. } = parses(
        "CREATE COLLECTION c (dimension = 64, metric = 'euclidean') WITH (m = 32, ef_construction = 200)",
    ) else {
        panic!("not a CREATE COLLECTION");
    };
    assert_eq!(options.dimension, Some(64));
    assert_eq!(
        with,
        vec![
            ("m".to_string(), Expr::Integer(32)),
            ("ef_construction".to_string(), Expr::Integer(200))
        ]
    );
}

#[test]
fn let_binds_a_per_row_expression() {
    let text = "LET score = similarity() SELECT id, score FROM docs WHERE vector NEAR $v \
                ORDER BY score DESC LIMIT 5";
    let script = parse(text).unwrap_or_else(|e| panic!("{}", e.render(text)));
    assert_eq!(script.lets[0].name, "score");
    assert_eq!(script.lets[0].value, Expr::Similarity(None));
    assert_eq!(parse(&script.to_string()).ok(), Some(script));
}

/// Whether `condition` holds a `NEAR` leaf anywhere.
fn has_near(condition: &Condition) -> bool {
    match condition {
        Condition::VectorNear { .. } => true,
        Condition::And(terms) | Condition::Or(terms) => terms.iter().any(has_near),
        Condition::Not(inner) | Condition::Group(inner) => has_near(inner),
        _ => false,
    }
}

#[test]
fn near_parses_anywhere_a_condition_does() {
    // Where it may mean a k-NN search is the executor's to decide (issue 13); the parser
    // keeps NEAR wherever it is written.
    for text in [
        "SELECT * FROM docs WHERE (vector NEAR $v AND lang = 'en') LIMIT 5",
        "SELECT * FROM docs WHERE lang = 'en' AND (tags CONTAINS ANY ('a') AND vector NEAR $v) LIMIT 5",
        "SELECT * FROM docs WHERE vector NEAR $v OR lang = 'en' LIMIT 5",
        "SELECT * FROM docs WHERE NOT vector NEAR $v LIMIT 5",
    ] {
        let Statement::Select(select) = parses(text) else {
            panic!("{text} is not a SELECT");
        };
        assert!(select.filter.as_ref().is_some_and(has_near), "{text}");
    }
}

#[test]
fn similarity_with_arguments_is_a_return_item() {
    let q =
        match_query("MATCH (a)-[]->(b) RETURN a, similarity(b.embedding, $v) AS s ORDER BY s DESC");
    assert!(matches!(
        &q.returns[1],
        SelectItem::Expr { expr: Expr::Similarity(Some(args)), alias: Some(s) }
            if args.field == path(&["b", "embedding"]) && s == "s"
    ));
}

#[test]
fn bracketless_relationships_mean_any_type_in_their_direction() {
    let bracketless = match_query("MATCH (a)-->(b)<--(c)--(d) RETURN a");
    let bracketed = match_query("MATCH (a)-[]->(b)<-[]-(c)-[]-(d) RETURN a");
    assert_eq!(bracketless.pattern, bracketed.pattern);
    let directions: Vec<Direction> = bracketless
        .pattern
        .hops
        .iter()
        .map(|h| h.relationship.direction)
        .collect();
    assert_eq!(
        directions,
        vec![
            Direction::Outgoing,
            Direction::Incoming,
            Direction::Undirected
        ]
    );
    // Spaced arrows too; a comment after a pattern is still a comment.
    assert_eq!(
        match_query("MATCH (a) --> (b) RETURN a -- trailing note").pattern,
        match_query("MATCH (a)-[]->(b) RETURN a").pattern
    );
}

#[test]
fn a_hop_range_whose_minimum_exceeds_its_maximum_is_refused_where_written() {
    let text = "MATCH (a)-[*3..1]->(b) RETURN a";
    let error = parse(text).unwrap_err();
    assert!(error.message.contains("*3..1"), "{}", error.message);
    assert_eq!(error.column, text.find("3..1").unwrap() + 1);
    assert!(parse("MATCH (a)-[*2..2]->(b) RETURN a").is_ok());
}
