//! The storage layer's one error type.

use std::path::PathBuf;

/// Result alias for the storage layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `nearstore-storage`.
///
/// `Corruption` is what the specification calls an "invalid data" error: the bytes on disk
/// (or an offset derived from them) do not describe a valid state. It always names the file
/// and the byte offset of the first bad byte or record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error, with the path it happened on.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// On-disk data that fails validation (bad magic, checksum, length, offset).
    #[error("corruption in {file} at byte {offset}: {reason}")]
    Corruption {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset of the damaged record or field.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Another process (or another handle in this process) holds the store's lock.
    #[error("store {path} is locked by another process or handle")]
    Locked {
        /// The locked directory.
        path: PathBuf,
    },
    /// A vector of the wrong length for this store.
    #[error("dimension mismatch: the store holds {expected}-d vectors, got {actual}")]
    DimensionMismatch {
        /// The store's dimension.
        expected: usize,
        /// The offered vector's length.
        actual: usize,
    },
    /// An argument outside what the store accepts (dimension 0, oversized payload, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The store saw an I/O failure after which its in-memory state can no longer be trusted
    /// to match the disk (for example a failed fsync). Reopen the store to recover.
    #[error("store is poisoned by an earlier I/O failure ({0}); reopen it to recover")]
    Poisoned(String),
}

impl Error {
    /// Wraps an `io::Error` with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Builds a `Corruption` error.
    pub fn corruption(file: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corruption {
            file: file.into(),
            offset,
            reason: reason.into(),
        }
    }

    /// True for `Corruption` (the specification's "invalid data").
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }

    /// The raw OS error code of an `Io` error (for example `ENOSPC`), if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}
