//! SQ8: one byte per dimension. Dimension `i` maps `[lo_i, lo_i + 255 * step_i]` onto the
//! codes 0..=255 (values outside are clamped); the range covers a share (the quantile,
//! by default 0.998: the 0.1% and 99.9% quantiles) of a training sample's values, so a few
//! outliers do not stretch it for everyone.
//!
//! Distances are asymmetric: the query stays `f32`. With `x̂ = lo + step ∘ c`,
//! `q·x̂ = q·lo + (q ∘ step)·c`, so one `f32` x `u8` dot product per candidate
//! (`Kernels::dot_f32_u8`) plus a per-query constant gives the dot product, and
//! `|q - x̂|² = |q|² - 2 q·x̂ + |x̂|²` the squared L2 distance with `|x̂|²` stored per row.

/// A query's weights as bytes (see [`Sq8Query::bytes`]).
#[derive(Debug, Clone)]
pub struct QueryBytes {
    /// The byte weights.
    pub codes: Vec<u8>,
    /// Value of byte 0.
    pub lo: f32,
    /// Value step between consecutive bytes.
    pub step: f32,
}

impl QueryBytes {
    fn quantize(w: &[f32]) -> Self {
        let lo = w.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = w.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if hi <= lo || !hi.is_finite() || !lo.is_finite() {
            return QueryBytes {
                codes: vec![0; w.len()],
                lo: if lo.is_finite() { lo } else { 0.0 },
                step: 0.0,
            };
        }
        let step = (hi - lo) / 255.0;
        let codes = w
            .iter()
            .map(|x| ((x - lo) / step).round().clamp(0.0, 255.0) as u8)
            .collect();
        QueryBytes { codes, lo, step }
    }
}

/// Per-dimension ranges of an SQ8 code.
#[derive(Debug, Clone, PartialEq)]
pub struct Sq8Codebook {
    /// Value of code 0, per dimension.
    pub lo: Vec<f32>,
    /// Value step between consecutive codes, per dimension (0 for a constant dimension).
    pub step: Vec<f32>,
}

/// A query prepared against a codebook.
#[derive(Debug, Clone)]
pub struct Sq8Query {
    /// `q ∘ step`.
    pub weights: Vec<f32>,
    /// `weights` quantized to bytes: `weights_i ≈ weights_lo + weights_step * bytes_i`, for
    /// the exact integer `u8` x `u8` kernel (`Kernels::dot_u8`, VNNI where present); `None`
    /// when the query is scored with the `f32` weights.
    pub bytes: Option<QueryBytes>,
    /// `q · lo`.
    pub bias: f32,
    /// `|q|²`.
    pub norm_sq: f32,
}

impl Sq8Codebook {
    /// Trains on `sample` (rows of `dim` values; at least one row), each dimension's range
    /// covering the share `quantile` (0.5..=1.0) of its values, the rest clipped evenly at
    /// both ends (1.0: from the smallest value to the largest).
    pub fn train(dim: usize, sample: &[&[f32]], quantile: f32) -> Self {
        let clip = ((1.0 - f64::from(quantile)) / 2.0).clamp(0.0, 0.25);
        let mut lo = Vec::with_capacity(dim);
        let mut step = Vec::with_capacity(dim);
        let mut column: Vec<f32> = Vec::with_capacity(sample.len());
        for i in 0..dim {
            column.clear();
            column.extend(sample.iter().map(|r| r[i]));
            column.sort_unstable_by(f32::total_cmp);
            let n = column.len();
            let (a, b) = if n == 0 {
                (0.0, 0.0)
            } else {
                let at = |q: f64| column[((q * (n - 1) as f64).round() as usize).min(n - 1)];
                (at(clip), at(1.0 - clip))
            };
            lo.push(a);
            step.push(if b > a { (b - a) / 255.0 } else { 0.0 });
        }
        Sq8Codebook { lo, step }
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.lo.len()
    }

    /// Writes the code of `v` into `out` and returns `|x̂|²` of the decoded vector.
    pub fn encode(&self, v: &[f32], out: &mut [u8]) -> f32 {
        let mut norm = 0f64;
        for (i, (o, &x)) in out.iter_mut().zip(v).enumerate() {
            let (lo, step) = (self.lo[i], self.step[i]);
            let c = if step > 0.0 {
                ((x - lo) / step).round().clamp(0.0, 255.0) as u8
            } else {
                0
            };
            *o = c;
            let d = f64::from(lo + step * f32::from(c));
            norm += d * d;
        }
        norm as f32
    }

    /// The vector a code stands for.
    pub fn decode_into(&self, code: &[u8], out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            code.iter()
                .zip(self.lo.iter().zip(&self.step))
                .map(|(&c, (&lo, &step))| lo + step * f32::from(c)),
        );
    }

    /// Prepares a query; `integer` also quantizes its weights to bytes (the faster, slightly
    /// coarser traversal distance searches use; linking uses the `f32` weights).
    pub fn prepare(&self, q: &[f32], integer: bool) -> Sq8Query {
        let weights: Vec<f32> = q.iter().zip(&self.step).map(|(x, s)| x * s).collect();
        let bytes = integer.then(|| QueryBytes::quantize(&weights));
        let bias = q
            .iter()
            .zip(&self.lo)
            .map(|(x, l)| f64::from(*x) * f64::from(*l))
            .sum::<f64>() as f32;
        let norm_sq = q.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>() as f32;
        Sq8Query {
            weights,
            bytes,
            bias,
            norm_sq,
        }
    }

    /// Flat little-endian form: `lo` then `step`.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.lo
            .iter()
            .chain(&self.step)
            .flat_map(|x| x.to_le_bytes())
            .collect()
    }

    /// Reads [`Sq8Codebook::to_bytes`]; `None` unless exactly `dim` finite ranges.
    pub fn from_bytes(dim: usize, bytes: &[u8]) -> Option<Self> {
        if bytes.len() != dim * 8 {
            return None;
        }
        let floats: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if floats.iter().any(|x| !x.is_finite()) || floats[dim..].iter().any(|s| *s < 0.0) {
            return None;
        }
        Some(Sq8Codebook {
            lo: floats[..dim].to_vec(),
            step: floats[dim..].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nearstore_distance::kernels;

    #[test]
    fn ranges_ignore_outliers_and_codes_round_trip_within_half_a_step() {
        let mut rows: Vec<Vec<f32>> = (0..2000)
            .map(|i| vec![(i % 100) as f32 / 100.0, 5.0])
            .collect();
        rows[7][0] = 1e6; // one outlier must not stretch the range
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let book = Sq8Codebook::train(2, &refs, crate::quant::SQ8_DEFAULT_QUANTILE);
        assert!(book.lo[0] <= 0.01 && book.lo[0] + 255.0 * book.step[0] <= 1.0);
        assert_eq!(book.step[1], 0.0, "a constant dimension");
        let mut code = [0u8; 2];
        let mut back = Vec::new();
        for r in rows.iter().filter(|r| r[0] < 1.0) {
            let norm = book.encode(r, &mut code);
            book.decode_into(&code, &mut back);
            assert!((back[0] - r[0]).abs() <= book.step[0] * 0.5 + 1e-6);
            assert_eq!(back[1], 5.0);
            assert!((norm - (back[0] * back[0] + 25.0)).abs() < 1e-3);
        }
        book.encode(&[1e6, 5.0], &mut code);
        assert_eq!(code[0], 255, "clamped");
        assert_eq!(
            Sq8Codebook::from_bytes(2, &book.to_bytes()),
            Some(book.clone())
        );
        assert_eq!(Sq8Codebook::from_bytes(3, &book.to_bytes()), None);
    }

    #[test]
    fn the_quantile_sets_how_much_of_the_sample_the_range_covers() {
        // 0.00, 0.01, ..., 0.99 twenty times over, and one outlier.
        let mut rows: Vec<Vec<f32>> = (0..2000).map(|i| vec![(i % 100) as f32 / 100.0]).collect();
        rows[7][0] = 1e3;
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let hi = |b: &Sq8Codebook| b.lo[0] + 255.0 * b.step[0];
        let whole = Sq8Codebook::train(1, &refs, 1.0);
        assert_eq!((whole.lo[0], hi(&whole)), (0.0, 1e3), "the whole range");
        let half = Sq8Codebook::train(1, &refs, 0.5);
        assert!((half.lo[0] - 0.25).abs() < 0.011, "{}", half.lo[0]);
        assert!((hi(&half) - 0.74).abs() < 0.011, "{}", hi(&half));
        let default = Sq8Codebook::train(1, &refs, crate::quant::SQ8_DEFAULT_QUANTILE);
        assert!(default.lo[0] <= 0.01 && hi(&default) <= 1.0);
    }

    #[test]
    fn the_asymmetric_dot_equals_the_dot_with_the_decoded_vector() {
        let rows: Vec<Vec<f32>> = (0..300)
            .map(|i| {
                (0..37)
                    .map(|j| ((i * 31 + j * 17) % 97) as f32 / 50.0 - 1.0)
                    .collect()
            })
            .collect();
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let book = Sq8Codebook::train(37, &refs, crate::quant::SQ8_DEFAULT_QUANTILE);
        let q: Vec<f32> = (0..37).map(|j| (j as f32 * 0.37).sin()).collect();
        let pq = book.prepare(&q, false);
        let pb = book.prepare(&q, true);
        let qb = pb.bytes.as_ref().unwrap();
        let mut code = vec![0u8; 37];
        let mut back = Vec::new();
        for r in &rows {
            book.encode(r, &mut code);
            book.decode_into(&code, &mut back);
            let want: f32 = q.iter().zip(&back).map(|(a, b)| a * b).sum();
            let got = pq.bias + kernels().dot_f32_u8(&pq.weights, &code);
            assert!((got - want).abs() < 1e-3, "{got} vs {want}");
            let code_sum: f32 = code.iter().map(|&c| f32::from(c)).sum();
            let int =
                pb.bias + qb.lo * code_sum + qb.step * kernels().dot_u8(&qb.codes, &code) as f32;
            // Each byte weight is within half a step: the error is at most that times Σc.
            assert!(
                (int - want).abs() <= qb.step * 0.5 * code_sum + 1e-3,
                "{int} vs {want}"
            );
        }
    }
}
