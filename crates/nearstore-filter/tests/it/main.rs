//! Integration tests of nearstore-filter: parse errors, the JSON round trip, and the payload
//! indexes against the brute-force evaluator.

// Test helpers outside `#[test]` functions unwrap too.
#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod array_paths;
mod codec_fuzz;
mod datetime_index;
mod index_oracle;
mod parse_errors;
mod path_grammar;
mod resolve_cases;
mod roundtrip;
mod strategies;
