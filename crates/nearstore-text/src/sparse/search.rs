//! Exact top-k by dot product over the inverted lists: MaxScore over windows of slots, with
//! block-max bounds for the lists it skips.
//!
//! The query's terms (dimensions present in the index, with their query-side weights `q`)
//! are ordered by their list-wide bound `ub` = `q * max_w` when `q > 0`, `q * min_w` when
//! `q < 0` (the largest `q * w` any posting of the list can give). Once the window is full,
//! the longest prefix of terms whose positive bounds sum below the entry threshold is
//! *non-essential*: a document found only in those lists cannot enter, so candidates come
//! from the other (*essential*) lists alone.
//!
//! The essential lists are read a window of slots (4,096 by default, see
//! [`SparseIndex::with_search_window`]) at a time into a dense
//! accumulator (term at a time inside the window: no per-document merge across lists).
//! Each touched slot whose accumulated score plus the non-essential bound can still reach
//! the threshold is checked (live, filter), then the non-essential lists are probed from the
//! largest bound down, with each list's block bound at that slot, giving up as soon as the
//! exact part plus the bounds left fall below the threshold. A document that survives is
//! scored again exactly, in increasing dimension order, so equal documents get
//! bit-identical scores wherever they sit, and ties go to the smaller point id. The
//! partition is recomputed between windows as the threshold rises.
//!
//! Negative weights: bounds use `min_w` for a negative `q`, and a bound only ever adds its
//! positive part (a list whose every contribution is negative can only lower a document).
//! Until the window holds k documents nothing is pruned, so k documents sharing a
//! dimension with the query are returned even when every score is negative; a document
//! sharing none is never a candidate.
//!
//! Pruning comparisons keep a slack of `1e-9` times the largest magnitude a document's
//! contributions can sum to, far above the rounding of any sum, so a bound summed in another
//! order than the exact score never prunes a tie.

use super::index::SparseIndex;
use super::postings::{Cursor, END};
use super::vector::SparseVector;
use crate::error::Result;
use crate::search::{TextFilter, TopK};

/// Slots per accumulator window unless the index says otherwise.
pub(crate) const DEFAULT_WINDOW: usize = 4096;

/// Candidates between two calls of the caller's stop check.
const STOP_STRIDE: u32 = 1024;

/// A skipped list is read whole over a window rather than probed once per candidate when
/// its expected postings there are at most this many times the candidates (a probe is a
/// block walk and a binary search; a read posting is one add), unless the index says
/// otherwise.
pub(crate) const DEFAULT_SCAN_RATIO: f64 = 8.0;

/// Relative slack on pruning comparisons (see the module docs).
const SUM_SLACK: f64 = 1e-9;

/// One query dimension present in the index.
#[derive(Debug)]
struct Term<'a> {
    /// Reads the list window by window while the term is essential.
    scan: Cursor<'a>,
    /// Looks up single slots (moves forward only: candidates come in slot order).
    probe: Cursor<'a>,
    /// Query-side weight (the modifier applied).
    q: f64,
    /// Largest contribution of any posting of the list.
    ub: f64,
    /// Position of the dimension in the query (summation order).
    rank: usize,
}

impl Term<'_> {
    /// This term's contribution at `slot` (0 when the list does not hold it).
    #[inline]
    fn probe(&mut self, slot: u32) -> Option<f64> {
        self.probe.seek(slot);
        (self.probe.slot() == slot).then(|| self.q * f64::from(self.probe.weight()))
    }
}

/// Buffers of one search.
struct Scratch {
    acc: Vec<f64>,
    touched_words: Vec<u64>,
    /// Per query rank: the contribution of the document being scored.
    contrib: Vec<f64>,
    ranks: Vec<usize>,
    block_bound: Vec<f64>,
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
                    scan: Cursor::new(list),
                    probe: Cursor::new(list),
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
        // The largest magnitude a document's contributions can sum to.
        let scale: f64 = terms.iter().map(|t| t.q.abs() * t.scan.magnitude()).sum();
        let slack = SUM_SLACK * scale;
        let window = self.search_window;
        let mut scratch = Scratch {
            acc: vec![0.0; window],
            touched_words: vec![0; window / 64],
            contrib: vec![0.0; query.len()],
            ranks: Vec::with_capacity(n),
            block_bound: vec![0.0; n],
        };
        let mut top = TopK::new(k);
        // terms[..essential_from] are non-essential.
        let mut essential_from = 0;
        let mut steps = 0u32;
        loop {
            let threshold = top.threshold() - slack;
            while essential_from < n && prefix[essential_from + 1] < threshold {
                essential_from += 1;
            }
            if essential_from == n {
                break;
            }
            let start = terms[essential_from..]
                .iter()
                .map(|t| t.scan.slot())
                .min()
                .unwrap_or(END);
            if start == END {
                break;
            }
            let end = start.saturating_add(window as u32);
            let Scratch {
                acc, touched_words, ..
            } = &mut scratch;
            for t in &mut terms[essential_from..] {
                accumulate(t, start, end, acc, touched_words);
            }
            // Skipped lists dense enough here that reading their window costs less than
            // probing every candidate are accumulated too (largest bound first).
            let mut probed_until = essential_from;
            if essential_from > 0 {
                let threshold = top.threshold() - slack;
                let bound = prefix[essential_from];
                let candidates = count_candidates(acc, touched_words, bound, threshold);
                let share = window as f64 / self.point_ids.len().max(1) as f64;
                while probed_until > 0 {
                    let t = &mut terms[probed_until - 1];
                    let expected = t.scan.list_len() as f64 * share;
                    if expected > self.scan_ratio * candidates as f64 {
                        break;
                    }
                    t.scan.seek(start);
                    accumulate(t, start, end, acc, touched_words);
                    probed_until -= 1;
                }
            }
            for word in 0..window / 64 {
                let mut bits = std::mem::take(&mut scratch.touched_words[word]);
                while bits != 0 {
                    let i = word * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let accumulated = std::mem::take(&mut scratch.acc[i]);
                    steps = steps.wrapping_add(1);
                    if steps.is_multiple_of(STOP_STRIDE) && stop() {
                        return Ok(None);
                    }
                    let threshold = top.threshold() - slack;
                    if accumulated + prefix[probed_until] < threshold {
                        continue;
                    }
                    let slot = start + i as u32;
                    let s = slot as usize;
                    let allowed = self.live.get(s).copied().unwrap_or(false)
                        && filter
                            .is_none_or(|f| self.point_ids.get(s).is_some_and(|&id| f.allows(id)));
                    if !allowed {
                        continue;
                    }
                    let (rest, essential) = terms.split_at_mut(probed_until);
                    if let Some(score) =
                        exact_score(rest, essential, slot, accumulated, threshold, &mut scratch)
                        && top.accepts(score)
                        && let Some(&id) = self.point_ids.get(s)
                    {
                        top.offer(score, id);
                    }
                }
            }
        }
        Ok(Some(
            top.into_hits()
                .into_iter()
                .map(|h| (h.id, h.score))
                .collect(),
        ))
    }
}

/// Adds `t`'s contributions in `start..end` to the window's accumulator.
#[inline]
fn accumulate(t: &mut Term<'_>, start: u32, end: u32, acc: &mut [f64], touched: &mut [u64]) {
    let q = t.q;
    t.scan.scan_until(end, |slot, w| {
        let i = (slot - start) as usize;
        acc[i] += q * f64::from(w);
        touched[i >> 6] |= 1u64 << (i & 63);
    });
}

/// Touched slots whose accumulated score plus `bound` reaches `threshold`.
fn count_candidates(acc: &[f64], touched: &[u64], bound: f64, threshold: f64) -> usize {
    let mut count = 0;
    for (word, &bits) in touched.iter().enumerate() {
        let mut bits = bits;
        while bits != 0 {
            let i = word * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            count += usize::from(acc[i] + bound >= threshold);
        }
    }
    count
}

/// The exact score of `slot`, summed in dimension order, or `None` once it provably cannot
/// reach `threshold` (already lowered by the slack). `accumulated` is the sum of the
/// accumulated terms (`essential`); the other terms `rest` are probed from the largest
/// bound down; the survivor is rescored over every term in dimension order.
fn exact_score(
    rest: &mut [Term<'_>],
    essential: &mut [Term<'_>],
    slot: u32,
    accumulated: f64,
    threshold: f64,
    scratch: &mut Scratch,
) -> Option<f64> {
    let mut partial = accumulated;
    let mut left = 0.0f64;
    for (t, b) in rest.iter_mut().zip(scratch.block_bound.iter_mut()) {
        *b = t
            .probe
            .shallow(slot)
            .map_or(0.0, |block| block.bound(t.q).max(0.0));
        left += *b;
    }
    scratch.ranks.clear();
    let mut pruned = false;
    for (t, &b) in rest.iter_mut().zip(scratch.block_bound.iter()).rev() {
        if partial + left < threshold {
            pruned = true;
            break;
        }
        left -= b;
        if let Some(c) = t.probe(slot) {
            scratch.contrib[t.rank] = c;
            scratch.ranks.push(t.rank);
            partial += c;
        }
    }
    if pruned || partial < threshold {
        for &r in &scratch.ranks {
            scratch.contrib[r] = 0.0;
        }
        return None;
    }
    for t in essential.iter_mut() {
        if let Some(c) = t.probe(slot) {
            scratch.contrib[t.rank] = c;
            scratch.ranks.push(t.rank);
        }
    }
    scratch.ranks.sort_unstable();
    let mut score = 0.0f64;
    for &r in &scratch.ranks {
        score += std::mem::take(&mut scratch.contrib[r]);
    }
    Some(score)
}
