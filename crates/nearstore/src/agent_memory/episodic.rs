//! Episodic memory: events with a timestamp (`_episodic_memory`).
//!
//! An event is a point: its embedding as the vector (none when recorded without one: the
//! event is then found by time, never by similarity), payload `{"description",
//! "timestamp" (seconds since the Unix epoch, as the caller gives it), "importance"}`.
//! `timestamp` has an integer payload index, so `recent` and `older_than` are one ordered,
//! filtered scroll answered by the engine; `description` is text-indexed.

use serde_json::json;

use super::scoring::{self, MemoryRecall, ScoredMemory};
use super::semantic::{check_importance, text_field};
use super::{check_embedding, ensure_index};
use crate::error::Result;
use crate::{
    FieldIndexKind, Filter, MAX_SCROLL_LIMIT, OrderBy, Point, ScrollRequest, VectorCollection,
};

/// Events (see the module docs). A cheap handle.
#[derive(Debug, Clone)]
pub struct EpisodicMemory {
    c: VectorCollection,
}

/// An event as `recent` and `older_than` return it: (id, description, timestamp).
type Event = (u64, String, i64);

impl EpisodicMemory {
    pub(super) fn new(c: VectorCollection) -> Result<Self> {
        ensure_index(&c, "timestamp", FieldIndexKind::Integer)?;
        Ok(EpisodicMemory { c })
    }

    /// The collection the events are in (an ordinary collection).
    pub fn collection(&self) -> &VectorCollection {
        &self.c
    }

    /// Records (or replaces) event `event_id` at `timestamp` (seconds since the Unix
    /// epoch), with importance 0.5.
    pub fn record(
        &self,
        event_id: u64,
        description: &str,
        timestamp: i64,
        embedding: Option<&[f32]>,
    ) -> Result<()> {
        self.record_with_importance(event_id, description, timestamp, embedding, 0.5)
    }

    /// [`EpisodicMemory::record`] with an importance in [0, 1] (read by scored recall).
    pub fn record_with_importance(
        &self,
        event_id: u64,
        description: &str,
        timestamp: i64,
        embedding: Option<&[f32]>,
        importance: f32,
    ) -> Result<()> {
        if let Some(e) = embedding {
            check_embedding(&self.c, e)?;
        }
        check_importance(importance)?;
        let payload = json!({
            "description": description,
            "timestamp": timestamp,
            "importance": importance,
        });
        let vector = embedding.map(<[f32]>::to_vec).unwrap_or_default();
        self.c
            .upsert(vec![Point::new(event_id, vector, Some(payload))])
    }

    /// The `limit` most recent events, newest first, only those after `since` (exclusive)
    /// when given.
    pub fn recent(&self, limit: usize, since: Option<i64>) -> Result<Vec<Event>> {
        let filter = since
            .map(|s| Filter::parse(&json!({"field": "timestamp", "gt": s})))
            .transpose()?;
        self.ordered(filter, OrderBy::desc("timestamp"), limit)
    }

    /// Up to `limit` events from before `timestamp` (exclusive), oldest first (for
    /// consolidation or clean-up).
    pub fn older_than(&self, timestamp: i64, limit: usize) -> Result<Vec<Event>> {
        let filter = Filter::parse(&json!({"field": "timestamp", "lt": timestamp}))?;
        self.ordered(Some(filter), OrderBy::asc("timestamp"), limit)
    }

    /// The `k` events most similar to `embedding`, best first: (id, description,
    /// timestamp, cosine similarity). Events recorded without an embedding are not among
    /// them.
    pub fn recall_similar(
        &self,
        embedding: &[f32],
        k: usize,
    ) -> Result<Vec<(u64, String, i64, f32)>> {
        check_embedding(&self.c, embedding)?;
        Ok(self
            .c
            .search(embedding, k)?
            .into_iter()
            .map(|r| {
                let p = r.point.payload.as_ref();
                let at = p.and_then(|p| p.get("timestamp")?.as_i64()).unwrap_or(0);
                (r.point.id, text_field(p, "description"), at, r.score)
            })
            .collect())
    }

    /// Scored recall (relevance, recency by `timestamp`, importance; see
    /// [`MemoryRecall`]).
    pub fn recall(&self, request: &MemoryRecall) -> Result<Vec<ScoredMemory>> {
        scoring::recall(&self.c, request, "timestamp")
    }

    /// Forgets event `event_id`; whether it was there.
    pub fn delete(&self, event_id: u64) -> Result<bool> {
        Ok(self.c.delete(&[event_id])? > 0)
    }

    /// One ordered, filtered scroll, page after page up to `limit` events.
    fn ordered(&self, filter: Option<Filter>, order: OrderBy, limit: usize) -> Result<Vec<Event>> {
        let mut out = Vec::new();
        let mut request = ScrollRequest::new().filter_opt(filter).order_by(order);
        while out.len() < limit {
            let page_size = (limit - out.len()).min(MAX_SCROLL_LIMIT);
            let page = self.c.scroll_with(&request.clone().limit(page_size))?;
            out.extend(page.points.iter().map(|p| {
                let payload = p.payload.as_ref();
                let at = payload
                    .and_then(|v| v.get("timestamp")?.as_i64())
                    .unwrap_or(0);
                (p.id, text_field(payload, "description"), at)
            }));
            match page.next {
                Some(next) => request = request.cursor(next),
                None => break,
            }
        }
        Ok(out)
    }
}
