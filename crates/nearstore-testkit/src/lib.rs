//! Test fixtures for NearStore (not published): TEXMEX `.fvecs`/`.ivecs` readers, seeded
//! vector generators, recall measurement against a ground truth, and the driver of `kill -9`
//! torture tests ([`kill9`]).
//!
//! It depends on no other NearStore crate, so every layer can use it in tests and benches.

pub mod kill9;

use std::fs;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Errors reading data files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a well-formed `.fvecs`/`.ivecs` file.
    #[error("{path} is malformed at byte {offset}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Rows of equal length read from a TEXMEX file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows<T> {
    /// Values per row.
    pub dim: usize,
    /// Row-major values.
    pub data: Vec<T>,
}

impl<T> Rows<T> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when there is no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// Parses the TEXMEX layout: each row is an `i32` count then that many 4-byte values, all
/// rows the same length. Every count is checked against the bytes left before it is used.
pub fn parse_texmex<T>(
    bytes: &[u8],
    path: &Path,
    decode: fn([u8; 4]) -> T,
) -> Result<Rows<T>, Error> {
    let bad = |offset: usize, reason: String| Error::Malformed {
        path: path.to_path_buf(),
        offset,
        reason,
    };
    // Size the output from the first row so it is allocated once (no doubling copies).
    let first = bytes.get(..4).map_or(0, |h| {
        i32::from_le_bytes([h[0], h[1], h[2], h[3]]).max(0) as usize
    });
    let rows_guess = bytes.len() / (4 + first * 4).max(4);
    let mut data = Vec::with_capacity(rows_guess * first);
    let mut dim = None;
    let mut at = 0;
    while at < bytes.len() {
        let head: [u8; 4] = bytes
            .get(at..at + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| bad(at, "row header cut short".into()))?;
        let n = i32::from_le_bytes(head);
        let n = usize::try_from(n).map_err(|_| bad(at, format!("negative row length {n}")))?;
        if *dim.get_or_insert(n) != n {
            return Err(bad(at, format!("row of {n} values in a file of {dim:?}")));
        }
        let end = at + 4 + n * 4;
        let row = bytes
            .get(at + 4..end)
            .ok_or_else(|| bad(at, format!("row of {n} values runs past the end")))?;
        data.extend(
            row.chunks_exact(4)
                .map(|c| decode([c[0], c[1], c[2], c[3]])),
        );
        at = end;
    }
    Ok(Rows {
        dim: dim.unwrap_or(0),
        data,
    })
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads an `.fvecs` file (f32 rows).
pub fn read_fvecs(path: impl AsRef<Path>) -> Result<Rows<f32>, Error> {
    let path = path.as_ref();
    parse_texmex(&read(path)?, path, f32::from_le_bytes)
}

/// Reads an `.ivecs` file (i32 rows).
pub fn read_ivecs(path: impl AsRef<Path>) -> Result<Rows<i32>, Error> {
    let path = path.as_ref();
    parse_texmex(&read(path)?, path, i32::from_le_bytes)
}

/// `n` seeded vectors of `dim` components uniform in [-1, 1), row-major.
pub fn random_vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect())
        .collect()
}

/// Recall@k of `found` against the first `k` ids of `truth` (fraction of the true top k
/// that were found).
pub fn recall_at_k(found: &[u64], truth: &[u64], k: usize) -> f64 {
    let k = k.min(truth.len());
    if k == 0 {
        return 1.0;
    }
    let hits = truth[..k]
        .iter()
        .filter(|t| found.iter().take(k).any(|f| f == *t))
        .count();
    hits as f64 / k as f64
}

/// The shared benchmark data directory (`../shared/data` beside the repository).
pub fn shared_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(rows: &[Vec<f32>]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in rows {
            out.extend_from_slice(&(r.len() as i32).to_le_bytes());
            for x in r {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        out
    }

    #[test]
    fn fvecs_round_trip() {
        let rows = random_vectors(5, 3, 1);
        let parsed = parse_texmex(&encode(&rows), Path::new("x"), f32::from_le_bytes).unwrap();
        assert_eq!(parsed.len(), 5);
        assert_eq!(parsed.row(4), rows[4].as_slice());
    }

    #[test]
    fn malformed_files_are_errors_not_panics() {
        let mut bytes = encode(&random_vectors(2, 3, 1));
        bytes.truncate(bytes.len() - 1);
        assert!(parse_texmex(&bytes, Path::new("x"), f32::from_le_bytes).is_err());
        let huge = i32::MAX.to_le_bytes();
        assert!(parse_texmex(&huge, Path::new("x"), f32::from_le_bytes).is_err());
        let mixed = [
            encode(&random_vectors(1, 3, 1)),
            encode(&random_vectors(1, 2, 1)),
        ]
        .concat();
        assert!(parse_texmex(&mixed, Path::new("x"), f32::from_le_bytes).is_err());
    }

    #[test]
    fn recall_counts_true_neighbours_found() {
        assert_eq!(recall_at_k(&[1, 2, 3], &[3, 2, 9], 3), 2.0 / 3.0);
        assert_eq!(recall_at_k(&[], &[], 10), 1.0);
    }

    #[test]
    fn the_shared_wordnet_query_file_reads_when_present() {
        let path = shared_data_dir().join("wordnet-dev/query.fvecs");
        if let Ok(rows) = read_fvecs(&path) {
            assert_eq!((rows.len(), rows.dim), (500, 384));
        } else {
            assert!(!path.exists(), "present but unreadable: {}", path.display());
        }
    }
}
