//! The query syntax, parsed into clauses before any analysis.
//!
//! ```text
//! query  := clause*                      (separated by whitespace)
//! clause := ['+' | '-'] [field ':'] (word | '"' phrase '"')
//! ```
//!
//! Words are optional (OR-ed, ranked by BM25); `+` makes a clause required, `-` excludes the
//! documents that satisfy it. A quoted phrase matches its words adjacent and in order (an
//! unterminated quote runs to the end of the query). `field:` aims a clause at one field; when
//! the index has no field of that name the colon is just text. The parser never fails: text
//! that holds no indexable term simply yields clauses that match nothing.
//!
//! Knows nothing of analyzers or indexes.

/// Whether a clause must, may, or must not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Occur {
    /// Optional: contributes to the score; a query without required clauses matches the
    /// documents satisfying at least one optional clause.
    Should,
    /// Required (`+`).
    Must,
    /// Excluded (`-`).
    MustNot,
}

/// One parsed clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// Must, should or must not.
    pub occur: Occur,
    /// The `field:` prefix, if one was written.
    pub field: Option<String>,
    /// The clause's text (without the field prefix and quotes).
    pub text: String,
    /// The clause as written after its `+`/`-` (used when `field` names no field).
    pub raw: String,
    /// Whether the text was quoted.
    pub phrase: bool,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextQuery {
    /// Clauses in query order.
    pub clauses: Vec<Clause>,
}

impl TextQuery {
    /// Parses `query` (never fails; see the module docs).
    pub fn parse(query: &str) -> TextQuery {
        let mut clauses = Vec::new();
        let mut rest = query;
        loop {
            rest = rest.trim_start();
            let Some(first) = rest.chars().next() else {
                break;
            };
            let occur = match first {
                '+' => Occur::Must,
                '-' => Occur::MustNot,
                _ => Occur::Should,
            };
            if occur != Occur::Should {
                rest = &rest[1..];
            }
            let (clause, after) = parse_clause(rest, occur);
            clauses.extend(clause);
            rest = after;
        }
        TextQuery { clauses }
    }
}

/// Parses one clause body from the start of `input`; returns it and the remaining input.
fn parse_clause(input: &str, occur: Occur) -> (Option<Clause>, &str) {
    // An optional `field:` prefix: a run of characters other than whitespace, quotes and
    // colons, followed by a colon and then something.
    let mut field = None;
    let mut body = input;
    if let Some(colon) = input.find(':') {
        let name = &input[..colon];
        let after = &input[colon + 1..];
        let plausible = !name.is_empty()
            && !name.contains(|c: char| c.is_whitespace() || c == '"')
            && after.chars().next().is_some_and(|c| !c.is_whitespace());
        if plausible {
            field = Some(name.to_owned());
            body = after;
        }
    }
    let (text, phrase, after) = if let Some(quoted) = body.strip_prefix('"') {
        match quoted.find('"') {
            Some(end) => (&quoted[..end], true, &quoted[end + 1..]),
            None => (quoted, true, ""),
        }
    } else {
        let end = body.find(char::is_whitespace).unwrap_or(body.len());
        (&body[..end], false, &body[end..])
    };
    let raw_len = input.len() - after.len();
    let clause = Clause {
        occur,
        field,
        text: text.to_owned(),
        raw: input[..raw_len].to_owned(),
        phrase,
    };
    (Some(clause), after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(q: &str) -> Vec<(Occur, Option<&str>, String, bool)> {
        TextQuery::parse(q)
            .clauses
            .iter()
            .map(|c| {
                (
                    c.occur,
                    c.field.as_deref().map(|_| ""),
                    c.text.clone(),
                    c.phrase,
                )
            })
            .collect()
    }

    #[test]
    fn words_prefixes_phrases_and_fields() {
        let q = TextQuery::parse(r#"apple +pear -"green fig" title:kiwi +body:"a b" plain"#);
        let c = &q.clauses;
        assert_eq!(c.len(), 6);
        assert_eq!(
            (c[0].occur, c[0].text.as_str(), c[0].phrase),
            (Occur::Should, "apple", false)
        );
        assert_eq!((c[1].occur, c[1].text.as_str()), (Occur::Must, "pear"));
        assert_eq!(
            (c[2].occur, c[2].text.as_str(), c[2].phrase),
            (Occur::MustNot, "green fig", true)
        );
        assert_eq!(
            (c[3].field.as_deref(), c[3].text.as_str()),
            (Some("title"), "kiwi")
        );
        assert_eq!(c[3].raw, "title:kiwi");
        assert_eq!(
            (
                c[4].occur,
                c[4].field.as_deref(),
                c[4].text.as_str(),
                c[4].phrase
            ),
            (Occur::Must, Some("body"), "a b", true)
        );
        assert_eq!(c[5].text, "plain");
    }

    #[test]
    fn unterminated_quote_runs_to_the_end_and_empty_input_has_no_clauses() {
        assert_eq!(
            parsed(r#"x "open phrase"#),
            [
                (Occur::Should, None, "x".to_owned(), false),
                (Occur::Should, None, "open phrase".to_owned(), true)
            ]
        );
        assert!(TextQuery::parse("   ").clauses.is_empty());
        assert_eq!(TextQuery::parse("+ -").clauses.len(), 2);
    }

    #[test]
    fn a_colon_without_a_value_is_text() {
        let q = TextQuery::parse("time: now 10:30");
        assert_eq!(q.clauses[0].field, None);
        assert_eq!(q.clauses[0].text, "time:");
        assert_eq!(q.clauses[2].field.as_deref(), Some("10"));
        assert_eq!(q.clauses[2].raw, "10:30");
    }
}
