//! `nearstore bench memory`: agent memories written through streaming ingest. Generates
//! `--count` memories (synthetic unit vectors of `--dim` dimensions around `--topics`
//! centres, each with a payload: content, timestamp, importance), writes them one
//! `stream_insert` at a time from one producer thread into a collection with streaming on
//! (a full queue: the producer waits the engine's `retry_after` and retries, counted), and
//! reports:
//!
//! - ingest rate: memories acknowledged per second (first to last acknowledgement);
//! - time to visibility: for every `--sample`-th memory, from its acknowledgement until a
//!   point read (`get`) by a second thread sees it, p50 and p99;
//! - recall latency: `--queries` top-10 searches after the ingest (one thread), p50 and
//!   p99, and recall@10 of `--check` of them against a brute-force scan;
//! - peak RSS of the process.
//!
//! Must not depend on anything but the engine's public API.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure};
use clap::Args;
use nearstore::{Database, DistanceMetric, Point, StreamingConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde_json::json;

use super::{peak_rss_mib, percentile, remove_temp_data_dir, temp_data_dir};

/// Options of `nearstore bench memory`.
#[derive(Debug, Args)]
pub struct MemoryArgs {
    /// Memories to write.
    #[arg(long, default_value_t = 100_000)]
    count: usize,
    /// Embedding dimension.
    #[arg(long, default_value_t = 384)]
    dim: usize,
    /// Topic centres the embeddings cluster around.
    #[arg(long, default_value_t = 200)]
    topics: usize,
    /// Streaming queue capacity (points).
    #[arg(long, default_value_t = 10_000)]
    buffer_size: usize,
    /// Points the drain applies at once.
    #[arg(long, default_value_t = 1_000)]
    batch_size: usize,
    /// Longest a queued point waits for the drain, in milliseconds.
    #[arg(long, default_value_t = 20)]
    flush_interval_ms: u64,
    /// Every how many memories one's time to visibility is measured.
    #[arg(long, default_value_t = 100)]
    sample: usize,
    /// Recall queries timed after the ingest.
    #[arg(long, default_value_t = 1_000)]
    queries: usize,
    /// Of them, how many are checked against a brute-force scan.
    #[arg(long, default_value_t = 100)]
    check: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 20_261_206)]
    seed: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::MIN_POSITIVE);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// Embeddings around topic centres (noise of norm about 0.5 before normalizing).
fn embeddings(
    args: &MemoryArgs,
    n: usize,
    rng: &mut ChaCha8Rng,
    centres: &[Vec<f32>],
) -> anyhow::Result<Vec<Vec<f32>>> {
    let noise = Normal::new(0.0f32, 0.5).map_err(|e| anyhow!("noise distribution: {e}"))?;
    let scale = (args.dim as f32).sqrt();
    Ok((0..n)
        .map(|_| {
            let c = &centres[rng.random_range(0..centres.len())];
            unit(c.iter().map(|x| x + noise.sample(rng) / scale).collect())
        })
        .collect())
}

/// The watcher's queue, also after a panic elsewhere (it holds plain data).
fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `nearstore bench memory`.
pub fn run_memory(args: &MemoryArgs) -> anyhow::Result<()> {
    ensure!(
        args.count > 0 && args.dim > 0 && args.topics > 0 && args.sample > 0,
        "--count, --dim, --topics and --sample must be positive"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let standard = Normal::new(0.0f32, 1.0).map_err(|e| anyhow!("normal distribution: {e}"))?;
    let centres: Vec<Vec<f32>> = (0..args.topics)
        .map(|_| unit((0..args.dim).map(|_| standard.sample(&mut rng)).collect()))
        .collect();
    let memories = embeddings(args, args.count, &mut rng, &centres)?;
    let queries = embeddings(args, args.queries.max(args.check), &mut rng, &centres)?;

    let dir = temp_data_dir("memory")?;
    let db = Database::open(&dir)?;
    let c = db.create_collection("bench_memory", args.dim, DistanceMetric::Cosine)?;
    c.enable_streaming(StreamingConfig {
        buffer_size: args.buffer_size,
        batch_size: args.batch_size,
        flush_interval: Duration::from_millis(args.flush_interval_ms),
    })?;

    // Visibility watcher: the sampled ids with their acknowledgement time, oldest first.
    let pending: Arc<Mutex<VecDeque<(u64, Instant)>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (c, pending, done) = (c.clone(), pending.clone(), done.clone());
        std::thread::spawn(move || -> anyhow::Result<Vec<f64>> {
            let mut delays = Vec::new();
            loop {
                let next = locked(&pending).front().copied();
                match next {
                    Some((id, acked)) => {
                        if c.get(&[id])?.first().is_some_and(Option::is_some) {
                            delays.push(acked.elapsed().as_secs_f64() * 1e3);
                            locked(&pending).pop_front();
                        } else {
                            std::thread::yield_now();
                        }
                    }
                    None if done.load(Ordering::Acquire) => return Ok(delays),
                    None => std::thread::yield_now(),
                }
            }
        })
    };

    let mut retries = 0u64;
    let started = Instant::now();
    for (i, embedding) in memories.iter().enumerate() {
        let id = i as u64;
        let payload = json!({
            "content": format!("memory {i}"),
            "timestamp": 1_800_000_000_000u64 + id * 1_000,
            "importance": (i % 10) as f64 / 10.0,
        });
        let point = Point::new(id, embedding.clone(), Some(payload));
        loop {
            match c.stream_insert(point.clone()) {
                Ok(()) => break,
                Err(nearstore::Error::Overloaded { retry_after, .. }) => {
                    retries += 1;
                    // The engine's backpressure hint: what a client of the server does too.
                    std::thread::sleep(retry_after);
                }
                Err(e) => return Err(e.into()),
            }
        }
        if i % args.sample == 0 {
            locked(&pending).push_back((id, Instant::now()));
        }
    }
    let ingest_seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Release);
    let mut delays = watcher
        .join()
        .map_err(|_| anyhow!("the visibility watcher panicked"))??;
    let all_visible_seconds = started.elapsed().as_secs_f64();
    delays.sort_by(f64::total_cmp);
    c.flush()?;
    ensure!(
        c.len() == args.count,
        "{} of {} memories stored",
        c.len(),
        args.count
    );

    let mut latencies = Vec::with_capacity(args.queries);
    let mut recall = 0.0;
    for (qi, q) in queries
        .iter()
        .enumerate()
        .take(args.queries.max(args.check))
    {
        let s = Instant::now();
        let hits = c.search(q, 10)?;
        if qi < args.queries {
            latencies.push(s.elapsed().as_secs_f64() * 1e6);
        }
        if qi < args.check {
            let mut exact: Vec<(f32, u64)> = memories
                .iter()
                .enumerate()
                .map(|(i, m)| (m.iter().zip(q).map(|(a, b)| a * b).sum::<f32>(), i as u64))
                .collect();
            exact.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let truth: Vec<u64> = exact.iter().take(10).map(|(_, id)| *id).collect();
            let ids: Vec<u64> = hits.iter().map(|h| h.point.id).collect();
            recall += ids.iter().filter(|id| truth.contains(id)).count() as f64 / 10.0;
        }
    }
    latencies.sort_by(f64::total_cmp);
    let report = json!({
        "memories": args.count, "dim": args.dim, "topics": args.topics,
        "streaming": {"buffer_size": args.buffer_size, "batch_size": args.batch_size,
                      "flush_interval_ms": args.flush_interval_ms},
        "ingest_seconds": ingest_seconds,
        "ingest_per_second": args.count as f64 / ingest_seconds,
        "overloaded_retries": retries,
        "all_visible_seconds": all_visible_seconds,
        "visibility_samples": delays.len(),
        "visibility_p50_ms": percentile(&delays, 0.5),
        "visibility_p99_ms": percentile(&delays, 0.99),
        "recall_queries": latencies.len(),
        "recall_p50_us": percentile(&latencies, 0.5),
        "recall_p99_us": percentile(&latencies, 0.99),
        "recall_at_10": recall / args.check.max(1) as f64,
        "peak_rss_mib": peak_rss_mib(),
    });
    drop(c);
    drop(db);
    remove_temp_data_dir(&dir);
    if args.json {
        println!("{report}");
    } else {
        println!(
            "memories          {} x {}-d (cosine, {} topics), streamed one stream_insert at a time",
            args.count, args.dim, args.topics
        );
        println!(
            "ingest            {:.0} memories/s ({ingest_seconds:.2} s; {retries} Overloaded retries; queue {}, batch {}, {} ms)",
            args.count as f64 / ingest_seconds,
            args.buffer_size,
            args.batch_size,
            args.flush_interval_ms
        );
        println!(
            "visibility        p50 {:.2} ms  p99 {:.2} ms over {} samples (all visible after {all_visible_seconds:.2} s)",
            percentile(&delays, 0.5),
            percentile(&delays, 0.99),
            delays.len()
        );
        println!(
            "recall (k=10)     p50 {:.0} us  p99 {:.0} us over {} queries; recall@10 {:.3} on {}",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.len(),
            recall / args.check.max(1) as f64,
            args.check
        );
        println!("peak RSS          {:.0} MiB", peak_rss_mib());
    }
    Ok(())
}
