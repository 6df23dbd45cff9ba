//! Values and expressions: literals, parameters, lists, arithmetic, function calls,
//! aggregates, window functions and scalar subqueries.

use super::Path;
use super::condition::VectorExpr;
use super::query::{OrderItem, SelectQuery};

/// A value or arithmetic expression.
///
/// Numbers: an integer literal that fits `i64` is [`Expr::Integer`] (a leading `-` is part of
/// the literal), a larger one that fits `u64` (point ids are u64) is [`Expr::Unsigned`],
/// anything with a fraction or exponent is [`Expr::Float`] (always finite).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `42`, `-7`.
    Integer(i64),
    /// An integer literal above `i64::MAX` that fits `u64`: `18446744073709551615`.
    Unsigned(u64),
    /// `0.5`, `-1e-3` (finite).
    Float(f64),
    /// `'text'`.
    String(String),
    /// `TRUE` / `FALSE`.
    Bool(bool),
    /// `NULL`.
    Null,
    /// `$name` (the name without `$`).
    Param(String),
    /// `[a, b, ...]`: a bracketed list: an array value, or a dense vector when every element
    /// is a number (see [`Expr::as_vector`]).
    List(Vec<Expr>),
    /// `NOW()`.
    Now,
    /// `INTERVAL '7 days'` (the text as written).
    Interval(String),
    /// A field path, alias-qualified path, or LET name.
    Path(Path),
    /// `lhs op rhs` for `+ - * /`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `-expr` where `expr` is not a number literal (those fold into the literal).
    Negate(Box<Expr>),
    /// `similarity()` (the score of the current search) or `similarity(field, vector)`.
    Similarity(Option<SimilarityArgs>),
    /// `COUNT(*)`, `COUNT(col)`, `SUM(col)`, `AVG(col)`, `MIN(col)`, `MAX(col)`, `FIRST(col)`.
    Aggregate {
        /// Which aggregate.
        function: AggregateFunction,
        /// `*` (COUNT only) or a path.
        argument: AggregateArgument,
    },
    /// `ROW_NUMBER() | RANK() | DENSE_RANK() OVER ([PARTITION BY ...] [ORDER BY ...])`.
    Window {
        /// Which window function.
        function: WindowFunction,
        /// `PARTITION BY` paths (empty when absent).
        partition_by: Vec<Path>,
        /// `ORDER BY` items (empty when absent).
        order_by: Vec<OrderItem>,
    },
    /// `(SELECT ...)` used as a value.
    Subquery(Box<SelectQuery>),
}

/// Arithmetic operators. `*` and `/` bind tighter than `+` and `-`; all are left-associative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Subtract,
    /// `*`
    Multiply,
    /// `/`
    Divide,
}

/// The arguments of `similarity(field, vector)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarityArgs {
    /// The vector field compared.
    pub field: Path,
    /// The query vector.
    pub vector: VectorExpr,
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateFunction {
    /// `COUNT`
    Count,
    /// `SUM`
    Sum,
    /// `AVG`
    Avg,
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `FIRST`
    First,
}

/// What an aggregate is over.
#[derive(Debug, Clone, PartialEq)]
pub enum AggregateArgument {
    /// `*` (only with `COUNT`).
    Star,
    /// A field path.
    Path(Path),
}

/// Window (ranking) functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowFunction {
    /// `ROW_NUMBER()`
    RowNumber,
    /// `RANK()`
    Rank,
    /// `DENSE_RANK()`
    DenseRank,
}

impl Expr {
    /// The dense vector a list of numbers denotes (`[0.1, 2, -3e-2]`), or `None` when this is
    /// not a non-empty list of number literals.
    pub fn as_vector(&self) -> Option<Vec<f32>> {
        let Expr::List(items) = self else { return None };
        if items.is_empty() {
            return None;
        }
        items
            .iter()
            .map(|item| match item {
                Expr::Integer(i) => Some(*i as f32),
                Expr::Unsigned(u) => Some(*u as f32),
                Expr::Float(f) => Some(*f as f32),
                _ => None,
            })
            .collect()
    }

    /// The JSON value of a constant expression (numbers, strings, booleans, null, and lists
    /// of those); `None` for anything that needs evaluation (params, paths, NOW(), ...).
    pub fn to_json(&self) -> Option<serde_json::Value> {
        Some(match self {
            Expr::Integer(i) => serde_json::Value::from(*i),
            Expr::Unsigned(u) => serde_json::Value::from(*u),
            Expr::Float(f) => serde_json::Value::from(serde_json::Number::from_f64(*f)?),
            Expr::String(s) => serde_json::Value::String(s.clone()),
            Expr::Bool(b) => serde_json::Value::Bool(*b),
            Expr::Null => serde_json::Value::Null,
            Expr::List(items) => {
                serde_json::Value::Array(items.iter().map(Expr::to_json).collect::<Option<_>>()?)
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_of_numbers_is_a_vector() {
        let list = Expr::List(vec![Expr::Integer(1), Expr::Float(0.5)]);
        assert_eq!(list.as_vector(), Some(vec![1.0, 0.5]));
        assert_eq!(Expr::List(vec![]).as_vector(), None);
        assert_eq!(Expr::List(vec![Expr::String("a".into())]).as_vector(), None);
    }

    #[test]
    fn constants_convert_to_json() {
        let list = Expr::List(vec![Expr::Integer(1), Expr::String("a".into()), Expr::Null]);
        assert_eq!(list.to_json(), Some(serde_json::json!([1, "a", null])));
        assert_eq!(Expr::Param("p".into()).to_json(), None);
    }
}
