//! Procedural memory: procedures with a confidence (`_procedural_memory`).
//!
//! A procedure is a point: its embedding as the vector (none when learned without one),
//! payload `{"name", "steps", "confidence", "usage_count", "successes", "failures"}`.
//! `confidence` has a float payload index, so `recall`'s `min_confidence` is a filter inside
//! the search (the `k` best among the confident ones, not `k` minus the rest).
//!
//! Reinforcement rule (the reference engine's, kept so ported agents behave the same): a
//! success adds 0.1 to the confidence, a failure subtracts 0.05, clamped to [0, 1]; each
//! call adds one use and one success or failure. Eviction: a failure that leaves the
//! confidence below the eviction threshold ([`DEFAULT_EVICTION_THRESHOLD`], changed with
//! [`ProceduralMemory::set_eviction_threshold`], `None` never) deletes the procedure, and
//! [`ProceduralMemory::evict_below`] deletes every procedure under a confidence at once.

use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{Map, Value, json};

use super::semantic::text_field;
use super::{check_embedding, ensure_index};
use crate::error::{Error, Result};
use crate::{FieldIndexKind, Filter, Point, PointSelector, SearchRequest, VectorCollection};

/// A failure leaving a procedure's confidence below this evicts it (unless changed).
pub const DEFAULT_EVICTION_THRESHOLD: f32 = 0.05;
/// What a success adds to the confidence.
const SUCCESS_STEP: f64 = 0.1;
/// What a failure takes from it.
const FAILURE_STEP: f64 = 0.05;

/// A procedure as recalled.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureMatch {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its steps, in order.
    pub steps: Vec<String>,
    /// Its confidence in [0, 1].
    pub confidence: f32,
    /// The similarity to the query (cosine; 0 when read by id).
    pub score: f32,
    /// How many times it was reinforced.
    pub usage_count: u64,
}

/// Procedures (see the module docs). A cheap handle.
#[derive(Debug, Clone)]
pub struct ProceduralMemory {
    c: VectorCollection,
    /// Serializes reinforcements (a read, then a payload write) of this collection made
    /// through any memory handle on the database (one mutex per collection, from the
    /// database), so two handles never lose an update.
    reinforcing: Arc<Mutex<()>>,
    eviction_threshold: Arc<Mutex<Option<f32>>>,
}

fn check_confidence(confidence: f32) -> Result<()> {
    if !(0.0..=1.0).contains(&confidence) {
        return Err(Error::InvalidArgument(format!(
            "confidence must be in [0, 1], got {confidence}"
        )));
    }
    Ok(())
}

fn confidence_filter(op: &str, value: f32) -> Result<Filter> {
    Ok(Filter::parse(&json!({"field": "confidence", op: value}))?)
}

fn procedure(id: u64, payload: Option<&Value>, score: f32) -> ProcedureMatch {
    let steps = payload
        .and_then(|p| p.get("steps")?.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let number = |k: &str| payload.and_then(|p| p.get(k)?.as_f64()).unwrap_or(0.0);
    ProcedureMatch {
        id,
        name: text_field(payload, "name"),
        steps,
        confidence: number("confidence") as f32,
        score,
        usage_count: number("usage_count") as u64,
    }
}

impl ProceduralMemory {
    pub(super) fn new(c: VectorCollection, reinforcing: Arc<Mutex<()>>) -> Result<Self> {
        ensure_index(&c, "confidence", FieldIndexKind::Float)?;
        Ok(ProceduralMemory {
            c,
            reinforcing,
            eviction_threshold: Arc::new(Mutex::new(Some(DEFAULT_EVICTION_THRESHOLD))),
        })
    }

    /// The collection the procedures are in (an ordinary collection).
    pub fn collection(&self) -> &VectorCollection {
        &self.c
    }

    /// Learns (or replaces) procedure `id` with a confidence in [0, 1].
    pub fn learn(
        &self,
        id: u64,
        name: &str,
        steps: &[String],
        embedding: Option<&[f32]>,
        confidence: f32,
    ) -> Result<()> {
        if let Some(e) = embedding {
            check_embedding(&self.c, e)?;
        }
        check_confidence(confidence)?;
        let payload = json!({
            "name": name,
            "steps": steps,
            "confidence": confidence,
            "usage_count": 0,
            "successes": 0,
            "failures": 0,
        });
        let vector = embedding.map(<[f32]>::to_vec).unwrap_or_default();
        self.c.upsert(vec![Point::new(id, vector, Some(payload))])
    }

    /// The `k` procedures most similar to `embedding` among those with a confidence of at
    /// least `min_confidence`, best first.
    pub fn recall(
        &self,
        embedding: &[f32],
        k: usize,
        min_confidence: f32,
    ) -> Result<Vec<ProcedureMatch>> {
        check_embedding(&self.c, embedding)?;
        if !min_confidence.is_finite() {
            return Err(Error::InvalidArgument(format!(
                "min_confidence must be a number, got {min_confidence}"
            )));
        }
        let request = SearchRequest::new(embedding)
            .limit(k)
            .filter(confidence_filter("gte", min_confidence)?);
        Ok(self
            .c
            .query(request)?
            .into_iter()
            .map(|r| procedure(r.point.id, r.point.payload.as_ref(), r.score))
            .collect())
    }

    /// Procedure `id`, if it is there.
    pub fn get(&self, id: u64) -> Result<Option<ProcedureMatch>> {
        let point = self.c.get(&[id])?.into_iter().next().flatten();
        Ok(point.map(|p| procedure(p.id, p.payload.as_ref(), 0.0)))
    }

    /// Applies the reinforcement rule (module docs) after a use of procedure `id`; returns
    /// its new confidence, or `None` when the failure evicted it. An absent procedure is
    /// `PointNotFound`.
    pub fn reinforce(&self, id: u64, success: bool) -> Result<Option<f32>> {
        let _serial = self.reinforcing.lock();
        let Some(point) = self.c.get(&[id])?.into_iter().next().flatten() else {
            return Err(Error::PointNotFound {
                collection: self.c.name().to_string(),
                id,
            });
        };
        let payload = point.payload.as_ref();
        let count = |k: &str| payload.and_then(|p| p.get(k)?.as_u64()).unwrap_or(0);
        let old = payload
            .and_then(|p| p.get("confidence")?.as_f64())
            .unwrap_or(0.5);
        let new = if success {
            (old + SUCCESS_STEP).min(1.0)
        } else {
            (old - FAILURE_STEP).max(0.0)
        } as f32;
        let evict = *self.eviction_threshold.lock();
        if !success && evict.is_some_and(|t| new < t) {
            self.c.delete(&[id])?;
            return Ok(None);
        }
        let mut changes = Map::new();
        changes.insert("confidence".into(), json!(new));
        changes.insert("usage_count".into(), json!(count("usage_count") + 1));
        let outcome = if success { "successes" } else { "failures" };
        changes.insert(outcome.into(), json!(count(outcome) + 1));
        self.c.set_payload(&PointSelector::Ids(vec![id]), changes)?;
        Ok(Some(new))
    }

    /// Sets the confidence under which a failed procedure is evicted (`None`: never).
    pub fn set_eviction_threshold(&self, threshold: Option<f32>) -> Result<()> {
        if let Some(t) = threshold {
            check_confidence(t)?;
        }
        *self.eviction_threshold.lock() = threshold;
        Ok(())
    }

    /// Deletes every procedure whose confidence is below `threshold`; returns how many.
    pub fn evict_below(&self, threshold: f32) -> Result<usize> {
        check_confidence(threshold)?;
        self.c
            .delete_by_filter(&confidence_filter("lt", threshold)?)
    }

    /// Forgets procedure `id`; whether it was there.
    pub fn delete(&self, id: u64) -> Result<bool> {
        Ok(self.c.delete(&[id])? > 0)
    }
}

#[cfg(test)]
mod tests {
    use crate::AgentMemory;
    use std::sync::Arc;

    #[test]
    fn two_memory_handles_share_one_reinforcement_lock() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::Database::open(dir.path().join("db")).unwrap();
        let a = AgentMemory::with_dimension(&db, 2).unwrap();
        let b = AgentMemory::with_dimension(&db, 2).unwrap();
        assert!(Arc::ptr_eq(
            &a.procedural().reinforcing,
            &b.procedural().reinforcing
        ));
    }
}
