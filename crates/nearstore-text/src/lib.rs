//! NearStore's full-text search: analyzers, a BM25 inverted index over compressed posting
//! blocks, and top-k by window scoring (plain keyword queries) or block-max WAND, with
//! filters, phrases and required/excluded terms.
//!
//! # What this crate owns
//!
//! - [`Analyzer`]: text -> terms with positions. The default is exactly the BM25 definition
//!   of the benchmark data (NFKD + drop non-ASCII, lowercase, split outside `[a-z0-9]`).
//! - [`TextIndexConfig`]: which payload text is indexed: every string leaf as one field
//!   [`ALL_FIELD`] (the default), or named fields each with its own analyzer and BM25
//!   parameters.
//! - [`TextIndex`]: `index_document(id, &payload)` / `delete_document(id)` (both idempotent
//!   by point id, effective at once), `search` / `search_filtered` / `search_query` returning
//!   [`TextSearchOutput`] (hits best first, ties to the smaller id, plus [`SearchStats`]), and
//!   `encode` / `decode` of a checksummed byte image.
//!
//! It depends on no other NearStore crate and opens no files: the engine stores the image
//! through its storage layer at checkpoints and replays its operation log tail into the index
//! with the same idempotent calls (a replayed upsert or delete of an already-applied operation
//! changes nothing).
//!
//! # Shape: one writable segment + sealed compressed segments, merged
//!
//! Documents are appended to a writable segment whose posting lists are plain vectors (cheap
//! appends, no re-encoding per document). When it holds `DEFAULT_SEAL_DOCS` documents it is
//! sealed: its lists are bit-packed into blocks of 128 with per-block score summaries. When
//! more than two sealed segments exist they are merged into one, and [`TextIndex::merge_all`]
//! does so on demand; merging drops deleted entries, which is where the space of deletes and
//! updates is reclaimed. Why this shape: appends never touch compressed data (a bulk load
//! costs one analysis and a few vector pushes per token), a sealed segment is immutable (so
//! it maps onto the segment files of DESIGN.md's direction), and searching a handful of
//! segments into one top-k window costs little. Deletes are immediate: a delete marks the
//! entry dead and updates the live document frequencies and field lengths from the segment's
//! forward index (each document's distinct terms), so BM25's N, df and average length are
//! always those of the live documents.
//!
//! # Speed (see the README section "Full-text search (crate)" for the full table)
//!
//! `bench/text_peers.sh [--passages]` runs `examples/text_bench.rs` and the `tantivy` Python
//! package on the same corpus in one run. Measured: wordnet-dev 2.33x tantivy's single-thread
//! QPS at k = 10 and 0.77x its indexing rate; 250k longer passages 1.04x and 0.59x; top-10
//! exact on 500/500 wordnet-dev queries.
//!
//! # Invariants
//!
//! - A point id is live in at most one segment; scores use live statistics only.
//! - Every block's summary (max tf, min field length) bounds the BM25 of its documents for
//!   any parameters, so pruning never drops a document that belongs in the top k.
//! - `decode` bounds every count by the bytes left before allocating and validates the whole
//!   structure before anything is searchable; it never panics on any input.
//! - `#![forbid(unsafe_code)]`: bit-packing is the `bitpacking` crate's; this crate writes by
//!   hand only the product's core (the posting format, the index, the search).

#![forbid(unsafe_code)]

mod analyzer;
mod error;
mod image;
mod image_reader;
mod index;
mod matching;
mod postings;
mod query;
mod schema;
mod search;
mod segment;
mod sparse;
mod vocabulary;

pub use analyzer::{Analyzer, AnalyzerConfig, Language, MAX_TERM_BYTES, Tokenizer};
pub use error::{Error, Result};
pub use image::FORMAT_VERSION;
pub use index::{DEFAULT_SEAL_DOCS, TextIndex};
pub use matching::value_matches;
pub use query::{Clause, Occur, TextQuery};
pub use schema::{ALL_FIELD, Bm25Params, FieldConfig, MAX_FIELDS, TextIndexConfig};
pub use search::{FilterFn, MAX_QUERY_TERMS, SearchStats, TextFilter, TextHit, TextSearchOutput};
pub use sparse::{
    DEAD_FRACTION, SPARSE_FORMAT_VERSION, SparseConfig, SparseIndex, SparseModifier, SparseVector,
    idf,
};
