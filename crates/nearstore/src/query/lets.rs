//! LET bindings: constants evaluated once, and per-row LETs (`LET score = similarity()`,
//! `LET total = price * qty`) whose expression is evaluated on each row that uses the name
//! (`eval.rs`). A condition using a per-row LET is evaluated on the rows after the source
//! (never pushed down as a payload filter); where only a constant can stand (INSERT values,
//! WITH options, NEAR vectors, thresholds) a per-row LET is a clear error.

use std::collections::HashMap;

use super::Context;
use super::lower::{is_constant, json_of};
use crate::error::{Error, Result};
use nearstore_ql::ast::{Condition, Expr, Let, Path};

/// Binds the script's LETs in order: a constant expression (literals, parameters, NOW,
/// earlier constant LETs, ...) is evaluated once; any other (`similarity()`, payload fields,
/// arithmetic over them, earlier per-row LETs) is a per-row LET, evaluated on each row that
/// uses its name. A LET may use only names bound before it, so per-row LETs never cycle.
pub(crate) fn bind_lets(ctx: &mut Context, lets: &[Let]) -> Result<()> {
    for (i, binding) in lets.iter().enumerate() {
        let constants: Vec<String> = ctx.lets.keys().cloned().collect();
        if is_constant(&binding.value, &constants) {
            let v = json_of(ctx, &binding.value)?;
            ctx.row_lets.remove(&binding.name);
            ctx.lets.insert(binding.name.clone(), v);
            continue;
        }
        let names = expr_names(&binding.value);
        if let Some(later) = lets[i..].iter().find(|l| names.contains(&l.name)) {
            return Err(Error::InvalidArgument(format!(
                "LET {} = {} uses {}, which is bound {}: a LET may only use names bound \
                 before it",
                binding.name,
                binding.value,
                later.name,
                if later.name == binding.name {
                    "by this LET itself"
                } else {
                    "after it"
                }
            )));
        }
        ctx.lets.remove(&binding.name);
        ctx.row_lets
            .insert(binding.name.clone(), binding.value.clone());
    }
    Ok(())
}

/// The one-segment paths an expression mentions (candidate LET names).
pub(crate) fn expr_names(expr: &Expr) -> Vec<String> {
    fn walk(e: &Expr, out: &mut Vec<String>) {
        match e {
            Expr::Path(p) if p.len() == 1 => out.push(p[0].clone()),
            Expr::Binary { lhs, rhs, .. } => {
                walk(lhs, out);
                walk(rhs, out);
            }
            Expr::Negate(x) => walk(x, out),
            Expr::List(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(expr, &mut out);
    out
}

/// The first per-row LET name a condition uses, if any (such a condition is evaluated on
/// each row after the source, never pushed down as a payload filter).
pub(crate) fn row_let_in(cond: &Condition, row_lets: &HashMap<String, Expr>) -> Option<String> {
    let in_expr = |e: &Expr| expr_names(e).into_iter().find(|n| row_lets.contains_key(n));
    let in_path = |p: &Path| match p.as_slice() {
        [only] if row_lets.contains_key(only) => Some(only.clone()),
        _ => None,
    };
    match cond {
        Condition::And(parts) | Condition::Or(parts) => {
            parts.iter().find_map(|p| row_let_in(p, row_lets))
        }
        Condition::Not(c) | Condition::Group(c) => row_let_in(c, row_lets),
        Condition::Compare { left, right, .. } => in_expr(left).or_else(|| in_expr(right)),
        Condition::In { path, values, .. } => {
            in_path(path).or_else(|| values.iter().find_map(in_expr))
        }
        Condition::Between { path, low, high } => in_path(path)
            .or_else(|| in_expr(low))
            .or_else(|| in_expr(high)),
        Condition::Like { path, .. }
        | Condition::IsNull { path, .. }
        | Condition::Contains { path, .. }
        | Condition::ContainsAny { path, .. }
        | Condition::ContainsAll { path, .. }
        | Condition::ContainsText { path, .. }
        | Condition::GeoDistance { path, .. }
        | Condition::GeoBbox { path, .. } => in_path(path),
        Condition::SimilarityThreshold { value, .. } => in_expr(value),
        _ => None,
    }
}

/// The error for a per-row LET where only a constant can stand.
pub(crate) fn row_let_misused(name: &str, expr: &Expr, here: &Expr) -> Error {
    Error::InvalidArgument(format!(
        "LET {name} = {expr} is computed per row, so {here} is not a constant here: use a \
         per-row LET in SELECT, WHERE, GROUP BY, HAVING or ORDER BY of a query"
    ))
}
