//! The operations a collection logs, and their byte encoding in the operation log.
//!
//! ```text
//! upsert: 1 u8 | count u32 | dim u32 | count x (id u64 | dim x f32 | payload_len u32 | JSON)
//!         (payload_len u32::MAX: no payload)
//! delete: 2 u8 | count u32 | count x id u64
//! payloads: 3 u8 | count u32 | count x (id u64 | payload_len u32 | JSON)
//!         (payload_len u32::MAX: no payload)
//! upsert with sparse vectors:
//!         4 u8 | count u32 | dim u32 | count x (id u64 | dim x f32
//!           | sparse_count u32 | sparse_count x (name_len u32 | name UTF-8 | nnz u32
//!             | nnz x index u32 | nnz x value f32)
//!           | payload_len u32 | JSON)
//! upsert with named dense vectors:
//!         5 u8 | count u32 | dim u32 | count x (id u64 | dim x f32
//!           | dense_count u32 | dense_count x (name_len u32 | name UTF-8 | len u32 | len x f32)
//!           | sparse_count u32 | ... as in tag 4 ... | payload_len u32 | JSON)
//! upsert with points lacking the default vector:
//!         6 u8 | count u32 | dim u32 | count x (id u64 | len u32 (0 or dim) | len x f32
//!           | dense_count u32 | ... as in tag 5 ... | sparse_count u32 | ... as in tag 4 ...
//!           | payload_len u32 | JSON)
//! vectors of existing points set or removed (payload and other vectors untouched):
//!         7 u8 | count u32 | count x (id u64
//!           | dense_count u32 | dense_count x (name_len u32 | name UTF-8 | len u32 | len x f32)
//!           | sparse_count u32 | ... as in tag 4 ...
//!           | removed_count u32 | removed_count x (name_len u32 | name UTF-8))
//!         (the dense name "" is the default vector)
//! upsert where some point carries an expiry time:
//!         8 u8 | count u32 | count x expires_at u64 | an upsert of tag 1, 4, 5 or 6 of count
//!           points
//!         (expires_at: epoch milliseconds, u64::MAX: none; the i-th time is the i-th point's)
//! expiry times of existing points set or removed (nothing else about them changes):
//!         9 u8 | count u32 | count x (id u64 | expires_at u64 (u64::MAX: none))
//! a graph collection's edge write (add edges, remove an edge, remove a node's edges):
//!         10 u8 | the `nearstore_graph::GraphOp` bytes (`GraphOp::encode`)
//! ```
//! Deleting a node of a graph collection is a tag 2 delete: applying it removes the node's
//! edges too (one record, one apply), so no crash can leave an edge at a deleted node.
//! An upsert is written as tag 1 when no point carries a sparse or named vector (so its
//! bytes are what they were before either existed), as tag 4 when some carry sparse
//! vectors only, as tag 5 when some carry named dense vectors, and as tag 6 when some
//! lack the default vector (an empty `Point::vector`).
//! Integers are little-endian. Decoding bounds every count by the bytes that remain, so a
//! damaged record is an error, never a large allocation or a panic.
//!
//! A `payloads` operation is a partial payload write (`set_payload`, `delete_payload_keys`,
//! ...) logged as its *result*: each changed point's whole new payload, never its vector.
//! Replaying it needs no read of the payload it was computed from, so it replays exactly
//! and is idempotent like an upsert.
//!
//! Compatibility rule: tags are only ever added, never reused or re-laid-out. A log written
//! before tag 3 existed replays unchanged; a tag this build does not know (a log written by a
//! newer NearStore) is refused with a corruption error naming it, never skipped.

use std::collections::BTreeMap;

use nearstore_text::SparseVector;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::point::{Expiry, Point};

const UPSERT: u8 = 1;
const DELETE: u8 = 2;
const PAYLOADS: u8 = 3;
const UPSERT_SPARSE: u8 = 4;
const UPSERT_NAMED: u8 = 5;
const UPSERT_OPTIONAL: u8 = 6;
const VECTORS: u8 = 7;
const UPSERT_EXPIRING: u8 = 8;
const EXPIRY: u8 = 9;
const GRAPH: u8 = 10;
const NO_PAYLOAD: u32 = u32::MAX;
/// The `expires_at` of a point without an expiry time.
const NO_EXPIRY: u64 = u64::MAX;

/// One logged operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// Points written (later duplicates win).
    Upsert(Vec<Point>),
    /// Points removed.
    Delete(Vec<u64>),
    /// New whole payloads of existing points (`None`: no payload); vectors unchanged.
    Payloads(Vec<(u64, Option<Value>)>),
    /// Some vectors of existing points set or removed; the rest of each point unchanged.
    Vectors(Vec<VectorEdit>),
    /// Expiry times (epoch milliseconds, `None`: never) of existing points set or removed.
    Expiry(Vec<(u64, Option<u64>)>),
    /// An edge write of a graph collection.
    Graph(nearstore_graph::GraphOp),
}

/// Encodes a graph collection's edge write (tag 10).
pub(crate) fn encode_graph(op: &nearstore_graph::GraphOp) -> Vec<u8> {
    let body = op.encode();
    let mut out = Vec::with_capacity(1 + body.len());
    out.push(GRAPH);
    out.extend_from_slice(&body);
    out
}

/// One point's vector edit (operation tag 7).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct VectorEdit {
    pub id: u64,
    /// Dense vectors set, by name (`""`: the default vector).
    pub dense: BTreeMap<String, Vec<f32>>,
    /// Sparse vectors set, by name.
    pub sparse: BTreeMap<String, SparseVector>,
    /// Names whose vector (dense or sparse) the point loses.
    pub removed: Vec<String>,
}

fn push_name(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(&(name.len() as u32).to_le_bytes());
    out.extend_from_slice(name.as_bytes());
}

fn push_dense(out: &mut Vec<u8>, vectors: &BTreeMap<String, Vec<f32>>) {
    out.extend_from_slice(&(vectors.len() as u32).to_le_bytes());
    for (name, v) in vectors {
        push_name(out, name);
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        for x in v {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
}

fn push_sparse(out: &mut Vec<u8>, vectors: &BTreeMap<String, SparseVector>) {
    out.extend_from_slice(&(vectors.len() as u32).to_le_bytes());
    for (name, v) in vectors {
        push_name(out, name);
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        for i in v.indices() {
            out.extend_from_slice(&i.to_le_bytes());
        }
        for x in v.values() {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
}

/// Encodes vector edits (names and dimensions already checked by the caller).
pub(crate) fn encode_vectors(edits: &[VectorEdit]) -> Vec<u8> {
    let mut out = vec![VECTORS];
    out.extend_from_slice(&(edits.len() as u32).to_le_bytes());
    for e in edits {
        out.extend_from_slice(&e.id.to_le_bytes());
        push_dense(&mut out, &e.dense);
        push_sparse(&mut out, &e.sparse);
        out.extend_from_slice(&(e.removed.len() as u32).to_le_bytes());
        for name in &e.removed {
            push_name(&mut out, name);
        }
    }
    out
}

fn push_payload(out: &mut Vec<u8>, json: Option<&[u8]>) {
    match json {
        Some(j) => {
            out.extend_from_slice(&(j.len() as u32).to_le_bytes());
            out.extend_from_slice(j);
        }
        None => out.extend_from_slice(&NO_PAYLOAD.to_le_bytes()),
    }
}

/// Encodes an upsert; `payloads` are the points' serialized payloads (already size-checked).
/// Expiry times are logged as instants, a TTL counted from `now` (epoch milliseconds).
pub(crate) fn encode_upsert(
    points: &[Point],
    payloads: &[Option<Vec<u8>>],
    dim: usize,
    now: u64,
) -> Vec<u8> {
    if points.iter().all(|p| p.expiry.is_none()) {
        return encode_plain_upsert(points, payloads, dim);
    }
    let inner = encode_plain_upsert(points, payloads, dim);
    let mut out = Vec::with_capacity(5 + points.len() * 8 + inner.len());
    out.push(UPSERT_EXPIRING);
    out.extend_from_slice(&(points.len() as u32).to_le_bytes());
    for p in points {
        let at = p.expiry.and_then(|e| e.instant(now));
        out.extend_from_slice(&at.unwrap_or(NO_EXPIRY).to_le_bytes());
    }
    out.extend_from_slice(&inner);
    out
}

/// Encodes expiry-time changes (`None`: the point no longer expires).
pub(crate) fn encode_expiry(changes: &[(u64, Option<u64>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + changes.len() * 16);
    out.push(EXPIRY);
    out.extend_from_slice(&(changes.len() as u32).to_le_bytes());
    for (id, at) in changes {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&at.unwrap_or(NO_EXPIRY).to_le_bytes());
    }
    out
}

/// An upsert of tag 1, 4, 5 or 6 (the points' expiry times left out).
fn encode_plain_upsert(points: &[Point], payloads: &[Option<Vec<u8>>], dim: usize) -> Vec<u8> {
    let payload_bytes: usize = payloads.iter().flatten().map(Vec::len).sum();
    let optional = points.iter().any(|p| p.vector.is_empty());
    let named = optional || points.iter().any(|p| !p.vectors.is_empty());
    let sparse = named || points.iter().any(|p| !p.sparse.is_empty());
    let named_bytes: usize = points
        .iter()
        .flat_map(|p| &p.vectors)
        .map(|(name, v)| 8 + name.len() + 4 * v.len())
        .sum();
    let sparse_bytes: usize = points
        .iter()
        .flat_map(|p| &p.sparse)
        .map(|(name, v)| 8 + name.len() + 8 * v.len())
        .sum();
    let mut out = Vec::with_capacity(
        9 + points.len() * (20 + dim * 4) + payload_bytes + sparse_bytes + named_bytes,
    );
    out.push(if optional {
        UPSERT_OPTIONAL
    } else if named {
        UPSERT_NAMED
    } else if sparse {
        UPSERT_SPARSE
    } else {
        UPSERT
    });
    out.extend_from_slice(&(points.len() as u32).to_le_bytes());
    out.extend_from_slice(&(dim as u32).to_le_bytes());
    for (p, json) in points.iter().zip(payloads) {
        out.extend_from_slice(&p.id.to_le_bytes());
        if optional {
            out.extend_from_slice(&(p.vector.len() as u32).to_le_bytes());
        }
        for x in &p.vector {
            out.extend_from_slice(&x.to_le_bytes());
        }
        if named {
            push_dense(&mut out, &p.vectors);
        }
        if sparse {
            push_sparse(&mut out, &p.sparse);
        }
        push_payload(&mut out, json.as_deref());
    }
    out
}

/// Encodes a partial payload write: each point's new whole payload, serialized and
/// size-checked by the caller (`None`: no payload).
pub(crate) fn encode_payloads(changes: &[(u64, Option<Vec<u8>>)]) -> Vec<u8> {
    let payload_bytes: usize = changes
        .iter()
        .filter_map(|(_, j)| j.as_ref())
        .map(Vec::len)
        .sum();
    let mut out = Vec::with_capacity(5 + changes.len() * 12 + payload_bytes);
    out.push(PAYLOADS);
    out.extend_from_slice(&(changes.len() as u32).to_le_bytes());
    for (id, json) in changes {
        out.extend_from_slice(&id.to_le_bytes());
        push_payload(&mut out, json.as_deref());
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
    /// A payload written by `push_payload`.
    fn payload(&mut self, id: u64) -> Result<Option<Value>> {
        let len = self.u32()?;
        if len == NO_PAYLOAD {
            return Ok(None);
        }
        let json = self.take(len as usize)?;
        serde_json::from_slice::<Value>(json)
            .map(Some)
            .map_err(|e| bad(format!("payload of point {id}: {e}")))
    }
    /// `count` little-endian 4-byte words.
    fn words(&mut self, count: usize) -> Result<impl Iterator<Item = [u8; 4]> + 'a> {
        let bytes = self.take(
            count
                .checked_mul(4)
                .ok_or_else(|| bad("length overflows"))?,
        )?;
        Ok(bytes.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]))
    }
    /// A name written as `name_len u32 | UTF-8`.
    fn name(&mut self, id: u64) -> Result<String> {
        let len = self.u32()? as usize;
        Ok(std::str::from_utf8(self.take(len)?)
            .map_err(|_| bad(format!("point {id}: a vector name is not UTF-8")))?
            .to_owned())
    }
    /// The named dense vectors of one point (tag 5).
    fn named(&mut self, id: u64) -> Result<BTreeMap<String, Vec<f32>>> {
        let count = self.u32()? as usize;
        if count > self.remaining() / 8 {
            return Err(bad(format!("point {id}: {count} named vectors cannot fit")));
        }
        let mut out = BTreeMap::new();
        for _ in 0..count {
            let name = self.name(id)?;
            let len = self.u32()? as usize;
            if len > self.remaining() / 4 {
                return Err(bad(format!("point {id}: a {len}-d vector cannot fit")));
            }
            let v: Vec<f32> = self.words(len)?.map(f32::from_le_bytes).collect();
            if out.insert(name, v).is_some() {
                return Err(bad(format!("point {id}: a vector name repeats")));
            }
        }
        Ok(out)
    }
    /// The sparse vectors of one point (tag 4).
    fn sparse(&mut self, id: u64) -> Result<BTreeMap<String, SparseVector>> {
        let count = self.u32()? as usize;
        if count > self.remaining() / 8 {
            return Err(bad(format!(
                "point {id}: {count} sparse vectors cannot fit"
            )));
        }
        let mut out = BTreeMap::new();
        for _ in 0..count {
            let name = self.name(id)?;
            let nnz = self.u32()? as usize;
            if nnz > self.remaining() / 8 {
                return Err(bad(format!("point {id}: {nnz} sparse entries cannot fit")));
            }
            let indices: Vec<u32> = self.words(nnz)?.map(u32::from_le_bytes).collect();
            let values: Vec<f32> = self.words(nnz)?.map(f32::from_le_bytes).collect();
            let v = SparseVector::new(indices, values)
                .map_err(|e| bad(format!("point {id}: sparse vector {name:?}: {e}")))?;
            if out.insert(name, v).is_some() {
                return Err(bad(format!("point {id}: a sparse vector name repeats")));
            }
        }
        Ok(out)
    }
}

fn bad(reason: impl Into<String>) -> Error {
    Error::corruption("ops.log", reason)
}

/// Decodes an operation written by [`encode_upsert`] or [`encode_delete`], checking the
/// vectors' dimension against `dim`.
pub(crate) fn decode(bytes: &[u8], dim: usize) -> Result<Op> {
    match bytes.first() {
        Some(&UPSERT_EXPIRING) => decode_expiring_upsert(bytes, dim),
        Some(&EXPIRY) => decode_expiry(bytes),
        Some(&GRAPH) => nearstore_graph::GraphOp::decode(&bytes[1..])
            .map(Op::Graph)
            .map_err(|e| bad(format!("graph operation: {e}"))),
        _ => decode_plain(bytes, dim),
    }
}

/// `expires_at` as stored (u64::MAX: none).
fn stored_expiry(at: u64) -> Option<u64> {
    (at != NO_EXPIRY).then_some(at)
}

/// Tag 8: the expiry times, then a plain upsert of as many points.
fn decode_expiring_upsert(bytes: &[u8], dim: usize) -> Result<Op> {
    let mut r = Reader { bytes, at: 1 };
    let count = r.u32()? as usize;
    if count > r.remaining() / 8 {
        return Err(bad(format!(
            "{count} expiry times cannot fit in the record"
        )));
    }
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        times.push(stored_expiry(r.u64()?));
    }
    let inner = &bytes[r.at..];
    if matches!(inner.first(), Some(&UPSERT_EXPIRING | &EXPIRY)) {
        return Err(bad("an expiring upsert must hold a plain upsert"));
    }
    let Op::Upsert(mut points) = decode_plain(inner, dim)? else {
        return Err(bad("an expiring upsert must hold an upsert"));
    };
    if points.len() != count {
        return Err(bad(format!(
            "{count} expiry times for {} points",
            points.len()
        )));
    }
    for (p, at) in points.iter_mut().zip(times) {
        p.expiry = at.map(Expiry::At);
    }
    Ok(Op::Upsert(points))
}

/// Tag 9: expiry times of existing points.
fn decode_expiry(bytes: &[u8]) -> Result<Op> {
    let mut r = Reader { bytes, at: 1 };
    let count = r.u32()? as usize;
    if count > r.remaining() / 16 {
        return Err(bad(format!(
            "{count} expiry changes cannot fit in the record"
        )));
    }
    let mut changes = Vec::with_capacity(count);
    for _ in 0..count {
        let id = r.u64()?;
        changes.push((id, stored_expiry(r.u64()?)));
    }
    if r.remaining() != 0 {
        return Err(bad(format!(
            "{} trailing bytes after the operation",
            r.remaining()
        )));
    }
    Ok(Op::Expiry(changes))
}

/// Every tag but 8 and 9.
fn decode_plain(bytes: &[u8], dim: usize) -> Result<Op> {
    let mut r = Reader { bytes, at: 0 };
    let op = match r.u8()? {
        tag @ (UPSERT | UPSERT_SPARSE | UPSERT_NAMED | UPSERT_OPTIONAL) => {
            let count = r.u32()? as usize;
            let op_dim = r.u32()? as usize;
            if op_dim != dim {
                return Err(bad(format!(
                    "operation has {op_dim}-d vectors, collection {dim}"
                )));
            }
            let min_point = 12
                + match tag {
                    UPSERT => dim * 4,
                    UPSERT_SPARSE => dim * 4 + 4,
                    UPSERT_NAMED => dim * 4 + 8,
                    _ => 12,
                };
            if count > r.remaining() / min_point {
                return Err(bad(format!("{count} points cannot fit in the record")));
            }
            let mut points = Vec::with_capacity(count);
            for _ in 0..count {
                let id = r.u64()?;
                let len = if tag == UPSERT_OPTIONAL {
                    match r.u32()? as usize {
                        0 => 0,
                        n if n == dim => dim,
                        n => {
                            return Err(bad(format!(
                                "point {id} has a {n}-d vector, collection {dim}"
                            )));
                        }
                    }
                } else {
                    dim
                };
                let vector: Vec<f32> = r
                    .take(len * 4)?
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                let named = if tag == UPSERT_NAMED || tag == UPSERT_OPTIONAL {
                    r.named(id)?
                } else {
                    BTreeMap::new()
                };
                let sparse = if tag == UPSERT {
                    BTreeMap::new()
                } else {
                    r.sparse(id)?
                };
                let payload = r.payload(id)?;
                let mut point = Point::new(id, vector, payload);
                point.sparse = sparse;
                point.vectors = named;
                points.push(point);
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
        PAYLOADS => {
            let count = r.u32()? as usize;
            if count > r.remaining() / 12 {
                return Err(bad(format!("{count} payloads cannot fit in the record")));
            }
            let mut changes = Vec::with_capacity(count);
            for _ in 0..count {
                let id = r.u64()?;
                changes.push((id, r.payload(id)?));
            }
            Op::Payloads(changes)
        }
        VECTORS => {
            let count = r.u32()? as usize;
            if count > r.remaining() / 20 {
                return Err(bad(format!(
                    "{count} vector edits cannot fit in the record"
                )));
            }
            let mut edits = Vec::with_capacity(count);
            for _ in 0..count {
                let id = r.u64()?;
                let dense = r.named(id)?;
                if let Some(v) = dense.get("")
                    && v.len() != dim
                {
                    return Err(bad(format!(
                        "point {id}: a {}-d default vector, collection {dim}",
                        v.len()
                    )));
                }
                let sparse = r.sparse(id)?;
                let removed_count = r.u32()? as usize;
                if removed_count > r.remaining() / 4 {
                    return Err(bad(format!(
                        "point {id}: {removed_count} removed names cannot fit"
                    )));
                }
                let mut removed = Vec::with_capacity(removed_count);
                for _ in 0..removed_count {
                    removed.push(r.name(id)?);
                }
                edits.push(VectorEdit {
                    id,
                    dense,
                    sparse,
                    removed,
                });
            }
            Op::Vectors(edits)
        }
        tag => {
            return Err(bad(format!(
                "unknown operation tag {tag} (a log written by a newer NearStore?)"
            )));
        }
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
        let bytes = encode_upsert(&points, &payloads, 2, 0);
        assert_eq!(decode(&bytes, 2).unwrap(), Op::Upsert(points));
        assert!(decode(&bytes, 3).is_err());
        let bytes = encode_delete(&[3, 4]);
        assert_eq!(decode(&bytes, 2).unwrap(), Op::Delete(vec![3, 4]));
        let changes = vec![(7, Some(br#"{"k":[1,2]}"#.to_vec())), (u64::MAX, None)];
        let bytes = encode_payloads(&changes);
        assert_eq!(
            decode(&bytes, 2).unwrap(),
            Op::Payloads(vec![(7, Some(json!({"k": [1, 2]}))), (u64::MAX, None)])
        );
    }

    #[test]
    fn a_logged_upsert_and_delete_keep_their_bytes() {
        // The compatibility rule: tags 1 and 2 keep their layout, so old logs replay.
        let bytes = encode_delete(&[5]);
        assert_eq!(
            bytes,
            [[2u8, 1, 0, 0, 0].as_slice(), &5u64.to_le_bytes()].concat()
        );
        let points = vec![Point::new(1, vec![0.5], None)];
        let bytes = encode_upsert(&points, &[None], 1, 0);
        let mut want = vec![1u8, 1, 0, 0, 0, 1, 0, 0, 0];
        want.extend_from_slice(&1u64.to_le_bytes());
        want.extend_from_slice(&0.5f32.to_le_bytes());
        want.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(bytes, want);
    }

    #[test]
    fn an_upsert_with_sparse_vectors_round_trips_as_tag_4() {
        let sv = |i: Vec<u32>, v: Vec<f32>| SparseVector::new(i, v).unwrap();
        let points = vec![
            Point::new(1, vec![1.0, 2.0], Some(json!({"a": 1})))
                .with_sparse("", sv(vec![3, 9], vec![0.5, -1.0]))
                .with_sparse("splade", sv(vec![], vec![])),
            Point::new(2, vec![0.0, 0.0], None),
        ];
        let payloads = vec![Some(br#"{"a":1}"#.to_vec()), None];
        let bytes = encode_upsert(&points, &payloads, 2, 0);
        assert_eq!(bytes[0], UPSERT_SPARSE);
        assert_eq!(decode(&bytes, 2).unwrap(), Op::Upsert(points));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], 2).is_err(), "cut at {cut}");
        }
        // A non-finite value is refused, not indexed.
        let mut bad_bytes = bytes.clone();
        let minus_one = (-1.0f32).to_le_bytes();
        let at = bytes.windows(4).position(|w| w == minus_one).unwrap();
        bad_bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(decode(&bad_bytes, 2).is_err());
    }

    #[test]
    fn an_upsert_with_named_vectors_round_trips_as_tag_5() {
        let points = vec![
            Point::new(1, vec![1.0, 2.0], None)
                .with_vector("image", vec![0.5, 0.25, 1.0])
                .with_sparse("", SparseVector::new(vec![4], vec![2.0]).unwrap()),
            Point::new(2, vec![0.0, 0.0], Some(json!([1]))),
        ];
        let payloads = vec![None, Some(b"[1]".to_vec())];
        let bytes = encode_upsert(&points, &payloads, 2, 0);
        assert_eq!(bytes[0], UPSERT_NAMED);
        assert_eq!(decode(&bytes, 2).unwrap(), Op::Upsert(points));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], 2).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn an_upsert_with_points_lacking_the_default_vector_round_trips_as_tag_6() {
        let points = vec![
            Point::new(1, vec![], Some(json!({"a": 1}))).with_vector("image", vec![0.5]),
            Point::new(2, vec![1.0, 2.0], None),
            Point::new(3, vec![], None),
        ];
        let payloads = vec![Some(br#"{"a":1}"#.to_vec()), None, None];
        let bytes = encode_upsert(&points, &payloads, 2, 0);
        assert_eq!(bytes[0], UPSERT_OPTIONAL);
        assert_eq!(decode(&bytes, 2).unwrap(), Op::Upsert(points));
        assert!(decode(&bytes, 3).is_err());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], 2).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn vector_edits_round_trip_as_tag_7() {
        let edits = vec![
            VectorEdit {
                id: 4,
                dense: BTreeMap::from([
                    ("".to_owned(), vec![1.0, 2.0]),
                    ("img".to_owned(), vec![3.0]),
                ]),
                sparse: BTreeMap::from([(
                    "s".to_owned(),
                    SparseVector::new(vec![7], vec![0.5]).unwrap(),
                )]),
                removed: vec![],
            },
            VectorEdit {
                id: 5,
                removed: vec!["img".to_owned(), "".to_owned()],
                ..VectorEdit::default()
            },
        ];
        let bytes = encode_vectors(&edits);
        assert_eq!(bytes[0], VECTORS);
        assert_eq!(decode(&bytes, 2).unwrap(), Op::Vectors(edits));
        // The default vector's dimension is checked.
        assert!(decode(&bytes, 3).is_err());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], 2).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_graph_operation_round_trips_as_tag_10() {
        use nearstore_graph::{GraphEdge, GraphOp};
        let op = GraphOp::AddEdges(vec![
            GraphEdge::new(7, 1, 2, "KNOWS").with_properties(serde_json::json!({"w": 1})),
        ]);
        let bytes = encode_graph(&op);
        assert_eq!(bytes[0], 10);
        assert_eq!(decode(&bytes, 3).unwrap(), Op::Graph(op));
        let removal = GraphOp::RemoveEdge(7);
        assert_eq!(
            decode(&encode_graph(&removal), 3).unwrap(),
            Op::Graph(removal)
        );
        assert!(decode(&[10, 9], 3).is_err());
    }

    #[test]
    fn an_unknown_tag_is_refused_by_name() {
        let err = decode(&[11, 0, 0, 0, 0], 2).unwrap_err().to_string();
        assert!(err.contains("unknown operation tag 11"), "{err}");
    }

    #[test]
    fn an_upsert_with_expiry_times_round_trips_as_tag_8_around_the_plain_upsert() {
        let points = vec![
            Point::new(1, vec![1.0, 2.0], Some(json!({"a": 1}))).with_expires_at(1_700_000_000_123),
            Point::new(2, vec![], None).with_vector("img", vec![0.5]),
        ];
        let payloads = vec![Some(br#"{"a":1}"#.to_vec()), None];
        let bytes = encode_upsert(&points, &payloads, 2, 0);
        assert_eq!(bytes[0], UPSERT_EXPIRING);
        // The plain upsert follows the times unchanged.
        assert_eq!(
            &bytes[5 + 16..],
            encode_plain_upsert(&points, &payloads, 2).as_slice()
        );
        assert_eq!(decode(&bytes, 2).unwrap(), Op::Upsert(points.clone()));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], 2).is_err(), "cut at {cut}");
        }
        // Without any expiry, the bytes are what they always were.
        let plain = vec![Point::new(1, vec![1.0, 2.0], None)];
        assert_eq!(encode_upsert(&plain, &[None], 2, 0)[0], UPSERT);
        // A count that disagrees with the upsert's, or a nested tag 8, is an error.
        let mut wrong = bytes.clone();
        wrong[1] = 1;
        assert!(decode(&wrong, 2).is_err());
        let mut nested = vec![UPSERT_EXPIRING, 0, 0, 0, 0];
        nested.extend_from_slice(&bytes);
        assert!(decode(&nested, 2).is_err());
        let mut huge = vec![UPSERT_EXPIRING];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge, 2).is_err());
    }

    #[test]
    fn expiry_changes_round_trip_as_tag_9() {
        let changes = vec![(3, Some(42)), (u64::MAX, None)];
        let bytes = encode_expiry(&changes);
        assert_eq!(bytes[0], EXPIRY);
        assert_eq!(bytes.len(), 5 + 2 * 16);
        assert_eq!(decode(&bytes, 2).unwrap(), Op::Expiry(changes));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], 2).is_err(), "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode(&trailing, 2).is_err());
        let mut huge = vec![EXPIRY];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge, 2).is_err());
    }

    #[test]
    fn a_payload_op_with_a_bad_length_or_json_is_an_error() {
        let mut bytes = vec![PAYLOADS];
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&bytes, 2).is_err());
        let mut bytes = encode_payloads(&[(1, Some(b"{oops".to_vec()))]);
        assert!(decode(&bytes, 2).is_err());
        bytes.truncate(bytes.len() - 1);
        assert!(decode(&bytes, 2).is_err());
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
            let mut bytes = encode_upsert(&points, &payloads, 2, 0);
            if flip < bytes.len() {
                bytes[flip] ^= 0x40;
            }
            bytes.truncate(cut.min(bytes.len()));
            let _ = decode(&bytes, 2);
        }

        #[test]
        fn truncated_or_flipped_expiry_ops_never_panic(cut in 0usize..80, flip in 0usize..80) {
            let points = vec![Point::new(9, vec![1.0, 2.0], None).with_expires_at(77)];
            let mut bytes = encode_upsert(&points, &[None], 2, 0);
            bytes.extend_from_slice(&encode_expiry(&[(1, Some(5))]));
            if flip < bytes.len() {
                bytes[flip] ^= 0x40;
            }
            bytes.truncate(cut.min(bytes.len()));
            let _ = decode(&bytes, 2);
            let _ = decode(bytes.get(33..).unwrap_or(&[]), 2);
        }

        #[test]
        fn truncated_or_flipped_payload_ops_never_panic(cut in 0usize..60, flip in 0usize..60) {
            let mut bytes = encode_payloads(&[(3, Some(br#"{"a":1}"#.to_vec())), (4, None)]);
            if flip < bytes.len() {
                bytes[flip] ^= 0x40;
            }
            bytes.truncate(cut.min(bytes.len()));
            let _ = decode(&bytes, 2);
        }
    }
}
