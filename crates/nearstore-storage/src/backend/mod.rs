//! The file backend: every byte NearStore reads or writes goes through these traits.
//!
//! Two implementations exist: [`FsBackend`] (the real file system: `pread`/`pwrite`,
//! `fallocate`, `fdatasync`, read-only shared `mmap`, `flock`) and [`FaultyBackend`] (an
//! in-memory file system that remembers what has been synced and can produce crash images,
//! tear writes and fail chosen calls with `EIO` or `ENOSPC`).
//!
//! Invariants every backend keeps:
//! - `write_all_at` is visible to later reads and to live [`Mapping`]s of the same file at once
//!   (the page cache model); it is durable only after `sync` of that file.
//! - Namespace changes (create, rename, remove, hard link, directory rename) are durable
//!   only after `sync_dir` of the parent directory.
//! - A [`Mapping`] stays valid for reads of its whole length for as long as it is alive, even
//!   after the file grows, is renamed over or removed.

mod faulty;
mod fs;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use faulty::{CrashImage, CrashImageKind, FaultKind, FaultyBackend};
pub use fs::FsBackend;

use crate::error::Result;

/// A handle on an open file.
pub trait StorageFile: Send + Sync + fmt::Debug {
    /// The path the file was opened with.
    fn path(&self) -> &Path;
    /// Fills `buf` from `offset`; reading past the end is an error.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()>;
    /// Writes all of `buf` at `offset`, extending the file if needed.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> Result<()>;
    /// The file's current length in bytes.
    fn len(&self) -> Result<u64>;
    /// Whether the file is empty.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Truncates or extends (with zeros) to `len` bytes.
    fn set_len(&self, len: u64) -> Result<()>;
    /// Makes the file at least `len` bytes long with its blocks reserved (`fallocate`), so
    /// that writes inside it cannot fail for lack of space.
    fn allocate(&self, len: u64) -> Result<()>;
    /// Releases the blocks of `[offset, offset + len)`; those bytes read as zeros afterwards
    /// and the bytes around them are untouched. The file length does not change.
    fn punch_hole(&self, offset: u64, len: u64) -> Result<()>;
    /// Makes every write to this file so far durable (`fdatasync`).
    fn sync(&self) -> Result<()>;
    /// Maps the first `len` bytes read-only and shared (later writes are visible through it).
    /// `len` must not exceed the file's length.
    fn map(&self, len: u64) -> Result<Arc<dyn Mapping>>;
}

/// A read-only view of a file's first `len()` bytes.
///
/// # Safety
/// Implementors guarantee that `as_ptr()` is valid for reads of `len()` bytes, non-null and
/// 64-byte aligned (page-aligned in practice), for as long as the value is alive. The bytes
/// may change when the file is written: callers must only form references to byte ranges
/// that no writer touches while the reference lives (see `vector::guard` for how the vector
/// store proves that).
pub unsafe trait Mapping: Send + Sync + fmt::Debug {
    /// Start of the mapped bytes.
    fn as_ptr(&self) -> *const u8;
    /// Number of mapped bytes.
    fn len(&self) -> usize;
    /// True when nothing is mapped.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An exclusive lock on a path, released on drop.
pub trait LockGuard: Send + Sync + fmt::Debug {}

/// A file system: where files are opened, renamed, removed, synced and locked.
pub trait Backend: Send + Sync + fmt::Debug {
    /// Opens `path` for reading and writing; creates it when `create` is true.
    fn open(&self, path: &Path, create: bool) -> Result<Arc<dyn StorageFile>>;
    /// Whether a file exists at `path`.
    fn exists(&self, path: &Path) -> Result<bool>;
    /// Creates a directory and its parents.
    fn create_dir_all(&self, path: &Path) -> Result<()>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> Result<()>;
    /// Removes a directory and everything under it; a missing directory is not an error.
    /// Not atomic: callers first make the directory unreachable (for example by removing
    /// it from a manifest) and treat a leftover as garbage.
    fn remove_dir_all(&self, path: &Path) -> Result<()>;
    /// Makes the directory's entries (creates, renames, removes) durable.
    fn sync_dir(&self, path: &Path) -> Result<()>;
    /// The files directly inside `path`, sorted by name.
    fn list_dir(&self, path: &Path) -> Result<Vec<PathBuf>>;
    /// Takes an exclusive lock on the lock file at `path` (created if missing); fails with
    /// `Error::Locked { path: dir }` when another process or handle holds it (the real
    /// backend waits up to a second first, for a child process that shares a just-released
    /// lock until its exec).
    fn lock(&self, path: &Path, dir: &Path) -> Result<Box<dyn LockGuard>>;
    /// Makes `to` a second name of the file at `from` (a hard link: the same bytes, now and
    /// after later writes through either name). `to` must not exist. Durable after `sync_dir`
    /// of `to`'s directory. Fails when the file system cannot link (another device, no
    /// support); callers fall back to copying.
    fn hard_link(&self, from: &Path, to: &Path) -> Result<()>;
    /// Atomically renames the directory `from` (with everything under it) to `to`, which
    /// must not exist or be an empty directory; both must be in the same parent directory.
    /// Durable after `sync_dir` of that parent.
    fn rename_dir(&self, from: &Path, to: &Path) -> Result<()>;
}

/// A shared, clonable handle on a backend.
pub type SharedBackend = Arc<dyn Backend>;

/// The real file system as a shared backend.
pub fn fs_backend() -> SharedBackend {
    Arc::new(FsBackend)
}

/// Writes a new file so that it appears whole or not at all: the bytes go to `path.tmp`,
/// which is synced, renamed over `path`, and the directory is synced.
pub fn write_file_atomically(backend: &dyn Backend, path: &Path, bytes: &[u8]) -> Result<()> {
    write_parts_atomically(backend, path, &[bytes])
}

/// [`write_file_atomically`] for content given as parts written back to back.
pub fn write_parts_atomically(backend: &dyn Backend, path: &Path, parts: &[&[u8]]) -> Result<()> {
    let tmp = temp_path(path);
    write_synced(backend, &tmp, parts)?;
    backend.rename(&tmp, path)?;
    backend.sync_dir(parent_dir(path))
}

/// Writes `parts` back to back as the whole content of the file at `path` (created or
/// truncated) and syncs it. Callers make it visible under its final name themselves.
pub fn write_synced(backend: &dyn Backend, path: &Path, parts: &[&[u8]]) -> Result<()> {
    let file = backend.open(path, true)?;
    file.set_len(0)?;
    let mut at = 0u64;
    for part in parts {
        file.write_all_at(part, at)?;
        at += part.len() as u64;
    }
    file.sync()
}

/// The temporary name used while `path` is being written atomically.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// The directory containing `path` (`.` when it has none).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
