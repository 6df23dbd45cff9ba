//! `nearstore bench memory` on a small run: every figure of the report is there and sane.

use crate::nearstore;

#[test]
fn bench_memory_reports_ingest_visibility_recall_and_rss() {
    let out = nearstore()
        .args([
            "bench",
            "memory",
            "--count",
            "400",
            "--dim",
            "16",
            "--topics",
            "8",
            "--sample",
            "20",
            "--queries",
            "30",
            "--check",
            "10",
            "--buffer-size",
            "64",
            "--batch-size",
            "16",
            "--flush-interval-ms",
            "2",
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
    assert_eq!(report["memories"], 400);
    assert!(
        report["ingest_per_second"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    assert_eq!(report["visibility_samples"], 20, "{report}");
    let (p50, p99) = (
        report["visibility_p50_ms"].as_f64().unwrap(),
        report["visibility_p99_ms"].as_f64().unwrap(),
    );
    assert!(0.0 <= p50 && p50 <= p99, "{report}");
    assert_eq!(report["recall_queries"], 30);
    assert!(report["recall_p50_us"].as_f64().unwrap() > 0.0, "{report}");
    assert!(report["recall_at_10"].as_f64().unwrap() >= 0.9, "{report}");
    assert!(report["peak_rss_mib"].as_f64().unwrap() > 0.0, "{report}");
}
