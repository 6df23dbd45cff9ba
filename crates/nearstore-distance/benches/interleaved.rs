//! Our f32 dot / L2² / cosine against `simsimd` and `numkong` at 384 and 768 dimensions,
//! measured interleaved so that this shared machine's drift cancels out.
//!
//! Criterion times each function in its own window; when a neighbour starts a build halfway
//! through, the later functions lose. Here every round times one batch of each of the three
//! implementations back to back, cycling through all six orders, and the verdict is the
//! median over the rounds of the *per-round* ratio `ours / min(simsimd, numkong)`: both
//! sides of each ratio saw the same conditions. The spread (25th-75th percentile of the per-round ratios)
//! and the share of rounds we won are printed with it, so a tie reads as a tie.
//!
//! - **hot**: the same pair of vectors every call (both in L1): compute-bound.
//! - **stream**: one query against every vector of a 192 MiB pool (past every cache), which
//!   starts on a 64-byte boundary as the engine's vector file does: memory-bound.
//!
//! Run: `cargo bench -p nearstore-distance --features peers --bench interleaved`
//! (about 20 s).

// Benchmark code: a failed expectation is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::values;
use std::hint::black_box;
use std::time::Instant;

const POOL_BYTES: usize = 192 << 20;
const ROUNDS: usize = 42;
/// Every order of the three implementations, in turn: each one follows each other one
/// equally often (a pass can leave the memory system in a state the next one inherits).
const ORDERS: [[usize; 3]; 6] = [
    [0, 1, 2],
    [1, 2, 0],
    [2, 0, 1],
    [0, 2, 1],
    [2, 1, 0],
    [1, 0, 2],
];
/// Calls per hot batch (a few milliseconds, like one streaming pass).
const HOT_CALLS: usize = 100_000;

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

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Hot,
    Stream,
}

/// Nanoseconds per call of one batch of `f`: a full pass over `pool` (stream), or
/// [`HOT_CALLS`] calls on its first vector (hot).
fn batch(mode: Mode, f: Kernel, q: &[f32], pool: &[f32], dim: usize) -> f64 {
    let started = Instant::now();
    let mut acc = 0.0f32;
    let calls = match mode {
        Mode::Stream => {
            for v in pool.chunks_exact(dim) {
                acc += f(black_box(q), black_box(v));
            }
            pool.len() / dim
        }
        Mode::Hot => {
            let v = &pool[..dim];
            for _ in 0..HOT_CALLS {
                acc += f(black_box(q), black_box(v));
            }
            HOT_CALLS
        }
    };
    black_box(acc);
    started.elapsed().as_secs_f64() * 1e9 / calls as f64
}

/// The `p`-quantile (0..=1) of `xs`, nearest rank.
fn quantile(xs: &[f64], p: f64) -> f64 {
    let mut xs = xs.to_vec();
    xs.sort_by(f64::total_cmp);
    xs[((xs.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let floats = POOL_BYTES / 4;
    let mut buf = values(floats + 16, 2);
    let start = buf.as_ptr().align_offset(64).min(16);
    let pool = &mut buf[start..start + floats];
    println!(
        "| kernel | mode | dim | nearstore ns | simsimd ns | numkong ns | ratio (median of rounds) | ratio p25-p75 | rounds won |"
    );
    println!("|---|---|--:|--:|--:|--:|--:|--:|--:|");
    let kernels: [(&str, [Kernel; 3]); 3] = [
        ("f32 dot", [ours_dot, ss_dot, nk_dot]),
        ("f32 L2²", [ours_l2, ss_l2, nk_l2]),
        ("f32 cosine", [ours_cos, ss_cos, nk_cos]),
    ];
    for mode in [Mode::Hot, Mode::Stream] {
        for dim in [384usize, 768] {
            let used = pool.len() / dim * dim;
            let pool = &pool[..used];
            let q = values(dim, 1);
            for (name, impls) in &kernels {
                let mut times: [Vec<f64>; 3] = Default::default();
                for round in 0..ROUNDS {
                    let mut order = [0.0f64; 3];
                    for which in ORDERS[round % ORDERS.len()] {
                        order[which] = batch(mode, impls[which], &q, pool, dim);
                    }
                    for (t, x) in times.iter_mut().zip(order) {
                        t.push(x);
                    }
                }
                let ratios: Vec<f64> = (0..ROUNDS)
                    .map(|r| times[0][r] / times[1][r].min(times[2][r]))
                    .collect();
                let won = ratios.iter().filter(|r| **r <= 1.0).count();
                let [ours, ss, nk] = times.map(|t| quantile(&t, 0.5));
                println!(
                    "| {name} | {} | {dim} | {ours:.1} | {ss:.1} | {nk:.1} | {:.3} | {:.3}-{:.3} | {won}/{ROUNDS} |",
                    if mode == Mode::Hot { "hot" } else { "stream" },
                    quantile(&ratios, 0.5),
                    quantile(&ratios, 0.25),
                    quantile(&ratios, 0.75),
                );
            }
        }
    }
}
