//! What a plan's first expansion costs: the edges its start nodes actually have. The engine
//! weighs a plan's start against the vector index with it; a mean degree times the number
//! of start nodes underestimates a hub-heavy (power-law) graph, whose selective start is
//! often a hub.

use super::plan::{MatchPlan, Step};
use crate::store::GraphStore;

impl GraphStore {
    /// The edges the first expansion of `plan` follows from its first start's candidates
    /// (the caller's or a property index's; labels and direction as planned), counted up
    /// to `cap` (the count stops there: a caller comparing it with a bound passes that
    /// bound). `None` when the start is a scan of every node or the plan's second step
    /// expands nothing from it. Costs one adjacency walk per start node.
    pub fn first_hop_edges(&self, plan: &MatchPlan, cap: u64) -> Option<u64> {
        let mut steps = plan.steps.iter();
        let Some(&Step::Start { var }) = steps.next() else {
            return None;
        };
        let (rel, direction) = match steps.next() {
            Some(&Step::Expand {
                rel,
                from,
                direction,
                ..
            }) if from == var => (rel, direction),
            _ => return None,
        };
        let labels = &plan.rels.get(rel)?.labels;
        let start = plan.nodes.get(var)?;
        let ids: Box<dyn Iterator<Item = u64> + '_> = match (&start.given, &start.allowed) {
            (Some(given), _) => Box::new(given.iter().copied()),
            (None, Some(allowed)) => Box::new(allowed.iter()),
            (None, None) => return None,
        };
        let mut total = 0u64;
        for id in ids {
            let Some(row) = self.nodes.get(id) else {
                continue;
            };
            self.for_each_edge(row, direction, labels, |_, _| total += 1);
            if total >= cap {
                return Some(cap);
            }
        }
        Some(total)
    }
}
