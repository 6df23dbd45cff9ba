//! `nearstore.Database`: an open database directory, and the state it shares with its
//! collection handles.
//!
//! Closing is explicit (`close()`, or leaving a `with` block) and real: it flushes, empties
//! every `Collection` handle given out (they raise `nearstore.Closed` from then on), drops
//! the engine's `Database` so each collection writes its closing checkpoint, and releases
//! the directory lock, so the directory can be opened again at once, in this process or
//! another. A handle keeps the shared state alive, so a collection stays usable as long as
//! it is referenced even when its `Database` object is gone.
//!
//! Locking: the engine database sits in an `RwLock<Option<_>>`, each handle's collection in
//! another; calls take a read lock only *after* releasing the GIL (inside `Python::detach`)
//! and close takes the write locks the same way, so no thread ever waits for a lock while
//! holding the GIL (which could deadlock against a thread that holds the lock and waits
//! for the GIL). A call holds one lock at a time, except `get_collection` and close, which
//! both take the database lock before the handle list.

use std::path::PathBuf;
use std::sync::{Arc, Weak};

use nearstore::{Database, VectorCollection};
use parking_lot::{Mutex, RwLock};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::agent_memory::MemorySlot;
use crate::collection::PyCollection;
use crate::errors::{self, Class, IntoPyResult};
use crate::graph::PyGraphCollection;
use crate::{json, options};

/// A collection handle's slot: emptied when its database closes.
#[derive(Debug, Default)]
pub(crate) struct Handle {
    /// The name (or alias) the handle was asked for, to find it again after a restore.
    name: String,
    pub(crate) collection: RwLock<Option<VectorCollection>>,
}

/// What a `Database` object and its collection handles share.
#[derive(Debug)]
pub(crate) struct Shared {
    path: PathBuf,
    db: RwLock<Option<Database>>,
    handles: Mutex<Vec<Weak<Handle>>>,
    /// `AgentMemory` objects, emptied on close like the handles.
    memories: Mutex<Vec<Weak<MemorySlot>>>,
}

impl Shared {
    /// Runs `f` on the open database with the GIL released; `Closed` when it is closed.
    pub(crate) fn call<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&Database) -> nearstore::Result<T> + Send,
    {
        match py.detach(|| self.db.read().as_ref().map(f)) {
            Some(result) => result.py_err(py),
            None => Err(closed(py, &self.path)),
        }
    }

    /// A new handle on the collection `open` returns (run on the open database with the GIL
    /// released), registered so that close can empty it.
    fn new_handle<F>(
        self: &Arc<Self>,
        py: Python<'_>,
        name: &str,
        open: F,
    ) -> PyResult<PyCollection>
    where
        F: FnOnce(&Database) -> nearstore::Result<VectorCollection> + Send,
    {
        let handle = self.call(py, |db| {
            let c = open(db)?;
            let handle = Arc::new(Handle {
                name: name.to_string(),
                collection: RwLock::new(Some(c)),
            });
            let mut handles = self.handles.lock();
            handles.retain(|h| h.strong_count() > 0);
            handles.push(Arc::downgrade(&handle));
            Ok(handle)
        })?;
        Ok(PyCollection::new(
            name.to_string(),
            handle,
            Arc::clone(self),
        ))
    }

    /// Flushes, then closes: empties every handle and drops the database (each collection
    /// checkpoints as it closes; the directory lock goes last). Idempotent.
    fn close(&self) -> nearstore::Result<()> {
        let Some(db) = self.db.write().take() else {
            return Ok(());
        };
        let flushed = db.flush();
        let handles = std::mem::take(&mut *self.handles.lock());
        let emptied: Vec<VectorCollection> = handles
            .iter()
            .filter_map(Weak::upgrade)
            .filter_map(|h| h.collection.write().take())
            .collect();
        drop(emptied);
        let memories = std::mem::take(&mut *self.memories.lock());
        let emptied: Vec<_> = memories
            .iter()
            .filter_map(Weak::upgrade)
            .filter_map(|m| m.write().take())
            .collect();
        drop(emptied);
        drop(db);
        flushed
    }

    /// After a restore replaced every engine collection: points each live handle at the
    /// restored collection of its name (a name the snapshot lacks keeps its old handle,
    /// which the engine answers `NotFound`). Takes the database lock before the handle
    /// list, like `get_collection`.
    fn refresh_handles(&self) {
        let db = self.db.read();
        let Some(db) = db.as_ref() else {
            return;
        };
        let handles = self.handles.lock();
        for handle in handles.iter().filter_map(Weak::upgrade) {
            if let Ok(c) = db.get_vector_collection(&handle.name) {
                *handle.collection.write() = Some(c);
            }
        }
    }

    /// Registers an `AgentMemory` slot so that close empties it.
    pub(crate) fn register_memory(&self, slot: &Arc<MemorySlot>) {
        let mut memories = self.memories.lock();
        memories.retain(|m| m.strong_count() > 0);
        memories.push(Arc::downgrade(slot));
    }

    pub(crate) fn path(&self) -> &PathBuf {
        &self.path
    }
}

/// The `nearstore.Closed` error for a database at `path`.
pub(crate) fn closed(py: Python<'_>, path: &std::path::Path) -> PyErr {
    errors::new_error(
        py,
        Class::Closed,
        format!("the database at {} is closed", path.display()),
    )
}

/// An open NearStore database: a directory of collections, locked against other processes
/// while open.
///
/// ``Database(path)`` opens the directory (creating it if needed) and recovers every
/// collection. Use it as a context manager (``with nearstore.Database(path) as db:``) or call
/// ``close()``: both flush every collection, checkpoint it and release the directory.
/// Opening a directory another process (or another open ``Database``) holds raises
/// ``nearstore.Conflict``.
///
/// Methods release the GIL while the engine works, so Python threads can search and write
/// concurrently.
#[pyclass(name = "Database", module = "nearstore", frozen)]
#[derive(Debug)]
pub struct PyDatabase {
    shared: Arc<Shared>,
}

impl PyDatabase {
    /// The state shared with this database's handles.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

#[pymethods]
impl PyDatabase {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let db = py.detach(|| Database::open(&path)).py_err(py)?;
        Ok(PyDatabase {
            shared: Arc::new(Shared {
                path,
                db: RwLock::new(Some(db)),
                handles: Mutex::new(Vec::new()),
                memories: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The database directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.shared.path.clone()
    }

    /// True once ``close()`` has run.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| self.shared.db.read().is_none())
    }

    /// create_collection(name, dim=None, metric=None, **options) -> Collection
    ///
    /// Creates a collection of ``dim``-dimensional vectors (its default vector; without a
    /// ``dim``, a collection of named vectors only, or of payloads only: its points carry no
    /// default vector and searches name a vector with ``using=``). ``metric``
    /// (case-insensitive; default ``cosine``; also the metric of named vectors that give
    /// none):
    /// ``cosine``, ``euclidean`` (``l2``), ``dot`` (``dot_product``), ``hamming``,
    /// ``jaccard``. Options: ``m``, ``ef_construction``, ``ef_search``, ``seed`` (HNSW),
    /// ``durability`` (``"flush"``: writes are durable once ``flush()`` returns, the default;
    /// ``"per_write"``: every call is durable when it returns; ``"bulk"``: nothing is logged
    /// and ``flush()`` checkpoints), ``max_payload_bytes``, ``storage_mode`` (``"full"``, the
    /// default; or a quantized mode of the default vector, ``"sq8"``, ``"binary"``, ``"pq"``,
    /// ``"rabitq"``: its graph is walked on compact codes and the best candidates are
    /// rescored with the exact vectors), ``oversampling`` and ``train_at`` (a quantized
    /// mode's candidates rescored per result, 1 to 100, and the points at which it trains by
    /// itself, 0: only ``Collection.train_quantizer()``; default: the mode's),
    /// ``rabitq_bits`` (``"rabitq"`` only: bits per rotated coordinate of a code, 1 or 4;
    /// default 4 up to 128 dimensions, 1 above), ``quantile`` (``"sq8"`` only: the share of
    /// the training sample's values each dimension's code range covers, 0.5 to 1.0; default
    /// 0.998),
    /// ``text`` (full-text indexing of payloads: ``True``, the default, indexes every string
    /// leaf as one field ``"_all"``; ``False`` turns it off; a field name or a list of them
    /// indexes those payload paths; see ``Collection.create_text_index``), ``sparse`` (the
    /// sparse vector names: ``None``, any name, the default; a list of names; or ``{name:
    /// {"modifier": "idf"}}``), ``vectors`` (named dense vectors besides the default one:
    /// ``{name: {"dim": n, "metric": ..., "m": ..., "ef_construction": ..., "ef_search":
    /// ..., "seed": ..., "storage_mode": "full"}}`` or ``{name: dim}``; what a named vector
    /// leaves out is the collection's). Unknown options raise ``InvalidArgument``; an existing name ``AlreadyExists``.
    #[pyo3(signature = (name, dim = None, metric = None, **options))]
    fn create_collection(
        &self,
        py: Python<'_>,
        name: &str,
        dim: Option<usize>,
        metric: Option<&str>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyCollection> {
        let options = json::kwargs_to_map(options, "")?;
        let config = options::collection_config(dim, metric, &options).py_err(py)?;
        self.shared.new_handle(py, name, |db| {
            db.create_collection_with_options(name, config)
        })
    }

    /// get_collection(name) -> Collection
    ///
    /// A handle on an existing collection (``NotFound`` if there is none).
    fn get_collection(&self, py: Python<'_>, name: &str) -> PyResult<PyCollection> {
        self.shared
            .new_handle(py, name, |db| db.get_vector_collection(name))
    }

    /// create_graph_collection(name, dimension=None, metric="cosine", schema=None) -> GraphCollection
    ///
    /// Creates a graph collection: nodes are its points (payload, labels in ``_labels``,
    /// with ``dimension`` an embedding searched by ``search_by_embedding`` under ``metric``),
    /// edges typed and directed. ``schema``: ``None`` (schemaless) or a dict
    /// ``{"node_types": [{"label": ..., "properties": [[name, type], ...]}], "edge_types":
    /// [{"label": ..., "from": ..., "to": ...}]}`` every write is checked against.
    #[pyo3(signature = (name, dimension = None, metric = "cosine", schema = None))]
    fn create_graph_collection(
        &self,
        py: Python<'_>,
        name: &str,
        dimension: Option<usize>,
        metric: &str,
        schema: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyGraphCollection> {
        let mut config = nearstore::GraphCollectionConfig::schemaless();
        let metric = options::metric(metric).py_err(py)?;
        if let Some(dim) = dimension {
            config = config.with_embedding(dim, metric);
        }
        if let Some(schema) = schema.filter(|s| !s.is_none()) {
            let value = json::to_json(schema, "schema")?;
            let schema: nearstore::GraphSchema = serde_json::from_value(value)
                .map_err(|e| errors::invalid(py, format!("schema: {e}")))?;
            schema
                .validate()
                .map_err(nearstore::Error::from)
                .py_err(py)?;
            config = config.with_schema(schema);
        }
        self.shared
            .call(py, |db| db.create_graph_collection(name, config).map(drop))?;
        Ok(PyGraphCollection::new(
            name.to_string(),
            Arc::clone(&self.shared),
        ))
    }

    /// get_graph_collection(name) -> GraphCollection
    ///
    /// A handle on an existing graph collection (``NotFound`` if there is none,
    /// ``InvalidArgument`` if ``name`` is not a graph).
    fn get_graph_collection(&self, py: Python<'_>, name: &str) -> PyResult<PyGraphCollection> {
        self.shared
            .call(py, |db| db.get_graph_collection(name).map(drop))?;
        Ok(PyGraphCollection::new(
            name.to_string(),
            Arc::clone(&self.shared),
        ))
    }

    /// create_metadata_collection(name) -> Collection
    ///
    /// Creates a collection of payload-only points: filters, scroll, count and text search
    /// work; a vector search raises an error that says it is a metadata collection.
    fn create_metadata_collection(&self, py: Python<'_>, name: &str) -> PyResult<PyCollection> {
        self.shared
            .new_handle(py, name, |db| db.create_metadata_collection(name))
    }

    /// list_collections() -> list[str]
    ///
    /// The collections' names, sorted.
    fn list_collections(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.shared.call(py, |db| Ok(db.list_collections()))
    }

    /// drop_collection(name) -> None
    ///
    /// Drops the collection and deletes its files. Handles still held on it raise
    /// ``NotFound`` from then on.
    fn drop_collection(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.shared.call(py, |db| db.drop_collection(name))
    }

    fn __contains__(&self, py: Python<'_>, name: &str) -> PyResult<bool> {
        self.shared
            .call(py, |db| Ok(db.list_collections().iter().any(|n| n == name)))
    }

    /// execute(sql, params=None, *, columns=False) -> list[dict] | dict[str, list]
    ///
    /// Runs one statement of the query language with ``$name`` parameters bound from the
    /// ``params`` dict (vectors as lists or numpy arrays). Returns the rows as dicts: point
    /// rows as ``{"id", "score", "payload"}`` (score and payload only when there is one),
    /// projections and aggregates as ``{column: value}``, DML as ``{"affected": n}``-style
    /// rows. With ``columns=True``, the same as one dict of columns (``{name: [values]}``,
    /// names in order of first appearance, ``None`` where a row lacks one), which
    /// ``pandas.DataFrame(...)`` and ``pyarrow.table(...)`` take as they are.
    #[pyo3(signature = (sql, params = None, *, columns = false))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        params: Option<&Bound<'py, PyAny>>,
        columns: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let params = match params {
            Some(p) => json::to_json(p, "params")?,
            None => serde_json::Value::Null,
        };
        let result = self.shared.call(py, |db| db.execute(sql, &params))?;
        let rows: Vec<serde_json::Value> = result.rows.iter().map(|r| r.to_json()).collect();
        if !columns {
            let list = PyList::empty(py);
            for row in &rows {
                list.append(json::to_py(py, row)?)?;
            }
            return Ok(list.into_any());
        }
        let mut names: Vec<&str> = Vec::new();
        for row in &rows {
            if let serde_json::Value::Object(m) = row {
                for k in m.keys() {
                    if !names.contains(&k.as_str()) {
                        names.push(k);
                    }
                }
            }
        }
        let table = PyDict::new(py);
        for name in names {
            let column = PyList::empty(py);
            for row in &rows {
                match row.get(name) {
                    Some(v) => column.append(json::to_py(py, v)?)?,
                    None => column.append(py.None())?,
                }
            }
            table.set_item(name, column)?;
        }
        Ok(table.into_any())
    }

    /// flush() -> None
    ///
    /// The durability barrier for every collection: once it returns, every earlier write
    /// survives a crash or power loss.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.shared.call(py, |db| db.flush())
    }

    /// snapshot(dir) -> dict
    ///
    /// Writes a consistent snapshot of every collection (and the aliases) into the new
    /// directory ``dir`` while writes continue: each collection as of one point of its log.
    /// Returns ``{"collections": {name: sequence}, "files": n, "bytes": n}``.
    fn snapshot<'py>(&self, py: Python<'py>, dir: PathBuf) -> PyResult<Bound<'py, PyDict>> {
        let info = self.shared.call(py, |db| db.snapshot(&dir))?;
        snapshot_info(py, info)
    }

    /// restore(dir) -> dict
    ///
    /// Replaces the whole database with the snapshot in ``dir`` (written by ``snapshot``),
    /// verified first: a damaged snapshot raises ``Corruption`` naming the file and offset
    /// and nothing changes. Collection handles are pointed at the restored collections.
    /// Returns what ``snapshot`` returns.
    fn restore<'py>(&self, py: Python<'py>, dir: PathBuf) -> PyResult<Bound<'py, PyDict>> {
        let info = self.shared.call(py, |db| db.restore(&dir))?;
        py.detach(|| self.shared.refresh_handles());
        snapshot_info(py, info)
    }

    /// close() -> None
    ///
    /// Flushes, checkpoints and closes every collection and releases the directory. Every
    /// handle from this database raises ``Closed`` afterwards. Calling it again does
    /// nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.shared.close()).py_err(py)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let state = if self.closed(py) { "closed" } else { "open" };
        format!("<nearstore.Database {:?} ({state})>", self.shared.path)
    }
}

/// `snapshot()` / `restore()`'s dict.
fn snapshot_info(py: Python<'_>, info: nearstore::SnapshotInfo) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    let collections = PyDict::new(py);
    for (name, seq) in info.collections {
        collections.set_item(name, seq)?;
    }
    d.set_item("collections", collections)?;
    d.set_item("files", info.files)?;
    d.set_item("bytes", info.bytes)?;
    Ok(d)
}
