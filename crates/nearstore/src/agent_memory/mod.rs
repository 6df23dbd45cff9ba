//! Agent memory: semantic, episodic and procedural memories for AI agents, with the
//! reference engine's names, built only on public collection features (each memory is an
//! ordinary collection: searchable from the query language and the server like any other).
//!
//! - [`SemanticMemory`] (`_semantic_memory`): facts, `store` / `query` / `delete`.
//! - [`EpisodicMemory`] (`_episodic_memory`): events with a timestamp, `record` /
//!   `recent` / `older_than` / `recall_similar` (the timestamp has an integer payload
//!   index, so time ranges and time order are answered by the engine).
//! - [`ProceduralMemory`] (`_procedural_memory`): procedures with a confidence, `learn` /
//!   `recall` / `reinforce` (the update rule and the eviction of low-confidence procedures
//!   are documented there).
//! - TTLs (`set_semantic_ttl` and the like) are point expiry: durable, invisible at once
//!   on every read, purged in the background; `auto_expire` is a no-op kept for
//!   compatibility.
//! - [`MemoryRecall`]: retrieval scored by relevance (vector, and BM25 through hybrid
//!   fusion when a text query is given: `content` and `description` are text-indexed),
//!   recency (exponential decay with a half-life) and importance (a payload field), each
//!   min-max normalized over the candidates and weighted, as in the Generative Agents
//!   formulation.
//!
//! Must not reach into collection internals: everything here goes through
//! [`VectorCollection`]'s public API.

mod episodic;
mod procedural;
mod scoring;
mod semantic;

use std::time::Duration;

pub use episodic::EpisodicMemory;
pub use procedural::{DEFAULT_EVICTION_THRESHOLD, ProceduralMemory, ProcedureMatch};
pub use scoring::{MemoryRecall, RecallWeights, ScoredMemory};
pub use semantic::SemanticMemory;

use crate::config::CollectionConfig;
use crate::database::Database;
use crate::error::{Error, ErrorKind, Result};
use crate::{DistanceMetric, FieldIndexKind, TextIndexConfig, VectorCollection};

/// The embedding dimension [`AgentMemory::new`] uses.
pub const DEFAULT_MEMORY_DIMENSION: usize = 384;
/// The collection of semantic memories.
pub const SEMANTIC_COLLECTION: &str = "_semantic_memory";
/// The collection of episodic memories.
pub const EPISODIC_COLLECTION: &str = "_episodic_memory";
/// The collection of procedural memories.
pub const PROCEDURAL_COLLECTION: &str = "_procedural_memory";

/// The three memories of one agent over one database (cheap handles; `Send + Sync`).
#[derive(Debug, Clone)]
pub struct AgentMemory {
    semantic: SemanticMemory,
    episodic: EpisodicMemory,
    procedural: ProceduralMemory,
}

impl AgentMemory {
    /// Opens (creating when missing) the three memory collections with
    /// [`DEFAULT_MEMORY_DIMENSION`]-d cosine embeddings.
    pub fn new(db: &Database) -> Result<Self> {
        Self::with_dimension(db, DEFAULT_MEMORY_DIMENSION)
    }

    /// Opens (creating when missing) the three memory collections with `dim`-d cosine
    /// embeddings; an existing memory collection of another dimension is
    /// [`Error::DimensionMismatch`], one of another metric is [`Error::InvalidArgument`]
    /// (the memories' scores are cosine similarities), and one missing a text field the
    /// memory searches gets it (indexing its points).
    pub fn with_dimension(db: &Database, dim: usize) -> Result<Self> {
        Ok(AgentMemory {
            semantic: SemanticMemory::new(memory_collection(
                db,
                SEMANTIC_COLLECTION,
                dim,
                &["content"],
            )?),
            episodic: EpisodicMemory::new(memory_collection(
                db,
                EPISODIC_COLLECTION,
                dim,
                &["description"],
            )?)?,
            procedural: ProceduralMemory::new(
                memory_collection(db, PROCEDURAL_COLLECTION, dim, &["name"])?,
                db.update_lock(PROCEDURAL_COLLECTION),
            )?,
        })
    }

    /// Facts.
    pub fn semantic(&self) -> &SemanticMemory {
        &self.semantic
    }

    /// Events.
    pub fn episodic(&self) -> &EpisodicMemory {
        &self.episodic
    }

    /// Procedures.
    pub fn procedural(&self) -> &ProceduralMemory {
        &self.procedural
    }

    /// Makes semantic memory `id` expire `secs` seconds from now (point expiry: durable,
    /// invisible at once when due). An absent memory is `NotFound`.
    pub fn set_semantic_ttl(&self, id: u64, secs: u64) -> Result<()> {
        set_ttl(self.semantic.collection(), id, secs)
    }

    /// [`AgentMemory::set_semantic_ttl`] for an episodic memory.
    pub fn set_episodic_ttl(&self, id: u64, secs: u64) -> Result<()> {
        set_ttl(self.episodic.collection(), id, secs)
    }

    /// [`AgentMemory::set_semantic_ttl`] for a procedure.
    pub fn set_procedural_ttl(&self, id: u64, secs: u64) -> Result<()> {
        set_ttl(self.procedural.collection(), id, secs)
    }

    /// Kept for compatibility with the reference engine, where expiry had to be run by
    /// hand: expiry is automatic here (expired memories are invisible at once and purged in
    /// the background), so this does nothing and returns 0.
    pub fn auto_expire(&self) -> Result<usize> {
        Ok(0)
    }
}

fn set_ttl(c: &VectorCollection, id: u64, secs: u64) -> Result<()> {
    c.set_ttl(&[id], Duration::from_secs(secs))
}

/// The memory collection `name`: opened (checked: dimension, cosine metric, the text
/// fields indexed, added when missing), or created (`dim`-d cosine, the text fields
/// indexed for BM25).
fn memory_collection(
    db: &Database,
    name: &str,
    dim: usize,
    text_fields: &[&str],
) -> Result<VectorCollection> {
    match db.get_vector_collection(name) {
        Ok(c) => {
            let existing = c.config().dim;
            if existing != dim {
                return Err(Error::DimensionMismatch {
                    collection: name.to_string(),
                    expected: existing,
                    actual: dim,
                });
            }
            let metric = c.config().metric;
            if metric != DistanceMetric::Cosine {
                return Err(Error::InvalidArgument(format!(
                    "collection {name} exists with the {metric:?} metric; agent memory needs \
                     cosine (drop it or use another database)"
                )));
            }
            let indexed = c.text_config().map(|t| t.fields).unwrap_or_default();
            for field in text_fields {
                if !indexed.iter().any(|f| f.name == *field) {
                    let analyzer = nearstore_text::FieldConfig::new(*field).analyzer;
                    c.create_text_index(field, analyzer)?;
                }
            }
            Ok(c)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let mut config = CollectionConfig::new(dim, DistanceMetric::Cosine);
            config.text = Some(TextIndexConfig::named(text_fields.iter().copied()));
            db.create_collection_with_options(name, config)
        }
        Err(e) => Err(e),
    }
}

/// Checks an embedding's dimension against the memory's collection.
fn check_embedding(c: &VectorCollection, embedding: &[f32]) -> Result<()> {
    let dim = c.config().dim;
    if embedding.len() != dim {
        return Err(Error::DimensionMismatch {
            collection: c.name().to_string(),
            expected: dim,
            actual: embedding.len(),
        });
    }
    Ok(())
}

/// Creates an integer payload index on `field` unless there is one.
fn ensure_index(c: &VectorCollection, field: &str, kind: FieldIndexKind) -> Result<()> {
    if c.field_indexes().iter().any(|(f, _)| f == field) {
        return Ok(());
    }
    c.create_field_index(field, kind)
}
