//! Snapshot archives on the server's side of the file system: a database or a collection
//! snapshot taken by the engine (a directory) and packed into ONE archive file, and an
//! archive unpacked and restored by the engine. The engine owns consistency and restore;
//! `nearstore::storage::snapshot::archive` owns the file format and its checks; this
//! module only sequences them and names the files. Blocking: call it from
//! [`crate::error::blocking`]. The CLI's `snapshot` / `restore` use the database half.
//!
//! Collection snapshots (Qdrant's routes) live under `<data dir>/snapshots/<collection>/`
//! as `<collection>-<YYYY-MM-DD-HH-MM-SS>[-N].snapshot`, each with a
//! `<file>.sha256` beside it (the archive's SHA-256 in hex, Qdrant's checksum). Working
//! directories are hidden (`.`-prefixed) siblings, removed afterwards, and removed again
//! when a crash left them (every listing skips them).

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use nearstore::Database;
use nearstore::storage::FsBackend;
use nearstore::storage::backend::{Backend, write_file_atomically};
use nearstore::storage::snapshot::Progress;
use nearstore::storage::snapshot::archive::{UnpackLimits, pack_snapshot, unpack_snapshot_file};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// The directory under the data directory that holds collection snapshots.
pub const SNAPSHOTS_DIR: &str = "snapshots";
/// The file name ending of a snapshot archive.
pub const ARCHIVE_SUFFIX: &str = ".snapshot";
const CHECKSUM_SUFFIX: &str = ".sha256";

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

/// Writes a snapshot of the whole database into the new archive file `archive` (outside
/// the data directory). Returns the archive's description.
pub fn snapshot_database_to(
    db: &Database,
    archive: &Path,
    progress: &mut dyn FnMut(&'static str, Progress),
) -> Result<SnapshotDescription> {
    outside_data_dir(db, archive)?;
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

/// Replaces the whole database with the archive `archive` (outside the data directory):
/// unpacked beside it, every block checked, then restored by the engine.
pub fn restore_database_from(
    db: &Database,
    archive: &Path,
    progress: &mut dyn FnMut(&'static str, Progress),
) -> Result<nearstore::SnapshotInfo> {
    outside_data_dir(db, archive)?;
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

/// Refuses a path inside the data directory (a database restore replaces that directory
/// whole, and the engine refuses a snapshot inside it), or a relative one.
fn outside_data_dir(db: &Database, path: &Path) -> Result<()> {
    if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
        return Err(Error::bad_request(format!(
            "{} must be an absolute path without `..`",
            path.display()
        )));
    }
    if path.starts_with(db.dir()) {
        return Err(Error::bad_request(format!(
            "{} is inside the data directory {}: keep database snapshots outside it",
            path.display(),
            db.dir().display()
        )));
    }
    Ok(())
}

/// Where the collection `collection`'s snapshots live.
pub fn collection_snapshot_dir(db: &Database, collection: &str) -> PathBuf {
    db.dir().join(SNAPSHOTS_DIR).join(collection)
}

/// The archive `name` of `collection`: 404 unless `name` is a plain archive file name that
/// exists.
pub fn collection_archive(db: &Database, collection: &str, name: &str) -> Result<PathBuf> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.ends_with(ARCHIVE_SUFFIX)
        && !name.contains(['/', '\\', '\0']);
    let path = collection_snapshot_dir(db, collection).join(name);
    if !plain || !FsBackend.exists(&path).map_err(storage)? {
        return Err(Error::NotFound(format!(
            "collection {collection:?} has no snapshot {name:?}"
        )));
    }
    Ok(path)
}

/// A new snapshot of `collection` packed into its snapshot directory.
pub fn snapshot_collection(db: &Database, collection: &str) -> Result<SnapshotDescription> {
    let b = FsBackend;
    let dir = collection_snapshot_dir(db, collection);
    b.create_dir_all(&dir).map_err(storage)?;
    let stamp = utc_stamp(SystemTime::now());
    let mut archive = dir.join(format!("{collection}-{stamp}{ARCHIVE_SUFFIX}"));
    let mut n = 1;
    while b.exists(&archive).map_err(storage)? {
        n += 1;
        archive = dir.join(format!("{collection}-{stamp}-{n}{ARCHIVE_SUFFIX}"));
    }
    let work = work_path(&archive, "dir");
    let packed = db
        .snapshot_collection(collection, &work)
        .map_err(Error::from)
        .and_then(|_| pack_snapshot(&b, &work, &archive, &mut |_| {}).map_err(storage));
    b.remove_dir_all(&work).map_err(storage)?;
    packed?;
    let checksum = sha256_hex(&archive)?;
    write_file_atomically(&b, &checksum_path(&archive), checksum.as_bytes()).map_err(storage)?;
    describe(&archive)
}

/// The snapshots of `collection`, by name.
pub fn list_collection_snapshots(
    db: &Database,
    collection: &str,
) -> Result<Vec<SnapshotDescription>> {
    let b = FsBackend;
    let dir = collection_snapshot_dir(db, collection);
    if !b.exists(&dir).map_err(storage)? {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for path in b.list_dir(&dir).map_err(storage)? {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !name.starts_with('.') && name.ends_with(ARCHIVE_SUFFIX) {
            out.push(describe(&path)?);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Removes an archive and its checksum.
pub fn delete_collection_snapshot(db: &Database, collection: &str, name: &str) -> Result<()> {
    let archive = collection_archive(db, collection, name)?;
    let b = FsBackend;
    let sum = checksum_path(&archive);
    if b.exists(&sum).map_err(storage)? {
        b.remove_file(&sum).map_err(storage)?;
    }
    b.remove_file(&archive).map_err(storage)?;
    b.sync_dir(&collection_snapshot_dir(db, collection))
        .map_err(storage)
}

/// Restores `collection` from the archive file `archive` (unpacked beside it, checked,
/// then the engine's restore; the snapshot must be of a collection of that name). With
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
pub fn upload_path(db: &Database, collection: &str) -> Result<PathBuf> {
    let dir = collection_snapshot_dir(db, collection);
    FsBackend.create_dir_all(&dir).map_err(storage)?;
    Ok(work_path(
        &dir.join(format!("upload{ARCHIVE_SUFFIX}")),
        "part",
    ))
}

/// The file `location` (a `file://` URL) names, when it is an archive inside the server's
/// snapshot directory; anything else is 400.
pub fn local_location(db: &Database, location: &str) -> Result<PathBuf> {
    let root = db.dir().join(SNAPSHOTS_DIR);
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
    if !path.starts_with(&root) {
        return Err(refuse("outside the snapshot directory"));
    }
    if !FsBackend.exists(path).map_err(storage)? {
        return Err(Error::NotFound(format!(
            "no snapshot at {}",
            path.display()
        )));
    }
    Ok(path.to_path_buf())
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
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}-{m:02}-{d:02}-{:02}-{:02}-{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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

    #[test]
    fn stamps_and_creation_times_agree() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        assert_eq!(utc_stamp(t), "2027-01-15-08-00-00");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
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
