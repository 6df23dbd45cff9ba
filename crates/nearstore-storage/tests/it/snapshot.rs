//! Snapshots: write, verify and restore on the real file system, damage reported by file
//! and offset, and a crash (process crash, power loss, torn write) at every mutating call of
//! writing a snapshot, of restoring one, and of the recovery after each crash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nearstore_storage::backend::Backend;
use nearstore_storage::snapshot::{
    self, Capture, MANIFEST_NAME, Progress, RestoreRecovery, SnapshotManifest, SnapshotSource,
};
use nearstore_storage::{Error, FaultyBackend, FsBackend};

fn write_file(b: &dyn Backend, path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        b.create_dir_all(parent).unwrap();
    }
    let f = b.open(path, true).unwrap();
    f.set_len(0).unwrap();
    f.write_all_at(bytes, 0).unwrap();
    f.sync().unwrap();
    b.sync_dir(path.parent().unwrap()).unwrap();
}

fn read(b: &dyn Backend, path: &Path) -> Option<Vec<u8>> {
    if !b.exists(path).ok()? {
        return None;
    }
    let f = b.open(path, false).ok()?;
    let mut buf = vec![0; f.len().ok()? as usize];
    f.read_exact_at(&mut buf, 0).ok()?;
    Some(buf)
}

fn bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn no_progress() -> impl FnMut(Progress) {
    |_| {}
}

/// Sources in `src`: a checkpoint (linked), a nested file (copied) and a log of which only a
/// prefix is taken.
fn sources(src: &Path) -> Vec<SnapshotSource> {
    vec![
        SnapshotSource::new("c1/vectors.idx", src.join("c1/vectors.idx"), Capture::Link),
        SnapshotSource::new("c1/payload.log", src.join("c1/payload.log"), Capture::Copy),
        SnapshotSource::new("c1/ops.log", src.join("c1/ops.log"), Capture::Prefix(5000)),
        SnapshotSource::new(
            "database.manifest",
            src.join("database.manifest"),
            Capture::Copy,
        ),
    ]
}

fn fill_sources(b: &dyn Backend, src: &Path) {
    write_file(b, &src.join("c1/vectors.idx"), &bytes(1, 9000));
    write_file(b, &src.join("c1/payload.log"), &bytes(2, 4096));
    write_file(b, &src.join("c1/ops.log"), &bytes(3, 7000));
    write_file(b, &src.join("database.manifest"), b"[c1]");
}

/// What the snapshot of [`sources`] must hold.
fn expected_files() -> BTreeMap<String, Vec<u8>> {
    [
        ("c1/vectors.idx", bytes(1, 9000)),
        ("c1/payload.log", bytes(2, 4096)),
        ("c1/ops.log", bytes(3, 5000)),
        ("database.manifest", b"[c1]".to_vec()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[test]
fn snapshot_of_live_files_verifies_and_links_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let b = FsBackend;
    let (src, snap) = (tmp.path().join("db"), tmp.path().join("snap"));
    fill_sources(&b, &src);
    let mut seen = Vec::new();
    let manifest = snapshot::write_snapshot(&b, &snap, &sources(&src), 77, b"meta", &mut |p| {
        seen.push(p)
    })
    .unwrap();
    // Appends past the cut after the snapshot do not change it.
    let log = b.open(&src.join("c1/ops.log"), false).unwrap();
    log.write_all_at(b"later", 7000).unwrap();

    assert_eq!(manifest.sequence, 77);
    assert_eq!(manifest.meta, b"meta");
    assert!(
        seen.windows(2).all(|w| w[0].bytes_done <= w[1].bytes_done),
        "progress is monotonic"
    );
    let last = seen.last().unwrap();
    assert_eq!(last.bytes_done, last.bytes_total);
    assert_eq!(last.bytes_total, 9000 + 4096 + 5000 + 4);
    for (name, content) in expected_files() {
        assert_eq!(read(&b, &snap.join(&name)).unwrap(), content, "{name}");
    }
    use std::os::unix::fs::MetadataExt;
    let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
    assert_eq!(
        ino(&snap.join("c1/vectors.idx")),
        ino(&src.join("c1/vectors.idx")),
        "checkpoints are hard-linked"
    );
    assert_ne!(
        ino(&snap.join("c1/payload.log")),
        ino(&src.join("c1/payload.log"))
    );
    let verified = snapshot::verify_snapshot(&b, &snap, &mut no_progress()).unwrap();
    assert_eq!(verified, manifest);
    // A second snapshot into the same directory is refused.
    let again = snapshot::write_snapshot(&b, &snap, &sources(&src), 1, b"", &mut no_progress());
    assert!(matches!(again, Err(Error::InvalidArgument(_))));
}

#[test]
fn bad_sources_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let b = FsBackend;
    let src = tmp.path().join("db");
    fill_sources(&b, &src);
    let snap = tmp.path().join("snap");
    let too_long = [SnapshotSource::new(
        "x",
        src.join("c1/ops.log"),
        Capture::Prefix(7001),
    )];
    let twice = [
        SnapshotSource::new("x", src.join("c1/ops.log"), Capture::Copy),
        SnapshotSource::new("x", src.join("c1/ops.log"), Capture::Copy),
    ];
    let escaping = [SnapshotSource::new(
        "../x",
        src.join("c1/ops.log"),
        Capture::Copy,
    )];
    for bad in [&too_long[..], &twice[..], &escaping[..]] {
        let err = snapshot::write_snapshot(&b, &snap, bad, 0, b"", &mut no_progress());
        assert!(matches!(err, Err(Error::InvalidArgument(_))), "{err:?}");
    }
    assert!(!snap.exists());
}

fn damaged(b: &FsBackend, snap: &Path) -> Error {
    snapshot::verify_snapshot(b, snap, &mut no_progress()).unwrap_err()
}

#[test]
fn damage_is_reported_with_the_file_and_the_block_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let b = FsBackend;
    let (src, snap) = (tmp.path().join("db"), tmp.path().join("snap"));
    fill_sources(&b, &src);
    let all_copies: Vec<SnapshotSource> = sources(&src)
        .into_iter()
        .map(|mut s| {
            if s.capture == Capture::Link {
                s.capture = Capture::Copy;
            }
            s
        })
        .collect();
    snapshot::write_snapshot(&b, &snap, &all_copies, 1, b"", &mut no_progress()).unwrap();
    let target = snap.join("c1/vectors.idx");
    let original = std::fs::read(&target).unwrap();

    let mut flipped = original.clone();
    flipped[5000] ^= 0x40;
    std::fs::write(&target, &flipped).unwrap();
    match damaged(&b, &snap) {
        Error::Corruption { file, offset, .. } => {
            assert_eq!(file, target);
            assert_eq!(offset, 4096, "the start of the damaged 4 KiB block");
        }
        other => panic!("{other}"),
    }

    std::fs::write(&target, &original[..6000]).unwrap();
    match damaged(&b, &snap) {
        Error::Corruption { file, offset, .. } => {
            assert_eq!((file, offset), (target.clone(), 6000))
        }
        other => panic!("{other}"),
    }

    std::fs::remove_file(&target).unwrap();
    let err = damaged(&b, &snap);
    assert!(
        err.to_string().contains("vectors.idx") && err.to_string().contains("missing"),
        "{err}"
    );
    std::fs::write(&target, &original).unwrap();
    snapshot::verify_snapshot(&b, &snap, &mut no_progress()).unwrap();

    let manifest = snap.join(MANIFEST_NAME);
    let mut m = std::fs::read(&manifest).unwrap();
    let last = m.len() - 3;
    m[last] ^= 1;
    std::fs::write(&manifest, &m).unwrap();
    let err = damaged(&b, &snap);
    assert!(
        err.is_corruption() && err.to_string().contains(MANIFEST_NAME),
        "{err}"
    );
    std::fs::remove_file(&manifest).unwrap();
    let err = damaged(&b, &snap);
    assert!(err.to_string().contains("no snapshot manifest"), "{err}");
}

#[test]
fn restore_replaces_the_target_and_refuses_a_damaged_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let b = FsBackend;
    let (src, snap, target) = (
        tmp.path().join("db"),
        tmp.path().join("snap"),
        tmp.path().join("live"),
    );
    fill_sources(&b, &src);
    snapshot::write_snapshot(&b, &snap, &sources(&src), 5, b"", &mut no_progress()).unwrap();
    write_file(&b, &target.join("old-only"), b"old");
    write_file(&b, &target.join("database.manifest"), b"[old]");

    // Damaged: refused, target untouched.
    let copy = snap.join("c1/payload.log");
    let good = std::fs::read(&copy).unwrap();
    let mut bad = good.clone();
    bad[10] ^= 1;
    std::fs::write(&copy, &bad).unwrap();
    let err = snapshot::restore_snapshot(&b, &snap, &target, &mut no_progress()).unwrap_err();
    assert!(matches!(err, Error::Corruption { offset: 0, .. }), "{err}");
    assert_eq!(std::fs::read(target.join("old-only")).unwrap(), b"old");
    std::fs::write(&copy, &good).unwrap();

    let mut seen = Vec::new();
    let m = snapshot::restore_snapshot(&b, &snap, &target, &mut |p| seen.push(p)).unwrap();
    assert_eq!(m.sequence, 5);
    let last = seen.last().unwrap();
    assert_eq!(last.bytes_done, last.bytes_total);
    assert!(!target.join("old-only").exists());
    for (name, content) in expected_files() {
        assert_eq!(
            std::fs::read(target.join(&name)).unwrap(),
            content,
            "{name}"
        );
    }
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(
        names,
        vec!["db", "live", "snap"],
        "no staging, old or marker left"
    );
    assert!(!target.join(".restore-staged").exists());
    assert_eq!(
        snapshot::recover_restore(&b, &target).unwrap(),
        RestoreRecovery::Nothing
    );
    // The restored files are copies: writing them leaves the snapshot valid.
    std::fs::write(target.join("c1/vectors.idx"), b"changed").unwrap();
    snapshot::verify_snapshot(&b, &snap, &mut no_progress()).unwrap();
}

// ---- crashes at every step, on the fault-injecting backend ----

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

fn faulty_with_sources() -> FaultyBackend {
    let b = FaultyBackend::new();
    fill_sources(&b, &p("db"));
    b
}

/// Whether the files named in `expected` under `dir` are exactly those bytes.
fn holds(b: &dyn Backend, dir: &Path, expected: &BTreeMap<String, Vec<u8>>) -> bool {
    expected
        .iter()
        .all(|(name, content)| read(b, &dir.join(name)).as_deref() == Some(content.as_slice()))
}

#[test]
fn a_crash_while_writing_a_snapshot_leaves_no_snapshot_or_a_valid_one() {
    let full = faulty_with_sources();
    let before = full.calls();
    snapshot::write_snapshot(
        &full,
        &p("snap"),
        &sources(&p("db")),
        9,
        b"m",
        &mut no_progress(),
    )
    .unwrap();
    let steps = full.calls() - before;
    assert!(steps > 10, "{steps} mutating calls");
    let mut valid = 0;
    for k in 0..steps {
        let b = faulty_with_sources();
        b.crash_after(k);
        let result = snapshot::write_snapshot(
            &b,
            &p("snap"),
            &sources(&p("db")),
            9,
            b"m",
            &mut no_progress(),
        );
        assert!(
            result.is_err(),
            "crash after {k} calls must fail the snapshot"
        );
        for image in b.crash_images() {
            let disk = &image.backend;
            match snapshot::verify_snapshot(disk, &p("snap"), &mut no_progress()) {
                Ok(m) => {
                    valid += 1;
                    assert_eq!(m.sequence, 9);
                    assert!(
                        holds(disk, &p("snap"), &expected_files()),
                        "{k} {:?}",
                        image.kind
                    );
                }
                Err(e) => assert!(e.is_corruption(), "crash after {k}, {:?}: {e}", image.kind),
            }
            // The sources are never harmed.
            assert!(
                holds(disk, &p("db"), &source_files()),
                "{k} {:?}",
                image.kind
            );
            // And a new snapshot can be taken on the image.
            let again = snapshot::write_snapshot(
                disk,
                &p("snap2"),
                &sources(&p("db")),
                9,
                b"m",
                &mut no_progress(),
            )
            .unwrap();
            assert_eq!(again.files.len(), 4);
        }
    }
    // Only a crash after the manifest's rename can leave a valid snapshot (process crash).
    assert!(valid >= 1);
}

fn source_files() -> BTreeMap<String, Vec<u8>> {
    [
        ("c1/vectors.idx", bytes(1, 9000)),
        ("c1/payload.log", bytes(2, 4096)),
        ("c1/ops.log", bytes(3, 7000)),
        ("database.manifest", b"[c1]".to_vec()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn old_target_files() -> BTreeMap<String, Vec<u8>> {
    [
        ("database.manifest", b"[old]".to_vec()),
        ("old-only", b"old".to_vec()),
        ("c1/vectors.idx", bytes(9, 100)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A backend with sources, a snapshot of them, and (when `with_old`) an old target.
fn restore_setup(with_old: bool) -> FaultyBackend {
    let b = faulty_with_sources();
    snapshot::write_snapshot(
        &b,
        &p("snap"),
        &sources(&p("db")),
        3,
        b"",
        &mut no_progress(),
    )
    .unwrap();
    if with_old {
        for (name, content) in old_target_files() {
            write_file(&b, &p("live").join(name), &content);
        }
    }
    b
}

/// After recovery the target is wholly the old directory or wholly the restored one, and no
/// restore leftovers remain.
fn assert_old_or_new(disk: &dyn Backend, with_old: bool, context: &str) -> bool {
    let target = p("live");
    let new = expected_files();
    let old = old_target_files();
    let is_new = holds(disk, &target, &new)
        && old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .all(|k| read(disk, &target.join(k)).is_none());
    let is_old = if with_old {
        holds(disk, &target, &old)
            && new
                .keys()
                .filter(|k| !old.contains_key(*k))
                .all(|k| read(disk, &target.join(k)).is_none())
    } else {
        !disk.exists(&target).unwrap()
    };
    assert!(is_new || is_old, "{context}: neither old nor new");
    for leftover in [
        snapshot::restore_staging_path(&target),
        snapshot::restore_old_path(&target),
        snapshot::restore_marker_path(&target),
        target.join(".restore-staged"),
    ] {
        assert!(
            !disk.exists(&leftover).unwrap(),
            "{context}: {} left",
            leftover.display()
        );
    }
    // The snapshot itself is intact.
    snapshot::verify_snapshot(disk, &p("snap"), &mut no_progress()).unwrap();
    is_new
}

fn crash_every_step_of_restore(with_old: bool) {
    let full = restore_setup(with_old);
    let before = full.calls();
    snapshot::restore_snapshot(&full, &p("snap"), &p("live"), &mut no_progress()).unwrap();
    let steps = full.calls() - before;
    assert_old_or_new(&full, with_old, "no crash");
    let (mut olds, mut news) = (0, 0);
    for k in 0..steps {
        let b = restore_setup(with_old);
        b.crash_after(k);
        assert!(
            snapshot::restore_snapshot(&b, &p("snap"), &p("live"), &mut no_progress()).is_err()
        );
        for image in b.crash_images() {
            let context = format!(
                "restore crashed after {k} of {steps} calls, {:?}",
                image.kind
            );
            // Recovery itself crashes at every step; recovering again must still work.
            let probe = FaultyBackendProbe::count(&image.backend, &context);
            for j in 0..probe {
                let again = image.backend.crash_images().remove(0).backend;
                again.crash_after(j);
                let _ = snapshot::recover_restore(&again, &p("live"));
                for nested in again.crash_images() {
                    let disk = &nested.backend;
                    snapshot::recover_restore(disk, &p("live"))
                        .unwrap_or_else(|e| panic!("{context}, recovery crashed after {j}: {e}"));
                    assert_old_or_new(
                        disk,
                        with_old,
                        &format!("{context}, recovery crash {j} {:?}", nested.kind),
                    );
                }
            }
            let disk = &image.backend;
            snapshot::recover_restore(disk, &p("live"))
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            if assert_old_or_new(disk, with_old, &context) {
                news += 1;
            } else {
                olds += 1;
            }
        }
    }
    eprintln!("restore: {steps} steps, {olds} old, {news} new");
    assert!(
        olds > 0 && news > 0,
        "both outcomes occur ({olds} old, {news} new)"
    );
}

/// How many mutating calls a recovery of `disk` makes (on a copy).
struct FaultyBackendProbe;

impl FaultyBackendProbe {
    fn count(disk: &FaultyBackend, context: &str) -> u64 {
        let copy = disk.crash_images().remove(0).backend;
        let before = copy.calls();
        snapshot::recover_restore(&copy, &p("live")).unwrap_or_else(|e| panic!("{context}: {e}"));
        copy.calls() - before
    }
}

#[test]
fn a_crash_at_any_step_of_restore_leaves_the_old_or_the_new_directory() {
    crash_every_step_of_restore(true);
}

#[test]
fn a_crash_during_a_first_restore_leaves_no_directory_or_the_new_one() {
    crash_every_step_of_restore(false);
}

#[test]
fn a_restore_marker_without_either_tree_is_reported_not_guessed() {
    let b = restore_setup(true);
    write_file(&b, &snapshot::restore_marker_path(&p("live")), b"x");
    let err = snapshot::recover_restore(&b, &p("live")).unwrap_err();
    assert!(
        err.is_corruption() && err.to_string().contains("restore-marker"),
        "{err}"
    );
    let _: Option<SnapshotManifest> = None;
}

#[test]
fn a_log_cut_at_a_record_boundary_opens_with_exactly_the_records_before_the_cut() {
    use nearstore_storage::log::RecordLog;
    let tmp = tempfile::tempdir().unwrap();
    let b = FsBackend;
    let src = tmp.path().join("ops.log");
    let magic = *b"NSTESTLG";
    RecordLog::create(&b, &src, &magic, 0).unwrap();
    let (mut log, _, _) = RecordLog::open(&b, &src, &magic, |_, _| Ok(())).unwrap();
    for i in 0..3u8 {
        log.append(&[i; 100]).unwrap();
    }
    log.sync().unwrap();
    let cut = log.end();
    for i in 3..5u8 {
        log.append(&[i; 100]).unwrap();
    }
    log.sync().unwrap(); // the source now claims more than the cut

    let snap = tmp.path().join("snap");
    let sources = [
        SnapshotSource::new("plain.log", &src, Capture::Prefix(cut)),
        SnapshotSource::new("ops.log", &src, Capture::LogPrefix(cut)),
    ];
    snapshot::write_snapshot(&b, &snap, &sources, 3, b"", &mut no_progress()).unwrap();
    snapshot::verify_snapshot(&b, &snap, &mut no_progress()).unwrap();

    let plain = RecordLog::open(&b, &snap.join("plain.log"), &magic, |_, _| Ok(()));
    assert!(
        matches!(plain, Err(Error::Corruption { .. })),
        "a plain prefix keeps the source's longer claim"
    );
    let mut bodies = Vec::new();
    let (fixed, _, _) = RecordLog::open(&b, &snap.join("ops.log"), &magic, |_, body| {
        bodies.push(body[0]);
        Ok(())
    })
    .unwrap();
    assert_eq!(bodies, vec![0, 1, 2]);
    assert_eq!(fixed.durable_len(), cut);
    // The cut must leave the header whole.
    let bad = [SnapshotSource::new("x.log", &src, Capture::LogPrefix(40))];
    let err = snapshot::write_snapshot(
        &b,
        &tmp.path().join("snap2"),
        &bad,
        0,
        b"",
        &mut no_progress(),
    );
    assert!(matches!(err, Err(Error::InvalidArgument(_))), "{err:?}");
}

#[test]
fn restoring_into_or_from_inside_itself_is_refused() {
    let b = restore_setup(true);
    for (from, to) in [
        ("snap", "snap"),
        ("snap", "snap/inner"),
        ("live/snap", "live"),
    ] {
        let err = snapshot::restore_snapshot(&b, &p(from), &p(to), &mut no_progress());
        assert!(
            matches!(err, Err(Error::InvalidArgument(_))),
            "{from} -> {to}: {err:?}"
        );
    }
}

mod damage {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any damage to any file of a snapshot (bit flips, truncation, extension) is refused
        /// as corruption naming that file, at the damaged 4 KiB block for a data file; never
        /// a panic, never accepted.
        #[test]
        fn any_damage_is_named_never_accepted(
            which in 0usize..5,
            at in any::<prop::sample::Index>(),
            mask in 1u8..=255,
            how in 0u8..3,
        ) {
            let b = faulty_with_sources();
            snapshot::write_snapshot(&b, &p("snap"), &sources(&p("db")), 1, b"m", &mut no_progress())
                .unwrap();
            let names = ["c1/vectors.idx", "c1/payload.log", "c1/ops.log", "database.manifest", MANIFEST_NAME];
            let path = p("snap").join(names[which]);
            let mut content = b.read_file(&path).unwrap();
            // A hard-linked checkpoint shares its bytes with the source: damage both.
            let offset = at.index(content.len());
            match how {
                0 => content[offset] ^= mask,
                1 => content.truncate(offset),
                _ => content.push(mask),
            }
            b.replace_file(&path, &content);
            match snapshot::verify_snapshot(&b, &p("snap"), &mut no_progress()) {
                Err(Error::Corruption { file, offset: reported, .. }) => {
                    prop_assert_eq!(&file, &path);
                    if which < 4 && how == 0 {
                        prop_assert_eq!(reported, offset as u64 / 4096 * 4096);
                    }
                }
                other => prop_assert!(false, "{} {how}: {other:?}", names[which]),
            }
        }
    }
}
