//! [`SparseVector`]: a validated, normalised sparse vector (strictly increasing `u32`
//! indices, finite non-zero `f32` values).
//!
//! Invariant: every `SparseVector` value, however it was made (constructor or serde), holds
//! indices strictly increasing, one value per index, every value finite and non-zero. The
//! index and its image rely on it.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A sparse vector: `{indices, values}` as users and the Qdrant API write it, normalised.
///
/// Serializes as `{"indices": [...], "values": [...]}`; deserializing runs the same
/// normalisation and checks as [`SparseVector::new`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawSparseVector")]
pub struct SparseVector {
    indices: Vec<u32>,
    values: Vec<f32>,
}

/// The unchecked wire form, for serde.
#[derive(Debug, Deserialize)]
struct RawSparseVector {
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl TryFrom<RawSparseVector> for SparseVector {
    type Error = Error;

    fn try_from(raw: RawSparseVector) -> Result<Self> {
        SparseVector::new(raw.indices, raw.values)
    }
}

impl SparseVector {
    /// Normalises `indices`/`values`: sorts by index, sums the values of repeated indices
    /// (in the order given), drops zeros. Refuses a length mismatch
    /// ([`Error::SparseLengthMismatch`]) and non-finite values, given or produced by summing
    /// duplicates ([`Error::SparseNonFinite`]).
    pub fn new(indices: Vec<u32>, values: Vec<f32>) -> Result<SparseVector> {
        if indices.len() != values.len() {
            return Err(Error::SparseLengthMismatch {
                indices: indices.len(),
                values: values.len(),
            });
        }
        if let Some(position) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::SparseNonFinite {
                index: indices[position],
                position,
            });
        }
        let already_normal = indices.windows(2).all(|w| w[0] < w[1]) && !values.contains(&0.0);
        if already_normal {
            return Ok(SparseVector { indices, values });
        }
        let mut pairs: Vec<(u32, usize, f32)> = indices
            .iter()
            .zip(&values)
            .enumerate()
            .map(|(position, (&i, &v))| (i, position, v))
            .collect();
        // By index, then by position: duplicates are summed in the order given.
        pairs.sort_unstable_by_key(|&(i, position, _)| (i, position));
        let mut out_indices = Vec::with_capacity(pairs.len());
        let mut out_values = Vec::with_capacity(pairs.len());
        let mut at = 0;
        while at < pairs.len() {
            let (index, first_position, mut sum) = pairs[at];
            at += 1;
            while at < pairs.len() && pairs[at].0 == index {
                sum += pairs[at].2;
                at += 1;
            }
            if !sum.is_finite() {
                return Err(Error::SparseNonFinite {
                    index,
                    position: first_position,
                });
            }
            if sum != 0.0 {
                out_indices.push(index);
                out_values.push(sum);
            }
        }
        Ok(SparseVector {
            indices: out_indices,
            values: out_values,
        })
    }

    /// Wraps pairs already known to satisfy the invariant (decoded and checked by the image
    /// reader).
    pub(crate) fn from_normalised(indices: Vec<u32>, values: Vec<f32>) -> SparseVector {
        debug_assert!(indices.windows(2).all(|w| w[0] < w[1]));
        debug_assert!(values.iter().all(|v| v.is_finite() && *v != 0.0));
        SparseVector { indices, values }
    }

    /// The indices, strictly increasing.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// The values, one per index, finite and non-zero.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Number of non-zero entries.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the vector has no non-zero entry.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// `(index, value)` pairs in increasing index order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.indices
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }

    /// The dot product with `other`: the products of the shared indices, summed in `f64` in
    /// increasing index order, rounded to `f32` (the order and precision
    /// [`crate::SparseIndex::search`] scores with, without a modifier).
    pub fn dot(&self, other: &SparseVector) -> f32 {
        let (mut i, mut j) = (0, 0);
        let mut sum = 0.0f64;
        while i < self.indices.len() && j < other.indices.len() {
            match self.indices[i].cmp(&other.indices[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += f64::from(self.values[i]) * f64::from(other.values[j]);
                    i += 1;
                    j += 1;
                }
            }
        }
        sum as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_order_duplicates_and_zeros() -> Result<()> {
        let v = SparseVector::new(vec![7, 2, 7, 5, 9], vec![1.0, 3.0, 0.5, 0.0, -2.0])?;
        assert_eq!(v.indices(), &[2, 7, 9]);
        assert_eq!(v.values(), &[3.0, 1.5, -2.0]);
        let cancelled = SparseVector::new(vec![4, 4], vec![1.0, -1.0])?;
        assert!(cancelled.is_empty());
        assert_eq!(cancelled.len(), 0);
        Ok(())
    }

    #[test]
    fn refuses_mismatch_and_non_finite() {
        assert!(matches!(
            SparseVector::new(vec![1, 2], vec![1.0]),
            Err(Error::SparseLengthMismatch {
                indices: 2,
                values: 1
            })
        ));
        assert!(matches!(
            SparseVector::new(vec![1, 2], vec![1.0, f32::NAN]),
            Err(Error::SparseNonFinite {
                index: 2,
                position: 1
            })
        ));
        assert!(matches!(
            SparseVector::new(vec![3, 3], vec![f32::MAX, f32::MAX]),
            Err(Error::SparseNonFinite { index: 3, .. })
        ));
    }

    #[test]
    fn dot_sums_shared_indices() -> Result<()> {
        let a = SparseVector::new(vec![1, 3, 5], vec![1.0, 2.0, -1.0])?;
        let b = SparseVector::new(vec![3, 4, 5], vec![4.0, 9.0, 2.0])?;
        assert_eq!(a.dot(&b), 6.0);
        assert_eq!(b.dot(&a), 6.0);
        assert_eq!(a.dot(&SparseVector::default()), 0.0);
        Ok(())
    }

    #[test]
    fn serde_round_trips_and_validates() -> Result<()> {
        let v = SparseVector::new(vec![9, 1], vec![0.5, 2.0])?;
        let json = serde_json::to_string(&v).map_err(|e| Error::InvalidConfig {
            reason: e.to_string(),
        })?;
        assert_eq!(json, r#"{"indices":[1,9],"values":[2.0,0.5]}"#);
        let back: SparseVector =
            serde_json::from_str(r#"{"indices":[9,1,1],"values":[0.5,1.0,1.0]}"#).map_err(|e| {
                Error::InvalidConfig {
                    reason: e.to_string(),
                }
            })?;
        assert_eq!(back, v);
        assert!(serde_json::from_str::<SparseVector>(r#"{"indices":[1],"values":[]}"#).is_err());
        Ok(())
    }
}
