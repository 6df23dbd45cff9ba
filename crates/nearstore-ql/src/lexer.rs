//! The lexer: query text to [`Token`]s, or a [`ParseErrorKind::Lexical`] error.
//!
//! Rules: whitespace separates tokens; `--` starts a comment to the end of the line; words
//! are `[letter or _][letters, digits, _]*`; `` `quoted` `` and `"quoted"` identifiers
//! escape their quote by doubling it; `'strings'` escape `'` as `''` and may span lines;
//! numbers are unsigned (`12`, `1.5`, `2e-3`, `1.5E+10`; the sign is a separate `-` token);
//! `$name` is a parameter whose name follows the word rule. The lexer never panics and stops
//! at the first error.

use crate::error::{ParseError, ParseErrorKind};
use crate::keyword::{is_identifier_continue, is_identifier_start};
use crate::token::{Span, Token, TokenKind};

/// Splits `source` into tokens, ending with [`TokenKind::Eof`].
pub fn tokenize(source: &str) -> Result<Vec<Token>, ParseError> {
    let mut lexer = Lexer {
        source,
        pos: 0,
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer<'a> {
    source: &'a str,
    pos: usize,
    tokens: Vec<Token>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.source[self.pos..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.source[self.pos..].chars().nth(1)
    }

    fn error(&self, message: String, start: usize, end: usize) -> ParseError {
        ParseError::at(
            ParseErrorKind::Lexical,
            message,
            self.source,
            Span { start, end },
        )
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token {
            kind,
            span: Span {
                start,
                end: self.pos,
            },
        });
    }

    fn run(&mut self) -> Result<(), ParseError> {
        while let Some(c) = self.peek() {
            let start = self.pos;
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else if c == '-' && self.peek_second() == Some('-') && !self.at_pattern_dashes() {
                self.skip_comment();
            } else if is_identifier_start(c) {
                let word = self.take_while(is_identifier_continue).to_string();
                self.push(TokenKind::Word(word), start);
            } else if c.is_ascii_digit() {
                self.number()?;
            } else if c == '\'' {
                let text = self.quoted('\'', "string")?;
                self.push(TokenKind::String(text), start);
            } else if c == '"' || c == '`' {
                let text = self.quoted(c, "quoted identifier")?;
                if text.is_empty() {
                    return Err(self.error("empty quoted identifier".into(), start, self.pos));
                }
                self.push(TokenKind::QuotedIdent(text), start);
            } else if c == '$' {
                self.parameter()?;
            } else {
                self.punctuation(c)?;
            }
        }
        // End of input is reported just after the last token, not after trailing blanks.
        let end = self.tokens.last().map_or(0, |t| t.span.end);
        self.tokens.push(Token {
            kind: TokenKind::Eof,
            span: Span { start: end, end },
        });
        Ok(())
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if !keep(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        &self.source[start..self.pos]
    }

    /// At a `--` that is a graph pattern's bracketless relationship rather than a comment:
    /// `-->` (an arrow: `(a)-->(b)`), or `--(` written right after `)` or `<` (`(a)--(b)`,
    /// `(a)<--(b)`). A comment anywhere else is unaffected.
    fn at_pattern_dashes(&self) -> bool {
        let rest = &self.source.as_bytes()[self.pos..];
        if rest.get(2) == Some(&b'>') {
            return true;
        }
        let after_node_or_lt = self.tokens.last().is_some_and(|t| {
            t.span.end == self.pos && matches!(t.kind, TokenKind::RParen | TokenKind::Lt)
        });
        after_node_or_lt && rest.get(2) == Some(&b'(')
    }

    fn skip_comment(&mut self) {
        match self.source[self.pos..].find('\n') {
            Some(i) => self.pos += i + 1,
            None => self.pos = self.source.len(),
        }
    }

    /// A `quote`-delimited text where a doubled quote stands for one quote character.
    fn quoted(&mut self, quote: char, what: &str) -> Result<String, ParseError> {
        let start = self.pos;
        self.pos += quote.len_utf8();
        let mut text = String::new();
        loop {
            let rest = &self.source[self.pos..];
            let Some(i) = rest.find(quote) else {
                return Err(self.error(format!("unterminated {what}"), start, start + 1));
            };
            text.push_str(&rest[..i]);
            self.pos += i + quote.len_utf8();
            if self.peek() == Some(quote) {
                text.push(quote);
                self.pos += quote.len_utf8();
            } else {
                return Ok(text);
            }
        }
    }

    fn parameter(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        self.pos += 1;
        match self.peek() {
            Some(c) if is_identifier_start(c) => {
                let name = self.take_while(is_identifier_continue).to_string();
                self.push(TokenKind::Param(name), start);
                Ok(())
            }
            found => {
                let end = self.pos + found.map_or(0, char::len_utf8);
                let shown = found.map_or("end of input".to_string(), |c| format!("`{c}`"));
                Err(self.error(
                    format!(
                        "invalid parameter name: expected a letter or `_` after `$`, found {shown}"
                    ),
                    start,
                    end,
                ))
            }
        }
    }

    /// `digits [. digits] [(e|E) [+|-] digits]`, not followed by a word character.
    fn number(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        self.take_while(|c| c.is_ascii_digit());
        let mut is_float = false;
        if self.peek() == Some('.') && self.peek_second().is_some_and(|c| c.is_ascii_digit()) {
            is_float = true;
            self.pos += 1;
            self.take_while(|c| c.is_ascii_digit());
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let mark = self.pos;
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            if self.take_while(|c| c.is_ascii_digit()).is_empty() {
                self.take_while(is_identifier_continue);
                let text = &self.source[start..self.pos];
                return Err(self.error(
                    format!("invalid number `{text}`: exponent has no digits"),
                    start,
                    self.pos.max(mark + 1),
                ));
            }
            is_float = true;
        }
        if self.peek().is_some_and(is_identifier_continue) {
            self.take_while(is_identifier_continue);
            let text = &self.source[start..self.pos];
            return Err(self.error(
                format!("invalid number `{text}`: a number cannot be followed by letters"),
                start,
                self.pos,
            ));
        }
        let text = self.source[start..self.pos].to_string();
        let kind = if is_float {
            TokenKind::Float(text)
        } else {
            TokenKind::Integer(text)
        };
        self.push(kind, start);
        Ok(())
    }

    fn punctuation(&mut self, c: char) -> Result<(), ParseError> {
        let start = self.pos;
        let next = self.peek_second();
        let (kind, len) = match (c, next) {
            ('<', Some('=')) => (TokenKind::LtEq, 2),
            ('<', Some('>')) => (TokenKind::NotEq, 2),
            ('>', Some('=')) => (TokenKind::GtEq, 2),
            ('!', Some('=')) => (TokenKind::NotEq, 2),
            ('.', Some('.')) => (TokenKind::DotDot, 2),
            ('(', _) => (TokenKind::LParen, 1),
            (')', _) => (TokenKind::RParen, 1),
            ('[', _) => (TokenKind::LBracket, 1),
            (']', _) => (TokenKind::RBracket, 1),
            ('{', _) => (TokenKind::LBrace, 1),
            ('}', _) => (TokenKind::RBrace, 1),
            (',', _) => (TokenKind::Comma, 1),
            ('.', _) => (TokenKind::Dot, 1),
            (';', _) => (TokenKind::Semicolon, 1),
            (':', _) => (TokenKind::Colon, 1),
            ('*', _) => (TokenKind::Star, 1),
            ('+', _) => (TokenKind::Plus, 1),
            ('-', _) => (TokenKind::Minus, 1),
            ('/', _) => (TokenKind::Slash, 1),
            ('|', _) => (TokenKind::Pipe, 1),
            ('@', _) => (TokenKind::At, 1),
            ('=', _) => (TokenKind::Eq, 1),
            ('<', _) => (TokenKind::Lt, 1),
            ('>', _) => (TokenKind::Gt, 1),
            _ => {
                return Err(self.error(
                    format!("unexpected character `{}`", c.escape_debug()),
                    start,
                    start + c.len_utf8(),
                ));
            }
        };
        self.pos += len;
        self.push(kind, start);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).unwrap().into_iter().map(|t| t.kind).collect()
    }

    fn word(w: &str) -> TokenKind {
        TokenKind::Word(w.into())
    }

    #[test]
    fn string_escapes_double_quote() {
        assert_eq!(
            kinds("'it''s'"),
            vec![TokenKind::String("it's".into()), TokenKind::Eof]
        );
        assert_eq!(
            kinds("''"),
            vec![TokenKind::String(String::new()), TokenKind::Eof]
        );
        assert_eq!(
            kinds("'a\nb'"),
            vec![TokenKind::String("a\nb".into()), TokenKind::Eof]
        );
    }

    #[test]
    fn unterminated_string_points_at_opening_quote() {
        let e = tokenize("SELECT 'abc").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Lexical);
        assert_eq!((e.column, e.length), (8, 1));
        assert!(e.message.contains("unterminated string"));
        assert!(tokenize("'it''").is_err());
    }

    #[test]
    fn bracketless_relationships_are_dashes_not_comments() {
        let dashes = |text: &str| {
            kinds(text)
                .into_iter()
                .filter(|k| matches!(k, TokenKind::Minus))
                .count()
        };
        assert_eq!(dashes("(a)-->(b)"), 2);
        assert_eq!(dashes("(a) --> (b)"), 2);
        assert_eq!(dashes("(a)<--(b)"), 2);
        assert_eq!(dashes("(a)--(b)"), 2);
        // Elsewhere `--` still starts a comment, `(` after it included.
        assert_eq!(kinds("a --(b)"), vec![word("a"), TokenKind::Eof]);
        assert_eq!(kinds("f(x) -- (note)"), kinds("f(x)"));
    }

    #[test]
    fn comments_run_to_end_of_line() {
        assert_eq!(
            kinds("a -- b c\nd"),
            vec![word("a"), word("d"), TokenKind::Eof]
        );
        assert_eq!(kinds("a --"), vec![word("a"), TokenKind::Eof]);
        assert_eq!(
            kinds("'--'"),
            vec![TokenKind::String("--".into()), TokenKind::Eof]
        );
        assert_eq!(
            kinds("a - -1"),
            vec![
                word("a"),
                TokenKind::Minus,
                TokenKind::Minus,
                TokenKind::Integer("1".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn quoted_identifiers_with_both_quotes() {
        assert_eq!(
            kinds("`a``b`"),
            vec![TokenKind::QuotedIdent("a`b".into()), TokenKind::Eof]
        );
        assert_eq!(
            kinds("\"my \"\"col\"\"\""),
            vec![TokenKind::QuotedIdent("my \"col\"".into()), TokenKind::Eof]
        );
        assert!(tokenize("\"\"").is_err());
        assert!(tokenize("`abc").is_err());
    }

    #[test]
    fn numbers_integers_decimals_exponents() {
        assert_eq!(
            kinds("12"),
            vec![TokenKind::Integer("12".into()), TokenKind::Eof]
        );
        assert_eq!(
            kinds("1.5"),
            vec![TokenKind::Float("1.5".into()), TokenKind::Eof]
        );
        assert_eq!(
            kinds("2e-3"),
            vec![TokenKind::Float("2e-3".into()), TokenKind::Eof]
        );
        assert_eq!(
            kinds("1.5E+10"),
            vec![TokenKind::Float("1.5E+10".into()), TokenKind::Eof]
        );
        assert_eq!(
            kinds("1..3"),
            vec![
                TokenKind::Integer("1".into()),
                TokenKind::DotDot,
                TokenKind::Integer("3".into()),
                TokenKind::Eof
            ]
        );
        assert_eq!(
            kinds("a.b"),
            vec![word("a"), TokenKind::Dot, word("b"), TokenKind::Eof]
        );
    }

    #[test]
    fn bad_numbers_are_lexical_errors() {
        for bad in ["12abc", "1e", "1e+", "1.5x", "3_000"] {
            let e = tokenize(bad).unwrap_err();
            assert_eq!(e.kind, ParseErrorKind::Lexical, "{bad}");
            assert!(
                e.message.starts_with("invalid number"),
                "{bad}: {}",
                e.message
            );
        }
    }

    #[test]
    fn parameters_need_a_name() {
        assert_eq!(
            kinds("$v_1"),
            vec![TokenKind::Param("v_1".into()), TokenKind::Eof]
        );
        for bad in ["$", "$1", "$ v", "$-"] {
            let e = tokenize(bad).unwrap_err();
            assert!(e.message.starts_with("invalid parameter name"), "{bad}");
        }
    }

    #[test]
    fn operators() {
        assert_eq!(
            kinds("<> != <= >= < > ="),
            vec![
                TokenKind::NotEq,
                TokenKind::NotEq,
                TokenKind::LtEq,
                TokenKind::GtEq,
                TokenKind::Lt,
                TokenKind::Gt,
                TokenKind::Eq,
                TokenKind::Eof
            ]
        );
        assert!(tokenize("a ! b").is_err());
        assert!(tokenize("a # b").is_err());
    }

    #[test]
    fn unicode_words_and_spans() {
        let tokens = tokenize("é ü").unwrap();
        assert_eq!(tokens[1].span, Span { start: 3, end: 5 });
    }
}
