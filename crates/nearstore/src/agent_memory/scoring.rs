//! Scored recall: relevance x recency x importance, as in the Generative Agents
//! formulation (Park et al. 2023).
//!
//! For a [`MemoryRecall`], the engine fetches `max(4k, 50)` candidates with one request:
//! the embedding as a dense leg, plus a BM25 text leg over the memory's text field when
//! `text` is given (fused by the engine's default RRF). Each candidate gets
//! - relevance: its search score (cosine similarity, or the fused score);
//! - recency: `0.5 ^ (age / half_life)`, the age being `now` minus its time field (seconds
//!   since the Unix epoch; a time in the future counts as age 0);
//! - importance: its `importance` payload field clamped to [0, 1] (0.5 when absent).
//!
//! Each of the three is min-max normalized over the candidates (all equal: 1), and the
//! score is their weighted mean `(wr * rel + wt * rec + wi * imp) / (wr + wt + wi)`. The
//! `k` best are returned best first (ties by id).

use std::time::Duration;

use serde_json::Value;

use super::check_embedding;
use crate::error::{Error, Result};
use crate::{MAX_SEARCH_RESULTS, SearchRequest, VectorCollection};

/// The weights of the three parts of a recall score (each >= 0, not all 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecallWeights {
    /// Weight of relevance (vector similarity, fused with BM25 when text is given).
    pub relevance: f32,
    /// Weight of recency (exponential decay with the recall's half-life).
    pub recency: f32,
    /// Weight of importance (the `importance` payload field).
    pub importance: f32,
}

impl Default for RecallWeights {
    /// Equal weights, as in Generative Agents.
    fn default() -> Self {
        RecallWeights {
            relevance: 1.0,
            recency: 1.0,
            importance: 1.0,
        }
    }
}

/// A scored recall request (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryRecall {
    /// The query embedding.
    pub embedding: Vec<f32>,
    /// A text query for a BM25 leg (hybrid relevance), if any.
    pub text: Option<String>,
    /// How many memories to return.
    pub k: usize,
    /// The weights.
    pub weights: RecallWeights,
    /// Recency halves every `half_life` (default one day).
    pub half_life: Duration,
    /// "Now" in seconds since the Unix epoch (default: the system clock).
    pub now: Option<i64>,
}

impl MemoryRecall {
    /// The `k` best memories for `embedding`, equal weights, a one-day half-life.
    pub fn new(embedding: &[f32], k: usize) -> Self {
        MemoryRecall {
            embedding: embedding.to_vec(),
            text: None,
            k,
            weights: RecallWeights::default(),
            half_life: Duration::from_secs(24 * 3600),
            now: None,
        }
    }

    /// Adds a BM25 text leg (fused with the vector leg by the engine).
    pub fn text(mut self, query: &str) -> Self {
        self.text = Some(query.to_owned());
        self
    }

    /// Sets the weights.
    pub fn weights(mut self, weights: RecallWeights) -> Self {
        self.weights = weights;
        self
    }

    /// Sets the recency half-life.
    pub fn half_life(mut self, half_life: Duration) -> Self {
        self.half_life = half_life;
        self
    }

    /// Sets "now" (seconds since the Unix epoch).
    pub fn now(mut self, now: i64) -> Self {
        self.now = Some(now);
        self
    }

    fn check(&self) -> Result<()> {
        let w = self.weights;
        let parts = [w.relevance, w.recency, w.importance];
        if parts.iter().any(|x| !x.is_finite() || *x < 0.0) || parts.iter().sum::<f32>() <= 0.0 {
            return Err(Error::InvalidArgument(format!(
                "recall weights must be finite, >= 0 and not all 0 (got {w:?})"
            )));
        }
        if self.k == 0 || self.half_life.is_zero() {
            return Err(Error::InvalidArgument(
                "a recall needs k > 0 and a positive half-life".into(),
            ));
        }
        Ok(())
    }
}

/// One recalled memory with its score and the three normalized parts.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredMemory {
    /// The memory's id.
    pub id: u64,
    /// The weighted score (higher is better).
    pub score: f32,
    /// Normalized relevance in [0, 1].
    pub relevance: f32,
    /// Normalized recency in [0, 1].
    pub recency: f32,
    /// Normalized importance in [0, 1].
    pub importance: f32,
    /// The memory's payload (content or description, time, importance, ...).
    pub payload: Value,
}

/// Seconds since the Unix epoch by the system clock.
pub(super) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Min-max normalizes `xs` in place (all equal: every value 1).
fn normalize(xs: &mut [f32]) {
    let (lo, hi) = xs
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    for x in xs.iter_mut() {
        *x = if hi > lo { (*x - lo) / (hi - lo) } else { 1.0 };
    }
}

/// Runs a scored recall over `c`, reading each memory's time from `time_field`.
pub(super) fn recall(
    c: &VectorCollection,
    r: &MemoryRecall,
    time_field: &str,
) -> Result<Vec<ScoredMemory>> {
    r.check()?;
    check_embedding(c, &r.embedding)?;
    // MAX_SEARCH_RESULTS is far above 50, so the bounds are ordered.
    let depth = r.k.saturating_mul(4).clamp(50, MAX_SEARCH_RESULTS);
    let mut request = SearchRequest::new(&r.embedding).limit(depth);
    if let Some(text) = &r.text {
        request = request.text_query(text);
    }
    let hits = c.query(request)?;
    let now = r.now.unwrap_or_else(now_secs);
    let half_life = r.half_life.as_secs_f64();
    let mut relevance: Vec<f32> = hits.iter().map(|h| h.score).collect();
    let mut recency: Vec<f32> = hits
        .iter()
        .map(|h| {
            let at = h
                .point
                .payload
                .as_ref()
                .and_then(|p| p.get(time_field)?.as_i64());
            let age = at.map_or(f64::INFINITY, |t| now.saturating_sub(t).max(0) as f64);
            0.5f64.powf(age / half_life) as f32
        })
        .collect();
    let mut importance: Vec<f32> = hits
        .iter()
        .map(|h| {
            let v = h
                .point
                .payload
                .as_ref()
                .and_then(|p| p.get("importance")?.as_f64());
            v.map_or(0.5, |v| v.clamp(0.0, 1.0) as f32)
        })
        .collect();
    normalize(&mut relevance);
    normalize(&mut recency);
    normalize(&mut importance);
    let w = r.weights;
    let total = w.relevance + w.recency + w.importance;
    let mut out: Vec<ScoredMemory> = hits
        .into_iter()
        .enumerate()
        .map(|(i, h)| ScoredMemory {
            id: h.point.id,
            score: (w.relevance * relevance[i]
                + w.recency * recency[i]
                + w.importance * importance[i])
                / total,
            relevance: relevance[i],
            recency: recency[i],
            importance: importance[i],
            payload: h.point.payload.unwrap_or(Value::Null),
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    out.truncate(r.k);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_maps_to_the_unit_interval_and_equal_values_to_one() {
        let mut xs = [2.0, 4.0, 3.0];
        normalize(&mut xs);
        assert_eq!(xs, [0.0, 1.0, 0.5]);
        let mut same = [0.3, 0.3];
        normalize(&mut same);
        assert_eq!(same, [1.0, 1.0]);
    }

    #[test]
    fn bad_weights_and_sizes_are_refused() {
        let r = MemoryRecall::new(&[1.0], 1);
        for w in [
            RecallWeights {
                relevance: -1.0,
                ..Default::default()
            },
            RecallWeights {
                relevance: 0.0,
                recency: 0.0,
                importance: 0.0,
            },
            RecallWeights {
                recency: f32::NAN,
                ..Default::default()
            },
        ] {
            assert!(r.clone().weights(w).check().is_err());
        }
        assert!(MemoryRecall::new(&[1.0], 0).check().is_err());
        assert!(r.clone().half_life(Duration::ZERO).check().is_err());
        assert!(r.check().is_ok());
    }
}
