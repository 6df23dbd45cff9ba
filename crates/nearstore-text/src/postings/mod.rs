//! Posting lists: for each term, the documents (segment-local ids, increasing) that contain
//! it, with the term frequency and the positions in each, grouped in blocks of
//! [`BLOCK_LEN`] documents that each carry a score bound.
//!
//! Two stores share one block layout and one cursor: [`MutableList`] (plain vectors, the
//! segment being written) and [`FrozenPostings`] (bit-packed blocks, sealed segments and the
//! persisted image). A block's bound is `(max_tf, min_len)`: BM25 grows with the term
//! frequency and falls with the field length, so the score of that pair bounds every
//! document of the block for any k1, b, idf and average length (the bound stays valid while
//! the collection statistics change under deletes).
//!
//! Owns no statistics and no documents; depends on `bitpacking` only.

mod cursor;
mod frozen;
mod mutable;

pub(crate) use cursor::{END_DOC, ListRef, PostingCursor};
pub(crate) use frozen::{FrozenBuilder, FrozenList, FrozenPostings};
pub(crate) use mutable::MutableList;

/// Documents per block (the bit-packer's block length).
pub(crate) const BLOCK_LEN: usize = 128;

/// One block's skip entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BlockMeta {
    /// The block's last (largest) document.
    pub(crate) last_doc: u32,
    /// Largest term frequency in the block.
    pub(crate) max_tf: u32,
    /// Smallest field length among the block's documents.
    pub(crate) min_len: u32,
    /// Where the block's documents and frequencies start (frozen store only).
    pub(crate) doc_offset: u32,
    /// Where the block's positions start (frozen store only).
    pub(crate) pos_offset: u32,
}

/// Appends `value` as LEB128.
pub(crate) fn write_vint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads one LEB128 value at `*at`, advancing it; `None` when truncated or over 32 bits.
pub(crate) fn read_vint(bytes: &[u8], at: &mut usize) -> Option<u32> {
    let mut value: u32 = 0;
    for shift in [0u32, 7, 14, 21, 28] {
        let byte = *bytes.get(*at)?;
        *at += 1;
        let part = u32::from(byte & 0x7f);
        if shift == 28 && part > 0x0f {
            return None;
        }
        value |= part << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vint_round_trips_and_rejects_overlong() {
        let values = [0u32, 1, 127, 128, 300, 1 << 21, u32::MAX];
        let mut bytes = Vec::new();
        values.iter().for_each(|&v| write_vint(&mut bytes, v));
        let mut at = 0;
        for &v in &values {
            assert_eq!(read_vint(&bytes, &mut at), Some(v));
        }
        assert_eq!(read_vint(&bytes, &mut at), None);
        assert_eq!(read_vint(&[0xff, 0xff, 0xff, 0xff, 0x7f], &mut 0), None);
        assert_eq!(read_vint(&[0x80], &mut 0), None);
    }
}
