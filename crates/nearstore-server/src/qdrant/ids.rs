//! Qdrant point ids: unsigned integers and UUIDs, mapped onto the engine's `u64` ids.
//!
//! - An integer id `n` is stored as `n`; it must be below 2^63 (400 otherwise).
//! - A UUID (hyphenated, 32-hex "simple", braced or URN form, as the `uuid` crate parses)
//!   is stored as `(hi ^ lo) | 2^63`, where `hi` and `lo` are the upper and lower 64 bits
//!   of its 128-bit value, so UUID ids never collide with integer ids. The UUID string
//!   exactly as the client sent it is kept in the reserved payload key
//!   [`UUID_KEY`] (`"__nearstore_uuid"`), so every response returns the id in the form the
//!   client used. The key is hidden from returned payloads, and a client payload using it is
//!   refused. Two different UUIDs mapping to one stored id (a 63-bit collision) make the
//!   second upsert fail with 409 rather than overwrite the first.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The reserved payload key holding a UUID id's original string.
pub(crate) const UUID_KEY: &str = "__nearstore_uuid";

/// The high bit marking an id derived from a UUID.
const UUID_BIT: u64 = 1 << 63;

/// A point id as a Qdrant client sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExtId {
    /// An unsigned integer id (below 2^63).
    Num(u64),
    /// A UUID id, as the client wrote it.
    Uuid(String),
}

impl ExtId {
    /// Reads a JSON id.
    pub(crate) fn parse(v: &Value) -> Result<ExtId> {
        match v {
            Value::Number(n) => match n.as_u64() {
                Some(id) if id < UUID_BIT => Ok(ExtId::Num(id)),
                Some(id) => Err(Error::bad_request(format!(
                    "integer point ids must be below 2^63 (the upper half is reserved for UUID ids), got {id}"
                ))),
                None => Err(Error::bad_request(format!(
                    "a point id is an unsigned integer or a UUID string, got {n}"
                ))),
            },
            Value::String(s) => match Uuid::parse_str(s) {
                Ok(_) => Ok(ExtId::Uuid(s.clone())),
                Err(e) => Err(Error::bad_request(format!(
                    "point id {s:?} is not a valid UUID: {e}"
                ))),
            },
            other => Err(Error::bad_request(format!(
                "a point id is an unsigned integer or a UUID string, got {other}"
            ))),
        }
    }

    /// Reads a JSON list of ids as engine ids.
    pub(crate) fn internal_ids(v: &[Value]) -> Result<Vec<u64>> {
        v.iter()
            .map(|v| ExtId::parse(v).map(|id| id.internal()))
            .collect()
    }

    /// The engine id.
    pub(crate) fn internal(&self) -> u64 {
        match self {
            ExtId::Num(n) => *n,
            ExtId::Uuid(s) => uuid_to_u64(s),
        }
    }

    /// The id as JSON, in the client's form.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            ExtId::Num(n) => Value::from(*n),
            ExtId::Uuid(s) => Value::String(s.clone()),
        }
    }
}

/// The stored id of a UUID string (see the module docs); 0 for an unparsable string.
fn uuid_to_u64(s: &str) -> u64 {
    let value = Uuid::parse_str(s).map(|u| u.as_u128()).unwrap_or(0);
    let hi = (value >> 64) as u64;
    let lo = value as u64;
    (hi ^ lo) | UUID_BIT
}

/// The id a client should see for a stored point.
pub(crate) fn external_id(id: u64, payload: Option<&Value>) -> Value {
    match payload
        .and_then(|p| p.get(UUID_KEY))
        .and_then(Value::as_str)
    {
        Some(s) => Value::String(s.to_string()),
        None => Value::from(id),
    }
}

/// The payload to store for a point with id `id`: the client's payload (an object or
/// nothing) plus, for a UUID id, the reserved key.
pub(crate) fn stored_payload(id: &ExtId, payload: Option<Value>) -> Result<Option<Value>> {
    let mut map = match payload {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(other) => {
            return Err(Error::bad_request(format!(
                "a payload must be a JSON object, got {other}"
            )));
        }
    };
    if map.as_ref().is_some_and(|m| m.contains_key(UUID_KEY)) {
        return Err(Error::bad_request(format!(
            "payload key {UUID_KEY:?} is reserved"
        )));
    }
    if let ExtId::Uuid(s) = id {
        map.get_or_insert_with(Map::new)
            .insert(UUID_KEY.to_string(), Value::String(s.clone()));
    }
    Ok(map.map(Value::Object))
}

/// The payload a client should see: the reserved key removed (`{}` for none).
pub(crate) fn visible_payload(payload: Option<Value>) -> Value {
    match payload {
        Some(Value::Object(mut m)) => {
            m.remove(UUID_KEY);
            Value::Object(m)
        }
        Some(other) => other,
        None => Value::Object(Map::new()),
    }
}

/// The UUID string stored with a point, if it has one.
pub(crate) fn stored_uuid(payload: Option<&Value>) -> Option<&str> {
    payload
        .and_then(|p| p.get(UUID_KEY))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uuid_forms_map_to_one_id_and_keep_their_spelling() {
        let a = ExtId::parse(&json!("550e8400-e29b-41d4-a716-446655440000")).unwrap();
        let b = ExtId::parse(&json!("550e8400e29b41d4a716446655440000")).unwrap();
        assert_eq!(a.internal(), b.internal());
        assert!(a.internal() >= UUID_BIT);
        assert_eq!(b.to_json(), json!("550e8400e29b41d4a716446655440000"));
    }

    #[test]
    fn integer_ids_stay_below_the_uuid_half() {
        assert_eq!(ExtId::parse(&json!(7)).unwrap().internal(), 7);
        assert!(ExtId::parse(&json!(u64::MAX)).is_err());
        assert!(ExtId::parse(&json!(-1)).is_err());
        assert!(ExtId::parse(&json!("nope")).is_err());
        assert!(ExtId::parse(&json!(1.5)).is_err());
    }

    #[test]
    fn the_reserved_key_is_added_and_hidden() {
        let id = ExtId::Uuid("550e8400-e29b-41d4-a716-446655440000".into());
        let stored = stored_payload(&id, Some(json!({"a": 1}))).unwrap().unwrap();
        assert_eq!(
            external_id(id.internal(), Some(&stored)),
            json!("550e8400-e29b-41d4-a716-446655440000")
        );
        assert_eq!(visible_payload(Some(stored)), json!({"a": 1}));
        assert!(stored_payload(&ExtId::Num(1), Some(json!({UUID_KEY: "x"}))).is_err());
        assert!(stored_payload(&ExtId::Num(1), Some(json!([1]))).is_err());
    }
}
