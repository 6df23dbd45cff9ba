//! Reading a datetime index in time order ([`PayloadIndexes::datetime_entries`]), for
//! scrolls ordered by a datetime field: the owner walks the keys a batch at a time instead
//! of reading and sorting every payload.

use roaring::RoaringTreemap;

use crate::idset::IdSet;
use crate::index::{PayloadIndexes, Values};

/// One (instant, id) pair of a datetime index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatetimeEntry {
    /// The instant, microseconds since the epoch.
    pub micros: i64,
    /// The point.
    pub id: u64,
    /// The point may have several instants at the field (an array value, or a path with
    /// `[]`), so this key need not be its earliest (latest) one: the caller checks.
    pub several: bool,
}

impl PayloadIndexes {
    /// Up to `max` entries of `field`'s datetime index whose ids are in `universe`, in time
    /// order (ascending, or descending by instant), ids ascending within an instant, from
    /// `from = (micros, id)` on (inclusive); `None` when the field has no datetime index (or
    /// a stale one). A point with several instants is listed under each of them.
    pub fn datetime_entries(
        &self,
        field: &str,
        descending: bool,
        from: Option<(i64, u64)>,
        universe: &RoaringTreemap,
        max: usize,
    ) -> Option<Vec<DatetimeEntry>> {
        let index = self.fields.get(field).filter(|index| !index.stale)?;
        let Values::Datetime(map) = &index.values else {
            return None;
        };
        let keys: Box<dyn Iterator<Item = (&i64, &IdSet)>> = match (descending, from) {
            (false, Some((k, _))) => Box::new(map.range(k..)),
            (false, None) => Box::new(map.iter()),
            (true, Some((k, _))) => Box::new(map.range(..=k).rev()),
            (true, None) => Box::new(map.iter().rev()),
        };
        let mut out = Vec::new();
        for (&micros, ids) in keys {
            let ids = &*ids.bitmap() & universe;
            let mut it = ids.iter();
            if let Some((k, id)) = from
                && k == micros
            {
                it.advance_to(id);
            }
            for id in it {
                if out.len() >= max {
                    return Some(out);
                }
                out.push(DatetimeEntry {
                    micros,
                    id,
                    several: index.multi || index.arrays.contains(id),
                });
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Datetime, FieldIndexKind, PayloadIndexes};
    use serde_json::json;

    #[test]
    fn entries_come_in_time_order_from_a_position_within_the_universe() {
        let mut idx = PayloadIndexes::new();
        idx.create_field("t", FieldIndexKind::Datetime, []).unwrap();
        idx.create_field("k", FieldIndexKind::Keyword, []).unwrap();
        idx.insert(1, &json!({"t": "2024-03-02"}));
        idx.insert(2, &json!({"t": "2024-03-01T01:00:00+01:00"}));
        idx.insert(3, &json!({"t": ["2024-03-03", "2024-03-01"]}));
        idx.insert(4, &json!({"t": "2024-03-01"}));
        let all = [1u64, 2, 3, 4].into_iter().collect();
        let day = |d: &str| Datetime::parse(d).unwrap().micros();
        let walk = |desc, from, max| {
            idx.datetime_entries("t", desc, from, &all, max)
                .unwrap()
                .iter()
                .map(|e| (e.id, e.several))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            walk(false, None, 10),
            vec![(2, false), (3, true), (4, false), (1, false), (3, true)]
        );
        assert_eq!(
            walk(false, Some((day("2024-03-01"), 4)), 2),
            vec![(4, false), (1, false)]
        );
        assert_eq!(
            walk(true, Some((day("2024-03-02"), 0)), 10),
            vec![(1, false), (2, false), (3, true), (4, false)]
        );
        let some = [1u64, 3].into_iter().collect();
        let got = idx.datetime_entries("t", true, None, &some, 10).unwrap();
        assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3, 1, 3]);
        assert_eq!(idx.datetime_entries("k", false, None, &all, 10), None);
        assert_eq!(idx.datetime_entries("nope", false, None, &all, 10), None);
    }
}
