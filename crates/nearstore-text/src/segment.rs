//! A segment: a run of documents with local ids `0..n` in insertion order, their point ids,
//! field lengths, distinct terms (the forward index that lets a delete update document
//! frequencies without the payload) and deleted marks, plus the posting lists of its terms.
//!
//! Invariants: a segment's local ids are dense and never reused; the writable segment keeps
//! [`MutableList`]s and is the only one that grows; sealed segments are [`FrozenPostings`] and
//! change only by deleted marks. Whether a point is live is decided by the index's location
//! map; the deleted mark mirrors it so a search skips a dead entry without a hash lookup.

use std::ops::Range;

use rustc_hash::FxHashMap;

use crate::postings::{FrozenPostings, ListRef, MutableList};

/// A segment's posting lists.
#[derive(Debug, Clone)]
pub(crate) enum SegmentPostings {
    Mutable(MutableLists),
    Frozen(FrozenPostings),
}

/// The writable segment's lists: in a vector, found through a map from term id to place.
/// (A map holding the lists themselves moves every list on each of its growths, and a
/// collection of short texts adds a list for almost every document.)
#[derive(Debug, Clone, Default)]
pub(crate) struct MutableLists {
    place: FxHashMap<u32, u32>,
    lists: Vec<(u32, MutableList)>,
}

impl MutableLists {
    /// `term`'s list, created empty on first use.
    fn list_mut(&mut self, term: u32) -> &mut MutableList {
        let next = self.lists.len() as u32;
        let place = *self.place.entry(term).or_insert(next);
        if place == next {
            self.lists.push((term, MutableList::default()));
        }
        &mut self.lists[place as usize].1
    }

    fn get(&self, term: u32) -> Option<&MutableList> {
        let place = *self.place.get(&term)?;
        self.lists.get(place as usize).map(|(_, list)| list)
    }

    fn iter(&self) -> impl Iterator<Item = (u32, &MutableList)> {
        self.lists.iter().map(|(term, list)| (*term, list))
    }
}

/// One segment.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub(crate) n_fields: usize,
    pub(crate) point_ids: Vec<u64>,
    /// `field_lens[doc * n_fields + field]`.
    pub(crate) field_lens: Vec<u32>,
    /// Document `d`'s distinct term ids are `doc_terms[term_starts[d]..term_starts[d + 1]]`.
    pub(crate) term_starts: Vec<u32>,
    pub(crate) doc_terms: Vec<u32>,
    pub(crate) deleted: Vec<bool>,
    pub(crate) deleted_count: usize,
    pub(crate) postings: SegmentPostings,
}

impl Segment {
    /// An empty writable segment.
    pub(crate) fn new_mutable(n_fields: usize) -> Self {
        Segment {
            n_fields,
            point_ids: Vec::new(),
            field_lens: Vec::new(),
            term_starts: vec![0],
            doc_terms: Vec::new(),
            deleted: Vec::new(),
            deleted_count: 0,
            postings: SegmentPostings::Mutable(MutableLists::default()),
        }
    }

    /// Number of documents, deleted ones included.
    pub(crate) fn doc_count(&self) -> usize {
        self.point_ids.len()
    }

    /// Number of live documents.
    pub(crate) fn live_count(&self) -> usize {
        self.doc_count() - self.deleted_count
    }

    /// Appends a document to the writable segment: `terms` holds each distinct term id with
    /// its field and the range of `positions` holding its positions (increasing). Returns the
    /// local id, or `None` on a sealed segment.
    pub(crate) fn push_document(
        &mut self,
        point_id: u64,
        field_lens: &[u32],
        positions: &[u32],
        terms: &[(u32, u16, Range<usize>)],
    ) -> Option<u32> {
        let SegmentPostings::Mutable(lists) = &mut self.postings else {
            return None;
        };
        let doc = self.point_ids.len() as u32;
        for (term, field, range) in terms {
            let (term, field) = (*term, usize::from(*field));
            let len = field_lens.get(field).copied().unwrap_or(0);
            let positions = positions.get(range.clone()).unwrap_or(&[]);
            lists.list_mut(term).push(doc, positions, len);
            self.doc_terms.push(term);
        }
        self.point_ids.push(point_id);
        self.field_lens.extend_from_slice(field_lens);
        self.term_starts.push(self.doc_terms.len() as u32);
        self.deleted.push(false);
        Some(doc)
    }

    /// Marks `doc` deleted; returns its distinct terms (empty if it already was).
    pub(crate) fn mark_deleted(&mut self, doc: u32) -> &[u32] {
        let d = doc as usize;
        match self.deleted.get_mut(d) {
            Some(mark) if !*mark => {
                *mark = true;
                self.deleted_count += 1;
                self.terms_of(doc)
            }
            _ => &[],
        }
    }

    /// Document `doc`'s distinct terms.
    pub(crate) fn terms_of(&self, doc: u32) -> &[u32] {
        let d = doc as usize;
        match (self.term_starts.get(d), self.term_starts.get(d + 1)) {
            (Some(&s), Some(&e)) => self.doc_terms.get(s as usize..e as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Length of `field` in `doc`.
    #[inline]
    pub(crate) fn field_len(&self, doc: u32, field: usize) -> u32 {
        self.field_lens
            .get(doc as usize * self.n_fields + field)
            .copied()
            .unwrap_or(0)
    }

    /// `term`'s posting list in this segment.
    pub(crate) fn list(&self, term: u32) -> Option<ListRef<'_>> {
        match &self.postings {
            SegmentPostings::Mutable(lists) => lists.get(term).map(ListRef::Mutable),
            SegmentPostings::Frozen(store) => store
                .lists
                .get(&term)
                .map(|&list| ListRef::Frozen(store, list)),
        }
    }

    /// Every term with a list here, with the list.
    pub(crate) fn lists(&self) -> Vec<(u32, ListRef<'_>)> {
        match &self.postings {
            SegmentPostings::Mutable(lists) => lists
                .iter()
                .map(|(t, l)| (t, ListRef::Mutable(l)))
                .collect(),
            SegmentPostings::Frozen(store) => store
                .lists
                .iter()
                .map(|(&t, &l)| (t, ListRef::Frozen(store, l)))
                .collect(),
        }
    }

    /// The frozen form of this segment's postings (a copy-free move for a sealed segment).
    pub(crate) fn frozen_postings(&self) -> std::borrow::Cow<'_, FrozenPostings> {
        match &self.postings {
            SegmentPostings::Mutable(lists) => {
                std::borrow::Cow::Owned(FrozenPostings::freeze(lists.iter()))
            }
            SegmentPostings::Frozen(store) => std::borrow::Cow::Borrowed(store),
        }
    }

    /// Seals a writable segment (packs its lists); a sealed one is unchanged.
    pub(crate) fn seal(&mut self) {
        if let SegmentPostings::Mutable(lists) = &self.postings {
            let frozen = FrozenPostings::freeze(lists.iter());
            self.postings = SegmentPostings::Frozen(frozen);
        }
    }

    /// Bytes held (for memory accounting).
    pub(crate) fn heap_bytes(&self) -> usize {
        let tables = self.point_ids.capacity() * 8
            + (self.field_lens.capacity()
                + self.term_starts.capacity()
                + self.doc_terms.capacity())
                * 4
            + self.deleted.capacity();
        tables
            + match &self.postings {
                SegmentPostings::Mutable(lists) => {
                    lists.place.capacity() * 12
                        + lists.lists.capacity() * size_of::<(u32, MutableList)>()
                        + lists.iter().map(|(_, l)| l.heap_bytes()).sum::<usize>()
                }
                SegmentPostings::Frozen(store) => store.heap_bytes(),
            }
    }
}
