//! [`ResultWindow`]: the one place where a search's limit, offset and score threshold are
//! applied to the ranked hits.

use nearstore_index::SearchHit;

use super::fusion::FusedHit;
use super::{MAX_SEARCH_RESULTS, SearchRequest};
use crate::error::{Error, Result};

/// A ranked hit the window can cut: it has a score.
pub(crate) trait Scored {
    fn score(&self) -> f32;
}

impl Scored for SearchHit {
    fn score(&self) -> f32 {
        self.score
    }
}

impl Scored for FusedHit {
    fn score(&self) -> f32 {
        self.score
    }
}

/// Which ranked hits a search returns: drop those past the threshold, skip `offset`, keep
/// `limit`. Hits arrive best first, so the threshold cuts a suffix and commutes with the
/// offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ResultWindow {
    pub offset: usize,
    pub limit: usize,
    /// The threshold score and whether a hit scoring exactly it is kept.
    pub threshold: Option<(f32, bool)>,
    /// The score direction: similarities and BM25 are higher-is-better, distances not.
    pub higher_is_better: bool,
}

impl ResultWindow {
    /// The window of `request` over hits ranked in that direction (a fused list is always
    /// higher-is-better).
    pub(crate) fn of(request: &SearchRequest, higher_is_better: bool) -> Self {
        ResultWindow {
            offset: request.offset,
            limit: request.limit,
            threshold: request
                .score_threshold
                .map(|t| (t, request.score_threshold_inclusive)),
            higher_is_better,
        }
    }

    /// How many ranked hits the index must produce.
    pub(crate) fn depth(&self) -> usize {
        self.limit.saturating_add(self.offset)
    }

    /// The depth, refused past [`MAX_SEARCH_RESULTS`] (every leg asks here before it
    /// searches).
    pub(crate) fn checked_depth(&self) -> Result<usize> {
        let depth = self.depth();
        if depth > MAX_SEARCH_RESULTS {
            return Err(Error::InvalidArgument(format!(
                "limit + offset is {depth}, at most {MAX_SEARCH_RESULTS}"
            )));
        }
        Ok(depth)
    }

    fn keeps(&self, score: f32) -> bool {
        match self.threshold {
            None => true,
            Some((t, inclusive)) => {
                (inclusive && score == t)
                    || if self.higher_is_better {
                        score > t
                    } else {
                        score < t
                    }
            }
        }
    }

    /// The window over `hits` (ranked best first).
    pub(crate) fn apply<H: Scored>(&self, hits: Vec<H>) -> Vec<H> {
        hits.into_iter()
            .take_while(|h| self.keeps(h.score()))
            .skip(self.offset)
            .take(self.limit)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(scores: &[f32]) -> Vec<SearchHit> {
        scores
            .iter()
            .enumerate()
            .map(|(i, &score)| SearchHit {
                id: i as u64,
                score,
            })
            .collect()
    }

    fn window(offset: usize, limit: usize, threshold: Option<(f32, bool)>) -> ResultWindow {
        ResultWindow {
            offset,
            limit,
            threshold,
            higher_is_better: true,
        }
    }

    #[test]
    fn offset_limit_and_an_inclusive_or_exclusive_threshold() {
        let h = hits(&[0.9, 0.8, 0.7, 0.7, 0.5]);
        let ids = |w: ResultWindow| w.apply(h.clone()).iter().map(|h| h.id).collect::<Vec<_>>();
        assert_eq!(ids(window(1, 2, None)), [1, 2]);
        assert_eq!(ids(window(0, 10, Some((0.7, true)))), [0, 1, 2, 3]);
        assert_eq!(ids(window(0, 10, Some((0.7, false)))), [0, 1]);
        assert_eq!(ids(window(1, 10, Some((0.7, false)))), [1]);
        assert_eq!(ids(window(5, 10, None)), Vec::<u64>::new());
        let euclid = ResultWindow {
            higher_is_better: false,
            ..window(0, 10, Some((1.0, false)))
        };
        let h = hits(&[0.5, 1.0, 2.0]);
        assert_eq!(euclid.apply(h).len(), 1, "distances: lower is better");
    }
}
