//! Tokens: what the lexer produces and the parser consumes, with their byte spans.
//!
//! Words are not classified here: whether `select` is a keyword or an identifier depends on
//! where the parser meets it (see [`crate::keyword`]), so the lexer keeps the word's text.

use std::fmt;

/// A half-open byte range `[start, end)` into the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

/// One lexical token.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// An unquoted word: a keyword or a plain identifier, as written.
    Word(String),
    /// A `` `quoted` `` or `"quoted"` identifier, unescaped; never a keyword.
    QuotedIdent(String),
    /// A `'string'` literal, unescaped.
    String(String),
    /// An unsigned integer literal, as written (digits only).
    Integer(String),
    /// An unsigned decimal or exponent literal, as written (`1.5`, `2e-3`).
    Float(String),
    /// A `$name` parameter (the name without `$`).
    Param(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Dot,
    /// `..` (variable-length ranges in graph patterns).
    DotDot,
    Semicolon,
    Colon,
    Star,
    Plus,
    Minus,
    Slash,
    /// `|` (alternative relationship types).
    Pipe,
    /// `@` (node collection binding).
    At,
    Eq,
    /// `!=` or `<>`.
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    /// End of input.
    Eof,
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// Where it is in the query text.
    pub span: Span,
}

impl TokenKind {
    /// The fixed spelling of a punctuation token.
    fn punctuation(&self) -> Option<&'static str> {
        Some(match self {
            TokenKind::LParen => "(",
            TokenKind::RParen => ")",
            TokenKind::LBracket => "[",
            TokenKind::RBracket => "]",
            TokenKind::LBrace => "{",
            TokenKind::RBrace => "}",
            TokenKind::Comma => ",",
            TokenKind::Dot => ".",
            TokenKind::DotDot => "..",
            TokenKind::Semicolon => ";",
            TokenKind::Colon => ":",
            TokenKind::Star => "*",
            TokenKind::Plus => "+",
            TokenKind::Minus => "-",
            TokenKind::Slash => "/",
            TokenKind::Pipe => "|",
            TokenKind::At => "@",
            TokenKind::Eq => "=",
            TokenKind::NotEq => "!=",
            TokenKind::Lt => "<",
            TokenKind::LtEq => "<=",
            TokenKind::Gt => ">",
            TokenKind::GtEq => ">=",
            _ => return None,
        })
    }
}

/// Describes a token for error messages: "keyword FROM", "identifier `form`", "`(`".
impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.punctuation() {
            return write!(f, "`{p}`");
        }
        match self {
            TokenKind::Word(w) if crate::keyword::is_reserved(w) => {
                write!(f, "keyword {}", w.to_ascii_uppercase())
            }
            TokenKind::Word(w) => write!(f, "identifier `{w}`"),
            TokenKind::QuotedIdent(w) => write!(f, "quoted identifier `{w}`"),
            TokenKind::String(s) => write!(f, "string '{}'", s.replace('\'', "''")),
            TokenKind::Integer(n) | TokenKind::Float(n) => write!(f, "number {n}"),
            TokenKind::Param(p) => write!(f, "parameter ${p}"),
            TokenKind::Eof => write!(f, "end of input"),
            _ => write!(f, "token"),
        }
    }
}
