//! The query-language conformance suite: every case in `ql/conformance.txt` runs against a
//! fresh database loaded by `ql/dataset.sql`, and its rows (or error) are compared with the
//! expectation written under it.
//!
//! Case format: `## name`, then one statement per line (all but the last must succeed),
//! then `=> [rows as JSON]` or `=> error <Kind>: <text the message contains>`. Parameters
//! for every case: see [`params`]. `NEARSTORE_BLESS=1` rewrites the expectations from the
//! actual results (then review the diff by eye).

use std::path::Path;

use nearstore::Database;
use serde_json::{Value, json};

fn params() -> Value {
    json!({
        "v": [0.9, 0.2], "origin": [0, 0], "far": [3, 3], "lang": "en",
        "ids": [1, 2, 3], "min_year": 2020, "tags": ["ml", "db"], "k": 3,
        "east": [1, 0]
    })
}

struct Case {
    name: String,
    statements: Vec<String>,
    expected: String,
}

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut current: Option<Case> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            if let Some(c) = current.take() {
                cases.push(c);
            }
            current = Some(Case {
                name: name.trim().to_string(),
                statements: Vec::new(),
                expected: String::new(),
            });
        } else if let Some(exp) = line.strip_prefix("=> ") {
            if let Some(c) = current.as_mut() {
                c.expected = exp.trim().to_string();
            }
        } else if !line.trim().is_empty()
            && !line.starts_with("--")
            && let Some(c) = current.as_mut()
        {
            c.statements.push(line.to_string());
        }
    }
    cases.extend(current);
    cases
}

/// Loads the data set once into `dir` (and closes it, so it is checkpointed).
fn load(dir: &Path) {
    let db = Database::open(dir).unwrap();
    let setup = include_str!("ql/dataset.sql");
    for line in setup.lines().filter(|l| !l.trim().is_empty()) {
        db.execute(line, &Value::Null)
            .unwrap_or_else(|e| panic!("{line}: {e}"));
    }
}

/// A copy of the loaded data set for one case (copying is much cheaper than loading, which
/// syncs files at every collection creation and checkpoint). Also the corruption matrix's
/// copy of its pristine database.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Zeroes the timings EXPLAIN ANALYZE reports (the only nondeterministic output), at any
/// depth of a plan tree.
fn without_timings(mut v: Value) -> Value {
    fn zero(v: &mut Value) {
        match v {
            Value::Array(items) => items.iter_mut().for_each(zero),
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "time_us" || k == "actual_time_ms" {
                        *x = json!(0);
                    } else {
                        zero(x);
                    }
                }
            }
            _ => {}
        }
    }
    zero(&mut v);
    v
}

fn outcome(db: &Database, sql: &str) -> String {
    match db.execute(sql, &params()) {
        Ok(r) => serde_json::to_string(&without_timings(
            serde_json::to_value(&r).unwrap()["rows"].clone(),
        ))
        .unwrap(),
        // One line: a rendered syntax error's underline goes after a `\n` escape.
        Err(e) => format!("error {:?}: {e}", e.kind()).replace('\n', "\\n"),
    }
}

fn matches(expected: &str, actual: &str) -> bool {
    if let Some(rest) = expected.strip_prefix("error ") {
        let (kind, text) = rest.split_once(": ").unwrap_or((rest, ""));
        return actual.starts_with(&format!("error {kind}:")) && actual.contains(text);
    }
    match (
        serde_json::from_str::<Value>(expected),
        serde_json::from_str::<Value>(actual),
    ) {
        (Ok(e), Ok(a)) => e == a,
        _ => false,
    }
}

#[test]
fn every_conformance_case_returns_its_expected_rows() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/ql/conformance.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let cases = parse_cases(&text);
    assert!(cases.len() >= 150, "{} cases", cases.len());
    let bless = std::env::var("NEARSTORE_BLESS").is_ok();
    let mut failures = Vec::new();
    let mut blessed = text.clone();
    let template = tempfile::tempdir().unwrap();
    load(template.path());
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(template.path(), dir.path());
        let db = Database::open(dir.path()).unwrap();
        let (last, setup) = case
            .statements
            .split_last()
            .expect("a case has a statement");
        for s in setup {
            db.execute(s, &params())
                .unwrap_or_else(|e| panic!("{}: setup {s}: {e}", case.name));
        }
        let actual = outcome(&db, last);
        if bless {
            let old = format!("{last}\n=> {}", case.expected);
            let new = format!("{last}\n=> {actual}");
            blessed = blessed.replacen(&old, &new, 1);
        } else if !matches(&case.expected, &actual) {
            failures.push(format!(
                "{}\n  {last}\n  expected {}\n  actual   {actual}",
                case.name, case.expected
            ));
        }
    }
    if bless {
        std::fs::write(&path, blessed).unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
