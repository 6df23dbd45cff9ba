//! [`IdSet`]: the ids listed under one indexed value.
//!
//! A field with many distinct values (names, ids, e-mail addresses) has one point under most
//! of them: such a value keeps its id inline, and only a value shared by several points holds
//! a bitmap (a bitmap costs a few hundred bytes and several allocations even for one id). The
//! persisted form is a bitmap either way.

use std::borrow::Cow;

use roaring::RoaringTreemap;

/// The ids under one indexed value; never empty while it is in an index (a removal that
/// empties it tells the caller, which drops the value).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IdSet {
    One(u64),
    Many(RoaringTreemap),
}

impl IdSet {
    /// The set of `ids` (`None` when it is empty).
    pub(crate) fn from_bitmap(ids: RoaringTreemap) -> Option<Self> {
        match ids.len() {
            0 => None,
            1 => ids.min().map(IdSet::One),
            _ => Some(IdSet::Many(ids)),
        }
    }

    /// Adds `id`.
    pub(crate) fn insert(&mut self, id: u64) {
        match self {
            IdSet::One(only) if *only == id => {}
            IdSet::One(only) => {
                let mut ids = RoaringTreemap::new();
                ids.insert(*only);
                ids.insert(id);
                *self = IdSet::Many(ids);
            }
            IdSet::Many(ids) => {
                ids.insert(id);
            }
        }
    }

    /// Removes `id`; returns true when the set is left empty (the caller drops it).
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        match self {
            IdSet::One(only) => *only == id,
            IdSet::Many(ids) => {
                ids.remove(id);
                match ids.len() {
                    0 => true,
                    1 => {
                        if let Some(last) = ids.min() {
                            *self = IdSet::One(last);
                        }
                        false
                    }
                    _ => false,
                }
            }
        }
    }

    /// The ids as a bitmap (borrowed when the set holds one).
    pub(crate) fn bitmap(&self) -> Cow<'_, RoaringTreemap> {
        match self {
            IdSet::One(only) => {
                let mut ids = RoaringTreemap::new();
                ids.insert(*only);
                Cow::Owned(ids)
            }
            IdSet::Many(ids) => Cow::Borrowed(ids),
        }
    }

    /// Adds the ids to `out`.
    pub(crate) fn add_to(&self, out: &mut RoaringTreemap) {
        match self {
            IdSet::One(only) => {
                out.insert(*only);
            }
            IdSet::Many(ids) => *out |= ids,
        }
    }

    /// Bytes held beyond the value itself (for memory accounting).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            IdSet::One(_) => 0,
            IdSet::Many(ids) => ids.serialized_size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_matches_a_bitmap_through_inserts_and_removes() {
        // a small model walk: inserts and removes of a few ids, the set always equal to a
        // plain bitmap and inline exactly when it holds one id
        let mut set = IdSet::One(5);
        let mut model = RoaringTreemap::new();
        model.insert(5);
        let steps: [(bool, u64); 9] = [
            (true, 5),
            (true, 9),
            (true, 1 << 40),
            (false, 9),
            (false, 5),
            (true, 3),
            (false, 1 << 40),
            (false, 7),
            (false, 3),
        ];
        for (insert, id) in steps {
            let emptied = if insert {
                set.insert(id);
                model.insert(id);
                false
            } else {
                model.remove(id);
                set.remove(id)
            };
            assert_eq!(emptied, model.is_empty(), "after {insert} {id}");
            if emptied {
                break;
            }
            assert_eq!(*set.bitmap(), model, "after {insert} {id}");
            assert_eq!(matches!(set, IdSet::One(_)), model.len() == 1);
            let mut out = RoaringTreemap::new();
            out.insert(100);
            set.add_to(&mut out);
            assert_eq!(out, &model | &RoaringTreemap::from_iter([100]));
        }
        assert_eq!(IdSet::from_bitmap(RoaringTreemap::new()), None);
        assert_eq!(
            IdSet::from_bitmap(RoaringTreemap::from_iter([4])),
            Some(IdSet::One(4))
        );
    }
}
