//! The TEXMEX layout (`.fvecs`, `.ivecs`, `.bvecs`): each row an `i32` little-endian count
//! `n`, then `n` values of [`Component::WIDTH`] bytes; every row of the file has the same
//! count, at least 1 and at most [`MAX_ROW_LEN`]. No header, no checksum: damage shows only
//! as a count that breaks those rules or a file that ends inside a row.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use super::{Component, MAX_ROW_LEN, create, damaged, open_with_len, read_full};
use crate::error::{Error, Result};

/// Streams the rows of a TEXMEX file of `T`.
#[derive(Debug)]
pub struct TexmexReader<T, R = BufReader<File>> {
    inner: R,
    path: PathBuf,
    /// The file's length, when known: every row's count is checked against it first.
    len: Option<u64>,
    /// Bytes consumed so far (the offset of the next row, or of `pending`'s values).
    offset: u64,
    /// Every row's count, once the first row's header is read.
    dim: Option<usize>,
    /// A row header already read (by [`Self::dim`]) whose values are next.
    pending: Option<usize>,
    /// Set after the end or an error: no more rows.
    done: bool,
    bytes: Vec<u8>,
    _values: PhantomData<T>,
}

impl<T: Component> TexmexReader<T> {
    /// Opens `path` (buffered; its length bounds every row).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let (file, len) = open_with_len(path)?;
        Ok(TexmexReader::new(file, path, Some(len)))
    }
}

impl<T: Component, R: std::io::Read> TexmexReader<T, R> {
    /// Reads rows from `inner`, which holds `len` bytes when known; `path` names the source
    /// in errors.
    pub fn new(inner: R, path: impl Into<PathBuf>, len: Option<u64>) -> Self {
        TexmexReader {
            inner,
            path: path.into(),
            len,
            offset: 0,
            dim: None,
            pending: None,
            done: false,
            bytes: Vec::new(),
            _values: PhantomData,
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The values per row (reads the first row's header if no row was read yet); `None`
    /// when the file holds no row.
    pub fn dim(&mut self) -> Result<Option<usize>> {
        if self.dim.is_none() && !self.done && self.pending.is_none() {
            self.pending = self.next_header()?;
        }
        Ok(self.dim)
    }

    /// The number of rows the file's length implies (`None` when the length is unknown).
    /// A damaged file may hold fewer: reading finds where.
    pub fn rows(&mut self) -> Result<Option<u64>> {
        let Some(dim) = self.dim()? else {
            return Ok(self.len.map(|_| 0));
        };
        let row_bytes = 4 + (dim * T::WIDTH) as u64;
        Ok(self.len.map(|len| len / row_bytes))
    }

    /// Appends the next row's values to `out`; false at the end of the file. After an
    /// error, every later call answers false.
    pub fn read_row(&mut self, out: &mut Vec<T>) -> Result<bool> {
        let result = self.read_row_inner(out);
        if !matches!(result, Ok(true)) {
            self.done = true;
        }
        result
    }

    fn read_row_inner(&mut self, out: &mut Vec<T>) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        let n = match self.pending.take() {
            Some(n) => n,
            None => match self.next_header()? {
                Some(n) => n,
                None => return Ok(false),
            },
        };
        // The header's checks passed in next_header: n <= MAX_ROW_LEN and, when the length
        // is known, the values fit in what is left of the file.
        let values_at = self.offset;
        self.bytes.resize(n * T::WIDTH, 0);
        let got = read_full(&mut self.inner, &mut self.bytes, &self.path)?;
        self.offset += got as u64;
        if got < self.bytes.len() {
            return Err(damaged(
                &self.path,
                values_at.saturating_sub(4),
                format!(
                    "the file ends inside a row of {n} values ({got} of {} bytes present)",
                    self.bytes.len()
                ),
            ));
        }
        out.extend(self.bytes.chunks_exact(T::WIDTH).map(T::from_le));
        Ok(true)
    }

    /// Reads and checks the next row header; `None` at a clean end of the file.
    fn next_header(&mut self) -> Result<Option<usize>> {
        let at = self.offset;
        let mut head = [0u8; 4];
        let got = read_full(&mut self.inner, &mut head, &self.path)?;
        self.offset += got as u64;
        if got == 0 {
            self.done = true;
            return Ok(None);
        }
        let bad =
            |reason: String| damaged(&self.path, at, format!("{} file: {reason}", T::EXTENSION));
        if got < 4 {
            return Err(bad(format!(
                "the file ends inside a row header ({got} of 4 bytes)"
            )));
        }
        let count = i32::from_le_bytes(head);
        let n = usize::try_from(count)
            .ok()
            .filter(|&n| (1..=MAX_ROW_LEN).contains(&n))
            .ok_or_else(|| bad(format!("row length {count} is outside 1..={MAX_ROW_LEN}")))?;
        if let Some(dim) = self.dim
            && dim != n
        {
            return Err(bad(format!(
                "a row of {n} values in a file of {dim}-value rows"
            )));
        }
        let needed = (n * T::WIDTH) as u64;
        if let Some(len) = self.len {
            let left = len.saturating_sub(self.offset);
            if needed > left {
                return Err(bad(format!(
                    "a row of {n} values needs {needed} bytes, only {left} remain"
                )));
            }
        }
        self.dim = Some(n);
        Ok(Some(n))
    }
}

impl<T: Component, R: std::io::Read> Iterator for TexmexReader<T, R> {
    type Item = Result<Vec<T>>;

    /// The next row as its own vector (use [`TexmexReader::read_row`] to reuse one).
    fn next(&mut self) -> Option<Result<Vec<T>>> {
        let mut row = Vec::new();
        match self.read_row(&mut row) {
            Ok(true) => Some(Ok(row)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// Writes rows of `T` in the TEXMEX layout; every row must have the first row's length.
#[derive(Debug)]
pub struct TexmexWriter<T, W: Write = BufWriter<File>> {
    inner: W,
    path: PathBuf,
    dim: Option<usize>,
    rows: u64,
    bytes: Vec<u8>,
    _values: PhantomData<T>,
}

impl<T: Component> TexmexWriter<T> {
    /// Creates (or truncates) `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Ok(TexmexWriter::new(create(path)?, path))
    }
}

impl<T: Component, W: Write> TexmexWriter<T, W> {
    /// Writes to `inner`; `path` names the destination in errors.
    pub fn new(inner: W, path: impl Into<PathBuf>) -> Self {
        TexmexWriter {
            inner,
            path: path.into(),
            dim: None,
            rows: 0,
            bytes: Vec::new(),
            _values: PhantomData,
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Appends one row: 1 to [`MAX_ROW_LEN`] values, as many as the first row.
    pub fn write_row(&mut self, row: &[T]) -> Result<()> {
        if row.is_empty() || row.len() > MAX_ROW_LEN {
            return Err(Error::InvalidArgument(format!(
                "{}: a row of {} values (1..={MAX_ROW_LEN} allowed)",
                self.path.display(),
                row.len()
            )));
        }
        if let Some(dim) = self.dim
            && dim != row.len()
        {
            return Err(Error::DimensionMismatch {
                expected: dim,
                actual: row.len(),
            });
        }
        self.dim = Some(row.len());
        self.bytes.clear();
        // row.len() <= MAX_ROW_LEN < i32::MAX, so the count fits.
        self.bytes
            .extend_from_slice(&(row.len() as i32).to_le_bytes());
        for &x in row {
            x.put_le(&mut self.bytes);
        }
        self.inner
            .write_all(&self.bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes and returns the destination.
    pub fn finish(mut self) -> Result<W> {
        self.inner.flush().map_err(|e| Error::io(&self.path, e))?;
        Ok(self.inner)
    }
}
