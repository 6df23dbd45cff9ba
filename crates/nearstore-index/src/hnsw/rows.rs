//! The per-slot vectors the graph is walked on: `f32` rows (the `full` mode, and any mode
//! before training) or quantized codes, and [`Probe`], a query prepared for them.
//!
//! A probe is built from the rows it is used with, under the same graph lock (training
//! swaps the rows under the write lock), so probe and rows always agree; a mismatch would
//! be a bug and scores `+inf` (never a panic, never a wrong ranking silently preferred).

use std::borrow::Cow;

use nearstore_distance::{kernels, prefetch_ahead, prefetch_slice};

use super::arena::{VectorArena, reserve_huge};
use super::list_entries::{ListEntries, scan_pays};
use crate::quant::binary::BinaryCodebook;
use crate::quant::pq::{PqCodebook, PqQuery, default_subspaces};
use crate::quant::rabitq::{RabitqCodebook, RabitqQuery};
use crate::quant::sq8::{Sq8Codebook, Sq8Query};
use crate::quant::{QuantConfig, StorageMode};
use crate::space::Space;

/// Floats (or the same bytes of code) of every unvisited neighbour prefetched up front.
const PREFETCH_HEAD_BYTES: usize = 128;

/// Hints the cache to load `row`, one rule for every kind of row. Its head, the first
/// [`PREFETCH_HEAD_BYTES`] (all of a shorter row), is announced for every neighbour up front,
/// into the first-level cache. With `whole`, all of it is announced a few neighbours ahead,
/// except a row the head already covered, which is not announced twice: a row longer than
/// 512 bytes into the second level, a shorter one into the first ([`prefetch_ahead`], the
/// rule every read-ahead of rows follows).
///
/// The whole row rather than the lines past the head: on `f32` rows that was 3-8 % faster
/// into the first level, the hardware prefetcher following the row from its start; into the
/// second level, announcing only the lines past the head lost the whole gain. Long rows into
/// the second level (`query_profile` on one saved checkpoint each, same nodes scored,
/// alternated, medians of 6): 384-d `f32` rows (24 lines, wordnet-dev `full`, ef 24) 16.5k
/// queries a second against 10.5k; 256-d (16 lines, a Gaussian mixture) 31.9k against
/// 28.5k; 128-d (8 lines) within noise either way, and 384-byte SQ8 rows 3 % slower, so
/// rows of 8 lines or fewer keep the first level. Announcing the heads into the second level
/// too lost the gain.
#[inline]
pub(super) fn prefetch_row<T>(row: &[T], whole: bool) {
    let head = PREFETCH_HEAD_BYTES / std::mem::size_of::<T>().max(1);
    match (whole, row.len() <= head) {
        (false, _) => prefetch_slice(&row[..head.min(row.len())]),
        (true, false) => prefetch_ahead(row),
        (true, true) => {}
    }
}

/// Vectors by slot.
#[derive(Debug)]
pub enum Rows {
    /// `f32` rows, 64-byte aligned.
    Full(VectorArena),
    /// SQ8 codes (`dim` bytes per slot) and `|x̂|²` per slot.
    Sq8 {
        /// The ranges.
        book: Sq8Codebook,
        /// Codes, slot-major.
        codes: Vec<u8>,
        /// Squared norm of each decoded code.
        norms: Vec<f32>,
        /// Sum of each code's bytes (for byte-quantized queries).
        sums: Vec<f32>,
    },
    /// Binary codes (`words` u64 per slot).
    Binary {
        /// The centering.
        book: BinaryCodebook,
        /// Codes, slot-major.
        codes: Vec<u64>,
    },
    /// RaBitQ codes, each followed by its packed correction factors (`stride()` words per
    /// slot: one contiguous block a distance reads, prefetched as one).
    Rabitq {
        /// Centroid and rotation.
        book: RabitqCodebook,
        /// Per local centroid, the member a search starts from (derived from `blocks`).
        entries: ListEntries,
        /// Code + factor blocks, slot-major.
        blocks: Vec<u64>,
    },
    /// PQ codes (`book.subspaces()` bytes per slot).
    Pq {
        /// The centroids of every subspace.
        book: PqCodebook,
        /// Codes, slot-major (huge-page arena).
        codes: Vec<u8>,
    },
}

#[derive(Debug)]
pub(super) enum ProbeKind<'a> {
    F32(Cow<'a, [f32]>),
    Sq8(Sq8Query),
    Bits(Vec<u64>),
    Rabitq(RabitqQuery),
    Pq(PqQuery),
    /// A prepared vector scored exactly against the vector source's vectors (linking on
    /// codes too coarse to choose neighbours with; see `Graph::distance`).
    Exact(Vec<f32>),
}

/// A query (or a stored slot acting as one) ready to be scored against [`Rows`].
#[derive(Debug)]
pub struct Probe<'a> {
    pub(super) space: &'a Space,
    pub(super) kind: ProbeKind<'a>,
}

impl Rows {
    /// Empty `f32` rows.
    pub fn new(dim: usize) -> Self {
        Rows::Full(VectorArena::new(dim))
    }

    /// The mode these rows are in (`Full` until trained).
    pub fn mode(&self) -> StorageMode {
        match self {
            Rows::Full(_) => StorageMode::Full,
            Rows::Sq8 { .. } => StorageMode::Sq8,
            Rows::Binary { .. } => StorageMode::Binary,
            Rows::Rabitq { .. } => StorageMode::Rabitq,
            Rows::Pq { .. } => StorageMode::Pq,
        }
    }

    /// Whether graph links are chosen with exact distances from the vector source (the
    /// 1-bit codes are too coarse to choose neighbours with; a PQ slot acting as a query
    /// would need a lookup table of its own, `256 x dim` flops per neighbour compared).
    pub fn links_exactly(&self) -> bool {
        matches!(self, Rows::Rabitq { .. } | Rows::Pq { .. })
    }

    /// Reserves room for `additional` slots.
    pub fn reserve(&mut self, dim: usize, additional: usize) {
        match self {
            Rows::Full(a) => a.reserve(additional),
            Rows::Sq8 {
                codes, norms, sums, ..
            } => {
                reserve_huge(codes, additional * dim);
                norms.reserve(additional);
                sums.reserve(additional);
            }
            Rows::Binary { book, codes } => codes.reserve(additional * book.words()),
            Rows::Rabitq { book, blocks, .. } => reserve_huge(blocks, additional * book.stride()),
            Rows::Pq { book, codes } => reserve_huge(codes, additional * book.subspaces()),
        }
    }

    /// The rows renumbered: new slot `i` holds the row of old slot `order[i]` (`order` a
    /// permutation of the slots). `f32` rows move in place; codes (a fraction of their
    /// size) are copied.
    pub fn permuted(self, dim: usize, order: &[u32]) -> Rows {
        fn gather<T: Copy>(v: &[T], width: usize, order: &[u32]) -> Vec<T> {
            let mut out = Vec::new();
            reserve_huge(&mut out, order.len() * width);
            for &o in order {
                let at = o as usize * width;
                out.extend_from_slice(&v[at..at + width]);
            }
            out
        }
        match self {
            Rows::Full(mut a) => {
                a.permute(order);
                Rows::Full(a)
            }
            Rows::Sq8 {
                book,
                codes,
                norms,
                sums,
            } => Rows::Sq8 {
                book,
                codes: gather(&codes, dim, order),
                norms: gather(&norms, 1, order),
                sums: gather(&sums, 1, order),
            },
            Rows::Binary { book, codes } => {
                let codes = gather(&codes, book.words(), order);
                Rows::Binary { book, codes }
            }
            Rows::Rabitq { book, blocks, .. } => {
                let blocks = gather(&blocks, book.stride(), order);
                // None until the graph, whose deleted flags move with the slots, rebuilds
                // them (`Graph::renumber`).
                let entries = ListEntries::new(book.list_count());
                Rows::Rabitq {
                    book,
                    entries,
                    blocks,
                }
            }
            Rows::Pq { book, codes } => {
                let codes = gather(&codes, book.subspaces(), order);
                Rows::Pq { book, codes }
            }
        }
    }

    /// Appends the row of a new slot (an already prepared vector).
    pub fn push(&mut self, dim: usize, v: &[f32]) {
        match self {
            Rows::Full(a) => a.push(v),
            Rows::Sq8 {
                codes, norms, sums, ..
            } => {
                codes.resize(codes.len() + dim, 0);
                norms.push(0.0);
                sums.push(0.0);
                let slot = norms.len() - 1;
                self.set(dim, slot, v);
            }
            Rows::Binary { book, codes } => {
                codes.resize(codes.len() + book.words(), 0);
                let slot = codes.len() / book.words() - 1;
                self.set(dim, slot, v);
            }
            Rows::Rabitq { book, blocks, .. } => {
                blocks.resize(blocks.len() + book.stride(), 0);
                let slot = blocks.len() / book.stride() - 1;
                self.set(dim, slot, v);
            }
            Rows::Pq { book, codes } => {
                let m = book.subspaces();
                codes.resize(codes.len() + m, 0);
                let slot = codes.len() / m - 1;
                self.set(dim, slot, v);
            }
        }
    }

    /// Overwrites the row of `slot`.
    pub fn set(&mut self, dim: usize, slot: usize, v: &[f32]) {
        match self {
            Rows::Full(a) => a.set(slot, v),
            Rows::Sq8 {
                book,
                codes,
                norms,
                sums,
            } => {
                let code = &mut codes[slot * dim..(slot + 1) * dim];
                norms[slot] = book.encode(v, code);
                sums[slot] = code.iter().map(|&c| f32::from(c)).sum();
            }
            Rows::Binary { book, codes } => {
                let w = book.words();
                book.encode(v, &mut codes[slot * w..(slot + 1) * w]);
            }
            Rows::Rabitq {
                book,
                blocks,
                entries,
            } => {
                let (w, stride) = (book.words(), book.stride());
                let block = &mut blocks[slot * stride..(slot + 1) * stride];
                // Rows are written for new slots and freed ones, never for a list's entry
                // (entries are live): the row only has to be offered.
                debug_assert_ne!(
                    entries.slot(book.split(block).1.list as usize),
                    Some(slot as u32),
                    "the row of a list entry overwritten"
                );
                let f = book.encode(v, &mut block[..w]);
                book.write_factors(f, block);
                let f = book.split(block).1;
                entries.offer(f.list, f.scale, slot as u32);
            }
            Rows::Pq { book, codes } => {
                let m = book.subspaces();
                book.encode(v, &mut codes[slot * m..(slot + 1) * m]);
            }
        }
    }

    /// The `f32` row of `slot`, if these rows keep them.
    #[inline]
    pub fn f32_row(&self, slot: usize) -> Option<&[f32]> {
        match self {
            Rows::Full(a) => Some(a.get(slot)),
            _ => None,
        }
    }

    /// Prepares a query (already normalized for cosine).
    pub fn probe<'a>(&self, space: &'a Space, q: &'a [f32]) -> Probe<'a> {
        let kind = match self {
            Rows::Full(_) => ProbeKind::F32(Cow::Borrowed(q)),
            Rows::Sq8 { book, .. } => ProbeKind::Sq8(book.prepare(q, true)),
            Rows::Binary { book, codes: _ } => {
                let mut bits = vec![0u64; book.words()];
                book.encode(q, &mut bits);
                ProbeKind::Bits(bits)
            }
            Rows::Rabitq { book, .. } => ProbeKind::Rabitq(book.prepare(q)),
            Rows::Pq { book, .. } => ProbeKind::Pq(book.prepare(q, space.ranks_by_dot())),
        };
        Probe { space, kind }
    }

    /// A stored slot as a query (linking, repairs): its own row, or its decoded code.
    pub fn probe_slot<'a>(&'a self, space: &'a Space, dim: usize, slot: usize) -> Probe<'a> {
        let kind = match self {
            Rows::Full(a) => ProbeKind::F32(Cow::Borrowed(a.get(slot))),
            Rows::Sq8 { book, codes, .. } => {
                let mut v = Vec::with_capacity(dim);
                book.decode_into(&codes[slot * dim..(slot + 1) * dim], &mut v);
                ProbeKind::Sq8(book.prepare(&v, false))
            }
            Rows::Binary { book, codes } => {
                let w = book.words();
                ProbeKind::Bits(codes[slot * w..(slot + 1) * w].to_vec())
            }
            Rows::Rabitq { book, blocks, .. } => {
                let stride = book.stride();
                let mut v = Vec::with_capacity(dim);
                book.decode_into(&blocks[slot * stride..(slot + 1) * stride], &mut v);
                ProbeKind::Rabitq(book.prepare(&v))
            }
            Rows::Pq { book, codes } => {
                let m = book.subspaces();
                let mut v = Vec::with_capacity(dim);
                book.decode_into(&codes[slot * m..(slot + 1) * m], &mut v);
                ProbeKind::Pq(book.prepare(&v, space.ranks_by_dot()))
            }
        };
        Probe { space, kind }
    }

    /// The traversal distance (lower is better) from `p` to `slot`.
    #[inline]
    pub fn distance(&self, dim: usize, p: &Probe<'_>, slot: usize) -> f32 {
        match (self, &p.kind) {
            (Rows::Full(a), ProbeKind::F32(q)) => p.space.distance(q, a.get(slot)),
            (
                Rows::Sq8 {
                    codes, norms, sums, ..
                },
                ProbeKind::Sq8(q),
            ) => {
                let code = &codes[slot * dim..(slot + 1) * dim];
                let dot = match &q.bytes {
                    Some(b) => {
                        q.bias
                            + b.lo * sums[slot]
                            + b.step * kernels().dot_u8(&b.codes, code) as f32
                    }
                    None => q.bias + kernels().dot_f32_u8(&q.weights, code),
                };
                p.space.distance_from_dot(dot, q.norm_sq, norms[slot])
            }
            (Rows::Binary { book, codes }, ProbeKind::Bits(q)) => {
                let w = book.words();
                kernels().hamming_bits(q, &codes[slot * w..(slot + 1) * w]) as f32
            }
            (Rows::Rabitq { .. }, ProbeKind::Rabitq(_)) => self.estimate(dim, p, slot).0,
            (Rows::Pq { book, codes }, ProbeKind::Pq(q)) => {
                let m = book.subspaces();
                kernels().adc_f32_u8(&q.table, &codes[slot * m..(slot + 1) * m])
            }
            _ => f32::INFINITY,
        }
    }

    /// RaBitQ's estimated distance from `p` to `slot` and its error bound; other rows give
    /// their traversal distance with a zero bound.
    #[inline]
    pub fn estimate(&self, dim: usize, p: &Probe<'_>, slot: usize) -> (f32, f32) {
        match (self, &p.kind) {
            (Rows::Rabitq { book, blocks, .. }, ProbeKind::Rabitq(q)) => {
                let stride = book.stride();
                book.estimate(q, &blocks[slot * stride..(slot + 1) * stride])
            }
            _ => (self.distance(dim, p, slot), 0.0),
        }
    }

    /// Where a layer-0 search for `p` starts instead of the descent's end: on RaBitQ rows with
    /// local centroids, the entry of the list nearest `p` among those whose entry is `live`
    /// (see `list_entries.rs`); `None` for other rows and probes, and where the scan does
    /// not pay.
    pub fn list_entry(&self, p: &Probe<'_>, live: impl Fn(u32) -> bool) -> Option<u32> {
        match (self, &p.kind) {
            (Rows::Rabitq { book, entries, .. }, ProbeKind::Rabitq(q)) if scan_pays() => {
                let list = book.nearest_list(q, |j| entries.slot(j).is_some_and(&live))?;
                entries.slot(list)
            }
            _ => None,
        }
    }

    /// Gives every RaBitQ list whose entry is not `live` its best `live` member instead (see
    /// `list_entries.rs`); nothing for other rows.
    pub fn heal_entries(&mut self, live: impl Fn(u32) -> bool) {
        if let Rows::Rabitq {
            book,
            blocks,
            entries,
        } = self
        {
            entries.heal(book, blocks, live);
        }
    }

    /// Rebuilds the RaBitQ list entries from the `live` slots (see `list_entries.rs`);
    /// nothing for other rows.
    pub fn rebuild_entries(&mut self, live: impl Fn(u32) -> bool) {
        if let Rows::Rabitq {
            book,
            blocks,
            entries,
        } = self
        {
            *entries = ListEntries::scan(book, blocks, live);
        }
    }

    /// Whether some RaBitQ list's entry is not `live`.
    pub fn entries_dead(&self, live: impl Fn(u32) -> bool) -> bool {
        matches!(self, Rows::Rabitq { entries, .. } if entries.any_dead(live))
    }

    /// Hints the cache to load `slot`'s row: its head, or all of it (see [`prefetch_row`]).
    #[inline]
    pub fn prefetch(&self, dim: usize, slot: usize, whole: bool) {
        match self {
            Rows::Full(a) => prefetch_row(a.get(slot), whole),
            Rows::Sq8 { codes, .. } => prefetch_row(&codes[slot * dim..(slot + 1) * dim], whole),
            Rows::Binary { .. } => {}
            Rows::Rabitq { book, blocks, .. } => {
                let stride = book.stride();
                prefetch_row(&blocks[slot * stride..(slot + 1) * stride], whole);
            }
            Rows::Pq { book, codes } => {
                let m = book.subspaces();
                prefetch_row(&codes[slot * m..(slot + 1) * m], whole);
            }
        }
    }

    /// Bytes allocated.
    pub fn memory_bytes(&self) -> usize {
        match self {
            Rows::Full(a) => a.memory_bytes(),
            Rows::Sq8 {
                codes,
                norms,
                sums,
                book,
            } => codes.capacity() + (norms.capacity() + sums.capacity()) * 4 + book.dim() * 8,
            Rows::Binary { codes, book } => codes.capacity() * 8 + book.mean.len() * 4,
            Rows::Rabitq {
                book,
                blocks,
                entries,
            } => blocks.capacity() * 8 + book.to_bytes().len() + entries.memory_bytes(),
            Rows::Pq { book, codes } => codes.capacity() + book.memory_bytes(),
        }
    }

    /// Codes of `quant`'s mode for `n` slots whose prepared vectors `row(slot)` gives,
    /// with a codebook trained on `sample`. `Full` gives `f32` rows.
    pub fn build(
        quant: &QuantConfig,
        space: &Space,
        seed: u64,
        dim: usize,
        sample: &[&[f32]],
        n: usize,
        mut row: impl FnMut(usize, &mut dyn FnMut(&[f32])),
    ) -> Rows {
        let mut rows = match quant.mode {
            StorageMode::Full => Rows::Full(VectorArena::new(dim)),
            StorageMode::Sq8 => Rows::Sq8 {
                book: Sq8Codebook::train(dim, sample, quant.sq8_quantile),
                codes: Vec::new(),
                norms: Vec::new(),
                sums: Vec::new(),
            },
            StorageMode::Binary => Rows::Binary {
                book: BinaryCodebook::train(dim, sample),
                codes: Vec::new(),
            },
            StorageMode::Rabitq => {
                let book = RabitqCodebook::train_bits(
                    dim,
                    sample,
                    !space.ranks_by_dot(),
                    seed,
                    quant.rabitq_bits_for(dim),
                );
                Rows::Rabitq {
                    entries: ListEntries::new(book.list_count()),
                    book,
                    blocks: Vec::new(),
                }
            }
            StorageMode::Pq => Rows::Pq {
                book: PqCodebook::train(dim, default_subspaces(dim), sample, seed),
                codes: Vec::new(),
            },
        };
        rows.reserve(dim, n);
        let zero = vec![0f32; dim];
        for slot in 0..n {
            let mut pushed = false;
            row(slot, &mut |v| {
                rows.push(dim, v);
                pushed = true;
            });
            if !pushed {
                rows.push(dim, &zero);
            }
        }
        rows
    }
}
