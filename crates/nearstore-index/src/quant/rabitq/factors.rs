//! The per-vector correction factors stored after each code, packed in words (memory) or
//! little-endian bytes (checkpoints).

use super::{FACTOR_BYTES, FACTOR_BYTES_V1, FACTOR_WORDS};

/// The per-vector correction factors of a code.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Factors {
    /// `2 r / (√P ⟨x̄, o_r⟩)`: scales the code's raw product into the estimate.
    pub scale: f32,
    /// `popcount(x_b)`; for an extended code the sum of its values `Σ x_u`.
    pub popcount: f32,
    /// `r ε₀ √(1/⟨x̄,o_r⟩² - 1) / √(P - 1)`: the error bound per unit of `|q - c|`.
    pub error: f32,
    /// `r²` (L2) or `⟨c, o⟩ - |c|²` (inner product), `c` the vector's list centroid.
    pub add: f32,
    /// The list (local centroid) the code is relative to (0 without lists).
    pub list: u32,
    /// `(√P / 2) ⟨x̄, R (c_j - c)⟩`: what the list's offset from the global centroid
    /// contributes to the code's product with the query (0 without lists).
    pub shift: f32,
}

impl Factors {
    /// The factors of a vector whose estimate is exactly its constant terms (at its centre,
    /// or a degenerate code): scale and error bound 0.
    pub(super) fn exact_zero(popcount: f32, add: f32, list: u32, shift: f32) -> Self {
        Factors {
            scale: 0.0,
            popcount,
            error: 0.0,
            add,
            list,
            shift,
        }
    }

    /// The factors in [`FACTOR_WORDS`] words (stored after the code).
    #[inline]
    pub fn pack(self) -> [u64; FACTOR_WORDS] {
        let word = |a: u32, b: u32| u64::from(a) | u64::from(b) << 32;
        [
            word(self.scale.to_bits(), self.popcount.to_bits()),
            word(self.error.to_bits(), self.add.to_bits()),
            word(self.list, self.shift.to_bits()),
        ]
    }

    /// Reads [`Factors::pack`].
    #[inline]
    pub fn unpack(w: [u64; FACTOR_WORDS]) -> Self {
        let lo = |x: u64| f32::from_bits(x as u32);
        let hi = |x: u64| f32::from_bits((x >> 32) as u32);
        Factors {
            scale: lo(w[0]),
            popcount: hi(w[0]),
            error: lo(w[1]),
            add: hi(w[1]),
            list: w[2] as u32,
            shift: hi(w[2]),
        }
    }

    /// Little-endian bytes ([`FACTOR_BYTES`]).
    pub fn to_bytes(self) -> [u8; FACTOR_BYTES] {
        let mut out = [0u8; FACTOR_BYTES];
        let words = [
            self.scale.to_bits(),
            self.popcount.to_bits(),
            self.error.to_bits(),
            self.add.to_bits(),
            self.list,
            self.shift.to_bits(),
        ];
        for (o, x) in out.chunks_exact_mut(4).zip(words) {
            o.copy_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// Reads [`Factors::to_bytes`] (or the [`FACTOR_BYTES_V1`] of an older checkpoint:
    /// list 0, no shift); `None` for a non-finite or impossible value (`max_sum` bounds the
    /// popcount, `lists` the list: 0 means no lists, so only list 0).
    pub fn from_bytes(b: &[u8], max_sum: usize, lists: usize) -> Option<Self> {
        if b.len() != FACTOR_BYTES && b.len() != FACTOR_BYTES_V1 {
            return None;
        }
        let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let at = |i: usize| f32::from_bits(word(i));
        let (list, shift) = if b.len() == FACTOR_BYTES {
            (word(16), at(20))
        } else {
            (0, 0.0)
        };
        let f = Factors {
            scale: at(0),
            popcount: at(4),
            error: at(8),
            add: at(12),
            list,
            shift,
        };
        let ok = [f.scale, f.popcount, f.error, f.add, f.shift]
            .iter()
            .all(|x| x.is_finite())
            && f.scale >= 0.0
            && f.error >= 0.0
            && (0.0..=max_sum as f32).contains(&f.popcount)
            && (f.list as usize) < lists.max(1);
        ok.then_some(f)
    }
}
