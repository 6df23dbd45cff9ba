//! Grouped searches: the request's ranking read deeper until its groups are complete (the
//! rule and the depths are in the module docs of `request::group`). The ranking is the one
//! search path's (`Collection::ranked`: every leg filtered inside its own search, fusion,
//! the score threshold); this only chooses the depth and groups the ranked hits.

use std::collections::HashMap;

use serde_json::Value;

use super::{Collection, VectorCollection};
use crate::error::{Error, Result};
use crate::request::group::{group_hits, group_keys};
use crate::request::{
    GROUP_DEPTH_GROWTH, MAX_SEARCH_RESULTS, SearchGroup, SearchRequest, check_deadline,
};

impl Collection {
    fn query_groups(&self, request: &SearchRequest) -> Result<Vec<SearchGroup>> {
        let Some(group_by) = &request.group_by else {
            return Err(Error::InvalidArgument(
                "query_groups needs a request with group_by".into(),
            ));
        };
        group_by.validate(request.limit, request.offset)?;
        let mut pass = request.clone();
        pass.group_by = None;
        pass.offset = 0;
        let mut depth = group_by.first_depth(request.limit);
        // A hit's keys, read once across passes.
        let mut keys: HashMap<u64, Vec<Value>> = HashMap::new();
        let deadline = request.deadline.as_ref();
        let groups = loop {
            pass.limit = depth;
            let ranked = self.ranked(&pass)?;
            let exhausted = ranked.hits.len() < depth;
            let (groups, complete) =
                group_hits(&ranked.hits, request.limit, group_by.group_size, |id| {
                    if let Some(k) = keys.get(&id) {
                        return Ok(k.clone());
                    }
                    if keys.len().is_multiple_of(1024) {
                        check_deadline(deadline, "grouping")?;
                    }
                    let payload = self.current_payload(id)?;
                    let k = group_keys(payload.as_deref(), &group_by.field);
                    keys.insert(id, k.clone());
                    Ok(k)
                })?;
            if complete || exhausted || depth >= MAX_SEARCH_RESULTS {
                break groups;
            }
            depth = depth
                .saturating_mul(GROUP_DEPTH_GROWTH)
                .min(MAX_SEARCH_RESULTS);
        };
        groups
            .into_iter()
            .map(|(key, hits)| {
                Ok(SearchGroup {
                    key,
                    hits: self.results(hits, request)?,
                })
            })
            .collect()
    }
}

impl VectorCollection {
    /// A grouped search (see [`crate::GroupBy`]): the request's ranking (every leg, fused,
    /// filtered inside each search, past its score threshold) grouped by a payload field;
    /// `limit` groups of at most `group_size` hits, best group first. The search reads as
    /// deep as needed, so groups are not short while the ranking has more hits (up to
    /// [`MAX_SEARCH_RESULTS`] ranked hits).
    ///
    /// ```
    /// # use nearstore::{Database, DistanceMetric, Point, SearchRequest};
    /// # use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// # let db = Database::open(dir.path())?;
    /// let docs = db.create_collection("docs", 2, DistanceMetric::Euclidean)?;
    /// docs.upsert(vec![
    ///     Point::new(1, vec![0.0, 0.0], Some(json!({"doc": "a"}))),
    ///     Point::new(2, vec![0.1, 0.0], Some(json!({"doc": "a"}))),
    ///     Point::new(3, vec![0.2, 0.0], Some(json!({"doc": "b"}))),
    /// ])?;
    /// let groups = docs.query_groups(SearchRequest::new(&[0.0, 0.0]).limit(2).group_by("doc", 1))?;
    /// assert_eq!(groups.len(), 2);
    /// assert_eq!(groups[1].key, json!("b"));
    /// assert_eq!(groups[1].hits[0].point.id, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn query_groups(&self, request: SearchRequest) -> Result<Vec<SearchGroup>> {
        self.inner.query_groups(&request)
    }
}
