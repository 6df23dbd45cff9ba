//! The best-score leg (Qdrant's `best_score` recommendation): every candidate under the
//! leg's id set scored against every example by `request::best_score`, by exact scan over
//! the dense vector's store (the score is no distance to one vector, so no graph walk);
//! the best `depth` kept, ties to the smaller id. Filtered inside its own search like every
//! other leg: only ids of the resolved filter are scored.

use roaring::RoaringTreemap;

use super::Collection;
use crate::error::{Error, Result};
use crate::request::best_score::best_score;
use crate::request::{Deadline, check_deadline};
use nearstore_index::SearchHit;

/// How many candidates are scored between deadline checks.
const DEADLINE_STRIDE: usize = 1024;

impl Collection {
    /// Checks a best-score leg: at least one example, each of the vector's dimension.
    pub(super) fn check_best_score_leg(
        &self,
        using: &str,
        positive: &[Vec<f32>],
        negative: &[Vec<f32>],
    ) -> Result<()> {
        if positive.is_empty() && negative.is_empty() {
            return Err(Error::InvalidArgument(
                "a best_score recommendation needs at least one positive or negative example"
                    .into(),
            ));
        }
        for v in positive.iter().chain(negative) {
            if using.is_empty() {
                self.check_default_space()?;
                self.check_vector(0, v)?;
            } else {
                self.check_named_vector(0, using, v)?;
            }
        }
        Ok(())
    }

    /// The best `depth` candidates by best score, among `allowed` (every live point with
    /// the vector when `None`).
    pub(super) fn best_score_leg_hits(
        &self,
        using: &str,
        (positive, negative): (&[Vec<f32>], &[Vec<f32>]),
        depth: usize,
        allowed: Option<&RoaringTreemap>,
        deadline: Option<&Deadline>,
    ) -> Result<Vec<SearchHit>> {
        let (metric, store) = if using.is_empty() {
            (self.config.metric, &*self.vectors)
        } else {
            let space = self.space(using)?;
            (space.config.metric, &space.vectors)
        };
        let candidates: Vec<u64> = match allowed {
            Some(set) => set.iter().collect(),
            None => {
                let live = self.state.read().live.clone();
                live.iter().collect()
            }
        };
        let mut hits = Vec::new();
        for (i, id) in candidates.into_iter().enumerate() {
            if i.is_multiple_of(DEADLINE_STRIDE) {
                check_deadline(deadline, "best_score recommendation")?;
            }
            if let Some(v) = store.retrieve(id)? {
                hits.push(SearchHit {
                    id,
                    score: best_score(metric, &v, positive, negative),
                });
            }
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        hits.truncate(depth);
        Ok(hits)
    }
}
