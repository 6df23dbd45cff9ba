//! Reserved words and the identifier rule shared by the lexer, the parser and the printer.
//!
//! Keywords are case-insensitive. Only the words below are *reserved*: they cannot be used as
//! a plain (unquoted) table, column, alias or LET name, because the grammar would be
//! ambiguous. Every other keyword of the language (`COLLECTION`, `INDEX`, `EDGE`, `NODE`,
//! `GRAPH`, `SCHEMA`, `FUSION`, `COUNT`, `NOW`, ...) is contextual and stays usable as a name:
//! `vector`, `id`, `source`, `label`, `count` are ordinary field names. The printer quotes a
//! name exactly when it is reserved or not a plain identifier, so printed text re-parses.

/// Words that are never plain identifiers (upper-case; compared case-insensitively).
pub const RESERVED: &[&str] = &[
    "ALL",
    "AND",
    "ANY",
    "AS",
    "ASC",
    "BETWEEN",
    "BY",
    "CONTAINS",
    "CONTAINS_TEXT",
    "DESC",
    "DISTINCT",
    "EDGES",
    "EXCEPT",
    "FALSE",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "ILIKE",
    "IN",
    "INNER",
    "INTERSECT",
    "INTERVAL",
    "IS",
    "JOIN",
    "LEFT",
    "LET",
    "LIKE",
    "LIMIT",
    "MATCH",
    "NEAR",
    "NEAR_FUSED",
    "NOT",
    "NULL",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "RETURN",
    "RIGHT",
    "SELECT",
    "SET",
    "SPARSE_NEAR",
    "TRUE",
    "UNION",
    "USING",
    "VALUES",
    "WHERE",
    "WITH",
];

/// Whether `word` is a reserved keyword (case-insensitive).
pub fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// Whether `c` can start a plain identifier.
pub fn is_identifier_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

/// Whether `c` can continue a plain identifier.
pub fn is_identifier_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Whether `name` lexes as one plain word (ignoring reservation).
pub fn is_plain_word(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if is_identifier_start(c) => chars.all(is_identifier_continue),
        _ => false,
    }
}

/// Whether the printer must quote `name` for it to re-parse as the same identifier.
pub fn needs_quoting(name: &str) -> bool {
    !is_plain_word(name) || is_reserved(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_words_are_case_insensitive() {
        assert!(is_reserved("select"));
        assert!(is_reserved("SeLeCt"));
        assert!(!is_reserved("vector"));
        assert!(!is_reserved("collection"));
    }

    #[test]
    fn names_needing_quotes() {
        assert!(!needs_quoting("lang"));
        assert!(!needs_quoting("_x1"));
        assert!(!needs_quoting("café"));
        assert!(needs_quoting("order"));
        assert!(needs_quoting("1abc"));
        assert!(needs_quoting("a b"));
        assert!(needs_quoting(""));
    }

    #[test]
    fn reserved_list_is_sorted_and_upper_case() {
        let mut sorted = RESERVED.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, RESERVED);
        assert!(RESERVED.iter().all(|k| k.to_ascii_uppercase() == *k));
    }
}
