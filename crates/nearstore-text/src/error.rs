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
    /// A persisted index image is damaged or not an index image.
    #[error("text index image is corrupt at byte {offset} ({section}): {reason}")]
    Corrupt {
        /// Which part of the image was being read.
        section: &'static str,
        /// Byte offset in the image where the problem was found.
        offset: usize,
        /// What was wrong.
        reason: String,
    },
    /// The image was written by a format version this build does not read.
    #[error("text index image format version {found} is not supported (expected {expected})")]
    UnsupportedVersion {
        /// Version in the image.
        found: u32,
        /// Version this build reads.
        expected: u32,
    },
}

/// Shorthand for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
