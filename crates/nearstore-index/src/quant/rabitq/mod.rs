//! RaBitQ: one bit per dimension after a random rotation, with per-vector correction
//! factors that make the inner-product estimate unbiased and bound its error
//! (Gao & Long, SIGMOD 2024).
//!
//! Training picks a centroid `c` (the sample mean) and a random orthogonal rotation `R` of
//! `P` dimensions (`P`: the dimension padded with zeros to a power of two, at least
//! [`MIN_CODE_BITS`]). `R` is three
//! rounds of random sign flips followed by a normalized Walsh-Hadamard transform: `O(P log P)`
//! per vector instead of a `P x P` matrix product, orthogonal by construction.
//!
//! A vector `o` is stored as the signs of `R (o - c) / r` (`r = |o - c|`): bit `i` of the code
//! `x_b` is set when coordinate `i` is positive; `x̄ = (2 x_b - 1) / √P` is the unit vector of
//! the code. For a query `q` with `q' = R (q - c)`, RaBitQ's estimator of `⟨o - c, q - c⟩` is
//! `r ⟨x̄, q'⟩ / ⟨x̄, o_r⟩` with `o_r = R (o - c) / r`, and with high probability
//! its error is below `r |q - c| ε₀ √((1 - ⟨x̄,o_r⟩²) / ⟨x̄,o_r⟩²) / √(P - 1)` (see [`EPSILON0`]).
//! The bound is conservative: rescoring skips a candidate only when its estimate minus the bound is
//! already worse than the k-th exact distance found.
//!
//! The query is quantized to [`QUERY_BITS`] bits per coordinate (`q' ≈ v_l + Δ u`), so
//! `⟨x_b, q'⟩ ≈ Δ ⟨x_b, u⟩ + v_l popcount(x_b)`, and `⟨x_b, u⟩` is
//! `Σⱼ 2ʲ popcount(x_b AND uⱼ)` over the bit planes `uⱼ` of `u` (the distance crate's
//! `and_popcount_planes` kernel). Per vector the index keeps the code and its correction
//! factors ([`Factors`], folded for the metric into two words: [`Folded`]); the estimate
//! costs one kernel call and a few multiply-adds.
//!
//! Distances: L2 `|q - o|² = |q - c|² + r² - 2 ⟨o - c, q - c⟩`; inner product
//! `⟨q, o⟩ = ⟨o - c, q - c⟩ + ⟨q, c⟩ + (⟨c, o⟩ - |c|²)`, the last term stored per vector.
//!
//! Local centroids (the IVF form of RaBitQ): with one global centroid, clustered data has
//! `|o - c|` dominated by the distance between cluster centres, and the estimator's error
//! (proportional to `|o - c| |q - c|`) swamps the distance differences inside a cluster,
//! which decide the top 10 (on a 100k x 128 Gaussian mixture recall topped out at 0.55).
//! So training also runs k-means ([`LISTS_MAX`] lists at most) and each vector is coded
//! relative to its nearest list centroid `c_j`. The query is still rotated and quantized
//! once, relative to the global `c`: `⟨x̄, R (q - c_j)⟩ = ⟨x̄, q'⟩ - ⟨x̄, R (c_j - c)⟩`, and
//! the second term is a per-vector constant (`shift`). The per-list query terms
//! (`|q - c_j|²` or `⟨q, c_j⟩`, and `|q - c_j|` for the bound) are computed the first time a
//! search meets a vector of that list.
//!
//! Code length: the estimator's error shrinks as `1 / √P`, and `P` may exceed the dimension
//! (the vector is padded with zeros before the rotation spreads it over all `P`
//! coordinates). At 128-d one bit per dimension could not rank a Gaussian mixture (recall
//! 0.83 with 30 candidates rescored); 512 bits (4 per dimension, a 64-byte code) reach 0.95.
//! So `P` is at least [`MIN_CODE_BITS`]. Codebooks written before that (`P` the dimension
//! rounded up to a power of two, at least 64) keep their `P`: the codebook records it.
//!
//! Extended codes (`ex.rs`): [`EX_BITS`] bits per coordinate over `P` = the dimension
//! rounded up to a power of two (at least 128), the same estimator with a multi-bit grid
//! for the signs; the query is then one byte per coordinate and the raw product one
//! `dot_u4_u8` kernel call. The codebook records its bits (a flagged byte in its bytes; a
//! codebook without it is 1-bit). `QuantConfig::rabitq_bits` picks the width.

mod bytes;
mod ex;
mod factors;
mod list_scan;
mod query;

pub use ex::EX_BITS;
pub use factors::{Factors, FactorsDamage, Folded};
use nearstore_distance::kernels;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Bits per coordinate of a quantized query.
pub const QUERY_BITS: usize = 4;

/// Fewest bits in a code (`P`): smaller dimensions are padded up to it.
pub const MIN_CODE_BITS: usize = 512;

/// Rounds of sign flip + Hadamard transform in the rotation.
const ROUNDS: usize = 3;

/// The confidence constant of the error bound. The paper uses 1.9; the error is close to
/// normal with the bound at 1.0 standing for one standard deviation, so 1.9 left 3% of
/// estimates outside in the unit test, and 3.0 about 0.3% (a pruned true neighbour is
/// lost recall).
const EPSILON0: f32 = 3.0;

/// The error bound per unit of `|q - c|` of a code of `padded` coordinates for a vector at
/// distance `r` from its centre whose code's cosine with it is `cos`:
/// `r ε₀ √(1/cos² - 1) / √(P - 1)` (both code widths).
fn error_bound(r: f32, cos: f64, padded: usize) -> f32 {
    let spread = (1.0 / (cos * cos) - 1.0).max(0.0).sqrt();
    (f64::from(r) * f64::from(EPSILON0) * spread / (padded as f64 - 1.0).sqrt()) as f32
}

/// Most local centroids a codebook holds.
pub const LISTS_MAX: usize = 1024;

/// Training rows per local centroid (a sample of `n` rows gets `n / ROWS_PER_LIST` lists,
/// at most [`LISTS_MAX`]).
const ROWS_PER_LIST: usize = 16;

/// Lists are kept only when they bring the sample's mean squared distance to its centre
/// below this share of the distance to the global centroid.
const LISTS_MIN_GAIN: f64 = 0.5;

/// Words of [`Folded`] factors after each code.
pub const FACTOR_WORDS: usize = 2;

/// Bytes of [`Folded::to_bytes`], the factors of a slot in a checkpoint.
pub const FOLDED_BYTES: usize = 20;

/// Bytes of [`Factors::to_bytes`]: the factors of a checkpoint written before they were
/// folded (and after local centroids; before those, [`FACTOR_BYTES_V1`]).
pub const FACTOR_BYTES: usize = 24;

/// Bytes of the factors of a checkpoint written before local centroids (no list, no shift).
pub const FACTOR_BYTES_V1: usize = 16;

/// The centroid and rotation of a RaBitQ index.
#[derive(Debug, Clone, PartialEq)]
pub struct RabitqCodebook {
    /// The centroid (`dim` values).
    pub centroid: Vec<f32>,
    /// `ROUNDS * P` signs (±1) of the rotation.
    signs: Vec<f32>,
    /// Whether distances are L2 (else inner product).
    pub l2: bool,
    /// Local centroids (k-means), `dim` values each; empty: every code is relative to
    /// `centroid`.
    lists: Vec<f32>,
    /// `R (c_j - c)` of every list, `P` values each (derived from `lists`).
    rotated_lists: Vec<f32>,
    /// The same as signed bytes, for the scan for a query's nearest list (derived).
    scan: list_scan::ListScan,
    /// `P`: the rotation's dimension and the coordinates of a code (a power of two, at
    /// least the dimension and 64).
    padded: usize,
    /// Bits per coordinate: 1, or [`EX_BITS`] (extended codes, see `ex.rs`).
    bits: u8,
}

/// A query prepared against a codebook.
#[derive(Debug, Clone)]
pub struct RabitqQuery {
    /// The bit planes of the quantized rotated query (`QUERY_BITS` planes of `P / 64`
    /// words, plane-major).
    pub planes: Vec<u64>,
    /// The quantized rotated query as bytes (extended codes; empty for 1-bit ones).
    bytes: Vec<u8>,
    delta: f32,
    low: f32,
    /// `Σ q̃ᵢ (2ᴮ - 1) / 2` of the quantized rotated query (`B` the code's bits).
    half_sum: f32,
    /// `|q - c|`.
    norm: f32,
    /// `|q - c|²` (L2) or `⟨q, c⟩` (inner product).
    base: f32,
    l2: bool,
    /// The query (prepared), for the per-list terms.
    query: Vec<f32>,
    /// Per list: `(base, norm)` as above but relative to the list's centroid, NaN until a
    /// search first needs it.
    list_terms: Vec<std::cell::Cell<(f32, f32)>>,
    /// The rotated query as bytes for the list scan, with its `low` and `delta`, when the
    /// codes are 1-bit (extended codes' `bytes` serve as they are) and there are lists.
    scan_bytes: Vec<u8>,
    scan_low: f32,
    scan_delta: f32,
}

/// One stage of the transform inside a block of 16: each pair `(i, i + H)` (bit `H` of `i`
/// clear) becomes `(a + c, a - c)`. Written as a branch-free map over all 16 places (the
/// partner of `i` is `i ^ H`) so that, with `H` a constant, it compiles to vector shuffles
/// and adds instead of a scalar loop testing `i & H` per element (the same sums: results
/// are bit-identical).
#[inline(always)]
fn butterflies<const H: usize>(b: &mut [f32; 16]) {
    let mut out = [0f32; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let partner = b[i ^ H];
        *o = if i & H == 0 {
            b[i] + partner
        } else {
            partner - b[i]
        };
    }
    *b = out;
}

/// The Walsh-Hadamard transform of `x` (length a power of two), in place, unnormalized
/// (it scales norms by `√len`; callers fold the normalization into one pass).
fn hadamard(x: &mut [f32]) {
    let n = x.len();
    // The first four stages inside blocks of 16 (each stage a fixed permutation the
    // compiler unrolls into shuffles), the rest in long vectorizable runs.
    let (blocks, _) = x.as_chunks_mut::<16>();
    for b in blocks {
        butterflies::<1>(b);
        butterflies::<2>(b);
        butterflies::<4>(b);
        butterflies::<8>(b);
    }
    let mut h = if n >= 16 { 16 } else { 1 };
    while h < n {
        stage(x, h);
        h *= 2;
    }
}

/// One stage of the transform over the whole of `x`: each pair `(i, i + h)` within blocks
/// of `2h` becomes `(a + c, a - c)`.
fn stage(x: &mut [f32], h: usize) {
    for block in x.chunks_exact_mut(2 * h) {
        let (lo, hi) = block.split_at_mut(h);
        for (a, b) in lo.iter_mut().zip(hi.iter_mut()) {
            let (s, d) = (*a + *b, *a - *b);
            *a = s;
            *b = d;
        }
    }
}

impl RabitqCodebook {
    /// Trains on `sample` (rows of `dim` values, already prepared by the index's space):
    /// the centroid is their mean, the rotation is drawn from `seed`.
    #[cfg(test)]
    pub fn train(dim: usize, sample: &[&[f32]], l2: bool, seed: u64) -> Self {
        Self::train_bits(dim, sample, l2, seed, 1)
    }

    /// [`RabitqCodebook::train`] with `bits` per coordinate: 1 (codes of
    /// [`RabitqCodebook::padded_dim`] bits) or [`EX_BITS`] (extended codes of
    /// [`RabitqCodebook::ex_padded_dim`] coordinates); anything else is taken as 1.
    pub fn train_bits(dim: usize, sample: &[&[f32]], l2: bool, seed: u64, bits: u8) -> Self {
        let count = (sample.len() / ROWS_PER_LIST).min(LISTS_MAX);
        let mut lists = if count >= 2 {
            super::kmeans::train(sample, dim, count, seed ^ 0x11575)
        } else {
            Vec::new()
        };
        if !lists.is_empty() {
            // Lists cost every search a few per-list terms; they pay only where they
            // shrink the vectors' distance to their centre a lot (clustered data).
            let mean = super::kmeans::train(sample, dim, 1, seed);
            let k = kernels();
            let (mut local, mut global) = (0f64, 0f64);
            for v in sample {
                let j = super::kmeans::nearest(&lists, dim, v);
                local += f64::from(k.l2sq_f32(v, &lists[j * dim..(j + 1) * dim]));
                global += f64::from(k.l2sq_f32(v, &mean));
            }
            if local > LISTS_MIN_GAIN * global {
                lists.clear();
            }
        }
        if bits == EX_BITS {
            let mut book =
                Self::train_padded(dim, sample, l2, seed, lists, Self::ex_padded_dim(dim));
            book.bits = EX_BITS;
            return book;
        }
        Self::train_with_lists(dim, sample, l2, seed, lists)
    }

    /// [`RabitqCodebook::train_with_lists`] with codes of `padded` bits (a power of two, at
    /// least the dimension and 64; anything else is rounded up to one).
    pub fn train_padded(
        dim: usize,
        sample: &[&[f32]],
        l2: bool,
        seed: u64,
        lists: Vec<f32>,
        padded: usize,
    ) -> Self {
        let padded = padded.max(Self::legacy_padded_dim(dim)).next_power_of_two();
        let mut sum = vec![0f64; dim];
        for r in sample {
            for (s, x) in sum.iter_mut().zip(r.iter()) {
                *s += f64::from(*x);
            }
        }
        let n = sample.len().max(1) as f64;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let signs = (0..ROUNDS * padded)
            .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        let mut book = RabitqCodebook {
            centroid: sum.into_iter().map(|s| (s / n) as f32).collect(),
            signs,
            l2,
            lists,
            rotated_lists: Vec::new(),
            scan: list_scan::ListScan::default(),
            padded,
            bits: 1,
        };
        book.rotate_lists();
        book
    }

    /// [`RabitqCodebook::train`] with the local centroids given (`dim` values each; empty
    /// for none).
    pub fn train_with_lists(
        dim: usize,
        sample: &[&[f32]],
        l2: bool,
        seed: u64,
        lists: Vec<f32>,
    ) -> Self {
        Self::train_padded(dim, sample, l2, seed, lists, Self::padded_dim(dim))
    }

    /// Fills `rotated_lists` from `lists`.
    fn rotate_lists(&mut self) {
        let dim = self.dim();
        let mut rotated = Vec::with_capacity(self.lists.len() / dim.max(1) * self.padded);
        let mut out = Vec::new();
        for c in self.lists.chunks_exact(dim.max(1)) {
            self.rotate_from(c, &self.centroid, &mut out);
            rotated.extend_from_slice(&out);
        }
        self.scan = list_scan::ListScan::new(&rotated, self.padded);
        self.rotated_lists = rotated;
    }

    /// Local centroids held (0: codes are relative to the global centroid).
    pub fn list_count(&self) -> usize {
        self.lists.len() / self.dim().max(1)
    }

    /// The centroid codes of list `j` are relative to.
    fn list_centroid(&self, j: usize) -> &[f32] {
        let dim = self.dim();
        self.lists
            .get(j * dim..(j + 1) * dim)
            .unwrap_or(&self.centroid)
    }

    /// `P` of a new codebook: `dim` rounded up to a power of two, at least
    /// [`MIN_CODE_BITS`].
    pub fn padded_dim(dim: usize) -> usize {
        dim.next_power_of_two().max(MIN_CODE_BITS)
    }

    /// `P` of a codebook written before [`MIN_CODE_BITS`]: `dim` rounded up to a power of
    /// two, at least 64 (the smallest `P` a codebook has).
    fn legacy_padded_dim(dim: usize) -> usize {
        dim.next_power_of_two().max(64)
    }

    /// `P`: bits in a code, the dimension of the rotation.
    #[cfg(test)]
    pub fn padded(&self) -> usize {
        self.padded
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.centroid.len()
    }

    /// 64-bit words per code.
    pub fn words(&self) -> usize {
        self.padded * usize::from(self.bits) / 64
    }

    /// Bits per coordinate of a code (1, or [`EX_BITS`]).
    #[cfg(test)]
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// The largest sum of a code's values (the `popcount` factor): `P (2ᴮ - 1)`.
    pub fn max_code_sum(&self) -> usize {
        self.padded * ((1usize << self.bits) - 1)
    }

    /// 64-bit words per stored block: the code, then its [`Folded::pack`]ed factors.
    pub fn stride(&self) -> usize {
        self.words() + FACTOR_WORDS
    }

    /// `f` folded for this codebook's metric (what a block stores).
    pub fn fold(&self, f: Factors) -> Folded {
        Folded::of(f, self.l2)
    }

    /// Writes `f`, folded, after the code in `block` (a whole stored block).
    #[inline]
    pub fn write_factors(&self, f: Factors, block: &mut [u64]) {
        let w = self.words();
        if let Some(dst) = block.get_mut(w..w + FACTOR_WORDS) {
            dst.copy_from_slice(&self.fold(f).pack());
        }
    }

    /// `R (v - c)` into `out` (`P` values); returns `|v - c|`.
    #[cfg(test)]
    fn rotate_centered(&self, v: &[f32], out: &mut Vec<f32>) -> f32 {
        self.rotate_from(v, &self.centroid, out)
    }

    /// `R (v - centre)` into `out` (`P` values); returns `|v - centre|`.
    fn rotate_from(&self, v: &[f32], centre: &[f32], out: &mut Vec<f32>) -> f32 {
        let padded = self.padded;
        out.clear();
        out.extend(v.iter().zip(centre).map(|(x, c)| x - c));
        out.resize(padded, 0.0);
        let norm = out
            .iter()
            .map(|x| f64::from(*x) * f64::from(*x))
            .sum::<f64>()
            .sqrt() as f32;
        for round in self.signs.chunks_exact(padded) {
            for (x, s) in out.iter_mut().zip(round) {
                *x *= s;
            }
            hadamard(out);
        }
        // Each unnormalized transform scaled the norm by √P.
        let scale = (padded as f32).powf(-(ROUNDS as f32) / 2.0);
        for x in out.iter_mut() {
            *x *= scale;
        }
        norm
    }

    /// Writes the code of `v` (prepared) into `out` (`words()` long) and returns its factors.
    pub fn encode(&self, v: &[f32], out: &mut [u64]) -> Factors {
        let lists = self.list_count();
        let list = if lists > 0 {
            super::kmeans::nearest(&self.lists, self.dim(), v)
        } else {
            0
        };
        let centre = self.list_centroid(list);
        let mut rotated = Vec::new();
        let r = self.rotate_from(v, centre, &mut rotated);
        let padded = rotated.len();
        let add = if self.l2 {
            r * r
        } else {
            let co: f64 = centre
                .iter()
                .zip(v)
                .map(|(c, x)| f64::from(*c) * f64::from(*x))
                .sum();
            let cc: f64 = centre.iter().map(|c| f64::from(*c).powi(2)).sum();
            (co - cc) as f32
        };
        if self.bits != 1 {
            return self.encode_ex(&rotated, r, add, list, out);
        }
        out.fill(0);
        let mut abs_sum = 0f64;
        for (i, x) in rotated.iter().enumerate() {
            if *x > 0.0 {
                out[i / 64] |= 1 << (i % 64);
            }
            abs_sum += f64::from(x.abs());
        }
        let popcount = out.iter().map(|w| w.count_ones()).sum::<u32>() as f32;
        // Σ (x_b,i - 1/2) d_i with d = R (c_j - c): (√P / 2) ⟨x̄, d⟩.
        let shift = if lists > 0 {
            let d = self
                .rotated_lists
                .get(list * padded..(list + 1) * padded)
                .unwrap_or(&[]);
            d.iter()
                .enumerate()
                .map(|(i, x)| {
                    let bit = out[i / 64] >> (i % 64) & 1 == 1;
                    f64::from(*x) * if bit { 0.5 } else { -0.5 }
                })
                .sum::<f64>() as f32
        } else {
            0.0
        };
        let list = list as u32;
        // ⟨x̄, o_r⟩ = Σ|o_r,i| / √P with o_r = rotated / r.
        let root = (padded as f64).sqrt();
        let o_dot = if r > 0.0 {
            abs_sum / f64::from(r) / root
        } else {
            0.0
        };
        if o_dot <= 1e-6 {
            // A vector at the centroid: the estimate of ⟨o - c, q - c⟩ is exactly 0.
            return Factors::exact_zero(popcount, add, list, shift);
        }
        Factors {
            scale: (2.0 * f64::from(r) / (root * o_dot)) as f32,
            popcount,
            error: error_bound(r, o_dot, padded),
            add,
            list,
            shift,
        }
    }

    /// The vector a code stands for (`c + r R⁻¹ x̄`, the code's best guess; used only when
    /// no exact vector is at hand).
    pub fn decode_into(&self, block: &[u64], out: &mut Vec<f32>) {
        let (code, f) = self.split(block);
        let centre = self.list_centroid(f.list as usize);
        let padded = self.padded;
        let root = (padded as f32).sqrt();
        // scale = 2 r / (√P ⟨x̄,o_r⟩) and ⟨x̄,o_r⟩ is close to its high-dimensional
        // expectation √(2/π), so r ≈ scale √P √(2/π) / 2.
        let r = f.scale * root * std::f32::consts::FRAC_2_PI.sqrt() / 2.0;
        let mut x: Vec<f32> = if self.bits != 1 {
            self.decode_ex(code, f.scale)
        } else {
            (0..padded)
                .map(|i| {
                    let bit = code.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1);
                    if bit { r / root } else { -r / root }
                })
                .collect()
        };
        let scale = 1.0 / root;
        for round in self.signs.chunks_exact(padded).rev() {
            hadamard(&mut x);
            for (v, s) in x.iter_mut().zip(round) {
                *v *= s * scale;
            }
        }
        out.clear();
        out.extend(x.iter().zip(centre).map(|(v, c)| v + c));
    }

    /// A stored block's code and factors.
    #[inline]
    pub fn split<'b>(&self, block: &'b [u64]) -> (&'b [u64], Folded) {
        let w = self.words();
        let f = match block.get(w..) {
            Some(&[a, b]) => Folded::unpack([a, b]),
            _ => Folded::default(),
        };
        (&block[..w.min(block.len())], f)
    }

    /// The estimated internal distance (lower is better) from `q` to a stored block (code
    /// and factors), and its error bound.
    #[inline]
    pub fn estimate(&self, q: &RabitqQuery, block: &[u64]) -> (f32, f32) {
        let (code, f) = self.split(block);
        let raw = if q.planes.is_empty() {
            kernels().dot_u4_u8(code, &q.bytes) as f32
        } else {
            kernels().and_popcount_planes(code, &q.planes) as f32
        };
        // The product without the list's shift, which `constant` holds (see `Folded`).
        let ip = f.scale * (q.delta * raw - q.half_sum) + q.low * f.scaled_sum;
        let (base, norm) = if q.list_terms.is_empty() {
            (q.base, q.norm)
        } else {
            self.query_terms(q, f.list)
        };
        let err = f.error * norm;
        if q.l2 {
            (base + f.constant - 2.0 * ip, 2.0 * err)
        } else {
            (-(ip + base + f.constant), err)
        }
    }
}

#[cfg(test)]
mod tests;
