//! The read path: point lookups, searches, scrolls and counts.
//!
//! Every read goes through one of three entries: `Collection::ranked` (a
//! [`SearchRequest`]: filter bitmap -> each leg's search under it -> fusion when there are
//! several -> the one result window, see `search.rs`), [`Collection::scroll_ids`] (a [`ScrollRequest`]: filter bitmap -> id
//! order or a payload field's order -> a page and its cursor) and `count`. Each checks its
//! request's deadline in every loop that can run long.

use std::cmp::Ordering;

use rayon::prelude::*;
use roaring::RoaringTreemap;
use serde_json::Value;

use super::time_order::instant_key;
use super::{Collection, VectorCollection};
use crate::error::{Error, Result};
use crate::point::{Point, ScrollPage, SearchResult};
use crate::request::{
    Deadline, Direction, MAX_SCROLL_LIMIT, OrderBy, ReadOptions, ScrollCursor, ScrollRequest,
    SearchRequest, check_deadline,
};
use nearstore_filter::{FieldIndexKind, Filter, elements, field_values, total_cmp};

/// Points evaluated or ordered between two looks at the deadline.
pub(super) const DEADLINE_STRIDE: usize = 1024;

/// A scroll's ids and where the next page starts.
pub(crate) struct IdPage {
    pub ids: Vec<u64>,
    /// In an ordered page, the value each id was placed by (aligned with `ids`); empty in
    /// id order.
    pub keys: Vec<Value>,
    pub next: Option<ScrollCursor>,
}

impl Collection {
    /// The ids matching `filter`, exactly: payload indexes answer what they can (a
    /// `has_id` is its bitmap), the remaining conditions are evaluated on the candidates'
    /// payloads, stopping at `deadline`.
    pub(crate) fn resolve_filter(
        &self,
        filter: &Filter,
        deadline: Option<&Deadline>,
    ) -> Result<RoaringTreemap> {
        // Filters built in Rust (not parsed) are checked here: limits, ranges, patterns.
        filter.validate()?;
        let bound = self.bind_full_text(filter, deadline)?;
        let filter = bound.as_ref().unwrap_or(filter);
        let candidates = {
            let st = self.state.read();
            st.fields.resolve(filter, &self.visible_live(&st))
        };
        if candidates.exact {
            return Ok(candidates.ids);
        }
        let ids: Vec<u64> = candidates.ids.iter().collect();
        let matched: Result<Vec<Vec<u64>>> = ids
            .par_chunks(DEADLINE_STRIDE)
            .map(|chunk| {
                check_deadline(deadline, "filter evaluation")?;
                let mut out = Vec::new();
                for &id in chunk {
                    let payload = self.current_payload(id)?;
                    let doc = payload.as_deref().unwrap_or(&Value::Null);
                    if filter.matches_point(id, doc) {
                        out.push(id);
                    }
                }
                Ok(out)
            })
            .collect();
        Ok(matched?.into_iter().flatten().collect())
    }

    /// The ids a request ranges over: those matching its filter, or every visible id
    /// (expired points are never among them, see `expiry.rs`).
    pub(super) fn universe(
        &self,
        filter: Option<&Filter>,
        deadline: Option<&Deadline>,
    ) -> Result<RoaringTreemap> {
        match filter {
            Some(f) => self.resolve_filter(f, deadline),
            None => Ok(self.visible_live(&self.state.read()).into_owned()),
        }
    }

    /// The point as it is now (`None` when it is not live), with what was asked for.
    pub(super) fn point(
        &self,
        id: u64,
        with_vector: bool,
        with_payload: bool,
    ) -> Result<Option<Point>> {
        // Liveness and the overlay are read under one lock, so a point deleted meanwhile is
        // either seen whole or not at all; the payload store only changes at checkpoints,
        // which empty the overlay only after the store holds its content.
        let (overlay, sparse, expiry) = {
            let st = self.state.read();
            if !st.live.contains(id) || self.is_expired(&st, id) {
                return Ok(None);
            }
            let sparse = if with_vector {
                Collection::sparse_of(&st.sparse, id)
            } else {
                Default::default()
            };
            (st.overlay.get(&id).cloned(), sparse, st.expiry.get(id))
        };
        let vector = if with_vector {
            // A point without the default vector has an empty one.
            self.vectors.retrieve(id)?.unwrap_or_default()
        } else {
            Vec::new()
        };
        let payload = match (with_payload, overlay) {
            (false, _) => None,
            (true, Some(p)) => p.map(|p| p.as_ref().clone()),
            (true, None) => self.payloads.retrieve(id)?,
        };
        let mut point = Point::new(id, vector, payload);
        point.sparse = sparse;
        point.expiry = expiry.map(crate::point::Expiry::At);
        if with_vector {
            point.vectors = self.named_vectors_of(id)?;
        }
        Ok(Some(point))
    }

    /// The live points among `ids`, in that order, with what was asked for, checking the
    /// deadline as they are read.
    fn points(
        &self,
        ids: &[u64],
        with_vector: bool,
        with_payload: bool,
        deadline: Option<&Deadline>,
    ) -> Result<Vec<Point>> {
        let mut out = Vec::with_capacity(ids.len());
        for (i, &id) in ids.iter().enumerate() {
            if i.is_multiple_of(DEADLINE_STRIDE) {
                check_deadline(deadline, "reading points")?;
            }
            if let Some(p) = self.point(id, with_vector, with_payload)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    pub(crate) fn get(&self, ids: &[u64], options: &ReadOptions) -> Result<Vec<Option<Point>>> {
        self.check_open()?;
        let deadline = options.deadline.as_ref();
        let mut out = Vec::with_capacity(ids.len());
        for (i, &id) in ids.iter().enumerate() {
            if i.is_multiple_of(DEADLINE_STRIDE) {
                check_deadline(deadline, "reading points")?;
            }
            out.push(self.point(id, options.with_vector, options.with_payload)?);
        }
        Ok(out)
    }

    /// The ids of one scroll page (`limit` of them; all of them when `None`) and the next
    /// cursor.
    pub(crate) fn scroll_ids(
        &self,
        request: &ScrollRequest,
        limit: Option<usize>,
    ) -> Result<IdPage> {
        self.check_open()?;
        let deadline = request.deadline.as_ref();
        check_deadline(deadline, "scroll")?;
        let set = self.universe(request.filter.as_ref(), deadline)?;
        match &request.order_by {
            None => {
                let from = match &request.cursor {
                    None => 0,
                    Some(ScrollCursor::Id(id)) => *id,
                    Some(ScrollCursor::Ordered { .. }) => {
                        return Err(Error::InvalidArgument(
                            "an ordered scroll cursor given to a scroll in id order".into(),
                        ));
                    }
                };
                let mut it = set.iter();
                it.advance_to(from);
                let mut ids: Vec<u64> = match limit {
                    Some(n) => it.take(n.saturating_add(1)).collect(),
                    None => it.collect(),
                };
                let next = match limit {
                    Some(n) if ids.len() > n => ids.pop().map(ScrollCursor::Id),
                    _ => None,
                };
                Ok(IdPage {
                    ids,
                    keys: Vec::new(),
                    next,
                })
            }
            Some(order) => self.ordered_ids(&set, order, request, limit),
        }
    }

    /// One page of `set` ordered by a payload field (ties by id), from the cursor on.
    fn ordered_ids(
        &self,
        set: &RoaringTreemap,
        order: &OrderBy,
        request: &ScrollRequest,
        limit: Option<usize>,
    ) -> Result<IdPage> {
        let deadline = request.deadline.as_ref();
        let desc = order.direction == Direction::Desc;
        let by_time =
            self.state.read().fields.field_kind(&order.field) == Some(FieldIndexKind::Datetime);
        let start_from = match (&order.start_from, by_time) {
            (Some(start), true) => Some(instant_key(start)?),
            (start, _) => start.clone(),
        };
        let cmp = |a: &(Value, u64), b: &(Value, u64)| -> Ordering {
            let by_value = if desc {
                total_cmp(&b.0, &a.0)
            } else {
                total_cmp(&a.0, &b.0)
            };
            by_value.then(a.1.cmp(&b.1))
        };
        let from: Option<(Value, u64)> = match &request.cursor {
            None => None,
            // A cursor of a datetime-ordered page carries microseconds; one taken before
            // the index existed carries the field's string: read it as an instant too.
            Some(ScrollCursor::Ordered { value, id }) if by_time => {
                Some((instant_key(value)?, *id))
            }
            Some(ScrollCursor::Ordered { value, id }) => Some((value.clone(), *id)),
            Some(ScrollCursor::Id(_)) => {
                return Err(Error::InvalidArgument(
                    "an id cursor given to a scroll ordered by a field".into(),
                ));
            }
        };
        if by_time {
            let position = |v: &Option<(Value, u64)>| v.as_ref().map(|(k, id)| (k.as_i64(), *id));
            let start = start_from.as_ref().map(|s| (s.as_i64(), 0));
            return self.time_ordered_ids(
                set,
                &order.field,
                desc,
                [start, position(&from)],
                limit,
                deadline,
            );
        }
        let ids: Vec<u64> = set.iter().collect();
        let keyed: Result<Vec<Vec<(Value, u64)>>> = ids
            .par_chunks(DEADLINE_STRIDE)
            .map(|chunk| {
                check_deadline(deadline, "ordered scroll")?;
                let mut out = Vec::with_capacity(chunk.len());
                for &id in chunk {
                    let payload = self.current_payload(id)?;
                    let Some(key) = sort_key(payload.as_deref(), &order.field, desc) else {
                        continue;
                    };
                    let past_start = start_from.as_ref().is_none_or(|s| {
                        let o = total_cmp(&key, s);
                        if desc { o.is_le() } else { o.is_ge() }
                    });
                    let entry = (key, id);
                    let past_cursor = from.as_ref().is_none_or(|f| cmp(&entry, f).is_ge());
                    if past_start && past_cursor {
                        out.push(entry);
                    }
                }
                Ok(out)
            })
            .collect();
        let mut keyed: Vec<(Value, u64)> = keyed?.into_iter().flatten().collect();
        check_deadline(deadline, "ordered scroll")?;
        let take = limit.map(|n| n.saturating_add(1));
        if let Some(n) = take
            && keyed.len() > n
        {
            keyed.select_nth_unstable_by(n, cmp);
            keyed.truncate(n);
        }
        keyed.sort_unstable_by(cmp);
        let next = match limit {
            Some(n) if keyed.len() > n => keyed
                .pop()
                .map(|(value, id)| ScrollCursor::Ordered { value, id }),
            _ => None,
        };
        let (keys, ids) = keyed.into_iter().unzip();
        Ok(IdPage { ids, keys, next })
    }

    pub(crate) fn scroll_request(&self, request: &ScrollRequest) -> Result<ScrollPage> {
        if request.limit == 0 || request.limit > MAX_SCROLL_LIMIT {
            return Err(Error::InvalidArgument(format!(
                "scroll limit must be 1..={MAX_SCROLL_LIMIT}, got {}",
                request.limit
            )));
        }
        let page = self.scroll_ids(request, Some(request.limit))?;
        let points = self.points(
            &page.ids,
            request.with_vector,
            request.with_payload,
            request.deadline.as_ref(),
        )?;
        let next_cursor = match &page.next {
            Some(ScrollCursor::Id(id) | ScrollCursor::Ordered { id, .. }) => Some(*id),
            None => None,
        };
        // `points` keeps the ids' order and may skip one removed meanwhile: walk both.
        let mut order_values = Vec::with_capacity(page.keys.len().min(points.len()));
        if !page.keys.is_empty() {
            let mut keyed = page.ids.iter().zip(page.keys);
            for p in &points {
                if let Some((_, key)) = keyed.by_ref().find(|(id, _)| **id == p.id) {
                    order_values.push(key);
                }
            }
        }
        Ok(ScrollPage {
            points,
            next_cursor,
            next: page.next,
            order_values,
        })
    }

    pub(crate) fn scan(&self, request: &ScrollRequest) -> Result<Vec<Point>> {
        let page = self.scroll_ids(request, None)?;
        self.points(
            &page.ids,
            request.with_vector,
            request.with_payload,
            request.deadline.as_ref(),
        )
    }

    pub(crate) fn count(&self, filter: Option<&Filter>) -> Result<usize> {
        self.check_open()?;
        Ok(self.universe(filter, None)?.len() as usize)
    }
}

/// Where a payload sorts by `field`: the smallest value the path reaches (largest when
/// descending), an array counting as its elements and a `[]` path reaching several;
/// `None` without a value to sort by.
fn sort_key(payload: Option<&Value>, field: &str, desc: bool) -> Option<Value> {
    let present = field_values(payload?, field)
        .into_iter()
        .flat_map(elements)
        .filter(|v| !v.is_null());
    let pick = if desc {
        present.max_by(|a, b| total_cmp(a, b))
    } else {
        present.min_by(|a, b| total_cmp(a, b))
    };
    pick.cloned()
}

impl VectorCollection {
    /// The points with these ids, in the same order (`None` for an unknown id), with
    /// vectors and payloads.
    pub fn get(&self, ids: &[u64]) -> Result<Vec<Option<Point>>> {
        self.inner.get(ids, &ReadOptions::default())
    }

    /// [`VectorCollection::get`] with options: what to return, and a deadline (past it:
    /// `ErrorKind::Cancelled`, nothing returned).
    pub fn get_with(&self, ids: &[u64], options: &ReadOptions) -> Result<Vec<Option<Point>>> {
        self.inner.get(ids, options)
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

    /// The `k` best points for a full-text `query` by BM25 (best first, ties to the smaller
    /// id), with payloads. Words are OR-ed; `"a phrase"`, `+required`, `-excluded` and
    /// `field:word` work as documented in `nearstore_text`. A query with no indexable term
    /// returns no rows. Fails with [`Error::NoTextIndex`] when text indexing is off.
    pub fn text_search(&self, query: &str, k: usize) -> Result<Vec<SearchResult>> {
        self.query(SearchRequest::text(query).limit(k))
    }

    /// [`VectorCollection::text_search`] among the points matching `filter`: returns `k`
    /// results whenever `k` matching points contain the query.
    pub fn text_search_with_filter(
        &self,
        query: &str,
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<SearchResult>> {
        self.query(SearchRequest::text(query).limit(k).filter(filter.clone()))
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

    /// The general search: see [`SearchRequest`]. A request with `group_by` is refused
    /// here: it answers groups, through [`VectorCollection::query_groups`].
    pub fn query(&self, request: SearchRequest) -> Result<Vec<SearchResult>> {
        if request.group_by.is_some() {
            return Err(Error::InvalidArgument(
                "a request with group_by answers groups: run it with query_groups".into(),
            ));
        }
        self.inner.query(&request)
    }

    /// Points in ascending id order, from `cursor` (inclusive) on, matching `filter` when
    /// given; pass the returned `next_cursor` to get the next page. A shorthand for
    /// [`VectorCollection::scroll_with`].
    pub fn scroll(
        &self,
        filter: Option<&Filter>,
        limit: usize,
        cursor: Option<u64>,
    ) -> Result<ScrollPage> {
        let mut request = ScrollRequest::new()
            .filter_opt(filter.cloned())
            .limit(limit);
        if let Some(id) = cursor {
            request = request.from_id(id);
        }
        self.inner.scroll_request(&request)
    }

    /// One page of a scroll (see [`ScrollRequest`]); pass the page's `next` as the next
    /// request's cursor.
    pub fn scroll_with(&self, request: &ScrollRequest) -> Result<ScrollPage> {
        self.inner.scroll_request(request)
    }

    /// Every point the scroll request ranges over (its `limit` is ignored), in its order,
    /// from its cursor on: the one loop over a whole collection, for callers that need all
    /// matching points (the query executor's scans, UPDATE and DELETE).
    pub fn scan(&self, request: &ScrollRequest) -> Result<Vec<Point>> {
        self.inner.scan(request)
    }

    /// [`VectorCollection::scan`] that stops after `max` points (all when `None`).
    pub(crate) fn scan_up_to(
        &self,
        request: &ScrollRequest,
        max: Option<usize>,
    ) -> Result<Vec<Point>> {
        let page = self.inner.scroll_ids(request, max)?;
        self.inner.points(
            &page.ids,
            request.with_vector,
            request.with_payload,
            request.deadline.as_ref(),
        )
    }

    /// The ids of every point matching `filter` (all live points when `None`), ascending.
    pub fn matching_ids(
        &self,
        filter: Option<&Filter>,
        deadline: Option<&Deadline>,
    ) -> Result<Vec<u64>> {
        self.inner.check_open()?;
        check_deadline(deadline, "filter")?;
        Ok(self.inner.universe(filter, deadline)?.iter().collect())
    }

    /// Number of points, or of points matching `filter`.
    pub fn count(&self, filter: Option<&Filter>) -> Result<usize> {
        self.inner.count(filter)
    }
}
