//! Engine errors as Python exceptions.
//!
//! The exception classes are defined in Python (`python/nearstore/errors.py`) so that they
//! can also derive from the matching built-in (`InvalidArgument` is a `ValueError`,
//! `NotFound` a `LookupError`, `Io` an `OSError`, ...), which a class made from Rust with a
//! single base could not. This module looks them up once (cached per interpreter) and maps
//! every [`nearstore::ErrorKind`] to its class; all of them derive from `nearstore.Error`.
//! It must not depend on the other modules of this crate.

use nearstore::{Error, ErrorKind};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// The Python exception classes, by the name they have in `nearstore.errors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Base,
    InvalidArgument,
    Unsupported,
    NotFound,
    AlreadyExists,
    Conflict,
    Corruption,
    Io,
    ResourceExhausted,
    Cancelled,
    Internal,
    Closed,
    Overloaded,
}

impl Class {
    const ALL: [Class; 13] = [
        Class::Base,
        Class::InvalidArgument,
        Class::Unsupported,
        Class::NotFound,
        Class::AlreadyExists,
        Class::Conflict,
        Class::Corruption,
        Class::Io,
        Class::ResourceExhausted,
        Class::Cancelled,
        Class::Internal,
        Class::Closed,
        Class::Overloaded,
    ];

    /// The class name in `nearstore.errors`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Class::Base => "Error",
            Class::InvalidArgument => "InvalidArgument",
            Class::Unsupported => "Unsupported",
            Class::NotFound => "NotFound",
            Class::AlreadyExists => "AlreadyExists",
            Class::Conflict => "Conflict",
            Class::Corruption => "Corruption",
            Class::Io => "Io",
            Class::ResourceExhausted => "ResourceExhausted",
            Class::Cancelled => "Cancelled",
            Class::Internal => "Internal",
            Class::Closed => "Closed",
            Class::Overloaded => "Overloaded",
        }
    }

    /// The class an engine error is raised as.
    pub(crate) fn of(error: &Error) -> Class {
        if matches!(error, Error::Unsupported(_)) {
            return Class::Unsupported;
        }
        match error.kind() {
            ErrorKind::InvalidArgument => Class::InvalidArgument,
            ErrorKind::NotFound => Class::NotFound,
            ErrorKind::AlreadyExists => Class::AlreadyExists,
            ErrorKind::Conflict => Class::Conflict,
            ErrorKind::Corruption => Class::Corruption,
            ErrorKind::Io => Class::Io,
            ErrorKind::ResourceExhausted => Class::ResourceExhausted,
            ErrorKind::Cancelled => Class::Cancelled,
            ErrorKind::Internal => Class::Internal,
            ErrorKind::Overloaded => Class::Overloaded,
            // A kind added to the engine later: still a `nearstore.Error`.
            _ => Class::Base,
        }
    }
}

/// The classes, looked up in `nearstore.errors` on first use.
static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn class_type(py: Python<'_>, class: Class) -> PyResult<Bound<'_, PyType>> {
    let classes = CLASSES.get_or_try_init(py, || -> PyResult<Vec<Py<PyType>>> {
        let module = py.import("nearstore.errors")?;
        Class::ALL
            .iter()
            .map(|c| Ok(module.getattr(c.name())?.cast_into::<PyType>()?.unbind()))
            .collect()
    })?;
    let index = Class::ALL.iter().position(|c| *c == class).unwrap_or(0);
    classes
        .get(index)
        .map(|t| t.bind(py).clone())
        .ok_or_else(|| PyRuntimeError::new_err("nearstore.errors is incomplete"))
}

/// A Python exception of `class` with `message`. If `nearstore.errors` cannot be imported
/// (a broken installation), a `RuntimeError` that says so and carries the message.
pub(crate) fn new_error(py: Python<'_>, class: Class, message: String) -> PyErr {
    match class_type(py, class) {
        Ok(ty) => PyErr::from_type(ty, message),
        Err(e) => PyRuntimeError::new_err(format!(
            "{message} (and nearstore.errors could not be loaded: {e})"
        )),
    }
}

/// An engine error as the Python exception of its kind; `Overloaded` carries the engine's
/// `retry_after` hint in seconds.
pub(crate) fn engine(py: Python<'_>, error: Error) -> PyErr {
    let err = new_error(py, Class::of(&error), error.to_string());
    if let Error::Overloaded { retry_after, .. } = &error {
        // Best effort: without the attribute the exception still says it in its message.
        let _ = err
            .value(py)
            .setattr("retry_after", retry_after.as_secs_f64());
    }
    err
}

/// A `nearstore.InvalidArgument` (also a `ValueError`).
pub(crate) fn invalid(py: Python<'_>, message: impl Into<String>) -> PyErr {
    new_error(py, Class::InvalidArgument, message.into())
}

/// Converts engine results to Python results.
pub(crate) trait IntoPyResult<T> {
    /// The value, or the engine error as a Python exception.
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| engine(py, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_class() {
        let cases = [
            (Error::InvalidArgument("x".into()), Class::InvalidArgument),
            (Error::Unsupported("x".into()), Class::Unsupported),
            (Error::CollectionNotFound("x".into()), Class::NotFound),
            (Error::Dropped("x".into()), Class::NotFound),
            (Error::CollectionExists("x".into()), Class::AlreadyExists),
            (Error::PointExists(3), Class::AlreadyExists),
            (
                Error::Poisoned {
                    collection: "x".into(),
                    reason: "r".into(),
                },
                Class::Conflict,
            ),
            (
                Error::Corruption {
                    file: "f".into(),
                    reason: "r".into(),
                },
                Class::Corruption,
            ),
            (
                Error::PayloadTooLarge {
                    id: 1,
                    bytes: 2,
                    limit: 1,
                },
                Class::ResourceExhausted,
            ),
            (Error::Cancelled("late".into()), Class::Cancelled),
        ];
        for (error, class) in cases {
            assert_eq!(Class::of(&error), class, "{error}");
        }
    }

    #[test]
    fn class_names_are_distinct() {
        let mut names: Vec<&str> = Class::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Class::ALL.len());
    }
}
