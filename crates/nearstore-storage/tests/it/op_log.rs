//! The operation log under media damage and under crashes: damage to what a completed fsync
//! made durable is refused by file and offset, never recovered as a shorter history; a crash
//! at any point (torn or lost unsynced writes) recovers without error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nearstore_storage::{Backend, Durability, Error, FaultyBackend, OpLog, oplog};
use proptest::prelude::*;

use super::process_crash_image;

fn path() -> PathBuf {
    PathBuf::from("/c/ops.log")
}

fn op_bytes(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j * 7) as u8).collect()
}

fn replay(b: &FaultyBackend, path: &Path) -> Result<Vec<(u64, Vec<u8>)>, Error> {
    let mut ops = Vec::new();
    OpLog::open(b, path, Durability::Flush, 1, |seq, bytes| {
        ops.push((seq, bytes.to_vec()));
        Ok(())
    })?;
    Ok(ops)
}

/// A log written with `Flush` durability: each op appended, `sync()` after those flagged.
/// Returns the process-crash image, the ops written, how many were synced, and the log's
/// length at the last sync.
fn written_log(ops: &[(usize, bool)]) -> (FaultyBackend, Vec<Vec<u8>>, usize, u64) {
    let b = FaultyBackend::new();
    b.create_dir_all(Path::new("/c")).unwrap();
    let path = path();
    let mut log = OpLog::open(&b, &path, Durability::Flush, 1, |_, _| Ok(())).unwrap();
    let mut written = Vec::new();
    let (mut synced, mut synced_len) = (0, b.read_file(&path).unwrap().len() as u64);
    for (i, &(len, sync)) in ops.iter().enumerate() {
        let bytes = op_bytes(i, len);
        log.append(&bytes).unwrap();
        written.push(bytes);
        if sync {
            log.sync().unwrap();
            synced = written.len();
            synced_len = b.read_file(&path).unwrap().len() as u64;
        }
    }
    let image = process_crash_image(&b);
    drop(log);
    (image, written, synced, synced_len)
}

#[derive(Debug, Clone)]
enum Damage {
    BitFlip { at: u64, bit: u8 },
    ZeroedBlock { at: u64, len: u64 },
    Truncation { at: u64 },
    GarbageAppended { bytes: Vec<u8> },
}

fn damage_strategy() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<u64>(), 0u8..8).prop_map(|(at, bit)| Damage::BitFlip { at, bit }),
        (any::<u64>(), 1u64..4096).prop_map(|(at, len)| Damage::ZeroedBlock { at, len }),
        any::<u64>().prop_map(|at| Damage::Truncation { at }),
        proptest::collection::vec(any::<u8>(), 1..200)
            .prop_map(|bytes| Damage::GarbageAppended { bytes }),
    ]
}

/// Applies `damage` (positions taken modulo the file length); returns the damaged bytes and
/// the range of offsets whose content changed or vanished (empty when nothing changed).
fn apply(bytes: &[u8], damage: &Damage) -> (Vec<u8>, std::ops::Range<u64>) {
    let len = bytes.len() as u64;
    let mut out = bytes.to_vec();
    match damage {
        Damage::BitFlip { at, bit } => {
            let at = at % len;
            out[at as usize] ^= 1 << bit;
            (out, at..at + 1)
        }
        Damage::ZeroedBlock { at, len: n } => {
            let at = at % len;
            let end = (at + n).min(len);
            out[at as usize..end as usize].fill(0);
            let changed: Vec<u64> = (at..end).filter(|&i| bytes[i as usize] != 0).collect();
            match (changed.first(), changed.last()) {
                (Some(&a), Some(&z)) => (out, a..z + 1),
                _ => (out, 0..0),
            }
        }
        Damage::Truncation { at } => {
            let at = at % len;
            out.truncate(at as usize);
            (out, at..len)
        }
        Damage::GarbageAppended { bytes: extra } => {
            out.extend_from_slice(extra);
            (out, len..len + extra.len() as u64)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random logs, one random damage: the outcome is the written history up to at least
    /// the last sync, or `Corruption` naming `ops.log` at or before the damage; damage to a
    /// byte below the recorded durable length (outside the slots, whose older copy stands
    /// in) is always `Corruption`.
    #[test]
    fn single_damage_is_refused_or_reads_back_a_durable_prefix(
        ops in proptest::collection::vec((0usize..300, any::<bool>()), 1..24),
        damage in damage_strategy(),
    ) {
        let (image, written, synced, durable_len) = written_log(&ops);
        let path = path();
        let original = image.read_file(&path).unwrap();
        let (damaged, changed) = apply(&original, &damage);
        image.replace_file(&path, &damaged);
        let slots_only = changed.start >= 32 && changed.end <= 96;
        // Detection is claimed for the fixed header and for record bytes below the durable
        // length (a damaged slot falls back to the other, older claim: no data is lost).
        let detectable = !changed.is_empty()
            && (changed.start < 32 || changed.start.max(96) < changed.end.min(durable_len));
        match replay(&image, &path) {
            Ok(replayed) => {
                prop_assert!(
                    !detectable,
                    "{damage:?} changed {changed:?} below the durable length {durable_len}, \
                     yet {} of {} ops were recovered silently", replayed.len(), written.len()
                );
                prop_assert!(replayed.len() >= synced, "lost a synced op: {damage:?}");
                for (i, (seq, bytes)) in replayed.iter().enumerate() {
                    prop_assert_eq!(*seq, i as u64 + 1);
                    prop_assert_eq!(bytes, &written[i]);
                }
                if changed.is_empty() || slots_only {
                    prop_assert_eq!(replayed.len(), written.len());
                }
            }
            Err(Error::Corruption { file, offset, reason }) => {
                prop_assert_eq!(&file, &path);
                prop_assert!(!changed.is_empty(), "refused an undamaged log: {reason}");
                // A damaged header is named by the field that fails (its CRC at byte 28).
                prop_assert!(
                    offset <= changed.end.max(32),
                    "offset {offset} after the damage {changed:?}: {reason}"
                );
            }
            Err(other) => prop_assert!(false, "{damage:?}: unexpected error {other}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Salvage after one random damage hands over only operations exactly as written, with
    /// their own numbers; a single flipped bit costs at most the one operation it hit.
    #[test]
    fn salvage_hands_over_only_written_operations(
        ops in proptest::collection::vec((0usize..300, any::<bool>()), 1..24),
        damage in damage_strategy(),
    ) {
        let (image, written, _, _) = written_log(&ops);
        let path = path();
        let original = image.read_file(&path).unwrap();
        let (damaged, changed) = apply(&original, &damage);
        image.replace_file(&path, &damaged);
        let mut got = Vec::new();
        let report = oplog::salvage(&image, &path, |seq, op| {
            got.push((seq, op.to_vec()));
            Ok(())
        })
        .unwrap();
        prop_assert_eq!(report.operations, got.len() as u64);
        for (seq, op) in &got {
            prop_assert!(*seq >= 1 && *seq <= written.len() as u64, "seq {}", seq);
            prop_assert_eq!(op, &written[(*seq - 1) as usize]);
        }
        prop_assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
        if changed.is_empty() {
            prop_assert_eq!(got.len(), written.len());
        }
        if matches!(damage, Damage::BitFlip { .. }) {
            prop_assert!(got.len() + 1 >= written.len(), "{:?}: {:?}", damage, report);
        }
    }
}

#[test]
fn salvage_of_a_damaged_log_returns_every_undamaged_operation() {
    // Twelve flushed ops; a flipped bit in op 5: open refuses, salvage returns the other 11.
    let ops: Vec<(usize, bool)> = (0..12).map(|i| (40 + i * 3, true)).collect();
    let (image, written, _, _) = written_log(&ops);
    let path = path();
    let mut bytes = image.read_file(&path).unwrap();
    let mut at = 96usize;
    for op in written.iter().take(5) {
        at += 20 + 9 + op.len();
    }
    bytes[at + 30] ^= 4;
    image.replace_file(&path, &bytes);
    let err = replay(&image, &path).unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { offset, .. } if *offset == at as u64),
        "{err}"
    );
    let mut got = BTreeMap::new();
    let report = oplog::salvage(&image, &path, |seq, op| {
        got.insert(seq, op.to_vec());
        Ok(())
    })
    .unwrap();
    let want: BTreeMap<u64, Vec<u8>> = written
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 5)
        .map(|(i, op)| (i as u64 + 1, op.clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(report.records.damaged.len(), 1);
    assert_eq!(report.records.damaged[0].start, at as u64);
    assert!(report.records.has_damage());
    assert!(report.dropped.is_empty());
}

/// The crash-point workload: appends of varying size with a sync every third, a reset (a
/// checkpoint emptying the log) in the middle. Returns the acknowledged ops (synced since
/// the last completed reset), or stops at the first error (the simulated crash).
fn crash_workload(b: &FaultyBackend, acked: &mut BTreeMap<u64, Vec<u8>>) {
    let path = path();
    let Ok(mut log) = OpLog::open(b, &path, Durability::Flush, 1, |_, _| Ok(())) else {
        return;
    };
    let mut pending = BTreeMap::new();
    for i in 0..14usize {
        let bytes = op_bytes(i, 10 + i * 37);
        let Ok(seq) = log.append(&bytes) else { return };
        pending.insert(seq, bytes);
        if i % 3 == 2 {
            if log.sync().is_err() {
                return;
            }
            acked.append(&mut pending);
        }
        if i == 7 {
            // A checkpoint made the ops durable elsewhere before it empties the log.
            acked.clear();
            pending.clear();
            if log.reset().is_err() {
                return;
            }
        }
    }
}

#[test]
fn the_op_log_recovers_without_error_at_every_crash_point() {
    let full = FaultyBackend::new();
    full.create_dir_all(Path::new("/c")).unwrap();
    let start = full.calls();
    crash_workload(&full, &mut BTreeMap::new());
    let total = full.calls() - start;
    let mut images = 0;
    for n in 0..total {
        let b = FaultyBackend::new();
        b.create_dir_all(Path::new("/c")).unwrap();
        b.crash_after(n);
        let mut acked = BTreeMap::new();
        crash_workload(&b, &mut acked);
        for image in b.crash_images() {
            images += 1;
            let what = format!("crash after call {n} ({:?})", image.kind);
            let replayed = replay(&image.backend, &path())
                .unwrap_or_else(|e| panic!("{what}: recovery failed: {e}"));
            let mut last = 0;
            for (seq, bytes) in &replayed {
                assert!(*seq > last, "{what}: op {seq} after {last}");
                last = *seq;
                let i = (*seq - 1) as usize;
                assert_eq!(bytes, &op_bytes(i, 10 + i * 37), "{what}: op {seq}");
            }
            let seqs: Vec<u64> = replayed.iter().map(|(s, _)| *s).collect();
            for seq in acked.keys() {
                assert!(seqs.contains(seq), "{what}: acknowledged op {seq} lost");
            }
            // The recovered log takes appends and a second recovery sees them.
            let mut log =
                OpLog::open(&image.backend, &path(), Durability::Flush, 1, |_, _| Ok(())).unwrap();
            let seq = log.append(b"after").unwrap();
            log.sync().unwrap();
            drop(log);
            let again = replay(&image.backend, &path()).unwrap();
            assert_eq!(again.last(), Some(&(seq, b"after".to_vec())), "{what}");
        }
    }
    assert!(
        images > 3 * total as usize,
        "{images} images for {total} calls"
    );
}
