//! The persisted byte image of a [`TextIndex`]: [`TextIndex::encode`] and the total
//! [`TextIndex::decode`].
//!
//! Layout (little-endian; the engine stores the bytes through its storage layer at a
//! checkpoint and replays its operation log after loading them):
//!
//! ```text
//! magic "NSTEXTIX" | version u32
//! config: len u32, JSON
//! vocabulary: count u32, then per term: field u16, len u16, UTF-8 bytes
//! segments: count u32, then per segment:
//!   doc_count u32 | point ids u64 × n | field lengths u32 × n × fields
//!   deleted u8 × n (0 or 1)
//!   lists: count u32, then (term, first_block, block_count, doc_count) u32 × 4
//!   blocks: count u32, then (last_doc, max_tf, min_len, doc_offset, pos_offset) u32 × 5
//!   doc bytes: len u32, bytes | position bytes: len u32, bytes
//! crc32c u32 of everything before it
//! ```
//!
//! Decoding checks the checksum, bounds every count by the bytes left before allocating, and
//! then validates the structure (every block decodes, sorted documents, exact block
//! summaries and field lengths, unique live point ids) before anything is searchable. The
//! forward index (each document's terms), document frequencies and field statistics are not
//! stored: they are rebuilt from the lists and the live documents while validating, so they
//! cannot disagree with them.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{Error, Result};
use crate::image_reader::{Reader, checked_body, put_u32, seal_frame};
use crate::index::{FieldStats, TextIndex};
use crate::postings::{BlockMeta, FrozenList, FrozenPostings};
use crate::schema::TextIndexConfig;
use crate::segment::{Segment, SegmentPostings};
use crate::vocabulary::Vocabulary;

const MAGIC: &[u8; 8] = b"NSTEXTIX";
/// The image's name in errors.
const IMAGE: &str = "text index";
/// Format version written and read by this build.
pub const FORMAT_VERSION: u32 = 1;

impl TextIndex {
    /// The index as a checksummed byte image (the writable segment is packed on the way out).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, FORMAT_VERSION);
        // Serializing plain structs of strings, numbers and enums to JSON cannot fail.
        let config = serde_json::to_vec(&self.config).unwrap_or_default();
        put_u32(&mut out, config.len() as u32);
        out.extend_from_slice(&config);
        put_u32(&mut out, self.vocab.len() as u32);
        for (field, text) in self.vocab.iter() {
            out.extend_from_slice(&field.to_le_bytes());
            out.extend_from_slice(&(text.len() as u16).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        let segments: Vec<&Segment> = self.segments.iter().filter(|s| s.doc_count() > 0).collect();
        put_u32(&mut out, segments.len() as u32);
        for seg in segments {
            encode_segment(&mut out, seg);
        }
        seal_frame(&mut out);
        out
    }

    /// Reads an image written by [`TextIndex::encode`]. Never panics: damaged, truncated or
    /// foreign bytes give [`Error::Corrupt`] (or [`Error::UnsupportedVersion`]).
    pub fn decode(bytes: &[u8]) -> Result<TextIndex> {
        let body = checked_body(bytes, MAGIC, IMAGE)?;
        let mut r = Reader::new(body, MAGIC.len(), IMAGE);
        let version = r.u32("header")?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                image: IMAGE,
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        decode_body(&mut r)
    }
}

fn put_u32s(out: &mut Vec<u8>, values: &[u32]) {
    values.iter().for_each(|&v| put_u32(out, v));
}

fn encode_segment(out: &mut Vec<u8>, seg: &Segment) {
    put_u32(out, seg.doc_count() as u32);
    seg.point_ids
        .iter()
        .for_each(|id| out.extend_from_slice(&id.to_le_bytes()));
    put_u32s(out, &seg.field_lens);
    out.extend(seg.deleted.iter().map(|&d| u8::from(d)));
    let postings = seg.frozen_postings();
    let mut lists: Vec<(&u32, &FrozenList)> = postings.lists.iter().collect();
    lists.sort_unstable_by_key(|(t, _)| **t);
    put_u32(out, lists.len() as u32);
    for (&term, list) in lists {
        put_u32s(
            out,
            &[term, list.first_block, list.block_count, list.doc_count],
        );
    }
    put_u32(out, postings.blocks.len() as u32);
    for b in &postings.blocks {
        put_u32s(
            out,
            &[b.last_doc, b.max_tf, b.min_len, b.doc_offset, b.pos_offset],
        );
    }
    put_u32(out, postings.doc_bytes.len() as u32);
    out.extend_from_slice(&postings.doc_bytes);
    put_u32(out, postings.pos_bytes.len() as u32);
    out.extend_from_slice(&postings.pos_bytes);
}

fn corrupt(section: &'static str, offset: usize, reason: &str) -> Error {
    crate::image_reader::corrupt(IMAGE, section, offset, reason)
}

fn decode_body(r: &mut Reader<'_>) -> Result<TextIndex> {
    let config_at = r.at;
    let len = r.count(1, "config")?;
    let config: TextIndexConfig = serde_json::from_slice(r.take(len, "config")?)
        .map_err(|e| corrupt("config", config_at, &e.to_string()))?;
    let mut index =
        TextIndex::new(config).map_err(|e| corrupt("config", config_at, &e.to_string()))?;
    let n_fields = index.fields.len();

    let n_terms = r.count(4, "vocabulary")?;
    let mut vocab = Vocabulary::new(n_fields);
    for _ in 0..n_terms {
        let at = r.at;
        let field = r.u16("vocabulary")?;
        let len = usize::from(r.u16("vocabulary")?);
        let raw = r.take(len, "vocabulary")?;
        let text =
            std::str::from_utf8(raw).map_err(|_| corrupt("vocabulary", at, "term is not UTF-8"))?;
        if usize::from(field) >= n_fields
            || text.is_empty()
            || text.len() > crate::analyzer::MAX_TERM_BYTES
        {
            return Err(corrupt(
                "vocabulary",
                at,
                "term field or length out of range",
            ));
        }
        if vocab.insert(field, text).is_err() {
            return Err(corrupt("vocabulary", at, "duplicate term"));
        }
    }

    let n_segments = r.count(4, "segments")?;
    let mut segments = Vec::with_capacity(n_segments + 1);
    for _ in 0..n_segments {
        segments.push(decode_segment(r, n_fields, &vocab)?);
    }
    if r.at != r.bytes.len() {
        return Err(corrupt("trailer", r.at, "bytes after the last segment"));
    }

    // Live statistics and locations, recomputed from the live documents.
    let mut field_stats = vec![FieldStats::default(); n_fields];
    let mut seen: FxHashSet<u64> = FxHashSet::default();
    for seg in &segments {
        for doc in 0..seg.doc_count() {
            if seg.deleted[doc] {
                continue;
            }
            if !seen.insert(seg.point_ids[doc]) {
                return Err(corrupt("segments", 0, "a point id is live twice"));
            }
            for &t in seg.terms_of(doc as u32) {
                vocab.df[t as usize] += 1;
            }
            for (f, stats) in field_stats.iter_mut().enumerate() {
                let len = seg.field_len(doc as u32, f);
                if len > 0 {
                    stats.docs += 1;
                    stats.total_len += u64::from(len);
                }
            }
        }
    }
    segments.push(Segment::new_mutable(n_fields));
    index.vocab = vocab;
    index.field_stats = field_stats;
    index.segments = segments;
    index.rebuild_locations();
    Ok(index)
}

fn decode_segment(r: &mut Reader<'_>, n_fields: usize, vocab: &Vocabulary) -> Result<Segment> {
    const S: &str = "segment";
    let n = r.count(8, S)?;
    let point_ids = r.u64s(n, S)?;
    r.check_fits(n.saturating_mul(n_fields), 4, S, r.at)?;
    let field_lens = r.u32s(n * n_fields, S)?;
    let deleted_at = r.at;
    let deleted: Vec<bool> = r.take(n, S)?.iter().map(|&b| b == 1).collect();
    if r.bytes[deleted_at..deleted_at + n].iter().any(|&b| b > 1) {
        return Err(corrupt(S, deleted_at, "deleted mark other than 0 or 1"));
    }

    let lists_at = r.at;
    let n_lists = r.count(16, S)?;
    let mut lists = FxHashMap::default();
    for _ in 0..n_lists {
        let v = r.u32s(4, S)?;
        let list = FrozenList {
            first_block: v[1],
            block_count: v[2],
            doc_count: v[3],
        };
        if v[0] as usize >= vocab.len() || lists.insert(v[0], list).is_some() {
            return Err(corrupt(S, lists_at, "list for an unknown or repeated term"));
        }
    }
    let n_blocks = r.count(20, S)?;
    let mut blocks = Vec::with_capacity(n_blocks);
    for _ in 0..n_blocks {
        let v = r.u32s(5, S)?;
        blocks.push(BlockMeta {
            last_doc: v[0],
            max_tf: v[1],
            min_len: v[2],
            doc_offset: v[3],
            pos_offset: v[4],
        });
    }
    let len = r.count(1, S)?;
    let doc_bytes = r.take(len, S)?.to_vec();
    let len = r.count(1, S)?;
    let pos_bytes = r.take(len, S)?.to_vec();
    let mut postings = FrozenPostings {
        lists,
        blocks,
        doc_bytes,
        pos_bytes,
        frontiers: FxHashMap::default(),
    };
    postings.build_frontiers();

    // Every list decodes with exact summaries and field lengths; the forward index is
    // rebuilt from the lists (terms in increasing id order, so each document's terms are
    // sorted): count per document, then fill.
    let mut terms: Vec<(u32, FrozenList)> = postings.lists.iter().map(|(&t, &l)| (t, l)).collect();
    terms.sort_unstable_by_key(|&(t, _)| t);
    let mut per_doc = vec![0u32; n + 1];
    for &(term, list) in &terms {
        let field = usize::from(vocab.field(term));
        let lens = |doc: u32| {
            field_lens
                .get(doc as usize * n_fields + field)
                .copied()
                .unwrap_or(0)
        };
        postings
            .validate_list(term, list, n as u32, &lens, &mut |doc| {
                per_doc[doc as usize + 1] += 1;
            })
            .map_err(|reason| corrupt(S, lists_at, &reason))?;
    }
    let mut term_starts = per_doc;
    for d in 1..term_starts.len() {
        term_starts[d] += term_starts[d - 1];
    }
    let total = term_starts.last().copied().unwrap_or(0) as usize;
    let mut doc_terms = vec![0u32; total];
    let mut fill: Vec<u32> = term_starts[..n].to_vec();
    let mut docs = [0u32; crate::postings::BLOCK_LEN];
    let mut tfs = [0u32; crate::postings::BLOCK_LEN];
    let mut lens = [0u32; crate::postings::BLOCK_LEN];
    let packer = <bitpacking::BitPacker4x as bitpacking::BitPacker>::new();
    for &(term, list) in &terms {
        for b in 0..list.block_count as usize {
            let count = postings
                .decode_block(&packer, list, b, &mut docs, &mut tfs, &mut lens)
                .ok_or_else(|| corrupt(S, lists_at, "block stopped decoding"))?;
            for &doc in &docs[..count] {
                let slot = &mut fill[doc as usize];
                doc_terms[*slot as usize] = term;
                *slot += 1;
            }
        }
    }
    let deleted_count = deleted.iter().filter(|&&d| d).count();
    Ok(Segment {
        n_fields,
        point_ids,
        field_lens,
        term_starts,
        doc_terms,
        deleted,
        deleted_count,
        postings: SegmentPostings::Frozen(postings),
    })
}
