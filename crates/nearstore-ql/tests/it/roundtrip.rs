//! Properties: printing then parsing gives the same tree; no input panics the parser.

use nearstore_ql::{parse, parse_statement};
use proptest::prelude::*;

use crate::arbitrary;

/// Tokens of the language, plus junk, for token-soup inputs.
fn token() -> impl Strategy<Value = String> {
    let vocabulary = vec![
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "NEAR",
        "NEAR_FUSED",
        "SPARSE_NEAR",
        "MATCH",
        "IN",
        "BETWEEN",
        "LIKE",
        "ILIKE",
        "IS",
        "NULL",
        "CONTAINS",
        "ANY",
        "ALL",
        "CONTAINS_TEXT",
        "GEO_DISTANCE",
        "GEO_BBOX",
        "similarity",
        "COUNT",
        "ROW_NUMBER",
        "OVER",
        "PARTITION",
        "BY",
        "ORDER",
        "GROUP",
        "HAVING",
        "LIMIT",
        "OFFSET",
        "WITH",
        "USING",
        "FUSION",
        "JOIN",
        "LEFT",
        "ON",
        "AS",
        "UNION",
        "EXCEPT",
        "INSERT",
        "UPSERT",
        "INTO",
        "VALUES",
        "UPDATE",
        "SET",
        "DELETE",
        "EDGE",
        "EDGES",
        "NODE",
        "CREATE",
        "GRAPH",
        "COLLECTION",
        "SCHEMA",
        "DROP",
        "IF",
        "EXISTS",
        "INDEX",
        "EXPLAIN",
        "ANALYZE",
        "FLUSH",
        "FULL",
        "TRAIN",
        "QUANTIZER",
        "LET",
        "RETURN",
        "NOW",
        "INTERVAL",
        "TRUE",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ".",
        "..",
        ";",
        ":",
        "*",
        "+",
        "-",
        "/",
        "|",
        "@",
        "=",
        "!=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "->",
        "<-",
        "x",
        "docs",
        "vector",
        "a.b",
        "$v",
        "$",
        "1",
        "-2",
        "0.5",
        "1e3",
        "1e",
        "'s'",
        "'",
        "\"q\"",
        "`",
        "--",
        "\n",
        "é",
        "#",
        "!",
        "\0",
        "9999999999999999999999",
    ];
    prop_oneof![
        8 => prop::sample::select(vocabulary).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(token(), 0..40), glue in prop::sample::select(vec![" ", "", "\n"])) {
        let text = tokens.join(glue);
        let _ = parse(&text);
        if let Err(error) = parse_statement(&text) {
            let _ = error.render(&text);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        if let Err(error) = parse(&text) {
            let _ = error.render(&text);
        }
    }

    #[test]
    fn printed_ast_parses_back_to_itself(script in arbitrary::script()) {
        let printed = script.to_string();
        let reparsed = parse(&printed);
        prop_assert_eq!(reparsed, Ok(script), "printed: {}", printed);
    }
}

/// Soup from a known statement: deleting or duplicating tokens of valid queries never panics
/// and whatever parses prints back to itself.
#[test]
fn mutated_valid_queries_never_panic_and_round_trip() {
    let base = "LET w = 0.5 SELECT DISTINCT d.title AS t, COUNT(*) FROM docs AS d LEFT JOIN a ON d.x = a.y \
                WHERE (vector NEAR $v OR NOT x IN (1, 2)) AND GEO_DISTANCE(p, 1.5, -2) < 10 \
                AND MATCH (a:L {k: 1})-[r:T*1..2]->(b) GROUP BY d.k HAVING COUNT(*) > 1 \
                ORDER BY w * SIMILARITY() DESC LIMIT 5 OFFSET 1 WITH (mode = 'fast') USING FUSION (k = 60)";
    let words: Vec<&str> = base.split(' ').collect();
    for skip in 0..words.len() {
        for duplicate in [false, true] {
            let mut mutated: Vec<&str> = Vec::new();
            for (i, word) in words.iter().enumerate() {
                if i != skip || duplicate {
                    mutated.push(word);
                }
                if i == skip && duplicate {
                    mutated.push(word);
                }
            }
            let text = mutated.join(" ");
            if let Ok(script) = parse(&text) {
                assert_eq!(parse(&script.to_string()), Ok(script), "{text}");
            }
        }
    }
}

/// Every prefix of every golden input, and every golden input with one word removed, parses
/// or fails without panicking; whatever parses round-trips.
#[test]
fn truncated_and_mutated_golden_inputs_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "sql") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let check = |text: &str| match parse(text) {
            Ok(script) => assert_eq!(parse(&script.to_string()), Ok(script), "{text}"),
            Err(error) => {
                let _ = error.render(text);
            }
        };
        for (i, _) in source.char_indices() {
            check(&source[..i]);
        }
        let words: Vec<&str> = source.split(' ').collect();
        for skip in 0..words.len() {
            let mutated: Vec<&str> = words
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, w)| *w)
                .collect();
            check(&mutated.join(" "));
        }
    }
}

/// The AST generator reaches every statement kind and every predicate kind, so the
/// round-trip property covers them all.
#[test]
fn generator_covers_every_statement_and_predicate_kind() {
    use nearstore_ql::ast::{Condition, Statement};
    use proptest::strategy::ValueTree;
    use std::collections::BTreeSet;

    fn predicates(condition: &Condition, seen: &mut BTreeSet<String>) {
        match condition {
            Condition::And(parts) | Condition::Or(parts) => {
                parts.iter().for_each(|p| predicates(p, seen));
            }
            Condition::Not(inner) | Condition::Group(inner) => predicates(inner, seen),
            other => {
                let name = format!("{other:?}");
                let kind = name.split([' ', '(', '{']).next().unwrap_or("").to_string();
                seen.insert(kind);
            }
        }
    }

    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = arbitrary::script();
    let mut statements = BTreeSet::new();
    let mut predicate_kinds = BTreeSet::new();
    for _ in 0..3000 {
        let script = strategy.new_tree(&mut runner).unwrap().current();
        let name = format!("{:?}", script.statement);
        statements.insert(name.split([' ', '(', '{']).next().unwrap_or("").to_string());
        if let Statement::Select(query) = &script.statement {
            for condition in query.filter.iter().chain(&query.having) {
                predicates(condition, &mut predicate_kinds);
            }
        }
    }
    assert_eq!(statements.len(), 22, "{statements:?}");
    assert_eq!(predicate_kinds.len(), 17, "{predicate_kinds:?}");
}
