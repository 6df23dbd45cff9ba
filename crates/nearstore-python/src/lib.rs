//! The `nearstore` Python package's native module, `nearstore._native`: the embedded engine
//! (`nearstore`) for Python, built with PyO3 and maturin.
//!
//! This crate owns the translation between Python and the engine and nothing else: it opens
//! databases and collections, converts numpy arrays and Python values into engine values
//! (`vectors.rs`, `json.rs`), keyword options into engine configurations and requests
//! (`options.rs`, full-text options in `text.rs`, fusion strategies in `fusion.rs`, sparse
//! vectors in `sparse.rs`, named dense vectors in `named.rs`, method arguments in
//! `arguments.rs`), engine results back into
//! dicts and numpy arrays (`results.rs`), streaming ingest's methods (`streaming.rs`), the agent memory (`agent_memory.rs`), graph
//! collections (`graph.rs`), and engine errors into the exception classes of
//! `nearstore.errors` (`errors.rs`). It never searches, filters or
//! stores anything itself, and uses only the engine's public API.
//!
//! Invariants: the GIL is released around every engine call (`Python::detach`), and no lock
//! is ever waited for while the GIL is held (`database.rs` explains the locking); every
//! option is either understood or refused, never ignored; bad input raises
//! `nearstore.InvalidArgument` (a `ValueError`) naming the bad part, never panics.
//!
//! The Python side (`python/nearstore/`) re-exports these classes and adds the exception
//! classes, the LangChain vector store (`nearstore.langchain`) and the type stubs.

#![forbid(unsafe_code)]

mod agent_memory;
mod arguments;
mod collection;
mod database;
mod errors;
mod expiry;
mod fusion;
mod graph;
mod json;
mod named;
mod options;
mod results;
mod sparse;
mod streaming;
mod text;
mod vectors;

use pyo3::prelude::*;

/// NearStore's native module (import `nearstore`, not this).
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<database::PyDatabase>()?;
    m.add_class::<collection::PyCollection>()?;
    m.add_class::<graph::PyGraphCollection>()?;
    m.add_class::<fusion::PyFusionStrategy>()?;
    m.add_class::<agent_memory::PyAgentMemory>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_DIMENSION", nearstore::MAX_DIMENSION)?;
    m.add("MAX_SEARCH_RESULTS", nearstore::MAX_SEARCH_RESULTS)?;
    m.add("COLLECTION_OPTIONS", options::COLLECTION_OPTIONS.to_vec())?;
    m.add("QUERY_OPTIONS", options::SEARCH_OPTIONS.to_vec())?;
    m.add("TEXT_ANALYZER_OPTIONS", text::ANALYZER_OPTIONS.to_vec())?;
    m.add("FUSION_STRATEGIES", fusion::FUSION_NAMES.to_vec())?;
    m.add(
        "RESERVED_QUERY_OPTIONS",
        options::NOT_YET.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
    )?;
    Ok(())
}
