//! Checkpoints: the whole graph (vectors, levels, links, ids, free slots) in one checksummed
//! sections file written atomically through `nearstore-storage`, loaded by reading it back
//! (time proportional to the file, no rebuild). The checkpoint records the WAL position it
//! reflects so the engine replays only the tail.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nearstore_storage::Backend;
use nearstore_storage::sections::{read_sections, write_sections};
use parking_lot::{Mutex, RwLock};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::arena::{VectorArena, collect_huge, reserve_huge};
use super::graph::Graph;
use super::ids::{ExternalIds, IdTable};
use super::list_entries::ListEntries;
use super::rows::Rows;
use super::visited::VisitedPool;
use super::{HnswIndex, HnswParams};
use crate::DistanceMetric;
use crate::error::{Error, Result};
use crate::quant::binary::BinaryCodebook;
use crate::quant::pq::PqCodebook;
use crate::quant::rabitq::{FactorsDamage, Folded, RabitqCodebook};
use crate::quant::sq8::Sq8Codebook;
use crate::quant::{QuantConfig, SQ8_DEFAULT_QUANTILE, StorageMode, VectorSource};
use crate::space::Space;

/// Magic of an HNSW checkpoint file.
pub const HNSW_MAGIC: [u8; 8] = *b"NSHNSW01";

/// The persisted metric byte is the position in this list: append only.
const METRICS: [DistanceMetric; 6] = [
    DistanceMetric::Cosine,
    DistanceMetric::Euclidean,
    DistanceMetric::DotProduct,
    DistanceMetric::Hamming,
    DistanceMetric::Jaccard,
    DistanceMetric::Manhattan,
];

/// The persisted byte of `metric`: its position in [`METRICS`]. The match is exhaustive,
/// so a new metric does not compile until it has a byte (no silent fallback to cosine).
fn metric_byte(metric: DistanceMetric) -> u8 {
    match metric {
        DistanceMetric::Cosine => 0,
        DistanceMetric::Euclidean => 1,
        DistanceMetric::DotProduct => 2,
        DistanceMetric::Hamming => 3,
        DistanceMetric::Jaccard => 4,
        DistanceMetric::Manhattan => 5,
    }
}

fn bytes_of<T: Copy, const N: usize>(
    items: impl Iterator<Item = T>,
    f: fn(T) -> [u8; N],
) -> Vec<u8> {
    let mut out = Vec::new();
    for x in items {
        out.extend_from_slice(&f(x));
    }
    out
}

fn decode<T, const N: usize>(bytes: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            f(a)
        })
        .collect()
}

fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::Storage(nearstore_storage::Error::corruption(path, 0, reason))
}

impl HnswIndex {
    /// Writes a checkpoint of the index to `path`, recording `lsn` (the last write it
    /// reflects). Writers wait while it is taken; searches continue.
    pub fn save(&self, backend: &dyn Backend, path: &Path, lsn: u64) -> Result<()> {
        let g = self.graph.read();
        let free = self.free.lock().clone();
        let p = g.parts();
        let (entry, entry_level) = g.entry.unwrap_or((u32::MAX, 0));
        let metric = metric_byte(self.space.metric());
        let mut meta = Vec::new();
        meta.extend_from_slice(&(self.dim as u32).to_le_bytes());
        meta.push(metric);
        meta.extend_from_slice(&(self.params.m as u32).to_le_bytes());
        meta.extend_from_slice(&(self.params.ef_construction as u32).to_le_bytes());
        meta.extend_from_slice(&(self.params.ef_search as u32).to_le_bytes());
        meta.extend_from_slice(&self.params.seed.to_le_bytes());
        meta.extend_from_slice(&entry.to_le_bytes());
        meta.push(entry_level);
        meta.extend_from_slice(&lsn.to_le_bytes());
        let mut quant = vec![mode_byte(self.quant.mode), mode_byte(p.rows.mode())];
        quant.extend_from_slice(&self.quant.oversampling.to_le_bytes());
        quant.extend_from_slice(&(self.quant.train_at as u64).to_le_bytes());
        // Only a RaBitQ width other than the default is written (older binaries refuse
        // the longer section; every default checkpoint keeps the old layout).
        // So is an SQ8 quantile other than the default (after the width byte, then
        // always written).
        let quantile_set = self.quant.sq8_quantile != SQ8_DEFAULT_QUANTILE;
        if self.quant.rabitq_bits != 0 || quantile_set {
            quant.push(self.quant.rabitq_bits);
        }
        if quantile_set {
            quant.extend_from_slice(&self.quant.sq8_quantile.to_le_bytes());
        }
        let (vectors, book, codes, norms) = match p.rows {
            Rows::Full(arena) => (
                bytes_of(
                    (0..arena.len()).flat_map(|i| arena.get(i).iter().copied()),
                    f32::to_le_bytes,
                ),
                Vec::new(),
                Vec::new(),
                Vec::new(),
            ),
            Rows::Sq8 {
                book, codes, norms, ..
            } => (
                Vec::new(),
                book.to_bytes(),
                codes.clone(),
                bytes_of(norms.iter().copied(), f32::to_le_bytes),
            ),
            Rows::Binary { book, codes } => (
                Vec::new(),
                book.to_bytes(),
                bytes_of(codes.iter().copied(), u64::to_le_bytes),
                Vec::new(),
            ),
            Rows::Rabitq { book, blocks, .. } => {
                // Persisted as two sections (codes, factors), not in the memory layout.
                let (w, stride) = (book.words(), book.stride());
                let codes = blocks
                    .chunks_exact(stride)
                    .flat_map(|b| b[..w].iter().copied());
                let factors = blocks.chunks_exact(stride).map(|b| book.split(b).1);
                (
                    Vec::new(),
                    book.to_bytes(),
                    bytes_of(codes, u64::to_le_bytes),
                    bytes_of(factors, Folded::to_bytes),
                )
            }
            Rows::Pq { book, codes } => (Vec::new(), book.to_bytes(), codes.clone(), Vec::new()),
        };
        let sections = [
            meta,
            vectors,
            bytes_of(p.external.iter(), u64::to_le_bytes),
            p.levels.to_vec(),
            p.deleted
                .iter()
                .map(|d| u8::from(d.load(Ordering::Acquire)))
                .collect(),
            bytes_of(p.level0.iter().copied(), u32::to_le_bytes),
            bytes_of(p.upper_start.iter().copied(), u32::to_le_bytes),
            bytes_of(
                p.upper.iter().map(|a| a.load(Ordering::Acquire)),
                u32::to_le_bytes,
            ),
            bytes_of(free.iter().copied(), u32::to_le_bytes),
            quant,
            book,
            codes,
            norms,
        ];
        let refs: Vec<&[u8]> = sections.iter().map(Vec::as_slice).collect();
        write_sections(backend, path, &HNSW_MAGIC, &refs)?;
        Ok(())
    }

    /// Loads a checkpoint written by [`HnswIndex::save`]; returns the index and the `lsn` it
    /// recorded. Every length, link and level is validated: a damaged file is a
    /// `Corruption` error, never a panic or a wild read.
    ///
    /// A quantized index's checkpoint needs [`HnswIndex::load_with_source`].
    pub fn load(backend: &dyn Backend, path: &Path) -> Result<(Self, u64)> {
        Self::load_with_source(backend, path, None)
    }

    /// [`HnswIndex::load`] for any storage mode: `source` is where a quantized index reads
    /// its exact vectors (required when the checkpoint is quantized; ignored by `full`).
    pub fn load_with_source(
        backend: &dyn Backend,
        path: &Path,
        source: Option<Arc<dyn VectorSource>>,
    ) -> Result<(Self, u64)> {
        let s = read_sections(backend, path, &HNSW_MAGIC)?;
        // 9 sections: a checkpoint from before quantization (always `full`).
        if s.len() != 9 && s.len() != 13 {
            return Err(corrupt(path, format!("{} sections, expected 13", s.len())));
        }
        let meta = &s[0];
        if meta.len() != 38 {
            return Err(corrupt(path, "bad meta section"));
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([meta[i], meta[i + 1], meta[i + 2], meta[i + 3]]);
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&meta[i..i + 8]);
            u64::from_le_bytes(a)
        };
        let dim = u32_at(0) as usize;
        let metric = *METRICS
            .get(usize::from(meta[4]))
            .ok_or_else(|| corrupt(path, "unknown metric"))?;
        let params = HnswParams {
            m: u32_at(5) as usize,
            ef_construction: u32_at(9) as usize,
            ef_search: u32_at(13) as usize,
            seed: u64_at(17),
        };
        params
            .validate()
            .map_err(|e| corrupt(path, e.to_string()))?;
        let entry = u32_at(25);
        let entry_level = meta[29];
        let lsn = u64_at(30);
        let external: Vec<u64> = decode(&s[2], u64::from_le_bytes);
        let levels = s[3].clone();
        let deleted: Vec<bool> = s[4].iter().map(|&b| b != 0).collect();
        let level0: Vec<u32> = decode(&s[5], u32::from_le_bytes);
        let upper_start: Vec<u32> = decode(&s[6], u32::from_le_bytes);
        let upper: Vec<u32> = decode(&s[7], u32::from_le_bytes);
        let free: Vec<u32> = decode(&s[8], u32::from_le_bytes);
        let n = levels.len();
        let (m, m0) = (params.m, 2 * params.m);
        let sizes_ok = dim > 0
            && s[2].len() == n * 8
            && deleted.len() == n
            && s[5].len() == n * (m0 + 1) * 4
            && s[6].len() == n * 4
            && s[7].len().is_multiple_of(4)
            && upper.len().is_multiple_of(m + 1)
            && s[8].len().is_multiple_of(4);
        if !sizes_ok {
            return Err(corrupt(path, "section sizes do not agree"));
        }
        let check_block = |block: &[u32]| {
            (block[0] as usize) < block.len() && block[1..].iter().all(|&l| (l as usize) < n)
        };
        if !level0.chunks_exact(m0 + 1).all(check_block) {
            return Err(corrupt(path, "a layer-0 list is damaged"));
        }
        let upper_blocks = upper.len() / (m + 1);
        for (slot, (&level, &start)) in levels.iter().zip(&upper_start).enumerate() {
            if level == 0 {
                continue;
            }
            let end = start as usize + usize::from(level);
            if level > 31 || end > upper_blocks {
                return Err(corrupt(path, format!("slot {slot} has bad upper layers")));
            }
            for (layer, b) in (start as usize..end).enumerate() {
                let block = &upper[b * (m + 1)..(b + 1) * (m + 1)];
                // A link on layer L must reach a node that has layer L (a search descends
                // into the target's own list on that layer; found by fuzzing).
                let reaches_layer = || {
                    let count = (block[0] as usize).min(m);
                    block[1..=count].iter().all(|&l| {
                        levels
                            .get(l as usize)
                            .is_some_and(|&t| usize::from(t) > layer)
                    })
                };
                if !check_block(block) || !reaches_layer() {
                    return Err(corrupt(
                        path,
                        format!("an upper list of slot {slot} is damaged"),
                    ));
                }
            }
        }
        if free
            .iter()
            .any(|&f| f as usize >= n || !deleted[f as usize])
        {
            return Err(corrupt(path, "bad free list"));
        }
        let entry = if entry == u32::MAX {
            None
        } else if (entry as usize) < n && levels[entry as usize] == entry_level {
            Some((entry, entry_level))
        } else {
            return Err(corrupt(path, "bad entry point"));
        };
        let mut ids = IdTable::default();
        let external = ExternalIds::from_vec(external);
        for (slot, (id, &dead)) in external.iter().zip(&deleted).enumerate() {
            if !dead && ids.insert(slot as u32, &external).is_some() {
                return Err(corrupt(path, format!("id {id} is live twice")));
            }
        }
        let live = ids.len();
        let empty = Vec::new();
        let quant_sections = s.get(9..13).unwrap_or_default();
        let section = |i: usize| quant_sections.get(i).unwrap_or(&empty);
        let (quant, rows) = load_rows(
            path,
            dim,
            n,
            &s[1],
            section(0),
            section(1),
            section(2),
            section(3),
        )?;
        if quant.mode != StorageMode::Full && !Space::new(metric).quantizable() {
            return Err(corrupt(
                path,
                "a quantized index of a metric without a quantized form",
            ));
        }
        if quant.mode != StorageMode::Full && source.is_none() {
            return Err(Error::InvalidArgument(format!(
                "{} is a quantized ({}) index: load it with its vector source",
                path.display(),
                quant.mode.name()
            )));
        }
        let mut graph = Graph::from_parts(
            dim,
            m,
            rows,
            external,
            levels,
            deleted,
            level0,
            upper_start,
            upper,
            entry,
        );
        if quant.mode != StorageMode::Full {
            graph.set_exact_source(source.clone());
            graph.set_compact_links(true);
        }
        let index = HnswIndex {
            params,
            dim,
            space: Space::new(metric),
            graph: RwLock::new(graph),
            ids: RwLock::new(ids),
            free: Mutex::new(free),
            visited: VisitedPool::default(),
            level_rng: Mutex::new(ChaCha8Rng::seed_from_u64(params.seed ^ lsn)),
            live: AtomicUsize::new(live),
            quant,
            source: if quant.mode == StorageMode::Full {
                None
            } else {
                source
            },
            slot_gate: RwLock::new(()),
        };
        // A checkpoint written before deletes moved the entry point may hold a deleted one.
        index.replace_deleted_entry();
        // Slots in search order (a checkpoint of an index built by small batches, or
        // written before renumbering existed, holds them in insertion order).
        index.renumber_for_locality();
        Ok((index, lsn))
    }
}

fn mode_byte(mode: StorageMode) -> u8 {
    StorageMode::ALL
        .iter()
        .position(|m| *m == mode)
        .unwrap_or(0) as u8
}

fn mode_of(path: &Path, byte: u8) -> Result<StorageMode> {
    StorageMode::ALL
        .get(usize::from(byte))
        .copied()
        .ok_or_else(|| corrupt(path, format!("unknown storage mode {byte}")))
}

/// The quantization settings and the rows of `n` slots, every length checked.
#[expect(clippy::too_many_arguments, reason = "one argument per section")]
fn load_rows(
    path: &Path,
    dim: usize,
    n: usize,
    vectors: &[u8],
    quant: &[u8],
    book: &[u8],
    codes: &[u8],
    norms: &[u8],
) -> Result<(QuantConfig, Rows)> {
    let (config, rows_mode) = if quant.is_empty() {
        (QuantConfig::default(), StorageMode::Full)
    } else {
        if ![14, 15, 19].contains(&quant.len()) {
            return Err(corrupt(path, "bad quantization section"));
        }
        let mut train_at = [0u8; 8];
        train_at.copy_from_slice(&quant[6..14]);
        let config = QuantConfig {
            mode: mode_of(path, quant[0])?,
            oversampling: f32::from_le_bytes([quant[2], quant[3], quant[4], quant[5]]),
            train_at: usize::try_from(u64::from_le_bytes(train_at))
                .map_err(|_| corrupt(path, "bad training threshold"))?,
            rabitq_bits: quant.get(14).copied().unwrap_or(0),
            sq8_quantile: match quant.get(15..19) {
                Some(&[a, b, c, d]) => f32::from_le_bytes([a, b, c, d]),
                _ => SQ8_DEFAULT_QUANTILE,
            },
        };
        config
            .validate()
            .map_err(|e| corrupt(path, e.to_string()))?;
        (config, mode_of(path, quant[1])?)
    };
    if rows_mode != StorageMode::Full && rows_mode != config.mode {
        return Err(corrupt(path, "codes of another storage mode"));
    }
    let rows = match rows_mode {
        StorageMode::Full => {
            if vectors.len() != n * dim * 4 {
                return Err(corrupt(path, "vector section size"));
            }
            let mut arena = VectorArena::new(dim);
            arena.reserve(n);
            // Grown by the first row, never sized from the header's `dim` (which an empty
            // index does not bound: a damaged one asked for 16 GB here, found by fuzzing).
            let mut row = Vec::new();
            for chunk in vectors.chunks_exact(dim * 4) {
                row.clear();
                row.extend(decode(chunk, f32::from_le_bytes));
                arena.push(&row);
            }
            Rows::Full(arena)
        }
        StorageMode::Sq8 => {
            let book = Sq8Codebook::from_bytes(dim, book)
                .ok_or_else(|| corrupt(path, "damaged SQ8 codebook"))?;
            if codes.len() != n * dim || norms.len() != n * 4 || !vectors.is_empty() {
                return Err(corrupt(path, "SQ8 code section sizes"));
            }
            let norms: Vec<f32> = decode(norms, f32::from_le_bytes);
            if norms.iter().any(|x| !x.is_finite() || *x < 0.0) {
                return Err(corrupt(path, "damaged SQ8 norms"));
            }
            let sums = codes
                .chunks_exact(dim)
                .map(|c| c.iter().map(|&b| f32::from(b)).sum())
                .collect();
            Rows::Sq8 {
                book,
                codes: collect_huge(codes.iter().copied()),
                norms,
                sums,
            }
        }
        StorageMode::Binary => {
            let book = BinaryCodebook::from_bytes(dim, book)
                .ok_or_else(|| corrupt(path, "damaged binary codebook"))?;
            if codes.len() != n * book.words() * 8 || !norms.is_empty() || !vectors.is_empty() {
                return Err(corrupt(path, "binary code section sizes"));
            }
            Rows::Binary {
                book,
                codes: decode(codes, u64::from_le_bytes),
            }
        }
        StorageMode::Rabitq => {
            let book = RabitqCodebook::from_bytes(dim, book)
                .ok_or_else(|| corrupt(path, "damaged RaBitQ codebook"))?;
            if codes.len() != n * book.words() * 8 || !vectors.is_empty() {
                return Err(corrupt(path, "RaBitQ code section sizes"));
            }
            let factors = book.read_factors(norms, n).map_err(|e| match e {
                FactorsDamage::Size => corrupt(path, "RaBitQ factor section size"),
                FactorsDamage::NoLists => corrupt(
                    path,
                    "RaBitQ factors without lists in a codebook with lists",
                ),
                FactorsDamage::Slot(slot) => {
                    corrupt(path, format!("damaged RaBitQ factors of slot {slot}"))
                }
            })?;
            let w = book.words();
            let codes: Vec<u64> = decode(codes, u64::from_le_bytes);
            let mut blocks = Vec::new();
            reserve_huge(&mut blocks, n * book.stride());
            for (code, f) in codes.chunks_exact(w).zip(&factors) {
                blocks.extend_from_slice(code);
                blocks.extend_from_slice(&f.pack());
            }
            // None until the graph, which has the deleted flags, rebuilds them
            // (`Graph::from_parts`).
            let entries = ListEntries::new(book.list_count());
            Rows::Rabitq {
                book,
                blocks,
                entries,
            }
        }
        StorageMode::Pq => {
            let book = PqCodebook::from_bytes(dim, book)
                .ok_or_else(|| corrupt(path, "damaged PQ codebook"))?;
            if Some(codes.len()) != n.checked_mul(book.subspaces())
                || !norms.is_empty()
                || !vectors.is_empty()
            {
                return Err(corrupt(path, "PQ code section sizes"));
            }
            Rows::Pq {
                book,
                codes: collect_huge(codes.iter().copied()),
            }
        }
    };
    Ok((config, rows))
}
