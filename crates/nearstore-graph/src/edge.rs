//! The edge model ([`GraphEdge`]), its validation, and [`NodeExistence`], the caller's answer
//! to "does this node exist" (the store keeps edges only; nodes are the engine's points).

use roaring::RoaringTreemap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A directed, labelled edge with JSON-object properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphEdge {
    /// Caller-chosen id, unique in the store.
    pub id: u64,
    /// The node the edge leaves.
    pub source: u64,
    /// The node the edge enters.
    pub target: u64,
    /// The relationship type; must not be blank. Stored interned.
    pub label: String,
    /// A JSON object (`null` is accepted on input and stored as `{}`).
    pub properties: Value,
}

impl GraphEdge {
    /// An edge without properties.
    pub fn new(id: u64, source: u64, target: u64, label: impl Into<String>) -> Self {
        GraphEdge {
            id,
            source,
            target,
            label: label.into(),
            properties: Value::Object(Map::new()),
        }
    }

    /// The same edge with `properties`.
    #[must_use]
    pub fn with_properties(mut self, properties: Value) -> Self {
        self.properties = properties;
        self
    }
}

/// Checks the parts of an edge that do not depend on the store: a non-blank label and object
/// properties; `null` properties become `{}` in place.
pub(crate) fn normalize(edge: &mut GraphEdge) -> Result<()> {
    if edge.label.trim().is_empty() {
        return Err(Error::BlankLabel { edge: edge.id });
    }
    match &edge.properties {
        Value::Object(_) => Ok(()),
        Value::Null => {
            edge.properties = Value::Object(Map::new());
            Ok(())
        }
        other => Err(Error::PropertiesNotObject {
            edge: edge.id,
            found: json_type(other),
        }),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Which nodes exist, as the caller (the engine, which owns the points) knows them.
///
/// [`GraphStore::add_edge`](crate::GraphStore::add_edge) and
/// [`add_edges_batch`](crate::GraphStore::add_edges_batch) ask it for both endpoints of every
/// edge before changing anything; an answer of `false` is [`Error::MissingNode`]. The engine
/// must hold its write lock across the check and the write, so that a node cannot be deleted
/// between them. Replay ([`GraphStore::apply_logged`](crate::GraphStore::apply_logged)) does not
/// ask: the operation log holds only edges that passed this check when they were written,
/// and node deletions that came later are replayed after them.
pub trait NodeExistence {
    /// Whether node `id` exists.
    fn contains_node(&self, id: u64) -> bool;
}

/// Every node exists (for graphs whose nodes are implicit, and for tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyNode;

impl NodeExistence for AnyNode {
    fn contains_node(&self, _id: u64) -> bool {
        true
    }
}

impl NodeExistence for RoaringTreemap {
    fn contains_node(&self, id: u64) -> bool {
        self.contains(id)
    }
}

impl<F: Fn(u64) -> bool> NodeExistence for F {
    fn contains_node(&self, id: u64) -> bool {
        self(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blank_label_is_rejected() {
        let mut edge = GraphEdge::new(1, 1, 2, " \t");
        assert_eq!(normalize(&mut edge), Err(Error::BlankLabel { edge: 1 }));
    }

    #[test]
    fn null_properties_become_an_empty_object_and_arrays_are_rejected() {
        let mut edge = GraphEdge::new(1, 1, 2, "KNOWS").with_properties(Value::Null);
        assert_eq!(normalize(&mut edge), Ok(()));
        assert_eq!(edge.properties, json!({}));
        let mut edge = edge.with_properties(json!([1]));
        assert_eq!(
            normalize(&mut edge),
            Err(Error::PropertiesNotObject {
                edge: 1,
                found: "array"
            })
        );
    }

    #[test]
    fn closures_and_bitmaps_answer_node_existence() {
        let nodes: RoaringTreemap = [1u64, 5].into_iter().collect();
        assert!(nodes.contains_node(5));
        assert!(!nodes.contains_node(2));
        let even = |id: u64| id.is_multiple_of(2);
        assert!(even.contains_node(4));
        assert!(AnyNode.contains_node(u64::MAX));
    }
}
