//! Rows and their evaluation: path lookup, expressions, and conditions evaluated per row.
//!
//! A row carries one source per table of the query (the FROM table first, then each joined
//! table; `None` for the missing side of an outer join), the search score when the query has
//! a vector search, and, once projected or aggregated, its named columns. Paths resolve
//! against the columns first (so ORDER BY can name a projection alias), then LET names (a
//! per-row LET is its expression evaluated on the row), then
//! a table alias prefix, then the first table: `id` is the point id, `vector` its vector, any
//! other path a payload field (missing fields are NULL).

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::Context;
use super::lower::condition_to_filter;
use super::value::{Arith, arithmetic, compare, equal, interval_seconds, now_seconds};
use crate::error::{Error, Result};
use nearstore_ql::ast::{
    AggregateFunction, BinaryOp, CompareOp, Condition, Expr, Path, SimilarityArgs,
};

/// One table's point in a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Source {
    pub alias: String,
    pub collection: String,
    pub id: u64,
    pub payload: Value,
    pub vector: Option<Vec<f32>>,
    /// Each ranking leg's score and rank in a fused search (`_legs`, see `legs.rs`).
    pub legs: Option<Value>,
}

/// A row flowing through a plan.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Row {
    pub sources: Vec<Option<Source>>,
    pub score: Option<f32>,
    pub columns: Option<Map<String, Value>>,
}

impl Row {
    pub(crate) fn single(source: Source, score: Option<f32>) -> Row {
        Row {
            sources: vec![Some(source)],
            score,
            columns: None,
        }
    }

    pub(crate) fn first(&self) -> Option<&Source> {
        self.sources.first().and_then(Option::as_ref)
    }
}

/// Follows a dotted path into a JSON value (missing: NULL).
pub(crate) fn lookup<'v>(value: &'v Value, path: &[String]) -> &'v Value {
    let mut at = value;
    for seg in path {
        match at.get(seg.as_str()) {
            Some(v) => at = v,
            None => return &Value::Null,
        }
    }
    at
}

fn source_value(s: &Source, rest: &[String]) -> Value {
    match rest {
        [only] if only == "id" => Value::from(s.id),
        [only] if only == "vector" => s
            .vector
            .as_ref()
            .map_or(Value::Null, |v| Value::from(v.clone())),
        [first, more @ ..] if first == "_legs" => match &s.legs {
            Some(legs) => lookup(legs, more).clone(),
            None => Value::Null,
        },
        _ => lookup(&s.payload, rest).clone(),
    }
}

/// The value of `path` in `row` (see the module docs for the resolution order).
pub(crate) fn resolve_path(ctx: &Context, row: &Row, path: &Path) -> Value {
    if let Some(cols) = &row.columns {
        if let Some(v) = cols.get(&path.join(".")) {
            return v.clone();
        }
        if let [alias, rest @ ..] = path.as_slice()
            && !rest.is_empty()
            && let Some(v) = cols.get(alias).map(|v| lookup(v, rest))
            && !v.is_null()
        {
            return v.clone();
        }
    }
    if let [name] = path.as_slice() {
        if let Some(v) = ctx.lets.get(name) {
            return v.clone();
        }
        // A per-row LET used by a predicate; `eval` reports its errors where it can.
        if let Some(expr) = ctx.row_lets.get(name) {
            return eval(ctx, row, expr).unwrap_or(Value::Null);
        }
    }
    if path.len() >= 2 {
        for s in row.sources.iter().flatten() {
            if s.alias == path[0] {
                return source_value(s, &path[1..]);
            }
        }
        // An alias of a table whose side of an outer join is missing.
        if ctx.aliases.iter().any(|a| *a == path[0]) {
            return Value::Null;
        }
    }
    match row.first() {
        Some(s) => source_value(s, path),
        None => Value::Null,
    }
}

/// Evaluates an expression over a row. Aggregates and window functions are looked up as
/// the columns the aggregation / window step computed (by their canonical text).
pub(crate) fn eval(ctx: &Context, row: &Row, expr: &Expr) -> Result<Value> {
    Ok(match expr {
        Expr::Integer(i) => Value::from(*i),
        Expr::Unsigned(u) => Value::from(*u),
        Expr::Float(f) => super::value::number(*f),
        Expr::String(s) => Value::String(s.clone()),
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Null => Value::Null,
        Expr::Param(name) => ctx.param(name)?.clone(),
        Expr::List(items) => Value::Array(
            items
                .iter()
                .map(|e| eval(ctx, row, e))
                .collect::<Result<_>>()?,
        ),
        Expr::Now => Value::String(super::value::format_timestamp(ctx.now)),
        Expr::Interval(text) => Value::from(interval_seconds(text)?),
        Expr::Path(p) => match p.as_slice() {
            // A per-row LET (unless a projected column of that name shadows it).
            [name]
                if ctx.row_lets.contains_key(name)
                    && !row.columns.as_ref().is_some_and(|c| c.contains_key(name)) =>
            {
                match ctx.row_lets.get(name) {
                    Some(bound) => eval(ctx, row, bound)?,
                    None => Value::Null,
                }
            }
            _ => resolve_path(ctx, row, p),
        },
        Expr::Binary { op, lhs, rhs } => {
            let op = match op {
                BinaryOp::Add => Arith::Add,
                BinaryOp::Subtract => Arith::Sub,
                BinaryOp::Multiply => Arith::Mul,
                BinaryOp::Divide => Arith::Div,
            };
            arithmetic(op, &eval(ctx, row, lhs)?, &eval(ctx, row, rhs)?)?
        }
        Expr::Negate(inner) => arithmetic(Arith::Sub, &Value::from(0), &eval(ctx, row, inner)?)?,
        Expr::Similarity(None) => match row.score {
            Some(s) => super::value::number(f64::from(s)),
            None => match row.columns.as_ref().and_then(|c| c.get(&expr.to_string())) {
                Some(v) => v.clone(),
                None => Value::Null,
            },
        },
        Expr::Similarity(Some(args)) => similarity_of(ctx, row, args)?,
        Expr::Aggregate { .. } | Expr::Window { .. } => {
            let key = expr.to_string();
            match row.columns.as_ref().and_then(|c| c.get(&key)) {
                Some(v) => v.clone(),
                None => {
                    return Err(Error::InvalidArgument(format!(
                        "{key} is only allowed in the SELECT list, HAVING or ORDER BY of a query that computes it"
                    )));
                }
            }
        }
        Expr::Subquery(q) => ctx.scalar_subquery(q)?,
    })
}

/// `similarity(field, $v)`: the collection metric's score between the row's vector and `$v`.
fn similarity_of(ctx: &Context, row: &Row, args: &SimilarityArgs) -> Result<Value> {
    let (alias, rest) = match args.field.as_slice() {
        [a, rest @ ..] if row.sources.iter().flatten().any(|s| &s.alias == a) => {
            (Some(a.as_str()), rest)
        }
        _ => (None, args.field.as_slice()),
    };
    if rest != ["vector"] {
        return Err(Error::InvalidArgument(format!(
            "similarity() takes the vector field, got {}",
            args.field.join(".")
        )));
    }
    let source = match alias {
        Some(a) => row.sources.iter().flatten().find(|s| s.alias == a),
        None => row.first(),
    };
    let Some(source) = source else {
        return Ok(Value::Null);
    };
    let query = ctx.vector(&args.vector)?;
    let (metric, vector) = ctx.vector_of(source)?;
    let score = nearstore_distance::try_distance(metric, &vector, &query)?;
    Ok(super::value::number(f64::from(score)))
}

fn compare_op(op: CompareOp, o: Ordering) -> bool {
    match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::NotEq => o != Ordering::Equal,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::LtEq => o != Ordering::Greater,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::GtEq => o != Ordering::Less,
    }
}

/// Compares two computed values; NULL on either side (or different kinds) is false, except
/// that `!=` between different kinds is true.
/// An ISO-8601 time as epoch seconds (anything else unchanged).
fn as_epoch(v: Value) -> Value {
    match v.as_str().and_then(super::value::parse_timestamp) {
        Some(t) => Value::from(t),
        None => v,
    }
}

pub(crate) fn compare_values(op: CompareOp, a: &Value, b: &Value) -> bool {
    if a.is_null() || b.is_null() {
        return false;
    }
    let same_kind = matches!(
        (a, b),
        (Value::Number(_), Value::Number(_))
            | (Value::String(_), Value::String(_))
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Array(_), Value::Array(_))
            | (Value::Object(_), Value::Object(_))
    );
    if !same_kind {
        return op == CompareOp::NotEq;
    }
    if op == CompareOp::Eq {
        return equal(a, b);
    }
    if op == CompareOp::NotEq {
        return !equal(a, b);
    }
    compare_op(op, compare(a, b))
}

/// Evaluates a condition over a row. Predicates on one table's payload are evaluated through
/// the same filter model the collection uses (so a condition means the same pushed down or
/// not); the rest (computed values, subqueries, aggregates, similarity) are evaluated here.
pub(crate) fn eval_condition(ctx: &Context, row: &Row, cond: &Condition) -> Result<bool> {
    Ok(match cond {
        Condition::And(parts) => {
            for p in parts {
                if !eval_condition(ctx, row, p)? {
                    return Ok(false);
                }
            }
            true
        }
        Condition::Or(parts) => {
            for p in parts {
                if eval_condition(ctx, row, p)? {
                    return Ok(true);
                }
            }
            false
        }
        Condition::Not(inner) => !eval_condition(ctx, row, inner)?,
        Condition::Group(inner) => eval_condition(ctx, row, inner)?,
        Condition::SimilarityThreshold {
            field,
            vector,
            op,
            value,
        } => {
            let args = SimilarityArgs {
                field: field.clone(),
                vector: vector.clone(),
            };
            let s = similarity_of(ctx, row, &args)?;
            compare_values(*op, &s, &eval(ctx, row, value)?)
        }
        Condition::Compare { left, op, right } => {
            let (mut a, mut b) = (eval(ctx, row, left)?, eval(ctx, row, right)?);
            // A time computed from NOW() against a number: epoch seconds (see lower.rs).
            if super::lower::mentions_now(left) && b.is_number() {
                a = as_epoch(a);
            }
            if super::lower::mentions_now(right) && a.is_number() {
                b = as_epoch(b);
            }
            compare_values(*op, &a, &b)
        }
        Condition::In {
            path,
            negated,
            values,
        } if values.iter().any(|v| matches!(v, Expr::Subquery(_))) => {
            let needle = resolve_path(ctx, row, path);
            let mut found = false;
            for v in values {
                let candidates = match v {
                    Expr::Subquery(q) => ctx.subquery_column(q)?,
                    other => vec![eval(ctx, row, other)?],
                };
                found |= candidates.iter().any(|c| equal(c, &needle));
            }
            found != *negated
        }
        Condition::VectorNear { .. }
        | Condition::VectorNearFused { .. }
        | Condition::SparseNear { .. } => {
            return Err(Error::InvalidArgument(
                "NEAR under OR or NOT cannot mean a k-NN search (it ranks the whole query): \
                 use it as an AND term of WHERE, in parentheses or not"
                    .into(),
            ));
        }
        Condition::TextMatch { .. } => {
            return Err(Error::InvalidArgument(
                "MATCH must be a top-level AND term of WHERE".into(),
            ));
        }
        Condition::GraphMatch(pattern) => super::graph_match::row_matches(ctx, row, pattern)?,
        leaf => {
            // A predicate on one value: resolve the value (payload field, id, a joined
            // table's field, or a column after aggregation) and evaluate the predicate
            // through the filter model on it, so it means the same pushed down or not.
            let mut local = leaf.clone();
            let Some(path) = leaf_path_mut(&mut local) else {
                return Err(Error::InvalidArgument(format!("cannot evaluate {leaf}")));
            };
            let value = resolve_path(ctx, row, path);
            // A one-segment path never names a table alias, so this is the row's value.
            *path = vec!["value".to_string()];
            let (_, filter) = condition_to_filter(ctx, &local)?;
            filter.matches(&serde_json::json!({ "value": value }))
        }
    })
}

/// The path a single-value predicate tests.
pub(crate) fn leaf_path_mut(cond: &mut Condition) -> Option<&mut Path> {
    match cond {
        Condition::In { path, .. }
        | Condition::Between { path, .. }
        | Condition::Like { path, .. }
        | Condition::IsNull { path, .. }
        | Condition::Contains { path, .. }
        | Condition::ContainsAny { path, .. }
        | Condition::ContainsAll { path, .. }
        | Condition::ContainsText { path, .. }
        | Condition::GeoDistance { path, .. }
        | Condition::GeoBbox { path, .. } => Some(path),
        _ => None,
    }
}

/// Folds values of one group with an aggregate function.
pub(crate) fn aggregate(function: AggregateFunction, values: &[Value], rows: usize) -> Value {
    let present: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
    match function {
        AggregateFunction::Count => Value::from(if values.is_empty() {
            rows
        } else {
            present.len()
        }),
        AggregateFunction::Sum | AggregateFunction::Avg => {
            let nums: Vec<f64> = present.iter().filter_map(|v| v.as_f64()).collect();
            if nums.is_empty() {
                return Value::Null;
            }
            let all_int = present.iter().all(|v| v.is_i64());
            let sum: f64 = nums.iter().sum();
            if function == AggregateFunction::Sum {
                if all_int {
                    let exact: Option<i64> = present
                        .iter()
                        .try_fold(0i64, |a, v| a.checked_add(v.as_i64()?));
                    if let Some(s) = exact {
                        return Value::from(s);
                    }
                }
                super::value::number(sum)
            } else {
                serde_json::Number::from_f64(sum / nums.len() as f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        AggregateFunction::Min => present
            .iter()
            .min_by(|a, b| compare(a, b))
            .map_or(Value::Null, |v| (*v).clone()),
        AggregateFunction::Max => present
            .iter()
            .max_by(|a, b| compare(a, b))
            .map_or(Value::Null, |v| (*v).clone()),
        AggregateFunction::First => values.first().cloned().unwrap_or(Value::Null),
    }
}

/// Seconds since the epoch at the query's start (one NOW() per query).
pub(crate) fn query_now() -> i64 {
    now_seconds()
}
