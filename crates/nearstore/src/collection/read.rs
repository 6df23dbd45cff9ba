//! The read path: point lookups, searches, scroll and count.

use rayon::prelude::*;
use roaring::RoaringTreemap;
use serde_json::Value;

use super::{Collection, VectorCollection};
use crate::error::{Error, Result};
use crate::plan::BitmapAllowList;
use crate::point::{Point, ScrollPage, SearchResult};
use crate::request::{MAX_SEARCH_RESULTS, SearchRequest};
use nearstore_filter::Filter;
use nearstore_index::{AllowList, SearchHit, VectorIndex};

/// Largest page a scroll returns.
pub const MAX_SCROLL_LIMIT: usize = 10_000;

impl Collection {
    /// The ids matching `filter`, exactly: payload indexes answer what they can, the
    /// remaining conditions are evaluated on the candidates' payloads.
    pub(crate) fn resolve_filter(&self, filter: &Filter) -> Result<RoaringTreemap> {
        // Filters built in Rust (not parsed) are checked here: limits, ranges, patterns.
        filter.validate()?;
        let candidates = {
            let st = self.state.read();
            st.fields.resolve(filter, &st.live)
        };
        if candidates.exact {
            return Ok(candidates.ids);
        }
        let ids: Vec<u64> = candidates.ids.iter().collect();
        let matched: Result<Vec<Option<u64>>> = ids
            .par_iter()
            .map(|&id| {
                let payload = self.current_payload(id)?;
                let doc = payload.as_deref().unwrap_or(&Value::Null);
                Ok(filter.matches(doc).then_some(id))
            })
            .collect();
        Ok(matched?.into_iter().flatten().collect())
    }

    /// The point as it is now (`None` when it is not live), with what was asked for.
    fn point(&self, id: u64, with_vector: bool, with_payload: bool) -> Result<Option<Point>> {
        // Liveness and the overlay are read under one lock, so a point deleted meanwhile is
        // either seen whole or not at all; the payload store only changes at checkpoints,
        // which empty the overlay only after the store holds its content.
        let overlay = {
            let st = self.state.read();
            if !st.live.contains(id) {
                return Ok(None);
            }
            st.overlay.get(&id).cloned()
        };
        let vector = if with_vector {
            match self.vectors.retrieve(id)? {
                Some(v) => v,
                None => return Ok(None),
            }
        } else {
            Vec::new()
        };
        let payload = match (with_payload, overlay) {
            (false, _) => None,
            (true, Some(p)) => p.map(|p| p.as_ref().clone()),
            (true, None) => self.payloads.retrieve(id)?,
        };
        Ok(Some(Point::new(id, vector, payload)))
    }

    pub(crate) fn get(&self, ids: &[u64]) -> Result<Vec<Option<Point>>> {
        self.check_open()?;
        ids.iter().map(|&id| self.point(id, true, true)).collect()
    }

    /// The best hits for `request` (ids and scores only), after offset and threshold.
    pub(crate) fn search_hits(&self, request: &SearchRequest) -> Result<Vec<SearchHit>> {
        self.check_open()?;
        self.check_vector(0, &request.vector)?;
        let wanted = request.limit.saturating_add(request.offset);
        if wanted > MAX_SEARCH_RESULTS {
            return Err(Error::InvalidArgument(format!(
                "limit + offset is {wanted}, at most {MAX_SEARCH_RESULTS}"
            )));
        }
        if request.limit == 0 {
            return Ok(Vec::new());
        }
        let allow = match &request.filter {
            Some(f) => Some(BitmapAllowList::new(self.resolve_filter(f)?)),
            None => None,
        };
        let quality = match request.quality {
            nearstore_index::SearchQuality::Balanced => nearstore_index::SearchQuality::Ef(
                self.ef_search.load(std::sync::atomic::Ordering::Acquire),
            ),
            q => q,
        };
        let mut hits = self.index.search(
            &request.vector,
            wanted,
            quality,
            allow.as_ref().map(|a| a as &dyn AllowList),
        )?;
        hits.drain(..request.offset.min(hits.len()));
        if let Some(t) = request.score_threshold {
            let metric = self.config.metric;
            hits.retain(|h| h.score == t || metric.better(h.score, t));
        }
        Ok(hits)
    }

    pub(crate) fn query(&self, request: &SearchRequest) -> Result<Vec<SearchResult>> {
        let hits = self.search_hits(request)?;
        let mut out = Vec::with_capacity(hits.len());
        for h in hits {
            // A point deleted between the search and this read is left out.
            if let Some(point) = self.point(h.id, request.with_vector, request.with_payload)? {
                out.push(SearchResult {
                    point,
                    score: h.score,
                });
            }
        }
        Ok(out)
    }

    pub(crate) fn scroll(
        &self,
        filter: Option<&Filter>,
        limit: usize,
        cursor: Option<u64>,
    ) -> Result<ScrollPage> {
        self.check_open()?;
        if limit == 0 || limit > MAX_SCROLL_LIMIT {
            return Err(Error::InvalidArgument(format!(
                "scroll limit must be 1..={MAX_SCROLL_LIMIT}, got {limit}"
            )));
        }
        let mut ids: Vec<u64> = {
            let from = cursor.unwrap_or(0);
            let page = |set: &RoaringTreemap| -> Vec<u64> {
                let mut it = set.iter();
                it.advance_to(from);
                it.take(limit + 1).collect()
            };
            match filter {
                Some(f) => page(&self.resolve_filter(f)?),
                None => page(&self.state.read().live),
            }
        };
        let next_cursor = if ids.len() > limit { ids.pop() } else { None };
        let mut points = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(p) = self.point(id, true, true)? {
                points.push(p);
            }
        }
        Ok(ScrollPage {
            points,
            next_cursor,
        })
    }

    pub(crate) fn count(&self, filter: Option<&Filter>) -> Result<usize> {
        self.check_open()?;
        Ok(match filter {
            Some(f) => self.resolve_filter(f)?.len() as usize,
            None => self.state.read().live.len() as usize,
        })
    }
}

impl VectorCollection {
    /// The points with these ids, in the same order (`None` for an unknown id), with
    /// vectors and payloads.
    pub fn get(&self, ids: &[u64]) -> Result<Vec<Option<Point>>> {
        self.inner.get(ids)
    }

    /// The `k` nearest points to `vector`, best first, with payloads.
    pub fn search(&self, vector: &[f32], k: usize) -> Result<Vec<SearchResult>> {
        self.query(SearchRequest::new(vector).limit(k))
    }

    /// The `k` nearest ids and scores, best first, without reading payloads.
    pub fn search_ids(&self, vector: &[f32], k: usize) -> Result<Vec<(u64, f32)>> {
        let hits = self
            .inner
            .search_hits(&SearchRequest::new(vector).limit(k))?;
        Ok(hits.into_iter().map(|h| (h.id, h.score)).collect())
    }

    /// The `k` nearest points whose payload matches `filter`. Returns `k` results whenever
    /// `k` points match.
    pub fn search_with_filter(
        &self,
        vector: &[f32],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<SearchResult>> {
        self.query(SearchRequest::new(vector).limit(k).filter(filter.clone()))
    }

    /// Several searches at once (in parallel), each like [`VectorCollection::search`].
    pub fn search_batch(&self, vectors: &[Vec<f32>], k: usize) -> Result<Vec<Vec<SearchResult>>> {
        vectors.par_iter().map(|v| self.search(v, k)).collect()
    }

    /// The general search: see [`SearchRequest`].
    pub fn query(&self, request: SearchRequest) -> Result<Vec<SearchResult>> {
        self.inner.query(&request)
    }

    /// Points in ascending id order, from `cursor` (inclusive) on, matching `filter` when
    /// given; pass the returned `next_cursor` to get the next page.
    pub fn scroll(
        &self,
        filter: Option<&Filter>,
        limit: usize,
        cursor: Option<u64>,
    ) -> Result<ScrollPage> {
        self.inner.scroll(filter, limit, cursor)
    }

    /// Number of points, or of points matching `filter`.
    pub fn count(&self, filter: Option<&Filter>) -> Result<usize> {
        self.inner.count(filter)
    }
}
