//! NearStore's query language: text to a typed syntax tree ([`Script`]) and back.
//!
//! This crate owns the lexer, the parser, the AST, parse errors with positions, and the
//! canonical printer. It knows nothing of the engine (no storage, no collections, no
//! execution); the `nearstore` crate lowers the AST to a plan. No `unsafe`; no panics on any
//! input; recursion is bounded before it happens.
//!
//! ```
//! use nearstore_ql::{parse, ast::Statement};
//!
//! let script = parse("SELECT * FROM docs WHERE vector NEAR $v AND lang = 'en' LIMIT 10")?;
//! assert!(matches!(script.statement, Statement::Select(_)));
//! // The canonical form re-parses to the same tree.
//! assert_eq!(parse(&script.to_string())?, script);
//! # Ok::<(), nearstore_ql::ParseError>(())
//! ```
//!
//! # Grammar (summary; the query-language spec is the reference)
//!
//! ```text
//! script     := (LET name = expr [;])* statement [;]
//! statement  := select ((UNION [ALL] | INTERSECT | EXCEPT) select)*
//!             | MATCH pattern, ... [WHERE cond] RETURN item, ... [ORDER BY order, ...] [LIMIT n]
//!             | CREATE [GRAPH | METADATA] COLLECTION name [(k = v, ...)] [WITH (k = v, ...)]
//!                 [SCHEMALESS (graph only; the default)
//!                  | WITH SCHEMA (NODE L [(p: STRING|INTEGER|FLOAT|BOOLEAN|VECTOR, ...)]
//!                                | EDGE E FROM A TO B, ...)]
//!             | DROP COLLECTION [IF EXISTS] name
//!             | (CREATE | DROP) INDEX ON name (path)
//!             | (INSERT | UPSERT) INTO name (col, ...) VALUES (expr, ...), ...
//!             | UPDATE name SET path = expr, ... [WHERE cond]
//!             | DELETE FROM name WHERE cond
//!             | INSERT EDGE INTO g (id = e, source = e, target = e, label = e)
//!                 [WITH PROPERTIES (k = v, ...)]
//!             | DELETE EDGE expr FROM g
//!             | SELECT EDGES FROM g [WHERE cond] [LIMIT n]
//!             | INSERT NODE INTO g (id = e [, payload = '{json}'])
//!             | SHOW COLLECTIONS | DESCRIBE [COLLECTION] name | ANALYZE [COLLECTION] name
//!             | TRUNCATE [COLLECTION] name | ALTER COLLECTION name SET (k = v, ...)
//!             | FLUSH [FULL] [name] | TRAIN QUANTIZER ON name WITH (k = v, ...)
//!             | EXPLAIN [ANALYZE] (select... | MATCH ... | UPDATE ... | DELETE ...)
//! select     := SELECT [DISTINCT] item, ... FROM name [[AS] alias]
//!                 ([INNER | LEFT [OUTER] | RIGHT [OUTER] | FULL [OUTER]] JOIN name [[AS] alias]
//!                   (ON path = path | USING (col, ...)))*
//!                 [WHERE cond] [GROUP BY path, ...] [HAVING cond] [ORDER BY order, ...]
//!                 [LIMIT n] [OFFSET n] [WITH (k = v, ...)] [USING FUSION (k = v, ...)]
//! item       := * | alias.* | expr [[AS] alias]
//! order      := expr [ASC | DESC]
//! cond       := and (OR and)*        and := not (AND not)*        not := NOT not | primary
//! primary    := ( cond ) | MATCH pattern
//!             | GEO_DISTANCE(path, expr, expr) op expr | GEO_BBOX(path, expr, expr, expr, expr)
//!             | SIMILARITY(path, vector) op expr
//!             | expr op expr                                   op := = | != | <> | < | <= | > | >=
//!             | path NEAR vector | path NEAR_FUSED [vector, ...] [USING FUSION 'name' [(k = v, ...)]]
//!             | path SPARSE_NEAR ($p | {n: x, ...}) [USING 'index']
//!             | path MATCH text | path [NOT] IN (expr, ... | select) | path BETWEEN expr AND expr
//!             | path [NOT] (LIKE | ILIKE) text | path IS [NOT] NULL
//!             | path CONTAINS expr | path CONTAINS (ANY | ALL) (expr, ...) | path CONTAINS_TEXT text
//! vector     := $param | [number, ...]                       text := 'string' | $param
//! expr       := term ((+ | -) term)*    term := unary ((* | /) unary)*    unary := - unary | atom
//! atom       := number | 'string' | TRUE | FALSE | NULL | $param | [expr, ...] | NOW()
//!             | INTERVAL 'text' | (expr) | (select) | path | SIMILARITY() | SIMILARITY(path, vector)
//!             | COUNT(*) | (COUNT | SUM | AVG | MIN | MAX | FIRST)(path)
//!             | (ROW_NUMBER | RANK | DENSE_RANK)() OVER ([PARTITION BY path, ...] [ORDER BY order, ...])
//! pattern    := node ((-[rel]-> | <-[rel]- | -[rel]-) node)*
//! node       := ( [alias] (:Label (| Label)*)* [@collection] [{k: expr, ...}] )
//! rel        := [alias] [:TYPE (| TYPE)*] [* [n] [.. [m]]] [{k: expr, ...}]
//! ```
//!
//! Lexical rules: keywords are case-insensitive; `--` comments run to the end of the line
//! (so a relationship is always bracketed: `-[]->`, never Cypher's `-->`);
//! identifiers are plain words, `` `quoted` `` or `"quoted"` (doubling the quote escapes it);
//! strings are `'...'` with `''` for a quote; `$name` is a parameter (a letter or `_` first);
//! numbers are `12`, `1.5`, `2e-3`, with `-` folded into a following number literal
//! (integers above `i64::MAX` that fit `u64` are [`ast::Expr::Unsigned`]: point ids are u64). Only
//! the words in [`keyword::RESERVED`] need quoting to be used as names; `vector`, `id`,
//! `source`, `label`, `count`, `collection` ... are ordinary names.
//!
//! # AST
//!
//! [`parse`] returns a [`Script`]: `lets` ([`ast::Let`]) and one [`ast::Statement`]. Queries
//! are [`ast::SelectQuery`] (with [`ast::SelectItem`], [`ast::TableRef`], [`ast::Join`],
//! [`ast::OrderItem`], [`ast::FusionClause`]), [`ast::CompoundQuery`] and [`ast::MatchQuery`]
//! (over an [`ast::GraphPattern`]). Filters are [`ast::Condition`] trees whose leaves are
//! typed predicates; values are [`ast::Expr`]. See [`ast`] for the conventions (paths,
//! option lists, groups).
//!
//! # Limits
//!
//! [`ParseLimits::default`]: queries up to [`MAX_QUERY_BYTES`] (1 MiB) and nesting up to
//! [`MAX_NESTING`] (64) levels, where each parenthesised or nested expression or condition,
//! each `NOT`, each unary minus, each subquery and each level of an arithmetic tree counts.
//! Beyond them parsing fails with [`ParseErrorKind::TooLong`] / [`ParseErrorKind::TooDeep`]
//! and a message naming the limit. LIMIT's default ([`DEFAULT_LIMIT`]) and maximum
//! ([`MAX_LIMIT`]) are semantic and left to the executor.
//!
//! # Canonical form
//!
//! `Display` on every node prints the canonical text (see the `display` module): upper-case
//! keywords, single spaces, one line, quotes and parentheses only where needed, floats in
//! shortest round-trip form. For every tree the parser produces,
//! `parse(&script.to_string()) == Ok(script)`.

#![forbid(unsafe_code)]

pub mod ast;
mod display;
mod error;
pub mod keyword;
mod lexer;
mod parser;
mod token;

pub use ast::{Script, Statement};
pub use error::{ParseError, ParseErrorKind};

/// The crate's error type (an alias of [`ParseError`]).
pub type Error = ParseError;

/// Default maximum query length in bytes (1 MiB).
pub const MAX_QUERY_BYTES: usize = 1 << 20;
/// Default maximum nesting depth.
pub const MAX_NESTING: usize = 64;
/// The LIMIT a query without one gets (applied by the executor).
pub const DEFAULT_LIMIT: u64 = 10;
/// The largest LIMIT the executor accepts.
pub const MAX_LIMIT: u64 = 100_000;

/// Bounds on what the parser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Longest query text, in bytes.
    pub max_query_bytes: usize,
    /// Deepest nesting (see the crate docs for what counts).
    pub max_nesting: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_query_bytes: MAX_QUERY_BYTES,
            max_nesting: MAX_NESTING,
        }
    }
}

/// Parses one statement, optionally preceded by `LET` bindings and followed by `;`.
pub fn parse(text: &str) -> Result<Script, ParseError> {
    parse_with_limits(text, &ParseLimits::default())
}

/// [`parse`] with explicit limits.
pub fn parse_with_limits(text: &str, limits: &ParseLimits) -> Result<Script, ParseError> {
    if text.len() > limits.max_query_bytes {
        let at = token::Span {
            start: limits.max_query_bytes,
            end: limits.max_query_bytes + 1,
        };
        return Err(ParseError::at(
            ParseErrorKind::TooLong,
            format!(
                "query is {} bytes long; the limit is {} bytes",
                text.len(),
                limits.max_query_bytes
            ),
            text,
            at,
        ));
    }
    let tokens = lexer::tokenize(text)?;
    parser::parse_script(text, tokens, limits)
}

/// Parses one statement without LET bindings (a trailing `;` is allowed).
pub fn parse_statement(text: &str) -> Result<Statement, ParseError> {
    let script = parse(text)?;
    match script.lets.first() {
        None => Ok(script.statement),
        Some(_) => {
            let span = lexer::tokenize(text)
                .ok()
                .and_then(|tokens| tokens.first().map(|t| t.span))
                .unwrap_or(token::Span { start: 0, end: 0 });
            Err(ParseError::at(
                ParseErrorKind::Syntax,
                "expected a statement, found keyword LET (use `parse` for LET bindings)",
                text,
                span,
            ))
        }
    }
}
