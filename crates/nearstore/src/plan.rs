//! Turning a filter into what the index searches under.
//!
//! A filter is resolved to the exact set of matching ids (payload indexes first, payload
//! evaluation for what they cannot answer); the index then chooses, from the set's size and
//! its own cost model, between scoring those points exactly and a filtered graph search.

use nearstore_index::AllowList;
use roaring::RoaringTreemap;

/// An allow-list over a roaring bitmap of point ids.
#[derive(Debug, Clone)]
pub(crate) struct BitmapAllowList {
    ids: RoaringTreemap,
}

impl BitmapAllowList {
    pub(crate) fn new(ids: RoaringTreemap) -> Self {
        BitmapAllowList { ids }
    }
}

impl AllowList for BitmapAllowList {
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
