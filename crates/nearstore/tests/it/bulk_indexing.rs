//! Bulk loads indexed in the background: `upsert_bulk` returns with its new points stored
//! and searchable, the HNSW index takes them later (see the engine's `backlog.rs`).
//!
//! Every search right after a bulk load, and after deletes and updates of points still
//! waiting for the index, equals a brute-force oracle; after `wait_indexed` exact searches
//! give the same answers and the index holds every point. Pausing the indexing
//! (`set_indexing_paused`) makes "still waiting" deterministic.

use std::collections::BTreeMap;
use std::path::Path;

use nearstore::{
    CollectionConfig, Database, DistanceMetric, ErrorKind, Filter, GraphCollectionConfig, Point,
    SearchQuality, SearchRequest, StorageMode, VectorCollection, distance,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::temp_db;

const DIM: usize = 8;

/// The oracle: id -> (vector, group), the live points with a default vector.
type Model = BTreeMap<u64, (Vec<f32>, u64)>;

fn random_vector(rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..DIM).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

fn point(id: u64, v: &[f32], group: u64) -> Point {
    Point::new(id, v.to_vec(), Some(json!({"group": group})))
}

/// `n` random points (ids `first..first + n`, groups `id % 10`), added to `model`.
fn load(c: &VectorCollection, model: &mut Model, rng: &mut ChaCha8Rng, first: u64, n: u64) {
    let points: Vec<Point> = (first..first + n)
        .map(|id| {
            let v = random_vector(rng);
            model.insert(id, (v.clone(), id % 10));
            point(id, &v, id % 10)
        })
        .collect();
    c.upsert_bulk(&points).unwrap();
}

/// The exact best `k` ids of `model` for `q` among points of `group` (all when `None`).
fn oracle(
    metric: DistanceMetric,
    model: &Model,
    q: &[f32],
    k: usize,
    group: Option<u64>,
) -> Vec<u64> {
    let mut scored: Vec<(f32, u64)> = model
        .iter()
        .filter(|(_, (_, g))| group.is_none_or(|want| *g == want))
        .map(|(id, (v, _))| (distance(metric, q, v), *id))
        .collect();
    scored.sort_by(|a, b| metric.cmp_best_first(a.0, b.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, id)| id).collect()
}

fn search(
    c: &VectorCollection,
    q: &[f32],
    k: usize,
    group: Option<u64>,
    quality: SearchQuality,
) -> Vec<u64> {
    let mut request = SearchRequest::new(q).limit(k).quality(quality);
    if let Some(g) = group {
        request = request.filter(Filter::eq("group", json!(g)));
    }
    c.query(request)
        .unwrap()
        .into_iter()
        .map(|h| h.point.id)
        .collect()
}

/// Every query (with and without a filter, `Balanced` and `Perfect`) equals the oracle:
/// points waiting for the index are scored exactly, so nothing depends on HNSW recall
/// while they are many, and a filter never comes back short.
fn assert_exact(c: &VectorCollection, metric: DistanceMetric, model: &Model, what: &str) {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    for i in 0..12 {
        let q = random_vector(&mut rng);
        let group = (i % 2 == 1).then_some(i % 10);
        let want = oracle(metric, model, &q, 10, group);
        let got = search(c, &q, 10, group, SearchQuality::Perfect);
        assert_eq!(got, want, "{what}: exact query {i} (group {group:?})");
    }
}

/// Same as [`assert_exact`] with the default quality, for a collection whose points all
/// wait for the index (so no HNSW walk decides anything).
fn assert_default_quality_exact(
    c: &VectorCollection,
    metric: DistanceMetric,
    model: &Model,
    what: &str,
) {
    assert_eq!(c.indexed_vectors(), 0, "{what}: nothing indexed yet");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for i in 0..8 {
        let q = random_vector(&mut rng);
        let group = (i % 2 == 0).then_some(i % 10);
        let want = oracle(metric, model, &q, 10, group);
        let got = search(c, &q, 10, group, SearchQuality::Balanced);
        assert_eq!(got, want, "{what}: default-quality query {i}");
    }
}

fn collection(db: &Database, metric: DistanceMetric) -> VectorCollection {
    db.create_collection("bulk", DIM, metric).unwrap()
}

#[test]
fn searches_right_after_a_bulk_load_equal_brute_force_and_after_indexing_too() {
    for metric in [DistanceMetric::Euclidean, DistanceMetric::Cosine] {
        let (_dir, db) = temp_db();
        let c = collection(&db, metric);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut model = Model::new();
        c.set_indexing_paused(true);
        load(&c, &mut model, &mut rng, 0, 2000);
        assert_eq!(c.pending_index_count(), 2000, "{metric:?}: all waiting");
        assert_eq!(c.len(), 2000);
        assert_default_quality_exact(&c, metric, &model, "before indexing");
        assert_exact(&c, metric, &model, "before indexing");
        let err = c.wait_indexed().unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Conflict,
            "paused: nothing to wait for"
        );

        c.set_indexing_paused(false);
        c.wait_indexed().unwrap();
        assert_eq!(c.pending_index_count(), 0);
        assert_eq!(c.indexed_vectors(), 2000, "{metric:?}: all linked");
        assert_exact(&c, metric, &model, "after indexing");
        // The graph walk now answers default-quality searches: recall on 2,000 points.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (mut found, mut wanted) = (0, 0);
        for _ in 0..20 {
            let q = random_vector(&mut rng);
            let want = oracle(metric, &model, &q, 10, None);
            let got = search(&c, &q, 10, None, SearchQuality::Balanced);
            found += got.iter().filter(|id| want.contains(id)).count();
            wanted += want.len();
        }
        assert!(
            found * 100 >= wanted * 95,
            "{metric:?}: recall {found}/{wanted}"
        );
    }
}

#[test]
fn deletes_and_updates_of_waiting_points_are_searched_exactly_and_never_come_back() {
    let metric = DistanceMetric::Euclidean;
    let (_dir, db) = temp_db();
    let c = collection(&db, metric);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut model = Model::new();
    // Some points indexed first (an update of those replaces them in the index inline).
    load(&c, &mut model, &mut rng, 0, 500);
    c.wait_indexed().unwrap();
    assert_eq!(c.indexed_vectors(), 500);
    c.set_indexing_paused(true);
    load(&c, &mut model, &mut rng, 500, 1500);
    assert_eq!(c.pending_index_count(), 1500);

    // Deletes of waiting points, by id and by filter; one of an indexed point.
    let gone: Vec<u64> = (500..2000).step_by(7).chain([3]).collect();
    assert_eq!(c.delete(&gone).unwrap(), gone.len());
    for id in &gone {
        model.remove(id);
    }
    let by_filter = c.delete_by_filter(&Filter::eq("group", json!(4))).unwrap();
    let before = model.len();
    model.retain(|_, (_, g)| *g != 4);
    assert_eq!(by_filter, before - model.len());
    // Updates: a bulk update of waiting and indexed points, an ordinary upsert of waiting
    // points (linked inline), and waiting points upserted without a vector.
    let mut updates = Vec::new();
    for id in (501..2000).step_by(11).chain([10, 20, 30]) {
        if model.contains_key(&id) {
            let v = random_vector(&mut rng);
            updates.push(point(id, &v, id % 10));
            model.insert(id, (v, id % 10));
        }
    }
    c.upsert_bulk(&updates).unwrap();
    let mut inline = Vec::new();
    for id in (502..2000).step_by(13) {
        if model.contains_key(&id) {
            let v = random_vector(&mut rng);
            inline.push(point(id, &v, id % 10));
            model.insert(id, (v, id % 10));
        }
    }
    let inline_count = inline.len() as u64;
    c.upsert(inline).unwrap();
    let bare: Vec<u64> = (503..2000)
        .step_by(17)
        .filter(|id| model.contains_key(id))
        .collect();
    c.upsert(
        bare.iter()
            .map(|&id| Point::without_vector(id, Some(json!({"group": id % 10}))))
            .collect(),
    )
    .unwrap();
    for id in &bare {
        model.remove(id);
    }
    assert!(
        c.pending_index_count() < 1500 - inline_count,
        "deletes and inline upserts took ids out of the backlog"
    );
    assert_eq!(
        c.indexed_vectors() as u64 + c.pending_index_count(),
        model.len() as u64,
        "every point with a vector is indexed or waiting, once"
    );
    assert_exact(&c, metric, &model, "waiting points deleted and updated");

    c.set_indexing_paused(false);
    c.wait_indexed().unwrap();
    assert_eq!(c.pending_index_count(), 0);
    assert_eq!(c.indexed_vectors(), model.len(), "no deleted point linked");
    assert_exact(&c, metric, &model, "after indexing");
    // No deleted point (or point without a vector now) comes back.
    let all = search(&c, &[0.0; DIM], 5000, None, SearchQuality::Perfect);
    assert_eq!(all.len(), model.len());
    assert!(all.iter().all(|id| model.contains_key(id)));
    assert!(gone.iter().chain(&bare).all(|id| !all.contains(id)));
}

#[test]
fn a_delete_right_after_a_bulk_load_is_never_linked() {
    let (_dir, db) = temp_db();
    let c = collection(&db, DistanceMetric::Euclidean);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut model = Model::new();
    // Not paused: the worker runs while the deletes come in.
    load(&c, &mut model, &mut rng, 0, 3000);
    let gone: Vec<u64> = (0..3000).rev().step_by(3).collect();
    c.delete(&gone).unwrap();
    for id in &gone {
        model.remove(id);
    }
    c.wait_indexed().unwrap();
    assert_eq!(c.indexed_vectors(), model.len());
    let all = search(&c, &[0.0; DIM], 5000, None, SearchQuality::Perfect);
    let mut sorted = all.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, model.keys().copied().collect::<Vec<_>>());
    assert_exact(
        &c,
        DistanceMetric::Euclidean,
        &model,
        "deleted during indexing",
    );
}

#[test]
fn a_reopen_rederives_the_waiting_points_and_indexes_them() {
    let dir = tempfile::tempdir().unwrap();
    let metric = DistanceMetric::Euclidean;
    let mut model = Model::new();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    {
        let db = Database::open(dir.path()).unwrap();
        let c = collection(&db, metric);
        load(&c, &mut model, &mut rng, 0, 400);
        c.wait_indexed().unwrap();
        c.set_indexing_paused(true);
        load(&c, &mut model, &mut rng, 400, 1200);
        // A checkpoint with points waiting: the index checkpoint holds what is linked.
        c.checkpoint().unwrap();
        load(&c, &mut model, &mut rng, 1600, 400);
        c.flush().unwrap();
        assert_eq!(c.pending_index_count(), 1600);
        let report = nearstore::verify::verify_database(dir.path()).unwrap();
        assert!(
            report.is_clean(),
            "a checkpoint with a backlog is sound: {report:?}"
        );
        assert!(
            report
                .files
                .iter()
                .any(|f| f.notes.iter().any(|n| n.contains("wait for the index"))),
            "verify tells the backlog: {report:?}"
        );
        // Closed with points waiting (the close checkpoints too).
    }
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_vector_collection("bulk").unwrap();
    assert_eq!(c.len(), 2000);
    assert_eq!(
        c.indexed_vectors() as u64 + c.pending_index_count(),
        2000,
        "indexed or waiting"
    );
    assert_exact(&c, metric, &model, "reopened");
    c.wait_indexed().unwrap();
    assert_eq!(
        c.indexed_vectors(),
        2000,
        "the backlog was re-derived and linked"
    );
    assert_exact(&c, metric, &model, "reopened and indexed");
}

#[test]
fn a_close_after_the_indexing_finished_keeps_the_linked_index() {
    let dir = tempfile::tempdir().unwrap();
    let metric = DistanceMetric::Euclidean;
    let mut model = Model::new();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    {
        let db = Database::open(dir.path()).unwrap();
        let c = collection(&db, metric);
        c.set_indexing_paused(true);
        load(&c, &mut model, &mut rng, 0, 1500);
        // Checkpointed with every point waiting, then linked with no write logged since:
        // the close must still write the index, or the next open links them all again.
        c.checkpoint().unwrap();
        c.set_indexing_paused(false);
        c.wait_indexed().unwrap();
        assert_eq!(c.pending_index_count(), 0);
    }
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_vector_collection("bulk").unwrap();
    assert_eq!(
        (c.indexed_vectors(), c.pending_index_count()),
        (1500, 0),
        "the close checkpointed the index the background linked"
    );
    assert_exact(&c, metric, &model, "reopened");
}

#[test]
fn dropping_the_last_handle_while_indexing_leaves_a_collection_that_reopens_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    {
        let db = Database::open(dir.path()).unwrap();
        let c = collection(&db, DistanceMetric::Euclidean);
        // The worker is (probably) mid-way when the database closes: the close stops it
        // after its batch, whatever it got to.
        load(&c, &mut model, &mut rng, 0, 3000);
    }
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_vector_collection("bulk").unwrap();
    assert_exact(&c, DistanceMetric::Euclidean, &model, "reopened");
    c.wait_indexed().unwrap();
    assert_eq!(c.indexed_vectors(), 3000);
    drop(c);
    db.drop_collection("bulk").unwrap();
}

#[test]
fn a_log_replay_defers_new_points_to_the_background() {
    let backend = std::sync::Arc::new(nearstore::storage::FaultyBackend::new());
    let mut model = Model::new();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    {
        let db = Database::open_with(backend.clone(), Path::new("/db")).unwrap();
        let c = collection(&db, DistanceMetric::Euclidean);
        c.set_indexing_paused(true);
        load(&c, &mut model, &mut rng, 0, 1000);
        c.flush().unwrap();
        // A process crash: no close, no checkpoint; the log holds the load.
        let image = backend.crash_images().swap_remove(0).backend;
        let db = Database::open_with(std::sync::Arc::new(image), Path::new("/db")).unwrap();
        let c = db.get_vector_collection("bulk").unwrap();
        assert_exact(&c, DistanceMetric::Euclidean, &model, "replayed");
        c.wait_indexed().unwrap();
        assert_eq!(c.indexed_vectors(), 1000);
        assert_exact(
            &c,
            DistanceMetric::Euclidean,
            &model,
            "replayed and indexed",
        );
    }
}

#[test]
fn quantized_collections_still_link_inline_and_graph_embeddings_defer() {
    let (_dir, db) = temp_db();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let config = CollectionConfig {
        storage_mode: StorageMode::Sq8,
        ..CollectionConfig::new(DIM, DistanceMetric::Euclidean)
    };
    let q = db.create_collection_with_options("q", config).unwrap();
    let points: Vec<Point> = (0..300)
        .map(|id| point(id, &random_vector(&mut rng), 0))
        .collect();
    q.upsert_bulk(&points).unwrap();
    assert_eq!(q.pending_index_count(), 0);
    assert_eq!(q.indexed_vectors(), 300);

    let g = db
        .create_graph_collection(
            "g",
            GraphCollectionConfig::schemaless().with_embedding(DIM, DistanceMetric::Cosine),
        )
        .unwrap();
    g.set_indexing_paused(true);
    let nodes: Vec<Point> = (0..300)
        .map(|id| point(id, &random_vector(&mut rng), 0))
        .collect();
    g.upsert_bulk(&nodes).unwrap();
    assert_eq!(
        g.pending_index_count(),
        300,
        "graph embeddings wait for the index"
    );
    let hits = g.search_by_embedding(&nodes[17].vector, 1).unwrap();
    assert_eq!(hits[0].point.id, 17, "and are found meanwhile");
    g.set_indexing_paused(false);
    g.wait_indexed().unwrap();
    assert_eq!(g.indexed_vectors(), 300);
}

#[test]
fn writes_on_points_the_worker_is_linking_leave_one_current_copy_each() {
    // The worker links its batches without the writer lock; deletes, updates (bulk,
    // ordinary, vector-less) and a checkpoint land while it runs, many on the batch being
    // linked. Afterwards the index holds each live point once, with its current vector,
    // and nothing deleted.
    let metric = DistanceMetric::Euclidean;
    let (_dir, db) = temp_db();
    let c = collection(&db, metric);
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let mut model = Model::new();
    load(&c, &mut model, &mut rng, 0, 20_000);
    let mut round = 0u64;
    while c.pending_index_count() > 0 && round < 400 {
        // The worker takes the backlog in id order, 2,048 at a time: aim into its batch.
        let front = 20_000u64.saturating_sub(c.pending_index_count()) + rng.random_range(0..2048);
        let ids: Vec<u64> = (front..front + 40)
            .filter(|id| model.contains_key(id))
            .collect();
        let (gone, rest) = ids.split_at(ids.len() / 4);
        c.delete(gone).unwrap();
        for id in gone {
            model.remove(id);
        }
        let updates: Vec<Point> = rest
            .iter()
            .step_by(2)
            .map(|&id| {
                let v = random_vector(&mut rng);
                model.insert(id, (v.clone(), id % 10));
                point(id, &v, id % 10)
            })
            .collect();
        if round.is_multiple_of(2) {
            c.upsert_bulk(&updates).unwrap();
        } else {
            c.upsert(updates).unwrap();
        }
        if let Some(&id) = rest.get(1) {
            c.upsert(vec![Point::without_vector(
                id,
                Some(json!({"group": id % 10})),
            )])
            .unwrap();
            model.remove(&id);
        }
        if round.is_multiple_of(50) {
            c.flush().unwrap();
            c.checkpoint().unwrap();
        }
        round += 1;
    }
    assert_exact(&c, metric, &model, "while indexing");
    c.wait_indexed().unwrap();
    assert_eq!(c.pending_index_count(), 0);
    assert_eq!(
        c.indexed_vectors(),
        model.len(),
        "each live point with a vector linked once, nothing deleted linked"
    );
    assert_exact(&c, metric, &model, "after indexing");
    let all = search(&c, &[0.0; DIM], 25_000, None, SearchQuality::Perfect);
    let mut sorted = all.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, model.keys().copied().collect::<Vec<_>>());
}

/// Bytes of the collection `bulk`'s operation log in `backend`.
fn log_bytes(backend: &nearstore::storage::FaultyBackend) -> usize {
    backend
        .read_file(Path::new("/db/collections/bulk/ops.log"))
        .map_or(0, |b| b.len())
}

/// A collection `bulk` without text indexing (its large payloads are one string each).
fn large_collection(db: &Database) -> VectorCollection {
    let config = CollectionConfig {
        text: None,
        ..CollectionConfig::new(DIM, DistanceMetric::Euclidean)
    };
    db.create_collection_with_options("bulk", config).unwrap()
}

/// A bulk load of 24,000 points whose first 3,600 carry 10 KB payloads, so the operation
/// log passes the flush's checkpoint size (32 MiB); the rest keep the indexing thread busy.
fn large_load(c: &VectorCollection, model: &mut Model, rng: &mut ChaCha8Rng) {
    let points: Vec<Point> = (0..24_000)
        .map(|id| {
            let v = random_vector(rng);
            model.insert(id, (v.clone(), id % 10));
            let pad = if id < 3_600 {
                "x".repeat(10_000)
            } else {
                String::new()
            };
            Point::new(id, v, Some(json!({"group": id % 10, "pad": pad})))
        })
        .collect();
    c.upsert_bulk(&points).unwrap();
}

/// Reopens the power-loss image of `backend` and checks it holds `model` exactly.
fn assert_power_loss_image_whole(backend: &nearstore::storage::FaultyBackend, model: &Model) {
    let image = backend
        .crash_images()
        .into_iter()
        .find(|i| i.kind == nearstore::storage::CrashImageKind::PowerLoss)
        .unwrap()
        .backend;
    let db = Database::open_with(std::sync::Arc::new(image), Path::new("/db")).unwrap();
    let c = db.get_vector_collection("bulk").unwrap();
    assert_eq!(c.len(), model.len());
    // Unfiltered exact queries (a filter would read the large payloads on every check).
    let mut rng = ChaCha8Rng::seed_from_u64(98);
    for i in 0..4 {
        let q = random_vector(&mut rng);
        let want = oracle(DistanceMetric::Euclidean, model, &q, 10, None);
        let got = search(&c, &q, 10, None, SearchQuality::Perfect);
        assert_eq!(got, want, "power loss image: exact query {i}");
    }
}

const CHECKPOINT_AT_FLUSH_BYTES: usize = 32 << 20;

#[test]
fn a_flush_during_the_indexing_leaves_its_checkpoint_to_the_indexing_thread() {
    // The flush returns once the log is synced; the indexing thread (linking the load's
    // batches) runs the checkpoint the log's size calls for before its next batch, so
    // the log is emptied without another flush.
    let backend = std::sync::Arc::new(nearstore::storage::FaultyBackend::new());
    let mut model = Model::new();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let db = Database::open_with(backend.clone(), Path::new("/db")).unwrap();
    let c = large_collection(&db);
    large_load(&c, &mut model, &mut rng);
    assert!(log_bytes(&backend) > CHECKPOINT_AT_FLUSH_BYTES);
    c.flush().unwrap();
    assert_power_loss_image_whole(&backend, &model);
    c.wait_indexed().unwrap();
    assert!(
        log_bytes(&backend) < 1 << 20,
        "checkpointed by the flush or the indexing thread: {} bytes",
        log_bytes(&backend)
    );
    assert_eq!(c.indexed_vectors(), 24_000);
    assert_power_loss_image_whole(&backend, &model);
}

#[test]
fn a_failed_checkpoint_of_the_indexing_thread_is_run_again_by_the_next_flush() {
    let backend = std::sync::Arc::new(nearstore::storage::FaultyBackend::new());
    let write = nearstore::storage::FaultKind::Write;
    let mut model = Model::new();
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let db = Database::open_with(backend.clone(), Path::new("/db")).unwrap();
    let c = large_collection(&db);
    large_load(&c, &mut model, &mut rng);
    // The flush writes at most one record (the log's durable-length slot); the second
    // write from now is the checkpoint's, whichever thread runs it: it fails (ENOSPC).
    backend.fail_nth(write, backend.calls_of(write) + 2, 28);
    match c.flush() {
        Ok(()) => {
            // Left to the indexing thread, whose checkpoint failed: the log keeps
            // everything, and the next flush checkpoints itself, even with the indexing
            // running again.
            c.wait_indexed().unwrap();
            assert!(log_bytes(&backend) > CHECKPOINT_AT_FLUSH_BYTES);
            load(&c, &mut model, &mut rng, 24_000, 4_000);
            c.flush().unwrap();
            assert!(
                log_bytes(&backend) < 1 << 20,
                "the flush after a failed background checkpoint checkpoints itself: {} bytes",
                log_bytes(&backend)
            );
        }
        Err(e) => {
            // The indexing had finished: the flush checkpointed itself and reports it.
            assert_eq!(e.kind(), ErrorKind::ResourceExhausted, "{e}");
            c.flush().unwrap();
            assert!(log_bytes(&backend) < 1 << 20);
        }
    }
    assert_power_loss_image_whole(&backend, &model);
}

/// `upsert_bulk` takes its points borrowed (copied where kept) or owned (moved in): every
/// form leaves the same payloads for reads, the payload index, the text index and a reopen;
/// a later duplicate id in an owned batch wins as in a borrowed one.
#[test]
fn owned_and_borrowed_bulk_batches_keep_the_same_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let named = |id: u64| {
        Point::new(
            id,
            vec![id as f32; DIM],
            Some(json!({"name": format!("user{id}"), "group": id % 3})),
        )
    };
    let check = |c: &VectorCollection, round: &str| {
        let got = c.get(&(0..=100).collect::<Vec<u64>>()).unwrap();
        for (id, point) in (0..=100u64).zip(&got) {
            let want = if id == 60 {
                json!({"name": "late", "group": 7})
            } else {
                json!({"name": format!("user{id}"), "group": id % 3})
            };
            let point = point
                .as_ref()
                .unwrap_or_else(|| panic!("{round}: {id} missing"));
            assert_eq!(point.payload.as_ref(), Some(&want), "{round}: point {id}");
        }
        let group = |g: u64| Filter::parse(&json!({"field": "group", "eq": g})).unwrap();
        assert_eq!(c.count(Some(&group(7))).unwrap(), 1, "{round}");
        // ids 0..=100 with id % 3 == 0: 34, one of them (60) now in group 7
        assert_eq!(c.count(Some(&group(0))).unwrap(), 33, "{round}");
        for id in [3u64, 50, 77, 100] {
            let hits = c.text_search(&format!("user{id}"), 5).unwrap();
            let ids: Vec<u64> = hits.iter().map(|h| h.point.id).collect();
            assert_eq!(ids, [id], "{round}");
        }
        assert!(c.text_search("user60", 5).unwrap().is_empty(), "{round}");
    };
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db
            .create_collection("c", DIM, DistanceMetric::Euclidean)
            .unwrap();
        c.create_field_index("group", nearstore::FieldIndexKind::Integer)
            .unwrap();
        let borrowed: Vec<Point> = (0..50).map(named).collect();
        c.upsert_bulk(&borrowed).unwrap();
        c.upsert_bulk(&borrowed[..10]).unwrap();
        c.upsert_bulk(&[named(50)]).unwrap();
        // owned, with id 60 twice: the later one wins
        let mut owned: Vec<Point> = (51..100).map(named).collect();
        owned.push(Point::new(
            60,
            vec![0.5; DIM],
            Some(json!({"name": "late", "group": 7})),
        ));
        c.upsert_bulk(owned).unwrap();
        c.upsert_bulk([named(100)]).unwrap();
        check(&c, "live");
        c.flush().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    check(&db.get_vector_collection("c").unwrap(), "reopened");
}
