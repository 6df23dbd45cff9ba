//! The crate's one error type.
//!
//! Configuration mistakes and damaged persisted bytes are errors with the fields needed to act
//! on them; nothing in this crate panics on user input or on bytes read back.

/// Everything that can go wrong in `nearstore-text`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A text index or analyzer configuration is unusable.
    #[error("invalid text index configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// A query has more distinct terms than one search accepts.
    #[error("the query has {count} terms; at most {max} are accepted")]
    TooManyQueryTerms {
        /// Distinct terms in the query.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A sparse vector's indices and values differ in length.
    #[error("a sparse vector has {indices} indices but {values} values")]
    SparseLengthMismatch {
        /// Number of indices given.
        indices: usize,
        /// Number of values given.
        values: usize,
    },
    /// A sparse vector's value is NaN or infinite (as given, or once duplicates are summed).
    #[error("sparse vector value at position {position} (index {index}) is not finite")]
    SparseNonFinite {
        /// The dimension.
        index: u32,
        /// Position in the given arrays (the first of the duplicates when summed).
        position: usize,
    },
    /// A persisted index image is damaged or not an index image.
    #[error("{image} image is corrupt at byte {offset} ({section}): {reason}")]
    Corrupt {
        /// Which image: "text index" or "sparse index".
        image: &'static str,
        /// Which part of the image was being read.
        section: &'static str,
        /// Byte offset in the image where the problem was found.
        offset: usize,
        /// What was wrong.
        reason: String,
    },
    /// The image was written by a format version this build does not read.
    #[error("{image} image format version {found} is not supported (expected {expected})")]
    UnsupportedVersion {
        /// Which image: "text index" or "sparse index".
        image: &'static str,
        /// Version in the image.
        found: u32,
        /// Version this build reads.
        expected: u32,
    },
}

/// Shorthand for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
