//! INSERT / UPSERT, UPDATE and DELETE: the rows a WHERE matches come from one engine scan
//! (`select::matching_source_ids`), so each statement is linear in the rows it touches.

use serde_json::{Map, Value};

use super::eval::{Row, Source, eval};
use super::lower::json_of;
use super::select::matching_source_ids;
use super::statements::affected;
use super::{Context, QueryRow};
use crate::error::{Error, Result};
use crate::point::{Expiry, Point};
use std::time::Duration;

/// The column (INSERT / UPSERT) and UPDATE target holding a point's expiry time: epoch
/// milliseconds, an ISO 8601 / RFC 3339 timestamp string, or NULL for none. Never a
/// payload field.
const EXPIRES_AT: &str = "expires_at";
/// The UPDATE target `SET TTL = seconds` (any case): the point expires that long after the
/// update is applied.
const TTL: &str = "ttl";

fn row_error(n: usize, e: Error) -> Error {
    match e {
        Error::InvalidArgument(m) => Error::InvalidArgument(format!("row {}: {m}", n + 1)),
        other => other,
    }
}
use nearstore_ql::ast::{Condition, Expr, SelectItem, SelectQuery, TableRef};

/// Ids of `table`'s points matching `filter` (all points when `None`).
pub(crate) fn matching_ids(
    ctx: &Context,
    table: &str,
    filter: Option<&Condition>,
) -> Result<Vec<u64>> {
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

pub(crate) fn insert(
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
    // A collection without a default vector (metadata, a graph without embeddings, named
    // vectors only) takes rows without one.
    let vector_at = match cols.iter().position(|c| c == "vector") {
        Some(at) => Some(at),
        None if !c.config().default_vector => None,
        None => {
            return Err(Error::InvalidArgument(
                "INSERT needs a vector column".into(),
            ));
        }
    };
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
        let vector = match vector_at.map(|at| &row[at]) {
            None => Vec::new(),
            Some(Expr::Param(p)) => ctx.vector(&nearstore_ql::ast::VectorExpr::Param(p.clone()))?,
            Some(other) => other.as_vector().ok_or_else(|| {
                Error::InvalidArgument(format!("row {}: vector must be a list of numbers", n + 1))
            })?,
        };
        let mut payload = Value::Object(Map::new());
        let mut expiry = None;
        for (i, col) in cols.iter().enumerate() {
            if i == id_at || Some(i) == vector_at {
                continue;
            }
            let v = json_of(ctx, &row[i])?;
            if col == EXPIRES_AT {
                expiry = Expiry::at_from_json(&v).map_err(|e| row_error(n, e))?;
            } else if col == "payload" {
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
        let mut point = Point::new(id, vector, payload);
        point.expiry = expiry;
        points.push(point);
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

pub(crate) fn update(
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
                legs: None,
            },
            None,
        );
        let mut payload = point
            .payload
            .clone()
            .unwrap_or_else(|| Value::Object(Map::new()));
        let mut vector = point.vector.clone();
        // The point keeps its expiry time unless an assignment changes it.
        let mut expiry = point.expiry;
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
                [only] if only.eq_ignore_ascii_case(TTL) => {
                    let secs = v
                        .as_f64()
                        .filter(|s| s.is_finite() && *s >= 0.0)
                        .ok_or_else(|| {
                            Error::InvalidArgument(
                                "TTL must be set to a number of seconds >= 0".into(),
                            )
                        })?;
                    expiry = Some(Expiry::Ttl(Duration::from_secs_f64(secs.min(1e15))));
                }
                [only] if only == EXPIRES_AT => expiry = Expiry::at_from_json(&v)?,
                path => set_path(&mut payload, path, v),
            }
        }
        // The point's named dense and sparse vectors stay (an upsert replaces them all).
        let mut new = Point::new(point.id, vector, Some(payload));
        new.vectors = point.vectors;
        new.sparse = point.sparse;
        new.expiry = expiry;
        updated.push(new);
    }
    let n = updated.len();
    c.upsert(updated)?;
    Ok(affected(n))
}
