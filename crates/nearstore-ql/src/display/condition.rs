//! Printing conditions.

use std::fmt;

use super::{DottedPath, Quoted, comma_separated, option_list};
use crate::ast::{CompareOp, Condition, Expr, FusionClause};

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::And(parts) => write_parts(f, parts, " AND ", |c| {
                matches!(c, Condition::And(_) | Condition::Or(_))
            }),
            Condition::Or(parts) => {
                write_parts(f, parts, " OR ", |c| matches!(c, Condition::Or(_)))
            }
            Condition::Not(inner) => match **inner {
                Condition::And(_) | Condition::Or(_) => write!(f, "NOT ({inner})"),
                _ => write!(f, "NOT {inner}"),
            },
            Condition::Group(inner) => write!(f, "({inner})"),
            Condition::VectorNear { field, vector } => {
                write!(f, "{} NEAR {vector}", DottedPath(field))
            }
            Condition::VectorNearFused {
                field,
                vectors,
                fusion,
            } => {
                write!(f, "{} NEAR_FUSED [", DottedPath(field))?;
                comma_separated(f, vectors, |f, v| write!(f, "{v}"))?;
                f.write_str("]")?;
                match fusion {
                    Some(FusionClause {
                        strategy: Some(strategy),
                        params,
                    }) => {
                        write!(f, " USING FUSION {}", Quoted(strategy))?;
                        if !params.is_empty() {
                            f.write_str(" ")?;
                            option_list(f, params)?;
                        }
                        Ok(())
                    }
                    // Not produced by the parser: the predicate form always names a strategy.
                    Some(FusionClause { strategy: None, .. }) | None => Ok(()),
                }
            }
            Condition::SparseNear {
                field,
                vector,
                index,
            } => {
                write!(f, "{} SPARSE_NEAR {vector}", DottedPath(field))?;
                if let Some(index) = index {
                    write!(f, " USING {}", Quoted(index))?;
                }
                Ok(())
            }
            Condition::SimilarityThreshold {
                field,
                vector,
                op,
                value,
            } => {
                write!(
                    f,
                    "SIMILARITY({}, {vector}) {op} {value}",
                    DottedPath(field)
                )
            }
            Condition::TextMatch {
                field: Some(field),
                text,
            } => write!(f, "{} MATCH {text}", DottedPath(field)),
            Condition::TextMatch { field: None, text } => write!(f, "MATCH {text}"),
            Condition::Compare { left, op, right } => write!(f, "{left} {op} {right}"),
            Condition::In {
                path,
                negated,
                values,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{} {not}IN ", DottedPath(path))?;
                value_list(f, values)
            }
            Condition::Between { path, low, high } => {
                write!(f, "{} BETWEEN {low} AND {high}", DottedPath(path))
            }
            Condition::Like {
                path,
                negated,
                case_insensitive,
                pattern,
            } => {
                let not = if *negated { "NOT " } else { "" };
                let like = if *case_insensitive { "ILIKE" } else { "LIKE" };
                write!(f, "{} {not}{like} {pattern}", DottedPath(path))
            }
            Condition::IsNull { path, negated } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{} IS {not}NULL", DottedPath(path))
            }
            Condition::Contains { path, value } => {
                write!(f, "{} CONTAINS {value}", DottedPath(path))
            }
            Condition::ContainsAny { path, values } => {
                write!(f, "{} CONTAINS ANY ", DottedPath(path))?;
                value_list(f, values)
            }
            Condition::ContainsAll { path, values } => {
                write!(f, "{} CONTAINS ALL ", DottedPath(path))?;
                value_list(f, values)
            }
            Condition::ContainsText { path, text } => {
                write!(f, "{} CONTAINS_TEXT {text}", DottedPath(path))
            }
            Condition::GeoDistance {
                path,
                lat,
                lon,
                op,
                meters,
            } => {
                write!(
                    f,
                    "GEO_DISTANCE({}, {lat}, {lon}) {op} {meters}",
                    DottedPath(path)
                )
            }
            Condition::GeoBbox {
                path,
                lat_min,
                lon_min,
                lat_max,
                lon_max,
            } => write!(
                f,
                "GEO_BBOX({}, {lat_min}, {lon_min}, {lat_max}, {lon_max})",
                DottedPath(path)
            ),
            Condition::GraphMatch(pattern) => write!(f, "MATCH {pattern}"),
        }
    }
}

fn write_parts(
    f: &mut fmt::Formatter<'_>,
    parts: &[Condition],
    separator: &str,
    needs_parentheses: impl Fn(&Condition) -> bool,
) -> fmt::Result {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        if needs_parentheses(part) {
            write!(f, "({part})")?;
        } else {
            write!(f, "{part}")?;
        }
    }
    Ok(())
}

/// `(v, ...)`; a lone subquery is printed once, as `(SELECT ...)`.
fn value_list(f: &mut fmt::Formatter<'_>, values: &[Expr]) -> fmt::Result {
    if let [Expr::Subquery(query)] = values {
        return write!(f, "({query})");
    }
    f.write_str("(")?;
    comma_separated(f, values, |f, v| write!(f, "{v}"))?;
    f.write_str(")")
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CompareOp::Eq => "=",
            CompareOp::NotEq => "!=",
            CompareOp::Lt => "<",
            CompareOp::LtEq => "<=",
            CompareOp::Gt => ">",
            CompareOp::GtEq => ">=",
        })
    }
}
