//! Snapshot archives on the server's side of the file system: a database or a collection
//! snapshot taken by the engine (a directory) and packed into ONE archive file, and an
//! archive unpacked and restored by the engine. The engine owns consistency and restore;
//! `nearstore::storage::snapshot::archive` owns the file format and its checks; this
//! module only sequences them and names the files. Blocking: call it from
//! `crate::error::blocking`. The CLI's `snapshot` / `restore` use the database half.
//!
//! Every archive the server names lives in the server's snapshot directory
//! ([`crate::ServerConfig::snapshots_dir`]; by default `<data dir>-snapshots`, a SIBLING
//! of the data directory, never inside it: a database restore replaces the data directory
//! whole). Database snapshots are `<snapshots dir>/<name>.snapshot` (a plain name the
//! client gives, or `full-snapshot-<YYYY-MM-DD-HH-MM-SS>[-N].snapshot`); collection
//! snapshots (Qdrant's routes) are `<snapshots dir>/<collection>/<collection>-<YYYY-MM-DD-
//! HH-MM-SS>[-N].snapshot`. Each archive the server writes has a `<file>.sha256` beside
//! it (the archive's SHA-256 in hex, Qdrant's checksum). Working directories are hidden
//! (`.`-prefixed) siblings, removed afterwards, and removed again when a crash left them
//! (every listing skips them). Path checks compare canonical paths (symbolic links and
//! `..` resolved).

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use nearstore::Database;
use nearstore::storage::FsBackend;
use nearstore::storage::backend::{Backend, write_file_atomically};
use nearstore::storage::snapshot::Progress;
use nearstore::storage::snapshot::archive::{UnpackLimits, pack_snapshot, unpack_snapshot_file};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// The file name ending of a snapshot archive.
pub const ARCHIVE_SUFFIX: &str = ".snapshot";
const CHECKSUM_SUFFIX: &str = ".sha256";
/// The name prefix of a database snapshot taken without a name (Qdrant's full snapshots).
const FULL_SNAPSHOT_PREFIX: &str = "full-snapshot";

/// One archive, as Qdrant describes a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SnapshotDescription {
    /// The file name.
    pub name: String,
    /// When it was taken (UTC, `YYYY-MM-DDTHH:MM:SS`), from its name.
    pub creation_time: Option<String>,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the archive, hex.
    pub checksum: Option<String>,
}

/// A fresh, hidden working path beside `path` (unique in this process).
fn work_path(path: &Path, what: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{what}-{}-{n}", std::process::id()))
}

fn storage(e: nearstore::storage::Error) -> Error {
    Error::Engine(nearstore::Error::from(e))
}

/// An archive that fails its checks is the client's bad input (400), not a server fault.
fn unpacking(e: nearstore::storage::Error) -> Error {
    if e.is_corruption() {
        Error::bad_request(format!("the snapshot archive is refused: {e}"))
    } else {
        storage(e)
    }
}

/// The default snapshot directory of the database in `data_dir`: its sibling
/// `<data dir>-snapshots` (canonical when the data directory exists).
pub fn default_snapshots_dir(data_dir: &Path) -> PathBuf {
    let dir = std::fs::canonicalize(data_dir)
        .or_else(|_| std::path::absolute(data_dir))
        .unwrap_or_else(|_| data_dir.to_path_buf());
    let mut name = dir
        .file_name()
        .map_or_else(|| "nearstore".into(), |n| n.to_os_string());
    name.push("-snapshots");
    dir.with_file_name(name)
}

/// `path` with symbolic links, `.` and `..` resolved (it must exist).
fn canonical(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|source| Error::Io {
        context: format!("cannot resolve {}", path.display()),
        source,
    })
}

/// `path` canonical, when only its last component may be missing (a file to create).
fn canonical_new_file(path: &Path) -> Result<PathBuf> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => {
            Ok(canonical(parent)?.join(name))
        }
        _ => Err(Error::bad_request(format!(
            "{} is not a file path",
            path.display()
        ))),
    }
}

/// `path` canonical as far as it exists, with the missing rest appended (no link can hide
/// in a part that does not exist yet).
fn resolved_as_far_as_exists(path: &Path) -> Result<PathBuf> {
    let mut existing = std::path::absolute(path).map_err(|source| Error::Io {
        context: format!("cannot resolve {}", path.display()),
        source,
    })?;
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = canonical(&existing)?;
    out.extend(rest.iter().rev());
    Ok(out)
}

/// Refuses (before the server starts) a snapshot directory inside the data directory
/// `data_dir` or holding it; creates nothing.
pub fn check_snapshots_dir(data_dir: &Path, root: &Path) -> Result<()> {
    let (data, root) = (canonical(data_dir)?, resolved_as_far_as_exists(root)?);
    if root.starts_with(&data) || data.starts_with(&root) {
        return Err(Error::Internal(format!(
            "the snapshot directory {} is inside the data directory {} or holds it: \
             configure snapshots_dir beside the data directory",
            root.display(),
            data.display()
        )));
    }
    Ok(())
}

/// The server's snapshot directory `root`, created when missing, canonical. A directory
/// inside the data directory, or holding it, is a server misconfiguration (500).
pub fn prepared_root(db: &Database, root: &Path) -> Result<PathBuf> {
    FsBackend.create_dir_all(root).map_err(storage)?;
    let root = canonical(root)?;
    let data = canonical(db.dir())?;
    if root.starts_with(&data) || data.starts_with(&root) {
        return Err(Error::Internal(format!(
            "the snapshot directory {} is inside the data directory {} or holds it: \
             configure snapshots_dir beside the data directory",
            root.display(),
            data.display()
        )));
    }
    Ok(root)
}

/// Why `name` is not a plain archive name (`None`: it is one).
fn name_fault(name: &str) -> Option<&'static str> {
    if name.contains(['/', '\\']) {
        Some("it has a path separator")
    } else if name.contains('\0') {
        Some("it has a NUL")
    } else if name.contains("..") {
        Some("it has `..`")
    } else if name.starts_with('.') {
        Some("it starts with `.`")
    } else if !name.ends_with(ARCHIVE_SUFFIX) {
        Some("it does not end in `.snapshot`")
    } else {
        None
    }
}

/// 400 unless `name` is a plain archive name: no path separator, no `..`, no NUL, no
/// leading `.`, ending in `.snapshot`.
pub fn check_archive_name(name: &str) -> Result<()> {
    match name_fault(name) {
        None => Ok(()),
        Some(why) => Err(Error::bad_request(format!(
            "snapshot name {name:?} is refused: {why}; give a plain file name ending in `.snapshot`"
        ))),
    }
}

/// The archive `name` in `dir`: 404 unless `name` is a plain archive name that exists.
fn existing_archive(dir: &Path, name: &str, whose: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    if name_fault(name).is_some() || !path.is_file() {
        return Err(Error::NotFound(format!("{whose} has no snapshot {name:?}")));
    }
    Ok(path)
}

/// A new archive path `<prefix>-<stamp>[-N].snapshot` in `dir`.
fn fresh_archive(dir: &Path, prefix: &str) -> Result<PathBuf> {
    let stamp = utc_stamp(SystemTime::now());
    let mut archive = dir.join(format!("{prefix}-{stamp}{ARCHIVE_SUFFIX}"));
    let mut n = 1;
    while FsBackend.exists(&archive).map_err(storage)? {
        n += 1;
        archive = dir.join(format!("{prefix}-{stamp}-{n}{ARCHIVE_SUFFIX}"));
    }
    Ok(archive)
}

/// Writes `<archive>.sha256` and describes the archive.
fn checksummed(archive: &Path) -> Result<SnapshotDescription> {
    let checksum = sha256_hex(archive)?;
    write_file_atomically(&FsBackend, &checksum_path(archive), checksum.as_bytes())
        .map_err(storage)?;
    describe(archive)
}

/// Removes an archive and its checksum from `dir`.
fn remove_archive(dir: &Path, archive: &Path) -> Result<()> {
    let b = FsBackend;
    let sum = checksum_path(archive);
    if b.exists(&sum).map_err(storage)? {
        b.remove_file(&sum).map_err(storage)?;
    }
    b.remove_file(archive).map_err(storage)?;
    b.sync_dir(dir).map_err(storage)
}

/// The archives directly in `dir` (hidden files and checksums skipped), by name: the
/// backend's `list_dir` lists regular files only, sorted by name.
fn list_archives(dir: &Path) -> Result<Vec<SnapshotDescription>> {
    let b = FsBackend;
    if !b.exists(dir).map_err(storage)? {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for path in b.list_dir(dir).map_err(storage)? {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name_fault(&name).is_none() {
            out.push(describe(&path)?);
        }
    }
    Ok(out)
}

/// Writes a snapshot of the whole database into the new archive file `archive` (outside
/// the data directory, compared canonically). Returns the archive's description. The
/// CLI's `snapshot`; the server names its archives ([`snapshot_database_named`]).
pub fn snapshot_database_to(
    db: &Database,
    archive: &Path,
    progress: &mut dyn FnMut(&'static str, Progress),
) -> Result<SnapshotDescription> {
    let archive = &outside_data_dir(db, &canonical_new_file(archive)?)?;
    let b = FsBackend;
    if b.exists(archive).map_err(storage)? {
        return Err(Error::Conflict(format!(
            "{} already exists",
            archive.display()
        )));
    }
    let work = work_path(archive, "dir");
    let packed = db
        .snapshot_with_progress(&work, &mut |p| progress("snapshot", p))
        .map_err(Error::from)
        .and_then(|_| {
            pack_snapshot(&b, &work, archive, &mut |p| progress("archive", p)).map_err(storage)
        });
    b.remove_dir_all(&work).map_err(storage)?;
    packed?;
    describe(archive)
}

/// Replaces the whole database with the archive `archive` (outside the data directory,
/// compared canonically): unpacked beside it, every block checked, then restored by the
/// engine. The CLI's `restore`; the server's is [`restore_database_named`].
pub fn restore_database_from(
    db: &Database,
    archive: &Path,
    progress: &mut dyn FnMut(&'static str, Progress),
) -> Result<nearstore::SnapshotInfo> {
    if !archive.is_file() {
        return Err(Error::NotFound(format!(
            "no snapshot archive at {}",
            archive.display()
        )));
    }
    let archive = &outside_data_dir(db, &canonical(archive)?)?;
    let b = FsBackend;
    let work = work_path(archive, "unpacked");
    let restored = unpack_snapshot_file(&b, archive, &work, UnpackLimits::default(), &mut |p| {
        progress("unpack", p)
    })
    .map_err(unpacking)
    .and_then(|_| Ok(db.restore_with_progress(&work, &mut |p| progress("restore", p))?));
    b.remove_dir_all(&work).map_err(storage)?;
    restored
}

/// Refuses the canonical `path` when it is inside the canonical data directory (a
/// database restore replaces that directory whole, and the engine refuses a snapshot
/// inside it); returns it otherwise.
fn outside_data_dir(db: &Database, path: &Path) -> Result<PathBuf> {
    let data = canonical(db.dir())?;
    if path.starts_with(&data) {
        return Err(Error::bad_request(format!(
            "{} is inside the data directory {}: keep database snapshots outside it",
            path.display(),
            data.display()
        )));
    }
    Ok(path.to_path_buf())
}

/// A snapshot of the whole database into the server's snapshot directory `root`, as the
/// archive `name` (a plain name, else 400; existing: 409), or, without one, as
/// `full-snapshot-<stamp>.snapshot`. The `.sha256` is written beside it.
pub fn snapshot_database_named(
    db: &Database,
    root: &Path,
    name: Option<&str>,
) -> Result<SnapshotDescription> {
    if let Some(name) = name {
        check_archive_name(name)?;
    }
    let root = prepared_root(db, root)?;
    let archive = match name {
        Some(name) => root.join(name),
        None => fresh_archive(&root, FULL_SNAPSHOT_PREFIX)?,
    };
    snapshot_database_to(db, &archive, &mut |_, _| {})?;
    checksummed(&archive)
}

/// Replaces the whole database with the archive `name` of the snapshot directory `root`
/// (a plain name, else 400; missing: 404).
pub fn restore_database_named(
    db: &Database,
    root: &Path,
    name: &str,
) -> Result<nearstore::SnapshotInfo> {
    check_archive_name(name)?;
    let root = prepared_root(db, root)?;
    let archive = existing_archive(&root, name, "the snapshot directory")?;
    restore_database_from(db, &archive, &mut |_, _| {})
}

/// The database snapshots in `root`, by name.
pub fn list_database_snapshots(db: &Database, root: &Path) -> Result<Vec<SnapshotDescription>> {
    list_archives(&prepared_root(db, root)?)
}

/// The database archive `name` in `root`: 404 unless it is a plain archive name that
/// exists.
pub fn database_archive(db: &Database, root: &Path, name: &str) -> Result<PathBuf> {
    existing_archive(&prepared_root(db, root)?, name, "the snapshot directory")
}

/// Removes the database archive `name` (and its checksum) from `root`: 404 unless it
/// exists.
pub fn delete_database_snapshot(db: &Database, root: &Path, name: &str) -> Result<()> {
    let root = prepared_root(db, root)?;
    let archive = existing_archive(&root, name, "the snapshot directory")?;
    remove_archive(&root, &archive)
}

/// Where the collection `collection`'s snapshots live: `<root>/<collection>/`.
pub fn collection_snapshot_dir(db: &Database, root: &Path, collection: &str) -> Result<PathBuf> {
    Ok(prepared_root(db, root)?.join(collection))
}

/// The archive `name` of `collection`: 404 unless `name` is a plain archive file name that
/// exists.
pub fn collection_archive(
    db: &Database,
    root: &Path,
    collection: &str,
    name: &str,
) -> Result<PathBuf> {
    let dir = collection_snapshot_dir(db, root, collection)?;
    existing_archive(&dir, name, &format!("collection {collection:?}"))
}

/// A new snapshot of `collection` packed into its snapshot directory.
pub fn snapshot_collection(
    db: &Database,
    root: &Path,
    collection: &str,
) -> Result<SnapshotDescription> {
    let b = FsBackend;
    let dir = collection_snapshot_dir(db, root, collection)?;
    b.create_dir_all(&dir).map_err(storage)?;
    let archive = fresh_archive(&dir, collection)?;
    let work = work_path(&archive, "dir");
    let packed = db
        .snapshot_collection(collection, &work)
        .map_err(Error::from)
        .and_then(|_| pack_snapshot(&b, &work, &archive, &mut |_| {}).map_err(storage));
    b.remove_dir_all(&work).map_err(storage)?;
    packed?;
    checksummed(&archive)
}

/// The snapshots of `collection`, by name.
pub fn list_collection_snapshots(
    db: &Database,
    root: &Path,
    collection: &str,
) -> Result<Vec<SnapshotDescription>> {
    list_archives(&collection_snapshot_dir(db, root, collection)?)
}

/// Removes an archive of `collection` and its checksum.
pub fn delete_collection_snapshot(
    db: &Database,
    root: &Path,
    collection: &str,
    name: &str,
) -> Result<()> {
    let archive = collection_archive(db, root, collection, name)?;
    remove_archive(&collection_snapshot_dir(db, root, collection)?, &archive)
}

/// Restores `collection` from the archive file `archive` (unpacked beside it, checked,
/// then the engine's restore; a snapshot of any collection restores under this name). With
/// `checksum`, the archive's SHA-256 must be that hex first.
pub fn recover_collection(
    db: &Database,
    collection: &str,
    archive: &Path,
    checksum: Option<&str>,
) -> Result<nearstore::SnapshotInfo> {
    if let Some(want) = checksum {
        let got = sha256_hex(archive)?;
        if !got.eq_ignore_ascii_case(want) {
            return Err(Error::bad_request(format!(
                "snapshot checksum mismatch: the archive's SHA-256 is {got}, {want} was given"
            )));
        }
    }
    let b = FsBackend;
    let work = work_path(archive, "unpacked");
    let restored = unpack_snapshot_file(&b, archive, &work, UnpackLimits::default(), &mut |_| {})
        .map_err(unpacking)
        .and_then(|_| Ok(db.restore_collection(collection, &work)?));
    b.remove_dir_all(&work).map_err(storage)?;
    restored
}

/// A hidden file for an upload into `collection`'s snapshot directory (created with it).
pub fn upload_path(db: &Database, root: &Path, collection: &str) -> Result<PathBuf> {
    let dir = collection_snapshot_dir(db, root, collection)?;
    FsBackend.create_dir_all(&dir).map_err(storage)?;
    Ok(work_path(
        &dir.join(format!("upload{ARCHIVE_SUFFIX}")),
        "part",
    ))
}

/// The file `location` (a `file://` URL) names, when it is an archive inside the server's
/// snapshot directory `root` (compared canonically); anything else is 400, a missing
/// file 404.
pub fn local_location(db: &Database, root: &Path, location: &str) -> Result<PathBuf> {
    let configured = root;
    let root = prepared_root(db, root)?;
    let refuse = |why: &str| {
        Error::bad_request(format!(
            "snapshot location {location:?}: {why}; only file:// paths inside {} are accepted",
            root.display()
        ))
    };
    let Some(path) = location.strip_prefix("file://") else {
        return Err(refuse("not a file:// location"));
    };
    let path = Path::new(path);
    if !path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err(refuse("not an absolute path without `.` or `..`"));
    }
    // Textual first (a file outside is refused without telling whether it exists), then
    // canonically (no symbolic link leads out).
    if !path.starts_with(&root) && !path.starts_with(configured) {
        return Err(refuse("outside the snapshot directory"));
    }
    if !path.is_file() {
        return Err(Error::NotFound(format!(
            "no snapshot at {}",
            path.display()
        )));
    }
    let resolved = canonical(path)?;
    let name = resolved.file_name().unwrap_or_default().to_string_lossy();
    if !resolved.starts_with(&root) || name_fault(&name).is_some() {
        return Err(refuse("not an archive inside the snapshot directory"));
    }
    Ok(resolved)
}

fn checksum_path(archive: &Path) -> PathBuf {
    let mut name = archive.file_name().unwrap_or_default().to_os_string();
    name.push(CHECKSUM_SUFFIX);
    archive.with_file_name(name)
}

fn describe(archive: &Path) -> Result<SnapshotDescription> {
    let b = FsBackend;
    let size = b
        .open(archive, false)
        .and_then(|f| f.len())
        .map_err(storage)?;
    let sum = checksum_path(archive);
    let checksum = if b.exists(&sum).map_err(storage)? {
        let f = b.open(&sum, false).map_err(storage)?;
        let mut hex = vec![0u8; usize::try_from(f.len().map_err(storage)?.min(128)).unwrap_or(0)];
        f.read_exact_at(&mut hex, 0).map_err(storage)?;
        Some(String::from_utf8_lossy(&hex).trim().to_string())
    } else {
        None
    };
    let name = archive
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    Ok(SnapshotDescription {
        creation_time: creation_time(&name),
        name,
        size,
        checksum,
    })
}

/// The SHA-256 of a file, hex.
pub fn sha256_hex(path: &Path) -> Result<String> {
    let f = FsBackend.open(path, false).map_err(storage)?;
    let len = f.len().map_err(storage)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < len {
        let n = usize::try_from(len - at).map_or(buf.len(), |left| left.min(buf.len()));
        f.read_exact_at(&mut buf[..n], at).map_err(storage)?;
        hasher.update(&buf[..n]);
        at += n as u64;
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// `YYYY-MM-DD-HH-MM-SS` (UTC) of a time.
fn utc_stamp(t: SystemTime) -> String {
    // A time before 1970 or past jiff's range (year 9999) cannot come from a clock that
    // names files; it is stamped as the epoch rather than refused.
    jiff::Timestamp::try_from(t)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%d-%H-%M-%S")
        .to_string()
}

/// `YYYY-MM-DDTHH:MM:SS` from an archive name ending in `-YYYY-MM-DD-HH-MM-SS[-N].snapshot`.
fn creation_time(name: &str) -> Option<String> {
    let stem = name.strip_suffix(ARCHIVE_SUFFIX)?;
    let parts: Vec<&str> = stem.rsplit('-').collect();
    // Without a `-N` suffix the last six parts are the stamp; with one, the six before it.
    for skip in [0, 1] {
        let stamp: Vec<&str> = parts.iter().skip(skip).take(6).rev().copied().collect();
        let widths = [4, 2, 2, 2, 2, 2];
        if stamp.len() == 6
            && stamp
                .iter()
                .zip(widths)
                .all(|(p, w)| p.len() == w && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Some(format!(
                "{}-{}-{}T{}:{}:{}",
                stamp[0], stamp[1], stamp[2], stamp[3], stamp[4], stamp[5]
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn stamps_and_creation_times_agree() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        assert_eq!(utc_stamp(t), "2027-01-15-08-00-00");
        let leap = UNIX_EPOCH + std::time::Duration::from_secs(11_016 * 86_400 + 3_661);
        assert_eq!(utc_stamp(leap), "2000-02-29-01-01-01");
        assert_eq!(utc_stamp(UNIX_EPOCH), "1970-01-01-00-00-00");
        assert_eq!(
            creation_time("docs-2027-01-15-08-00-00.snapshot").as_deref(),
            Some("2027-01-15T08:00:00")
        );
        assert_eq!(
            creation_time("my-docs-2027-01-15-08-00-00-3.snapshot").as_deref(),
            Some("2027-01-15T08:00:00")
        );
        assert_eq!(creation_time("uploaded.snapshot"), None);
        assert_eq!(creation_time("docs-2027-01-15.tar"), None);
    }
}
