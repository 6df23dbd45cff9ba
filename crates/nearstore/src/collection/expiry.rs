//! Point expiry: each point's expiry time, the one visibility rule, the purge, and the
//! checkpoint file `expiry.times`.
//!
//! The visibility rule (one implementation, [`Collection::hidden`]): a point is visible at
//! `now` when it is live and has no expiry time at or before `now` (wall-clock epoch
//! milliseconds from the collection's [`crate::WallClock`]). Every read takes its id set
//! from [`Collection::visible_live`] (the live ids minus the hidden ones), so an expired
//! point is excluded exactly like a filtered-out one, inside each leg's own search (the
//! k-guarantee holds), and point lookups ask [`ExpiryIndex::expired`]. The clock is read
//! once per request and only when the collection holds a point with an expiry time, so a
//! collection without any pays one emptiness check.
//!
//! Expiry times are logged (op tags 8 and 9, see `ops.rs`), kept in [`ExpiryIndex`] (by id
//! and ordered by time), written at each checkpoint into `expiry.times` and replayed from
//! the log tail on open (every operation after the manifest's number: setting a time,
//! an upsert and a delete are idempotent in log order). Expired points are deleted in bulk
//! through ordinary logged deletes by [`VectorCollection::purge_expired`], which `flush`
//! and `checkpoint` call.
//!
//! File layout (manifest format 4 and later; checksummed sections through
//! `nearstore_storage::sections`, magic `NSEXPIR1` = version 1): section 1 the sequence
//! number (u64 LE); section 2 the (id u64 LE, expires_at u64 LE) pairs in strictly
//! ascending id order (its length must be a multiple of 16).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use roaring::RoaringTreemap;
use rustc_hash::FxHashMap;

use super::{Collection, State, VectorCollection, ops};
use crate::error::{Error, Result};
use crate::request::WallClock;
use nearstore_storage::SharedBackend;
use nearstore_storage::sections::{read_sections, write_sections};

/// The file's name inside a collection directory.
pub(crate) const EXPIRY_FILE: &str = "expiry.times";
const EXPIRY_MAGIC: [u8; 8] = *b"NSEXPIR1";

/// Every point's expiry time, by id and in time order.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ExpiryIndex {
    by_id: FxHashMap<u64, u64>,
    by_time: BTreeSet<(u64, u64)>,
}

impl ExpiryIndex {
    /// No point has an expiry time.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Point `id`'s expiry time.
    pub(crate) fn get(&self, id: u64) -> Option<u64> {
        self.by_id.get(&id).copied()
    }

    /// Sets (`Some`) or removes (`None`) point `id`'s expiry time.
    pub(crate) fn set(&mut self, id: u64, at: Option<u64>) {
        if let Some(old) = self.by_id.remove(&id) {
            self.by_time.remove(&(old, id));
        }
        if let Some(at) = at {
            self.by_id.insert(id, at);
            self.by_time.insert((at, id));
        }
    }

    /// Whether point `id` has expired at `now` (its time is at or before `now`).
    pub(crate) fn expired(&self, id: u64, now: u64) -> bool {
        self.get(id).is_some_and(|at| at <= now)
    }

    /// The ids expired at `now`: a walk of the time order up to `now`.
    pub(crate) fn expired_at(&self, now: u64) -> RoaringTreemap {
        self.by_time
            .range(..=(now, u64::MAX))
            .map(|&(_, id)| id)
            .collect()
    }

    /// `(id, time)` pairs in ascending id order.
    fn sorted(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = self.by_id.iter().map(|(&id, &at)| (id, at)).collect();
        v.sort_unstable();
        v
    }

    /// Keeps only the entries of `live` ids.
    pub(crate) fn retain_live(&mut self, live: &RoaringTreemap) {
        let gone: Vec<u64> = self
            .by_id
            .keys()
            .copied()
            .filter(|id| !live.contains(*id))
            .collect();
        for id in gone {
            self.set(id, None);
        }
    }
}

/// Writes the expiry times, reflecting operation `seq`.
pub(super) fn write_expiry(
    backend: &SharedBackend,
    dir: &Path,
    index: &ExpiryIndex,
    seq: u64,
) -> Result<()> {
    let pairs = index.sorted();
    let mut bytes = Vec::with_capacity(pairs.len() * 16);
    for (id, at) in pairs {
        bytes.extend_from_slice(&id.to_le_bytes());
        bytes.extend_from_slice(&at.to_le_bytes());
    }
    write_sections(
        backend.as_ref(),
        &dir.join(EXPIRY_FILE),
        &EXPIRY_MAGIC,
        &[&seq.to_le_bytes(), &bytes],
    )?;
    Ok(())
}

/// Reads the expiry times and the sequence number they reflect; a damaged file is a
/// corruption error naming it.
pub(crate) fn read_expiry(backend: &SharedBackend, dir: &Path) -> Result<(ExpiryIndex, u64)> {
    let path = dir.join(EXPIRY_FILE);
    let sections = read_sections(backend.as_ref(), &path, &EXPIRY_MAGIC)?;
    let [seq, pairs] = sections.as_slice() else {
        return Err(Error::corruption(path.display(), "expected two sections"));
    };
    let seq: [u8; 8] = seq
        .as_slice()
        .try_into()
        .map_err(|_| Error::corruption(path.display(), "bad sequence number"))?;
    if !pairs.len().is_multiple_of(16) {
        return Err(Error::corruption(
            path.display(),
            format!(
                "section 2 is {} bytes, not a whole number of (id, time) pairs",
                pairs.len()
            ),
        ));
    }
    let word = |c: &[u8]| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    let mut index = ExpiryIndex::default();
    let mut previous: Option<u64> = None;
    for pair in pairs.chunks_exact(16) {
        let (id, at) = (word(&pair[..8]), word(&pair[8..]));
        if previous.is_some_and(|p| p >= id) {
            return Err(Error::corruption(
                path.display(),
                "section 2's ids are not strictly ascending",
            ));
        }
        previous = Some(id);
        index.set(id, Some(at));
    }
    Ok((index, u64::from_le_bytes(seq)))
}

impl Collection {
    /// The current wall-clock time in epoch milliseconds.
    pub(crate) fn now_millis(&self) -> u64 {
        self.wall_clock.read().now_millis()
    }

    /// The live ids hidden now because they expired (`None` when none is): THE visibility
    /// rule's one implementation. Reads the clock only when some point has an expiry time.
    pub(crate) fn hidden(&self, st: &State) -> Option<RoaringTreemap> {
        if st.expiry.is_empty() {
            return None;
        }
        let expired = st.expiry.expired_at(self.now_millis());
        (!expired.is_empty()).then_some(expired)
    }

    /// The ids a read ranges over: the live ones that are visible now.
    pub(crate) fn visible_live<'a>(&self, st: &'a State) -> Cow<'a, RoaringTreemap> {
        match self.hidden(st) {
            None => Cow::Borrowed(&st.live),
            Some(h) => Cow::Owned(&st.live - &h),
        }
    }

    /// Whether live point `id` is hidden now (for lookups of single points).
    pub(crate) fn is_expired(&self, st: &State, id: u64) -> bool {
        st.expiry.get(id).is_some() && st.expiry.expired(id, self.now_millis())
    }

    /// Logs and applies expiry-time changes for `ids` (each must be visible now).
    fn set_expiry_times(&self, ids: &[u64], at: impl Fn(u64) -> Option<u64>) -> Result<()> {
        self.check_open()?;
        let mut w = self.lock_writer()?;
        let now = self.now_millis();
        let changes: Vec<(u64, Option<u64>)> = {
            let st = self.state.read();
            if let Some(&id) = ids
                .iter()
                .find(|&&id| !st.live.contains(id) || st.expiry.expired(id, now))
            {
                return Err(Error::PointNotFound {
                    collection: self.name.clone(),
                    id,
                });
            }
            ids.iter()
                .map(|&id| (id, at(now).filter(|&t| t != u64::MAX)))
                .collect()
        };
        if changes.is_empty() {
            return Ok(());
        }
        let bytes = ops::encode_expiry(&changes);
        self.commit_locked(&mut w, &bytes, None, changes.len(), || {
            self.apply_expiry(&changes);
            Ok(())
        })
    }

    /// Applies logged expiry-time changes.
    pub(super) fn apply_expiry(&self, changes: &[(u64, Option<u64>)]) {
        let mut st = self.state.write();
        for &(id, at) in changes {
            st.expiry.set(id, at);
        }
    }

    /// Deletes every point expired now through one logged delete; returns how many.
    pub(crate) fn purge_expired(&self) -> Result<usize> {
        self.check_open()?;
        let mut w = self.lock_writer()?;
        self.purge_expired_locked(&mut w)
    }

    pub(super) fn purge_expired_locked(&self, w: &mut super::Writer) -> Result<usize> {
        let ids: Vec<u64> = {
            let st = self.state.read();
            match self.hidden(&st) {
                Some(h) => (&h & &st.live).iter().collect(),
                None => return Ok(0),
            }
        };
        self.delete_locked(w, &ids, None)
    }
}

impl VectorCollection {
    /// Sets (`Some`, epoch milliseconds) or removes (`None`) the expiry time of existing
    /// points, logged as its own operation (vectors and payloads are not rewritten). Every
    /// id must be a visible point (`PointNotFound` otherwise, nothing written).
    pub fn set_expiry(&self, ids: &[u64], expires_at: Option<u64>) -> Result<()> {
        self.inner.set_expiry_times(ids, |_| expires_at)
    }

    /// Makes existing points expire `ttl` from now (the collection's wall clock).
    pub fn set_ttl(&self, ids: &[u64], ttl: Duration) -> Result<()> {
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.inner
            .set_expiry_times(ids, |now| Some(now.saturating_add(ttl)))
    }

    /// Point `id`'s expiry time in epoch milliseconds (`None`: it never expires, or it is
    /// not a visible point).
    pub fn expires_at(&self, id: u64) -> Option<u64> {
        let st = self.inner.state.read();
        if !st.live.contains(id) || self.inner.is_expired(&st, id) {
            return None;
        }
        st.expiry.get(id)
    }

    /// Deletes every expired point now, in one logged delete (also done by `flush` and
    /// `checkpoint`); returns how many were deleted.
    pub fn purge_expired(&self) -> Result<usize> {
        self.inner.purge_expired()
    }

    /// Replaces the wall clock expiry is read against (tests set and jump a
    /// [`crate::ManualWallClock`]).
    pub fn set_wall_clock(&self, clock: Arc<dyn WallClock>) {
        *self.inner.wall_clock.write() = clock;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nearstore_storage::FaultyBackend;

    #[test]
    fn the_index_orders_by_time_and_replaces_a_time() {
        let mut x = ExpiryIndex::default();
        x.set(1, Some(100));
        x.set(2, Some(50));
        x.set(3, Some(200));
        x.set(3, Some(10));
        x.set(2, None);
        assert_eq!(x.expired_at(99).iter().collect::<Vec<_>>(), vec![3]);
        assert_eq!(x.expired_at(100).iter().collect::<Vec<_>>(), vec![1, 3]);
        assert!(x.expired(1, 100) && !x.expired(1, 99) && !x.expired(2, u64::MAX));
        x.retain_live(&[1u64].into_iter().collect());
        assert_eq!(x.sorted(), vec![(1, 100)]);
    }

    #[test]
    fn the_file_round_trips_and_damage_is_corruption() {
        let backend: SharedBackend = Arc::new(FaultyBackend::new());
        let dir = Path::new("/db/c");
        backend.create_dir_all(dir).unwrap();
        let mut x = ExpiryIndex::default();
        x.set(u64::MAX, Some(7));
        x.set(3, Some(u64::MAX - 1));
        write_expiry(&backend, dir, &x, 42).unwrap();
        let (back, seq) = read_expiry(&backend, dir).unwrap();
        assert_eq!((back, seq), (x, 42));
        for bad in [
            vec![1u8, 2, 3],
            [5u64, 1, 4, 1]
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect(),
        ] {
            write_sections(
                backend.as_ref(),
                &dir.join(EXPIRY_FILE),
                &EXPIRY_MAGIC,
                &[&1u64.to_le_bytes(), &bad],
            )
            .unwrap();
            let err = read_expiry(&backend, dir).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Corruption, "{err}");
        }
        // A flipped byte fails the section checksum.
        write_expiry(&backend, dir, &ExpiryIndex::default(), 1).unwrap();
        let file = backend.open(&dir.join(EXPIRY_FILE), false).unwrap();
        let last = file.len().unwrap() - 1;
        let mut byte = [0u8];
        file.read_exact_at(&mut byte, last).unwrap();
        file.write_all_at(&[byte[0] ^ 1], last).unwrap();
        assert!(read_expiry(&backend, dir).is_err());
    }
}
