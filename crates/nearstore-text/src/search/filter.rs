//! Allow-lists for filtered text search: which point ids a search may return.

use std::collections::HashSet;
use std::hash::BuildHasher;

use roaring::RoaringTreemap;

/// A predicate over point ids. The engine passes its resolved filter (usually a bitmap).
pub trait TextFilter {
    /// Whether point `id` may be returned.
    fn allows(&self, id: u64) -> bool;
}

impl TextFilter for RoaringTreemap {
    fn allows(&self, id: u64) -> bool {
        self.contains(id)
    }
}

impl<S: BuildHasher> TextFilter for HashSet<u64, S> {
    fn allows(&self, id: u64) -> bool {
        self.contains(&id)
    }
}

/// Adapts a closure into a [`TextFilter`].
#[derive(Debug, Clone, Copy)]
pub struct FilterFn<F>(pub F);

impl<F: Fn(u64) -> bool> TextFilter for FilterFn<F> {
    fn allows(&self, id: u64) -> bool {
        (self.0)(id)
    }
}
