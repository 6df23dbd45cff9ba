//! Snapshot archives: pack and unpack round trips, every flipped byte refused or harmless,
//! and hostile archives (links, traversal, absolute paths, oversize, extra and missing
//! entries, limits) refused with the entry named and nothing left behind.

use std::path::{Path, PathBuf};

use nearstore_storage::backend::Backend;
use nearstore_storage::snapshot::archive::{
    UnpackLimits, pack_snapshot, unpack_snapshot, unpack_snapshot_file, unpack_staging_path,
    write_archive,
};
use nearstore_storage::snapshot::{
    self, Capture, MANIFEST_NAME, Progress, SnapshotManifest, SnapshotSource,
};
use nearstore_storage::{Error, FaultyBackend, FsBackend};

fn put(b: &dyn Backend, path: &Path, bytes: &[u8]) {
    b.create_dir_all(path.parent().unwrap()).unwrap();
    let f = b.open(path, true).unwrap();
    f.set_len(0).unwrap();
    f.write_all_at(bytes, 0).unwrap();
    f.sync().unwrap();
}

fn get(b: &dyn Backend, path: &Path) -> Vec<u8> {
    let f = b.open(path, false).unwrap();
    let mut buf = vec![0; f.len().unwrap() as usize];
    f.read_exact_at(&mut buf, 0).unwrap();
    buf
}

fn bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed))
        .collect()
}

fn quiet() -> impl FnMut(Progress) {
    |_| {}
}

/// A long name, past ustar's 100 + 155 bytes, to need a GNU long-name entry.
fn long_name() -> String {
    format!("{}/{}/segment.dat", "d".repeat(150), "e".repeat(150))
}

/// Files of a snapshot: several blocks, an empty file, a nested and a long name.
fn files() -> Vec<(String, Vec<u8>)> {
    vec![
        ("c1/vectors.dat".into(), bytes(1, 9000)),
        ("c1/empty".into(), Vec::new()),
        ("database.manifest".into(), b"[c1]".to_vec()),
        (long_name(), bytes(2, 700)),
    ]
}

/// Writes [`files`] under `src` and a snapshot of them into `snap`.
fn make_snapshot(b: &dyn Backend, root: &Path) -> (PathBuf, SnapshotManifest) {
    let (src, snap) = (root.join("src"), root.join("snap"));
    let mut sources = Vec::new();
    for (name, content) in files() {
        put(b, &src.join(&name), &content);
        sources.push(SnapshotSource::new(&name, src.join(&name), Capture::Copy));
    }
    let manifest = snapshot::write_snapshot(b, &snap, &sources, 9, b"m", &mut quiet()).unwrap();
    (snap, manifest)
}

fn archive_bytes(b: &dyn Backend, snap: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    write_archive(b, snap, &mut out, &mut quiet()).unwrap();
    out
}

fn unpack_mem(b: &FaultyBackend, archive: &[u8], dest: &Path) -> Result<SnapshotManifest, Error> {
    unpack_snapshot(
        b,
        Path::new("upload.tar"),
        &mut &archive[..],
        dest,
        UnpackLimits::default(),
        &mut quiet(),
    )
}

#[test]
fn pack_then_unpack_gives_the_same_verified_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let b = FsBackend;
    let (snap, manifest) = make_snapshot(&b, tmp.path());
    let archive = tmp.path().join("out/c1.snapshot");
    b.create_dir_all(archive.parent().unwrap()).unwrap();
    let mut seen = Vec::new();
    let packed = pack_snapshot(&b, &snap, &archive, &mut |p| seen.push(p)).unwrap();
    assert_eq!(packed, manifest);
    let last = seen.last().unwrap();
    assert_eq!((last.bytes_done, last.bytes_total), (9_704, 9_704));
    assert!(!tmp.path().join("out/c1.snapshot.tmp").exists());

    // Deterministic, and an ordinary tar file.
    assert_eq!(std::fs::read(&archive).unwrap(), archive_bytes(&b, &snap));
    let mut listed = Vec::new();
    for entry in tar::Archive::new(std::fs::File::open(&archive).unwrap())
        .entries()
        .unwrap()
    {
        listed.push(entry.unwrap().path().unwrap().display().to_string());
    }
    let mut want = vec![MANIFEST_NAME.to_owned()];
    want.extend(manifest.files.iter().map(|f| f.name.clone()));
    assert_eq!(listed, want);

    let dest = tmp.path().join("restored");
    let mut seen = Vec::new();
    let unpacked = unpack_snapshot_file(&b, &archive, &dest, UnpackLimits::default(), &mut |p| {
        seen.push(p)
    })
    .unwrap();
    assert_eq!(unpacked, manifest);
    assert_eq!(seen.last().unwrap().bytes_done, 9_704);
    assert_eq!(
        snapshot::verify_snapshot(&b, &dest, &mut quiet()).unwrap(),
        manifest
    );
    for (name, content) in files() {
        assert_eq!(get(&b, &dest.join(&name)), content, "{name}");
    }
    assert!(!unpack_staging_path(&dest).exists());

    let again = unpack_snapshot_file(&b, &archive, &dest, UnpackLimits::default(), &mut quiet());
    assert!(
        matches!(&again, Err(Error::InvalidArgument(m)) if m.contains("already exists")),
        "{again:?}"
    );
}

#[test]
fn a_damaged_snapshot_is_not_packed() {
    let tmp = tempfile::tempdir().unwrap();
    let b = FsBackend;
    let (snap, _) = make_snapshot(&b, tmp.path());
    let victim = snap.join("c1/vectors.dat");
    let mut content = get(&b, &victim);
    content[5000] ^= 0x10;
    put(&b, &victim, &content);
    let archive = tmp.path().join("c1.snapshot");
    let err = pack_snapshot(&b, &snap, &archive, &mut quiet()).unwrap_err();
    match &err {
        Error::Corruption { file, offset, .. } => {
            assert_eq!(file, &victim);
            assert_eq!(*offset, 4096, "the block holding byte 5000");
        }
        other => panic!("{other:?}"),
    }
    assert!(!archive.exists());
    assert!(!tmp.path().join("c1.snapshot.tmp").exists());
    let inside = pack_snapshot(&b, &snap, &snap.join("x.tar"), &mut quiet());
    assert!(
        matches!(inside, Err(Error::InvalidArgument(_))),
        "{inside:?}"
    );
}

#[test]
fn every_flipped_byte_is_refused_or_changes_nothing() {
    let b = FaultyBackend::new();
    let (snap, manifest) = make_snapshot(&b, Path::new("/w"));
    let archive = archive_bytes(&b, &snap);
    let mut refused = 0;
    for at in 0..archive.len() {
        let mut damaged = archive.clone();
        damaged[at] ^= 0x01;
        let dest = PathBuf::from(format!("/out/{at}"));
        match unpack_mem(&b, &damaged, &dest) {
            Ok(got) => {
                // Only bytes nobody reads (padding, the end marker) may flip unnoticed.
                assert_eq!(got, manifest, "byte {at}");
                for (name, content) in files() {
                    assert_eq!(get(&b, &dest.join(&name)), content, "byte {at}: {name}");
                }
                b.remove_dir_all(&dest).unwrap();
            }
            Err(e) => {
                refused += 1;
                assert!(
                    matches!(e, Error::Corruption { ref file, .. } if file == Path::new("upload.tar")),
                    "byte {at}: {e}"
                );
                assert!(!b.exists(&dest).unwrap(), "byte {at}: no destination");
                assert!(!b.exists(&unpack_staging_path(&dest)).unwrap());
            }
        }
    }
    let data: u64 = manifest.total_bytes();
    assert!(
        refused as u64 > data,
        "{refused} refusals of {} bytes",
        archive.len()
    );
}

#[test]
fn a_flipped_data_byte_is_named_by_entry_and_block() {
    let b = FaultyBackend::new();
    let (snap, _) = make_snapshot(&b, Path::new("/w"));
    let archive = archive_bytes(&b, &snap);
    // Find the data of c1/vectors.dat (9000 bytes of pattern 1) and flip byte 8200 of it.
    let needle = bytes(1, 9000);
    let start = archive
        .windows(64)
        .position(|w| w == &needle[..64])
        .unwrap();
    let mut damaged = archive.clone();
    damaged[start + 8200] ^= 0x80;
    let err = unpack_mem(&b, &damaged, Path::new("/out/x")).unwrap_err();
    match &err {
        Error::Corruption { offset, reason, .. } => {
            assert_eq!(*offset, start as u64 + 8192, "{err}");
            assert!(reason.contains("c1/vectors.dat"), "{err}");
            assert!(reason.contains("block at byte 8192"), "{err}");
        }
        other => panic!("{other:?}"),
    }
}

/// A tar entry written with exactly the given name bytes and type (no checks).
fn raw_entry(out: &mut Vec<u8>, name: &[u8], kind: tar::EntryType, data: &[u8]) {
    let mut header = tar::Header::new_ustar();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0; 1024]);
}

/// A snapshot of one 10-byte file `f` (so hostile archives can carry its manifest).
fn one_file_snapshot(b: &FaultyBackend) -> (Vec<u8>, Vec<u8>) {
    put(b, Path::new("/s/src/f"), b"0123456789");
    let sources = [SnapshotSource::new("f", "/s/src/f", Capture::Copy)];
    let snap = Path::new("/s/snap");
    snapshot::write_snapshot(b, snap, &sources, 1, b"", &mut quiet()).unwrap();
    (get(b, &snap.join(MANIFEST_NAME)), b"0123456789".to_vec())
}

fn refusal(b: &FaultyBackend, archive: &[u8], limits: UnpackLimits) -> String {
    let dest = Path::new("/hostile/dest");
    let err = unpack_snapshot(
        b,
        Path::new("upload.tar"),
        &mut &archive[..],
        dest,
        limits,
        &mut quiet(),
    )
    .unwrap_err();
    assert!(!b.exists(dest).unwrap(), "{err}");
    assert!(!b.exists(&unpack_staging_path(dest)).unwrap(), "{err}");
    err.to_string()
}

#[test]
fn hostile_archives_are_refused_naming_the_entry() {
    use tar::EntryType::{Directory, Link, Regular, Symlink, XHeader};
    let b = FaultyBackend::new();
    let (manifest, data) = one_file_snapshot(&b);
    let limits = UnpackLimits::default();
    let with = |entries: &[(&[u8], tar::EntryType, &[u8])]| {
        let mut out = Vec::new();
        raw_entry(&mut out, MANIFEST_NAME.as_bytes(), Regular, &manifest);
        for (name, kind, body) in entries {
            raw_entry(&mut out, name, *kind, body);
        }
        end(&mut out);
        out
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (with(&[(b"f", Symlink, b"")]), "\"f\" is a symbolic link"),
        (with(&[(b"f", Link, b"")]), "\"f\" is a hard link"),
        (with(&[(b"f", Directory, b"")]), "\"f\" is a directory"),
        (with(&[(b"f", XHeader, b"")]), "a PAX extended header"),
        (with(&[(b"/etc/f", Regular, &data)]), "\"/etc/f\""),
        (with(&[(b"../f", Regular, &data)]), "\"../f\""),
        (with(&[(b"a/../../f", Regular, &data)]), "\"a/../../f\""),
        (
            with(&[(b"g", Regular, &data)]),
            "entry \"g\" is not the next file",
        ),
        (
            with(&[(b"f", Regular, b"0123456789 and more")]),
            "entry \"f\" is 19 bytes, the snapshot manifest records 10",
        ),
        (with(&[(b"f", Regular, b"0123")]), "entry \"f\" is 4 bytes"),
        (
            with(&[(b"f", Regular, b"0123456788")]),
            "the 4 KiB block at byte 0 of \"f\"",
        ),
        (with(&[]), "the archive ends before \"f\""),
        (
            with(&[(b"f", Regular, &data), (b"extra", Regular, b"x")]),
            "entry \"extra\" is not listed",
        ),
        (
            with(&[(b"f", Regular, &data), (b"f", Regular, &data)]),
            "entry \"f\" is not listed",
        ),
    ];
    for (archive, expected) in cases {
        let message = refusal(&b, &archive, limits);
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        assert!(message.contains("upload.tar"), "{message}");
    }

    // The manifest must come first.
    let mut first_file = Vec::new();
    raw_entry(&mut first_file, b"f", Regular, &data);
    raw_entry(
        &mut first_file,
        MANIFEST_NAME.as_bytes(),
        Regular,
        &manifest,
    );
    end(&mut first_file);
    assert!(refusal(&b, &first_file, limits).contains("the first entry is \"f\""));
    assert!(refusal(&b, &[0u8; 1024], limits).contains("empty archive"));
    assert!(refusal(&b, b"not a tar file at all", limits).contains("upload.tar"));

    // Long names: bounded, one per file.
    let mut long = Vec::new();
    raw_entry(&mut long, MANIFEST_NAME.as_bytes(), Regular, &manifest);
    raw_entry(
        &mut long,
        b"././@LongLink",
        tar::EntryType::GNULongName,
        &[b'a'; 5000],
    );
    end(&mut long);
    assert!(refusal(&b, &long, limits).contains("long-name entry of 5000 bytes"));
    let mut twice = Vec::new();
    raw_entry(&mut twice, MANIFEST_NAME.as_bytes(), Regular, &manifest);
    raw_entry(
        &mut twice,
        b"././@LongLink",
        tar::EntryType::GNULongName,
        b"f\0",
    );
    raw_entry(
        &mut twice,
        b"././@LongLink",
        tar::EntryType::GNULongName,
        b"f\0",
    );
    end(&mut twice);
    assert!(refusal(&b, &twice, limits).contains("two long-name entries"));
    // A long name is checked like any name.
    let mut escaping = Vec::new();
    raw_entry(&mut escaping, MANIFEST_NAME.as_bytes(), Regular, &manifest);
    raw_entry(
        &mut escaping,
        b"././@LongLink",
        tar::EntryType::GNULongName,
        b"../../f\0",
    );
    raw_entry(&mut escaping, b"f", Regular, &data);
    end(&mut escaping);
    assert!(refusal(&b, &escaping, limits).contains("\"../../f\""));

    // The archive is good otherwise: the same entries unpack.
    let good = with(&[(b"f", Regular, &data)]);
    let dest = Path::new("/good/dest");
    unpack_snapshot(
        &b,
        Path::new("u"),
        &mut &good[..],
        dest,
        limits,
        &mut quiet(),
    )
    .unwrap();
    assert_eq!(get(&b, &dest.join("f")), data);
}

#[test]
fn limits_are_checked_before_files_are_written() {
    let b = FaultyBackend::new();
    let (snap, manifest) = make_snapshot(&b, Path::new("/w"));
    let archive = archive_bytes(&b, &snap);
    let total = manifest.total_bytes();
    let tight = UnpackLimits {
        max_total_bytes: total - 1,
        ..UnpackLimits::default()
    };
    let message = refusal(&b, &archive, tight);
    assert!(
        message.contains("largest entry is \"c1/vectors.dat\""),
        "{message}"
    );
    let few = UnpackLimits {
        max_files: 3,
        ..UnpackLimits::default()
    };
    assert!(refusal(&b, &archive, few).contains("lists 4 files"));
    let small_manifest = UnpackLimits {
        max_manifest_bytes: 16,
        ..UnpackLimits::default()
    };
    assert!(refusal(&b, &archive, small_manifest).contains("manifest entry is"));
    let exact = UnpackLimits {
        max_total_bytes: total,
        max_files: 4,
        ..UnpackLimits::default()
    };
    let dest = Path::new("/limits/ok");
    let got = unpack_snapshot(
        &b,
        Path::new("u"),
        &mut &archive[..],
        dest,
        exact,
        &mut quiet(),
    );
    assert_eq!(got.unwrap(), manifest);
}

/// The fuzz target's seeds are today's archives, byte for byte (a golden file of the
/// format: packing is deterministic). `NEARSTORE_WRITE_FUZZ_SEEDS=1` rewrites them.
#[test]
fn fuzz_seeds_are_archives_of_the_current_format() {
    let b = FaultyBackend::new();
    let (snap, _) = make_snapshot(&b, Path::new("/w"));
    let four = archive_bytes(&b, &snap);
    one_file_snapshot(&b);
    let one = archive_bytes(&b, Path::new("/s/snap"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/snapshot_archive");
    for (name, archive) in [("seed-one-file", one), ("seed-four-files", four)] {
        let path = dir.join(name);
        if std::env::var_os("NEARSTORE_WRITE_FUZZ_SEEDS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &archive).unwrap();
        }
        let kept = std::fs::read(&path).unwrap();
        assert!(
            kept == archive,
            "{name} differs: NEARSTORE_WRITE_FUZZ_SEEDS=1 rewrites it"
        );
        let dest = PathBuf::from(format!("/seed/{name}"));
        unpack_mem(&b, &kept, &dest).unwrap();
    }
}
