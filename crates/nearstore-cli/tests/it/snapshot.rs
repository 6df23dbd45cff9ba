//! `nearstore snapshot` / `nearstore restore`: a database round-trips through one archive
//! file with progress lines; a damaged archive is refused naming the entry and leaves the
//! data directory as it was.

use nearstore::{Database, DistanceMetric, Point};
use serde_json::json;

use crate::nearstore;

fn points(db: &Database, name: &str) -> Vec<(u64, Option<serde_json::Value>)> {
    let c = db.get_vector_collection(name).unwrap();
    let mut out: Vec<_> = c
        .get(&(0..100).collect::<Vec<u64>>())
        .unwrap()
        .into_iter()
        .flatten()
        .map(|p| (p.id, p.payload))
        .collect();
    out.sort_by_key(|(id, _)| *id);
    out
}

#[test]
fn a_database_round_trips_through_one_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    {
        let db = Database::open(&data).unwrap();
        let a = db
            .create_collection("a", 2, DistanceMetric::Euclidean)
            .unwrap();
        let b = db
            .create_collection("b", 3, DistanceMetric::Cosine)
            .unwrap();
        a.upsert(
            (0..20)
                .map(|i| Point::new(i, vec![i as f32, 1.0], Some(json!({"i": i}))))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        b.upsert(vec![Point::new(7, vec![1.0, 0.0, 0.0], None)])
            .unwrap();
    }
    let archive = tmp.path().join("db.snapshot");
    let out = nearstore()
        .arg("snapshot")
        .arg(&data)
        .arg(&archive)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("snapshot: 100%"), "{stderr}");
    assert!(stderr.contains("archive: 100%"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("snapshot of 2 collection(s)"), "{stdout}");
    assert!(stdout.contains("sha256 "), "{stdout}");
    assert!(archive.is_file());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A second snapshot onto the same file is refused.
    let again = nearstore()
        .arg("snapshot")
        .arg(&data)
        .arg(&archive)
        .output()
        .unwrap();
    assert!(!again.status.success());

    // Change the database, then restore the archive over it.
    {
        let db = Database::open(&data).unwrap();
        db.drop_collection("b").unwrap();
        let a = db.get_vector_collection("a").unwrap();
        a.delete(&[1, 2, 3]).unwrap();
        db.create_collection("c", 2, DistanceMetric::Cosine)
            .unwrap();
    }
    let out = nearstore()
        .arg("restore")
        .arg(&archive)
        .arg(&data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("unpack: 100%") && stderr.contains("restore: 100%"),
        "{stderr}"
    );
    let db = Database::open(&data).unwrap();
    let mut names = db.list_collections();
    names.sort();
    assert_eq!(names, vec!["a".to_string(), "b".to_string()]);
    let a = points(&db, "a");
    assert_eq!(a.len(), 20);
    assert_eq!(a[2], (2, Some(json!({"i": 2}))));
    assert_eq!(points(&db, "b"), vec![(7, None)]);
    drop(db);
    // A restore into a directory that does not exist yet creates it.
    let fresh = tmp.path().join("fresh");
    let out = nearstore()
        .arg("restore")
        .arg(&archive)
        .arg(&fresh)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(points(&Database::open(&fresh).unwrap(), "a").len(), 20);
}

#[test]
fn a_damaged_archive_is_refused_and_the_database_is_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    {
        let db = Database::open(&data).unwrap();
        let a = db
            .create_collection("a", 2, DistanceMetric::Euclidean)
            .unwrap();
        a.upsert(
            (0..50)
                .map(|i| Point::new(i, vec![i as f32, 2.0], None))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    }
    let archive = tmp.path().join("db.snapshot");
    let out = nearstore()
        .arg("snapshot")
        .arg(&data)
        .arg(&archive)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut bytes = std::fs::read(&archive).unwrap();
    // Inside the first entry's data (the manifest: a checksummed file).
    bytes[600] ^= 0x40;
    std::fs::write(&archive, &bytes).unwrap();
    {
        let db = Database::open(&data).unwrap();
        db.get_vector_collection("a").unwrap().delete(&[0]).unwrap();
    }
    let out = nearstore()
        .arg("restore")
        .arg(&archive)
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("db.snapshot") && stderr.contains("SNAPSHOT"),
        "{stderr}"
    );
    let db = Database::open(&data).unwrap();
    assert_eq!(
        points(&db, "a").len(),
        49,
        "the data directory is as it was"
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_archive_inside_the_data_directory_is_refused_however_it_is_spelled() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    {
        let db = Database::open(&data).unwrap();
        db.create_collection("a", 2, DistanceMetric::Euclidean)
            .unwrap();
    }
    std::os::unix::fs::symlink(&data, tmp.path().join("link")).unwrap();
    // Relative (from the data directory's parent), through `..`, through a symbolic link.
    for out in [
        "data/b.snapshot",
        "other/../data/b.snapshot",
        "link/b.snapshot",
    ] {
        std::fs::create_dir_all(tmp.path().join("other")).unwrap();
        let run = nearstore()
            .current_dir(tmp.path())
            .arg("snapshot")
            .arg("data")
            .arg(out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{out}: accepted");
        assert!(
            stderr.contains("inside the data directory"),
            "{out}: {stderr}"
        );
        assert!(!data.join("b.snapshot").exists(), "{out}");
    }
    // The same spellings of an existing archive are refused by restore.
    let inside = data.join("x.snapshot");
    std::fs::write(&inside, b"not read").unwrap();
    let run = nearstore()
        .current_dir(tmp.path())
        .arg("restore")
        .arg("link/x.snapshot")
        .arg("data")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success() && stderr.contains("inside the data directory"),
        "{stderr}"
    );
}
