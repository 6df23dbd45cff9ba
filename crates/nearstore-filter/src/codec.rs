//! Persistence of [`PayloadIndexes`]: [`PayloadIndexes::encode`] and
//! [`PayloadIndexes::decode`].
//!
//! Layout (all integers little-endian; the caller stores the bytes in a checksummed file):
//!
//! ```text
//! magic "NSPI" | version u16 (= 4; 1, 2 and 3 are still read) | field count u32
//! per field, sorted by name, names unique:
//!   name: len u32, UTF-8 bytes | kind u8 (0 keyword, 1 integer, 2 float, 3 bool,
//!     4 datetime: version 4 only)
//!   present bitmap | arrays bitmap | other bitmap
//!   (versions 2 to 4:) flags u8 | nulls bitmap | empty bitmap
//!     flags: bit 0 shape_known; bit 1 (versions 3 and 4) stale; other bits zero
//!   entry count u32
//!   per entry, keys strictly increasing, bitmap non-empty:
//!     keyword: len u32, UTF-8 bytes | integer: i64 | float: f64 bits u64 (not NaN, not -0.0)
//!     | bool: u8 (0 false, 1 true)
//!     | datetime: i64 microseconds since the Unix epoch (within years -9999..=9999)
//!     then the bitmap
//! bitmap: len u32, then that many bytes of RoaringTreemap's portable serialization
//! ```
//!
//! A version-1 file has no shape part: its indexes decode with `shape_known` false and
//! empty `nulls` / `empty` bitmaps (see the `index` module). Versions 1 and 2 read a name
//! like `a[].b` as a literal key, so a field whose name has a selector (`[`) decodes from
//! them as `stale` (to be rebuilt); version 3 has the same layout and reads selectors;
//! version 4 is version 3 plus the datetime kind (a new number, so a reader that predates
//! the kind refuses the file by its version instead of an unknown kind code).
//!
//! Decoding checks every length against the bytes left before allocating and rejects
//! trailing bytes, so any input yields `Ok` or [`Error::Corruption`], never a panic.

use std::collections::BTreeMap;

use roaring::RoaringTreemap;

use crate::datetime::Datetime;
use crate::error::{Error, Result};
use crate::idset::IdSet;
use crate::index::{
    FieldIndex, FieldIndexKind, FloatKey, PayloadIndexes, Values, check_field_path,
};

const MAGIC: &[u8; 4] = b"NSPI";
const VERSION: u16 = 4;
/// Version 4 without the datetime kind.
const VERSION_BEFORE_DATETIME: u16 = 3;
/// The layout of version 3, written when paths were read as plain dotted keys.
const VERSION_LITERAL_PATHS: u16 = 2;
/// The layout before explicit nulls and empty arrays were recorded.
const VERSION_WITHOUT_SHAPES: u16 = 1;
const FLAG_SHAPE_KNOWN: u8 = 1;
const FLAG_STALE: u8 = 2;

impl PayloadIndexes {
    /// The persistent form (layout in the `codec` module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        put_len(&mut out, self.fields.len());
        for (name, index) in &self.fields {
            put_bytes(&mut out, name.as_bytes());
            out.push(kind_code(index.kind()));
            put_bitmap(&mut out, &index.present);
            put_bitmap(&mut out, &index.arrays);
            put_bitmap(&mut out, &index.other);
            let stale = if index.stale { FLAG_STALE } else { 0 };
            let shape = if index.shape_known {
                FLAG_SHAPE_KNOWN
            } else {
                0
            };
            out.push(shape | stale);
            put_bitmap(&mut out, &index.nulls);
            put_bitmap(&mut out, &index.empty);
            match &index.values {
                Values::Keyword(map) => {
                    put_len(&mut out, map.len());
                    for (key, ids) in map {
                        put_bytes(&mut out, key.as_bytes());
                        put_bitmap(&mut out, &ids.bitmap());
                    }
                }
                Values::Integer(map) | Values::Datetime(map) => {
                    put_len(&mut out, map.len());
                    for (key, ids) in map {
                        out.extend_from_slice(&key.to_le_bytes());
                        put_bitmap(&mut out, &ids.bitmap());
                    }
                }
                Values::Float(map) => {
                    put_len(&mut out, map.len());
                    for (key, ids) in map {
                        out.extend_from_slice(&key.0.to_bits().to_le_bytes());
                        put_bitmap(&mut out, &ids.bitmap());
                    }
                }
                Values::Bool {
                    false_ids,
                    true_ids,
                } => {
                    let entries: Vec<(u8, &RoaringTreemap)> = [(0, false_ids), (1, true_ids)]
                        .into_iter()
                        .filter(|(_, ids)| !ids.is_empty())
                        .collect();
                    put_len(&mut out, entries.len());
                    for (key, ids) in entries {
                        out.push(key);
                        put_bitmap(&mut out, ids);
                    }
                }
            }
        }
        out
    }

    /// Reads [`encode`](Self::encode)'s output back; any other bytes give
    /// [`Error::Corruption`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4)? != MAGIC {
            return Err(corrupt("bad magic"));
        }
        let version = u16::from_le_bytes(r.array()?);
        if ![
            VERSION,
            VERSION_BEFORE_DATETIME,
            VERSION_LITERAL_PATHS,
            VERSION_WITHOUT_SHAPES,
        ]
        .contains(&version)
        {
            return Err(corrupt(format!("unsupported version {version}")));
        }
        let count = r.u32()?;
        let mut fields = BTreeMap::new();
        let mut previous: Option<String> = None;
        for _ in 0..count {
            let name = r.string()?;
            check_field_path(&name).map_err(|e| corrupt(e.to_string()))?;
            if previous.as_ref().is_some_and(|p| *p >= name) {
                return Err(corrupt("field names not strictly increasing"));
            }
            let mut index = r.field(version, &name)?;
            if version < VERSION_BEFORE_DATETIME && name.contains('[') {
                index.stale = true;
            }
            previous = Some(name.clone());
            fields.insert(name, index);
        }
        if r.pos != bytes.len() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(PayloadIndexes { fields })
    }
}

fn corrupt(message: impl Into<String>) -> Error {
    Error::Corruption(message.into())
}

fn kind_code(kind: FieldIndexKind) -> u8 {
    match kind {
        FieldIndexKind::Keyword => 0,
        FieldIndexKind::Integer => 1,
        FieldIndexKind::Float => 2,
        FieldIndexKind::Bool => 3,
        FieldIndexKind::Datetime => 4,
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Lengths above u32::MAX cannot occur for one index field (entry counts, key bytes,
    // bitmap bytes); saturate rather than wrap so decode fails loudly if they ever did.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn put_bitmap(out: &mut Vec<u8>, ids: &RoaringTreemap) {
    let mut buf = Vec::with_capacity(ids.serialized_size());
    if ids.serialize_into(&mut buf).is_err() {
        buf.clear(); // writing to a Vec cannot fail
    }
    put_bytes(out, &buf);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                corrupt(format!(
                    "truncated: {n} bytes wanted at offset {}",
                    self.pos
                ))
            })?;
        let out = self.bytes.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn len(&mut self) -> Result<usize> {
        usize::try_from(self.u32()?).map_err(|_| corrupt("length does not fit"))
    }

    fn string(&mut self) -> Result<String> {
        let len = self.len()?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| corrupt("string is not UTF-8"))
    }

    fn bitmap(&mut self) -> Result<RoaringTreemap> {
        let len = self.len()?;
        let mut bytes = self.take(len)?;
        let ids = RoaringTreemap::deserialize_from(&mut bytes)
            .map_err(|e| corrupt(format!("bad bitmap: {e}")))?;
        if !bytes.is_empty() {
            return Err(corrupt("bitmap shorter than its length"));
        }
        Ok(ids)
    }

    fn entry_bitmap(&mut self) -> Result<RoaringTreemap> {
        let ids = self.bitmap()?;
        if ids.is_empty() {
            return Err(corrupt("empty value bitmap"));
        }
        Ok(ids)
    }

    /// One value's ids (a non-empty bitmap in the file; `IdSet::from_bitmap` refuses an
    /// empty one).
    fn entry_ids(&mut self) -> Result<IdSet> {
        IdSet::from_bitmap(self.bitmap()?).ok_or_else(|| corrupt("empty value bitmap"))
    }

    fn field(&mut self, version: u16, name: &str) -> Result<FieldIndex> {
        let kind = match self.array::<1>()?[0] {
            0 => FieldIndexKind::Keyword,
            1 => FieldIndexKind::Integer,
            2 => FieldIndexKind::Float,
            3 => FieldIndexKind::Bool,
            4 if version >= VERSION => FieldIndexKind::Datetime,
            other => return Err(corrupt(format!("unknown index kind {other}"))),
        };
        let mut index = FieldIndex::new(kind, name);
        index.present = self.bitmap()?;
        index.arrays = self.bitmap()?;
        index.other = self.bitmap()?;
        if version >= VERSION_LITERAL_PATHS {
            let known = if version >= VERSION_BEFORE_DATETIME {
                FLAG_SHAPE_KNOWN | FLAG_STALE
            } else {
                FLAG_SHAPE_KNOWN
            };
            let flags = self.array::<1>()?[0];
            if flags & !known != 0 {
                return Err(corrupt(format!("bad field flags {flags:#04x}")));
            }
            index.shape_known = flags & FLAG_SHAPE_KNOWN != 0;
            index.stale = flags & FLAG_STALE != 0;
            index.nulls = self.bitmap()?;
            index.empty = self.bitmap()?;
        } else {
            index.shape_known = false;
        }
        let count = self.u32()?;
        match &mut index.values {
            Values::Keyword(map) => {
                for _ in 0..count {
                    let key = self.string()?;
                    if map.last_key_value().is_some_and(|(last, _)| *last >= key) {
                        return Err(corrupt("keys not strictly increasing"));
                    }
                    map.insert(key, self.entry_ids()?);
                }
            }
            Values::Integer(map) => {
                for _ in 0..count {
                    let key = i64::from_le_bytes(self.array()?);
                    if map.last_key_value().is_some_and(|(last, _)| *last >= key) {
                        return Err(corrupt("keys not strictly increasing"));
                    }
                    map.insert(key, self.entry_ids()?);
                }
            }
            Values::Datetime(map) => {
                for _ in 0..count {
                    let key = i64::from_le_bytes(self.array()?);
                    if Datetime::from_micros(key).is_none() {
                        return Err(corrupt("datetime key outside years -9999..=9999"));
                    }
                    if map.last_key_value().is_some_and(|(last, _)| *last >= key) {
                        return Err(corrupt("keys not strictly increasing"));
                    }
                    map.insert(key, self.entry_ids()?);
                }
            }
            Values::Float(map) => {
                for _ in 0..count {
                    let raw = f64::from_bits(u64::from_le_bytes(self.array()?));
                    let key = FloatKey::new(raw)
                        .filter(|k| k.0.to_bits() == raw.to_bits())
                        .ok_or_else(|| corrupt("float key is NaN or -0.0"))?;
                    if map.last_key_value().is_some_and(|(last, _)| *last >= key) {
                        return Err(corrupt("keys not strictly increasing"));
                    }
                    map.insert(key, self.entry_ids()?);
                }
            }
            Values::Bool {
                false_ids,
                true_ids,
            } => {
                let mut last: Option<u8> = None;
                for _ in 0..count {
                    let key = self.array::<1>()?[0];
                    if key > 1 || last.is_some_and(|l| l >= key) {
                        return Err(corrupt("bad bool key"));
                    }
                    last = Some(key);
                    let ids = self.entry_bitmap()?;
                    if key == 1 {
                        *true_ids = ids;
                    } else {
                        *false_ids = ids;
                    }
                }
            }
        }
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> PayloadIndexes {
        let mut idx = PayloadIndexes::new();
        for (f, k) in [
            ("s", FieldIndexKind::Keyword),
            ("n", FieldIndexKind::Integer),
            ("f", FieldIndexKind::Float),
            ("b", FieldIndexKind::Bool),
            ("o[].n", FieldIndexKind::Integer),
        ] {
            idx.create_field(f, k, []).unwrap();
        }
        idx.insert(
            1,
            &json!({"s": ["a", "b"], "n": 3, "f": -0.0, "b": true, "o": [{"n": 4}]}),
        );
        idx.insert(2, &json!({"s": null, "n": []}));
        idx.insert(
            u64::MAX,
            &json!({"s": "z", "n": [1, 2.5], "f": 1e300, "b": [false, 1]}),
        );
        idx
    }

    #[test]
    fn encode_decode_round_trips() {
        let idx = sample();
        let bytes = idx.encode();
        assert_eq!(PayloadIndexes::decode(&bytes).unwrap(), idx);
        let empty = PayloadIndexes::new();
        assert_eq!(PayloadIndexes::decode(&empty.encode()).unwrap(), empty);
    }

    #[test]
    fn decode_rejects_bad_magic_version_and_trailing_bytes() {
        let bytes = sample().encode();
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(matches!(
            PayloadIndexes::decode(&bad),
            Err(Error::Corruption(_))
        ));
        let mut bad = bytes.clone();
        bad[4] = 9;
        assert!(PayloadIndexes::decode(&bad).is_err());
        let mut bad = bytes.clone();
        bad.push(0);
        assert!(PayloadIndexes::decode(&bad).is_err());
        assert!(PayloadIndexes::decode(&[]).is_err());
    }

    #[test]
    fn version_1_decodes_with_unknown_shapes() {
        let mut idx = PayloadIndexes::new();
        idx.create_field("k", FieldIndexKind::Keyword, []).unwrap();
        idx.insert(1, &json!({"k": "a"}));
        // Version 1: the same layout without the shape part.
        let mut v1 = Vec::new();
        v1.extend_from_slice(MAGIC);
        v1.extend_from_slice(&VERSION_WITHOUT_SHAPES.to_le_bytes());
        put_len(&mut v1, 1);
        put_bytes(&mut v1, b"k");
        v1.push(0);
        let field = &idx.fields["k"];
        put_bitmap(&mut v1, &field.present);
        put_bitmap(&mut v1, &field.arrays);
        put_bitmap(&mut v1, &field.other);
        put_len(&mut v1, 1);
        put_bytes(&mut v1, b"a");
        put_bitmap(&mut v1, &[1u64].into_iter().collect());
        let decoded = PayloadIndexes::decode(&v1).unwrap();
        assert!(!decoded.fields["k"].shape_known);
        // Re-encoded as the current version, the unknown shapes stay unknown.
        let again = PayloadIndexes::decode(&decoded.encode()).unwrap();
        assert_eq!(again, decoded);
    }

    #[test]
    fn version_2_fields_with_selectors_decode_stale() {
        let idx = sample();
        let mut v2 = idx.encode();
        v2[4..6].copy_from_slice(&VERSION_LITERAL_PATHS.to_le_bytes());
        let decoded = PayloadIndexes::decode(&v2).unwrap();
        assert_eq!(decoded.stale_fields(), vec!["o[].n".to_owned()]);
        assert!(idx.stale_fields().is_empty());
        // Staleness survives a re-encode; the field answers as unindexed.
        let again = PayloadIndexes::decode(&decoded.encode()).unwrap();
        assert_eq!(again.stale_fields(), vec!["o[].n".to_owned()]);
        let universe = [1u64, 2].into_iter().collect();
        let c = again.resolve(&crate::Filter::eq("o[].n", json!(4)), &universe);
        assert!(!c.exact);
        assert_eq!(c.ids.len(), 2);
        // A version-2 file cannot carry the stale flag.
        let mut bad = idx.encode();
        bad[4..6].copy_from_slice(&VERSION_LITERAL_PATHS.to_le_bytes());
        let mut stale = again.encode();
        stale[4..6].copy_from_slice(&VERSION_LITERAL_PATHS.to_le_bytes());
        assert!(PayloadIndexes::decode(&stale).is_err());
        assert!(PayloadIndexes::decode(&bad).is_ok());
    }

    fn with_datetime() -> PayloadIndexes {
        let mut idx = sample();
        idx.create_field("t", FieldIndexKind::Datetime, []).unwrap();
        idx.create_field("ts[]", FieldIndexKind::Datetime, [])
            .unwrap();
        idx.insert(
            5,
            &json!({"t": "2024-03-01T12:30:00+01:00", "ts": ["2024-03-01", "nope", 7]}),
        );
        idx.insert(6, &json!({"t": "0044-03-15T12:00:00Z", "ts": []}));
        idx.insert(7, &json!({"t": ["2024-03-01T11:30:00Z", null]}));
        idx
    }

    #[test]
    fn datetime_indexes_round_trip_in_version_4_only() {
        let idx = with_datetime();
        let bytes = idx.encode();
        let decoded = PayloadIndexes::decode(&bytes).unwrap();
        assert_eq!(decoded, idx);
        assert_eq!(decoded.field_kind("t"), Some(FieldIndexKind::Datetime));
        let Values::Datetime(map) = &decoded.fields["t"].values else {
            unreachable!("a datetime index")
        };
        assert_eq!(map.len(), 2, "two strings name one instant");
        assert!(decoded.fields["ts[]"].other.contains(5));
        for len in 0..bytes.len() {
            assert!(PayloadIndexes::decode(&bytes[..len]).is_err(), "len {len}");
        }
        // A version-3 file cannot hold the datetime kind.
        let mut v3 = bytes.clone();
        v3[4..6].copy_from_slice(&VERSION_BEFORE_DATETIME.to_le_bytes());
        assert!(matches!(
            PayloadIndexes::decode(&v3),
            Err(Error::Corruption(m)) if m.contains("unknown index kind 4")
        ));
        // A version-3 file without it still reads.
        let mut old = sample().encode();
        old[4..6].copy_from_slice(&VERSION_BEFORE_DATETIME.to_le_bytes());
        assert_eq!(PayloadIndexes::decode(&old).unwrap(), sample());
    }

    #[test]
    fn decode_rejects_a_datetime_key_out_of_range() {
        let mut idx = PayloadIndexes::new();
        idx.create_field("t", FieldIndexKind::Datetime, []).unwrap();
        idx.insert(1, &json!({"t": "2024-03-01"}));
        let bytes = idx.encode();
        let key = Datetime::parse("2024-03-01")
            .unwrap()
            .micros()
            .to_le_bytes();
        let at = bytes
            .windows(8)
            .position(|w| w == key)
            .expect("the key is in the bytes");
        let mut bad = bytes.clone();
        bad[at..at + 8].copy_from_slice(&i64::MAX.to_le_bytes());
        assert!(matches!(
            PayloadIndexes::decode(&bad),
            Err(Error::Corruption(m)) if m.contains("datetime key")
        ));
    }

    #[test]
    fn decode_rejects_every_truncation() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            assert!(PayloadIndexes::decode(&bytes[..len]).is_err(), "len {len}");
        }
    }

    #[test]
    fn decode_does_not_trust_a_huge_count() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(PayloadIndexes::decode(&bytes).is_err());
    }
}
