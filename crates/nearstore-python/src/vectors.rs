//! Vectors and ids from numpy arrays or Python sequences.
//!
//! Fast path: a native-endian `float32` numpy array is read in place (no temporary array);
//! C-contiguous rows are copied with one `memcpy` each, strided ones (a slice `a[:, ::2]`,
//! a transposed or Fortran-order array) element by element, still without a temporary.
//! That one copy per row is inherent: the engine's points own their vectors.
//!
//! Other dtypes: `float64` is converted to `float32` while it is read (a value outside the
//! `float32` range is refused, never silently turned into infinity), other real numeric
//! dtypes (`float16`, integers) through `astype(float32)`; booleans, complex numbers,
//! strings and objects are refused with the dtype named. Lists and tuples (of numbers, or
//! of 1-D arrays) are read element by element. Shapes are checked here (a matrix is 2-D,
//! a vector 1-D); dimensions against the collection are the engine's check.

use numpy::{
    PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PySequence, PyString};

use crate::errors;

/// What the caller's array holds, by numpy dtype kind.
enum Kind {
    F32,
    F64,
    /// Another real numeric dtype (float16, integers): converted with `astype`.
    OtherReal,
}

fn kind_of(py: Python<'_>, array: &Bound<'_, PyUntypedArray>, what: &str) -> PyResult<Kind> {
    let dtype = array.dtype();
    if dtype.is_equiv_to(&numpy::dtype::<f32>(py)) {
        return Ok(Kind::F32);
    }
    if dtype.is_equiv_to(&numpy::dtype::<f64>(py)) {
        return Ok(Kind::F64);
    }
    match dtype.kind() {
        b'f' | b'i' | b'u' => Ok(Kind::OtherReal),
        _ => Err(errors::invalid(
            py,
            format!(
                "{what} must hold real numbers (float32 preferred), got dtype {}",
                dtype
                    .str()
                    .map_or_else(|_| "?".to_string(), |s| s.to_string())
            ),
        )),
    }
}

fn narrow(py: Python<'_>, x: f64, what: &str) -> PyResult<f32> {
    let y = x as f32;
    if x.is_finite() && !y.is_finite() {
        return Err(errors::invalid(
            py,
            format!("{what}: {x:e} is outside the float32 range"),
        ));
    }
    Ok(y)
}

fn to_float32<'py>(array: &Bound<'py, PyUntypedArray>) -> PyResult<Bound<'py, PyAny>> {
    array.call_method1("astype", ("float32",))
}

fn refuse_text(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<()> {
    if obj.is_instance_of::<PyString>()
        || obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyDict>()
    {
        let type_name = obj.get_type().name()?;
        return Err(errors::invalid(
            obj.py(),
            format!("{what} must be a numpy array or a list of numbers, got {type_name}"),
        ));
    }
    Ok(())
}

/// Rows of a 2-D array-like (`(n, dim)`): one `Vec<f32>` per row.
pub(crate) fn matrix(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<Vec<f32>>> {
    let py = obj.py();
    if let Ok(array) = obj.cast::<PyUntypedArray>() {
        if array.ndim() != 2 {
            return Err(errors::invalid(
                py,
                format!(
                    "{what} must be a 2-D array of shape (n, dim), got shape {:?}",
                    array.shape()
                ),
            ));
        }
        let dim = array.shape()[1];
        return match kind_of(py, array, what)? {
            Kind::F32 => {
                let typed = array.cast::<PyArray2<f32>>()?.try_readonly()?;
                if dim == 0 {
                    return Ok(vec![Vec::new(); array.shape()[0]]);
                }
                // `as_slice` also succeeds on Fortran-order data: only C order is row-major.
                if array.is_c_contiguous()
                    && let Ok(flat) = typed.as_slice()
                {
                    return Ok(flat.chunks_exact(dim).map(<[f32]>::to_vec).collect());
                }
                Ok(typed
                    .as_array()
                    .rows()
                    .into_iter()
                    .map(|r| r.to_vec())
                    .collect())
            }
            Kind::F64 => {
                let typed = array.cast::<PyArray2<f64>>()?.try_readonly()?;
                let view = typed.as_array();
                let mut rows = Vec::with_capacity(view.nrows());
                for (i, row) in view.rows().into_iter().enumerate() {
                    let mut out = Vec::with_capacity(dim);
                    for (j, x) in row.iter().enumerate() {
                        out.push(narrow(py, *x, &format!("{what}[{i}][{j}]"))?);
                    }
                    rows.push(out);
                }
                Ok(rows)
            }
            Kind::OtherReal => matrix(&to_float32(array)?, what),
        };
    }
    refuse_text(obj, what)?;
    let seq = obj.cast::<PySequence>().map_err(|_| {
        errors::invalid(
            py,
            format!(
                "{what} must be a 2-D numpy array or a list of vectors, got {}",
                obj.get_type()
                    .name()
                    .map_or_else(|_| "?".to_string(), |n| n.to_string())
            ),
        )
    })?;
    let n = seq.len()?;
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        rows.push(vector(&seq.get_item(i)?, &format!("{what}[{i}]"))?);
    }
    Ok(rows)
}

/// A 1-D array-like as a vector.
pub(crate) fn vector(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<f32>> {
    let py = obj.py();
    if let Ok(array) = obj.cast::<PyUntypedArray>() {
        if array.ndim() != 1 {
            return Err(errors::invalid(
                py,
                format!("{what} must be a 1-D vector, got shape {:?}", array.shape()),
            ));
        }
        return match kind_of(py, array, what)? {
            Kind::F32 => {
                let typed = array.cast::<PyArray1<f32>>()?.try_readonly()?;
                Ok(match typed.as_slice() {
                    Ok(s) => s.to_vec(),
                    Err(_) => typed.as_array().to_vec(),
                })
            }
            Kind::F64 => {
                let typed = array.cast::<PyArray1<f64>>()?.try_readonly()?;
                typed
                    .as_array()
                    .iter()
                    .enumerate()
                    .map(|(j, x)| narrow(py, *x, &format!("{what}[{j}]")))
                    .collect()
            }
            Kind::OtherReal => vector(&to_float32(array)?, what),
        };
    }
    refuse_text(obj, what)?;
    let seq = obj.cast::<PySequence>().map_err(|_| {
        errors::invalid(
            py,
            format!(
                "{what} must be a 1-D numpy array or a list of numbers, got {}",
                obj.get_type()
                    .name()
                    .map_or_else(|_| "?".to_string(), |n| n.to_string())
            ),
        )
    })?;
    let n = seq.len()?;
    let mut out = Vec::with_capacity(n);
    for j in 0..n {
        let item = seq.get_item(j)?;
        let x: f64 = item.extract().map_err(|_| {
            errors::invalid(
                py,
                format!(
                    "{what}[{j}] must be a number, got {}",
                    item.get_type()
                        .name()
                        .map_or_else(|_| "?".to_string(), |n| n.to_string())
                ),
            )
        })?;
        out.push(narrow(py, x, &format!("{what}[{j}]"))?);
    }
    Ok(out)
}

/// Point ids from a sequence or a 1-D integer array (each in `0 .. 2**64`).
pub(crate) fn ids(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u64>> {
    let py = obj.py();
    if let Ok(array) = obj.cast::<PyUntypedArray>() {
        if array.ndim() != 1 {
            return Err(errors::invalid(
                py,
                format!("{what} must be 1-D, got shape {:?}", array.shape()),
            ));
        }
        let dtype = array.dtype();
        if dtype.is_equiv_to(&numpy::dtype::<u64>(py)) {
            return Ok(array
                .cast::<PyArray1<u64>>()?
                .try_readonly()?
                .as_array()
                .to_vec());
        }
        if dtype.is_equiv_to(&numpy::dtype::<i64>(py)) {
            let typed = array.cast::<PyArray1<i64>>()?.try_readonly()?;
            return typed
                .as_array()
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    u64::try_from(*x).map_err(|_| {
                        errors::invalid(py, format!("{what}[{i}] = {x}: ids are 0 .. 2**64-1"))
                    })
                })
                .collect();
        }
        return match dtype.kind() {
            b'i' => ids(&array.call_method1("astype", ("int64",))?, what),
            b'u' => ids(&array.call_method1("astype", ("uint64",))?, what),
            _ => Err(errors::invalid(
                py,
                format!(
                    "{what} must hold integers, got dtype {}",
                    dtype
                        .str()
                        .map_or_else(|_| "?".to_string(), |s| s.to_string())
                ),
            )),
        };
    }
    refuse_text(obj, what)?;
    let seq = obj.cast::<PySequence>().map_err(|_| {
        errors::invalid(
            py,
            format!("{what} must be a list of integers or a 1-D integer array"),
        )
    })?;
    let n = seq.len()?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let item = seq.get_item(i)?;
        out.push(id(&item, &format!("{what}[{i}]"))?);
    }
    Ok(out)
}

/// One point id (a Python int or numpy integer in `0 .. 2**64`).
pub(crate) fn id(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    obj.extract::<u64>().map_err(|_| {
        errors::invalid(
            obj.py(),
            format!(
                "{what} must be an integer id in 0 .. 2**64-1, got {}",
                obj.repr()
                    .map_or_else(|_| "?".to_string(), |r| r.to_string())
            ),
        )
    })
}
