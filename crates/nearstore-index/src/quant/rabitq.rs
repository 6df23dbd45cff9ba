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
//! `and_popcount_planes` kernel). Per vector the index keeps the code and four floats
//! ([`Factors`]); the estimate costs one kernel call and a few multiply-adds.
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

/// Most local centroids a codebook holds.
pub const LISTS_MAX: usize = 1024;

/// Training rows per local centroid (a sample of `n` rows gets `n / ROWS_PER_LIST` lists,
/// at most [`LISTS_MAX`]).
const ROWS_PER_LIST: usize = 16;

/// Lists are kept only when they bring the sample's mean squared distance to its centre
/// below this share of the distance to the global centroid.
const LISTS_MIN_GAIN: f64 = 0.5;

/// Most words of packed [`Factors`] after each code: 3 with lists, 2 without (the list
/// and shift are then always 0 and not stored).
pub const FACTOR_WORDS: usize = 3;

/// Bytes of [`Factors::to_bytes`] (checkpoints from before local centroids hold
/// [`FACTOR_BYTES_V1`]).
pub const FACTOR_BYTES: usize = 24;

/// Bytes of the factors of a checkpoint written before local centroids (no list, no shift).
pub const FACTOR_BYTES_V1: usize = 16;

/// The per-vector correction factors of a code.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Factors {
    /// `2 r / (√P ⟨x̄, o_r⟩)`: scales the code's raw product into the estimate.
    pub scale: f32,
    /// `popcount(x_b)`.
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
    /// `P`: the rotation's dimension and the bits of a code (a power of two, at least the
    /// dimension and 64).
    padded: usize,
}

/// A query prepared against a codebook.
#[derive(Debug, Clone)]
pub struct RabitqQuery {
    /// The bit planes of the quantized rotated query (`QUERY_BITS` planes of `P / 64`
    /// words, plane-major).
    pub planes: Vec<u64>,
    delta: f32,
    low: f32,
    /// `Σ q̃ᵢ / 2` of the quantized rotated query.
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
}

/// The Walsh-Hadamard transform of `x` (length a power of two), in place, unnormalized
/// (it scales norms by `√len`; callers fold the normalization into one pass).
fn hadamard(x: &mut [f32]) {
    let n = x.len();
    // The first four stages inside blocks of 16 (fixed-size, unrolled), the rest in
    // long vectorizable runs.
    let (blocks, _) = x.as_chunks_mut::<16>();
    for b in blocks {
        for h in [1, 2, 4, 8] {
            for i in 0..16 {
                if i & h == 0 {
                    let (a, c) = (b[i], b[i + h]);
                    b[i] = a + c;
                    b[i + h] = a - c;
                }
            }
        }
    }
    let mut h = if n >= 16 { 16 } else { 1 };
    while h < n {
        for block in x.chunks_exact_mut(2 * h) {
            let (lo, hi) = block.split_at_mut(h);
            for (a, b) in lo.iter_mut().zip(hi.iter_mut()) {
                let (s, d) = (*a + *b, *a - *b);
                *a = s;
                *b = d;
            }
        }
        h *= 2;
    }
}

impl RabitqCodebook {
    /// Trains on `sample` (rows of `dim` values, already prepared by the index's space):
    /// the centroid is their mean, the rotation is drawn from `seed`.
    pub fn train(dim: usize, sample: &[&[f32]], l2: bool, seed: u64) -> Self {
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
            padded,
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
    pub fn padded(&self) -> usize {
        self.padded
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.centroid.len()
    }

    /// 64-bit words per code.
    pub fn words(&self) -> usize {
        self.padded / 64
    }

    /// 64-bit words per stored block: the code, then its [`Factors::pack`]ed factors.
    pub fn stride(&self) -> usize {
        self.words() + self.factor_words()
    }

    /// Words of packed factors after each code (the list and shift only with lists).
    pub fn factor_words(&self) -> usize {
        if self.lists.is_empty() {
            FACTOR_WORDS - 1
        } else {
            FACTOR_WORDS
        }
    }

    /// Writes `f` after the code in `block` (a whole stored block).
    #[inline]
    pub fn write_factors(&self, f: Factors, block: &mut [u64]) {
        let w = self.words();
        let n = self.factor_words();
        if let Some(dst) = block.get_mut(w..w + n) {
            dst.copy_from_slice(&f.pack()[..n]);
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
        out.fill(0);
        let mut abs_sum = 0f64;
        for (i, x) in rotated.iter().enumerate() {
            if *x > 0.0 {
                out[i / 64] |= 1 << (i % 64);
            }
            abs_sum += f64::from(x.abs());
        }
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
            return Factors {
                scale: 0.0,
                popcount,
                error: 0.0,
                add,
                list,
                shift,
            };
        }
        let spread = (1.0 / (o_dot * o_dot) - 1.0).max(0.0).sqrt();
        Factors {
            scale: (2.0 * f64::from(r) / (root * o_dot)) as f32,
            popcount,
            error: (f64::from(r) * f64::from(EPSILON0) * spread / (padded as f64 - 1.0).sqrt())
                as f32,
            add,
            list,
            shift,
        }
    }

    /// Prepares a query (already prepared by the index's space).
    pub fn prepare(&self, q: &[f32]) -> RabitqQuery {
        let mut rotated = Vec::new();
        let norm = self.rotate_from(q, &self.centroid, &mut rotated);
        let words = self.words();
        let low = rotated.iter().copied().fold(f32::INFINITY, f32::min);
        let high = rotated.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let levels = ((1u32 << QUERY_BITS) - 1) as f32;
        let delta = if high > low && (high - low).is_finite() {
            (high - low) / levels
        } else {
            0.0
        };
        let mut planes = vec![0u64; QUERY_BITS * words];
        let mut code_sum = 0u64;
        let inv = if delta > 0.0 { 1.0 / delta } else { 0.0 };
        for (w, chunk) in rotated.chunks_exact(64).enumerate() {
            let mut bits = [0u64; QUERY_BITS];
            for (i, x) in chunk.iter().enumerate() {
                // Round to nearest (the value is non-negative; `as` saturates).
                let u = (((x - low) * inv + 0.5) as u64).min(levels as u64);
                code_sum += u;
                for (j, b) in bits.iter_mut().enumerate() {
                    *b |= ((u >> j) & 1) << i;
                }
            }
            for (j, b) in bits.into_iter().enumerate() {
                planes[j * words + w] = b;
            }
        }
        let low = if low.is_finite() { low } else { 0.0 };
        let half_sum = (rotated.len() as f32 * low + delta * code_sum as f32) / 2.0;
        let base = if self.l2 {
            norm * norm
        } else {
            q.iter()
                .zip(&self.centroid)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum::<f64>() as f32
        };
        RabitqQuery {
            planes,
            delta,
            low,
            half_sum,
            norm,
            base,
            l2: self.l2,
            query: if self.lists.is_empty() {
                Vec::new()
            } else {
                q.to_vec()
            },
            list_terms: vec![std::cell::Cell::new((f32::NAN, f32::NAN)); self.list_count()],
        }
    }

    /// The query's `(base, norm)` terms relative to the centroid of `list` (computed on
    /// first use); the global ones without lists or for a list out of range.
    #[inline]
    fn query_terms(&self, q: &RabitqQuery, list: u32) -> (f32, f32) {
        let Some(cell) = q.list_terms.get(list as usize) else {
            return (q.base, q.norm);
        };
        let terms = cell.get();
        if !terms.0.is_nan() {
            return terms;
        }
        let k = kernels();
        let centre = self.list_centroid(list as usize);
        let sq = k.l2sq_f32(&q.query, centre);
        let base = if self.l2 {
            sq
        } else {
            k.dot_f32(&q.query, centre)
        };
        let terms = (base, sq.max(0.0).sqrt());
        cell.set(terms);
        terms
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
        let mut x: Vec<f32> = (0..padded)
            .map(|i| {
                let bit = code.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1);
                if bit { r / root } else { -r / root }
            })
            .collect();
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
    pub fn split<'b>(&self, block: &'b [u64]) -> (&'b [u64], Factors) {
        let w = self.words();
        let f = match block.get(w..) {
            Some(&[a, b]) => Factors::unpack([a, b, 0]),
            Some(&[a, b, c]) => Factors::unpack([a, b, c]),
            _ => Factors::default(),
        };
        (&block[..w.min(block.len())], f)
    }

    /// The estimated internal distance (lower is better) from `q` to a stored block (code
    /// and factors), and its error bound.
    #[inline]
    pub fn estimate(&self, q: &RabitqQuery, block: &[u64]) -> (f32, f32) {
        let (code, f) = self.split(block);
        let raw = kernels().and_popcount_planes(code, &q.planes) as f32;
        let ip = f.scale * (q.delta * raw + q.low * f.popcount - q.half_sum - f.shift);
        let (base, norm) = if q.list_terms.is_empty() {
            (q.base, q.norm)
        } else {
            self.query_terms(q, f.list)
        };
        let err = f.error * norm;
        if q.l2 {
            (base + f.add - 2.0 * ip, 2.0 * err)
        } else {
            (-(ip + base + f.add), err)
        }
    }

    /// Flat little-endian form: `dim` (u32), the metric byte (bit 0: L2; bits 1-4: `log2`
    /// of `P` over the smallest `P` of `dim`, 0 in codebooks written before
    /// [`MIN_CODE_BITS`]), the centroid, the signs as bits (`ROUNDS * P / 8` bytes), then,
    /// when there are local centroids, their count (u32) and their values.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.dim() as u32).to_le_bytes());
        let growth = (self.padded / Self::legacy_padded_dim(self.dim())).trailing_zeros();
        out.push(u8::from(self.l2) | (growth as u8) << 1);
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
        if flags >> 5 != 0 {
            return None;
        }
        // At most 2^15 times the smallest `P`: a damaged byte cannot ask for a huge rotation.
        let padded = Self::legacy_padded_dim(dim).checked_shl(u32::from(flags >> 1))?;
        let want = 5usize
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
        let centroid: Vec<f32> = bytes[5..5 + dim * 4]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if centroid.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let signs = bytes[5 + dim * 4..]
            .iter()
            .flat_map(|b| (0..8).map(move |i| if b >> i & 1 == 1 { 1.0 } else { -1.0 }))
            .collect();
        let mut book = RabitqCodebook {
            centroid,
            signs,
            l2,
            lists,
            rotated_lists: Vec::new(),
            padded,
        };
        book.rotate_lists();
        Some(book)
    }
}

impl Factors {
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
    /// list 0, no shift); `None` for a non-finite or impossible value (`padded` bounds the
    /// popcount, `lists` the list: 0 means no lists, so only list 0).
    pub fn from_bytes(b: &[u8], padded: usize, lists: usize) -> Option<Self> {
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
            && (0.0..=padded as f32).contains(&f.popcount)
            && (f.list as usize) < lists.max(1);
        ok.then_some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect())
            .collect()
    }

    #[test]
    fn the_rotation_keeps_norms_and_inner_products() {
        let data = rows(3, 100, 1);
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let book = RabitqCodebook::train(100, &refs, true, 7);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let na = book.rotate_centered(&data[0], &mut a);
        book.rotate_centered(&data[1], &mut b);
        assert_eq!(a.len(), MIN_CODE_BITS);
        let centered =
            |v: &[f32]| -> Vec<f32> { v.iter().zip(&book.centroid).map(|(x, c)| x - c).collect() };
        let (ca, cb) = (centered(&data[0]), centered(&data[1]));
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        assert!((dot(&a, &a).sqrt() - na).abs() < 1e-3);
        assert!((dot(&a, &b) - dot(&ca, &cb)).abs() < 1e-3);
    }

    #[test]
    fn estimates_are_close_and_mostly_inside_their_bound() {
        for l2 in [true, false] {
            let data = rows(400, 96, 2);
            let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
            let book = RabitqCodebook::train(96, &refs, l2, 3);
            let q = &rows(1, 96, 9)[0];
            let pq = book.prepare(q);
            let mut block = vec![0u64; book.stride()];
            let (mut inside, mut abs_err) = (0, 0f32);
            for v in &data {
                let w = book.words();
                let f = book.encode(v, &mut block[..w]);
                book.write_factors(f, &mut block);
                assert_eq!(book.split(&block).1, f);
                let (est, bound) = book.estimate(&pq, &block);
                let exact = if l2 {
                    v.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f32>()
                } else {
                    -v.iter().zip(q).map(|(a, b)| a * b).sum::<f32>()
                };
                abs_err += (est - exact).abs();
                // The bound covers the code's error; the 4-bit query adds a little.
                if (est - exact).abs() <= bound * 1.1 + 0.05 {
                    inside += 1;
                }
            }
            assert!(
                inside >= 390,
                "l2={l2}: only {inside} of 400 inside the bound"
            );
            let scale = if l2 { 64.0 } else { 10.0 };
            assert!(
                abs_err / 400.0 < scale * 0.2,
                "mean error {}",
                abs_err / 400.0
            );
        }
    }

    /// `n` rows around 16 centres far apart (each centre uniform in [-8, 8), spread 0.5).
    fn clustered(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let centres = rows(16, dim, 77);
        let noise = rows(n, dim, seed);
        noise
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let c = &centres[i % 16];
                c.iter().zip(e).map(|(c, e)| c * 8.0 + e * 0.5).collect()
            })
            .collect()
    }

    /// Mean absolute error of the estimates of `data` against `q` under `book`, and how
    /// many exact distances fell inside estimate ± bound.
    fn estimate_error(book: &RabitqCodebook, data: &[Vec<f32>], q: &[f32]) -> (f32, usize) {
        let pq = book.prepare(q);
        let w = book.words();
        let mut block = vec![0u64; book.stride()];
        let (mut err, mut inside) = (0f32, 0);
        for v in data {
            let f = book.encode(v, &mut block[..w]);
            book.write_factors(f, &mut block);
            assert_eq!(book.split(&block).1, f);
            let (est, bound) = book.estimate(&pq, &block);
            let exact = if book.l2 {
                v.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f32>()
            } else {
                -v.iter().zip(q).map(|(a, b)| a * b).sum::<f32>()
            };
            err += (est - exact).abs();
            if (est - exact).abs() <= bound * 1.1 + 0.05 {
                inside += 1;
            }
        }
        (err / data.len() as f32, inside)
    }

    #[test]
    fn local_centroids_shrink_the_error_on_clustered_data() {
        for l2 in [true, false] {
            let data = clustered(1600, 64, 11);
            let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
            let book = RabitqCodebook::train(64, &refs, l2, 3);
            assert!(book.list_count() >= 2, "clustered data keeps its lists");
            let global = RabitqCodebook::train_with_lists(64, &refs, l2, 3, Vec::new());
            let q = &clustered(17, 64, 12)[16];
            let (local_err, inside) = estimate_error(&book, &data, q);
            let (global_err, _) = estimate_error(&global, &data, q);
            assert!(
                inside >= 1560,
                "l2={l2}: only {inside} of 1600 inside the bound"
            );
            assert!(
                local_err * 2.0 < global_err,
                "l2={l2}: lists' mean error {local_err} against {global_err} without"
            );
            // The codebook with its lists survives the round trip; a cut tail is refused.
            let bytes = book.to_bytes();
            let back = RabitqCodebook::from_bytes(64, &bytes);
            assert_eq!(back.as_ref(), Some(&book));
            assert_eq!(
                RabitqCodebook::from_bytes(64, &bytes[..bytes.len() - 1]),
                None
            );
            let mut zero_lists = bytes.clone();
            let at = global.to_bytes().len();
            zero_lists[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
            assert_eq!(RabitqCodebook::from_bytes(64, &zero_lists), None);
        }
        // Uniform data gains too little from lists to pay for them.
        let flat = rows(1600, 64, 13);
        let refs: Vec<&[f32]> = flat.iter().map(Vec::as_slice).collect();
        assert_eq!(RabitqCodebook::train(64, &refs, true, 3).list_count(), 0);
    }

    #[test]
    fn codebooks_and_factors_round_trip_and_damage_is_refused() {
        let data = rows(10, 70, 4);
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let book = RabitqCodebook::train(70, &refs, false, 5);
        let bytes = book.to_bytes();
        assert_eq!(RabitqCodebook::from_bytes(70, &bytes), Some(book.clone()));
        assert_eq!(RabitqCodebook::from_bytes(71, &bytes), None);
        assert_eq!(RabitqCodebook::from_bytes(70, &bytes[1..]), None);
        let mut flags = bytes.clone();
        flags[4] |= 1 << 5;
        assert_eq!(RabitqCodebook::from_bytes(70, &flags), None, "unknown flag");
        let p = book.padded();
        assert_eq!(p, MIN_CODE_BITS);
        let mut code = vec![0u64; book.words()];
        let f = book.encode(&data[0], &mut code);
        assert_eq!(Factors::from_bytes(&f.to_bytes(), p, 0), Some(f));
        let mut bad = f.to_bytes();
        bad[4..8].copy_from_slice(&1000f32.to_le_bytes());
        assert_eq!(Factors::from_bytes(&bad, p, 0), None, "popcount above P");
        let mut far = f.to_bytes();
        far[16..20].copy_from_slice(&5u32.to_le_bytes());
        assert_eq!(
            Factors::from_bytes(&far, p, 5),
            None,
            "list beyond the lists"
        );
        assert!(Factors::from_bytes(&far, p, 6).is_some());
        let v1 = &f.to_bytes()[..FACTOR_BYTES_V1];
        assert_eq!(
            Factors::from_bytes(v1, p, 0),
            Some(f),
            "an older checkpoint's factors"
        );
    }

    #[test]
    fn codebooks_from_before_the_longer_codes_keep_their_code_length() {
        let data = rows(10, 70, 4);
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        for l2 in [false, true] {
            // The layout of a codebook written before `MIN_CODE_BITS`: `P` = 128 at 70-d,
            // the metric byte 0 or 1.
            let old = RabitqCodebook::train_padded(70, &refs, l2, 5, Vec::new(), 64);
            assert_eq!(old.padded(), 128);
            assert_eq!(old.words(), 2);
            let bytes = old.to_bytes();
            assert_eq!(bytes[4], u8::from(l2));
            assert_eq!(bytes.len(), 5 + 70 * 4 + ROUNDS * 128 / 8);
            let back = RabitqCodebook::from_bytes(70, &bytes);
            assert_eq!(back.as_ref().map(RabitqCodebook::padded), Some(128));
            assert_eq!(back, Some(old));
            // A new one records its longer code.
            let new = RabitqCodebook::train(70, &refs, l2, 5);
            assert_eq!(new.padded(), MIN_CODE_BITS);
            let bytes = new.to_bytes();
            assert_eq!(bytes[4], u8::from(l2) | 2 << 1);
            assert_eq!(RabitqCodebook::from_bytes(70, &bytes), Some(new));
        }
    }

    #[test]
    fn longer_codes_estimate_closer() {
        // 128-d clustered data: 512-bit codes against 128-bit ones.
        let data = clustered(1600, 128, 21);
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let q = &clustered(17, 128, 22)[16];
        let short = RabitqCodebook::train_padded(128, &refs, true, 3, Vec::new(), 128);
        let long = RabitqCodebook::train_with_lists(128, &refs, true, 3, Vec::new());
        assert_eq!((short.padded(), long.padded()), (128, MIN_CODE_BITS));
        let (short_err, _) = estimate_error(&short, &data, q);
        let (long_err, inside) = estimate_error(&long, &data, q);
        assert!(inside >= 1560, "only {inside} of 1600 inside the bound");
        assert!(
            long_err * 1.5 < short_err,
            "512 bits' mean error {long_err} against {short_err} with 128"
        );
    }
}
