//! How `UPDATE ... WHERE` and `DELETE ... WHERE` scale with the rows they match: one
//! engine scan each, so the time per matched point should stay flat from 10k to 50k points
//! (before, both re-ran the SELECT with a growing OFFSET: quadratic).
//!
//! `cargo run --release -p nearstore --example update_delete_scaling` (on a quiet machine).

use std::time::Instant;

use nearstore::{Database, DistanceMetric, Point};
use serde_json::{Value, json};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("points  update_ms  update_us_per_point  delete_ms  delete_us_per_point");
    for n in [10_000u64, 50_000] {
        let dir = tempfile::tempdir()?;
        let db = Database::open(dir.path())?;
        let c = db.create_collection("c", 8, DistanceMetric::Euclidean)?;
        let points: Vec<Point> = (0..n)
            .map(|id| {
                let v: Vec<f32> = (0..8).map(|i| ((id * 31 + i * 7) % 97) as f32).collect();
                Point::new(id, v, Some(json!({"g": "a", "n": id})))
            })
            .collect();
        c.upsert_bulk(&points)?;
        let started = Instant::now();
        let r = db.execute("UPDATE c SET flag = 1 WHERE g = 'a'", &Value::Null)?;
        let update = started.elapsed();
        let started = Instant::now();
        let d = db.execute("DELETE FROM c WHERE g = 'a'", &Value::Null)?;
        let delete = started.elapsed();
        assert_eq!(c.len(), 0, "every point matched: {r:?} {d:?}");
        let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!(
            "{n:>6}  {:>9.1}  {:>19.2}  {:>9.1}  {:>19.2}",
            update.as_secs_f64() * 1e3,
            per(update),
            delete.as_secs_f64() * 1e3,
            per(delete)
        );
    }
    Ok(())
}
