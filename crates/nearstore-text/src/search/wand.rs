//! Block-max WAND over one segment, for every query that is not a plain disjunction (those
//! go to `window.rs`): required and excluded clauses, phrases.
//!
//! Cursors (one per positive query term present in the segment) are kept sorted by current
//! document. The pivot is the first cursor at which the sum of the terms' list-wide score
//! bounds reaches the window's threshold: no document before it can enter. The block bounds
//! of the cursors up to the pivot (read by shallow seeks, without decoding) then either let the
//! whole stretch up to the nearest block end be skipped, or the pivot document is evaluated
//! exactly (deleted marks, the filter, excluded clauses, required clauses and phrases, then
//! the BM25 sum in query-term order so equal documents get bit-identical scores).
//!
//! Correctness does not depend on the bounds being tight, only on them never being below a
//! real score: every bound is BM25 of (max tf, min length) of its block or list, and BM25
//! grows with tf and falls with length. The threshold carries a relative slack so a document
//! tying the k-th score (which may still enter on a smaller id) is never pruned.

use super::collector::TopK;
use super::{Alternative, PreparedQuery, QueryTerm, SearchStats, TextFilter};
use crate::postings::{END_DOC, PostingCursor};
use crate::query::Occur;
use crate::segment::Segment;

/// Buffers reused across segments of one search.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// Per positive term: its tf in the document under evaluation (0 = absent).
    tf_at: Vec<u32>,
    /// Per positive term: its field's length in the document under evaluation.
    len_at: Vec<u32>,
    /// Per excluded term: its tf in the document under evaluation.
    excluded_tf_at: Vec<u32>,
    /// Per positive term: whether a satisfied clause counts it.
    counted: Vec<bool>,
    positions: Vec<Vec<u32>>,
}

/// Upper bound of `term`'s contribution for a block or list summary.
#[inline]
fn bound(term: &QueryTerm, max_tf: u32, min_len: u32) -> f64 {
    term.score(max_tf, min_len)
}

/// Pivot steps between two calls of the caller's stop check.
const STOP_STRIDE: u32 = 1024;

/// Searches `segment` into `top`; returns `false` when `stop` said to stop (checked every
/// [`STOP_STRIDE`] pivot steps), leaving `top` partial.
pub(crate) fn search_segment(
    query: &PreparedQuery,
    segment: &Segment,
    filter: Option<&dyn TextFilter>,
    top: &mut TopK,
    stats: &mut SearchStats,
    scratch: &mut Scratch,
    stop: &dyn Fn() -> bool,
) -> bool {
    // Positive cursors and their list-wide bounds.
    let mut cursors: Vec<PostingCursor<'_>> = Vec::with_capacity(query.terms.len());
    let mut cursor_term: Vec<usize> = Vec::with_capacity(query.terms.len());
    let mut term_cursor: Vec<Option<usize>> = vec![None; query.terms.len()];
    let mut list_bound: Vec<f64> = Vec::with_capacity(query.terms.len());
    for (t, term) in query.terms.iter().enumerate() {
        if let Some(list) = segment.list(term.term) {
            // The list's bound from its undominated block summaries; block bounds are
            // computed when a shallow seek reads them (most blocks never are).
            let mut list_max = 0.0f64;
            list.for_each_summary(|max_tf, min_len| {
                list_max = list_max.max(bound(term, max_tf, min_len));
            });
            term_cursor[t] = Some(cursors.len());
            cursors.push(PostingCursor::new(list));
            cursor_term.push(t);
            list_bound.push(list_max);
        }
    }
    let mut excluded: Vec<Option<PostingCursor<'_>>> = query
        .excluded
        .iter()
        .map(|t| segment.list(t.term).map(PostingCursor::new))
        .collect();
    scratch.tf_at.clear();
    scratch.tf_at.resize(query.terms.len(), 0);
    scratch.len_at.clear();
    scratch.len_at.resize(query.terms.len(), 0);
    scratch.counted.clear();
    scratch.counted.resize(query.terms.len(), false);
    scratch.excluded_tf_at.clear();
    scratch.excluded_tf_at.resize(query.excluded.len(), 0);

    let mut order: Vec<usize> = (0..cursors.len()).collect();
    sort_by_doc(&mut order, &cursors);
    let mut steps = 0u32;
    loop {
        steps = steps.wrapping_add(1);
        if steps.is_multiple_of(STOP_STRIDE) && stop() {
            return false;
        }
        while order.last().is_some_and(|&c| cursors[c].doc() == END_DOC) {
            order.pop();
        }
        if order.is_empty() {
            break;
        }
        let threshold = top.threshold();
        // Pivot: the first prefix whose list bounds reach the threshold.
        let mut acc = 0.0;
        let mut pivot_at = None;
        for (i, &c) in order.iter().enumerate() {
            acc += list_bound[c];
            if acc >= threshold {
                pivot_at = Some(i);
                break;
            }
        }
        let Some(mut p) = pivot_at else {
            break;
        };
        let pivot = cursors[order[p]].doc();
        while p + 1 < order.len() && cursors[order[p + 1]].doc() == pivot {
            p += 1;
        }
        if top.is_full() {
            let mut block_sum = 0.0;
            let mut nearest_end = END_DOC;
            for &c in &order[..=p] {
                if let Some(b) = cursors[c].shallow_seek(pivot) {
                    let meta = cursors[c].blocks()[b];
                    block_sum += bound(&query.terms[cursor_term[c]], meta.max_tf, meta.min_len);
                    nearest_end = nearest_end.min(meta.last_doc);
                }
            }
            if block_sum < threshold {
                let mut target = nearest_end.saturating_add(1);
                if let Some(&next) = order.get(p + 1) {
                    target = target.min(cursors[next].doc());
                }
                for &c in &order[..=p] {
                    cursors[c].seek(target);
                }
                sort_by_doc(&mut order, &cursors);
                continue;
            }
        }
        if cursors[order[0]].doc() == pivot {
            for &c in &order[..=p] {
                scratch.tf_at[cursor_term[c]] = cursors[c].tf();
                scratch.len_at[cursor_term[c]] = cursors[c].field_len();
            }
            stats.documents_scored += 1;
            if let Some(score) = evaluate(
                query,
                segment,
                pivot,
                filter,
                &cursors,
                &term_cursor,
                &mut excluded,
                scratch,
            ) && top.accepts(score)
                && let Some(&id) = segment.point_ids.get(pivot as usize)
            {
                top.offer(score, id);
            }
            for &c in &order[..=p] {
                scratch.tf_at[cursor_term[c]] = 0;
                cursors[c].next();
            }
        } else {
            for &c in &order[..p] {
                if cursors[c].doc() < pivot {
                    cursors[c].seek(pivot);
                }
            }
        }
        sort_by_doc(&mut order, &cursors);
    }
    for cursor in cursors.iter().chain(excluded.iter().flatten()) {
        stats.postings_scanned += cursor.postings_scanned;
        stats.blocks_decoded += cursor.blocks_decoded;
        stats.blocks_skipped += cursor.blocks_skipped;
    }
    true
}

/// Insertion sort of cursor indices by current document (few cursors, nearly sorted).
#[inline]
fn sort_by_doc(order: &mut [usize], cursors: &[PostingCursor<'_>]) {
    for i in 1..order.len() {
        let mut j = i;
        while j > 0 && cursors[order[j - 1]].doc() > cursors[order[j]].doc() {
            order.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Exact evaluation of `doc` (positive terms' tfs already in `scratch.tf_at`): `None` when it
/// does not match, is deleted, or is filtered out; else its score.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the state of one search"
)]
fn evaluate(
    query: &PreparedQuery,
    segment: &Segment,
    doc: u32,
    filter: Option<&dyn TextFilter>,
    cursors: &[PostingCursor<'_>],
    term_cursor: &[Option<usize>],
    excluded: &mut [Option<PostingCursor<'_>>],
    scratch: &mut Scratch,
) -> Option<f64> {
    if segment.deleted_count > 0 && segment.deleted.get(doc as usize).copied().unwrap_or(true) {
        return None;
    }
    if let Some(filter) = filter {
        let point = *segment.point_ids.get(doc as usize)?;
        if !filter.allows(point) {
            return None;
        }
    }
    if query.plain {
        // Only optional single-word clauses: every present term counts.
        let mut score = 0.0;
        for (slot, term) in query.terms.iter().enumerate() {
            let tf = scratch.tf_at[slot];
            if tf > 0 {
                score += term.score(tf, scratch.len_at[slot]);
            }
        }
        return Some(score);
    }
    for (slot, cursor) in excluded.iter_mut().enumerate() {
        scratch.excluded_tf_at[slot] = match cursor {
            Some(c) => {
                c.seek(doc);
                if c.doc() == doc { c.tf() } else { 0 }
            }
            None => 0,
        };
    }
    let mut any_should = false;
    let mut matched = true;
    scratch.counted.iter_mut().for_each(|c| *c = false);
    for clause in &query.clauses {
        let excluded_side = clause.occur == Occur::MustNot;
        let mut holds = false;
        for alt in &clause.alternatives {
            let ok = if excluded_side {
                alternative_holds(
                    alt,
                    &scratch.excluded_tf_at,
                    &mut scratch.positions,
                    |slot| excluded[slot].as_ref(),
                )
            } else {
                alternative_holds(alt, &scratch.tf_at, &mut scratch.positions, |slot| {
                    term_cursor[slot].map(|c| &cursors[c])
                })
            };
            if ok {
                holds = true;
                if !excluded_side {
                    for &(slot, _) in &alt.terms {
                        scratch.counted[slot] = true;
                    }
                }
            }
        }
        match clause.occur {
            Occur::MustNot if holds => return None,
            Occur::Must if !holds => matched = false,
            Occur::Should if holds => any_should = true,
            _ => {}
        }
    }
    if !matched || !(query.has_must || any_should) {
        return None;
    }
    let mut score = 0.0;
    for (slot, term) in query.terms.iter().enumerate() {
        let tf = scratch.tf_at[slot];
        if scratch.counted[slot] && tf > 0 {
            score += term.score(tf, scratch.len_at[slot]);
        }
    }
    Some(score)
}

/// Whether `alt` holds in the current document: every term present and, for a phrase, the
/// terms at their relative positions.
fn alternative_holds<'c, 'a: 'c>(
    alt: &Alternative,
    tf_at: &[u32],
    positions: &mut Vec<Vec<u32>>,
    cursor_of: impl Fn(usize) -> Option<&'c PostingCursor<'a>>,
) -> bool {
    if alt.terms.iter().any(|&(slot, _)| tf_at[slot] == 0) {
        return false;
    }
    if alt.terms.len() == 1 {
        return true;
    }
    if positions.len() < alt.terms.len() {
        positions.resize_with(alt.terms.len(), Vec::new);
    }
    for (i, &(slot, _)) in alt.terms.iter().enumerate() {
        match cursor_of(slot) {
            Some(c) => c.positions(&mut positions[i]),
            None => return false,
        }
    }
    let (first, rest) = positions.split_at(1);
    first[0].iter().any(|&start| {
        alt.terms[1..].iter().zip(rest).all(|(&(_, rel), list)| {
            start
                .checked_add(rel)
                .is_some_and(|p| list.binary_search(&p).is_ok())
        })
    })
}
