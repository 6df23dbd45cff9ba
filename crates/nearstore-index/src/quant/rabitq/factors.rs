//! The per-vector correction factors of a code: as encoding computes them ([`Factors`],
//! also the form of checkpoints written before [`Folded`]), and folded for one metric into
//! the two words stored after each code and the [`FOLDED_BYTES`] of a checkpoint.

use super::{FACTOR_BYTES, FACTOR_BYTES_V1, FACTOR_WORDS, FOLDED_BYTES, RabitqCodebook};

/// `words` as little-endian bytes, one after the other (`B` = 4 x the words).
fn le_words<const W: usize, const B: usize>(words: [u32; W]) -> [u8; B] {
    const { assert!(B == 4 * W) };
    let mut out = [0u8; B];
    for (o, x) in out.chunks_exact_mut(4).zip(words) {
        o.copy_from_slice(&x.to_le_bytes());
    }
    out
}

/// The little-endian word at byte `i` of `b` (the caller has checked the length).
fn word_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

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

    /// Little-endian bytes ([`FACTOR_BYTES`]): the factor section of checkpoints written
    /// before the factors were folded (only tests write it now, to read it back).
    #[cfg(test)]
    pub fn to_bytes(self) -> [u8; FACTOR_BYTES] {
        le_words([
            self.scale.to_bits(),
            self.popcount.to_bits(),
            self.error.to_bits(),
            self.add.to_bits(),
            self.list,
            self.shift.to_bits(),
        ])
    }

    /// Reads [`Factors::to_bytes`] (or the [`FACTOR_BYTES_V1`] of an older checkpoint:
    /// list 0, no shift); `None` for a non-finite or impossible value (`max_sum` bounds the
    /// popcount, `lists` the list: 0 means no lists, so only list 0).
    pub fn from_bytes(b: &[u8], max_sum: usize, lists: usize) -> Option<Self> {
        if b.len() != FACTOR_BYTES && b.len() != FACTOR_BYTES_V1 {
            return None;
        }
        let (word, at) = (|i| word_at(b, i), |i| f32::from_bits(word_at(b, i)));
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

/// [`Factors`] folded for one metric, as the estimator reads them. With `ip' = scale (δ raw -
/// half_sum) + low (scale popcount)` (`δ`, `low`, `half_sum` the query's, `raw` the code's
/// product with it), the estimate is `base + constant - 2 ip'` (L2) or `-(ip' + base +
/// constant)` (inner product), `base` the query's term for the list: the list's shift is
/// folded into `constant` (`add + 2 scale shift` for L2, `add - scale shift` for inner
/// product), so a block is the code and [`FACTOR_WORDS`] words (80 bytes at 128-d, exactly
/// two cache lines, where unfolded factors made 88 bytes, a third line for a quarter of the
/// blocks).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Folded {
    /// [`Factors::scale`].
    pub scale: f32,
    /// `scale x popcount`.
    pub scaled_sum: f32,
    /// `add` with the list's shift folded in (see the type's docs).
    pub constant: f32,
    /// [`Factors::error`], rounded up to a bfloat16 (it is stored in 16 bits beside the
    /// list; rounding up keeps it a bound).
    pub error: f32,
    /// [`Factors::list`] (below [`super::LISTS_MAX`], so 16 bits in memory).
    pub list: u32,
}

// A list fits the 16 bits `Folded::pack` gives it.
const _: () = assert!(super::LISTS_MAX <= 1 << 16);

/// `x` (non-negative) rounded up to the nearest bfloat16, as its top 16 bits; the largest
/// finite bfloat16 for anything above it, 0 for anything not positive.
fn bf16_up(x: f32) -> u32 {
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    let bits = x.to_bits();
    let up = (bits >> 16) + u32::from(bits & 0xffff != 0);
    // 0x7f80 is infinity: stay at the largest finite value.
    up.min(0x7f7f)
}

/// `x` with infinities as the largest finite value of their sign and NaN as 0.
fn saturated(x: f32) -> f32 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(f32::MIN, f32::MAX)
    }
}

impl Folded {
    /// `f` folded for L2 (`l2`) or inner product. Always [`Folded::is_possible`]: input is
    /// only checked to be finite, and the squares of a vector of huge magnitude (around
    /// 1e19) overflow `f32`, so a value that overflowed saturates to the largest finite one
    /// (NaN, from infinities meeting, to 0) and the error bound then says nothing (the
    /// largest bfloat16): such an estimate is never trusted to skip rescoring, and the
    /// checkpoint holding it still loads.
    pub fn of(f: Factors, l2: bool) -> Self {
        let shifted = f.scale * f.shift;
        let constant = if l2 {
            f.add + 2.0 * shifted
        } else {
            f.add - shifted
        };
        let scaled_sum = f.scale * f.popcount;
        let overflowed = [f.scale, f.error, constant, scaled_sum]
            .iter()
            .any(|x| !x.is_finite());
        let error = if overflowed { f32::MAX } else { f.error };
        Folded {
            scale: saturated(f.scale).max(0.0),
            scaled_sum: saturated(scaled_sum).max(0.0),
            constant: saturated(constant),
            error: f32::from_bits(bf16_up(error) << 16),
            list: f.list,
        }
    }

    /// The [`FACTOR_WORDS`] words stored after the code.
    #[inline]
    pub fn pack(self) -> [u64; FACTOR_WORDS] {
        let word = |a: u32, b: u32| u64::from(a) | u64::from(b) << 32;
        [
            word(self.scale.to_bits(), self.scaled_sum.to_bits()),
            word(
                self.constant.to_bits(),
                (self.list & 0xffff) | bf16_up(self.error) << 16,
            ),
        ]
    }

    /// Reads [`Folded::pack`].
    #[inline]
    pub fn unpack(w: [u64; FACTOR_WORDS]) -> Self {
        let lo = |x: u64| f32::from_bits(x as u32);
        let hi = |x: u64| f32::from_bits((x >> 32) as u32);
        Folded {
            scale: lo(w[0]),
            scaled_sum: hi(w[0]),
            constant: lo(w[1]),
            error: f32::from_bits(((w[1] >> 48) as u32) << 16),
            list: (w[1] >> 32) as u32 & 0xffff,
        }
    }

    /// Little-endian bytes ([`FOLDED_BYTES`]).
    pub fn to_bytes(self) -> [u8; FOLDED_BYTES] {
        le_words([
            self.scale.to_bits(),
            self.scaled_sum.to_bits(),
            self.constant.to_bits(),
            self.error.to_bits(),
            self.list,
        ])
    }

    /// Reads [`Folded::to_bytes`]; `None` for a non-finite or impossible value (`max_sum`
    /// bounds the code's sum, so `0 <= scaled_sum <= scale max_sum`; `lists` the list: 0
    /// means no lists, so only list 0) or an error bound that is not a bfloat16.
    pub fn from_bytes(b: &[u8], max_sum: usize, lists: usize) -> Option<Self> {
        if b.len() != FOLDED_BYTES {
            return None;
        }
        let at = |i| f32::from_bits(word_at(b, i));
        let f = Folded {
            scale: at(0),
            scaled_sum: at(4),
            constant: at(8),
            error: at(12),
            list: word_at(b, 16),
        };
        f.is_possible(max_sum, lists).then_some(f)
    }

    /// Whether these factors could have come from encoding: all finite, `scale` and
    /// `error` not negative, the error a bfloat16, `0 <= scaled_sum <= scale max_sum`
    /// (`max_sum` bounds the code's sum) and the list below `lists` (0: no lists, so only
    /// list 0). Factors that fail it are never held: [`Folded::of`] of factors that pass
    /// [`Factors::from_bytes`]'s checks (as encoding makes them) always passes it, what
    /// overflows saturating, so a checkpoint holding folded factors that fail it is damaged.
    pub fn is_possible(&self, max_sum: usize, lists: usize) -> bool {
        [self.scale, self.scaled_sum, self.constant, self.error]
            .iter()
            .all(|x| x.is_finite())
            && self.scale >= 0.0
            && self.error >= 0.0
            && self.error.to_bits() & 0xffff == 0
            && (0.0..=self.scale * max_sum as f32).contains(&self.scaled_sum)
            && (self.list as usize) < lists.max(1)
    }
}

/// Why a checkpoint's factor section was refused ([`RabitqCodebook::read_factors`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorsDamage {
    /// Not `n` slots of any known factor size.
    Size,
    /// Factors from before local centroids in a codebook with lists.
    NoLists,
    /// The first slot whose factors are impossible.
    Slot(usize),
}

impl RabitqCodebook {
    /// The folded factors of `n` slots from a checkpoint's factor section: [`FOLDED_BYTES`]
    /// a slot, or, in a checkpoint written before the factors were folded, [`FACTOR_BYTES`]
    /// ([`FACTOR_BYTES_V1`] before local centroids), folded here.
    pub fn read_factors(&self, bytes: &[u8], n: usize) -> Result<Vec<Folded>, FactorsDamage> {
        let per = [FOLDED_BYTES, FACTOR_BYTES, FACTOR_BYTES_V1]
            .into_iter()
            .find(|&per| Some(bytes.len()) == n.checked_mul(per))
            .ok_or(FactorsDamage::Size)?;
        let lists = self.list_count();
        if per == FACTOR_BYTES_V1 && lists > 0 {
            return Err(FactorsDamage::NoLists);
        }
        let max_sum = self.max_code_sum();
        bytes
            .chunks_exact(per)
            .enumerate()
            .map(|(slot, b)| {
                let folded = if per == FOLDED_BYTES {
                    Folded::from_bytes(b, max_sum, lists)
                } else {
                    // Checked unfolded; folding keeps them possible (it saturates).
                    Factors::from_bytes(b, max_sum, lists).map(|f| {
                        let folded = self.fold(f);
                        debug_assert!(folded.is_possible(max_sum, lists), "{f:?}");
                        folded
                    })
                };
                folded.ok_or(FactorsDamage::Slot(slot))
            })
            .collect()
    }
}
