//! Exact top-k by dot product over the inverted lists: MaxScore with block-max bounds.
//!
//! The query's terms (dimensions present in the index, with their query-side weights `q`)
//! are ordered by their list-wide bound `ub` = `q * max_w` when `q > 0`, `q * min_w` when
//! `q < 0` (the largest `q * w` any posting of the list can give). Once the window is full,
//! the longest prefix of terms whose positive bounds sum below the entry threshold is
//! *non-essential*: a document found only in those lists cannot enter, so candidates are
//! drawn from the other (*essential*) lists alone, in slot order. A candidate's exact
//! essential contributions plus the block bounds of the non-essential lists at its slot
//! decide whether the non-essential lists are probed at all; they are probed from the
//! largest bound down, giving up as soon as the exact part plus the bounds left fall below
//! the threshold.
//!
//! Negative weights: bounds use `min_w` for a negative `q`, and a bound only ever adds its
//! positive part (a list whose every contribution is negative can only lower a document).
//! Until the window holds k documents nothing is pruned, so k documents sharing a
//! dimension with the query are returned even when every score is negative; a document
//! sharing none is never a candidate.
//!
//! Scores are summed in `f64` in increasing dimension order (so equal documents get
//! bit-identical scores and ties go to the smaller point id) and returned as `f32`.

use super::index::SparseIndex;
use super::postings::{Cursor, END};
use super::vector::SparseVector;
use crate::error::Result;
use crate::search::{TextFilter, TopK};

/// Candidate steps between two calls of the caller's stop check.
const STOP_STRIDE: u32 = 1024;

/// Relative slack on pruning comparisons, against the magnitudes summed into a bound, so
/// a bound summed in another order than the exact score never prunes a tie.
const SUM_SLACK: f64 = 1e-9;

/// One query dimension present in the index.
#[derive(Debug)]
struct Term<'a> {
    cursor: Cursor<'a>,
    /// Query-side weight (the modifier applied).
    q: f64,
    /// Largest contribution of any posting of the list.
    ub: f64,
    /// Position of the dimension in the query (summation order).
    rank: usize,
}

impl SparseIndex {
    /// The `k` live points with the largest dot product with `query` (with the IDF modifier,
    /// each query value is first multiplied by its dimension's IDF), best first, ties to the
    /// smaller point id. Only points sharing a dimension with the query are results; a
    /// negative score still ranks. `filter` (the same allow-list the text search takes)
    /// is applied inside the search, so the answer is never short while k allowed points
    /// share a dimension. `stop` is called every 1,024 candidates; once it returns true the
    /// search gives up with `Ok(None)` (a request's deadline), like
    /// [`crate::TextIndex::search_query_until`].
    pub fn search(
        &self,
        query: &SparseVector,
        k: usize,
        filter: Option<&dyn TextFilter>,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<Vec<(u64, f32)>>> {
        if k == 0 || query.is_empty() || self.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let mut terms: Vec<Term<'_>> = query
            .iter()
            .enumerate()
            .filter_map(|(rank, (dim, value))| {
                let list = self.lists.get(&dim)?;
                let q = self.query_weight(list, value)?;
                (q != 0.0).then(|| Term {
                    cursor: Cursor::new(list),
                    q,
                    ub: list.bound(q),
                    rank,
                })
            })
            .collect();
        if terms.is_empty() {
            return Ok(Some(Vec::new()));
        }
        terms.sort_by(|a, b| a.ub.total_cmp(&b.ub));
        let n = terms.len();
        // prefix[i]: the positive bounds of terms[..i] summed.
        let mut prefix = Vec::with_capacity(n + 1);
        prefix.push(0.0f64);
        for t in &terms {
            prefix.push(prefix[prefix.len() - 1] + t.ub.max(0.0));
        }
        let mut contrib = vec![0.0f64; query.len()];
        let mut touched: Vec<usize> = Vec::with_capacity(n);
        let mut block_bound = vec![0.0f64; n];
        let mut top = TopK::new(k);
        // terms[..essential_from] are non-essential.
        let mut essential_from = 0;
        let mut steps = 0u32;
        loop {
            steps = steps.wrapping_add(1);
            if steps.is_multiple_of(STOP_STRIDE) && stop() {
                return Ok(None);
            }
            let threshold = top.threshold();
            while essential_from < n && prefix[essential_from + 1] * (1.0 + SUM_SLACK) < threshold {
                essential_from += 1;
            }
            let mut slot = END;
            for t in &terms[essential_from..] {
                slot = slot.min(t.cursor.slot());
            }
            if slot == END {
                break;
            }
            let mut partial = 0.0f64;
            let mut magnitude = 0.0f64;
            for t in &mut terms[essential_from..] {
                if t.cursor.slot() == slot {
                    let c = t.q * f64::from(t.cursor.weight());
                    contrib[t.rank] = c;
                    touched.push(t.rank);
                    partial += c;
                    magnitude += c.abs();
                    t.cursor.next();
                }
            }
            let s = slot as usize;
            let allowed = self.live.get(s).copied().unwrap_or(false)
                && filter.is_none_or(|f| self.point_ids.get(s).is_some_and(|&id| f.allows(id)));
            if allowed
                && self.probe_rest(
                    &mut terms[..essential_from],
                    slot,
                    threshold,
                    &mut block_bound,
                    &mut contrib,
                    &mut touched,
                    partial,
                    magnitude,
                )
            {
                touched.sort_unstable();
                let score: f64 = touched.iter().map(|&r| contrib[r]).sum();
                if top.accepts(score)
                    && let Some(&id) = self.point_ids.get(s)
                {
                    top.offer(score, id);
                }
            }
            for &r in &touched {
                contrib[r] = 0.0;
            }
            touched.clear();
        }
        Ok(Some(
            top.into_hits()
                .into_iter()
                .map(|h| (h.id, h.score))
                .collect(),
        ))
    }

    /// Adds the non-essential terms' exact contributions at `slot` (largest bound first);
    /// returns false as soon as the document provably cannot reach `threshold`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the state of one search"
    )]
    fn probe_rest(
        &self,
        rest: &mut [Term<'_>],
        slot: u32,
        threshold: f64,
        block_bound: &mut [f64],
        contrib: &mut [f64],
        touched: &mut Vec<usize>,
        mut partial: f64,
        mut magnitude: f64,
    ) -> bool {
        if rest.is_empty() {
            return true;
        }
        let mut left = 0.0f64;
        for (t, b) in rest.iter_mut().zip(block_bound.iter_mut()) {
            *b = t
                .cursor
                .shallow(slot)
                .map_or(0.0, |block| block.bound(t.q).max(0.0));
            left += *b;
        }
        for (t, &b) in rest.iter_mut().zip(block_bound.iter()).rev() {
            if partial + left + SUM_SLACK * (magnitude + left) < threshold {
                return false;
            }
            left -= b;
            t.cursor.seek(slot);
            if t.cursor.slot() == slot {
                let c = t.q * f64::from(t.cursor.weight());
                contrib[t.rank] = c;
                touched.push(t.rank);
                partial += c;
                magnitude += c.abs();
            }
        }
        partial + SUM_SLACK * magnitude >= threshold
    }
}
