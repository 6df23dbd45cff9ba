//! The MATCH executor: runs a [`MatchPlan`]'s steps depth-first, one partial binding at a
//! time (memory = the pattern's size plus one adjacency buffer per hop in progress; buffers
//! are pooled across the execution), and hands each complete [`Binding`] to the caller.
//!
//! Invariants: `used` holds the slots of every edge bound so far, in binding order, so an
//! edge is never bound twice in one match (relationship uniqueness, module docs of
//! `pattern`); whether a variable is bound is fixed by the step order, so a step overwrites
//! its variable's entry and never needs to undo it; node conditions are asked at most once
//! per (variable, node) and remembered.

use std::ops::ControlFlow;

use rustc_hash::FxHashMap;

use super::plan::{EdgeCheck, MatchPlan, RelVar, Step};
use super::{Binding, MatchOptions, NodeSource, Pattern, Visit};
use crate::error::{Error, Result};
use crate::read::Direction;
use crate::store::GraphStore;

/// Work units between two deadline / stop-hook checks.
const CHECK_EVERY: u32 = 1024;

/// What one execution did (for EXPLAIN ANALYZE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MatchStats {
    /// Complete bindings handed to the visitor.
    pub bindings: usize,
    /// Partial bindings produced (each step binding one more variable is one row), plus
    /// the steps of variable-length walks (each edge added to a trail is one row, whether
    /// or not its end is bound): what `budget.max_rows` bounds.
    pub rows: usize,
    /// Edges looked at while expanding.
    pub edges_visited: u64,
    /// Nodes whose conditions were evaluated (payload filter or caller predicate).
    pub nodes_checked: u64,
}

/// An adjacency buffer: (edge slot, other node row).
type Steps = Vec<(u32, u32)>;

struct Exec<'e, 'o, N: ?Sized, V> {
    store: &'e GraphStore,
    plan: &'e MatchPlan,
    nodes: &'e N,
    options: &'e MatchOptions<'o>,
    visit: V,
    binding: Binding,
    used: Vec<u32>,
    memo: Vec<Option<FxHashMap<u64, bool>>>,
    pool: Vec<Steps>,
    stats: MatchStats,
    countdown: u32,
}

impl GraphStore {
    /// Runs `plan` (from [`plan_match`](Self::plan_match) with the same `nodes` and
    /// `options`), calling `visit` with each match until it returns `Break`, `options.limit`
    /// matches were visited, or everything was enumerated. Matches come in plan order (a
    /// start variable's candidates in the caller's order when they were given).
    ///
    /// Errors: [`Error::TooManyRows`] past `options.budget.max_rows` partial bindings,
    /// [`Error::DeadlineExceeded`], [`Error::Cancelled`] (the budget's flag or
    /// `options.stop`).
    pub fn match_pattern<N, V>(
        &self,
        plan: &MatchPlan,
        nodes: &N,
        options: &MatchOptions<'_>,
        visit: V,
    ) -> Result<MatchStats>
    where
        N: NodeSource + ?Sized,
        V: FnMut(&Binding) -> Visit,
    {
        let memo = plan
            .nodes
            .iter()
            .map(|v| {
                let needs = v.predicate || (v.filter.is_some() && !v.filter_decided);
                needs.then(FxHashMap::default)
            })
            .collect();
        let mut exec = Exec {
            store: self,
            plan,
            nodes,
            options,
            visit,
            binding: Binding {
                nodes: vec![u64::MAX; plan.nodes.len()],
                edges: vec![Vec::new(); plan.rels.len()],
            },
            used: Vec::new(),
            memo,
            pool: Vec::new(),
            stats: MatchStats::default(),
            countdown: CHECK_EVERY,
        };
        if options.limit != Some(0) {
            let _finished_or_stopped = exec.run(0)?;
        }
        Ok(exec.stats)
    }

    /// Plans and runs `pattern`, returning its matches (at most `options.limit`).
    pub fn find_matches<N: NodeSource + ?Sized>(
        &self,
        pattern: &Pattern,
        nodes: &N,
        options: &MatchOptions<'_>,
    ) -> Result<Vec<Binding>> {
        let plan = self.plan_match(pattern, nodes, options)?;
        let mut out = Vec::new();
        self.match_pattern(&plan, nodes, options, |b| {
            out.push(b.clone());
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }
}

impl<N, V> Exec<'_, '_, N, V>
where
    N: NodeSource + ?Sized,
    V: FnMut(&Binding) -> Visit,
{
    fn run(&mut self, at: usize) -> Result<Visit> {
        match self.plan.steps.get(at).copied() {
            None => Ok(self.emit()),
            Some(Step::Start { var }) => self.start(at, var),
            Some(Step::Expand {
                rel,
                from,
                to,
                direction,
                reversed,
                to_bound,
            }) => {
                let Some(r) = self.plan.rels.get(rel) else {
                    return Ok(ControlFlow::Continue(()));
                };
                let hop = Hop {
                    at,
                    rel,
                    r,
                    from,
                    to,
                    direction,
                    reversed,
                    to_bound,
                };
                if r.range.min == 1 && r.range.max == 1 {
                    self.expand_one(&hop)
                } else {
                    self.expand_var(&hop)
                }
            }
        }
    }

    fn emit(&mut self) -> Visit {
        self.stats.bindings += 1;
        let flow = (self.visit)(&self.binding);
        if self
            .options
            .limit
            .is_some_and(|limit| self.stats.bindings >= limit)
        {
            return ControlFlow::Break(());
        }
        flow
    }

    fn start(&mut self, at: usize, var: usize) -> Result<Visit> {
        let plan = self.plan;
        let nodes = self.nodes;
        let Some(v) = plan.nodes.get(var) else {
            return Ok(ControlFlow::Continue(()));
        };
        let try_node = |exec: &mut Self, id: u64| -> Result<Visit> {
            exec.tick(1)?;
            if !exec.accept(var, id) {
                return Ok(ControlFlow::Continue(()));
            }
            exec.bind(var, id)?;
            exec.run(at + 1)
        };
        if let Some(given) = &v.given {
            for &id in given {
                if try_node(self, id)?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
        } else {
            let ids = v.allowed.as_ref().unwrap_or_else(|| nodes.node_ids());
            for id in ids {
                if try_node(self, id)?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// One-edge relationship: the hot path of fixed-length patterns.
    fn expand_one(&mut self, hop: &Hop<'_>) -> Result<Visit> {
        let Some(row) = self.row_of(hop.from) else {
            return Ok(ControlFlow::Continue(()));
        };
        let mut buf = self.fill(row, hop)?;
        let mut flow = ControlFlow::Continue(());
        for &(slot, nbr) in &buf {
            if self.used.contains(&slot) || !self.edge_ok(hop.r, slot) {
                continue;
            }
            let to_id = self.store.nodes.id(nbr);
            if !self.visible(to_id) || !self.end_ok(hop, to_id) {
                continue;
            }
            self.used.push(slot);
            if let Some(edges) = self.binding.edges.get_mut(hop.rel) {
                edges.clear();
                edges.push(self.store.edges.get(slot as usize).map_or(0, |r| r.id));
            }
            self.bind(hop.to, to_id)?;
            flow = self.run(hop.at + 1)?;
            self.used.pop();
            if flow.is_break() {
                break;
            }
        }
        buf.clear();
        self.pool.push(buf);
        Ok(flow)
    }

    /// Variable-length relationship: an iterative depth-first walk over trails (no edge
    /// twice, counting the edges bound by other relationships).
    fn expand_var(&mut self, hop: &Hop<'_>) -> Result<Visit> {
        let range = hop.r.range;
        let from_id = self
            .binding
            .nodes
            .get(hop.from)
            .copied()
            .unwrap_or(u64::MAX);
        if range.min == 0 && self.end_ok(hop, from_id) {
            if let Some(edges) = self.binding.edges.get_mut(hop.rel) {
                edges.clear();
            }
            self.bind(hop.to, from_id)?;
            if self.run(hop.at + 1)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        let Some(row) = self.row_of(hop.from) else {
            return Ok(ControlFlow::Continue(()));
        };
        if range.max == 0 {
            return Ok(ControlFlow::Continue(()));
        }
        let base = self.used.len();
        let mut levels: Vec<(Steps, usize)> = vec![(self.fill(row, hop)?, 0)];
        let mut flow = ControlFlow::Continue(());
        while let Some((buf, pos)) = levels.last_mut() {
            let Some(&(slot, nbr)) = buf.get(*pos) else {
                if let Some((mut buf, _)) = levels.pop() {
                    buf.clear();
                    self.pool.push(buf);
                }
                if !levels.is_empty() {
                    self.used.pop();
                }
                continue;
            };
            *pos += 1;
            if self.used.contains(&slot) || !self.edge_ok(hop.r, slot) {
                continue;
            }
            let to_id = self.store.nodes.id(nbr);
            // A walk never passes through a node the caller does not show (an expired one).
            if !self.visible(to_id) {
                continue;
            }
            // Every trail step counts against the budget, bound or not: a walk whose ends
            // never match is bounded by the budget, not only by the deadline.
            self.stats.rows += 1;
            self.options.budget.check_rows(self.stats.rows)?;
            self.used.push(slot);
            let depth = levels.len() as u32;
            if depth >= range.min && self.end_ok(hop, to_id) {
                self.set_path(hop, base);
                self.bind(hop.to, to_id)?;
                flow = self.run(hop.at + 1)?;
                if flow.is_break() {
                    break;
                }
            }
            if depth < range.max {
                let next = self.fill(nbr, hop)?;
                levels.push((next, 0));
            } else {
                self.used.pop();
            }
        }
        self.used.truncate(base);
        for (mut buf, _) in levels {
            buf.clear();
            self.pool.push(buf);
        }
        Ok(flow)
    }

    /// The edges of the path in progress (`used[base..]`) as the relationship's edge list,
    /// left to right.
    fn set_path(&mut self, hop: &Hop<'_>, base: usize) {
        let store = self.store;
        let Some(edges) = self.binding.edges.get_mut(hop.rel) else {
            return;
        };
        edges.clear();
        let path = self.used.get(base..).unwrap_or(&[]);
        edges.extend(
            path.iter()
                .map(|&s| store.edges.get(s as usize).map_or(0, |r| r.id)),
        );
        if hop.reversed {
            edges.reverse();
        }
    }

    fn row_of(&self, from: usize) -> Option<u32> {
        let id = self.binding.nodes.get(from).copied()?;
        self.store.nodes.get(id)
    }

    /// The edges at `row` for this hop, in a pooled buffer.
    fn fill(&mut self, row: u32, hop: &Hop<'_>) -> Result<Steps> {
        let mut buf = self.pool.pop().unwrap_or_default();
        self.store
            .for_each_edge(row, hop.direction, &hop.r.labels, |slot, nbr| {
                buf.push((slot, nbr));
            });
        self.tick(buf.len() as u64 + 1)?;
        Ok(buf)
    }

    fn edge_ok(&self, rel: &RelVar, slot: u32) -> bool {
        match &rel.check {
            EdgeCheck::None => true,
            EdgeCheck::Allowed(ids) => self
                .store
                .edges
                .get(slot as usize)
                .is_some_and(|r| ids.contains(r.id)),
            EdgeCheck::Evaluate(filter) => self
                .store
                .edges
                .get(slot as usize)
                .is_some_and(|r| filter.matches(r.properties())),
        }
    }

    /// Whether node `id` is one of the caller's nodes ([`NodeSource::node_ids`]): edges to
    /// any other node (an expired point's, kept until the purge deletes them) are not
    /// followed.
    fn visible(&self, id: u64) -> bool {
        self.nodes.node_ids().contains(id)
    }

    fn end_ok(&mut self, hop: &Hop<'_>, id: u64) -> bool {
        if hop.to_bound {
            self.binding.nodes.get(hop.to) == Some(&id)
        } else {
            self.accept(hop.to, id)
        }
    }

    /// Whether `id` may be bound to `var`: its candidates, then (remembered) its payload
    /// conditions and the caller's predicate.
    fn accept(&mut self, var: usize, id: u64) -> bool {
        let Some(v) = self.plan.nodes.get(var) else {
            return false;
        };
        if v.allowed.as_ref().is_some_and(|a| !a.contains(id)) {
            return false;
        }
        let Some(Some(memo)) = self.memo.get_mut(var) else {
            return true;
        };
        if let Some(&known) = memo.get(&id) {
            return known;
        }
        self.stats.nodes_checked += 1;
        let filter_ok = v.filter_decided
            || v.filter
                .as_ref()
                .is_none_or(|f| self.nodes.node_matches(id, f));
        let ok = filter_ok
            && (!v.predicate
                || match (self.options.predicate, v.name.as_deref()) {
                    (Some(p), Some(name)) => p.accept(name, id),
                    _ => true,
                });
        memo.insert(id, ok);
        ok
    }

    fn bind(&mut self, var: usize, id: u64) -> Result<()> {
        if let Some(slot) = self.binding.nodes.get_mut(var) {
            *slot = id;
        }
        self.stats.rows += 1;
        self.options.budget.check_rows(self.stats.rows)
    }

    fn tick(&mut self, units: u64) -> Result<()> {
        self.stats.edges_visited += units.saturating_sub(1);
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        if let Some(left) = self.countdown.checked_sub(units)
            && left > 0
        {
            self.countdown = left;
            return Ok(());
        }
        self.countdown = CHECK_EVERY;
        self.options.budget.check_time()?;
        if self.options.stop.is_some_and(|stop| stop()) {
            return Err(Error::Cancelled);
        }
        Ok(())
    }
}

/// One expansion step, resolved.
struct Hop<'p> {
    at: usize,
    rel: usize,
    r: &'p RelVar,
    from: usize,
    to: usize,
    direction: Direction,
    reversed: bool,
    to_bound: bool,
}
