//! `nearstore.AgentMemory`: the engine's `AgentMemory` (semantic, episodic and procedural
//! memories over three ordinary collections) with the reference engine's method names,
//! one engine call each with the GIL released. The memory sits in a slot registered with
//! its database, so `Database.close()` empties it like a collection handle (it raises
//! `nearstore.Closed` from then on).

use std::sync::Arc;
use std::time::Duration;

use nearstore::AgentMemory;
use nearstore::agent_memory::{MemoryRecall, ProcedureMatch, RecallWeights, ScoredMemory};
use parking_lot::RwLock;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::database::{PyDatabase, Shared, closed};
use crate::errors::{self, IntoPyResult};
use crate::{json, vectors};

/// The slot a database empties when it closes.
pub(crate) type MemorySlot = RwLock<Option<AgentMemory>>;

/// Semantic, episodic and procedural memories of an agent over one database (the
/// collections ``_semantic_memory``, ``_episodic_memory``, ``_procedural_memory``, created
/// when missing with ``dim``-dimensional cosine embeddings, 384 by default).
#[pyclass(name = "AgentMemory", module = "nearstore", frozen)]
#[derive(Debug)]
pub struct PyAgentMemory {
    slot: Arc<MemorySlot>,
    shared: Arc<Shared>,
}

impl PyAgentMemory {
    fn call<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&AgentMemory) -> nearstore::Result<T> + Send,
    {
        match py.detach(|| self.slot.read().as_ref().map(f)) {
            Some(result) => result.py_err(py),
            None => Err(closed(py, self.shared.path())),
        }
    }
}

fn embedding(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<f32>>> {
    obj.filter(|o| !o.is_none())
        .map(|o| vectors::vector(o, "embedding"))
        .transpose()
}

fn procedure<'py>(py: Python<'py>, p: &ProcedureMatch) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", p.id)?;
    d.set_item("name", &p.name)?;
    d.set_item("steps", &p.steps)?;
    d.set_item("confidence", p.confidence)?;
    d.set_item("score", p.score)?;
    d.set_item("usage_count", p.usage_count)?;
    Ok(d)
}

fn scored<'py>(py: Python<'py>, m: &ScoredMemory) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", m.id)?;
    d.set_item("score", m.score)?;
    d.set_item("relevance", m.relevance)?;
    d.set_item("recency", m.recency)?;
    d.set_item("importance", m.importance)?;
    d.set_item("payload", json::to_py(py, &m.payload)?)?;
    Ok(d)
}

#[pymethods]
impl PyAgentMemory {
    #[new]
    #[pyo3(signature = (db, dim = None))]
    fn new(py: Python<'_>, db: &PyDatabase, dim: Option<usize>) -> PyResult<Self> {
        let shared = db.shared().clone();
        let memory = shared.call(py, |db| match dim {
            Some(dim) => AgentMemory::with_dimension(db, dim),
            None => AgentMemory::new(db),
        })?;
        let slot = Arc::new(RwLock::new(Some(memory)));
        shared.register_memory(&slot);
        Ok(PyAgentMemory { slot, shared })
    }

    /// store(id, content, embedding, importance=0.5) -> None: a semantic memory.
    #[pyo3(signature = (id, content, embedding, importance = None))]
    fn store(
        &self,
        py: Python<'_>,
        id: u64,
        content: &str,
        embedding: &Bound<'_, PyAny>,
        importance: Option<f32>,
    ) -> PyResult<()> {
        let e = vectors::vector(embedding, "embedding")?;
        self.call(py, |m| match importance {
            Some(i) => m.semantic().store_with_importance(id, content, &e, i),
            None => m.semantic().store(id, content, &e),
        })
    }

    /// query(embedding, k=10) -> list[(id, similarity, content)]: semantic memories.
    #[pyo3(signature = (embedding, k = 10))]
    fn query(
        &self,
        py: Python<'_>,
        embedding: &Bound<'_, PyAny>,
        k: usize,
    ) -> PyResult<Vec<(u64, f32, String)>> {
        let e = vectors::vector(embedding, "embedding")?;
        self.call(py, |m| m.semantic().query(&e, k))
    }

    /// delete(id) -> bool: forgets a semantic memory.
    fn delete(&self, py: Python<'_>, id: u64) -> PyResult<bool> {
        self.call(py, |m| m.semantic().delete(id))
    }

    /// record(event_id, description, timestamp, embedding=None, importance=0.5) -> None
    #[pyo3(signature = (event_id, description, timestamp, embedding = None, importance = None))]
    fn record(
        &self,
        py: Python<'_>,
        event_id: u64,
        description: &str,
        timestamp: i64,
        embedding: Option<&Bound<'_, PyAny>>,
        importance: Option<f32>,
    ) -> PyResult<()> {
        let e = self::embedding(embedding)?;
        self.call(py, |m| {
            m.episodic().record_with_importance(
                event_id,
                description,
                timestamp,
                e.as_deref(),
                importance.unwrap_or(0.5),
            )
        })
    }

    /// recent(limit=10, since=None) -> list[(event_id, description, timestamp)], newest first.
    #[pyo3(signature = (limit = 10, since = None))]
    fn recent(
        &self,
        py: Python<'_>,
        limit: usize,
        since: Option<i64>,
    ) -> PyResult<Vec<(u64, String, i64)>> {
        self.call(py, |m| m.episodic().recent(limit, since))
    }

    /// older_than(timestamp, limit=100) -> list[(event_id, description, timestamp)], oldest first.
    #[pyo3(signature = (timestamp, limit = 100))]
    fn older_than(
        &self,
        py: Python<'_>,
        timestamp: i64,
        limit: usize,
    ) -> PyResult<Vec<(u64, String, i64)>> {
        self.call(py, |m| m.episodic().older_than(timestamp, limit))
    }

    /// recall_similar(embedding, k=10) -> list[(event_id, description, timestamp, similarity)]
    #[pyo3(signature = (embedding, k = 10))]
    fn recall_similar(
        &self,
        py: Python<'_>,
        embedding: &Bound<'_, PyAny>,
        k: usize,
    ) -> PyResult<Vec<(u64, String, i64, f32)>> {
        let e = vectors::vector(embedding, "embedding")?;
        self.call(py, |m| m.episodic().recall_similar(&e, k))
    }

    /// learn(id, name, steps, embedding=None, confidence=0.5) -> None: a procedure.
    #[pyo3(signature = (id, name, steps, embedding = None, confidence = 0.5))]
    fn learn(
        &self,
        py: Python<'_>,
        id: u64,
        name: &str,
        steps: Vec<String>,
        embedding: Option<&Bound<'_, PyAny>>,
        confidence: f32,
    ) -> PyResult<()> {
        let e = self::embedding(embedding)?;
        self.call(py, |m| {
            m.procedural()
                .learn(id, name, &steps, e.as_deref(), confidence)
        })
    }

    /// recall(embedding, k=10, min_confidence=0.0) -> list[dict]: procedures, best first.
    #[pyo3(signature = (embedding, k = 10, min_confidence = 0.0))]
    fn recall<'py>(
        &self,
        py: Python<'py>,
        embedding: &Bound<'_, PyAny>,
        k: usize,
        min_confidence: f32,
    ) -> PyResult<Bound<'py, PyList>> {
        let e = vectors::vector(embedding, "embedding")?;
        let found = self.call(py, |m| m.procedural().recall(&e, k, min_confidence))?;
        let items = found
            .iter()
            .map(|p| procedure(py, p))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// reinforce(id, success) -> float | None: the new confidence (the engine's rule), or
    /// ``None`` when a failure evicted the procedure.
    fn reinforce(&self, py: Python<'_>, id: u64, success: bool) -> PyResult<Option<f32>> {
        self.call(py, |m| m.procedural().reinforce(id, success))
    }

    /// set_eviction_threshold(threshold) -> None (``None``: failures never evict).
    fn set_eviction_threshold(&self, py: Python<'_>, threshold: Option<f32>) -> PyResult<()> {
        self.call(py, |m| m.procedural().set_eviction_threshold(threshold))
    }

    /// evict_below(threshold) -> int: deletes procedures under that confidence.
    fn evict_below(&self, py: Python<'_>, threshold: f32) -> PyResult<usize> {
        self.call(py, |m| m.procedural().evict_below(threshold))
    }

    /// set_semantic_ttl(id, secs) -> None (point expiry: invisible at once when due).
    fn set_semantic_ttl(&self, py: Python<'_>, id: u64, secs: u64) -> PyResult<()> {
        self.call(py, |m| m.set_semantic_ttl(id, secs))
    }

    /// set_episodic_ttl(id, secs) -> None
    fn set_episodic_ttl(&self, py: Python<'_>, id: u64, secs: u64) -> PyResult<()> {
        self.call(py, |m| m.set_episodic_ttl(id, secs))
    }

    /// set_procedural_ttl(id, secs) -> None
    fn set_procedural_ttl(&self, py: Python<'_>, id: u64, secs: u64) -> PyResult<()> {
        self.call(py, |m| m.set_procedural_ttl(id, secs))
    }

    /// auto_expire() -> int: always 0 (expiry is automatic; kept for compatibility).
    fn auto_expire(&self, py: Python<'_>) -> PyResult<usize> {
        self.call(py, AgentMemory::auto_expire)
    }

    /// scored_recall(memory, embedding, k=10, *, text=None, weights=(1.0, 1.0, 1.0),
    /// half_life=86400.0, now=None) -> list[dict]
    ///
    /// Relevance x recency x importance retrieval over ``"semantic"`` or ``"episodic"``
    /// memories: each part min-max normalized over the candidates and weighted
    /// (``weights`` = relevance, recency, importance); ``text`` adds BM25 to relevance;
    /// recency decays with ``half_life`` seconds from ``now`` (epoch ms; default: now).
    #[pyo3(signature = (memory, embedding, k = 10, *, text = None, weights = (1.0, 1.0, 1.0), half_life = 86_400.0, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn scored_recall<'py>(
        &self,
        py: Python<'py>,
        memory: &str,
        embedding: &Bound<'_, PyAny>,
        k: usize,
        text: Option<&str>,
        weights: (f32, f32, f32),
        half_life: f64,
        now: Option<i64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let e = vectors::vector(embedding, "embedding")?;
        if !(half_life.is_finite() && half_life > 0.0) {
            return Err(errors::invalid(
                py,
                format!("half_life must be a positive number of seconds, got {half_life}"),
            ));
        }
        let mut request = MemoryRecall::new(&e, k)
            .weights(RecallWeights {
                relevance: weights.0,
                recency: weights.1,
                importance: weights.2,
            })
            .half_life(Duration::from_secs_f64(half_life));
        if let Some(t) = text {
            request = request.text(t);
        }
        if let Some(n) = now {
            request = request.now(n);
        }
        let found = match memory {
            "semantic" => self.call(py, |m| m.semantic().recall(&request))?,
            "episodic" => self.call(py, |m| m.episodic().recall(&request))?,
            other => {
                return Err(errors::invalid(
                    py,
                    format!("memory must be \"semantic\" or \"episodic\", got {other:?}"),
                ));
            }
        };
        let items = found
            .iter()
            .map(|m| scored(py, m))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn __repr__(&self) -> String {
        format!("<nearstore.AgentMemory in {:?}>", self.shared.path())
    }
}
