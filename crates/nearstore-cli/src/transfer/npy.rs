//! `.npy` files holding a 2-D matrix of little-endian `f32` (`<f4`) or `f64` (`<f8`) in C
//! order: the subset of NumPy's format that vector data uses. Written by hand because the
//! header is one small Python-literal dict; a general crate would pull in a parser for all
//! of Python's literal syntax.

use anyhow::{Context, bail};

const MAGIC: &[u8] = b"\x93NUMPY";

/// A row-major matrix read from a `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of columns (the vector dimension).
    pub cols: usize,
    /// `rows * cols` values.
    pub data: Vec<f32>,
}

#[cfg(test)]
impl Matrix {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.cols).unwrap_or(0)
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// The value of `key` in the header dict, as the raw text up to the next top-level comma.
fn header_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with('(') {
        let end = rest.find(')')?;
        return Some(&rest[..=end]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// Parses a `.npy` file's bytes; every length is checked against the bytes present.
pub fn decode(bytes: &[u8]) -> anyhow::Result<Matrix> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        bail!("not a .npy file (bad magic)");
    }
    let (header_len, start) = match bytes[6] {
        1 => (
            usize::from(u16::from_le_bytes([bytes[8], bytes[9]])),
            10usize,
        ),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => bail!(".npy format version {v} is not supported"),
    };
    let end = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .context(".npy header runs past the end of the file")?;
    let header = std::str::from_utf8(&bytes[start..end]).context(".npy header is not text")?;
    let descr = header_field(header, "descr").context(".npy header has no descr")?;
    let width = match descr.trim_matches(|c| c == '\'' || c == '"') {
        "<f4" => 4,
        "<f8" => 8,
        other => {
            bail!(".npy dtype {other} is not supported (use little-endian float32 or float64)")
        }
    };
    if header_field(header, "fortran_order") != Some("False") {
        bail!(".npy data must be in C order (fortran_order False)");
    }
    let shape = header_field(header, "shape").context(".npy header has no shape")?;
    let dims: Vec<usize> = shape
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().context("bad .npy shape"))
        .collect::<anyhow::Result<_>>()?;
    let [rows, cols] = dims[..] else {
        bail!(".npy shape {shape} is not 2-D (rows, dimension)");
    };
    let count = rows.checked_mul(cols).context(".npy shape overflows")?;
    let body = &bytes[end..];
    if Some(body.len()) != count.checked_mul(width) {
        bail!(
            ".npy shape {shape} needs {count} values, the file holds {} bytes of data",
            body.len()
        );
    }
    let data = if width == 4 {
        body.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        body.chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                f64::from_le_bytes(a) as f32
            })
            .collect()
    };
    Ok(Matrix { cols, data })
}

/// Encodes rows of `cols` `f32` values as a version-1 `.npy` file.
pub fn encode(cols: usize, data: &[f32]) -> Vec<u8> {
    let rows = data.len().checked_div(cols).unwrap_or(0);
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Pad with spaces so the data starts on a 64-byte boundary; the header ends in '\n'.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in data {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_matrix_round_trips_and_the_data_is_aligned() {
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        let bytes = encode(4, &data);
        assert_eq!((bytes.len() - data.len() * 4) % 64, 0);
        let m = decode(&bytes).unwrap();
        assert_eq!((m.rows(), m.cols), (3, 4));
        assert_eq!(m.row(2), &data[8..12]);
    }

    #[test]
    fn unsupported_or_inconsistent_files_are_clear_errors() {
        let mut bytes = encode(2, &[1.0, 2.0]);
        let mut other = bytes.clone();
        let at = other.windows(3).position(|w| w == b"<f4").unwrap();
        other[at + 1..at + 3].copy_from_slice(b"i8");
        assert!(decode(&other).unwrap_err().to_string().contains("<i8"));
        bytes.pop();
        assert!(
            decode(&bytes)
                .unwrap_err()
                .to_string()
                .contains("needs 2 values")
        );
        assert!(decode(b"hello").is_err());
    }

    proptest! {
        #[test]
        fn damaged_files_never_panic(cut in 0usize..200, flip in 0usize..200, bit in 0u8..8) {
            let mut bytes = encode(3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
            if flip < bytes.len() {
                bytes[flip] ^= 1 << bit;
            }
            bytes.truncate(cut.min(bytes.len()));
            let _ = decode(&bytes);
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut b = MAGIC.to_vec();
            b.extend_from_slice(&bytes);
            let _ = decode(&b);
        }
    }
}
