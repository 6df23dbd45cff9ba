//! The crate's one error type.

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the graph store.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An edge label that is empty or only whitespace.
    #[error("edge {edge}: label must not be blank")]
    BlankLabel {
        /// The edge id.
        edge: u64,
    },
    /// Edge properties that are not a JSON object (or null).
    #[error("edge {edge}: properties must be a JSON object, got {found}")]
    PropertiesNotObject {
        /// The edge id.
        edge: u64,
        /// The JSON type that was given.
        found: &'static str,
    },
    /// An edge id that is already stored (or repeated inside one batch).
    #[error("edge {edge} already exists")]
    DuplicateEdge {
        /// The edge id.
        edge: u64,
    },
    /// An edge whose source or target is not a node the caller knows.
    #[error("edge {edge}: {endpoint} node {node} does not exist")]
    MissingNode {
        /// The edge id.
        edge: u64,
        /// `"source"` or `"target"`.
        endpoint: &'static str,
        /// The missing node id.
        node: u64,
    },
    /// Replaying an edge whose id is stored with different content.
    #[error("edge {edge}: replayed edge differs from the stored one")]
    ReplayConflict {
        /// The edge id.
        edge: u64,
    },
    /// More nodes, edges or labels than the compact arrays address (u32 indices).
    #[error("graph capacity exceeded: more than {max} {what}")]
    CapacityExceeded {
        /// `"nodes"`, `"edges"` or `"labels"`.
        what: &'static str,
        /// The maximum.
        max: u64,
    },
    /// A traversal or expansion asked for more hops than allowed.
    #[error("depth {requested} exceeds the maximum traversal depth {max}")]
    DepthLimit {
        /// The requested depth.
        requested: u32,
        /// The maximum.
        max: u32,
    },
    /// A traversal config that makes no sense (`min_depth > max_depth`, ...).
    #[error("invalid traversal: {message}")]
    InvalidTraversal {
        /// What is wrong.
        message: String,
    },
    /// A traversal or expansion produced more intermediate rows than its budget allows.
    #[error("traversal stopped: more than {max_rows} intermediate rows")]
    TooManyRows {
        /// The budget's row limit.
        max_rows: usize,
    },
    /// The request's deadline passed while the traversal was running.
    #[error("traversal stopped: deadline exceeded")]
    DeadlineExceeded,
    /// The request was cancelled while the traversal was running.
    #[error("traversal stopped: cancelled")]
    Cancelled,
    /// A MATCH pattern that cannot be planned (a repeated relationship variable, a variable
    /// used for both a node and a relationship, `min > max`, an unknown start variable, ...).
    #[error("invalid pattern: {message}")]
    InvalidPattern {
        /// What is wrong.
        message: String,
    },
    /// A graph schema that is not well formed (a blank or repeated name, an edge type between
    /// undeclared node types, ...).
    #[error("invalid graph schema: {message}")]
    InvalidSchema {
        /// What is wrong.
        message: String,
    },
    /// A node payload that does not conform to the graph's schema.
    #[error("node {node} does not conform to the graph schema: {message}")]
    NodeSchemaViolation {
        /// The node id.
        node: u64,
        /// What is wrong.
        message: String,
    },
    /// An edge that does not conform to the graph's schema.
    #[error("edge {edge} does not conform to the graph schema: {message}")]
    EdgeSchemaViolation {
        /// The edge id.
        edge: u64,
        /// What is wrong.
        message: String,
    },
    /// A property index request that the filter crate rejects.
    #[error("property index: {0}")]
    PropertyIndex(#[from] nearstore_filter::Error),
    /// A persisted graph image that does not decode; `what` names the part, `offset` the byte.
    #[error("corrupt graph image at byte {offset} ({what}): {reason}")]
    Corruption {
        /// The part of the image being read (`"header"`, `"labels"`, `"edge 17"`, ...).
        what: String,
        /// Byte offset in the image.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}
