//! The operations a collection logs, and their byte encoding in the operation log.
//!
//! ```text
//! upsert: 1 u8 | count u32 | dim u32 | count x (id u64 | dim x f32 | payload_len u32 | JSON)
//!         (payload_len u32::MAX: no payload)
//! delete: 2 u8 | count u32 | count x id u64
//! ```
//! Integers are little-endian. Decoding bounds every count by the bytes that remain, so a
//! damaged record is an error, never a large allocation or a panic.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::point::Point;

const UPSERT: u8 = 1;
const DELETE: u8 = 2;
const NO_PAYLOAD: u32 = u32::MAX;

/// One logged operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// Points written (later duplicates win).
    Upsert(Vec<Point>),
    /// Points removed.
    Delete(Vec<u64>),
}

/// Encodes an upsert; `payloads` are the points' serialized payloads (already size-checked).
pub(crate) fn encode_upsert(points: &[Point], payloads: &[Option<Vec<u8>>], dim: usize) -> Vec<u8> {
    let payload_bytes: usize = payloads.iter().flatten().map(Vec::len).sum();
    let mut out = Vec::with_capacity(9 + points.len() * (12 + dim * 4) + payload_bytes);
    out.push(UPSERT);
    out.extend_from_slice(&(points.len() as u32).to_le_bytes());
    out.extend_from_slice(&(dim as u32).to_le_bytes());
    for (p, json) in points.iter().zip(payloads) {
        out.extend_from_slice(&p.id.to_le_bytes());
        for x in &p.vector {
            out.extend_from_slice(&x.to_le_bytes());
        }
        match json {
            Some(j) => {
                out.extend_from_slice(&(j.len() as u32).to_le_bytes());
                out.extend_from_slice(j);
            }
            None => out.extend_from_slice(&NO_PAYLOAD.to_le_bytes()),
        }
    }
    out
}

/// Encodes a delete.
pub(crate) fn encode_delete(ids: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + ids.len() * 8);
    out.push(DELETE);
    out.extend_from_slice(&(ids.len() as u32).to_le_bytes());
    for id in ids {
        out.extend_from_slice(&id.to_le_bytes());
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| bad(format!("record ends inside a field at byte {}", self.at)))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }
}

fn bad(reason: impl Into<String>) -> Error {
    Error::corruption("ops.log", reason)
}

/// Decodes an operation written by [`encode_upsert`] or [`encode_delete`], checking the
/// vectors' dimension against `dim`.
pub(crate) fn decode(bytes: &[u8], dim: usize) -> Result<Op> {
    let mut r = Reader { bytes, at: 0 };
    let op = match r.u8()? {
        UPSERT => {
            let count = r.u32()? as usize;
            let op_dim = r.u32()? as usize;
            if op_dim != dim {
                return Err(bad(format!(
                    "operation has {op_dim}-d vectors, collection {dim}"
                )));
            }
            let min_point = 12 + dim * 4;
            if count > r.remaining() / min_point {
                return Err(bad(format!("{count} points cannot fit in the record")));
            }
            let mut points = Vec::with_capacity(count);
            for _ in 0..count {
                let id = r.u64()?;
                let vector: Vec<f32> = r
                    .take(dim * 4)?
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                let len = r.u32()?;
                let payload = if len == NO_PAYLOAD {
                    None
                } else {
                    let json = r.take(len as usize)?;
                    Some(
                        serde_json::from_slice::<Value>(json)
                            .map_err(|e| bad(format!("payload of point {id}: {e}")))?,
                    )
                };
                points.push(Point::new(id, vector, payload));
            }
            Op::Upsert(points)
        }
        DELETE => {
            let count = r.u32()? as usize;
            if count > r.remaining() / 8 {
                return Err(bad(format!("{count} ids cannot fit in the record")));
            }
            let mut ids = Vec::with_capacity(count);
            for _ in 0..count {
                ids.push(r.u64()?);
            }
            Op::Delete(ids)
        }
        tag => return Err(bad(format!("unknown operation tag {tag}"))),
    };
    if r.remaining() != 0 {
        return Err(bad(format!(
            "{} trailing bytes after the operation",
            r.remaining()
        )));
    }
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn operations_round_trip() {
        let points = vec![
            Point::new(1, vec![1.0, 2.0], Some(json!({"a": [1, "x"]}))),
            Point::new(u64::MAX, vec![-0.5, 0.0], None),
        ];
        let payloads: Vec<Option<Vec<u8>>> = points
            .iter()
            .map(|p| p.payload.as_ref().map(|v| serde_json::to_vec(v).unwrap()))
            .collect();
        let bytes = encode_upsert(&points, &payloads, 2);
        assert_eq!(decode(&bytes, 2).unwrap(), Op::Upsert(points));
        assert!(decode(&bytes, 3).is_err());
        let bytes = encode_delete(&[3, 4]);
        assert_eq!(decode(&bytes, 2).unwrap(), Op::Delete(vec![3, 4]));
    }

    #[test]
    fn a_huge_count_is_an_error_not_an_allocation() {
        let mut bytes = vec![DELETE];
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&bytes, 2).is_err());
        let mut bytes = vec![UPSERT];
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        bytes.extend_from_slice(&2u32.to_le_bytes());
        assert!(decode(&bytes, 2).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes, 2);
        }

        #[test]
        fn truncated_or_flipped_encodings_never_panic(cut in 0usize..80, flip in 0usize..80) {
            let points = vec![Point::new(9, vec![1.0, 2.0], Some(json!({"k": "v"})))];
            let payloads = vec![Some(br#"{"k":"v"}"#.to_vec())];
            let mut bytes = encode_upsert(&points, &payloads, 2);
            if flip < bytes.len() {
                bytes[flip] ^= 0x40;
            }
            bytes.truncate(cut.min(bytes.len()));
            let _ = decode(&bytes, 2);
        }
    }
}
