//! The write path: validate, log, apply.

use std::borrow::Cow;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde_json::Value;

use super::backlog::Linking;
use super::ops::{self, Op};
use super::{
    CHECKPOINT_AT_FLUSH_BYTES, CHECKPOINT_AT_WRITE_BYTES, Collection, VectorCollection, Writer,
};
use crate::error::{Error, Result};
use crate::point::{IntoPoints, Point};
use crate::request::{Deadline, WriteOptions};
use nearstore_filter::{FieldIndexKind, Filter};

/// Points validated between two looks at a write's deadline.
const WRITE_DEADLINE_STRIDE: usize = 1024;

/// Which components an operation is applied to: all of them for a live write; during
/// recovery only those whose checkpoint predates the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Targets {
    pub payloads: bool,
    pub fields: bool,
    pub index: bool,
    pub text: bool,
    pub sparse: bool,
    pub spaces: bool,
    /// The graph: edge writes, node deletes' edges, node property indexes.
    pub graph: bool,
}

impl Targets {
    pub const ALL: Targets = Targets {
        payloads: true,
        fields: true,
        index: true,
        text: true,
        sparse: true,
        spaces: true,
        graph: true,
    };
}

/// Moves point `id`'s entries in the payload indexes and the text index from its `old`
/// payload (as `indexed_payloads` read it) to `new` (`None`: no payload), for the targets
/// being applied. The one rule for "a point's payload changed" in derived state.
fn reindex_payload(
    st: &mut super::State,
    id: u64,
    old: Option<&Option<Arc<Value>>>,
    new: Option<&Value>,
    targets: Targets,
) {
    if let Some(Some(old)) = old {
        if targets.fields {
            st.fields.remove(id, old);
        }
        if targets.graph
            && let Some(graph) = st.graph.as_mut()
        {
            graph.unindex_node(id, old);
        }
    }
    if targets.fields
        && let Some(new) = new
    {
        st.fields.insert(id, new);
    }
    if targets.graph
        && let Some(graph) = st.graph.as_mut()
        && let Some(new) = new
        && graph.has_node_indexes()
    {
        graph.index_node(id, new);
    }
    if targets.text
        && let Some(text) = st.text.as_mut()
    {
        match new {
            Some(payload) => text.index_document(id, payload),
            None => {
                text.delete_document(id);
            }
        }
    }
}

impl Collection {
    /// Checks a vector's dimension and that it is finite (`id` 0 for queries).
    pub(crate) fn check_vector(&self, id: u64, vector: &[f32]) -> Result<()> {
        if vector.len() != self.config.dim {
            return Err(Error::DimensionMismatch {
                collection: self.name.clone(),
                expected: self.config.dim,
                actual: vector.len(),
            });
        }
        if let Some(index) = nearstore_index::first_non_finite(vector) {
            return Err(Error::NonFiniteVector { id, index });
        }
        Ok(())
    }

    /// Checks a point's default vector: none (an empty `vector`) is always accepted; one is
    /// refused by a collection without a default vector, else checked like a query.
    pub(super) fn check_point_vector(&self, p: &Point) -> Result<()> {
        if p.vector.is_empty() {
            return Ok(());
        }
        self.check_default_space()?;
        self.check_vector(p.id, &p.vector)
    }

    /// The error for the default vector of a collection created without one (a metadata
    /// collection and a graph without embeddings say so).
    pub(super) fn check_default_space(&self) -> Result<()> {
        if self.config.default_vector {
            return Ok(());
        }
        let collection = self.name.clone();
        Err(match self.config.kind {
            crate::config::CollectionKind::Metadata => Error::MetadataCollection { collection },
            crate::config::CollectionKind::Graph => Error::NoEmbedding { collection },
            _ => Error::NoDefaultVector { collection },
        })
    }

    pub(super) fn check_writable(&self, w: &Writer) -> Result<()> {
        self.check_open()?;
        match &w.poisoned {
            Some(reason) => Err(Error::Poisoned {
                collection: self.name.clone(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Logs `op` and applies it, the writer held (a write that reads the current state and
    /// logs in one write section); a failure after the log append leaves memory behind the
    /// log, so the collection then refuses writes until reopened (which replays the log).
    ///
    /// A deadline is checked once more with the writer lock held, just before the append:
    /// past it, nothing is logged and the write fails with [`Error::WriteCancelled`].
    pub(super) fn commit_locked(
        &self,
        w: &mut Writer,
        bytes: &[u8],
        deadline: Option<&Deadline>,
        points: usize,
        op: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        self.check_writable(w)?;
        self.check_write_deadline(deadline, points)?;
        w.ops.append(bytes)?;
        if let Err(e) = op() {
            w.poisoned = Some(e.to_string());
            return Err(e);
        }
        if w.ops.len_bytes() > CHECKPOINT_AT_WRITE_BYTES {
            self.checkpoint_locked(w)?;
        }
        Ok(())
    }

    pub(super) fn check_write_deadline(
        &self,
        deadline: Option<&Deadline>,
        points: usize,
    ) -> Result<()> {
        match deadline {
            Some(d) if d.is_expired() => Err(Error::WriteCancelled {
                collection: self.name.clone(),
                points,
            }),
            _ => Ok(()),
        }
    }

    /// An upsert linking the index inline.
    pub(crate) fn upsert<'a>(
        &self,
        points: impl IntoPoints<'a>,
        options: &WriteOptions,
    ) -> Result<()> {
        self.upsert_linking(points.into_points(), options, Linking::Inline)
    }

    /// An upsert whose new default vectors are linked as `linking` says (`backlog.rs`).
    pub(crate) fn upsert_linking(
        &self,
        points: Cow<'_, [Point]>,
        options: &WriteOptions,
        linking: Linking,
    ) -> Result<()> {
        self.check_open()?;
        if points.is_empty() {
            return Ok(());
        }
        let deadline = options.deadline.as_ref();
        let (bytes, now) = self.encode_checked_upsert(&points, deadline)?;
        let mut w = self.lock_writer()?;
        self.upsert_encoded_locked(&mut w, points, &bytes, (now, linking), deadline)?;
        drop(w);
        // New ids put into the backlog: link them in the background.
        self.start_linking();
        Ok(())
    }

    /// Logs and applies an upsert encoded by [`Collection::encode_checked_upsert`], the
    /// writer held (the checks that read state run here, under it).
    pub(super) fn upsert_encoded_locked(
        &self,
        w: &mut Writer,
        points: Cow<'_, [Point]>,
        bytes: &[u8],
        (now, linking): (u64, Linking),
        deadline: Option<&Deadline>,
    ) -> Result<()> {
        // A graph with a schema refuses a relabel that an existing edge would break.
        if self.config.graph_schema.is_some() {
            let changed: Vec<(u64, Option<&Value>)> =
                points.iter().map(|p| (p.id, p.payload.as_ref())).collect();
            self.check_relabels(&changed, None)?;
        }
        // A graph node that expired is gone for every read, but its edges stay until the
        // purge: an upsert of its id creates a new node, so the old one is deleted first
        // (logged, with its edges), never revived with them.
        let expired = self.expired_graph_nodes(&points);
        if expired.is_empty() {
            let n = points.len();
            return self.commit_locked(w, bytes, deadline, n, || {
                self.apply_upsert_linking(points, Targets::ALL, now, linking)
            });
        }
        // The deadline is checked once, before the delete: past it nothing is written, and
        // once the delete is logged the upsert goes in too.
        self.check_write_deadline(deadline, points.len())?;
        self.delete_locked(w, &expired, None)?;
        let n = points.len();
        self.commit_locked(w, bytes, None, n, || {
            self.apply_upsert_linking(points, Targets::ALL, now, linking)
        })
    }

    /// The ids among `points` of a graph collection that name a live node hidden now
    /// because it expired (none in other collections or when no point has an expiry).
    pub(super) fn expired_graph_nodes(&self, points: &[Point]) -> Vec<u64> {
        if self.config.kind != crate::CollectionKind::Graph {
            return Vec::new();
        }
        let st = self.state.read();
        let Some(hidden) = self.hidden(&st) else {
            return Vec::new();
        };
        let mut ids: Vec<u64> = points
            .iter()
            .map(|p| p.id)
            .filter(|&id| hidden.contains(id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Validates `points` (dimension, finite values, sparse and named vectors, payload size;
    /// `deadline` every 1,024 points) and encodes their upsert operation; returns it with the
    /// `now` its TTLs were resolved against (read only when some point expires).
    pub(super) fn encode_checked_upsert(
        &self,
        points: &[Point],
        deadline: Option<&Deadline>,
    ) -> Result<(Vec<u8>, u64)> {
        // TTLs become instants now, against the collection's wall clock (logged as such);
        // the clock is read only when some point expires.
        let now = match points.iter().any(|p| p.expiry.is_some()) {
            true => self.now_millis(),
            false => 0,
        };
        let limit = self.config.max_payload_bytes;
        let mut payloads = Vec::with_capacity(points.len());
        for (i, p) in points.iter().enumerate() {
            if i.is_multiple_of(WRITE_DEADLINE_STRIDE) {
                self.check_write_deadline(deadline, points.len())?;
            }
            self.check_point_vector(p)?;
            self.check_node_payload(p.id, p.payload.as_ref())?;
            self.check_sparse_names(p)?;
            self.check_named_vectors(p)?;
            let json = match &p.payload {
                Some(v) => {
                    let bytes = serde_json::to_vec(v).map_err(|e| {
                        Error::InvalidArgument(format!("payload of point {}: {e}", p.id))
                    })?;
                    if bytes.len() > limit {
                        return Err(Error::PayloadTooLarge {
                            id: p.id,
                            bytes: bytes.len(),
                            limit,
                        });
                    }
                    Some(bytes)
                }
                None => None,
            };
            payloads.push(json);
        }
        Ok((
            ops::encode_upsert(points, &payloads, self.config.dim, now),
            now,
        ))
    }

    pub(crate) fn delete(&self, ids: &[u64], options: &WriteOptions) -> Result<usize> {
        self.check_open()?;
        let deadline = options.deadline.as_ref();
        self.check_write_deadline(deadline, ids.len())?;
        let mut w = self.lock_writer()?;
        self.delete_locked(&mut w, ids, deadline)
    }

    /// Deletes the live points among `ids`; past `deadline` (checked once more just before
    /// the log append) nothing is written.
    pub(super) fn delete_locked(
        &self,
        w: &mut Writer,
        ids: &[u64],
        deadline: Option<&Deadline>,
    ) -> Result<usize> {
        let mut present: Vec<u64> = {
            let st = self.state.read();
            ids.iter()
                .copied()
                .filter(|id| st.live.contains(*id))
                .collect()
        };
        present.sort_unstable();
        present.dedup();
        if present.is_empty() {
            return Ok(0);
        }
        self.check_writable(w)?;
        self.check_write_deadline(deadline, present.len())?;
        w.ops.append(&ops::encode_delete(&present))?;
        if let Err(e) = self.apply_delete(&present, Targets::ALL) {
            w.poisoned = Some(e.to_string());
            return Err(e);
        }
        Ok(present.len())
    }

    pub(crate) fn delete_by_filter(
        &self,
        filter: &Filter,
        options: &WriteOptions,
    ) -> Result<usize> {
        self.check_open()?;
        let deadline = options.deadline.as_ref();
        self.check_write_deadline(deadline, 0)?;
        let mut w = self.lock_writer()?;
        let ids: Vec<u64> = match self.resolve_filter(filter, deadline) {
            Ok(ids) => ids.iter().collect(),
            // Stopped while selecting: nothing written.
            Err(e) if e.kind() == crate::ErrorKind::Cancelled => {
                return Err(Error::WriteCancelled {
                    collection: self.name.clone(),
                    points: 0,
                });
            }
            Err(e) => return Err(e),
        };
        self.delete_locked(&mut w, &ids, deadline)
    }

    /// Applies a decoded operation (recovery).
    pub(super) fn apply(&self, op: Op, targets: Targets) -> Result<()> {
        match op {
            // A logged upsert carries instants only: no TTL is left to count from a `now`.
            Op::Upsert(points) => self.apply_upsert(points, targets, 0),
            Op::Delete(ids) => self.apply_delete(&ids, targets),
            Op::Payloads(changes) => {
                let changes: Vec<(u64, Option<Arc<Value>>)> = changes
                    .into_iter()
                    .map(|(id, p)| (id, p.map(Arc::new)))
                    .collect();
                self.apply_payloads(&changes, targets)
            }
            Op::Vectors(edits) => self.apply_vector_edits(&edits, targets),
            Op::Expiry(changes) => {
                self.apply_expiry(&changes);
                Ok(())
            }
            // Replay applies edge writes with their sequence number (`checkpoint.rs`).
            Op::Graph(_) => Err(Error::Internal(
                "a graph operation must be applied with its sequence number".into(),
            )),
        }
    }

    /// The payload a point has now (overlay first, then the payload store).
    pub(crate) fn current_payload(&self, id: u64) -> Result<Option<Arc<Value>>> {
        if let Some(p) = self.state.read().overlay.get(&id) {
            return Ok(p.clone());
        }
        Ok(self.payloads.retrieve(id)?.map(Arc::new))
    }

    /// The payloads the payload indexes hold for `ids` (only read when there are indexes).
    fn indexed_payloads(
        &self,
        ids: impl Iterator<Item = u64>,
        targets: Targets,
    ) -> Result<Vec<Option<Arc<Value>>>> {
        let needed = {
            let st = self.state.read();
            (targets.fields && !st.fields.is_empty())
                || (targets.graph && st.graph.as_ref().is_some_and(|g| g.has_node_indexes()))
        };
        if !needed {
            return Ok(Vec::new());
        }
        ids.map(|id| self.current_payload(id)).collect()
    }

    /// Applies an upsert, linking its default vectors inline; a TTL among the points'
    /// expiry times counts from `now` (epoch milliseconds).
    pub(super) fn apply_upsert(
        &self,
        points: Vec<Point>,
        targets: Targets,
        now: u64,
    ) -> Result<()> {
        self.apply_upsert_linking(Cow::Owned(points), targets, now, Linking::Inline)
    }

    /// Replays logged upserts (recovery): new ids of the default vector are deferred like
    /// a bulk load's (the backlog is derived after the replay).
    pub(super) fn replay_upsert(&self, points: Vec<Point>, targets: Targets) -> Result<()> {
        // A logged upsert carries instants only: no TTL is left to count from a `now`.
        self.apply_upsert_linking(Cow::Owned(points), targets, 0, Linking::Deferred)
    }

    /// [`Collection::apply_upsert`] with `linking`: deferred, the default vectors of ids the
    /// index does not hold go into the backlog (`backlog.rs`) and those it holds are
    /// replaced inline; inline, all are linked and leave the backlog.
    fn apply_upsert_linking(
        &self,
        mut points: Cow<'_, [Point]>,
        targets: Targets,
        now: u64,
        linking: Linking,
    ) -> Result<()> {
        // A later duplicate in the batch wins.
        let mut last: FxHashMap<u64, usize> = FxHashMap::default();
        for (i, p) in points.iter().enumerate() {
            last.insert(p.id, i);
        }
        let kept: Vec<usize> = (0..points.len())
            .filter(|&i| last.get(&points[i].id) == Some(&i))
            .collect();
        // Each kept point's payload, moved out of owned points, copied from borrowed ones
        // (a borrowed batch is a live write, whose overlay takes them all).
        let payloads: Vec<Option<Arc<Value>>> = match &mut points {
            Cow::Owned(owned) => kept
                .iter()
                .map(|&i| owned[i].payload.take().map(Arc::new))
                .collect(),
            Cow::Borrowed(borrowed) => kept
                .iter()
                .map(|&i| borrowed[i].payload.clone().map(Arc::new))
                .collect(),
        };
        let unique: Vec<&Point> = kept.iter().map(|&i| &points[i]).collect();
        self.settle_linking_of(unique.iter().map(|p| p.id));
        let old = self.indexed_payloads(unique.iter().map(|p| p.id), targets)?;
        {
            let mut st = self.state.write();
            for (i, (p, payload)) in unique.iter().zip(payloads).enumerate() {
                reindex_payload(&mut st, p.id, old.get(i), payload.as_deref(), targets);
                if targets.payloads {
                    st.overlay.insert(p.id, payload);
                }
                if targets.sparse {
                    self.replace_sparse(&mut st, p)?;
                }
                // An upsert replaces the point's expiry time too (idempotent on replay).
                st.expiry.set(p.id, p.expiry.and_then(|e| e.instant(now)));
                st.live.insert(p.id);
            }
        }
        // A point without the default vector leaves the default store and index (an
        // upsert replaces the whole point).
        let bare: Vec<u64> = unique
            .iter()
            .filter(|p| p.vector.is_empty())
            .map(|p| p.id)
            .collect();
        if !bare.is_empty() {
            if targets.index {
                self.index.delete_ids(&bare);
            }
            self.unpend(bare.iter().copied());
            self.vectors.delete_batch(&bare)?;
        }
        let items: Vec<(u64, &[f32])> = unique
            .iter()
            .filter(|p| !p.vector.is_empty())
            .map(|p| (p.id, p.vector.as_slice()))
            .collect();
        self.vectors.store_batch(&items)?;
        if targets.index {
            if self.defers(linking) {
                // Stored first, then pending: a search sees the point once this returns.
                // One look at the index for the batch (its locks held once).
                let mut held = self.index.contains_each(items.iter().map(|(id, _)| *id));
                let (linked, deferred): (Vec<_>, Vec<_>) = items
                    .iter()
                    .copied()
                    .partition(|_| held.next() == Some(true));
                self.index.insert_batch(&linked)?;
                if !deferred.is_empty() {
                    let mut st = self.state.write();
                    st.pending.extend(deferred.iter().map(|(id, _)| *id));
                    self.backlog.added();
                }
            } else {
                // Linked first, then out of the backlog: a search always finds it in one.
                self.index.insert_batch(&items)?;
                self.unpend(items.iter().map(|(id, _)| *id));
            }
        }
        self.apply_spaces_upsert(&unique, targets)
    }

    /// Takes `ids` out of the backlog (linked inline, or their vector gone).
    pub(super) fn unpend(&self, ids: impl IntoIterator<Item = u64>) {
        let mut ids = ids.into_iter().peekable();
        if ids.peek().is_none() {
            return;
        }
        let mut st = self.state.write();
        if st.pending.is_empty() {
            return;
        }
        for id in ids {
            st.pending.remove(id);
        }
    }

    /// Replaces point `p`'s sparse vectors: each name it carries is upserted (a name seen
    /// for the first time gets its index), every other name loses the point.
    pub(super) fn replace_sparse(&self, st: &mut super::State, p: &Point) -> Result<()> {
        for (name, index) in st.sparse.iter_mut() {
            match p.sparse.get(name) {
                Some(v) => index.upsert(p.id, v),
                None => {
                    index.delete(p.id);
                }
            }
        }
        for (name, v) in &p.sparse {
            if !st.sparse.contains_key(name) {
                let mut index = nearstore_text::SparseIndex::new(self.sparse_config(name)?);
                index.upsert(p.id, v);
                st.sparse.insert(name.clone(), index);
            }
        }
        Ok(())
    }

    /// Replaces the payloads of existing points (a partial payload write's result): the
    /// overlay, the payload indexes and the text index change in one write section; the
    /// vector, the HNSW index and the live set are untouched.
    pub(super) fn apply_payloads(
        &self,
        changes: &[(u64, Option<Arc<Value>>)],
        targets: Targets,
    ) -> Result<()> {
        let old = self.indexed_payloads(changes.iter().map(|(id, _)| *id), targets)?;
        let mut st = self.state.write();
        for (i, (id, new)) in changes.iter().enumerate() {
            reindex_payload(&mut st, *id, old.get(i), new.as_deref(), targets);
            if targets.payloads {
                st.overlay.insert(*id, new.clone());
            }
        }
        Ok(())
    }

    fn apply_delete(&self, ids: &[u64], targets: Targets) -> Result<()> {
        self.settle_linking_of(ids.iter().copied());
        let old = self.indexed_payloads(ids.iter().copied(), targets)?;
        if targets.index {
            self.index.delete_ids(ids);
        }
        {
            let mut st = self.state.write();
            for (i, &id) in ids.iter().enumerate() {
                if let Some(Some(old)) = old.get(i) {
                    if targets.fields {
                        st.fields.remove(id, old);
                    }
                    if targets.graph
                        && let Some(graph) = st.graph.as_mut()
                    {
                        graph.unindex_node(id, old);
                    }
                }
                // A deleted node takes its edges along, in the same apply as the point.
                if targets.graph
                    && let Some(graph) = st.graph.as_mut()
                {
                    graph.remove_node(id);
                }
                if targets.text
                    && let Some(text) = st.text.as_mut()
                {
                    text.delete_document(id);
                }
                if targets.sparse {
                    for index in st.sparse.values_mut() {
                        index.delete(id);
                    }
                }
                if targets.payloads {
                    st.overlay.insert(id, None);
                }
                st.expiry.set(id, None);
                st.live.remove(id);
                st.pending.remove(id);
            }
        }
        self.vectors.delete_batch(ids)?;
        self.apply_spaces_delete(ids, targets)
    }

    pub(crate) fn flush(&self) -> Result<()> {
        self.check_open()?;
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        self.purge_expired_locked(&mut w)?;
        w.ops.sync()?;
        // While the background indexing runs (a bulk load), its thread checkpoints before
        // its next batch instead: this flush would otherwise also wait for the batch being
        // linked.
        if w.ops.len_bytes() > CHECKPOINT_AT_FLUSH_BYTES && !self.defer_checkpoint() {
            self.checkpoint_locked(&mut w)?;
        }
        Ok(())
    }

    pub(crate) fn checkpoint(&self) -> Result<()> {
        self.check_open()?;
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        self.purge_expired_locked(&mut w)?;
        self.checkpoint_locked(&mut w)
    }

    pub(crate) fn create_field_index(&self, field: &str, kind: FieldIndexKind) -> Result<()> {
        self.check_open()?;
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        let ids: Vec<u64> = self.state.read().live.iter().collect();
        let mut payloads = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(p) = self.current_payload(id)? {
                payloads.push((id, p));
            }
        }
        self.state.write().fields.create_field(
            field,
            kind,
            payloads.iter().map(|(id, p)| (*id, p.as_ref())),
        )?;
        drop(payloads);
        self.checkpoint_forced(&mut w)
    }

    pub(crate) fn drop_field_index(&self, field: &str) -> Result<bool> {
        self.check_open()?;
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        let existed = self.state.write().fields.drop_field(field);
        if existed {
            self.checkpoint_forced(&mut w)?;
        }
        Ok(existed)
    }
}

impl VectorCollection {
    /// Adds or replaces points (one atomic write: after a crash all of them or none are
    /// there). A later duplicate id in the batch wins.
    pub fn upsert(&self, points: Vec<Point>) -> Result<()> {
        self.inner.upsert(points, &WriteOptions::default())
    }

    /// [`VectorCollection::upsert`] for large loads, from a slice (`&points`: the payloads
    /// are copied) or a vector (`points`: they are moved into the collection, no copy): one
    /// logged operation (all or nothing after a crash), and when it returns every point is stored,
    /// as durable as any write (see [`VectorCollection::flush`]), and visible to every
    /// search, exactly.
    ///
    /// The HNSW index takes the new points in the background: ids the index does not hold
    /// yet wait in a backlog that one thread per collection links in batches (ids it holds
    /// are replaced in the index before this returns). Until a point is linked, every
    /// search on the default vector scores it exactly from the vector store and merges it
    /// with the index's hits, under the same filter and expiry rules, so results never miss
    /// it; such searches cost a scan of the backlog. [`VectorCollection::wait_indexed`]
    /// waits for the backlog to empty, [`VectorCollection::pending_index_count`] tells its
    /// size. The backlog is not persisted: a reopen finds the stored points the index
    /// checkpoint does not hold and resumes linking them. `flush` does not wait for it.
    ///
    /// Quantized storage modes (`sq8`, `binary`, `pq`, `rabitq`) and named vectors are
    /// still linked before this returns.
    pub fn upsert_bulk<'a>(&self, points: impl IntoPoints<'a>) -> Result<()> {
        self.inner.upsert_linking(
            points.into_points(),
            &WriteOptions::default(),
            Linking::Deferred,
        )
    }

    /// [`VectorCollection::upsert`] with options, from a slice (copied) or a vector (moved,
    /// as [`VectorCollection::upsert_bulk`] takes them): with a deadline, the write is all
    /// or nothing (see [`WriteOptions`]): `Err(` [`Error::WriteCancelled`]`)` means nothing
    /// was written, `Ok` that all of it was. The index is linked before it returns (the
    /// server's upsert routes use it; only [`VectorCollection::upsert_bulk`] defers the
    /// linking).
    pub fn upsert_with<'a>(
        &self,
        points: impl IntoPoints<'a>,
        options: &WriteOptions,
    ) -> Result<()> {
        self.inner.upsert(points, options)
    }

    /// Deletes points by id; returns how many existed.
    pub fn delete(&self, ids: &[u64]) -> Result<usize> {
        self.inner.delete(ids, &WriteOptions::default())
    }

    /// [`VectorCollection::delete`] with options: with a deadline it is all or nothing
    /// (checked before and once more just before the log append): `Err(`
    /// [`Error::WriteCancelled`]`)` means nothing was deleted, `Ok` that all of it was.
    pub fn delete_with(&self, ids: &[u64], options: &WriteOptions) -> Result<usize> {
        self.inner.delete(ids, options)
    }

    /// Deletes every point whose payload matches `filter`; returns how many.
    pub fn delete_by_filter(&self, filter: &Filter) -> Result<usize> {
        self.inner
            .delete_by_filter(filter, &WriteOptions::default())
    }

    /// [`VectorCollection::delete_by_filter`] with options: the deadline is also checked
    /// while the filter is resolved; past it, [`Error::WriteCancelled`] and nothing deleted.
    pub fn delete_by_filter_with(&self, filter: &Filter, options: &WriteOptions) -> Result<usize> {
        self.inner.delete_by_filter(filter, options)
    }

    /// The durability barrier: once it returns, every earlier write survives power loss
    /// (in `Bulk` mode too). Also checkpoints when the operation log has grown large (while
    /// the background indexing runs, its thread does, before its next batch).
    pub fn flush(&self) -> Result<()> {
        self.inner.flush()
    }

    /// Writes a checkpoint of every component and empties the operation log, so the next
    /// open replays nothing. Closing the last handle does this too.
    pub fn checkpoint(&self) -> Result<()> {
        self.inner.checkpoint()
    }

    /// Creates a payload index on `field` (a dotted path) over the existing payloads; kept
    /// up to date on every write and persisted. Filters on indexed fields resolve to id sets
    /// without reading payloads. Creating an index that exists with the same kind is a no-op.
    pub fn create_field_index(&self, field: &str, kind: FieldIndexKind) -> Result<()> {
        self.inner.create_field_index(field, kind)
    }

    /// Drops the payload index on `field`; returns whether there was one.
    pub fn drop_field_index(&self, field: &str) -> Result<bool> {
        self.inner.drop_field_index(field)
    }

    /// The payload indexes, as (field, kind).
    pub fn field_indexes(&self) -> Vec<(String, FieldIndexKind)> {
        self.inner.state.read().fields.fields()
    }
}
