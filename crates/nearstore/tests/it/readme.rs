//! The README's quick start is the example that runs as a doc-test, word for word (and the
//! streaming example is `examples/streaming.rs`, word for word).

#[test]
fn the_readme_quick_start_is_the_tested_example() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("examples/quickstart.rs")).unwrap();
    let readme = std::fs::read_to_string(root.join("../../README.md")).unwrap();
    assert!(
        readme.contains(&format!("```rust\n{example}```")),
        "README.md must contain examples/quickstart.rs verbatim in a rust block"
    );
}

#[test]
fn the_readme_streaming_example_is_the_tested_example() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("examples/streaming.rs")).unwrap();
    let readme = std::fs::read_to_string(root.join("../../README.md")).unwrap();
    assert!(
        readme.contains(&format!("```rust\n{example}```")),
        "README.md must contain examples/streaming.rs verbatim in a rust block"
    );
}

#[test]
fn every_statement_in_the_readme_parses() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../../README.md")).unwrap();
    let block = readme
        .split("```sql\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README has a sql block");
    let mut count = 0;
    for statement in block.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        if statement.ends_with("...") {
            continue; // "EXPLAIN ANALYZE SELECT ..." is an elision, not a statement
        }
        nearstore_ql::parse(statement).unwrap_or_else(|e| panic!("{}", e.render(statement)));
        count += 1;
    }
    assert!(count >= 10, "{count} statements");
}
