//! Cardinality estimates for planners and EXPLAIN: what the payload indexes say about a
//! filter without reading a payload ([`VectorCollection::estimate_filter`]).

use serde::Serialize;

use super::VectorCollection;
use crate::error::Result;
use nearstore_filter::Filter;

/// How many live points a filter can match, from the payload indexes alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FilterEstimate {
    /// Live points in the collection.
    pub live: u64,
    /// Points the filter may match: exactly the matches when `exact`, else an upper bound
    /// (conditions on unindexed fields and full-text conditions count as "may match").
    pub candidates: u64,
    /// `candidates` is the exact count: answering the filter reads no payload.
    pub exact: bool,
}

impl VectorCollection {
    /// What the payload indexes say about `filter` (every live point when `None`): an
    /// upper bound of its matches, exact when the indexes answer it alone. Cheap (bitmap
    /// operations under the read lock, no payload reads, no full-text analysis).
    pub fn estimate_filter(&self, filter: Option<&Filter>) -> Result<FilterEstimate> {
        self.inner.check_open()?;
        if let Some(f) = filter {
            f.validate()?;
        }
        let st = self.inner.state.read();
        let live = st.live.len();
        Ok(match filter {
            None => FilterEstimate {
                live,
                candidates: live,
                exact: true,
            },
            Some(f) => {
                let answer = st.fields.resolve(f, &st.live);
                FilterEstimate {
                    live,
                    candidates: answer.ids.len(),
                    exact: answer.exact && !f.mentions_full_text(),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Database, DistanceMetric, FieldIndexKind, Filter, Point};
    use serde_json::json;

    #[test]
    fn estimates_are_exact_from_indexes_and_upper_bounds_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).unwrap();
        let c = db
            .create_collection("c", 2, DistanceMetric::Euclidean)
            .unwrap();
        let points = (0..10u64)
            .map(|i| Point::new(i, vec![i as f32, 0.0], Some(json!({"k": i % 2, "t": "x"}))))
            .collect();
        c.upsert(points).unwrap();
        let odd = Filter::eq("k", json!(1));
        let e = c.estimate_filter(Some(&odd)).unwrap();
        assert_eq!((e.live, e.candidates, e.exact), (10, 10, false));
        c.create_field_index("k", FieldIndexKind::Integer).unwrap();
        let e = c.estimate_filter(Some(&odd)).unwrap();
        assert_eq!((e.live, e.candidates, e.exact), (10, 5, true));
        let text = Filter::and(vec![odd, Filter::text("t", "x")]);
        let e = c.estimate_filter(Some(&text)).unwrap();
        assert_eq!((e.candidates, e.exact), (5, false));
        assert_eq!(c.estimate_filter(None).unwrap().candidates, 10);
    }
}
