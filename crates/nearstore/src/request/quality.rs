//! The one table of search-quality names, shared by the query language and the server.

use nearstore_index::SearchQuality;

/// Every accepted search-quality name (lower case) and the quality it names.
pub const SEARCH_QUALITY_NAMES: [(&str, SearchQuality); 6] = [
    ("fast", SearchQuality::Fast),
    ("balanced", SearchQuality::Balanced),
    ("accurate", SearchQuality::Accurate),
    ("perfect", SearchQuality::Perfect),
    ("exact", SearchQuality::Perfect),
    ("adaptive", SearchQuality::Adaptive),
];

/// The quality a name stands for, case-insensitively (`None` for an unknown name).
pub fn parse_search_quality(name: &str) -> Option<SearchQuality> {
    SEARCH_QUALITY_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, q)| *q)
}

/// The accepted names, for error messages: `fast, balanced, ...`.
pub fn search_quality_names() -> String {
    SEARCH_QUALITY_NAMES
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_case_insensitively_from_the_one_table() {
        assert_eq!(
            parse_search_quality("Perfect"),
            Some(SearchQuality::Perfect)
        );
        assert_eq!(parse_search_quality("exact"), Some(SearchQuality::Perfect));
        assert_eq!(
            parse_search_quality("ADAPTIVE"),
            Some(SearchQuality::Adaptive)
        );
        assert_eq!(parse_search_quality("slow"), None);
        assert!(search_quality_names().starts_with("fast, balanced"));
    }
}
