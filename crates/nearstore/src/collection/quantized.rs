//! Quantized storage of the default vector space: the HNSW index walks its graph on
//! compact codes (`sq8`, `binary`, `pq`, `rabitq`) and reads exact `f32` vectors, to
//! rescore candidates, scan exactly and train, from the collection's vector store mapping
//! through [`StoreSource`]: there is no second `f32` copy once the quantizer is trained.
//!
//! Training happens on the write that makes the space reach `train_at` points
//! ([`crate::DEFAULT_TRAIN_AT`] unless configured) or on demand
//! ([`crate::VectorCollection::train_quantizer`], `TRAIN QUANTIZER ON c`); until then the
//! index keeps `f32` rows and searches exactly like `full`. Points written after training
//! get their codes as they are written. On-demand training runs under the writer lock and
//! is made durable by a checkpoint right after it (the index checkpoint, written
//! atomically, holds the codebook and every code): a crash before that checkpoint reopens
//! untrained (the last checkpoint plus the log replay, which trains again only if it
//! reaches `train_at`), one after it reopens trained; never half.
//!
//! Invariant (the index's contract): every point the index holds is readable from the
//! store. Writes store vectors first and index them last; deletes remove from the index
//! before the store.

use std::path::Path;
use std::sync::Arc;

use super::{Collection, HNSW_FILE, VectorCollection};
use crate::config::CollectionConfig;
use crate::error::{Error, Result};
use nearstore_index::{HnswIndex, MemorySource, VectorSource, vector_through_batch};
use nearstore_storage::{SharedBackend, VectorStore};

/// The damage a quantized index's read of the store met (a vector slot failing its
/// checksum). The index can only leave such a vector out (never serving it), so the
/// collection reports it: a search (or on-demand training) that ran while it was recorded
/// fails with the storage error, naming the file and offset. Each read that meets the
/// damage records it again.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadDamage(Arc<DamageSlot>);

#[derive(Debug, Default)]
struct DamageSlot {
    /// Whether `error` holds something: every search reads this, and only a set flag
    /// takes the lock.
    recorded: std::sync::atomic::AtomicBool,
    error: parking_lot::Mutex<Option<nearstore_storage::Error>>,
}

impl ReadDamage {
    fn record(&self, e: nearstore_storage::Error) {
        let mut slot = self.0.error.lock();
        if slot.is_none() {
            *slot = Some(e);
            self.0
                .recorded
                .store(true, std::sync::atomic::Ordering::Release);
        }
    }

    /// The damage recorded since the last check, as the collection's error.
    pub(crate) fn check(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        if !self.0.recorded.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut slot = self.0.error.lock();
        self.0.recorded.store(false, Ordering::Release);
        match slot.take() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}

/// A [`VectorSource`] over a vector store: reads vectors in place from its mapping, a
/// batch under one lock.
#[derive(Debug)]
pub(crate) struct StoreSource {
    store: Arc<VectorStore>,
    damage: ReadDamage,
}

impl StoreSource {
    pub(crate) fn shared(store: Arc<VectorStore>, damage: ReadDamage) -> Arc<dyn VectorSource> {
        Arc::new(StoreSource { store, damage })
    }
}

impl VectorSource for StoreSource {
    fn with_vector(&self, id: u64, f: &mut dyn FnMut(&[f32])) -> bool {
        vector_through_batch(self, id, f)
    }

    fn with_vectors(&self, ids: &[u64], f: &mut dyn FnMut(usize, &[f32])) {
        // A damaged slot: the vectors before it were passed; the rest are treated as not
        // held (the index then leaves them out) and the damage is recorded for the
        // collection to report.
        if let Err(e) = self.store.with_vectors(ids, f) {
            self.damage.record(e);
        }
    }
}

/// A new, empty default index for `config`, reading exact vectors from `source` when
/// its storage mode is quantized.
pub(super) fn new_index(
    config: &CollectionConfig,
    source: Arc<dyn VectorSource>,
) -> Result<HnswIndex> {
    if !config.storage_mode.is_quantized() {
        return Ok(HnswIndex::new(config.dim, config.metric, config.hnsw)?);
    }
    Ok(HnswIndex::new_quantized(
        config.dim,
        config.metric,
        config.hnsw,
        config.quantization.index_config(config.storage_mode),
        source,
    )?)
}

/// Writes the empty default index of a new collection (quantized per its configuration;
/// no vector is read, so an empty source stands in for the store).
pub(super) fn create_index(
    backend: &SharedBackend,
    dir: &Path,
    config: &CollectionConfig,
) -> Result<()> {
    let source: Arc<dyn VectorSource> = MemorySource::new();
    let index = new_index(config, source)?;
    index.save(backend.as_ref(), &dir.join(HNSW_FILE), 0)?;
    Ok(())
}

/// Loads the default index checkpoint, reading exact vectors from `store`; checks it
/// against the configuration (dimension, metric, storage mode and quantizer settings).
pub(super) fn load_index(
    backend: &SharedBackend,
    dir: &Path,
    config: &CollectionConfig,
    store: &Arc<VectorStore>,
    damage: &ReadDamage,
) -> Result<(HnswIndex, u64)> {
    use nearstore_index::VectorIndex;
    let path = dir.join(HNSW_FILE);
    let (index, seq) = HnswIndex::load_with_source(
        backend.as_ref(),
        &path,
        Some(StoreSource::shared(store.clone(), damage.clone())),
    )?;
    if index.dimension() != config.dim || index.metric() != config.metric {
        return Err(Error::corruption(
            path.display(),
            "index dimension or metric differs from the manifest",
        ));
    }
    let expected = config.quantization.index_config(config.storage_mode);
    let found = index.quant_config();
    if found.mode != expected.mode || (config.storage_mode.is_quantized() && found != expected) {
        return Err(Error::corruption(
            path.display(),
            format!(
                "index storage mode {} differs from the manifest's {}",
                found.mode.name(),
                config.storage_mode.name()
            ),
        ));
    }
    Ok((index, seq))
}

impl Collection {
    /// Trains the default space's quantizer now on the points it holds, then checkpoints
    /// (which makes the training durable); returns whether it trained (`false` when the
    /// space is empty). Refused for a `full` collection.
    pub(crate) fn train_quantizer(&self) -> Result<bool> {
        self.check_open()?;
        if !self.config.storage_mode.is_quantized() {
            return Err(Error::InvalidArgument(format!(
                "collection {:?} has storage mode full: there is no quantizer to train",
                self.name
            )));
        }
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        let trained = self.index.train_quantizer()?;
        // A damaged vector was coded as missing: refuse to make that training durable.
        self.read_damage.check()?;
        if trained {
            self.checkpoint_forced(&mut w)?;
        }
        Ok(trained)
    }

    /// Whether the default space walks its graph on codes now (`false` for `full`, and
    /// for a quantized space not trained yet).
    pub(crate) fn quantizer_trained(&self) -> bool {
        self.index.active_storage() != nearstore_index::StorageMode::Full
    }
}

impl VectorCollection {
    /// Trains the quantizer of a quantized collection (`sq8`, `binary`, `pq`, `rabitq`)
    /// now, on the points it holds, and checkpoints so the training is durable; returns
    /// whether it trained (`false` when the collection holds no vector). Later points get
    /// codes as they are written; training again retrains on every point. Training also
    /// happens by itself at [`crate::QuantizationConfig::train_at`] points. A `full`
    /// collection refuses it.
    pub fn train_quantizer(&self) -> Result<bool> {
        self.inner.train_quantizer()
    }

    /// Whether searches walk the graph on quantized codes now: `false` for a `full`
    /// collection and for a quantized one not trained yet (which searches in `f32`).
    pub fn quantizer_trained(&self) -> bool {
        self.inner.quantizer_trained()
    }
}
