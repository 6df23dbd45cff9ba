//! Proptest: a graph schema accepts exactly the nodes and edges a direct reading of its rules
//! accepts, over random small schemas (three node types, two edge labels, typed properties)
//! and random payloads and edges; whatever it refuses, it refuses with the error kind of the
//! element (node or edge) and its id.

use nearstore_graph::{EdgeType, Error, GraphEdge, GraphSchema, NodeType, PropertyType};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const TYPES: [&str; 4] = ["A", "B", "C", "Undeclared"];
const EDGE_LABELS: [&str; 3] = ["R", "S", "T"];
const FIELDS: [&str; 3] = ["p", "q", "r"];
const KINDS: [PropertyType; 5] = [
    PropertyType::String,
    PropertyType::Integer,
    PropertyType::Float,
    PropertyType::Boolean,
    PropertyType::Vector,
];

/// Per declared node type (A, B, C): which fields it declares and as what.
type Declarations = Vec<Vec<(usize, usize)>>;

fn declarations() -> impl Strategy<Value = Declarations> {
    prop::collection::vec(
        prop::collection::btree_map(0..FIELDS.len(), 0..KINDS.len(), 0..3)
            .prop_map(|m| m.into_iter().collect()),
        3,
    )
}

fn edge_declarations() -> impl Strategy<Value = Vec<(usize, usize, usize)>> {
    prop::collection::btree_set((0usize..2, 0usize..3, 0usize..3), 0..5)
        .prop_map(|s| s.into_iter().collect())
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!("s")),
        Just(json!(3)),
        Just(json!(2.5)),
        Just(json!(true)),
        Just(json!([1.0, 2])),
        Just(json!([])),
    ]
}

/// A payload: `_labels` (indices into TYPES; `None` = no `_labels` field) and field values.
fn payload() -> impl Strategy<Value = (Option<Vec<usize>>, Vec<(usize, Value)>)> {
    (
        prop::option::weighted(0.9, prop::collection::vec(0..TYPES.len(), 0..3)),
        prop::collection::vec((0..FIELDS.len(), value()), 0..3),
    )
}

fn to_json((labels, fields): &(Option<Vec<usize>>, Vec<(usize, Value)>)) -> Value {
    let mut object = Map::new();
    for (field, value) in fields {
        object.insert(FIELDS[*field].to_owned(), value.clone());
    }
    if let Some(labels) = labels {
        object.insert(
            "_labels".to_owned(),
            json!(labels.iter().map(|&l| TYPES[l]).collect::<Vec<_>>()),
        );
    }
    Value::Object(object)
}

fn accepts(kind: PropertyType, value: &Value) -> bool {
    match kind {
        PropertyType::String => matches!(value, Value::String(_)),
        PropertyType::Integer => value
            .as_f64()
            .is_some_and(|_| value.is_i64() || value.is_u64()),
        PropertyType::Float => matches!(value, Value::Number(_)),
        PropertyType::Boolean => matches!(value, Value::Bool(_)),
        PropertyType::Vector => {
            matches!(value, Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_number))
        }
    }
}

/// The node's declared types per the rules, or `None` when it has none or an undeclared one.
fn node_types(labels: &Option<Vec<usize>>) -> Option<Vec<usize>> {
    let labels = labels.as_ref()?;
    if labels.is_empty() || labels.iter().any(|&l| l >= 3) {
        return None;
    }
    Some(labels.clone())
}

fn node_conforms(
    declared: &Declarations,
    node: &(Option<Vec<usize>>, Vec<(usize, Value)>),
) -> bool {
    let Some(types) = node_types(&node.0) else {
        return false;
    };
    // Later duplicates of a field win in the JSON object.
    let object = to_json(node);
    FIELDS.iter().enumerate().all(|(f, name)| {
        let Some(value) = object.get(*name) else {
            return true;
        };
        if value.is_null() {
            return true;
        }
        let kinds: Vec<usize> = types
            .iter()
            .flat_map(|&t| {
                declared[t]
                    .iter()
                    .filter(|(df, _)| *df == f)
                    .map(|&(_, k)| k)
            })
            .collect();
        !kinds.is_empty() && kinds.iter().any(|&k| accepts(KINDS[k], value))
    })
}

fn schema(declared: &Declarations, edges: &[(usize, usize, usize)]) -> GraphSchema {
    let nodes = declared
        .iter()
        .enumerate()
        .map(|(t, fields)| {
            fields.iter().fold(NodeType::new(TYPES[t]), |n, &(f, k)| {
                n.property(FIELDS[f], KINDS[k])
            })
        })
        .collect();
    let edges = edges
        .iter()
        .map(|&(l, from, to)| EdgeType::new(EDGE_LABELS[l], TYPES[from], TYPES[to]))
        .collect();
    match GraphSchema::new(nodes, edges) {
        Ok(schema) => schema,
        Err(e) => panic!("a well-formed schema was refused: {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn schema_checks_equal_the_rules(
        declared in declarations(),
        edge_types in edge_declarations(),
        source in payload(),
        target in payload(),
        label in 0..EDGE_LABELS.len(),
    ) {
        let schema = schema(&declared, &edge_types);
        for (id, node) in [(1u64, &source), (2, &target)] {
            let result = schema.check_node(id, &to_json(node));
            prop_assert_eq!(result.is_ok(), node_conforms(&declared, node), "{:?}", result);
            if let Err(e) = result {
                let named = matches!(e, Error::NodeSchemaViolation { node, .. } if node == id);
                prop_assert!(named, "{:?}", e);
            }
        }
        let edge = GraphEdge::new(9, 1, 2, EDGE_LABELS[label]);
        let expected = match (node_types(&source.0), node_types(&target.0)) {
            (Some(from), Some(to)) => edge_types
                .iter()
                .any(|&(l, f, t)| l == label && from.contains(&f) && to.contains(&t)),
            _ => false,
        };
        let result = schema.check_edge(&edge, &to_json(&source), &to_json(&target));
        prop_assert_eq!(result.is_ok(), expected, "{:?}", result);
        if let Err(e) = result {
            let named = matches!(e, Error::EdgeSchemaViolation { edge: 9, .. });
            prop_assert!(named, "{:?}", e);
        }
    }
}
