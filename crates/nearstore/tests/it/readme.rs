//! The README's quick start is the example that runs as a doc-test, word for word.

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
