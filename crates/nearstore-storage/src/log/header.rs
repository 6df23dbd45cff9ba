//! A record log's header and its durable-length slots: where the records start and how much
//! of the log a completed fsync is known to have made durable.
//!
//! A version 2 log has, after its 32-byte header, two 32-byte slots, each
//! `[magic "NSDL"][counter u64][durable length u64][zero u64][crc32c of bytes 0..28]`. The
//! valid slot with the larger counter is the log's *durable claim*: its first `durable length`
//! bytes were made durable by a completed fsync. Invariants that keep the claim true after any
//! crash (the writer's side lives in [`super::RecordLog`]):
//! - a slot is written only *after* the fsync that made its length durable returned, so a
//!   claim never runs ahead of the data (it lags until the next fsync makes the slot durable
//!   too; power loss before then keeps the older claim, which is still true);
//! - a write goes to the slot that does not hold the current claim, so a torn slot write
//!   leaves the other, older and still true, claim readable; two slots are never in flight at
//!   once (an fsync separates any two slot writes);
//! - a claim is lowered (before the log is cut below it) by a slot write followed by an fsync,
//!   before the cut.
//!
//! Both slots damaged cannot come from a crash, so it is `Error::Corruption`. A version 1 log
//! has no slots: its claim is its header (nothing beyond is known durable).

use crate::backend::StorageFile;
use crate::error::{Error, Result};
use crate::format::{
    DURABLE_SLOT_LEN, DURABLE_SLOT_MAGIC, Decoder, FORMAT_VERSION, LOG_FORMAT_VERSION,
    LOG_HEADER_LEN, LOG_V2_RECORDS_START,
};

/// Where a log's records start and what its header says is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLayout {
    /// The header's format version (1 or 2).
    pub version: u32,
    /// The header's parameter (the WAL's dimension; 0 for the other logs).
    pub param: u64,
    /// Offset of the first record.
    pub records_start: u64,
    /// Length of the log known durable (the newest valid slot's); `records_start` for a
    /// version 1 log.
    pub durable_len: u64,
    /// The newest valid slot: its index (0 or 1) and counter (`None` for version 1).
    pub(crate) newest_slot: Option<(usize, u64)>,
    /// Offset of a slot that does not read back (a torn slot write, which a crash may leave,
    /// or damage: the two cannot be told apart), if any. The other slot's claim is used.
    pub unreadable_slot: Option<u64>,
}

/// Encodes the header of a new log whose first `durable_len` bytes will be durable once the
/// file is synced (the header alone for a new empty log), with both slots valid.
pub fn encode_header_with(magic: &[u8; 8], param: u64, durable_len: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(LOG_V2_RECORDS_START as usize);
    out.extend_from_slice(magic);
    out.extend_from_slice(&LOG_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&param.to_le_bytes());
    out.extend_from_slice(&[0u8; 8]);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&encode_slot(0, durable_len));
    out.extend_from_slice(&encode_slot(1, durable_len));
    out
}

/// Encodes one durable-length slot.
pub fn encode_slot(counter: u64, durable_len: u64) -> [u8; DURABLE_SLOT_LEN as usize] {
    let mut out = [0u8; DURABLE_SLOT_LEN as usize];
    out[..4].copy_from_slice(&DURABLE_SLOT_MAGIC);
    out[4..12].copy_from_slice(&counter.to_le_bytes());
    out[12..20].copy_from_slice(&durable_len.to_le_bytes());
    let crc = crc32c::crc32c(&out[..28]);
    out[28..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Offset of slot `index` (0 or 1).
pub fn slot_offset(index: usize) -> u64 {
    LOG_HEADER_LEN + index as u64 * DURABLE_SLOT_LEN
}

/// (counter, durable length) of a slot, or `None` when it is not valid (torn or damaged).
fn decode_slot(bytes: &[u8]) -> Option<(u64, u64)> {
    let field = |range: std::ops::Range<usize>| bytes.get(range).map(<[u8]>::to_vec);
    if field(0..4)? != DURABLE_SLOT_MAGIC {
        return None;
    }
    let crc = u32::from_le_bytes(field(28..32)?.try_into().ok()?);
    if crc32c::crc32c(bytes.get(..28)?) != crc {
        return None;
    }
    let counter = u64::from_le_bytes(field(4..12)?.try_into().ok()?);
    let len = u64::from_le_bytes(field(12..20)?.try_into().ok()?);
    Some((counter, len))
}

/// Reads and checks a log's header (and, for version 2, its slots). With `magic`, the magic
/// is checked too.
pub fn read_layout(file: &dyn StorageFile, magic: Option<&[u8; 8]>) -> Result<LogLayout> {
    let len = file.len()?;
    if len < LOG_HEADER_LEN {
        return Err(Error::corruption(
            file.path(),
            0,
            format!("file is {len} bytes, shorter than its {LOG_HEADER_LEN}-byte header"),
        ));
    }
    let mut buf = [0u8; LOG_V2_RECORDS_START as usize];
    let head_len = len.min(LOG_V2_RECORDS_START) as usize;
    file.read_exact_at(&mut buf[..head_len], 0)?;
    let mut d = Decoder::new(&buf[..LOG_HEADER_LEN as usize], file.path(), 0);
    match magic {
        Some(m) => d.magic(m)?,
        None => {
            d.take(8)?;
        }
    }
    let version = d.version_in(&[FORMAT_VERSION, LOG_FORMAT_VERSION])?;
    let param = d.u64()?;
    d.take(8)?;
    let stored = d.u32()?;
    if stored != crc32c::crc32c(&buf[..28]) {
        return Err(Error::corruption(
            file.path(),
            28,
            "header checksum mismatch",
        ));
    }
    if version == FORMAT_VERSION {
        return Ok(LogLayout {
            version,
            param,
            records_start: LOG_HEADER_LEN,
            durable_len: LOG_HEADER_LEN,
            newest_slot: None,
            unreadable_slot: None,
        });
    }
    if len < LOG_V2_RECORDS_START {
        return Err(Error::corruption(
            file.path(),
            len,
            format!("file is {len} bytes, shorter than its {LOG_V2_RECORDS_START}-byte header"),
        ));
    }
    let slot = |i: usize| {
        let at = slot_offset(i) as usize;
        decode_slot(&buf[at..at + DURABLE_SLOT_LEN as usize])
    };
    let (a, b) = (slot(0), slot(1));
    let unreadable_slot = match (a, b) {
        (None, Some(_)) => Some(slot_offset(0)),
        (Some(_), None) => Some(slot_offset(1)),
        _ => None,
    };
    let newest = match (a, b) {
        (None, None) => {
            return Err(Error::corruption(
                file.path(),
                LOG_HEADER_LEN,
                "both durable-length slots are damaged (a crash leaves at most one torn)",
            ));
        }
        (Some(a), None) => (0, a),
        (None, Some(b)) => (1, b),
        (Some(a), Some(b)) => {
            if b.0 > a.0 {
                (1, b)
            } else {
                (0, a)
            }
        }
    };
    let (index, (counter, durable_len)) = newest;
    if durable_len < LOG_V2_RECORDS_START {
        return Err(Error::corruption(
            file.path(),
            slot_offset(index),
            format!("durable length {durable_len} is inside the header"),
        ));
    }
    Ok(LogLayout {
        version,
        param,
        records_start: LOG_V2_RECORDS_START,
        durable_len,
        newest_slot: Some((index, counter)),
        unreadable_slot,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_round_trips_and_any_flipped_bit_invalidates_it() {
        let slot = encode_slot(7, 4242);
        assert_eq!(decode_slot(&slot), Some((7, 4242)));
        for bit in 0..slot.len() * 8 {
            let mut bad = slot;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(decode_slot(&bad), None, "bit {bit}");
        }
    }

    #[test]
    fn a_new_header_claims_the_given_length_in_both_slots() {
        let h = encode_header_with(b"NSTESTLG", 3, 500);
        assert_eq!(h.len() as u64, LOG_V2_RECORDS_START);
        assert_eq!(decode_slot(&h[32..64]), Some((0, 500)));
        assert_eq!(decode_slot(&h[64..96]), Some((1, 500)));
    }
}
