//! One direction of the adjacency: per label, a compressed sparse row array (CSR) built at
//! the last merge, plus a small write delta of edges added since.
//!
//! Layout of one label's CSR over `rows` node rows: `offsets` has `rows + 1` entries,
//! non-decreasing, `offsets[0] == 0`, `offsets[rows] == nbrs.len() == slots.len()`; the
//! edges leaving (or, for the incoming direction, entering) row `u` are
//! `nbrs[offsets[u]..offsets[u + 1]]` (the other endpoint's row) with their edge slots at the
//! same positions, in slot order. Rows at or past `rows` have no CSR edges (nodes interned
//! after the merge). Removed CSR edges are not taken out here: the store marks their slot
//! dead and readers skip it until the next merge rebuilds the arrays.
//!
//! The delta maps a row to the edges added since the merge (label, other endpoint, slot), in
//! insertion order; removing a delta edge takes it out of the delta at once.
//!
//! This module knows rows and slots only, never external ids, JSON or labels' names.

use rustc_hash::FxHashMap;

/// One label's CSR in one direction.
///
/// Dense form (`rows` empty): `offsets` is indexed by node row. Sparse form, for a label with
/// fewer edges than half the node rows (so many labels do not cost `labels x nodes` offsets):
/// `rows` lists the node rows that have edges, strictly increasing, and `offsets` is indexed
/// by position in `rows` (found by binary search).
#[derive(Debug, Clone, Default)]
pub(crate) struct LabelCsr {
    rows: Vec<u32>,
    offsets: Vec<u32>,
    nbrs: Vec<u32>,
    slots: Vec<u32>,
}

impl LabelCsr {
    /// The other endpoints and slots of row `node`'s CSR edges.
    #[inline]
    pub(crate) fn row(&self, node: u32) -> (&[u32], &[u32]) {
        let u = if self.rows.is_empty() {
            node as usize
        } else {
            match self.rows.binary_search(&node) {
                Ok(i) => i,
                Err(_) => return (&[], &[]),
            }
        };
        match (self.offsets.get(u), self.offsets.get(u + 1)) {
            (Some(&start), Some(&end)) => {
                let range = start as usize..end as usize;
                match (self.nbrs.get(range.clone()), self.slots.get(range)) {
                    (Some(nbrs), Some(slots)) => (nbrs, slots),
                    _ => (&[], &[]),
                }
            }
            _ => (&[], &[]),
        }
    }

    /// Every slot in this CSR, row by row.
    pub(crate) fn slots(&self) -> &[u32] {
        &self.slots
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        4 * (self.rows.capacity()
            + self.offsets.capacity()
            + self.nbrs.capacity()
            + self.slots.capacity())
    }
}

/// An edge added since the last merge, as seen from one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeltaEdge {
    pub(crate) label: u32,
    pub(crate) nbr: u32,
    pub(crate) slot: u32,
}

/// One direction: per-label CSR arrays plus the delta.
#[derive(Debug, Clone, Default)]
pub(crate) struct Adjacency {
    pub(crate) labels: Vec<LabelCsr>,
    pub(crate) delta: FxHashMap<u32, Vec<DeltaEdge>>,
}

/// An edge as the CSR builder sees it: (label, from row, to row, slot), in slot order.
pub(crate) type BuildEdge = (u32, u32, u32, u32);

impl Adjacency {
    /// Rebuilds the CSR from `edges` (counting sort, stable in slot order) over `rows` rows
    /// and `label_count` labels, and clears the delta. Every row and label in `edges` must be
    /// below `rows` / `label_count` (the store guarantees it; an edge outside is skipped).
    pub(crate) fn rebuild(
        rows: usize,
        label_count: usize,
        edges: impl Iterator<Item = BuildEdge> + Clone,
    ) -> Adjacency {
        let valid = |from: u32, to: u32| (from as usize) < rows && (to as usize) < rows;
        let mut per_label = vec![0usize; label_count];
        for (label, from, to, _) in edges.clone() {
            if valid(from, to)
                && let Some(n) = per_label.get_mut(label as usize)
            {
                *n += 1;
            }
        }
        let dense: Vec<bool> = per_label
            .iter()
            .map(|&n| n > 0 && n.saturating_mul(2) >= rows)
            .collect();
        // Dense labels: counting sort over node rows (stable in slot order).
        let mut counts: Vec<Vec<u32>> = dense
            .iter()
            .map(|&d| if d { vec![0; rows + 1] } else { Vec::new() })
            .collect();
        for (label, from, to, _) in edges.clone() {
            if valid(from, to)
                && let Some(c) = counts
                    .get_mut(label as usize)
                    .and_then(|c| c.get_mut(from as usize + 1))
            {
                *c += 1;
            }
        }
        let mut labels: Vec<LabelCsr> = counts
            .into_iter()
            .map(|mut offsets| {
                let mut sum = 0u32;
                for o in &mut offsets {
                    sum += *o;
                    *o = sum;
                }
                let total = offsets.last().copied().unwrap_or(0) as usize;
                LabelCsr {
                    rows: Vec::new(),
                    offsets,
                    nbrs: vec![0; total],
                    slots: vec![0; total],
                }
            })
            .collect();
        let mut cursors: Vec<Vec<u32>> = labels
            .iter()
            .map(|csr| {
                let mut c = csr.offsets.clone();
                c.pop();
                c
            })
            .collect();
        // Sparse labels: their edges in slot order, sorted by row below (stable).
        let mut sparse: Vec<Vec<(u32, u32, u32)>> = per_label
            .iter()
            .zip(&dense)
            .map(|(&n, &d)| if d { Vec::new() } else { Vec::with_capacity(n) })
            .collect();
        for (label, from, to, slot) in edges {
            let l = label as usize;
            if !valid(from, to) {
                continue;
            }
            if !dense.get(l).copied().unwrap_or(false) {
                if let Some(list) = sparse.get_mut(l) {
                    list.push((from, to, slot));
                }
                continue;
            }
            let (Some(csr), Some(cursor)) = (labels.get_mut(l), cursors.get_mut(l)) else {
                continue;
            };
            let Some(pos) = cursor.get_mut(from as usize) else {
                continue;
            };
            let p = *pos as usize;
            if let (Some(n), Some(s)) = (csr.nbrs.get_mut(p), csr.slots.get_mut(p)) {
                *n = to;
                *s = slot;
                *pos += 1;
            }
        }
        for (csr, mut list) in labels.iter_mut().zip(sparse) {
            if list.is_empty() {
                continue;
            }
            list.sort_by_key(|&(from, _, _)| from);
            let mut built = LabelCsr {
                rows: Vec::new(),
                offsets: vec![0],
                nbrs: Vec::with_capacity(list.len()),
                slots: Vec::with_capacity(list.len()),
            };
            for (from, to, slot) in list {
                if built.rows.last() != Some(&from) {
                    if !built.rows.is_empty() {
                        built.offsets.push(built.nbrs.len() as u32);
                    }
                    built.rows.push(from);
                }
                built.nbrs.push(to);
                built.slots.push(slot);
            }
            built.offsets.push(built.nbrs.len() as u32);
            *csr = built;
        }
        Adjacency {
            labels,
            delta: FxHashMap::default(),
        }
    }

    /// Records a delta edge at row `from`.
    pub(crate) fn push_delta(&mut self, from: u32, edge: DeltaEdge) {
        self.delta.entry(from).or_default().push(edge);
    }

    /// Takes slot `slot` out of row `from`'s delta; false when it was not there.
    pub(crate) fn remove_delta(&mut self, from: u32, slot: u32) -> bool {
        let Some(list) = self.delta.get_mut(&from) else {
            return false;
        };
        let Some(pos) = list.iter().position(|e| e.slot == slot) else {
            return false;
        };
        list.remove(pos);
        if list.is_empty() {
            self.delta.remove(&from);
        }
        true
    }

    /// The delta edges at row `node`.
    #[inline]
    pub(crate) fn delta_row(&self, node: u32) -> &[DeltaEdge] {
        if self.delta.is_empty() {
            return &[];
        }
        self.delta.get(&node).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn label(&self, label: u32) -> Option<&LabelCsr> {
        self.labels.get(label as usize)
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.labels
            .iter()
            .map(LabelCsr::memory_bytes)
            .sum::<usize>()
            + self
                .delta
                .values()
                .map(|v| 16 + v.capacity() * 12)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuild_groups_rows_in_slot_order_per_label() {
        // label 0: 0->1 (slot 0), 0->2 (slot 2), 2->0 (slot 3); label 1: 0->2 (slot 1)
        let edges = vec![(0, 0, 1, 0), (1, 0, 2, 1), (0, 0, 2, 2), (0, 2, 0, 3)];
        let adj = Adjacency::rebuild(3, 2, edges.into_iter());
        let l0 = adj.label(0).map(|c| c.row(0));
        assert_eq!(l0, Some((&[1u32, 2][..], &[0u32, 2][..])));
        assert_eq!(adj.label(0).map(|c| c.row(1)), Some((&[][..], &[][..])));
        assert_eq!(
            adj.label(0).map(|c| c.row(2)),
            Some((&[0u32][..], &[3u32][..]))
        );
        assert_eq!(
            adj.label(1).map(|c| c.row(0)),
            Some((&[2u32][..], &[1u32][..]))
        );
        // rows past the build have no edges
        assert_eq!(adj.label(1).map(|c| c.row(7)), Some((&[][..], &[][..])));
    }

    #[test]
    fn labels_with_few_edges_use_the_sparse_form() {
        // 100 rows; label 0 has 2 edges (sparse), label 1 has 60 (dense)
        let mut edges = vec![(0, 70, 1, 0), (0, 3, 2, 1)];
        edges.extend((0..60).map(|i| (1, i, i + 1, i + 2)));
        let adj = Adjacency::rebuild(100, 2, edges.into_iter());
        let sparse = adj
            .label(0)
            .map(|c| (c.rows.clone(), c.row(70), c.row(3), c.row(4)));
        assert_eq!(
            sparse,
            Some((
                vec![3, 70],
                (&[1u32][..], &[0u32][..]),
                (&[2u32][..], &[1u32][..]),
                (&[][..], &[][..])
            ))
        );
        assert!(adj.label(1).is_some_and(|c| c.rows.is_empty()));
        assert_eq!(
            adj.label(1).map(|c| c.row(59)),
            Some((&[60u32][..], &[61u32][..]))
        );
    }

    #[test]
    fn delta_push_and_remove() {
        let mut adj = Adjacency::default();
        let e = DeltaEdge {
            label: 0,
            nbr: 4,
            slot: 9,
        };
        adj.push_delta(3, e);
        assert_eq!(adj.delta_row(3), &[e]);
        assert!(!adj.remove_delta(3, 8));
        assert!(adj.remove_delta(3, 9));
        assert!(adj.delta_row(3).is_empty());
        assert!(adj.delta.is_empty());
    }
}
