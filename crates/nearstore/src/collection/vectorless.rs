//! The live points without a default vector, persisted at each checkpoint.
//!
//! Before points could omit the default (unnamed) vector, the live set was exactly the
//! default vector store's ids, and opening rebuilt it from them. A point may now carry no
//! default vector (only named or sparse vectors, or only a payload, or nothing), so each
//! checkpoint also writes `vectorless.ids`: the live ids the default store does not hold,
//! with the operation sequence number they reflect (two checksummed sections, written by
//! write-temp + rename before the manifest). Opening takes the live set as the default
//! store's ids plus these, then replays the log tail past the manifest's number into it
//! (upserts insert, deletes remove: idempotent, so a file that already reflects some of
//! the tail changes nothing).
//!
//! Manifests of format 3 and later always have this file; older ones (every point had a
//! default vector) have none, and the live set is the store's ids as before.
//!
//! Layout: section 1 the sequence number (u64 LE); section 2 the ids, ascending, each a
//! u64 LE (its length must be a multiple of 8: the count is bounded by the bytes read).

use std::path::Path;

use roaring::RoaringTreemap;

use crate::error::{Error, Result};
use nearstore_storage::SharedBackend;
use nearstore_storage::sections::{read_sections, write_sections};

/// The file's name inside a collection directory.
pub(crate) const VECTORLESS_FILE: &str = "vectorless.ids";
const VECTORLESS_MAGIC: [u8; 8] = *b"NSVLESS1";

/// Writes the live ids without a default vector, reflecting operation `seq`.
pub(super) fn write_vectorless(
    backend: &SharedBackend,
    dir: &Path,
    ids: &RoaringTreemap,
    seq: u64,
) -> Result<()> {
    let mut bytes = Vec::with_capacity(ids.len() as usize * 8);
    for id in ids {
        bytes.extend_from_slice(&id.to_le_bytes());
    }
    write_sections(
        backend.as_ref(),
        &dir.join(VECTORLESS_FILE),
        &VECTORLESS_MAGIC,
        &[&seq.to_le_bytes(), &bytes],
    )?;
    Ok(())
}

/// Reads the live ids without a default vector and the sequence number they reflect; a
/// damaged file is a corruption error naming it.
pub(crate) fn read_vectorless(backend: &SharedBackend, dir: &Path) -> Result<(Vec<u64>, u64)> {
    let path = dir.join(VECTORLESS_FILE);
    let sections = read_sections(backend.as_ref(), &path, &VECTORLESS_MAGIC)?;
    let [seq, ids] = sections.as_slice() else {
        return Err(Error::corruption(path.display(), "expected two sections"));
    };
    let seq: [u8; 8] = seq
        .as_slice()
        .try_into()
        .map_err(|_| Error::corruption(path.display(), "bad sequence number"))?;
    if !ids.len().is_multiple_of(8) {
        return Err(Error::corruption(
            path.display(),
            format!(
                "section 2 is {} bytes, not a whole number of ids",
                ids.len()
            ),
        ));
    }
    let ids: Vec<u64> = ids
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect();
    if ids.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::corruption(
            path.display(),
            "section 2's ids are not strictly ascending",
        ));
    }
    Ok((ids, u64::from_le_bytes(seq)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nearstore_storage::{FaultyBackend, SharedBackend};
    use std::sync::Arc;

    #[test]
    fn ids_round_trip_and_a_bad_length_is_corruption() {
        let backend: SharedBackend = Arc::new(FaultyBackend::new());
        let dir = Path::new("/db/c");
        backend.create_dir_all(dir).unwrap();
        let ids: RoaringTreemap = [3u64, 9, u64::MAX].into_iter().collect();
        write_vectorless(&backend, dir, &ids, 42).unwrap();
        let (back, seq) = read_vectorless(&backend, dir).unwrap();
        assert_eq!(back, vec![3, 9, u64::MAX]);
        assert_eq!(seq, 42);
        write_sections(
            backend.as_ref(),
            &dir.join(VECTORLESS_FILE),
            &VECTORLESS_MAGIC,
            &[&1u64.to_le_bytes(), &[1, 2, 3]],
        )
        .unwrap();
        let err = read_vectorless(&backend, dir).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Corruption, "{err}");
    }
}
