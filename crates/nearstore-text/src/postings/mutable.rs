//! The growable posting list of the segment being written.
//!
//! Invariant: documents are pushed in strictly increasing order (the segment assigns local
//! ids in insertion order), so the list and its block metadata stay sorted without work.
//!
//! Each vector keeps its first element inline: most terms of a collection of short payloads
//! (names, ids) occur in one document, and such a list then costs no allocation at all.

use smallvec::SmallVec;

use super::{BLOCK_LEN, BlockMeta};

/// Plain vectors: documents, frequencies, and each entry's positions.
#[derive(Debug, Clone, Default)]
pub(crate) struct MutableList {
    pub(crate) docs: SmallVec<[u32; 1]>,
    pub(crate) tfs: SmallVec<[u32; 1]>,
    /// The field's length in each entry's document (scores need it next to the tf).
    pub(crate) lens: SmallVec<[u32; 1]>,
    /// Entry i's positions are `positions[pos_starts[i]..pos_starts[i] + tfs[i]]`.
    pub(crate) pos_starts: SmallVec<[u32; 1]>,
    pub(crate) positions: SmallVec<[u32; 1]>,
    pub(crate) blocks: SmallVec<[BlockMeta; 1]>,
}

impl MutableList {
    /// Appends a document (larger than every document already in the list).
    pub(crate) fn push(&mut self, doc: u32, positions: &[u32], field_len: u32) {
        debug_assert!(self.docs.last().is_none_or(|&d| d < doc));
        let tf = positions.len() as u32;
        if self.docs.len().is_multiple_of(BLOCK_LEN) {
            self.blocks.push(BlockMeta {
                last_doc: doc,
                max_tf: tf,
                min_len: field_len,
                doc_offset: 0,
                pos_offset: 0,
            });
        } else if let Some(block) = self.blocks.last_mut() {
            block.last_doc = doc;
            block.max_tf = block.max_tf.max(tf);
            block.min_len = block.min_len.min(field_len);
        }
        self.docs.push(doc);
        self.tfs.push(tf);
        self.lens.push(field_len);
        self.pos_starts.push(self.positions.len() as u32);
        self.positions.extend_from_slice(positions);
    }

    /// Empties the list, keeping its buffers (a merge reuses one list for every term).
    pub(crate) fn clear(&mut self) {
        self.docs.clear();
        self.tfs.clear();
        self.lens.clear();
        self.pos_starts.clear();
        self.positions.clear();
        self.blocks.clear();
    }

    /// Number of documents.
    pub(crate) fn len(&self) -> usize {
        self.docs.len()
    }

    /// Heap bytes held beyond the list itself (for memory accounting).
    pub(crate) fn heap_bytes(&self) -> usize {
        fn spilled<A: smallvec::Array>(v: &SmallVec<A>) -> usize {
            if v.spilled() {
                v.capacity() * size_of::<A::Item>()
            } else {
                0
            }
        }
        spilled(&self.docs)
            + spilled(&self.tfs)
            + spilled(&self.lens)
            + spilled(&self.pos_starts)
            + spilled(&self.positions)
            + spilled(&self.blocks)
    }
}
