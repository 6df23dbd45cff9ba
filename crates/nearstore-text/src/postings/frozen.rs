//! Bit-packed posting blocks: the sealed segments' store and the persisted form.
//!
//! Layout of one list (all lists of a segment share the byte arenas and the block table):
//! full blocks of [`BLOCK_LEN`] documents are `[doc bits: u8][tf bits: u8][len bits: u8]`
//! followed by the strictly-sorted delta-packed documents (initial = the previous block's last
//! document), the packed `tf - 1` and the packed field lengths, with
//! `bitpacking::BitPacker4x`; the last, partial block is LEB128 per entry (document delta
//! minus one, `tf - 1`, field length). The field length travels with each posting so scoring
//! reads only the decoded block, never a per-document table. Positions are LEB128 per entry, the first
//! absolute and the rest as deltas, in the `pos_bytes` arena from the block's `pos_offset`.
//!
//! Invariant (checked by [`FrozenPostings::validate`] before a decoded image is used): every
//! block decodes inside its arena, documents strictly increase and are below the segment's
//! document count, each block's `last_doc`, `max_tf` and `min_len` are exact, and every entry
//! has exactly `tf` strictly increasing positions. The cursor never indexes out of bounds even
//! without that check (it reports the list as exhausted instead).

use bitpacking::{BitPacker, BitPacker4x};
use rustc_hash::FxHashMap;

use super::{BLOCK_LEN, BlockMeta, MutableList, read_vint, write_vint};

/// Where one term's list lives in the segment's arenas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrozenList {
    pub(crate) first_block: u32,
    pub(crate) block_count: u32,
    pub(crate) doc_count: u32,
}

/// All posting lists of one sealed segment.
#[derive(Debug, Clone, Default)]
pub(crate) struct FrozenPostings {
    pub(crate) lists: FxHashMap<u32, FrozenList>,
    pub(crate) blocks: Vec<BlockMeta>,
    pub(crate) doc_bytes: Vec<u8>,
    pub(crate) pos_bytes: Vec<u8>,
    /// For lists of more than [`FRONTIER_MIN_BLOCKS`] blocks, keyed by their first block:
    /// the block summaries `(max_tf, min_len)` that no other block of the list dominates
    /// (higher or equal tf and shorter or equal length). The list's score bound is the
    /// largest bound among them for any BM25 parameters, so a search reads these few pairs
    /// instead of every block. Derived from the block table, never persisted.
    pub(crate) frontiers: FxHashMap<u32, Box<[(u32, u32)]>>,
}

/// Lists with at most this many blocks have no stored frontier (reading their blocks is as
/// cheap).
pub(crate) const FRONTIER_MIN_BLOCKS: u32 = 8;

/// The undominated `(max_tf, min_len)` summaries of `blocks`.
pub(crate) fn frontier(blocks: &[BlockMeta]) -> Vec<(u32, u32)> {
    let mut pairs: Vec<(u32, u32)> = blocks.iter().map(|b| (b.max_tf, b.min_len)).collect();
    // Highest tf first, then shortest length: a pair is kept when it is shorter than every
    // pair before it.
    pairs.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<(u32, u32)> = Vec::new();
    for p in pairs {
        if out.last().is_none_or(|last| p.1 < last.1) {
            out.push(p);
        }
    }
    out
}

/// Builds a [`FrozenPostings`] one list at a time (a merge packs each merged list as soon
/// as it is complete, from one reused [`MutableList`]).
pub(crate) struct FrozenBuilder {
    out: FrozenPostings,
    packer: BitPacker4x,
    packed: Vec<u8>,
    shifted: [u32; BLOCK_LEN],
}

impl FrozenBuilder {
    /// An empty store with room for `lists` lists.
    pub(crate) fn with_lists(lists: usize) -> Self {
        let mut out = FrozenPostings::default();
        out.lists.reserve(lists);
        FrozenBuilder {
            out,
            packer: BitPacker4x::new(),
            packed: vec![0u8; 4 * BLOCK_LEN + 8],
            shifted: [0u32; BLOCK_LEN],
        }
    }

    /// Packs `list` as `term`'s (an empty list is left out). Terms must come in increasing
    /// order for a deterministic image.
    pub(crate) fn push(&mut self, term: u32, list: &MutableList) {
        if list.len() == 0 {
            return;
        }
        let first_block = self.out.blocks.len() as u32;
        for (b, meta) in list.blocks.iter().enumerate() {
            let start = b * BLOCK_LEN;
            let end = (start + BLOCK_LEN).min(list.len());
            let docs = &list.docs[start..end];
            let tfs = &list.tfs[start..end];
            let lens = &list.lens[start..end];
            let prev = (b > 0).then(|| list.docs[start - 1]);
            let doc_offset = self.out.doc_bytes.len() as u32;
            let pos_offset = self.out.pos_bytes.len() as u32;
            if docs.len() == BLOCK_LEN {
                let doc_bits = self.packer.num_bits_strictly_sorted(prev, docs);
                for (s, &tf) in self.shifted.iter_mut().zip(tfs) {
                    *s = tf - 1;
                }
                let tf_bits = self.packer.num_bits(&self.shifted);
                let len_bits = self.packer.num_bits(lens);
                self.out.doc_bytes.push(doc_bits);
                self.out.doc_bytes.push(tf_bits);
                self.out.doc_bytes.push(len_bits);
                let n =
                    self.packer
                        .compress_strictly_sorted(prev, docs, &mut self.packed, doc_bits);
                self.out.doc_bytes.extend_from_slice(&self.packed[..n]);
                let n = self
                    .packer
                    .compress(&self.shifted, &mut self.packed, tf_bits);
                self.out.doc_bytes.extend_from_slice(&self.packed[..n]);
                let n = self.packer.compress(lens, &mut self.packed, len_bits);
                self.out.doc_bytes.extend_from_slice(&self.packed[..n]);
            } else {
                let mut last = prev;
                for ((&doc, &tf), &len) in docs.iter().zip(tfs).zip(lens) {
                    let delta = match last {
                        Some(p) => doc - p - 1,
                        None => doc,
                    };
                    write_vint(&mut self.out.doc_bytes, delta);
                    write_vint(&mut self.out.doc_bytes, tf - 1);
                    write_vint(&mut self.out.doc_bytes, len);
                    last = Some(doc);
                }
            }
            for i in start..end {
                let from = list.pos_starts[i] as usize;
                let entry = &list.positions[from..from + list.tfs[i] as usize];
                let mut prev_pos = 0;
                for (j, &p) in entry.iter().enumerate() {
                    write_vint(
                        &mut self.out.pos_bytes,
                        if j == 0 { p } else { p - prev_pos },
                    );
                    prev_pos = p;
                }
            }
            self.out.blocks.push(BlockMeta {
                doc_offset,
                pos_offset,
                ..*meta
            });
        }
        self.out.lists.insert(
            term,
            FrozenList {
                first_block,
                block_count: list.blocks.len() as u32,
                doc_count: list.len() as u32,
            },
        );
    }

    /// The finished store (frontiers derived).
    pub(crate) fn finish(mut self) -> FrozenPostings {
        self.out.build_frontiers();
        self.out
    }
}

impl FrozenList {
    /// Documents in block `b` of this list.
    pub(crate) fn block_len(&self, b: usize) -> usize {
        if b + 1 < self.block_count as usize {
            BLOCK_LEN
        } else {
            self.doc_count as usize - BLOCK_LEN * (self.block_count as usize).saturating_sub(1)
        }
    }
}

impl FrozenPostings {
    /// Derives the stored frontiers from the block table (after building or decoding).
    pub(crate) fn build_frontiers(&mut self) {
        self.frontiers.clear();
        for list in self.lists.values() {
            if list.block_count > FRONTIER_MIN_BLOCKS {
                let start = list.first_block as usize;
                if let Some(blocks) = self.blocks.get(start..start + list.block_count as usize) {
                    self.frontiers
                        .insert(list.first_block, frontier(blocks).into_boxed_slice());
                }
            }
        }
    }

    /// Packs mutable lists (sorted by term id for a deterministic image).
    pub(crate) fn freeze<'a>(lists: impl IntoIterator<Item = (u32, &'a MutableList)>) -> Self {
        let mut sorted: Vec<(u32, &MutableList)> = lists.into_iter().collect();
        sorted.sort_unstable_by_key(|&(t, _)| t);
        let mut out = FrozenBuilder::with_lists(sorted.len());
        for (term, list) in sorted {
            out.push(term, list);
        }
        out.finish()
    }

    /// Decodes block `b` of `list` into `docs`/`tfs`/`lens`; returns how many entries it holds, or
    /// `None` when the bytes do not decode (only possible for an unvalidated image).
    pub(crate) fn decode_block(
        &self,
        packer: &BitPacker4x,
        list: FrozenList,
        b: usize,
        docs: &mut [u32; BLOCK_LEN],
        tfs: &mut [u32; BLOCK_LEN],
        lens: &mut [u32; BLOCK_LEN],
    ) -> Option<usize> {
        let first = list.first_block as usize;
        let meta = self.blocks.get(first + b)?;
        let prev = if b == 0 {
            None
        } else {
            Some(self.blocks.get(first + b - 1)?.last_doc)
        };
        let n = list.block_len(b);
        let mut at = meta.doc_offset as usize;
        let bytes = &self.doc_bytes;
        if n == BLOCK_LEN {
            let doc_bits = *bytes.get(at)?;
            let tf_bits = *bytes.get(at + 1)?;
            let len_bits = *bytes.get(at + 2)?;
            if doc_bits > 32 || tf_bits > 32 || len_bits > 32 {
                return None;
            }
            at += 3;
            let doc_size = BitPacker4x::compressed_block_size(doc_bits);
            let tf_size = BitPacker4x::compressed_block_size(tf_bits);
            let len_size = BitPacker4x::compressed_block_size(len_bits);
            let doc_part = bytes.get(at..at + doc_size)?;
            at += doc_size;
            let tf_part = bytes.get(at..at + tf_size)?;
            at += tf_size;
            let len_part = bytes.get(at..at + len_size)?;
            packer.decompress_strictly_sorted(prev, doc_part, docs, doc_bits);
            packer.decompress(tf_part, tfs, tf_bits);
            packer.decompress(len_part, lens, len_bits);
            for tf in tfs.iter_mut() {
                *tf = tf.wrapping_add(1);
            }
        } else {
            let mut last = prev;
            for i in 0..n {
                let delta = read_vint(bytes, &mut at)?;
                let doc = match last {
                    Some(p) => p.checked_add(delta)?.checked_add(1)?,
                    None => delta,
                };
                docs[i] = doc;
                tfs[i] = read_vint(bytes, &mut at)?.checked_add(1)?;
                lens[i] = read_vint(bytes, &mut at)?;
                last = Some(doc);
            }
        }
        Some(n)
    }

    /// Decodes one entry's positions into `out`: the position stream is read from byte `at`,
    /// first skipping the entries whose frequencies are `skip`, then `tf` values. Returns the
    /// byte offset after the entry, or `None` when the bytes do not decode.
    pub(crate) fn decode_positions(
        &self,
        mut at: usize,
        skip: &[u32],
        tf: u32,
        out: &mut Vec<u32>,
    ) -> Option<usize> {
        out.clear();
        let bytes = &self.pos_bytes;
        for &n in skip {
            for _ in 0..n {
                read_vint(bytes, &mut at)?;
            }
        }
        let mut pos = 0u32;
        for j in 0..tf {
            let v = read_vint(bytes, &mut at)?;
            pos = if j == 0 { v } else { pos.checked_add(v)? };
            out.push(pos);
        }
        Some(at)
    }

    /// Checks the invariant in the module docs; `Err(reason)` names the first violation.
    /// `field_len(doc)` is the length of the list's field in `doc`.
    pub(crate) fn validate_list(
        &self,
        term: u32,
        list: FrozenList,
        doc_count: u32,
        field_len: &dyn Fn(u32) -> u32,
        on_doc: &mut dyn FnMut(u32),
    ) -> Result<(), String> {
        let expected_blocks = (list.doc_count as usize).div_ceil(BLOCK_LEN);
        if list.doc_count == 0 || list.block_count as usize != expected_blocks {
            return Err(format!(
                "term {term}: {} documents in {} blocks",
                list.doc_count, list.block_count
            ));
        }
        if list.first_block as usize + list.block_count as usize > self.blocks.len() {
            return Err(format!("term {term}: block range past the block table"));
        }
        let packer = BitPacker4x::new();
        let mut docs = [0u32; BLOCK_LEN];
        let mut tfs = [0u32; BLOCK_LEN];
        let mut lens = [0u32; BLOCK_LEN];
        let mut last: Option<u32> = None;
        for b in 0..list.block_count as usize {
            let n = self
                .decode_block(&packer, list, b, &mut docs, &mut tfs, &mut lens)
                .ok_or_else(|| format!("term {term}: block {b} does not decode"))?;
            let meta = self.blocks[list.first_block as usize + b];
            let (mut max_tf, mut min_len) = (0u32, u32::MAX);
            for i in 0..n {
                if last.is_some_and(|l| docs[i] <= l) || docs[i] >= doc_count {
                    return Err(format!("term {term}: document order broken in block {b}"));
                }
                if tfs[i] == 0 {
                    return Err(format!("term {term}: zero frequency in block {b}"));
                }
                if lens[i] != field_len(docs[i]) {
                    return Err(format!("term {term}: field length disagrees in block {b}"));
                }
                last = Some(docs[i]);
                on_doc(docs[i]);
                max_tf = max_tf.max(tfs[i]);
                min_len = min_len.min(lens[i]);
            }
            let mut at = meta.pos_offset as usize;
            for &tf in &tfs[..n] {
                let mut prev: Option<u32> = None;
                for _ in 0..tf {
                    let v = read_vint(&self.pos_bytes, &mut at);
                    let pos = match (prev, v) {
                        (_, None) => None,
                        (None, Some(v)) => Some(v),
                        (Some(p), Some(v)) if v > 0 => p.checked_add(v),
                        (Some(_), Some(_)) => None,
                    };
                    if pos.is_none() {
                        return Err(format!("term {term}: bad positions in block {b}"));
                    }
                    prev = pos;
                }
            }
            if Some(meta.last_doc) != last || meta.max_tf != max_tf || meta.min_len != min_len {
                return Err(format!(
                    "term {term}: block {b} summary disagrees with its data"
                ));
            }
        }
        Ok(())
    }

    /// Bytes held (for memory accounting).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.doc_bytes.capacity()
            + self.pos_bytes.capacity()
            + self.blocks.capacity() * size_of::<BlockMeta>()
            + self.lists.capacity() * (size_of::<u32>() + size_of::<FrozenList>())
            + self
                .frontiers
                .values()
                .map(|f| f.len() * 8 + 24)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(max_tf: u32, min_len: u32) -> BlockMeta {
        BlockMeta {
            max_tf,
            min_len,
            ..BlockMeta::default()
        }
    }

    #[test]
    fn frontier_keeps_exactly_the_undominated_summaries() {
        let blocks = [
            meta(3, 10),
            meta(5, 20),
            meta(2, 5),
            meta(5, 30),
            meta(1, 5),
            meta(4, 10),
        ];
        let mut got = frontier(&blocks);
        got.sort_unstable();
        assert_eq!(got, [(2, 5), (4, 10), (5, 20)]);
        // Every block is dominated by a frontier pair.
        for b in &blocks {
            assert!(
                got.iter()
                    .any(|&(tf, len)| tf >= b.max_tf && len <= b.min_len)
            );
        }
    }
}
