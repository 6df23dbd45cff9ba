//! A brute-force BM25 oracle: the same query semantics as the index (module docs of
//! `search`), computed by scanning every live document's token lists.

use std::collections::{BTreeMap, HashMap};

/// A generated query clause: the words are single tokens of the test vocabulary.
#[derive(Debug, Clone)]
pub struct GenClause {
    /// 0 should, 1 must, 2 must not.
    pub occur: u8,
    pub field: Option<usize>,
    pub words: Vec<String>,
    pub phrase: bool,
}

/// Renders clauses in the query syntax.
pub fn render(clauses: &[GenClause], field_names: &[&str]) -> String {
    clauses
        .iter()
        .map(|c| {
            let prefix = ["", "+", "-"][usize::from(c.occur)];
            let field = c
                .field
                .map(|f| format!("{}:", field_names[f]))
                .unwrap_or_default();
            let body = if c.phrase {
                format!("\"{}\"", c.words.join(" "))
            } else {
                c.words.join(" ")
            };
            format!("{prefix}{field}{body}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The live corpus: point id -> one token list per field.
#[derive(Debug, Clone, Default)]
pub struct Oracle {
    pub docs: BTreeMap<u64, Vec<Vec<String>>>,
    pub n_fields: usize,
}

const K1: f64 = 1.2;
const B: f64 = 0.75;

impl Oracle {
    pub fn new(n_fields: usize) -> Self {
        Oracle {
            docs: BTreeMap::new(),
            n_fields,
        }
    }

    /// Upserts `id` with per-field texts (split on spaces); a document with no token is
    /// absent, as in the index.
    pub fn upsert(&mut self, id: u64, texts: &[String]) {
        let fields: Vec<Vec<String>> = texts
            .iter()
            .map(|t| t.split_whitespace().map(str::to_owned).collect())
            .collect();
        if fields.iter().all(Vec::is_empty) {
            self.docs.remove(&id);
        } else {
            self.docs.insert(id, fields);
        }
    }

    pub fn delete(&mut self, id: u64) {
        self.docs.remove(&id);
    }

    fn idf_and_avg(&self, field: usize, term: &str) -> (f64, f64) {
        let mut n: f64 = 0.0;
        let mut df: f64 = 0.0;
        let mut total = 0.0;
        for fields in self.docs.values() {
            let tokens = &fields[field];
            if !tokens.is_empty() {
                n += 1.0;
                total += tokens.len() as f64;
                if tokens.iter().any(|t| t == term) {
                    df += 1.0;
                }
            }
        }
        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        (idf, if n > 0.0 { total / n } else { 1.0 })
    }

    /// Every matching allowed document with its score, best first, ties to the smaller id.
    pub fn search(&self, clauses: &[GenClause], allow: &dyn Fn(u64) -> bool) -> Vec<(u64, f64)> {
        let mut cache: HashMap<(usize, String), (f64, f64)> = HashMap::new();
        let has_must = clauses.iter().any(|c| c.occur == 1);
        let mut out = Vec::new();
        for (&id, fields) in &self.docs {
            if !allow(id) {
                continue;
            }
            let mut counted: Vec<(usize, String)> = Vec::new();
            let mut any_should = false;
            let mut ok = true;
            for c in clauses {
                let targets: Vec<usize> = match c.field {
                    Some(f) => vec![f],
                    None => (0..self.n_fields).collect(),
                };
                let mut holds = false;
                for f in targets {
                    if contains_sequence(&fields[f], &c.words, c.phrase) {
                        holds = true;
                        if c.occur != 2 {
                            for w in &c.words {
                                if !counted.contains(&(f, w.clone())) {
                                    counted.push((f, w.clone()));
                                }
                            }
                        }
                    }
                }
                match c.occur {
                    2 if holds => ok = false,
                    1 if !holds => ok = false,
                    0 if holds => any_should = true,
                    _ => {}
                }
            }
            if !ok || !(has_must || any_should) {
                continue;
            }
            let mut score = 0.0;
            for (f, term) in counted {
                let tokens = &fields[f];
                let tf = tokens.iter().filter(|t| **t == term).count() as f64;
                let (idf, avg) = *cache
                    .entry((f, term.clone()))
                    .or_insert_with(|| self.idf_and_avg(f, &term));
                let len = tokens.len() as f64;
                score += idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg));
            }
            out.push((id, score));
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

/// Whether `tokens` holds `words` (adjacent and in order for a phrase; a word clause is one
/// word).
fn contains_sequence(tokens: &[String], words: &[String], phrase: bool) -> bool {
    if !phrase || words.len() == 1 {
        return words.iter().all(|w| tokens.contains(w));
    }
    tokens.windows(words.len()).any(|w| w == words)
}
