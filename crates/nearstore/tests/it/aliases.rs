//! Collection aliases: resolution wherever a collection name is taken, the refusals, the
//! all-or-nothing batch, durability across reopens, and crash safety at every I/O call.

use std::path::Path;
use std::sync::Arc;

use nearstore::storage::FaultyBackend;
use nearstore::{AliasChange, Database, DistanceMetric, ErrorKind, Point};
use serde_json::json;

use super::temp_db;

fn create(alias: &str, collection: &str) -> AliasChange {
    AliasChange::Create {
        alias: alias.into(),
        collection: collection.into(),
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, c)| (a.to_string(), c.to_string()))
        .collect()
}

#[test]
fn an_alias_is_usable_wherever_a_collection_name_is() {
    let (_dir, db) = temp_db();
    let docs = db
        .create_collection("docs", 2, DistanceMetric::Euclidean)
        .unwrap();
    docs.upsert(vec![Point::new(1, vec![0.0, 1.0], Some(json!({"k": 1})))])
        .unwrap();
    db.create_alias("prod", "docs").unwrap();
    let via = db.get_vector_collection("prod").unwrap();
    assert_eq!(via.name(), "docs");
    assert_eq!(via.search(&[0.0, 1.0], 1).unwrap()[0].point.id, 1);
    let rows = db
        .execute("SELECT id FROM prod WHERE k = 1", &serde_json::Value::Null)
        .unwrap();
    assert_eq!(rows.rows.len(), 1);
    assert_eq!(db.list_aliases(), pairs(&[("prod", "docs")]));
    assert_eq!(db.collection_aliases("docs").unwrap(), ["prod"]);
    // Re-pointing: create on an existing alias moves it (Qdrant's rule).
    db.create_collection("docs2", 2, DistanceMetric::Euclidean)
        .unwrap();
    db.create_alias("prod", "docs2").unwrap();
    assert_eq!(db.get_vector_collection("prod").unwrap().name(), "docs2");
    db.rename_alias("prod", "live").unwrap();
    assert_eq!(db.list_aliases(), pairs(&[("live", "docs2")]));
    assert_eq!(
        db.get_vector_collection("prod").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    db.delete_alias("live").unwrap();
    assert!(db.list_aliases().is_empty());
}

#[test]
fn aliases_to_missing_collections_shadowing_names_and_missing_aliases_are_refused() {
    let (_dir, db) = temp_db();
    db.create_collection("docs", 2, DistanceMetric::Euclidean)
        .unwrap();
    db.create_collection("other", 2, DistanceMetric::Euclidean)
        .unwrap();
    let e = db.create_alias("a", "nope").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = db.create_alias("other", "docs").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert!(e.to_string().contains("a collection"), "{e}");
    db.create_alias("a", "docs").unwrap();
    // An alias does not name another alias.
    assert_eq!(
        db.create_alias("b", "a").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // A collection cannot take an alias's name.
    let e = db
        .create_collection("a", 2, DistanceMetric::Euclidean)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert!(e.to_string().contains("an alias"), "{e}");
    assert_eq!(
        db.delete_alias("zz").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        db.rename_alias("zz", "y").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        db.rename_alias("a", "other").unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        db.create_alias("../x", "docs").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        db.collection_aliases("nope").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // Dropping by an alias's name is not dropping its collection.
    assert_eq!(
        db.drop_collection("a").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(db.list_aliases(), pairs(&[("a", "docs")]));
}

#[test]
fn a_batch_of_alias_changes_is_all_or_nothing() {
    let (_dir, db) = temp_db();
    db.create_collection("docs", 2, DistanceMetric::Euclidean)
        .unwrap();
    db.create_alias("old", "docs").unwrap();
    // The second change fails: the first is not applied either.
    let err = db
        .update_aliases(&[create("new", "docs"), create("bad", "missing")])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(db.list_aliases(), pairs(&[("old", "docs")]));
    // The switch Qdrant documents: delete and create in one request.
    db.update_aliases(&[
        AliasChange::Delete {
            alias: "old".into(),
        },
        create("new", "docs"),
    ])
    .unwrap();
    assert_eq!(db.list_aliases(), pairs(&[("new", "docs")]));
}

#[test]
fn aliases_survive_a_reopen_and_dropping_a_collection_drops_its_aliases() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        db.create_collection("a", 2, DistanceMetric::Euclidean)
            .unwrap();
        db.create_collection("b", 2, DistanceMetric::Euclidean)
            .unwrap();
        db.create_alias("x", "a").unwrap();
        db.create_alias("y", "a").unwrap();
        db.create_alias("z", "b").unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(
        db.list_aliases(),
        pairs(&[("x", "a"), ("y", "a"), ("z", "b")])
    );
    db.drop_collection("a").unwrap();
    assert_eq!(db.list_aliases(), pairs(&[("z", "b")]));
    // The freed alias name can now be a collection.
    db.create_collection("x", 2, DistanceMetric::Euclidean)
        .unwrap();
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.list_aliases(), pairs(&[("z", "b")]));
    assert_eq!(db.list_collections(), ["b", "x"]);
    assert_eq!(db.get_vector_collection("z").unwrap().name(), "b");
}

/// The catalog steps of the crash test, and the alias list after each.
fn catalog_steps(db: &Database, step: usize) -> nearstore::Result<()> {
    match step {
        0 => db
            .create_collection("a", 2, DistanceMetric::Euclidean)
            .map(drop),
        1 => db
            .create_collection("b", 2, DistanceMetric::Euclidean)
            .map(drop),
        2 => db.create_alias("x", "a"),
        3 => db.update_aliases(&[
            AliasChange::Rename {
                from: "x".into(),
                to: "y".into(),
            },
            create("z", "b"),
        ]),
        4 => db.drop_collection("a"),
        _ => db.delete_alias("z"),
    }
}

const STATES: [&[(&str, &str)]; 7] = [
    &[],
    &[],
    &[],
    &[("x", "a")],
    &[("y", "a"), ("z", "b")],
    &[("z", "b")],
    &[],
];

#[test]
fn a_crash_at_any_io_call_leaves_the_aliases_of_a_completed_step() {
    let run = |backend: &FaultyBackend| -> usize {
        let Ok(db) = Database::open_with(Arc::new(backend.clone()), Path::new("/db")) else {
            return 0;
        };
        (0..6)
            .take_while(|&s| catalog_steps(&db, s).is_ok())
            .count()
    };
    let clean = FaultyBackend::new();
    assert_eq!(run(&clean), 6);
    let calls = clean.calls();
    assert!(calls > 10);
    let mut images = 0;
    for n in 0..calls {
        let backend = FaultyBackend::new();
        backend.crash_after(n);
        let done = run(&backend);
        for image in backend.crash_images() {
            let db = Database::open_with(Arc::new(image.backend), Path::new("/db"))
                .unwrap_or_else(|e| panic!("crash at call {n}: unopenable: {e}"));
            let aliases = db.list_aliases();
            // Every acknowledged step is there, the one in flight may be.
            let ok = (done..=(done + 1).min(6)).any(|i| aliases == pairs(STATES[i]));
            assert!(ok, "crash at call {n} after {done} steps: {aliases:?}");
            for (alias, target) in &aliases {
                assert_eq!(&db.get_vector_collection(alias).unwrap().name(), target);
            }
            images += 1;
        }
    }
    assert!(images as u64 >= calls);
}
