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

/// Checks a vector's length and that every component is finite.
pub fn validate(vector: &[f32], dim: usize) -> Result<()> {
    if vector.len() != dim {
        return Err(Error::DimensionMismatch {
            expected: dim,
            actual: vector.len(),
        });
    }
    // A branch-free pass the compiler vectorizes (this runs on every query); the position
    // of the first bad component is looked for only when there is one.
    if vector.iter().fold(true, |ok, x| ok & x.is_finite()) {
        return Ok(());
    }
    if let Some((index, &value)) = vector.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(Error::NonFinite { index, value });
    }
    Ok(())
}
