//! [`Database`]: a directory of collections.
//!
//! Layout: `nearstore.lock` (held while the database is open), `database.manifest` (a
//! checksummed file listing the collections), `collections/<name>/` (one directory per
//! collection). Creating a collection writes its directory first and lists it in the
//! manifest last; dropping unlists it first and removes the directory after, so a crash in
//! between leaves at most an unlisted directory, which a later create of that name clears.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

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
    /// Serializes create / drop (manifest rewrites).
    catalog: Mutex<()>,
    /// Bumped by every create / drop: cached query plans of an older generation are stale.
    generation: std::sync::atomic::AtomicU64,
    plan_cache: crate::query::PlanCache,
    _lock: Box<dyn LockGuard>,
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

impl Database {
    /// Opens (creating if needed) the database in `dir`, recovering every collection.
    /// Fails with a `Conflict` error when another process has it open.
    pub fn open(dir: impl AsRef<Path>) -> Result<Database> {
        Self::open_with(fs_backend(), dir.as_ref())
    }

    /// [`Database::open`] through a storage backend (for tests with injected faults).
    pub fn open_with(backend: SharedBackend, dir: &Path) -> Result<Database> {
        backend.create_dir_all(dir)?;
        let lock = backend.lock(&dir.join(LOCK_FILE), dir)?;
        let manifest_path = dir.join(MANIFEST_FILE);
        let manifest = if backend.exists(&manifest_path)? {
            let sections = read_sections(backend.as_ref(), &manifest_path, &MANIFEST_MAGIC)?;
            let [json] = sections.as_slice() else {
                return Err(Error::corruption(
                    manifest_path.display(),
                    "expected one section",
                ));
            };
            serde_json::from_slice::<DatabaseManifest>(json)
                .map_err(|e| Error::corruption(manifest_path.display(), e.to_string()))?
        } else {
            DatabaseManifest::default()
        };
        let mut collections = BTreeMap::new();
        for name in manifest.collections {
            validate_collection_name(&name).map_err(|e| {
                Error::corruption(manifest_path.display(), format!("listed name: {e}"))
            })?;
            let cdir = dir.join(COLLECTIONS_DIR).join(&name);
            let collection = Collection::open(backend.clone(), &cdir)?;
            collections.insert(
                name,
                VectorCollection {
                    inner: Arc::new(collection),
                },
            );
        }
        Ok(Database {
            inner: Arc::new(DatabaseInner {
                dir: dir.to_path_buf(),
                backend,
                collections: RwLock::new(collections),
                catalog: Mutex::new(()),
                generation: std::sync::atomic::AtomicU64::new(0),
                plan_cache: Default::default(),
                _lock: lock,
            }),
        })
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

    pub(crate) fn plan_cache(&self) -> &crate::query::PlanCache {
        &self.inner.plan_cache
    }

    fn write_manifest(&self, names: Vec<String>) -> Result<()> {
        let json = serde_json::to_vec(&DatabaseManifest { collections: names })
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        write_sections(
            self.inner.backend.as_ref(),
            &self.inner.dir.join(MANIFEST_FILE),
            &MANIFEST_MAGIC,
            &[&json],
        )?;
        Ok(())
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
        if self.inner.collections.read().contains_key(name) {
            return Err(Error::CollectionExists(name.to_string()));
        }
        let cdir = self.inner.dir.join(COLLECTIONS_DIR).join(name);
        // An unlisted directory of this name is a leftover of a crashed create or drop.
        self.inner.backend.remove_dir_all(&cdir)?;
        let collection = VectorCollection {
            inner: Arc::new(Collection::create(
                self.inner.backend.clone(),
                &cdir,
                name,
                config,
            )?),
        };
        let mut names: Vec<String> = self.inner.collections.read().keys().cloned().collect();
        names.push(name.to_string());
        self.write_manifest(names)?;
        self.inner
            .collections
            .write()
            .insert(name.to_string(), collection.clone());
        self.bump_generation();
        Ok(collection)
    }

    /// A handle on the collection `name`.
    pub fn get_vector_collection(&self, name: &str) -> Result<VectorCollection> {
        self.inner
            .collections
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::CollectionNotFound(name.to_string()))
    }

    /// The collections' names, sorted.
    pub fn list_collections(&self) -> Vec<String> {
        self.inner.collections.read().keys().cloned().collect()
    }

    /// Drops the collection `name` and deletes its files. Handles still held on it fail
    /// with a `NotFound` error from then on.
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        let _catalog = self.inner.catalog.lock();
        let collection = self.get_vector_collection(name)?;
        let names: Vec<String> = self
            .inner
            .collections
            .read()
            .keys()
            .filter(|n| n.as_str() != name)
            .cloned()
            .collect();
        self.write_manifest(names)?;
        self.inner.collections.write().remove(name);
        self.bump_generation();
        collection.inner.mark_dropped();
        self.inner.backend.remove_dir_all(collection.inner.dir())?;
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
