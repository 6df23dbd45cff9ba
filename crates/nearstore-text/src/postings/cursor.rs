//! One cursor over either posting store: next, seek, and a shallow seek that moves only the
//! block pointer (to read a block's score bound without decoding it).
//!
//! Invariant: `doc` is the current entry of the decoded block (or [`END_DOC`]); the shallow
//! block pointer never trails the decoded block. A block that fails to decode (possible only
//! for an image that skipped validation) ends the list instead of panicking.

use bitpacking::{BitPacker, BitPacker4x};

use super::{BLOCK_LEN, BlockMeta, FrozenList, FrozenPostings, MutableList};

/// The document id of an exhausted cursor.
pub(crate) const END_DOC: u32 = u32::MAX;

/// A posting list in either store.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ListRef<'a> {
    Mutable(&'a MutableList),
    Frozen(&'a FrozenPostings, FrozenList),
}

impl<'a> ListRef<'a> {
    /// Calls `f(max_tf, min_len)` for block summaries that include every undominated one
    /// (the stored frontier of a long frozen list, else every block): the largest BM25 bound
    /// among them is the list's bound.
    pub(crate) fn for_each_summary(&self, mut f: impl FnMut(u32, u32)) {
        if let ListRef::Frozen(store, list) = *self
            && let Some(pairs) = store.frontiers.get(&list.first_block)
        {
            pairs.iter().for_each(|&(tf, len)| f(tf, len));
            return;
        }
        self.blocks().iter().for_each(|b| f(b.max_tf, b.min_len));
    }

    /// The list's block table.
    pub(crate) fn blocks(&self) -> &'a [BlockMeta] {
        match *self {
            ListRef::Mutable(list) => &list.blocks,
            ListRef::Frozen(store, list) => {
                let start = list.first_block as usize;
                store
                    .blocks
                    .get(start..start + list.block_count as usize)
                    .unwrap_or(&[])
            }
        }
    }
}

/// Iterates one posting list.
pub(crate) struct PostingCursor<'a> {
    list: ListRef<'a>,
    blocks: &'a [BlockMeta],
    packer: BitPacker4x,
    /// Shallow block pointer.
    block: usize,
    /// Block currently in `docs`/`tfs`.
    decoded: usize,
    idx: usize,
    len: usize,
    doc: u32,
    docs: [u32; BLOCK_LEN],
    tfs: [u32; BLOCK_LEN],
    lens: [u32; BLOCK_LEN],
    /// Where the positions of entry `.0` of the decoded block start in the frozen position
    /// stream (so reading positions entry after entry is linear, not quadratic).
    pos_mark: std::cell::Cell<(usize, usize)>,
    /// The cursor stands lazily on block `block` (not decoded yet) and `doc` is only a lower
    /// bound of its next entry (see [`PostingCursor::advance_lazy`]).
    pending: bool,
    /// Blocks decoded so far.
    pub(crate) blocks_decoded: u64,
    /// Blocks passed over by shallow seeks without decoding.
    pub(crate) blocks_skipped: u64,
    /// Entries stepped over or landed on.
    pub(crate) postings_scanned: u64,
}

impl std::fmt::Debug for PostingCursor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostingCursor")
            .field("block", &self.block)
            .field("doc", &self.doc)
            .finish_non_exhaustive()
    }
}

impl<'a> PostingCursor<'a> {
    /// A cursor on the list's first document.
    pub(crate) fn new(list: ListRef<'a>) -> Self {
        let mut cursor = PostingCursor {
            list,
            blocks: list.blocks(),
            packer: BitPacker4x::new(),
            block: 0,
            decoded: 0,
            idx: 0,
            len: 0,
            doc: END_DOC,
            docs: [0; BLOCK_LEN],
            tfs: [0; BLOCK_LEN],
            lens: [0; BLOCK_LEN],
            pos_mark: std::cell::Cell::new((0, 0)),
            pending: false,
            blocks_decoded: 0,
            blocks_skipped: 0,
            postings_scanned: 0,
        };
        cursor.load(0);
        cursor
    }

    /// The list's block table.
    pub(crate) fn blocks(&self) -> &'a [BlockMeta] {
        self.blocks
    }

    /// Decodes block `b` and lands on its first entry (or ends the list).
    fn load(&mut self, b: usize) {
        self.pending = false;
        self.block = b;
        self.decoded = b;
        self.idx = 0;
        if b >= self.blocks.len() {
            self.len = 0;
            self.doc = END_DOC;
            return;
        }
        self.blocks_decoded += 1;
        self.pos_mark.set((0, self.blocks[b].pos_offset as usize));
        let n = match self.list {
            ListRef::Mutable(list) => {
                let start = b * BLOCK_LEN;
                let end = (start + BLOCK_LEN).min(list.docs.len());
                let n = end.saturating_sub(start);
                self.docs[..n].copy_from_slice(&list.docs[start..end]);
                self.tfs[..n].copy_from_slice(&list.tfs[start..end]);
                self.lens[..n].copy_from_slice(&list.lens[start..end]);
                Some(n)
            }
            ListRef::Frozen(store, list) => store.decode_block(
                &self.packer,
                list,
                b,
                &mut self.docs,
                &mut self.tfs,
                &mut self.lens,
            ),
        };
        match n {
            Some(n) if n > 0 => {
                self.len = n;
                self.doc = self.docs[0];
                self.postings_scanned += 1;
            }
            _ => {
                self.block = self.blocks.len();
                self.decoded = self.block;
                self.len = 0;
                self.doc = END_DOC;
            }
        }
    }

    /// Current document ([`END_DOC`] when exhausted).
    #[inline]
    pub(crate) fn doc(&self) -> u32 {
        self.doc
    }

    /// Term frequency in the current document.
    #[inline]
    pub(crate) fn tf(&self) -> u32 {
        self.tfs[self.idx.min(BLOCK_LEN - 1)]
    }

    /// The field's length in the current document.
    #[inline]
    pub(crate) fn field_len(&self) -> u32 {
        self.lens[self.idx.min(BLOCK_LEN - 1)]
    }

    /// Moves to the next document.
    #[inline]
    pub(crate) fn next(&mut self) {
        if self.doc == END_DOC {
            return;
        }
        self.idx += 1;
        if self.idx < self.len {
            self.doc = self.docs[self.idx];
            self.postings_scanned += 1;
        } else {
            self.load(self.decoded + 1);
        }
    }

    /// Moves the block pointer to the first block whose last document is `>= target`,
    /// without decoding. Returns that block's index, or `None` past the end.
    #[inline]
    pub(crate) fn shallow_seek(&mut self, target: u32) -> Option<usize> {
        while let Some(meta) = self.blocks.get(self.block) {
            if meta.last_doc >= target {
                return Some(self.block);
            }
            self.block += 1;
            self.blocks_skipped += 1;
        }
        None
    }

    /// Moves to the first document `>= target`.
    #[inline]
    pub(crate) fn seek(&mut self, target: u32) {
        if self.doc >= target {
            return;
        }
        if self.shallow_seek(target).is_none() {
            self.block = self.blocks.len();
            self.doc = END_DOC;
            return;
        }
        if self.block != self.decoded {
            // Blocks passed over by the shallow seek were counted as skipped; the one landed
            // on is decoded instead.
            self.blocks_skipped = self.blocks_skipped.saturating_sub(1);
            self.load(self.block);
            if self.doc >= target {
                return;
            }
        }
        let rest = &self.docs[self.idx..self.len];
        let step = rest.partition_point(|&d| d < target);
        self.postings_scanned += 1;
        self.idx += step;
        if self.idx < self.len {
            self.doc = self.docs[self.idx];
        } else {
            self.load(self.decoded + 1);
        }
    }

    /// The bound summary of the block the cursor stands on (decoded or lazily), with its
    /// index; `None` when exhausted.
    #[inline]
    pub(crate) fn current_block(&self) -> Option<(usize, &'a BlockMeta)> {
        let b = if self.pending {
            self.block
        } else {
            self.decoded
        };
        if self.doc == END_DOC {
            return None;
        }
        self.blocks.get(b).map(|meta| (b, meta))
    }

    /// Moves to the first entry `>= target`, decoding nothing: inside the decoded block it
    /// steps there; past it, only the block pointer moves and the cursor becomes lazy (its
    /// `doc()` is then a lower bound of the next entry until [`PostingCursor::materialize`]).
    /// For the window scorer, which never reads `tf()` of a lazy cursor.
    pub(crate) fn advance_lazy(&mut self, target: u32) {
        if self.doc >= target || self.doc == END_DOC {
            return;
        }
        if !self.pending {
            if self
                .blocks
                .get(self.decoded)
                .is_some_and(|m| m.last_doc >= target)
            {
                let rest = &self.docs[self.idx..self.len];
                self.idx += rest.partition_point(|&d| d < target);
                self.postings_scanned += 1;
                if self.idx < self.len {
                    self.doc = self.docs[self.idx];
                    return;
                }
            }
            // Leaving the decoded block: the shallow seek below counts it as skipped.
            self.block = self.decoded;
            self.blocks_skipped = self.blocks_skipped.saturating_sub(1);
        }
        match self.shallow_seek(target) {
            Some(b) => {
                self.pending = true;
                let after_previous = match b.checked_sub(1).and_then(|p| self.blocks.get(p)) {
                    Some(prev) => prev.last_doc.saturating_add(1),
                    None => 0,
                };
                self.doc = target.max(after_previous);
            }
            None => {
                self.pending = false;
                self.block = self.blocks.len();
                self.decoded = self.block;
                self.len = 0;
                self.doc = END_DOC;
            }
        }
    }

    /// Decodes the block a lazy cursor stands on and lands on its first entry `>=` the
    /// target it was advanced to; a decoded cursor is unchanged.
    pub(crate) fn materialize(&mut self) {
        if !self.pending {
            return;
        }
        let target = self.doc;
        self.load(self.block);
        if self.doc < target {
            let rest = &self.docs[self.idx..self.len];
            self.idx += rest.partition_point(|&d| d < target);
            if self.idx < self.len {
                self.doc = self.docs[self.idx];
            } else {
                // Cannot happen for a block chosen by its last document; end the block safely.
                self.advance_past_block();
            }
        }
    }

    /// Calls `f(doc, tf, field_len)` for every entry before `end`, in order; afterwards the
    /// cursor stands on the first entry `>= end`, lazily when that is in a later block.
    #[inline]
    pub(crate) fn drain_before(&mut self, end: u32, mut f: impl FnMut(u32, u32, u32)) {
        while self.doc < end {
            self.materialize();
            let start = self.idx;
            let mut i = start;
            while i < self.len && self.docs[i] < end {
                f(self.docs[i], self.tfs[i], self.lens[i]);
                i += 1;
            }
            // Counted like `next`: each entry landed on once (the first one was, when the
            // cursor got there).
            if i < self.len {
                self.postings_scanned += (i - start) as u64;
                self.idx = i;
                self.doc = self.docs[i];
                return;
            }
            self.postings_scanned += (i - start).saturating_sub(1) as u64;
            self.advance_past_block();
        }
    }

    /// Leaves the decoded block: lazily onto the next one, or to the end.
    fn advance_past_block(&mut self) {
        let next = self.decoded + 1;
        match (self.blocks.get(self.decoded), self.blocks.get(next)) {
            (Some(done), Some(_)) => {
                self.block = next;
                self.pending = true;
                self.doc = done.last_doc.saturating_add(1);
            }
            _ => {
                self.pending = false;
                self.block = self.blocks.len();
                self.decoded = self.block;
                self.len = 0;
                self.doc = END_DOC;
            }
        }
    }

    /// The positions of the current document, into `out` (empty when they do not decode).
    pub(crate) fn positions(&self, out: &mut Vec<u32>) {
        out.clear();
        if self.doc == END_DOC {
            return;
        }
        match self.list {
            ListRef::Mutable(list) => {
                let entry = self.decoded * BLOCK_LEN + self.idx;
                if let (Some(&start), Some(&tf)) = (list.pos_starts.get(entry), list.tfs.get(entry))
                {
                    let start = start as usize;
                    if let Some(p) = list.positions.get(start..start + tf as usize) {
                        out.extend_from_slice(p);
                    }
                }
            }
            ListRef::Frozen(store, _) => {
                let (mut from_idx, mut from_at) = self.pos_mark.get();
                if from_idx > self.idx {
                    from_idx = 0;
                    from_at = self.blocks[self.decoded].pos_offset as usize;
                }
                let skip = &self.tfs[from_idx..self.idx];
                match store.decode_positions(from_at, skip, self.tf(), out) {
                    Some(end) => self.pos_mark.set((self.idx + 1, end)),
                    None => out.clear(),
                }
            }
        }
    }
}
