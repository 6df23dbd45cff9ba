//! The graph statements: `CREATE GRAPH COLLECTION` (schemaless or `WITH SCHEMA`), `CREATE
//! METADATA COLLECTION`, `INSERT NODE`, `INSERT EDGE`, `DELETE EDGE`, `SELECT EDGES`. Each
//! only builds a call on the engine's graph API ([`crate::GraphCollection`]).

use serde_json::{Map, Value};

use super::lower::{condition_to_filter, json_of, option_value};
use super::statements::{affected, columns};
use super::{Context, QueryRow};
use crate::error::{Error, Result};
use crate::graph_collection::GraphCollectionConfig;
use nearstore_distance::DistanceMetric;
use nearstore_graph::{EdgeType, GraphEdge, GraphSchema, NodeType, PropertyType};
use nearstore_ql::ast::{self, CollectionOptions, Condition, Expr, OptionList};

/// The key an edge's own id is matched under in `SELECT EDGES ... WHERE id = ...` (`id` is
/// not a payload path in the filter model).
const EDGE_ID_KEY: &str = "\u{0}edge_id";

/// `CREATE GRAPH COLLECTION g [(dimension = n, metric = m, ...)] SCHEMALESS | WITH SCHEMA (...)`.
pub(super) fn create_graph(
    ctx: &Context,
    name: &str,
    options: &CollectionOptions,
    with: &OptionList,
    schema: Option<&ast::GraphSchema>,
) -> Result<Vec<QueryRow>> {
    let mut config = GraphCollectionConfig::schemaless();
    if let Some(schema) = schema {
        config = config.with_schema(graph_schema(schema)?);
    }
    if let Some(s) = &options.storage
        && !s.eq_ignore_ascii_case("full")
    {
        return Err(super::statements::unsupported(&format!("storage = '{s}'")));
    }
    if let Some((key, _)) = options.other.iter().chain(with).next() {
        return Err(Error::InvalidArgument(format!(
            "unknown graph collection option {key:?} (dimension, metric, m, ef_construction)"
        )));
    }
    match options.dimension {
        Some(dim) => {
            let metric: DistanceMetric = match &options.metric {
                Some(m) => m
                    .parse()
                    .map_err(|_| Error::InvalidArgument(format!("unknown metric {m:?}")))?,
                None => DistanceMetric::Cosine,
            };
            config = config.with_embedding(dim as usize, metric);
        }
        None if options.metric.is_some()
            || options.m.is_some()
            || options.ef_construction.is_some() =>
        {
            return Err(Error::InvalidArgument(format!(
                "graph collection {name}: metric, m and ef_construction describe embeddings; \
                 give (dimension = n) too"
            )));
        }
        None => {}
    }
    let mut collection_config = config.collection_config();
    if let Some(m) = options.m {
        collection_config.hnsw.m = m as usize;
    }
    if let Some(ef) = options.ef_construction {
        collection_config.hnsw.ef_construction = ef as usize;
    }
    ctx.db
        .create_collection_with_options(name, collection_config)?;
    Ok(vec![columns(vec![("created", Value::from(name))])])
}

/// `CREATE METADATA COLLECTION m`: payload-only points; no option applies.
pub(super) fn create_metadata(
    ctx: &Context,
    name: &str,
    options: &CollectionOptions,
    with: &OptionList,
    schema: Option<&ast::GraphSchema>,
) -> Result<Vec<QueryRow>> {
    if *options != CollectionOptions::default() || !with.is_empty() || schema.is_some() {
        return Err(Error::InvalidArgument(format!(
            "metadata collection {name} holds payloads only: it takes no options or schema"
        )));
    }
    ctx.db.create_metadata_collection(name)?;
    Ok(vec![columns(vec![("created", Value::from(name))])])
}

/// The language's schema as the graph crate's (checked well-formed there).
fn graph_schema(schema: &ast::GraphSchema) -> Result<GraphSchema> {
    let nodes = schema
        .nodes
        .iter()
        .map(|n| {
            n.properties
                .iter()
                .fold(NodeType::new(&n.label), |t, (p, ty)| {
                    t.property(p, property_type(*ty))
                })
        })
        .collect();
    let edges = schema
        .edges
        .iter()
        .map(|e| EdgeType::new(&e.label, &e.from, &e.to))
        .collect();
    Ok(GraphSchema::new(nodes, edges)?)
}

fn property_type(ty: ast::PropertyType) -> PropertyType {
    match ty {
        ast::PropertyType::String => PropertyType::String,
        ast::PropertyType::Integer => PropertyType::Integer,
        ast::PropertyType::Float => PropertyType::Float,
        ast::PropertyType::Boolean => PropertyType::Boolean,
        ast::PropertyType::Vector => PropertyType::Vector,
    }
}

fn id_of(ctx: &Context, expr: &Expr, what: &str) -> Result<u64> {
    json_of(ctx, expr)?
        .as_u64()
        .ok_or_else(|| Error::InvalidArgument(format!("{what} must be a non-negative integer")))
}

/// `INSERT NODE INTO g (id = n [, payload = '{json}'])`: sets the node's payload (an
/// existing node keeps its embedding).
pub(super) fn insert_node(
    ctx: &Context,
    graph: &str,
    id: &Expr,
    payload: Option<&Expr>,
) -> Result<Vec<QueryRow>> {
    let g = ctx.db.get_graph_collection(graph)?;
    let id = id_of(ctx, id, "INSERT NODE id")?;
    let payload = match payload {
        None => Value::Object(Map::new()),
        Some(expr) => match json_of(ctx, expr)? {
            Value::String(s) => serde_json::from_str(&s).map_err(|e| {
                Error::InvalidArgument(format!("INSERT NODE payload is not JSON: {e}"))
            })?,
            other => other,
        },
    };
    g.upsert_node_payload(id, payload)?;
    Ok(affected(1))
}

/// `INSERT EDGE INTO g (id = n, source = n, target = n, label = 'L') [WITH PROPERTIES (...)]`.
pub(super) fn insert_edge(
    ctx: &Context,
    graph: &str,
    parts: [&Expr; 4],
    properties: &OptionList,
) -> Result<Vec<QueryRow>> {
    let g = ctx.db.get_graph_collection(graph)?;
    let [id, source, target, label] = parts;
    let label = match json_of(ctx, label)? {
        Value::String(s) => s,
        other => {
            return Err(Error::InvalidArgument(format!(
                "INSERT EDGE label must be a string, got {other}"
            )));
        }
    };
    let mut props = Map::new();
    for (key, value) in properties {
        props.insert(key.clone(), option_value(ctx, value)?);
    }
    let edge = GraphEdge::new(
        id_of(ctx, id, "INSERT EDGE id")?,
        id_of(ctx, source, "INSERT EDGE source")?,
        id_of(ctx, target, "INSERT EDGE target")?,
        label,
    )
    .with_properties(Value::Object(props));
    g.add_edge(edge)?;
    Ok(affected(1))
}

/// `DELETE EDGE id FROM g`.
pub(super) fn delete_edge(ctx: &Context, graph: &str, id: &Expr) -> Result<Vec<QueryRow>> {
    let g = ctx.db.get_graph_collection(graph)?;
    let removed = g.remove_edge(id_of(ctx, id, "DELETE EDGE id")?)?;
    Ok(affected(usize::from(removed)))
}

/// `SELECT EDGES FROM g [WHERE cond] [LIMIT n]`: one row per edge (`id`, `source`,
/// `target`, `label`, `properties`), in id order; the condition sees those names and the
/// edge's properties by name.
pub(super) fn select_edges(
    ctx: &Context,
    graph: &str,
    filter: Option<&Condition>,
    limit: Option<u64>,
) -> Result<Vec<QueryRow>> {
    let g = ctx.db.get_graph_collection(graph)?;
    let filter = match filter {
        Some(cond) => {
            let mut cond = cond.clone();
            rename_id(&mut cond);
            Some(condition_to_filter(ctx, &cond)?.1)
        }
        None => None,
    };
    let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let mut rows = Vec::new();
    for (i, edge) in g.all_edges()?.into_iter().enumerate() {
        if rows.len() >= limit {
            break;
        }
        if i.is_multiple_of(1024) {
            ctx.check_deadline()?;
        }
        let keep = match &filter {
            Some(f) => f.matches(&edge_document(&edge)),
            None => true,
        };
        if keep {
            rows.push(columns(vec![
                ("id", Value::from(edge.id)),
                ("source", Value::from(edge.source)),
                ("target", Value::from(edge.target)),
                ("label", Value::from(edge.label)),
                ("properties", edge.properties),
            ]));
        }
    }
    Ok(rows)
}

/// What a `SELECT EDGES` condition is evaluated against: the properties, then the edge's
/// own fields (which win over a property of the same name).
fn edge_document(edge: &GraphEdge) -> Value {
    let mut doc = edge.properties.as_object().cloned().unwrap_or_default();
    doc.insert(EDGE_ID_KEY.into(), Value::from(edge.id));
    doc.insert("source".into(), Value::from(edge.source));
    doc.insert("target".into(), Value::from(edge.target));
    doc.insert("label".into(), Value::from(edge.label.clone()));
    doc.insert("properties".into(), edge.properties.clone());
    Value::Object(doc)
}

/// Points the condition's `id` paths at [`EDGE_ID_KEY`].
fn rename_id(cond: &mut Condition) {
    match cond {
        Condition::And(parts) | Condition::Or(parts) => parts.iter_mut().for_each(rename_id),
        Condition::Not(c) | Condition::Group(c) => rename_id(c),
        Condition::Compare { left, right, .. } => {
            for side in [left, right] {
                if let Expr::Path(path) = side
                    && path.len() == 1
                    && path[0] == "id"
                {
                    path[0] = EDGE_ID_KEY.to_string();
                }
            }
        }
        other => {
            if let Some(path) = super::eval::leaf_path_mut(other)
                && path.len() == 1
                && path[0] == "id"
            {
                path[0] = EDGE_ID_KEY.to_string();
            }
        }
    }
}
