//! The real file system backend.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::fs::FallocateFlags;

use super::{Backend, LockGuard, Mapping, StorageFile};
use crate::error::{Error, Result};

/// How long [`Backend::lock`] waits for a lock that is held before refusing (see there).
const LOCK_WAIT: Duration = Duration::from_secs(1);
/// How often it looks again meanwhile.
const LOCK_POLL: Duration = Duration::from_millis(10);

/// The operating system's file system (Linux/Unix).
#[derive(Debug, Clone, Copy, Default)]
pub struct FsBackend;

#[derive(Debug)]
struct FsFile {
    file: File,
    path: PathBuf,
}

#[derive(Debug)]
struct FsLock {
    _file: File,
}

impl LockGuard for FsLock {}

#[derive(Debug)]
struct FsMapping {
    map: memmap2::Mmap,
}

// SAFETY: `memmap2::Mmap` owns a live mapping of exactly `map.len()` readable bytes, unmapped
// only on drop; an mmap returned by the kernel is page-aligned (so 64-byte aligned), and a
// zero-length map gives a dangling but aligned, non-null pointer that is never read.
unsafe impl Mapping for FsMapping {
    fn as_ptr(&self) -> *const u8 {
        self.map.as_ptr()
    }
    fn len(&self) -> usize {
        self.map.len()
    }
}

fn unsupported(err: &rustix::io::Errno) -> bool {
    *err == rustix::io::Errno::OPNOTSUPP || *err == rustix::io::Errno::NOSYS
}

impl StorageFile for FsFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| Error::io(&self.path, e))
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        self.file
            .write_all_at(buf, offset)
            .map_err(|e| Error::io(&self.path, e))
    }

    fn len(&self) -> Result<u64> {
        Ok(self
            .file
            .metadata()
            .map_err(|e| Error::io(&self.path, e))?
            .len())
    }

    fn set_len(&self, len: u64) -> Result<()> {
        self.file.set_len(len).map_err(|e| Error::io(&self.path, e))
    }

    fn allocate(&self, len: u64) -> Result<()> {
        if len <= self.len()? {
            return Ok(());
        }
        match rustix::fs::fallocate(&self.file, FallocateFlags::empty(), 0, len) {
            Ok(()) => Ok(()),
            Err(e) if unsupported(&e) => self.set_len(len),
            Err(e) => Err(Error::io(&self.path, e.into())),
        }
    }

    fn punch_hole(&self, offset: u64, len: u64) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        let flags = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
        match rustix::fs::fallocate(&self.file, flags, offset, len) {
            Ok(()) => Ok(()),
            Err(e) if unsupported(&e) => {
                let zeros = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX).min(1 << 20)];
                let mut done = 0u64;
                while done < len {
                    let n = (len - done).min(zeros.len() as u64) as usize;
                    self.write_all_at(&zeros[..n], offset + done)?;
                    done += n as u64;
                }
                Ok(())
            }
            Err(e) => Err(Error::io(&self.path, e.into())),
        }
    }

    fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }

    fn map(&self, len: u64) -> Result<Arc<dyn Mapping>> {
        let file_len = self.len()?;
        if len > file_len {
            return Err(Error::InvalidArgument(format!(
                "cannot map {len} bytes of {} ({file_len} bytes long)",
                self.path.display()
            )));
        }
        let len = usize::try_from(len)
            .map_err(|_| Error::InvalidArgument("mapping larger than the address space".into()))?;
        // SAFETY: memmap2 requires that the file is not truncated below the mapped length while
        // the map lives (that would SIGBUS) and that mutation through other handles is
        // accounted for. The storage layer only maps files it holds the directory lock on,
        // never shrinks a mapped file (mapped files only grow; compaction writes a new file and
        // renames it over the old one, whose inode stays alive for old maps), and forms
        // references only to bytes no writer touches while the reference lives (Mapping's
        // contract).
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(&self.file) }
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(Arc::new(FsMapping { map }))
    }
}

impl Backend for FsBackend {
    fn open(&self, path: &Path, create: bool) -> Result<Arc<dyn StorageFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(Arc::new(FsFile {
            file,
            path: path.to_path_buf(),
        }))
    }

    fn exists(&self, path: &Path) -> Result<bool> {
        path.try_exists().map_err(|e| Error::io(path, e))
    }

    fn create_dir_all(&self, path: &Path) -> Result<()> {
        std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        std::fs::rename(from, to).map_err(|e| Error::io(from, e))
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))
    }

    fn remove_dir_all(&self, path: &Path) -> Result<()> {
        match std::fs::remove_dir_all(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    fn sync_dir(&self, path: &Path) -> Result<()> {
        File::open(path)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(path, e))
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| Error::io(path, e))? {
            let entry = entry.map_err(|e| Error::io(path, e))?;
            if entry.file_type().map_err(|e| Error::io(path, e))?.is_file() {
                out.push(entry.path());
            }
        }
        out.sort();
        Ok(out)
    }

    fn hard_link(&self, from: &Path, to: &Path) -> Result<()> {
        std::fs::hard_link(from, to).map_err(|e| Error::io(to, e))
    }

    fn rename_dir(&self, from: &Path, to: &Path) -> Result<()> {
        std::fs::rename(from, to).map_err(|e| Error::io(from, e))
    }

    fn lock(&self, path: &Path, dir: &Path) -> Result<Box<dyn LockGuard>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        // A lock released a moment ago (a handle just dropped) can still be held by a child
        // process this process is starting: between fork and exec the child shares the
        // open file, and close-on-exec releases it only at exec. Waiting briefly covers
        // that window, so a reopen right after a drop does not fail spuriously; a lock
        // held by a live handle or process is still refused once the wait is over.
        let started = Instant::now();
        loop {
            return match file.try_lock() {
                Ok(()) => Ok(Box::new(FsLock { _file: file })),
                Err(TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(LOCK_POLL);
                    continue;
                }
                Err(TryLockError::WouldBlock) => Err(Error::Locked {
                    path: dir.to_path_buf(),
                }),
                Err(TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => {
                    Ok(Box::new(FsLock { _file: file }))
                }
                Err(TryLockError::Error(e)) => Err(Error::io(path, e)),
            };
        }
    }
}
