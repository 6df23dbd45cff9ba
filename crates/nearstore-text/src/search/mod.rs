//! Search: a parsed query is resolved against the index's vocabulary and live statistics into
//! a prepared query (BM25 constants per term, clauses over term slots), then every segment is
//! searched into one shared top-k window: plain disjunctions (optional words only) by window
//! scoring with block bounds (`window.rs`), everything else by block-max WAND (`wand.rs`).
//!
//! Semantics (documented once, here): a document matches when it satisfies every `+` clause,
//! no `-` clause, and, if the query has no `+` clause, at least one optional clause. A word
//! clause holds when its term occurs (in any targeted field); a phrase clause when its terms
//! occur adjacent and in order in one field. The score is the BM25 sum over the distinct terms
//! of the clauses the document satisfies (each distinct term once). An unquoted word that
//! analyzes to several tokens ("e-mail") is several word clauses with the same prefix. A query
//! with no indexable term matches nothing.
//!
//! Depends on the index's state; knows nothing of payloads or the engine.

mod collector;
mod filter;
mod wand;
mod window;

pub use collector::TextHit;
pub use filter::{FilterFn, TextFilter};

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::index::TextIndex;
use crate::query::{Occur, TextQuery};
pub(crate) use collector::TopK;

/// Most distinct terms (positive and excluded) one query may hold.
pub const MAX_QUERY_TERMS: usize = 1024;

/// A target field and the analyzed tokens (term, position) of a clause in it.
type FieldTokens = (usize, Vec<(String, u32)>);

/// What a search did, for EXPLAIN ANALYZE.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SearchStats {
    /// Segments searched.
    pub segments: u64,
    /// Posting entries the cursors stepped over or landed on.
    pub postings_scanned: u64,
    /// Posting blocks decoded.
    pub blocks_decoded: u64,
    /// Posting blocks passed over using only their score bound.
    pub blocks_skipped: u64,
    /// Candidate documents fully evaluated (constraints checked, score computed).
    pub documents_scored: u64,
}

/// Hits best first (ties to the smaller point id) and what the search did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextSearchOutput {
    /// The k best matching (and allowed) points.
    pub hits: Vec<TextHit>,
    /// Work counters.
    pub stats: SearchStats,
}

/// One distinct query term with its BM25 constants: score = weight·tf / (tf + k_base +
/// k_len·len).
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueryTerm {
    pub(crate) term: u32,
    weight: f64,
    k_base: f64,
    k_len: f64,
}

impl QueryTerm {
    #[inline]
    pub(crate) fn score(&self, tf: u32, len: u32) -> f64 {
        let tf = f64::from(tf);
        self.weight * tf / (tf + self.k_base + self.k_len * f64::from(len))
    }
}

/// One way to satisfy a clause: terms (slots into the positive or excluded term list) at
/// relative positions; one term is a word, several a phrase.
#[derive(Debug, Clone)]
pub(crate) struct Alternative {
    pub(crate) terms: Vec<(usize, u32)>,
}

/// A clause resolved to term slots.
#[derive(Debug, Clone)]
pub(crate) struct PreparedClause {
    pub(crate) occur: Occur,
    pub(crate) alternatives: Vec<Alternative>,
}

/// A query ready to run against the index's current state.
#[derive(Debug, Clone)]
pub(crate) struct PreparedQuery {
    /// Distinct terms of the optional and required clauses.
    pub(crate) terms: Vec<QueryTerm>,
    /// Distinct terms of the excluded clauses.
    pub(crate) excluded: Vec<QueryTerm>,
    pub(crate) clauses: Vec<PreparedClause>,
    pub(crate) has_must: bool,
    /// Only optional single-term clauses and nothing excluded: a document's score is the sum
    /// over its present terms (the evaluator's fast path).
    pub(crate) plain: bool,
}

impl TextIndex {
    /// The `k` best documents for `query` (see the module docs for the syntax's meaning).
    pub fn search(&self, query: &str, k: usize) -> Result<TextSearchOutput> {
        self.search_query(&TextQuery::parse(query), k, None)
    }

    /// The `k` best documents for `query` among those `filter` allows; never fewer than `k`
    /// when at least `k` allowed documents match.
    pub fn search_filtered(
        &self,
        query: &str,
        k: usize,
        filter: &dyn TextFilter,
    ) -> Result<TextSearchOutput> {
        self.search_query(&TextQuery::parse(query), k, Some(filter))
    }

    /// Runs a parsed query.
    pub fn search_query(
        &self,
        query: &TextQuery,
        k: usize,
        filter: Option<&dyn TextFilter>,
    ) -> Result<TextSearchOutput> {
        let never = || false;
        // Without a stop check the search always completes.
        Ok(self
            .search_query_until(query, k, filter, &never)?
            .unwrap_or_default())
    }

    /// [`TextIndex::search_query`] that calls `stop` every 1,024 steps of the top-k loop (and
    /// between segments) and gives up with `Ok(None)` once it returns true (a request's
    /// deadline).
    pub fn search_query_until(
        &self,
        query: &TextQuery,
        k: usize,
        filter: Option<&dyn TextFilter>,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<TextSearchOutput>> {
        let mut output = TextSearchOutput::default();
        if k == 0 {
            return Ok(Some(output));
        }
        let Some(prepared) = self.prepare(query)? else {
            return Ok(Some(output));
        };
        let mut top = TopK::new(k);
        let mut scratch = wand::Scratch::default();
        let mut window_scratch = prepared.plain.then(window::Scratch::default);
        for segment in &self.segments {
            if segment.live_count() == 0 {
                continue;
            }
            output.stats.segments += 1;
            if stop() {
                return Ok(None);
            }
            let stats = &mut output.stats;
            let completed = match window_scratch.as_mut() {
                Some(ws) => {
                    window::search_segment(&prepared, segment, filter, &mut top, stats, ws, stop)
                }
                None => wand::search_segment(
                    &prepared,
                    segment,
                    filter,
                    &mut top,
                    stats,
                    &mut scratch,
                    stop,
                ),
            };
            if !completed {
                return Ok(None);
            }
        }
        output.hits = top.into_hits();
        Ok(Some(output))
    }

    /// Resolves `query` against the vocabulary; `None` when nothing can match.
    pub(crate) fn prepare(&self, query: &TextQuery) -> Result<Option<PreparedQuery>> {
        let mut terms: Vec<QueryTerm> = Vec::new();
        let mut excluded: Vec<QueryTerm> = Vec::new();
        let mut slots: [FxHashMap<u32, usize>; 2] = Default::default();
        let mut clauses = Vec::new();
        let mut has_must = false;
        let all_fields: Vec<usize> = (0..self.fields.len()).collect();
        for clause in &query.clauses {
            let named = clause
                .field
                .as_ref()
                .and_then(|name| self.fields.iter().position(|f| &f.name == name));
            let (targets, text, phrase) = match (named, &clause.field) {
                (Some(f), _) => (vec![f], clause.text.as_str(), clause.phrase),
                (None, Some(_)) => (all_fields.clone(), clause.raw.as_str(), false),
                (None, None) => (all_fields.clone(), clause.text.as_str(), clause.phrase),
            };
            let per_field: Vec<FieldTokens> = targets
                .iter()
                .map(|&f| (f, self.fields[f].analyzer.terms(text)))
                .filter(|(_, tokens)| !tokens.is_empty())
                .collect();
            if per_field.is_empty() {
                continue; // nothing indexable in this clause
            }
            let groups: Vec<Vec<FieldTokens>> = if phrase {
                vec![per_field]
            } else {
                let widest = per_field.iter().map(|(_, t)| t.len()).max().unwrap_or(0);
                (0..widest)
                    .map(|i| {
                        per_field
                            .iter()
                            .filter_map(|(f, tokens)| {
                                tokens.get(i).map(|(t, _)| (*f, vec![(t.clone(), 0)]))
                            })
                            .collect()
                    })
                    .collect()
            };
            let is_excluded = clause.occur == Occur::MustNot;
            for group in groups {
                let mut alternatives = Vec::new();
                for (field, tokens) in group {
                    let first = tokens.first().map_or(0, |(_, p)| *p);
                    // Every term must be live somewhere, or the alternative can never hold
                    // (and takes no slot, so it cannot add to any score).
                    let found: Vec<(u32, u32)> = tokens
                        .iter()
                        .map_while(|(text, pos)| {
                            self.vocab
                                .lookup(field, text)
                                .filter(|&t| self.vocab.df[t as usize] > 0)
                                .map(|t| (t, *pos))
                        })
                        .collect();
                    if found.len() != tokens.len() {
                        continue;
                    }
                    let mut alt = Vec::with_capacity(tokens.len());
                    for (term, pos) in found {
                        let (list, slot_map) = if is_excluded {
                            (&mut excluded, &mut slots[1])
                        } else {
                            (&mut terms, &mut slots[0])
                        };
                        let slot = *slot_map.entry(term).or_insert_with(|| {
                            list.push(self.query_term(term, field));
                            list.len() - 1
                        });
                        alt.push((slot, pos - first));
                    }
                    alternatives.push(Alternative { terms: alt });
                }
                match (clause.occur, alternatives.is_empty()) {
                    (Occur::Must, true) => return Ok(None),
                    (_, true) => {}
                    (occur, false) => {
                        has_must |= occur == Occur::Must;
                        clauses.push(PreparedClause {
                            occur,
                            alternatives,
                        });
                    }
                }
            }
            let count = terms.len() + excluded.len();
            if count > MAX_QUERY_TERMS {
                return Err(Error::TooManyQueryTerms {
                    count,
                    max: MAX_QUERY_TERMS,
                });
            }
        }
        let positive = clauses.iter().any(|c| c.occur != Occur::MustNot);
        if !positive {
            return Ok(None);
        }
        let plain = excluded.is_empty()
            && clauses.iter().all(|c| {
                c.occur == Occur::Should && c.alternatives.iter().all(|a| a.terms.len() == 1)
            });
        Ok(Some(PreparedQuery {
            terms,
            excluded,
            clauses,
            has_must,
            plain,
        }))
    }

    /// BM25 constants of `term` in `field` under the live statistics.
    fn query_term(&self, term: u32, field: usize) -> QueryTerm {
        let stats = self.field_stats[field];
        let params = self.fields[field].bm25;
        let n = stats.docs as f64;
        let df = f64::from(self.vocab.df[term as usize]);
        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        let avg_len = if stats.docs == 0 {
            1.0
        } else {
            stats.total_len as f64 / n
        };
        QueryTerm {
            term,
            weight: idf * (params.k1 + 1.0),
            k_base: params.k1 * (1.0 - params.b),
            k_len: params.k1 * params.b / avg_len,
        }
    }
}
