//! Allow-lists: which points a filtered search may return.

use rustc_hash::FxHashSet;

/// A predicate over point ids plus an estimate of how many it allows, which the index uses
/// to choose between an exact scan of the allowed points and a filtered graph search.
pub trait AllowList: Send + Sync {
    /// Whether the point `id` may be returned.
    fn allows(&self, id: u64) -> bool;
    /// How many points are allowed (an estimate is fine; `None` when unknown).
    fn count_hint(&self) -> Option<usize>;
    /// The allowed ids, when the allow-list can enumerate them cheaply (enables exact scans).
    fn ids(&self) -> Option<Vec<u64>> {
        None
    }
}

/// Allows everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl AllowList for AllowAll {
    fn allows(&self, _id: u64) -> bool {
        true
    }
    fn count_hint(&self) -> Option<usize> {
        None
    }
}

/// An explicit set of allowed ids.
#[derive(Debug, Clone, Default)]
pub struct IdSetAllowList {
    ids: FxHashSet<u64>,
}

impl IdSetAllowList {
    /// Allows exactly `ids`.
    pub fn new(ids: impl IntoIterator<Item = u64>) -> Self {
        IdSetAllowList {
            ids: ids.into_iter().collect(),
        }
    }
}

impl AllowList for IdSetAllowList {
    fn allows(&self, id: u64) -> bool {
        self.ids.contains(&id)
    }
    fn count_hint(&self) -> Option<usize> {
        Some(self.ids.len())
    }
    fn ids(&self) -> Option<Vec<u64>> {
        Some(self.ids.iter().copied().collect())
    }
}
