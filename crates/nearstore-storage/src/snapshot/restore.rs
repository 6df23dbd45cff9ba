//! Restoring a snapshot atomically: [`restore_snapshot`], and [`recover_restore`], which
//! completes or rolls back an interrupted restore and must run before the target directory
//! is opened.
//!
//! Names, for a target directory `T` in parent `P`: staging `S` = `P/T.restore-staging`,
//! old `O` = `P/T.restore-old`, marker `M` = `P/T.restore-marker`, and a sentinel file
//! `.restore-staged` at the top of the new tree (in `S`, later in `T`).
//!
//! Protocol (each step after the previous one is durable):
//!
//! 1. [`recover_restore`] (finish or roll back an earlier attempt); verify the snapshot.
//! 2. Remove any leftover `S`; copy every snapshot file into `S` (checking each copy
//!    against the manifest), sync each file, write and sync the sentinel, sync every
//!    directory of `S` deepest first, then `P`.
//! 3. Commit: write `M` atomically (temp, fsync, rename, fsync `P`). Before this point a
//!    crash leaves `T` untouched and recovery deletes `S`; after it recovery rolls forward.
//! 4. Swap: rename `T` to `O` (when `T` exists), rename `S` to `T`, fsync `P`.
//! 5. Remove `M`, fsync `P`; remove the sentinel from `T`, fsync `T`; remove `O`.
//!
//! Recovery: with `M` present, when the sentinel is still in `S` it redoes step 4 (renaming
//! `T` away only if it still exists), then step 5; when it is already in `T`, step 5. With
//! `M` absent it removes `S`, `O`, `M`'s temp file and a sentinel left in `T` (after step 5
//! removed `M`). Every step of both is idempotent, so a crash during recovery is recovered
//! the same way.

use std::path::{Path, PathBuf};

use super::manifest::SnapshotManifest;
use super::verify::verify_snapshot;
use super::{Meter, Progress, dirs_up_to, stream};
use crate::backend::{Backend, parent_dir, temp_path, write_synced};
use crate::error::{Error, Result};
use crate::sections::write_sections;

const SENTINEL: &str = ".restore-staged";
const MARKER_MAGIC: [u8; 8] = *b"NSRESTOR";

/// What [`recover_restore`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreRecovery {
    /// No restore was in progress (leftover garbage, if any, was removed).
    Nothing,
    /// A restore that had not committed was undone: the target is as it was.
    RolledBack,
    /// A committed restore was completed: the target holds the restored snapshot.
    Completed,
}

fn sibling(target: &Path, suffix: &str) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    target.with_file_name(name)
}

/// The staging directory a restore into `target` copies into.
pub fn restore_staging_path(target: &Path) -> PathBuf {
    sibling(target, ".restore-staging")
}

/// Where a restore into `target` moves the old directory before removing it.
pub fn restore_old_path(target: &Path) -> PathBuf {
    sibling(target, ".restore-old")
}

/// The marker file whose presence commits a restore into `target`.
pub fn restore_marker_path(target: &Path) -> PathBuf {
    sibling(target, ".restore-marker")
}

/// Restores the snapshot in `snapshot` into `target` (see the module docs): verified before
/// anything is replaced (a damaged snapshot is refused with the file and offset named and
/// `target` untouched), then copied and swapped in atomically. `target` must not be open
/// (no process may hold files in it). Reports progress over verification and copy
/// together. Returns the snapshot's manifest.
pub fn restore_snapshot(
    backend: &dyn Backend,
    snapshot: &Path,
    target: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<SnapshotManifest> {
    check_restore_paths(snapshot, target)?;
    recover_restore(backend, target)?;
    let manifest = read_total_then_verify(backend, snapshot, progress)?;
    copy_and_swap(backend, snapshot, &manifest, target, progress)?;
    Ok(manifest)
}

/// [`restore_snapshot`] of a snapshot the caller has just verified ([`verify_snapshot`]
/// returned `manifest`): not verified again, but every file is still checked against the
/// manifest's checksum as it is copied, so a snapshot changed since is refused before the
/// commit. Progress is reported as by [`restore_snapshot`] after its verification half:
/// from the snapshot's bytes to twice them.
pub fn restore_verified_snapshot(
    backend: &dyn Backend,
    snapshot: &Path,
    manifest: &SnapshotManifest,
    target: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    check_restore_paths(snapshot, target)?;
    recover_restore(backend, target)?;
    copy_and_swap(backend, snapshot, manifest, target, progress)
}

fn check_restore_paths(snapshot: &Path, target: &Path) -> Result<()> {
    if target.file_name().is_none() {
        return Err(Error::InvalidArgument(format!(
            "cannot restore into {}: it has no directory name",
            target.display()
        )));
    }
    if snapshot.starts_with(target) || target.starts_with(snapshot) {
        return Err(Error::InvalidArgument(format!(
            "cannot restore {} into {}: one contains the other",
            snapshot.display(),
            target.display()
        )));
    }
    Ok(())
}

/// Steps 2 to 5 of the protocol.
fn copy_and_swap(
    backend: &dyn Backend,
    snapshot: &Path,
    manifest: &SnapshotManifest,
    target: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let parent = parent_dir(target);
    let staging = restore_staging_path(target);

    // Step 2: a complete, durable copy in the staging directory.
    backend.remove_dir_all(&staging)?;
    backend.create_dir_all(&staging)?;
    let total = manifest.total_bytes();
    let mut meter = Meter {
        done: total,
        total: total * 2,
        callback: progress,
    };
    let mut dirs = std::collections::BTreeSet::new();
    for entry in &manifest.files {
        let from = snapshot.join(&entry.name);
        let to = staging.join(&entry.name);
        let parents = dirs_up_to(&staging, &to);
        if let Some(p) = parents.first() {
            backend.create_dir_all(p)?;
        }
        dirs.extend(parents);
        let src = backend.open(&from, false)?;
        let out = backend.open(&to, true)?;
        out.set_len(0)?;
        let sums = stream(src.as_ref(), entry.len, Some(out.as_ref()), &mut meter)?;
        if sums.crc != entry.crc {
            return Err(Error::corruption(
                &from,
                0,
                "file changed while it was being restored (checksum differs from the snapshot's)",
            ));
        }
        out.sync()?;
    }
    write_synced(backend, &staging.join(SENTINEL), &[b"restore staged\n"])?;
    dirs.insert(staging.clone());
    for d in dirs.iter().rev() {
        backend.sync_dir(d)?;
    }
    backend.sync_dir(parent)?;

    // Step 3: commit.
    write_sections(backend, &restore_marker_path(target), &MARKER_MAGIC, &[])?;

    // Steps 4 and 5.
    roll_forward(backend, target)
}

fn read_total_then_verify(
    backend: &dyn Backend,
    snapshot: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<SnapshotManifest> {
    let total = super::verify::read_manifest(backend, snapshot)?.total_bytes();
    // Verification is the first half of the work a restore reports.
    let mut halved = |p: Progress| {
        progress(Progress {
            bytes_done: p.bytes_done,
            bytes_total: total * 2,
        })
    };
    verify_snapshot(backend, snapshot, &mut halved)
}

/// Completes a committed restore into `target`, or rolls back one that had not committed,
/// and removes what either leaves behind (see the module docs). Call it before opening
/// `target`; with no restore in progress it only looks for leftovers.
pub fn recover_restore(backend: &dyn Backend, target: &Path) -> Result<RestoreRecovery> {
    let marker = restore_marker_path(target);
    if backend.exists(&marker)? {
        roll_forward(backend, target)?;
        return Ok(RestoreRecovery::Completed);
    }
    let parent = parent_dir(target);
    let staging = restore_staging_path(target);
    let old = restore_old_path(target);
    let marker_tmp = temp_path(&marker);
    let sentinel = target.join(SENTINEL);
    let mut outcome = RestoreRecovery::Nothing;
    if backend.exists(&staging)? {
        backend.remove_dir_all(&staging)?;
        outcome = RestoreRecovery::RolledBack;
    }
    if backend.exists(&marker_tmp)? {
        backend.remove_file(&marker_tmp)?;
        outcome = RestoreRecovery::RolledBack;
    }
    if backend.exists(&old)? {
        backend.remove_dir_all(&old)?;
    }
    if backend.exists(&sentinel)? {
        backend.remove_file(&sentinel)?;
        backend.sync_dir(target)?;
    }
    if outcome != RestoreRecovery::Nothing {
        backend.sync_dir(parent)?;
    }
    Ok(outcome)
}

/// Steps 4 and 5, from wherever a crash interrupted them.
fn roll_forward(backend: &dyn Backend, target: &Path) -> Result<()> {
    let parent = parent_dir(target);
    let staging = restore_staging_path(target);
    let old = restore_old_path(target);
    let marker = restore_marker_path(target);
    if backend.exists(&staging.join(SENTINEL))? {
        if backend.exists(target)? {
            // An `O` here is garbage from an earlier, completed restore.
            backend.remove_dir_all(&old)?;
            backend.rename_dir(target, &old)?;
        }
        backend.rename_dir(&staging, target)?;
        backend.sync_dir(parent)?;
    } else if !backend.exists(&target.join(SENTINEL))? {
        return Err(Error::corruption(
            &marker,
            0,
            "a committed restore has neither its staged nor its installed directory",
        ));
    }
    backend.remove_file(&marker)?;
    backend.sync_dir(parent)?;
    backend.remove_file(&target.join(SENTINEL))?;
    backend.sync_dir(target)?;
    backend.remove_dir_all(&old)?;
    Ok(())
}
