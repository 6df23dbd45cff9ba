//! Every live point stays reachable through writes: small graphs under random sequences of
//! inserts, replaces, deletes, vacuums and checkpoint reloads, checked against a brute-force
//! oracle (an unfiltered search with `k` at least the live count returns every live point).

use std::collections::BTreeMap;
use std::sync::Arc;

use nearstore_storage::{FaultyBackend, SharedBackend};
use proptest::prelude::*;

use super::*;

const CHECKPOINT: &str = "/idx/reachability.ckpt";

/// A write to apply to both the index and the oracle.
#[derive(Debug, Clone)]
enum Op {
    /// Insert or replace `id` with a point of the small grid (ties between distances are
    /// common there, as in the collection that found the bug).
    Upsert(u64, [u8; 2]),
    Delete(u64),
    Vacuum,
    /// Save and load; the level generator is reseeded with `seed ^ lsn` on load.
    Reload(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u64..12, any::<[u8; 2]>()).prop_map(|(id, xy)| Op::Upsert(id, xy)),
        2 => (0u64..12).prop_map(Op::Delete),
        1 => Just(Op::Vacuum),
        2 => any::<u64>().prop_map(Op::Reload),
    ]
}

fn vector(xy: [u8; 2]) -> [f32; 3] {
    [f32::from(xy[0] % 6), f32::from(xy[1] % 3), 1.0]
}

fn reload(index: HnswIndex, backend: &SharedBackend, lsn: u64) -> HnswIndex {
    let path = std::path::Path::new(CHECKPOINT);
    index.save(backend.as_ref(), path, lsn).unwrap();
    let (loaded, read_lsn) = HnswIndex::load(backend.as_ref(), path).unwrap();
    assert_eq!(read_lsn, lsn);
    loaded
}

/// Checks that every live point is found by an unfiltered default-quality search for
/// each live point's vector (and the origin), with exact scores, and that the entry point
/// is live whenever a point is.
fn check(index: &HnswIndex, oracle: &BTreeMap<u64, [f32; 3]>) -> Result<(), TestCaseError> {
    prop_assert_eq!(index.len(), oracle.len());
    {
        let g = index.graph.read();
        if !oracle.is_empty() {
            let entry = g.entry.map(|(e, _)| e);
            prop_assert!(
                entry.is_some_and(|e| !g.is_deleted(e)),
                "entry {:?}",
                g.entry
            );
        }
    }
    let k = oracle.len().max(1);
    let queries = oracle.values().copied().chain([[0.0, 0.0, 0.0]]);
    for q in queries {
        let hits = index.search(&q, k, SearchQuality::Balanced, None).unwrap();
        let mut got: Vec<u64> = hits.iter().map(|h| h.id).collect();
        got.sort_unstable();
        let want: Vec<u64> = oracle.keys().copied().collect();
        prop_assert_eq!(&got, &want, "query {:?}", q);
        for h in &hits {
            let v = oracle[&h.id];
            let d: f32 = v.iter().zip(&q).map(|(a, b)| (a - b) * (a - b)).sum();
            prop_assert!((h.score - d.sqrt()).abs() < 1e-4, "{:?} at {}", h, d.sqrt());
        }
    }
    Ok(())
}

fn run(m: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let backend: SharedBackend = Arc::new(FaultyBackend::new());
    let params = HnswParams {
        m,
        ..HnswParams::default()
    };
    let mut index = HnswIndex::new(3, DistanceMetric::Euclidean, params).unwrap();
    let mut oracle = BTreeMap::new();
    for op in ops {
        match *op {
            Op::Upsert(id, xy) => {
                index.upsert(id, &vector(xy)).unwrap();
                oracle.insert(id, vector(xy));
            }
            Op::Delete(id) => {
                let was = index.delete(id).unwrap();
                prop_assert_eq!(was, oracle.remove(&id).is_some());
            }
            Op::Vacuum => {
                index.vacuum();
            }
            Op::Reload(lsn) => index = reload(index, &backend, lsn),
        }
        check(&index, &oracle)?;
    }
    Ok(())
}

/// The collection that found the bug: one point, a checkpoint, then a point far away, a
/// replace of the first and another far point. The new copy of the first point was linked
/// only to its deleted old slot (the heuristic dropped the live candidate the deleted one
/// "covered"), and once the third point became the entry point nothing reached it.
#[test]
fn a_replace_after_a_reload_stays_reachable_whatever_levels_are_drawn() {
    let backend: SharedBackend = Arc::new(FaultyBackend::new());
    let p = |id: u64| [id as f32, 0.0, 1.0];
    for lsn in 0..200 {
        let index = HnswIndex::new(3, DistanceMetric::Euclidean, HnswParams::default()).unwrap();
        index.upsert(0, &p(0)).unwrap();
        let index = reload(index, &backend, lsn);
        for id in [8, 0, 9] {
            index.upsert(id, &p(id)).unwrap();
        }
        let hits = index
            .search(&p(0), 10, SearchQuality::Balanced, None)
            .unwrap();
        let ids: Vec<u64> = hits.iter().map(|h| h.id).collect();
        assert_eq!(ids, [0, 8, 9], "lsn {lsn}");
    }
}

/// Deleting every point and inserting again: the new point is found (the entry point is
/// not left on a deleted slot nothing links from).
#[test]
fn inserting_after_deleting_everything_finds_the_new_points() {
    let index = HnswIndex::new(3, DistanceMetric::Euclidean, HnswParams::default()).unwrap();
    for id in 0..5 {
        index.upsert(id, &[id as f32, 0.0, 1.0]).unwrap();
    }
    assert_eq!(index.delete_ids(&[0, 1, 2, 3, 4]), 5);
    assert!(index.graph.read().entry.is_none());
    index.upsert(7, &[1.0, 1.0, 1.0]).unwrap();
    index.upsert(8, &[2.0, 1.0, 1.0]).unwrap();
    let hits = index
        .search(&[0.0; 3], 5, SearchQuality::Balanced, None)
        .unwrap();
    let ids: Vec<u64> = hits.iter().map(|h| h.id).collect();
    assert_eq!(ids, [7, 8]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn every_live_point_is_found_through_random_writes_and_reloads(
        m in prop_oneof![Just(6usize), Just(16)],
        ops in prop::collection::vec(op(), 1..40),
    ) {
        run(m, &ops)?;
    }
}
