//! Values and arithmetic: a Pratt loop over `+ - * /` on top of unary minus and primaries
//! (literals, parameters, lists, `NOW()`, `INTERVAL`, function calls, paths, `( expr )`,
//! `(SELECT ...)`), plus the dense and sparse vector literals used by vector predicates.

use super::{Parser, Result};
use crate::ast::{
    AggregateArgument, AggregateFunction, BinaryOp, Expr, OrderItem, SimilarityArgs,
    SparseVectorExpr, VectorExpr, WindowFunction,
};
use crate::token::{Span, TokenKind};

impl Parser<'_> {
    /// An expression (one nesting level).
    pub(super) fn expr(&mut self) -> Result<Expr> {
        self.nested(|p| p.binary_expr(1))
    }

    /// Operators binding at least as tightly as `min_precedence`, left-associative.
    fn binary_expr(&mut self, min_precedence: u8) -> Result<Expr> {
        let mut lhs = self.unary_expr()?;
        loop {
            let op = match self.peek() {
                TokenKind::Plus => BinaryOp::Add,
                TokenKind::Minus => BinaryOp::Subtract,
                TokenKind::Star => BinaryOp::Multiply,
                TokenKind::Slash => BinaryOp::Divide,
                _ => break,
            };
            let precedence = precedence(op);
            if precedence < min_precedence {
                break;
            }
            let op_span = self.advance().span;
            let rhs = self.binary_expr(precedence + 1)?;
            let height = 1 + arithmetic_height(&lhs).max(arithmetic_height(&rhs));
            self.check_depth(self.depth + height, op_span)?;
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
        Ok(lhs)
    }

    /// `-number` (folded into the literal), `-expr`, or a primary.
    fn unary_expr(&mut self) -> Result<Expr> {
        if !matches!(self.peek(), TokenKind::Minus) {
            return self.primary_expr();
        }
        let minus = self.advance().span;
        match self.peek() {
            TokenKind::Integer(_) | TokenKind::Float(_) => self.number(Some(minus)),
            _ => self.nested(|p| Ok(Expr::Negate(Box::new(p.unary_expr()?)))),
        }
    }

    /// Whether the next token can begin an expression.
    pub(super) fn at_expression_start(&self) -> bool {
        match self.peek() {
            TokenKind::Word(w) => {
                !crate::keyword::is_reserved(w)
                    || ["TRUE", "FALSE", "NULL", "INTERVAL"]
                        .iter()
                        .any(|k| k.eq_ignore_ascii_case(w))
            }
            TokenKind::Integer(_)
            | TokenKind::Float(_)
            | TokenKind::String(_)
            | TokenKind::Param(_)
            | TokenKind::QuotedIdent(_)
            | TokenKind::LBracket
            | TokenKind::LParen
            | TokenKind::Minus => true,
            _ => false,
        }
    }

    /// A number literal; `minus` is the span of a `-` just before it.
    fn number(&mut self, minus: Option<Span>) -> Result<Expr> {
        let token = self.advance();
        let sign = if minus.is_some() { "-" } else { "" };
        let span = Span {
            start: minus.map_or(token.span.start, |m| m.start),
            end: token.span.end,
        };
        match token.kind {
            TokenKind::Integer(text) => {
                let signed = format!("{sign}{text}").parse::<i64>().map(Expr::Integer);
                // Point ids are u64: a positive literal above i64::MAX is still a number.
                let unsigned = || match minus {
                    None => text.parse::<u64>().ok().map(Expr::Unsigned),
                    Some(_) => None,
                };
                signed.ok().or_else(unsigned).ok_or_else(|| {
                    self.invalid(
                        format!("integer {sign}{text} does not fit in 64 bits"),
                        span,
                    )
                })
            }
            TokenKind::Float(text) => match format!("{sign}{text}").parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Expr::Float(f)),
                _ => Err(self.invalid(format!("number {sign}{text} is out of range"), span)),
            },
            _ => Err(self.unexpected()),
        }
    }

    fn primary_expr(&mut self) -> Result<Expr> {
        let token = self.peek().clone();
        match token {
            TokenKind::Integer(_) | TokenKind::Float(_) => self.number(None),
            TokenKind::String(s) => {
                self.advance();
                Ok(Expr::String(s))
            }
            TokenKind::Param(name) => {
                self.advance();
                Ok(Expr::Param(name))
            }
            TokenKind::LBracket => {
                self.advance();
                let items = self.expr_list_until(&TokenKind::RBracket)?;
                Ok(Expr::List(items))
            }
            TokenKind::LParen => {
                self.advance();
                let inner = if self.at_keyword("SELECT") {
                    Expr::Subquery(Box::new(self.nested(|p| p.select_query())?))
                } else {
                    self.expr()?
                };
                self.expect(&TokenKind::RParen)?;
                Ok(inner)
            }
            TokenKind::Word(word) => self.word_expr(&word),
            TokenKind::QuotedIdent(_) => Ok(Expr::Path(self.path()?)),
            _ => {
                self.note("expression");
                Err(self.unexpected())
            }
        }
    }

    /// Expressions separated by commas up to `close` (consumed); may be empty.
    pub(super) fn expr_list_until(&mut self, close: &TokenKind) -> Result<Vec<Expr>> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.expect(close)?;
        Ok(items)
    }

    /// Keyword literals, `INTERVAL '...'`, function calls, and paths.
    fn word_expr(&mut self, word: &str) -> Result<Expr> {
        let upper = word.to_ascii_uppercase();
        let literal = match upper.as_str() {
            "TRUE" => Some(Expr::Bool(true)),
            "FALSE" => Some(Expr::Bool(false)),
            "NULL" => Some(Expr::Null),
            _ => None,
        };
        if let Some(literal) = literal {
            self.advance();
            return Ok(literal);
        }
        if upper == "INTERVAL" {
            self.advance();
            if let TokenKind::String(text) = self.peek().clone() {
                self.advance();
                return Ok(Expr::Interval(text));
            }
            self.note("string");
            return Err(self.unexpected());
        }
        if crate::keyword::is_reserved(word) {
            self.note("expression");
            return Err(self.unexpected());
        }
        if matches!(self.peek_at(1), TokenKind::LParen) {
            return self.function_call(&upper);
        }
        Ok(Expr::Path(self.path()?))
    }

    /// `name(` ... `)` for the functions the language knows.
    fn function_call(&mut self, upper: &str) -> Result<Expr> {
        let name_span = self.span();
        let aggregate = match upper {
            "COUNT" => Some(AggregateFunction::Count),
            "SUM" => Some(AggregateFunction::Sum),
            "AVG" => Some(AggregateFunction::Avg),
            "MIN" => Some(AggregateFunction::Min),
            "MAX" => Some(AggregateFunction::Max),
            "FIRST" => Some(AggregateFunction::First),
            _ => None,
        };
        let window = match upper {
            "ROW_NUMBER" => Some(WindowFunction::RowNumber),
            "RANK" => Some(WindowFunction::Rank),
            "DENSE_RANK" => Some(WindowFunction::DenseRank),
            _ => None,
        };
        let is_known =
            aggregate.is_some() || window.is_some() || upper == "NOW" || upper == "SIMILARITY";
        if !is_known {
            let word = match self.peek() {
                TokenKind::Word(w) => w.clone(),
                other => other.to_string(),
            };
            return Err(self.error_at(
                crate::ParseErrorKind::Syntax,
                format!(
                    "unknown function `{word}`: expected COUNT, SUM, AVG, MIN, MAX, FIRST, \
                     ROW_NUMBER, RANK, DENSE_RANK, NOW or SIMILARITY"
                ),
                name_span,
            ));
        }
        self.advance();
        self.expect(&TokenKind::LParen)?;
        if let Some(function) = aggregate {
            let argument = if function == AggregateFunction::Count && self.eat(&TokenKind::Star) {
                AggregateArgument::Star
            } else {
                AggregateArgument::Path(self.path()?)
            };
            self.expect(&TokenKind::RParen)?;
            return Ok(Expr::Aggregate { function, argument });
        }
        if let Some(function) = window {
            self.expect(&TokenKind::RParen)?;
            return self.window_call(function);
        }
        if upper == "NOW" {
            self.expect(&TokenKind::RParen)?;
            return Ok(Expr::Now);
        }
        if self.eat(&TokenKind::RParen) {
            return Ok(Expr::Similarity(None));
        }
        let field = self.path()?;
        self.expect(&TokenKind::Comma)?;
        let vector = self.vector_expr()?;
        self.expect(&TokenKind::RParen)?;
        Ok(Expr::Similarity(Some(SimilarityArgs { field, vector })))
    }

    /// `OVER ([PARTITION BY path, ...] [ORDER BY item, ...])` after a window function.
    fn window_call(&mut self, function: WindowFunction) -> Result<Expr> {
        self.expect_keyword("OVER")?;
        self.expect(&TokenKind::LParen)?;
        let mut partition_by = Vec::new();
        if self.eat_keyword("PARTITION") {
            self.expect_keyword("BY")?;
            partition_by = self.path_list()?;
        }
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            order_by = self.order_items()?;
        }
        self.expect(&TokenKind::RParen)?;
        Ok(Expr::Window {
            function,
            partition_by,
            order_by,
        })
    }

    /// `expr [ASC|DESC], ...`.
    pub(super) fn order_items(&mut self) -> Result<Vec<OrderItem>> {
        let mut items = Vec::new();
        loop {
            let expr = self.expr()?;
            let descending = if self.eat_keyword("DESC") {
                true
            } else {
                self.eat_keyword("ASC");
                false
            };
            items.push(OrderItem { expr, descending });
            if !self.eat(&TokenKind::Comma) {
                return Ok(items);
            }
        }
    }

    /// `$param` or `[number, ...]` (at least one element).
    pub(super) fn vector_expr(&mut self) -> Result<VectorExpr> {
        if let TokenKind::Param(name) = self.peek().clone() {
            self.advance();
            return Ok(VectorExpr::Param(name));
        }
        self.note("parameter");
        self.expect(&TokenKind::LBracket)?;
        let mut values = vec![self.f32_literal()?];
        while self.eat(&TokenKind::Comma) {
            values.push(self.f32_literal()?);
        }
        self.expect(&TokenKind::RBracket)?;
        Ok(VectorExpr::Literal(values))
    }

    /// `$param` or `{dimension: weight, ...}` (possibly empty).
    pub(super) fn sparse_vector_expr(&mut self) -> Result<SparseVectorExpr> {
        if let TokenKind::Param(name) = self.peek().clone() {
            self.advance();
            return Ok(SparseVectorExpr::Param(name));
        }
        self.note("parameter");
        self.expect(&TokenKind::LBrace)?;
        let mut entries = Vec::new();
        if !self.eat(&TokenKind::RBrace) {
            loop {
                let span = self.span();
                let dimension = self.unsigned("sparse dimension")?;
                let dimension = u32::try_from(dimension)
                    .map_err(|_| self.invalid("sparse dimension does not fit in 32 bits", span))?;
                self.expect(&TokenKind::Colon)?;
                entries.push((dimension, self.f32_literal()?));
                if !self.eat(&TokenKind::Comma) {
                    break;
                }
            }
            self.expect(&TokenKind::RBrace)?;
        }
        Ok(SparseVectorExpr::Literal(entries))
    }

    /// `[-]number` as a finite `f32`.
    fn f32_literal(&mut self) -> Result<f32> {
        let start = self.span();
        let negative = self.eat(&TokenKind::Minus);
        let text = match self.peek() {
            TokenKind::Integer(t) | TokenKind::Float(t) => t.clone(),
            _ => {
                self.note("number");
                return Err(self.unexpected());
            }
        };
        let end = self.advance().span;
        let text = if negative { format!("-{text}") } else { text };
        match text.parse::<f32>() {
            Ok(f) if f.is_finite() => Ok(f),
            _ => Err(self.invalid(
                format!("vector element {text} is out of range for a 32-bit float"),
                Span {
                    start: start.start,
                    end: end.end,
                },
            )),
        }
    }
}

fn precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Add | BinaryOp::Subtract => 1,
        BinaryOp::Multiply | BinaryOp::Divide => 2,
    }
}

/// Height of the arithmetic part of a tree (binary and negation nodes).
fn arithmetic_height(expr: &Expr) -> usize {
    match expr {
        Expr::Binary { lhs, rhs, .. } => 1 + arithmetic_height(lhs).max(arithmetic_height(rhs)),
        Expr::Negate(inner) => 1 + arithmetic_height(inner),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::{BinaryOp, Expr, Statement};

    fn order_expr(expr: &str) -> Expr {
        let text = format!("SELECT * FROM t ORDER BY {expr}");
        match crate::parse_statement(&text).unwrap() {
            Statement::Select(mut query) => query.order_by.remove(0).expr,
            other => panic!("not a select: {other:?}"),
        }
    }

    fn path(name: &str) -> Expr {
        Expr::Path(vec![name.into()])
    }

    fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        }
    }

    #[test]
    fn multiplication_binds_tighter_than_addition() {
        assert_eq!(
            order_expr("a + b * c"),
            binary(
                BinaryOp::Add,
                path("a"),
                binary(BinaryOp::Multiply, path("b"), path("c"))
            )
        );
        assert_eq!(
            order_expr("a / b - c"),
            binary(
                BinaryOp::Subtract,
                binary(BinaryOp::Divide, path("a"), path("b")),
                path("c")
            )
        );
    }

    #[test]
    fn operators_are_left_associative() {
        assert_eq!(
            order_expr("a - b - c"),
            binary(
                BinaryOp::Subtract,
                binary(BinaryOp::Subtract, path("a"), path("b")),
                path("c")
            )
        );
        assert_eq!(
            order_expr("a - (b - c)"),
            binary(
                BinaryOp::Subtract,
                path("a"),
                binary(BinaryOp::Subtract, path("b"), path("c"))
            )
        );
    }

    #[test]
    fn minus_folds_into_number_literals_only() {
        assert_eq!(order_expr("-5"), Expr::Integer(-5));
        assert_eq!(order_expr("-2.5e1"), Expr::Float(-25.0));
        assert_eq!(order_expr("-9223372036854775808"), Expr::Integer(i64::MIN));
        assert_eq!(
            order_expr("9223372036854775808"),
            Expr::Unsigned(9_223_372_036_854_775_808)
        );
        assert_eq!(order_expr("18446744073709551615"), Expr::Unsigned(u64::MAX));
        assert_eq!(order_expr("-x"), Expr::Negate(Box::new(path("x"))));
        assert_eq!(order_expr("-(5)"), Expr::Negate(Box::new(Expr::Integer(5))));
        assert_eq!(
            order_expr("-x * 2"),
            binary(
                BinaryOp::Multiply,
                Expr::Negate(Box::new(path("x"))),
                Expr::Integer(2)
            )
        );
        assert_eq!(
            order_expr("a - -1"),
            binary(BinaryOp::Subtract, path("a"), Expr::Integer(-1))
        );
    }

    #[test]
    fn out_of_range_numbers_are_errors() {
        assert!(crate::parse("SELECT * FROM t ORDER BY 18446744073709551616").is_err());
        assert!(crate::parse("SELECT * FROM t ORDER BY -9223372036854775809").is_err());
        assert!(crate::parse("SELECT * FROM t ORDER BY 1e309").is_err());
        assert!(crate::parse("SELECT * FROM t WHERE v NEAR [3.4e38, 1]").is_ok());
        assert!(crate::parse("SELECT * FROM t WHERE v NEAR [3.5e39]").is_err());
    }

    #[test]
    fn printed_arithmetic_keeps_only_needed_parentheses() {
        for (text, printed) in [
            ("(a + b) * c", "(a + b) * c"),
            ("a + (b * c)", "a + b * c"),
            ("((a))", "a"),
            ("a - (b + c)", "a - (b + c)"),
            ("(a - b) + c", "a - b + c"),
            ("a / (b / c)", "a / (b / c)"),
            ("-(a + b)", "-(a + b)"),
            ("- - a", "- -a"),
        ] {
            assert_eq!(order_expr(text).to_string(), printed, "{text}");
        }
    }

    #[test]
    fn function_names_and_keywords_are_case_insensitive() {
        assert_eq!(order_expr("count(*)"), order_expr("COUNT(*)"));
        assert_eq!(order_expr("Similarity()"), Expr::Similarity(None));
        assert_eq!(order_expr("now()"), Expr::Now);
        assert_eq!(
            order_expr("interval '1 day'"),
            Expr::Interval("1 day".into())
        );
    }
}
