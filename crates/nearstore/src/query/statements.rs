//! Statements other than queries: DDL, DML and administration, plus EXPLAIN.

use std::cell::RefCell;
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::eval::{Row, Source, eval, lookup};
use super::lower::{json_of, lower_select, option_value};
use super::select::{matching_source_ids, run_compound, run_select_with};
use super::{Context, QueryRow, StepStats};
use crate::VectorCollection;
use crate::config::CollectionConfig;
use crate::error::{Error, Result};
use crate::point::Point;
use nearstore_distance::DistanceMetric;
use nearstore_filter::FieldIndexKind;
use nearstore_ql::ast::{
    CollectionKind, Condition, Expr, SelectItem, SelectQuery, Statement, TableRef,
};

fn unsupported(what: &str) -> Error {
    Error::Unsupported(format!("{what} is not supported yet"))
}

fn columns(pairs: Vec<(&str, Value)>) -> QueryRow {
    QueryRow::Columns(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn affected(n: usize) -> Vec<QueryRow> {
    vec![columns(vec![("affected", Value::from(n))])]
}

/// Runs one statement.
pub(crate) fn run(ctx: &Context, statement: &Statement) -> Result<Vec<QueryRow>> {
    match statement {
        Statement::Select(q) => run_select_with(ctx, q),
        Statement::Compound(c) => run_compound(ctx, &c.first, &c.rest),
        Statement::Match(_) => Err(unsupported("a graph MATCH query")),
        Statement::CreateCollection {
            kind,
            name,
            options,
            with,
            schema,
        } => {
            if *kind != CollectionKind::Vector || schema.is_some() {
                return Err(unsupported("a graph or metadata collection"));
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
            if let Some(s) = &options.storage
                && !s.eq_ignore_ascii_case("full")
            {
                return Err(unsupported(&format!("storage = '{s}'")));
            }
            let mut config = CollectionConfig::new(dim as usize, metric);
            if let Some(m) = options.m {
                config.hnsw.m = m as usize;
            }
            if let Some(ef) = options.ef_construction {
                config.hnsw.ef_construction = ef as usize;
            }
            for (key, value) in options.other.iter().chain(with) {
                let v = option_value(ctx, value)?;
                match key.as_str() {
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
        Statement::CreateIndex { collection, field } => {
            let c = ctx.db.get_vector_collection(collection)?;
            let field = field.join(".");
            let kind = infer_index_kind(&c, &field)?;
            c.create_field_index(&field, kind)?;
            Ok(vec![columns(vec![
                ("index", Value::from(field)),
                ("kind", Value::from(kind.to_string())),
            ])])
        }
        Statement::DropIndex { collection, field } => {
            let c = ctx.db.get_vector_collection(collection)?;
            let dropped = c.drop_field_index(&field.join("."))?;
            Ok(affected(usize::from(dropped)))
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
        Statement::InsertEdge { .. }
        | Statement::DeleteEdge { .. }
        | Statement::SelectEdges { .. }
        | Statement::InsertNode { .. } => Err(unsupported("a graph statement")),
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
            let ids = c.matching_ids(None, ctx.engine_deadline().as_ref())?;
            Ok(affected(c.delete(&ids)?))
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
            Ok(affected(targets.len()))
        }
        Statement::TrainQuantizer { .. } => Err(unsupported("quantization (TRAIN QUANTIZER)")),
        Statement::Explain { .. } => Err(Error::InvalidArgument("EXPLAIN cannot be nested".into())),
    }
}

/// The kind of payload index a field's values call for (from a sample of the payloads).
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
    columns(vec![
        ("name", Value::from(c.name())),
        ("points", Value::from(c.len())),
        ("dimension", Value::from(config.dim)),
        ("metric", Value::from(config.metric.name())),
        ("storage", json!(config.storage_mode)),
        ("m", Value::from(config.hnsw.m)),
        ("ef_construction", Value::from(config.hnsw.ef_construction)),
        ("ef_search", Value::from(c.ef_search())),
        ("durability", json!(config.durability)),
        ("indexes", Value::Object(indexes)),
    ])
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
    row.insert("with_payload".into(), Value::from(with_payload));
    row.insert("fields".into(), Value::Object(stats));
    Ok(vec![QueryRow::Columns(row)])
}

/// Ids of `table`'s points matching `filter` (all points when `None`).
fn matching_ids(ctx: &Context, table: &str, filter: Option<&Condition>) -> Result<Vec<u64>> {
    let q = SelectQuery {
        distinct: false,
        items: vec![SelectItem::Expr {
            expr: Expr::Path(vec!["id".into()]),
            alias: Some("id".into()),
        }],
        from: TableRef {
            name: table.to_string(),
            alias: None,
        },
        joins: Vec::new(),
        filter: filter.cloned(),
        group_by: Vec::new(),
        having: None,
        order_by: Vec::new(),
        limit: None,
        offset: None,
        with_options: Vec::new(),
        fusion: None,
    };
    if let Some(f) = filter
        && contains_near(f)
    {
        return Err(Error::InvalidArgument(
            "UPDATE / DELETE select rows by payload or id, not by NEAR".into(),
        ));
    }
    matching_source_ids(ctx, &q)
}

fn contains_near(c: &Condition) -> bool {
    match c {
        Condition::And(p) | Condition::Or(p) => p.iter().any(contains_near),
        Condition::Not(x) | Condition::Group(x) => contains_near(x),
        Condition::VectorNear { .. }
        | Condition::VectorNearFused { .. }
        | Condition::SparseNear { .. } => true,
        _ => false,
    }
}

/// Sets a dotted path inside a JSON object (creating objects on the way).
fn set_path(target: &mut Value, path: &[String], value: Value) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let mut at = target;
    for (i, seg) in path.iter().enumerate() {
        let Value::Object(m) = at else { return };
        if i + 1 == path.len() {
            m.insert(seg.clone(), value);
            return;
        }
        at = m
            .entry(seg.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
    }
}

fn insert(
    ctx: &Context,
    upsert: bool,
    table: &str,
    cols: &[String],
    rows: &[Vec<Expr>],
) -> Result<Vec<QueryRow>> {
    let c = ctx.db.get_vector_collection(table)?;
    let id_at = cols
        .iter()
        .position(|c| c == "id")
        .ok_or_else(|| Error::InvalidArgument("INSERT needs an id column".into()))?;
    let vector_at = cols
        .iter()
        .position(|c| c == "vector")
        .ok_or_else(|| Error::InvalidArgument("INSERT needs a vector column".into()))?;
    let mut points = Vec::with_capacity(rows.len());
    for (n, row) in rows.iter().enumerate() {
        if row.len() != cols.len() {
            return Err(Error::InvalidArgument(format!(
                "row {} has {} values for {} columns",
                n + 1,
                row.len(),
                cols.len()
            )));
        }
        let id = json_of(ctx, &row[id_at])?.as_u64().ok_or_else(|| {
            Error::InvalidArgument(format!("row {}: id must be a non-negative integer", n + 1))
        })?;
        let vector = match &row[vector_at] {
            Expr::Param(p) => ctx.vector(&nearstore_ql::ast::VectorExpr::Param(p.clone()))?,
            other => other.as_vector().ok_or_else(|| {
                Error::InvalidArgument(format!("row {}: vector must be a list of numbers", n + 1))
            })?,
        };
        let mut payload = Value::Object(Map::new());
        for (i, col) in cols.iter().enumerate() {
            if i == id_at || i == vector_at {
                continue;
            }
            let v = json_of(ctx, &row[i])?;
            if col == "payload" {
                match v {
                    Value::Object(m) => payload
                        .as_object_mut()
                        .into_iter()
                        .for_each(|p| p.extend(m.clone())),
                    Value::String(s) => match serde_json::from_str::<Value>(&s) {
                        Ok(Value::Object(m)) => payload
                            .as_object_mut()
                            .into_iter()
                            .for_each(|p| p.extend(m.clone())),
                        _ => {
                            return Err(Error::InvalidArgument(format!(
                                "row {}: payload must be a JSON object",
                                n + 1
                            )));
                        }
                    },
                    _ => {
                        return Err(Error::InvalidArgument(format!(
                            "row {}: payload must be a JSON object",
                            n + 1
                        )));
                    }
                }
            } else {
                let path: Vec<String> = col.split('.').map(str::to_string).collect();
                set_path(&mut payload, &path, v);
            }
        }
        let payload = payload
            .as_object()
            .is_some_and(|m| !m.is_empty())
            .then_some(payload);
        points.push(Point::new(id, vector, payload));
    }
    if !upsert {
        let ids: Vec<u64> = points.iter().map(|p| p.id).collect();
        if let Some(existing) = c.get(&ids)?.into_iter().flatten().next() {
            return Err(Error::PointExists(existing.id));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = ids.iter().find(|id| !seen.insert(**id)) {
            return Err(Error::PointExists(*dup));
        }
    }
    let n = points.len();
    c.upsert(points)?;
    Ok(affected(n))
}

fn update(
    ctx: &Context,
    table: &str,
    assignments: &[nearstore_ql::ast::Assignment],
    filter: Option<&Condition>,
) -> Result<Vec<QueryRow>> {
    let c = ctx.db.get_vector_collection(table)?;
    let ids = matching_ids(ctx, table, filter)?;
    let mut updated = Vec::with_capacity(ids.len());
    for point in c.get(&ids)?.into_iter().flatten() {
        ctx.check_deadline()?;
        let row = Row::single(
            Source {
                alias: table.to_string(),
                collection: table.to_string(),
                id: point.id,
                payload: point.payload.clone().unwrap_or(Value::Null),
                vector: Some(point.vector.clone()),
            },
            None,
        );
        let mut payload = point
            .payload
            .clone()
            .unwrap_or_else(|| Value::Object(Map::new()));
        let mut vector = point.vector.clone();
        for a in assignments {
            let v = eval(ctx, &row, &a.value)?;
            match a.path.as_slice() {
                [only] if only == "id" => {
                    return Err(Error::InvalidArgument("UPDATE cannot change id".into()));
                }
                [only] if only == "vector" => {
                    vector = v
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_f64().map(|f| f as f32))
                                .collect()
                        })
                        .ok_or_else(|| {
                            Error::InvalidArgument("vector must be set to a list of numbers".into())
                        })?;
                }
                path => set_path(&mut payload, path, v),
            }
        }
        updated.push(Point::new(point.id, vector, Some(payload)));
    }
    let n = updated.len();
    c.upsert(updated)?;
    Ok(affected(n))
}

/// EXPLAIN [ANALYZE] of a query, UPDATE or DELETE: one row per plan step.
pub(crate) fn explain(
    ctx: &Context,
    statement: &Statement,
    analyze: bool,
) -> Result<Vec<QueryRow>> {
    let stats = RefCell::new(Vec::<StepStats>::new());
    let rows_of = |s: &StepStats| {
        let mut m = vec![
            ("step", Value::from(s.step.clone())),
            ("detail", Value::from(s.detail.clone())),
        ];
        if analyze {
            m.push(("rows", Value::from(s.rows)));
            m.push(("time_us", Value::from(s.micros as u64)));
        }
        columns(m)
    };
    let select = match statement {
        Statement::Select(q) => q.clone(),
        Statement::Compound(c) => c.first.clone(),
        Statement::Delete { table, filter } => SelectQuery {
            distinct: false,
            items: vec![SelectItem::Wildcard],
            from: TableRef {
                name: table.clone(),
                alias: None,
            },
            joins: Vec::new(),
            filter: Some(filter.clone()),
            group_by: Vec::new(),
            having: None,
            order_by: Vec::new(),
            limit: Some(nearstore_ql::MAX_LIMIT),
            offset: None,
            with_options: Vec::new(),
            fusion: None,
        },
        _ => {
            return Err(unsupported(&format!(
                "EXPLAIN of {}",
                statement_kind(statement)
            )));
        }
    };
    if analyze {
        let started = Instant::now();
        let inner = Context {
            stats: Some(&stats),
            ..ctx.nested()
        };
        let out = match statement {
            Statement::Compound(c) => run_compound(&inner, &c.first, &c.rest)?,
            _ => run_select_with(&inner, &select)?,
        };
        let mut rows: Vec<QueryRow> = stats.borrow().iter().map(rows_of).collect();
        rows.push(rows_of(&StepStats {
            step: "Total".into(),
            rows: out.len(),
            micros: started.elapsed().as_micros(),
            detail: String::new(),
        }));
        return Ok(rows);
    }
    let plan = lower_select(ctx, &select)?;
    let mut steps = Vec::new();
    let source = if let Some(n) = &plan.near {
        format!(
            "VectorSearch: {} by {} (k = LIMIT + OFFSET), filter pushed down: [{}]{}",
            select.from.name,
            match &n.vector {
                nearstore_ql::ast::VectorExpr::Param(p) => format!("${p}"),
                nearstore_ql::ast::VectorExpr::Literal(v) => format!("{}-d literal", v.len()),
            },
            plan.pushed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" AND "),
            n.threshold
                .as_ref()
                .map_or(String::new(), |(op, v)| format!(
                    ", score threshold {op:?} {v}"
                )),
        )
    } else if plan.ids.is_some() {
        format!("IdLookup: {}", select.from.name)
    } else {
        format!(
            "Scan: {}, filter pushed down: [{}]",
            select.from.name,
            plan.pushed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" AND ")
        )
    };
    steps.push(("Source", source));
    for j in &select.joins {
        steps.push(("Join", format!("{:?} {}", j.kind, j.table.name)));
    }
    if !plan.residual.is_empty() {
        steps.push((
            "Filter",
            plan.residual
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" AND "),
        ));
    }
    if !select.group_by.is_empty() || select.having.is_some() {
        steps.push((
            "Aggregate",
            format!(
                "group by [{}]",
                select
                    .group_by
                    .iter()
                    .map(|p| p.join("."))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if !select.order_by.is_empty() {
        steps.push((
            "Sort",
            select
                .order_by
                .iter()
                .map(|o| format!("{}{}", o.expr, if o.descending { " DESC" } else { "" }))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    steps.push((
        "Limit",
        format!(
            "offset {}, limit {}",
            select.offset.unwrap_or(0),
            select.limit.unwrap_or(nearstore_ql::DEFAULT_LIMIT)
        ),
    ));
    Ok(steps
        .into_iter()
        .map(|(step, detail)| {
            columns(vec![
                ("step", Value::from(step)),
                ("detail", Value::from(detail)),
            ])
        })
        .collect())
}

fn statement_kind(s: &Statement) -> &'static str {
    match s {
        Statement::Match(_) => "MATCH",
        Statement::Update { .. } => "UPDATE",
        Statement::SelectEdges { .. } => "SELECT EDGES",
        _ => "this statement",
    }
}
