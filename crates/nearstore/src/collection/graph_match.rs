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

/// Whether a walk from `plan`'s indexed start reaches no more bindings than the graph has
/// `nodes`: the first hop's actual edges from the start nodes (`starts` of them) times
/// the mean out-degree (at least 1) to the power of the pattern's remaining hops (a
/// variable-length relationship counts its maximum). See `graph_match.rs`.
fn walk_is_small(
    graph: &nearstore_graph::GraphStore,
    plan: &nearstore_graph::MatchPlan,
    pattern: &nearstore_graph::Pattern,
    starts: u64,
    nodes: u64,
) -> bool {
    let fanout = (graph.edge_count() as f64 / nodes.max(1) as f64).max(1.0);
    let hops: u32 = pattern
        .parts
        .iter()
        .flat_map(|p| p.hops.iter())
        .map(|(rel, _)| rel.length.map_or(1, |l| l.max))
        .sum::<u32>()
        .min(64);
    let walk = match (hops, graph.first_hop_edges(plan, nodes.saturating_add(1))) {
        (0, _) => starts as f64,
        (_, Some(first)) => first as f64 * fanout.powi(hops as i32 - 1),
        (_, None) => starts as f64 * fanout.powi(hops as i32),
    };
    walk <= nodes as f64
}

#[cfg(test)]
thread_local! {
    /// Plans made on this thread (the tests count them).
    static PLANS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

impl Collection {
    /// Plans (and with `execute` runs) a pattern query under one read of the state. With
    /// `weigh_vector_start`, stops after planning (`None`) unless the plan starts from
    /// nodes a property index gives and its walk is small ([`walk_is_small`]): then the
    /// vector index would pay more, and this plan is the one that runs.
    pub(crate) fn run_match(
        &self,
        request: &MatchRequest,
        start: Option<VectorStart>,
        execute: bool,
        weigh_vector_start: bool,
    ) -> Result<Option<MatchResponse>> {
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
        #[cfg(test)]
        PLANS.with(|p| p.set(p.get() + 1));
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
        if weigh_vector_start
            && !response.indexed_start_candidates.is_some_and(|starts| {
                walk_is_small(graph, &plan, &request.pattern, starts, nodes.live.len())
            })
        {
            return Ok(None);
        }
        if !execute {
            return Ok(Some(response));
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
        Ok(Some(response))
    }
}

#[cfg(test)]
mod tests {
    use super::PLANS;
    use crate::{
        Database, DistanceMetric, FieldIndexKind, Filter, GraphCollectionConfig, GraphEdge,
        MatchRequest, NodePattern, PathPattern, Point, RelPattern, SimilarityCondition,
        ThresholdOp,
    };
    use serde_json::json;

    fn planned(f: impl FnOnce()) -> u32 {
        PLANS.with(|p| p.set(0));
        f();
        PLANS.with(|p| p.get())
    }

    #[test]
    fn a_similarity_match_whose_indexed_start_wins_is_planned_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).unwrap();
        let config = GraphCollectionConfig::schemaless().with_embedding(2, DistanceMetric::Cosine);
        let g = db.create_graph_collection("g", config).unwrap();
        let points: Vec<Point> = (0..200u64)
            .map(|i| {
                let x = i as f32 / 10.0;
                let payload = json!({"_labels": ["N"], "name": format!("n{i}")});
                Point::new(i, vec![x.cos(), x.sin()], Some(payload))
            })
            .collect();
        g.upsert(points).unwrap();
        let edges = (0..200u64)
            .map(|i| GraphEdge::new(i, i, (i * 7 + 1) % 200, "E"))
            .collect();
        g.add_edges_batch(edges).unwrap();
        let mut request = MatchRequest::new(
            PathPattern::new(NodePattern::named("a").condition(Filter::eq("name", json!("n3"))))
                .then(RelPattern::outgoing(), NodePattern::named("b"))
                .into(),
        );
        request.similarity = Some(SimilarityCondition {
            var: "b".into(),
            vector: vec![1.0, 0.0],
            threshold: Some((ThresholdOp::Gt, -0.9)),
        });
        // Without an index the start is a scan: the vector start wins, planned again with
        // its candidates.
        let mut scanned = None;
        assert_eq!(
            planned(|| scanned = Some(g.match_pattern(&request).unwrap())),
            2
        );
        let scanned = scanned.unwrap();
        assert!(
            scanned.plan.iter().any(|l| l.contains("vector index")),
            "{:?}",
            scanned.plan
        );
        // With the index, one node starts a one-hop walk: that plan is the one that runs.
        g.create_node_property_index("name", FieldIndexKind::Keyword)
            .unwrap();
        let mut indexed = None;
        assert_eq!(
            planned(|| indexed = Some(g.match_pattern(&request).unwrap())),
            1
        );
        let indexed = indexed.unwrap();
        assert!(
            !indexed.plan.iter().any(|l| l.contains("vector index")),
            "{:?}",
            indexed.plan
        );
        assert_eq!(indexed.rows, scanned.rows);
        assert_eq!(indexed.rows.len(), 1);
        assert_eq!(planned(|| drop(g.explain_match(&request).unwrap())), 1);
    }
}
