//! Snapshots of a database or of one collection, and restores from them.
//!
//! A snapshot is a directory written by `nearstore_storage::snapshot::write_snapshot`: the
//! files, then a checksummed manifest (every file's length, CRC-32C and per-4 KiB block
//! CRCs) written last, so a directory is a snapshot exactly when its manifest is there.
//! The manifest's metadata (JSON) says what it holds: [`SnapshotMeta`].
//!
//! Consistency: each collection is fixed at one sequence number by `Collection::cut`
//! (under its writer lock: streaming queue applied, checkpoint, files pinned in
//! `.snapshot-pins/<id>/` inside the database directory); the bytes are copied after the
//! lock is released, while writes continue. A database snapshot holds the catalog lock
//! while it cuts the collections one after the other (no collection is created or dropped
//! meanwhile) and copies `database.manifest` with them. Pins are removed when the snapshot
//! ends and, after a crash, when the database is next opened; a crash while writing leaves
//! a directory without a manifest, which restore refuses.
//!
//! Restore: the snapshot is verified (every checksum) before anything changes; then the
//! open collections concerned are closed (handles on them answer `NotFound` from then on)
//! and `restore_verified_snapshot` copies into a staging directory and swaps it in atomically; the
//! collections are opened again from the restored files. A crash at any point is finished
//! or undone by `recover_restore` at the next open (of the database directory under the
//! lock beside it, `<dir>.lock`, which the swap never moves and an open database holds for
//! its life; of each collection directory before it is opened): the database or
//! collection is then wholly as it was or wholly restored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::{COLLECTIONS_DIR, Database, LOCK_FILE, MANIFEST_FILE, load};
use crate::collection::{Collection, VectorCollection, snapshot::copy_file};
use crate::error::{Error, Result};
use nearstore_storage::SharedBackend;
use nearstore_storage::snapshot::{
    self as files, Capture, SnapshotManifest, SnapshotSource, recover_restore,
    restore_verified_snapshot, verify_snapshot, write_snapshot,
};

/// Bytes done / total of a snapshot or restore, for progress reports.
pub use nearstore_storage::snapshot::Progress as SnapshotProgress;

/// Where cuts pin files while a snapshot copies them (inside the database directory, so
/// hard links work).
const PINS_DIR: &str = ".snapshot-pins";
const DATABASE_FORMAT: &str = "nearstore-database";
const COLLECTION_FORMAT: &str = "nearstore-collection";

/// What a snapshot's manifest metadata records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SnapshotMeta {
    /// `nearstore-database` or `nearstore-collection`.
    format: String,
    /// Each collection and the sequence number its files reflect.
    collections: BTreeMap<String, u64>,
}

/// What a snapshot holds (returned by the snapshot and restore calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// Each collection with the sequence number of its operation log the snapshot
    /// reflects: every operation up to it, none after.
    pub collections: BTreeMap<String, u64>,
    /// Files in the snapshot.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

impl SnapshotInfo {
    fn new(meta: SnapshotMeta, manifest: &SnapshotManifest) -> Self {
        SnapshotInfo {
            collections: meta.collections,
            files: manifest.files.len(),
            bytes: manifest.total_bytes(),
        }
    }
}

fn read_meta(manifest: &SnapshotManifest, snapshot: &Path, format: &str) -> Result<SnapshotMeta> {
    let file = snapshot.join(files::MANIFEST_NAME).display().to_string();
    let meta: SnapshotMeta = serde_json::from_slice(&manifest.meta)
        .map_err(|e| Error::corruption(&file, format!("snapshot metadata: {e}")))?;
    if meta.format != format {
        return Err(Error::InvalidArgument(format!(
            "{} holds a {} snapshot, not a {format} one",
            snapshot.display(),
            meta.format
        )));
    }
    Ok(meta)
}

/// The path as the file system resolves it (symbolic links, `..`), or as given when it
/// cannot be resolved (a backend that is not the file system).
fn resolved(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Verifies the snapshot in `snapshot` for a restore (the restore's one verification,
/// reported as the first half of its progress) and reads its metadata: refused when it is
/// damaged, of another `format`, inside or containing the directory `target` it is to
/// replace (the data directory; a collection's directory), or listing an invalid collection
/// name. Nothing is changed.
fn check_snapshot_for_restore(
    backend: &SharedBackend,
    snapshot: &Path,
    target: &Path,
    format: &str,
    progress: &mut dyn FnMut(SnapshotProgress),
) -> Result<(SnapshotManifest, SnapshotMeta)> {
    let (resolved_snapshot, resolved_target) = (resolved(snapshot), resolved(target));
    if resolved_snapshot.starts_with(&resolved_target)
        || resolved_target.starts_with(&resolved_snapshot)
    {
        return Err(Error::InvalidArgument(format!(
            "cannot restore {} into {}: one contains the other",
            snapshot.display(),
            target.display()
        )));
    }
    let total = files::read_manifest(backend.as_ref(), snapshot)?.total_bytes();
    let mut halved = |p: SnapshotProgress| {
        progress(SnapshotProgress {
            bytes_done: p.bytes_done,
            bytes_total: total * 2,
        })
    };
    let manifest = verify_snapshot(backend.as_ref(), snapshot, &mut halved)?;
    let meta = read_meta(&manifest, snapshot, format)?;
    for name in meta.collections.keys() {
        super::validate_collection_name(name).map_err(|e| {
            Error::corruption(
                snapshot.join(files::MANIFEST_NAME).display(),
                format!("snapshot metadata: {e}"),
            )
        })?;
    }
    Ok((manifest, meta))
}

/// Finishes or undoes a restore of the whole directory `dir` interrupted by a crash.
pub(super) fn recover_database_restore(backend: &SharedBackend, dir: &Path) -> Result<()> {
    recover_restore(backend.as_ref(), dir)?;
    Ok(())
}

/// Removes pins a crashed snapshot left (the caller holds the directory lock).
pub(super) fn recover_leftovers(backend: &SharedBackend, dir: &Path) -> Result<()> {
    backend.remove_dir_all(&dir.join(PINS_DIR))?;
    Ok(())
}

/// A fresh pin directory for one snapshot.
fn pin_dir(dir: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(PINS_DIR)
        .join(format!("{}-{n}", std::process::id()))
}

fn prefixed(prefix: &str, sources: Vec<SnapshotSource>) -> impl Iterator<Item = SnapshotSource> {
    sources.into_iter().map(move |mut s| {
        s.name = format!("{prefix}{}", s.name);
        s
    })
}

impl Database {
    /// [`Database::snapshot_with_progress`] without progress reports.
    pub fn snapshot(&self, dir: impl AsRef<Path>) -> Result<SnapshotInfo> {
        self.snapshot_with_progress(dir, &mut |_| {})
    }

    /// Writes a consistent snapshot of every collection into `dir` (created; it must not
    /// hold a snapshot already) while writes continue: each collection as of one sequence
    /// number of its log (streamed points queued before included), with the aliases.
    /// `progress` gets the bytes copied so far. Refused while a collection is damaged.
    pub fn snapshot_with_progress(
        &self,
        dir: impl AsRef<Path>,
        progress: &mut dyn FnMut(SnapshotProgress),
    ) -> Result<SnapshotInfo> {
        let pins = pin_dir(&self.inner.dir);
        let result = self.snapshot_database(dir.as_ref(), &pins, progress);
        let cleanup = self.inner.backend.remove_dir_all(&pins);
        let info = result?;
        cleanup?;
        Ok(info)
    }

    fn snapshot_database(
        &self,
        dir: &Path,
        pins: &Path,
        progress: &mut dyn FnMut(SnapshotProgress),
    ) -> Result<SnapshotInfo> {
        let b = &self.inner.backend;
        let mut meta = SnapshotMeta {
            format: DATABASE_FORMAT.into(),
            collections: BTreeMap::new(),
        };
        let mut sources = Vec::new();
        let mut cuts = Vec::new();
        {
            let _catalog = self.inner.catalog.lock();
            if let Some((name, why)) = self.inner.damaged.read().iter().next() {
                return Err(Error::Conflict(format!(
                    "collection {name} is damaged ({why}); drop or repair it before a snapshot"
                )));
            }
            b.create_dir_all(pins)?;
            let manifest = self.inner.dir.join(MANIFEST_FILE);
            if b.exists(&manifest)? {
                let pinned = pins.join(MANIFEST_FILE);
                let len = b.open(&manifest, false)?.len()?;
                copy_file(b.as_ref(), &manifest, &pinned, len)?;
                sources.push(SnapshotSource::new(MANIFEST_FILE, pinned, Capture::Copy));
            }
            let collections: Vec<(String, VectorCollection)> = self
                .inner
                .collections
                .read()
                .iter()
                .map(|(n, c)| (n.clone(), c.clone()))
                .collect();
            for (name, c) in collections {
                let prefix = format!("{COLLECTIONS_DIR}/{name}/");
                let mut cut = c.inner.cut(&pins.join(COLLECTIONS_DIR).join(&name))?;
                meta.collections.insert(name, cut.seq);
                sources.extend(prefixed(&prefix, std::mem::take(&mut cut.sources)));
                cuts.push(cut);
            }
        }
        let bytes = serde_json::to_vec(&meta).map_err(|e| Error::Internal(e.to_string()))?;
        let manifest = write_snapshot(b.as_ref(), dir, &sources, 0, &bytes, progress)?;
        drop(cuts);
        Ok(SnapshotInfo::new(meta, &manifest))
    }

    /// [`Database::snapshot_collection_with_progress`] without progress reports.
    pub fn snapshot_collection(&self, name: &str, dir: impl AsRef<Path>) -> Result<SnapshotInfo> {
        self.snapshot_collection_with_progress(name, dir, &mut |_| {})
    }

    /// Writes a snapshot of the collection `name` (or the one an alias names) into `dir`:
    /// its state at one sequence number, taken while writes continue.
    pub fn snapshot_collection_with_progress(
        &self,
        name: &str,
        dir: impl AsRef<Path>,
        progress: &mut dyn FnMut(SnapshotProgress),
    ) -> Result<SnapshotInfo> {
        let c = self.get_vector_collection(name)?;
        let pins = pin_dir(&self.inner.dir);
        let result = (|| -> Result<SnapshotInfo> {
            let cut = c.inner.cut(&pins)?;
            let meta = SnapshotMeta {
                format: COLLECTION_FORMAT.into(),
                collections: BTreeMap::from([(c.name().to_string(), cut.seq)]),
            };
            let bytes = serde_json::to_vec(&meta).map_err(|e| Error::Internal(e.to_string()))?;
            let b = self.inner.backend.as_ref();
            let manifest =
                write_snapshot(b, dir.as_ref(), &cut.sources, cut.seq, &bytes, progress)?;
            Ok(SnapshotInfo::new(meta, &manifest))
        })();
        let cleanup = self.inner.backend.remove_dir_all(&pins);
        let info = result?;
        cleanup?;
        Ok(info)
    }

    /// [`Database::restore_with_progress`] without progress reports.
    pub fn restore(&self, dir: impl AsRef<Path>) -> Result<SnapshotInfo> {
        self.restore_with_progress(dir, &mut |_| {})
    }

    /// Replaces the whole database (every collection, the aliases) with the database
    /// snapshot in `dir`. The snapshot is verified first: a damaged one is refused with the
    /// file and offset named and nothing changed. Then the open collections are closed
    /// (handles held on them answer `NotFound` from then on: take new ones), the snapshot
    /// is swapped in atomically and its collections are opened. A crash at any point leaves
    /// the old database or the restored one, whole, at the next open.
    pub fn restore_with_progress(
        &self,
        dir: impl AsRef<Path>,
        progress: &mut dyn FnMut(SnapshotProgress),
    ) -> Result<SnapshotInfo> {
        let snapshot = dir.as_ref();
        let b = self.inner.backend.clone();
        let (manifest, meta) =
            check_snapshot_for_restore(&b, snapshot, &self.inner.dir, DATABASE_FORMAT, progress)?;
        let _catalog = self.inner.catalog.lock();
        let old: Vec<VectorCollection> = std::mem::take(&mut *self.inner.collections.write())
            .into_values()
            .collect();
        for c in &old {
            c.inner.mark_dropped();
        }
        drop(old);
        let target = &self.inner.dir;
        let restored = restore_verified_snapshot(b.as_ref(), snapshot, &manifest, target, progress);
        if restored.is_err() {
            // Finished if it committed, undone if not; then whatever is there is reopened.
            let _ = recover_restore(b.as_ref(), target);
        }
        // The directory under the held lock was swapped out: lock the one now in place.
        {
            let mut lock = self.inner.lock.lock();
            *lock = None;
            *lock = Some(b.lock(&target.join(LOCK_FILE), target)?);
        }
        recover_leftovers(&b, target)?;
        let loaded = load(&b, target, false)?;
        let clock = self.inner.wall_clock.read().clone();
        for c in loaded.collections.values() {
            c.set_wall_clock(clock.clone());
        }
        *self.inner.collections.write() = loaded.collections;
        *self.inner.damaged.write() = loaded.damaged;
        *self.inner.aliases.write() = loaded.aliases;
        self.bump_generation();
        restored?;
        Ok(SnapshotInfo::new(meta, &manifest))
    }

    /// [`Database::restore_collection_with_progress`] without progress reports.
    pub fn restore_collection(&self, name: &str, dir: impl AsRef<Path>) -> Result<SnapshotInfo> {
        self.restore_collection_with_progress(name, dir, &mut |_| {})
    }

    /// Replaces the collection `name` (a collection's own name; created when absent) with
    /// the collection snapshot in `dir`, which may be a snapshot of a collection of any
    /// name (the restored collection is renamed `name`). Verified first (damage refused with file and offset, nothing changed); the
    /// open collection is closed (its handles answer `NotFound` from then on), the snapshot
    /// swapped in atomically, and the collection opened again.
    pub fn restore_collection_with_progress(
        &self,
        name: &str,
        dir: impl AsRef<Path>,
        progress: &mut dyn FnMut(SnapshotProgress),
    ) -> Result<SnapshotInfo> {
        super::validate_collection_name(name)?;
        let snapshot = dir.as_ref();
        let b = self.inner.backend.clone();
        let cdir = self.collection_dir(name);
        let (manifest, meta) =
            check_snapshot_for_restore(&b, snapshot, &cdir, COLLECTION_FORMAT, progress)?;
        let [(_, seq)] = meta.collections.iter().collect::<Vec<_>>()[..] else {
            return Err(Error::corruption(
                snapshot.join(files::MANIFEST_NAME).display(),
                "a collection snapshot's metadata must list one collection",
            ));
        };
        // Restored under `name`, whatever the snapshot's collection was called.
        let meta = SnapshotMeta {
            format: meta.format.clone(),
            collections: BTreeMap::from([(name.to_string(), *seq)]),
        };
        let _catalog = self.inner.catalog.lock();
        if self.inner.aliases.read().contains_key(name) {
            return Err(Error::NameInUse {
                name: name.to_string(),
                by: "an alias",
            });
        }
        let listed = self.listed_names().iter().any(|n| n == name);
        // Removed under the map's lock, closed after it (closing joins the drain thread).
        let removed = self.inner.collections.write().remove(name);
        if let Some(old) = removed {
            old.inner.mark_dropped();
        }
        self.inner.damaged.write().remove(name);
        if !listed {
            // An unlisted directory of this name is a leftover of a crashed create or drop.
            b.remove_dir_all(&cdir)?;
        }
        let restored = restore_verified_snapshot(b.as_ref(), snapshot, &manifest, &cdir, progress);
        if restored.is_err() {
            let _ = recover_restore(b.as_ref(), &cdir);
        }
        let restored: Result<()> = restored
            .map_err(Error::from)
            .and_then(|()| crate::collection::checkpoint::set_manifest_name(&b, &cdir, name));
        let reopened = Collection::open(b.clone(), &cdir).map(|c| VectorCollection {
            inner: c.into_shared(),
        });
        match reopened {
            Ok(c) => {
                c.set_wall_clock(self.inner.wall_clock.read().clone());
                self.inner.collections.write().insert(name.to_string(), c);
            }
            Err(e) => {
                self.inner
                    .damaged
                    .write()
                    .insert(name.to_string(), e.to_string());
            }
        }
        restored?;
        if !listed {
            let mut names = self.listed_names();
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
            names.sort();
            self.write_manifest(names)?;
        }
        self.bump_generation();
        Ok(SnapshotInfo::new(meta, &manifest))
    }
}
