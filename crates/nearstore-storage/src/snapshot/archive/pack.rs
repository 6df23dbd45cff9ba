//! Packing a snapshot directory into one archive: [`pack_snapshot`], [`write_archive`].

use std::io::{self, Read, Write};
use std::path::Path;

use super::{BlockChecker, FileReader, FileWriter, from_io};
use crate::backend::{Backend, parent_dir, temp_path};
use crate::error::{Error, Result};
use crate::snapshot::manifest::{MANIFEST_NAME, SnapshotManifest};
use crate::snapshot::verify::{open_listed, read_manifest};
use crate::snapshot::{Meter, Progress};

/// Packs the snapshot in `snapshot` into the archive file `archive` (see the module docs),
/// verifying every file against the manifest as it is read: a damaged snapshot is refused
/// with the file and the offset of its first bad block named, and no archive appears. The
/// archive is written to a temporary name, synced and renamed into place (then the
/// directory is synced), so it exists exactly when it is whole. Reports progress in bytes
/// of the snapshot's files. Returns the snapshot's manifest.
pub fn pack_snapshot(
    backend: &dyn Backend,
    snapshot: &Path,
    archive: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<SnapshotManifest> {
    if archive.starts_with(snapshot) {
        return Err(Error::InvalidArgument(format!(
            "cannot pack {} into {}: the archive would be inside the snapshot",
            snapshot.display(),
            archive.display()
        )));
    }
    let tmp = temp_path(archive);
    let file = backend.open(&tmp, true)?;
    file.set_len(0)?;
    let mut out = io::BufWriter::with_capacity(
        1 << 20,
        FileWriter {
            file: file.clone(),
            at: 0,
        },
    );
    let written = write_archive(backend, snapshot, &mut out, progress)
        .and_then(|manifest| out.flush().map_err(|e| from_io(&tmp, e)).map(|()| manifest));
    drop(out);
    let manifest = match written {
        Ok(manifest) => manifest,
        Err(e) => {
            drop(file);
            // Best effort: the temporary file is garbage either way.
            let _ = backend.remove_file(&tmp);
            return Err(e);
        }
    };
    file.sync()?;
    drop(file);
    backend.rename(&tmp, archive)?;
    backend.sync_dir(parent_dir(archive))?;
    Ok(manifest)
}

/// Writes the archive of the snapshot in `snapshot` to `out`, checking every file against
/// the manifest as it is read (the first mismatch is [`Error::Corruption`] naming the file
/// and offset; `out` then holds a partial archive the caller discards). Deterministic: the
/// same snapshot always gives the same bytes. Returns the manifest.
pub fn write_archive(
    backend: &dyn Backend,
    snapshot: &Path,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(Progress),
) -> Result<SnapshotManifest> {
    let manifest = read_manifest(backend, snapshot)?;
    let manifest_path = snapshot.join(MANIFEST_NAME);
    let manifest_file = backend.open(&manifest_path, false)?;
    let manifest_len = manifest_file.len()?;
    let mut builder = tar::Builder::new(out);
    let reader = FileReader {
        file: manifest_file,
        at: 0,
        end: manifest_len,
    };
    append(&mut builder, MANIFEST_NAME, manifest_len, reader)
        .map_err(|e| from_io(&manifest_path, e))?;

    let mut meter = Meter {
        done: 0,
        total: manifest.total_bytes(),
        callback: progress,
    };
    for entry in &manifest.files {
        let (path, file, len) = open_listed(backend, snapshot, entry)?;
        let mut reader = CheckingReader {
            inner: FileReader {
                file,
                at: 0,
                end: len,
            },
            checker: BlockChecker::new(entry),
            path: &path,
            meter: &mut meter,
        };
        append(&mut builder, &entry.name, len, &mut reader).map_err(|e| from_io(&path, e))?;
        reader
            .checker
            .finish()
            .map_err(|m| Error::corruption(&path, m.offset(entry), m.describe(entry)))?;
    }
    builder
        .into_inner()
        .map_err(|e| from_io(Path::new("snapshot archive"), e))?;
    Ok(manifest)
}

/// Appends one regular-file entry: mode 0644, owner 0, mtime 0.
fn append(
    builder: &mut tar::Builder<&mut dyn Write>,
    name: &str,
    len: u64,
    data: impl Read,
) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(len);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    builder.append_data(&mut header, name, data)
}

/// A file's bytes as they are archived, checked block by block against the manifest.
struct CheckingReader<'a, 'm, 'p> {
    inner: FileReader,
    checker: BlockChecker<'m>,
    path: &'a Path,
    meter: &'a mut Meter<'p>,
}

impl Read for CheckingReader<'_, '_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let entry = self.checker.entry;
        self.checker.feed(&buf[..n]).map_err(|m| {
            io::Error::other(Error::corruption(
                self.path,
                m.offset(entry),
                m.describe(entry),
            ))
        })?;
        self.meter.advance(n as u64);
        Ok(n)
    }
}
