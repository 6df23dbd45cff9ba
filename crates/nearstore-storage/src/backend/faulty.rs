//! An in-memory file system that injects faults and produces crash images.
//!
//! It models what a real file system guarantees and nothing more: a write is visible at once
//! but durable only after `sync` of its file; a create, rename or remove is durable only after
//! `sync_dir` of its directory. Every mutating call (create, write, set_len, allocate,
//! punch_hole, sync, rename, remove, sync_dir) is counted, so a test can
//!
//! - crash the "process" at the N-th mutating call: that call and every later call fail, and
//!   [`FaultyBackend::crash_images`] returns what a restart could find on disk: the process
//!   crash image (every write so far), the power-loss image (only synced state), and, when the
//!   interrupted call was a write, both images with that write torn (a prefix written, the
//!   rest filled with garbage, not zeros);
//! - fail the N-th write, sync or allocate with `EIO` or `ENOSPC`, once, without applying it.
//!
//! Directories are implicit: one exists while a file under it does, and creating it is
//! always durable. A hard link is a second name of the same inode, durable after `sync_dir`
//! of its directory. A directory rename moves every name under it at once and is durable
//! after `sync_dir` of the (shared) parent; the model's one simplification is that names
//! synced inside the renamed directory before that parent sync are recorded durable under
//! the new name. Reads do not count as calls.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{Backend, LockGuard, Mapping, StorageFile, parent_dir};
use crate::error::{Error, Result};

/// Which calls a planned failure targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `write_all_at`.
    Write,
    /// `sync` (of a file).
    Sync,
    /// `allocate` (fallocate).
    Allocate,
}

/// Which crash image a [`CrashImage`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrashImageKind {
    /// The process died: everything written survives, the interrupted call did not happen.
    ProcessCrash,
    /// Power was lost: only synced data and synced directory entries survive.
    PowerLoss,
    /// The process died in the middle of a write: part of it landed, the rest is garbage.
    TornWrite,
    /// Power was lost in the middle of a write: synced state plus the torn write.
    PowerLossTornWrite,
}

/// What a restart after a simulated crash finds: a fresh backend holding that disk state.
#[derive(Debug)]
pub struct CrashImage {
    /// How the image was made.
    pub kind: CrashImageKind,
    /// A new, un-crashed backend over the image's files.
    pub backend: FaultyBackend,
}

/// The alignment of a buffer's first byte (a mapping's contract) and the unit of its
/// capacity.
const ALIGN: usize = 64;

/// A fixed-capacity, 64-byte aligned byte buffer that may be written while mapped. Large
/// buffers are anonymous memory mappings, whose pages the kernel supplies zeroed on first
/// touch, so they cost what their file wrote, not their capacity (a preallocated tail is
/// never filled or touched; a zeroed heap block of that size is filled with zeros by hand).
/// Small ones are heap blocks (a mapping per small file costs more in system calls and page
/// faults than filling it).
struct RawBuf {
    /// Owns the bytes (freed on drop); they are only reached through `ptr`.
    _memory: Memory,
    ptr: *mut u8,
    capacity: usize,
}

enum Memory {
    Heap(#[allow(dead_code)] Box<[std::cell::UnsafeCell<u8>]>),
    Mapped(#[allow(dead_code)] memmap2::MmapMut),
}

/// Buffers of at least this many bytes are anonymous mappings.
const MAPPED_FROM: usize = 256 << 10;

// SAFETY: all writes to a RawBuf happen while holding the backend's state mutex (so writers
// never race each other), through `ptr`, which points into memory the buffer owns and no
// reference covers while it is written (a heap block's bytes are `UnsafeCell`s; a mapping's
// are never borrowed through it). Readers through a `Mapping` follow the `Mapping` contract:
// they only form references to bytes that no writer touches while the reference lives.
unsafe impl Sync for RawBuf {}
// SAFETY: RawBuf owns plain bytes; moving it between threads is sound.
unsafe impl Send for RawBuf {}

impl RawBuf {
    /// A zeroed buffer of at least `bytes` bytes (at least one 64-byte block).
    fn with_capacity(bytes: usize) -> Self {
        let capacity = bytes.div_ceil(ALIGN).max(1) * ALIGN;
        if capacity >= MAPPED_FROM {
            let mut map = match memmap2::MmapMut::map_anon(capacity) {
                Ok(map) => map,
                // Out of address space or memory: what a failed allocation does.
                Err(e) => panic!("in-memory file of {capacity} bytes: {e}"),
            };
            // A mapping starts on a page boundary: 64-byte aligned.
            let ptr = map.as_mut_ptr();
            return RawBuf {
                _memory: Memory::Mapped(map),
                ptr,
                capacity,
            };
        }
        let zeroed = vec![0u8; capacity + ALIGN - 1].into_boxed_slice();
        let len = zeroed.len();
        let raw = Box::into_raw(zeroed).cast::<std::cell::UnsafeCell<u8>>();
        // SAFETY: `UnsafeCell<u8>` is `repr(transparent)` over `u8`, so `[u8]` and
        // `[UnsafeCell<u8>]` of the same length have the same layout; the box is rebuilt from
        // exactly the pointer and length it was taken apart into, and owns them alone.
        let cells = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(raw, len)) };
        let base = std::cell::UnsafeCell::raw_get(cells.as_ptr());
        // The first 64-byte boundary: fewer than ALIGN bytes in, so `capacity` bytes from it
        // fit in the `capacity + ALIGN - 1` allocated.
        let ptr = base.wrapping_add((ALIGN - base.addr() % ALIGN) % ALIGN);
        RawBuf {
            _memory: Memory::Heap(cells),
            ptr,
            capacity,
        }
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Copies `src` to `offset`. Callers hold the state mutex.
    fn write(&self, offset: usize, src: &[u8]) {
        assert!(
            offset + src.len() <= self.capacity(),
            "RawBuf write out of bounds"
        );
        // SAFETY: bounds checked just above; writers are serialized by the state mutex; the
        // destination is inside our own allocation and cannot overlap `src`, which is a
        // caller's slice outside the allocation or a copy of it.
        unsafe {
            self.ptr()
                .add(offset)
                .copy_from_nonoverlapping(src.as_ptr(), src.len())
        }
    }

    /// Copies bytes out. Callers hold the state mutex, so no write is concurrent.
    fn read(&self, offset: usize, dst: &mut [u8]) {
        assert!(
            offset + dst.len() <= self.capacity(),
            "RawBuf read out of bounds"
        );
        // SAFETY: bounds checked just above; the state mutex excludes concurrent writers.
        unsafe {
            dst.as_mut_ptr()
                .copy_from_nonoverlapping(self.ptr().add(offset), dst.len())
        }
    }
}

/// A file's bytes as stored for images and durable states: `head` is the part a write ever
/// reached, and the file runs on to `len` with zeros (a preallocated or extended tail is not
/// stored, so syncing and imaging a file costs what was written, not its length).
#[derive(Clone, Default)]
struct FileBytes {
    head: Vec<u8>,
    len: usize,
}

impl FileBytes {
    fn from_slice(bytes: &[u8]) -> Self {
        FileBytes {
            head: bytes.to_vec(),
            len: bytes.len(),
        }
    }

    /// Writes `data` at `offset`, extending the file when it reaches past the end.
    fn write(&mut self, offset: usize, data: &[u8]) {
        let end = offset + data.len();
        if self.head.len() < end {
            self.head.resize(end, 0);
        }
        self.head[offset..end].copy_from_slice(data);
        self.len = self.len.max(end);
    }
}

/// A file's current content: a buffer, a logical length and how far writes reached (every
/// byte at or past `written` is zero; `written <= len`).
struct Content {
    buf: Arc<RawBuf>,
    len: usize,
    written: usize,
}

impl Content {
    fn from_file(file: &FileBytes) -> Self {
        let buf = RawBuf::with_capacity(file.len);
        buf.write(0, &file.head);
        Content {
            buf: Arc::new(buf),
            len: file.len,
            written: file.head.len(),
        }
    }

    /// The bytes up to where writes reached, and the length.
    fn file_bytes(&self) -> FileBytes {
        let mut head = vec![0; self.written];
        self.buf.read(0, &mut head);
        FileBytes {
            head,
            len: self.len,
        }
    }

    fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0; self.len];
        self.buf.read(0, &mut out[..self.written]);
        out
    }

    fn ensure_capacity(&mut self, needed: usize) {
        if needed <= self.buf.capacity() {
            return;
        }
        let bigger = RawBuf::with_capacity(needed.max(self.buf.capacity() * 2));
        let mut old = vec![0; self.written];
        self.buf.read(0, &mut old);
        bigger.write(0, &old);
        self.buf = Arc::new(bigger);
    }

    fn write(&mut self, offset: usize, data: &[u8]) {
        let end = offset + data.len();
        self.ensure_capacity(end);
        self.buf.write(offset, data);
        self.len = self.len.max(end);
        self.written = self.written.max(end);
    }

    fn set_len(&mut self, len: usize) {
        if len < self.written {
            // Zero the cut-off part so a later extension reads zeros, as on a real disk.
            self.buf.write(len, &vec![0; self.written - len]);
            self.written = len;
        }
        self.ensure_capacity(len);
        self.len = len;
    }
}

struct Inode {
    content: Content,
    durable: FileBytes,
}

/// The write interrupted by a crash, kept to make the torn images.
#[derive(Clone)]
struct InterruptedWrite {
    inode: u64,
    offset: usize,
    data: Vec<u8>,
}

#[derive(Default)]
struct State {
    inodes: HashMap<u64, Inode>,
    names: BTreeMap<PathBuf, u64>,
    durable_names: BTreeMap<PathBuf, u64>,
    next_inode: u64,
    locks: HashSet<PathBuf>,
    /// Directory renames not yet made durable by a sync of their parent, in order.
    pending_dir_renames: Vec<(PathBuf, PathBuf)>,
    calls: u64,
    crash_after: Option<u64>,
    crashed: bool,
    interrupted: Option<InterruptedWrite>,
    planned: Vec<PlannedFailure>,
    seen: HashMap<FaultKind, u64>,
}

struct PlannedFailure {
    kind: FaultKind,
    nth: u64,
    errno: i32,
}

/// The fault-injecting in-memory backend. Clones share the same file system.
#[derive(Clone, Default)]
pub struct FaultyBackend {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for FaultyBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.lock();
        f.debug_struct("FaultyBackend")
            .field("files", &s.names.len())
            .field("calls", &s.calls)
            .field("crashed", &s.crashed)
            .finish()
    }
}

fn crashed_error(path: &Path) -> Error {
    Error::io(
        path,
        io::Error::other("simulated crash: the process is gone"),
    )
}

/// Deterministic garbage for torn writes (xorshift; never all zeros).
fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8 | 1
        })
        .collect()
}

enum Op<'a> {
    Create(&'a Path),
    Write(u64, usize, &'a [u8]),
    SetLen(u64, usize),
    Allocate(u64, usize),
    Punch(u64, usize, usize),
    Sync(u64),
    Rename(&'a Path, &'a Path),
    Link(&'a Path, &'a Path),
    RenameDir(&'a Path, &'a Path),
    Remove(&'a Path),
    SyncDir(&'a Path),
}

impl Op<'_> {
    fn fault_kind(&self) -> Option<FaultKind> {
        match self {
            Op::Write(..) => Some(FaultKind::Write),
            Op::Sync(_) => Some(FaultKind::Sync),
            Op::Allocate(..) => Some(FaultKind::Allocate),
            _ => None,
        }
    }
}

impl State {
    /// Counts a mutating call and applies it, unless a crash or planned failure stops it.
    fn mutate(&mut self, path: &Path, op: Op<'_>) -> Result<()> {
        if self.crashed {
            return Err(crashed_error(path));
        }
        self.calls += 1;
        if self.crash_after.is_some_and(|n| self.calls > n) {
            self.crashed = true;
            if let Op::Write(inode, offset, data) = op {
                self.interrupted = Some(InterruptedWrite {
                    inode,
                    offset,
                    data: data.to_vec(),
                });
            }
            return Err(crashed_error(path));
        }
        if let Some(kind) = op.fault_kind() {
            let seen = self.seen.entry(kind).or_insert(0);
            *seen += 1;
            let nth = *seen;
            if let Some(i) = self
                .planned
                .iter()
                .position(|p| p.kind == kind && p.nth == nth)
            {
                let failure = self.planned.swap_remove(i);
                return Err(Error::io(path, io::Error::from_raw_os_error(failure.errno)));
            }
        }
        self.apply(path, op)
    }

    fn inode(&mut self, id: u64, path: &Path) -> Result<&mut Inode> {
        self.inodes
            .get_mut(&id)
            .ok_or_else(|| Error::io(path, io::Error::from(io::ErrorKind::NotFound)))
    }

    fn apply(&mut self, path: &Path, op: Op<'_>) -> Result<()> {
        match op {
            Op::Create(p) => {
                let id = self.next_inode;
                self.next_inode += 1;
                self.inodes.insert(
                    id,
                    Inode {
                        content: Content::from_file(&FileBytes::default()),
                        durable: FileBytes::default(),
                    },
                );
                self.names.insert(p.to_path_buf(), id);
            }
            Op::Write(id, offset, data) => self.inode(id, path)?.content.write(offset, data),
            Op::SetLen(id, len) => self.inode(id, path)?.content.set_len(len),
            Op::Allocate(id, len) => {
                let content = &mut self.inode(id, path)?.content;
                if len > content.len {
                    content.set_len(len);
                }
            }
            Op::Punch(id, offset, len) => {
                let content = &mut self.inode(id, path)?.content;
                // Past `written` every byte is zero already.
                let end = (offset + len).min(content.written);
                if offset < end {
                    content.buf.write(offset, &vec![0; end - offset]);
                }
            }
            Op::Sync(id) => {
                let inode = self.inode(id, path)?;
                inode.durable = inode.content.file_bytes();
            }
            Op::Rename(from, to) => {
                let id = self
                    .names
                    .remove(from)
                    .ok_or_else(|| Error::io(from, io::Error::from(io::ErrorKind::NotFound)))?;
                self.names.insert(to.to_path_buf(), id);
            }
            Op::Link(from, to) => {
                let id = self
                    .names
                    .get(from)
                    .copied()
                    .ok_or_else(|| Error::io(from, io::Error::from(io::ErrorKind::NotFound)))?;
                if self.names.contains_key(to) {
                    return Err(Error::io(to, io::Error::from(io::ErrorKind::AlreadyExists)));
                }
                self.names.insert(to.to_path_buf(), id);
            }
            Op::RenameDir(from, to) => {
                if parent_dir(from) != parent_dir(to) {
                    return Err(Error::io(
                        from,
                        io::Error::from(io::ErrorKind::InvalidInput),
                    ));
                }
                if self.names.keys().any(|p| p.starts_with(to)) {
                    return Err(Error::io(
                        to,
                        io::Error::from(io::ErrorKind::DirectoryNotEmpty),
                    ));
                }
                let moved = move_prefix(&mut self.names, from, to);
                if moved == 0 {
                    return Err(Error::io(from, io::Error::from(io::ErrorKind::NotFound)));
                }
                self.pending_dir_renames
                    .push((from.to_path_buf(), to.to_path_buf()));
            }
            Op::Remove(p) => {
                self.names
                    .remove(p)
                    .ok_or_else(|| Error::io(p, io::Error::from(io::ErrorKind::NotFound)))?;
            }
            Op::SyncDir(dir) => {
                let pending = std::mem::take(&mut self.pending_dir_renames);
                for (from, to) in pending {
                    if parent_dir(&from) == dir {
                        move_prefix(&mut self.durable_names, &from, &to);
                    } else {
                        self.pending_dir_renames.push((from, to));
                    }
                }
                let in_dir = |p: &Path| parent_dir(p) == dir;
                self.durable_names.retain(|p, _| !in_dir(p));
                for (p, id) in &self.names {
                    if in_dir(p) {
                        self.durable_names.insert(p.clone(), *id);
                    }
                }
            }
        }
        Ok(())
    }

    fn image(&self, durable: bool, torn: Option<&InterruptedWrite>) -> FaultyBackend {
        let names = if durable {
            &self.durable_names
        } else {
            &self.names
        };
        let mut state = State::default();
        for (path, id) in names {
            let Some(inode) = self.inodes.get(id) else {
                continue;
            };
            let mut file = if durable {
                inode.durable.clone()
            } else {
                inode.content.file_bytes()
            };
            if let Some(w) = torn.filter(|w| w.inode == *id) {
                let keep = w.data.len() / 2;
                let mut data = w.data[..keep].to_vec();
                data.extend(garbage(w.data.len() - keep, self.calls));
                file.write(w.offset, &data);
            }
            let new_id = state.next_inode;
            state.next_inode += 1;
            state.inodes.insert(
                new_id,
                Inode {
                    content: Content::from_file(&file),
                    durable: file,
                },
            );
            state.names.insert(path.clone(), new_id);
            state.durable_names.insert(path.clone(), new_id);
        }
        FaultyBackend {
            state: Arc::new(Mutex::new(state)),
        }
    }
}

/// Renames every name under the directory `from` to the same name under `to`; returns how
/// many moved.
fn move_prefix(names: &mut BTreeMap<PathBuf, u64>, from: &Path, to: &Path) -> usize {
    let under: Vec<PathBuf> = names
        .keys()
        .filter(|p| p.starts_with(from) && p.as_path() != from)
        .cloned()
        .collect();
    for old in &under {
        if let (Ok(rest), Some(id)) = (old.strip_prefix(from), names.remove(old)) {
            names.insert(to.join(rest), id);
        }
    }
    under.len()
}

impl FaultyBackend {
    /// An empty in-memory file system.
    pub fn new() -> Self {
        Self::default()
    }

    /// Mutating calls made so far.
    pub fn calls(&self) -> u64 {
        self.state.lock().calls
    }

    /// Arms a crash: the next `n` mutating calls succeed and the one after crashes.
    pub fn crash_after(&self, n: u64) {
        let mut s = self.state.lock();
        s.crash_after = Some(s.calls + n);
    }

    /// Whether the simulated crash has happened.
    pub fn is_crashed(&self) -> bool {
        self.state.lock().crashed
    }

    /// Makes the `nth` (1-based, counted from the backend's creation) call of `kind` fail once
    /// with the OS error `errno` (for example `libc`'s `EIO` = 5 or `ENOSPC` = 28). The failed
    /// call changes nothing.
    pub fn fail_nth(&self, kind: FaultKind, nth: u64, errno: i32) {
        self.state
            .lock()
            .planned
            .push(PlannedFailure { kind, nth, errno });
    }

    /// How many calls of `kind` have been made so far.
    pub fn calls_of(&self, kind: FaultKind) -> u64 {
        self.state.lock().seen.get(&kind).copied().unwrap_or(0)
    }

    /// The disk states a restart could find now: process crash and power loss always, and the
    /// two torn-write variants when a crash interrupted a write. Works whether or not a crash
    /// happened (without one, the images are of the current moment).
    pub fn crash_images(&self) -> Vec<CrashImage> {
        let s = self.state.lock();
        let mut images = vec![
            CrashImage {
                kind: CrashImageKind::ProcessCrash,
                backend: s.image(false, None),
            },
            CrashImage {
                kind: CrashImageKind::PowerLoss,
                backend: s.image(true, None),
            },
        ];
        if let Some(w) = s.interrupted.as_ref().filter(|w| !w.data.is_empty()) {
            images.push(CrashImage {
                kind: CrashImageKind::TornWrite,
                backend: s.image(false, Some(w)),
            });
            images.push(CrashImage {
                kind: CrashImageKind::PowerLossTornWrite,
                backend: s.image(true, Some(w)),
            });
        }
        images
    }

    /// The current bytes of the file at `path` (for tests that damage or inspect files).
    pub fn read_file(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.state.lock();
        let id = s.names.get(path)?;
        Some(s.inodes.get(id)?.content.to_vec())
    }

    /// Replaces the content of the file at `path` (current and durable), bypassing faults.
    pub fn replace_file(&self, path: &Path, bytes: &[u8]) {
        let mut s = self.state.lock();
        if let Some(id) = s.names.get(path).copied()
            && let Some(inode) = s.inodes.get_mut(&id)
        {
            let file = FileBytes::from_slice(bytes);
            inode.content = Content::from_file(&file);
            inode.durable = file;
        }
    }
}

#[derive(Debug)]
struct MemFile {
    backend: FaultyBackend,
    inode: u64,
    path: PathBuf,
}

struct MemMapping {
    buf: Arc<RawBuf>,
    len: usize,
}

impl fmt::Debug for MemMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemMapping")
            .field("len", &self.len)
            .finish()
    }
}

// SAFETY: `buf` is kept alive by the Arc for the mapping's lifetime, its pointer is 64-byte
// aligned (`RawBuf::with_capacity`) and non-null, and `len <= buf.capacity()` is checked in
// `MemFile::map`.
unsafe impl Mapping for MemMapping {
    fn as_ptr(&self) -> *const u8 {
        self.buf.ptr()
    }
    fn len(&self) -> usize {
        self.len
    }
}

fn to_usize(v: u64, path: &Path) -> Result<usize> {
    usize::try_from(v).map_err(|_| Error::io(path, io::Error::from(io::ErrorKind::InvalidInput)))
}

impl MemFile {
    fn mutate(&self, op: Op<'_>) -> Result<()> {
        self.backend.state.lock().mutate(&self.path, op)
    }
}

impl StorageFile for MemFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let mut s = self.backend.state.lock();
        if s.crashed {
            return Err(crashed_error(&self.path));
        }
        let offset = to_usize(offset, &self.path)?;
        let content = &s.inode(self.inode, &self.path)?.content;
        if offset + buf.len() > content.len {
            return Err(Error::io(
                &self.path,
                io::Error::from(io::ErrorKind::UnexpectedEof),
            ));
        }
        content.buf.read(offset, buf);
        Ok(())
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        let offset = to_usize(offset, &self.path)?;
        self.mutate(Op::Write(self.inode, offset, buf))
    }

    fn len(&self) -> Result<u64> {
        let mut s = self.backend.state.lock();
        if s.crashed {
            return Err(crashed_error(&self.path));
        }
        Ok(s.inode(self.inode, &self.path)?.content.len as u64)
    }

    fn set_len(&self, len: u64) -> Result<()> {
        let len = to_usize(len, &self.path)?;
        self.mutate(Op::SetLen(self.inode, len))
    }

    fn allocate(&self, len: u64) -> Result<()> {
        let len = to_usize(len, &self.path)?;
        self.mutate(Op::Allocate(self.inode, len))
    }

    fn punch_hole(&self, offset: u64, len: u64) -> Result<()> {
        let (offset, len) = (to_usize(offset, &self.path)?, to_usize(len, &self.path)?);
        self.mutate(Op::Punch(self.inode, offset, len))
    }

    fn sync(&self) -> Result<()> {
        self.mutate(Op::Sync(self.inode))
    }

    fn map(&self, len: u64) -> Result<Arc<dyn Mapping>> {
        let mut s = self.backend.state.lock();
        if s.crashed {
            return Err(crashed_error(&self.path));
        }
        let len = to_usize(len, &self.path)?;
        let content = &s.inode(self.inode, &self.path)?.content;
        if len > content.len {
            return Err(Error::InvalidArgument(format!(
                "cannot map {len} bytes of {} ({} bytes long)",
                self.path.display(),
                content.len
            )));
        }
        Ok(Arc::new(MemMapping {
            buf: content.buf.clone(),
            len,
        }))
    }
}

#[derive(Debug)]
struct MemLock {
    backend: FaultyBackend,
    path: PathBuf,
}

impl LockGuard for MemLock {}

impl Drop for MemLock {
    fn drop(&mut self) {
        self.backend.state.lock().locks.remove(&self.path);
    }
}

impl Backend for FaultyBackend {
    fn open(&self, path: &Path, create: bool) -> Result<Arc<dyn StorageFile>> {
        let mut s = self.state.lock();
        if s.crashed {
            return Err(crashed_error(path));
        }
        if !s.names.contains_key(path) {
            if !create {
                return Err(Error::io(path, io::Error::from(io::ErrorKind::NotFound)));
            }
            s.mutate(path, Op::Create(path))?;
        }
        let inode = s
            .names
            .get(path)
            .copied()
            .ok_or_else(|| crashed_error(path))?;
        Ok(Arc::new(MemFile {
            backend: self.clone(),
            inode,
            path: path.to_path_buf(),
        }))
    }

    fn exists(&self, path: &Path) -> Result<bool> {
        let s = self.state.lock();
        if s.crashed {
            return Err(crashed_error(path));
        }
        // A file, or a directory: implicit, it exists while something is under it.
        Ok(s.names.contains_key(path) || s.names.keys().any(|p| p.starts_with(path)))
    }

    fn create_dir_all(&self, _path: &Path) -> Result<()> {
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.state.lock().mutate(from, Op::Rename(from, to))
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        self.state.lock().mutate(path, Op::Remove(path))
    }

    fn remove_dir_all(&self, path: &Path) -> Result<()> {
        let under: Vec<PathBuf> = {
            let s = self.state.lock();
            if s.crashed {
                return Err(crashed_error(path));
            }
            s.names
                .keys()
                .filter(|p| p.starts_with(path))
                .cloned()
                .collect()
        };
        for p in under {
            self.remove_file(&p)?;
        }
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> Result<()> {
        self.state.lock().mutate(path, Op::SyncDir(path))
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<PathBuf>> {
        let s = self.state.lock();
        if s.crashed {
            return Err(crashed_error(path));
        }
        Ok(s.names
            .keys()
            .filter(|p| parent_dir(p) == path)
            .cloned()
            .collect())
    }

    fn hard_link(&self, from: &Path, to: &Path) -> Result<()> {
        self.state.lock().mutate(to, Op::Link(from, to))
    }

    fn rename_dir(&self, from: &Path, to: &Path) -> Result<()> {
        self.state.lock().mutate(from, Op::RenameDir(from, to))
    }

    fn lock(&self, path: &Path, dir: &Path) -> Result<Box<dyn LockGuard>> {
        let mut s = self.state.lock();
        if s.crashed {
            return Err(crashed_error(path));
        }
        if !s.locks.insert(path.to_path_buf()) {
            return Err(Error::Locked {
                path: dir.to_path_buf(),
            });
        }
        Ok(Box::new(MemLock {
            backend: self.clone(),
            path: path.to_path_buf(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn unsynced_write_is_lost_on_power_loss_but_kept_on_process_crash() {
        let b = FaultyBackend::new();
        let f = b.open(&p("d/a"), true).unwrap();
        b.sync_dir(&p("d")).unwrap();
        f.write_all_at(b"synced", 0).unwrap();
        f.sync().unwrap();
        f.write_all_at(b"SYNCED", 0).unwrap();
        let images = b.crash_images();
        let process = images[0].backend.read_file(&p("d/a")).unwrap();
        let power = images[1].backend.read_file(&p("d/a")).unwrap();
        assert_eq!(process, b"SYNCED");
        assert_eq!(power, b"synced");
    }

    #[test]
    fn unsynced_create_and_rename_are_lost_on_power_loss() {
        let b = FaultyBackend::new();
        let f = b.open(&p("d/new"), true).unwrap();
        f.write_all_at(b"x", 0).unwrap();
        f.sync().unwrap();
        let images = b.crash_images();
        assert!(images[1].backend.read_file(&p("d/new")).is_none());
        b.sync_dir(&p("d")).unwrap();
        b.rename(&p("d/new"), &p("d/renamed")).unwrap();
        let images = b.crash_images();
        assert!(images[1].backend.read_file(&p("d/new")).is_some());
        assert!(images[0].backend.read_file(&p("d/renamed")).is_some());
    }

    #[test]
    fn crash_interrupts_the_nth_call_and_tears_it_with_garbage() {
        let b = FaultyBackend::new();
        let f = b.open(&p("d/a"), true).unwrap();
        b.sync_dir(&p("d")).unwrap();
        b.crash_after(0);
        assert!(f.write_all_at(&[7u8; 16], 0).is_err());
        assert!(b.is_crashed());
        assert!(f.sync().is_err());
        let images = b.crash_images();
        assert_eq!(images.len(), 4);
        let torn = images[2].backend.read_file(&p("d/a")).unwrap();
        assert_eq!(&torn[..8], &[7u8; 8]);
        assert!(
            torn[8..].iter().all(|&x| x != 0),
            "torn part must be garbage, not zeros"
        );
        assert!(images[0].backend.read_file(&p("d/a")).unwrap().is_empty());
    }

    #[test]
    fn planned_failure_hits_only_the_nth_call_and_changes_nothing() {
        let b = FaultyBackend::new();
        let f = b.open(&p("d/a"), true).unwrap();
        b.fail_nth(FaultKind::Write, 2, 28);
        f.write_all_at(b"a", 0).unwrap();
        let err = f.write_all_at(b"b", 1).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(28));
        f.write_all_at(b"c", 1).unwrap();
        assert_eq!(b.read_file(&p("d/a")).unwrap(), b"ac");
    }

    #[test]
    fn mapping_sees_later_writes_and_survives_growth() {
        let b = FaultyBackend::new();
        let f = b.open(&p("a"), true).unwrap();
        f.allocate(128).unwrap();
        let m = f.map(128).unwrap();
        f.write_all_at(&[9; 4], 64).unwrap();
        // SAFETY: test-only read of bytes no writer touches concurrently.
        let seen = unsafe { std::slice::from_raw_parts(m.as_ptr().add(64), 4) };
        assert_eq!(seen, &[9; 4]);
        f.allocate(1 << 20).unwrap();
        assert_eq!(m.len(), 128);
        assert_eq!(m.as_ptr() as usize % 64, 0);
    }

    #[test]
    fn hard_links_share_bytes_and_need_a_directory_sync() {
        let b = FaultyBackend::new();
        let f = b.open(&p("d/a"), true).unwrap();
        f.write_all_at(b"abc", 0).unwrap();
        f.sync().unwrap();
        b.sync_dir(&p("d")).unwrap();
        b.hard_link(&p("d/a"), &p("s/a")).unwrap();
        assert!(b.hard_link(&p("d/a"), &p("s/a")).is_err(), "target exists");
        assert_eq!(b.read_file(&p("s/a")).unwrap(), b"abc");
        assert!(b.crash_images()[1].backend.read_file(&p("s/a")).is_none());
        b.sync_dir(&p("s")).unwrap();
        let power = &b.crash_images()[1].backend;
        assert_eq!(power.read_file(&p("s/a")).unwrap(), b"abc");
    }

    #[test]
    fn directory_renames_move_everything_and_need_a_parent_sync() {
        let b = FaultyBackend::new();
        for name in ["r/x/a", "r/x/sub/b"] {
            let f = b.open(&p(name), true).unwrap();
            f.write_all_at(b"1", 0).unwrap();
            f.sync().unwrap();
            b.sync_dir(parent_dir(&p(name))).unwrap();
        }
        assert!(b.exists(&p("r/x")).unwrap() && !b.exists(&p("r/y")).unwrap());
        b.rename_dir(&p("r/x"), &p("r/y")).unwrap();
        assert!(b.read_file(&p("r/y/sub/b")).is_some());
        assert!(b.read_file(&p("r/x/a")).is_none());
        let power = &b.crash_images()[1].backend;
        assert!(power.read_file(&p("r/x/a")).is_some(), "not durable yet");
        b.sync_dir(&p("r")).unwrap();
        let power = &b.crash_images()[1].backend;
        assert!(power.read_file(&p("r/y/sub/b")).is_some());
        assert!(power.read_file(&p("r/x/a")).is_none());
        let f = b.open(&p("r/z/c"), true).unwrap();
        drop(f);
        assert!(b.rename_dir(&p("r/y"), &p("r/z")).is_err(), "not empty");
        assert!(b.rename_dir(&p("r/none"), &p("r/w")).is_err(), "missing");
    }

    #[test]
    fn second_lock_is_refused_until_the_first_is_dropped() {
        let b = FaultyBackend::new();
        let g = b.lock(&p("d/LOCK"), &p("d")).unwrap();
        assert!(matches!(
            b.lock(&p("d/LOCK"), &p("d")),
            Err(Error::Locked { .. })
        ));
        drop(g);
        assert!(b.lock(&p("d/LOCK"), &p("d")).is_ok());
    }
}
