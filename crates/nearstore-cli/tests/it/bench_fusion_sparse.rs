//! `nearstore bench text --hybrid` on a small generated corpus with vectors, and `nearstore
//! bench sparse` on a small generated set.

use super::{nearstore, write_texmex};

/// Cosine similarity of two vectors.
fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[test]
fn bench_text_hybrid_reports_every_strategy_with_dense_recall_against_exact_truth() {
    let dir = tempfile::tempdir().unwrap();
    let base = nearstore_testkit::random_vectors(400, 8, 11);
    let query_vectors = nearstore_testkit::random_vectors(20, 8, 12);
    let corpus: String = (0..base.len())
        .map(|i| {
            format!(
                "{{\"id\": {i}, \"text\": \"w{} v{} u{}\"}}\n",
                i % 7,
                i % 11,
                i % 13
            )
        })
        .collect();
    // Query lines in reverse order of their `query_id`: the truth row follows the id.
    let queries: String = (0..query_vectors.len())
        .rev()
        .map(|q| {
            format!(
                "{{\"text\": \"w{} v{}\", \"query_id\": {q}}}\n",
                q % 7,
                q % 11
            )
        })
        .collect();
    let reversed: Vec<Vec<f32>> = query_vectors.iter().rev().cloned().collect();
    let truth: Vec<Vec<i32>> = query_vectors
        .iter()
        .map(|q| {
            let mut s: Vec<(f32, i32)> = base
                .iter()
                .enumerate()
                .map(|(i, v)| (cosine(q, v), i as i32))
                .collect();
            s.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            s.iter().take(10).map(|x| x.1).collect()
        })
        .collect();
    std::fs::write(dir.path().join("base.jsonl"), corpus).unwrap();
    std::fs::write(dir.path().join("kw.jsonl"), queries).unwrap();
    write_texmex(&dir.path().join("base.fvecs"), &base, f32::to_le_bytes);
    write_texmex(&dir.path().join("kw.fvecs"), &reversed, f32::to_le_bytes);
    write_texmex(
        &dir.path().join("groundtruth.ivecs"),
        &truth,
        i32::to_le_bytes,
    );
    let out = nearstore()
        .args([
            "bench", "text", "--no-gt", "--hybrid", "--passes", "1", "--json",
        ])
        .arg("--corpus")
        .arg(dir.path().join("base.jsonl"))
        .arg("--queries")
        .arg(dir.path().join("kw.jsonl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hybrid = &report["hybrid"];
    assert_eq!(hybrid["points"], 400);
    assert_eq!(hybrid["queries"], 20);
    let rows = hybrid["strategies"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["strategy"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dense", "bm25", "rrf", "relative_score", "dbsf"]);
    for r in rows {
        let recall = r["recall_at_10"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&recall), "{r}");
        assert!(r["p50_us"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["p99_us"].as_f64().unwrap() >= r["p50_us"].as_f64().unwrap());
    }
    // The truth is the exact cosine top 10 of the query vectors, so the dense leg alone
    // finds (nearly) all of it on 400 points; a mismatched truth row would not.
    let dense = rows[0]["recall_at_10"].as_f64().unwrap();
    assert!(dense >= 0.95, "dense recall {dense}");
    // Every text query matches documents, so BM25 alone finds something for each.
    let bm25 = rows[1]["recall_at_10"].as_f64().unwrap();
    assert!(bm25 < dense, "bm25 {bm25} vs dense {dense}");
}

#[test]
fn bench_text_hybrid_without_query_vectors_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("base.jsonl"), "{\"text\": \"a b\"}\n").unwrap();
    std::fs::write(dir.path().join("kw.jsonl"), "{\"text\": \"a\"}\n").unwrap();
    write_texmex(
        &dir.path().join("base.fvecs"),
        &[vec![1.0f32, 0.0]],
        f32::to_le_bytes,
    );
    let out = nearstore()
        .args(["bench", "text", "--no-gt", "--hybrid"])
        .arg("--corpus")
        .arg(dir.path().join("base.jsonl"))
        .arg("--queries")
        .arg(dir.path().join("kw.jsonl"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("query vectors") && err.contains("kw.fvecs"),
        "{err}"
    );
}

#[test]
fn bench_sparse_is_exact_on_its_sample_and_reports_the_index_bytes() {
    let out = nearstore()
        .args([
            "bench",
            "sparse",
            "--docs",
            "1500",
            "--queries",
            "30",
            "--check",
            "30",
            "--vocab",
            "5000",
            "--passes",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["nonzeros"], 1500 * 120);
    assert_eq!(report["checked_queries"], 30);
    assert_eq!(report["exact_top10_queries"], 30);
    assert!(report["sparse_image_bytes"].as_u64().unwrap() > 1500 * 120);
    assert!(report["qps_k10_single_thread"].as_f64().unwrap() > 0.0);
    // The same seed gives the same data: the image has the same size.
    let again = nearstore()
        .args([
            "bench",
            "sparse",
            "--docs",
            "1500",
            "--queries",
            "30",
            "--check",
            "30",
            "--vocab",
            "5000",
            "--passes",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["sparse_image_bytes"], report["sparse_image_bytes"]);
}
