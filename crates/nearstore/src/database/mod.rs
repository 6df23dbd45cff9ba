//! [`Database`]: a directory of collections.
//!
//! Layout: `<dir>.lock` beside the directory (held while the database is open: it is
//! outside the directory a restore swaps, so no other process can open the database, and
//! so recover a restore, while it is open or mid-restore), `nearstore.lock` (held too),
//! `database.manifest` (a
//! checksummed file listing the collections), `collections/<name>/` (one directory per
//! collection). Creating a collection writes its directory first and lists it in the
//! manifest last; dropping unlists it first and removes the directory after, so a crash in
//! between leaves at most an unlisted directory, which a later create of that name clears.
//!
//! A collection whose files are damaged is never served: [`Database::open`] fails with a
//! corruption error naming the collection and the damaged file and saying that the other
//! collections are usable; [`Database::open_skipping_damaged`] opens the others and keeps the
//! damaged ones closed (their handles fail with that error; they can be dropped).
//! [`Database::verify`] scrubs every file (see [`crate::verify`]).
//!
//! Aliases (second names of collections, see `aliases.rs`) are listed in the same manifest,
//! so they change with the collections in one atomic manifest write.
//!
//! Snapshots and restores (`snapshot.rs`) pin files under `.snapshot-pins/` while a
//! snapshot copies them, and swap whole directories on restore; open finishes or undoes an
//! interrupted restore and removes leftover pins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

mod aliases;
mod purge;
mod snapshot;

pub use aliases::AliasChange;
pub use purge::{DEFAULT_PURGE_INTERVAL, PurgeStats};
pub use snapshot::{SnapshotInfo, SnapshotProgress};

use crate::collection::{Collection, VectorCollection};
use crate::config::CollectionConfig;
use crate::error::{Error, Result};
use nearstore_distance::DistanceMetric;
use nearstore_storage::backend::LockGuard;
use nearstore_storage::sections::{read_sections, write_sections};
use nearstore_storage::{SharedBackend, fs_backend};

const LOCK_FILE: &str = "nearstore.lock";
const MANIFEST_FILE: &str = "database.manifest";
const COLLECTIONS_DIR: &str = "collections";
const MANIFEST_MAGIC: [u8; 8] = *b"NSDBMF01";
/// Longest collection name.
pub const MAX_NAME_LEN: usize = 64;

#[derive(Debug, Default, Serialize, Deserialize)]
struct DatabaseManifest {
    collections: Vec<String>,
    /// alias -> the collection it names (absent when there are none, so a database
    /// without aliases writes the manifest it always wrote).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    aliases: BTreeMap<String, String>,
}

/// An open database: a directory of collections, locked against other processes.
///
/// Cheap to clone and `Send + Sync`; every clone shares the same collections.
#[derive(Debug, Clone)]
pub struct Database {
    inner: Arc<DatabaseInner>,
}

#[derive(Debug)]
struct DatabaseInner {
    dir: PathBuf,
    backend: SharedBackend,
    collections: RwLock<BTreeMap<String, VectorCollection>>,
    /// alias -> collection name (every target is a listed collection; no alias is also a
    /// collection name).
    aliases: RwLock<BTreeMap<String, String>>,
    /// Serializes create / drop / alias changes (manifest rewrites).
    catalog: Mutex<()>,
    /// Bumped by every create / drop: cached query plans of an older generation are stale.
    generation: std::sync::atomic::AtomicU64,
    plan_cache: crate::query::PlanCache,
    /// Collections left closed by [`Database::open_skipping_damaged`]: name -> why.
    damaged: RwLock<BTreeMap<String, String>>,
    /// The wall clock every collection reads expiry against (see
    /// [`Database::set_wall_clock`]).
    wall_clock: RwLock<Arc<dyn crate::request::WallClock>>,
    /// The lock beside the directory (`<dir>.lock`), held for the database's life: a
    /// restore swaps the directory, never this file.
    _outer_lock: Box<dyn LockGuard>,
    /// The directory lock (`None` only for the moment a restore swaps the directory).
    lock: Mutex<Option<Box<dyn LockGuard>>>,
    /// The background purge of expired points (see `purge.rs`).
    purger: purge::Purger,
    /// One mutex per collection name for read-modify-write sequences made through the
    /// public API (agent memory's `reinforce`), shared by every handle on this database.
    update_locks: Mutex<BTreeMap<String, Arc<Mutex<()>>>>,
}

impl Drop for DatabaseInner {
    /// Stops the purge thread and every collection's drain thread before the fields (the
    /// directory lock among them) drop: a drain thread holding the last handle on a
    /// collection would otherwise run its closing checkpoint after the lock is released.
    fn drop(&mut self) {
        self.purger.stop();
        for c in self.collections.get_mut().values() {
            c.inner.stop_drainer();
            c.inner.stop_linking();
        }
    }
}

/// Reads a database manifest: the listed collection names.
pub(crate) fn read_database_manifest(
    backend: &SharedBackend,
    manifest_path: &Path,
) -> Result<Vec<String>> {
    Ok(read_manifest(backend, manifest_path)?.collections)
}

/// Reads and checks a database manifest: valid names, every alias naming a listed
/// collection and none shadowing one.
fn read_manifest(backend: &SharedBackend, manifest_path: &Path) -> Result<DatabaseManifest> {
    let sections = read_sections(backend.as_ref(), manifest_path, &MANIFEST_MAGIC)?;
    let [json] = sections.as_slice() else {
        return Err(Error::corruption(
            manifest_path.display(),
            "expected one section",
        ));
    };
    let manifest = serde_json::from_slice::<DatabaseManifest>(json)
        .map_err(|e| Error::corruption(manifest_path.display(), e.to_string()))?;
    for name in &manifest.collections {
        validate_collection_name(name)
            .map_err(|e| Error::corruption(manifest_path.display(), format!("listed name: {e}")))?;
    }
    for (alias, target) in &manifest.aliases {
        validate_collection_name(alias)
            .map_err(|e| Error::corruption(manifest_path.display(), format!("alias: {e}")))?;
        if !manifest.collections.contains(target) || manifest.collections.contains(alias) {
            return Err(Error::corruption(
                manifest_path.display(),
                format!("alias {alias:?} -> {target:?} names no listed collection or shadows one"),
            ));
        }
    }
    Ok(manifest)
}

/// The error of a collection that failed to open because its files are damaged: names the
/// collection, the file and what is wrong, and says which collections are usable.
fn damaged_collection(name: &str, e: &Error, others: &[String]) -> Error {
    let (file, detail) = match e {
        Error::Storage(nearstore_storage::Error::Corruption {
            file,
            offset,
            reason,
        })
        | Error::Index(nearstore_index::Error::Storage(nearstore_storage::Error::Corruption {
            file,
            offset,
            reason,
        })) => (
            file.display().to_string(),
            format!("at byte {offset}: {reason}"),
        ),
        Error::Corruption { file, reason } => (file.clone(), reason.clone()),
        other => (String::from("?"), other.to_string()),
    };
    let usable = if others.is_empty() {
        "there are no other collections".to_string()
    } else {
        format!(
            "the other collections ({}) are undamaged and usable: open the database with \
             Database::open_skipping_damaged to serve them",
            others.join(", ")
        )
    };
    Error::Corruption {
        file,
        reason: format!(
            "{detail}; collection {name:?} is damaged and was not opened \
             (`nearstore inspect --verify` lists every damaged file); {usable}"
        ),
    }
}

/// Checks a collection name: 1 to 64 characters from `[A-Za-z0-9_-]`, not starting with
/// `-`, so it is always a plain directory name.
pub fn validate_collection_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_NAME_LEN {
        Some("it is longer than 64 characters")
    } else if name.starts_with('-') {
        Some("it starts with '-'")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Some("only letters, digits, '_' and '-' are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The lock file beside the database directory `dir`: `<dir>.lock` in its parent.
fn outer_lock_path(dir: &Path) -> Result<PathBuf> {
    let Some(name) = dir.file_name() else {
        return Err(Error::InvalidArgument(format!(
            "database directory {} must end in a directory name (its lock file {{name}}.lock \
             lives beside it)",
            dir.display()
        )));
    };
    let mut lock_name = name.to_os_string();
    lock_name.push(".lock");
    Ok(dir.with_file_name(lock_name))
}

/// What a database directory holds, opened: the collections, the damaged ones left closed,
/// the aliases.
struct Loaded {
    collections: BTreeMap<String, VectorCollection>,
    damaged: BTreeMap<String, String>,
    aliases: BTreeMap<String, String>,
}

/// Opens every collection the manifest in `dir` lists (the caller holds the lock).
fn load(backend: &SharedBackend, dir: &Path, skip_damaged: bool) -> Result<Loaded> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let DatabaseManifest {
        collections: names,
        aliases,
    } = if backend.exists(&manifest_path)? {
        read_manifest(backend, &manifest_path)?
    } else {
        DatabaseManifest::default()
    };
    let mut collections = BTreeMap::new();
    let mut damaged = BTreeMap::new();
    for name in &names {
        let cdir = dir.join(COLLECTIONS_DIR).join(name);
        // A restore of this collection interrupted by a crash is finished or undone first.
        nearstore_storage::snapshot::recover_restore(backend.as_ref(), &cdir)?;
        // A collection restored under another name and interrupted before its manifest
        // was renamed takes the listed name.
        crate::collection::checkpoint::set_manifest_name(backend, &cdir, name)?;
        match Collection::open(backend.clone(), &cdir) {
            Ok(collection) => {
                collections.insert(
                    name.clone(),
                    VectorCollection {
                        inner: collection.into_shared(),
                    },
                );
            }
            Err(e) if e.kind() == crate::ErrorKind::Corruption => {
                let others: Vec<String> = names.iter().filter(|n| *n != name).cloned().collect();
                let e = damaged_collection(name, &e, &others);
                if !skip_damaged {
                    return Err(e);
                }
                damaged.insert(name.clone(), e.to_string());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Loaded {
        collections,
        damaged,
        aliases,
    })
}

impl Database {
    /// Opens (creating if needed) the database in `dir`, recovering every collection.
    /// Fails with a `Conflict` error when another process has it open.
    pub fn open(dir: impl AsRef<Path>) -> Result<Database> {
        Self::open_with(fs_backend(), dir.as_ref())
    }

    /// [`Database::open`] through a storage backend (for tests with injected faults).
    pub fn open_with(backend: SharedBackend, dir: &Path) -> Result<Database> {
        Self::open_inner(backend, dir, false)
    }

    /// Opens the database in `dir` like [`Database::open`], except that a collection whose
    /// files are damaged is left closed instead of failing the open: the other collections
    /// are served, [`Database::damaged_collections`] lists the closed ones, and a handle on
    /// one fails with the corruption error. A damaged collection can be dropped (and
    /// re-created from a backup or an export).
    pub fn open_skipping_damaged(dir: impl AsRef<Path>) -> Result<Database> {
        Self::open_inner(fs_backend(), dir.as_ref(), true)
    }

    fn open_inner(backend: SharedBackend, dir: &Path, skip_damaged: bool) -> Result<Database> {
        // The lock beside the directory is taken first: a restore of the whole directory
        // interrupted by a crash is finished or undone only under it (another process
        // opening meanwhile must not roll a restore forward under our feet).
        let outer_path = outer_lock_path(dir)?;
        if let Some(parent) = outer_path.parent() {
            backend.create_dir_all(parent)?;
        }
        let outer_lock = backend.lock(&outer_path, dir)?;
        snapshot::recover_database_restore(&backend, dir)?;
        backend.create_dir_all(dir)?;
        let lock = backend.lock(&dir.join(LOCK_FILE), dir)?;
        snapshot::recover_leftovers(&backend, dir)?;
        let loaded = load(&backend, dir, skip_damaged)?;
        let db = Database {
            inner: Arc::new(DatabaseInner {
                dir: dir.to_path_buf(),
                backend,
                collections: RwLock::new(loaded.collections),
                aliases: RwLock::new(loaded.aliases),
                catalog: Mutex::new(()),
                generation: std::sync::atomic::AtomicU64::new(0),
                plan_cache: Default::default(),
                damaged: RwLock::new(loaded.damaged),
                wall_clock: RwLock::new(Arc::new(crate::request::SystemWallClock)),
                _outer_lock: outer_lock,
                lock: Mutex::new(Some(lock)),
                purger: purge::Purger::new(),
                update_locks: Mutex::new(BTreeMap::new()),
            }),
        };
        db.inner.purger.start(Arc::downgrade(&db.inner), dir)?;
        Ok(db)
    }

    /// Replaces the wall clock point expiry is read against, for every open collection and
    /// every collection created later (tests set and jump a [`crate::ManualWallClock`]).
    pub fn set_wall_clock(&self, clock: Arc<dyn crate::request::WallClock>) {
        *self.inner.wall_clock.write() = clock.clone();
        for c in self.inner.collections.read().values() {
            c.set_wall_clock(clock.clone());
        }
    }

    /// The database directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The schema generation (changes whenever a collection is created or dropped).
    pub(crate) fn schema_generation(&self) -> u64 {
        self.inner
            .generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    fn bump_generation(&self) {
        self.inner
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// The mutex serializing read-modify-write updates of collection `name` (the same one
    /// for every handle on this database).
    pub(crate) fn update_lock(&self, name: &str) -> Arc<Mutex<()>> {
        self.inner
            .update_locks
            .lock()
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    pub(crate) fn plan_cache(&self) -> &crate::query::PlanCache {
        &self.inner.plan_cache
    }

    /// Writes the manifest listing `names` and `aliases` (the caller holds the catalog
    /// lock and updates the in-memory maps only after this succeeded).
    fn write_manifest_with(
        &self,
        names: Vec<String>,
        aliases: BTreeMap<String, String>,
    ) -> Result<()> {
        let json = serde_json::to_vec(&DatabaseManifest {
            collections: names,
            aliases,
        })
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        write_sections(
            self.inner.backend.as_ref(),
            &self.inner.dir.join(MANIFEST_FILE),
            &MANIFEST_MAGIC,
            &[&json],
        )?;
        Ok(())
    }

    /// Writes the manifest listing `names` with the current aliases.
    fn write_manifest(&self, names: Vec<String>) -> Result<()> {
        let aliases = self.inner.aliases.read().clone();
        self.write_manifest_with(names, aliases)
    }

    /// Creates a collection of `dim`-dimensional vectors under `metric`, with defaults for
    /// everything else (see [`CollectionConfig::new`]).
    pub fn create_collection(
        &self,
        name: &str,
        dim: usize,
        metric: DistanceMetric,
    ) -> Result<VectorCollection> {
        self.create_collection_with_options(name, CollectionConfig::new(dim, metric))
    }

    /// Creates a collection with every option given.
    pub fn create_collection_with_options(
        &self,
        name: &str,
        config: CollectionConfig,
    ) -> Result<VectorCollection> {
        validate_collection_name(name)?;
        config.validate()?;
        let _catalog = self.inner.catalog.lock();
        if self.inner.collections.read().contains_key(name)
            || self.inner.damaged.read().contains_key(name)
        {
            return Err(Error::CollectionExists(name.to_string()));
        }
        if self.inner.aliases.read().contains_key(name) {
            return Err(Error::NameInUse {
                name: name.to_string(),
                by: "an alias",
            });
        }
        let cdir = self.inner.dir.join(COLLECTIONS_DIR).join(name);
        // An unlisted directory of this name is a leftover of a crashed create or drop.
        self.inner.backend.remove_dir_all(&cdir)?;
        let collection = VectorCollection {
            inner: Collection::create(self.inner.backend.clone(), &cdir, name, config)?
                .into_shared(),
        };
        collection.set_wall_clock(self.inner.wall_clock.read().clone());
        let mut names = self.listed_names();
        names.push(name.to_string());
        self.write_manifest(names)?;
        self.inner
            .collections
            .write()
            .insert(name.to_string(), collection.clone());
        self.bump_generation();
        Ok(collection)
    }

    /// Creates a metadata collection: payload-only points (filters, scroll, count, text
    /// search; a vector search is an error that says it is a metadata collection).
    pub fn create_metadata_collection(&self, name: &str) -> Result<VectorCollection> {
        let mut config = CollectionConfig::without_default_vector();
        config.kind = crate::config::CollectionKind::Metadata;
        self.create_collection_with_options(name, config)
    }

    /// Creates a graph collection (schemaless or with a schema, optionally with node
    /// embeddings).
    pub fn create_graph_collection(
        &self,
        name: &str,
        config: crate::GraphCollectionConfig,
    ) -> Result<crate::GraphCollection> {
        let collection = self.create_collection_with_options(name, config.collection_config())?;
        crate::GraphCollection::new(collection)
    }

    /// A graph handle on the graph collection `name` (or the one the alias names); an
    /// error when it is another kind of collection.
    pub fn get_graph_collection(&self, name: &str) -> Result<crate::GraphCollection> {
        crate::GraphCollection::new(self.get_vector_collection(name)?)
    }

    /// A handle on the collection `name`, or on the collection the alias `name` names.
    pub fn get_vector_collection(&self, name: &str) -> Result<VectorCollection> {
        let target = self.inner.aliases.read().get(name).cloned();
        let name = target.as_deref().unwrap_or(name);
        if let Some(c) = self.inner.collections.read().get(name) {
            return Ok(c.clone());
        }
        match self.inner.damaged.read().get(name) {
            Some(why) => Err(Error::Corruption {
                file: self.collection_dir(name).display().to_string(),
                reason: why.clone(),
            }),
            None => Err(Error::CollectionNotFound(name.to_string())),
        }
    }

    /// Every collection the manifest lists: the open ones and the damaged ones left closed.
    fn listed_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.collections.read().keys().cloned().collect();
        names.extend(self.inner.damaged.read().keys().cloned());
        names.sort();
        names
    }

    fn collection_dir(&self, name: &str) -> PathBuf {
        self.inner.dir.join(COLLECTIONS_DIR).join(name)
    }

    /// The collections [`Database::open_skipping_damaged`] left closed, with why.
    pub fn damaged_collections(&self) -> Vec<(String, String)> {
        self.inner
            .damaged
            .read()
            .iter()
            .map(|(n, why)| (n.clone(), why.clone()))
            .collect()
    }

    /// Reads every file of the database and verifies every checksum and cross-check (see
    /// [`crate::verify`]); damaged collections left closed are verified too. Each open
    /// collection's writes wait while its files are read; searches continue.
    pub fn verify(&self) -> Result<crate::verify::VerifyReport> {
        let _catalog = self.inner.catalog.lock();
        let backend = self.inner.backend.clone();
        crate::verify::verify_with(&backend, &self.inner.dir, &mut |name, check| {
            let open = self.inner.collections.read().get(name).cloned();
            match open {
                Some(c) => c.inner.with_writes_paused(check),
                None => check(),
            }
            Ok(())
        })
    }

    /// The collections' names, sorted.
    pub fn list_collections(&self) -> Vec<String> {
        self.inner.collections.read().keys().cloned().collect()
    }

    /// Drops the collection `name` (a collection's own name, not an alias) and its aliases,
    /// and deletes its files. Handles still held on it fail with a `NotFound` error from
    /// then on.
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        let _catalog = self.inner.catalog.lock();
        let mut aliases = self.inner.aliases.read().clone();
        aliases.retain(|_, target| target != name);
        // A damaged collection is listed but not open: only its files go.
        let collection = if self.inner.damaged.read().contains_key(name) {
            None
        } else {
            let open = self.inner.collections.read().get(name).cloned();
            Some(open.ok_or_else(|| Error::CollectionNotFound(name.to_string()))?)
        };
        let names: Vec<String> = self
            .listed_names()
            .into_iter()
            .filter(|n| n.as_str() != name)
            .collect();
        self.write_manifest_with(names, aliases.clone())?;
        *self.inner.aliases.write() = aliases;
        let dir = match &collection {
            Some(c) => {
                self.inner.collections.write().remove(name);
                c.inner.dir().to_path_buf()
            }
            None => {
                self.inner.damaged.write().remove(name);
                self.collection_dir(name)
            }
        };
        self.bump_generation();
        if let Some(c) = &collection {
            c.inner.mark_dropped();
        }
        self.inner.backend.remove_dir_all(&dir)?;
        Ok(())
    }

    /// Flushes every collection (the durability barrier for the whole database).
    pub fn flush(&self) -> Result<()> {
        let collections: Vec<VectorCollection> =
            self.inner.collections.read().values().cloned().collect();
        for c in collections {
            c.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_the_directory_are_refused() {
        for bad in [
            "",
            "../x",
            "a/b",
            ".",
            "..",
            "-x",
            "a b",
            "é",
            &"x".repeat(65),
        ] {
            assert!(validate_collection_name(bad).is_err(), "{bad:?}");
        }
        for good in ["docs", "a", "A_b-9", &"x".repeat(64)] {
            validate_collection_name(good).unwrap();
        }
    }
}
