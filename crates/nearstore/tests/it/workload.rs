//! The seeded collection workload shared by the crash tests (`kill9`, `power_loss`): its
//! operations, the model they imply, and the invariant check of a recovered collection.
//!
//! Payloads carry text (`words`), the collection indexes it (the default `_all` field, or
//! `words` alone after a `TextConfig` step switches), and the check requires text search and
//! the `text` filter condition to find exactly the live points holding each term.
//!
//! Partial payload writes take part: `SetPayload` rewrites one point's payload to another
//! version's through `set_payload` (a merge over the same keys), `overwrite_payload` or
//! `clear_payload`, and `ClearCategory` clears the payloads a filter selects, so the model
//! tracks each point's vector version and payload version separately.
//!
//! Points carry sparse vectors derived from their vector version (`sparse_for`: the
//! default name `""` on most versions, `s2` on some, none on others), so an upsert also
//! replaces or drops them; the check requires each point's sparse vectors whole and of its
//! version, and sparse search to find exactly the live points holding each name. Likewise
//! the named dense vector `img` (`img_for`: on some versions only, so points without it
//! are part of every run): whole and of its version, and an exact search on it finds
//! exactly the live points carrying it.
//!
//! Some versions carry no default vector (`no_default`), and some no vector at all
//! (`BARE`): such points are checked whole (payload of their version, no vector), found by
//! id, counted and filtered, and found by no search on a vector they lack. Single-vector
//! edits take part too: `SetVectors` sets every vector of an existing point to those of a
//! version carrying all of them (`update_vectors`), `DropVectors` removes every vector of an
//! existing point (`delete_vectors`), leaving its payload.
//!
//! Expiry times take part: some versions upsert a point expiring in the year 3000 (present,
//! and its time must come back exactly) or in the year 2000 (expired at once: invisible on
//! every read, so the model drops it), and `SetExpiry` gives an existing point such a time
//! or removes it (`set_expiry`). The times are far from the real clock, so a child process
//! of the `kill -9` torture reads them the same way as the in-memory power-loss runs.
//!
//! Streaming ingest takes part: `Stream` writes through `stream_insert` /
//! `stream_insert_batch` on a collection with streaming enabled (`enable_streaming`: the
//! `kill -9` children run the drain thread, the power-loss runs pause it so every I/O call
//! happens in the same order on every run). A streamed write counts as acknowledged when the
//! call returns, exactly like an upsert.

use std::collections::BTreeMap;

use nearstore::{
    CollectionConfig, DistanceMetric, FieldIndexKind, Filter, MAX_SCROLL_LIMIT, OrderBy, Point,
    PointSelector, PointVectors, ScrollRequest, SearchQuality, SearchRequest, SparseVector,
    TextIndexConfig, VectorCollection, VectorSpaceConfig, WriteOptions,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const DIM: usize = 8;
pub const IDS: u64 = 300;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Op {
    Upsert(Vec<(u64, u64)>),
    Bulk(Vec<(u64, u64)>),
    /// `stream_insert` (one point) or `stream_insert_batch`: acknowledged once logged,
    /// applied by the drain thread or by the next write, flush or checkpoint.
    Stream(Vec<(u64, u64)>),
    Delete(Vec<u64>),
    DeleteCategory(u64),
    Flush,
    Checkpoint,
    CreateIndex(String),
    /// Switch text indexing to the `words` field alone (true) or to every string (false).
    TextConfig(bool),
    /// Rewrite a point's payload to `payload(id, version)`, keeping its vector.
    SetPayload(u64, u64),
    /// Clear the payloads of the points of a category (a filter selector).
    ClearCategory(u64),
    /// Set every vector of an existing point to those of a version carrying all of them.
    SetVectors(u64, u64),
    /// Remove every vector of an existing point.
    DropVectors(u64),
    /// Set (a past or future time) or remove the expiry time of an existing point
    /// (`set_expiry_for` of the version).
    SetExpiry(u64, u64),
    /// Train a quantized collection's quantizer on demand, then checkpoint (a plain
    /// checkpoint in a `full` collection).
    TrainQuantizer,
}

/// id -> (version of its vectors, `BARE` when it has none; version of its payload, 0 when
/// it has none; its expiry time in epoch milliseconds, 0 when it has none).
pub type Model = BTreeMap<u64, (u64, u64, u64)>;

/// 2000-01-01 and 3000-01-01 in epoch milliseconds: long expired, and never in a test.
const PAST: u64 = 946_684_800_000;
const FUTURE: u64 = 32_503_680_000_000;

/// The expiry time an upsert of a version carries.
pub fn expiry_for(version: u64) -> Option<u64> {
    match version % 9 {
        2 => Some(PAST + version),
        7 => Some(FUTURE + version),
        _ => None,
    }
}

/// The expiry time a `SetExpiry` of a version gives (`None`: it removes the time).
pub fn set_expiry_for(version: u64) -> Option<u64> {
    match version % 3 {
        0 => None,
        1 => Some(FUTURE + version),
        _ => Some(PAST + version),
    }
}

/// Whether an expiry time has passed (every time is far from now).
fn expired(at: Option<u64>) -> bool {
    at.is_some_and(|t| t < FUTURE)
}

/// The vector version of a point without any vector (all such versions look alike).
pub const BARE: u64 = u64::MAX;

/// Whether a vector version lacks the default vector.
pub fn no_default(version: u64) -> bool {
    version == BARE || version % 6 == 4
}

/// The vector version a model records: every version without any vector is `BARE`.
pub fn canonical(version: u64) -> u64 {
    if version % 12 == 10 { BARE } else { version }
}

/// The default vector of a point at a vector version (empty: none).
pub fn vector_for(id: u64, version: u64) -> Vec<f32> {
    if no_default(version) {
        Vec::new()
    } else {
        vector(id, version)
    }
}

/// The payload version a model records for `version` (0: no payload).
pub fn payload_version(version: u64) -> u64 {
    if payload(0, version).is_some() {
        version
    } else {
        0
    }
}

pub fn category(id: u64, version: u64) -> u64 {
    (id + version) % 4
}

pub fn vector(id: u64, version: u64) -> Vec<f32> {
    let mut v = vec![id as f32, version as f32];
    v.extend((2..DIM).map(|i| ((id * 7 + version * 3 + i as u64) % 53) as f32 * 0.25));
    v
}

/// The crash tests' collection: `DIM`-d euclidean plus the named 3-d cosine vector `img`.
pub fn config() -> CollectionConfig {
    CollectionConfig::new(DIM, DistanceMetric::Euclidean)
        .with_vector("img", VectorSpaceConfig::new(3, DistanceMetric::Cosine))
}

/// [`config`] with the default vector stored in `mode`, training by itself at a few dozen
/// points (so a workload crosses the threshold).
pub fn quantized_config(mode: nearstore::StorageMode) -> CollectionConfig {
    let mut c = config().with_storage_mode(mode);
    c.quantization.train_at = Some(24);
    c
}

/// Turns streaming on for the workload's `Stream` steps (a queue no run fills), the drain
/// thread running or paused.
pub fn enable_streaming(c: &VectorCollection, paused: bool) -> nearstore::Result<()> {
    c.enable_streaming(nearstore::StreamingConfig {
        buffer_size: 100_000,
        batch_size: 8,
        flush_interval: std::time::Duration::from_millis(1),
    })?;
    c.set_streaming_paused(paused)
}

/// The named dense vectors of a point at a vector version.
pub fn img_for(id: u64, version: u64) -> BTreeMap<String, Vec<f32>> {
    let mut out = BTreeMap::new();
    if version != BARE && version % 4 != 2 {
        out.insert(
            "img".to_owned(),
            vec![1.0 + (id % 9) as f32, (version % 7) as f32, 0.5],
        );
    }
    out
}

/// The sparse vectors of a point at a vector version.
pub fn sparse_for(id: u64, version: u64) -> BTreeMap<String, SparseVector> {
    let mut out = BTreeMap::new();
    let sv = |i: Vec<u32>, v: Vec<f32>| SparseVector::new(i, v).unwrap();
    if version == BARE {
        return out;
    }
    if !version.is_multiple_of(3) {
        let dims = vec![(id % 11) as u32, 20 + (version % 13) as u32];
        out.insert(String::new(), sv(dims, vec![1.0, 0.5 + version as f32]));
    }
    if version % 4 == 1 {
        out.insert("s2".to_owned(), sv(vec![(id % 5) as u32], vec![-2.0]));
    }
    out
}

/// A datetime string per version, with offsets that make string order differ from time
/// order (read through the `at` datetime index).
fn at(version: u64) -> String {
    let offset = ["Z", "+05:00", "-05:00", ""][(version % 4) as usize];
    format!(
        "2024-03-{:02}T{:02}:30:00{offset}",
        1 + version % 9,
        (version * 7) % 24
    )
}

pub fn payload(id: u64, version: u64) -> Option<Value> {
    (!version.is_multiple_of(5)).then(|| {
        json!({
            "id": id, "v": version, "cat": format!("c{}", category(id, version)), "n": version % 10,
            "words": format!("w{} w{} common", version % 7, id % 5),
            "at": at(version),
        })
    })
}

impl Op {
    pub fn apply(&self, m: &mut Model) {
        match self {
            Op::Upsert(items) | Op::Bulk(items) | Op::Stream(items) => {
                for &(id, v) in items {
                    if expired(expiry_for(v)) {
                        m.remove(&id);
                    } else {
                        let at = expiry_for(v).unwrap_or(0);
                        m.insert(id, (canonical(v), payload_version(v), at));
                    }
                }
            }
            Op::SetExpiry(id, v) => {
                let at = set_expiry_for(*v);
                if expired(at) {
                    m.remove(id);
                } else if let Some(entry) = m.get_mut(id) {
                    entry.2 = at.unwrap_or(0);
                }
            }
            Op::Delete(ids) => ids.iter().for_each(|id| {
                m.remove(id);
            }),
            Op::DeleteCategory(c) => {
                m.retain(|&id, &mut (_, pv, _)| payload(id, pv).is_none() || category(id, pv) != *c)
            }
            Op::SetPayload(id, v) => {
                if let Some(entry) = m.get_mut(id) {
                    entry.1 = payload_version(*v);
                }
            }
            Op::ClearCategory(c) => {
                for (&id, entry) in m.iter_mut() {
                    if payload(id, entry.1).is_some() && category(id, entry.1) == *c {
                        entry.1 = 0;
                    }
                }
            }
            Op::SetVectors(id, v) => {
                if let Some(entry) = m.get_mut(id) {
                    entry.0 = *v;
                }
            }
            Op::DropVectors(id) => {
                if let Some(entry) = m.get_mut(id) {
                    entry.0 = BARE;
                }
            }
            Op::Flush
            | Op::Checkpoint
            | Op::TrainQuantizer
            | Op::CreateIndex(_)
            | Op::TextConfig(_) => {}
        }
    }

    pub fn is_barrier(&self) -> bool {
        matches!(
            self,
            Op::Flush
                | Op::Checkpoint
                | Op::TrainQuantizer
                | Op::CreateIndex(_)
                | Op::TextConfig(_)
        )
    }
}

/// With the `at` datetime index in place, an ordered scroll by `at` lists exactly the points
/// whose payload has it, by instant (ties by id), whatever offset each string carries.
fn check_time_order(c: &VectorCollection, payloads: &BTreeMap<u64, Value>) {
    let indexed = c
        .field_indexes()
        .contains(&("at".to_owned(), FieldIndexKind::Datetime));
    if !indexed {
        return;
    }
    let mut want: Vec<(i64, u64)> = payloads
        .iter()
        .filter_map(|(id, p)| {
            let t = nearstore::Datetime::of_value(p.get("at")?)?;
            Some((t.micros(), *id))
        })
        .collect();
    want.sort_unstable();
    let request = ScrollRequest::new()
        .order_by(OrderBy::asc("at"))
        .limit(MAX_SCROLL_LIMIT)
        .ids_only();
    let got: Vec<u64> = c
        .scroll_with(&request)
        .unwrap()
        .points
        .iter()
        .map(|p| p.id)
        .collect();
    let want: Vec<u64> = want.into_iter().map(|(_, id)| id).collect();
    assert_eq!(got, want, "ordered scroll by the datetime index");
}

/// After `wait_indexed`: the exact search `before_hits` answered (points waiting for the
/// index found by exact scan) is answered the same by the index alone.
fn same_answer_once_linked(
    c: &VectorCollection,
    before_hits: &[nearstore::SearchResult],
    live: usize,
) {
    let linked = c
        .query(
            SearchRequest::new(&vector(0, 0))
                .limit(live.max(1))
                .quality(SearchQuality::Perfect)
                .with_payload(false),
        )
        .unwrap();
    let scores = |hits: &[nearstore::SearchResult]| -> BTreeMap<u64, f32> {
        hits.iter().map(|h| (h.point.id, h.score)).collect()
    };
    let (before, after) = (scores(before_hits), scores(&linked));
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "the same points once every point is linked"
    );
    for (id, score) in &after {
        assert!(
            (score - before[id]).abs() <= 1e-4 * score.abs().max(1.0),
            "point {id} scores {score} linked, {} before",
            before[id]
        );
    }
}

/// The collection's content, after checking its invariants.
pub fn content(c: &VectorCollection) -> Model {
    let mut model = Model::new();
    let mut payloads = Vec::new();
    let mut payloads_by_id = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = c.scroll(None, 1000, cursor).unwrap();
        for p in page.points {
            // The version: from the default vector, else from the default sparse vector
            // (every version without the default vector but with some vector has it).
            let version = match (p.vector.get(1), p.sparse.get("")) {
                (Some(v), _) => *v as u64,
                (None, Some(s)) => (s.values()[1] - 0.5) as u64,
                (None, None) => BARE,
            };
            assert_eq!(
                p.vector,
                vector_for(p.id, version),
                "vector of {} intact",
                p.id
            );
            assert_eq!(
                p.sparse,
                sparse_for(p.id, version),
                "sparse vectors of {} whole and of its version",
                p.id
            );
            assert_eq!(
                p.vectors,
                img_for(p.id, version),
                "named vectors of {} whole and of its version",
                p.id
            );
            let pv = p
                .payload
                .as_ref()
                .and_then(|v| v.get("v"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            assert_eq!(
                p.payload,
                payload(p.id, pv),
                "point {} has a whole payload of one version",
                p.id
            );
            let at = p.expires_at();
            assert!(!expired(at), "expired point {} is invisible", p.id);
            assert_eq!(c.expires_at(p.id), at, "expiry time of {}", p.id);
            model.insert(p.id, (version, pv, at.unwrap_or(0)));
            if let Some(payload) = &p.payload {
                payloads_by_id.insert(p.id, payload.clone());
            }
            payloads.push(p.payload.unwrap_or(Value::Null));
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(c.count(None).unwrap(), model.len());
    let indexed = c
        .query(
            SearchRequest::new(&vector(0, 0))
                .limit(model.len().max(1))
                .quality(SearchQuality::Perfect)
                .with_payload(false),
        )
        .unwrap();
    let mut index_ids: Vec<u64> = indexed.iter().map(|h| h.point.id).collect();
    index_ids.sort_unstable();
    assert_eq!(
        index_ids,
        model
            .iter()
            .filter(|(_, (v, _, _))| !no_default(*v))
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        "the index holds exactly the live points with the default vector"
    );
    // Points a bulk load left to the background indexing (re-derived by a reopen) are
    // found above by exact scan; once linked, the index alone finds the same points.
    let waiting = c.pending_index_count() > 0;
    c.wait_indexed().unwrap();
    assert_eq!(c.pending_index_count(), 0);
    assert!(c.indexed_vectors() >= index_ids.len());
    if waiting {
        same_answer_once_linked(c, &indexed, model.len());
    }
    // Points without vectors are found by id, whole.
    let bare: Vec<u64> = model
        .iter()
        .filter(|(_, (v, _, _))| *v == BARE)
        .map(|(id, _)| *id)
        .collect();
    for (id, got) in bare.iter().zip(c.get(&bare).unwrap()) {
        let got = got.unwrap_or_else(|| panic!("point {id} without vectors is found by id"));
        assert!(
            got.vector.is_empty() && got.vectors.is_empty() && got.sparse.is_empty(),
            "point {id} has no vector"
        );
        assert_eq!(got.payload, payload(*id, model[id].1), "payload of {id}");
    }
    for f in [
        json!({"field": "cat", "eq": "c1"}),
        json!({"field": "n", "gte": 5}),
        json!({"field": "at", "datetime_range": {"gte": "2024-03-04T12:00:00+02:00", "lt": "2024-03-07"}}),
        json!({"or": [{"field": "cat", "in": ["c0", "c3"]}, {"field": "n", "is_null": true}]}),
    ] {
        let f = Filter::parse(&f).unwrap();
        let brute = payloads.iter().filter(|p| f.matches(p)).count();
        assert_eq!(
            c.count(Some(&f)).unwrap(),
            brute,
            "payload indexes agree: {}",
            f.to_json()
        );
    }
    check_time_order(c, &payloads_by_id);
    check_text(c, &payloads_by_id);
    check_sparse(c, &model);
    check_img(c, &model);
    model
}

/// An exact search on `img` finds exactly the live points carrying it.
fn check_img(c: &VectorCollection, model: &Model) {
    let hits = c
        .query(
            SearchRequest::new(&[1.0, 1.0, 1.0])
                .using("img")
                .limit(model.len().max(1))
                .quality(SearchQuality::Perfect)
                .with_payload(false),
        )
        .unwrap();
    let mut got: Vec<u64> = hits.iter().map(|h| h.point.id).collect();
    got.sort_unstable();
    let want: Vec<u64> = model
        .iter()
        .filter(|(id, (v, _, _))| img_for(**id, *v).contains_key("img"))
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(
        got, want,
        "the img index holds exactly the live points carrying it"
    );
}

/// Sparse search on each name finds exactly the live points holding that name.
fn check_sparse(c: &VectorCollection, model: &Model) {
    let all_dims = |from: u32, to: u32| {
        SparseVector::new((from..to).collect(), vec![1.0; (to - from) as usize]).unwrap()
    };
    for (name, query) in [("", all_dims(0, 11)), ("s2", all_dims(0, 5))] {
        let hits = c.sparse_search(&query, model.len().max(1), name).unwrap();
        let mut got: Vec<u64> = hits.iter().map(|h| h.point.id).collect();
        got.sort_unstable();
        let want: Vec<u64> = model
            .iter()
            .filter(|(id, (v, _, _))| sparse_for(**id, *v).contains_key(name))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            got, want,
            "sparse search on {name:?} finds exactly the live points"
        );
    }
}

/// Text search finds exactly the live points whose payload holds the term, and the `text`
/// filter condition exactly those holding every term.
fn check_text(c: &VectorCollection, payloads: &BTreeMap<u64, Value>) {
    let holds = |p: &Value, term: &str| {
        p.get("words")
            .and_then(Value::as_str)
            .is_some_and(|w| w.split(' ').any(|t| t == term))
    };
    for term in ["w0", "w3", "w6", "common"] {
        let hits = c
            .query(
                SearchRequest::text(term)
                    .limit(payloads.len().max(1))
                    .with_payload(false),
            )
            .unwrap();
        let mut got: Vec<u64> = hits.iter().map(|h| h.point.id).collect();
        got.sort_unstable();
        let want: Vec<u64> = payloads
            .iter()
            .filter(|(_, p)| holds(p, term))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            got, want,
            "text search for {term} finds exactly the live points"
        );
    }
    let f = Filter::text("words", "w2 common");
    let want: Vec<u64> = payloads
        .iter()
        .filter(|(_, p)| holds(p, "w2") && holds(p, "common"))
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(c.matching_ids(Some(&f), None).unwrap(), want, "text filter");
}

pub fn next_op(rng: &mut ChaCha8Rng, version: &mut u64) -> Op {
    let mut v = || {
        *version += 1;
        *version
    };
    match rng.random_range(0..133) {
        0..=34 => Op::Upsert(vec![(rng.random_range(0..IDS), v())]),
        35..=54 => Op::Upsert(
            (0..rng.random_range(2..30))
                .map(|_| (rng.random_range(0..IDS), v()))
                .collect(),
        ),
        55..=59 => Op::Bulk(
            (0..rng.random_range(50..300))
                .map(|_| (rng.random_range(0..IDS), v()))
                .collect(),
        ),
        60..=76 => Op::Delete(
            (0..rng.random_range(1..5))
                .map(|_| rng.random_range(0..IDS))
                .collect(),
        ),
        77..=79 => Op::DeleteCategory(rng.random_range(0..4)),
        80..=91 => Op::Flush,
        92..=95 => Op::Checkpoint,
        96..=97 => Op::CreateIndex(["cat", "n", "at"][rng.random_range(0..3)].to_string()),
        98..=99 => Op::TextConfig(rng.random_bool(0.5)),
        100..=107 => Op::SetPayload(rng.random_range(0..IDS), v()),
        108..=109 => Op::ClearCategory(rng.random_range(0..4)),
        110..=113 => {
            // A version carrying every vector: 1 or 5 modulo 12.
            let mut version = v();
            while version % 12 != 1 && version % 12 != 5 {
                version = v();
            }
            Op::SetVectors(rng.random_range(0..IDS), version)
        }
        114..=115 => Op::DropVectors(rng.random_range(0..IDS)),
        116..=124 => Op::SetExpiry(rng.random_range(0..IDS), v()),
        _ => Op::Stream(
            (0..rng.random_range(1..4))
                .map(|_| (rng.random_range(0..IDS), v()))
                .collect(),
        ),
    }
}

pub fn execute(c: &VectorCollection, op: &Op) -> nearstore::Result<()> {
    let points = |items: &[(u64, u64)]| -> Vec<Point> {
        items
            .iter()
            .map(|&(id, v)| {
                let mut p = Point::new(id, Vec::new(), payload(id, v));
                p.expiry = expiry_for(v).map(nearstore::Expiry::At);
                let v = canonical(v);
                p.vector = vector_for(id, v);
                p.sparse = sparse_for(id, v);
                p.vectors = img_for(id, v);
                p
            })
            .collect()
    };
    match op {
        Op::Upsert(items) => c.upsert(points(items)),
        Op::Bulk(items) => c.upsert_bulk(points(items)),
        Op::Stream(items) if items.len() == 1 => c.stream_insert(points(items).swap_remove(0)),
        Op::Stream(items) => c.stream_insert_batch(points(items)),
        Op::Delete(ids) => c.delete(ids).map(|_| ()),
        Op::DeleteCategory(cat) => {
            let f = Filter::parse(&json!({"field": "cat", "eq": format!("c{cat}")})).unwrap();
            c.delete_by_filter(&f).map(|_| ())
        }
        Op::Flush => c.flush(),
        Op::Checkpoint => c.checkpoint(),
        Op::TrainQuantizer => {
            if c.config().storage_mode.is_quantized() {
                c.train_quantizer()?;
            }
            c.checkpoint()
        }
        Op::CreateIndex(field) => {
            let kind = match field.as_str() {
                "cat" => FieldIndexKind::Keyword,
                "at" => FieldIndexKind::Datetime,
                _ => FieldIndexKind::Integer,
            };
            c.create_field_index(field, kind)
        }
        Op::SetPayload(id, v) => {
            let selector = PointSelector::Ids(vec![*id]);
            match payload(*id, *v) {
                None => c.clear_payload(&selector),
                Some(Value::Object(new)) if v % 3 == 0 => c.overwrite_payload(&selector, new),
                Some(Value::Object(new)) => c.set_payload(&selector, new),
                Some(other) => panic!("workload payloads are objects: {other}"),
            }
            .map(|_| ())
        }
        Op::ClearCategory(cat) => {
            let f = Filter::parse(&json!({"field": "cat", "eq": format!("c{cat}")})).unwrap();
            c.clear_payload(&PointSelector::Filter(f)).map(|_| ())
        }
        // Only an existing point's vectors are edited (the model skips the others alike):
        // the engine's own liveness check (under its writer, after streamed points are
        // applied) decides, not a read beforehand, which a queued stream would race.
        Op::SetVectors(id, v) => {
            let mut edit = PointVectors::new(*id).with_vector("", vector(*id, *v));
            edit.vectors.extend(img_for(*id, *v));
            edit.sparse = sparse_for(*id, *v);
            absent_is_skipped(c.update_vectors(&[edit], &WriteOptions::default()))
        }
        Op::DropVectors(id) => absent_is_skipped(c.delete_vectors(
            &[*id],
            &["", "img", "s2"],
            &WriteOptions::default(),
        )),
        // Only a visible point's expiry is set (the model skips the others alike).
        Op::SetExpiry(id, v) => absent_is_skipped(c.set_expiry(&[*id], set_expiry_for(*v))),
        Op::TextConfig(words_only) => c.set_text_config(Some(if *words_only {
            TextIndexConfig::named(["words"])
        } else {
            TextIndexConfig::default()
        })),
    }
}

/// A single-point edit of a point that is not there is skipped, as the model does.
fn absent_is_skipped(result: nearstore::Result<()>) -> nearstore::Result<()> {
    match result {
        Err(nearstore::Error::PointNotFound { .. }) => Ok(()),
        other => other,
    }
}
