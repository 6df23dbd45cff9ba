//! Sparse-index benchmark on generated SPLADE-like data: documents and queries draw their
//! dimensions from a Zipf distribution over a vocabulary (a few dimensions are in most
//! documents, most are rare), with positive weights skewed towards small values, as learned
//! sparse encoders produce. Reports build throughput, posting bytes, the image size, exact
//! agreement with a brute-force dot product on a sample of queries, and single-thread QPS at
//! k = 10.
//!
//! ```text
//! cargo run --release -p nearstore-text --example sparse_bench -- \
//!     [--docs 100000] [--doc-nnz 120] [--query-nnz 20] [--vocab 30000] [--zipf 1.0] [--json]
//! ```

use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use nearstore_text::{SparseConfig, SparseIndex, SparseModifier, SparseVector};

#[derive(Debug, Parser)]
struct Args {
    /// Documents.
    #[arg(long, default_value_t = 100_000)]
    docs: usize,
    /// Distinct dimensions per document.
    #[arg(long, default_value_t = 120)]
    doc_nnz: usize,
    /// Distinct dimensions per query.
    #[arg(long, default_value_t = 20)]
    query_nnz: usize,
    /// Vocabulary size (dimensions).
    #[arg(long, default_value_t = 30_000)]
    vocab: usize,
    /// Zipf exponent of the dimension distribution.
    #[arg(long, default_value_t = 1.0)]
    zipf: f64,
    /// Queries.
    #[arg(long, default_value_t = 1_000)]
    queries: usize,
    /// Queries checked against a brute-force dot product.
    #[arg(long, default_value_t = 50)]
    check: usize,
    /// Apply the IDF modifier.
    #[arg(long)]
    idf: bool,
    /// Minimum seconds of query timing.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Zipf sampler over ranks `0..n` by inverse CDF.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut acc = 0.0;
        for r in 1..=n {
            acc += 1.0 / (r as f64).powf(s);
            cdf.push(acc);
        }
        cdf.iter_mut().for_each(|c| *c /= acc);
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut impl Rng) -> usize {
        let u: f64 = rng.random();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// A vector of `nnz` distinct Zipf dimensions (rank `r` is dimension `perm[r]`) with weights
/// in (0, 3], most of them small.
fn generate(
    rng: &mut impl Rng,
    zipf: &Zipf,
    perm: &[u32],
    nnz: usize,
) -> anyhow::Result<SparseVector> {
    let nnz = nnz.min(perm.len());
    let mut dims = std::collections::BTreeSet::new();
    while dims.len() < nnz {
        dims.insert(perm[zipf.sample(rng)]);
    }
    let indices: Vec<u32> = dims.into_iter().collect();
    let values: Vec<f32> = indices
        .iter()
        .map(|_| {
            let u: f32 = rng.random();
            0.01 + 2.99 * u * u
        })
        .collect();
    Ok(SparseVector::new(indices, values)?)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let zipf = Zipf::new(args.vocab, args.zipf);
    let mut perm: Vec<u32> = (0..args.vocab as u32).collect();
    for i in (1..perm.len()).rev() {
        perm.swap(i, rng.random_range(0..=i));
    }
    let docs: Vec<SparseVector> = (0..args.docs)
        .map(|_| generate(&mut rng, &zipf, &perm, args.doc_nnz))
        .collect::<anyhow::Result<_>>()?;
    let queries: Vec<SparseVector> = (0..args.queries)
        .map(|_| generate(&mut rng, &zipf, &perm, args.query_nnz))
        .collect::<anyhow::Result<_>>()?;
    let nonzeros: usize = docs.iter().map(SparseVector::len).sum();

    let modifier = if args.idf {
        SparseModifier::Idf
    } else {
        SparseModifier::None
    };
    let mut index = SparseIndex::new(SparseConfig { modifier });
    let start = Instant::now();
    for (id, v) in docs.iter().enumerate() {
        index.upsert(id as u64, v);
    }
    let build_secs = start.elapsed().as_secs_f64();
    let image = index.encode_image();
    let decode_start = Instant::now();
    let decoded = SparseIndex::decode_image(&image)?;
    let decode_secs = decode_start.elapsed().as_secs_f64();
    if decoded.len() != index.len() {
        bail!(
            "decoded image holds {} documents, index {}",
            decoded.len(),
            index.len()
        );
    }

    let never = || false;
    let run = |q: &SparseVector| -> anyhow::Result<Vec<(u64, f32)>> {
        index
            .search(q, 10, None, &never)?
            .ok_or_else(|| anyhow::anyhow!("search stopped without a stop"))
    };
    // Exactness on a sample (plain dot product only: the brute force does not apply IDF).
    let mut exact = 0;
    let checked = if args.idf {
        0
    } else {
        args.check.min(queries.len())
    };
    for q in &queries[..checked] {
        let mut all: Vec<(f32, u64)> = docs
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                d.indices()
                    .iter()
                    .any(|i| q.indices().binary_search(i).is_ok())
            })
            .map(|(id, d)| (q.dot(d), id as u64))
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let want: Vec<u64> = all.iter().take(10).map(|h| h.1).collect();
        let got: Vec<u64> = run(q)?.iter().map(|h| h.0).collect();
        exact += usize::from(got == want);
    }

    let mut passes = 0usize;
    let mut checksum = 0u64;
    let qstart = Instant::now();
    while passes == 0 || qstart.elapsed() < Duration::from_secs_f64(args.seconds) {
        for q in &queries {
            checksum = checksum.wrapping_add(run(q)?.first().map_or(0, |h| h.0));
        }
        passes += 1;
    }
    let qps = (passes * queries.len()) as f64 / qstart.elapsed().as_secs_f64();

    let report = json!({
        "engine": "nearstore-text sparse",
        "documents": args.docs,
        "vocab": args.vocab,
        "zipf": args.zipf,
        "doc_nnz": args.doc_nnz,
        "query_nnz": args.query_nnz,
        "modifier": if args.idf { "idf" } else { "none" },
        "nonzeros": nonzeros,
        "build_seconds": build_secs,
        "docs_per_second": args.docs as f64 / build_secs,
        "posting_bytes": index.posting_bytes(),
        "bytes_per_nonzero": index.posting_bytes() as f64 / nonzeros.max(1) as f64,
        "image_bytes": image.len(),
        "decode_seconds": decode_secs,
        "top10_exact": format!("{exact}/{checked}"),
        "qps_k10": qps,
        "query_passes": passes,
        "checksum": checksum,
    });
    if args.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
