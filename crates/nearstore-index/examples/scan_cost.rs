//! Measures the cost of exact scans per vector against the raw kernel (a development aid:
//! `cargo run --release -p nearstore-index --example scan_cost`).

use std::time::Instant;

use nearstore_index::{DistanceMetric, FlatIndex, SearchQuality, VectorIndex};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (dim, n, reps) = (384, 20_000, 50);
    let data = nearstore_testkit::random_vectors(n, dim, 1);
    let flat = FlatIndex::new(dim, DistanceMetric::Cosine);
    for (i, v) in data.iter().enumerate() {
        flat.upsert(i as u64, v)?;
    }
    let q = &data[7];
    let t = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(flat.search(q, 10, SearchQuality::Perfect, None)?);
    }
    let per = t.elapsed().as_secs_f64() / (reps * n) as f64 * 1e9;
    let k = nearstore_distance::kernels();
    println!("flat scan: {per:.1} ns per vector ({:?})", k.isa);
    let t = Instant::now();
    let mut acc = 0.0;
    for _ in 0..reps {
        for v in &data {
            acc += k.dot_f32(q, v);
        }
    }
    let per = t.elapsed().as_secs_f64() / (reps * n) as f64 * 1e9;
    println!("raw dot kernel over the pool: {per:.1} ns per vector ({acc})");
    Ok(())
}
