//! The crate's one error type: a [`ParseError`] with its position and a renderer that shows
//! the offending line with the token underlined.

use crate::token::Span;

/// What class of problem a [`ParseError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The text does not split into tokens: unterminated string or quoted identifier, bad
    /// number, bad parameter name, unexpected character.
    Lexical,
    /// The tokens do not form a statement: something else was expected.
    Syntax,
    /// The tokens form a statement but a value is not acceptable: a number out of range, a
    /// duplicate option, a VALUES row of the wrong length, an invalid JSON payload.
    InvalidValue,
    /// The query text is longer than the limit.
    TooLong,
    /// Parentheses, subqueries, NOT chains or arithmetic nest deeper than the limit.
    TooDeep,
}

/// A query that could not be parsed, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error at line {line}, column {column}: {message}")]
pub struct ParseError {
    /// What was expected and what was found, e.g. "expected FROM, found identifier `form`".
    pub message: String,
    /// 1-based line of the offending token.
    pub line: usize,
    /// 1-based column of the offending token, counted in chars.
    pub column: usize,
    /// Byte offset of the offending token.
    pub offset: usize,
    /// Byte length of the offending token (0 at end of input).
    pub length: usize,
    /// The class of problem.
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// An error about the text at `span` of `source`.
    pub(crate) fn at(
        kind: ParseErrorKind,
        message: impl Into<String>,
        source: &str,
        span: Span,
    ) -> ParseError {
        let offset = floor_char_boundary(source, span.start.min(source.len()));
        let end = floor_char_boundary(source, span.end.clamp(offset, source.len()));
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = source[line_start..offset].chars().count() + 1;
        ParseError {
            message: message.into(),
            line,
            column,
            offset,
            length: end - offset,
            kind,
        }
    }

    /// The message with the offending line and the token underlined:
    ///
    /// ```text
    /// error at line 2, column 10: expected FROM, found identifier `FORM`
    ///   2 | SELECT * FORM docs
    ///     |          ^^^^
    /// ```
    ///
    /// `source` must be the text that was parsed; with other text the excerpt is meaningless
    /// but rendering still does not panic.
    pub fn render(&self, source: &str) -> String {
        let mut out = self.to_string();
        let Some(line_text) = source.split('\n').nth(self.line.saturating_sub(1)) else {
            return out;
        };
        let line_text = line_text.strip_suffix('\r').unwrap_or(line_text);
        let shown: String = line_text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let token_chars = source
            .get(self.offset..self.offset.saturating_add(self.length).min(source.len()))
            .map_or(0, |t| t.split('\n').next().unwrap_or("").chars().count());
        let room = shown
            .chars()
            .count()
            .saturating_sub(self.column.saturating_sub(1));
        let carets = token_chars.min(room).max(1);
        let gutter = self.line.to_string();
        out.push_str(&format!("\n  {gutter} | {shown}"));
        out.push_str(&format!(
            "\n  {} | {}{}",
            " ".repeat(gutter.len()),
            " ".repeat(self.column.saturating_sub(1)),
            "^".repeat(carets)
        ));
        out
    }
}

/// The largest char boundary of `s` at or below `i`.
fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_chars() {
        let src = "SELECT *\nFROM é WHERE";
        let e = ParseError::at(
            ParseErrorKind::Syntax,
            "m",
            src,
            Span { start: 17, end: 22 },
        );
        assert_eq!((e.line, e.column, e.offset), (2, 8, 17));
    }

    #[test]
    fn render_underlines_the_token() {
        let src = "SELECT *\nSELECT * FORM docs";
        let e = ParseError::at(
            ParseErrorKind::Syntax,
            "bad",
            src,
            Span { start: 18, end: 22 },
        );
        assert_eq!(
            e.render(src),
            "error at line 2, column 10: bad\n  2 | SELECT * FORM docs\n    |          ^^^^"
        );
    }

    #[test]
    fn render_at_end_of_input_shows_one_caret() {
        let src = "SELECT";
        let e = ParseError::at(
            ParseErrorKind::Syntax,
            "bad",
            src,
            Span { start: 6, end: 6 },
        );
        assert_eq!(
            e.render(src),
            "error at line 1, column 7: bad\n  1 | SELECT\n    |       ^"
        );
    }

    #[test]
    fn render_with_wrong_source_does_not_panic() {
        let e = ParseError::at(
            ParseErrorKind::Syntax,
            "bad",
            "a\nb\nc",
            Span { start: 4, end: 5 },
        );
        let _ = e.render("");
        let _ = e.render("x");
    }
}
