//! Byte forms: the store's checksummed image ([`GraphStore::encode`] /
//! [`GraphStore::decode`]) and one logged operation ([`GraphOp::encode`] /
//! [`GraphOp::decode`]). Reading uses the storage crate's bounded [`Decoder`]; every length
//! is checked against the bytes left before anything is allocated, and any input gives `Ok`
//! or [`Error::Corruption`] naming the part and byte offset, never a panic.
//!
//! Image layout (integers little-endian):
//!
//! ```text
//! magic "NSGRAPH1" | version u32 (= 1) | body length u64 | crc32c(body) u32 | body
//! body:
//!   applied_seq u64
//!   label count u32, per label: string (non-blank, unique; first-seen order)
//!   edge count u64, per edge: id u64 | source u64 | target u64 | label u32 (< label count)
//!                             | properties: string holding a JSON object
//!   edge property indexes: bytes | node property indexes: bytes   (nearstore-filter's form)
//! string / bytes: len u32, then that many bytes
//! ```
//!
//! The CSR arrays are not stored: they are a function of the edge list, and checking stored
//! arrays against it would cost as much as rebuilding them (one counting sort, O(edges)).
//!
//! Operation layout: tag u8 (1 add edges, 2 remove edge, 3 remove node), then for 1: count
//! u32 and per edge id, source, target u64, label string, properties string; for 2 and 3:
//! the id u64; no trailing bytes.

use std::path::Path;

use nearstore_filter::PayloadIndexes;
use nearstore_storage::format::{Decoder, Encode, crc32c_parts};
use serde_json::Value;

use crate::AnyNode;
use crate::edge::GraphEdge;
use crate::error::{Error, Result};
use crate::store::{GraphOp, GraphStore};

const MAGIC: &[u8; 8] = b"NSGRAPH1";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 8 + 4;
/// Smallest encoded edge: four integers and an empty properties string.
const MIN_EDGE_LEN: usize = 8 * 3 + 4 + 4;
const MIN_OP_EDGE_LEN: usize = 8 * 3 + 4 + 4;

const TAG_ADD: u8 = 1;
const TAG_REMOVE_EDGE: u8 = 2;
const TAG_REMOVE_NODE: u8 = 3;

fn pseudo_path() -> &'static Path {
    Path::new("graph image")
}

/// Converts a storage decoding error into this crate's, naming the part being read.
fn part<T>(what: &str, result: nearstore_storage::Result<T>) -> Result<T> {
    result.map_err(|e| match e {
        nearstore_storage::Error::Corruption { offset, reason, .. } => Error::Corruption {
            what: what.to_owned(),
            offset,
            reason,
        },
        other => Error::Corruption {
            what: what.to_owned(),
            offset: 0,
            reason: other.to_string(),
        },
    })
}

fn corrupt(what: &str, offset: u64, reason: impl Into<String>) -> Error {
    Error::Corruption {
        what: what.to_owned(),
        offset,
        reason: reason.into(),
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Lengths fit u32: labels and properties are far below 4 GiB (checked on input by the
    // engine's payload size limit); a longer one would fail to decode, not corrupt others.
    out.put_u32(bytes.len() as u32);
    out.extend_from_slice(bytes);
}

fn take_bytes<'a>(d: &mut Decoder<'a>, what: &str) -> Result<&'a [u8]> {
    let len = part(what, d.u32())? as usize;
    part(what, d.take(len))
}

fn take_string(d: &mut Decoder<'_>, what: &str) -> Result<String> {
    let at = d.offset();
    let bytes = take_bytes(d, what)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| corrupt(what, at, "string is not UTF-8"))
}

fn take_properties(d: &mut Decoder<'_>, what: &str) -> Result<Value> {
    let at = d.offset();
    let bytes = take_bytes(d, what)?;
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(corrupt(what, at, "properties are not a JSON object")),
        Err(e) => Err(corrupt(what, at, format!("properties are not JSON: {e}"))),
    }
}

/// An edge's properties as length-prefixed JSON, written in place (no buffer per edge;
/// most edges have none, written as `{}` without the serializer).
fn put_edge_body(out: &mut Vec<u8>, properties: &Value) {
    if properties
        .as_object()
        .is_some_and(serde_json::Map::is_empty)
    {
        put_bytes(out, b"{}");
        return;
    }
    let at = out.len();
    out.put_u32(0);
    // Serializing a `Value` into a `Vec` cannot fail (string keys, no I/O); should it, the
    // edge keeps no properties rather than a partial object.
    if serde_json::to_writer(&mut *out, properties).is_err() {
        out.truncate(at + 4);
        out.extend_from_slice(b"{}");
    }
    // Lengths fit u32, as in `put_bytes`.
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

impl GraphStore {
    /// The store's checksummed image (layout in the module docs). The engine writes it
    /// through the storage crate at a checkpoint, with [`applied_seq`](Self::applied_seq)
    /// telling which logged operations it covers.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(64 + self.edges.len() * 40);
        body.put_u64(self.applied_seq);
        body.put_u32(self.labels.len() as u32);
        for name in self.labels.names() {
            put_bytes(&mut body, name.as_bytes());
        }
        body.put_u64(self.edge_count() as u64);
        for (record, _) in self.edges.iter().zip(&self.live).filter(|(_, l)| **l) {
            body.put_u64(record.id);
            body.put_u64(self.nodes.id(record.source));
            body.put_u64(self.nodes.id(record.target));
            body.put_u32(record.label);
            put_edge_body(&mut body, record.properties());
        }
        put_bytes(&mut body, &self.edge_indexes.encode());
        put_bytes(&mut body, &self.node_indexes.encode());
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(MAGIC);
        out.put_u32(VERSION);
        out.put_u64(body.len() as u64);
        out.put_u32(crc32c_parts(&[&body]));
        out.extend_from_slice(&body);
        out
    }

    /// Reads [`encode`](Self::encode)'s output back (total: any other bytes are
    /// [`Error::Corruption`]). The result is merged (empty write delta).
    pub fn decode(bytes: &[u8]) -> Result<GraphStore> {
        let mut d = Decoder::new(bytes, pseudo_path(), 0);
        part("header", d.magic(MAGIC))?;
        let version = part("header", d.u32())?;
        if version != VERSION {
            return Err(corrupt(
                "header",
                8,
                format!("unsupported version {version}"),
            ));
        }
        let body_len = part("header", d.u64())?;
        let crc = part("header", d.u32())?;
        if body_len != d.remaining() as u64 {
            return Err(corrupt(
                "header",
                12,
                format!("body length {body_len} but {} bytes follow", d.remaining()),
            ));
        }
        let body = d.rest();
        if crc32c_parts(&[body]) != crc {
            return Err(corrupt("body", HEADER_LEN as u64, "checksum mismatch"));
        }
        let mut d = Decoder::new(body, pseudo_path(), HEADER_LEN as u64);
        let mut store = GraphStore::new();
        store.applied_seq = part("header", d.u64())?;

        let at = d.offset();
        let label_count = part("labels", d.u32())? as usize;
        if label_count > d.remaining() / 4 {
            return Err(corrupt(
                "labels",
                at,
                format!("{label_count} labels cannot fit"),
            ));
        }
        for i in 0..label_count {
            let what = format!("label {i}");
            let at = d.offset();
            let name = take_string(&mut d, &what)?;
            if name.trim().is_empty() {
                return Err(corrupt(&what, at, "blank label"));
            }
            if store.labels.get(&name).is_some() {
                return Err(corrupt(&what, at, format!("duplicate label {name:?}")));
            }
            store.labels.intern(&name)?;
        }

        let at = d.offset();
        let edge_count = part("edges", d.u64())?;
        if edge_count > (d.remaining() / MIN_EDGE_LEN) as u64 {
            return Err(corrupt(
                "edges",
                at,
                format!("{edge_count} edges cannot fit"),
            ));
        }
        let mut edges = Vec::with_capacity(edge_count as usize);
        for i in 0..edge_count {
            let what = format!("edge {i}");
            let at = d.offset();
            let id = part(&what, d.u64())?;
            let source = part(&what, d.u64())?;
            let target = part(&what, d.u64())?;
            let label = part(&what, d.u32())?;
            if label as usize >= label_count {
                return Err(corrupt(
                    &what,
                    at,
                    format!("label number {label} out of range"),
                ));
            }
            let properties = take_properties(&mut d, &what)?;
            let label = store.labels.name(label).to_owned();
            edges.push(GraphEdge {
                id,
                source,
                target,
                label,
                properties,
            });
        }
        let at = d.offset();
        let prepared = store
            .prepare_edges(edges, &AnyNode)
            .map_err(|e| corrupt("edges", at, e.to_string()))?;
        store.insert_prepared(prepared)?;
        store.merge();

        let at = d.offset();
        let edge_indexes = PayloadIndexes::decode(take_bytes(&mut d, "edge indexes")?)
            .map_err(|e| corrupt("edge indexes", at, e.to_string()))?;
        let at = d.offset();
        let node_indexes = PayloadIndexes::decode(take_bytes(&mut d, "node indexes")?)
            .map_err(|e| corrupt("node indexes", at, e.to_string()))?;
        part("trailer", d.finish())?;
        store.edge_indexes = edge_indexes;
        store.node_indexes = node_indexes;
        Ok(store)
    }
}

impl GraphOp {
    /// The operation's bytes for the operation log (layout in the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            GraphOp::AddEdges(edges) => {
                out.push(TAG_ADD);
                out.put_u32(edges.len() as u32);
                for e in edges {
                    out.put_u64(e.id);
                    out.put_u64(e.source);
                    out.put_u64(e.target);
                    put_bytes(&mut out, e.label.as_bytes());
                    put_edge_body(&mut out, &e.properties);
                }
            }
            GraphOp::RemoveEdge(id) => {
                out.push(TAG_REMOVE_EDGE);
                out.put_u64(*id);
            }
            GraphOp::RemoveNode(id) => {
                out.push(TAG_REMOVE_NODE);
                out.put_u64(*id);
            }
        }
        out
    }

    /// Reads [`encode`](Self::encode)'s output back; other bytes are [`Error::Corruption`].
    pub fn decode(bytes: &[u8]) -> Result<GraphOp> {
        let mut d = Decoder::new(bytes, Path::new("graph operation"), 0);
        let op = match part("operation tag", d.u8())? {
            TAG_ADD => {
                let at = d.offset();
                let count = part("edge count", d.u32())? as usize;
                if count > d.remaining() / MIN_OP_EDGE_LEN {
                    return Err(corrupt(
                        "edge count",
                        at,
                        format!("{count} edges cannot fit"),
                    ));
                }
                let mut edges = Vec::with_capacity(count);
                for i in 0..count {
                    let what = format!("edge {i}");
                    let id = part(&what, d.u64())?;
                    let source = part(&what, d.u64())?;
                    let target = part(&what, d.u64())?;
                    let label = take_string(&mut d, &what)?;
                    let properties = take_properties(&mut d, &what)?;
                    edges.push(GraphEdge {
                        id,
                        source,
                        target,
                        label,
                        properties,
                    });
                }
                GraphOp::AddEdges(edges)
            }
            TAG_REMOVE_EDGE => GraphOp::RemoveEdge(part("edge id", d.u64())?),
            TAG_REMOVE_NODE => GraphOp::RemoveNode(part("node id", d.u64())?),
            other => return Err(corrupt("operation tag", 0, format!("unknown tag {other}"))),
        };
        part("trailer", d.finish())?;
        Ok(op)
    }
}
