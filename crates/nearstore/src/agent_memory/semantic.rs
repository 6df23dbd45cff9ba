//! Semantic memory: facts with an embedding (`_semantic_memory`).
//!
//! A fact is a point: the embedding as its vector, payload `{"content", "stored_at"
//! (seconds since the Unix epoch), "importance"}`; `content` is text-indexed (BM25), so a
//! scored [`MemoryRecall`] with text fuses both.

use serde_json::json;

use super::check_embedding;
use super::scoring::{self, MemoryRecall, ScoredMemory};
use crate::error::{Error, Result};
use crate::{Point, VectorCollection};

/// Facts (see the module docs). A cheap handle.
#[derive(Debug, Clone)]
pub struct SemanticMemory {
    c: VectorCollection,
}

impl SemanticMemory {
    pub(super) fn new(c: VectorCollection) -> Self {
        SemanticMemory { c }
    }

    /// The collection the facts are in (an ordinary collection).
    pub fn collection(&self) -> &VectorCollection {
        &self.c
    }

    /// Stores (or replaces) fact `id` with importance 0.5.
    pub fn store(&self, id: u64, content: &str, embedding: &[f32]) -> Result<()> {
        self.store_with_importance(id, content, embedding, 0.5)
    }

    /// Stores (or replaces) fact `id` with an importance in [0, 1] (read by scored recall).
    pub fn store_with_importance(
        &self,
        id: u64,
        content: &str,
        embedding: &[f32],
        importance: f32,
    ) -> Result<()> {
        check_embedding(&self.c, embedding)?;
        check_importance(importance)?;
        let payload = json!({
            "content": content,
            "stored_at": scoring::now_secs(),
            "importance": importance,
        });
        self.c
            .upsert(vec![Point::new(id, embedding.to_vec(), Some(payload))])
    }

    /// The `k` facts most similar to `embedding`, best first: (id, cosine similarity,
    /// content).
    pub fn query(&self, embedding: &[f32], k: usize) -> Result<Vec<(u64, f32, String)>> {
        check_embedding(&self.c, embedding)?;
        Ok(self
            .c
            .search(embedding, k)?
            .into_iter()
            .map(|r| {
                let content = text_field(r.point.payload.as_ref(), "content");
                (r.point.id, r.score, content)
            })
            .collect())
    }

    /// Scored recall (relevance, recency by `stored_at`, importance; see [`MemoryRecall`]).
    pub fn recall(&self, request: &MemoryRecall) -> Result<Vec<ScoredMemory>> {
        scoring::recall(&self.c, request, "stored_at")
    }

    /// Forgets fact `id`; whether it was there.
    pub fn delete(&self, id: u64) -> Result<bool> {
        Ok(self.c.delete(&[id])? > 0)
    }
}

/// A string field of a payload (empty when absent).
pub(super) fn text_field(payload: Option<&serde_json::Value>, field: &str) -> String {
    payload
        .and_then(|p| p.get(field)?.as_str())
        .unwrap_or_default()
        .to_string()
}

/// An importance must be a number in [0, 1].
pub(super) fn check_importance(importance: f32) -> Result<()> {
    if !(0.0..=1.0).contains(&importance) {
        return Err(Error::InvalidArgument(format!(
            "importance must be in [0, 1], got {importance}"
        )));
    }
    Ok(())
}
