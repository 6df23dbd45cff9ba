//! The body of a `vectors.wal` record: one write call (single or batch), applied atomically.
//!
//! Body: lsn u64, op count u32, then ops: `1` = put (id u64, slot u32, dim x f32 LE),
//! `2` = delete (id u64). The slot is recorded so replay is deterministic and idempotent.

use std::path::Path;

use crate::error::{Error, Result};
use crate::format::{Decoder, Encode};

const PUT: u8 = 1;
const DELETE: u8 = 2;

/// One logged operation, borrowing its vector bytes from the record.
#[derive(Debug, Clone, PartialEq)]
pub enum WalOp<'a> {
    /// Store `id` in `slot` with the given little-endian f32 bytes.
    Put {
        /// Point id.
        id: u64,
        /// Slot in the data file.
        slot: u32,
        /// `dim * 4` bytes.
        vector: &'a [u8],
    },
    /// Remove `id`.
    Delete {
        /// Point id.
        id: u64,
    },
}

/// Builds a record body.
#[derive(Debug)]
pub struct WalRecordBuilder {
    body: Vec<u8>,
    count: u32,
}

impl WalRecordBuilder {
    /// Starts a record with sequence number `lsn`.
    pub fn new(lsn: u64, capacity: usize) -> Self {
        let mut body = Vec::with_capacity(12 + capacity);
        body.put_u64(lsn);
        body.put_u32(0);
        WalRecordBuilder { body, count: 0 }
    }

    /// Adds a put.
    pub fn put(&mut self, id: u64, slot: u32, vector_le: &[u8]) {
        self.body.push(PUT);
        self.body.put_u64(id);
        self.body.put_u32(slot);
        self.body.extend_from_slice(vector_le);
        self.count += 1;
    }

    /// Adds a delete.
    pub fn delete(&mut self, id: u64) {
        self.body.push(DELETE);
        self.body.put_u64(id);
        self.count += 1;
    }

    /// The finished body.
    pub fn finish(mut self) -> Vec<u8> {
        self.body[8..12].copy_from_slice(&self.count.to_le_bytes());
        self.body
    }
}

/// Decodes a record body of a `dim`-dimensional store into (lsn, ops).
pub fn decode<'a>(
    body: &'a [u8],
    dim: usize,
    file: &'a Path,
    offset: u64,
) -> Result<(u64, Vec<WalOp<'a>>)> {
    let mut d = Decoder::new(body, file, offset);
    let lsn = d.u64()?;
    let count = d.u32()? as usize;
    // Each op is at least 9 bytes: bound the count by the body before allocating.
    if count > d.remaining() / 9 {
        return Err(d.error(format!("op count {count} does not fit the record")));
    }
    let mut ops = Vec::with_capacity(count);
    for _ in 0..count {
        let at = d.offset();
        match d.u8()? {
            PUT => {
                let id = d.u64()?;
                let slot = d.u32()?;
                let vector = d.take(dim * 4)?;
                ops.push(WalOp::Put { id, slot, vector });
            }
            DELETE => ops.push(WalOp::Delete { id: d.u64()? }),
            tag => {
                return Err(Error::corruption(
                    file,
                    at,
                    format!("unknown WAL op tag {tag}"),
                ));
            }
        }
    }
    d.finish()?;
    Ok((lsn, ops))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn record_round_trips() {
        let mut b = WalRecordBuilder::new(42, 64);
        b.put(7, 3, &[1, 2, 3, 4, 5, 6, 7, 8]);
        b.delete(9);
        let body = b.finish();
        let (lsn, ops) = decode(&body, 2, Path::new("w"), 0).unwrap();
        assert_eq!(lsn, 42);
        assert_eq!(
            ops,
            vec![
                WalOp::Put {
                    id: 7,
                    slot: 3,
                    vector: &[1, 2, 3, 4, 5, 6, 7, 8]
                },
                WalOp::Delete { id: 9 }
            ]
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300), dim in 0usize..8) {
            let _ = decode(&body, dim, Path::new("w"), 0);
        }
    }
}
