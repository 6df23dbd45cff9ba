//! Statements other than SELECT: DDL (collections, indexes, ALTER), admin statements
//! (SHOW, DESCRIBE, ANALYZE, TRUNCATE, FLUSH) and the dispatch of DML (`dml.rs`) and
//! EXPLAIN (`explain.rs`).

//! Statements other than queries: DDL, DML and administration, plus EXPLAIN.

use serde_json::{Map, Value, json};

use super::dml::{insert, matching_ids, update};
use super::eval::lookup;
use super::lower::{json_of, option_value};
use super::select::{run_compound, run_select_with};
use super::{Context, QueryRow};
use crate::VectorCollection;
use crate::config::CollectionConfig;
use crate::error::{Error, Result};
use nearstore_distance::DistanceMetric;
use nearstore_filter::FieldIndexKind;
use nearstore_ql::ast::{CollectionKind, Statement};

pub(crate) fn unsupported(what: &str) -> Error {
    Error::Unsupported(format!("{what} is not supported yet"))
}

pub(crate) fn columns(pairs: Vec<(&str, Value)>) -> QueryRow {
    QueryRow::Columns(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

pub(crate) fn affected(n: usize) -> Vec<QueryRow> {
    vec![columns(vec![("affected", Value::from(n))])]
}

/// Runs one statement.
pub(crate) fn run(ctx: &Context, statement: &Statement) -> Result<Vec<QueryRow>> {
    match statement {
        Statement::Select(q) => run_select_with(ctx, q),
        Statement::Compound(c) => run_compound(ctx, &c.first, &c.rest),
        Statement::Match(q) => super::graph_match::run_match(ctx, q),
        Statement::CreateCollection {
            kind,
            name,
            options,
            with,
            schema,
        } => {
            match kind {
                CollectionKind::Graph => {
                    return super::graph::create_graph(ctx, name, options, with, schema.as_ref());
                }
                CollectionKind::Metadata => {
                    return super::graph::create_metadata(
                        ctx,
                        name,
                        options,
                        with,
                        schema.as_ref(),
                    );
                }
                CollectionKind::Vector if schema.is_some() => {
                    return Err(Error::InvalidArgument(format!(
                        "collection {name}: WITH SCHEMA is for graph collections \
                         (CREATE GRAPH COLLECTION)"
                    )));
                }
                CollectionKind::Vector => {}
            }
            let dim = options.dimension.ok_or_else(|| {
                Error::InvalidArgument(format!("CREATE COLLECTION {name} needs (dimension = n)"))
            })?;
            let metric: DistanceMetric = match &options.metric {
                Some(m) => m
                    .parse()
                    .map_err(|_| Error::InvalidArgument(format!("unknown metric {m:?}")))?,
                None => DistanceMetric::Cosine,
            };
            let mut config = CollectionConfig::new(dim as usize, metric);
            if let Some(s) = &options.storage {
                config.storage_mode = crate::StorageMode::parse(s)?;
            }
            if let Some(m) = options.m {
                config.hnsw.m = m as usize;
            }
            if let Some(ef) = options.ef_construction {
                config.hnsw.ef_construction = ef as usize;
            }
            for (key, value) in options.other.iter().chain(with) {
                let v = option_value(ctx, value)?;
                match key.to_ascii_lowercase().as_str() {
                    // HNSW options may also be given in WITH, as the reference accepts;
                    // given both in the parentheses and in WITH is an error, not a silent pick.
                    name @ ("m" | "ef_construction") => {
                        let given = if name == "m" {
                            options.m
                        } else {
                            options.ef_construction
                        };
                        if given.is_some() {
                            return Err(Error::InvalidArgument(format!(
                                "collection option {name:?} is given twice"
                            )));
                        }
                        let n = v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                            Error::InvalidArgument(format!(
                                "collection option {name:?} must be a positive integer, got {v}"
                            ))
                        })?;
                        if name == "m" {
                            config.hnsw.m = n as usize;
                        } else {
                            config.hnsw.ef_construction = n as usize;
                        }
                    }
                    "ef_search" => config.hnsw.ef_search = v.as_u64().unwrap_or(0) as usize,
                    "durability" => {
                        let text = v.as_str().unwrap_or_default().to_string();
                        config.durability =
                            serde_json::from_value(Value::String(text.to_ascii_lowercase()))
                                .map_err(|_| {
                                    Error::InvalidArgument(format!(
                                        "durability {text:?}: expected per_write, flush or bulk"
                                    ))
                                })?;
                    }
                    "max_payload_bytes" => {
                        config.max_payload_bytes = v.as_u64().unwrap_or(0) as usize
                    }
                    // The quantizer's settings (refused by `full`: the configuration's check).
                    "oversampling" => {
                        config.quantization.oversampling = Some(v.as_f64().ok_or_else(|| {
                            Error::InvalidArgument(format!(
                                "collection option \"oversampling\" must be a number, got {v}"
                            ))
                        })? as f32);
                    }
                    "train_at" => {
                        config.quantization.train_at = Some(v.as_u64().ok_or_else(|| {
                            Error::InvalidArgument(format!(
                                "collection option \"train_at\" must be a count, got {v}"
                            ))
                        })? as usize);
                    }
                    "rabitq_bits" => {
                        let bits = v.as_u64().and_then(|b| u8::try_from(b).ok());
                        config.quantization.rabitq_bits = Some(bits.ok_or_else(|| {
                            Error::InvalidArgument(format!(
                                "collection option \"rabitq_bits\" must be 1 or 4, got {v}"
                            ))
                        })?);
                    }
                    "quantile" => {
                        config.quantization.quantile = Some(v.as_f64().ok_or_else(|| {
                            Error::InvalidArgument(format!(
                                "collection option \"quantile\" must be a number, got {v}"
                            ))
                        })? as f32);
                    }
                    other => {
                        return Err(Error::InvalidArgument(format!(
                            "unknown collection option {other:?}"
                        )));
                    }
                }
            }
            ctx.db.create_collection_with_options(name, config)?;
            Ok(vec![columns(vec![("created", Value::from(name.clone()))])])
        }
        Statement::DropCollection { name, if_exists } => match ctx.db.drop_collection(name) {
            Ok(()) => Ok(vec![columns(vec![("dropped", Value::from(name.clone()))])]),
            Err(Error::CollectionNotFound(_)) if *if_exists => Ok(affected(0)),
            Err(e) => Err(e),
        },
        Statement::CreateIndex {
            collection,
            field,
            options,
        } => {
            let c = ctx.db.get_vector_collection(collection)?;
            let field = field.join(".");
            let kind = match index_kind_option(ctx, options)? {
                Some(kind) => kind,
                None => infer_index_kind(&c, &field)?,
            };
            c.create_field_index(&field, kind)?;
            // As the reference: index DDL answers no rows (DESCRIBE shows the index).
            Ok(Vec::new())
        }
        Statement::DropIndex { collection, field } => {
            let c = ctx.db.get_vector_collection(collection)?;
            c.drop_field_index(&field.join("."))?;
            Ok(Vec::new())
        }
        Statement::CreateTextIndex {
            collection,
            field,
            options,
        } => {
            let c = ctx.db.get_vector_collection(collection)?;
            let mut analyzer = Map::new();
            for (key, value) in options {
                analyzer.insert(key.to_ascii_lowercase(), option_value(ctx, value)?);
            }
            let analyzer: nearstore_text::AnalyzerConfig =
                serde_json::from_value(Value::Object(analyzer)).map_err(|e| {
                    Error::InvalidArgument(format!("CREATE TEXT INDEX options: {e}"))
                })?;
            c.create_text_index(&field.join("."), analyzer)?;
            Ok(Vec::new())
        }
        Statement::DropTextIndex { collection, field } => {
            let c = ctx.db.get_vector_collection(collection)?;
            c.drop_text_index(&field.join("."))?;
            Ok(Vec::new())
        }
        Statement::Insert {
            upsert,
            table,
            columns: cols,
            rows,
        } => insert(ctx, *upsert, table, cols, rows),
        Statement::Update {
            table,
            assignments,
            filter,
        } => update(ctx, table, assignments, filter.as_ref()),
        Statement::Delete { table, filter } => {
            let c = ctx.db.get_vector_collection(table)?;
            let ids = matching_ids(ctx, table, Some(filter))?;
            Ok(affected(c.delete(&ids)?))
        }
        Statement::InsertEdge {
            graph,
            id,
            source,
            target,
            label,
            properties,
        } => super::graph::insert_edge(ctx, graph, [id, source, target, label], properties),
        Statement::DeleteEdge { graph, id } => super::graph::delete_edge(ctx, graph, id),
        Statement::SelectEdges {
            graph,
            filter,
            limit,
        } => super::graph::select_edges(ctx, graph, filter.as_ref(), *limit),
        Statement::InsertNode { graph, id, payload } => {
            super::graph::insert_node(ctx, graph, id, payload.as_ref())
        }
        Statement::ShowCollections => Ok(ctx
            .db
            .list_collections()
            .into_iter()
            .filter_map(|name| ctx.db.get_vector_collection(&name).ok())
            .map(|c| describe_row(&c))
            .collect()),
        Statement::Describe { name } => {
            let c = ctx.db.get_vector_collection(name)?;
            Ok(vec![describe_row(&c)])
        }
        Statement::Analyze { name } => analyze(ctx, name),
        Statement::Truncate { name } => {
            let c = ctx.db.get_vector_collection(name)?;
            let edges_before = match ctx.db.get_graph_collection(name) {
                Ok(g) => Some(g.edge_count()?),
                Err(_) => None,
            };
            // Every point goes, expired ones awaiting the purge too; deleting a graph's
            // nodes deletes their edges in the same write.
            let deleted = c.inner.truncate()?;
            let mut row = vec![("deleted_count", Value::from(deleted))];
            if let Some(before) = edges_before {
                let after = ctx.db.get_graph_collection(name)?.edge_count()?;
                row.push(("deleted_edges", Value::from(before.saturating_sub(after))));
            }
            Ok(vec![columns(row)])
        }
        Statement::AlterCollection { name, options } => {
            let c = ctx.db.get_vector_collection(name)?;
            for (key, value) in options {
                let v = json_of(ctx, value)?;
                match key.as_str() {
                    "ef_search" => {
                        let ef = v
                            .as_u64()
                            .filter(|&e| (1..=100_000).contains(&e))
                            .ok_or_else(|| {
                                Error::InvalidArgument(format!(
                                    "ef_search = {v}: expected 1..=100000"
                                ))
                            })?;
                        c.set_ef_search(ef as usize)?;
                    }
                    other => {
                        return Err(Error::InvalidArgument(format!(
                            "ALTER COLLECTION can set ef_search; {other:?} is fixed at creation"
                        )));
                    }
                }
            }
            Ok(vec![describe_row(&c)])
        }
        Statement::Flush { full, name } => {
            let targets: Vec<VectorCollection> = match name {
                Some(n) => vec![ctx.db.get_vector_collection(n)?],
                None => ctx
                    .db
                    .list_collections()
                    .iter()
                    .filter_map(|n| ctx.db.get_vector_collection(n).ok())
                    .collect(),
            };
            for c in &targets {
                if *full { c.checkpoint()? } else { c.flush()? }
            }
            Ok(vec![columns(vec![
                ("status", Value::from("ok")),
                ("full", Value::from(*full)),
                ("collections", Value::from(targets.len())),
            ])])
        }
        Statement::TrainQuantizer {
            collection,
            options,
        } => {
            let c = ctx.db.get_vector_collection(collection)?;
            check_train_options(ctx, &c, options)?;
            let trained = c.train_quantizer()?;
            Ok(vec![columns(vec![
                ("status", Value::from("ok")),
                ("collection", Value::from(collection.as_str())),
                ("storage_mode", Value::from(c.config().storage_mode.name())),
                ("trained", Value::from(trained)),
            ])])
        }
        Statement::Explain { .. } => Err(Error::InvalidArgument("EXPLAIN cannot be nested".into())),
    }
}

/// `TRAIN QUANTIZER ... WITH (type = .., m = .., k = ..)`: each setting must describe the
/// quantizer the collection has (its storage mode is fixed at creation; PQ has `dim / 4`
/// subspaces of 256 centroids); anything else is refused, never ignored.
fn check_train_options(
    ctx: &Context,
    c: &VectorCollection,
    options: &[(String, nearstore_ql::ast::Expr)],
) -> Result<()> {
    let config = c.config();
    let mode = config.storage_mode;
    for (key, value) in options {
        let v = json_of(ctx, value)?;
        let key = key.to_ascii_lowercase();
        let fits = match key.as_str() {
            "type" => v
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(mode.name())),
            "m" if mode == crate::StorageMode::Pq => {
                v.as_u64() == Some(nearstore_index::quant::pq_subspaces(config.dim) as u64)
            }
            "k" if mode == crate::StorageMode::Pq => {
                v.as_u64() == Some(nearstore_index::quant::PQ_CENTROIDS as u64)
            }
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "unknown TRAIN QUANTIZER option {key:?} for a {} collection (expected \
                     type{})",
                    mode.name(),
                    if mode == crate::StorageMode::Pq {
                        ", m, k"
                    } else {
                        ""
                    }
                )));
            }
        };
        if !fits {
            let has = match key.as_str() {
                "type" => format!("'{}'", mode.name()),
                "m" => nearstore_index::quant::pq_subspaces(config.dim).to_string(),
                _ => nearstore_index::quant::PQ_CENTROIDS.to_string(),
            };
            return Err(Error::InvalidArgument(format!(
                "TRAIN QUANTIZER {key} = {v}: collection {} has {key} = {has}, fixed at \
                 creation (storage = '...' in CREATE COLLECTION)",
                c.name()
            )));
        }
    }
    Ok(())
}

/// The kind of payload index a field's values call for (from a sample of the payloads).
/// `CREATE INDEX ... WITH (type = 'datetime')`: the kind named (`keyword`, `integer`,
/// `float`, `bool`, `datetime`); `None` without options. Other options are refused.
fn index_kind_option(
    ctx: &Context,
    options: &[(String, nearstore_ql::ast::Expr)],
) -> Result<Option<FieldIndexKind>> {
    let mut kind = None;
    for (key, value) in options {
        if !key.eq_ignore_ascii_case("type") {
            return Err(Error::InvalidArgument(format!(
                "unknown CREATE INDEX option {key:?} (the one option is type)"
            )));
        }
        let name = option_value(ctx, value)?;
        let name = name.as_str().unwrap_or_default().to_ascii_lowercase();
        kind = Some(match name.as_str() {
            "keyword" => FieldIndexKind::Keyword,
            "integer" => FieldIndexKind::Integer,
            "float" => FieldIndexKind::Float,
            "bool" => FieldIndexKind::Bool,
            "datetime" => FieldIndexKind::Datetime,
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "unknown index type {value}: keyword, integer, float, bool or datetime"
                )));
            }
        });
    }
    Ok(kind)
}

fn infer_index_kind(c: &VectorCollection, field: &str) -> Result<FieldIndexKind> {
    let path: Vec<String> = field.split('.').map(str::to_string).collect();
    let page = c.scroll(None, 1000, None)?;
    let (mut ints, mut floats, mut bools, mut strings) = (0, 0, 0, 0);
    for p in &page.points {
        let v = p
            .payload
            .as_ref()
            .map_or(&Value::Null, |pl| lookup(pl, &path));
        let items: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for x in items {
            match x {
                Value::Number(n) if n.is_i64() || n.is_u64() => ints += 1,
                Value::Number(_) => floats += 1,
                Value::Bool(_) => bools += 1,
                Value::String(_) => strings += 1,
                _ => {}
            }
        }
    }
    Ok(if strings > 0 || ints + floats + bools == 0 {
        FieldIndexKind::Keyword
    } else if floats > 0 {
        FieldIndexKind::Float
    } else if ints > 0 {
        FieldIndexKind::Integer
    } else {
        FieldIndexKind::Bool
    })
}

fn describe_row(c: &VectorCollection) -> QueryRow {
    let config = c.config();
    let indexes: Map<String, Value> = c
        .field_indexes()
        .into_iter()
        .map(|(f, k)| (f, Value::from(k.to_string())))
        .collect();
    let vectorless = config.kind != crate::CollectionKind::Vector && !config.default_vector;
    let mut row = columns(vec![
        ("name", Value::from(c.name())),
        ("type", Value::from(config.kind.name())),
        ("points", Value::from(c.len())),
        (
            "dimension",
            if vectorless {
                Value::Null
            } else {
                Value::from(config.dim)
            },
        ),
        (
            "metric",
            if vectorless {
                Value::Null
            } else {
                Value::from(config.metric.name())
            },
        ),
        ("storage", json!(config.storage_mode)),
        ("m", Value::from(config.hnsw.m)),
        ("ef_construction", Value::from(config.hnsw.ef_construction)),
        ("ef_search", Value::from(c.ef_search())),
        ("durability", json!(config.durability)),
        ("indexes", Value::Object(indexes)),
        (
            "text_fields",
            config.text.map_or(Value::Null, |t| {
                t.fields.into_iter().map(|f| Value::from(f.name)).collect()
            }),
        ),
    ]);
    if let (QueryRow::Columns(cols), Ok(g)) = (&mut row, crate::GraphCollection::new(c.clone())) {
        cols.insert(
            "edges".into(),
            g.edge_count().map_or(Value::Null, Value::from),
        );
        cols.insert(
            "schema".into(),
            Value::from(if g.schema().is_some() {
                "with schema"
            } else {
                "schemaless"
            }),
        );
    }
    row
}

fn analyze(ctx: &Context, name: &str) -> Result<Vec<QueryRow>> {
    let c = ctx.db.get_vector_collection(name)?;
    let mut fields: std::collections::BTreeMap<String, (usize, std::collections::HashSet<String>)> =
        Default::default();
    let mut with_payload = 0usize;
    for p in c.scan(&ctx.scroll_request(None).with_vector(false))? {
        if let Some(Value::Object(m)) = &p.payload {
            with_payload += 1;
            for (k, v) in m {
                let e = fields.entry(k.clone()).or_default();
                e.0 += 1;
                if e.1.len() < 10_000 {
                    e.1.insert(v.to_string());
                }
            }
        }
    }
    let stats: Map<String, Value> = fields
        .into_iter()
        .map(|(k, (present, distinct))| {
            (k, json!({"present": present, "distinct": distinct.len()}))
        })
        .collect();
    let QueryRow::Columns(mut row) = describe_row(&c) else {
        return Ok(Vec::new());
    };
    row.insert("total_points".into(), Value::from(c.len()));
    row.insert("with_payload".into(), Value::from(with_payload));
    row.insert("fields".into(), Value::Object(stats));
    Ok(vec![QueryRow::Columns(row)])
}
