//! The index layer's error type.

/// Result alias for the index layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `nearstore-index`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A vector of the wrong length.
    #[error("dimension mismatch: the index holds {expected}-d vectors, got {actual}")]
    DimensionMismatch {
        /// The index's dimension.
        expected: usize,
        /// The offered vector's length.
        actual: usize,
    },
    /// A vector with a NaN or infinite component.
    #[error("vector component {index} is not finite ({value})")]
    NonFinite {
        /// Position of the bad component.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// A parameter outside its range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The index is full (2^32 - 1 slots).
    #[error("the index is full: {0} slots")]
    Full(usize),
    /// Persisting or loading failed in the storage layer.
    #[error(transparent)]
    Storage(#[from] nearstore_storage::Error),
}

/// The position of the first component of `vector` that is NaN or infinite, if any.
///
/// Every query and written vector passes here, so the common case is one branch-free pass
/// the compiler vectorizes; the position is looked for only when there is a bad component.
pub fn first_non_finite(vector: &[f32]) -> Option<usize> {
    if vector.iter().fold(true, |ok, x| ok & x.is_finite()) {
        return None;
    }
    vector.iter().position(|x| !x.is_finite())
}

/// Checks a vector's length and that every component is finite.
pub fn validate(vector: &[f32], dim: usize) -> Result<()> {
    if vector.len() != dim {
        return Err(Error::DimensionMismatch {
            expected: dim,
            actual: vector.len(),
        });
    }
    match first_non_finite(vector) {
        Some(index) => Err(Error::NonFinite {
            index,
            value: vector[index],
        }),
        None => Ok(()),
    }
}
