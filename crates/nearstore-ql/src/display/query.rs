//! Printing SELECT, compound and MATCH queries and graph patterns.

use std::fmt;

use super::expr::order_items;
use super::{DottedPath, Ident, Quoted, comma_separated, option_list, path_list};
use crate::ast::{
    CompoundQuery, Direction, FusionClause, GraphPattern, HopRange, Join, JoinCondition, JoinKind,
    MatchQuery, NodePattern, OptionList, RelationshipPattern, SelectItem, SelectQuery, SetOperator,
    TableRef,
};

impl fmt::Display for SelectQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        if self.distinct {
            f.write_str("DISTINCT ")?;
        }
        comma_separated(f, &self.items, |f, item| write!(f, "{item}"))?;
        write!(f, " FROM {}", self.from)?;
        for join in &self.joins {
            write!(f, " {join}")?;
        }
        if let Some(filter) = &self.filter {
            write!(f, " WHERE {filter}")?;
        }
        if !self.group_by.is_empty() {
            f.write_str(" GROUP BY ")?;
            path_list(f, &self.group_by)?;
        }
        if let Some(having) = &self.having {
            write!(f, " HAVING {having}")?;
        }
        if !self.order_by.is_empty() {
            f.write_str(" ORDER BY ")?;
            order_items(f, &self.order_by)?;
        }
        if let Some(limit) = self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        if let Some(offset) = self.offset {
            write!(f, " OFFSET {offset}")?;
        }
        if !self.with_options.is_empty() {
            f.write_str(" WITH ")?;
            option_list(f, &self.with_options)?;
        }
        if let Some(fusion) = &self.fusion {
            write!(f, " USING FUSION {fusion}")?;
        }
        Ok(())
    }
}

/// The SELECT-level form: `(strategy = 'rrf', k = 60, ...)`.
impl fmt::Display for FusionClause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        if let Some(strategy) = &self.strategy {
            write!(f, "strategy = {}", Quoted(strategy))?;
            if !self.params.is_empty() {
                f.write_str(", ")?;
            }
        }
        comma_separated(f, &self.params, |f, (key, value)| {
            write!(f, "{} = {value}", Ident(key))
        })?;
        f.write_str(")")
    }
}

impl fmt::Display for SelectItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectItem::Wildcard => f.write_str("*"),
            SelectItem::QualifiedWildcard(alias) => write!(f, "{}.*", Ident(alias)),
            SelectItem::Expr { expr, alias } => {
                write!(f, "{expr}")?;
                if let Some(alias) = alias {
                    write!(f, " AS {}", Ident(alias))?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Ident(&self.name))?;
        if let Some(alias) = &self.alias {
            write!(f, " AS {}", Ident(alias))?;
        }
        Ok(())
    }
}

impl fmt::Display for Join {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            JoinKind::Inner => "INNER",
            JoinKind::Left => "LEFT",
            JoinKind::Right => "RIGHT",
            JoinKind::Full => "FULL",
        };
        write!(f, "{kind} JOIN {}", self.table)?;
        match &self.on {
            JoinCondition::On(left, right) => {
                write!(f, " ON {} = {}", DottedPath(left), DottedPath(right))
            }
            JoinCondition::Using(columns) => {
                f.write_str(" USING (")?;
                comma_separated(f, columns, |f, c| write!(f, "{}", Ident(c)))?;
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for SetOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SetOperator::Union => "UNION",
            SetOperator::UnionAll => "UNION ALL",
            SetOperator::Intersect => "INTERSECT",
            SetOperator::Except => "EXCEPT",
        })
    }
}

impl fmt::Display for CompoundQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first)?;
        for (op, query) in &self.rest {
            write!(f, " {op} {query}")?;
        }
        Ok(())
    }
}

impl fmt::Display for MatchQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MATCH {}", self.pattern)?;
        for part in &self.further_parts {
            write!(f, ", {part}")?;
        }
        if let Some(filter) = &self.filter {
            write!(f, " WHERE {filter}")?;
        }
        f.write_str(" RETURN ")?;
        comma_separated(f, &self.returns, |f, item| write!(f, "{item}"))?;
        if !self.order_by.is_empty() {
            f.write_str(" ORDER BY ")?;
            order_items(f, &self.order_by)?;
        }
        if let Some(limit) = self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        Ok(())
    }
}

impl fmt::Display for GraphPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.start)?;
        for hop in &self.hops {
            write!(f, "{}{}", hop.relationship, hop.node)?;
        }
        Ok(())
    }
}

/// ` {key: value, ...}` (with its leading space when `spaced`), or nothing when empty.
fn property_map(f: &mut fmt::Formatter<'_>, properties: &OptionList, spaced: bool) -> fmt::Result {
    if properties.is_empty() {
        return Ok(());
    }
    f.write_str(if spaced { " {" } else { "{" })?;
    comma_separated(f, properties, |f, (key, value)| {
        write!(f, "{}: {value}", Ident(key))
    })?;
    f.write_str("}")
}

impl fmt::Display for NodePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        if let Some(alias) = &self.alias {
            write!(f, "{}", Ident(alias))?;
        }
        for label in &self.labels {
            write!(f, ":{}", Ident(label))?;
        }
        for group in &self.label_alternatives {
            for (i, label) in group.iter().enumerate() {
                f.write_str(if i == 0 { ":" } else { "|" })?;
                write!(f, "{}", Ident(label))?;
            }
        }
        if let Some(collection) = &self.collection {
            write!(f, "@{}", Ident(collection))?;
        }
        let spaced = self.alias.is_some()
            || !self.labels.is_empty()
            || !self.label_alternatives.is_empty()
            || self.collection.is_some();
        property_map(f, &self.properties, spaced)?;
        f.write_str(")")
    }
}

impl fmt::Display for RelationshipPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.direction == Direction::Incoming {
            "<-["
        } else {
            "-["
        })?;
        if let Some(alias) = &self.alias {
            write!(f, "{}", Ident(alias))?;
        }
        for (i, ty) in self.types.iter().enumerate() {
            f.write_str(if i == 0 { ":" } else { "|" })?;
            write!(f, "{}", Ident(ty))?;
        }
        if let Some(range) = &self.length {
            write!(f, "{range}")?;
        }
        let spaced = self.alias.is_some() || !self.types.is_empty() || self.length.is_some();
        property_map(f, &self.properties, spaced)?;
        f.write_str(if self.direction == Direction::Outgoing {
            "]->"
        } else {
            "]-"
        })
    }
}

impl fmt::Display for HopRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (None, None) => f.write_str("*"),
            (Some(min), Some(max)) if min == max => write!(f, "*{min}"),
            (min, max) => {
                f.write_str("*")?;
                if let Some(min) = min {
                    write!(f, "{min}")?;
                }
                f.write_str("..")?;
                if let Some(max) = max {
                    write!(f, "{max}")?;
                }
                Ok(())
            }
        }
    }
}
