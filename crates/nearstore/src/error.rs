//! The engine's error type and its coarse classification.

/// Result alias for the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is: the one classification the server maps to HTTP
/// statuses and the CLI to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller's input is wrong (dimension, value, name, syntax).
    InvalidArgument,
    /// Something named does not exist.
    NotFound,
    /// Something to be created already exists.
    AlreadyExists,
    /// The operation conflicts with the current state (for example a locked directory).
    Conflict,
    /// Data on disk is damaged.
    Corruption,
    /// The operating system failed an I/O operation.
    Io,
    /// A limit was hit (space, memory, size).
    ResourceExhausted,
    /// The operation was cancelled (timeout).
    Cancelled,
    /// A bug: an invariant did not hold.
    Internal,
}

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A storage-layer failure.
    #[error(transparent)]
    Storage(#[from] nearstore_storage::Error),
    /// A distance-layer failure (mismatched lengths and the like).
    #[error(transparent)]
    Distance(#[from] nearstore_distance::Error),
}

impl Error {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        use nearstore_storage::Error as S;
        match self {
            Error::Storage(S::Io { source, .. }) => match source.raw_os_error() {
                Some(28) => ErrorKind::ResourceExhausted,
                _ => ErrorKind::Io,
            },
            Error::Storage(S::Corruption { .. }) => ErrorKind::Corruption,
            Error::Storage(S::Locked { .. }) | Error::Storage(S::Poisoned(_)) => {
                ErrorKind::Conflict
            }
            Error::Storage(S::DimensionMismatch { .. } | S::InvalidArgument(_)) => {
                ErrorKind::InvalidArgument
            }
            Error::Storage(_) => ErrorKind::Internal,
            Error::Distance(_) => ErrorKind::InvalidArgument,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_errors_map_to_their_kinds() {
        let e: Error = nearstore_storage::Error::DimensionMismatch {
            expected: 3,
            actual: 4,
        }
        .into();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let e: Error = nearstore_storage::Error::corruption("f", 1, "bad").into();
        assert_eq!(e.kind(), ErrorKind::Corruption);
        let e: Error = nearstore_storage::Error::Locked { path: "d".into() }.into();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        let e: Error =
            nearstore_storage::Error::io("f", std::io::Error::from_raw_os_error(28)).into();
        assert_eq!(e.kind(), ErrorKind::ResourceExhausted);
    }
}
