//! [`TextIndex`]: the write side (index, delete, seal, merge) and the live statistics.
//!
//! Invariants: a point id is live in at most one segment, recorded in `locations`; every other
//! entry for it is marked deleted. `vocab.df[t]` is the number of live documents containing
//! term `t`, and `field_stats[f]` counts the live documents with a non-empty field `f` and
//! their total length: both change in the same call as the write, so BM25 always sees the
//! live set. The last segment is the only writable one.

use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::error::Result;
use crate::schema::{Field, TextIndexConfig, build_fields};
use crate::segment::Segment;
use crate::vocabulary::Vocabulary;

/// Documents in the writable segment before it is sealed.
pub const DEFAULT_SEAL_DOCS: usize = 65_536;

/// Sealed segments allowed before they are merged into one. Few: every segment costs a
/// search its own cursor setup and a fresh start of the pruning, and a bulk build (which the
/// engine does not follow with a merge) should end in one sealed segment and the writable
/// one (250k passages: 4 segments searched at 11.0k QPS, 2 at 12.4k). The price is merge
/// work growing with the index (a merge of everything every second seal).
const MAX_SEALED_SEGMENTS: usize = 2;

/// Live document count and total length of one field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FieldStats {
    pub(crate) docs: u64,
    pub(crate) total_len: u64,
}

/// Scratch buffers reused across `index_document` calls.
#[derive(Debug, Default, Clone)]
struct WriteScratch {
    text: String,
    /// (term id, position) of the document being indexed.
    tokens: Vec<(u32, u32)>,
    positions: Vec<u32>,
    /// Each distinct term of the document: (term id, field, its range of `positions`).
    terms: Vec<(u32, u16, std::ops::Range<usize>)>,
    lens: Vec<u32>,
}

/// A BM25 full-text index over JSON payloads keyed by point id.
///
/// Writes take `&mut self` and searches `&self`: the engine holds it behind its collection's
/// read-write lock, so a write is visible to the next search as soon as the call returns.
#[derive(Debug, Clone)]
pub struct TextIndex {
    pub(crate) config: TextIndexConfig,
    pub(crate) fields: Vec<Field>,
    pub(crate) vocab: Vocabulary,
    pub(crate) field_stats: Vec<FieldStats>,
    pub(crate) segments: Vec<Segment>,
    /// Point id -> (segment index, local doc) of its live entry.
    pub(crate) locations: FxHashMap<u64, (u32, u32)>,
    seal_docs: usize,
    scratch: WriteScratch,
}

impl TextIndex {
    /// An empty index with `config`'s fields.
    pub fn new(config: TextIndexConfig) -> Result<Self> {
        let fields = build_fields(&config)?;
        let n = fields.len();
        Ok(TextIndex {
            config,
            fields,
            vocab: Vocabulary::new(n),
            field_stats: vec![FieldStats::default(); n],
            segments: vec![Segment::new_mutable(n)],
            locations: FxHashMap::default(),
            seal_docs: DEFAULT_SEAL_DOCS,
            scratch: WriteScratch::default(),
        })
    }

    /// Sets how many documents the writable segment takes before it is sealed (at least 1).
    pub fn with_seal_docs(mut self, docs: usize) -> Self {
        self.seal_docs = docs.max(1);
        self
    }

    /// The configuration the index was built with.
    pub fn config(&self) -> &TextIndexConfig {
        &self.config
    }

    /// Number of live documents with at least one indexed term.
    pub fn len(&self) -> usize {
        self.locations.len()
    }

    /// Whether no live document has an indexed term.
    pub fn is_empty(&self) -> bool {
        self.locations.is_empty()
    }

    /// Whether point `id` is indexed (live, with at least one term).
    pub fn contains(&self, id: u64) -> bool {
        self.locations.contains_key(&id)
    }

    /// Entries kept for documents since deleted or replaced (until a merge drops them).
    pub fn dead_entries(&self) -> usize {
        let total: usize = self.segments.iter().map(Segment::doc_count).sum();
        total.saturating_sub(self.locations.len())
    }

    /// Number of segments (sealed ones plus the writable one).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Approximate heap bytes held by the index.
    pub fn heap_bytes(&self) -> usize {
        self.vocab.heap_bytes()
            + self.segments.iter().map(Segment::heap_bytes).sum::<usize>()
            + self.locations.capacity() * 20
    }

    /// Indexes `payload` as point `id`, replacing whatever `id` held before (idempotent: the
    /// same call twice leaves the same searchable state). A payload with no indexable text
    /// leaves `id` absent from the index.
    pub fn index_document(&mut self, id: u64, payload: &Value) {
        self.delete_document(id);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.tokens.clear();
        scratch.lens.clear();
        for (f, field) in self.fields.iter().enumerate() {
            let field_id = f as u16;
            let vocab = &mut self.vocab;
            let tokens = &mut scratch.tokens;
            let len = field.analyze_payload(payload, &mut scratch.text, &mut |term, pos| {
                tokens.push((vocab.intern(field_id, term), pos));
            });
            scratch.lens.push(len);
        }
        if !scratch.tokens.is_empty() {
            self.add_analyzed(id, &mut scratch);
        }
        self.scratch = scratch;
    }

    /// Appends an analyzed document (tokens in `scratch`) to the writable segment.
    fn add_analyzed(&mut self, id: u64, scratch: &mut WriteScratch) {
        scratch.tokens.sort_unstable();
        scratch.positions.clear();
        scratch
            .positions
            .extend(scratch.tokens.iter().map(|&(_, p)| p));
        scratch.terms.clear();
        let mut start = 0;
        while start < scratch.tokens.len() {
            let term = scratch.tokens[start].0;
            let mut end = start + 1;
            while end < scratch.tokens.len() && scratch.tokens[end].0 == term {
                end += 1;
            }
            scratch
                .terms
                .push((term, self.vocab.field(term), start..end));
            self.vocab.df[term as usize] += 1;
            start = end;
        }
        for (stats, &len) in self.field_stats.iter_mut().zip(&scratch.lens) {
            if len > 0 {
                stats.docs += 1;
                stats.total_len += u64::from(len);
            }
        }
        let seg_index = self.segments.len() - 1;
        let segment = &mut self.segments[seg_index];
        if let Some(doc) =
            segment.push_document(id, &scratch.lens, &scratch.positions, &scratch.terms)
        {
            self.locations.insert(id, (seg_index as u32, doc));
        }
        if segment.doc_count() >= self.seal_docs {
            self.seal();
        }
    }

    /// Removes point `id`; returns whether it was indexed. Idempotent.
    pub fn delete_document(&mut self, id: u64) -> bool {
        let Some((seg, doc)) = self.locations.remove(&id) else {
            return false;
        };
        let Some(segment) = self.segments.get_mut(seg as usize) else {
            return false;
        };
        for f in 0..self.fields.len() {
            let len = segment.field_len(doc, f);
            if len > 0 {
                let stats = &mut self.field_stats[f];
                stats.docs = stats.docs.saturating_sub(1);
                stats.total_len = stats.total_len.saturating_sub(u64::from(len));
            }
        }
        for &term in segment.mark_deleted(doc) {
            if let Some(df) = self.vocab.df.get_mut(term as usize) {
                *df = df.saturating_sub(1);
            }
        }
        true
    }

    /// Seals the writable segment (packs its posting lists) and opens a new one; merges the
    /// sealed segments when there are too many.
    pub fn seal(&mut self) {
        let Some(last) = self.segments.last_mut() else {
            return;
        };
        if last.doc_count() == 0 {
            return;
        }
        last.seal();
        self.segments.push(Segment::new_mutable(self.fields.len()));
        if self.segments.len() - 1 > MAX_SEALED_SEGMENTS {
            self.merge_all();
        }
    }

    /// Seals the writable segment and merges every segment into one, dropping deleted
    /// entries (the space of deletes and updates is reclaimed here).
    pub fn merge_all(&mut self) {
        if let Some(last) = self.segments.last_mut() {
            last.seal();
        }
        let sources = std::mem::take(&mut self.segments);
        let mut merged = Segment::new_mutable(self.fields.len());
        let mut remap: Vec<Vec<Option<u32>>> = Vec::with_capacity(sources.len());
        for seg in &sources {
            let mut map = vec![None; seg.doc_count()];
            for (doc, slot) in map.iter_mut().enumerate() {
                if seg.deleted[doc] {
                    continue;
                }
                let d = doc as u32;
                let new = merged.point_ids.len() as u32;
                merged.point_ids.push(seg.point_ids[doc]);
                let lens = &seg.field_lens[doc * seg.n_fields..(doc + 1) * seg.n_fields];
                merged.field_lens.extend_from_slice(lens);
                merged.doc_terms.extend_from_slice(seg.terms_of(d));
                merged.term_starts.push(merged.doc_terms.len() as u32);
                merged.deleted.push(false);
                *slot = Some(new);
            }
            remap.push(map);
        }
        // Term by term in increasing order, each merged list packed as soon as it is
        // complete from one reused list (no list per term held at once). Each source's
        // lists are walked in term order beside the merged one (no lookup per term and
        // source).
        let by_term: Vec<Vec<(u32, crate::postings::ListRef<'_>)>> = sources
            .iter()
            .map(|seg| {
                let mut lists = seg.lists();
                lists.sort_unstable_by_key(|&(t, _)| t);
                lists
            })
            .collect();
        let mut terms: Vec<u32> = by_term.iter().flatten().map(|&(t, _)| t).collect();
        terms.sort_unstable();
        terms.dedup();
        let mut next = vec![0usize; sources.len()];
        let mut frozen = crate::postings::FrozenBuilder::with_lists(terms.len());
        let mut list = crate::postings::MutableList::default();
        let mut positions = Vec::new();
        for term in terms {
            list.clear();
            let field = usize::from(self.vocab.field(term));
            for ((lists, at), map) in by_term.iter().zip(&mut next).zip(&remap) {
                let source = match lists.get(*at) {
                    Some(&(t, source)) if t == term => source,
                    _ => continue,
                };
                *at += 1;
                let mut cursor = crate::postings::PostingCursor::new(source);
                while cursor.doc() != crate::postings::END_DOC {
                    if let Some(Some(new)) = map.get(cursor.doc() as usize) {
                        cursor.positions(&mut positions);
                        let len = merged.field_len(*new, field);
                        list.push(*new, &positions, len);
                    }
                    cursor.next();
                }
            }
            frozen.push(term, &list);
        }
        merged.postings = crate::segment::SegmentPostings::Frozen(frozen.finish());
        self.segments = Vec::with_capacity(2);
        if merged.doc_count() > 0 {
            self.segments.push(merged);
        }
        self.segments.push(Segment::new_mutable(self.fields.len()));
        self.rebuild_locations();
    }

    /// Recomputes `locations` from the segments' live entries.
    pub(crate) fn rebuild_locations(&mut self) {
        self.locations.clear();
        for (s, seg) in self.segments.iter().enumerate() {
            for (doc, &id) in seg.point_ids.iter().enumerate() {
                if !seg.deleted[doc] {
                    self.locations.insert(id, (s as u32, doc as u32));
                }
            }
        }
    }
}
