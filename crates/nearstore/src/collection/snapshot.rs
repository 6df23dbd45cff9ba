//! A collection's part of a snapshot: its files fixed at one sequence number ("the cut"),
//! with the writer lock held only to fix the cut; the bytes are copied after it.
//!
//! Under the writer lock ([`Collection::lock_writer`], so the streaming queue is applied
//! first): a checkpoint brings every component to one sequence number `S` and empties the
//! logs; then each file is pinned in a pin directory beside the collection (same file
//! system):
//! - files replaced whole by rename (manifest, HNSW and payload-index checkpoints, text and
//!   sparse images, `expiry.times`, `vectorless.ids`, `vectors.idx`) are hard-linked: the
//!   link keeps the checkpoint's inode whatever later checkpoints rename over it;
//! - `vectors.dat` is hard-linked and captured up to its length at the cut: slots are
//!   write-once, later writes take fresh slots past the cut's live ones or grow the file,
//!   and a vector read guard held until the copy ends keeps the store from punching holes
//!   in freed slots meanwhile (a compaction writes a new file; the link keeps the old one);
//! - `payloads.log` (append-only; rewritten only by a compaction into a new file) is
//!   hard-linked and captured as a record-log prefix at its length at the cut;
//! - `ops.log` and `vectors.wal`, which are truncated in place at checkpoints, are copied
//!   (just emptied by the checkpoint: a header each).
//!
//! A file system that cannot hard-link gets copies made under the lock instead (correct,
//! slower). Lock files and temporary files are never part of a snapshot.

use std::path::Path;

use nearstore_storage::VectorGuard;
use nearstore_storage::snapshot::{Capture, SnapshotSource};
use nearstore_storage::vector::{DATA_FILE, WAL_FILE};

use super::{Collection, OPS_FILE, PAYLOADS_DIR, VECTORS_DIR};
use crate::error::Result;

/// A collection fixed at one sequence number: the files to copy and what pins them.
pub(crate) struct Cut {
    /// The sequence number every file reflects.
    pub seq: u64,
    /// The files, named relative to the collection directory.
    pub sources: Vec<SnapshotSource>,
    /// Keep freed slots of the vector stores from being hole-punched until the copy ends.
    _pins: Vec<VectorGuard>,
}

impl std::fmt::Debug for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cut")
            .field("seq", &self.seq)
            .field("sources", &self.sources)
            .finish()
    }
}

/// How one file is pinned and captured.
enum Pin {
    /// Hard link; the whole file.
    Link,
    /// Hard link; the first bytes at the cut.
    LinkPrefix,
    /// Hard link; a record-log prefix at the cut.
    LinkLogPrefix,
    /// Copied now (a file truncated in place).
    CopyNow,
}

fn pin_kind(name: &str) -> Pin {
    match name {
        OPS_FILE | WAL_FILE => Pin::CopyNow,
        DATA_FILE => Pin::LinkPrefix,
        n if n.ends_with(".log") => Pin::LinkLogPrefix,
        _ => Pin::Link,
    }
}

/// Lock files and temporary or half-written files are not state.
fn is_state_file(name: &str) -> bool {
    !(name.ends_with(".lock")
        || name.ends_with(".tmp")
        || name.ends_with(".compact")
        || name.starts_with('.'))
}

impl Collection {
    /// Fixes the collection at one sequence number, pinning its files under `pin_dir` (see
    /// the module docs). The writer lock is held for the checkpoint and the pinning only.
    pub(crate) fn cut(&self, pin_dir: &Path) -> Result<Cut> {
        self.check_open()?;
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        self.checkpoint_locked(&mut w)?;
        let seq = w.checkpoint_seq;
        let pins = self.pin_vector_slots();
        let b = self.backend.as_ref();
        let mut subdirs = vec![String::new(), VECTORS_DIR.into(), PAYLOADS_DIR.into()];
        subdirs.extend(self.spaces.keys().map(|n| super::spaces::space_dir(n)));
        let mut sources = Vec::new();
        for sub in subdirs {
            let from_dir = if sub.is_empty() {
                self.dir.clone()
            } else {
                self.dir.join(&sub)
            };
            if !b.exists(&from_dir)? {
                continue;
            }
            for path in b.list_dir(&from_dir)? {
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if !is_state_file(name) {
                    continue;
                }
                let rel = if sub.is_empty() {
                    name.to_string()
                } else {
                    format!("{sub}/{name}")
                };
                let pinned = pin_dir.join(&rel);
                b.create_dir_all(nearstore_storage::backend::parent_dir(&pinned))?;
                let len = b.open(&path, false)?.len()?;
                let capture = match pin_kind(name) {
                    Pin::CopyNow => {
                        copy_file(b, &path, &pinned, len)?;
                        Capture::Copy
                    }
                    kind => {
                        if b.hard_link(&path, &pinned).is_err() {
                            copy_file(b, &path, &pinned, len)?;
                        }
                        match kind {
                            Pin::LinkPrefix => Capture::Prefix(len),
                            Pin::LinkLogPrefix => Capture::LogPrefix(len),
                            _ => Capture::Copy,
                        }
                    }
                };
                sources.push(SnapshotSource::new(rel, pinned, capture));
            }
        }
        drop(w);
        Ok(Cut {
            seq,
            sources,
            _pins: pins,
        })
    }

    /// One read guard per vector store that holds a vector (a live guard stops the store
    /// from reclaiming freed slots).
    fn pin_vector_slots(&self) -> Vec<VectorGuard> {
        let st = self.state.read();
        let mut stores = vec![&*self.vectors];
        stores.extend(self.spaces.values().map(|s| &s.vectors));
        stores
            .into_iter()
            .filter_map(|store| {
                let id = st.live.iter().find(|&id| store.contains(id))?;
                store.retrieve_ref(id).ok().flatten()
            })
            .collect()
    }
}

/// Copies the first `len` bytes of `from` to a new file `to`, synced.
pub(crate) fn copy_file(
    b: &dyn nearstore_storage::Backend,
    from: &Path,
    to: &Path,
    len: u64,
) -> Result<()> {
    const CHUNK: u64 = 1 << 20;
    let src = b.open(from, false)?;
    let out = b.open(to, true)?;
    out.set_len(0)?;
    let mut at = 0u64;
    let mut buf = Vec::new();
    while at < len {
        let n = (len - at).min(CHUNK);
        buf.resize(usize::try_from(n).unwrap_or(0), 0);
        src.read_exact_at(&mut buf, at)?;
        out.write_all_at(&buf, at)?;
        at += n;
    }
    out.sync()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_file_is_pinned_by_how_it_changes() {
        assert!(matches!(pin_kind("ops.log"), Pin::CopyNow));
        assert!(matches!(pin_kind("vectors.wal"), Pin::CopyNow));
        assert!(matches!(pin_kind("vectors.dat"), Pin::LinkPrefix));
        assert!(matches!(pin_kind("payloads.log"), Pin::LinkLogPrefix));
        assert!(matches!(pin_kind("hnsw.index"), Pin::Link));
        for skipped in [
            "vectors.lock",
            "payloads.lock",
            "x.tmp",
            "vectors.dat.compact",
        ] {
            assert!(!is_state_file(skipped), "{skipped}");
        }
        assert!(is_state_file("collection.manifest"));
    }
}
