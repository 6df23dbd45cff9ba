//! Integration tests of the query language: golden files, round-trip and no-panic
//! properties.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod arbitrary;
mod golden;
mod limits;
mod roundtrip;
