//! BM25 exactness on the wordnet-dev sample: with the default analyzer on the `text` field,
//! the top-10 ids equal `groundtruth_bm25.ivecs` and the scores are within 1e-4 relative of
//! `groundtruth_bm25.scores.fvecs`, for every 10th of the 500 keyword queries.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use nearstore_text::{TextIndex, TextIndexConfig};

fn data_dir() -> anyhow::Result<PathBuf> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/wordnet-dev"
    ));
    if !dir.join("base.jsonl").is_file() {
        bail!(
            "wordnet-dev data not found at {} (CI clones the repository with shared/ beside it; \
             locally it is /work/shared/data)",
            dir.display()
        );
    }
    Ok(dir.to_path_buf())
}

/// Rows of a TEXMEX `.ivecs`/`.fvecs` file as raw 4-byte words.
fn read_vecs(path: &Path) -> anyhow::Result<Vec<Vec<[u8; 4]>>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let head: [u8; 4] = bytes
            .get(at..at + 4)
            .context("truncated row header")?
            .try_into()?;
        let n = usize::try_from(i32::from_le_bytes(head))?;
        let body = bytes.get(at + 4..at + 4 + 4 * n).context("truncated row")?;
        rows.push(
            body.chunks_exact(4)
                .map(|c| [c[0], c[1], c[2], c[3]])
                .collect(),
        );
        at += 4 + 4 * n;
    }
    Ok(rows)
}

#[test]
fn wordnet_top10_matches_the_bm25_ground_truth() -> anyhow::Result<()> {
    let dir = data_dir()?;
    let mut index = TextIndex::new(TextIndexConfig::named(["text"]))?;
    let base = std::fs::read_to_string(dir.join("base.jsonl"))?;
    let mut count = 0u64;
    for line in base.lines() {
        let doc: Value = serde_json::from_str(line)?;
        let id = doc["id"].as_u64().context("id")?;
        index.index_document(id, &doc);
        count += 1;
    }
    ensure!(count == 53_171, "expected 53,171 documents, read {count}");
    let queries: Vec<Value> = std::fs::read_to_string(dir.join("query_keywords.jsonl"))?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let gt_ids = read_vecs(&dir.join("groundtruth_bm25.ivecs"))?;
    let gt_scores = read_vecs(&dir.join("groundtruth_bm25.scores.fvecs"))?;
    ensure!(queries.len() == 500 && gt_ids.len() == 500 && gt_scores.len() == 500);
    // Sample 50 queries; check both the writable segment and the sealed (bit-packed) form.
    let mut sealed = index.clone();
    sealed.merge_all();
    let mut checked = 0;
    for qi in (0..500).step_by(10) {
        let text = queries[qi]["text"].as_str().context("query text")?;
        let want: Vec<(i32, f32)> = gt_ids[qi]
            .iter()
            .zip(&gt_scores[qi])
            .take(10)
            .map(|(i, s)| (i32::from_le_bytes(*i), f32::from_le_bytes(*s)))
            .filter(|(i, _)| *i >= 0)
            .collect();
        for idx in [&index, &sealed] {
            let hits = idx.search(text, 10)?.hits;
            let got: Vec<i64> = hits.iter().map(|h| h.id as i64).collect();
            let want_ids: Vec<i64> = want.iter().map(|(i, _)| i64::from(*i)).collect();
            ensure!(
                got == want_ids,
                "query {qi} {text:?}: ids {got:?}, ground truth {want_ids:?}"
            );
            for (h, (_, s)) in hits.iter().zip(&want) {
                let rel = (f64::from(h.score) - f64::from(*s)).abs() / f64::from(*s).abs();
                ensure!(
                    rel <= 1e-4,
                    "query {qi}: score {} vs {} (relative {rel:e})",
                    h.score,
                    s
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 50);
    Ok(())
}
