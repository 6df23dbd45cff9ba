//! PQ (product quantization): the dimensions are cut into `m` contiguous subspaces, each
//! with its own 256 centroids trained by k-means (`quant::kmeans`) on a sample; a vector's
//! code is the index of its nearest centroid in every subspace, `m` bytes.
//!
//! Distances are asymmetric (ADC): a query builds a lookup table of its partial distance
//! to every centroid of every subspace (`m x 256` floats: squared L2, or the negated dot
//! product for the metrics that rank by dot), and a candidate's distance is the sum of one
//! entry per subspace (`Kernels::adc_f32_u8`). That sum is exactly the internal distance to
//! the decoded vector, so the table walk ranks as the decoded vectors would.
//!
//! Subspaces split `dim` as evenly as possible (the first `dim % m` get one dimension
//! more), so any `dim` works. The default `m` is `dim / 4` (at least 1): 4 dimensions per
//! byte, the same code size as the FAISS IVF-PQ peer of `bench/peers.sh`.

use nearstore_distance::scalar::ADC_ROW;

use super::kmeans;

/// Dimensions per subspace by default.
pub const DIMS_PER_SUBSPACE: usize = 4;

/// Centroids per subspace (one byte of code).
pub const CENTROIDS: usize = 256;

/// At most this many sample rows train the centroids (about 40 per centroid, enough for
/// k-means with 256 centres; more only costs training time).
pub const PQ_TRAIN_SAMPLE: usize = 40 * CENTROIDS;

/// The default number of subspaces for `dim`.
pub fn default_subspaces(dim: usize) -> usize {
    (dim / DIMS_PER_SUBSPACE).max(1)
}

/// Centroids of every subspace.
#[derive(Debug, Clone, PartialEq)]
pub struct PqCodebook {
    dim: usize,
    m: usize,
    /// Subspace `j`'s centroid `c` is `centroids[256 * start(j) + c * width(j)..][..width(j)]`
    /// (`256 * dim` values in all).
    centroids: Vec<f32>,
    /// The same values dimension-major: `by_dim[256 * d + c]` is dimension `d` of centroid
    /// `c` of `d`'s subspace (derived, not persisted). Building a query's table walks it
    /// contiguously over the 256 centroids, a loop the compiler vectorizes: the first
    /// measurement, one kernel call per 4-d centroid, spent ~0.5 ms a query on the table.
    by_dim: Vec<f32>,
}

/// A query's lookup table (`m x 256` partial distances).
#[derive(Debug, Clone)]
pub struct PqQuery {
    /// Row `j` holds the partial distance of the query to each centroid of subspace `j`.
    pub table: Vec<f32>,
}

impl PqCodebook {
    /// First dimension of subspace `j` (`j <= m`).
    #[inline]
    fn start(&self, j: usize) -> usize {
        j * (self.dim / self.m) + j.min(self.dim % self.m)
    }

    /// The dimensions of subspace `j`.
    #[inline]
    fn range(&self, j: usize) -> std::ops::Range<usize> {
        self.start(j)..self.start(j + 1)
    }

    /// Centroid `c` of subspace `j`.
    #[inline]
    fn centroid(&self, j: usize, c: usize) -> &[f32] {
        let r = self.range(j);
        let w = r.len();
        let at = CENTROIDS * r.start + c * w;
        &self.centroids[at..at + w]
    }

    /// Trains `m` subspaces (clamped to `1..=dim`) on `sample` (rows of `dim` values; an
    /// evenly spaced `PQ_TRAIN_SAMPLE` of them at most). With fewer than 256 rows the
    /// missing centroids repeat the last one (never nearer than it, so never chosen).
    pub fn train(dim: usize, m: usize, sample: &[&[f32]], seed: u64) -> Self {
        let m = m.clamp(1, dim.max(1));
        let step = sample.len().div_ceil(PQ_TRAIN_SAMPLE).max(1);
        let rows: Vec<&[f32]> = sample.iter().step_by(step).copied().collect();
        let mut book = PqCodebook {
            dim,
            m,
            centroids: Vec::with_capacity(CENTROIDS * dim),
            by_dim: Vec::new(),
        };
        for j in 0..m {
            let r = book.range(j);
            let w = r.len();
            let sub: Vec<&[f32]> = rows.iter().map(|row| &row[r.clone()]).collect();
            let mut c = kmeans::train(&sub, w, CENTROIDS, seed.wrapping_add(j as u64));
            if c.is_empty() {
                c = vec![0.0; w];
            }
            while c.len() < CENTROIDS * w {
                let last = c.len() - w;
                c.extend_from_within(last..last + w);
            }
            book.centroids.extend_from_slice(&c);
        }
        book.by_dim = book.transposed();
        book
    }

    /// [`PqCodebook::by_dim`] from the centroids.
    fn transposed(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.centroids.len()];
        for j in 0..self.m {
            let r = self.range(j);
            for c in 0..CENTROIDS {
                for (i, &x) in self.centroid(j, c).iter().enumerate() {
                    out[CENTROIDS * (r.start + i) + c] = x;
                }
            }
        }
        out
    }

    /// Bytes held (centroids twice: as persisted and dimension-major).
    pub fn memory_bytes(&self) -> usize {
        (self.centroids.len() + self.by_dim.len()) * 4
    }

    /// Subspaces, i.e. code bytes per vector.
    pub fn subspaces(&self) -> usize {
        self.m
    }

    /// Writes the code of `v` (`dim` values) into `out` (`m` bytes).
    pub fn encode(&self, v: &[f32], out: &mut [u8]) {
        for (j, o) in out.iter_mut().enumerate().take(self.m) {
            let r = self.range(j);
            let w = r.len();
            let c = kmeans::nearest(
                &self.centroids[CENTROIDS * r.start..][..CENTROIDS * w],
                w,
                &v[r],
            );
            *o = c as u8;
        }
    }

    /// The vector a code stands for.
    pub fn decode_into(&self, code: &[u8], out: &mut Vec<f32>) {
        out.clear();
        for (j, &c) in code.iter().enumerate().take(self.m) {
            out.extend_from_slice(self.centroid(j, usize::from(c)));
        }
    }

    /// The lookup table of `q` (already prepared: normalized for cosine): squared L2
    /// partial distances, or negated partial dot products when `by_dot`.
    pub fn prepare(&self, q: &[f32], by_dot: bool) -> PqQuery {
        let mut table = vec![0f32; self.m * ADC_ROW];
        for (j, row) in table.chunks_exact_mut(ADC_ROW).enumerate() {
            for d in self.range(j) {
                let qd = q.get(d).copied().unwrap_or(0.0);
                let column = &self.by_dim[CENTROIDS * d..CENTROIDS * (d + 1)];
                if by_dot {
                    for (t, &x) in row.iter_mut().zip(column) {
                        *t -= qd * x;
                    }
                } else {
                    for (t, &x) in row.iter_mut().zip(column) {
                        let e = qd - x;
                        *t += e * e;
                    }
                }
            }
        }
        PqQuery { table }
    }

    /// Flat little-endian form: `m` (u32), then the centroids.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.centroids.len() * 4);
        out.extend_from_slice(&(self.m as u32).to_le_bytes());
        out.extend(self.centroids.iter().flat_map(|x| x.to_le_bytes()));
        out
    }

    /// Reads [`PqCodebook::to_bytes`]; `None` unless `1 <= m <= dim` and exactly
    /// `256 * dim` finite centroid values follow.
    pub fn from_bytes(dim: usize, bytes: &[u8]) -> Option<Self> {
        let (head, rest) = bytes.split_first_chunk::<4>()?;
        let m = u32::from_le_bytes(*head) as usize;
        if m == 0 || m > dim || rest.len() != CENTROIDS.checked_mul(dim)?.checked_mul(4)? {
            return None;
        }
        let centroids: Vec<f32> = rest
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if !centroids.iter().all(|x| x.is_finite()) {
            return None;
        }
        let mut book = PqCodebook {
            dim,
            m,
            centroids,
            by_dim: Vec::new(),
        };
        book.by_dim = book.transposed();
        Some(book)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nearstore_distance::kernels;

    fn rows(n: usize, dim: usize) -> Vec<Vec<f32>> {
        (0..n)
            .map(|i| {
                (0..dim)
                    .map(|j| {
                        (((i * 31 + j * 17) % 97) as f32 / 50.0 - 1.0) * (1.0 + j as f32 * 0.1)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn subspaces_split_any_dimension_and_codes_round_trip_through_bytes() {
        let data = rows(600, 10);
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let book = PqCodebook::train(10, 3, &refs, 7);
        assert_eq!(book.subspaces(), 3);
        let widths: Vec<usize> = (0..3).map(|j| book.range(j).len()).collect();
        assert_eq!(widths, vec![4, 3, 3]);
        assert_eq!(book.start(3), 10);
        let mut code = [0u8; 3];
        let mut back = Vec::new();
        for r in &data {
            book.encode(r, &mut code);
            book.decode_into(&code, &mut back);
            assert_eq!(back.len(), 10);
            // Each subspace's centroid is the nearest one: no other is closer.
            for j in 0..3 {
                let sub = &r[book.range(j)];
                let d =
                    |c: &[f32]| -> f32 { sub.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum() };
                let chosen = d(book.centroid(j, usize::from(code[j])));
                assert!((0..CENTROIDS).all(|c| d(book.centroid(j, c)) >= chosen - 1e-5));
            }
        }
        assert_eq!(
            PqCodebook::from_bytes(10, &book.to_bytes()),
            Some(book.clone())
        );
        assert_eq!(PqCodebook::from_bytes(11, &book.to_bytes()), None);
        let mut bad = book.to_bytes();
        bad[0..4].copy_from_slice(&11u32.to_le_bytes());
        assert_eq!(PqCodebook::from_bytes(10, &bad), None, "m > dim");
        let mut nan = book.to_bytes();
        nan[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(PqCodebook::from_bytes(10, &nan), None);
        assert_eq!(PqCodebook::from_bytes(10, &[1, 0]), None);
    }

    #[test]
    fn the_table_walk_equals_the_distance_to_the_decoded_vector() {
        let data = rows(400, 16);
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let book = PqCodebook::train(16, default_subspaces(16), &refs, 1);
        assert_eq!(book.subspaces(), 4);
        let q: Vec<f32> = (0..16).map(|j| (j as f32 * 0.37).sin()).collect();
        let l2 = book.prepare(&q, false);
        let dot = book.prepare(&q, true);
        let mut code = [0u8; 4];
        let mut back = Vec::new();
        for r in &data {
            book.encode(r, &mut code);
            book.decode_into(&code, &mut back);
            let want_l2: f32 = q.iter().zip(&back).map(|(a, b)| (a - b) * (a - b)).sum();
            let want_dot: f32 = -q.iter().zip(&back).map(|(a, b)| a * b).sum::<f32>();
            let got_l2 = kernels().adc_f32_u8(&l2.table, &code);
            let got_dot = kernels().adc_f32_u8(&dot.table, &code);
            assert!((got_l2 - want_l2).abs() < 1e-3, "{got_l2} vs {want_l2}");
            assert!((got_dot - want_dot).abs() < 1e-3, "{got_dot} vs {want_dot}");
        }
    }

    #[test]
    fn a_tiny_sample_still_gives_a_full_codebook() {
        let data = rows(5, 8);
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let book = PqCodebook::train(8, 2, &refs, 3);
        assert_eq!(book.to_bytes().len(), 4 + 256 * 8 * 4);
        let mut code = [0u8; 2];
        let mut back = Vec::new();
        for r in &data {
            book.encode(r, &mut code);
            book.decode_into(&code, &mut back);
            assert_eq!(&back, r, "five rows, five exact centroids");
        }
    }
}
