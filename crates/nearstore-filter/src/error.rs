//! The crate's one error type.

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A filter (JSON or built in Rust) breaks a rule; `path` names the bad part, e.g.
    /// `and[1].or[0].gt` (empty for the whole filter).
    #[error("invalid filter at {}: {message}", display_path(path))]
    InvalidFilter {
        /// Where in the filter: `and[i]`, `or[i]`, `not`, then the operator or key.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A field is already indexed with a different kind.
    #[error("field {field:?} is already indexed as {existing}, not {requested}")]
    IndexKindConflict {
        /// The field path.
        field: String,
        /// The kind it is indexed with.
        existing: crate::FieldIndexKind,
        /// The kind that was asked for.
        requested: crate::FieldIndexKind,
    },
    /// A field path that cannot be indexed (empty, an empty key, or a selector other than
    /// `[]` / `[N]`).
    #[error("invalid field path {field:?}: {message}")]
    InvalidField {
        /// The field path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Persisted index bytes that do not decode.
    #[error("corrupt payload index: {0}")]
    Corruption(String),
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "the root" } else { path }
}

impl Error {
    pub(crate) fn invalid(path: &str, message: impl Into<String>) -> Self {
        Error::InvalidFilter {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_filter_display_names_the_path() {
        let e = Error::invalid("and[1].gt", "expected a number or string");
        assert_eq!(
            e.to_string(),
            "invalid filter at and[1].gt: expected a number or string"
        );
        let root = Error::invalid("", "expected an object");
        assert_eq!(
            root.to_string(),
            "invalid filter at the root: expected an object"
        );
    }
}
