//! The top-k window: keeps the k best (score, point id) pairs, best = higher score, then the
//! smaller point id; exposes the score a candidate must reach to enter.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One result: a point and its BM25 score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextHit {
    /// The point id.
    pub id: u64,
    /// Its BM25 score (higher is better).
    pub score: f32,
}

/// Heap entry ordered worst-first (the heap's top is the entry to evict).
#[derive(Debug, Clone, Copy)]
struct Entry {
    score: f64,
    id: u64,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Greater = worse: lower score, then larger id.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.id.cmp(&other.id))
    }
}

/// Collects the k best hits.
#[derive(Debug)]
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

/// Relative slack on the entry threshold: pruning keeps anything within it, so bounds summed
/// in a different order than the exact score never drop a tie.
const THRESHOLD_SLACK: f64 = 1e-9;

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            // k comes from the caller: reserve for a typical window only, grow on demand.
            heap: BinaryHeap::with_capacity(k.min(1024)),
        }
    }

    /// A candidate whose score bound is below this cannot enter.
    #[inline]
    pub(crate) fn threshold(&self) -> f64 {
        match self.heap.peek() {
            // Lowered by the slack whatever the sign (sparse dot products may be negative).
            Some(worst) if self.heap.len() >= self.k => {
                worst.score - worst.score.abs() * THRESHOLD_SLACK
            }
            _ => f64::NEG_INFINITY,
        }
    }

    /// Whether the window is full (so the threshold prunes).
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.heap.len() >= self.k
    }

    /// Whether a document scoring `score` could enter (ties may enter on a smaller id).
    #[inline]
    pub(crate) fn accepts(&self, score: f64) -> bool {
        match self.heap.peek() {
            Some(worst) if self.heap.len() >= self.k => score >= worst.score,
            _ => true,
        }
    }

    /// Offers a scored point.
    #[inline]
    pub(crate) fn offer(&mut self, score: f64, id: u64) {
        let entry = Entry { score, id };
        if self.heap.len() < self.k {
            self.heap.push(entry);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && entry < *worst
        {
            *worst = entry;
        }
    }

    /// The hits, best first.
    pub(crate) fn into_hits(self) -> Vec<TextHit> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|e| TextHit {
                id: e.id,
                score: e.score as f32,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_with_ties_to_the_smaller_id() {
        let mut top = TopK::new(3);
        for (score, id) in [(1.0, 9), (2.0, 5), (2.0, 3), (0.5, 1), (2.0, 4), (1.0, 2)] {
            top.offer(score, id);
        }
        let ids: Vec<u64> = top.into_hits().iter().map(|h| h.id).collect();
        assert_eq!(ids, [3, 4, 5]);
    }

    #[test]
    fn threshold_is_open_until_full() {
        let mut top = TopK::new(2);
        assert_eq!(top.threshold(), f64::NEG_INFINITY);
        top.offer(3.0, 1);
        assert!(!top.is_full());
        top.offer(1.0, 2);
        assert!(top.is_full());
        assert!(top.threshold() <= 1.0 && top.threshold() > 0.99);
        let mut negative = TopK::new(1);
        negative.offer(-2.0, 1);
        assert!(negative.threshold() <= -2.0 && negative.threshold() > -2.01);
    }
}
