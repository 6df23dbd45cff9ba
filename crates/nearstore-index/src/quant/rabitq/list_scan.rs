//! The scan for the list whose centre is nearest a query.
//!
//! A search on local centroids can start inside the query's nearest list instead of
//! descending the graph's upper layers to find its way there (see `hnsw/list_entries.rs`).
//! Finding that list exactly would cost a full `f32` distance to every centre (1,024 of them
//! at 128-d: more than the whole descent). The scan works on the rotated query instead,
//! already computed for the estimator: `|q - c_j|² = |q - c|² + |c_j - c|² - 2 ⟨q', r_j⟩`
//! with `q' = R (q - c)` and `r_j = R (c_j - c)` (the rotation keeps inner products), `q'`
//! as bytes (`q' ≈ low + Δ u`) and `r_j` as signed bytes with a scale a list (`r_j ≈ s_j
//! v_j`), so `⟨q', r_j⟩ ≈ s_j (low Σ v_j + Δ ⟨u, v_j⟩)`. The lists' bytes are interleaved
//! sixteen lists a block for the distance crate's `dot_u8_i8_x16` (one `vpdpbusd` takes
//! four coordinates of sixteen lists), at most 128 coordinates of each ([`SCAN_COORDS`]):
//! 1,024 lists are 128 KiB and about a microsecond and a half. The result only picks where
//! a search starts: the bytes' rounding can swap lists whose centres lie close together
//! inside one cluster, not a near list for a far one (the unit test's), and
//! comparing the best few exactly changed neither the nodes a search scored nor its recall
//! on the mixtures measured (see the README).

use nearstore_distance::kernels;
use nearstore_distance::scalar::{BLOCK_GROUP, BLOCK_ROWS};

/// Largest magnitude of a list's signed bytes.
const LEVELS: f32 = 127.0;

/// Most rotated coordinates the scan reads. The rotation spreads every vector evenly over
/// its `P` coordinates, so the first `W` of them give `(W / P) ⟨q', r_j⟩` on average: with
/// `P` above 128 (1-bit codes: at least 512) the scan reads 128 and scales the product up,
/// which keeps it at 128 bytes a list whatever the dimension (128 KiB for 1,024 lists)
/// instead of growing with it; the estimate is noisier, still far finer than the distance
/// between clusters.
const SCAN_COORDS: usize = 128;

/// The lists' rotated offsets as interleaved signed bytes, with the terms of the scan;
/// derived from the lists (never persisted).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct ListScan {
    /// `ceil(lists / 16)` blocks of `16 W` bytes (`W`: the coordinates scanned, `P` up to
    /// [`SCAN_COORDS`]): byte `64 g + 4 j + t` of a block is coordinate `4 g + t` of its list
    /// `j` (lists past the last are zeros).
    blocks: Vec<i8>,
    /// `P`, the query's bytes.
    padded: usize,
    /// `W`.
    width: usize,
    /// `P / W`.
    stretch: f32,
    /// Per list: `s_j`, `s_j Σ v_j` (over the `W` coordinates) and `|c_j - c|²` (over all
    /// `P`); as many as the blocks have rows (the rows past the last list: 0, 0 and +inf,
    /// never nearest).
    scale: Vec<f32>,
    scaled_sum: Vec<f32>,
    offset_sq: Vec<f32>,
}

impl ListScan {
    /// The scan of `rotated` (`R (c_j - c)` of every list, `padded` values each).
    pub(super) fn new(rotated: &[f32], padded: usize) -> Self {
        if padded == 0 || !padded.is_multiple_of(4) {
            return ListScan::default();
        }
        let lists = rotated.len() / padded;
        let rows = lists.div_ceil(BLOCK_ROWS) * BLOCK_ROWS;
        let width = padded.min(SCAN_COORDS);
        let mut scan = ListScan {
            blocks: vec![0; rows * width],
            padded,
            width,
            stretch: padded as f32 / width as f32,
            scale: Vec::with_capacity(rows),
            scaled_sum: Vec::with_capacity(rows),
            offset_sq: Vec::with_capacity(rows),
        };
        for (j, whole) in rotated.chunks_exact(padded).enumerate() {
            let r = &whole[..width];
            let top = r.iter().fold(0f32, |m, x| m.max(x.abs()));
            let scale = if top > 0.0 && top.is_finite() {
                top / LEVELS
            } else {
                0.0
            };
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            let block = j / BLOCK_ROWS * BLOCK_ROWS * width;
            let row = j % BLOCK_ROWS;
            let mut sum = 0i32;
            for (i, x) in r.iter().enumerate() {
                // `as` saturates; the value is within ±127 by the choice of scale.
                let v = (x * inv).round().clamp(-LEVELS, LEVELS) as i8;
                sum += i32::from(v);
                scan.blocks[block + BLOCK_GROUP * (i / 4) + 4 * row + i % 4] = v;
            }
            scan.scale.push(scale);
            scan.scaled_sum.push(scale * sum as f32);
            scan.offset_sq.push(
                whole
                    .iter()
                    .map(|x| f64::from(*x) * f64::from(*x))
                    .sum::<f64>() as f32,
            );
        }
        scan.scale.resize(rows, 0.0);
        scan.scaled_sum.resize(rows, 0.0);
        scan.offset_sq.resize(rows, f32::INFINITY);
        scan
    }

    /// The list `j` with the least estimated `|q - c_j|²` among those `usable` accepts (asked
    /// only of a list nearer than the best so far), from the query's rotated offset as bytes
    /// (`q' ≈ low + delta u`, `P` of them); `None` without lists or when none is usable.
    pub(super) fn nearest(
        &self,
        u: &[u8],
        low: f32,
        delta: f32,
        usable: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        if u.len() != self.padded {
            return None;
        }
        let u = &u[..self.width];
        let (low, delta) = (low * self.stretch, delta * self.stretch);
        let k = kernels();
        let (scales, _) = self.scale.as_chunks::<BLOCK_ROWS>();
        let (sums, _) = self.scaled_sum.as_chunks::<BLOCK_ROWS>();
        let (squares, _) = self.offset_sq.as_chunks::<BLOCK_ROWS>();
        let terms = scales.iter().zip(sums).zip(squares);
        let blocks = self.blocks.chunks_exact(BLOCK_ROWS * self.width);
        let mut best: (f32, Option<usize>) = (f32::INFINITY, None);
        for (b, (block, ((scale, sum), square))) in blocks.zip(terms).enumerate() {
            let dots = k.dot_u8_i8_x16(u, block);
            // `|q - c_j|² - |q - c|²` of the block's sixteen lists (vectorized).
            let d: [f32; BLOCK_ROWS] = std::array::from_fn(|r| {
                square[r] - 2.0 * (low * sum[r] + delta * scale[r] * dots[r] as f32)
            });
            if d.iter().any(|&x| x < best.0) {
                for (r, &x) in d.iter().enumerate() {
                    let j = b * BLOCK_ROWS + r;
                    if x < best.0 && usable(j) {
                        best = (x, Some(j));
                    }
                }
            }
        }
        best.1
    }
}

impl super::RabitqQuery {
    /// The rotated query as bytes, with their `low` and `delta`, for the scan.
    fn scan_query(&self) -> (&[u8], f32, f32) {
        if self.planes.is_empty() {
            (&self.bytes, self.low, self.delta)
        } else {
            (&self.scan_bytes, self.scan_low, self.scan_delta)
        }
    }
}

impl super::RabitqCodebook {
    /// The list whose centre the scan finds nearest the query (in L2, whatever the metric:
    /// it is where the query lies, not a ranking) among those `usable` accepts; `None`
    /// without lists or when none is usable.
    pub fn nearest_list(
        &self,
        q: &super::RabitqQuery,
        usable: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let (u, low, delta) = q.scan_query();
        self.scan.nearest(u, low, delta, usable)
    }
}
