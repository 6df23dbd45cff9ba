//! Partial payload writes: merge keys into, overwrite, remove keys from or clear the payloads
//! of selected points without touching their vectors.
//!
//! One entry point, [`VectorCollection::update_payload`], takes a [`PointSelector`] and a
//! [`PayloadChange`]; `set_payload`, `overwrite_payload`, `delete_payload_keys` and
//! `clear_payload` are shorthands. The selection, the read of each current payload, the
//! computation of the new one, the log append and the in-memory apply all happen while the
//! collection's writer is held, so a concurrent upsert or payload write is never lost (a
//! read-modify-write outside the engine cannot promise that). The operation log records the
//! *result* (each changed point's whole new payload, `ops.rs` tag 3), so recovery replays it
//! exactly without reading anything. The payload indexes and the text index are updated in
//! the same write section as the payload overlay (`write.rs`, `apply_payloads`).
//!
//! Paths: a `key` of [`PayloadChange::Set`] and the keys of [`PayloadChange::DeleteKeys`] are
//! dotted paths descending objects, the same notion of a path as filters
//! (`nearstore_filter::field_value`): `"a.b"` is key `b` inside the object at key `a`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::write::Targets;
use super::{Collection, VectorCollection, ops};
use crate::error::{Error, Result};
use crate::request::WriteOptions;
use nearstore_filter::Filter;

/// Points read between two looks at a payload write's deadline.
const DEADLINE_STRIDE: usize = 1024;

/// Which points a payload write applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum PointSelector {
    /// These ids; ids with no live point are skipped (not an error).
    Ids(Vec<u64>),
    /// Every live point whose payload matches the filter.
    Filter(Filter),
}

impl From<Vec<u64>> for PointSelector {
    fn from(ids: Vec<u64>) -> Self {
        PointSelector::Ids(ids)
    }
}

impl From<Filter> for PointSelector {
    fn from(filter: Filter) -> Self {
        PointSelector::Filter(filter)
    }
}

/// What a payload write does to each selected point's payload.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PayloadChange {
    /// Merges the given keys into the payload (a given key replaces the one there). With
    /// `key` (a dotted path), merges into the object at that path instead, creating the
    /// objects on the way; a non-object met on the path is replaced by an object. A point
    /// without a payload (or whose payload is not an object) starts from `{}`.
    Set {
        /// The object to merge into (`None`: the payload itself).
        key: Option<String>,
        /// The keys to write.
        payload: Map<String, Value>,
    },
    /// Replaces the whole payload.
    Overwrite(Map<String, Value>),
    /// Removes these keys (dotted paths); missing keys are ignored.
    DeleteKeys(Vec<String>),
    /// Removes the payload: the point then has none, as if written without one.
    Clear,
}

/// Most segments a payload path may have.
pub const MAX_PAYLOAD_PATH_SEGMENTS: usize = 32;

/// Checks a dotted path: non-empty, no empty segment, at most [`MAX_PAYLOAD_PATH_SEGMENTS`].
fn check_path(path: &str) -> Result<()> {
    if path.split('.').count() > MAX_PAYLOAD_PATH_SEGMENTS {
        return Err(Error::InvalidArgument(format!(
            "payload key {path:?} has more than {MAX_PAYLOAD_PATH_SEGMENTS} segments"
        )));
    }
    if path.split('.').any(str::is_empty) {
        return Err(Error::InvalidArgument(format!(
            "payload key {path:?} is not a dotted path (empty segment)"
        )));
    }
    Ok(())
}

/// Merges `payload` into the object at `segments` inside `map`, creating objects (and
/// replacing non-objects) on the way. Recursion is bounded by [`MAX_PAYLOAD_PATH_SEGMENTS`].
fn merge_at(map: &mut Map<String, Value>, segments: &[&str], payload: &Map<String, Value>) {
    match segments.split_first() {
        None => {
            for (k, v) in payload {
                map.insert(k.clone(), v.clone());
            }
        }
        Some((first, rest)) => match map.entry(*first).or_insert(Value::Null) {
            Value::Object(inner) => merge_at(inner, rest, payload),
            other => {
                let mut inner = Map::new();
                merge_at(&mut inner, rest, payload);
                *other = Value::Object(inner);
            }
        },
    }
}

/// Removes the value at a dotted path (objects only); absent paths are left alone.
fn remove_path(root: &mut Map<String, Value>, path: &str) {
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (Some(parent), last),
        None => (None, path),
    };
    let mut current = root;
    if let Some(parent) = parent {
        for segment in parent.split('.') {
            match current.get_mut(segment) {
                Some(Value::Object(map)) => current = map,
                _ => return,
            }
        }
    }
    current.remove(last);
}

impl PayloadChange {
    /// Refuses malformed paths before anything is read.
    fn validate(&self) -> Result<()> {
        match self {
            PayloadChange::Set { key: Some(k), .. } => check_path(k),
            PayloadChange::DeleteKeys(keys) => keys.iter().try_for_each(|k| check_path(k)),
            _ => Ok(()),
        }
    }

    /// The payload after the change (`None`: no payload).
    pub(crate) fn apply_to(&self, old: Option<&Value>) -> Option<Value> {
        match self {
            PayloadChange::Set { key, payload } => {
                let mut root = match old {
                    Some(Value::Object(map)) => map.clone(),
                    _ => Map::new(),
                };
                let segments: Vec<&str> = key
                    .as_deref()
                    .map_or(Vec::new(), |k| k.split('.').collect());
                merge_at(&mut root, &segments, payload);
                Some(Value::Object(root))
            }
            PayloadChange::Overwrite(payload) => Some(Value::Object(payload.clone())),
            PayloadChange::DeleteKeys(keys) => match old {
                Some(Value::Object(map)) => {
                    let mut map = map.clone();
                    keys.iter().for_each(|k| remove_path(&mut map, k));
                    Some(Value::Object(map))
                }
                other => other.cloned(),
            },
            PayloadChange::Clear => None,
        }
    }
}

impl Collection {
    /// The visible ids a selector names (an expired point is not there for a write either),
    /// ascending and without duplicates (the writer is held).
    fn select(&self, selector: &PointSelector, options: &WriteOptions) -> Result<Vec<u64>> {
        Ok(match selector {
            PointSelector::Ids(ids) => {
                let st = self.state.read();
                let visible = self.visible_live(&st);
                let mut ids: Vec<u64> = ids
                    .iter()
                    .copied()
                    .filter(|id| visible.contains(*id))
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            }
            PointSelector::Filter(filter) => self
                .resolve_filter(filter, options.deadline.as_ref())?
                .iter()
                .collect(),
        })
    }

    pub(crate) fn update_payload(
        &self,
        selector: &PointSelector,
        change: &PayloadChange,
        options: &WriteOptions,
    ) -> Result<usize> {
        self.check_open()?;
        change.validate()?;
        let deadline = options.deadline.as_ref();
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        let ids = self.select(selector, options)?;
        let limit = self.config.max_payload_bytes;
        let mut encoded = Vec::new();
        let mut changes = Vec::new();
        for (i, &id) in ids.iter().enumerate() {
            if i.is_multiple_of(DEADLINE_STRIDE) {
                self.check_write_deadline(deadline, ids.len())?;
            }
            let old = self.current_payload(id)?;
            let new = change.apply_to(old.as_deref());
            if new.as_ref() == old.as_deref() {
                continue;
            }
            self.check_node_payload(id, new.as_ref())?;
            let json = match &new {
                Some(v) => {
                    let bytes = serde_json::to_vec(v).map_err(|e| {
                        Error::InvalidArgument(format!("payload of point {id}: {e}"))
                    })?;
                    if bytes.len() > limit {
                        return Err(Error::PayloadTooLarge {
                            id,
                            bytes: bytes.len(),
                            limit,
                        });
                    }
                    Some(bytes)
                }
                None => None,
            };
            encoded.push((id, json));
            changes.push((id, new.map(Arc::new)));
        }
        if changes.is_empty() {
            return Ok(0);
        }
        // A graph with a schema refuses a relabel that an existing edge would break.
        if self.config.graph_schema.is_some() {
            let changed: Vec<(u64, Option<&Value>)> =
                changes.iter().map(|(id, p)| (*id, p.as_deref())).collect();
            self.check_relabels(&changed, None)?;
        }
        let bytes = ops::encode_payloads(&encoded);
        drop(encoded);
        self.commit_locked(&mut w, &bytes, deadline, changes.len(), || {
            self.apply_payloads(&changes, Targets::ALL)
        })?;
        Ok(changes.len())
    }
}

impl VectorCollection {
    /// Changes the payloads of the selected points, never their vectors: one atomic,
    /// logged write (after a crash all of it or none is there), serialized with every
    /// other write, so no concurrent upsert or payload write is lost. Returns how many
    /// points' payloads changed: ids with no live point are skipped, and a point whose
    /// payload the change leaves equal is not rewritten nor counted.
    ///
    /// With a deadline in `options`, the write is all or nothing:
    /// `Err(`[`Error::WriteCancelled`]`)` (or [`Error::Cancelled`] while a filter is
    /// resolved) means nothing was written. A resulting payload over the collection's
    /// payload limit fails the whole write with [`Error::PayloadTooLarge`].
    pub fn update_payload(
        &self,
        selector: &PointSelector,
        change: &PayloadChange,
        options: &WriteOptions,
    ) -> Result<usize> {
        self.inner.update_payload(selector, change, options)
    }

    /// Merges `payload`'s top-level keys into each selected point's payload (see
    /// [`PayloadChange::Set`] and [`VectorCollection::update_payload`]).
    pub fn set_payload(
        &self,
        selector: &PointSelector,
        payload: Map<String, Value>,
    ) -> Result<usize> {
        let change = PayloadChange::Set { key: None, payload };
        self.update_payload(selector, &change, &WriteOptions::default())
    }

    /// Merges `payload`'s keys into the object at the dotted path `key` of each selected
    /// point's payload, creating it if needed (see [`PayloadChange::Set`]).
    pub fn set_payload_at(
        &self,
        selector: &PointSelector,
        key: &str,
        payload: Map<String, Value>,
    ) -> Result<usize> {
        let change = PayloadChange::Set {
            key: Some(key.to_string()),
            payload,
        };
        self.update_payload(selector, &change, &WriteOptions::default())
    }

    /// Replaces each selected point's whole payload with `payload`, keeping its vector.
    pub fn overwrite_payload(
        &self,
        selector: &PointSelector,
        payload: Map<String, Value>,
    ) -> Result<usize> {
        let change = PayloadChange::Overwrite(payload);
        self.update_payload(selector, &change, &WriteOptions::default())
    }

    /// Removes `keys` (dotted paths) from each selected point's payload.
    pub fn delete_payload_keys(&self, selector: &PointSelector, keys: &[String]) -> Result<usize> {
        let change = PayloadChange::DeleteKeys(keys.to_vec());
        self.update_payload(selector, &change, &WriteOptions::default())
    }

    /// Removes each selected point's payload (the point then has none).
    pub fn clear_payload(&self, selector: &PointSelector) -> Result<usize> {
        self.update_payload(selector, &PayloadChange::Clear, &WriteOptions::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn set_merges_top_level_keys() {
        let change = PayloadChange::Set {
            key: None,
            payload: map(json!({"b": 2, "c": {"x": 1}})),
        };
        let old = json!({"a": 1, "b": 1});
        assert_eq!(
            change.apply_to(Some(&old)),
            Some(json!({"a": 1, "b": 2, "c": {"x": 1}}))
        );
        assert_eq!(change.apply_to(None), Some(json!({"b": 2, "c": {"x": 1}})));
    }

    #[test]
    fn set_at_a_path_creates_and_merges_nested_objects() {
        let change = PayloadChange::Set {
            key: Some("m.n".into()),
            payload: map(json!({"k": true})),
        };
        let old = json!({"m": {"n": {"j": 0}, "o": 1}});
        assert_eq!(
            change.apply_to(Some(&old)),
            Some(json!({"m": {"n": {"j": 0, "k": true}, "o": 1}}))
        );
        let old = json!({"m": 3});
        assert_eq!(
            change.apply_to(Some(&old)),
            Some(json!({"m": {"n": {"k": true}}}))
        );
    }

    #[test]
    fn delete_keys_removes_top_level_and_dotted_paths() {
        let change = PayloadChange::DeleteKeys(vec!["a".into(), "m.n".into(), "zz.q".into()]);
        let old = json!({"a": 1, "b": 2, "m": {"n": 1, "o": 2}});
        assert_eq!(
            change.apply_to(Some(&old)),
            Some(json!({"b": 2, "m": {"o": 2}}))
        );
        assert_eq!(change.apply_to(None), None);
    }

    #[test]
    fn overwrite_and_clear_replace_everything() {
        let old = json!({"a": 1});
        let change = PayloadChange::Overwrite(map(json!({"z": 0})));
        assert_eq!(change.apply_to(Some(&old)), Some(json!({"z": 0})));
        assert_eq!(PayloadChange::Clear.apply_to(Some(&old)), None);
    }

    #[test]
    fn empty_path_segments_are_refused() {
        for bad in ["", "a..b", ".a", "a."] {
            let change = PayloadChange::DeleteKeys(vec![bad.into()]);
            assert!(change.validate().is_err(), "{bad:?}");
            let change = PayloadChange::Set {
                key: Some(bad.into()),
                payload: Map::new(),
            };
            assert!(change.validate().is_err(), "{bad:?}");
        }
    }
}
