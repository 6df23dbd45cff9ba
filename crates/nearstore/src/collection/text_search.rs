//! The text leg of the one request path, and full-text filter conditions.
//!
//! The text leg of a [`SearchRequest`] runs here (called by `search.rs`, which resolved the
//! filter to the exact id bitmap first, the same `resolve_filter` as every other read): the
//! text index runs its block-max pruned top-k (window scoring or block-max WAND) under that bitmap to the leg's depth (checking the
//! request's deadline every 1,024 steps), so a filtered text search is never short when
//! enough points match. Scores are BM25 (higher is better).
//!
//! Full-text filter conditions (`text` / `phrase`, see `nearstore_filter::Op::Text`) are
//! bound before a filter is resolved: each becomes the exact id set it matches, through the
//! text index when the collection indexes that field (by the field's own analyzer), and
//! otherwise by analyzing the payload value at that path with the default analyzer (a scan
//! of the live payloads, checking the deadline as it goes).

use rayon::prelude::*;
use roaring::RoaringTreemap;

use super::{Collection, VectorCollection};
use crate::error::{Error, Result};
use crate::point::SearchResult;
use crate::request::{Deadline, SearchRequest, TextLeg, check_deadline};
use nearstore_filter::{Condition, Filter, Op, field_values};
use nearstore_index::SearchHit;
use nearstore_text::{Analyzer, SearchStats, TextFilter, TextIndex, TextQuery, value_matches};

/// Payloads analyzed between two looks at the deadline (fallback text conditions).
const DEADLINE_STRIDE: usize = 1024;

impl Collection {
    /// The text leg's hits `depth` deep among `allowed` ids (every live id when `None`),
    /// and what the index did.
    pub(super) fn text_leg_hits(
        &self,
        leg: &TextLeg,
        depth: usize,
        allowed: Option<&RoaringTreemap>,
        deadline: Option<&Deadline>,
    ) -> Result<(Vec<SearchHit>, SearchStats)> {
        let st = self.state.read();
        let Some(text) = st.text.as_ref() else {
            return Err(self.no_text_index(None));
        };
        let query = match &leg.field {
            Some(field) if !text.has_field(field) => {
                return Err(self.no_text_index(Some(field)));
            }
            Some(field) => TextIndex::parse_query_in_field(&leg.query, field),
            None => TextQuery::parse(&leg.query),
        };
        let stop = || deadline.is_some_and(Deadline::is_expired);
        let out = text
            .search_query_until(&query, depth, allowed.map(|a| a as &dyn TextFilter), &stop)?
            .ok_or_else(|| {
                Error::Cancelled("text search cancelled: it ran past its deadline".into())
            })?;
        drop(st);
        let hits = out
            .hits
            .iter()
            .map(|h| SearchHit {
                id: h.id,
                score: h.score,
            })
            .collect();
        Ok((hits, out.stats))
    }

    pub(super) fn no_text_index(&self, field: Option<&str>) -> Error {
        Error::NoTextIndex {
            collection: self.name.clone(),
            field: field.map(str::to_owned),
        }
    }

    /// `filter` with every full-text condition replaced by the ids it matches (`None` when
    /// it has none, so callers use the filter as it is).
    pub(crate) fn bind_full_text(
        &self,
        filter: &Filter,
        deadline: Option<&Deadline>,
    ) -> Result<Option<Filter>> {
        if !filter.mentions_full_text() {
            return Ok(None);
        }
        self.bind(filter, deadline).map(Some)
    }

    fn bind(&self, filter: &Filter, deadline: Option<&Deadline>) -> Result<Filter> {
        Ok(match filter {
            Filter::And(parts) => Filter::And(self.bind_all(parts, deadline)?),
            Filter::Or(parts) => Filter::Or(self.bind_all(parts, deadline)?),
            Filter::Not(part) => Filter::Not(Box::new(self.bind(part, deadline)?)),
            Filter::Condition(c) if c.op.is_full_text() => {
                Filter::HasId(self.full_text_ids(c, deadline)?)
            }
            other => other.clone(),
        })
    }

    fn bind_all(&self, parts: &[Filter], deadline: Option<&Deadline>) -> Result<Vec<Filter>> {
        parts.iter().map(|p| self.bind(p, deadline)).collect()
    }

    /// The live ids a `text` / `phrase` condition matches.
    fn full_text_ids(&self, c: &Condition, deadline: Option<&Deadline>) -> Result<RoaringTreemap> {
        let (query, phrase) = match &c.op {
            Op::Text(q) => (q.as_str(), false),
            Op::Phrase(q) => (q.as_str(), true),
            _ => return Ok(RoaringTreemap::new()),
        };
        let live = {
            let st = self.state.read();
            if let Some(text) = st.text.as_ref()
                && let Some(ids) = text.matching_ids(&c.field, query, phrase)?
            {
                return Ok(ids.into_iter().collect());
            }
            st.live.clone()
        };
        // No text index on this field: analyze the payload values.
        let analyzer = Analyzer::default();
        let ids: Vec<u64> = live.iter().collect();
        let matched: Result<Vec<Vec<u64>>> = ids
            .par_chunks(DEADLINE_STRIDE)
            .map(|chunk| {
                check_deadline(deadline, "text filter evaluation")?;
                let mut out = Vec::new();
                for &id in chunk {
                    let Some(payload) = self.current_payload(id)? else {
                        continue;
                    };
                    // Any value the path reaches (several with `[]` selectors).
                    if field_values(&payload, &c.field)
                        .into_iter()
                        .any(|v| value_matches(&analyzer, v, query, phrase))
                    {
                        out.push(id);
                    }
                }
                Ok(out)
            })
            .collect();
        Ok(matched?.into_iter().flatten().collect())
    }
}

impl VectorCollection {
    /// A request's results and what its (first) text leg's index did (for EXPLAIN
    /// ANALYZE; default statistics without a text leg).
    pub(crate) fn text_query(
        &self,
        request: &SearchRequest,
    ) -> Result<(Vec<SearchResult>, SearchStats)> {
        let ranked = self.inner.ranked(request)?;
        let stats = ranked.text_stats.unwrap_or_default();
        Ok((self.inner.results(ranked.hits, request)?, stats))
    }
}
