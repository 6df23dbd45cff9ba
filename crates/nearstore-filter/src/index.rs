//! Payload indexes: per indexed field, the ids of points by value, kept up to date by
//! [`PayloadIndexes::insert`] / [`PayloadIndexes::remove`]. Answering filters from them is in
//! `resolve.rs`, persistence in `codec.rs`.
//!
//! The field's path reaches a list of values in a payload (one at most unless the path has
//! `[]`; see the `path` module). Invariants of one [`FieldIndex`] (for every indexed id and
//! that id's payload):
//! - `present` holds the id iff some reached value is not null;
//! - `arrays` holds the id iff some reached value is an array;
//! - each value bitmap holds the id iff some reached value (or one of its elements, when it
//!   is an array) has that key; no value bitmap is empty;
//! - `other` holds the id iff some reached value (or an element) is non-null and has no key
//!   in this index's kind (a string in an integer index, `2.5` or `1e30` in an integer
//!   index, an object, a nested array, ...);
//! - `nulls` holds the id iff some reached value is an explicit `null`;
//! - `empty` holds the id iff it is in `present` and every non-null reached value is the
//!   empty array `[]`.
//!
//! For a path without `[]` these read as before: "the field's value is ...". `multi` says
//! the path has `[]`; then a key may come from a reached scalar or from an element of a
//! reached array, which `contains` must tell apart, so its answers there are bounds.
//!
//! A field whose path has a selector (`[]`, `[N]`) decoded from a file written before
//! selectors existed (versions 1 and 2, where such a path was a literal key) is `stale`: its
//! bitmaps do not follow these invariants, [`PayloadIndexes::resolve`] treats the field as
//! unindexed, and [`PayloadIndexes::stale_fields`] lists it for the owner to rebuild.
//!
//! An index decoded from a version-1 file has no record of nulls and empty arrays
//! (`shape_known` false): `nulls` and `empty` then only hold ids written since, and the
//! conditions that need them (`is_explicit_null`, `is_empty`) are answered as bounds and
//! checked on payloads.
//!
//! Ids that were never inserted are treated as points whose field is missing.

use std::collections::BTreeMap;
use std::fmt;

use roaring::RoaringTreemap;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use crate::datetime::Datetime;
use crate::error::{Error, Result};
use crate::idset::IdSet;
use crate::path::{self, reach};
use crate::value::elements;

/// How one field is indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldIndexKind {
    /// Strings, by exact value (ordered by bytes, so ranges and prefixes are cheap).
    Keyword,
    /// Numbers whose value is exactly an `i64` (`3` and `3.0` alike).
    Integer,
    /// Numbers whose value is exactly an `f64`.
    Float,
    /// `true` / `false`.
    Bool,
    /// Strings that parse as datetimes ([`crate::Datetime::parse`]: RFC 3339 / ISO 8601,
    /// with or without offset, or a date), keyed by instant (microseconds, UTC), so
    /// `datetime_range` conditions and ordering by time read the index.
    Datetime,
}

impl FieldIndexKind {
    /// The snake_case name, as in serde.
    pub fn name(self) -> &'static str {
        match self {
            FieldIndexKind::Keyword => "keyword",
            FieldIndexKind::Integer => "integer",
            FieldIndexKind::Float => "float",
            FieldIndexKind::Bool => "bool",
            FieldIndexKind::Datetime => "datetime",
        }
    }
}

impl fmt::Display for FieldIndexKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An `f64` index key: never NaN, and `-0.0` stored as `0.0`, so the total order agrees with
/// numeric order and equality.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FloatKey(pub(crate) f64);

impl Eq for FloatKey {}
impl PartialOrd for FloatKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for FloatKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl FloatKey {
    pub(crate) fn new(f: f64) -> Option<Self> {
        if f.is_nan() {
            None
        } else if f == 0.0 {
            Some(FloatKey(0.0))
        } else {
            Some(FloatKey(f))
        }
    }
}

const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// The number as an `i64` when its value is exactly one.
pub(crate) fn int_key(n: &Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.is_u64() {
        return None; // above i64::MAX
    }
    let f = n.as_f64()?;
    if f.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&f) {
        Some(f as i64)
    } else {
        None
    }
}

/// The number as an `f64` when its value is exactly one.
pub(crate) fn float_key(n: &Number) -> Option<FloatKey> {
    let exact_int = |i: i128| {
        let f = i as f64;
        let back = f as i128;
        (back == i).then_some(f)
    };
    let f = if let Some(i) = n.as_i64() {
        exact_int(i128::from(i))?
    } else if let Some(u) = n.as_u64() {
        exact_int(i128::from(u))?
    } else {
        n.as_f64()?
    };
    FloatKey::new(f)
}

/// The value bitmaps of one field, by kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    Keyword(BTreeMap<String, IdSet>),
    Integer(BTreeMap<i64, IdSet>),
    Float(BTreeMap<FloatKey, IdSet>),
    Bool {
        false_ids: RoaringTreemap,
        true_ids: RoaringTreemap,
    },
    /// Keys are [`Datetime::micros`].
    Datetime(BTreeMap<i64, IdSet>),
}

/// One indexed field (see the module invariants).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldIndex {
    pub(crate) present: RoaringTreemap,
    pub(crate) arrays: RoaringTreemap,
    pub(crate) other: RoaringTreemap,
    pub(crate) nulls: RoaringTreemap,
    pub(crate) empty: RoaringTreemap,
    /// `nulls` and `empty` are complete (false after decoding a version-1 file).
    pub(crate) shape_known: bool,
    /// The path has a `[]` segment (derived from the field name, not stored).
    pub(crate) multi: bool,
    /// Built under the old literal-key reading of a selector path: not to be trusted.
    pub(crate) stale: bool,
    pub(crate) values: Values,
}

/// Lists `id` under `key` (the key is copied only when it is new).
fn add<K, Q>(map: &mut BTreeMap<Q, IdSet>, key: &K, id: u64)
where
    K: Ord + ToOwned<Owned = Q> + ?Sized,
    Q: Ord + std::borrow::Borrow<K>,
{
    match map.get_mut(key) {
        Some(ids) => ids.insert(id),
        None => {
            map.insert(key.to_owned(), IdSet::One(id));
        }
    }
}

/// Takes `id` out of `key`'s list, dropping the key when it lists nothing more.
fn take_out<K, Q>(map: &mut BTreeMap<Q, IdSet>, key: &K, id: u64)
where
    K: Ord + ?Sized,
    Q: Ord + std::borrow::Borrow<K>,
{
    if map.get_mut(key).is_some_and(|ids| ids.remove(id)) {
        map.remove(key);
    }
}

impl FieldIndex {
    pub(crate) fn new(kind: FieldIndexKind, field: &str) -> Self {
        let values = match kind {
            FieldIndexKind::Keyword => Values::Keyword(BTreeMap::new()),
            FieldIndexKind::Integer => Values::Integer(BTreeMap::new()),
            FieldIndexKind::Float => Values::Float(BTreeMap::new()),
            FieldIndexKind::Bool => Values::Bool {
                false_ids: RoaringTreemap::new(),
                true_ids: RoaringTreemap::new(),
            },
            FieldIndexKind::Datetime => Values::Datetime(BTreeMap::new()),
        };
        FieldIndex {
            present: RoaringTreemap::new(),
            arrays: RoaringTreemap::new(),
            other: RoaringTreemap::new(),
            nulls: RoaringTreemap::new(),
            empty: RoaringTreemap::new(),
            shape_known: true,
            multi: path::is_multi(field),
            stale: false,
            values,
        }
    }

    pub(crate) fn kind(&self) -> FieldIndexKind {
        match self.values {
            Values::Keyword(_) => FieldIndexKind::Keyword,
            Values::Integer(_) => FieldIndexKind::Integer,
            Values::Float(_) => FieldIndexKind::Float,
            Values::Bool { .. } => FieldIndexKind::Bool,
            Values::Datetime(_) => FieldIndexKind::Datetime,
        }
    }

    /// Indexes the values the field's path reaches in one payload.
    fn insert(&mut self, id: u64, reached: &[&Value]) {
        let mut present = false;
        let mut all_empty = true;
        for value in reached {
            if value.is_null() {
                self.nulls.insert(id);
                continue;
            }
            present = true;
            match value {
                Value::Array(items) => {
                    self.arrays.insert(id);
                    all_empty &= items.is_empty();
                }
                _ => all_empty = false,
            }
            for element in elements(value) {
                if !self.insert_element(id, element) && !element.is_null() {
                    self.other.insert(id);
                }
            }
        }
        if present {
            self.present.insert(id);
            if all_empty {
                self.empty.insert(id);
            }
        }
    }

    /// Adds one element under its key; false when it has none in this kind.
    fn insert_element(&mut self, id: u64, element: &Value) -> bool {
        match (&mut self.values, element) {
            (Values::Keyword(map), Value::String(s)) => add(map, s.as_str(), id),
            (Values::Integer(map), Value::Number(n)) => match int_key(n) {
                Some(k) => add(map, &k, id),
                None => return false,
            },
            (Values::Float(map), Value::Number(n)) => match float_key(n) {
                Some(k) => add(map, &k, id),
                None => return false,
            },
            (Values::Bool { true_ids, .. }, Value::Bool(true)) => {
                true_ids.insert(id);
            }
            (Values::Bool { false_ids, .. }, Value::Bool(false)) => {
                false_ids.insert(id);
            }
            (Values::Datetime(map), Value::String(s)) => match Datetime::parse(s) {
                Some(t) => add(map, &t.micros(), id),
                None => return false,
            },
            _ => return false,
        }
        true
    }

    fn remove(&mut self, id: u64, reached: &[&Value]) {
        self.present.remove(id);
        self.arrays.remove(id);
        self.other.remove(id);
        self.nulls.remove(id);
        self.empty.remove(id);
        for element in reached.iter().flat_map(|v| elements(v)) {
            match (&mut self.values, element) {
                (Values::Keyword(map), Value::String(s)) => take_out(map, s.as_str(), id),
                (Values::Integer(map), Value::Number(n)) => {
                    if let Some(k) = int_key(n) {
                        take_out(map, &k, id);
                    }
                }
                (Values::Float(map), Value::Number(n)) => {
                    if let Some(k) = float_key(n) {
                        take_out(map, &k, id);
                    }
                }
                (Values::Bool { true_ids, .. }, Value::Bool(true)) => {
                    true_ids.remove(id);
                }
                (Values::Bool { false_ids, .. }, Value::Bool(false)) => {
                    false_ids.remove(id);
                }
                (Values::Datetime(map), Value::String(s)) => {
                    if let Some(t) = Datetime::parse(s) {
                        take_out(map, &t.micros(), id);
                    }
                }
                _ => {}
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        const ENTRY_OVERHEAD: usize = 48;
        let bitmaps = self.present.serialized_size()
            + self.arrays.serialized_size()
            + self.other.serialized_size()
            + self.nulls.serialized_size()
            + self.empty.serialized_size();
        let values = match &self.values {
            Values::Keyword(map) => map
                .iter()
                .map(|(k, ids)| k.capacity() + 24 + ids.heap_bytes() + ENTRY_OVERHEAD)
                .sum(),
            Values::Integer(map) => map
                .values()
                .map(|ids| 8 + ids.heap_bytes() + ENTRY_OVERHEAD)
                .sum(),
            Values::Float(map) => map
                .values()
                .map(|ids| 8 + ids.heap_bytes() + ENTRY_OVERHEAD)
                .sum(),
            Values::Datetime(map) => map
                .values()
                .map(|ids| 8 + ids.heap_bytes() + ENTRY_OVERHEAD)
                .sum(),
            Values::Bool {
                false_ids,
                true_ids,
            } => false_ids.serialized_size() + true_ids.serialized_size(),
        };
        bitmaps + values + std::mem::size_of::<Self>()
    }
}

/// All payload indexes of one collection. Plain data (`Send + Sync`); the caller serializes
/// writers (wrap it in a lock).
///
/// The caller keeps it in step with the payloads: [`insert`](Self::insert) a point's payload
/// when the point is written, [`remove`](Self::remove) with the same payload before it is
/// replaced or deleted. A point never inserted counts as a point whose fields are all missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PayloadIndexes {
    pub(crate) fields: BTreeMap<String, FieldIndex>,
}

/// Checks a field path for indexing (the grammar of the `path` module).
pub(crate) fn check_field_path(field: &str) -> Result<()> {
    path::check(field).map_err(|message| Error::InvalidField {
        field: field.to_owned(),
        message: message.to_owned(),
    })
}

impl PayloadIndexes {
    /// No indexed fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no field is indexed.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The indexed fields and their kinds, sorted by field.
    pub fn fields(&self) -> Vec<(String, FieldIndexKind)> {
        self.fields
            .iter()
            .map(|(name, index)| (name.clone(), index.kind()))
            .collect()
    }

    /// The kind a field is indexed with, if any.
    pub fn field_kind(&self, field: &str) -> Option<FieldIndexKind> {
        self.fields.get(field).map(FieldIndex::kind)
    }

    /// Indexes `field` as `kind`, filling it from the existing points. A field already
    /// indexed with the same kind is left as is; with another kind it is an error.
    pub fn create_field<'a>(
        &mut self,
        field: &str,
        kind: FieldIndexKind,
        existing: impl IntoIterator<Item = (u64, &'a Value)>,
    ) -> Result<()> {
        check_field_path(field)?;
        if let Some(index) = self.fields.get(field) {
            let current = index.kind();
            if current == kind {
                return Ok(());
            }
            return Err(Error::IndexKindConflict {
                field: field.to_owned(),
                existing: current,
                requested: kind,
            });
        }
        let mut index = FieldIndex::new(kind, field);
        for (id, payload) in existing {
            index.insert(id, reach(payload, field).as_slice());
        }
        self.fields.insert(field.to_owned(), index);
        Ok(())
    }

    /// Stops indexing `field`; false when it was not indexed.
    pub fn drop_field(&mut self, field: &str) -> bool {
        self.fields.remove(field).is_some()
    }

    /// Indexes every indexed field of a point's payload.
    pub fn insert(&mut self, id: u64, payload: &Value) {
        for (name, index) in &mut self.fields {
            index.insert(id, reach(payload, name).as_slice());
        }
    }

    /// Unindexes a point; `payload` must be the payload it was inserted with.
    pub fn remove(&mut self, id: u64, payload: &Value) {
        for (name, index) in &mut self.fields {
            index.remove(id, reach(payload, name).as_slice());
        }
    }

    /// Fields whose index was built before array selectors in paths were read as such
    /// (decoded from an older file) and answers nothing until rebuilt: drop and create
    /// each again over the current payloads.
    pub fn stale_fields(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(_, index)| index.stale)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Approximate heap bytes held by the indexes.
    pub fn memory_bytes(&self) -> usize {
        self.fields
            .iter()
            .map(|(name, index)| name.capacity() + index.memory_bytes())
            .sum::<usize>()
            + std::mem::size_of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn int_and_float_keys_accept_only_exact_values() {
        let n = |v: Value| match v {
            Value::Number(n) => n,
            _ => unreachable!(),
        };
        assert_eq!(int_key(&n(json!(3))), Some(3));
        assert_eq!(int_key(&n(json!(3.0))), Some(3));
        assert_eq!(int_key(&n(json!(2.5))), None);
        assert_eq!(int_key(&n(json!(u64::MAX))), None);
        assert_eq!(int_key(&n(json!(1e30))), None);
        assert_eq!(
            int_key(&n(json!(-9_223_372_036_854_775_808.0))),
            Some(i64::MIN)
        );
        assert_eq!(float_key(&n(json!(3))), Some(FloatKey(3.0)));
        assert_eq!(float_key(&n(json!(-0.0))), Some(FloatKey(0.0)));
        assert_eq!(float_key(&n(json!(9_007_199_254_740_993_i64))), None);
        assert_eq!(float_key(&n(json!(i64::MAX))), None);
    }

    #[test]
    fn create_field_is_idempotent_per_kind_and_rejects_another_kind() {
        let mut idx = PayloadIndexes::new();
        let p = json!({"a": "x"});
        idx.create_field("a", FieldIndexKind::Keyword, [(1, &p)])
            .unwrap();
        idx.create_field("a", FieldIndexKind::Keyword, []).unwrap();
        let err = idx
            .create_field("a", FieldIndexKind::Integer, [])
            .unwrap_err();
        assert!(matches!(err, Error::IndexKindConflict { .. }), "{err}");
        assert!(idx.create_field("", FieldIndexKind::Bool, []).is_err());
        assert!(idx.create_field("a..b", FieldIndexKind::Bool, []).is_err());
        assert_eq!(
            idx.fields(),
            vec![("a".to_owned(), FieldIndexKind::Keyword)]
        );
        assert!(idx.drop_field("a"));
        assert!(!idx.drop_field("a"));
    }

    #[test]
    fn insert_then_remove_leaves_no_trace() {
        let mut idx = PayloadIndexes::new();
        for (f, k) in [
            ("s", FieldIndexKind::Keyword),
            ("n", FieldIndexKind::Integer),
            ("f", FieldIndexKind::Float),
            ("b", FieldIndexKind::Bool),
        ] {
            idx.create_field(f, k, []).unwrap();
        }
        let empty = idx.clone();
        let p = json!({"s": ["a", 1, {"x": 1}], "n": [1, 2.5, "z"], "f": 1.5, "b": [true, false]});
        idx.insert(7, &p);
        assert_ne!(idx, empty);
        assert!(idx.memory_bytes() > empty.memory_bytes());
        idx.remove(7, &p);
        assert_eq!(idx, empty);
        let shapes = json!({"s": null, "n": [], "f": [null]});
        idx.insert(8, &shapes);
        assert_ne!(idx, empty);
        idx.remove(8, &shapes);
        assert_eq!(idx, empty);
    }

    #[test]
    fn array_paths_index_every_reached_value() {
        let mut idx = PayloadIndexes::new();
        let field = "country.cities[].population";
        idx.create_field(field, FieldIndexKind::Integer, [])
            .unwrap();
        idx.create_field("tags[]", FieldIndexKind::Keyword, [])
            .unwrap();
        let empty = idx.clone();
        let p = json!({"country": {"cities": [
            {"population": 5}, {"population": [6, "x"]}, {"population": null}, {"population": []}
        ]}, "tags": ["a", "b"]});
        idx.insert(3, &p);
        let pop = &idx.fields[field];
        assert!(pop.multi && !pop.stale);
        let Values::Integer(map) = &pop.values else {
            unreachable!("an integer index")
        };
        assert_eq!(map.keys().copied().collect::<Vec<_>>(), vec![5, 6]);
        assert!(pop.present.contains(3) && pop.nulls.contains(3) && pop.arrays.contains(3));
        assert!(pop.other.contains(3), "\"x\" has no integer key");
        assert!(!pop.empty.contains(3), "not every value is []");
        let Values::Keyword(tags) = &idx.fields["tags[]"].values else {
            unreachable!("a keyword index")
        };
        assert_eq!(tags.len(), 2);
        idx.remove(3, &p);
        assert_eq!(idx, empty);
        let hollow = json!({"country": {"cities": [{"population": []}, {"population": null}]}});
        idx.insert(4, &hollow);
        assert!(idx.fields[field].empty.contains(4));
        assert!(idx.create_field("a[x]", FieldIndexKind::Bool, []).is_err());
    }

    #[test]
    fn payload_indexes_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PayloadIndexes>();
    }

    #[test]
    fn kind_names_are_snake_case() {
        assert_eq!(
            serde_json::to_value(FieldIndexKind::Keyword).unwrap(),
            json!("keyword")
        );
        assert_eq!(FieldIndexKind::Bool.to_string(), "bool");
    }
}
