//! Databases: open, lock, create / list / drop collections, flush, names, reopen.

use nearstore::{
    CollectionConfig, Database, DistanceMetric, Durability, ErrorKind, HnswParams, Point,
};

use super::{filled, temp_db, vector_for};

#[test]
fn collections_are_created_listed_fetched_and_dropped() {
    let (_dir, db) = temp_db();
    assert!(db.list_collections().is_empty());
    db.create_collection("b", 3, DistanceMetric::Cosine)
        .unwrap();
    db.create_collection("a", 4, DistanceMetric::DotProduct)
        .unwrap();
    assert_eq!(db.list_collections(), vec!["a", "b"]);
    let a = db.get_vector_collection("a").unwrap();
    assert_eq!(a.name(), "a");
    assert_eq!(a.config().dim, 4);
    assert_eq!(a.config().metric, DistanceMetric::DotProduct);
    db.drop_collection("a").unwrap();
    assert_eq!(db.list_collections(), vec!["b"]);
    let err = db.get_vector_collection("a").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("\"a\""), "{err}");
    // A handle held across the drop fails clearly.
    let err = a
        .upsert(vec![Point::new(1, vec![0.0; 4], None)])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        db.drop_collection("a").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn an_existing_collection_or_a_bad_name_or_config_is_refused() {
    let (_dir, db) = temp_db();
    db.create_collection("docs", 3, DistanceMetric::Cosine)
        .unwrap();
    let err = db
        .create_collection("docs", 3, DistanceMetric::Cosine)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    for bad in ["", "../etc", "a/b", "..", "-rf", "x y"] {
        let err = db
            .create_collection(bad, 3, DistanceMetric::Cosine)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}: {err}");
    }
    let err = db
        .create_collection("zero", 0, DistanceMetric::Cosine)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let mut config = CollectionConfig::new(3, DistanceMetric::Cosine);
    config.hnsw.m = 0;
    let err = db
        .create_collection_with_options("badm", config)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(db.list_collections(), vec!["docs"]);
}

#[test]
fn a_second_open_of_the_same_directory_is_a_conflict() {
    let (dir, _db) = temp_db();
    let err = Database::open(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[test]
fn everything_survives_a_reopen_with_its_options() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let config = CollectionConfig {
            hnsw: HnswParams {
                m: 8,
                ..HnswParams::default()
            },
            durability: Durability::PerWrite,
            ..CollectionConfig::new(6, DistanceMetric::Euclidean)
        };
        let c = db.create_collection_with_options("opts", config).unwrap();
        c.upsert(vec![Point::new(5, vector_for(5, 0, 6), None)])
            .unwrap();
        filled(&db, "filled", 8, 300);
        db.create_collection("gone", 2, DistanceMetric::Cosine)
            .unwrap();
        db.drop_collection("gone").unwrap();
        db.flush().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.list_collections(), vec!["filled", "opts"]);
    let opts = db.get_vector_collection("opts").unwrap();
    assert_eq!(opts.config().hnsw.m, 8);
    assert_eq!(opts.config().durability, Durability::PerWrite);
    assert_eq!(opts.len(), 1);
    let filled = db.get_vector_collection("filled").unwrap();
    assert_eq!(filled.len(), 300);
    let hits = filled.search(&vector_for(42, 0, 8), 1).unwrap();
    assert_eq!(hits[0].point.id, 42);
    // A dropped collection's name can be used again, from scratch.
    let again = db
        .create_collection("gone", 3, DistanceMetric::Cosine)
        .unwrap();
    assert!(again.is_empty());
}
