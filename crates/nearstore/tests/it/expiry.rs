//! Point expiry against a model: random writes, expiry times, TTL changes, purges, deletes
//! by filter (builder and query language), reopens and wall-clock jumps forward and back.
//! After every step no expired point appears on any read path and every unexpired one is
//! present: get, scroll (id order and ordered by a field), count, dense / named / sparse /
//! text / hybrid / grouped / best-score / nested searches, a filtered search's k-guarantee,
//! and SELECT / COUNT(*) in the query language.
//!
//! A point expired but not yet purged comes back when the clock jumps back before its time
//! (expiry is a time, not a delete); purges (`purge_expired`, `flush`, `checkpoint`) delete
//! it for good, and deletes by filter never touch an invisible point.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use nearstore::{
    CollectionConfig, Database, DistanceMetric, ErrorKind, Expiry, FieldIndexKind, Filter, Leg,
    ManualWallClock, OrderBy, Point, ScrollRequest, SearchQuality, SearchRequest, SparseVector,
    TextIndexConfig, VectorCollection, VectorSpaceConfig, WallClock,
};
use proptest::prelude::*;
use serde_json::json;

const IDS: u64 = 10;
const START: u64 = 1_800_000_000_000;

#[derive(Debug, Clone)]
enum Step {
    /// Upsert `id` at `version`, with no expiry, an absolute time (ms from now, may be
    /// past) or a TTL (ms).
    Upsert(u64, u64, Option<(bool, i64)>),
    Delete(u64),
    /// `set_expiry` to now + offset (or none).
    SetExpiry(u64, Option<i64>),
    SetTtl(u64, u64),
    /// Move the wall clock (ms, either way).
    Jump(i64),
    Purge,
    Flush,
    /// `delete_by_filter` on a category (builder) or DELETE WHERE (query language).
    DeleteCategory(u64, bool),
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0..IDS, 0..1000u64, prop::option::of((any::<bool>(), -3000i64..3000)))
            .prop_map(|(id, v, e)| Step::Upsert(id, v, e)),
        1 => (0..IDS).prop_map(Step::Delete),
        2 => (0..IDS, prop::option::of(-3000i64..3000)).prop_map(|(id, o)| Step::SetExpiry(id, o)),
        1 => (0..IDS, 0..3000u64).prop_map(|(id, t)| Step::SetTtl(id, t)),
        3 => (-4000i64..4000).prop_map(Step::Jump),
        1 => Just(Step::Purge),
        1 => Just(Step::Flush),
        1 => (0..2u64, any::<bool>()).prop_map(|(c, ql)| Step::DeleteCategory(c, ql)),
        1 => Just(Step::Reopen),
    ]
}

/// id -> (version, expiry time).
type Model = BTreeMap<u64, (u64, Option<u64>)>;

fn visible(m: &Model, now: u64) -> BTreeMap<u64, (u64, Option<u64>)> {
    m.iter()
        .filter(|(_, (_, at))| at.is_none_or(|t| t > now))
        .map(|(id, e)| (*id, *e))
        .collect()
}

fn purge(m: &mut Model, now: u64) {
    m.retain(|_, (_, at)| at.is_none_or(|t| t > now));
}

fn cat(version: u64) -> u64 {
    version % 2
}

fn point(id: u64, version: u64) -> Point {
    let v = [id as f32, (version % 7) as f32, 1.0];
    Point::new(
        id,
        v.to_vec(),
        Some(json!({"cat": format!("c{}", cat(version)), "n": version, "words": "common term"})),
    )
    .with_vector("img", vec![1.0, id as f32 + 1.0])
    .with_sparse(
        "",
        SparseVector::new(vec![0, 1 + id as u32], vec![1.0, 0.5]).unwrap(),
    )
}

fn open(dir: &Path, clock: &Arc<ManualWallClock>) -> (Database, VectorCollection) {
    let db = Database::open(dir).unwrap();
    db.set_wall_clock(clock.clone());
    let c = match db.get_vector_collection("t") {
        Ok(c) => c,
        Err(_) => {
            let mut config = CollectionConfig::new(3, DistanceMetric::Euclidean)
                .with_vector("img", VectorSpaceConfig::new(2, DistanceMetric::Cosine));
            config.text = Some(TextIndexConfig::default());
            let c = db.create_collection_with_options("t", config).unwrap();
            c.create_field_index("n", FieldIndexKind::Integer).unwrap();
            c
        }
    };
    (db, c)
}

fn sorted(mut ids: Vec<u64>) -> Vec<u64> {
    ids.sort_unstable();
    ids
}

/// Every read path sees exactly the visible points.
fn check(db: &Database, c: &VectorCollection, m: &Model, now: u64) {
    let vis = visible(m, now);
    let want: Vec<u64> = vis.keys().copied().collect();
    let all: Vec<u64> = (0..IDS).collect();
    let n = IDS as usize;
    // get, with the expiry time it carries
    for (id, got) in all.iter().zip(c.get(&all).unwrap()) {
        match vis.get(id) {
            Some((v, at)) => {
                let p = got.unwrap_or_else(|| panic!("visible point {id} is found by id"));
                assert_eq!(p.payload.unwrap()["n"], json!(v));
                assert_eq!(p.expiry, at.map(Expiry::At), "expiry of {id}");
                assert_eq!(c.expires_at(*id), *at);
            }
            None => assert!(got.is_none(), "point {id} is not visible"),
        }
    }
    // scroll, count, len
    let page = c.scroll(None, 100, None).unwrap();
    assert_eq!(page.points.iter().map(|p| p.id).collect::<Vec<_>>(), want);
    assert_eq!(c.count(None).unwrap(), want.len());
    assert_eq!(c.len(), want.len());
    let ordered = c
        .scroll_with(
            &ScrollRequest::new()
                .order_by(OrderBy::asc("n"))
                .limit(100)
                .ids_only(),
        )
        .unwrap();
    let mut by_n: Vec<(u64, u64)> = vis.iter().map(|(id, (v, _))| (*v, *id)).collect();
    by_n.sort_unstable();
    assert_eq!(
        ordered.points.iter().map(|p| p.id).collect::<Vec<_>>(),
        by_n.iter().map(|(_, id)| *id).collect::<Vec<_>>(),
        "ordered scroll"
    );
    let c0 = Filter::eq("cat", json!("c0"));
    let want_c0: Vec<u64> = vis
        .iter()
        .filter(|(_, (v, _))| cat(*v) == 0)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(c.count(Some(&c0)).unwrap(), want_c0.len());
    // searches: each must find exactly the visible points
    let ids = |r: Vec<nearstore::SearchResult>| sorted(r.iter().map(|h| h.point.id).collect());
    let q = [0.0f32, 0.0, 1.0];
    // Exact dense legs: what is checked here is visibility, not graph recall.
    let dense = SearchRequest::new(&q)
        .limit(n)
        .with_payload(false)
        .quality(SearchQuality::Perfect);
    assert_eq!(ids(c.query(dense.clone()).unwrap()), want, "dense");
    let named = SearchRequest::new(&[1.0, 1.0])
        .using("img")
        .limit(n)
        .quality(SearchQuality::Perfect);
    assert_eq!(ids(c.query(named.clone()).unwrap()), want, "named");
    let sq = SparseVector::new(vec![0], vec![1.0]).unwrap();
    assert_eq!(ids(c.sparse_search(&sq, n, "").unwrap()), want, "sparse");
    assert_eq!(
        ids(c.query(SearchRequest::text("common").limit(n)).unwrap()),
        want,
        "text"
    );
    assert_eq!(
        ids(c.query(dense.clone().text_query("term")).unwrap()),
        want,
        "hybrid"
    );
    assert_eq!(
        ids(c
            .query(
                SearchRequest::new(&[])
                    .leg(Leg::best_score("", vec![q.to_vec()], vec![]))
                    .limit(n)
            )
            .unwrap()),
        want,
        "best score"
    );
    let nested = SearchRequest::new(&q)
        .limit(n)
        .quality(SearchQuality::Perfect);
    assert_eq!(
        ids(c
            .query(
                SearchRequest::new(&[])
                    .leg(Leg::nested(nested))
                    .leg(Leg::text("common"))
                    .limit(n)
            )
            .unwrap()),
        want,
        "nested"
    );
    let grouped: Vec<u64> = c
        .query_groups(
            SearchRequest::new(&q)
                .limit(2)
                .quality(SearchQuality::Perfect)
                .group_by("cat", n),
        )
        .unwrap()
        .iter()
        .flat_map(|g| g.hits.iter().map(|h| h.point.id))
        .collect();
    assert_eq!(sorted(grouped), want, "grouped");
    // the k-guarantee: every leg, unfiltered or filtered, comes back with min(k, matching
    // visible) points (an expired point counts like a filtered-out one)
    let k = 2;
    let short = want.len().min(k);
    let dense_k = c.query(dense.clone().limit(k)).unwrap();
    assert_eq!(dense_k.len(), short, "dense top-k is not short");
    assert_eq!(c.query(named.limit(k)).unwrap().len(), short, "named top-k");
    assert_eq!(
        c.sparse_search(&sq, k, "").unwrap().len(),
        short,
        "sparse top-k"
    );
    let text_k = SearchRequest::text("common").limit(k);
    assert_eq!(c.query(text_k).unwrap().len(), short, "text top-k");
    assert_eq!(
        c.query(dense.clone().text_query("term").limit(k))
            .unwrap()
            .len(),
        short,
        "hybrid top-k"
    );
    let got = c
        .query(SearchRequest::new(&q).filter(c0.clone()).limit(k))
        .unwrap();
    assert_eq!(
        got.len(),
        want_c0.len().min(k),
        "filtered search is not short"
    );
    assert!(got.iter().all(|h| want_c0.contains(&h.point.id)));
    // the query language
    let rows = db.execute("SELECT * FROM t", &json!({})).unwrap().rows;
    let ql: Vec<u64> = rows
        .iter()
        .map(|r| r.to_json()["id"].as_u64().unwrap())
        .collect();
    assert_eq!(sorted(ql), want, "SELECT");
    let count = db
        .execute("SELECT COUNT(*) AS n FROM t", &json!({}))
        .unwrap()
        .rows;
    assert_eq!(count[0].to_json()["n"], json!(want.len()), "COUNT(*)");
}

fn run(steps: &[Step]) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualWallClock::new(START));
    let (mut db, mut c) = open(dir.path(), &clock);
    let mut m = Model::new();
    for s in steps {
        let now = clock.now_millis();
        match *s {
            Step::Upsert(id, v, e) => {
                let mut p = point(id, v);
                let at = e.map(|(ttl, ms)| {
                    if ttl {
                        p = p.clone().with_ttl(Duration::from_millis(ms.unsigned_abs()));
                        now + ms.unsigned_abs()
                    } else {
                        let at = now.saturating_add_signed(ms);
                        p = p.clone().with_expires_at(at);
                        at
                    }
                });
                c.upsert(vec![p]).unwrap();
                m.insert(id, (v, at));
            }
            Step::Delete(id) => {
                c.delete(&[id]).unwrap();
                m.remove(&id);
            }
            Step::SetExpiry(id, offset) => {
                let at = offset.map(|o| now.saturating_add_signed(o));
                let r = c.set_expiry(&[id], at);
                if visible(&m, now).contains_key(&id) {
                    r.unwrap();
                    if let Some(e) = m.get_mut(&id) {
                        e.1 = at;
                    }
                } else {
                    assert_eq!(r.unwrap_err().kind(), ErrorKind::NotFound);
                }
            }
            Step::SetTtl(id, ms) => {
                let r = c.set_ttl(&[id], Duration::from_millis(ms));
                if visible(&m, now).contains_key(&id) {
                    r.unwrap();
                    if let Some(e) = m.get_mut(&id) {
                        e.1 = Some(now + ms);
                    }
                } else {
                    assert_eq!(r.unwrap_err().kind(), ErrorKind::NotFound);
                }
            }
            Step::Jump(ms) => clock.set_millis(now.saturating_add_signed(ms)),
            Step::Purge => {
                let expired = m.len() - visible(&m, now).len();
                assert_eq!(c.purge_expired().unwrap(), expired);
                purge(&mut m, now);
            }
            Step::Flush => {
                c.flush().unwrap();
                purge(&mut m, now);
            }
            Step::DeleteCategory(k, ql) => {
                if ql {
                    db.execute(&format!("DELETE FROM t WHERE cat = 'c{k}'"), &json!({}))
                        .unwrap();
                } else {
                    c.delete_by_filter(&Filter::eq("cat", json!(format!("c{k}"))))
                        .unwrap();
                }
                let gone: Vec<u64> = visible(&m, now)
                    .iter()
                    .filter(|(_, (v, _))| cat(*v) == k)
                    .map(|(id, _)| *id)
                    .collect();
                for id in gone {
                    m.remove(&id);
                }
            }
            Step::Reopen => {
                drop(c);
                drop(db);
                (db, c) = open(dir.path(), &clock);
            }
        }
        check(&db, &c, &m, clock.now_millis());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_expired_point_is_visible_and_every_unexpired_one_is(
        steps in prop::collection::vec(step(), 1..24)
    ) {
        run(&steps);
    }
}

#[test]
fn a_ttl_point_expires_when_the_clock_passes_it_and_a_purge_logs_its_delete() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualWallClock::new(START));
    {
        let (_db, c) = open(dir.path(), &clock);
        c.upsert(vec![
            point(1, 1).with_ttl(Duration::from_secs(60)),
            point(2, 2),
        ])
        .unwrap();
        assert_eq!(c.expires_at(1), Some(START + 60_000));
        clock.advance(Duration::from_secs(60));
        assert_eq!(c.count(None).unwrap(), 1);
        // Not purged yet: a clock set back shows it again.
        clock.set_millis(START);
        assert_eq!(c.count(None).unwrap(), 2);
        c.set_ttl(&[2], Duration::from_secs(1)).unwrap();
        c.set_expiry(&[1], None).unwrap();
        clock.advance(Duration::from_secs(5));
        assert_eq!(c.purge_expired().unwrap(), 1);
    }
    // After the purge (a logged delete) and a reopen, the point stays gone at any time.
    clock.set_millis(0);
    let (_db, c) = open(dir.path(), &clock);
    assert_eq!(c.scroll(None, 10, None).unwrap().points.len(), 1);
    assert_eq!(c.expires_at(1), None);
    assert!(c.get(&[2]).unwrap()[0].is_none());
}

/// An expired point is not there for a write by id either: payload and vector writes skip
/// it (by-id payload writes count only visible points; a vector edit names it not found),
/// so a clock set back shows it unchanged.
#[test]
fn writes_by_id_do_not_touch_an_expired_point() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualWallClock::new(START));
    let (_db, c) = open(dir.path(), &clock);
    c.upsert(vec![point(1, 1).with_expires_at(START + 10), point(2, 2)])
        .unwrap();
    clock.advance(Duration::from_millis(10));
    let mut set = serde_json::Map::new();
    set.insert("tag".into(), json!("x"));
    let both = nearstore::PointSelector::Ids(vec![1, 2]);
    assert_eq!(
        c.set_payload(&both, set).unwrap(),
        1,
        "only the visible point"
    );
    let edit = nearstore::PointVectors::new(1).with_vector("img", vec![5.0, 5.0]);
    let e = c
        .update_vectors(&[edit], &nearstore::WriteOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    clock.set_millis(START);
    let got = c.get(&[1, 2]).unwrap();
    let one = got[0].as_ref().unwrap();
    assert!(one.payload.as_ref().unwrap().get("tag").is_none());
    assert_eq!(one.vectors["img"], vec![1.0, 2.0]);
    assert_eq!(
        got[1].as_ref().unwrap().payload.as_ref().unwrap()["tag"],
        "x"
    );
}
