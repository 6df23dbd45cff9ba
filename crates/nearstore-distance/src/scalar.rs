//! Scalar kernels: the oracle every SIMD kernel is tested against, and the fallback the
//! dispatcher picks on CPUs without a SIMD table (or under `NEARSTORE_FORCE_SCALAR=1`).
//!
//! Floating-point kernels widen every product to `f64` and accumulate in `f64` in index
//! order, so their result is the exact value rounded (at most a few ulps away) to `f32`.
//! Integer kernels accumulate with wrapping `u32`/`i32` arithmetic, which every SIMD kernel
//! reproduces bit for bit. No `unsafe` here.

use half::f16;

use crate::{CosineParts, DotNorm, SetCounts};

/// `Σ aᵢbᵢ`.
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        acc += f64::from(*x) * f64::from(*y);
    }
    acc as f32
}

/// `Σ (aᵢ-bᵢ)²`, the squared L2 distance.
pub fn l2sq_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        let d = f64::from(*x) - f64::from(*y);
        acc += d * d;
    }
    acc as f32
}

/// `Σ |aᵢ-bᵢ|`, the L1 (Manhattan) distance.
pub fn l1_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        acc += (f64::from(*x) - f64::from(*y)).abs();
    }
    acc as f32
}

/// `a·b`, `a·a` and `b·b` in one pass.
pub fn cos_f32(a: &[f32], b: &[f32]) -> CosineParts {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    CosineParts {
        dot: ab as f32,
        norm_a_sq: aa as f32,
        norm_b_sq: bb as f32,
    }
}

/// `q·c` and `c·c` in one pass (a prepared cosine query already knows `q·q`).
pub fn dot_norm_f32(q: &[f32], c: &[f32]) -> DotNorm {
    let (mut qc, mut cc) = (0.0f64, 0.0f64);
    for (x, y) in q.iter().zip(c) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        qc += x * y;
        cc += y * y;
    }
    DotNorm {
        dot: qc as f32,
        norm_sq: cc as f32,
    }
}

/// Is an `f32` component set (the Hamming/Jaccard definition)? NaN is never set.
#[inline]
pub fn is_set(x: f32) -> bool {
    x > 0.5
}

/// Number of positions where exactly one of `aᵢ > 0.5`, `bᵢ > 0.5` holds.
pub fn hamming_f32(a: &[f32], b: &[f32]) -> u64 {
    a.iter()
        .zip(b)
        .filter(|(x, y)| is_set(**x) != is_set(**y))
        .count() as u64
}

/// Intersection and union sizes of the set positions of `a` and `b`.
pub fn jaccard_f32(a: &[f32], b: &[f32]) -> SetCounts {
    let mut counts = SetCounts::default();
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (is_set(*x), is_set(*y));
        counts.intersection += u64::from(x && y);
        counts.union += u64::from(x || y);
    }
    counts
}

/// `Σ aᵢbᵢ` over `f16` storage, accumulated as in [`dot_f32`].
pub fn dot_f16(a: &[f16], b: &[f16]) -> f32 {
    let mut acc = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        acc += x.to_f64() * y.to_f64();
    }
    acc as f32
}

/// `Σ (aᵢ-bᵢ)²` over `f16` storage.
pub fn l2sq_f16(a: &[f16], b: &[f16]) -> f32 {
    let mut acc = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        let d = x.to_f64() - y.to_f64();
        acc += d * d;
    }
    acc as f32
}

/// `a·b`, `a·a`, `b·b` over `f16` storage.
pub fn cos_f16(a: &[f16], b: &[f16]) -> CosineParts {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.to_f64(), y.to_f64());
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    CosineParts {
        dot: ab as f32,
        norm_a_sq: aa as f32,
        norm_b_sq: bb as f32,
    }
}

/// `q·c` and `c·c` over `f16` storage.
pub fn dot_norm_f16(q: &[f16], c: &[f16]) -> DotNorm {
    let (mut qc, mut cc) = (0.0f64, 0.0f64);
    for (x, y) in q.iter().zip(c) {
        let (x, y) = (x.to_f64(), y.to_f64());
        qc += x * y;
        cc += y * y;
    }
    DotNorm {
        dot: qc as f32,
        norm_sq: cc as f32,
    }
}

/// `Σ aᵢbᵢ` over `u8` codes, wrapping modulo 2³² (exact while `len <= 66_051`).
pub fn dot_u8(a: &[u8], b: &[u8]) -> u32 {
    let mut acc = 0u32;
    for (x, y) in a.iter().zip(b) {
        acc = acc.wrapping_add(u32::from(*x) * u32::from(*y));
    }
    acc
}

/// `Σ (aᵢ-bᵢ)²` over `u8` codes, wrapping modulo 2³² (exact while `len <= 66_051`).
pub fn l2sq_u8(a: &[u8], b: &[u8]) -> u32 {
    let mut acc = 0u32;
    for (x, y) in a.iter().zip(b) {
        let d = u32::from(x.abs_diff(*y));
        acc = acc.wrapping_add(d * d);
    }
    acc
}

/// `Σ qᵢcᵢ` of an `f32` query and `u8` codes, accumulated in `f64` in index order (the
/// oracle of the asymmetric scalar-quantization kernels; same tolerance as `dot_f32` with
/// `Σ|qᵢcᵢ|`).
pub fn dot_f32_u8(q: &[f32], c: &[u8]) -> f32 {
    let mut acc = 0f64;
    for (x, y) in q.iter().zip(c) {
        acc += f64::from(*x) * f64::from(*y);
    }
    acc as f32
}

/// Entries of one subspace's row in a product-quantization lookup table.
pub const ADC_ROW: usize = 256;

/// `Σⱼ table[256·j + codesⱼ]` over `j < min(table.len() / 256, codes.len())`: the
/// asymmetric distance of product-quantization codes (ADC), `table` holding one row of 256
/// partial distances per subspace. Accumulated in `f64` in subspace order (the oracle of
/// the SIMD lookup kernels; same tolerance as `dot_f32` with `Σ|table entries read|`).
pub fn adc_f32_u8(table: &[f32], codes: &[u8]) -> f32 {
    let mut acc = 0f64;
    for (row, &c) in table.chunks_exact(ADC_ROW).zip(codes) {
        acc += f64::from(row[usize::from(c)]);
    }
    acc as f32
}

/// `Σ aᵢbᵢ` over `i8` codes, wrapping modulo 2³² (exact while `len <= 131_071`).
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = 0i32;
    for (x, y) in a.iter().zip(b) {
        acc = acc.wrapping_add(i32::from(*x) * i32::from(*y));
    }
    acc
}

/// `Σ (aᵢ-bᵢ)²` over `i8` codes, wrapping modulo 2³² (exact while `len <= 66_051`).
pub fn l2sq_i8(a: &[i8], b: &[i8]) -> u32 {
    let mut acc = 0u32;
    for (x, y) in a.iter().zip(b) {
        let d = u32::from(x.abs_diff(*y));
        acc = acc.wrapping_add(d * d);
    }
    acc
}

/// Number of differing bits: `popcount(a XOR b)`.
pub fn hamming_bits(a: &[u64], b: &[u64]) -> u64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| u64::from((x ^ y).count_ones()))
        .sum()
}

/// `Σⱼ 2ʲ · popcount(a AND bⱼ)`, where `b` holds `b.len() / a.len()` bit planes of
/// `a.len()` words each (plane-major; a trailing partial plane is ignored, and an empty `a`
/// gives 0): the inner product of a 1-bit code `a` with a query quantized to that many bits
/// per dimension, whose bit `j` of every dimension forms plane `j` (RaBitQ's estimator).
/// Wrapping modulo 2⁶⁴ (exact while `planes < 58`); planes from the 64th on count 0.
pub fn and_popcount_planes(a: &[u64], b: &[u64]) -> u64 {
    let n = a.len();
    if n == 0 {
        return 0;
    }
    let mut acc = 0u64;
    for (j, plane) in b.chunks_exact(n).enumerate() {
        let count: u64 = a
            .iter()
            .zip(plane)
            .map(|(x, y)| u64::from((x & y).count_ones()))
            .sum();
        acc = acc.wrapping_add(count.checked_shl(j as u32).unwrap_or(0));
    }
    acc
}

/// Bytes of a nibble-packed chunk in [`dot_u4_u8`]'s layout (128 coordinates).
pub const NIBBLE_CHUNK: usize = 64;

/// `Σᵢ cᵢ qᵢ` of 4-bit codes `c` packed in `a` and bytes `q` (extended RaBitQ's estimator:
/// a multi-bit code against a byte-quantized query). `a`'s little-endian bytes come in
/// chunks of [`NIBBLE_CHUNK`]; byte `i` of chunk `j` holds coordinate `128 j + i` in its low
/// nibble and `128 j + 64 + i` in its high nibble (so a vector kernel unpacks a chunk with
/// one mask and one shift). Coordinates at or beyond `q.len()` count 0. Wrapping modulo 2³²
/// (exact while there are at most 1,118,481 coordinates).
pub fn dot_u4_u8(a: &[u64], q: &[u8]) -> u32 {
    let mut acc = 0u32;
    for (w, word) in a.iter().enumerate() {
        for (k, b) in word.to_le_bytes().into_iter().enumerate() {
            let byte = w * 8 + k;
            let (chunk, i) = (byte / NIBBLE_CHUNK, byte % NIBBLE_CHUNK);
            let lo = chunk * 2 * NIBBLE_CHUNK + i;
            for (at, nibble) in [(lo, b & 0x0f), (lo + NIBBLE_CHUNK, b >> 4)] {
                if let Some(x) = q.get(at) {
                    acc = acc.wrapping_add(u32::from(nibble) * u32::from(*x));
                }
            }
        }
    }
    acc
}

/// Rows in a block of [`dot_u8_i8_x16`].
pub const BLOCK_ROWS: usize = 16;

/// Bytes of one group of a [`dot_u8_i8_x16`] block: four coordinates of each of its rows.
pub const BLOCK_GROUP: usize = 4 * BLOCK_ROWS;

/// `Σᵢ qᵢ rᵢ` of bytes `q` against each of the [`BLOCK_ROWS`] signed-byte rows `r`
/// interleaved in `b`: byte `64 g + 4 j + t` of `b` is coordinate `4 g + t` of row `j` (groups
/// of four coordinates of every row, so one dot-product instruction takes a group whole).
/// Coordinates at or beyond `q.len()` count 0, as do those `b` does not reach. Wrapping
/// modulo 2³² (exact while there are at most 65,793 coordinates).
///
/// Written so that compilers vectorize it ([`rows16`]): it is also the kernel of the scalar
/// and NEON tables.
pub fn dot_u8_i8_x16(q: &[u8], b: &[i8]) -> [i32; BLOCK_ROWS] {
    rows16(q, b)
}

/// [`dot_u8_i8_x16`]'s body in the form compilers vectorize (measured on x86: 17 µs a scan of
/// 1,024 lists of 128 bytes with SSE2, against 45 µs for a lane loop indexing the query
/// bytes by position): a lane per byte of a group, the group's four query bytes spread
/// over the lanes by shifts, sums in 32 bits, folded to rows at the end.
fn rows16(q: &[u8], b: &[i8]) -> [i32; BLOCK_ROWS] {
    let (quads, groups) = rows16_groups(q, b);
    let whole = quads.len();
    let mut lanes = [0i32; BLOCK_GROUP];
    for (quad, group) in quads.iter().zip(groups) {
        let word = u32::from_le_bytes(*quad);
        let mut pattern = [0i32; BLOCK_GROUP];
        for (j, p) in pattern.iter_mut().enumerate() {
            *p = ((word >> (8 * (j & 3))) & 0xff) as i32;
        }
        for j in 0..BLOCK_GROUP {
            lanes[j] = lanes[j].wrapping_add(pattern[j].wrapping_mul(i32::from(group[j])));
        }
    }
    // A partial group, or groups past the query's end, one byte at a time.
    for (i, &x) in b.iter().enumerate().skip(whole * BLOCK_GROUP) {
        let (coordinate, lane) = (4 * (i / BLOCK_GROUP) + i % 4, i % BLOCK_GROUP);
        if let Some(&y) = q.get(coordinate) {
            lanes[lane] = lanes[lane].wrapping_add(i32::from(y) * i32::from(x));
        }
    }
    std::array::from_fn(|r| {
        lanes[4 * r..4 * r + 4]
            .iter()
            .fold(0i32, |acc, &x| acc.wrapping_add(x))
    })
}

/// The whole groups of a [`dot_u8_i8_x16`] call: each group's four query bytes and its 64
/// row bytes, as many as both `q` and `b` cover (every kernel of it walks these).
#[inline(always)]
pub(crate) fn rows16_groups<'a>(
    q: &'a [u8],
    b: &'a [i8],
) -> (&'a [[u8; 4]], &'a [[i8; BLOCK_GROUP]]) {
    let whole = (q.len() / 4).min(b.len() / BLOCK_GROUP);
    (
        q[..whole * 4].as_chunks::<4>().0,
        b[..whole * BLOCK_GROUP].as_chunks::<BLOCK_GROUP>().0,
    )
}

/// Adds to `rows` what a vector kernel of [`dot_u8_i8_x16`] leaves past its `whole` groups
/// (a partial group, or groups past the query's end), by the oracle. Only the x86 kernels
/// have one (the other tables serve the oracle itself).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[inline]
pub(crate) fn rows16_rest(rows: &mut [i32; BLOCK_ROWS], q: &[u8], b: &[i8], whole: usize) {
    if whole * BLOCK_GROUP < b.len() {
        let rest = dot_u8_i8_x16(q.get(whole * 4..).unwrap_or(&[]), &b[whole * BLOCK_GROUP..]);
        for (o, r) in rows.iter_mut().zip(rest) {
            *o = o.wrapping_add(r);
        }
    }
}

/// `popcount(a AND b)` and `popcount(a OR b)`.
pub fn jaccard_bits(a: &[u64], b: &[u64]) -> SetCounts {
    let mut counts = SetCounts::default();
    for (x, y) in a.iter().zip(b) {
        counts.intersection += u64::from((x & y).count_ones());
        counts.union += u64::from((x | y).count_ones());
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_kernels_match_hand_computed_values() {
        assert_eq!(dot_u8(&[255, 2], &[255, 3]), 65025 + 6);
        assert_eq!(l2sq_u8(&[0, 10], &[255, 7]), 65025 + 9);
        assert_eq!(dot_i8(&[-128, 5], &[-128, -3]), 16384 - 15);
        assert_eq!(l2sq_i8(&[-128, 5], &[127, -3]), 65025 + 64);
        assert_eq!(hamming_bits(&[0b1011, u64::MAX], &[0b0001, 0]), 2 + 64);
        let c = jaccard_bits(&[0b1100], &[0b0110]);
        assert_eq!((c.intersection, c.union), (1, 3));
    }

    #[test]
    fn float_kernels_match_hand_computed_values() {
        let a = [1.0, 2.0, 3.0];
        let b = [4.0, -5.0, 6.0];
        assert_eq!(dot_f32(&a, &b), 12.0);
        assert_eq!(l2sq_f32(&a, &b), 9.0 + 49.0 + 9.0);
        assert_eq!(l1_f32(&a, &b), 3.0 + 7.0 + 3.0);
        let p = cos_f32(&a, &b);
        assert_eq!((p.dot, p.norm_a_sq, p.norm_b_sq), (12.0, 14.0, 77.0));
        let h: Vec<f16> = a.iter().map(|x| f16::from_f32(*x)).collect();
        let g: Vec<f16> = b.iter().map(|x| f16::from_f32(*x)).collect();
        assert_eq!(dot_f16(&h, &g), 12.0);
        assert_eq!(l2sq_f16(&h, &g), 67.0);
    }
}
