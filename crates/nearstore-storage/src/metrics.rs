//! Storage metrics: remaps, growth latency, torn tails, checkpoints.

use std::time::Duration;

use hdrhistogram::Histogram;

/// A latency summary in nanoseconds (`p50 <= p95 <= p99 <= max`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Median, ns.
    pub p50_ns: u64,
    /// 95th percentile, ns.
    pub p95_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
    /// Largest sample, ns.
    pub max_ns: u64,
}

/// A latency histogram (nanoseconds, 3 significant digits, up to one hour).
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    hist: Option<Histogram<u64>>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        // 1 ns .. 1 hour at 3 significant figures is a valid configuration; should the
        // constructor ever refuse it, recording is simply disabled (metrics stay empty).
        LatencyHistogram {
            hist: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).ok(),
        }
    }
}

impl LatencyHistogram {
    /// Records one sample.
    pub fn record(&mut self, elapsed: Duration) {
        if let Some(h) = &mut self.hist {
            let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX).max(1);
            h.saturating_record(ns);
        }
    }

    /// The summary so far.
    pub fn summary(&self) -> LatencySummary {
        match &self.hist {
            Some(h) if !h.is_empty() => LatencySummary {
                count: h.len(),
                p50_ns: h.value_at_quantile(0.50),
                p95_ns: h.value_at_quantile(0.95),
                p99_ns: h.value_at_quantile(0.99),
                max_ns: h.max(),
            },
            _ => LatencySummary::default(),
        }
    }
}

/// What a vector store has done since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VectorStoreMetrics {
    /// Times the data file was mapped anew after growing.
    pub remap_count: u64,
    /// Total bytes mapped by those remaps.
    pub bytes_remapped: u64,
    /// Latency of the capacity check / grow path taken by every write.
    pub grow_latency: LatencySummary,
    /// Torn log tails cut off at open.
    pub torn_tails_truncated: u64,
    /// Bytes cut off with them.
    pub torn_bytes: u64,
    /// WAL records replayed at open.
    pub wal_records_replayed: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
    /// Bytes currently in the WAL.
    pub wal_bytes: u64,
}

/// What a payload store has done since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PayloadStoreMetrics {
    /// Torn log tails cut off at open.
    pub torn_tails_truncated: u64,
    /// Bytes cut off with them.
    pub torn_bytes: u64,
    /// Records read at open.
    pub records_replayed: u64,
    /// Compactions done.
    pub compactions: u64,
    /// Bytes of live records in the log.
    pub live_bytes: u64,
    /// Bytes of superseded or deleted records in the log.
    pub dead_bytes: u64,
}
