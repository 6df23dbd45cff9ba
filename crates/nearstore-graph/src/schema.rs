//! Graph schemas: node types with typed properties and edge types `EDGE T FROM A TO B`
//! ([`GraphSchema`]), checked when built and used to validate node payloads and edges.
//!
//! A graph collection is schemaless (no [`GraphSchema`]) or has one. With a schema:
//!
//! - **Nodes.** A node's types are its payload's [`LABELS_FIELD`] strings; it must have at
//!   least one, and each must be a declared node type. Every other payload field must be a
//!   property declared by one of its types, and a non-null value must have a declared type
//!   ([`PropertyType::accepts`]); declared properties may be absent (or null).
//! - **Edges.** An edge's label must be a declared edge type, and one of that label's
//!   declarations must go from one of the source node's types to one of the target node's
//!   types. Edge properties are free (the language declares none).
//!
//! The schema itself must be well formed ([`GraphSchema::new`]): names non-blank, node types
//! and their properties unique, no property named [`LABELS_FIELD`], each edge type's endpoints
//! declared node types, no edge declaration repeated.
//!
//! The engine stores the schema with the collection's config (it is `serde`), validates a
//! node's payload with [`GraphSchema::check_node`] before writing the point, and an edge with
//! [`GraphSchema::check_edge`] (given both endpoints' payloads) before
//! [`GraphStore::add_edge`](crate::GraphStore::add_edge). Must not depend on: the engine or the
//! query language (the engine converts the `WITH SCHEMA (...)` AST into this).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::edge::GraphEdge;
use crate::error::{Error, Result};
use crate::pattern::LABELS_FIELD;

/// The type of a schema property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PropertyType {
    /// A JSON string.
    String,
    /// A JSON integer (fits `i64` or `u64`).
    Integer,
    /// Any JSON number (integers included).
    Float,
    /// `true` or `false`.
    Boolean,
    /// A non-empty array of numbers.
    Vector,
}

impl PropertyType {
    /// The type's name as the query language writes it.
    pub fn name(self) -> &'static str {
        match self {
            PropertyType::String => "STRING",
            PropertyType::Integer => "INTEGER",
            PropertyType::Float => "FLOAT",
            PropertyType::Boolean => "BOOLEAN",
            PropertyType::Vector => "VECTOR",
        }
    }

    /// Whether `value` (not null) has this type.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            PropertyType::String => value.is_string(),
            PropertyType::Integer => value.is_i64() || value.is_u64(),
            PropertyType::Float => value.is_number(),
            PropertyType::Boolean => value.is_boolean(),
            PropertyType::Vector => value
                .as_array()
                .is_some_and(|items| !items.is_empty() && items.iter().all(Value::is_number)),
        }
    }
}

/// `NODE Label (property: TYPE, ...)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeType {
    /// The label that gives a node this type.
    pub label: String,
    /// Typed properties in the order declared.
    pub properties: Vec<(String, PropertyType)>,
}

impl NodeType {
    /// A node type without properties.
    pub fn new(label: impl Into<String>) -> Self {
        NodeType {
            label: label.into(),
            properties: Vec::new(),
        }
    }

    /// The same type with property `name` of type `ty`.
    #[must_use]
    pub fn property(mut self, name: impl Into<String>, ty: PropertyType) -> Self {
        self.properties.push((name.into(), ty));
        self
    }

    /// The declared type of property `name`.
    pub fn property_type(&self, name: &str) -> Option<PropertyType> {
        self.properties
            .iter()
            .find(|(p, _)| p == name)
            .map(|&(_, ty)| ty)
    }
}

/// `EDGE Label FROM Source TO Target`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeType {
    /// The edge label.
    pub label: String,
    /// The source node type.
    pub from: String,
    /// The target node type.
    pub to: String,
}

impl EdgeType {
    /// `EDGE label FROM from TO to`.
    pub fn new(label: impl Into<String>, from: impl Into<String>, to: impl Into<String>) -> Self {
        EdgeType {
            label: label.into(),
            from: from.into(),
            to: to.into(),
        }
    }
}

/// Node types and edge types of a graph collection (module docs for the rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphSchema {
    node_types: Vec<NodeType>,
    edge_types: Vec<EdgeType>,
}

fn blank(name: &str) -> bool {
    name.trim().is_empty()
}

fn invalid(message: String) -> Error {
    Error::InvalidSchema { message }
}

impl GraphSchema {
    /// A schema of these types, checked (module docs); an ill-formed one is
    /// [`Error::InvalidSchema`] naming the first problem.
    pub fn new(node_types: Vec<NodeType>, edge_types: Vec<EdgeType>) -> Result<Self> {
        let schema = GraphSchema {
            node_types,
            edge_types,
        };
        schema.validate()?;
        Ok(schema)
    }

    /// Checks the schema is well formed (what [`GraphSchema::new`] checks; call it on a
    /// schema that was deserialized).
    pub fn validate(&self) -> Result<()> {
        if self.node_types.is_empty() {
            return Err(invalid(
                "a schema declares at least one node type".to_owned(),
            ));
        }
        let mut labels = BTreeSet::new();
        for node in &self.node_types {
            if blank(&node.label) {
                return Err(invalid("a node type has a blank label".to_owned()));
            }
            if !labels.insert(node.label.as_str()) {
                return Err(invalid(format!(
                    "node type {} is declared twice",
                    node.label
                )));
            }
            let mut properties = BTreeSet::new();
            for (name, _) in &node.properties {
                if blank(name) || name == LABELS_FIELD {
                    return Err(invalid(format!(
                        "node type {}: `{name}` is not a property name",
                        node.label
                    )));
                }
                if !properties.insert(name.as_str()) {
                    return Err(invalid(format!(
                        "node type {}: property {name} is declared twice",
                        node.label
                    )));
                }
            }
        }
        let mut edges = BTreeSet::new();
        for edge in &self.edge_types {
            if blank(&edge.label) {
                return Err(invalid("an edge type has a blank label".to_owned()));
            }
            for end in [&edge.from, &edge.to] {
                if !labels.contains(end.as_str()) {
                    return Err(invalid(format!(
                        "edge type {} names {end}, which is not a declared node type",
                        edge.label
                    )));
                }
            }
            if !edges.insert((&edge.label, &edge.from, &edge.to)) {
                return Err(invalid(format!(
                    "EDGE {} FROM {} TO {} is declared twice",
                    edge.label, edge.from, edge.to
                )));
            }
        }
        Ok(())
    }

    /// The node types in the order declared.
    pub fn node_types(&self) -> &[NodeType] {
        &self.node_types
    }

    /// The edge types in the order declared.
    pub fn edge_types(&self) -> &[EdgeType] {
        &self.edge_types
    }

    /// The node type `label`.
    pub fn node_type(&self, label: &str) -> Option<&NodeType> {
        self.node_types.iter().find(|t| t.label == label)
    }

    /// The declared node types of a payload: its [`LABELS_FIELD`] strings, each checked
    /// against the schema (module docs).
    fn types_of(&self, node: u64, payload: &Value) -> Result<Vec<&NodeType>> {
        let violation = |message: String| Error::NodeSchemaViolation { node, message };
        let labels = match payload.get(LABELS_FIELD) {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(labels)) => labels.as_slice(),
            Some(_) => {
                return Err(violation(format!(
                    "`{LABELS_FIELD}` must be an array of node type names"
                )));
            }
        };
        if labels.is_empty() {
            return Err(violation(format!(
                "it has no node type (`{LABELS_FIELD}` names none)"
            )));
        }
        labels
            .iter()
            .map(|label| {
                let name = label.as_str().ok_or_else(|| {
                    violation(format!("`{LABELS_FIELD}` holds {label}, not a string"))
                })?;
                self.node_type(name)
                    .ok_or_else(|| violation(format!("{name} is not a declared node type")))
            })
            .collect()
    }

    /// Whether node `node`'s payload conforms (module docs); if not,
    /// [`Error::NodeSchemaViolation`] saying why.
    pub fn check_node(&self, node: u64, payload: &Value) -> Result<()> {
        let fields = match payload {
            Value::Object(fields) => fields,
            Value::Null => {
                return Err(Error::NodeSchemaViolation {
                    node,
                    message: format!("it has no payload, so no node type (`{LABELS_FIELD}`)"),
                });
            }
            _ => {
                return Err(Error::NodeSchemaViolation {
                    node,
                    message: "its payload is not a JSON object".to_owned(),
                });
            }
        };
        let types = self.types_of(node, payload)?;
        for (name, value) in fields {
            if name == LABELS_FIELD || value.is_null() {
                continue;
            }
            let declared: Vec<PropertyType> =
                types.iter().filter_map(|t| t.property_type(name)).collect();
            if declared.is_empty() {
                return Err(Error::NodeSchemaViolation {
                    node,
                    message: format!(
                        "property {name} is not declared by its node type{} {}",
                        if types.len() == 1 { "" } else { "s" },
                        type_names(&types)
                    ),
                });
            }
            if !declared.iter().any(|ty| ty.accepts(value)) {
                let expected: Vec<&str> = declared.iter().map(|ty| ty.name()).collect();
                return Err(Error::NodeSchemaViolation {
                    node,
                    message: format!(
                        "property {name} must be {}, got {value}",
                        expected.join(" or ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// Whether `edge` conforms, given its endpoints' payloads (module docs); if not,
    /// [`Error::EdgeSchemaViolation`] saying why. The endpoints' own conformance is
    /// [`GraphSchema::check_node`]'s business; here a malformed endpoint is a violation too.
    pub fn check_edge(&self, edge: &GraphEdge, source: &Value, target: &Value) -> Result<()> {
        let violation = |message: String| Error::EdgeSchemaViolation {
            edge: edge.id,
            message,
        };
        let declared: Vec<&EdgeType> = self
            .edge_types
            .iter()
            .filter(|t| t.label == edge.label)
            .collect();
        if declared.is_empty() {
            return Err(violation(format!(
                "{} is not a declared edge type",
                edge.label
            )));
        }
        let endpoint_types = |node: u64, payload: &Value, end: &str| {
            self.types_of(node, payload)
                .map_err(|e| violation(format!("its {end} node {node}: {}", reason(&e))))
        };
        let from = endpoint_types(edge.source, source, "source")?;
        let to = endpoint_types(edge.target, target, "target")?;
        let allowed = declared
            .iter()
            .any(|t| from.iter().any(|f| f.label == t.from) && to.iter().any(|n| n.label == t.to));
        if allowed {
            return Ok(());
        }
        let pairs: Vec<String> = declared
            .iter()
            .map(|t| format!("{} -> {}", t.from, t.to))
            .collect();
        Err(violation(format!(
            "{} goes {}, not {} -> {}",
            edge.label,
            pairs.join(" or "),
            type_names(&from),
            type_names(&to)
        )))
    }
}

fn type_names(types: &[&NodeType]) -> String {
    let names: Vec<&str> = types.iter().map(|t| t.label.as_str()).collect();
    names.join("|")
}

/// The message of a schema violation without the element prefix.
fn reason(error: &Error) -> String {
    match error {
        Error::NodeSchemaViolation { message, .. } | Error::EdgeSchemaViolation { message, .. } => {
            message.clone()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn people() -> GraphSchema {
        let schema = GraphSchema::new(
            vec![
                NodeType::new("Person")
                    .property("name", PropertyType::String)
                    .property("age", PropertyType::Integer)
                    .property("emb", PropertyType::Vector),
                NodeType::new("Company").property("name", PropertyType::String),
                NodeType::new("Admin").property("level", PropertyType::Float),
            ],
            vec![
                EdgeType::new("WORKS_AT", "Person", "Company"),
                EdgeType::new("KNOWS", "Person", "Person"),
                EdgeType::new("OWNS", "Admin", "Company"),
            ],
        );
        match schema {
            Ok(schema) => schema,
            Err(e) => panic!("valid schema rejected: {e}"),
        }
    }

    #[test]
    fn property_types_accept_their_json_values_only() {
        let cases = [
            (PropertyType::String, json!("x"), true),
            (PropertyType::String, json!(1), false),
            (PropertyType::Integer, json!(-3), true),
            (PropertyType::Integer, json!(u64::MAX), true),
            (PropertyType::Integer, json!(1.5), false),
            (PropertyType::Float, json!(1.5), true),
            (PropertyType::Float, json!(2), true),
            (PropertyType::Float, json!("1.5"), false),
            (PropertyType::Boolean, json!(true), true),
            (PropertyType::Boolean, json!(0), false),
            (PropertyType::Vector, json!([0.5, 1]), true),
            (PropertyType::Vector, json!([]), false),
            (PropertyType::Vector, json!([0.5, "x"]), false),
        ];
        for (ty, value, accepted) in cases {
            assert_eq!(ty.accepts(&value), accepted, "{} {value}", ty.name());
        }
    }

    #[test]
    fn conforming_nodes_pass() {
        let s = people();
        for payload in [
            json!({"_labels": ["Person"], "name": "Ann", "age": 30, "emb": [0.1, 0.2]}),
            json!({"_labels": ["Person"]}),
            json!({"_labels": ["Person"], "age": null}),
            json!({"_labels": ["Person", "Admin"], "name": "Root", "level": 2}),
            json!({"_labels": ["Company"], "name": "Acme"}),
        ] {
            assert_eq!(s.check_node(1, &payload), Ok(()), "{payload}");
        }
    }

    #[test]
    fn nonconforming_nodes_say_why() {
        let s = people();
        for (payload, why) in [
            (json!({"name": "Ann"}), "no node type"),
            (json!({"_labels": []}), "no node type"),
            (json!(null), "no payload"),
            (json!([1]), "not a JSON object"),
            (json!({"_labels": "Person"}), "must be an array"),
            (json!({"_labels": [7]}), "not a string"),
            (
                json!({"_labels": ["Robot"]}),
                "Robot is not a declared node type",
            ),
            (
                json!({"_labels": ["Company"], "age": 3}),
                "property age is not declared by its node type Company",
            ),
            (
                json!({"_labels": ["Person"], "age": "old"}),
                "property age must be INTEGER",
            ),
            (
                json!({"_labels": ["Person", "Admin"], "level": "high"}),
                "property level must be FLOAT",
            ),
        ] {
            match s.check_node(9, &payload) {
                Err(Error::NodeSchemaViolation { node: 9, message }) => {
                    assert!(message.contains(why), "{payload}: {message}");
                }
                other => panic!("{payload}: {other:?}"),
            }
        }
    }

    #[test]
    fn edges_follow_their_declarations() {
        let s = people();
        let ann = json!({"_labels": ["Person"]});
        let root = json!({"_labels": ["Person", "Admin"]});
        let acme = json!({"_labels": ["Company"]});
        let ok = [
            (GraphEdge::new(1, 1, 2, "WORKS_AT"), &ann, &acme),
            (GraphEdge::new(2, 1, 3, "KNOWS"), &ann, &root),
            (GraphEdge::new(3, 3, 2, "OWNS"), &root, &acme),
            (GraphEdge::new(4, 3, 2, "WORKS_AT"), &root, &acme),
        ];
        for (edge, source, target) in ok {
            assert_eq!(s.check_edge(&edge, source, target), Ok(()), "{edge:?}");
        }
        let bad = [
            (
                GraphEdge::new(5, 1, 2, "LIKES"),
                &ann,
                &acme,
                "not a declared edge type",
            ),
            (
                GraphEdge::new(6, 2, 1, "WORKS_AT"),
                &acme,
                &ann,
                "Person -> Company, not Company -> Person",
            ),
            (
                GraphEdge::new(7, 1, 2, "OWNS"),
                &ann,
                &acme,
                "not Person -> Company",
            ),
            (
                GraphEdge::new(8, 1, 2, "KNOWS"),
                &ann,
                &json!({}),
                "target node 2",
            ),
        ];
        for (edge, source, target, why) in bad {
            match s.check_edge(&edge, source, target) {
                Err(Error::EdgeSchemaViolation { edge: id, message }) => {
                    assert_eq!(id, edge.id);
                    assert!(message.contains(why), "{edge:?}: {message}");
                }
                other => panic!("{edge:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn ill_formed_schemas_are_rejected() {
        let person = || NodeType::new("Person");
        let cases: Vec<(Vec<NodeType>, Vec<EdgeType>, &str)> = vec![
            (vec![], vec![], "at least one node type"),
            (vec![NodeType::new(" ")], vec![], "blank label"),
            (vec![person(), person()], vec![], "declared twice"),
            (
                vec![person().property("_labels", PropertyType::String)],
                vec![],
                "not a property name",
            ),
            (
                vec![
                    person()
                        .property("a", PropertyType::String)
                        .property("a", PropertyType::Integer),
                ],
                vec![],
                "property a is declared twice",
            ),
            (
                vec![person()],
                vec![EdgeType::new("", "Person", "Person")],
                "blank label",
            ),
            (
                vec![person()],
                vec![EdgeType::new("KNOWS", "Person", "Robot")],
                "Robot, which is not a declared node type",
            ),
            (
                vec![person()],
                vec![
                    EdgeType::new("KNOWS", "Person", "Person"),
                    EdgeType::new("KNOWS", "Person", "Person"),
                ],
                "EDGE KNOWS FROM Person TO Person is declared twice",
            ),
        ];
        for (nodes, edges, why) in cases {
            match GraphSchema::new(nodes.clone(), edges.clone()) {
                Err(Error::InvalidSchema { message }) => {
                    assert!(message.contains(why), "{message}");
                }
                other => panic!("{nodes:?} {edges:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_schema_survives_serde_and_is_revalidated() {
        let s = people();
        let text = serde_json::to_string(&s).unwrap_or_default();
        let back: Option<GraphSchema> = serde_json::from_str(&text).ok();
        assert_eq!(back.as_ref(), Some(&s));
        assert_eq!(back.map(|b| b.validate()), Some(Ok(())));
        let broken = text.replace("\"to\":\"Company\"", "\"to\":\"Robot\"");
        let broken: Option<GraphSchema> = serde_json::from_str(&broken).ok();
        assert!(matches!(
            broken.map(|b| b.validate()),
            Some(Err(Error::InvalidSchema { .. }))
        ));
    }
}
