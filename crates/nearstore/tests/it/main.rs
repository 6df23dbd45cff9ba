//! Scenario tests of the engine's public API: one module per concern.

// Test code: a failed unwrap is a failed test.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod agent_memory;
mod aliases;
mod best_score;
mod bulk_indexing;
mod conformance;
mod corruption;
mod database;
mod datetime;
mod expiry;
mod filters;
mod graph;
mod graph_consistency;
mod graph_match;
mod graph_match_complete;
mod graph_match_start;
mod graph_workload;
mod groups;
mod hybrid;
mod kill9;
mod named;
mod nested;
mod payload_ops;
mod points;
mod power_loss;
mod purge;
mod ql_builder;
mod quantized;
mod readme;
mod requests;
mod search;
mod snapshot_kill9;
mod snapshots;
mod sparse;
mod streaming;
mod text;
mod vectorless;
mod workload;

use nearstore::{Database, DistanceMetric, Point, VectorCollection};
use serde_json::{Value, json};

/// A deterministic vector for (id, version).
pub fn vector_for(id: u64, version: u64, dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|i| ((id * 31 + version * 7 + i as u64 * 13) % 1000) as f32 / 7.0 - 50.0)
        .collect()
}

/// A payload with a category, a number and tags, derived from the id.
pub fn payload_for(id: u64) -> Value {
    json!({
        "category": format!("c{}", id % 5),
        "n": id,
        "even": id.is_multiple_of(2),
        "tags": [format!("t{}", id % 3), format!("t{}", id % 7)],
    })
}

/// A database in a fresh temporary directory.
pub fn temp_db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    (dir, db)
}

/// A collection of `n` points (ids 0..n) with [`payload_for`] payloads.
pub fn filled(db: &Database, name: &str, dim: usize, n: u64) -> VectorCollection {
    let c = db
        .create_collection(name, dim, DistanceMetric::Euclidean)
        .unwrap();
    let points: Vec<Point> = (0..n)
        .map(|id| Point::new(id, vector_for(id, 0, dim), Some(payload_for(id))))
        .collect();
    c.upsert_bulk(&points).unwrap();
    c
}
