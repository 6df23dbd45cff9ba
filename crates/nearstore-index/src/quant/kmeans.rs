//! Lloyd's k-means over a training sample, for the local centroids of RaBitQ codes.
//!
//! Written here rather than taken from a crate: it is a few dozen lines over the distance
//! crate's own L2 kernel (the SIMD one the index uses everywhere), seeded and reproducible,
//! with the assignment step in parallel (rayon). Owns nothing but the clustering; depends
//! only on the distance kernels.

use nearstore_distance::kernels;
use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Lloyd iterations (the centroids only steer which local centre a code is relative to:
/// a rough clustering already shrinks `|o - c|` most of the way).
const ITERATIONS: usize = 6;

/// The index of the row of `centroids` (`dim` values each) nearest to `v` in L2.
pub fn nearest(centroids: &[f32], dim: usize, v: &[f32]) -> usize {
    let k = kernels();
    let mut best = (f32::INFINITY, 0);
    for (j, c) in centroids.chunks_exact(dim.max(1)).enumerate() {
        let d = k.l2sq_f32(v, c);
        if d < best.0 {
            best = (d, j);
        }
    }
    best.1
}

/// `count` centroids (row-major, `count * dim` values) of `sample` (rows of `dim` values):
/// seeded from distinct sample rows, then refined by Lloyd's iterations (an emptied
/// cluster keeps its previous centre). Fewer rows than `count` gives one centroid a row.
pub fn train(sample: &[&[f32]], dim: usize, count: usize, seed: u64) -> Vec<f32> {
    let count = count.min(sample.len());
    if count == 0 || dim == 0 {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centroids: Vec<f32> = index::sample(&mut rng, sample.len(), count)
        .into_iter()
        .flat_map(|i| sample[i].iter().copied())
        .collect();
    for _ in 0..ITERATIONS {
        let owner: Vec<usize> = sample
            .par_iter()
            .map(|v| nearest(&centroids, dim, v))
            .collect();
        let mut sums = vec![0f64; count * dim];
        let mut sizes = vec![0usize; count];
        for (v, &j) in sample.iter().zip(&owner) {
            sizes[j] += 1;
            for (s, x) in sums[j * dim..(j + 1) * dim].iter_mut().zip(v.iter()) {
                *s += f64::from(*x);
            }
        }
        for (j, &size) in sizes.iter().enumerate() {
            if size > 0 {
                for (c, s) in centroids[j * dim..(j + 1) * dim]
                    .iter_mut()
                    .zip(&sums[j * dim..(j + 1) * dim])
                {
                    *c = (s / size as f64) as f32;
                }
            }
        }
    }
    centroids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_clusters_get_one_centroid_each() {
        // Four tight clusters far apart on a line in 3-d.
        let rows: Vec<Vec<f32>> = (0..200)
            .map(|i| {
                let centre = (i % 4) as f32 * 100.0;
                vec![centre + (i % 7) as f32 * 0.1, (i % 3) as f32 * 0.1, 0.0]
            })
            .collect();
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let c = train(&refs, 3, 4, 1);
        assert_eq!(c.len(), 12);
        let mut firsts: Vec<i32> = c
            .chunks_exact(3)
            .map(|r| (r[0] / 100.0).round() as i32)
            .collect();
        firsts.sort_unstable();
        assert_eq!(firsts, vec![0, 1, 2, 3], "centroids {c:?}");
        for r in &rows {
            let j = nearest(&c, 3, r);
            assert!((c[j * 3] - r[0]).abs() < 1.0);
        }
        assert!(
            train(&refs[..2], 3, 4, 1).len() == 6,
            "at most one centroid a row"
        );
        assert!(train(&[], 3, 4, 1).is_empty());
    }
}
