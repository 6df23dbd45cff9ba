//! Unpacking an archive into a snapshot directory: [`unpack_snapshot`],
//! [`unpack_snapshot_file`]. Every check is in the module docs of `archive`.

use std::collections::BTreeSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{BlockChecker, FileReader, from_io};
use crate::backend::{Backend, StorageFile, parent_dir, write_synced};
use crate::error::{Error, Result};
use crate::snapshot::manifest::{MANIFEST_NAME, MAX_NAME_LEN, SnapshotManifest, check_name};
use crate::snapshot::verify::read_manifest;
use crate::snapshot::{CHUNK, Meter, Progress, dirs_up_to};

/// What an unpack accepts at most (an archive past a limit is refused before its files are
/// written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// Sum of the snapshot's file lengths.
    pub max_total_bytes: u64,
    /// Number of files the manifest lists.
    pub max_files: usize,
    /// Size of the manifest entry.
    pub max_manifest_bytes: u64,
}

impl Default for UnpackLimits {
    /// No limit on the total (the caller knows its disk), 100,000 files, a 64 MiB manifest.
    fn default() -> Self {
        UnpackLimits {
            max_total_bytes: u64::MAX,
            max_files: 100_000,
            max_manifest_bytes: 64 << 20,
        }
    }
}

/// The directory an unpack into `dest` writes before renaming it to `dest`.
pub fn unpack_staging_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".unpacking");
    dest.with_file_name(name)
}

/// Unpacks the archive file `archive` into the new directory `dest` (see
/// [`unpack_snapshot`]).
pub fn unpack_snapshot_file(
    backend: &dyn Backend,
    archive: &Path,
    dest: &Path,
    limits: UnpackLimits,
    progress: &mut dyn FnMut(Progress),
) -> Result<SnapshotManifest> {
    let file = backend.open(archive, false)?;
    let end = file.len()?;
    let mut reader = io::BufReader::with_capacity(CHUNK, FileReader { file, at: 0, end });
    unpack_snapshot(backend, archive, &mut reader, dest, limits, progress)
}

/// Unpacks an archive read from `input` into the new directory `dest` (which must not
/// exist), checking everything the module docs list; `source` names the archive in errors
/// (its path, or where an upload came from). Problems with the archive's bytes are
/// [`Error::Corruption`] naming `source`, the entry and the byte offset; a limit exceeded
/// is [`Error::InvalidArgument`] naming the entry. On any error nothing is left behind;
/// on success `dest` is a verified snapshot, made durable. Reports progress in bytes of
/// the snapshot's files once the manifest is read. Returns the manifest.
pub fn unpack_snapshot(
    backend: &dyn Backend,
    source: &Path,
    input: &mut dyn Read,
    dest: &Path,
    limits: UnpackLimits,
    progress: &mut dyn FnMut(Progress),
) -> Result<SnapshotManifest> {
    if dest.file_name().is_none() {
        return Err(Error::InvalidArgument(format!(
            "cannot unpack into {}: it has no directory name",
            dest.display()
        )));
    }
    if backend.exists(dest)? {
        return Err(Error::InvalidArgument(format!(
            "cannot unpack into {}: it already exists",
            dest.display()
        )));
    }
    let staging = unpack_staging_path(dest);
    // Left by an interrupted earlier unpack, if anything.
    backend.remove_dir_all(&staging)?;
    backend.create_dir_all(&staging)?;
    let unpacked = Unpacker {
        backend,
        source,
        staging: &staging,
        limits,
        next_header: 0,
    }
    .run(input, progress);
    match unpacked {
        Ok(manifest) => {
            backend.rename_dir(&staging, dest)?;
            backend.sync_dir(parent_dir(dest))?;
            Ok(manifest)
        }
        Err(e) => {
            // Best effort: the staging directory is garbage either way, and the next
            // unpack into `dest` removes it first.
            let _ = backend.remove_dir_all(&staging);
            Err(e)
        }
    }
}

/// One unpack's state.
struct Unpacker<'a> {
    backend: &'a dyn Backend,
    source: &'a Path,
    staging: &'a Path,
    limits: UnpackLimits,
    /// Where the next header starts (for errors the tar reader gives without a position).
    next_header: u64,
}

/// A regular-file entry ready to be read, and where its header starts.
struct FileEntry<'e, R: Read> {
    name: String,
    entry: tar::Entry<'e, R>,
    at: u64,
}

impl Unpacker<'_> {
    fn run(
        &mut self,
        input: &mut dyn Read,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<SnapshotManifest> {
        let mut archive = tar::Archive::new(input);
        archive.set_ignore_zeros(false);
        let mut entries = archive
            .entries()
            .map_err(|e| self.corrupt(0, format!("not a tar archive: {e}")))?
            .raw(true);

        let Some(first) = self.next_file(&mut entries)? else {
            return Err(self.corrupt(0, "empty archive: no snapshot manifest"));
        };
        if first.name != MANIFEST_NAME {
            return Err(self.corrupt(
                first.at,
                format!(
                    "the first entry is {:?}; a snapshot archive starts with its manifest {MANIFEST_NAME:?}",
                    first.name
                ),
            ));
        }
        let manifest = self.read_manifest(first)?;
        self.check_limits(&manifest)?;

        let mut meter = Meter {
            done: 0,
            total: manifest.total_bytes(),
            callback: progress,
        };
        let mut dirs = BTreeSet::new();
        for (index, expected) in manifest.files.iter().enumerate() {
            let Some(mut file) = self.next_file(&mut entries)? else {
                return Err(self.corrupt(
                    self.next_header,
                    format!(
                        "the archive ends before {:?}: {index} of the manifest's {} files present",
                        expected.name,
                        manifest.files.len()
                    ),
                ));
            };
            if file.name != expected.name {
                return Err(self.corrupt(
                    file.at,
                    format!(
                        "entry {:?} is not the next file of the snapshot manifest ({:?}): out of order, repeated or not listed",
                        file.name, expected.name
                    ),
                ));
            }
            let size = file.entry.size();
            if size != expected.len {
                return Err(self.corrupt(
                    file.at,
                    format!(
                        "entry {:?} is {size} bytes, the snapshot manifest records {}",
                        file.name, expected.len
                    ),
                ));
            }
            let to = self.staging.join(&expected.name);
            let parents = dirs_up_to(self.staging, &to);
            if let Some(parent) = parents.first() {
                self.backend.create_dir_all(parent)?;
            }
            dirs.extend(parents);
            let out = self.backend.open(&to, true)?;
            out.set_len(0)?;
            let data_at = file.entry.raw_file_position();
            let mut checker = BlockChecker::new(expected);
            self.copy(&mut file.entry, out.as_ref(), &mut checker, &mut meter)
                .and_then(|()| checker.finish().map_err(Failed::from))
                .map_err(|failure| match failure {
                    Failed::Storage(e) => e,
                    Failed::Bytes(m) => self.corrupt(
                        data_at + m.offset(expected),
                        format!("entry {:?}: {}", file.name, m.describe(expected)),
                    ),
                })?;
            out.sync()?;
        }
        if let Some(extra) = self.next_file(&mut entries)? {
            return Err(self.corrupt(
                extra.at,
                format!(
                    "entry {:?} is not listed in the snapshot manifest",
                    extra.name
                ),
            ));
        }
        dirs.insert(self.staging.to_path_buf());
        for d in dirs.iter().rev() {
            self.backend.sync_dir(d)?;
        }
        Ok(manifest)
    }

    fn corrupt(&self, at: u64, reason: impl Into<String>) -> Error {
        Error::corruption(self.source, at, reason)
    }

    /// The manifest entry, written into the staging directory and read back checked.
    fn read_manifest<R: Read>(&self, mut first: FileEntry<'_, R>) -> Result<SnapshotManifest> {
        let size = first.entry.size();
        if size > self.limits.max_manifest_bytes {
            return Err(Error::InvalidArgument(format!(
                "{}: the snapshot manifest entry is {size} bytes, more than the limit of {}",
                self.source.display(),
                self.limits.max_manifest_bytes
            )));
        }
        let mut bytes = Vec::new();
        first
            .entry
            .by_ref()
            .take(size)
            .read_to_end(&mut bytes)
            .map_err(|e| self.corrupt(first.at, format!("entry {MANIFEST_NAME:?}: {e}")))?;
        if bytes.len() as u64 != size {
            return Err(self.corrupt(
                first.at,
                format!(
                    "the archive ends inside entry {MANIFEST_NAME:?} ({} of {size} bytes)",
                    bytes.len()
                ),
            ));
        }
        write_synced(self.backend, &self.staging.join(MANIFEST_NAME), &[&bytes])?;
        read_manifest(self.backend, self.staging).map_err(|e| match e {
            Error::Corruption { offset, reason, .. } => self.corrupt(
                first.entry.raw_file_position() + offset,
                format!("entry {MANIFEST_NAME:?}: {reason}"),
            ),
            other => other,
        })
    }

    fn check_limits(&self, manifest: &SnapshotManifest) -> Result<()> {
        if manifest.files.len() > self.limits.max_files {
            return Err(Error::InvalidArgument(format!(
                "{}: the snapshot lists {} files, more than the limit of {}",
                self.source.display(),
                manifest.files.len(),
                self.limits.max_files
            )));
        }
        let total = manifest
            .files
            .iter()
            .try_fold(0u64, |sum, f| sum.checked_add(f.len));
        match total {
            Some(total) if total <= self.limits.max_total_bytes => Ok(()),
            _ => {
                let biggest = manifest.files.iter().max_by_key(|f| f.len);
                Err(Error::InvalidArgument(format!(
                    "{}: the snapshot's files add up to more than the limit of {} bytes (the largest entry is {:?}, {} bytes)",
                    self.source.display(),
                    self.limits.max_total_bytes,
                    biggest.map_or("", |f| f.name.as_str()),
                    biggest.map_or(0, |f| f.len)
                )))
            }
        }
    }

    /// The next regular-file entry (after at most one long-name entry giving its name), or
    /// `None` at the end of the archive. Anything else is refused naming the entry.
    fn next_file<'e, R: Read>(
        &mut self,
        entries: &mut tar::Entries<'e, R>,
    ) -> Result<Option<FileEntry<'e, R>>> {
        let mut long_name: Option<String> = None;
        loop {
            let at = self.next_header;
            let mut entry = match entries.next() {
                None if long_name.is_some() => {
                    return Err(self.corrupt(at, "the archive ends after a long-name entry"));
                }
                None => return Ok(None),
                Some(Err(e)) => return Err(self.corrupt(at, format!("unreadable tar entry: {e}"))),
                Some(Ok(entry)) => entry,
            };
            let at = entry.raw_header_position();
            let size = entry.size();
            self.next_header = entry
                .raw_file_position()
                .saturating_add(size.div_ceil(512).saturating_mul(512));
            let kind = entry.header().entry_type();
            if kind.is_gnu_longname() {
                if long_name.is_some() {
                    return Err(self.corrupt(at, "two long-name entries for one file"));
                }
                if size > MAX_NAME_LEN as u64 + 1 {
                    return Err(self.corrupt(
                        at,
                        format!(
                            "long-name entry of {size} bytes, at most {}",
                            MAX_NAME_LEN + 1
                        ),
                    ));
                }
                let mut raw = Vec::new();
                entry
                    .read_to_end(&mut raw)
                    .map_err(|e| self.corrupt(at, format!("long-name entry: {e}")))?;
                while raw.last() == Some(&0) {
                    raw.pop();
                }
                let name = String::from_utf8(raw)
                    .map_err(|_| self.corrupt(at, "long-name entry is not UTF-8"))?;
                long_name = Some(name);
                continue;
            }
            let name = match long_name.take() {
                Some(name) => name,
                None => String::from_utf8(entry.path_bytes().into_owned()).map_err(|e| {
                    self.corrupt(
                        at,
                        format!(
                            "entry {:?}: name is not UTF-8",
                            String::from_utf8_lossy(e.as_bytes())
                        ),
                    )
                })?,
            };
            if kind != tar::EntryType::Regular {
                return Err(self.corrupt(
                    at,
                    format!(
                        "entry {name:?} is {}; a snapshot archive holds only regular files",
                        describe_kind(kind)
                    ),
                ));
            }
            if name != MANIFEST_NAME {
                check_name(&name)
                    .map_err(|reason| self.corrupt(at, format!("entry {name:?}: {reason}")))?;
            }
            return Ok(Some(FileEntry { name, entry, at }));
        }
    }

    /// Copies an entry's bytes into `out`, checking them as they pass.
    fn copy(
        &self,
        entry: &mut impl Read,
        out: &dyn StorageFile,
        checker: &mut BlockChecker<'_>,
        meter: &mut Meter<'_>,
    ) -> std::result::Result<(), Failed> {
        let mut buf = vec![0u8; CHUNK];
        let mut at = 0u64;
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failed::Storage(from_io(self.source, e))),
            };
            checker.feed(&buf[..n]).map_err(Failed::Bytes)?;
            out.write_all_at(&buf[..n], at).map_err(Failed::Storage)?;
            at += n as u64;
            meter.advance(n as u64);
        }
    }
}

/// Why copying an entry stopped.
enum Failed {
    Storage(Error),
    Bytes(super::Mismatch),
}

impl From<super::Mismatch> for Failed {
    fn from(m: super::Mismatch) -> Self {
        Failed::Bytes(m)
    }
}

fn describe_kind(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Link => "a hard link",
        tar::EntryType::Symlink => "a symbolic link",
        tar::EntryType::Directory => "a directory",
        tar::EntryType::Char => "a character device",
        tar::EntryType::Block => "a block device",
        tar::EntryType::Fifo => "a FIFO",
        tar::EntryType::Continuous => "a contiguous file",
        tar::EntryType::GNULongLink => "a GNU long link name",
        tar::EntryType::GNUSparse => "a GNU sparse file",
        tar::EntryType::XGlobalHeader => "a PAX global header",
        tar::EntryType::XHeader => "a PAX extended header",
        _ => "an entry of an unknown type",
    }
}
