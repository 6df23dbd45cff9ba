//! Streaming kernels measured interleaved: our f32 dot / L2² / cosine against `simsimd` and
//! `numkong` at 384 and 768 dimensions, one query against every vector of a pool far larger
//! than the caches.
//!
//! Streaming is bound by memory bandwidth, which this shared machine's neighbours also use,
//! so results drift by tens of percent over a criterion run, and criterion measures each
//! function in its own time window. Here every round times one full pass of each
//! implementation, in a rotating order, and the table reports each one's median over the
//! rounds: drift hits all of them alike.
//!
//! Run: `cargo bench -p nearstore-distance --bench stream_ab`.

// Benchmark code: a failed expectation is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

const POOL_BYTES: usize = 192 << 20;
const ROUNDS: usize = 25;

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

type Kernel = fn(&[f32], &[f32]) -> f32;

fn ours_dot(a: &[f32], b: &[f32]) -> f32 {
    nearstore_distance::dot(a, b)
}
fn ours_l2(a: &[f32], b: &[f32]) -> f32 {
    nearstore_distance::l2_squared(a, b)
}
fn ours_cos(a: &[f32], b: &[f32]) -> f32 {
    nearstore_distance::cosine(a, b)
}
fn ss_dot(a: &[f32], b: &[f32]) -> f32 {
    <f32 as simsimd::SpatialSimilarity>::dot(a, b).unwrap_or(0.0) as f32
}
fn ss_l2(a: &[f32], b: &[f32]) -> f32 {
    <f32 as simsimd::SpatialSimilarity>::l2sq(a, b).unwrap_or(0.0) as f32
}
fn ss_cos(a: &[f32], b: &[f32]) -> f32 {
    <f32 as simsimd::SpatialSimilarity>::cos(a, b).unwrap_or(0.0) as f32
}
fn nk_dot(a: &[f32], b: &[f32]) -> f32 {
    <f32 as numkong::Dot>::dot(a, b).map_or(0.0, |x| x as f32)
}
fn nk_l2(a: &[f32], b: &[f32]) -> f32 {
    <f32 as numkong::Euclidean>::sqeuclidean(a, b).map_or(0.0, |x| x as f32)
}
fn nk_cos(a: &[f32], b: &[f32]) -> f32 {
    <f32 as numkong::Angular>::angular(a, b).map_or(0.0, |x| x as f32)
}

/// Nanoseconds per call of one full pass of `f` over the pool.
fn pass(f: Kernel, q: &[f32], pool: &[f32], dim: usize) -> f64 {
    let started = Instant::now();
    let mut acc = 0.0f32;
    for v in pool.chunks_exact(dim) {
        acc += f(black_box(q), black_box(v));
    }
    black_box(acc);
    started.elapsed().as_secs_f64() * 1e9 / (pool.len() / dim) as f64
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let floats = POOL_BYTES / 4;
    let mut buf = values(floats + 16, 2);
    let start = buf.as_ptr().align_offset(64).min(16);
    let pool = &mut buf[start..start + floats];
    println!("| kernel | dim | nearstore ns | simsimd ns | numkong ns | ratio vs faster crate |");
    println!("|---|--:|--:|--:|--:|--:|");
    let kernels: [(&str, [Kernel; 3]); 3] = [
        ("f32 dot", [ours_dot, ss_dot, nk_dot]),
        ("f32 L2²", [ours_l2, ss_l2, nk_l2]),
        ("f32 cosine", [ours_cos, ss_cos, nk_cos]),
    ];
    for dim in [384usize, 768] {
        let used = pool.len() / dim * dim;
        let pool = &pool[..used];
        let q = values(dim, 1);
        for (name, impls) in &kernels {
            let mut times: [Vec<f64>; 3] = Default::default();
            for round in 0..ROUNDS {
                for k in 0..3 {
                    let which = (round + k) % 3;
                    times[which].push(pass(impls[which], &q, pool, dim));
                }
            }
            let [ours, ss, nk] = times.map(median);
            println!(
                "| {name} | {dim} | {ours:.1} | {ss:.1} | {nk:.1} | {:.2} |",
                ours / ss.min(nk)
            );
        }
    }
}
