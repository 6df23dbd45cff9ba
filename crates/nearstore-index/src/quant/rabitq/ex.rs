//! Extended RaBitQ (Gao et al., SIGMOD 2025): [`EX_BITS`] bits per coordinate of the
//! rotated vector instead of one.
//!
//! A vector's rotated unit residual `o_r` is coded as integers `x_u ∈ [0, 2ᴮ - 1]`, standing
//! for the centred grid `y = x_u - (2ᴮ - 1) / 2`; the grid's scale `t` (`x_u = ⌊t o_r⌋ + 2ᴮ⁻¹`,
//! clamped) is chosen per vector to maximise `cos(y, o_r)`. The estimator is the 1-bit one
//! with `y` for `x_b - 1/2`: `⟨o - c, q'⟩ ≈ r ⟨y, q'⟩ / ⟨y, o_r⟩`, unbiased, with the same
//! error bound in `cos(y, o_r)` (about 0.995 at 4 bits, against about 0.8 for one bit), so
//! the error shrinks about 2ᴮ-fold at equal `P`.
//!
//! Storage: nibbles in the distance crate's chunk layout ([`scalar::dot_u4_u8`]); the query is
//! quantized to one byte a coordinate, so `⟨x_u, q̃⟩` is one `dot_u4_u8` kernel call (VNNI
//! `vpdpbusd` here). A code has `P = dim` rounded up to a power of two (at least 128, one
//! chunk) coordinates: at 128-d 64 bytes, what the 512-bit 1-bit code takes.
//!
//! [`scalar::dot_u4_u8`]: nearstore_distance::scalar::dot_u4_u8

use nearstore_distance::scalar::NIBBLE_CHUNK;

use super::{Factors, RabitqCodebook, error_bound};

/// Bits per coordinate of an extended code (the one multi-bit width supported).
pub const EX_BITS: u8 = 4;

/// Fewest coordinates in an extended code (one chunk of the nibble layout).
pub const EX_MIN_DIM: usize = 2 * NIBBLE_CHUNK;

/// Grid scales tried per vector (between `T / STEPS` and `SPAN T`, `T` the scale at
/// which the largest coordinate reaches the top level), then [`FINE`] around the best.
const STEPS: usize = 40;
const SPAN: f32 = 1.5;

/// Scales tried in the refinement around the best coarse one.
const FINE: usize = 16;

/// Where coordinate `i` lives: (word, bit shift) of its nibble.
#[inline]
pub(super) fn nibble_at(i: usize) -> (usize, u32) {
    let (chunk, within) = (i / (2 * NIBBLE_CHUNK), i % (2 * NIBBLE_CHUNK));
    let byte = chunk * NIBBLE_CHUNK + within % NIBBLE_CHUNK;
    let high = u32::from(within >= NIBBLE_CHUNK) * 4;
    (byte / 8, (byte % 8) as u32 * 8 + high)
}

/// The code value of coordinate `i`.
#[inline]
pub(super) fn nibble(code: &[u64], i: usize) -> u32 {
    let (w, s) = nibble_at(i);
    code.get(w).map_or(0, |x| (x >> s) as u32 & 0xf)
}

/// The grid level of `x` at scale `t`: `⌊t x⌋ + levels / 2`, clamped to the levels.
/// (Truncation is the floor here: a negative value clamps to 0 either way; no libm call.)
#[inline]
fn level(t: f32, x: f32, half: f32, top: f32) -> f32 {
    ((t * x + half).max(0.0) as u32 as f32).min(top)
}

/// `cos(y, o)` of the grid at scale `t`, `o` a unit vector.
fn grid_fit(o: &[f32], t: f32, levels: u32) -> f64 {
    let half = levels as f32 / 2.0;
    let top = (levels - 1) as f32;
    let (mut dot, mut sq) = (0f32, 0f32);
    for x in o {
        let y = level(t, *x, half, top) - top / 2.0;
        dot += y * x;
        sq += y * y;
    }
    if sq > 0.0 {
        f64::from(dot) / f64::from(sq).sqrt()
    } else {
        0.0
    }
}

impl RabitqCodebook {
    /// `P` of an extended code for `dim`.
    pub fn ex_padded_dim(dim: usize) -> usize {
        dim.next_power_of_two().max(EX_MIN_DIM)
    }

    /// The extended code of `rotated` (`R (v - c_j)`, norm `r`) into `out`, and its factors
    /// (`add`, `list` as [`RabitqCodebook::encode`] computed them).
    pub(super) fn encode_ex(
        &self,
        rotated: &[f32],
        r: f32,
        add: f32,
        list: usize,
        out: &mut [u64],
    ) -> Factors {
        let levels = 1u32 << self.bits;
        let top = f64::from(levels - 1);
        out.fill(0);
        let inv = if r > 0.0 { 1.0 / r } else { 0.0 };
        let o: Vec<f32> = rotated.iter().map(|x| x * inv).collect();
        let max = o.iter().fold(0f32, |m, x| m.max(x.abs()));
        let mut best = (f64::NEG_INFINITY, 0f32);
        if max > 0.0 {
            let full = levels as f32 / 2.0 / max;
            let step = full * SPAN / STEPS as f32;
            for k in 1..=STEPS {
                let t = step * k as f32;
                let cos = grid_fit(&o, t, levels);
                if cos > best.0 {
                    best = (cos, t);
                }
            }
            let centre = best.1;
            for k in 0..=FINE {
                let t = centre - step + 2.0 * step * k as f32 / FINE as f32;
                if t > 0.0 {
                    let cos = grid_fit(&o, t, levels);
                    if cos > best.0 {
                        best = (cos, t);
                    }
                }
            }
        }
        let t = best.1;
        let (half, topf) = (levels as f32 / 2.0, top as f32);
        let mut sum = 0u64;
        let d = self
            .rotated_lists
            .get(list * self.padded..(list + 1) * self.padded)
            .unwrap_or(&[]);
        let (mut ydot, mut ysq, mut shift) = (0f64, 0f64, 0f64);
        for (i, x) in o.iter().enumerate() {
            let u = if max > 0.0 {
                f64::from(level(t, *x, half, topf))
            } else {
                // A vector at its centre: any code; the middle level, scale 0.
                f64::from(half)
            };
            let x = f64::from(*x);
            let (w, s) = nibble_at(i);
            if let Some(word) = out.get_mut(w) {
                *word |= (u as u64) << s;
            }
            sum += u as u64;
            let y = u - top / 2.0;
            ydot += y * x;
            ysq += y * y;
            if let Some(di) = d.get(i) {
                shift += y * f64::from(*di);
            }
        }
        let list = list as u32;
        let popcount = sum as f32;
        let shift = shift as f32;
        if ydot <= 1e-9 || r <= 0.0 {
            return Factors::exact_zero(popcount, add, list, shift);
        }
        let cos = (ydot / ysq.sqrt()).min(1.0);
        Factors {
            scale: (f64::from(r) / ydot) as f32,
            popcount,
            error: error_bound(r, cos, self.padded),
            add,
            list,
            shift,
        }
    }

    /// The query's rotated coordinates `rotated` quantized to bytes (`low + delta u`):
    /// `(bytes, delta, low, Σ q̃)`.
    pub(super) fn quantize_query_bytes(rotated: &[f32]) -> (Vec<u8>, f32, f32, f32) {
        let low = rotated.iter().copied().fold(f32::INFINITY, f32::min);
        let high = rotated.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let delta = if high > low && (high - low).is_finite() {
            (high - low) / 255.0
        } else {
            0.0
        };
        let low = if low.is_finite() { low } else { 0.0 };
        let inv = if delta > 0.0 { 1.0 / delta } else { 0.0 };
        let mut sum = 0u64;
        let bytes = rotated
            .iter()
            .map(|x| {
                // Round to nearest (non-negative; `as` saturates).
                let u = (((x - low) * inv + 0.5) as u64).min(255);
                sum += u;
                u as u8
            })
            .collect();
        let total = rotated.len() as f32 * low + delta * sum as f32;
        (bytes, delta, low, total)
    }

    /// The centred grid values `y` of an extended code, scaled to the vector it stands for
    /// (`r ȳ`, `r` recovered from the scale: `⟨y, o_r⟩ ≈ |y|`).
    pub(super) fn decode_ex(&self, code: &[u64], scale: f32) -> Vec<f32> {
        let top = ((1u32 << self.bits) - 1) as f32;
        let y: Vec<f32> = (0..self.padded)
            .map(|i| nibble(code, i) as f32 - top / 2.0)
            .collect();
        // r = scale ⟨y, o_r⟩ ≈ scale |y|, and the vector is r y / |y| = scale y.
        y.into_iter().map(|v| v * scale).collect()
    }
}
