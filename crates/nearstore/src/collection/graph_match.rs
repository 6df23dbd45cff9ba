//! The collection's side of a pattern query: the graph's view of the nodes (live and
//! visible points, their payloads: [`NodeSource`]) and the conditions only the engine can
//! check (exact similarity from the vector store, `@collection` bindings:
//! [`NodePredicate`]), planned and run under one read of the collection's state, so the plan
//! and the execution see the same graph.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::Arc;

use nearstore_distance::DistanceMetric;
use nearstore_filter::Filter;
use nearstore_graph::{Budget, MatchOptions, NodePredicate, NodeSource, StartCandidates};
use roaring::RoaringTreemap;
use rustc_hash::FxHashMap;
use serde_json::Value;

use super::{Collection, State};
use crate::error::{Error, Result};
use crate::graph_match::{MatchRequest, MatchResponse, MatchRow, VectorStart};

/// The graph's view of the collection's points.
struct Nodes<'a> {
    collection: &'a Collection,
    state: &'a State,
    live: Cow<'a, RoaringTreemap>,
    payloads: RefCell<FxHashMap<u64, Option<Arc<Value>>>>,
}

impl Nodes<'_> {
    /// A node's payload (the overlay first, then the payload store), read once per query.
    fn payload(&self, id: u64) -> Option<Arc<Value>> {
        if let Some(p) = self.payloads.borrow().get(&id) {
            return p.clone();
        }
        let p = match self.state.overlay.get(&id) {
            Some(p) => p.clone(),
            // A payload that cannot be read fails the node's conditions (the scrub and the
            // point reads report the damage).
            None => self
                .collection
                .payloads
                .retrieve(id)
                .ok()
                .flatten()
                .map(Arc::new),
        };
        self.payloads.borrow_mut().insert(id, p.clone());
        p
    }
}

impl NodeSource for Nodes<'_> {
    fn node_ids(&self) -> &RoaringTreemap {
        &self.live
    }

    fn node_matches(&self, node: u64, filter: &Filter) -> bool {
        if !self.live.contains(node) {
            return false;
        }
        match self.payload(node) {
            Some(p) => filter.matches_point(node, &p),
            None => filter.matches_point(node, &Value::Null),
        }
    }
}

/// Similarity thresholds and `@collection` bindings.
struct Conditions<'a> {
    collection: &'a Collection,
    request: &'a MatchRequest,
    metric: DistanceMetric,
    scores: RefCell<FxHashMap<u64, Option<f32>>>,
    /// Each `@collection` variable's allowed ids: the visible points of that collection
    /// passing the binding's filter, resolved before the graph's state is read (see
    /// [`Collection::run_match`] on lock order).
    foreign: FxHashMap<&'a str, RoaringTreemap>,
}

impl Conditions<'_> {
    /// The similarity variable's exact score for `node` (`None`: no embedding).
    fn score(&self, node: u64) -> Option<f32> {
        let sim = self.request.similarity.as_ref()?;
        if let Some(s) = self.scores.borrow().get(&node) {
            return *s;
        }
        let s = self
            .collection
            .vectors
            .retrieve(node)
            .ok()
            .flatten()
            .and_then(|v| nearstore_distance::try_distance(self.metric, &v, &sim.vector).ok());
        self.scores.borrow_mut().insert(node, s);
        s
    }
}

impl NodePredicate for Conditions<'_> {
    fn constrains(&self, var: &str) -> bool {
        self.request.foreign.contains_key(var)
            || self
                .request
                .similarity
                .as_ref()
                .is_some_and(|s| s.var == var && s.threshold.is_some())
    }

    fn accept(&self, var: &str, node: u64) -> bool {
        if let Some(allowed) = self.foreign.get(var)
            && !allowed.contains(node)
        {
            return false;
        }
        if let Some(sim) = &self.request.similarity
            && sim.var == var
            && let Some((op, value)) = sim.threshold
        {
            return self.score(node).is_some_and(|s| op.holds(s, value));
        }
        true
    }
}

/// The position in a binding of the first part's last node (see [`MatchRow::node`]):
/// bindings list node variables by first appearance, an anonymous node as a new one.
fn end_node_index(request: &MatchRequest, plan: &nearstore_graph::MatchPlan) -> usize {
    let Some(first) = request.pattern.parts.first() else {
        return 0;
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut entries = 0usize;
    let mut last = 0usize;
    let nodes = std::iter::once(&first.start).chain(first.hops.iter().map(|(_, n)| n));
    for node in nodes {
        last = match &node.var {
            Some(name) => {
                if !seen.contains(&name.as_str()) {
                    seen.push(name);
                    entries += 1;
                }
                plan.node_index(name).unwrap_or(entries.saturating_sub(1))
            }
            None => {
                entries += 1;
                entries - 1
            }
        };
    }
    last
}

impl Collection {
    /// Plans (and with `execute` runs) a pattern query under one read of the state.
    pub(crate) fn run_match(
        &self,
        request: &MatchRequest,
        start: Option<VectorStart>,
        execute: bool,
    ) -> Result<MatchResponse> {
        self.check_open()?;
        self.check_graph()?;
        if let Some(d) = &request.deadline
            && d.is_expired()
        {
            return Err(Error::Cancelled(
                "pattern query cancelled: its deadline passed".into(),
            ));
        }
        if let Some(sim) = &request.similarity {
            self.check_default_space()?;
            self.check_vector(0, &sim.vector)?;
        }
        for (var, foreign) in &request.foreign {
            if std::ptr::eq(foreign.collection.inner.as_ref(), self) {
                return Err(Error::InvalidArgument(format!(
                    "node {var}: an @collection binding names the graph itself (drop it)"
                )));
            }
        }
        let mut budget = Budget::default();
        if let Some(d) = &request.deadline {
            budget.deadline = Some(d.instant());
        }
        if let Some(rows) = request.max_rows {
            budget.max_rows = rows;
        }
        // Lock order: a pattern query holds no collection's state while it reads another's.
        // The `@collection` bindings are resolved first, each under its own short read, and
        // only then is the graph's state read (and held for the plan and the walk). Reading
        // the other collection from inside the walk instead would hold this graph's read
        // lock while waiting for that one's: with a writer queued on each (a fair lock
        // makes new readers wait behind it), two such queries naming each other's
        // collections in opposite order would deadlock.
        let mut foreign = FxHashMap::default();
        for (var, binding) in &request.foreign {
            binding.collection.inner.check_open()?;
            let allowed = binding
                .collection
                .inner
                .universe(binding.filter.as_ref(), request.deadline.as_ref())?;
            foreign.insert(var.as_str(), allowed);
        }
        let conditions = Conditions {
            collection: self,
            request,
            metric: self.config.metric,
            scores: RefCell::new(FxHashMap::default()),
            foreign,
        };
        let mut plan_lines = Vec::new();
        let start_candidates = start.map(|s| {
            plan_lines.push(s.line);
            StartCandidates {
                var: s.var,
                ids: s.ids,
            }
        });
        let st = self.state.read();
        // Expired nodes are invisible, but their edges stay until the purge deletes them:
        // the graph never binds nor walks through a node outside `node_ids` (the visible
        // live points), so it can stop at the limit.
        let options = MatchOptions {
            start: start_candidates,
            predicate: Some(&conditions),
            limit: request.limit,
            budget,
            stop: None,
        };
        let graph = st
            .graph
            .as_ref()
            .ok_or_else(|| Error::Internal("graph collection without a graph".into()))?;
        let nodes = Nodes {
            collection: self,
            state: &st,
            live: self.visible_live(&st),
            payloads: RefCell::new(FxHashMap::default()),
        };
        let plan = graph.plan_match(&request.pattern, &nodes, &options)?;
        plan_lines.extend(plan.to_string().lines().map(str::to_string));
        let mut response = MatchResponse {
            node_vars: plan.node_vars().to_vec(),
            rel_vars: plan.rel_vars().to_vec(),
            rows: Vec::new(),
            plan: plan_lines,
            stats: Default::default(),
            indexed_start_candidates: plan
                .starts()
                .first()
                .filter(|&&(_, kind, _)| kind != nearstore_graph::StartKind::Scan)
                .map(|&(_, _, cost)| cost),
        };
        let score_at = request
            .similarity
            .as_ref()
            .and_then(|s| plan.node_index(&s.var));
        if request.similarity.is_some() && score_at.is_none() {
            return Err(Error::InvalidArgument(
                "similarity() names a variable the pattern does not bind".into(),
            ));
        }
        if !execute {
            return Ok(response);
        }
        let end_at = end_node_index(request, &plan);
        let mut rows = Vec::new();
        response.stats = graph.match_pattern(&plan, &nodes, &options, |b| {
            rows.push(MatchRow {
                node: b.nodes.get(end_at).copied().unwrap_or_default(),
                nodes: b.nodes.clone(),
                edges: b.edges.clone(),
                score: None,
            });
            ControlFlow::Continue(())
        })?;
        drop(nodes);
        drop(st);
        if let Some(at) = score_at {
            for row in &mut rows {
                row.score = row.nodes.get(at).and_then(|&n| conditions.score(n));
            }
        }
        response.rows = rows;
        Ok(response)
    }
}
