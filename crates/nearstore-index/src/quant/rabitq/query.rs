//! Preparing a query against a codebook: rotated once relative to the global centroid and
//! quantized (bit planes for 1-bit codes, bytes for extended ones); the per-list terms are
//! computed on first use.

use nearstore_distance::kernels;

use super::{QUERY_BITS, RabitqCodebook, RabitqQuery};

impl RabitqCodebook {
    /// Prepares a query (already prepared by the index's space).
    pub fn prepare(&self, q: &[f32]) -> RabitqQuery {
        let mut rotated = Vec::new();
        let norm = self.rotate_from(q, &self.centroid, &mut rotated);
        let base = if self.l2 {
            norm * norm
        } else {
            q.iter()
                .zip(&self.centroid)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum::<f64>() as f32
        };
        let query = if self.lists.is_empty() {
            Vec::new()
        } else {
            q.to_vec()
        };
        let list_terms = vec![std::cell::Cell::new((f32::NAN, f32::NAN)); self.list_count()];
        if self.bits != 1 {
            let (bytes, delta, low, sum) = Self::quantize_query_bytes(&rotated);
            let top = ((1u32 << self.bits) - 1) as f32;
            return RabitqQuery {
                planes: Vec::new(),
                bytes,
                delta,
                low,
                half_sum: sum * top / 2.0,
                norm,
                base,
                l2: self.l2,
                query,
                list_terms,
                scan_bytes: Vec::new(),
                scan_low: 0.0,
                scan_delta: 0.0,
            };
        }
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
        let (scan_bytes, scan_delta, scan_low, _) = if self.lists.is_empty() {
            (Vec::new(), 0.0, 0.0, 0.0)
        } else {
            Self::quantize_query_bytes(&rotated)
        };
        let half_sum = (rotated.len() as f32 * low + delta * code_sum as f32) / 2.0;
        RabitqQuery {
            planes,
            bytes: Vec::new(),
            delta,
            low,
            half_sum,
            norm,
            base,
            l2: self.l2,
            query,
            list_terms,
            scan_bytes,
            scan_low,
            scan_delta,
        }
    }

    /// The query's `(base, norm)` terms relative to the centroid of `list` (computed on
    /// first use); the global ones without lists or for a list out of range.
    #[inline]
    pub(super) fn query_terms(&self, q: &RabitqQuery, list: u32) -> (f32, f32) {
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
}
