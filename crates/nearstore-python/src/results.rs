//! Engine results as Python objects: a search result or a stored point as a dict
//! `{"id"[, "score"], "payload"[, "vector"][, "vectors"][, "sparse"][, "legs"]}` (`vectors`:
//! the named dense vectors, `{name: float32 array}`, when asked for and the point has any). Conversion only: the
//! values are the engine's, unchanged.

use nearstore::{Point, SearchResult};
use numpy::PyArray1;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::{json, named, sparse};

/// A search result as `{"id", "score", "payload"[, "vector"][, "legs"]}`: `legs` (in a
/// request with several legs) lists what each leg that found the point said, as
/// `{"leg": position, "name": leg name, "score", "rank"}` in leg order.
fn result_dict<'py>(
    py: Python<'py>,
    r: SearchResult,
    with_vector: bool,
    leg_names: &[String],
) -> PyResult<Bound<'py, PyDict>> {
    let d = point_dict(py, r.point, Some(r.score), with_vector)?;
    if !r.legs.is_empty() {
        let legs = PyList::empty(py);
        for l in &r.legs {
            let leg = PyDict::new(py);
            leg.set_item(intern!(py, "leg"), l.leg)?;
            match leg_names.get(l.leg) {
                Some(name) => leg.set_item(intern!(py, "name"), name)?,
                None => leg.set_item(intern!(py, "name"), py.None())?,
            }
            leg.set_item(intern!(py, "score"), l.score)?;
            leg.set_item(intern!(py, "rank"), l.rank)?;
            legs.append(leg)?;
        }
        d.set_item(intern!(py, "legs"), legs)?;
    }
    Ok(d)
}

/// A point as `{"id"[, "score"], "payload"[, "vector"]}`.
pub(crate) fn point_dict<'py>(
    py: Python<'py>,
    p: Point,
    score: Option<f32>,
    with_vector: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "id"), p.id)?;
    if let Some(score) = score {
        d.set_item(intern!(py, "score"), score)?;
    }
    match &p.payload {
        Some(v) => d.set_item(intern!(py, "payload"), json::to_py(py, v)?)?,
        None => d.set_item(intern!(py, "payload"), py.None())?,
    }
    if let Some(at) = p.expires_at() {
        d.set_item(intern!(py, "expires_at"), at)?;
    }
    if with_vector {
        if !p.sparse.is_empty() {
            d.set_item(intern!(py, "sparse"), sparse::named_to_dict(py, &p.sparse)?)?;
        }
        // A point without a default vector has an empty one: `None` here.
        if p.vector.is_empty() {
            d.set_item(intern!(py, "vector"), py.None())?;
        } else {
            d.set_item(intern!(py, "vector"), PyArray1::from_vec(py, p.vector))?;
        }
        if !p.vectors.is_empty() {
            d.set_item(intern!(py, "vectors"), named::named_to_dict(py, p.vectors)?)?;
        }
    }
    Ok(d)
}

/// Search results as dicts (see [`result_dict`]); `leg_names` names the request's legs.
pub(crate) fn results_list<'py>(
    py: Python<'py>,
    results: Vec<SearchResult>,
    with_vector: bool,
    leg_names: &[String],
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for r in results {
        list.append(result_dict(py, r, with_vector, leg_names)?)?;
    }
    Ok(list)
}
