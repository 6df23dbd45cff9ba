//! Full-text benchmark: index a JSONL corpus's text field with the default analyzer, then
//! report indexing throughput, the image size, BM25 exactness against a ground truth (top-10
//! ids and maximum relative score error), and single-thread QPS at k = 10.
//!
//! ```text
//! cargo run --release -p nearstore-text --example text_bench -- \
//!     --corpus ../shared/data/wordnet-dev/base.jsonl --field text \
//!     --queries ../shared/data/wordnet-dev/query_keywords.jsonl \
//!     --gt ../shared/data/wordnet-dev/groundtruth_bm25.ivecs [--json]
//! ```
//!
//! JSON parsing of the corpus is not timed (the peer script does the same); indexing time
//! covers analysis, posting construction and sealing into one bit-packed segment.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};

use nearstore_text::{TextIndex, TextIndexConfig};

#[derive(Debug, Parser)]
struct Args {
    /// JSONL corpus; each row has an integer `id` and the text field.
    #[arg(long)]
    corpus: PathBuf,
    /// The text field to index.
    #[arg(long, default_value = "text")]
    field: String,
    /// JSONL queries; each row's `text` is the query.
    #[arg(long)]
    queries: PathBuf,
    /// Ground-truth top-k ids (`.ivecs`); the `.scores.fvecs` beside it is read when present.
    #[arg(long)]
    gt: Option<PathBuf>,
    /// Minimum seconds of query timing.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Leave the segments as the writes left them (sealed every 65,536 documents plus the
    /// writable one), as the engine's bulk indexing does, instead of merging them into one.
    #[arg(long)]
    no_merge: bool,
}

fn read_vecs(path: &Path) -> anyhow::Result<Vec<Vec<[u8; 4]>>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let head: [u8; 4] = bytes.get(at..at + 4).context("truncated")?.try_into()?;
        let n = usize::try_from(i32::from_le_bytes(head))?;
        let body = bytes.get(at + 4..at + 4 + 4 * n).context("truncated")?;
        rows.push(
            body.chunks_exact(4)
                .map(|c| [c[0], c[1], c[2], c[3]])
                .collect(),
        );
        at += 4 + 4 * n;
    }
    Ok(rows)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let corpus = std::fs::read_to_string(&args.corpus)
        .with_context(|| format!("reading {}", args.corpus.display()))?;
    let mut docs: Vec<(u64, Value)> = Vec::new();
    let mut text_bytes = 0usize;
    for line in corpus.lines().filter(|l| !l.trim().is_empty()) {
        let row: Value = serde_json::from_str(line)?;
        let id = row["id"].as_u64().context("row without an integer id")?;
        let text = row[&args.field].as_str().unwrap_or_default().to_owned();
        text_bytes += text.len();
        docs.push((id, json!({ args.field.as_str(): text })));
    }
    drop(corpus);
    let queries: Vec<String> = std::fs::read_to_string(&args.queries)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| -> anyhow::Result<String> {
            let v: Value = serde_json::from_str(l)?;
            Ok(v["text"].as_str().context("query without text")?.to_owned())
        })
        .collect::<anyhow::Result<_>>()?;

    let mut index = TextIndex::new(TextIndexConfig::named([args.field.as_str()]))?;
    let start = Instant::now();
    for (id, payload) in &docs {
        index.index_document(*id, payload);
    }
    if !args.no_merge {
        index.merge_all();
    }
    let index_secs = start.elapsed().as_secs_f64();
    let encode_start = Instant::now();
    let image = index.encode();
    let encode_secs = encode_start.elapsed().as_secs_f64();
    let decode_start = Instant::now();
    let decoded = TextIndex::decode(&image)?;
    let decode_secs = decode_start.elapsed().as_secs_f64();
    if decoded.len() != index.len() {
        bail!(
            "decoded image holds {} documents, index {}",
            decoded.len(),
            index.len()
        );
    }

    // Exactness against the ground truth.
    let mut exact = Value::Null;
    if let Some(gt_path) = &args.gt {
        let gt = read_vecs(gt_path)?;
        let scores_path = gt_path.with_extension("scores.fvecs");
        let gt_scores = if scores_path.is_file() {
            Some(read_vecs(&scores_path)?)
        } else {
            None
        };
        let (mut agree, mut max_rel, mut recall_hits, mut recall_total) =
            (0usize, 0f64, 0usize, 0usize);
        for (qi, q) in queries.iter().enumerate() {
            let hits = index.search(q, 10)?.hits;
            let want: Vec<i64> = gt
                .get(qi)
                .context("ground truth shorter than queries")?
                .iter()
                .take(10)
                .map(|b| i64::from(i32::from_le_bytes(*b)))
                .filter(|&i| i >= 0)
                .collect();
            let got: Vec<i64> = hits.iter().map(|h| h.id as i64).collect();
            agree += usize::from(got == want);
            recall_total += want.len();
            recall_hits += got.iter().filter(|g| want.contains(g)).count();
            if let Some(scores) = &gt_scores {
                for (h, s) in hits.iter().zip(&scores[qi]) {
                    let s = f64::from(f32::from_le_bytes(*s));
                    if s > 0.0 {
                        max_rel = max_rel.max((f64::from(h.score) - s).abs() / s);
                    }
                }
            }
        }
        exact = json!({
            "queries": queries.len(),
            "top10_exact_queries": agree,
            "top10_recall": recall_hits as f64 / recall_total.max(1) as f64,
            "max_relative_score_error": gt_scores.as_ref().map(|_| max_rel),
        });
    }

    // Single-thread QPS at k = 10: whole passes over the queries until the time is spent.
    let mut passes = 0usize;
    let mut checksum = 0u64;
    let mut postings = 0u64;
    let (mut skipped, mut decoded_blocks) = (0u64, 0u64);
    let qstart = Instant::now();
    while passes == 0 || qstart.elapsed() < Duration::from_secs_f64(args.seconds) {
        for q in &queries {
            let out = index.search(q, 10)?;
            checksum = checksum.wrapping_add(out.hits.first().map_or(0, |h| h.id));
            if passes == 0 {
                postings += out.stats.postings_scanned;
                skipped += out.stats.blocks_skipped;
                decoded_blocks += out.stats.blocks_decoded;
            }
        }
        passes += 1;
    }
    let qsecs = qstart.elapsed().as_secs_f64();
    let qps = (passes * queries.len()) as f64 / qsecs;

    let report = json!({
        "engine": "nearstore-text",
        "documents": docs.len(),
        "segments": index.segment_count(),
        "text_mb": text_bytes as f64 / 1e6,
        "index_seconds": index_secs,
        "docs_per_second": docs.len() as f64 / index_secs,
        "index_bytes": image.len(),
        "encode_seconds": encode_secs,
        "decode_seconds": decode_secs,
        "exactness": exact,
        "qps_k10": qps,
        "query_passes": passes,
        "per_query": {
            "postings_scanned": postings as f64 / queries.len().max(1) as f64,
            "blocks_decoded": decoded_blocks as f64 / queries.len().max(1) as f64,
            "blocks_skipped": skipped as f64 / queries.len().max(1) as f64,
        },
        "checksum": checksum,
    });
    if args.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
