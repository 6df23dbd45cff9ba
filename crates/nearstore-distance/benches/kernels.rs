//! Kernel benchmark: our dispatched kernels against the `simsimd` and `numkong` crates and
//! a plain Rust loop, at 128/384/768/1536 dimensions, hot (one pair, in L1) and streaming
//! (one query against a pool of vectors larger than the caches, visited in order).
//!
//! Run: `cargo bench -p nearstore-distance --bench kernels`, then
//! `python3 crates/nearstore-distance/benches/ratio_table.py` for the markdown table
//! (median ns and ratio against the fastest peer crate). Groups are `<kernel>-<hot|stream>`,
//! functions `nearstore` / `simsimd` / `numkong` / `plain`, parameter the dimension (bits
//! for the binary kernels).

mod common;

use common::values;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nearstore_distance::f16;

const DIMS: [usize; 4] = [128, 384, 768, 1536];
/// Streaming pools are at least this large (well past the L2/L3 caches).
const POOL_BYTES: usize = 96 << 20;

fn plain_dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn plain_l2sq(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn plain_l1(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
}

fn plain_cos(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa.sqrt() * bb.sqrt())
    }
}

/// One element type's data at one dimension: a query, a hot partner, a streaming pool.
/// The pool starts on a 64-byte boundary, as the engine's vector file does.
struct Data<T> {
    dim: usize,
    query: Vec<T>,
    buf: Vec<T>,
    start: usize,
    len: usize,
}

impl<T: Copy> Data<T> {
    fn new(dim: usize, elem_bytes: usize, make: impl Fn(&[f32]) -> Vec<T>) -> Self {
        let count = (POOL_BYTES / (dim * elem_bytes)).max(2);
        Data::from_parts(dim, make(&values(dim, 1)), &make(&values(dim * count, 2)))
    }

    fn from_parts(dim: usize, query: Vec<T>, pool: &[T]) -> Self {
        let mut buf = vec![pool[0]; pool.len() + 64];
        let start = buf.as_ptr().align_offset(64).min(64);
        buf[start..start + pool.len()].copy_from_slice(pool);
        Data {
            dim,
            query,
            buf,
            start,
            len: pool.len(),
        }
    }

    fn pool(&self) -> &[T] {
        &self.buf[self.start..self.start + self.len]
    }

    fn map<U: Copy>(&self, dim: usize, f: impl Fn(&T) -> U) -> Data<U> {
        let pool: Vec<U> = self.pool().iter().map(&f).collect();
        Data::from_parts(dim, self.query.iter().map(&f).collect(), &pool)
    }

    fn hot(&self) -> &[T] {
        &self.pool()[..self.dim]
    }

    fn count(&self) -> usize {
        self.len / self.dim
    }
}

/// Benchmarks `f` hot (same pair) and streaming (query vs each pool vector in turn).
fn run<T: Copy, R>(
    c: &mut Criterion,
    kernel: &str,
    who: &str,
    data: &Data<T>,
    f: impl Fn(&[T], &[T]) -> R,
) {
    run_labeled(c, kernel, who, data, data.dim, f);
}

/// [`run`] reported under `label` (the bit count for bit vectors).
fn run_labeled<T: Copy, R>(
    c: &mut Criterion,
    kernel: &str,
    who: &str,
    data: &Data<T>,
    label: usize,
    f: impl Fn(&[T], &[T]) -> R,
) {
    let dim = data.dim;
    c.benchmark_group(format!("{kernel}-hot")).bench_with_input(
        BenchmarkId::new(who, label),
        &label,
        |b, _| {
            let (q, v) = (data.query.as_slice(), data.hot());
            b.iter(|| f(black_box(q), black_box(v)));
        },
    );
    c.benchmark_group(format!("{kernel}-stream"))
        .bench_with_input(BenchmarkId::new(who, label), &label, |b, _| {
            let (q, n, pool) = (data.query.as_slice(), data.count(), data.pool());
            let mut i = 0;
            b.iter(|| {
                i += 1;
                if i == n {
                    i = 0;
                }
                f(black_box(q), black_box(&pool[i * dim..(i + 1) * dim]))
            });
        });
}

fn f32_kernels(c: &mut Criterion) {
    for dim in DIMS {
        let d = Data::new(dim, 4, |v| v.to_vec());
        run(c, "f32_dot", "nearstore", &d, nearstore_distance::dot);
        run(c, "f32_dot", "simsimd", &d, |a, b| {
            <f32 as simsimd::SpatialSimilarity>::dot(a, b)
        });
        run(c, "f32_dot", "numkong", &d, |a, b| {
            <f32 as numkong::Dot>::dot(a, b)
        });
        run(c, "f32_dot", "plain", &d, plain_dot);

        run(
            c,
            "f32_l2sq",
            "nearstore",
            &d,
            nearstore_distance::l2_squared,
        );
        run(c, "f32_l2sq", "simsimd", &d, |a, b| {
            <f32 as simsimd::SpatialSimilarity>::l2sq(a, b)
        });
        run(c, "f32_l2sq", "numkong", &d, |a, b| {
            <f32 as numkong::Euclidean>::sqeuclidean(a, b)
        });
        run(c, "f32_l2sq", "plain", &d, plain_l2sq);

        run(c, "f32_l1", "nearstore", &d, nearstore_distance::l1);
        run(c, "f32_l1", "plain", &d, plain_l1);

        run(c, "f32_cos", "nearstore", &d, nearstore_distance::cosine);
        run(c, "f32_cos", "simsimd", &d, |a, b| {
            <f32 as simsimd::SpatialSimilarity>::cos(a, b)
        });
        run(c, "f32_cos", "numkong", &d, |a, b| {
            <f32 as numkong::Angular>::angular(a, b)
        });
        run(c, "f32_cos", "plain", &d, plain_cos);
    }
}

fn f16_kernels(c: &mut Criterion) {
    for dim in DIMS {
        let ours = Data::new(dim, 2, |v| v.iter().map(|x| f16::from_f32(*x)).collect());
        let ss = ours.map(dim, |h| simsimd::f16(h.to_bits()));
        let nk = ours.map(dim, |h| numkong::f16(h.to_bits()));
        run(
            c,
            "f16_dot",
            "nearstore",
            &ours,
            nearstore_distance::dot_f16,
        );
        run(c, "f16_dot", "simsimd", &ss, |a, b| {
            <simsimd::f16 as simsimd::SpatialSimilarity>::dot(a, b)
        });
        run(c, "f16_dot", "numkong", &nk, |a, b| {
            <numkong::f16 as numkong::Dot>::dot(a, b)
        });
    }
}

fn int8_kernels(c: &mut Criterion) {
    for dim in DIMS {
        let u = Data::new(dim, 1, |v| {
            v.iter().map(|x| ((x + 1.0) * 127.5) as u8).collect()
        });
        let i = Data::new(dim, 1, |v| v.iter().map(|x| (x * 127.0) as i8).collect());
        run(c, "u8_dot", "nearstore", &u, nearstore_distance::dot_u8);
        run(c, "u8_dot", "numkong", &u, |a, b| {
            <u8 as numkong::Dot>::dot(a, b)
        });
        run(
            c,
            "u8_l2sq",
            "nearstore",
            &u,
            nearstore_distance::l2_squared_u8,
        );
        run(c, "u8_l2sq", "numkong", &u, |a, b| {
            <u8 as numkong::Euclidean>::sqeuclidean(a, b)
        });
        run(c, "i8_dot", "nearstore", &i, nearstore_distance::dot_i8);
        run(c, "i8_dot", "simsimd", &i, |a, b| {
            <i8 as simsimd::SpatialSimilarity>::dot(a, b)
        });
        run(c, "i8_dot", "numkong", &i, |a, b| {
            <i8 as numkong::Dot>::dot(a, b)
        });
    }
}

fn binary_kernels(c: &mut Criterion) {
    for bits in DIMS {
        let words = Data::new(bits / 64, 8, |v| {
            v.iter()
                .map(|x| u64::from(x.to_bits()).wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .collect()
        });
        let to_bytes = |w: &[u64]| -> Vec<u8> { w.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let bytes = Data::from_parts(bits / 8, to_bytes(&words.query), &to_bytes(words.pool()));
        let nk = bytes.map(bits / 8, |b| numkong::u1x8(*b));
        // Reported under the bit count, whatever the slice's element type.
        let k = "bits_hamming";
        run_labeled(
            c,
            k,
            "nearstore",
            &words,
            bits,
            nearstore_distance::hamming_bits,
        );
        run_labeled(c, k, "simsimd", &bytes, bits, |a, b| {
            <u8 as simsimd::BinarySimilarity>::hamming(a, b)
        });
        run_labeled(c, k, "numkong", &nk, bits, |a, b| {
            <numkong::u1x8 as numkong::Hamming>::hamming(a, b)
        });
    }
}

/// RaBitQ's list scan: a 128-byte query against 1,024 lists of 128 signed bytes, 16 lists
/// interleaved a block (64 calls a scan), with every table this CPU has (function: the
/// table's ISA); parameter: lists.
fn rows16_scan(c: &mut Criterion) {
    const LISTS: usize = 1024;
    const P: usize = 128;
    let values = values(LISTS * P + P, 7);
    let q: Vec<u8> = values[..P]
        .iter()
        .map(|x| ((x + 1.0) * 127.5) as u8)
        .collect();
    let b: Vec<i8> = values[P..].iter().map(|x| (x * 127.0) as i8).collect();
    let mut group = c.benchmark_group("u8_i8_x16_scan");
    for k in nearstore_distance::Kernels::available() {
        group.bench_function(BenchmarkId::new(k.isa.name(), LISTS), |bench| {
            bench.iter(|| {
                b.chunks_exact(16 * P)
                    .map(|block| k.dot_u8_i8_x16(black_box(&q), block)[0])
                    .fold(0i32, i32::wrapping_add)
            });
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500))
        .without_plots()
}

criterion_group! {
    name = kernels;
    config = config();
    targets = f32_kernels, f16_kernels, int8_kernels, binary_kernels, rows16_scan
}
criterion_main!(kernels);
