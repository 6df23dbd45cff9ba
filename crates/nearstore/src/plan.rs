//! Turning a filter into what the index searches under.
//!
//! A filter is resolved to the exact set of matching ids (payload indexes first, payload
//! evaluation for what they cannot answer); the index then chooses, from the set's size and
//! its own cost model, between scoring those points exactly and a filtered graph search.

use nearstore_index::AllowList;
use roaring::RoaringTreemap;

/// An allow-list over a roaring bitmap of point ids (borrowed: a fused request's legs all
/// search under the one resolved filter).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BitmapAllowList<'a> {
    ids: &'a RoaringTreemap,
}

impl<'a> BitmapAllowList<'a> {
    pub(crate) fn new(ids: &'a RoaringTreemap) -> Self {
        BitmapAllowList { ids }
    }
}

impl AllowList for BitmapAllowList<'_> {
    fn allows(&self, id: u64) -> bool {
        self.ids.contains(id)
    }

    fn count_hint(&self) -> Option<usize> {
        Some(self.ids.len() as usize)
    }

    fn ids(&self) -> Option<Vec<u64>> {
        Some(self.ids.iter().collect())
    }
}
