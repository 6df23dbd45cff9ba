//! Collection aliases: second names that resolve to a collection wherever a collection name
//! is taken ([`Database::get_vector_collection`], hence every search, write and statement).
//!
//! Invariants (checked on every change and again when the manifest is read): an alias is a
//! valid collection name, names a listed collection (never another alias), and is never
//! also a collection's name (an alias cannot shadow a collection, nor a new collection take
//! an alias's name). Aliases live in `database.manifest` beside the collection list, so a
//! change is durable and crash-safe exactly as creating a collection is: the manifest is
//! rewritten atomically (write-temp, fsync, rename) before the in-memory map changes.
//! Dropping a collection drops its aliases in the same manifest write.
//!
//! Semantics follow Qdrant's: creating an existing alias points it at the new collection;
//! renaming onto an existing alias replaces it; deleting or renaming a missing alias is
//! `NotFound`. A batch of changes ([`Database::update_aliases`]) applies in order and is
//! all or nothing: one failing change leaves every alias as it was.

use std::collections::BTreeMap;

use super::{Database, validate_collection_name};
use crate::error::{Error, Result};

/// One change to the aliases, as [`Database::update_aliases`] applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AliasChange {
    /// Makes `alias` name `collection` (re-pointing it when it exists).
    Create {
        /// The alias.
        alias: String,
        /// The collection it names (a collection's own name).
        collection: String,
    },
    /// Removes `alias`.
    Delete {
        /// The alias.
        alias: String,
    },
    /// Renames the alias `from` to `to` (replacing an alias `to`).
    Rename {
        /// The alias's current name.
        from: String,
        /// Its new name.
        to: String,
    },
}

impl Database {
    /// Makes `alias` a second name of the collection `collection` (re-pointing the alias
    /// when it exists). Refused when `collection` does not exist or `alias` is a
    /// collection's name.
    pub fn create_alias(&self, alias: &str, collection: &str) -> Result<()> {
        self.update_aliases(&[AliasChange::Create {
            alias: alias.to_owned(),
            collection: collection.to_owned(),
        }])
    }

    /// Removes the alias `alias` (`NotFound` when there is none).
    pub fn delete_alias(&self, alias: &str) -> Result<()> {
        self.update_aliases(&[AliasChange::Delete {
            alias: alias.to_owned(),
        }])
    }

    /// Renames the alias `from` to `to`.
    pub fn rename_alias(&self, from: &str, to: &str) -> Result<()> {
        self.update_aliases(&[AliasChange::Rename {
            from: from.to_owned(),
            to: to.to_owned(),
        }])
    }

    /// Applies `changes` in order, all or nothing, with one durable manifest write.
    pub fn update_aliases(&self, changes: &[AliasChange]) -> Result<()> {
        let _catalog = self.inner.catalog.lock();
        let listed = self.listed_names();
        let mut aliases = self.inner.aliases.read().clone();
        for change in changes {
            apply(&mut aliases, &listed, change)?;
        }
        if aliases == *self.inner.aliases.read() {
            return Ok(());
        }
        self.write_manifest_with(listed, aliases.clone())?;
        *self.inner.aliases.write() = aliases;
        self.bump_generation();
        Ok(())
    }

    /// Every alias with the collection it names, sorted by alias.
    pub fn list_aliases(&self) -> Vec<(String, String)> {
        self.inner
            .aliases
            .read()
            .iter()
            .map(|(a, c)| (a.clone(), c.clone()))
            .collect()
    }

    /// The aliases of the collection `collection` (its own name), sorted.
    pub fn collection_aliases(&self, collection: &str) -> Result<Vec<String>> {
        if !self.listed_names().iter().any(|n| n == collection) {
            return Err(Error::CollectionNotFound(collection.to_owned()));
        }
        Ok(self
            .inner
            .aliases
            .read()
            .iter()
            .filter(|(_, c)| c.as_str() == collection)
            .map(|(a, _)| a.clone())
            .collect())
    }
}

/// A new alias name: valid and not a collection's name.
fn check_alias_name(alias: &str, listed: &[String]) -> Result<()> {
    validate_collection_name(alias)?;
    if listed.iter().any(|n| n == alias) {
        return Err(Error::NameInUse {
            name: alias.to_owned(),
            by: "a collection",
        });
    }
    Ok(())
}

fn apply(
    aliases: &mut BTreeMap<String, String>,
    listed: &[String],
    change: &AliasChange,
) -> Result<()> {
    match change {
        AliasChange::Create { alias, collection } => {
            check_alias_name(alias, listed)?;
            if !listed.iter().any(|n| n == collection) {
                return Err(Error::CollectionNotFound(collection.clone()));
            }
            aliases.insert(alias.clone(), collection.clone());
        }
        AliasChange::Delete { alias } => {
            if aliases.remove(alias).is_none() {
                return Err(Error::AliasNotFound(alias.clone()));
            }
        }
        AliasChange::Rename { from, to } => {
            check_alias_name(to, listed)?;
            let Some(collection) = aliases.remove(from) else {
                return Err(Error::AliasNotFound(from.clone()));
            };
            aliases.insert(to.clone(), collection);
        }
    }
    Ok(())
}
