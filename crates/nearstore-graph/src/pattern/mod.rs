//! Graph pattern matching, engine-agnostic: the pattern IR ([`Pattern`] of [`PathPattern`]s
//! made of [`NodePattern`]s and [`RelPattern`]s), a planner ([`GraphStore::plan_match`](crate::GraphStore::plan_match) ->
//! [`MatchPlan`], printable for EXPLAIN) and an executor ([`GraphStore::match_pattern`](crate::GraphStore::match_pattern),
//! [`GraphStore::find_matches`](crate::GraphStore::find_matches)) that enumerates [`Binding`]s: one node id per node variable,
//! the edge ids per relationship variable.
//!
//! Semantics (Cypher's):
//! - **Relationship uniqueness.** Within one match, no edge is bound twice: not by two
//!   relationships, not twice on one variable-length path, across every part of the pattern.
//!   Nodes may repeat (`(a)-->(b)-->(a)` matches a 2-cycle).
//! - **Variables.** A node variable used in several places (in one part or in several
//!   comma-separated parts) is one node; its conditions add up. A relationship variable may
//!   appear once, and a name is a node or a relationship variable, not both. Anonymous
//!   elements are variables without a name.
//! - **Labels.** Node labels are the node payload's [`LABELS_FIELD`] array (`_labels`).
//!   [`NodePattern::labels`] holds groups: every group must hold, and a group holds when the
//!   node has any of its labels (`:A|B` is one group of two, `:A:B` two groups of one).
//!   Relationship types are alternatives (`[:T|U]`); none = any type.
//! - **Direction.** As written from the relationship's left node to its right node;
//!   [`Direction::Both`] follows either way, and a self-loop is matched once.
//! - **Variable length.** [`HopRange`] `min..=max` edges, `max` at most
//!   [`crate::MAX_TRAVERSAL_DEPTH`] (the caller turns an open `*` into its own bound); a
//!   zero-length match binds the right node to the left one. Property conditions on a
//!   variable-length relationship hold for every edge on it; intermediate nodes are free.
//! - **Edge lists.** A relationship variable's edges are listed from its left node to its
//!   right node, whichever end the planner expanded from.
//!
//! Conditions the graph cannot evaluate (vector similarity, payload filters the engine keeps
//! elsewhere) come through [`NodePredicate`]; node payloads and the live node set through
//! [`NodeSource`]. Every expansion runs under a [`Budget`] (intermediate rows, deadline,
//! cancellation) and an optional stop hook.
//!
//! Must not depend on: the engine, the query language (the engine lowers its AST to this IR).

mod estimate;
mod exec;
mod plan;

use std::ops::ControlFlow;

use nearstore_filter::Filter;
use roaring::RoaringTreemap;
use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::budget::Budget;
use crate::read::Direction;

pub use exec::MatchStats;
pub use plan::{MatchPlan, StartKind};

/// The payload field holding a node's labels (an array of strings).
pub const LABELS_FIELD: &str = "_labels";

/// The most relationships (summed over all parts) one pattern may have.
pub const MAX_PATTERN_RELATIONSHIPS: usize = 32;

/// Hop counts of a variable-length relationship: `min..=max` edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HopRange {
    /// Fewest edges (0 allows the zero-length match).
    pub min: u32,
    /// Most edges; at most [`crate::MAX_TRAVERSAL_DEPTH`].
    pub max: u32,
}

impl HopRange {
    /// `min..=max` edges.
    pub fn new(min: u32, max: u32) -> Self {
        HopRange { min, max }
    }
}

/// `(var:A|B:C {conditions})`: every part optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodePattern {
    /// The variable name (`None`: anonymous).
    pub var: Option<String>,
    /// Label groups: all groups must hold, each by any of its labels (module docs).
    pub labels: Vec<Vec<String>>,
    /// Conditions on the node's payload (equality, ranges, any [`Filter`]); all must hold.
    pub conditions: Vec<Filter>,
}

impl NodePattern {
    /// An anonymous node without conditions: `()`.
    pub fn any() -> Self {
        Self::default()
    }

    /// A named node without conditions: `(var)`.
    pub fn named(var: &str) -> Self {
        NodePattern {
            var: Some(var.to_owned()),
            ..Self::default()
        }
    }

    /// Adds the label `label` (`:label`).
    #[must_use]
    pub fn label(mut self, label: &str) -> Self {
        self.labels.push(vec![label.to_owned()]);
        self
    }

    /// Adds a group of label alternatives (`:A|B`).
    #[must_use]
    pub fn any_label<S: AsRef<str>>(mut self, labels: &[S]) -> Self {
        self.labels
            .push(labels.iter().map(|l| l.as_ref().to_owned()).collect());
        self
    }

    /// Adds a payload condition (`{k: v}` is `Filter::eq("k", v)`).
    #[must_use]
    pub fn condition(mut self, filter: Filter) -> Self {
        self.conditions.push(filter);
        self
    }

    /// The labels and conditions as one filter over the payload (`None`: no condition);
    /// the engine checks `@collection` nodes with it against that collection's payloads.
    pub fn filter(&self) -> Option<Filter> {
        let mut parts: Vec<Filter> = self
            .labels
            .iter()
            .map(|group| {
                Filter::is_in(
                    LABELS_FIELD,
                    group.iter().map(|l| Value::String(l.clone())).collect(),
                )
            })
            .collect();
        parts.extend(self.conditions.iter().cloned());
        match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Filter::and(parts)),
        }
    }
}

/// `-[var:T|U*min..max {conditions}]->` (or `<-[...]-`, `-[...]-`).
#[derive(Debug, Clone, PartialEq)]
pub struct RelPattern {
    /// The variable name (`None`: anonymous).
    pub var: Option<String>,
    /// Allowed types (any of; empty = every type).
    pub types: Vec<String>,
    /// From the left node to the right node as written.
    pub direction: Direction,
    /// Variable length; `None` = exactly one edge.
    pub length: Option<HopRange>,
    /// Conditions on the edge properties; all must hold (for every edge of a
    /// variable-length match).
    pub conditions: Vec<Filter>,
}

impl RelPattern {
    /// An anonymous one-edge relationship of any type in `direction`.
    pub fn new(direction: Direction) -> Self {
        RelPattern {
            var: None,
            types: Vec::new(),
            direction,
            length: None,
            conditions: Vec::new(),
        }
    }

    /// `-[]->`.
    pub fn outgoing() -> Self {
        Self::new(Direction::Outgoing)
    }

    /// `<-[]-`.
    pub fn incoming() -> Self {
        Self::new(Direction::Incoming)
    }

    /// `-[]-`.
    pub fn both() -> Self {
        Self::new(Direction::Both)
    }

    /// The same relationship bound to variable `var`.
    #[must_use]
    pub fn named(mut self, var: &str) -> Self {
        self.var = Some(var.to_owned());
        self
    }

    /// The same relationship restricted to these types (alternatives).
    #[must_use]
    pub fn types<S: AsRef<str>>(mut self, types: &[S]) -> Self {
        self.types = types.iter().map(|t| t.as_ref().to_owned()).collect();
        self
    }

    /// The same relationship with `min..=max` edges.
    #[must_use]
    pub fn hops(mut self, min: u32, max: u32) -> Self {
        self.length = Some(HopRange::new(min, max));
        self
    }

    /// Adds an edge property condition.
    #[must_use]
    pub fn condition(mut self, filter: Filter) -> Self {
        self.conditions.push(filter);
        self
    }

    pub fn filter(&self) -> Option<Filter> {
        match self.conditions.len() {
            0 => None,
            1 => self.conditions.first().cloned(),
            _ => Some(Filter::and(self.conditions.clone())),
        }
    }

    pub(crate) fn range(&self) -> HopRange {
        self.length.unwrap_or(HopRange::new(1, 1))
    }
}

/// One path: a node, then relationship-node steps.
#[derive(Debug, Clone, PartialEq)]
pub struct PathPattern {
    /// The first node.
    pub start: NodePattern,
    /// Each following relationship and the node it leads to.
    pub hops: Vec<(RelPattern, NodePattern)>,
}

impl PathPattern {
    /// A path of one node.
    pub fn new(start: NodePattern) -> Self {
        PathPattern {
            start,
            hops: Vec::new(),
        }
    }

    /// The path extended by `rel` to `node`.
    #[must_use]
    pub fn then(mut self, rel: RelPattern, node: NodePattern) -> Self {
        self.hops.push((rel, node));
        self
    }
}

/// Comma-separated path parts sharing variables; a match binds all of them at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// The parts (at least one).
    pub parts: Vec<PathPattern>,
}

impl Pattern {
    /// A pattern of these parts.
    pub fn new(parts: Vec<PathPattern>) -> Self {
        Pattern { parts }
    }
}

impl From<PathPattern> for Pattern {
    fn from(path: PathPattern) -> Self {
        Pattern { parts: vec![path] }
    }
}

/// The engine's view of the nodes (its points): which exist, and their payloads' answers to
/// filters. Labels are the payload's [`LABELS_FIELD`] array.
pub trait NodeSource {
    /// Every live node id (what a scan start walks, and the universe of the node indexes).
    /// A match never binds nor walks through a node outside it, even when the graph still
    /// holds edges to it (an expired point's, until they are deleted).
    fn node_ids(&self) -> &RoaringTreemap;

    /// Whether node `node`'s payload matches `filter` (false for a node that does not exist).
    fn node_matches(&self, node: u64, filter: &Filter) -> bool;
}

/// Node payloads in memory: a [`NodeSource`] for tests, benchmarks and small embedded graphs.
#[derive(Debug, Clone, Default)]
pub struct NodePayloads {
    ids: RoaringTreemap,
    payloads: FxHashMap<u64, Value>,
}

impl NodePayloads {
    /// No nodes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces node `id` with `payload` (`Value::Null`: no payload).
    pub fn insert(&mut self, id: u64, payload: Value) {
        self.ids.insert(id);
        self.payloads.insert(id, payload);
    }

    /// The payload of node `id`.
    pub fn get(&self, id: u64) -> Option<&Value> {
        self.payloads.get(&id)
    }
}

impl NodeSource for NodePayloads {
    fn node_ids(&self) -> &RoaringTreemap {
        &self.ids
    }

    fn node_matches(&self, node: u64, filter: &Filter) -> bool {
        self.payloads
            .get(&node)
            .is_some_and(|p| filter.matches_point(node, p))
    }
}

/// Node conditions only the caller can evaluate (vector similarity, filters over data the
/// graph does not see). Asked at most once per (variable, node) in one execution.
pub trait NodePredicate {
    /// Whether node variable `var` has such a condition (anonymous variables never do).
    fn constrains(&self, var: &str) -> bool;

    /// Whether `node` may be bound to `var`.
    fn accept(&self, var: &str, node: u64) -> bool;
}

/// Caller-supplied start candidates for one node variable: the variable is bound only to
/// these nodes, and when it is the cheapest start they are tried in this order (a vector
/// search's top-k, best first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartCandidates {
    /// The node variable.
    pub var: String,
    /// The candidate node ids (duplicates and ids that are not live nodes are dropped).
    pub ids: Vec<u64>,
}

/// Per-call options of [`GraphStore::plan_match`](crate::GraphStore::plan_match) and [`GraphStore::match_pattern`](crate::GraphStore::match_pattern).
#[derive(Default)]
pub struct MatchOptions<'a> {
    /// Restricts a variable to these nodes (and makes it a start candidate).
    pub start: Option<StartCandidates>,
    /// Conditions the caller evaluates.
    pub predicate: Option<&'a dyn NodePredicate>,
    /// Stop after this many bindings (a truncation, not an error).
    pub limit: Option<usize>,
    /// Guardrails: `max_rows` bounds the partial bindings produced (each extension of a
    /// match by one step is one row), the deadline and the cancellation flag stop the work.
    pub budget: Budget,
    /// Polled with the deadline (every 1,024 units of work); `true` stops the execution with
    /// [`crate::Error::Cancelled`].
    pub stop: Option<&'a dyn Fn() -> bool>,
}

impl std::fmt::Debug for MatchOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatchOptions")
            .field("start", &self.start)
            .field("predicate", &self.predicate.is_some())
            .field("limit", &self.limit)
            .field("budget", &self.budget)
            .field("stop", &self.stop.is_some())
            .finish()
    }
}

/// One match: `nodes[i]` is bound to [`MatchPlan::node_vars`]`()[i]`, `edges[j]` lists the
/// edge ids of relationship [`MatchPlan::rel_vars`]`()[j]` from its left to its right node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Binding {
    /// Node ids per node variable (anonymous ones included).
    pub nodes: Vec<u64>,
    /// Edge ids per relationship (one for a fixed-length relationship).
    pub edges: Vec<Vec<u64>>,
}

/// What the visitor of [`GraphStore::match_pattern`](crate::GraphStore::match_pattern) returns: go on or stop.
pub type Visit = ControlFlow<()>;
