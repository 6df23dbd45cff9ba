//! Sparse vectors between Python and the engine: reading the forms users write, and the
//! dict results carry.
//!
//! One sparse vector is any of: `{"indices": [...], "values": [...]}` (lists, tuples or
//! numpy arrays; the reference's and Qdrant's form), a 2-tuple or 2-list `(indices, values)`
//! (no scipy needed), or `{dim: weight}` with integer keys. Indices are `u32`, values finite
//! float32; the engine normalizes (sorts, sums repeated indices, drops zeros). Named sparse
//! vectors: a dict `{name: vector}` with string keys; a single vector where named ones are
//! expected means the default name `""`. Nothing here searches or stores anything.

use std::collections::BTreeMap;

use nearstore::SparseVector;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyString, PyTuple};

use crate::errors;

/// The indices of a sparse vector: non-negative integers below 2**32.
fn indices_of(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u32>> {
    let py = obj.py();
    if obj.is_instance_of::<PyString>() {
        return Err(errors::invalid(
            py,
            format!("{what}: indices must be integers, got a str"),
        ));
    }
    let raw: Vec<i64> = obj.extract().map_err(|_| {
        errors::invalid(
            py,
            format!("{what}: indices must be a sequence of integers"),
        )
    })?;
    raw.into_iter()
        .map(|i| {
            u32::try_from(i)
                .map_err(|_| errors::invalid(py, format!("{what}: index {i} is outside 0..2**32")))
        })
        .collect()
}

/// The values of a sparse vector: finite numbers within the float32 range.
fn values_of(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<f32>> {
    let py = obj.py();
    if obj.is_instance_of::<PyString>() {
        return Err(errors::invalid(
            py,
            format!("{what}: values must be numbers, got a str"),
        ));
    }
    let raw: Vec<f64> = obj.extract().map_err(|_| {
        errors::invalid(py, format!("{what}: values must be a sequence of numbers"))
    })?;
    raw.into_iter()
        .map(|v| {
            if v.is_finite() && v.abs() <= f64::from(f32::MAX) {
                Ok(v as f32)
            } else {
                Err(errors::invalid(
                    py,
                    format!("{what}: value {v} is not a finite float32"),
                ))
            }
        })
        .collect()
}

/// The engine's sparse vector from its parts (normalized; errors name `what`).
fn build(
    py: Python<'_>,
    indices: Vec<u32>,
    values: Vec<f32>,
    what: &str,
) -> PyResult<SparseVector> {
    SparseVector::new(indices, values).map_err(|e| errors::invalid(py, format!("{what}: {e}")))
}

/// Whether `d` is one sparse vector (`indices`/`values` keys, or integer keys) rather than a
/// dict of named vectors.
fn is_single(d: &Bound<'_, PyDict>) -> bool {
    d.contains(intern!(d.py(), "indices")).unwrap_or(false)
        || d.keys()
            .iter()
            .next()
            .is_some_and(|k| k.is_instance_of::<PyInt>())
}

/// One sparse vector in any of the accepted forms (module docs).
pub(crate) fn vector(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<SparseVector> {
    let py = obj.py();
    if let Ok(d) = obj.cast::<PyDict>() {
        if d.contains(intern!(py, "indices"))? {
            if !d.contains(intern!(py, "values"))? {
                return Err(errors::invalid(
                    py,
                    format!("{what}: \"indices\" without \"values\""),
                ));
            }
            if d.len() != 2 {
                return Err(errors::invalid(
                    py,
                    format!(
                        "{what}: a sparse vector dict has exactly the keys \"indices\" and \"values\""
                    ),
                ));
            }
            let values = d.get_item(intern!(py, "values"))?.ok_or_else(|| {
                errors::invalid(py, format!("{what}: \"indices\" without \"values\""))
            })?;
            let indices = d
                .get_item(intern!(py, "indices"))?
                .ok_or_else(|| errors::invalid(py, format!("{what}: no \"indices\"")))?;
            return build(
                py,
                indices_of(&indices, what)?,
                values_of(&values, what)?,
                what,
            );
        }
        let mut indices = Vec::with_capacity(d.len());
        let mut values = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            if !k.is_instance_of::<PyInt>() {
                return Err(errors::invalid(
                    py,
                    format!(
                        "{what}: a sparse vector is {{\"indices\": [...], \"values\": [...]}}, (indices, values) or {{dim: weight}} with integer dims"
                    ),
                ));
            }
            let dim: i64 = k.extract()?;
            indices.push(u32::try_from(dim).map_err(|_| {
                errors::invalid(py, format!("{what}: index {dim} is outside 0..2**32"))
            })?);
            values.push(values_of(&PyList::new(py, [v])?.into_any(), what)?[0]);
        }
        return build(py, indices, values, what);
    }
    let pair = if let Ok(t) = obj.cast::<PyTuple>() {
        (t.len() == 2).then(|| (t.get_item(0), t.get_item(1)))
    } else if let Ok(l) = obj.cast::<PyList>() {
        (l.len() == 2).then(|| (l.get_item(0), l.get_item(1)))
    } else {
        None
    };
    match pair {
        Some((Ok(indices), Ok(values))) => build(
            py,
            indices_of(&indices, what)?,
            values_of(&values, what)?,
            what,
        ),
        _ => Err(errors::invalid(
            py,
            format!(
                "{what}: a sparse vector is {{\"indices\": [...], \"values\": [...]}}, (indices, values) or {{dim: weight}}, got {}",
                obj.get_type().name()?
            ),
        )),
    }
}

/// Named sparse vectors: `{name: vector}`, or one vector for the default name `""`.
pub(crate) fn named(
    obj: &Bound<'_, PyAny>,
    what: &str,
) -> PyResult<BTreeMap<String, SparseVector>> {
    let py = obj.py();
    match obj.cast::<PyDict>() {
        Ok(d) if !is_single(d) => {
            let mut out = BTreeMap::new();
            for (k, v) in d.iter() {
                let name: String = k.extract().map_err(|_| {
                    errors::invalid(py, format!("{what}: sparse vector names are strings"))
                })?;
                let parsed = vector(&v, &format!("{what}[{name:?}]"))?;
                out.insert(name, parsed);
            }
            Ok(out)
        }
        _ => Ok(BTreeMap::from([(String::new(), vector(obj, what)?)])),
    }
}

/// A sparse vector as `{"indices": [...], "values": [...]}`.
pub(crate) fn to_dict<'py>(py: Python<'py>, v: &SparseVector) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "indices"), v.indices())?;
    d.set_item(intern!(py, "values"), v.values())?;
    Ok(d)
}

/// Named sparse vectors as `{name: {"indices", "values"}}`.
pub(crate) fn named_to_dict<'py>(
    py: Python<'py>,
    vectors: &BTreeMap<String, SparseVector>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, v) in vectors {
        d.set_item(name, to_dict(py, v)?)?;
    }
    Ok(d)
}
