//! Verifying one collection directory without opening it: every file on its own, then the
//! cross-checks between them (see [`crate::verify`] for the list). Read-only: nothing is
//! locked, cut or rewritten.

use std::collections::BTreeSet;
use std::path::Path;

use super::checkpoint::{read_field_indexes, read_manifest};
use super::spaces::{space_dir, space_index_file};
use super::sparse::{read_sparse_index, sparse_file};
use super::text::{read_text_index, text_file};
use super::vectorless::{VECTORLESS_FILE, read_vectorless};
use super::{FIELD_INDEX_FILE, HNSW_FILE, MANIFEST_FILE, OPS_FILE, PAYLOADS_DIR, VECTORS_DIR, ops};
use crate::config::CollectionConfig;
use crate::verify::FileCheck;
use nearstore_index::HnswIndex;
use nearstore_storage::payload::{LOG_FILE as PAYLOAD_LOG_FILE, PayloadLogScan};
use nearstore_storage::sections::read_sections;
use nearstore_storage::vector::{Checkpoint, DATA_FILE, INDEX_FILE, WAL_FILE};
use nearstore_storage::{SharedBackend, oplog};
use nearstore_text::TextIndexConfig;

/// Slot checksum failures listed per data file (the count says if there are more).
const MAX_SLOT_PROBLEMS: usize = 20;
/// The HNSW checkpoint's magic and the sections holding external ids, deleted flags and
/// free slots (layout in `docs/design/storage-format.md`).
const HNSW_MAGIC: [u8; 8] = *b"NSHNSW01";
const HNSW_IDS: usize = 2;
const HNSW_DELETED: usize = 4;
const HNSW_FREE: usize = 8;

/// The logged operations after the checkpoint, decoded: (seq, upserted ids with whether
/// each has a payload, deleted ids, or ids whose payload was rewritten with whether each
/// still has one).
enum LoggedOp {
    /// Upserted points: (id, whether it has a payload, the dense vectors it carries by
    /// name, `""` the default one).
    Upsert(Vec<(u64, bool, Vec<String>)>),
    Delete(Vec<u64>),
    Payloads(Vec<(u64, bool)>),
    /// Vector edits: (id, dense names set, names removed).
    Vectors(Vec<(u64, Vec<String>, Vec<String>)>),
}

/// Applies the logged operations after `after` to an id set (`payloads`: an upsert without
/// a payload removes the id).
fn replay(ids: &mut BTreeSet<u64>, tail: &[(u64, LoggedOp)], after: u64, payloads: bool) {
    for (_, op) in tail.iter().filter(|(seq, _)| *seq > after) {
        match op {
            LoggedOp::Upsert(points) => {
                for &(id, has_payload, _) in points {
                    if payloads && !has_payload {
                        ids.remove(&id);
                    } else {
                        ids.insert(id);
                    }
                }
            }
            LoggedOp::Delete(gone) => gone.iter().for_each(|id| {
                ids.remove(id);
            }),
            // A payload write never changes which points have vectors.
            LoggedOp::Payloads(changed) if payloads => {
                for &(id, has_payload) in changed {
                    if has_payload {
                        ids.insert(id);
                    } else {
                        ids.remove(&id);
                    }
                }
            }
            LoggedOp::Payloads(_) => {}
            // An edit names a live point and never changes its payload.
            LoggedOp::Vectors(edits) if !payloads => {
                for (id, _, _) in edits {
                    ids.insert(*id);
                }
            }
            LoggedOp::Vectors(_) => {}
        }
    }
}

/// Applies the logged operations after `after` to the ids holding the dense vector `name`
/// (`""`: the default one)
/// (an upsert replaces the whole point, so one without that vector drops it).
fn replay_space(ids: &mut BTreeSet<u64>, tail: &[(u64, LoggedOp)], after: u64, name: &str) {
    for (_, op) in tail.iter().filter(|(seq, _)| *seq > after) {
        match op {
            LoggedOp::Upsert(points) => {
                for (id, _, named) in points {
                    if named.iter().any(|n| n == name) {
                        ids.insert(*id);
                    } else {
                        ids.remove(id);
                    }
                }
            }
            LoggedOp::Delete(gone) => gone.iter().for_each(|id| {
                ids.remove(id);
            }),
            LoggedOp::Payloads(_) => {}
            LoggedOp::Vectors(edits) => {
                for (id, set, removed) in edits {
                    if set.iter().any(|n| n == name) {
                        ids.insert(*id);
                    }
                    if removed.iter().any(|n| n == name) {
                        ids.remove(id);
                    }
                }
            }
        }
    }
}

/// The first id in exactly one of the two sets.
fn first_difference(a: &BTreeSet<u64>, b: &BTreeSet<u64>) -> Option<u64> {
    a.symmetric_difference(b).next().copied()
}

impl super::Collection {
    /// Runs `f` while this collection's writer is held: no write, checkpoint or log append
    /// happens meanwhile, so its files are quiescent (reads and searches continue).
    pub(crate) fn with_writes_paused<T>(&self, f: impl FnOnce() -> T) -> T {
        let _writer = self.writer.lock();
        f()
    }
}

/// What the collection manifest says the last checkpoint covers.
#[derive(Clone, Copy)]
struct Covered {
    /// The manifest's dimension and metric (what the files are checked against).
    config: Option<(usize, nearstore_distance::DistanceMetric)>,
    seq: u64,
    payloads_len: u64,
    /// The manifest's format has `vectorless.ids` (format 3 and later).
    vectorless: bool,
}

/// Checks every file of the collection in `dir`; returns one entry per file.
pub(crate) fn verify_collection(backend: &SharedBackend, dir: &Path) -> Vec<FileCheck> {
    let (manifest, covered, named) = check_manifest(backend, dir);
    let (vidx, mut vdat, vwal, vectors) = check_vectors(backend, &dir.join(VECTORS_DIR), covered);
    let (mut plog, payloads) = check_payloads(backend, dir, covered);
    let (mut hnsw, index) = check_hnsw(backend, &dir.join(HNSW_FILE), covered);
    let fields = check_field_indexes(backend, dir, covered);
    let text = named
        .text
        .map(|(generation, config)| check_text_index(backend, dir, covered, generation, &config));
    let (oplog_check, tail) = check_oplog(backend, dir, covered);
    let mut further: Vec<FileCheck> = named
        .sparse
        .iter()
        .map(|name| check_sparse_index(backend, dir, covered, name))
        .collect();
    for (name, shape) in &named.spaces {
        further.extend(check_space(
            backend,
            dir,
            covered,
            name,
            *shape,
            tail.as_deref(),
        ));
    }

    let (vectorless_check, vectorless) = check_vectorless(backend, dir, covered);
    further.extend(vectorless_check);
    if named.graph {
        further.push(super::graph::check_graph_image(backend, dir, covered.seq));
    }

    // Cross-checks: after the logged operations, index = vectors, vectors within the live
    // points (those with a default vector and those without), payloads within them.
    if let (Some(mut stored), Some(tail)) = (vectors, tail) {
        let mut live: BTreeSet<u64> = stored.iter().copied().chain(vectorless).collect();
        replay(&mut live, &tail, covered.seq, false);
        replay_space(&mut stored, &tail, covered.seq, "");
        vdat.notes.push(format!(
            "{} live points after the logged operations, {} with the default vector",
            live.len(),
            stored.len()
        ));
        if let Some(id) = stored.difference(&live).next() {
            vdat.damaged(
                None,
                format!("holds a vector of point {id}, which is not live"),
            );
        }
        if let Some((mut indexed, lsn)) = index {
            replay_space(&mut indexed, &tail, lsn, "");
            // Points a bulk load stored may wait for the index (the backlog, derived on
            // open: `backlog.rs`); a point the index holds must be stored.
            if let Some(id) = indexed.difference(&stored).next() {
                hnsw.damaged(
                    None,
                    format!(
                        "holds {} points, the vector store {}; point {id} is not stored",
                        indexed.len(),
                        stored.len()
                    ),
                );
            } else if stored.len() > indexed.len() {
                hnsw.notes.push(format!(
                    "{} stored points wait for the index (linked when the collection is opened)",
                    stored.len() - indexed.len()
                ));
            }
        }
        if let Some(scan) = payloads {
            let mut with_payload: BTreeSet<u64> = scan.ids.into_iter().collect();
            replay(&mut with_payload, &tail, scan.mark, true);
            if let Some(id) = with_payload.difference(&live).next() {
                plog.damaged(
                    None,
                    format!("holds a payload for point {id}, which is not live"),
                );
            }
        }
    }
    let mut checks = vec![manifest, oplog_check, hnsw, fields];
    checks.extend(text);
    checks.extend([vidx, vdat, vwal, plog]);
    checks.extend(further);
    checks
}

/// The manifest, what its checkpoint covers, and the text index it names (generation and
/// configuration) when text indexing is on.
fn check_manifest(backend: &SharedBackend, dir: &Path) -> (FileCheck, Covered, Named) {
    let mut manifest = FileCheck::new(dir.join(MANIFEST_FILE), "collection manifest");
    let mut named = Named::default();
    let covered = match read_manifest(backend, dir) {
        Ok(m) => {
            manifest
                .notes
                .push(format!("checkpoint at operation {}", m.checkpoint_seq));
            let config = CollectionConfig::from(&m.config);
            named.text = config.text.clone().map(|t| (m.text_generation, t));
            named.spaces = config
                .vectors
                .iter()
                .map(|(name, space)| (name.clone(), (space.dim, space.metric)))
                .collect();
            named.sparse = m.sparse_names.clone();
            named.graph = config.kind == crate::CollectionKind::Graph;
            Covered {
                config: Some((config.dim, config.metric)),
                seq: m.checkpoint_seq,
                payloads_len: m.payloads_len,
                vectorless: m.format >= 3,
            }
        }
        Err(e) => {
            manifest.damaged_by(&e);
            Covered {
                config: None,
                seq: 0,
                payloads_len: 0,
                vectorless: false,
            }
        }
    };
    (manifest, covered, named)
}

/// The components beyond the default vector that the manifest names.
#[derive(Default)]
struct Named {
    /// The text index's generation and configuration (text indexing on).
    text: Option<(u64, TextIndexConfig)>,
    /// Each named dense vector's dimension and metric.
    spaces: Vec<(String, (usize, nearstore_distance::DistanceMetric))>,
    /// The sparse vector names with a checkpointed index.
    sparse: Vec<String>,
    /// A graph collection: its `graph.image` is checked too.
    graph: bool,
}

/// A sparse vector's index file: checksums, the image's whole structure, and that it
/// reflects at least the checkpoint.
fn check_sparse_index(
    backend: &SharedBackend,
    dir: &Path,
    covered: Covered,
    name: &str,
) -> FileCheck {
    let mut check = FileCheck::new(dir.join(sparse_file(name)), "sparse vector index");
    match read_sparse_index(backend, dir, name) {
        Ok((_, s)) if s < covered.seq => check.damaged(
            None,
            format!(
                "reflects operation {s}, the checkpoint covers {}",
                covered.seq
            ),
        ),
        Ok((index, _)) => check
            .notes
            .push(format!("{name:?}: {} vectors indexed", index.len())),
        Err(e) => check.damaged_by(&e),
    }
    check
}

/// The live ids without a default vector (format 3 manifests): checksums, ascending ids,
/// and that the file reflects at least the checkpoint. Returns its check (none before
/// format 3) and the ids.
fn check_vectorless(
    backend: &SharedBackend,
    dir: &Path,
    covered: Covered,
) -> (Option<FileCheck>, Vec<u64>) {
    if !covered.vectorless {
        return (None, Vec::new());
    }
    let mut check = FileCheck::new(dir.join(VECTORLESS_FILE), "points without a default vector");
    let ids = match read_vectorless(backend, dir) {
        Ok((_, s)) if s < covered.seq => {
            check.damaged(
                None,
                format!(
                    "reflects operation {s}, the checkpoint covers {}",
                    covered.seq
                ),
            );
            Vec::new()
        }
        Ok((ids, _)) => {
            check.notes.push(format!("{} live points", ids.len()));
            ids
        }
        Err(e) => {
            check.damaged_by(&e);
            Vec::new()
        }
    };
    (Some(check), ids)
}

/// A named dense vector: its vector store and HNSW index like the default one's, and after
/// the logged operations, index = store.
fn check_space(
    backend: &SharedBackend,
    dir: &Path,
    covered: Covered,
    name: &str,
    shape: (usize, nearstore_distance::DistanceMetric),
    tail: Option<&[(u64, LoggedOp)]>,
) -> Vec<FileCheck> {
    let covered = Covered {
        config: Some(shape),
        ..covered
    };
    let (vidx, vdat, vwal, vectors) = check_vectors(backend, &dir.join(space_dir(name)), covered);
    let (mut hnsw, index) = check_hnsw(backend, &dir.join(space_index_file(name)), covered);
    if let (Some(mut live), Some((mut indexed, lsn)), Some(tail)) = (vectors, index, tail) {
        replay_space(&mut live, tail, covered.seq, name);
        replay_space(&mut indexed, tail, lsn, name);
        if let Some(id) = first_difference(&indexed, &live) {
            hnsw.damaged(
                None,
                format!(
                    "holds {} points of vector {name:?}, its vector store {}; point {id} is in \
                     only one of them",
                    indexed.len(),
                    live.len()
                ),
            );
        }
    }
    vec![hnsw, vidx, vdat, vwal]
}

/// The text index file the manifest names: checksums, the image's whole structure, its
/// configuration, and that it reflects at least the checkpoint.
fn check_text_index(
    backend: &SharedBackend,
    dir: &Path,
    covered: Covered,
    generation: u64,
    config: &TextIndexConfig,
) -> FileCheck {
    let mut check = FileCheck::new(dir.join(text_file(generation)), "text index");
    match read_text_index(backend, dir, generation, config) {
        Ok((_, s)) if s < covered.seq => check.damaged(
            None,
            format!(
                "reflects operation {s}, the checkpoint covers {}",
                covered.seq
            ),
        ),
        Ok((index, _)) => check
            .notes
            .push(format!("{} documents indexed", index.len())),
        Err(e) => check.damaged_by(&e),
    }
    check
}

/// The vector store: the id -> slot checkpoint, every live slot against its CRC, the WAL.
/// Returns the checks of `vectors.idx`, `vectors.dat`, `vectors.wal` and the live ids.
fn check_vectors(
    backend: &SharedBackend,
    vdir: &Path,
    covered: Covered,
) -> (FileCheck, FileCheck, FileCheck, Option<BTreeSet<u64>>) {
    let b = backend.as_ref();
    let mut vidx = FileCheck::new(vdir.join(INDEX_FILE), "vector checkpoint");
    let mut vdat = FileCheck::new(vdir.join(DATA_FILE), "vector data");
    let mut vectors = None;
    match Checkpoint::read_path(b, &vidx.path) {
        Ok(Some(c)) => {
            vidx.notes.push(format!("{} live vectors", c.slots.len()));
            let problems =
                nearstore_storage::vector::verify_data_file(b, &vdat.path, &c, MAX_SLOT_PROBLEMS);
            for p in &problems {
                vdat.damaged_by_storage(p);
            }
            if problems.len() >= MAX_SLOT_PROBLEMS {
                vdat.notes
                    .push(format!("stopped after {MAX_SLOT_PROBLEMS} problems"));
            }
            if covered.config.is_some_and(|(dim, _)| dim != c.dim as usize) {
                vidx.damaged(Some(12), "dimension differs from the manifest");
            }
            vectors = Some(c.slots.keys().copied().collect());
        }
        Ok(None) => vidx.damaged(None, "vectors.idx is missing"),
        Err(e) => vidx.damaged_by(&e.into()),
    }
    let mut vwal = FileCheck::new(vdir.join(WAL_FILE), "vector WAL");
    match b.open(&vwal.path, false).and_then(|f| {
        nearstore_storage::log::read_header(
            f.as_ref(),
            &nearstore_storage::format::VECTOR_WAL_MAGIC,
        )?;
        nearstore_storage::log::scan(f.as_ref(), |_, _| Ok(()))
    }) {
        Ok(stats) if stats.torn_bytes > 0 => vwal.notes.push(format!(
            "torn tail of {} bytes at byte {} (cut off at the next open)",
            stats.torn_bytes, stats.valid_end
        )),
        Ok(_) => {}
        Err(e) => vwal.damaged_by(&e.into()),
    }
    (vidx, vdat, vwal, vectors)
}

/// The payload log: every record, and the extent the manifest says it covers.
fn check_payloads(
    backend: &SharedBackend,
    dir: &Path,
    covered: Covered,
) -> (FileCheck, Option<PayloadLogScan>) {
    let mut plog = FileCheck::new(dir.join(PAYLOADS_DIR).join(PAYLOAD_LOG_FILE), "payload log");
    match nearstore_storage::payload::scan_read_only(backend.as_ref(), &plog.path) {
        Ok(scan) => {
            plog.notes
                .push(format!("{} payloads, mark {}", scan.ids.len(), scan.mark));
            if scan.tail_bytes > 0 {
                plog.notes.push(format!(
                    "{} bytes after the last complete group at byte {} (cut off at the next open)",
                    scan.tail_bytes, scan.complete_end
                ));
            }
            if scan.mark < covered.seq {
                let reason = format!(
                    "reflects operation {}, the checkpoint covers {}: durable records are \
                     missing (the checkpoint covered {} bytes)",
                    scan.mark, covered.seq, covered.payloads_len
                );
                plog.damaged(Some(scan.complete_end), reason);
            }
            (plog, Some(scan))
        }
        Err(e) => {
            plog.damaged_by(&e.into());
            (plog, None)
        }
    }
}

/// The HNSW index, loaded and validated as at open; returns its live ids and sequence number.
fn check_hnsw(
    backend: &SharedBackend,
    path: &Path,
    covered: Covered,
) -> (FileCheck, Option<(BTreeSet<u64>, u64)>) {
    use nearstore_index::VectorIndex;
    let mut hnsw = FileCheck::new(path.to_path_buf(), "HNSW index");
    // A quantized checkpoint loads with a vector source; checking its structure reads no
    // vector, so an empty one stands in for the store.
    let source: std::sync::Arc<dyn nearstore_index::VectorSource> =
        nearstore_index::MemorySource::new();
    let (loaded, lsn) =
        match HnswIndex::load_with_source(backend.as_ref(), &hnsw.path, Some(source)) {
            Ok(found) => found,
            Err(e) => {
                hnsw.damaged_by(&e.into());
                return (hnsw, None);
            }
        };
    if let Some((dim, metric)) = covered.config
        && (loaded.dimension() != dim || loaded.metric() != metric)
    {
        hnsw.damaged(None, "dimension or metric differs from the manifest");
    }
    if lsn < covered.seq {
        hnsw.damaged(
            None,
            format!(
                "reflects operation {lsn}, the checkpoint covers {}",
                covered.seq
            ),
        );
    }
    match hnsw_live_ids(backend, &hnsw.path) {
        Ok(ids) => (hnsw, Some((ids, lsn))),
        Err(e) => {
            hnsw.damaged_by(&e);
            (hnsw, None)
        }
    }
}

fn check_field_indexes(backend: &SharedBackend, dir: &Path, covered: Covered) -> FileCheck {
    let mut fields = FileCheck::new(dir.join(FIELD_INDEX_FILE), "payload indexes");
    match read_field_indexes(backend, dir) {
        Ok((_, p)) if p < covered.seq => fields.damaged(
            None,
            format!(
                "reflects operation {p}, the checkpoint covers {}",
                covered.seq
            ),
        ),
        Ok(_) => {}
        Err(e) => fields.damaged_by(&e),
    }
    fields
}

/// The operation log: every record, every operation after the checkpoint decoded.
fn check_oplog(
    backend: &SharedBackend,
    dir: &Path,
    covered: Covered,
) -> (FileCheck, Option<Vec<(u64, LoggedOp)>>) {
    let mut check = FileCheck::new(dir.join(OPS_FILE), "operation log");
    let Some((dim, _)) = covered.config else {
        check
            .notes
            .push("not decoded: the manifest is unreadable".into());
        return (check, None);
    };
    let mut logged = Vec::new();
    let mut bad_op = None;
    let scanned = oplog::scan_read_only(backend.as_ref(), &check.path, |op_seq, bytes| {
        if op_seq <= covered.seq || bad_op.is_some() {
            return Ok(());
        }
        match ops::decode(bytes, dim) {
            Ok(ops::Op::Upsert(points)) => logged.push((
                op_seq,
                LoggedOp::Upsert(
                    points
                        .iter()
                        .map(|p| {
                            let default = (!p.vector.is_empty()).then(String::new);
                            (
                                p.id,
                                p.payload.is_some(),
                                default
                                    .into_iter()
                                    .chain(p.vectors.keys().cloned())
                                    .collect(),
                            )
                        })
                        .collect(),
                ),
            )),
            Ok(ops::Op::Delete(ids)) => logged.push((op_seq, LoggedOp::Delete(ids))),
            Ok(ops::Op::Payloads(changes)) => logged.push((
                op_seq,
                LoggedOp::Payloads(changes.iter().map(|(id, p)| (*id, p.is_some())).collect()),
            )),
            Ok(ops::Op::Vectors(edits)) => logged.push((
                op_seq,
                LoggedOp::Vectors(
                    edits
                        .into_iter()
                        .map(|e| (e.id, e.dense.into_keys().collect(), e.removed))
                        .collect(),
                ),
            )),
            // Expiry times and edge writes change no file the scrub compares.
            Ok(ops::Op::Expiry(_) | ops::Op::Graph(_)) => {}
            Err(e) => bad_op = Some(format!("operation {op_seq} does not decode: {e}")),
        }
        Ok(())
    });
    let scan = match scanned {
        Ok(scan) => scan,
        Err(e) => {
            check.damaged_by(&e.into());
            return (check, None);
        }
    };
    check
        .notes
        .push(format!("{} operations after the checkpoint", logged.len()));
    let cut = scan.incomplete_at.unwrap_or(scan.records.valid_end);
    let tail_bytes = scan.records.valid_end + scan.records.torn_bytes - cut;
    if tail_bytes > 0 {
        check.notes.push(format!(
            "torn tail of {tail_bytes} bytes at byte {cut} (cut off at the next open)"
        ));
    }
    match bad_op {
        Some(reason) => {
            check.damaged(None, reason);
            (check, None)
        }
        None => (check, Some(logged)),
    }
}

/// The external ids of the live nodes of an HNSW checkpoint (its sections already verified
/// by `HnswIndex::load`).
fn hnsw_live_ids(backend: &SharedBackend, path: &Path) -> crate::Result<BTreeSet<u64>> {
    let sections = read_sections(backend.as_ref(), path, &HNSW_MAGIC)?;
    let bad = || crate::Error::corruption(path.display(), "unexpected section layout");
    let ids = sections.get(HNSW_IDS).ok_or_else(bad)?;
    let deleted = sections.get(HNSW_DELETED).ok_or_else(bad)?;
    let free: BTreeSet<u32> = sections
        .get(HNSW_FREE)
        .ok_or_else(bad)?
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if ids.len() != deleted.len() * 8 {
        return Err(bad());
    }
    Ok(ids
        .chunks_exact(8)
        .zip(deleted)
        .enumerate()
        .filter(|(slot, (_, d))| **d == 0 && !free.contains(&(*slot as u32)))
        .map(|(_, (c, _))| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect())
}
