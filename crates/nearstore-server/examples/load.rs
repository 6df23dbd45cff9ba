//! A load generator for a running server (native API):
//!
//! ```text
//! cargo run --release -p nearstore-server --example load -- --url http://127.0.0.1:6333 \
//!     [--clients 16] [--seconds 10] [--dim 64] [--write-percent 20] [--batch 10] \
//!     [--api-key KEY] [--pid SERVER_PID]
//! ```
//!
//! Creates collection `load` (dimension `--dim`, if absent), then runs `--clients`
//! concurrent clients for `--seconds`, each mixing searches (limit 10) and upserts of
//! `--batch` random points. Prints throughput, p50/p99/max latency per operation, the
//! status-code counts, and the server's RSS before and after when `--pid` is given. Exits 1
//! when any 5xx other than a deliberate 503 (load shedding) was seen.

#![allow(clippy::expect_used)] // a benchmark tool: failing loudly is the point

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

#[derive(Clone)]
struct Args {
    url: String,
    clients: usize,
    seconds: u64,
    dim: usize,
    write_percent: u64,
    batch: usize,
    key: Option<String>,
    pid: Option<u32>,
}

fn parse_args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:6333".into(),
        clients: 16,
        seconds: 10,
        dim: 64,
        write_percent: 20,
        batch: 10,
        key: None,
        pid: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        let num = || {
            value
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{flag}: not a number"))
        };
        match flag.as_str() {
            "--url" => a.url = value.clone(),
            "--clients" => a.clients = num() as usize,
            "--seconds" => a.seconds = num(),
            "--dim" => a.dim = num() as usize,
            "--write-percent" => a.write_percent = num(),
            "--batch" => a.batch = num() as usize,
            "--api-key" => a.key = Some(value.clone()),
            "--pid" => a.pid = Some(num() as u32),
            _ => panic!("unknown flag {flag}"),
        }
    }
    a
}

/// A small deterministic generator (xorshift), one per client.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f32 {
        (self.next() % 10_000) as f32 / 10_000.0 - 0.5
    }
    fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.unit()).collect()
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[derive(Default)]
struct Tally {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    statuses: BTreeMap<u16, u64>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let client = reqwest::Client::new();
    let with_key = |r: reqwest::RequestBuilder, key: &Option<String>| match key {
        Some(k) => r.header("api-key", k),
        None => r,
    };
    let create = with_key(
        client.post(format!("{}/v1/collections", args.url)),
        &args.key,
    )
    .json(&json!({"name": "load", "dim": args.dim, "metric": "cosine"}))
    .send()
    .await
    .expect("server unreachable");
    println!("create collection: {}", create.status());
    let rss_before = args.pid.and_then(rss_kib);

    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let next_id = Arc::new(AtomicU64::new(1_000_000));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (client, args, next_id) = (client.clone(), args.clone(), next_id.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (c as u64 + 1));
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let write = rng.next() % 100 < args.write_percent;
                let (op, req) = if write {
                    let points: Vec<_> = (0..args.batch)
                        .map(|_| {
                            let id = next_id.fetch_add(1, Ordering::Relaxed);
                            json!({"id": id, "vector": rng.vector(args.dim), "payload": {"client": c}})
                        })
                        .collect();
                    ("upsert", client.put(format!("{}/v1/collections/load/points", args.url)).json(&points))
                } else {
                    let body = json!({"vector": rng.vector(args.dim), "limit": 10});
                    ("search", client.post(format!("{}/v1/collections/load/search", args.url)).json(&body))
                };
                let req = match &args.key {
                    Some(k) => req.header("api-key", k),
                    None => req,
                };
                let t = Instant::now();
                let status = match req.send().await {
                    Ok(resp) => {
                        let s = resp.status().as_u16();
                        let _ = resp.bytes().await;
                        s
                    }
                    Err(_) => 0,
                };
                tally.latencies.entry(op).or_default().push(t.elapsed());
                *tally.statuses.entry(status).or_default() += 1;
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for t in tasks {
        let tally = t.await.expect("client task panicked");
        for (op, l) in tally.latencies {
            all.latencies.entry(op).or_default().extend(l);
        }
        for (s, n) in tally.statuses {
            *all.statuses.entry(s).or_default() += n;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total: u64 = all.statuses.values().sum();
    println!(
        "{} clients, {:.1}s: {total} requests, {:.0} req/s",
        args.clients,
        elapsed,
        total as f64 / elapsed
    );
    for (op, mut l) in all.latencies {
        l.sort();
        println!(
            "  {op:<7} n={:<7} p50={:?} p99={:?} max={:?}",
            l.len(),
            percentile(&l, 0.50),
            percentile(&l, 0.99),
            l.last().copied().unwrap_or_default()
        );
    }
    println!("  statuses: {:?} (0 = transport error)", all.statuses);
    if let Some(pid) = args.pid {
        println!(
            "  server RSS: before {:?} KiB, after {:?} KiB",
            rss_before,
            rss_kib(pid)
        );
    }
    let bad: u64 = all
        .statuses
        .iter()
        .filter(|(s, _)| (**s >= 500 && **s != 503) || **s == 0)
        .map(|(_, n)| n)
        .sum();
    if bad > 0 {
        println!("FAIL: {bad} unexpected 5xx / transport errors");
        std::process::exit(1);
    }
}
