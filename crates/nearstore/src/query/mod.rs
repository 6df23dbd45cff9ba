//! The query language executor: `Database::execute(sql, params)`.
//!
//! Text is parsed by `nearstore-ql` into a typed AST; a SELECT is lowered (`lower.rs`) into
//! a plan whose vector and payload conditions become one [`crate::SearchRequest`] or one
//! [`crate::ScrollRequest`] scan (`source.rs`), the same path the builder API takes, plus
//! relational steps (joins, residual predicates, windows, grouping, ordering, projection,
//! distinct, offset/limit) executed in `select.rs`. Other statements run in
//! `statements.rs`, with INSERT / UPDATE / DELETE in `dml.rs` and EXPLAIN in `explain.rs`.
//! Parsed statements are kept in a bounded LRU plan cache keyed by the exact statement text
//! and the database's schema generation.
//!
//! Results are [`QueryResult`]: typed rows that serialize as `{"rows": [...]}` with point
//! rows as `{"id", "score", "payload"}` and projections / aggregates / admin output as
//! objects of named columns.

mod dml;
mod eval;
mod explain;
mod graph;
mod graph_match;
mod legs;
mod lets;
mod lower;
mod match_lower;
mod plan_tree;
mod select;
mod source;
mod statements;
mod value;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::database::Database;
use crate::error::{Error, Result};
use eval::Source;
use nearstore_distance::DistanceMetric;
use nearstore_ql::ast::{Expr, SelectQuery, Statement, VectorExpr};

/// One result row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum QueryRow {
    /// A point (from `SELECT *`).
    Point {
        /// The point's id.
        id: u64,
        /// Its score when the query searched by vector.
        #[serde(skip_serializing_if = "Option::is_none")]
        score: Option<f32>,
        /// Its payload.
        #[serde(skip_serializing_if = "Option::is_none")]
        payload: Option<Value>,
    },
    /// Named columns (projections, aggregates, admin statements).
    Columns(Map<String, Value>),
}

impl QueryRow {
    /// The row as one JSON object (its serialized form).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The rows a statement returns (DML returns one row with the affected count).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct QueryResult {
    /// The rows, in order.
    pub rows: Vec<QueryRow>,
}

/// What EXPLAIN ANALYZE measures per plan step.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct StepStats {
    pub step: String,
    pub rows: usize,
    pub micros: u128,
    pub detail: String,
}

/// Everything a statement's execution needs.
pub(crate) struct Context<'a> {
    pub db: &'a Database,
    pub params: &'a Map<String, Value>,
    pub lets: HashMap<String, Value>,
    /// Per-row LET bindings (`LET score = similarity() * 2`): evaluated on each row where
    /// the name is used (see `eval::resolve_path`).
    pub row_lets: HashMap<String, Expr>,
    pub now: i64,
    pub aliases: Vec<String>,
    pub deadline: Option<(Instant, u64)>,
    pub stats: Option<&'a RefCell<Vec<StepStats>>>,
}

impl<'a> Context<'a> {
    /// The value bound to `$name`.
    pub fn param(&self, name: &str) -> Result<&Value> {
        self.params
            .get(name)
            .ok_or_else(|| Error::InvalidArgument(format!("parameter ${name} is not bound")))
    }

    /// A query vector from a literal or a parameter.
    pub fn vector(&self, v: &VectorExpr) -> Result<Vec<f32>> {
        match v {
            VectorExpr::Literal(values) => Ok(values.clone()),
            VectorExpr::Param(name) => {
                let value = self.param(name)?;
                let items = value.as_array().ok_or_else(|| {
                    Error::InvalidArgument(format!("${name} must be an array of numbers"))
                })?;
                items
                    .iter()
                    .map(|x| {
                        x.as_f64().map(|f| f as f32).ok_or_else(|| {
                            Error::InvalidArgument(format!("${name} holds a non-number {x}"))
                        })
                    })
                    .collect()
            }
        }
    }

    /// The metric and vector of a row's source (read when the row does not carry it).
    pub fn vector_of(&self, source: &Source) -> Result<(DistanceMetric, Vec<f32>)> {
        let c = self.db.get_vector_collection(&source.collection)?;
        let v = match &source.vector {
            Some(v) => v.clone(),
            None => c
                .get(&[source.id])?
                .pop()
                .flatten()
                .map(|p| p.vector)
                .unwrap_or_default(),
        };
        Ok((c.config().metric, v))
    }

    /// The same context with other table aliases (statistics kept).
    pub(crate) fn with_aliases(&self, aliases: Vec<String>) -> Context<'a> {
        Context {
            db: self.db,
            params: self.params,
            lets: self.lets.clone(),
            row_lets: self.row_lets.clone(),
            now: self.now,
            aliases,
            deadline: self.deadline,
            stats: self.stats,
        }
    }

    /// A context for a nested query (its own table aliases).
    pub(crate) fn nested(&self) -> Context<'a> {
        Context {
            db: self.db,
            params: self.params,
            lets: self.lets.clone(),
            row_lets: self.row_lets.clone(),
            now: self.now,
            aliases: Vec::new(),
            deadline: self.deadline,
            stats: None,
        }
    }

    /// The first column of the first row of a subquery (NULL when it returns none).
    pub fn scalar_subquery(&self, q: &SelectQuery) -> Result<Value> {
        let rows = select::run_query(&self.nested(), q)?;
        Ok(match rows.first().map(QueryRow::to_json) {
            Some(Value::Object(m)) => m.into_iter().next().map_or(Value::Null, |(_, v)| v),
            _ => Value::Null,
        })
    }

    /// The first column of every row of a subquery (for `IN (SELECT ...)`).
    pub fn subquery_column(&self, q: &SelectQuery) -> Result<Vec<Value>> {
        let rows = select::run_query(&self.nested(), q)?;
        Ok(rows
            .iter()
            .filter_map(|r| match r.to_json() {
                Value::Object(m) => m.into_iter().next().map(|(_, v)| v),
                _ => None,
            })
            .collect())
    }

    /// Fails once the query's timeout has passed.
    pub fn check_deadline(&self) -> Result<()> {
        match self.deadline {
            Some((at, ms)) if Instant::now() >= at => Err(Error::Cancelled(format!(
                "query cancelled: it ran past its timeout of {ms} ms"
            ))),
            _ => Ok(()),
        }
    }

    /// The statement's deadline as the engine request's (so the engine's own loops stop at
    /// the statement's `timeout_ms`).
    pub fn engine_deadline(&self) -> Option<crate::Deadline> {
        self.deadline.map(|(at, _)| crate::Deadline::at(at))
    }

    /// A scroll over every point (matching `filter`) carrying the statement's deadline.
    pub fn scroll_request(&self, filter: Option<nearstore_filter::Filter>) -> crate::ScrollRequest {
        let request = crate::ScrollRequest::new().filter_opt(filter);
        match self.engine_deadline() {
            Some(d) => request.deadline(d),
            None => request,
        }
    }

    /// Records a plan step for EXPLAIN ANALYZE.
    pub fn record(&self, step: impl Into<String>, rows: usize, started: Instant, detail: String) {
        if let Some(stats) = self.stats {
            stats.borrow_mut().push(StepStats {
                step: step.into(),
                rows,
                micros: started.elapsed().as_micros(),
                detail,
            });
        }
    }
}

/// Parsed statements by their exact text (a bounded LRU), valid for one schema generation.
///
/// The key is the statement text byte for byte: any normalization would have to know the
/// lexer (quoted identifiers, comments and strings keep their spaces), and two statements
/// that differ anywhere must never share a parse.
#[derive(Debug)]
pub(crate) struct PlanCache {
    entries: Mutex<lru::LruCache<String, (u64, Arc<nearstore_ql::Script>)>>,
    hits: std::sync::atomic::AtomicU64,
    misses: std::sync::atomic::AtomicU64,
}

/// Most statements the plan cache keeps (the least recently used goes first).
const PLAN_CACHE_ENTRIES: std::num::NonZeroUsize = match std::num::NonZeroUsize::new(512) {
    Some(n) => n,
    None => std::num::NonZeroUsize::MIN,
};

impl Default for PlanCache {
    fn default() -> Self {
        PlanCache {
            entries: Mutex::new(lru::LruCache::new(PLAN_CACHE_ENTRIES)),
            hits: Default::default(),
            misses: Default::default(),
        }
    }
}

impl PlanCache {
    fn get_or_parse(&self, sql: &str, generation: u64) -> Result<Arc<nearstore_ql::Script>> {
        use std::sync::atomic::Ordering;
        if let Some((g, script)) = self.entries.lock().get(sql)
            && *g == generation
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(script.clone());
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let script = Arc::new(nearstore_ql::parse(sql).map_err(|error| Error::Syntax {
            rendered: error.render(sql),
            error,
        })?);
        self.entries
            .lock()
            .put(sql.to_owned(), (generation, script.clone()));
        Ok(script)
    }

    /// (hits, misses) so far.
    pub(crate) fn stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering;
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

impl Database {
    /// Runs one statement of the query language (see `../shared/spec/query-language.md`),
    /// optionally preceded by `LET` bindings. `params` is a JSON object binding `$name`s
    /// (vectors as arrays of numbers, scalars, lists), or `null` when there are none.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// use nearstore::Database;
    /// use serde_json::json;
    ///
    /// let db = Database::open(dir.path())?;
    /// db.execute("CREATE COLLECTION docs (dimension = 2, metric = 'cosine')", &json!(null))?;
    /// db.execute("INSERT INTO docs (id, vector, lang) VALUES (1, [1, 0], 'en'), (2, [0, 1], 'fr')", &json!(null))?;
    /// let result = db.execute(
    ///     "SELECT * FROM docs WHERE vector NEAR $v AND lang = 'en' LIMIT 5",
    ///     &json!({"v": [0.9, 0.1]}),
    /// )?;
    /// assert_eq!(serde_json::to_value(&result)?["rows"][0]["id"], 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute(&self, sql: &str, params: &Value) -> Result<QueryResult> {
        let empty = Map::new();
        let params = match params {
            Value::Object(m) => m,
            Value::Null => &empty,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "params must be a JSON object of $name bindings, got {other}"
                )));
            }
        };
        let script = self
            .plan_cache()
            .get_or_parse(sql, self.schema_generation())?;
        let mut ctx = Context {
            db: self,
            params,
            lets: HashMap::new(),
            row_lets: HashMap::new(),
            now: eval::query_now(),
            aliases: Vec::new(),
            deadline: None,
            stats: None,
        };
        lets::bind_lets(&mut ctx, &script.lets)?;
        let rows = match &script.statement {
            Statement::Explain { analyze, statement } => {
                explain::explain(&ctx, statement, *analyze)?
            }
            other => statements::run(&ctx, other)?,
        };
        Ok(QueryResult { rows })
    }

    /// Plan-cache hits and misses since the database was opened.
    pub fn plan_cache_stats(&self) -> (u64, u64) {
        self.plan_cache().stats()
    }
}

/// Sets a query's deadline from its `timeout_ms` option.
pub(crate) fn with_deadline<'a>(ctx: &Context<'a>, timeout_ms: Option<u64>) -> Context<'a> {
    Context {
        db: ctx.db,
        params: ctx.params,
        lets: ctx.lets.clone(),
        row_lets: ctx.row_lets.clone(),
        now: ctx.now,
        aliases: ctx.aliases.clone(),
        deadline: timeout_ms
            .map(|ms| (Instant::now() + Duration::from_millis(ms), ms))
            .or(ctx.deadline),
        stats: ctx.stats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_differing_inside_a_quoted_identifier_or_a_comment_get_their_own_plans() {
        let cache = PlanCache::default();
        let a = cache.get_or_parse(r#"SELECT "a  b" FROM t"#, 1).unwrap();
        let b = cache.get_or_parse(r#"SELECT "a b" FROM t"#, 1).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert_ne!(format!("{a:?}"), format!("{b:?}"), "different identifiers");
        let c = cache.get_or_parse("SELECT * FROM t -- x  y", 1).unwrap();
        let d = cache.get_or_parse("SELECT * FROM t -- x y", 1).unwrap();
        assert!(!Arc::ptr_eq(&c, &d));
        assert_eq!(cache.stats(), (0, 4));
        let again = cache.get_or_parse(r#"SELECT "a  b" FROM t"#, 1).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert_eq!(cache.stats(), (1, 4));
        // A new schema generation parses again.
        let fresh = cache.get_or_parse(r#"SELECT "a  b" FROM t"#, 2).unwrap();
        assert!(!Arc::ptr_eq(&a, &fresh));
    }

    #[test]
    fn the_plan_cache_is_bounded_and_keeps_the_recently_used() {
        let cache = PlanCache::default();
        let first = cache.get_or_parse("SELECT * FROM t0", 1).unwrap();
        for i in 1..600 {
            cache
                .get_or_parse(&format!("SELECT * FROM t{i}"), 1)
                .unwrap();
            // Keep the first one in use.
            cache.get_or_parse("SELECT * FROM t0", 1).unwrap();
        }
        assert_eq!(cache.entries.lock().len(), PLAN_CACHE_ENTRIES.get());
        let still = cache.get_or_parse("SELECT * FROM t0", 1).unwrap();
        assert!(Arc::ptr_eq(&first, &still));
        assert!(cache.entries.lock().peek("SELECT * FROM t1").is_none());
    }
}
