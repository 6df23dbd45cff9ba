//! `nearstore.FusionStrategy`: how a search with several legs (dense vectors, a text query)
//! turns their ranked lists into one, and the conversions of a `fusion=` argument into the
//! engine's [`FusionStrategy`].
//!
//! A `fusion=` argument is one of: a `FusionStrategy` object (the reference's Python spelling:
//! `FusionStrategy.rrf(k=60)`, `.average()`, `.maximum()`, plus `.relative_score(weights)`,
//! `.dbsf()`, `.weighted(weights)`), a strategy name (`"rrf"`, `"relative_score"`, `"dbsf"`,
//! `"weighted"`, `"average"`, `"maximum"`, with default parameters), a dict in the engine's
//! JSON form (`{"rrf": {"k": 30}}`, `{"relative_score": {"weights": [0.7, 0.3]}}`), or `None`
//! (RRF with k = 60). The fusion itself happens in the engine; nothing here ranks anything.
//! Weights are checked against the number of legs by the engine, when the request runs.

use nearstore::{Error, FusionStrategy, Result};
use pyo3::prelude::*;
use serde_json::Value;

/// The strategy names a `fusion=` string may give.
pub(crate) const FUSION_NAMES: &[&str] = &[
    "rrf",
    "relative_score",
    "dbsf",
    "weighted",
    "average",
    "maximum",
];

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidArgument(message.into())
}

/// A strategy by name, with its default parameters (case-insensitive).
fn by_name(name: &str) -> Result<FusionStrategy> {
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "rrf" => FusionStrategy::rrf(),
        "relative_score" => FusionStrategy::RelativeScore {
            weights: Vec::new(),
        },
        "dbsf" => FusionStrategy::Dbsf,
        "weighted" => FusionStrategy::Weighted {
            weights: Vec::new(),
        },
        "average" => FusionStrategy::Average,
        "maximum" => FusionStrategy::Maximum,
        _ => {
            return Err(invalid(format!(
                "unknown fusion {name:?}: expected one of {}",
                FUSION_NAMES.join(", ")
            )));
        }
    })
}

/// The strategy a JSON `fusion` value names (`null`: the default, RRF with k = 60).
pub(crate) fn from_json(value: &Value) -> Result<FusionStrategy> {
    match value {
        Value::Null => Ok(FusionStrategy::default()),
        Value::String(name) => by_name(name),
        Value::Object(_) => serde_json::from_value(value.clone()).map_err(|e| {
            invalid(format!(
                "fusion {value} is not a strategy ({e}); e.g. {{\"rrf\": {{\"k\": 60}}}} or \
                 {{\"relative_score\": {{\"weights\": [0.7, 0.3]}}}}"
            ))
        }),
        other => Err(invalid(format!(
            "fusion must be a FusionStrategy, a strategy name or a dict, got {other}"
        ))),
    }
}

/// Checks one weight list: finite numbers (their count is checked against the legs by the
/// engine).
fn weights_of(weights: Option<Vec<f64>>, what: &str) -> Result<Vec<f32>> {
    weights
        .unwrap_or_default()
        .into_iter()
        .map(|w| {
            if w.is_finite() && w.abs() <= f64::from(f32::MAX) {
                Ok(w as f32)
            } else {
                Err(invalid(format!(
                    "{what} weight {w} is not a finite float32"
                )))
            }
        })
        .collect()
}

/// How the ranked lists of a search's legs become one ranking (the engine's
/// ``FusionStrategy``). Build one with the static methods; pass it as ``fusion=`` to
/// ``multi_query_search``, ``query`` or ``hybrid_sparse_search``.
///
/// ``FusionStrategy.rrf(k=60)``: sum of ``1 / (k + rank)`` over the legs (rank from 1).
/// ``FusionStrategy.relative_score(weights=None)``: each list min-max normalized, then the
/// weighted sum. ``FusionStrategy.dbsf()``: each list normalized over mean +- 3 standard
/// deviations, then summed. ``FusionStrategy.weighted(weights=None)``: weighted sum of the raw
/// scores. ``FusionStrategy.average()`` / ``FusionStrategy.maximum()``: mean / best raw score
/// over the legs that found the point. Weights: one per leg in the request's leg order, or
/// none (1.0 each).
#[pyclass(name = "FusionStrategy", module = "nearstore", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct PyFusionStrategy {
    pub(crate) inner: FusionStrategy,
}

#[pymethods]
impl PyFusionStrategy {
    /// rrf(k=60) -> FusionStrategy
    ///
    /// Reciprocal rank fusion: a point's score is the sum over the legs that found it of
    /// ``1 / (k + rank)``, rank from 1. Robust to legs whose scores are not comparable.
    #[staticmethod]
    // A literal, so Python's signature shows it (the test `python_default_k_is_the_engines`
    // keeps it equal to the engine's `DEFAULT_RRF_K`).
    #[pyo3(signature = (k = 60))]
    fn rrf(k: u32) -> Self {
        PyFusionStrategy {
            inner: FusionStrategy::Rrf { k },
        }
    }

    /// relative_score(weights=None) -> FusionStrategy
    ///
    /// Each leg's scores min-max normalized to [0, 1], then the weighted sum (one weight per
    /// leg, or none for 1.0 each).
    #[staticmethod]
    #[pyo3(signature = (weights = None))]
    fn relative_score(py: Python<'_>, weights: Option<Vec<f64>>) -> PyResult<Self> {
        let weights =
            weights_of(weights, "relative_score").map_err(|e| crate::errors::engine(py, e))?;
        Ok(PyFusionStrategy {
            inner: FusionStrategy::RelativeScore { weights },
        })
    }

    /// dbsf() -> FusionStrategy
    ///
    /// Distribution-based score fusion: each leg's scores normalized over their mean +- 3
    /// standard deviations, then summed.
    #[staticmethod]
    fn dbsf() -> Self {
        PyFusionStrategy {
            inner: FusionStrategy::Dbsf,
        }
    }

    /// weighted(weights=None) -> FusionStrategy
    ///
    /// The weighted sum of the legs' raw scores (no normalization; one weight per leg, or
    /// none for 1.0 each).
    #[staticmethod]
    #[pyo3(signature = (weights = None))]
    fn weighted(py: Python<'_>, weights: Option<Vec<f64>>) -> PyResult<Self> {
        let weights = weights_of(weights, "weighted").map_err(|e| crate::errors::engine(py, e))?;
        Ok(PyFusionStrategy {
            inner: FusionStrategy::Weighted { weights },
        })
    }

    /// average() -> FusionStrategy
    ///
    /// The mean raw score over the legs that found the point.
    #[staticmethod]
    fn average() -> Self {
        PyFusionStrategy {
            inner: FusionStrategy::Average,
        }
    }

    /// maximum() -> FusionStrategy
    ///
    /// The best raw score over the legs that found the point.
    #[staticmethod]
    fn maximum() -> Self {
        PyFusionStrategy {
            inner: FusionStrategy::Maximum,
        }
    }

    /// The strategy's name: ``"rrf"``, ``"relative_score"``, ``"dbsf"``, ``"weighted"``,
    /// ``"average"`` or ``"maximum"``.
    #[getter]
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    /// RRF's ``k`` (``None`` for the other strategies).
    #[getter]
    fn k(&self) -> Option<u32> {
        match self.inner {
            FusionStrategy::Rrf { k } => Some(k),
            _ => None,
        }
    }

    /// The per-leg weights of ``relative_score`` / ``weighted`` (``None`` for the others;
    /// ``[]`` means 1.0 each).
    #[getter]
    fn weights(&self) -> Option<Vec<f32>> {
        match &self.inner {
            FusionStrategy::RelativeScore { weights } | FusionStrategy::Weighted { weights } => {
                Some(weights.clone())
            }
            _ => None,
        }
    }

    fn __repr__(&self) -> String {
        match &self.inner {
            FusionStrategy::Rrf { k } => format!("FusionStrategy.rrf(k={k})"),
            FusionStrategy::RelativeScore { weights } | FusionStrategy::Weighted { weights }
                if weights.is_empty() =>
            {
                format!("FusionStrategy.{}()", self.inner.name())
            }
            FusionStrategy::RelativeScore { weights } | FusionStrategy::Weighted { weights } => {
                format!("FusionStrategy.{}(weights={weights:?})", self.inner.name())
            }
            other => format!("FusionStrategy.{}()", other.name()),
        }
    }
}

/// The engine strategy of a `fusion=` argument: a `FusionStrategy` object, a name, a dict
/// in the engine's JSON form, or `None` (the default).
pub(crate) fn from_py(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>) -> PyResult<FusionStrategy> {
    match obj {
        None => Ok(FusionStrategy::default()),
        Some(o) => match o.cast::<PyFusionStrategy>() {
            Ok(s) => Ok(s.get().inner.clone()),
            Err(_) => from_json(&crate::json::to_json(o, "fusion")?)
                .map_err(|e| crate::errors::engine(py, e)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nearstore::DEFAULT_RRF_K;
    use serde_json::json;

    #[test]
    fn names_and_dicts_give_the_engine_strategies() {
        assert_eq!(from_json(&Value::Null).unwrap(), FusionStrategy::rrf());
        assert_eq!(from_json(&json!("DBSF")).unwrap(), FusionStrategy::Dbsf);
        for name in FUSION_NAMES {
            assert_eq!(from_json(&json!(name)).unwrap().name(), *name);
        }
        assert_eq!(
            from_json(&json!({"rrf": {"k": 7}})).unwrap(),
            FusionStrategy::Rrf { k: 7 }
        );
        assert_eq!(
            from_json(&json!({"relative_score": {"weights": [0.7, 0.3]}})).unwrap(),
            FusionStrategy::RelativeScore {
                weights: vec![0.7, 0.3]
            }
        );
        for bad in [
            json!("borda"),
            json!(3),
            json!({"rrf": {"k": -1}}),
            json!({"x": 1}),
        ] {
            let e = from_json(&bad).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{bad}: {e:?}");
        }
    }

    #[test]
    fn python_default_k_is_the_engines() {
        assert_eq!(DEFAULT_RRF_K, 60);
        assert_eq!(PyFusionStrategy::rrf(60).inner, FusionStrategy::rrf());
    }

    #[test]
    fn weights_must_be_finite() {
        assert_eq!(weights_of(None, "w").unwrap(), Vec::<f32>::new());
        assert_eq!(
            weights_of(Some(vec![0.5, 2.0]), "w").unwrap(),
            vec![0.5, 2.0]
        );
        assert!(weights_of(Some(vec![f64::NAN]), "w").is_err());
        assert!(weights_of(Some(vec![1e300]), "w").is_err());
    }
}
