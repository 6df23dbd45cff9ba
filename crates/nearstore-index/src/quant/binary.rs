//! Binary codes: bit `i` is set when `x_i` is above the training sample's mean of dimension
//! `i` (the sign after centering); codes are compared by Hamming distance (popcount of the
//! XOR, `Kernels::hamming_bits`). One bit keeps too little to rank the final results, so a
//! binary index always rescores its candidates with the exact vectors.

/// The centering of a binary code.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryCodebook {
    /// Mean of each dimension over the training sample.
    pub mean: Vec<f32>,
}

impl BinaryCodebook {
    /// Trains on `sample` (rows of `dim` values).
    pub fn train(dim: usize, sample: &[&[f32]]) -> Self {
        let mut sum = vec![0f64; dim];
        for r in sample {
            for (s, x) in sum.iter_mut().zip(r.iter()) {
                *s += f64::from(*x);
            }
        }
        let n = sample.len().max(1) as f64;
        BinaryCodebook {
            mean: sum.into_iter().map(|s| (s / n) as f32).collect(),
        }
    }

    /// 64-bit words per code.
    pub fn words(&self) -> usize {
        self.mean.len().div_ceil(64)
    }

    /// Writes the code of `v` into `out` (`words()` long).
    pub fn encode(&self, v: &[f32], out: &mut [u64]) {
        out.fill(0);
        for (i, (x, m)) in v.iter().zip(&self.mean).enumerate() {
            if x > m {
                out[i / 64] |= 1 << (i % 64);
            }
        }
    }

    /// Flat little-endian form of the means.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.mean.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// Reads [`BinaryCodebook::to_bytes`]; `None` unless exactly `dim` finite means.
    pub fn from_bytes(dim: usize, bytes: &[u8]) -> Option<Self> {
        if bytes.len() != dim * 4 {
            return None;
        }
        let mean: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        mean.iter()
            .all(|x| x.is_finite())
            .then_some(BinaryCodebook { mean })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_signs_after_centering() {
        let rows = [vec![0.0f32; 70], vec![2.0f32; 70]];
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let book = BinaryCodebook::train(70, &refs);
        assert_eq!(book.words(), 2);
        let mut v = vec![0.0f32; 70];
        v[3] = 1.5;
        v[69] = 1.5;
        let mut code = [0u64; 2];
        book.encode(&v, &mut code);
        assert_eq!(code, [1 << 3, 1 << 5]);
        assert_eq!(BinaryCodebook::from_bytes(70, &book.to_bytes()), Some(book));
    }
}
