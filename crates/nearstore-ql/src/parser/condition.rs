//! Conditions: `OR` over `AND` over `NOT` over primaries, where a primary is a parenthesised
//! group, a graph `MATCH`, a geo function, or an expression followed by a predicate
//! (`=`, `IN`, `BETWEEN`, `LIKE`, `IS NULL`, `CONTAINS`, `NEAR`, `MATCH 'text'`, ...).

use super::{Parser, Result};
use crate::ast::{CompareOp, Condition, Expr, FusionClause, Path};
use crate::token::{Span, TokenKind};

impl Parser<'_> {
    /// A condition (one nesting level).
    pub(super) fn condition(&mut self) -> Result<Condition> {
        self.nested(|p| {
            let mut parts = vec![p.and_condition()?];
            while p.eat_keyword("OR") {
                parts.push(p.and_condition()?);
            }
            Ok(if parts.len() == 1 {
                parts.remove(0)
            } else {
                Condition::Or(parts)
            })
        })
    }

    fn and_condition(&mut self) -> Result<Condition> {
        let mut parts = vec![self.not_condition()?];
        while self.eat_keyword("AND") {
            parts.push(self.not_condition()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::And(parts)
        })
    }

    fn not_condition(&mut self) -> Result<Condition> {
        if self.eat_keyword("NOT") {
            return self.nested(|p| Ok(Condition::Not(Box::new(p.not_condition()?))));
        }
        self.primary_condition()
    }

    fn primary_condition(&mut self) -> Result<Condition> {
        if matches!(self.peek(), TokenKind::LParen) {
            self.advance();
            let inner = self.condition()?;
            self.expect(&TokenKind::RParen)?;
            return Ok(Condition::Group(Box::new(inner)));
        }
        if self.at_keyword("MATCH") && matches!(self.peek_at(1), TokenKind::LParen) {
            self.advance();
            return Ok(Condition::GraphMatch(self.graph_pattern()?));
        }
        if self.at_keyword("MATCH")
            && matches!(self.peek_at(1), TokenKind::String(_) | TokenKind::Param(_))
        {
            self.advance();
            return Ok(Condition::TextMatch {
                field: None,
                text: self.text_value()?,
            });
        }
        let is_call = matches!(self.peek_at(1), TokenKind::LParen);
        if is_call && self.at_keyword("GEO_DISTANCE") {
            return self.geo_distance();
        }
        if is_call && self.at_keyword("GEO_BBOX") {
            return self.geo_bbox();
        }
        if !self.at_expression_start() {
            self.note("condition");
            return Err(self.unexpected());
        }
        let start = self.span();
        let left = self.expr()?;
        let left_span = Span {
            start: start.start,
            end: self.previous_end(),
        };
        if let Some(op) = self.compare_op() {
            let right = self.expr()?;
            if let Expr::Similarity(Some(args)) = left {
                return Ok(Condition::SimilarityThreshold {
                    field: args.field,
                    vector: args.vector,
                    op,
                    value: right,
                });
            }
            return Ok(Condition::Compare { left, op, right });
        }
        self.predicate(left, left_span)
    }

    /// End offset of the last consumed token.
    fn previous_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(0, |t| t.span.end)
    }

    /// Consumes a comparison operator if one is next.
    pub(super) fn compare_op(&mut self) -> Option<CompareOp> {
        let op = match self.peek() {
            TokenKind::Eq => CompareOp::Eq,
            TokenKind::NotEq => CompareOp::NotEq,
            TokenKind::Lt => CompareOp::Lt,
            TokenKind::LtEq => CompareOp::LtEq,
            TokenKind::Gt => CompareOp::Gt,
            TokenKind::GtEq => CompareOp::GtEq,
            _ => {
                self.note("comparison operator");
                return None;
            }
        };
        self.advance();
        Some(op)
    }

    fn expect_compare_op(&mut self) -> Result<CompareOp> {
        self.compare_op().ok_or_else(|| self.unexpected())
    }

    /// The predicate keywords that follow a field path.
    fn predicate(&mut self, left: Expr, left_span: Span) -> Result<Condition> {
        const KEYWORDS: [&str; 12] = [
            "NEAR",
            "NEAR_FUSED",
            "SPARSE_NEAR",
            "MATCH",
            "IN",
            "NOT",
            "BETWEEN",
            "LIKE",
            "ILIKE",
            "IS",
            "CONTAINS",
            "CONTAINS_TEXT",
        ];
        let Some(keyword) = KEYWORDS.into_iter().find(|k| self.at_keyword(k)) else {
            for k in KEYWORDS {
                self.note(k);
            }
            return Err(self.unexpected());
        };
        let Expr::Path(path) = left else {
            return Err(self.error_at(
                crate::ParseErrorKind::Syntax,
                format!("expected a field path before {keyword}"),
                left_span,
            ));
        };
        self.advance();
        match keyword {
            "NEAR" => Ok(Condition::VectorNear {
                field: path,
                vector: self.vector_expr()?,
            }),
            "NEAR_FUSED" => self.near_fused(path),
            "SPARSE_NEAR" => {
                let vector = self.sparse_vector_expr()?;
                let index = if self.at_keyword("USING")
                    && matches!(self.peek_at(1), TokenKind::String(_))
                {
                    self.advance();
                    Some(self.string_literal()?)
                } else {
                    None
                };
                Ok(Condition::SparseNear {
                    field: path,
                    vector,
                    index,
                })
            }
            "MATCH" => Ok(Condition::TextMatch {
                field: Some(path),
                text: self.text_value()?,
            }),
            "IN" => Ok(Condition::In {
                path,
                negated: false,
                values: self.value_list()?,
            }),
            "NOT" => self.negated_predicate(path),
            "BETWEEN" => {
                let low = self.expr()?;
                self.expect_keyword("AND")?;
                Ok(Condition::Between {
                    path,
                    low,
                    high: self.expr()?,
                })
            }
            "LIKE" | "ILIKE" => Ok(Condition::Like {
                path,
                negated: false,
                case_insensitive: keyword == "ILIKE",
                pattern: self.text_value()?,
            }),
            "IS" => {
                let negated = self.eat_keyword("NOT");
                self.expect_keyword("NULL")?;
                Ok(Condition::IsNull { path, negated })
            }
            "CONTAINS" => self.contains(path),
            _ => Ok(Condition::ContainsText {
                path,
                text: self.text_value()?,
            }),
        }
    }

    /// After `path NOT`: `IN`, `LIKE` or `ILIKE`.
    fn negated_predicate(&mut self, path: Path) -> Result<Condition> {
        if self.eat_keyword("IN") {
            return Ok(Condition::In {
                path,
                negated: true,
                values: self.value_list()?,
            });
        }
        let case_insensitive = if self.eat_keyword("LIKE") {
            false
        } else if self.eat_keyword("ILIKE") {
            true
        } else {
            return Err(self.unexpected());
        };
        Ok(Condition::Like {
            path,
            negated: true,
            case_insensitive,
            pattern: self.text_value()?,
        })
    }

    fn contains(&mut self, path: Path) -> Result<Condition> {
        if self.eat_keyword("ANY") {
            return Ok(Condition::ContainsAny {
                path,
                values: self.value_list()?,
            });
        }
        if self.eat_keyword("ALL") {
            return Ok(Condition::ContainsAll {
                path,
                values: self.value_list()?,
            });
        }
        Ok(Condition::Contains {
            path,
            value: self.expr()?,
        })
    }

    /// `field NEAR_FUSED [v, ...] [USING FUSION 'strategy' [(k = v, ...)]]`.
    fn near_fused(&mut self, field: Path) -> Result<Condition> {
        self.expect(&TokenKind::LBracket)?;
        let mut vectors = vec![self.vector_expr()?];
        while self.eat(&TokenKind::Comma) {
            vectors.push(self.vector_expr()?);
        }
        self.expect(&TokenKind::RBracket)?;
        let fusion = if self.at_keyword("USING")
            && self.peek_is_keyword(1, "FUSION")
            && matches!(self.peek_at(2), TokenKind::String(_))
        {
            self.advance();
            self.advance();
            let strategy = self.string_literal()?;
            let params = if matches!(self.peek(), TokenKind::LParen) {
                self.option_list(true)?
            } else {
                Vec::new()
            };
            Some(FusionClause {
                strategy: Some(strategy),
                params,
            })
        } else {
            None
        };
        Ok(Condition::VectorNearFused {
            field,
            vectors,
            fusion,
        })
    }

    /// `(value, ...)` (at least one) or `(SELECT ...)`.
    fn value_list(&mut self) -> Result<Vec<Expr>> {
        self.expect(&TokenKind::LParen)?;
        if self.at_keyword("SELECT") {
            let query = self.nested(|p| p.select_query())?;
            self.expect(&TokenKind::RParen)?;
            return Ok(vec![Expr::Subquery(Box::new(query))]);
        }
        let mut values = vec![self.expr()?];
        while self.eat(&TokenKind::Comma) {
            values.push(self.expr()?);
        }
        self.expect(&TokenKind::RParen)?;
        Ok(values)
    }

    /// A string literal or a parameter (text searches, LIKE patterns).
    fn text_value(&mut self) -> Result<Expr> {
        match self.peek().clone() {
            TokenKind::String(s) => {
                self.advance();
                Ok(Expr::String(s))
            }
            TokenKind::Param(p) => {
                self.advance();
                Ok(Expr::Param(p))
            }
            _ => {
                self.note("string");
                self.note("parameter");
                Err(self.unexpected())
            }
        }
    }

    pub(super) fn string_literal(&mut self) -> Result<String> {
        if let TokenKind::String(s) = self.peek().clone() {
            self.advance();
            return Ok(s);
        }
        self.note("string");
        Err(self.unexpected())
    }

    /// `GEO_DISTANCE(path, lat, lon) op meters`.
    fn geo_distance(&mut self) -> Result<Condition> {
        self.advance();
        self.expect(&TokenKind::LParen)?;
        let path = self.path()?;
        self.expect(&TokenKind::Comma)?;
        let lat = self.expr()?;
        self.expect(&TokenKind::Comma)?;
        let lon = self.expr()?;
        self.expect(&TokenKind::RParen)?;
        let op = self.expect_compare_op()?;
        let meters = self.expr()?;
        Ok(Condition::GeoDistance {
            path,
            lat,
            lon,
            op,
            meters,
        })
    }

    /// `GEO_BBOX(path, lat_min, lon_min, lat_max, lon_max)`.
    fn geo_bbox(&mut self) -> Result<Condition> {
        self.advance();
        self.expect(&TokenKind::LParen)?;
        let path = self.path()?;
        let mut corners = [Expr::Null, Expr::Null, Expr::Null, Expr::Null];
        for corner in &mut corners {
            self.expect(&TokenKind::Comma)?;
            *corner = self.expr()?;
        }
        self.expect(&TokenKind::RParen)?;
        let [lat_min, lon_min, lat_max, lon_max] = corners;
        Ok(Condition::GeoBbox {
            path,
            lat_min,
            lon_min,
            lat_max,
            lon_max,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::{CompareOp, Condition, Expr, Statement};

    fn filter(condition: &str) -> Condition {
        let text = format!("SELECT * FROM t WHERE {condition}");
        match crate::parse_statement(&text).unwrap() {
            Statement::Select(query) => query.filter.unwrap(),
            other => panic!("not a select: {other:?}"),
        }
    }

    fn eq(field: &str, value: i64) -> Condition {
        Condition::Compare {
            left: Expr::Path(vec![field.into()]),
            op: CompareOp::Eq,
            right: Expr::Integer(value),
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            filter("a = 1 OR b = 2 AND c = 3"),
            Condition::Or(vec![
                eq("a", 1),
                Condition::And(vec![eq("b", 2), eq("c", 3)])
            ])
        );
        assert_eq!(
            filter("a = 1 AND b = 2 OR c = 3"),
            Condition::Or(vec![
                Condition::And(vec![eq("a", 1), eq("b", 2)]),
                eq("c", 3)
            ])
        );
    }

    #[test]
    fn chains_are_flat() {
        assert_eq!(
            filter("a = 1 AND b = 2 AND c = 3"),
            Condition::And(vec![eq("a", 1), eq("b", 2), eq("c", 3)])
        );
        assert_eq!(
            filter("a = 1 OR b = 2 OR c = 3"),
            Condition::Or(vec![eq("a", 1), eq("b", 2), eq("c", 3)])
        );
    }

    #[test]
    fn not_binds_tighter_than_and() {
        assert_eq!(
            filter("NOT a = 1 AND b = 2"),
            Condition::And(vec![Condition::Not(Box::new(eq("a", 1))), eq("b", 2)])
        );
        assert_eq!(
            filter("NOT (a = 1 AND b = 2)"),
            Condition::Not(Box::new(Condition::Group(Box::new(Condition::And(vec![
                eq("a", 1),
                eq("b", 2)
            ])))))
        );
    }

    #[test]
    fn parentheses_override_precedence_and_are_kept() {
        assert_eq!(
            filter("(a = 1 OR b = 2) AND c = 3"),
            Condition::And(vec![
                Condition::Group(Box::new(Condition::Or(vec![eq("a", 1), eq("b", 2)]))),
                eq("c", 3)
            ])
        );
    }

    #[test]
    fn between_takes_its_own_and() {
        assert_eq!(
            filter("x BETWEEN 1 AND 2 AND y = 3"),
            Condition::And(vec![
                Condition::Between {
                    path: vec!["x".into()],
                    low: Expr::Integer(1),
                    high: Expr::Integer(2)
                },
                eq("y", 3)
            ])
        );
    }

    #[test]
    fn similarity_with_arguments_is_a_threshold() {
        assert!(matches!(
            filter("similarity(v, $q) > 0.5"),
            Condition::SimilarityThreshold {
                op: CompareOp::Gt,
                ..
            }
        ));
        assert!(matches!(
            filter("similarity() > 0.5"),
            Condition::Compare {
                left: Expr::Similarity(None),
                ..
            }
        ));
    }

    #[test]
    fn not_in_and_not_like() {
        assert!(matches!(
            filter("a NOT IN (1)"),
            Condition::In { negated: true, .. }
        ));
        assert!(matches!(
            filter("a NOT ILIKE 'x'"),
            Condition::Like {
                negated: true,
                case_insensitive: true,
                ..
            }
        ));
        assert!(crate::parse("SELECT * FROM t WHERE a NOT BETWEEN 1 AND 2").is_err());
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert_eq!(filter("a = 1 and not b = 2"), filter("a = 1 AND NOT b = 2"));
        assert_eq!(filter("v near $q"), filter("v NEAR $q"));
    }
}
