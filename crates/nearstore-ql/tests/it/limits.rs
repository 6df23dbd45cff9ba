//! Limits: the deepest accepted nesting of every recursive form parses (without exhausting
//! the stack of a test thread), one level more fails with `TooDeep`, and long inputs are
//! bounded by length, not depth.

use nearstore_ql::{MAX_QUERY_BYTES, ParseErrorKind, ParseLimits, parse, parse_with_limits};

/// Builds queries of increasing depth until one fails; returns the deepest that parsed and
/// checks the failure is `TooDeep`.
fn deepest_accepted(build: impl Fn(usize) -> String) -> usize {
    for depth in 1..200 {
        let query = build(depth);
        match parse(&query) {
            Ok(script) => assert_eq!(parse(&script.to_string()), Ok(script)),
            Err(error) => {
                assert_eq!(error.kind, ParseErrorKind::TooDeep, "{query}: {error}");
                assert!(
                    error.message.contains("the limit is 64"),
                    "{}",
                    error.message
                );
                return depth - 1;
            }
        }
    }
    panic!("no depth limit reached");
}

#[test]
fn nested_condition_groups_are_bounded() {
    let deepest = deepest_accepted(|n| {
        format!(
            "SELECT * FROM t WHERE {}a = 1{}",
            "(".repeat(n),
            ")".repeat(n)
        )
    });
    assert!(deepest >= 60, "{deepest}");
}

#[test]
fn not_chains_are_bounded() {
    let deepest = deepest_accepted(|n| format!("SELECT * FROM t WHERE {}a = 1", "NOT ".repeat(n)));
    assert!(deepest >= 60, "{deepest}");
}

#[test]
fn parenthesised_arithmetic_is_bounded() {
    let deepest = deepest_accepted(|n| {
        format!(
            "SELECT * FROM t WHERE a = {}1 + b{}",
            "(".repeat(n),
            ")".repeat(n)
        )
    });
    assert!(deepest >= 30, "{deepest}");
}

#[test]
fn arithmetic_chains_are_bounded_by_tree_height() {
    let deepest = deepest_accepted(|n| format!("SELECT * FROM t ORDER BY x{}", " * x".repeat(n)));
    assert!(deepest >= 60, "{deepest}");
}

#[test]
fn unary_minus_chains_are_bounded() {
    let deepest = deepest_accepted(|n| format!("SELECT * FROM t WHERE a = {}b", "- ".repeat(n)));
    assert!(deepest >= 60, "{deepest}");
}

#[test]
fn nested_lists_are_bounded() {
    let deepest = deepest_accepted(|n| {
        format!(
            "INSERT INTO t (a) VALUES ({}1{})",
            "[".repeat(n),
            "]".repeat(n)
        )
    });
    assert!(deepest >= 60, "{deepest}");
}

#[test]
fn nested_subqueries_are_bounded() {
    let deepest = deepest_accepted(|n| {
        let mut query = "SELECT a FROM t".to_string();
        for _ in 0..n {
            query = format!("SELECT a FROM t WHERE a = ({query})");
        }
        query
    });
    assert!(deepest >= 20, "{deepest}");
}

#[test]
fn nested_in_subqueries_are_bounded() {
    let deepest = deepest_accepted(|n| {
        let mut query = "SELECT a FROM t".to_string();
        for _ in 0..n {
            query = format!("SELECT a FROM t WHERE a IN ({query})");
        }
        query
    });
    assert!(deepest >= 20, "{deepest}");
}

#[test]
fn nested_window_orderings_are_bounded() {
    let deepest = deepest_accepted(|n| {
        let mut expr = "x".to_string();
        for _ in 0..n {
            expr = format!("RANK() OVER (ORDER BY {expr})");
        }
        format!("SELECT {expr} FROM t")
    });
    assert!(deepest >= 30, "{deepest}");
}

#[test]
fn explain_does_not_nest() {
    let error = parse("EXPLAIN EXPLAIN SELECT * FROM t").unwrap_err();
    assert_eq!(error.kind, ParseErrorKind::Syntax);
    let deep = format!("{}SELECT * FROM t", "EXPLAIN ".repeat(10_000));
    assert!(parse(&deep).is_err());
}

#[test]
fn deep_nesting_in_huge_input_fails_fast_without_overflow() {
    let query = format!("SELECT * FROM t WHERE {}", "(".repeat(MAX_QUERY_BYTES - 40));
    let error = parse(&query).unwrap_err();
    assert_eq!(error.kind, ParseErrorKind::TooDeep);
    let query = format!(
        "SELECT * FROM t WHERE a = {}",
        "-".repeat(MAX_QUERY_BYTES - 40)
    );
    assert!(parse(&query).is_err());
    let query = format!(
        "SELECT * FROM t WHERE a = {}",
        "[".repeat(MAX_QUERY_BYTES - 40)
    );
    assert_eq!(parse(&query).unwrap_err().kind, ParseErrorKind::TooDeep);
}

#[test]
fn long_flat_queries_up_to_the_length_limit_parse() {
    let mut query = "SELECT * FROM t WHERE a = 0".to_string();
    let mut i = 1;
    while query.len() < MAX_QUERY_BYTES - 40 {
        query.push_str(&format!(" AND a{i} = {i}"));
        i += 1;
    }
    let script = parse(&query).unwrap();
    assert_eq!(parse(&script.to_string()), Ok(script));
}

#[test]
fn length_limit_is_checked_before_lexing() {
    let query = format!("SELECT '{}'", "x".repeat(MAX_QUERY_BYTES));
    let error = parse(&query).unwrap_err();
    assert_eq!(error.kind, ParseErrorKind::TooLong);
    assert!(
        error
            .message
            .contains(&format!("the limit is {MAX_QUERY_BYTES} bytes"))
    );
    let limits = ParseLimits {
        max_query_bytes: 10,
        ..ParseLimits::default()
    };
    assert_eq!(
        parse_with_limits("SHOW COLLECTIONS", &limits)
            .unwrap_err()
            .kind,
        ParseErrorKind::TooLong
    );
    assert!(parse_with_limits("FLUSH", &limits).is_ok());
}

#[test]
fn nesting_limit_is_configurable() {
    let limits = ParseLimits {
        max_nesting: 3,
        ..ParseLimits::default()
    };
    assert!(parse_with_limits("SELECT * FROM t WHERE (a = 1)", &limits).is_ok());
    let error = parse_with_limits("SELECT * FROM t WHERE ((a = 1))", &limits).unwrap_err();
    assert_eq!(error.kind, ParseErrorKind::TooDeep);
    assert!(error.message.contains("the limit is 3 levels"));
}
