//! The recursive-descent parser: tokens to a [`Script`].
//!
//! One module per statement family ([`select`], [`condition`], [`expr`], [`ddl`], [`dml`],
//! [`admin`], [`graph`]); this module holds the token cursor, the "expected ..." bookkeeping
//! and the nesting guard shared by all of them.
//!
//! Errors name everything that would have been accepted at the failing position: each
//! `eat_*` that fails records what it looked for, and the record is cleared whenever a token
//! is consumed, so `unexpected()` reports "expected `,` or FROM, found identifier `FORM`".
//!
//! Recursion is bounded before it happens: every nested expression, condition, NOT and
//! unary minus goes through [`Parser::nested`], which fails with
//! [`ParseErrorKind::TooDeep`] beyond [`ParseLimits::max_nesting`]; arithmetic chains, which
//! the Pratt loop builds without recursing, are bounded by their tree height the same way.

mod admin;
mod condition;
mod ddl;
mod dml;
mod expr;
mod graph;
mod select;

use crate::ParseLimits;
use crate::ast::{OptionList, Path, Script, Statement};
use crate::error::{ParseError, ParseErrorKind};
use crate::keyword::is_reserved;
use crate::token::{Span, Token, TokenKind};

pub(crate) type Result<T> = std::result::Result<T, ParseError>;

/// Parses a whole script from already-lexed tokens (the last one [`TokenKind::Eof`]).
pub(crate) fn parse_script(
    source: &str,
    tokens: Vec<Token>,
    limits: &ParseLimits,
) -> Result<Script> {
    let mut parser = Parser {
        source,
        tokens,
        pos: 0,
        depth: 0,
        limits: *limits,
        expected: Vec::new(),
    };
    parser.script()
}

pub(crate) struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    limits: ParseLimits,
    /// What was looked for at `pos` since the last token was consumed.
    expected: Vec<&'static str>,
}

impl Parser<'_> {
    fn script(&mut self) -> Result<Script> {
        let mut lets = Vec::new();
        while self.eat_keyword("LET") {
            let name = self.name()?;
            self.expect(&TokenKind::Eq)?;
            let value = self.expr()?;
            lets.push(crate::ast::Let { name, value });
            self.eat(&TokenKind::Semicolon);
        }
        let statement = self.statement()?;
        self.eat(&TokenKind::Semicolon);
        self.expect(&TokenKind::Eof)?;
        Ok(Script { lets, statement })
    }

    /// One statement, dispatched on its first keyword(s).
    fn statement(&mut self) -> Result<Statement> {
        if self.at_keyword("SELECT") {
            if self.peek_is_keyword(1, "EDGES") {
                return self.select_edges();
            }
            return self.select_statement();
        }
        if self.at_keyword("MATCH") {
            return self.match_statement();
        }
        for keyword in ["INSERT", "UPSERT", "UPDATE", "DELETE"] {
            if self.at_keyword(keyword) {
                return self.dml_statement();
            }
        }
        for keyword in ["CREATE", "DROP"] {
            if self.at_keyword(keyword) {
                return self.ddl_statement();
            }
        }
        for keyword in [
            "SHOW", "DESCRIBE", "EXPLAIN", "ANALYZE", "TRUNCATE", "ALTER", "FLUSH", "TRAIN",
        ] {
            if self.at_keyword(keyword) {
                return self.admin_statement();
            }
        }
        self.note("a statement");
        Err(self.unexpected())
    }

    // ---- cursor -------------------------------------------------------------------------

    fn peek(&self) -> &TokenKind {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> &TokenKind {
        let last = self.tokens.len().saturating_sub(1);
        self.tokens
            .get((self.pos + ahead).min(last))
            .map_or(&TokenKind::Eof, |t| &t.kind)
    }

    fn span(&self) -> Span {
        let end = self.source.len();
        self.tokens
            .get(self.pos)
            .map_or(Span { start: end, end }, |t| t.span)
    }

    fn advance(&mut self) -> Token {
        let token = self.tokens.get(self.pos).cloned().unwrap_or(Token {
            kind: TokenKind::Eof,
            span: self.span(),
        });
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        self.expected.clear();
        token
    }

    fn note(&mut self, what: &'static str) {
        if !self.expected.contains(&what) {
            self.expected.push(what);
        }
    }

    // ---- keywords and punctuation -------------------------------------------------------

    fn peek_is_keyword(&self, ahead: usize, keyword: &str) -> bool {
        matches!(self.peek_at(ahead), TokenKind::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        self.peek_is_keyword(0, keyword)
    }

    /// Consumes `keyword` (given upper-case) if it is next.
    fn eat_keyword(&mut self, keyword: &'static str) -> bool {
        if self.at_keyword(keyword) {
            self.advance();
            true
        } else {
            self.note(keyword);
            false
        }
    }

    fn expect_keyword(&mut self, keyword: &'static str) -> Result<Span> {
        let span = self.span();
        if self.eat_keyword(keyword) {
            Ok(span)
        } else {
            Err(self.unexpected())
        }
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        if self.peek() == kind {
            self.advance();
            true
        } else {
            self.note(describe_expected(kind));
            false
        }
    }

    fn expect(&mut self, kind: &TokenKind) -> Result<Span> {
        let span = self.span();
        if self.eat(kind) {
            Ok(span)
        } else {
            Err(self.unexpected())
        }
    }

    // ---- errors -------------------------------------------------------------------------

    /// "expected <everything looked for here>, found <the next token>".
    fn unexpected(&self) -> ParseError {
        let expected = match self.expected.as_slice() {
            [] => "something else".to_string(),
            [one] => (*one).to_string(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        };
        let message = format!("expected {expected}, found {}", self.peek());
        self.error_at(ParseErrorKind::Syntax, message, self.span())
    }

    fn error_at(&self, kind: ParseErrorKind, message: impl Into<String>, span: Span) -> ParseError {
        ParseError::at(kind, message, self.source, span)
    }

    fn invalid(&self, message: impl Into<String>, span: Span) -> ParseError {
        self.error_at(ParseErrorKind::InvalidValue, message, span)
    }

    // ---- nesting guard ------------------------------------------------------------------

    /// Runs `inner` one nesting level deeper, failing first if that exceeds the limit.
    fn nested<T>(&mut self, inner: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.check_depth(self.depth + 1, self.span())?;
        self.depth += 1;
        let result = inner(self);
        self.depth -= 1;
        result
    }

    fn check_depth(&self, depth: usize, span: Span) -> Result<()> {
        if depth > self.limits.max_nesting {
            return Err(self.error_at(
                ParseErrorKind::TooDeep,
                format!(
                    "query nests too deeply (the limit is {} levels)",
                    self.limits.max_nesting
                ),
                span,
            ));
        }
        Ok(())
    }

    // ---- names --------------------------------------------------------------------------

    /// A table, column, alias or LET name: a non-reserved word or a quoted identifier.
    fn name(&mut self) -> Result<String> {
        match self.peek() {
            TokenKind::Word(w) if !is_reserved(w) => {
                let w = w.clone();
                self.advance();
                Ok(w)
            }
            TokenKind::QuotedIdent(w) => {
                let w = w.clone();
                self.advance();
                Ok(w)
            }
            _ => {
                self.note("identifier");
                Err(self.unexpected())
            }
        }
    }

    /// Whether the next token could be read by [`Parser::name`].
    fn at_name(&self) -> bool {
        matches!(self.peek(), TokenKind::Word(w) if !is_reserved(w))
            || matches!(self.peek(), TokenKind::QuotedIdent(_))
    }

    /// A name where the grammar allows nothing else (labels, option keys, path segments after
    /// a dot): any word, reserved or not, or a quoted identifier.
    fn any_name(&mut self) -> Result<String> {
        match self.peek() {
            TokenKind::Word(w) | TokenKind::QuotedIdent(w) => {
                let w = w.clone();
                self.advance();
                Ok(w)
            }
            _ => {
                self.note("identifier");
                Err(self.unexpected())
            }
        }
    }

    /// `name(.name)*`.
    fn path(&mut self) -> Result<Path> {
        let mut path = vec![self.name()?];
        while matches!(self.peek(), TokenKind::Dot) && !matches!(self.peek_at(1), TokenKind::Star) {
            self.advance();
            path.push(self.any_name()?);
        }
        Ok(path)
    }

    /// `(path, ...)`.
    fn path_list(&mut self) -> Result<Vec<Path>> {
        let mut paths = vec![self.path()?];
        while self.eat(&TokenKind::Comma) {
            paths.push(self.path()?);
        }
        Ok(paths)
    }

    // ---- shared value forms ---------------------------------------------------------------

    /// A non-negative integer literal (LIMIT, OFFSET, dimension, ...).
    fn unsigned(&mut self, what: &str) -> Result<u64> {
        let span = self.span();
        if let TokenKind::Integer(text) = self.peek() {
            let parsed = text.parse::<u64>();
            return match parsed {
                Ok(n) => {
                    self.advance();
                    Ok(n)
                }
                Err(_) => Err(self.invalid(format!("{what} is out of range"), span)),
            };
        }
        self.note("non-negative integer");
        Err(self.unexpected())
    }

    /// `( name = value, ... )`; with `allow_empty`, `()` gives an empty list.
    fn option_list(&mut self, allow_empty: bool) -> Result<OptionList> {
        self.expect(&TokenKind::LParen)?;
        let mut options = Vec::new();
        if allow_empty && self.eat(&TokenKind::RParen) {
            return Ok(options);
        }
        loop {
            let key = self.any_name()?;
            self.expect(&TokenKind::Eq)?;
            options.push((key, self.expr()?));
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.expect(&TokenKind::RParen)?;
        Ok(options)
    }

    /// Skips an optional `COLLECTION` keyword when a name follows it.
    fn skip_optional_collection_keyword(&mut self) {
        let name_follows = matches!(self.peek_at(1), TokenKind::Word(w) if !is_reserved(w))
            || matches!(self.peek_at(1), TokenKind::QuotedIdent(_));
        if self.at_keyword("COLLECTION") && name_follows {
            self.advance();
        }
    }
}

/// How an expected punctuation token is named in messages.
fn describe_expected(kind: &TokenKind) -> &'static str {
    match kind {
        TokenKind::LParen => "`(`",
        TokenKind::RParen => "`)`",
        TokenKind::LBracket => "`[`",
        TokenKind::RBracket => "`]`",
        TokenKind::LBrace => "`{`",
        TokenKind::RBrace => "`}`",
        TokenKind::Comma => "`,`",
        TokenKind::Dot => "`.`",
        TokenKind::DotDot => "`..`",
        TokenKind::Semicolon => "`;`",
        TokenKind::Colon => "`:`",
        TokenKind::Star => "`*`",
        TokenKind::Minus => "`-`",
        TokenKind::Gt => "`>`",
        TokenKind::Eq => "`=`",
        TokenKind::Eof => "end of input",
        _ => "token",
    }
}
