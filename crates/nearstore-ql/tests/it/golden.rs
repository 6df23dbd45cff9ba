//! Golden tests: every `tests/golden/*.sql` is parsed and compared with its expectation.
//!
//! - `name.ast`: the statement parses; the file holds the canonical printed form, a blank
//!   line, and the `{:#?}` tree.
//! - `name.err`: parsing fails; the file holds `ParseError::render`.
//!
//! Cases named `error_*` must fail and all others must parse. A first line
//! `-- golden: max_query_bytes=N max_nesting=N` sets the limits for that case. Run with
//! `NEARSTORE_BLESS=1` to (re)write expectations, then review the diff by eye.

use std::fs;
use std::path::{Path, PathBuf};

use nearstore_ql::{ParseLimits, Script, parse, parse_with_limits};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir(golden_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sql"))
        .collect();
    cases.sort();
    cases
}

/// Limits from an optional `-- golden: key=value ...` first line.
fn limits_for(source: &str) -> ParseLimits {
    let mut limits = ParseLimits::default();
    let Some(directive) = source
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("-- golden:"))
    else {
        return limits;
    };
    for setting in directive.split_whitespace() {
        let (key, value) = setting.split_once('=').unwrap();
        let value: usize = value.parse().unwrap();
        match key {
            "max_query_bytes" => limits.max_query_bytes = value,
            "max_nesting" => limits.max_nesting = value,
            other => panic!("unknown golden directive {other}"),
        }
    }
    limits
}

fn render_tree(script: &Script) -> String {
    format!("{script}\n\n{script:#?}\n")
}

#[test]
fn golden_cases_match_their_expectations() {
    let bless = std::env::var("NEARSTORE_BLESS").is_ok_and(|v| v == "1");
    let cases = cases();
    assert!(
        cases.len() >= 100,
        "only {} golden cases found",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let source = fs::read_to_string(case).unwrap();
        let result = parse_with_limits(&source, &limits_for(&source));
        let wants_error = name.starts_with("error_");
        let (actual, extension, other) = match &result {
            Ok(script) => (render_tree(script), "ast", "err"),
            Err(error) => (format!("{}\n", error.render(&source)), "err", "ast"),
        };
        if wants_error != result.is_err() {
            failures.push(format!(
                "{name}: expected {}, got:\n{actual}",
                if wants_error {
                    "an error"
                } else {
                    "a successful parse"
                }
            ));
            continue;
        }
        let expected_path = case.with_extension(extension);
        let other_path = case.with_extension(other);
        if bless {
            fs::write(&expected_path, &actual).unwrap();
            if other_path.exists() {
                fs::remove_file(&other_path).unwrap();
            }
            continue;
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{name}: output differs\n--- expected\n{expected}\n--- actual\n{actual}"
            )),
            Err(_) => failures.push(format!(
                "{name}: no {extension} file (run with NEARSTORE_BLESS=1)"
            )),
        }
        if other_path.exists() {
            failures.push(format!("{name}: stale {other} file"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden failures:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn golden_inputs_reparse_from_their_canonical_form() {
    for case in cases() {
        let source = fs::read_to_string(&case).unwrap();
        let Ok(script) = parse_with_limits(&source, &limits_for(&source)) else {
            continue;
        };
        let printed = script.to_string();
        assert_eq!(
            parse(&printed),
            Ok(script.clone()),
            "{}: {printed}",
            case.display()
        );
        // Printing is a fixed point: the canonical form prints as itself.
        assert_eq!(
            parse(&printed).unwrap().to_string(),
            printed,
            "{}",
            case.display()
        );
    }
}

#[test]
fn every_expected_file_has_a_case() {
    for entry in fs::read_dir(golden_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ast" || e == "err") {
            assert!(
                path.with_extension("sql").exists(),
                "orphan {}",
                path.display()
            );
        }
    }
}
