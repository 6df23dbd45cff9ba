//! SELECT queries and their set-operation chains.

use super::{Parser, Result};
use crate::ast::{
    CompoundQuery, FusionClause, Join, JoinCondition, JoinKind, OptionList, SelectItem,
    SelectQuery, SetOperator, Statement, TableRef,
};
use crate::token::TokenKind;

impl Parser<'_> {
    /// A SELECT, possibly followed by `UNION [ALL]` / `INTERSECT` / `EXCEPT` SELECTs.
    pub(super) fn select_statement(&mut self) -> Result<Statement> {
        let first = self.select_query()?;
        let mut rest = Vec::new();
        while let Some(op) = self.set_operator() {
            rest.push((op, self.select_query()?));
        }
        Ok(if rest.is_empty() {
            Statement::Select(first)
        } else {
            Statement::Compound(CompoundQuery { first, rest })
        })
    }

    fn set_operator(&mut self) -> Option<SetOperator> {
        if self.eat_keyword("UNION") {
            return Some(if self.eat_keyword("ALL") {
                SetOperator::UnionAll
            } else {
                SetOperator::Union
            });
        }
        if self.eat_keyword("INTERSECT") {
            return Some(SetOperator::Intersect);
        }
        if self.eat_keyword("EXCEPT") {
            return Some(SetOperator::Except);
        }
        None
    }

    /// One `SELECT ... FROM ...` with all its clauses.
    pub(super) fn select_query(&mut self) -> Result<SelectQuery> {
        self.expect_keyword("SELECT")?;
        let distinct = self.eat_keyword("DISTINCT");
        let mut items = vec![self.select_item()?];
        while self.eat(&TokenKind::Comma) {
            items.push(self.select_item()?);
        }
        self.expect_keyword("FROM")?;
        let from = self.table_ref()?;
        let mut joins = Vec::new();
        while let Some(kind) = self.join_kind()? {
            joins.push(self.join(kind)?);
        }
        let filter = if self.eat_keyword("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        let mut group_by = Vec::new();
        if self.eat_keyword("GROUP") {
            self.expect_keyword("BY")?;
            group_by = self.path_list()?;
        }
        let having = if self.eat_keyword("HAVING") {
            Some(self.condition()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            order_by = self.order_items()?;
        }
        let (limit, offset) = self.limit_offset()?;
        let (with_options, fusion) = self.with_and_fusion()?;
        Ok(SelectQuery {
            distinct,
            items,
            from,
            joins,
            filter,
            group_by,
            having,
            order_by,
            limit,
            offset,
            with_options,
            fusion,
        })
    }

    /// `[LIMIT n] [OFFSET n]`, in either order.
    fn limit_offset(&mut self) -> Result<(Option<u64>, Option<u64>)> {
        let (mut limit, mut offset) = (None, None);
        loop {
            if limit.is_none() && self.eat_keyword("LIMIT") {
                limit = Some(self.unsigned("LIMIT")?);
            } else if offset.is_none() && self.eat_keyword("OFFSET") {
                offset = Some(self.unsigned("OFFSET")?);
            } else {
                return Ok((limit, offset));
            }
        }
    }

    /// `[WITH (...)] [USING FUSION (...)]`, in either order.
    fn with_and_fusion(&mut self) -> Result<(OptionList, Option<FusionClause>)> {
        let (mut with, mut fusion) = (None, None);
        loop {
            if with.is_none() && self.eat_keyword("WITH") {
                with = Some(self.option_list(true)?);
            } else if fusion.is_none() && self.eat_keyword("USING") {
                self.expect_keyword("FUSION")?;
                fusion = Some(self.fusion_options()?);
            } else {
                return Ok((with.unwrap_or_default(), fusion));
            }
        }
    }

    /// `(strategy = 'rrf', k = 60, ...)`, lifting the first `strategy` setting out.
    fn fusion_options(&mut self) -> Result<FusionClause> {
        let mut params = self.option_list(true)?;
        let position = params.iter().position(|(key, value)| {
            key.eq_ignore_ascii_case("strategy") && strategy_name(value).is_some()
        });
        let strategy = position.and_then(|i| strategy_name(&params.remove(i).1));
        Ok(FusionClause { strategy, params })
    }

    fn select_item(&mut self) -> Result<SelectItem> {
        if self.eat(&TokenKind::Star) {
            return Ok(SelectItem::Wildcard);
        }
        if self.at_name()
            && matches!(self.peek_at(1), TokenKind::Dot)
            && matches!(self.peek_at(2), TokenKind::Star)
        {
            let alias = self.name()?;
            self.advance();
            self.advance();
            return Ok(SelectItem::QualifiedWildcard(alias));
        }
        if !self.at_expression_start() {
            self.note("select item");
            return Err(self.unexpected());
        }
        let expr = self.expr()?;
        Ok(SelectItem::Expr {
            expr,
            alias: self.alias()?,
        })
    }

    /// `AS name`, or a bare non-reserved name.
    pub(super) fn alias(&mut self) -> Result<Option<String>> {
        if self.eat_keyword("AS") {
            return Ok(Some(self.name()?));
        }
        if self.at_name() {
            return Ok(Some(self.name()?));
        }
        Ok(None)
    }

    fn table_ref(&mut self) -> Result<TableRef> {
        let name = self.name()?;
        Ok(TableRef {
            name,
            alias: self.alias()?,
        })
    }

    /// The join kind if a join starts here.
    fn join_kind(&mut self) -> Result<Option<JoinKind>> {
        let kind = if self.eat_keyword("JOIN") {
            return Ok(Some(JoinKind::Inner));
        } else if self.eat_keyword("INNER") {
            JoinKind::Inner
        } else if self.eat_keyword("LEFT") {
            JoinKind::Left
        } else if self.eat_keyword("RIGHT") {
            JoinKind::Right
        } else if self.eat_keyword("FULL") {
            JoinKind::Full
        } else {
            return Ok(None);
        };
        if kind != JoinKind::Inner {
            self.eat_keyword("OUTER");
        }
        self.expect_keyword("JOIN")?;
        Ok(Some(kind))
    }

    fn join(&mut self, kind: JoinKind) -> Result<Join> {
        let table = self.table_ref()?;
        let on = if self.eat_keyword("ON") {
            let left = self.path()?;
            self.expect(&TokenKind::Eq)?;
            JoinCondition::On(left, self.path()?)
        } else if self.eat_keyword("USING") {
            self.expect(&TokenKind::LParen)?;
            let mut columns = vec![self.name()?];
            while self.eat(&TokenKind::Comma) {
                columns.push(self.name()?);
            }
            self.expect(&TokenKind::RParen)?;
            JoinCondition::Using(columns)
        } else {
            return Err(self.unexpected());
        };
        Ok(Join { kind, table, on })
    }
}

/// The strategy named by a `strategy = ...` value: a string or a bare word.
fn strategy_name(value: &crate::ast::Expr) -> Option<String> {
    match value {
        crate::ast::Expr::String(s) => Some(s.clone()),
        crate::ast::Expr::Path(p) if p.len() == 1 => p.first().cloned(),
        _ => None,
    }
}
