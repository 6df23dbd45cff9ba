//! The fixed cost of one engine request: a very selective filtered search (50 of 50,000
//! points match a keyword filter, so the search itself is a 50-vector exact scan), where
//! any per-request overhead (validation, request building, result conversion) shows.
//!
//! `cargo run --release -p nearstore --example selective_filter` prints ns per query for 20
//! rounds of 50,000 queries; compare builds by running their binaries alternately and
//! reading the best rounds of each.

use std::time::Instant;

use nearstore::{
    CollectionConfig, Database, DistanceMetric, FieldIndexKind, Filter, Point, SearchRequest,
};
use serde_json::json;

const DIM: usize = 384;
const POINTS: u64 = 50_000;
const QUERIES: usize = 500;
const REPEATS: usize = 100;
const ROUNDS: usize = 20;

/// Deterministic components in [-0.5, 0.5) (xorshift64: the same data for every build).
struct Components(u64);

impl Components {
    fn vector(&mut self) -> Vec<f32> {
        (0..DIM)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut components = Components(0x9E37_79B9_7F4A_7C15);
    let dir = tempfile::tempdir()?;
    let db = Database::open(dir.path())?;
    let c =
        db.create_collection_with_options("c", CollectionConfig::new(DIM, DistanceMetric::Cosine))?;
    c.create_field_index("cat", FieldIndexKind::Keyword)?;
    let points: Vec<Point> = (0..POINTS)
        .map(|i| {
            let cat = if i % 1000 == 0 { "rare" } else { "common" };
            Point::new(i, components.vector(), Some(json!({ "cat": cat })))
        })
        .collect();
    for chunk in points.chunks(10_000) {
        c.upsert_bulk(chunk)?;
    }
    let queries: Vec<Vec<f32>> = (0..QUERIES).map(|_| components.vector()).collect();
    let filter = Filter::parse(&json!({"field": "cat", "eq": "rare"}))?;
    for round in 0..ROUNDS {
        let started = Instant::now();
        let mut hits = 0usize;
        for _ in 0..REPEATS {
            for q in &queries {
                let request = SearchRequest::new(q)
                    .limit(10)
                    .filter(filter.clone())
                    .with_payload(false);
                hits += c.query(request)?.len();
            }
        }
        let per_query = started.elapsed().as_nanos() as f64 / (REPEATS * QUERIES) as f64;
        println!("round {round}: {per_query:.0} ns/query ({hits} hits)");
    }
    Ok(())
}
