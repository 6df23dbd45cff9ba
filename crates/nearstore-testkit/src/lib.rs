//! Test fixtures for NearStore (not published): seeded vector generators, the shared data
//! directory, the driver of `kill -9` torture tests ([`kill9`]), and (re-exported from
//! `nearstore_storage::vecfile`, their one implementation) the TEXMEX / `.npy` readers and
//! recall@k against a ground truth.
//!
//! It depends only on `nearstore-storage` (the bottom layer, which owns every file format),
//! so every layer can use it in tests and benches; no user-facing command depends on it.

pub mod kill9;

use std::path::{Path, PathBuf};

pub use nearstore_storage::Error;
pub use nearstore_storage::vecfile::{
    Rows, read_bvecs, read_fvecs, read_ivecs, read_npy, recall_at_k, write_npy, write_texmex,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` seeded vectors of `dim` components uniform in [-1, 1), row-major.
pub fn random_vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect())
        .collect()
}

/// The shared benchmark data directory (`../shared/data` beside the repository).
pub fn shared_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_vectors_are_seeded_and_in_range() {
        let a = random_vectors(5, 3, 1);
        assert_eq!(a, random_vectors(5, 3, 1));
        assert_ne!(a, random_vectors(5, 3, 2));
        assert!(a.iter().flatten().all(|x| (-1.0..1.0).contains(x)));
        assert_eq!((a.len(), a[4].len()), (5, 3));
    }

    #[test]
    fn the_shared_wordnet_query_file_reads_through_the_reexport() {
        let path = shared_data_dir().join("wordnet-dev/query.fvecs");
        if let Ok(rows) = read_fvecs(&path) {
            assert_eq!((rows.len(), rows.dim), (500, 384));
        } else {
            assert!(!path.exists(), "present but unreadable: {}", path.display());
        }
    }
}
