//! A point's vectors in Qdrant's shapes, in and out: the unnamed dense vector (`[..]` or
//! `{"": [..]}`), named dense vectors (`{"name": [..]}`) and named sparse vectors
//! (`{"name": {"indices", "values"}}`), read without a JSON value tree, turned into the
//! engine's [`Point`] (its `vector`, `vectors` and `sparse` maps), and written back for
//! `with_vector`. The engine checks names, dimensions, finiteness and sparse validity.
//! Must not depend on axum: these are values, not handlers.

use std::fmt;

use nearstore::{Point, PointVectors, SparseVector};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::body::bounded::{Bounded, DimensionLimit, PointsLimit};
use crate::error::{Error, Result};
use crate::qdrant::points::f32_list;
use crate::qdrant::request::{SparseIn, VectorInput, WithVector};

/// One point's vectors as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct VectorStruct {
    /// The unnamed dense vector.
    pub(crate) dense: Option<Vec<f32>>,
    /// Named dense vectors.
    pub(crate) named: Vec<(String, Vec<f32>)>,
    /// Sparse vectors by name.
    pub(crate) sparse: Vec<(String, SparseIn)>,
}

impl VectorStruct {
    fn add(&mut self, name: String, v: VectorInput) -> Result<(), String> {
        match v {
            VectorInput::Dense(d) if name.is_empty() && self.dense.is_none() => {
                self.dense = Some(d);
            }
            VectorInput::Dense(_) if name.is_empty() => {
                return Err("the unnamed vector \"\" is given twice".into());
            }
            VectorInput::Dense(d) => {
                if self.named.iter().any(|(n, _)| *n == name) {
                    return Err(format!("the vector {name:?} is given twice"));
                }
                self.named.push((name, d));
            }
            VectorInput::Sparse(s) => {
                if self.sparse.iter().any(|(n, _)| *n == name) {
                    return Err(format!("the sparse vector {name:?} is given twice"));
                }
                self.sparse.push((name, s));
            }
            VectorInput::Id(_) => {
                return Err(format!(
                    "vector {name:?} must be a list of numbers or a sparse vector (inference objects are not supported by NearStore)"
                ));
            }
        }
        Ok(())
    }

    /// Whether no vector is given (`{}`).
    pub(crate) fn is_empty(&self) -> bool {
        self.dense.is_none() && self.named.is_empty() && self.sparse.is_empty()
    }

    /// The engine's edit setting these vectors on point `id` (the unnamed one as `""`).
    pub(crate) fn into_point_vectors(self, id: u64) -> Result<PointVectors> {
        let mut edit = PointVectors::new(id);
        if let Some(d) = self.dense {
            edit = edit.with_vector("", d);
        }
        for (name, v) in self.named {
            edit = edit.with_vector(&name, v);
        }
        for (name, s) in self.sparse {
            let v = SparseVector::new(s.indices, s.values).map_err(nearstore::Error::from)?;
            edit = edit.with_sparse(&name, v);
        }
        Ok(edit)
    }

    /// The engine point with these vectors.
    pub(crate) fn into_point(self, id: u64, payload: Option<Value>) -> Result<Point> {
        let mut point = Point::new(id, self.dense.unwrap_or_default(), payload);
        for (name, v) in self.named {
            point = point.with_vector(&name, v);
        }
        for (name, s) in self.sparse {
            let v = SparseVector::new(s.indices, s.values).map_err(nearstore::Error::from)?;
            point = point.with_sparse(&name, v);
        }
        Ok(point)
    }
}

impl<'de> Deserialize<'de> for VectorStruct {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = VectorStruct;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a vector (a list of numbers) or {name: vector or sparse vector}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<VectorStruct, A::Error> {
                let v: Bounded<f32, DimensionLimit> =
                    Bounded::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(VectorStruct {
                    dense: Some(v.into_vec()),
                    ..VectorStruct::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<VectorStruct, A::Error> {
                let mut out = VectorStruct::default();
                while let Some(name) = map.next_key::<String>()? {
                    let v = map.next_value::<VectorInput>()?;
                    out.add(name, v).map_err(de::Error::custom)?;
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

/// The `vectors` of the `batch` form: a list of dense vectors (the unnamed vector), or
/// `{name: [one vector per point]}`.
#[derive(Debug, Default)]
pub(crate) struct BatchVectors {
    unnamed: Option<Vec<Vec<f32>>>,
    named: Vec<(String, Vec<VectorInput>)>,
}

impl<'de> Deserialize<'de> for BatchVectors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BatchVectors;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of vectors, or {name: [vectors]}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<BatchVectors, A::Error> {
                let list: Bounded<Bounded<f32, DimensionLimit>, PointsLimit> =
                    Bounded::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(BatchVectors {
                    unnamed: Some(list.into_vec().into_iter().map(Bounded::into_vec).collect()),
                    named: Vec::new(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BatchVectors, A::Error> {
                let mut out = BatchVectors::default();
                while let Some(name) = map.next_key::<String>()? {
                    if out.named.iter().any(|(n, _)| *n == name) {
                        return Err(de::Error::custom(format!("vector {name:?} given twice")));
                    }
                    let list = map.next_value::<Bounded<VectorInput, PointsLimit>>()?;
                    out.named.push((name, list.into_vec()));
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

impl BatchVectors {
    /// One [`VectorStruct`] per point (400 when a list's length is not `n`).
    pub(crate) fn per_point(self, n: usize) -> Result<Vec<VectorStruct>> {
        let mut out = vec![VectorStruct::default(); n];
        let length_error = || {
            Error::bad_request(
                "batch.ids, batch.vectors and batch.payloads must have the same length",
            )
        };
        if let Some(list) = self.unnamed {
            if list.len() != n {
                return Err(length_error());
            }
            for (slot, v) in out.iter_mut().zip(list) {
                slot.dense = Some(v);
            }
        }
        for (name, list) in self.named {
            if list.len() != n {
                return Err(length_error());
            }
            for (slot, v) in out.iter_mut().zip(list) {
                slot.add(name.clone(), v).map_err(Error::bad_request)?;
            }
        }
        Ok(out)
    }
}

/// A stored point's vectors as Qdrant returns them: `null` when not asked; the dense list
/// for a point with only the unnamed vector; otherwise `{"": [..], name: [..], name:
/// {"indices", "values"}}` holding what was asked of what the point has (`{}` for a point
/// without vectors).
pub(crate) fn vector_out(p: &Point, asked: Option<&WithVector>) -> Value {
    let names = match asked {
        None | Some(WithVector::Flag(false)) => return Value::Null,
        Some(WithVector::Flag(true)) => None,
        Some(WithVector::Names(names)) => Some(names),
    };
    let wants = |name: &str| names.is_none_or(|n| n.iter().any(|x| x == name));
    if p.sparse.is_empty() && p.vectors.is_empty() && !p.vector.is_empty() {
        return if wants("") {
            f32_list(&p.vector)
        } else {
            Value::Null
        };
    }
    let mut out = Map::new();
    if wants("") && !p.vector.is_empty() {
        out.insert(String::new(), f32_list(&p.vector));
    }
    for (name, v) in &p.vectors {
        if wants(name) {
            out.insert(name.clone(), f32_list(v));
        }
    }
    for (name, v) in &p.sparse {
        if wants(name) {
            out.insert(
                name.clone(),
                json!({"indices": v.indices(), "values": f32_list(v.values())}),
            );
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::bounded::{ParseLimits, parse};

    fn read<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
        parse(text.as_bytes(), ParseLimits::default())
    }

    #[test]
    fn vector_struct_forms() {
        let v = read::<VectorStruct>("[1, 2]").unwrap();
        assert_eq!(v.dense, Some(vec![1.0, 2.0]));
        let v = read::<VectorStruct>(
            r#"{"": [1, 2], "s": {"indices": [3, 1], "values": [0.5, 0.25]}}"#,
        )
        .unwrap();
        assert_eq!(v.dense, Some(vec![1.0, 2.0]));
        assert_eq!(v.sparse.len(), 1);
        assert!(v.named.is_empty());
        let v = read::<VectorStruct>(r#"{"image": [1, 2]}"#).unwrap();
        assert_eq!(v.named, vec![("image".to_string(), vec![1.0, 2.0])]);
        let p = v.into_point(1, None).unwrap();
        assert_eq!(p.vectors["image"], vec![1.0, 2.0]);
        assert!(read::<VectorStruct>(r#"{"image": [1], "image": [2]}"#).is_err());
        assert!(read::<VectorStruct>(r#"{"": [1], "": [2]}"#).is_err());
        assert!(read::<VectorStruct>(r#"{"text": "hello"}"#).is_err());
    }

    #[test]
    fn batch_vectors_become_one_struct_per_point() {
        let b = read::<BatchVectors>(
            r#"{"": [[1, 0], [0, 1]], "s": [{"indices": [1], "values": [1]}, {"indices": [2], "values": [2]}]}"#,
        )
        .unwrap();
        let per = b.per_point(2).unwrap();
        assert_eq!(per[1].dense, Some(vec![0.0, 1.0]));
        assert_eq!(per[1].sparse[0].1.indices, vec![2]);
        let b = read::<BatchVectors>("[[1, 0]]").unwrap();
        assert!(b.per_point(2).is_err());
    }
}
