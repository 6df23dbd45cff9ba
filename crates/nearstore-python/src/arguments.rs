//! A collection method's arguments as engine values: the keyword options of `query` /
//! `search` / `search_batch` (with `fusion=` objects and `dense=` / `sparse=` legs taken
//! out before the rest becomes JSON), and the points of an `upsert` (ids, default and named
//! dense vectors, payloads and sparse vectors checked against each other). Conversion and
//! checks only.

use std::collections::BTreeMap;

use nearstore::{Leg, Point};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{Map, Value};

use crate::named::{self, PointVectors};
use crate::{errors, fusion, json, sparse, vectors};

/// The keyword options of `query`/`search`: a JSON map of the plain options, and the extra
/// legs: the dense legs of `dense=` (`{name: vector}`, in name order), then the sparse legs
/// of `sparse=` (one vector for the default name, or `{name: vector}`, in name order). A
/// `fusion=` that is a `FusionStrategy` object goes in as its engine JSON form.
pub(crate) fn request_options(
    py: Python<'_>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<(Map<String, Value>, Vec<Leg>)> {
    let Some(options) = options else {
        return Ok((Map::new(), Vec::new()));
    };
    let rest = options.copy()?;
    let mut legs = Vec::new();
    if let Some(d) = rest.get_item("dense")? {
        rest.del_item("dense")?;
        if !d.is_none() {
            for (name, v) in named::vector_map(&d, "dense", None)? {
                legs.push(Leg::dense(&name, &v));
            }
        }
    }
    if let Some(s) = rest.get_item("sparse")? {
        rest.del_item("sparse")?;
        if !s.is_none() {
            for (name, v) in sparse::named(&s, "sparse")? {
                legs.push(Leg::sparse(&name, &v));
            }
        }
    }
    let mut strategy = None;
    if let Some(f) = rest.get_item("fusion")?
        && f.cast::<fusion::PyFusionStrategy>().is_ok()
    {
        strategy = Some(fusion::from_py(py, Some(&f))?);
        rest.del_item("fusion")?;
    }
    let mut map = json::kwargs_to_map(Some(&rest), "")?;
    if let Some(strategy) = strategy {
        let value = serde_json::to_value(&strategy)
            .map_err(|e| errors::invalid(py, format!("fusion: {e}")))?;
        map.insert("fusion".into(), value);
    }
    Ok((map, legs))
}

/// The options map of `search`/`search_batch`: `k` as the limit, the filter, the rest.
pub(crate) fn search_options(
    py: Python<'_>,
    k: usize,
    filter: Option<&Bound<'_, PyAny>>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Map<String, Value>> {
    let (mut map, legs) = request_options(py, options)?;
    if !legs.is_empty() {
        return Err(errors::invalid(
            py,
            "search takes a dense vector (on the vector named by using=...); use query(vector, dense=..., sparse=...) for several legs",
        ));
    }
    for key in ["limit", "k"] {
        if map.contains_key(key) {
            return Err(errors::invalid(
                py,
                format!("search takes the number of results as k; {key:?} is not an option here"),
            ));
        }
    }
    map.insert("limit".into(), Value::from(k));
    if let Some(f) = filter {
        map.insert("filter".into(), json::to_json(f, "filter")?);
    }
    Ok(map)
}

/// The points of an `upsert` call: ids, rows and payloads checked against each other.
pub(crate) fn points_from(
    py: Python<'_>,
    ids: &Bound<'_, PyAny>,
    vectors: Option<&Bound<'_, PyAny>>,
    payloads: Option<&Bound<'_, PyAny>>,
    sparse: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<Point>> {
    let ids = vectors::ids(ids, "ids")?;
    let PointVectors { default, named } = match vectors.filter(|v| !v.is_none()) {
        Some(v) => named::point_vectors(v, &ids, "vectors")?,
        None => PointVectors {
            default: vec![None; ids.len()],
            named: vec![BTreeMap::new(); ids.len()],
        },
    };
    // The engine's point without a default vector holds an empty one, so an empty row given
    // explicitly (a (n, 0) array) must not silently mean "no vector".
    if let Some((id, _)) = ids
        .iter()
        .zip(&default)
        .find(|(_, row)| row.as_ref().is_some_and(Vec::is_empty))
    {
        return Err(errors::invalid(
            py,
            format!(
                "dimension mismatch: point {id} has an empty default vector (give None for a point without one)"
            ),
        ));
    }
    let rows = default.into_iter().map(Option::unwrap_or_default);
    let payloads = match payloads {
        None => vec![None; ids.len()],
        Some(p) => {
            let list = p
                .cast::<pyo3::types::PySequence>()
                .map_err(|_| errors::invalid(py, "payloads must be a list of dicts (or None)"))?;
            let n = list.len()?;
            if n != ids.len() {
                return Err(errors::invalid(
                    py,
                    format!("{} ids but {n} payloads", ids.len()),
                ));
            }
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let item = list.get_item(i)?;
                if item.is_none() {
                    out.push(None);
                } else if item.is_instance_of::<PyDict>() {
                    out.push(Some(json::to_json(&item, &format!("payloads[{i}]"))?));
                } else {
                    return Err(errors::invalid(
                        py,
                        format!(
                            "payloads[{i}] must be a dict or None, got {}",
                            item.get_type().name()?
                        ),
                    ));
                }
            }
            out
        }
    };
    let mut sparse_vectors = vec![BTreeMap::new(); ids.len()];
    if let Some(s) = sparse.filter(|s| !s.is_none()) {
        let list = s.cast::<pyo3::types::PySequence>().map_err(|_| {
            errors::invalid(
                py,
                "sparse must be a list with one entry per point (or None)",
            )
        })?;
        let n = list.len()?;
        if n != ids.len() {
            return Err(errors::invalid(
                py,
                format!("{} ids but {n} sparse entries", ids.len()),
            ));
        }
        for (i, slot) in sparse_vectors.iter_mut().enumerate() {
            let item = list.get_item(i)?;
            if !item.is_none() {
                *slot = sparse::named(&item, &format!("sparse[{i}]"))?;
            }
        }
    }
    Ok(ids
        .into_iter()
        .zip(rows)
        .zip(payloads)
        .zip(sparse_vectors)
        .zip(named)
        .map(|((((id, vector), payload), sparse), named)| {
            let mut p = Point::new(id, vector, payload);
            p.sparse = sparse;
            p.vectors = named;
            p
        })
        .collect())
}
