//! NumPy `.npy` files holding a 2-D matrix of little-endian `f32` (`<f4`) or `f64` (`<f8`)
//! in C order: the subset of the format vector data uses. Layout: the magic `\x93NUMPY`, a
//! major and minor version byte, the header's length (`u16` in version 1, `u32` in 2 and
//! 3), the header (a Python dict literal, `{'descr': '<f4', 'fortran_order': False,
//! 'shape': (rows, cols), }`, space-padded, ending in `\n`), then `rows * cols` values.
//!
//! Written by hand (not with a crate) because the header is one small dict of three known
//! keys; a general `.npy` crate brings a parser for Python literals and every dtype, and
//! none we found streams rows from a reader with the bounds this module promises.
//!
//! The writer reserves a fixed 128-byte preamble and header and writes the row count into
//! it at [`NpyWriter::finish`], so rows stream out without being counted first.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{MAX_NPY_HEADER_LEN, MAX_ROW_LEN, create, damaged, open_with_len, read_full};
use crate::error::{Error, Result};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Bytes before the data in a file [`NpyWriter`] writes: magic, version, header length and a
/// header padded to fill it (a multiple of 64, as NumPy aligns its data).
const WRITTEN_PREAMBLE: usize = 128;

/// The element type of an `.npy` matrix this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyDtype {
    /// `<f4`.
    F32,
    /// `<f8`, narrowed to `f32` when read.
    F64,
}

impl NpyDtype {
    fn width(self) -> usize {
        match self {
            NpyDtype::F32 => 4,
            NpyDtype::F64 => 8,
        }
    }
}

/// The value of `key` in the header dict, as the raw text up to the next top-level comma
/// (a parenthesized tuple whole).
fn header_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    // `'key'` is ASCII, so `at` lands on a character boundary.
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with('(') {
        let end = rest.find(')')?;
        return Some(&rest[..=end]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// What an `.npy` header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    dtype: NpyDtype,
    rows: u64,
    cols: usize,
}

/// Checks the header text; `at` is its offset in the file, for errors.
fn parse_header(text: &str, path: &Path, at: u64) -> Result<Header> {
    let bad = |reason: String| damaged(path, at, format!("npy header: {reason}"));
    let trimmed = text.trim_end_matches([' ', '\n', '\0']);
    if !(trimmed.starts_with('{') && trimmed.ends_with('}')) {
        return Err(bad("not a dict literal".into()));
    }
    let descr = header_field(text, "descr").ok_or_else(|| bad("no 'descr'".into()))?;
    let dtype = match descr.trim_matches(|c| c == '\'' || c == '"') {
        "<f4" => NpyDtype::F32,
        "<f8" => NpyDtype::F64,
        other => {
            return Err(Error::InvalidArgument(format!(
                "{}: .npy dtype {other} is not supported (use little-endian float32 or float64)",
                path.display()
            )));
        }
    };
    match header_field(text, "fortran_order") {
        Some("False") => {}
        Some("True") => {
            return Err(Error::InvalidArgument(format!(
                "{}: .npy data must be in C order (fortran_order False)",
                path.display()
            )));
        }
        _ => return Err(bad("no valid 'fortran_order'".into())),
    }
    let shape = header_field(text, "shape").ok_or_else(|| bad("no 'shape'".into()))?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| bad(format!("shape {shape} is not a tuple")))?;
    let dims = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u64>())
        .collect::<std::result::Result<Vec<u64>, _>>()
        .map_err(|_| bad(format!("shape {shape} is not a tuple of integers")))?;
    let [rows, cols] = dims[..] else {
        return Err(Error::InvalidArgument(format!(
            "{}: .npy shape {shape} is not 2-D (rows, dimension)",
            path.display()
        )));
    };
    let cols = usize::try_from(cols)
        .ok()
        .filter(|c| (1..=MAX_ROW_LEN).contains(c))
        .ok_or_else(|| bad(format!("{cols} columns is outside 1..={MAX_ROW_LEN}")))?;
    Ok(Header { dtype, rows, cols })
}

/// Streams the rows of an `.npy` matrix as `f32`.
#[derive(Debug)]
pub struct NpyReader<R = BufReader<File>> {
    inner: R,
    path: PathBuf,
    header: Header,
    /// Rows read so far.
    next: u64,
    /// Bytes consumed so far.
    offset: u64,
    /// Whether the source's length is known (then it was checked against the shape).
    len_known: bool,
    /// Set after the end or an error: no more rows.
    done: bool,
    bytes: Vec<u8>,
}

impl NpyReader {
    /// Opens `path` and reads its header; the file's length must be exactly what the
    /// header's shape needs.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let (file, len) = open_with_len(path)?;
        NpyReader::new(file, path, Some(len))
    }
}

impl<R: Read> NpyReader<R> {
    /// Reads and checks the header from `inner`, which holds `len` bytes when known; `path`
    /// names the source in errors.
    pub fn new(mut inner: R, path: impl Into<PathBuf>, len: Option<u64>) -> Result<Self> {
        let path = path.into();
        let mut pre = [0u8; 12];
        let got = read_full(&mut inner, &mut pre[..8], &path)?;
        if got < 8 || &pre[..6] != MAGIC {
            return Err(damaged(&path, 0, "not an .npy file (no \\x93NUMPY magic)"));
        }
        let (header_len, start) = match pre[6] {
            1 => {
                if read_full(&mut inner, &mut pre[8..10], &path)? < 2 {
                    return Err(damaged(&path, 8, "the file ends inside the header length"));
                }
                (usize::from(u16::from_le_bytes([pre[8], pre[9]])), 10u64)
            }
            2 | 3 => {
                if read_full(&mut inner, &mut pre[8..12], &path)? < 4 {
                    return Err(damaged(&path, 8, "the file ends inside the header length"));
                }
                let n = u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]);
                (usize::try_from(n).unwrap_or(usize::MAX), 12)
            }
            v => {
                return Err(damaged(
                    &path,
                    6,
                    format!(".npy format version {v} is not one of 1, 2, 3"),
                ));
            }
        };
        if header_len > MAX_NPY_HEADER_LEN || len.is_some_and(|len| start + header_len as u64 > len)
        {
            return Err(damaged(
                &path,
                8,
                format!("header length {header_len} runs past the file or {MAX_NPY_HEADER_LEN}"),
            ));
        }
        let mut text = vec![0u8; header_len];
        let got = read_full(&mut inner, &mut text, &path)?;
        if got < header_len {
            return Err(damaged(&path, start, "the file ends inside the header"));
        }
        let text = std::str::from_utf8(&text)
            .map_err(|e| damaged(&path, start, format!("npy header is not text: {e}")))?;
        let header = parse_header(text, &path, start)?;
        let data_at = start + header_len as u64;
        let data_bytes = header
            .rows
            .checked_mul((header.cols * header.dtype.width()) as u64)
            .ok_or_else(|| damaged(&path, start, "the shape's byte count overflows"))?;
        if let Some(len) = len
            && len - data_at != data_bytes
        {
            return Err(damaged(
                &path,
                data_at,
                format!(
                    "shape ({}, {}) needs {data_bytes} bytes of data, the file holds {}",
                    header.rows,
                    header.cols,
                    len - data_at
                ),
            ));
        }
        Ok(NpyReader {
            inner,
            path,
            header,
            next: 0,
            offset: data_at,
            len_known: len.is_some(),
            done: false,
            bytes: Vec::new(),
        })
    }

    /// Values per row.
    pub fn dim(&self) -> usize {
        self.header.cols
    }

    /// Rows, as the header's shape says.
    pub fn rows(&self) -> u64 {
        self.header.rows
    }

    /// The element type stored.
    pub fn dtype(&self) -> NpyDtype {
        self.header.dtype
    }

    /// Appends the next row's values to `out`; false after the last row. After an error,
    /// every later call answers false.
    pub fn read_row(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        let result = self.read_row_inner(out);
        if !matches!(result, Ok(true)) {
            self.done = true;
        }
        result
    }

    fn read_row_inner(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        if self.next == self.header.rows {
            if !self.len_known {
                let mut one = [0u8; 1];
                if read_full(&mut self.inner, &mut one, &self.path)? > 0 {
                    return Err(damaged(
                        &self.path,
                        self.offset,
                        format!("bytes after the {} rows the shape holds", self.header.rows),
                    ));
                }
            }
            return Ok(false);
        }
        let width = self.header.dtype.width();
        self.bytes.resize(self.header.cols * width, 0);
        let at = self.offset;
        let got = read_full(&mut self.inner, &mut self.bytes, &self.path)?;
        self.offset += got as u64;
        if got < self.bytes.len() {
            return Err(damaged(
                &self.path,
                at,
                format!(
                    "the file ends inside row {} of {} ({got} of {} bytes present)",
                    self.next,
                    self.header.rows,
                    self.bytes.len()
                ),
            ));
        }
        match self.header.dtype {
            NpyDtype::F32 => out.extend(
                self.bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            ),
            NpyDtype::F64 => out.extend(self.bytes.chunks_exact(8).map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                f64::from_le_bytes(a) as f32
            })),
        }
        self.next += 1;
        Ok(true)
    }
}

/// The preamble and header of an `f32` matrix of `rows` x `cols`, padded to
/// [`WRITTEN_PREAMBLE`] bytes.
fn written_preamble(rows: u64, cols: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(WRITTEN_PREAMBLE);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    let header_len = WRITTEN_PREAMBLE - 10;
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // At most 94 bytes (20-digit rows, 7-digit cols), so the padding below never underflows.
    out.extend_from_slice(dict.as_bytes());
    out.resize(WRITTEN_PREAMBLE - 1, b' ');
    out.push(b'\n');
    out
}

/// Writes an `f32` matrix as a version 1 `.npy` file, row by row; the row count goes into
/// the header at [`NpyWriter::finish`] (hence `Seek`).
#[derive(Debug)]
pub struct NpyWriter<W: Write + Seek = BufWriter<File>> {
    inner: W,
    path: PathBuf,
    cols: usize,
    rows: u64,
    start: u64,
    bytes: Vec<u8>,
}

impl NpyWriter {
    /// Creates (or truncates) `path` for rows of `cols` values.
    pub fn create(path: impl AsRef<Path>, cols: usize) -> Result<Self> {
        let path = path.as_ref();
        NpyWriter::new(create(path)?, path, cols)
    }
}

impl<W: Write + Seek> NpyWriter<W> {
    /// Writes to `inner` from its current position, rows of `cols` values (1 to
    /// [`MAX_ROW_LEN`]); `path` names the destination in errors.
    pub fn new(mut inner: W, path: impl Into<PathBuf>, cols: usize) -> Result<Self> {
        let path = path.into();
        if !(1..=MAX_ROW_LEN).contains(&cols) {
            return Err(Error::InvalidArgument(format!(
                "{}: {cols} columns (1..={MAX_ROW_LEN} allowed)",
                path.display()
            )));
        }
        let io = |e| Error::io(&path, e);
        let start = inner.stream_position().map_err(io)?;
        inner.write_all(&written_preamble(0, cols)).map_err(io)?;
        Ok(NpyWriter {
            inner,
            path,
            cols,
            rows: 0,
            start,
            bytes: Vec::new(),
        })
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Appends one row of exactly `cols` values.
    pub fn write_row(&mut self, row: &[f32]) -> Result<()> {
        if row.len() != self.cols {
            return Err(Error::DimensionMismatch {
                expected: self.cols,
                actual: row.len(),
            });
        }
        self.bytes.clear();
        for x in row {
            self.bytes.extend_from_slice(&x.to_le_bytes());
        }
        self.inner
            .write_all(&self.bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        self.rows += 1;
        Ok(())
    }

    /// Writes the row count into the header, flushes, and returns the destination
    /// positioned after the data.
    pub fn finish(mut self) -> Result<W> {
        let io = |e| Error::io(&self.path, e);
        self.inner.seek(SeekFrom::Start(self.start)).map_err(io)?;
        self.inner
            .write_all(&written_preamble(self.rows, self.cols))
            .map_err(io)?;
        self.inner.seek(SeekFrom::End(0)).map_err(io)?;
        self.inner.flush().map_err(io)?;
        Ok(self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_header_fits_the_largest_shape_and_ends_in_a_newline() {
        let pre = written_preamble(u64::MAX, MAX_ROW_LEN);
        assert_eq!(pre.len(), WRITTEN_PREAMBLE);
        assert_eq!(pre.last(), Some(&b'\n'));
        let text = std::str::from_utf8(&pre[10..]).unwrap();
        let header = parse_header(text, Path::new("x.npy"), 10).unwrap();
        assert_eq!((header.rows, header.cols), (u64::MAX, MAX_ROW_LEN));
    }

    #[test]
    fn header_fields_read_numpys_own_spacing() {
        let text = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,  2), }   \n";
        let h = parse_header(text, Path::new("x.npy"), 10).unwrap();
        assert_eq!(
            h,
            Header {
                dtype: NpyDtype::F64,
                rows: 3,
                cols: 2
            }
        );
    }
}
