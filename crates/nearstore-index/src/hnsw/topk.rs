//! Bounded best-k collection and the heap entries of the layer search.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A (distance, id) pair ordered by distance (total order: NaN sorts last), then id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near<I> {
    /// Internal distance (lower is better).
    pub dist: f32,
    /// The node or point.
    pub id: I,
}

impl<I: Ord> Eq for Near<I> {}

impl<I: Ord> PartialOrd for Near<I> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<I: Ord> Ord for Near<I> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist
            .total_cmp(&other.dist)
            .then_with(|| self.id.cmp(&other.id))
    }
}

/// Keeps the `k` smallest distances seen.
#[derive(Debug)]
pub struct TopK<I> {
    k: usize,
    heap: BinaryHeap<Near<I>>,
}

impl<I: Ord + Copy> TopK<I> {
    /// Collects at most `k` entries.
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(4096) + 1),
        }
    }

    /// Offers one entry.
    #[inline]
    pub fn offer(&mut self, dist: f32, id: I) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Near { dist, id });
        } else if let Some(worst) = self.heap.peek()
            && (Near { dist, id }) < *worst
        {
            self.heap.pop();
            self.heap.push(Near { dist, id });
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether it holds `k` entries (an entry is kept only if better than the worst).
    pub fn is_full(&self) -> bool {
        self.heap.len() >= self.k
    }

    /// The worst distance held.
    pub fn worst(&self) -> Option<f32> {
        self.heap.peek().map(|n| n.dist)
    }

    /// Entries, best first.
    pub fn into_sorted(self) -> Vec<(f32, I)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|n| (n.dist, n.id))
            .collect()
    }
}
