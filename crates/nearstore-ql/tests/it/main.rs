//! Integration tests of the query language: golden files, round-trip and no-panic
//! properties.

// Test helpers outside `#[test]` functions unwrap too.
#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod arbitrary;
mod conformance;
mod golden;
mod limits;
mod roundtrip;
