//! HNSW: a hierarchical navigable small-world graph.
//!
//! - `graph`: flat-array storage of vectors and neighbour lists (atomics, so links can be
//!   rewired while other threads search) and per-node locks for writers;
//! - `build`: insertion with heuristic neighbour selection (re-run when a full list takes a
//!   new link, never "evict the farthest"), parallel bulk build;
//! - `search`: layer search with a reusable generation-stamped visited set, filtered search
//!   through non-matching nodes with an exact-scan plan for small allow-lists;
//! - `delete`: tombstones with neighbour repair, and vacuum that unlinks and frees slots;
//! - `io`: checkpoint to a checksummed file through `nearstore-storage`, loaded without
//!   rebuilding.

mod arena;
mod build;
mod connect;
mod delete;
mod exact;
mod graph;
mod ids;
mod io;
mod list_entries;
mod lists;
mod locality;
mod pool;
mod rows;
mod scorer;
mod search;
mod topk;
mod train;
mod visited;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use self::ids::IdTable;
use parking_lot::{Mutex, RwLock};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[cfg(test)]
pub(crate) use list_entries::scan_pays;
pub use search::{SearchStats, last_search_stats};
pub(crate) use topk::TopK;

use self::graph::Graph;
use self::visited::VisitedPool;
use crate::error::{Error, Result, validate};
use crate::quant::{QuantConfig, SearchOptions, StorageMode, VectorSource};
use crate::space::Space;
use crate::{AllowList, DistanceMetric, SearchHit, VectorIndex};

/// Build and search parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswParams {
    /// Links per node on the upper layers (twice as many on layer 0).
    pub m: usize,
    /// Candidate list size while inserting.
    pub ef_construction: usize,
    /// Default candidate list size while searching (the `Balanced` preset).
    pub ef_search: usize,
    /// Seed of the level generator (builds are reproducible single-threaded).
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            ef_search: 64,
            seed: 0x5eed,
        }
    }
}

impl HnswParams {
    fn validate(&self) -> Result<()> {
        if !(2..=256).contains(&self.m) {
            return Err(Error::InvalidArgument(format!(
                "m must be 2..=256, got {}",
                self.m
            )));
        }
        if self.ef_construction == 0 || self.ef_search == 0 {
            return Err(Error::InvalidArgument("ef values must be positive".into()));
        }
        Ok(())
    }
}

/// How hard a search tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchQuality {
    /// ef = 32.
    Fast,
    /// ef = the index's `ef_search` (64 by default).
    #[default]
    Balanced,
    /// ef = 256.
    Accurate,
    /// Exact: scan every allowed vector.
    Perfect,
    /// Starts at `Balanced` and doubles ef (up to 1024) only while the best results are still
    /// changing at the end of the search, so easy queries stay cheap.
    Adaptive,
    /// This exact ef, honoured as given (at least k).
    Ef(usize),
}

/// Everything one search takes besides the query and `k` (per call; the one argument of
/// [`HnswIndex::query`]).
#[derive(Clone, Copy, Default)]
pub struct QueryOptions<'a> {
    /// How hard to search.
    pub quality: SearchQuality,
    /// Which points may be returned (all when `None`).
    pub allow: Option<&'a dyn AllowList>,
    /// Rescoring of a quantized index (ignored by a `full` one).
    pub rescore: SearchOptions,
    /// Asked now and then; the search gives up (`Ok(None)`) once it returns true (a
    /// request's deadline).
    pub stop: Option<&'a dyn Fn() -> bool>,
}

impl std::fmt::Debug for QueryOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryOptions")
            .field("quality", &self.quality)
            .field("allow", &self.allow.map(|a| a.count_hint()))
            .field("rescore", &self.rescore)
            .field("stop", &self.stop.is_some())
            .finish()
    }
}

/// An exact top-k of caller-supplied vectors ([`HnswIndex::exact_scorer`]).
#[derive(Debug)]
pub struct ExactScorer<'a> {
    space: &'a Space,
    query: Vec<f32>,
    top: TopK<u64>,
    /// The vector being offered as the index would store it (cosine).
    prepared: Vec<f32>,
}

impl ExactScorer<'_> {
    /// Scores point `id`'s vector `v` (as written) and keeps it if among the best `k`.
    ///
    /// A kept point scores the same bits as the index gives the same vector, so a point
    /// ranks and ties alike before and after it is linked. For cosine that takes
    /// normalizing the vector first (the index stores it normalized); the one-pass raw
    /// distance (norm divided out) screens, and only a vector within a hair of the k-th
    /// is normalized and scored again.
    pub fn offer(&mut self, id: u64, v: &[f32]) {
        let raw = self.space.distance_raw(&self.query, v);
        if !self.space.normalizes() {
            self.top.offer(raw, id);
            return;
        }
        if self.top.is_full()
            && let Some(worst) = self.top.worst()
            // The two computations differ by rounding only (far below this margin).
            && raw > worst + 1e-4 * worst.abs().max(1.0)
        {
            return;
        }
        self.space.prepare_into(v, &mut self.prepared);
        self.top
            .offer(self.space.distance(&self.query, &self.prepared), id);
    }

    /// The kept points, best first.
    pub fn into_hits(self) -> Vec<SearchHit> {
        let space = self.space;
        self.top
            .into_sorted()
            .into_iter()
            .map(|(d, id)| SearchHit {
                id,
                score: space.score(d),
            })
            .collect()
    }
}

/// A hierarchical navigable small-world graph index.
#[derive(Debug)]
pub struct HnswIndex {
    params: HnswParams,
    dim: usize,
    space: Space,
    graph: RwLock<Graph>,
    /// External id -> slot of every live point (lock order: `graph` before `ids`).
    ids: RwLock<IdTable>,
    free: Mutex<Vec<u32>>,
    visited: VisitedPool,
    level_rng: Mutex<ChaCha8Rng>,
    live: AtomicUsize,
    quant: QuantConfig,
    source: Option<Arc<dyn VectorSource>>,
    /// Held (shared) by every insert, which keeps slot numbers across lock releases;
    /// renumbering the slots takes it exclusively.
    slot_gate: RwLock<()>,
}

impl HnswIndex {
    /// An empty index.
    pub fn new(dim: usize, metric: DistanceMetric, params: HnswParams) -> Result<Self> {
        params.validate()?;
        if dim == 0 {
            return Err(Error::InvalidArgument("dimension must be positive".into()));
        }
        Ok(HnswIndex {
            params,
            dim,
            space: Space::new(metric),
            graph: RwLock::new(Graph::new(dim, params.m)),
            ids: RwLock::new(IdTable::default()),
            free: Mutex::new(Vec::new()),
            visited: VisitedPool::default(),
            level_rng: Mutex::new(ChaCha8Rng::seed_from_u64(params.seed)),
            live: AtomicUsize::new(0),
            quant: QuantConfig::default(),
            source: None,
            slot_gate: RwLock::new(()),
        })
    }

    /// An empty index that stores its vectors as `quant.mode` codes once trained (at
    /// `quant.train_at` points, or on [`HnswIndex::train_quantizer`]), walks its graph on
    /// them and rescores candidates with exact vectors read from `source`. Until trained it
    /// works exactly like a `full` index. Quantization needs cosine, dot product or L2.
    ///
    /// The engine's use: `source` reads its storage mapping; every point the index is
    /// given must already be readable from `source` (write the store first, the index
    /// last), and a point must stay readable until the index has deleted it.
    pub fn new_quantized(
        dim: usize,
        metric: DistanceMetric,
        params: HnswParams,
        quant: QuantConfig,
        source: Arc<dyn VectorSource>,
    ) -> Result<Self> {
        quant.validate()?;
        let mut index = HnswIndex::new(dim, metric, params)?;
        if quant.mode != StorageMode::Full && !index.space.quantizable() {
            return Err(Error::InvalidArgument(format!(
                "storage mode {} needs cosine, dot or euclidean, not {metric} (use storage mode full)",
                quant.mode.name()
            )));
        }
        index.quant = quant;
        let graph = index.graph.get_mut();
        graph.set_exact_source(Some(source.clone()));
        graph.set_compact_links(quant.mode != StorageMode::Full);
        index.source = Some(source);
        Ok(index)
    }

    /// The quantization settings.
    pub fn quant_config(&self) -> QuantConfig {
        self.quant
    }

    /// The storage the graph is walked on now: `Full` until a quantized index is trained.
    pub fn active_storage(&self) -> StorageMode {
        self.graph.read().rows().mode()
    }

    /// The one search entry point: the `k` best points for `query` under `opts` (quality,
    /// allow-list, rescoring, stop hook; see [`QueryOptions`]). `Ok(None)` when the stop
    /// hook said to give up: it is asked before the search, between the passes of an
    /// adaptive graph search and every 1,024 points of an exact scan.
    ///
    /// [`VectorIndex::search`], [`HnswIndex::search_with`] and [`HnswIndex::search_until`]
    /// are shorthands for it.
    pub fn query(
        &self,
        query: &[f32],
        k: usize,
        opts: &QueryOptions<'_>,
    ) -> Result<Option<Vec<SearchHit>>> {
        validate(query, self.dim)?;
        if let Some(o) = opts.rescore.oversampling {
            crate::quant::check_oversampling(o)?;
        }
        let never = || false;
        Ok(self.search_prepared(
            &self.space.prepare(query),
            k,
            opts.quality,
            opts.allow,
            opts.rescore,
            opts.stop.unwrap_or(&never),
        ))
    }

    /// [`HnswIndex::query`] with rescoring controls and no stop hook.
    pub fn search_with(
        &self,
        query: &[f32],
        k: usize,
        quality: SearchQuality,
        allow: Option<&dyn AllowList>,
        opts: SearchOptions,
    ) -> Result<Vec<SearchHit>> {
        let opts = QueryOptions {
            quality,
            allow,
            rescore: opts,
            stop: None,
        };
        Ok(self.query(query, k, &opts)?.unwrap_or_default())
    }

    /// [`HnswIndex::query`] with a stop hook and default rescoring.
    pub fn search_until(
        &self,
        query: &[f32],
        k: usize,
        quality: SearchQuality,
        allow: Option<&dyn AllowList>,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<Vec<SearchHit>>> {
        let opts = QueryOptions {
            quality,
            allow,
            rescore: SearchOptions::default(),
            stop: Some(stop),
        };
        self.query(query, k, &opts)
    }

    /// Local centroids of a RaBitQ index's codebook (0 for other storage, or none).
    #[cfg(test)]
    pub(crate) fn rabitq_list_count(&self) -> usize {
        match self.graph.read().rows() {
            rows::Rows::Rabitq { book, .. } => book.list_count(),
            _ => 0,
        }
    }

    /// The external id of the node a search for `query` starts from on layer 0 when it
    /// starts inside the query's nearest RaBitQ list (`None`: it descends).
    #[cfg(test)]
    pub(crate) fn list_entry_id(&self, query: &[f32]) -> Option<u64> {
        let g = self.graph.read();
        let prepared = self.space.prepare(query);
        let slot = g.list_entry(&g.probe(&self.space, &prepared))?;
        Some(g.external(slot))
    }

    /// Whether a RaBitQ index's list entries are what a rebuild from its live blocks gives
    /// (true for other storage).
    #[cfg(test)]
    pub(crate) fn list_entries_match_a_rebuild(&self) -> bool {
        let g = self.graph.read();
        match g.rows() {
            rows::Rows::Rabitq {
                book,
                blocks,
                entries,
            } => *entries == list_entries::ListEntries::scan(book, blocks, |s| g.is_live(s)),
            _ => true,
        }
    }

    /// The parameters.
    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// Bytes held by vectors, links and id maps (not counting allocator slack).
    pub fn memory_bytes(&self) -> usize {
        self.graph.read().memory_bytes() + self.ids.read().memory_bytes()
    }

    /// Slots in the graph, live or deleted (not vacuumed).
    pub fn slots(&self) -> usize {
        self.graph.read().len()
    }

    /// Whether the index holds each of `ids` (a live point), in order, under one hold of
    /// its locks (for a batch write, which asks this of every point).
    pub fn contains_each(&self, ids: impl IntoIterator<Item = u64>) -> impl Iterator<Item = bool> {
        let g = self.graph.read();
        let map = self.ids.read();
        let held: Vec<bool> = ids
            .into_iter()
            .map(|id| map.contains(id, g.externals()))
            .collect();
        held.into_iter()
    }

    /// An exact top-`k` over vectors the caller supplies (as written, not normalized),
    /// scored with this index's metric exactly as its exact plan scores a vector source:
    /// for points the index does not hold (yet) but a search must not miss.
    pub fn exact_scorer(&self, query: &[f32], k: usize) -> Result<ExactScorer<'_>> {
        validate(query, self.dim)?;
        Ok(ExactScorer {
            space: &self.space,
            query: self.space.prepare(query),
            top: TopK::new(k),
            prepared: Vec::with_capacity(self.dim),
        })
    }

    fn ef_for(&self, quality: SearchQuality, k: usize) -> usize {
        let ef = match quality {
            SearchQuality::Fast => 32,
            SearchQuality::Balanced | SearchQuality::Adaptive => self.params.ef_search,
            SearchQuality::Accurate => 256,
            SearchQuality::Perfect => usize::MAX,
            SearchQuality::Ef(ef) => ef,
        };
        ef.max(k)
    }
}

impl VectorIndex for HnswIndex {
    fn dimension(&self) -> usize {
        self.dim
    }

    fn metric(&self) -> DistanceMetric {
        self.space.metric()
    }

    fn len(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    fn upsert(&self, id: u64, vector: &[f32]) -> Result<()> {
        validate(vector, self.dim)?;
        self.insert_batch(&[(id, vector)])
    }

    fn delete(&self, id: u64) -> Result<bool> {
        Ok(self.delete_ids(&[id]) == 1)
    }

    fn search(
        &self,
        query: &[f32],
        k: usize,
        quality: SearchQuality,
        allow: Option<&dyn AllowList>,
    ) -> Result<Vec<SearchHit>> {
        let opts = QueryOptions {
            quality,
            allow,
            ..QueryOptions::default()
        };
        Ok(self.query(query, k, &opts)?.unwrap_or_default())
    }
}

#[cfg(test)]
mod reachability_tests;
#[cfg(test)]
mod tests;
