//! The canonical printer: `Display` for every AST node.
//!
//! Canonical form: keywords and function names upper-case; single spaces; one statement on
//! one line; identifiers quoted with `"..."` (doubling `"`) exactly when reserved or not a
//! plain word; strings in `'...'` with `''`; floats in Rust's shortest round-trip form
//! (`{:?}`: `0.1`, `1e-7`, `3.0`), so they re-parse to the same value; arithmetic
//! parenthesised only where precedence or left-associativity requires; conditions
//! parenthesised where the tree has a [`crate::ast::Condition::Group`] (and, defensively,
//! wherever an `And`/`Or` part would otherwise change meaning); optional keywords printed in
//! one fixed spelling (`INNER JOIN`, `DESCRIBE COLLECTION x`, `!=`), settings in a fixed order
//! where the AST types them. For every tree the parser produces,
//! `parse(&tree.to_string()) == Ok(tree)`.

mod condition;
mod expr;
mod query;
mod statement;

use std::fmt;

use crate::ast::{OptionList, Path};
use crate::keyword::needs_quoting;

/// An identifier, quoted when needed.
pub(crate) struct Ident<'a>(pub(crate) &'a str);

impl fmt::Display for Ident<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if needs_quoting(self.0) {
            write!(f, "\"{}\"", self.0.replace('"', "\"\""))
        } else {
            f.write_str(self.0)
        }
    }
}

/// A string literal.
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.0.replace('\'', "''"))
    }
}

/// A dotted path.
pub(crate) struct DottedPath<'a>(pub(crate) &'a Path);

impl fmt::Display for DottedPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{}", Ident(segment))?;
        }
        Ok(())
    }
}

/// Writes `items` separated by `", "`.
pub(crate) fn comma_separated<T>(
    f: &mut fmt::Formatter<'_>,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut fmt::Formatter<'_>, T) -> fmt::Result,
) -> fmt::Result {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write(f, item)?;
    }
    Ok(())
}

/// `(key = value, ...)`.
pub(crate) fn option_list(f: &mut fmt::Formatter<'_>, options: &OptionList) -> fmt::Result {
    f.write_str("(")?;
    comma_separated(f, options, |f, (key, value)| {
        write!(f, "{} = {value}", Ident(key))
    })?;
    f.write_str(")")
}

/// Paths separated by commas.
pub(crate) fn path_list(f: &mut fmt::Formatter<'_>, paths: &[Path]) -> fmt::Result {
    comma_separated(f, paths, |f, p| write!(f, "{}", DottedPath(p)))
}
