//! Vector interchange files: TEXMEX `.fvecs` / `.ivecs` / `.bvecs` and NumPy `.npy`
//! matrices, read and written by the one module every command, benchmark and test uses
//! (the CLI's `import`, `export` and `bench`, and `nearstore-testkit`, which re-exports it).
//!
//! - [`TexmexReader`] / [`TexmexWriter`]: rows of an `i32` count followed by that many
//!   little-endian values ([`Component`]: `f32` for `.fvecs`, `i32` for `.ivecs`, `u8` for
//!   `.bvecs`), every row of one length.
//! - [`NpyReader`] / [`NpyWriter`]: a 2-D little-endian `f32` or `f64` matrix in C order
//!   (`f64` is narrowed to `f32` when read; files are written as `f32`).
//! - [`VectorReader`]: `f32` rows from any of `.fvecs`, `.bvecs` (widened) or `.npy`.
//! - [`read_fvecs`], [`read_ivecs`], [`read_bvecs`], [`read_npy`]: a whole file as [`Rows`].
//! - [`recall_at_k`]: the measure the ground-truth (`.ivecs`) files of a data set exist for,
//!   here so that benchmarks and tests share one definition.
//!
//! Invariants: readers stream (a row at a time, through a buffer; the caller decides whether
//! to keep rows), and every length read from a file is checked before anything is allocated
//! for it: against the bytes the file holds when its length is known, and always against
//! [`MAX_ROW_LEN`] and [`MAX_NPY_HEADER_LEN`]. A damaged or truncated file is
//! `Error::Corruption` naming the file and the byte offset of the bad row or field; a
//! well-formed file this module does not read (an `.npy` of another dtype) is
//! `Error::InvalidArgument` naming the file. Nothing here panics on any input.
//!
//! These files are not database files: they go through `std::fs` directly, not through the
//! [`crate::Backend`] (no fsync, no atomic replace; a failed write leaves a partial file).
//! This module knows nothing of collections, indexes or the CLI.

mod npy;
mod texmex;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read};
use std::path::Path;

pub use npy::{NpyDtype, NpyReader, NpyWriter};
pub use texmex::{TexmexReader, TexmexWriter};

use crate::error::{Error, Result};

/// Most values a row may hold; a longer row length in a file is damage, never an allocation.
pub const MAX_ROW_LEN: usize = 1 << 20;

/// Largest `.npy` header accepted (NumPy's own readers refuse far smaller ones by default).
pub const MAX_NPY_HEADER_LEN: usize = 1 << 20;

/// Buffer size of the readers and writers [`TexmexReader::open`] and friends create.
const IO_BUFFER: usize = 1 << 20;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for i32 {}
    impl Sealed for u8 {}
}

/// A value type a TEXMEX file holds: `f32` (`.fvecs`), `i32` (`.ivecs`) or `u8` (`.bvecs`).
pub trait Component: Copy + Default + std::fmt::Debug + PartialEq + sealed::Sealed {
    /// Bytes per value.
    const WIDTH: usize;
    /// The file extension of files of this type, without the dot.
    const EXTENSION: &'static str;
    /// Decodes one value from exactly [`Self::WIDTH`] little-endian bytes.
    fn from_le(bytes: &[u8]) -> Self;
    /// Appends the value's little-endian bytes.
    fn put_le(self, out: &mut Vec<u8>);
}

impl Component for f32 {
    const WIDTH: usize = 4;
    const EXTENSION: &'static str = "fvecs";
    fn from_le(b: &[u8]) -> f32 {
        f32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Component for i32 {
    const WIDTH: usize = 4;
    const EXTENSION: &'static str = "ivecs";
    fn from_le(b: &[u8]) -> i32 {
        i32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Component for u8 {
    const WIDTH: usize = 1;
    const EXTENSION: &'static str = "bvecs";
    fn from_le(b: &[u8]) -> u8 {
        b[0]
    }
    fn put_le(self, out: &mut Vec<u8>) {
        out.push(self);
    }
}

/// Rows of equal length, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows<T> {
    /// Values per row (0 only when there is no row).
    pub dim: usize,
    /// `len() * dim` values.
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

    /// Row `i` (panics when `i >= len()`, like slice indexing).
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The rows in order.
    pub fn iter(&self) -> impl Iterator<Item = &[T]> {
        self.data.chunks_exact(self.dim.max(1))
    }
}

/// Reads a whole TEXMEX file of `T` (`.fvecs`, `.ivecs` or `.bvecs`); the values are
/// allocated once, sized from the file's length.
pub fn read_texmex<T: Component>(path: impl AsRef<Path>) -> Result<Rows<T>> {
    let mut reader = TexmexReader::<T>::open(path)?;
    let dim = reader.dim()?.unwrap_or(0);
    let rows = reader.rows()?.unwrap_or(0);
    // rows * dim * WIDTH <= the file's length, so this allocates no more than the file holds.
    let mut data = Vec::with_capacity(usize::try_from(rows).unwrap_or(0).saturating_mul(dim));
    while reader.read_row(&mut data)? {}
    Ok(Rows { dim, data })
}

/// Reads an `.fvecs` file (`f32` rows).
pub fn read_fvecs(path: impl AsRef<Path>) -> Result<Rows<f32>> {
    read_texmex(path)
}

/// Reads an `.ivecs` file (`i32` rows).
pub fn read_ivecs(path: impl AsRef<Path>) -> Result<Rows<i32>> {
    read_texmex(path)
}

/// Reads a `.bvecs` file (`u8` rows).
pub fn read_bvecs(path: impl AsRef<Path>) -> Result<Rows<u8>> {
    read_texmex(path)
}

/// Reads a whole `.npy` matrix as `f32` rows.
pub fn read_npy(path: impl AsRef<Path>) -> Result<Rows<f32>> {
    let mut reader = NpyReader::open(path)?;
    let dim = reader.dim();
    // rows * dim values fill the file exactly (NpyReader::open checked), so this is bounded.
    let rows = usize::try_from(reader.rows()).unwrap_or(0);
    let mut data = Vec::with_capacity(rows.saturating_mul(dim));
    while reader.read_row(&mut data)? {}
    Ok(Rows {
        dim: if data.is_empty() { 0 } else { dim },
        data,
    })
}

/// Writes `rows` as a TEXMEX file of `T` (replacing `path`).
pub fn write_texmex<T: Component>(path: impl AsRef<Path>, rows: &Rows<T>) -> Result<()> {
    let mut writer = TexmexWriter::<T>::create(path)?;
    for row in rows.iter() {
        writer.write_row(row)?;
    }
    writer.finish().map(drop)
}

/// Writes `rows` as a version 1 `.npy` file of `f32` (replacing `path`).
pub fn write_npy(path: impl AsRef<Path>, rows: &Rows<f32>) -> Result<()> {
    let mut writer = NpyWriter::create(path, rows.dim.max(1))?;
    for row in rows.iter() {
        writer.write_row(row)?;
    }
    writer.finish().map(drop)
}

/// The format of a file of `f32` vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorFormat {
    /// TEXMEX `.fvecs`.
    Fvecs,
    /// TEXMEX `.bvecs` (read only: bytes widened to `f32`).
    Bvecs,
    /// NumPy `.npy` (`f32` or `f64`, 2-D, C order).
    Npy,
}

impl VectorFormat {
    /// The format a file's extension names (case-insensitive), if any.
    pub fn from_extension(path: &Path) -> Option<VectorFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "fvecs" => Some(VectorFormat::Fvecs),
            "bvecs" => Some(VectorFormat::Bvecs),
            "npy" => Some(VectorFormat::Npy),
            _ => None,
        }
    }
}

/// `f32` rows streamed from a file of any [`VectorFormat`].
#[derive(Debug)]
pub enum VectorReader<R = BufReader<File>> {
    /// An `.fvecs` file.
    Fvecs(TexmexReader<f32, R>),
    /// A `.bvecs` file, each byte widened to `f32`.
    Bvecs(TexmexReader<u8, R>, Vec<u8>),
    /// An `.npy` file.
    Npy(NpyReader<R>),
}

impl VectorReader {
    /// Opens `path` as `format` (the `.npy` header is read and checked here).
    pub fn open(path: impl AsRef<Path>, format: VectorFormat) -> Result<VectorReader> {
        Ok(match format {
            VectorFormat::Fvecs => VectorReader::Fvecs(TexmexReader::open(path)?),
            VectorFormat::Bvecs => VectorReader::Bvecs(TexmexReader::open(path)?, Vec::new()),
            VectorFormat::Npy => VectorReader::Npy(NpyReader::open(path)?),
        })
    }
}

impl<R: Read> VectorReader<R> {
    /// The vector dimension (`None` for a TEXMEX file without rows).
    pub fn dim(&mut self) -> Result<Option<usize>> {
        match self {
            VectorReader::Fvecs(r) => r.dim(),
            VectorReader::Bvecs(r, _) => r.dim(),
            VectorReader::Npy(r) => Ok(Some(r.dim())),
        }
    }

    /// The number of rows, when the file's length (TEXMEX) or header (`.npy`) tells it.
    pub fn rows(&mut self) -> Result<Option<u64>> {
        match self {
            VectorReader::Fvecs(r) => r.rows(),
            VectorReader::Bvecs(r, _) => r.rows(),
            VectorReader::Npy(r) => Ok(Some(r.rows())),
        }
    }

    /// Appends the next row to `out`; false at the end of the file.
    pub fn read_row(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        match self {
            VectorReader::Fvecs(r) => r.read_row(out),
            VectorReader::Npy(r) => r.read_row(out),
            VectorReader::Bvecs(r, bytes) => {
                bytes.clear();
                let more = r.read_row(bytes)?;
                out.extend(bytes.iter().map(|&b| f32::from(b)));
                Ok(more)
            }
        }
    }
}

/// Recall@k of `found` against the first `k` ids of `truth`: the fraction of the true top
/// `k` that `found`'s first `k` contain (1.0 when there is nothing to find).
pub fn recall_at_k(found: &[u64], truth: &[u64], k: usize) -> f64 {
    let k = k.min(truth.len());
    if k == 0 {
        return 1.0;
    }
    let found = &found[..k.min(found.len())];
    let hits = truth[..k].iter().filter(|t| found.contains(t)).count();
    hits as f64 / k as f64
}

/// Reads into `buf` until it is full or the reader ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8], path: &Path) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(got)
}

/// Opens `path` for reading with its length.
fn open_with_len(path: &Path) -> Result<(BufReader<File>, u64)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    Ok((BufReader::with_capacity(IO_BUFFER, file), len))
}

/// Creates (or truncates) `path` for writing.
fn create(path: &Path) -> Result<BufWriter<File>> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    Ok(BufWriter::with_capacity(IO_BUFFER, file))
}

/// `Error::Corruption` in `path` at `offset`.
fn damaged(path: &Path, offset: u64, reason: impl Into<String>) -> Error {
    Error::corruption(path, offset, reason)
}
