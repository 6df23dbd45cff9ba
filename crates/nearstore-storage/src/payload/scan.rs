//! Reading `payloads.log` without opening the store (no lock, nothing cut off): the scrub's
//! view of the log, with the same record and group rules as opening.

use std::path::Path;

use super::{LAST_IN_GROUP, MARK, PUT, decode_record};
use crate::error::{Error, Result};
use crate::format::{PAYLOAD_LOG_MAGIC, RECORD_HEADER_LEN};

/// What a read-only scan of a payload log found ([`scan_read_only`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadLogScan {
    /// Ids with a payload after the complete groups, sorted.
    pub ids: Vec<u64>,
    /// The last mark of a complete group (0 when none).
    pub mark: u64,
    /// Where the complete groups end (the log's length after the next open).
    pub complete_end: u64,
    /// Bytes after `complete_end` (torn tail, incomplete group).
    pub tail_bytes: u64,
}

/// Reads the payload log at `path` without changing it (no lock, no truncation): checks the
/// header and every record (and that every stored payload is JSON). Damage that is not a
/// torn tail is `Error::Corruption`, as at open.
pub fn scan_read_only(
    backend: &dyn crate::backend::Backend,
    path: &Path,
) -> Result<PayloadLogScan> {
    let file = backend.open(path, false)?;
    let layout = crate::log::read_layout(file.as_ref(), Some(&PAYLOAD_LOG_MAGIC))?;
    let mut ids = std::collections::BTreeSet::new();
    let mut group: Vec<(u64, bool)> = Vec::new();
    let mut group_mark = None;
    let mut out = PayloadLogScan {
        complete_end: layout.records_start,
        ..PayloadLogScan::default()
    };
    let stats = crate::log::scan(file.as_ref(), |at, body| {
        let record = decode_record(body, path, at)?;
        if record.tag == MARK {
            group_mark = Some(record.id);
        } else {
            if record.tag == PUT {
                serde_json::from_slice::<serde::de::IgnoredAny>(record.json).map_err(|e| {
                    Error::corruption(path, at, format!("payload is not JSON: {e}"))
                })?;
            }
            group.push((record.id, record.tag == PUT));
        }
        if record.flags & LAST_IN_GROUP != 0 {
            if let Some(m) = group_mark.take() {
                out.mark = m;
            }
            for (id, put) in group.drain(..) {
                if put {
                    ids.insert(id);
                } else {
                    ids.remove(&id);
                }
            }
            out.complete_end = at + RECORD_HEADER_LEN + body.len() as u64;
        }
        Ok(())
    })?;
    out.tail_bytes = stats.valid_end + stats.torn_bytes - out.complete_end;
    out.ids = ids.into_iter().collect();
    Ok(out)
}
