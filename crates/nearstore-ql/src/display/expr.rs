//! Printing values, arithmetic and vectors.

use std::fmt;

use super::{DottedPath, Quoted, comma_separated, path_list};
use crate::ast::{
    AggregateArgument, AggregateFunction, BinaryOp, Expr, OrderItem, SparseVectorExpr, VectorExpr,
    WindowFunction,
};

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Integer(i) => write!(f, "{i}"),
            Expr::Unsigned(u) => write!(f, "{u}"),
            Expr::Float(x) => write!(f, "{x:?}"),
            Expr::String(s) => write!(f, "{}", Quoted(s)),
            Expr::Bool(true) => f.write_str("TRUE"),
            Expr::Bool(false) => f.write_str("FALSE"),
            Expr::Null => f.write_str("NULL"),
            Expr::Param(name) => write!(f, "${name}"),
            Expr::List(items) => {
                f.write_str("[")?;
                comma_separated(f, items, |f, item| write!(f, "{item}"))?;
                f.write_str("]")
            }
            Expr::Now => f.write_str("NOW()"),
            Expr::Interval(text) => write!(f, "INTERVAL {}", Quoted(text)),
            Expr::Path(path) => write!(f, "{}", DottedPath(path)),
            Expr::Binary { op, lhs, rhs } => {
                let precedence = binary_precedence(*op);
                write_operand(f, lhs, precedence)?;
                write!(f, " {} ", op_symbol(*op))?;
                write_operand(f, rhs, precedence + 1)
            }
            // `-(5)` keeps a negated literal from folding into `-5`; `- -x` (spaced, so not
            // a comment) adds no nesting level, so printing never deepens a tree's text.
            Expr::Negate(inner) => match **inner {
                Expr::Binary { .. } | Expr::Integer(_) | Expr::Unsigned(_) | Expr::Float(_) => {
                    write!(f, "-({inner})")
                }
                Expr::Negate(_) => write!(f, "- {inner}"),
                _ => write!(f, "-{inner}"),
            },
            Expr::Similarity(None) => f.write_str("SIMILARITY()"),
            Expr::Similarity(Some(args)) => {
                write!(
                    f,
                    "SIMILARITY({}, {})",
                    DottedPath(&args.field),
                    args.vector
                )
            }
            Expr::Aggregate { function, argument } => {
                write!(f, "{}(", aggregate_name(*function))?;
                match argument {
                    AggregateArgument::Star => f.write_str("*")?,
                    AggregateArgument::Path(path) => write!(f, "{}", DottedPath(path))?,
                }
                f.write_str(")")
            }
            Expr::Window {
                function,
                partition_by,
                order_by,
            } => {
                write!(f, "{}() OVER (", window_name(*function))?;
                if !partition_by.is_empty() {
                    f.write_str("PARTITION BY ")?;
                    path_list(f, partition_by)?;
                    if !order_by.is_empty() {
                        f.write_str(" ")?;
                    }
                }
                if !order_by.is_empty() {
                    f.write_str("ORDER BY ")?;
                    order_items(f, order_by)?;
                }
                f.write_str(")")
            }
            Expr::Subquery(query) => write!(f, "({query})"),
        }
    }
}

/// An operand of a binary operator, parenthesised when it binds looser than `min`.
fn write_operand(f: &mut fmt::Formatter<'_>, operand: &Expr, min: u8) -> fmt::Result {
    match operand {
        Expr::Binary { op, .. } if binary_precedence(*op) < min => write!(f, "({operand})"),
        _ => write!(f, "{operand}"),
    }
}

fn binary_precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Add | BinaryOp::Subtract => 1,
        BinaryOp::Multiply | BinaryOp::Divide => 2,
    }
}

fn op_symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Subtract => "-",
        BinaryOp::Multiply => "*",
        BinaryOp::Divide => "/",
    }
}

fn aggregate_name(function: AggregateFunction) -> &'static str {
    match function {
        AggregateFunction::Count => "COUNT",
        AggregateFunction::Sum => "SUM",
        AggregateFunction::Avg => "AVG",
        AggregateFunction::Min => "MIN",
        AggregateFunction::Max => "MAX",
        AggregateFunction::First => "FIRST",
    }
}

fn window_name(function: WindowFunction) -> &'static str {
    match function {
        WindowFunction::RowNumber => "ROW_NUMBER",
        WindowFunction::Rank => "RANK",
        WindowFunction::DenseRank => "DENSE_RANK",
    }
}

/// `expr [DESC], ...` (ascending is the default and not printed).
pub(super) fn order_items(f: &mut fmt::Formatter<'_>, items: &[OrderItem]) -> fmt::Result {
    comma_separated(f, items, |f, item| write!(f, "{item}"))
}

impl fmt::Display for OrderItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        if self.descending {
            f.write_str(" DESC")?;
        }
        Ok(())
    }
}

impl fmt::Display for VectorExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VectorExpr::Param(name) => write!(f, "${name}"),
            VectorExpr::Literal(values) => {
                f.write_str("[")?;
                comma_separated(f, values, |f, v| write!(f, "{v:?}"))?;
                f.write_str("]")
            }
        }
    }
}

impl fmt::Display for SparseVectorExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SparseVectorExpr::Param(name) => write!(f, "${name}"),
            SparseVectorExpr::Literal(entries) => {
                f.write_str("{")?;
                comma_separated(f, entries, |f, (dim, weight)| {
                    write!(f, "{dim}: {weight:?}")
                })?;
                f.write_str("}")
            }
        }
    }
}
