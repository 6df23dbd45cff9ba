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
    /// Temporarily too busy to take the request (a full streaming queue): nothing was
    /// done; retry after the delay the error suggests (the server: 429 with Retry-After).
    Overloaded,
}

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A vector's length differs from the collection's dimension.
    #[error("dimension mismatch: collection {collection} holds {expected}-d vectors, got {actual}")]
    DimensionMismatch {
        /// The collection.
        collection: String,
        /// Its dimension.
        expected: usize,
        /// The offered vector's length.
        actual: usize,
    },
    /// A vector holds NaN or an infinity.
    #[error("vector of point {id} has a non-finite value at index {index}")]
    NonFiniteVector {
        /// The point (0 for a query vector).
        id: u64,
        /// Position of the first bad component.
        index: usize,
    },
    /// No collection of that name.
    #[error("collection {0:?} does not exist")]
    CollectionNotFound(String),
    /// A collection of that name exists already.
    #[error("collection {0:?} already exists")]
    CollectionExists(String),
    /// No alias of that name.
    #[error("alias {0:?} does not exist")]
    AliasNotFound(String),
    /// A collection or alias name already taken by the other kind of name (an alias never
    /// shadows a collection, nor a collection an alias).
    #[error("name {name:?} is already used by {by}")]
    NameInUse {
        /// The offered name.
        name: String,
        /// What holds it: `"a collection"` or `"an alias"`.
        by: &'static str,
    },
    /// A collection name that is not allowed.
    #[error("invalid collection name {name:?}: {reason}")]
    InvalidName {
        /// The offered name.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A payload larger than the collection accepts.
    #[error("payload of point {id} is {bytes} bytes, over the {limit}-byte limit")]
    PayloadTooLarge {
        /// The point.
        id: u64,
        /// Its serialized size.
        bytes: usize,
        /// The collection's limit.
        limit: usize,
    },
    /// A filter that cannot be evaluated (with the path of the bad condition).
    #[error(transparent)]
    Filter(#[from] nearstore_filter::Error),
    /// Any other invalid argument.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A query that does not parse: the message, with the position and the offending line
    /// underlined.
    #[error("{rendered}")]
    Syntax {
        /// The parser's error (line, column, what was expected).
        error: nearstore_ql::ParseError,
        /// The error rendered against the query text.
        rendered: String,
    },
    /// A feature the query language accepts but this version does not execute.
    #[error("{0}")]
    Unsupported(String),
    /// The query ran past its timeout and was cancelled.
    #[error("{0}")]
    Cancelled(String),
    /// A write whose deadline passed before it was logged: nothing of it was written.
    #[error(
        "write of {points} points to {collection} cancelled at its deadline before anything was written (not applied)"
    )]
    WriteCancelled {
        /// The collection.
        collection: String,
        /// How many points the write held.
        points: usize,
    },
    /// INSERT of an id that exists (UPSERT replaces).
    #[error("point {0} already exists (use UPSERT to replace it)")]
    PointExists(u64),
    /// A database file that does not describe a valid state.
    #[error("corruption in {file}: {reason}")]
    Corruption {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A collection that was dropped while this handle was held.
    #[error("collection {0:?} was dropped")]
    Dropped(String),
    /// A collection that saw an I/O failure after which its state on disk is unknown;
    /// reopening the database recovers it.
    #[error(
        "collection {collection} refuses writes after an earlier failure ({reason}); reopen the database to recover"
    )]
    Poisoned {
        /// The collection.
        collection: String,
        /// The failure.
        reason: String,
    },
    /// A storage-layer failure.
    #[error(transparent)]
    Storage(#[from] nearstore_storage::Error),
    /// An index failure.
    #[error(transparent)]
    Index(#[from] nearstore_index::Error),
    /// A distance-layer failure (mismatched lengths and the like).
    #[error(transparent)]
    Distance(#[from] nearstore_distance::Error),
    /// A full-text failure: an unusable text configuration or a query with too many terms
    /// (a damaged text index image is reported as [`Error::Corruption`] naming its file).
    #[error(transparent)]
    Text(#[from] nearstore_text::Error),
    /// A full-text search on a collection (or field) without a text index.
    #[error("collection {collection} has no text index{}", field.as_ref().map(|f| format!(" on field {f:?}")).unwrap_or_default())]
    NoTextIndex {
        /// The collection.
        collection: String,
        /// The field asked for, when one was.
        field: Option<String>,
    },
    /// A request or point names a dense or sparse vector the collection does not declare.
    #[error("collection {collection} has no vector named {name:?}")]
    UnknownVector {
        /// The collection.
        collection: String,
        /// The name asked for.
        name: String,
    },
    /// A search on, or a point carrying, the default (unnamed) vector in a collection
    /// created without one ([`crate::CollectionConfig::without_default_vector`]).
    #[error(
        "collection {collection} has no default vector: name one of its vectors (or create \
         it with a default vector)"
    )]
    NoDefaultVector {
        /// The collection.
        collection: String,
    },
    /// A streamed write that does not fit whole in the collection's streaming queue:
    /// nothing of it was queued or logged. Retry after `retry_after` (the queue drains in
    /// the background).
    #[error(
        "streaming queue of {collection} is full ({queued} of {capacity} points queued, {offered} offered); retry after {retry_after:?}"
    )]
    Overloaded {
        /// The collection.
        collection: String,
        /// The queue's capacity in points (`StreamingConfig::buffer_size`).
        capacity: usize,
        /// Points queued when the write was refused.
        queued: usize,
        /// Points the refused write held.
        offered: usize,
        /// A suggested delay before retrying (the drain's flush interval, at least 1 ms).
        retry_after: std::time::Duration,
    },
    /// The operation conflicts with the current state (a damaged collection in the way of
    /// a snapshot, for example).
    #[error("{0}")]
    Conflict(String),
    /// A bug: an invariant that should hold did not.
    #[error("internal error: {0}")]
    Internal(String),
    /// A streamed write to a collection whose streaming ingest is off.
    #[error("streaming ingest is not enabled on collection {0} (call enable_streaming first)")]
    StreamingDisabled(String),
    /// A graph failure: an edge to a missing node, a duplicate edge id, a blank label, a
    /// schema violation, a traversal past a guardrail, a bad pattern.
    #[error(transparent)]
    Graph(#[from] nearstore_graph::Error),
    /// A graph operation on a collection that is not a graph collection.
    #[error("collection {collection} is a {kind} collection, not a graph collection")]
    NotAGraph {
        /// The collection.
        collection: String,
        /// Its kind.
        kind: &'static str,
    },
    /// A vector search (or a vector) on a metadata collection, which holds payloads only.
    #[error(
        "collection {collection} is a metadata collection: it holds payloads only and has no \
         vector to search (use filters, scroll, count or text search)"
    )]
    MetadataCollection {
        /// The collection.
        collection: String,
    },
    /// An embedding search on (or an embedding given to) a graph collection created without
    /// embeddings.
    #[error(
        "graph collection {collection} has no embeddings (create it with a dimension and metric)"
    )]
    NoEmbedding {
        /// The collection.
        collection: String,
    },
    /// A write names a point the collection does not hold.
    #[error("collection {collection} has no point {id}")]
    PointNotFound {
        /// The collection.
        collection: String,
        /// The id asked for.
        id: u64,
    },
}

impl Error {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::DimensionMismatch { .. }
            | Error::NonFiniteVector { .. }
            | Error::InvalidName { .. }
            | Error::InvalidArgument(_)
            | Error::Syntax { .. }
            | Error::Unsupported(_)
            | Error::NoTextIndex { .. }
            | Error::UnknownVector { .. }
            | Error::NoDefaultVector { .. }
            | Error::NotAGraph { .. }
            | Error::MetadataCollection { .. }
            | Error::NoEmbedding { .. }
            | Error::Distance(_) => ErrorKind::InvalidArgument,
            Error::Graph(e) => graph_kind(e),
            Error::PointNotFound { .. } => ErrorKind::NotFound,
            Error::Text(e) => match e {
                nearstore_text::Error::Corrupt { .. }
                | nearstore_text::Error::UnsupportedVersion { .. } => ErrorKind::Corruption,
                _ => ErrorKind::InvalidArgument,
            },
            Error::Cancelled(_) | Error::WriteCancelled { .. } => ErrorKind::Cancelled,
            Error::PointExists(_) => ErrorKind::AlreadyExists,
            Error::PayloadTooLarge { .. } => ErrorKind::ResourceExhausted,
            Error::Filter(e) => match e {
                nearstore_filter::Error::Corruption(_) => ErrorKind::Corruption,
                _ => ErrorKind::InvalidArgument,
            },
            Error::CollectionNotFound(_) | Error::Dropped(_) | Error::AliasNotFound(_) => {
                ErrorKind::NotFound
            }
            Error::CollectionExists(_) | Error::NameInUse { .. } => ErrorKind::AlreadyExists,
            Error::Corruption { .. } => ErrorKind::Corruption,
            Error::Poisoned { .. } | Error::StreamingDisabled(_) | Error::Conflict(_) => {
                ErrorKind::Conflict
            }
            Error::Internal(_) => ErrorKind::Internal,
            Error::Overloaded { .. } => ErrorKind::Overloaded,
            Error::Storage(e) => storage_kind(e),
            Error::Index(e) => match e {
                nearstore_index::Error::Storage(s) => storage_kind(s),
                nearstore_index::Error::DimensionMismatch { .. }
                | nearstore_index::Error::NonFinite { .. }
                | nearstore_index::Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
                nearstore_index::Error::Full(_) => ErrorKind::ResourceExhausted,
                _ => ErrorKind::Internal,
            },
        }
    }

    pub(crate) fn corruption(file: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        Error::Corruption {
            file: file.to_string(),
            reason: reason.into(),
        }
    }
}

fn graph_kind(e: &nearstore_graph::Error) -> ErrorKind {
    use nearstore_graph::Error as G;
    match e {
        G::DuplicateEdge { .. } => ErrorKind::AlreadyExists,
        G::MissingNode { .. } => ErrorKind::NotFound,
        G::TooManyRows { .. } | G::CapacityExceeded { .. } => ErrorKind::ResourceExhausted,
        G::DeadlineExceeded | G::Cancelled => ErrorKind::Cancelled,
        G::Corruption { .. } | G::ReplayConflict { .. } => ErrorKind::Corruption,
        G::PropertyIndex(nearstore_filter::Error::Corruption(_)) => ErrorKind::Corruption,
        _ => ErrorKind::InvalidArgument,
    }
}

fn storage_kind(e: &nearstore_storage::Error) -> ErrorKind {
    use nearstore_storage::Error as S;
    match e {
        S::Io { source, .. } => match source.raw_os_error() {
            Some(28) => ErrorKind::ResourceExhausted,
            _ => ErrorKind::Io,
        },
        S::Corruption { .. } => ErrorKind::Corruption,
        S::Locked { .. } | S::Poisoned(_) => ErrorKind::Conflict,
        S::DimensionMismatch { .. } | S::InvalidArgument(_) => ErrorKind::InvalidArgument,
        _ => ErrorKind::Internal,
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

    #[test]
    fn engine_errors_map_to_their_kinds() {
        assert_eq!(
            Error::CollectionNotFound("x".into()).kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            Error::CollectionExists("x".into()).kind(),
            ErrorKind::AlreadyExists
        );
        let e = Error::PayloadTooLarge {
            id: 1,
            bytes: 10,
            limit: 5,
        };
        assert_eq!(e.kind(), ErrorKind::ResourceExhausted);
        assert_eq!(
            Error::NonFiniteVector { id: 1, index: 0 }.kind(),
            ErrorKind::InvalidArgument
        );
    }
}
