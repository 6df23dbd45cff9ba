//! Python values <-> JSON values (payloads, filters, query parameters, option values).
//!
//! Written by hand rather than with `pythonize` because payloads come from numpy and pandas
//! as often as from literals: numpy arrays and numpy scalars (`np.float32(0.5)`,
//! `np.int64(3)`) are converted through their `tolist()`, which `pythonize` refuses, and a
//! value that cannot be stored is reported with its path (`payloads[3].tags[1]: ...`).
//!
//! Invariants: nesting deeper than [`MAX_DEPTH`] is refused before recursing further (the
//! engine reads payloads back with serde_json, whose parser stops at 128 levels, so deeper
//! payloads could be written but not read); non-finite floats are refused (JSON cannot hold
//! them); integers outside `i64 ∪ u64` are refused, never rounded. Depends on nothing else in
//! this crate but the error helpers.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::errors;

/// Deepest nesting of lists and dicts accepted in a value.
pub(crate) const MAX_DEPTH: usize = 100;

/// Why a Python value is not JSON: the message, and the path to the bad part built up while
/// unwinding (innermost segment first).
struct Bad {
    segments: Vec<String>,
    message: String,
}

impl Bad {
    fn new(message: impl Into<String>) -> Self {
        Bad {
            segments: Vec::new(),
            message: message.into(),
        }
    }

    fn at(mut self, segment: String) -> Self {
        self.segments.push(segment);
        self
    }

    fn render(self, root: &str) -> String {
        let mut path = root.to_string();
        for s in self.segments.into_iter().rev() {
            path.push_str(&s);
        }
        format!("{path}: {}", self.message)
    }
}

/// Converts `obj` to JSON; on failure a `nearstore.InvalidArgument` naming `root` and the
/// path inside it (`root` is what the caller calls the value, e.g. `payloads[2]`).
pub(crate) fn to_json(obj: &Bound<'_, PyAny>, root: &str) -> PyResult<Value> {
    let py = obj.py();
    match convert(obj, 0) {
        Ok(v) => Ok(v),
        Err(Failure::Py(e)) => Err(e),
        Err(Failure::Bad(bad)) => Err(errors::invalid(py, bad.render(root))),
    }
}

/// A dict of options (keyword arguments) as a JSON object; `None` gives an empty one.
pub(crate) fn kwargs_to_map(
    kwargs: Option<&Bound<'_, PyDict>>,
    root: &str,
) -> PyResult<Map<String, Value>> {
    let mut map = Map::new();
    if let Some(kwargs) = kwargs {
        for (k, v) in kwargs.iter() {
            let key: String = k.extract()?;
            let value = to_json(&v, &format!("{root}{key}"))?;
            map.insert(key, value);
        }
    }
    Ok(map)
}

enum Failure {
    Py(PyErr),
    Bad(Bad),
}

impl From<Bad> for Failure {
    fn from(b: Bad) -> Self {
        Failure::Bad(b)
    }
}

impl Failure {
    fn at(self, segment: String) -> Self {
        match self {
            Failure::Bad(b) => Failure::Bad(b.at(segment)),
            other => other,
        }
    }
}

fn convert(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, Failure> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        return Err(Bad::new("integer outside the 64-bit range (-2**63 .. 2**64-1)").into());
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let x = f.value();
        return Number::from_f64(x).map(Value::Number).ok_or_else(|| {
            Bad::new(format!("{x} cannot be stored (JSON numbers are finite)")).into()
        });
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str().map_err(Failure::Py)?.to_string()));
    }
    if depth >= MAX_DEPTH {
        return Err(Bad::new(format!("nested deeper than {MAX_DEPTH} levels")).into());
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = match k.cast::<PyString>() {
                Ok(s) => s.to_str().map_err(Failure::Py)?.to_string(),
                Err(_) => {
                    return Err(Bad::new(format!(
                        "dict key {} is not a string (JSON object keys are strings)",
                        k.repr().map_or_else(|_| "?".to_string(), |r| r.to_string())
                    ))
                    .into());
                }
            };
            let value = convert(&v, depth + 1).map_err(|f| f.at(format!(".{key}")))?;
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return sequence(l.iter(), l.len(), depth);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return sequence(t.iter(), t.len(), depth);
    }
    // numpy arrays and scalars (and anything else numpy-like): their plain Python form.
    if is_numpy(obj) {
        let plain = obj.call_method0("tolist").map_err(Failure::Py)?;
        return convert(&plain, depth + 1);
    }
    let type_name = obj
        .get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string());
    Err(Bad::new(format!(
        "a value of type {type_name} cannot be stored (JSON values only: None, bool, int, float, str, list, tuple, dict, numpy arrays and scalars)"
    ))
    .into())
}

fn sequence<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    len: usize,
    depth: usize,
) -> Result<Value, Failure> {
    let mut out = Vec::with_capacity(len);
    for (i, item) in items.enumerate() {
        out.push(convert(&item, depth + 1).map_err(|f| f.at(format!("[{i}]")))?);
    }
    Ok(Value::Array(out))
}

/// True for numpy arrays and numpy scalars (their type's module is numpy).
fn is_numpy(obj: &Bound<'_, PyAny>) -> bool {
    obj.get_type()
        .module()
        .is_ok_and(|m| m.to_str().is_ok_and(|m| m == "numpy"))
}

/// A JSON value as the Python value (dict, list, str, int, float, bool, None).
pub(crate) fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}
