//! The best-first search of one layer over a sorted candidate pool.
//!
//! The classic formulation keeps two heaps (candidates to expand, best results). Without a
//! filter both hold the same nodes, so one array sorted by distance, capped at `ef`, with a
//! cursor at the best node not yet expanded, does the work of both with less overhead:
//! insertion is a binary search and a short move, and the search ends when every node in
//! the pool has been expanded (the classic stop rule, "the best candidate is worse than the
//! worst result", ends at the same point).

use super::graph::Graph;
use super::rows::Probe;
use super::scorer::{Scorer, with_scorer};
use super::search::score_unvisited;
use super::topk::Near;
use super::visited::VisitedSet;

/// Most entries a pool reserves room for up front.
const MAX_RESERVED: usize = 4096;

/// A node entering the pool fewer than this many places after the expansion cursor has
/// its list prefetched on entry: it is about to be expanded (usually next, ahead of the
/// node the cursor pointed at), and its list then arrives while the rest of the current
/// node's neighbours are scored instead of after. Measured on a 100k x 128 RaBitQ index
/// (oversampling 2, ef 20, same answers): 2 places 4-5 % more queries a second than
/// none, in three alternations of the binaries; every entrant's list (tried earlier) was
/// within noise.
const LINKS_AHEAD: usize = 2;

/// `dist` with NaN as +inf, the pool's order. A NaN distance (an estimate that overflowed on
/// vectors of huge magnitude: validated input is finite, its squares need not be) compares
/// false with everything, so it would be counted in front of every entry and then shut the
/// full pool to every newcomer; as +inf it sorts last, where `total_cmp` (the exact
/// paths' order) puts it too.
#[inline]
fn ordered(dist: f32) -> f32 {
    if dist.is_nan() { f32::INFINITY } else { dist }
}

/// A distance-sorted pool of at most `cap` nodes with an expansion cursor, held as
/// parallel arrays: the insertion point is a branch-free count over the distances alone
/// (a vectorized compare over a pool of a few dozen), not a binary search whose every step
/// waits on the one before.
#[derive(Debug)]
struct Pool {
    dists: Vec<f32>,
    ids: Vec<u32>,
    expanded: Vec<bool>,
    cap: usize,
    cursor: usize,
}

impl Pool {
    fn new(cap: usize) -> Self {
        // Reserved up to a bound only: `cap` may come from a damaged checkpoint's
        // `ef_search` or a caller's `Ef(n)` (found by fuzzing: a 5 GB reservation); the
        // pool grows past it when a graph really has that many nodes to hold.
        let reserve = cap.min(MAX_RESERVED) + 1;
        Pool {
            dists: Vec::with_capacity(reserve),
            ids: Vec::with_capacity(reserve),
            expanded: Vec::with_capacity(reserve),
            cap,
            cursor: 0,
        }
    }

    /// Whether a node at `dist` would enter the pool.
    #[cfg(test)]
    fn admits(&self, dist: f32) -> bool {
        self.admits_ordered(ordered(dist))
    }

    /// [`Pool::admits`] of a distance already [`ordered`].
    #[inline]
    fn admits_ordered(&self, dist: f32) -> bool {
        self.dists.len() < self.cap || self.dists.last().is_some_and(|&w| dist < w)
    }

    /// Inserts the node when it enters the pool (NaN mapped once, for both steps); returns
    /// its place then.
    #[inline]
    fn offer(&mut self, dist: f32, id: u32) -> Option<usize> {
        let dist = ordered(dist);
        self.admits_ordered(dist)
            .then(|| self.insert_ordered(dist, id))
    }

    /// Whether `place` is fewer than [`LINKS_AHEAD`] places after the expansion cursor.
    #[inline]
    fn expanded_soon(&self, place: usize) -> bool {
        place < self.cursor + LINKS_AHEAD
    }

    #[cfg(test)]
    fn insert(&mut self, dist: f32, id: u32) -> usize {
        self.insert_ordered(ordered(dist), id)
    }

    /// Inserts at `dist`, already [`ordered`]; returns the place it went to (before the
    /// pool is cut back to its capacity).
    #[inline]
    fn insert_ordered(&mut self, dist: f32, id: u32) -> usize {
        // Entries at or below `dist` come first (ties keep their order): a count, which the
        // compiler vectorizes, equals the partition point of the sorted distances.
        let at: usize = self.dists.iter().map(|&d| usize::from(d <= dist)).sum();
        self.dists.insert(at, dist);
        self.ids.insert(at, id);
        self.expanded.insert(at, false);
        if self.dists.len() > self.cap {
            self.dists.pop();
            self.ids.pop();
            self.expanded.pop();
        }
        if at < self.cursor {
            self.cursor = at;
        }
        at
    }

    /// The best node not yet expanded, marked expanded.
    #[inline]
    fn next(&mut self) -> Option<u32> {
        while let Some(e) = self.expanded.get_mut(self.cursor) {
            self.cursor += 1;
            if !*e {
                *e = true;
                return Some(self.ids[self.cursor - 1]);
            }
        }
        None
    }

    /// The best node not yet expanded, if any (left where it is).
    #[inline]
    fn peek_next(&self) -> Option<u32> {
        let from = self.cursor.min(self.expanded.len());
        self.expanded[from..]
            .iter()
            .position(|&e| !e)
            .map(|i| self.ids[from + i])
    }

    /// The pool, best first.
    fn into_nears(self) -> Vec<Near<u32>> {
        self.dists
            .into_iter()
            .zip(self.ids)
            .map(|(dist, id)| Near { dist, id })
            .collect()
    }
}

/// Searches `level` from `entries` and returns the `ef` closest nodes found, best first.
pub(super) fn search_pool(
    g: &Graph,
    q: &Probe<'_>,
    entries: &[Near<u32>],
    ef: usize,
    level: u8,
    visited: &mut VisitedSet,
) -> Vec<Near<u32>> {
    with_scorer!(g, q, |s| pool_search(g, s, entries, ef, level, visited))
}

/// [`search_pool`] with the scorer resolved.
fn pool_search<S: Scorer>(
    g: &Graph,
    s: &S,
    entries: &[Near<u32>],
    ef: usize,
    level: u8,
    visited: &mut VisitedSet,
) -> Vec<Near<u32>> {
    let mut pool = Pool::new(ef.max(1));
    for e in entries {
        if visited.insert(e.id) {
            pool.offer(e.dist, e.id);
        }
    }
    let mut links = Vec::with_capacity(g.max_links(level));
    while let Some(c) = pool.next() {
        // The next node to expand is usually the one after `c`: its list is loaded while
        // `c`'s neighbours are scored (it can still change if a better node comes in).
        if let Some(n) = pool.peek_next() {
            g.prefetch_links(n, level);
        }
        score_unvisited(g, s, c, level, visited, &mut links, |n, d| {
            if pool.offer(d, n).is_some_and(|at| pool.expanded_soon(at)) {
                g.prefetch_links(n, level);
            }
        });
    }
    pool.into_nears()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keeps_the_best_and_expands_in_order() {
        let mut p = Pool::new(3);
        for (d, id) in [(5.0, 5), (1.0, 1), (3.0, 3), (4.0, 4)] {
            if p.admits(d) {
                p.insert(d, id);
            }
        }
        assert_eq!(p.next(), Some(1));
        p.insert(0.5, 9);
        assert_eq!(
            p.next(),
            Some(9),
            "a better node inserted before the cursor comes next"
        );
        assert_eq!(p.next(), Some(3));
        assert_eq!(p.next(), None, "4 and 5 fell out of the pool");
        assert!(!p.admits(10.0));
    }

    #[test]
    fn an_offer_reports_its_place_and_the_places_expanded_soon_follow_the_cursor() {
        let mut p = Pool::new(4);
        assert_eq!(p.offer(3.0, 3), Some(0));
        assert_eq!(p.offer(1.0, 1), Some(0));
        assert_eq!(p.offer(2.0, 2), Some(1));
        assert_eq!(p.next(), Some(1));
        let soon: Vec<bool> = (0..4).map(|at| p.expanded_soon(at)).collect();
        assert_eq!(
            soon,
            vec![true, true, true, false],
            "cursor at 1, two places ahead"
        );
        assert_eq!(p.offer(5.0, 5), Some(3));
        assert_eq!(p.offer(9.0, 9), None, "a full pool refuses a worse node");
        assert_eq!(p.offer(0.5, 7), Some(0), "a better node goes first");
        assert!(p.expanded_soon(0));
    }

    #[test]
    fn a_nan_distance_sorts_last_and_never_shuts_the_pool() {
        let mut p = Pool::new(3);
        for (d, id) in [(2.0, 2), (f32::NAN, 7), (1.0, 1)] {
            if p.admits(d) {
                p.insert(d, id);
            }
        }
        assert_eq!(p.ids, vec![1, 2, 7], "NaN last, the others in order");
        assert!(p.admits(3.0), "a finite newcomer beats the NaN entry");
        p.insert(3.0, 3);
        assert_eq!(p.ids, vec![1, 2, 3]);
        assert!(!p.admits(f32::NAN));
        assert!(p.dists.windows(2).all(|w| w[0] <= w[1]));
    }
}
