//! Named dense vectors between Python and the engine: the forms `upsert`'s `vectors`
//! argument takes, `{name: vector}` query legs, and the dict results carry.
//!
//! `upsert(ids, vectors)` reads `vectors` as one of (the name `""` is the collection's
//! default vector, every other name a vector declared at `create_collection(vectors=...)`):
//! - a 2-D array or a list of vectors: the default vector of each point (unchanged);
//! - a dict `{name: 2-D array or list of vectors}` (Qdrant's batch form), one row per id; in
//!   a list, a `None` row leaves that point without that vector;
//! - a list with one entry per id, each a vector (the default one), a dict `{name: vector}`
//!   (Qdrant's per-point form; a missing name leaves the point without it) or `None` (no
//!   dense vector at all).
//!
//! Named vectors are checked for finiteness here, so the error names the vector and the
//! point (the engine's own error names only the point); dimensions and unknown names are
//! the engine's checks, whose errors name the vector. Nothing here searches or stores.

use std::collections::BTreeMap;

use numpy::PyUntypedArray;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PySequence, PyString};

use crate::{errors, vectors};

/// Every point's vectors: its default vector (`None` when the caller gave none) and its
/// named ones.
pub(crate) struct PointVectors {
    pub default: Vec<Option<Vec<f32>>>,
    pub named: Vec<BTreeMap<String, Vec<f32>>>,
}

/// Refuses a vector holding NaN or an infinity, naming it (`what`).
pub(crate) fn check_finite(py: Python<'_>, vector: &[f32], what: &str) -> PyResult<()> {
    match vector.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(errors::invalid(
            py,
            format!(
                "{what} has a non-finite value ({}) at index {i}; vectors must be finite",
                vector[i]
            ),
        )),
        None => Ok(()),
    }
}

/// A dict key as a vector name.
fn name_of(key: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if !key.is_instance_of::<PyString>() {
        return Err(errors::invalid(
            key.py(),
            format!(
                "{what}: vector names must be strings, got {}",
                key.repr()
                    .map_or_else(|_| "?".to_string(), |r| r.to_string())
            ),
        ));
    }
    key.extract()
}

/// `{name: vector}` (a query's dense legs, or the vectors of the point `point`): each read
/// as a 1-D vector, named ones (not `""`) checked finite.
pub(crate) fn vector_map(
    obj: &Bound<'_, PyAny>,
    what: &str,
    point: Option<u64>,
) -> PyResult<BTreeMap<String, Vec<f32>>> {
    let py = obj.py();
    let d = obj.cast::<PyDict>().map_err(|_| {
        errors::invalid(
            py,
            format!(
                "{what} must be a dict {{name: vector}}, got {}",
                obj.get_type()
                    .name()
                    .map_or_else(|_| "?".to_string(), |n| n.to_string())
            ),
        )
    })?;
    let mut out = BTreeMap::new();
    for (k, v) in d.iter() {
        let name = name_of(&k, what)?;
        let label = format!("{what}[{name:?}]");
        let v = vectors::vector(&v, &label)?;
        if !name.is_empty() {
            let of_point = point
                .map(|id| format!(" of point {id}"))
                .unwrap_or_default();
            check_finite(py, &v, &format!("vector {name:?}{of_point} ({label})"))?;
        }
        out.insert(name, v);
    }
    Ok(out)
}

/// The `vectors` argument of `upsert` for `n` ids (module docs).
pub(crate) fn point_vectors(
    obj: &Bound<'_, PyAny>,
    ids: &[u64],
    what: &str,
) -> PyResult<PointVectors> {
    let py = obj.py();
    let n = ids.len();
    let mut out = PointVectors {
        default: vec![None; n],
        named: vec![BTreeMap::new(); n],
    };
    if let Ok(columns) = obj.cast::<PyDict>() {
        for (k, column) in columns.iter() {
            let name = name_of(&k, what)?;
            let label = format!("{what}[{name:?}]");
            let rows = column_rows(&column, &label)?;
            if rows.len() != n {
                return Err(errors::invalid(
                    py,
                    format!("{n} ids but {} rows in {label}", rows.len()),
                ));
            }
            for (i, row) in rows.into_iter().enumerate() {
                let Some(row) = row else { continue };
                if name.is_empty() {
                    out.default[i] = Some(row);
                } else {
                    check_finite(
                        py,
                        &row,
                        &format!("vector {name:?} of point {} ({label}[{i}])", ids[i]),
                    )?;
                    out.named[i].insert(name.clone(), row);
                }
            }
        }
        return Ok(out);
    }
    if obj.cast::<PyUntypedArray>().is_err()
        && let Ok(seq) = obj.cast::<PySequence>()
        && !obj.is_instance_of::<PyString>()
        && per_point_form(seq)?
    {
        let len = seq.len()?;
        if len != n {
            return Err(errors::invalid(py, format!("{n} ids but {len} vectors")));
        }
        for (i, &id) in ids.iter().enumerate() {
            let item = seq.get_item(i)?;
            let label = format!("{what}[{i}]");
            if item.is_none() {
                continue;
            }
            if item.is_instance_of::<PyDict>() {
                for (name, v) in vector_map(&item, &label, Some(id))? {
                    if name.is_empty() {
                        out.default[i] = Some(v);
                    } else {
                        out.named[i].insert(name, v);
                    }
                }
            } else {
                out.default[i] = Some(vectors::vector(&item, &label)?);
            }
        }
        return Ok(out);
    }
    let rows = vectors::matrix(obj, what)?;
    if rows.len() != n {
        return Err(errors::invalid(
            py,
            format!("{n} ids but {} vectors", rows.len()),
        ));
    }
    out.default = rows.into_iter().map(Some).collect();
    Ok(out)
}

/// Whether a sequence holds at least one dict or `None` (the per-point form).
fn per_point_form(seq: &Bound<'_, PySequence>) -> PyResult<bool> {
    for i in 0..seq.len()? {
        let item = seq.get_item(i)?;
        if item.is_none() || item.is_instance_of::<PyDict>() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One column of the batch form: a 2-D array (every row present) or a list of vectors and
/// `None`s.
fn column_rows(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<Option<Vec<f32>>>> {
    if obj.cast::<PyUntypedArray>().is_ok() {
        return Ok(vectors::matrix(obj, what)?.into_iter().map(Some).collect());
    }
    let py = obj.py();
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyDict>() {
        return Err(errors::invalid(
            py,
            format!("{what} must be a 2-D numpy array or a list of vectors (or None)"),
        ));
    }
    let seq = obj.cast::<PySequence>().map_err(|_| {
        errors::invalid(
            py,
            format!("{what} must be a 2-D numpy array or a list of vectors (or None)"),
        )
    })?;
    let mut rows = Vec::with_capacity(seq.len()?);
    for i in 0..seq.len()? {
        let item = seq.get_item(i)?;
        rows.push(if item.is_none() {
            None
        } else {
            Some(vectors::vector(&item, &format!("{what}[{i}]"))?)
        });
    }
    Ok(rows)
}

/// Named vectors as `{name: float32 array}`.
pub(crate) fn named_to_dict<'py>(
    py: Python<'py>,
    named: BTreeMap<String, Vec<f32>>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, v) in named {
        d.set_item(name, numpy::PyArray1::from_vec(py, v))?;
    }
    Ok(d)
}
