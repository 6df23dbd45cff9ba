//! Data statements: INSERT / UPSERT / UPDATE / DELETE, and the graph forms INSERT EDGE,
//! DELETE EDGE, SELECT EDGES, INSERT NODE.

use super::{Parser, Result};
use crate::ast::{Assignment, Expr, Statement};
use crate::token::{Span, TokenKind};

impl Parser<'_> {
    pub(super) fn dml_statement(&mut self) -> Result<Statement> {
        if self.eat_keyword("UPSERT") {
            return self.insert_rows(true);
        }
        if self.eat_keyword("INSERT") {
            if self.eat_keyword("EDGE") {
                return self.insert_edge();
            }
            if self.eat_keyword("NODE") {
                return self.insert_node();
            }
            return self.insert_rows(false);
        }
        if self.eat_keyword("UPDATE") {
            return self.update();
        }
        self.expect_keyword("DELETE")?;
        if self.eat_keyword("EDGE") {
            let id = self.expr()?;
            self.expect_keyword("FROM")?;
            return Ok(Statement::DeleteEdge {
                id,
                graph: self.name()?,
            });
        }
        self.expect_keyword("FROM")?;
        let table = self.name()?;
        if !self.eat_keyword("WHERE") {
            let found = self.peek().to_string();
            return Err(self.error_at(
                crate::ParseErrorKind::Syntax,
                format!(
                    "expected WHERE, found {found}: DELETE requires a WHERE clause \
                     (TRUNCATE empties a collection)"
                ),
                self.span(),
            ));
        }
        Ok(Statement::Delete {
            table,
            filter: self.condition()?,
        })
    }

    /// After `INSERT` / `UPSERT`: `INTO t (cols) VALUES (...), ...`.
    fn insert_rows(&mut self, upsert: bool) -> Result<Statement> {
        self.expect_keyword("INTO")?;
        let table = self.name()?;
        self.expect(&TokenKind::LParen)?;
        let mut columns = vec![self.name()?];
        while self.eat(&TokenKind::Comma) {
            columns.push(self.name()?);
        }
        self.expect(&TokenKind::RParen)?;
        self.expect_keyword("VALUES")?;
        let mut rows = Vec::new();
        loop {
            let start = self.expect(&TokenKind::LParen)?;
            let row = self.expr_list_until(&TokenKind::RParen)?;
            if row.len() != columns.len() {
                let span = Span {
                    start: start.start,
                    end: self.span().start,
                };
                return Err(self.invalid(
                    format!(
                        "row has {} values but {} columns are named",
                        row.len(),
                        columns.len()
                    ),
                    span,
                ));
            }
            rows.push(row);
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        Ok(Statement::Insert {
            upsert,
            table,
            columns,
            rows,
        })
    }

    fn update(&mut self) -> Result<Statement> {
        let table = self.name()?;
        self.expect_keyword("SET")?;
        let mut assignments = Vec::new();
        loop {
            let path = self.path()?;
            self.expect(&TokenKind::Eq)?;
            assignments.push(Assignment {
                path,
                value: self.expr()?,
            });
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        let filter = if self.eat_keyword("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        Ok(Statement::Update {
            table,
            assignments,
            filter,
        })
    }

    /// `( key = value, ... )` where each key is one of `keys`, each at most once; returns the
    /// values in `keys` order and the span of the closing parenthesis.
    fn keyed_settings<const N: usize>(
        &mut self,
        statement: &str,
        keys: [&str; N],
    ) -> Result<([Option<Expr>; N], Span)> {
        self.expect(&TokenKind::LParen)?;
        let mut values: [Option<Expr>; N] = std::array::from_fn(|_| None);
        loop {
            let key_span = self.span();
            let key = self.any_name()?;
            let Some(slot) = keys.iter().position(|k| k.eq_ignore_ascii_case(&key)) else {
                return Err(self.invalid(
                    format!(
                        "unknown {statement} setting `{key}`: expected {}",
                        keys.join(", ")
                    ),
                    key_span,
                ));
            };
            self.expect(&TokenKind::Eq)?;
            let value = self.expr()?;
            let already_given = values
                .get_mut(slot)
                .is_some_and(|v| v.replace(value).is_some());
            if already_given {
                let key = keys.get(slot).copied().unwrap_or_default();
                return Err(self.invalid(
                    format!("{statement} setting `{key}` is given twice"),
                    key_span,
                ));
            }
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        let close = self.expect(&TokenKind::RParen)?;
        Ok((values, close))
    }

    fn missing(&self, statement: &str, key: &str, close: Span) -> crate::ParseError {
        self.invalid(format!("{statement} needs `{key} = ...`"), close)
    }

    /// After `INSERT EDGE`: `INTO g (id = .., source = .., target = .., label = ..)
    /// [WITH PROPERTIES (...)]`.
    fn insert_edge(&mut self) -> Result<Statement> {
        self.expect_keyword("INTO")?;
        let graph = self.name()?;
        let keys = ["id", "source", "target", "label"];
        let (values, close) = self.keyed_settings("INSERT EDGE", keys)?;
        let [id, source, target, label] = values;
        let id = id.ok_or_else(|| self.missing("INSERT EDGE", "id", close))?;
        let source = source.ok_or_else(|| self.missing("INSERT EDGE", "source", close))?;
        let target = target.ok_or_else(|| self.missing("INSERT EDGE", "target", close))?;
        let label = label.ok_or_else(|| self.missing("INSERT EDGE", "label", close))?;
        let properties = if self.eat_keyword("WITH") {
            self.expect_keyword("PROPERTIES")?;
            self.option_list(true)?
        } else {
            Vec::new()
        };
        Ok(Statement::InsertEdge {
            graph,
            id,
            source,
            target,
            label,
            properties,
        })
    }

    /// After `INSERT NODE`: `INTO g (id = .. [, payload = '{json}'])`.
    fn insert_node(&mut self) -> Result<Statement> {
        self.expect_keyword("INTO")?;
        let graph = self.name()?;
        let payload_span = self.span();
        let (values, close) = self.keyed_settings("INSERT NODE", ["id", "payload"])?;
        let [id, payload] = values;
        let id = id.ok_or_else(|| self.missing("INSERT NODE", "id", close))?;
        if let Some(Expr::String(text)) = &payload {
            let is_object = serde_json::from_str::<serde_json::Value>(text)
                .map_err(|e| format!("payload is not valid JSON: {e}"))
                .and_then(|v| {
                    if v.is_object() {
                        Ok(())
                    } else {
                        Err("payload must be a JSON object".into())
                    }
                });
            if let Err(message) = is_object {
                let span = Span {
                    start: payload_span.start,
                    end: close.end,
                };
                return Err(self.invalid(message, span));
            }
        }
        Ok(Statement::InsertNode { graph, id, payload })
    }

    /// After `SELECT` when `EDGES` follows: `EDGES FROM g [WHERE cond] [LIMIT n]`.
    pub(super) fn select_edges(&mut self) -> Result<Statement> {
        self.expect_keyword("SELECT")?;
        self.expect_keyword("EDGES")?;
        self.expect_keyword("FROM")?;
        let graph = self.name()?;
        let filter = if self.eat_keyword("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        let limit = if self.eat_keyword("LIMIT") {
            Some(self.unsigned("LIMIT")?)
        } else {
            None
        };
        Ok(Statement::SelectEdges {
            graph,
            filter,
            limit,
        })
    }
}
