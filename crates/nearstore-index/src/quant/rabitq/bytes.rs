//! The codebook's flat little-endian form (checkpoints) and its checked reader.

use super::{EX_BITS, LISTS_MAX, ROUNDS, RabitqCodebook};

/// Flag bit of a codebook whose byte after the flags gives its bits per coordinate (absent:
/// one bit, as every codebook written before extended codes).
const BITS_FOLLOW: u8 = 1 << 5;

impl RabitqCodebook {
    /// Flat little-endian form: `dim` (u32), the metric byte (bit 0: L2; bits 1-4: `log2`
    /// of `P` over the smallest `P` of `dim`, 0 in codebooks written before
    /// [`MIN_CODE_BITS`]; bit 5: a byte of bits per coordinate follows, set only for
    /// extended codes), the centroid, the signs as bits (`ROUNDS * P / 8` bytes), then,
    /// when there are local centroids, their count (u32) and their values.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.dim() as u32).to_le_bytes());
        let growth = (self.padded / Self::legacy_padded_dim(self.dim())).trailing_zeros();
        let ex = if self.bits != 1 { BITS_FOLLOW } else { 0 };
        out.push(u8::from(self.l2) | (growth as u8) << 1 | ex);
        if self.bits != 1 {
            out.push(self.bits);
        }
        for c in &self.centroid {
            out.extend_from_slice(&c.to_le_bytes());
        }
        for chunk in self.signs.chunks(8) {
            let mut b = 0u8;
            for (i, s) in chunk.iter().enumerate() {
                if *s > 0.0 {
                    b |= 1 << i;
                }
            }
            out.push(b);
        }
        if !self.lists.is_empty() {
            out.extend_from_slice(&(self.list_count() as u32).to_le_bytes());
            for c in &self.lists {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out
    }

    /// Reads [`RabitqCodebook::to_bytes`]; `None` unless it is exactly a codebook of `dim`
    /// finite values (the length is checked before anything is allocated).
    pub fn from_bytes(dim: usize, bytes: &[u8]) -> Option<Self> {
        let flags = *bytes.get(4)?;
        if flags >> 6 != 0 {
            return None;
        }
        let (bits, header) = if flags & BITS_FOLLOW != 0 {
            (*bytes.get(5)?, 6usize)
        } else {
            (1, 5)
        };
        // At most 2^15 times the smallest `P`: a damaged byte cannot ask for a huge rotation.
        let padded = Self::legacy_padded_dim(dim).checked_shl(u32::from(flags >> 1 & 0xf))?;
        // Extended codes: only the one width, over whole chunks of the nibble layout.
        // (A flagged width is never 1: 1-bit codebooks carry no bits byte.)
        if flags & BITS_FOLLOW != 0 && (bits != EX_BITS || padded < Self::ex_padded_dim(dim)) {
            return None;
        }
        let want = header
            .checked_add(dim.checked_mul(4)?)?
            .checked_add(padded.checked_mul(ROUNDS)? / 8)?;
        if bytes.len() < want || u32::from_le_bytes(bytes[..4].try_into().ok()?) as usize != dim {
            return None;
        }
        let (bytes, tail) = bytes.split_at(want);
        let lists: Vec<f32> = if tail.is_empty() {
            Vec::new()
        } else {
            let count = u32::from_le_bytes(tail.get(..4)?.try_into().ok()?) as usize;
            if !(2..=LISTS_MAX).contains(&count) || tail.len() != 4 + count * dim * 4 {
                return None;
            }
            tail[4..]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        if lists.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let l2 = flags & 1 == 1;
        let centroid: Vec<f32> = bytes[header..header + dim * 4]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if centroid.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let signs = bytes[header + dim * 4..]
            .iter()
            .flat_map(|b| (0..8).map(move |i| if b >> i & 1 == 1 { 1.0 } else { -1.0 }))
            .collect();
        let mut book = RabitqCodebook {
            centroid,
            signs,
            l2,
            lists,
            rotated_lists: Vec::new(),
            scan: super::list_scan::ListScan::default(),
            padded,
            bits,
        };
        book.rotate_lists();
        Some(book)
    }
}
