//! Scrubbing a database: read every file, verify every checksum and cross-check, and report
//! the damage per file with offsets.
//!
//! [`verify_database`] works on a directory without opening it (no lock, nothing written, a
//! torn tail is reported, not cut), so it also examines a database that refuses to open;
//! [`crate::Database::verify`] runs the same checks on an open database, holding each
//! collection's writer while its files are read so they are quiescent (searches continue).
//! What is checked, per collection: the manifest; `vectors.idx` and every live slot of
//! `vectors.dat` against its CRC; `vectors.wal`; every record of `payloads.log` (and that
//! each payload is JSON) and the extent the manifest says it covers; `hnsw.index` (loaded and
//! validated as at open); `payload.indexes`; every operation of `ops.log` (decoded); then the
//! cross-checks: every component reflects the checkpoint's sequence number, and after the
//! logged operations are applied the ids in the vector store, the HNSW index and the payload
//! store agree (index = vectors, payloads within vectors).
//!
//! It must not depend on anything above the engine (server, CLI); the report is plain data
//! (`serde::Serialize`) so a server route can return it as it is.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use nearstore_storage::SharedBackend;

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    /// Byte offset of the damage, when the check that found it knows one.
    pub offset: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

/// The result of checking one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    /// The file.
    pub path: PathBuf,
    /// What the file is ("vector data", "operation log", ...).
    pub kind: &'static str,
    /// Its size, when it could be read.
    pub bytes: Option<u64>,
    /// Every problem found (empty: the file is sound).
    pub damage: Vec<Damage>,
    /// Facts worth knowing that are not damage (counts, a torn tail the next open cuts off).
    pub notes: Vec<String>,
}

impl FileCheck {
    pub(crate) fn new(path: PathBuf, kind: &'static str) -> Self {
        let bytes = std::fs::metadata(&path).ok().map(|m| m.len());
        FileCheck {
            path,
            kind,
            bytes,
            damage: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Records `e` as damage of this file (with its offset when it carries one).
    pub(crate) fn damaged_by(&mut self, e: &Error) {
        self.damage.push(damage_of(e));
    }

    pub(crate) fn damaged_by_storage(&mut self, e: &nearstore_storage::Error) {
        self.damage.push(storage_damage(e));
    }

    pub(crate) fn damaged(&mut self, offset: Option<u64>, reason: impl Into<String>) {
        self.damage.push(Damage {
            offset,
            reason: reason.into(),
        });
    }

    /// True when no problem was found.
    pub fn is_sound(&self) -> bool {
        self.damage.is_empty()
    }
}

/// The report of [`verify_database`] / [`crate::Database::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The database directory.
    pub dir: PathBuf,
    /// One entry per file checked, in directory order.
    pub files: Vec<FileCheck>,
}

impl VerifyReport {
    /// True when no file has damage.
    pub fn is_clean(&self) -> bool {
        self.files.iter().all(FileCheck::is_sound)
    }

    /// The files with damage.
    pub fn damaged_files(&self) -> Vec<&Path> {
        self.files
            .iter()
            .filter(|f| !f.is_sound())
            .map(|f| f.path.as_path())
            .collect()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for file in &self.files {
            let shown = file
                .path
                .strip_prefix(&self.dir)
                .unwrap_or(&file.path)
                .display();
            let status = if file.is_sound() { "ok" } else { "DAMAGED" };
            writeln!(f, "{status:<8} {shown} ({})", file.kind)?;
            for d in &file.damage {
                match d.offset {
                    Some(at) => writeln!(f, "         at byte {at}: {}", d.reason)?,
                    None => writeln!(f, "         {}", d.reason)?,
                }
            }
            for n in &file.notes {
                writeln!(f, "         note: {n}")?;
            }
        }
        let damaged = self.damaged_files().len();
        if damaged == 0 {
            write!(f, "no damage in {} files", self.files.len())
        } else {
            write!(f, "DAMAGE in {damaged} of {} files", self.files.len())
        }
    }
}

/// The damage an error describes, with the offset of a storage-layer corruption.
fn damage_of(e: &Error) -> Damage {
    match e {
        Error::Storage(s) | Error::Index(nearstore_index::Error::Storage(s)) => storage_damage(s),
        _ => Damage {
            offset: None,
            reason: e.to_string(),
        },
    }
}

fn storage_damage(e: &nearstore_storage::Error) -> Damage {
    match e {
        nearstore_storage::Error::Corruption { offset, reason, .. } => Damage {
            offset: Some(*offset),
            reason: reason.clone(),
        },
        _ => Damage {
            offset: None,
            reason: e.to_string(),
        },
    }
}

/// Database-level file names (kept in step with `database.rs`).
const DATABASE_MANIFEST: &str = "database.manifest";
const COLLECTIONS_DIR: &str = "collections";

/// Verifies every file of the database in `dir` without opening it (read-only, no lock).
/// Collections are those the database manifest lists; when the manifest itself is damaged,
/// every directory under `collections/` is checked.
pub fn verify_database(dir: &Path) -> Result<VerifyReport> {
    verify_with(&nearstore_storage::fs_backend(), dir, &mut |_, check| {
        check();
        Ok(())
    })
}

/// Called per collection name with the function that checks it.
pub(crate) type EachCollection<'a> = dyn FnMut(&str, &mut dyn FnMut()) -> Result<()> + 'a;

/// The walk shared by [`verify_database`] and [`crate::Database::verify`]: `each` is called
/// per collection with a function that checks it (so an open database can hold the
/// collection's writer around the call).
pub(crate) fn verify_with(
    backend: &SharedBackend,
    dir: &Path,
    each: &mut EachCollection<'_>,
) -> Result<VerifyReport> {
    if !dir.is_dir() {
        return Err(Error::InvalidArgument(format!(
            "no database directory at {}",
            dir.display()
        )));
    }
    let mut files = Vec::new();
    let manifest_path = dir.join(DATABASE_MANIFEST);
    let mut manifest = FileCheck::new(manifest_path.clone(), "database manifest");
    let listed = match crate::database::read_database_manifest(backend, &manifest_path) {
        Ok(names) => {
            manifest
                .notes
                .push(format!("{} collections listed", names.len()));
            Some(names)
        }
        Err(e) => {
            manifest.damaged_by(&e);
            None
        }
    };
    files.push(manifest);
    let names = match listed {
        Some(names) => names,
        None => {
            let mut found: Vec<String> = std::fs::read_dir(dir.join(COLLECTIONS_DIR))
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            found.sort();
            found
        }
    };
    for name in names {
        let cdir = dir.join(COLLECTIONS_DIR).join(&name);
        let mut checked = Vec::new();
        each(&name, &mut || {
            checked = crate::collection::verify::verify_collection(backend, &cdir);
        })?;
        files.extend(checked);
    }
    Ok(VerifyReport {
        dir: dir.to_path_buf(),
        files,
    })
}
