//! Graph patterns and the `MATCH ... RETURN ...` statement.

use super::{Parser, Result};
use crate::ast::{
    Direction, GraphPattern, Hop, HopRange, MatchQuery, NodePattern, OptionList,
    RelationshipPattern, SelectItem, Statement,
};
use crate::token::{Span, TokenKind};

impl Parser<'_> {
    /// `MATCH pattern [WHERE cond] RETURN items [ORDER BY ...] [LIMIT n]`.
    pub(super) fn match_statement(&mut self) -> Result<Statement> {
        self.expect_keyword("MATCH")?;
        let pattern = self.graph_pattern()?;
        let mut further_parts = Vec::new();
        while self.eat(&TokenKind::Comma) {
            further_parts.push(self.graph_pattern()?);
        }
        let filter = if self.eat_keyword("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        self.expect_keyword("RETURN")?;
        let mut returns = vec![self.return_item()?];
        while self.eat(&TokenKind::Comma) {
            returns.push(self.return_item()?);
        }
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            order_by = self.order_items()?;
        }
        let limit = if self.eat_keyword("LIMIT") {
            Some(self.unsigned("LIMIT")?)
        } else {
            None
        };
        Ok(Statement::Match(MatchQuery {
            pattern,
            further_parts,
            filter,
            returns,
            order_by,
            limit,
        }))
    }

    fn return_item(&mut self) -> Result<SelectItem> {
        if self.eat(&TokenKind::Star) {
            return Ok(SelectItem::Wildcard);
        }
        let expr = self.expr()?;
        Ok(SelectItem::Expr {
            expr,
            alias: self.alias()?,
        })
    }

    /// `(node)` followed by any number of `-[rel]->(node)` / `<-[rel]-(node)` / `-[rel]-(node)`.
    pub(super) fn graph_pattern(&mut self) -> Result<GraphPattern> {
        let start = self.node_pattern()?;
        let mut hops = Vec::new();
        loop {
            let incoming = match self.peek() {
                TokenKind::Lt if matches!(self.peek_at(1), TokenKind::Minus) => true,
                TokenKind::Minus => false,
                _ => {
                    self.note("`-[`");
                    self.note("`<-[`");
                    break;
                }
            };
            if incoming {
                self.advance();
            }
            self.advance();
            let relationship = self.relationship_pattern(incoming)?;
            hops.push(Hop {
                relationship,
                node: self.node_pattern()?,
            });
        }
        Ok(GraphPattern { start, hops })
    }

    /// `(alias:Label:A|B@collection {k: v, ...})`.
    fn node_pattern(&mut self) -> Result<NodePattern> {
        self.expect(&TokenKind::LParen)?;
        let alias = if self.at_name() {
            Some(self.name()?)
        } else {
            None
        };
        let mut labels = Vec::new();
        let mut label_alternatives = Vec::new();
        while self.eat(&TokenKind::Colon) {
            let first = self.any_name()?;
            if !matches!(self.peek(), TokenKind::Pipe) {
                self.note("`|`");
                labels.push(first);
                continue;
            }
            let mut group = vec![first];
            while self.eat(&TokenKind::Pipe) {
                group.push(self.any_name()?);
            }
            label_alternatives.push(group);
        }
        let collection = if self.eat(&TokenKind::At) {
            Some(self.any_name()?)
        } else {
            None
        };
        let properties = self.property_map()?;
        self.expect(&TokenKind::RParen)?;
        Ok(NodePattern {
            alias,
            labels,
            label_alternatives,
            collection,
            properties,
        })
    }

    /// After the leading `-` (or `<-`): `[alias:T1|T2*min..max {k: v}]` then `->` or `-`;
    /// or, bracketless, `->` / `-` alone (`(a)-->(b)`, `(a)<--(b)`, `(a)--(b)`: any type).
    fn relationship_pattern(&mut self, incoming: bool) -> Result<RelationshipPattern> {
        if self.eat(&TokenKind::Minus) {
            return Ok(RelationshipPattern {
                alias: None,
                types: Vec::new(),
                direction: self.direction_after_dash(incoming),
                length: None,
                properties: Vec::new(),
            });
        }
        self.note("`-`");
        self.expect(&TokenKind::LBracket)?;
        let alias = if self.at_name() {
            Some(self.name()?)
        } else {
            None
        };
        let mut types = Vec::new();
        if self.eat(&TokenKind::Colon) {
            types.push(self.any_name()?);
            while self.eat(&TokenKind::Pipe) {
                types.push(self.any_name()?);
            }
        }
        let length = if self.eat(&TokenKind::Star) {
            Some(self.hop_range()?)
        } else {
            None
        };
        let properties = self.property_map()?;
        self.expect(&TokenKind::RBracket)?;
        self.expect(&TokenKind::Minus)?;
        let direction = self.direction_after_dash(incoming);
        Ok(RelationshipPattern {
            alias,
            types,
            direction,
            length,
            properties,
        })
    }

    /// The direction once a relationship's closing `-` is read: `<-...-` is incoming,
    /// `-...->` outgoing, `-...-` undirected.
    fn direction_after_dash(&mut self, incoming: bool) -> Direction {
        if incoming {
            Direction::Incoming
        } else if self.eat(&TokenKind::Gt) {
            Direction::Outgoing
        } else {
            self.note("`>`");
            Direction::Undirected
        }
    }

    /// After `*`: nothing, `n`, `n..`, `..m` or `n..m`; a minimum above the maximum is an
    /// error here, where it is written.
    fn hop_range(&mut self) -> Result<HopRange> {
        let start = self.span();
        let min = self.hop_count()?;
        if self.eat(&TokenKind::DotDot) {
            let max = self.hop_count()?;
            if let (Some(lo), Some(hi)) = (min, max)
                && lo > hi
            {
                let end = self
                    .tokens
                    .get(self.pos.saturating_sub(1))
                    .map_or(start, |t| t.span);
                return Err(self.invalid(
                    format!("hop range *{lo}..{hi}: the minimum is above the maximum"),
                    Span {
                        start: start.start,
                        end: end.end,
                    },
                ));
            }
            return Ok(HopRange { min, max });
        }
        Ok(HopRange { min, max: min })
    }

    fn hop_count(&mut self) -> Result<Option<u32>> {
        if !matches!(self.peek(), TokenKind::Integer(_)) {
            self.note("hop count");
            return Ok(None);
        }
        let span = self.span();
        let n = self.unsigned("hop count")?;
        u32::try_from(n)
            .map(Some)
            .map_err(|_| self.invalid("hop count does not fit in 32 bits", span))
    }

    /// `{key: value, ...}` if present.
    fn property_map(&mut self) -> Result<OptionList> {
        let mut properties = Vec::new();
        if !self.eat(&TokenKind::LBrace) {
            return Ok(properties);
        }
        if self.eat(&TokenKind::RBrace) {
            return Ok(properties);
        }
        loop {
            let key = self.any_name()?;
            self.expect(&TokenKind::Colon)?;
            properties.push((key, self.expr()?));
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.expect(&TokenKind::RBrace)?;
        Ok(properties)
    }
}
