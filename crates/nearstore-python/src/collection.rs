//! `nearstore.Collection`: a handle on one collection (points: an integer id, a float32
//! vector, named float32 vectors, sparse vectors, an optional JSON payload).
//!
//! Every engine call runs with the GIL released ([`PyCollection::call`]); arguments are
//! converted to engine values before (with the GIL) and results to Python objects after.
//! Results are dicts `{"id", "score", "payload"}` (plus `"vector"`, a float32 numpy array,
//! and `"vectors"` / `"sparse"`, the named ones, when asked for); `search_batch` returns
//! numpy arrays. Every dense search takes `using=` (a named vector; `""`, the default, is
//! the collection's own vector). Full-text searches
//! (`text_search`, `query(text=...)`) return the same dicts, scored by BM25; requests with
//! several legs (hybrid, multi-query, sparse) add per-leg `"legs"`. Arguments are read in
//! `arguments.rs`, results written in `results.rs`. The handle becomes unusable
//! (`nearstore.Closed`) when its database closes; see `database.rs`.

use std::sync::Arc;
use std::time::Instant;

use nearstore::{Leg, SearchRequest, VectorCollection, WriteOptions};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use rayon::prelude::*;
use serde_json::Value;

use crate::arguments::{points_from, request_options, search_options};
use crate::database::{Handle, Shared, closed};
use crate::errors::{self, IntoPyResult};
use crate::expiry;
use crate::results::{point_dict, results_list};
use crate::{fusion, json, named, options, sparse, text, vectors};

/// A collection of points. Get one from ``Database.create_collection`` or
/// ``Database.get_collection``.
///
/// Writes (``upsert``, ``delete``) are atomic per call and visible to searches as soon as the
/// call returns; they are durable after ``flush()`` (or per call with
/// ``durability="per_write"``). Scores follow the metric: similarities (cosine, dot,
/// jaccard) are higher-is-better, distances (euclidean, hamming, manhattan) lower-is-better; results
/// are always best first. Filters are dicts in the engine's JSON form, e.g.
/// ``{"field": "lang", "eq": "en"}`` or ``{"and": [..., ...]}``.
#[pyclass(name = "Collection", module = "nearstore", frozen)]
#[derive(Debug)]
pub struct PyCollection {
    name: String,
    handle: Arc<Handle>,
    /// Keeps the database open as long as this handle lives.
    shared: Arc<Shared>,
}

impl PyCollection {
    pub(crate) fn new(name: String, handle: Arc<Handle>, shared: Arc<Shared>) -> Self {
        PyCollection {
            name,
            handle,
            shared,
        }
    }

    /// Runs `f` on the collection with the GIL released.
    pub(crate) fn call<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&VectorCollection) -> nearstore::Result<T> + Send,
    {
        match py.detach(|| self.handle.collection.read().as_ref().map(f)) {
            Some(result) => result.py_err(py),
            None => Err(closed(py, self.shared.path())),
        }
    }

    /// A text search request, run with the GIL released, as result dicts.
    fn text_request<'py>(
        &self,
        py: Python<'py>,
        query: &str,
        top_k: usize,
        filter: Option<nearstore::Filter>,
        field: Option<&str>,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut request = SearchRequest::text(query).limit(top_k);
        request.filter = filter;
        if let Some(field) = field {
            request = request.text_field(field);
        }
        run_request(self, py, request)
    }

    fn filter_arg(
        py: Python<'_>,
        filter: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<nearstore::Filter>> {
        match filter {
            None => Ok(None),
            Some(f) => options::filter(&json::to_json(f, "filter")?).py_err(py),
        }
    }
}

/// Refuses a query vector with NaN or an infinity for a named vector, naming it (the
/// engine's error names no vector); the default vector's check stays the engine's.
fn check_query_vector(py: Python<'_>, using: &str, vector: &[f32]) -> PyResult<()> {
    if using.is_empty() {
        return Ok(());
    }
    named::check_finite(
        py,
        vector,
        &format!("the query vector for vector {using:?}"),
    )
}

/// The `using=` argument of `multi_query_search`: one name for every query, or one name per
/// query.
fn query_names(
    py: Python<'_>,
    using: Option<&Bound<'_, PyAny>>,
    n: usize,
) -> PyResult<Vec<String>> {
    let Some(using) = using.filter(|u| !u.is_none()) else {
        return Ok(vec![String::new(); n]);
    };
    if let Ok(name) = using.extract::<String>() {
        return Ok(vec![name; n]);
    }
    let names: Vec<String> = using.extract().map_err(|_| {
        errors::invalid(
            py,
            "using must be a vector name or a list of names, one per query",
        )
    })?;
    if names.len() != n {
        return Err(errors::invalid(
            py,
            format!("{n} queries but {} names in using", names.len()),
        ));
    }
    Ok(names)
}

/// Runs a request with the GIL released and returns its results as dicts.
fn run_request<'py>(
    this: &PyCollection,
    py: Python<'py>,
    request: SearchRequest,
) -> PyResult<Bound<'py, PyList>> {
    check_query_vector(py, &request.using, &request.vector)?;
    let with_vector = request.with_vector;
    let names = request.leg_names();
    let results = this.call(py, |c| c.query(request))?;
    results_list(py, results, with_vector, &names)
}

#[pymethods]
impl PyCollection {
    /// The collection's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The default vector's dimension (``None`` in a collection without a default vector).
    #[getter]
    fn dim(&self, py: Python<'_>) -> PyResult<Option<usize>> {
        self.call(py, |c| Ok(c.config().default_space().map(|s| s.dim)))
    }

    /// The default vector's distance metric (``"cosine"``, ``"euclidean"``, ``"dot"``, ...;
    /// ``None`` in a collection without a default vector).
    #[getter]
    fn metric(&self, py: Python<'_>) -> PyResult<Option<&'static str>> {
        self.call(py, |c| {
            Ok(c.config().default_space().map(|s| s.metric.name()))
        })
    }

    /// The configuration as a dict (dim, metric, m, ef_construction, ef_search, seed,
    /// durability, max_payload_bytes, storage_mode, oversampling, train_at, rabitq_bits and
    /// quantile (a quantized collection's settings as created, ``None``: the mode's default), text_fields: the
    /// text fields, ``["_all"]``
    /// by default, ``None`` with text indexing off; sparse_vectors and sparse_any_name;
    /// vectors: the named dense vectors, ``{name: {"dim", "metric", "m", "ef_construction",
    /// "ef_search", "seed", "storage_mode"}}``).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (c, text_config, sparse_names) = self.call(py, |c| {
            Ok((c.config(), c.text_config(), c.sparse_vectors()))
        })?;
        let spaces: serde_json::Map<String, Value> = c
            .vectors
            .iter()
            .map(|(name, space)| (name.clone(), options::vector_space_json(space)))
            .collect();
        let d = PyDict::new(py);
        let default = c.default_space();
        d.set_item("dim", default.map(|s| s.dim))?;
        d.set_item("metric", default.map(|s| s.metric.name()))?;
        d.set_item("m", c.hnsw.m)?;
        d.set_item("ef_construction", c.hnsw.ef_construction)?;
        d.set_item("ef_search", c.hnsw.ef_search)?;
        d.set_item("seed", c.hnsw.seed)?;
        d.set_item("durability", options::durability_name(c.durability))?;
        d.set_item("max_payload_bytes", c.max_payload_bytes)?;
        d.set_item("storage_mode", options::storage_mode_name(c.storage_mode))?;
        d.set_item("oversampling", c.quantization.oversampling)?;
        d.set_item("train_at", c.quantization.train_at)?;
        d.set_item("rabitq_bits", c.quantization.rabitq_bits)?;
        // As the decimal it was given (0.99, not the f32's 0.99000000953...).
        let quantile = c
            .quantization
            .quantile
            .map(|q| q.to_string().parse::<f64>().unwrap_or(f64::from(q)));
        d.set_item("quantile", quantile)?;
        let text_fields = text_config.map(|t| {
            t.fields
                .into_iter()
                .map(|f| f.name)
                .collect::<Vec<String>>()
        });
        d.set_item("text_fields", text_fields)?;
        let sparse_vectors = serde_json::to_value(&sparse_names)
            .map_err(|e| errors::invalid(py, format!("sparse_vectors: {e}")))?;
        d.set_item("sparse_vectors", json::to_py(py, &sparse_vectors)?)?;
        d.set_item("sparse_any_name", c.sparse.is_none())?;
        d.set_item("vectors", json::to_py(py, &Value::Object(spaces))?)?;
        Ok(d)
    }

    /// The ef of default-quality (``"balanced"``) searches; settable (persisted).
    #[getter]
    fn get_ef_search(&self, py: Python<'_>) -> PyResult<usize> {
        self.call(py, |c| Ok(c.ef_search()))
    }

    #[setter]
    fn set_ef_search(&self, py: Python<'_>, ef: usize) -> PyResult<()> {
        self.call(py, |c| c.set_ef_search(ef))
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.call(py, |c| Ok(c.len()))
    }

    /// upsert(ids, vectors=None, payloads=None, sparse=None) -> None
    ///
    /// Adds or replaces points, atomically (after a crash all of them or none are there).
    /// ``ids``: a list or 1-D integer array (0 .. 2**64-1). ``vectors``: a 2-D array of
    /// shape ``(len(ids), dim)`` — a float32 array is read in place, any layout
    /// (C order is fastest); float64 is converted to float32 (values outside the float32
    /// range are refused); integer dtypes are converted; a list of lists or of 1-D arrays
    /// works too. With named vectors (``create_collection(vectors=...)``), ``vectors`` is
    /// ``{name: 2-D array or list of vectors}`` (one row per id; ``""`` is the default
    /// vector; in a list, ``None`` leaves that point without that named vector) or a list
    /// with one entry per id, each a vector (the default one) or ``{name: vector}``. A
    /// point without a named vector is found by no search on it; an upsert replaces all of
    /// a point's vectors. Unknown names, wrong dimensions and NaN or infinite values raise
    /// ``InvalidArgument`` naming the vector. A point may carry no default vector (a ``None``
    /// entry, a dict without ``""``, or ``vectors=None`` for all): it is stored, counted and
    /// filterable, and found by no search on that vector. ``payloads``: ``None`` or a list of dicts (or ``None``s), one per id,
    /// of JSON values (numpy scalars and arrays are converted). ``sparse``: ``None`` or a
    /// list with one entry per id: ``None``, one sparse vector (the default name ``""``) or
    /// ``{name: sparse vector}``; a sparse vector is ``{"indices": [...], "values": [...]}``,
    /// ``(indices, values)`` or ``{dim: weight}``. An upsert replaces all of a point's sparse
    /// vectors. A later duplicate id in the batch wins. ``ttl`` (seconds from the write) or
    /// ``expires_at`` (epoch milliseconds or an RFC 3339 datetime string), one value for all
    /// points or a list with one per id (``None``: no expiry), makes points expire: an
    /// expired point is invisible to every read at once.
    #[pyo3(signature = (ids, vectors = None, payloads = None, sparse = None, *, ttl = None, expires_at = None))]
    #[allow(clippy::too_many_arguments)]
    fn upsert(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        vectors: Option<&Bound<'_, PyAny>>,
        payloads: Option<&Bound<'_, PyAny>>,
        sparse: Option<&Bound<'_, PyAny>>,
        ttl: Option<&Bound<'_, PyAny>>,
        expires_at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let points = points_from(py, ids, vectors, payloads, sparse)?;
        let points = expiry::apply(py, points, ttl, expires_at)?;
        self.call(py, move |c| c.upsert_with(points, &WriteOptions::default()))
    }

    /// upsert_bulk(ids, vectors=None, payloads=None, sparse=None, *, ttl=None, expires_at=None) -> None
    ///
    /// ``upsert`` for large loads: the same arguments, one atomic write, every point stored
    /// and found by every search when it returns, but the HNSW index of the default vector
    /// takes the new points in the background (points it already holds are replaced at
    /// once). Until a point is linked, searches score it exactly. ``wait_indexed()`` waits
    /// for the indexing, ``pending_index_count()`` tells how many points wait. Quantized
    /// storage modes and named vectors are indexed before it returns.
    #[pyo3(signature = (ids, vectors = None, payloads = None, sparse = None, *, ttl = None, expires_at = None))]
    #[allow(clippy::too_many_arguments)]
    fn upsert_bulk(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        vectors: Option<&Bound<'_, PyAny>>,
        payloads: Option<&Bound<'_, PyAny>>,
        sparse: Option<&Bound<'_, PyAny>>,
        ttl: Option<&Bound<'_, PyAny>>,
        expires_at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let points = points_from(py, ids, vectors, payloads, sparse)?;
        let points = expiry::apply(py, points, ttl, expires_at)?;
        self.call(py, move |c| c.upsert_bulk(points))
    }

    /// wait_indexed() -> None
    ///
    /// Blocks until every point written by ``upsert_bulk`` is linked into the HNSW index
    /// (at once when none waits). Raises when the background indexing failed.
    fn wait_indexed(&self, py: Python<'_>) -> PyResult<()> {
        self.call(py, |c| c.wait_indexed())
    }

    /// pending_index_count() -> int
    ///
    /// How many points of the default vector are stored and searchable but not yet linked
    /// into the HNSW index (see ``upsert_bulk``).
    fn pending_index_count(&self, py: Python<'_>) -> PyResult<u64> {
        self.call(py, |c| Ok(c.pending_index_count()))
    }

    /// set_ttl(ids, seconds) -> None
    ///
    /// Makes stored points expire ``seconds`` from now; an id that is not there (or has
    /// expired) raises ``NotFound`` and nothing changes.
    fn set_ttl(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        seconds: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let ids = vectors::ids(ids, "ids")?;
        let ttl = expiry::ttl(py, seconds, "seconds")?;
        self.call(py, |c| c.set_ttl(&ids, ttl))
    }

    /// set_expiry(ids, expires_at) -> None
    ///
    /// Sets (epoch milliseconds or a datetime string) or clears (``None``) the expiry time
    /// of stored points; an id that is not there (or has expired) raises ``NotFound``.
    fn set_expiry(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        expires_at: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let ids = vectors::ids(ids, "ids")?;
        let at = expiry::at(py, expires_at, "expires_at")?;
        self.call(py, |c| c.set_expiry(&ids, at))
    }

    /// expires_at(id) -> int | None
    ///
    /// A visible point's expiry time in epoch milliseconds (``None`` without one).
    fn expires_at(&self, py: Python<'_>, id: u64) -> PyResult<Option<u64>> {
        self.call(py, |c| Ok(c.expires_at(id)))
    }

    /// purge_expired() -> int
    ///
    /// Deletes the expired points now (one logged delete; flush and checkpoint also purge);
    /// returns how many.
    fn purge_expired(&self, py: Python<'_>) -> PyResult<usize> {
        self.call(py, |c| c.purge_expired())
    }

    /// update_vectors(ids, vectors=None, sparse=None) -> None
    ///
    /// Sets some vectors of existing points, leaving their other vectors and their payloads
    /// as they are (Qdrant's ``PUT points/vectors``). ``vectors`` in ``upsert``'s forms: a
    /// matrix sets the default vectors, ``{name: rows}`` the named ones (a ``None`` row sets
    /// nothing), a list of ``{name: vector}`` per point; ``sparse`` as for ``upsert`` (each
    /// entry sets the names it holds). One atomic write: an id that is not there raises
    /// ``NotFound``, an unknown name or a wrong dimension ``InvalidArgument``, and then
    /// nothing changes.
    #[pyo3(signature = (ids, vectors = None, sparse = None))]
    fn update_vectors(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        vectors: Option<&Bound<'_, PyAny>>,
        sparse: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let edits: Vec<nearstore::PointVectors> = points_from(py, ids, vectors, None, sparse)?
            .into_iter()
            .map(|p| {
                let mut edit = nearstore::PointVectors::new(p.id);
                if !p.vector.is_empty() {
                    edit.vectors.insert(String::new(), p.vector);
                }
                edit.vectors.extend(p.vectors);
                edit.sparse = p.sparse;
                edit
            })
            .collect();
        self.call(py, |c| {
            c.update_vectors(&edits, &nearstore::WriteOptions::default())
        })
    }

    /// delete_vectors(ids, names) -> None
    ///
    /// Removes the vectors ``names`` (a name or a list; ``""`` the default vector; a name
    /// removes the dense and the sparse vector of that name) from the points ``ids`` (an int,
    /// a list or an integer array), leaving the points, their payloads and their other
    /// vectors; the points are then found by no search on those vectors. A name a point does
    /// not carry is skipped; an id that is not there raises ``NotFound``, an unknown name
    /// ``InvalidArgument``, and then nothing changes.
    fn delete_vectors(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        names: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let ids = if ids.is_instance_of::<pyo3::types::PyInt>() {
            vec![vectors::id(ids, "id")?]
        } else {
            vectors::ids(ids, "ids")?
        };
        let names: Vec<String> = match names.extract::<String>() {
            Ok(name) => vec![name],
            Err(_) => names.extract().map_err(|_| {
                errors::invalid(py, "names must be a vector name or a list of names")
            })?,
        };
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        self.call(py, |c| {
            c.delete_vectors(&ids, &names, &nearstore::WriteOptions::default())
        })
    }

    /// search(vector, k=10, filter=None, **options) -> list[dict]
    ///
    /// The ``k`` nearest points to ``vector`` (a 1-D array or list), best first, as dicts
    /// ``{"id", "score", "payload"}``; only points matching ``filter`` when given (``k``
    /// results whenever ``k`` points match). Options as for ``query``: ``offset``,
    /// ``quality`` (``"fast"``, ``"balanced"``, ``"accurate"``, ``"perfect"``,
    /// ``"adaptive"``) or ``ef``, ``with_payload``, ``with_vector``, ``score_threshold``,
    /// ``using`` (the named vector to search, ranked by its own metric; default ``""``, the
    /// collection's own vector), ``rerank`` and ``oversampling`` (a quantized collection:
    /// rescore the candidates with the exact vectors, default ``True``, ``False`` returns
    /// the codes' approximate scores; candidates rescored per result, 1 to 100).
    #[pyo3(signature = (vector, k = 10, filter = None, **options))]
    fn search<'py>(
        &self,
        py: Python<'py>,
        vector: &Bound<'py, PyAny>,
        k: usize,
        filter: Option<&Bound<'py, PyAny>>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let vector = vectors::vector(vector, "vector")?;
        let map = search_options(py, k, filter, options)?;
        let request = options::search_request(Some(vector), &map, Vec::new()).py_err(py)?;
        run_request(self, py, request)
    }

    /// query(vector=None, *, limit=10, offset=0, filter=None, quality=None, ef=None,
    /// with_payload=True, with_vector=False, score_threshold=None) -> list[dict]
    ///
    /// The general search request (the engine's ``SearchRequest``): results as for
    /// ``search``. ``score_threshold`` drops results worse than it (a minimum for
    /// similarities, a maximum for distances). ``text="query"`` (with no vector) makes it a
    /// full-text search ranked by BM25, as ``text_search``; ``text_field`` aims the query's
    /// words that name no field at one text field (``field MATCH 'q'`` in the query
    /// language). A vector and a text together are a hybrid search: both legs run under the
    /// filter, their lists are fused by ``fusion`` (a ``FusionStrategy``, a strategy name or
    /// a dict; default RRF with k = 60), and each result carries ``"legs"``: what each leg
    /// that found it said, ``{"leg", "name", "score", "rank"}``; ``score`` is then the fused
    /// score (higher is better) and limit, offset and threshold apply to the fused list.
    /// ``using`` aims ``vector`` at a named dense vector (its leg is then named
    /// ``"dense:<name>"``); ``dense={name: vector}`` adds dense legs by name and
    /// ``sparse=...`` sparse legs (each in name order, after the vector and text legs), all
    /// fused as above. Any unknown option raises ``InvalidArgument``.
    #[pyo3(signature = (vector = None, **options))]
    fn query<'py>(
        &self,
        py: Python<'py>,
        vector: Option<&Bound<'py, PyAny>>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let vector = match vector {
            Some(v) if !v.is_none() => Some(vectors::vector(v, "vector")?),
            _ => None,
        };
        let (map, legs) = request_options(py, options)?;
        let request = options::search_request(vector, &map, legs).py_err(py)?;
        run_request(self, py, request)
    }

    /// search_batch(vectors, k=10, filter=None, **options) -> tuple[numpy.ndarray, numpy.ndarray]
    ///
    /// One search per row of ``vectors`` (2-D), run in parallel. Returns ``(ids, scores)``:
    /// ``ids`` a ``uint64`` array and ``scores`` a ``float32`` array, both of shape
    /// ``(n, k)``, each row best first. A row with fewer than ``k`` results is padded with
    /// score ``NaN`` (and id ``2**64-1``, which can also be a real id: test the score).
    /// Options as for ``search`` (``using`` included) except ``with_payload`` /
    /// ``with_vector``.
    #[pyo3(signature = (vectors, k = 10, filter = None, **options))]
    fn search_batch<'py>(
        &self,
        py: Python<'py>,
        vectors: &Bound<'py, PyAny>,
        k: usize,
        filter: Option<&Bound<'py, PyAny>>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let rows = vectors::matrix(vectors, "vectors")?;
        let mut map = search_options(py, k, filter, options)?;
        for key in ["with_payload", "with_vector"] {
            if map.contains_key(key) {
                return Err(errors::invalid(
                    py,
                    format!(
                        "search_batch returns ids and scores only; {key:?} is not an option here"
                    ),
                ));
            }
        }
        map.insert("with_payload".into(), Value::Bool(false));
        let template = options::search_request(Some(Vec::new()), &map, Vec::new()).py_err(py)?;
        for (i, row) in rows.iter().enumerate() {
            if !template.using.is_empty() {
                named::check_finite(
                    py,
                    row,
                    &format!("vectors[{i}] (a query for vector {:?})", template.using),
                )?;
            }
        }
        let n = rows.len();
        let hits: Vec<Vec<(u64, f32)>> = self.call(py, |c| {
            rows.into_par_iter()
                .map(|v| {
                    let mut request = template.clone();
                    request.vector = v;
                    c.query(request)
                        .map(|rs| rs.into_iter().map(|r| (r.point.id, r.score)).collect())
                })
                .collect()
        })?;
        let mut ids = vec![u64::MAX; n * k];
        let mut scores = vec![f32::NAN; n * k];
        for (i, row) in hits.iter().enumerate() {
            for (j, (id, score)) in row.iter().take(k).enumerate() {
                ids[i * k + j] = *id;
                scores[i * k + j] = *score;
            }
        }
        let ids = PyArray1::from_vec(py, ids).reshape([n, k])?;
        let scores = PyArray1::from_vec(py, scores).reshape([n, k])?;
        PyTuple::new(py, [ids.into_any(), scores.into_any()])
    }

    /// get(ids, with_vector=True) -> list[dict | None] | dict | None
    ///
    /// Points by id as dicts ``{"id", "payload", "vector"}`` (plus ``"vectors"``, the named
    /// dense vectors ``{name: array}``, and ``"sparse"`` when the point has any), in the
    /// order asked, ``None`` for an id that is not there. Given one int (not a list), returns one dict or ``None``.
    #[pyo3(signature = (ids, with_vector = true))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        ids: &Bound<'py, PyAny>,
        with_vector: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let single = ids.is_instance_of::<pyo3::types::PyInt>();
        let id_list = if single {
            vec![vectors::id(ids, "id")?]
        } else {
            vectors::ids(ids, "ids")?
        };
        let points = self.call(py, |c| c.get(&id_list))?;
        let mut out = Vec::with_capacity(points.len());
        for p in points {
            out.push(match p {
                Some(p) => point_dict(py, p, None, with_vector)?.into_any(),
                None => py.None().into_bound(py),
            });
        }
        if single {
            return Ok(out.pop().unwrap_or_else(|| py.None().into_bound(py)));
        }
        Ok(PyList::new(py, out)?.into_any())
    }

    /// delete(ids=None, *, filter=None) -> int
    ///
    /// Deletes points by id (an int, a list or an integer array) or every point matching
    /// ``filter`` (exactly one of the two); returns how many existed.
    #[pyo3(signature = (ids = None, *, filter = None))]
    fn delete(
        &self,
        py: Python<'_>,
        ids: Option<&Bound<'_, PyAny>>,
        filter: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        match (ids, filter) {
            (Some(ids), None) => {
                let ids = if ids.is_instance_of::<pyo3::types::PyInt>() {
                    vec![vectors::id(ids, "id")?]
                } else {
                    vectors::ids(ids, "ids")?
                };
                self.call(py, |c| c.delete(&ids))
            }
            (None, Some(f)) => match Self::filter_arg(py, Some(f))? {
                Some(filter) => self.call(py, |c| c.delete_by_filter(&filter)),
                // A value whose JSON form is null (a numpy 0-d object array holding None).
                None => Err(errors::invalid(
                    py,
                    "delete takes ids or filter=..., exactly one of them",
                )),
            },
            _ => Err(errors::invalid(
                py,
                "delete takes ids or filter=..., exactly one of them",
            )),
        }
    }

    /// scroll(filter=None, limit=100, cursor=None, with_vector=False) -> tuple[list[dict], int | None]
    ///
    /// One page of points in ascending id order, from ``cursor`` (an id, inclusive) on, only
    /// those matching ``filter`` when given. Returns ``(points, next_cursor)``;
    /// ``next_cursor`` is ``None`` on the last page.
    #[pyo3(signature = (filter = None, limit = 100, cursor = None, with_vector = false))]
    fn scroll<'py>(
        &self,
        py: Python<'py>,
        filter: Option<&Bound<'py, PyAny>>,
        limit: usize,
        cursor: Option<u64>,
        with_vector: bool,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let filter = Self::filter_arg(py, filter)?;
        let page = self.call(py, |c| c.scroll(filter.as_ref(), limit, cursor))?;
        let points = PyList::empty(py);
        for p in page.points {
            points.append(point_dict(py, p, None, with_vector)?)?;
        }
        let next = page.next_cursor.into_pyobject(py)?.into_any();
        PyTuple::new(py, [points.into_any(), next])
    }

    /// count(filter=None) -> int
    ///
    /// The number of points, or of points matching ``filter``.
    #[pyo3(signature = (filter = None))]
    fn count(&self, py: Python<'_>, filter: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
        let filter = Self::filter_arg(py, filter)?;
        self.call(py, |c| c.count(filter.as_ref()))
    }

    /// flush() -> None
    ///
    /// The durability barrier: once it returns, every earlier write survives a crash or
    /// power loss.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.call(py, |c| c.flush())
    }

    /// checkpoint() -> None
    ///
    /// Writes a checkpoint of every component and empties the operation log, so the next
    /// open replays nothing (closing does this too).
    fn checkpoint(&self, py: Python<'_>) -> PyResult<()> {
        self.call(py, |c| c.checkpoint())
    }

    /// train_quantizer() -> bool
    ///
    /// Trains a quantized collection's quantizer (``storage_mode`` ``"sq8"``, ``"binary"``,
    /// ``"pq"``, ``"rabitq"``) now, on the points it holds, and checkpoints so the training
    /// is durable; returns whether it trained (``False`` when the collection holds no
    /// vector). Training also happens by itself at ``train_at`` points (default 1024; 0:
    /// only on demand). Raises ``InvalidArgument`` for a ``"full"`` collection.
    fn train_quantizer(&self, py: Python<'_>) -> PyResult<bool> {
        self.call(py, |c| c.train_quantizer())
    }

    /// Whether searches walk the graph on quantized codes now (``False`` for ``"full"``
    /// and for a quantized collection not trained yet, which searches its float32 vectors).
    #[getter]
    fn quantizer_trained(&self, py: Python<'_>) -> PyResult<bool> {
        self.call(py, |c| Ok(c.quantizer_trained()))
    }

    /// create_payload_index(field, kind) -> None
    ///
    /// Indexes the payload ``field`` (a dotted path) as ``kind``: ``"keyword"`` (strings),
    /// ``"integer"``, ``"float"`` or ``"bool"``. Filters on indexed fields resolve without
    /// reading payloads. Creating an index that exists with the same kind does nothing.
    fn create_payload_index(&self, py: Python<'_>, field: &str, kind: &str) -> PyResult<()> {
        let kind = options::field_index_kind(kind).py_err(py)?;
        self.call(py, |c| c.create_field_index(field, kind))
    }

    /// drop_payload_index(field) -> bool
    ///
    /// Drops the payload index on ``field``; returns whether there was one.
    fn drop_payload_index(&self, py: Python<'_>, field: &str) -> PyResult<bool> {
        self.call(py, |c| c.drop_field_index(field))
    }

    /// payload_indexes() -> dict[str, str]
    ///
    /// The payload indexes, as ``{field: kind}``.
    fn payload_indexes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let fields = self.call(py, |c| Ok(c.field_indexes()))?;
        let d = PyDict::new(py);
        for (field, kind) in fields {
            d.set_item(field, kind.name())?;
        }
        Ok(d)
    }

    /// text_search(query, top_k=10, *, field=None) -> list[dict]
    ///
    /// The ``top_k`` points whose payload text best matches ``query``, ranked by BM25
    /// (higher is better), as dicts ``{"id", "score", "payload"}`` like ``search``. Query
    /// syntax: words are OR-ed; ``"a phrase"`` matches the words adjacent and in order;
    /// ``+word`` must occur, ``-word`` must not; ``field:word`` targets one text field.
    /// ``field`` aims the words that name no field at one text field. A query with no
    /// indexable word returns ``[]``. Deletes and updates count at once. Raises
    /// ``InvalidArgument`` when text indexing is off or ``field`` is not a text field.
    #[pyo3(signature = (query, top_k = 10, *, field = None))]
    fn text_search<'py>(
        &self,
        py: Python<'py>,
        query: &str,
        top_k: usize,
        field: Option<&str>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.text_request(py, query, top_k, None, field)
    }

    /// text_search_with_filter(query, top_k, filter, *, field=None) -> list[dict]
    ///
    /// ``text_search`` among the points matching ``filter`` (a dict in the engine's JSON
    /// form): ``top_k`` results whenever ``top_k`` matching points contain the query.
    #[pyo3(signature = (query, top_k, filter, *, field = None))]
    fn text_search_with_filter<'py>(
        &self,
        py: Python<'py>,
        query: &str,
        top_k: usize,
        filter: &Bound<'py, PyAny>,
        field: Option<&str>,
    ) -> PyResult<Bound<'py, PyList>> {
        let Some(filter) = Self::filter_arg(py, Some(filter))? else {
            return Err(errors::invalid(
                py,
                "text_search_with_filter needs a filter (use text_search without one)",
            ));
        };
        self.text_request(py, query, top_k, Some(filter), field)
    }

    /// hybrid_search(vector, query, top_k=10, vector_weight=0.5, filter=None, *, using=None) -> list[dict]
    ///
    /// Dense + BM25 in one request: the ``top_k`` best points for ``vector`` and the
    /// full-text ``query`` together, each leg's scores min-max normalized and summed with
    /// weights ``vector_weight`` (the dense side, the engine's ``alpha``, within 0..1) and
    /// ``1 - vector_weight`` (the same as ``query(vector, text=query,
    /// fusion=FusionStrategy.relative_score([w, 1 - w]))``). Only points matching ``filter``
    /// when given (each leg searches under it); ``using`` names the dense vector searched
    /// (default: the collection's own). Results as for ``query`` with both legs: fused
    /// ``score`` and per-leg ``"legs"``.
    #[pyo3(signature = (vector, query, top_k = 10, vector_weight = 0.5, filter = None, *, using = None))]
    #[expect(
        clippy::too_many_arguments,
        reason = "the reference's Python signature plus using="
    )]
    fn hybrid_search<'py>(
        &self,
        py: Python<'py>,
        vector: &Bound<'py, PyAny>,
        query: &str,
        top_k: usize,
        vector_weight: f64,
        filter: Option<&Bound<'py, PyAny>>,
        using: Option<&str>,
    ) -> PyResult<Bound<'py, PyList>> {
        let vector = vectors::vector(vector, "vector")?;
        if !(0.0..=1.0).contains(&vector_weight) {
            return Err(errors::invalid(
                py,
                format!("hybrid_search vector_weight must be within 0..=1, got {vector_weight}"),
            ));
        }
        let alpha = vector_weight as f32;
        let mut request = SearchRequest::new(&vector)
            .using(using.unwrap_or_default())
            .text_query(query)
            .limit(top_k)
            .fusion(nearstore::FusionStrategy::RelativeScore {
                weights: vec![alpha, 1.0 - alpha],
            });
        request.filter = Self::filter_arg(py, filter)?;
        run_request(self, py, request)
    }

    /// multi_query_search(vectors, top_k=10, fusion=None, filter=None, *, using=None) -> list[dict]
    ///
    /// Several dense queries (a 2-D array or a list of vectors) fused into one ranking by
    /// ``fusion`` (a ``FusionStrategy``, a strategy name or a dict; default RRF with k = 60),
    /// among the points matching ``filter`` when given (each query searches under it).
    /// ``using`` names the dense vector the queries search: one name for all, or a list
    /// with one name per query (a text and an image query fused, say); default the
    /// collection's own vector. Results carry the fused ``score`` and, per query that found
    /// the point, ``"legs"`` entries ``{"leg": query position, "name": "dense" or
    /// "dense:<name>", "score", "rank"}``.
    #[pyo3(signature = (vectors, top_k = 10, fusion = None, filter = None, *, using = None))]
    fn multi_query_search<'py>(
        &self,
        py: Python<'py>,
        vectors: &Bound<'py, PyAny>,
        top_k: usize,
        fusion: Option<&Bound<'py, PyAny>>,
        filter: Option<&Bound<'py, PyAny>>,
        using: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let rows = vectors::matrix(vectors, "vectors")?;
        let names = query_names(py, using, rows.len())?;
        let strategy = fusion::from_py(py, fusion.filter(|f| !f.is_none()))?;
        let mut request = SearchRequest::new(&[]).limit(top_k).fusion(strategy);
        request.filter = Self::filter_arg(py, filter)?;
        for (i, (row, name)) in rows.iter().zip(&names).enumerate() {
            if !name.is_empty() {
                named::check_finite(
                    py,
                    row,
                    &format!("vectors[{i}] (a query for vector {name:?})"),
                )?;
            }
            request = request.leg(Leg::dense(name, row));
        }
        run_request(self, py, request)
    }

    /// sparse_search(vector, top_k=10, name="", filter=None) -> list[dict]
    ///
    /// The ``top_k`` points whose sparse vector ``name`` (``""``: the default) has the
    /// largest dot product with ``vector`` (``{"indices", "values"}``, ``(indices, values)``
    /// or ``{dim: weight}``; with the name's IDF modifier when configured), best first, ties
    /// to the smaller id, exact; only points matching ``filter`` when given. Points without
    /// that sparse vector are never found.
    #[pyo3(signature = (vector, top_k = 10, name = "", filter = None))]
    fn sparse_search<'py>(
        &self,
        py: Python<'py>,
        vector: &Bound<'py, PyAny>,
        top_k: usize,
        name: &str,
        filter: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let v = sparse::vector(vector, "vector")?;
        let mut request = SearchRequest::new(&[])
            .limit(top_k)
            .leg(Leg::sparse(name, &v));
        request.filter = Self::filter_arg(py, filter)?;
        run_request(self, py, request)
    }

    /// hybrid_sparse_search(vector, sparse_vector, top_k=10, name="", fusion=None, filter=None, *, using=None) -> list[dict]
    ///
    /// Dense + sparse in one request: the nearest neighbours of ``vector`` and the best dot
    /// products with ``sparse_vector`` on the sparse vector ``name``, each leg under
    /// ``filter``, fused by ``fusion`` (default RRF with k = 60). Results carry the fused
    /// ``score`` and ``"legs"`` (``"dense"`` / ``"dense:<using>"`` and ``"sparse"`` /
    /// ``"sparse:<name>"``). ``using`` names the dense vector (default: the collection's own).
    #[pyo3(signature = (vector, sparse_vector, top_k = 10, name = "", fusion = None, filter = None, *, using = None))]
    #[expect(
        clippy::too_many_arguments,
        reason = "the reference's Python signature"
    )]
    fn hybrid_sparse_search<'py>(
        &self,
        py: Python<'py>,
        vector: &Bound<'py, PyAny>,
        sparse_vector: &Bound<'py, PyAny>,
        top_k: usize,
        name: &str,
        fusion: Option<&Bound<'py, PyAny>>,
        filter: Option<&Bound<'py, PyAny>>,
        using: Option<&str>,
    ) -> PyResult<Bound<'py, PyList>> {
        let dense = vectors::vector(vector, "vector")?;
        let sv = sparse::vector(sparse_vector, "sparse_vector")?;
        let strategy = fusion::from_py(py, fusion.filter(|f| !f.is_none()))?;
        let mut request = SearchRequest::new(&dense)
            .using(using.unwrap_or_default())
            .limit(top_k)
            .leg(Leg::sparse(name, &sv))
            .fusion(strategy);
        request.filter = Self::filter_arg(py, filter)?;
        run_request(self, py, request)
    }

    /// create_text_index(field, **analyzer) -> None
    ///
    /// Indexes the payload ``field`` (a dotted path, or ``"_all"`` for every string leaf)
    /// for full-text search, with the analyzer these options describe (all optional; the
    /// default analyzer folds to ASCII, lowercases and splits on everything not a letter or
    /// digit): ``tokenizer`` (``"alphanumeric"``, ``"word"``, ``"whitespace"``, ``"raw"``),
    /// ``lowercase``, ``ascii_folding`` (bools), ``stemmer`` (a Snowball language such as
    /// ``"english"``), ``stop_words`` (a list), ``min_token_chars``, ``max_token_chars``.
    /// Indexes the existing points before it returns, and persists the configuration. With
    /// text indexing off the field becomes the only one; creating a field again with the same
    /// analyzer does nothing, with another re-indexes it.
    #[pyo3(signature = (field, **analyzer))]
    fn create_text_index(
        &self,
        py: Python<'_>,
        field: &str,
        analyzer: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let options = json::kwargs_to_map(analyzer, "")?;
        let analyzer = text::analyzer(&options).py_err(py)?;
        self.call(py, |c| c.create_text_index(field, analyzer))
    }

    /// drop_text_index(field) -> bool
    ///
    /// Stops indexing ``field`` for full-text search; returns whether it was indexed.
    /// Dropping the last text field turns text indexing off.
    fn drop_text_index(&self, py: Python<'_>, field: &str) -> PyResult<bool> {
        self.call(py, |c| c.drop_text_index(field))
    }

    /// text_index_info() -> dict | None
    ///
    /// ``None`` with text indexing off; otherwise ``{"fields": {name: {"analyzer": {...},
    /// "k1", "b"}}, "documents", "dead_entries", "segments", "heap_bytes",
    /// "image_bytes"}``. ``documents`` counts the live points with at least one indexed
    /// word; ``dead_entries`` what deletes and updates left for a merge to reclaim.
    fn text_index_info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (config, info) = self.call(py, |c| Ok((c.text_config(), c.text_index_info())))?;
        json::to_py(py, &text::info_json(config, info))
    }

    /// _rust_upsert_seconds(ids, vectors, payloads=None) -> float
    ///
    /// Benchmarking aid: ``upsert`` that returns the seconds spent in the engine call alone
    /// (the conversion of the arguments is done first and not counted). The difference to
    /// timing ``upsert`` from Python is the binding's cost for the batch.
    #[pyo3(signature = (ids, vectors, payloads = None))]
    fn _rust_upsert_seconds(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        vectors: &Bound<'_, PyAny>,
        payloads: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<f64> {
        let points = points_from(py, ids, Some(vectors), payloads, None)?;
        self.call(py, |c| {
            let start = Instant::now();
            c.upsert_with(&points, &WriteOptions::default())?;
            Ok(start.elapsed().as_secs_f64())
        })
    }

    /// _rust_search_seconds(vectors, k=10) -> float
    ///
    /// Benchmarking aid: runs ``search(v, k)`` for every row, one after the other, entirely
    /// in Rust (the same engine call ``search`` makes, without the Python conversions) and
    /// returns the elapsed seconds. The difference to timing ``search`` from Python is the
    /// binding's per-query overhead.
    #[pyo3(signature = (vectors, k = 10))]
    fn _rust_search_seconds(
        &self,
        py: Python<'_>,
        vectors: &Bound<'_, PyAny>,
        k: usize,
    ) -> PyResult<f64> {
        let rows = vectors::matrix(vectors, "vectors")?;
        self.call(py, |c| {
            let start = Instant::now();
            for v in &rows {
                let results = c.query(SearchRequest::new(v).limit(k))?;
                std::hint::black_box(results);
            }
            Ok(start.elapsed().as_secs_f64())
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Flushes the collection when the ``with`` block ends (the database stays open).
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.flush(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        // Names are [A-Za-z0-9_-]: nothing to escape.
        format!("<nearstore.Collection '{}'>", self.name)
    }
}
