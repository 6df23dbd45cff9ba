//! Training a quantized index: a codebook from a sample, then every slot's code, swapped in
//! under the graph's write lock (searches wait; links are untouched).
//!
//! Before training, a quantized index keeps `f32` rows and the sample comes from them
//! (plus the batch being inserted, when an insert triggers training); afterwards (a
//! retraining on demand) vectors come from the index's vector source. Either way the
//! index ends with codes only: the `f32` rows are dropped.

use super::HnswIndex;
use super::graph::Graph;
use super::rows::Rows;
use crate::VectorIndex;
use crate::error::{Error, Result};
use crate::quant::{StorageMode, TRAIN_SAMPLE};

/// Up to `TRAIN_SAMPLE` evenly spaced positions out of `n`.
fn sample_positions(n: usize) -> impl Iterator<Item = usize> {
    let step = n.div_ceil(TRAIN_SAMPLE).max(1);
    (0..n).step_by(step)
}

impl HnswIndex {
    /// Trains (or retrains) the quantizer now on the points the index holds; returns
    /// whether it trained (`false` for a `full` index or an empty one).
    pub fn train_quantizer(&self) -> Result<bool> {
        if self.quant.mode == StorageMode::Full {
            return Ok(false);
        }
        let mut g = self.graph.write();
        if g.len() == 0 {
            return Ok(false);
        }
        self.train_locked(&mut g, &[])?;
        Ok(true)
    }

    /// Whether an insert of `incoming` points makes an untrained quantized index reach its
    /// training threshold.
    pub(super) fn training_due(&self, incoming: usize) -> bool {
        self.quant.mode != StorageMode::Full
            && self.quant.train_at > 0
            && self.len() + incoming >= self.quant.train_at
            && self.graph.read().rows().mode() == StorageMode::Full
    }

    /// Trains (unless another writer just did); `batch` are sampled (prepared) vectors of
    /// the insert that reached the threshold, added to the sample.
    pub(super) fn train_if_due(&self, batch: &[Vec<f32>]) -> Result<()> {
        let mut g = self.graph.write();
        if g.rows().mode() != StorageMode::Full {
            return Ok(());
        }
        let refs: Vec<&[f32]> = batch.iter().map(Vec::as_slice).collect();
        self.train_locked(&mut g, &refs)
    }

    fn train_locked(&self, g: &mut Graph, batch: &[&[f32]]) -> Result<()> {
        let n = g.len();
        let live_slots: Vec<u32> = (0..n as u32).filter(|&s| !g.is_deleted(s)).collect();
        // The prepared vector of a slot, from the f32 rows or else from the source.
        let from_source = g.rows().mode() != StorageMode::Full;
        let source = self.source.clone();
        if from_source && source.is_none() {
            return Err(Error::InvalidArgument(
                "retraining a quantized index needs its vector source".into(),
            ));
        }
        let read = |g: &Graph, slot: u32, f: &mut dyn FnMut(&[f32])| {
            if let Some(v) = g.f32_row(slot) {
                f(v);
            } else if let Some(src) = &source {
                src.with_vector(g.external(slot), &mut |v| f(&self.space.prepare(v)));
            }
        };
        let total = live_slots.len() + batch.len();
        let mut owned: Vec<Vec<f32>> = Vec::new();
        let mut picked: Vec<usize> = Vec::new();
        for p in sample_positions(total) {
            if p < live_slots.len() {
                read(g, live_slots[p], &mut |v| owned.push(v.to_vec()));
            } else {
                picked.push(p - live_slots.len());
            }
        }
        let mut sample: Vec<&[f32]> = owned.iter().map(Vec::as_slice).collect();
        sample.extend(picked.iter().map(|&i| batch[i]));
        if sample.is_empty() {
            return Ok(());
        }
        let rows = Rows::build(
            &self.quant,
            &self.space,
            self.params.seed,
            self.dim,
            &sample,
            n,
            |slot, f| {
                read(g, slot as u32, f);
            },
        );
        g.set_rows(rows);
        Ok(())
    }
}
