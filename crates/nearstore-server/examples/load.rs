//! A load generator and durability checker for a running server (native API):
//!
//! ```text
//! cargo run --release -p nearstore-server --example load -- --url http://127.0.0.1:6333 \
//!     [--clients 200] [--seconds 30] [--dim 64] [--write-percent 20] [--batch 10] \
//!     [--update-percent 30] [--collection load] [--run 1] [--flush-every-ms 2000] \
//!     [--api-key KEY] [--server-pid PID] [--kill-after SECS] [--durable-out FILE]
//!
//! cargo run --release -p nearstore-server --example load -- --url URL --verify FILE \
//!     [--verify FILE]... [--api-key KEY]
//! ```
//!
//! **Load mode.** Creates the collection (dimension `--dim`, if absent), then runs
//! `--clients` concurrent clients for `--seconds`, each mixing searches (limit 10) and
//! upserts of `--batch` points. Every written point has the id
//! `run << 48 | client << 32 | key` and the payload `{"run", "c", "k", "v"}` where `v` is the
//! point's version (1 on the first write of the id, +1 on every rewrite; `--update-percent`
//! of the points of a batch rewrite an earlier key of the same client); its vector is a
//! deterministic function of (id, version), so the tool knows exactly which version of
//! which id each acknowledged upsert wrote.
//!
//! Every `--flush-every-ms` a flusher snapshots the writes acknowledged so far (per id, the
//! latest acknowledged version), then calls `POST /v1/collections/{name}/flush`; when the
//! flush answers 200 the snapshot becomes the *durable set*. A final flush after the load
//! makes every acknowledged write durable. Prints throughput, p50/p99/max latency per
//! operation, status counts per operation and the server's RSS (before, peak, after) when
//! `--server-pid` is given. Fails when a 5xx other than 503 (deliberate load shedding) or a
//! transport error was seen, or a 4xx other than 408 (a bug in this tool).
//!
//! `--kill-after SECS` sends SIGKILL to `--server-pid` at that moment (or, when no flush has
//! completed by then, as soon as one has, within the load's time) and stops the load;
//! transport errors after the kill are expected and counted apart. `--durable-out FILE`
//! writes the durable set (of the last flush that completed before the kill) as JSON:
//! `{"collection", "dim", "run", "flushes", "points": [[id, durable_version,
//! last_attempted_version], ...]}`.
//!
//! **Verify mode** (`--verify FILE`, repeatable): against a (restarted) server, fetches
//! every id of the durable set with `POST /v1/collections/{name}/points/get` and checks it
//! exists with a version between its durable version and the last version any upsert tried
//! to write (a write after the flush, acknowledged or cut by the kill, may legitimately
//! have replaced it), whose payload and vector are the ones written for that version.
//! Prints `N durable writes checked, 0 missing` or fails listing what is wrong.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

#[derive(Clone, Debug)]
struct Args {
    url: String,
    clients: usize,
    seconds: u64,
    dim: usize,
    write_percent: u64,
    batch: usize,
    update_percent: u64,
    collection: String,
    run: u64,
    flush_every: Duration,
    key: Option<String>,
    pid: Option<u32>,
    kill_after: Option<Duration>,
    durable_out: Option<String>,
    verify: Vec<String>,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        url: "http://127.0.0.1:6333".into(),
        clients: 200,
        seconds: 30,
        dim: 64,
        write_percent: 20,
        batch: 10,
        update_percent: 30,
        collection: "load".into(),
        run: 1,
        flush_every: Duration::from_millis(2000),
        key: None,
        pid: None,
        kill_after: None,
        durable_out: None,
        verify: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let num = || -> Result<u64> {
            value
                .parse::<u64>()
                .with_context(|| format!("{flag}: {value:?} is not a number"))
        };
        match flag.as_str() {
            "--url" => a.url = value.trim_end_matches('/').to_string(),
            "--clients" => a.clients = usize::try_from(num()?)?,
            "--seconds" => a.seconds = num()?,
            "--dim" => a.dim = usize::try_from(num()?)?,
            "--write-percent" => a.write_percent = num()?,
            "--batch" => a.batch = usize::try_from(num()?)?.max(1),
            "--update-percent" => a.update_percent = num()?,
            "--collection" => a.collection = value.clone(),
            "--run" => a.run = num()?,
            "--flush-every-ms" => a.flush_every = Duration::from_millis(num()?.max(1)),
            "--api-key" => a.key = Some(value.clone()),
            "--pid" | "--server-pid" => a.pid = Some(u32::try_from(num()?)?),
            "--kill-after" => a.kill_after = Some(Duration::from_secs(num()?)),
            "--durable-out" => a.durable_out = Some(value.clone()),
            "--verify" => a.verify.push(value.clone()),
            _ => bail!("unknown flag {flag} (see the doc comment of examples/load.rs)"),
        }
    }
    if a.run >= 1 << 15 || a.clients >= 1 << 16 {
        bail!("--run must be below 32768 and --clients below 65536 (they are packed into ids)");
    }
    if a.kill_after.is_some() && a.pid.is_none() {
        bail!("--kill-after needs --server-pid");
    }
    Ok(a)
}

/// The id of a client's key in a run.
fn point_id(run: u64, client: usize, key: usize) -> u64 {
    (run << 48) | ((client as u64) << 32) | key as u64
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn seeded(seed: u64) -> Self {
        // splitmix64 of the seed; `| 1` keeps the xorshift state non-zero.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f32 {
        (self.next() % 10_000) as f32 / 10_000.0 - 0.5
    }
    fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.unit()).collect()
    }
}

/// The vector written for version `version` of point `id`.
fn point_vector(id: u64, version: u32, dim: usize) -> Vec<f32> {
    Rng::seeded(id ^ (u64::from(version) << 20).rotate_left(17)).vector(dim)
}

fn point_payload(run: u64, client: usize, key: usize, version: u32) -> Value {
    json!({"run": run, "c": client, "k": key, "v": version})
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn show_rss(kib: Option<u64>) -> String {
    match kib {
        Some(k) => format!("{:.1} MiB", k as f64 / 1024.0),
        None => "n/a".into(),
    }
}

/// Locks, ignoring poisoning: the data under these locks stays consistent at every
/// statement, so a panicked holder leaves nothing half-written.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Per client, per key: the latest version acknowledged and the latest one sent.
#[derive(Clone, Default)]
struct Versions {
    acked: Vec<u32>,
    attempted: Vec<u32>,
}

/// What the clients and the flusher share.
struct Shared {
    args: Args,
    http: reqwest::Client,
    clients: Vec<Mutex<Versions>>,
    /// Set just before the SIGKILL: transport errors after it are expected.
    killed: AtomicBool,
    /// Set when the load must stop (kill or end of the run).
    stop: AtomicBool,
    /// The acknowledged versions of the last flush that completed with 200, per client.
    durable: Mutex<Option<Vec<Vec<u32>>>>,
    flushes_ok: AtomicU64,
}

impl Shared {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self
            .http
            .request(method, format!("{}{path}", self.args.url));
        match &self.args.key {
            Some(k) => r.header("api-key", k),
            None => r,
        }
    }

    /// Sends a request; returns its status (0 for a transport error) and its body.
    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Option<Value>) {
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.json::<Value>().await.ok();
                (status, body)
            }
            Err(_) => (0, None),
        }
    }

    fn snapshot_acked(&self) -> Vec<Vec<u32>> {
        self.clients.iter().map(|c| lock(c).acked.clone()).collect()
    }
}

/// Latencies and statuses per operation.
#[derive(Default)]
struct Tally {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    statuses: BTreeMap<&'static str, BTreeMap<u16, u64>>,
    /// Transport errors seen after the kill (expected).
    cut_by_kill: u64,
    points_acked: u64,
}

impl Tally {
    fn record(&mut self, op: &'static str, status: u16, took: Duration, after_kill: bool) {
        if status == 0 && after_kill {
            self.cut_by_kill += 1;
            return;
        }
        self.latencies.entry(op).or_default().push(took);
        *self
            .statuses
            .entry(op)
            .or_default()
            .entry(status)
            .or_default() += 1;
    }

    fn merge(&mut self, other: Tally) {
        for (op, l) in other.latencies {
            self.latencies.entry(op).or_default().extend(l);
        }
        for (op, s) in other.statuses {
            let mine = self.statuses.entry(op).or_default();
            for (status, n) in s {
                *mine.entry(status).or_default() += n;
            }
        }
        self.cut_by_kill += other.cut_by_kill;
        self.points_acked += other.points_acked;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn client_loop(shared: Arc<Shared>, c: usize, deadline: Instant) -> Tally {
    let args = &shared.args;
    let mut rng = Rng::seeded(0x5eed ^ ((args.run << 20) + c as u64));
    let mut tally = Tally::default();
    let points_path = format!("/v1/collections/{}/points", args.collection);
    let search_path = format!("/v1/collections/{}/search", args.collection);
    while !shared.stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let write = rng.below(100) < args.write_percent;
        let (op, req, batch) = if write {
            let mut batch: Vec<(usize, u32)> = Vec::with_capacity(args.batch);
            {
                let mut v = lock(&shared.clients[c]);
                for _ in 0..args.batch {
                    let known = v.attempted.len();
                    let mut key = known;
                    if known > 0 && rng.below(100) < args.update_percent {
                        let k = rng.below(known as u64) as usize;
                        if !batch.iter().any(|(b, _)| *b == k) {
                            key = k;
                        }
                    }
                    if key == v.attempted.len() {
                        v.attempted.push(0);
                        v.acked.push(0);
                    }
                    v.attempted[key] += 1;
                    batch.push((key, v.attempted[key]));
                }
            }
            let points: Vec<Value> = batch
                .iter()
                .map(|&(key, version)| {
                    let id = point_id(args.run, c, key);
                    json!({
                        "id": id,
                        "vector": point_vector(id, version, args.dim),
                        "payload": point_payload(args.run, c, key, version),
                    })
                })
                .collect();
            let req = shared
                .request(reqwest::Method::PUT, &points_path)
                .json(&points);
            ("upsert", req, batch)
        } else {
            let body = json!({"vector": rng.vector(args.dim), "limit": 10});
            let req = shared
                .request(reqwest::Method::POST, &search_path)
                .json(&body);
            ("search", req, Vec::new())
        };
        let t = Instant::now();
        let (status, _) = shared.send(req).await;
        let took = t.elapsed();
        tally.record(op, status, took, shared.killed.load(Ordering::SeqCst));
        if write && status == 200 {
            let mut v = lock(&shared.clients[c]);
            for &(key, version) in &batch {
                if v.acked[key] < version {
                    v.acked[key] = version;
                }
            }
            tally.points_acked += batch.len() as u64;
        }
        if status == 503 {
            // Shed: back off a little, as a polite client would.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    tally
}

/// Snapshots the acknowledged writes, flushes, and on 200 makes the snapshot durable.
async fn flush_once(shared: &Shared, tally: &mut Tally) -> u16 {
    let snapshot = shared.snapshot_acked();
    let path = format!("/v1/collections/{}/flush", shared.args.collection);
    let t = Instant::now();
    let (status, _) = shared
        .send(shared.request(reqwest::Method::POST, &path))
        .await;
    let took = t.elapsed();
    tally.record("flush", status, took, shared.killed.load(Ordering::SeqCst));
    if status == 200 {
        *lock(&shared.durable) = Some(snapshot);
        shared.flushes_ok.fetch_add(1, Ordering::SeqCst);
    }
    status
}

async fn flusher(shared: Arc<Shared>, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut ticks = tokio::time::interval(shared.args.flush_every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate
    loop {
        ticks.tick().await;
        if shared.stop.load(Ordering::SeqCst) || Instant::now() >= deadline {
            break;
        }
        flush_once(&shared, &mut tally).await;
    }
    tally
}

/// Samples the server's RSS until told to stop; returns the peak.
async fn rss_sampler(pid: u32, stop: Arc<AtomicBool>) -> Option<u64> {
    let mut peak = None;
    while !stop.load(Ordering::SeqCst) {
        if let Some(k) = rss_kib(pid) {
            peak = Some(peak.map_or(k, |p: u64| p.max(k)));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    peak
}

fn sigkill(pid: u32) -> Result<()> {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .context("running kill -9")?;
    if !status.success() {
        bail!("kill -9 {pid} failed: {status}");
    }
    Ok(())
}

async fn run_load(args: Args) -> Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(args.clients + 8)
        .build()?;
    let shared = Arc::new(Shared {
        clients: (0..args.clients)
            .map(|_| Mutex::new(Versions::default()))
            .collect(),
        args: args.clone(),
        http,
        killed: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        durable: Mutex::new(None),
        flushes_ok: AtomicU64::new(0),
    });
    let (status, body) = shared
        .send(
            shared
                .request(reqwest::Method::POST, "/v1/collections")
                .json(&json!({"name": args.collection, "dim": args.dim, "metric": "cosine"})),
        )
        .await;
    match status {
        201 => println!(
            "collection {:?}: created (dim {})",
            args.collection, args.dim
        ),
        409 => println!("collection {:?}: exists", args.collection),
        0 => bail!("server at {} unreachable", args.url),
        s => bail!("creating collection {:?}: {s} {body:?}", args.collection),
    }

    let rss_before = args.pid.and_then(rss_kib);
    let sampler_stop = Arc::new(AtomicBool::new(false));
    let sampler = args
        .pid
        .map(|pid| tokio::spawn(rss_sampler(pid, sampler_stop.clone())));

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        tasks.push(tokio::spawn(client_loop(shared.clone(), c, deadline)));
    }
    let flush_task = tokio::spawn(flusher(shared.clone(), deadline));

    let mut rss_at_kill = None;
    let mut killed_at = None;
    if let (Some(after), Some(pid)) = (args.kill_after, args.pid) {
        tokio::time::sleep_until((started + after).into()).await;
        // A kill before any flush completed would leave nothing to check: wait (until the
        // load's end at most) for the first one, and say so.
        if shared.flushes_ok.load(Ordering::SeqCst) == 0 {
            while shared.flushes_ok.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            println!(
                "WARN: no flush had completed by {:.1}s; the kill waited until {:.1}s",
                after.as_secs_f64(),
                started.elapsed().as_secs_f64()
            );
        }
        rss_at_kill = rss_kib(pid);
        shared.killed.store(true, Ordering::SeqCst);
        let kill = tokio::task::spawn_blocking(move || sigkill(pid)).await?;
        killed_at = Some(started.elapsed());
        shared.stop.store(true, Ordering::SeqCst);
        kill?;
        println!(
            "SIGKILL sent to server pid {pid} at {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }

    let mut all = Tally::default();
    for t in tasks {
        all.merge(t.await.context("client task panicked")?);
    }
    let load_elapsed = started.elapsed();
    shared.stop.store(true, Ordering::SeqCst);
    all.merge(flush_task.await.context("flusher panicked")?);
    if killed_at.is_none() {
        // The final barrier: every acknowledged write becomes durable.
        let status = flush_once(&shared, &mut all).await;
        println!("final flush: {status}");
    }
    sampler_stop.store(true, Ordering::SeqCst);
    let rss_peak = match sampler {
        Some(s) => s.await.context("RSS sampler panicked")?,
        None => None,
    };

    let elapsed = load_elapsed.as_secs_f64();
    let total: u64 = all.statuses.values().flat_map(|s| s.values()).sum();
    println!(
        "{} clients, {elapsed:.1}s: {total} requests, {:.0} req/s, {} points acknowledged ({:.0} points/s)",
        args.clients,
        total as f64 / elapsed,
        all.points_acked,
        all.points_acked as f64 / elapsed
    );
    for (op, l) in &mut all.latencies {
        l.sort();
        println!(
            "  {op:<7} n={:<8} {:>7.0}/s  p50={:>9.2?} p99={:>9.2?} max={:>9.2?}",
            l.len(),
            l.len() as f64 / elapsed,
            percentile(l, 0.50),
            percentile(l, 0.99),
            l.last().copied().unwrap_or_default()
        );
    }
    for (op, s) in &all.statuses {
        println!("  statuses {op:<7} {s:?}");
    }
    println!("  (status 0 = transport error)");
    if killed_at.is_some() {
        println!(
            "  requests cut by the kill (transport errors after SIGKILL, expected): {}",
            all.cut_by_kill
        );
    }
    if args.pid.is_some() {
        let after = if killed_at.is_some() {
            format!("at kill {}", show_rss(rss_at_kill))
        } else {
            format!("after {}", show_rss(args.pid.and_then(rss_kib)))
        };
        println!(
            "  server RSS: before {}, peak {}, {after}",
            show_rss(rss_before),
            show_rss(rss_peak)
        );
    }

    // The durable set: per id, the latest version acknowledged before the last flush that
    // completed, and the latest version sent at all.
    let durable = lock(&shared.durable).take();
    let flushes = shared.flushes_ok.load(Ordering::SeqCst);
    let mut entries: Vec<[u64; 3]> = Vec::new();
    let mut distinct_acked = 0u64;
    for (c, versions) in shared.clients.iter().enumerate() {
        let v = lock(versions).clone();
        distinct_acked += v.acked.iter().filter(|&&a| a > 0).count() as u64;
        if let Some(d) = durable.as_ref().and_then(|d| d.get(c)) {
            for (key, &dv) in d.iter().enumerate() {
                if dv > 0 {
                    let attempted = v.attempted.get(key).copied().unwrap_or(dv);
                    entries.push([
                        point_id(args.run, c, key),
                        u64::from(dv),
                        u64::from(attempted),
                    ]);
                }
            }
        }
    }
    println!(
        "  flushes completed with 200: {flushes}; ids acknowledged: {distinct_acked}; durable set: {} ids",
        entries.len()
    );
    if let Some(path) = &args.durable_out {
        let doc = json!({
            "collection": args.collection,
            "dim": args.dim,
            "run": args.run,
            "flushes": flushes,
            "points": entries,
        });
        std::fs::write(path, serde_json::to_vec(&doc)?)
            .with_context(|| format!("writing {path}"))?;
        println!("  durable set written to {path}");
    }

    let mut problems = Vec::new();
    for (op, s) in &all.statuses {
        for (&status, &n) in s {
            let bad = match status {
                0 => Some("transport errors"),
                503 => None,
                408 => {
                    println!("  WARN: {n} {op} requests timed out (408)");
                    None
                }
                s if s >= 500 => Some("5xx other than 503"),
                s if s >= 400 => Some("unexpected 4xx"),
                _ => None,
            };
            if let Some(what) = bad {
                problems.push(format!("{n} {op} {what} (status {status})"));
            }
        }
    }
    if killed_at.is_some() && durable.is_none() {
        problems.push("no flush completed before the kill: nothing to verify".into());
    }
    if !problems.is_empty() {
        bail!("FAIL: {}", problems.join("; "));
    }
    println!("OK: 0 5xx other than 503, 0 transport errors before the kill");
    Ok(())
}

/// Whether `got` is `want` up to rounding (compared after normalising both, since a
/// cosine collection may store unit vectors).
fn same_direction(got: &[f32], want: &[f32]) -> bool {
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let (ng, nw) = (norm(got), norm(want));
    got.len() == want.len()
        && ng > 0.0
        && nw > 0.0
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| (f64::from(*g) / ng - f64::from(*w) / nw).abs() < 1e-4)
}

async fn verify(args: &Args, file: &str) -> Result<()> {
    let doc: Value =
        serde_json::from_slice(&std::fs::read(file).with_context(|| format!("reading {file}"))?)
            .with_context(|| format!("parsing {file}"))?;
    let collection = doc["collection"]
        .as_str()
        .context("durable file: no collection")?;
    let dim = usize::try_from(doc["dim"].as_u64().context("durable file: no dim")?)?;
    let run = doc["run"].as_u64().context("durable file: no run")?;
    let entries: Vec<[u64; 3]> = serde_json::from_value(doc["points"].clone())
        .context("durable file: points must be [[id, durable_version, attempted_version]]")?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let started = Instant::now();
    let (mut missing, mut wrong, mut newer) = (Vec::new(), Vec::new(), 0u64);
    for chunk in entries.chunks(1000) {
        let ids: Vec<u64> = chunk.iter().map(|e| e[0]).collect();
        let mut req = http
            .post(format!(
                "{}/v1/collections/{collection}/points/get",
                args.url
            ))
            .json(&json!({"ids": ids, "with_vector": true, "with_payload": true}));
        if let Some(k) = &args.key {
            req = req.header("api-key", k);
        }
        let resp = req.send().await.context("points/get")?;
        let status = resp.status();
        let body: Value = resp.json().await.context("points/get body")?;
        if !status.is_success() {
            bail!("points/get answered {status}: {body}");
        }
        let points = body["points"]
            .as_array()
            .context("points/get: no points array")?;
        if points.len() != chunk.len() {
            bail!(
                "points/get: {} answers for {} ids",
                points.len(),
                chunk.len()
            );
        }
        for (&[id, durable_v, attempted_v], p) in chunk.iter().zip(points) {
            if p.is_null() {
                missing.push(format!("{id:#x} (durable v{durable_v})"));
                continue;
            }
            let c = (id >> 32) & 0xffff;
            let key = id & 0xffff_ffff;
            let payload = &p["payload"];
            let v = payload["v"].as_u64().unwrap_or(0);
            let payload_ok = payload["run"].as_u64() == Some(run)
                && payload["c"].as_u64() == Some(c)
                && payload["k"].as_u64() == Some(key);
            if !payload_ok || v < durable_v || v > attempted_v {
                wrong.push(format!(
                    "{id:#x}: want v{durable_v}..=v{attempted_v}, got payload {payload}"
                ));
                continue;
            }
            let got: Vec<f32> = serde_json::from_value(p["vector"].clone()).unwrap_or_default();
            let want = point_vector(id, u32::try_from(v)?, dim);
            if !same_direction(&got, &want) {
                wrong.push(format!("{id:#x} v{v}: vector differs from the one written"));
                continue;
            }
            if v > durable_v {
                newer += 1;
            }
        }
    }
    println!(
        "{file}: {} durable writes checked, {} missing, {} wrong ({newer} replaced by a later write, accepted) in {:.2?}",
        entries.len(),
        missing.len(),
        wrong.len(),
        started.elapsed()
    );
    if !missing.is_empty() || !wrong.is_empty() {
        for m in missing.iter().take(20) {
            println!("  MISSING {m}");
        }
        for w in wrong.iter().take(20) {
            println!("  WRONG {w}");
        }
        bail!(
            "FAIL: {} durable writes missing, {} wrong in collection {collection:?}",
            missing.len(),
            wrong.len()
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        println!("{e:#}");
        std::process::exit(1);
    }
}

async fn run() -> Result<()> {
    let args = parse_args()?;
    if args.verify.is_empty() {
        return run_load(args).await;
    }
    let mut failed = Vec::new();
    for file in &args.verify {
        if let Err(e) = verify(&args, file).await {
            println!("{e:#}");
            failed.push(file.clone());
        }
    }
    if !failed.is_empty() {
        bail!("verification failed for {}", failed.join(", "));
    }
    Ok(())
}
