//! Window scoring of plain disjunctions (only optional single-word clauses, nothing excluded:
//! a document's score is the sum of its present terms' BM25), the common keyword query.
//!
//! The segment's document range is walked in windows. A window starts at the smallest
//! current document of the cursors and ends at the nearest end of a cursor's current block
//! (or [`WINDOW`] documents later), so inside it each cursor has exactly one block and the
//! sum of those blocks' bounds bounds every document of the window. When the top-k window is
//! full and that sum is below its threshold, every cursor moves past the window without
//! decoding anything (the block pointer only). Otherwise each cursor adds its entries'
//! scores into a per-window accumulator, term after term in query-term order, so a
//! document's score is summed in the same order as the exact evaluator's (bit-identical), and
//! the touched documents are offered to the top k.
//!
//! Why not the pivot loop of block-max WAND for these queries: keyword queries of rare words
//! over long documents mostly score the whole union anyway (250k passages: 2.6 of 41 blocks
//! skipped per query), and there the pivot bookkeeping per document (sorting cursors, block
//! bounds, a call per candidate) cost more than scoring; here a posting costs one BM25 and
//! one add. Exactness does not depend on the bounds being tight, only on them never being
//! below a real score (see `wand.rs`).

use super::collector::TopK;
use super::{PreparedQuery, QueryTerm, SearchStats, TextFilter};
use crate::postings::{END_DOC, PostingCursor};
use crate::segment::Segment;

/// Most documents one window spans.
const WINDOW: u32 = 4096;

/// Work (documents scored plus windows) between two calls of the caller's stop check.
const STOP_STRIDE: usize = 1024;

/// Accumulators reused across segments of one search.
#[derive(Debug)]
pub(crate) struct Scratch {
    acc: Vec<f64>,
    seen: Vec<u64>,
    touched: Vec<u32>,
    /// Per cursor: the block whose bound is cached, and the bound.
    bounds: Vec<(usize, f64)>,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            acc: vec![0.0; WINDOW as usize],
            seen: vec![0; WINDOW as usize / 64],
            touched: Vec::new(),
            bounds: Vec::new(),
        }
    }
}

/// Searches `segment` for a plain query (`query.plain`) into `top`; returns `false` when
/// `stop` said to stop (checked every [`STOP_STRIDE`] documents or windows), leaving `top`
/// partial.
// Inlined into its one caller: left to the inliner, a change elsewhere in the crate once
// made it an out-of-line call whose hot loop lost 14% of window-query throughput.
#[inline]
pub(crate) fn search_segment(
    query: &PreparedQuery,
    segment: &Segment,
    filter: Option<&dyn TextFilter>,
    top: &mut TopK,
    stats: &mut SearchStats,
    scratch: &mut Scratch,
    stop: &dyn Fn() -> bool,
) -> bool {
    let mut cursors: Vec<(PostingCursor<'_>, &QueryTerm)> = query
        .terms
        .iter()
        .filter_map(|term| {
            segment
                .list(term.term)
                .map(|list| (PostingCursor::new(list), term))
        })
        .collect();
    scratch.bounds.clear();
    scratch.bounds.resize(cursors.len(), (usize::MAX, 0.0));
    let Scratch {
        acc,
        seen,
        touched,
        bounds,
    } = scratch;
    let mut work = 0usize;
    loop {
        work += 1;
        if work >= STOP_STRIDE {
            work = 0;
            if stop() {
                return false;
            }
        }
        let base = cursors
            .iter()
            .map(|(c, _)| c.doc())
            .min()
            .unwrap_or(END_DOC);
        if base == END_DOC {
            break;
        }
        let mut end = base.saturating_add(WINDOW);
        let mut bound_sum = 0.0;
        for ((cursor, term), cached) in cursors.iter().zip(bounds.iter_mut()) {
            let Some((b, meta)) = cursor.current_block() else {
                continue;
            };
            end = end.min(meta.last_doc.saturating_add(1));
            if cursor.doc() < end {
                if cached.0 != b {
                    *cached = (b, term.score(meta.max_tf, meta.min_len));
                }
                bound_sum += cached.1;
            }
        }
        // `end` may have shrunk after a cursor's bound was added: a bound of a cursor that
        // starts past the final end only loosens the sum, which stays a valid bound.
        if top.is_full() && bound_sum < top.threshold() {
            for (cursor, _) in &mut cursors {
                cursor.advance_lazy(end);
            }
            continue;
        }
        for (cursor, term) in &mut cursors {
            cursor.drain_before(end, |doc, tf, len| {
                let i = (doc - base) as usize;
                let (word, bit) = (i / 64, 1u64 << (i % 64));
                if seen[word] & bit == 0 {
                    seen[word] |= bit;
                    touched.push(i as u32);
                }
                acc[i] += term.score(tf, len);
            });
        }
        for &i in touched.iter() {
            let i = i as usize;
            let score = std::mem::take(&mut acc[i]);
            seen[i / 64] = 0;
            let doc = base as usize + i;
            stats.documents_scored += 1;
            if !top.accepts(score) {
                continue;
            }
            if segment.deleted_count > 0 && segment.deleted.get(doc).copied().unwrap_or(true) {
                continue;
            }
            let Some(&id) = segment.point_ids.get(doc) else {
                continue;
            };
            if filter.is_some_and(|f| !f.allows(id)) {
                continue;
            }
            top.offer(score, id);
        }
        work += touched.len();
        touched.clear();
    }
    for (cursor, _) in &cursors {
        stats.postings_scanned += cursor.postings_scanned;
        stats.blocks_decoded += cursor.blocks_decoded;
        stats.blocks_skipped += cursor.blocks_skipped;
    }
    true
}
