//! NearStore payload filters: the filter model ([`Filter`]), its JSON form, the brute-force
//! evaluator over JSON payloads ([`Filter::matches`]), and payload indexes that answer
//! filters with id bitmaps ([`PayloadIndexes::resolve`]).
//!
//! This crate knows nothing of vectors, storage or the query language; the engine lowers its
//! requests to a [`Filter`], keeps one [`PayloadIndexes`] per collection, and stores
//! [`PayloadIndexes::encode`]'s bytes through the storage crate. No `unsafe`, no panics on
//! any input.
//!
//! # JSON form
//!
//! A filter is one of
//!
//! - `{"and": [f, ...]}`: every part matches; an empty list matches everything;
//! - `{"or": [f, ...]}`: some part matches; an empty list matches nothing;
//! - `{"not": f}`;
//! - `{"has_id": [id, ...]}`: the point's id is one of these (non-negative integers);
//!   it needs no payload and resolves directly to the id bitmap;
//! - a condition: an object with a `"field"` (a path, e.g. `"meta.author.name"` or
//!   Qdrant's `"country.cities[].population"`; see *Paths*) and exactly one operator key:
//!
//! | key | operand | example |
//! |---|---|---|
//! | `eq`, `ne` | number, string or bool | `{"field": "lang", "eq": "en"}` |
//! | `gt`, `gte`, `lt`, `lte` | number or string | `{"field": "price", "gt": 10}` |
//! | `in`, `not_in` | array of numbers, strings, bools | `{"field": "tag", "in": ["a", "b"]}` |
//! | `between` | `[low, high]`, both numbers or both strings, `low <= high` | `{"field": "price", "between": [1, 5]}` |
//! | `like`, `ilike` | pattern string | `{"field": "title", "like": "vec%"}` |
//! | `is_null`, `is_not_null` | `true` | `{"field": "x", "is_null": true}` |
//! | `is_explicit_null` | `true` | `{"field": "x", "is_explicit_null": true}` |
//! | `is_empty` | `true` | `{"field": "tags", "is_empty": true}` |
//! | `contains` | number, string or bool | `{"field": "tags", "contains": "a"}` |
//! | `contains_any`, `contains_all` | array of numbers, strings, bools | `{"field": "tags", "contains_all": ["a", "b"]}` |
//! | `geo_radius` | `{"lat", "lon", "meters"}` | `{"field": "loc", "geo_radius": {"lat": 48.8, "lon": 2.3, "meters": 1000}}` |
//! | `text` | query text (string) | `{"field": "title", "text": "vector database"}` |
//! | `phrase` | query text (string) | `{"field": "title", "phrase": "vector database"}` |
//! | `datetime_range` | `{"gt", "gte", "lt", "lte"}`, each optional (or `null`), a datetime string | `{"field": "created", "datetime_range": {"gte": "2024-01-01", "lt": "2024-02-01T00:00:00+01:00"}}` |
//! | `geo_box` | `{"top_left": {"lat", "lon"}, "bottom_right": {"lat", "lon"}}` | `{"field": "loc", "geo_box": {"top_left": {"lat": 10, "lon": 170}, "bottom_right": {"lat": -10, "lon": -170}}}` |
//!
//! [`Filter::parse`] rejects, with an [`Error::InvalidFilter`] whose `path` names the bad
//! part (`and[1].or[0].gt`, `not.in[2]`, `geo_box.top_left.lat`, `and[0].field`, ...; empty
//! for the root): a non-object filter; unknown keys; a logical object with more than one
//! key; a condition with no operator or with two; operands of the wrong type (`null`,
//! arrays or objects where a scalar is expected, bools for ordering operators, non-scalar
//! list elements, a non-string pattern, `is_null: false`); `between` that is not a
//! two-element list of the same ordered type or has `low > high`; geo shapes with missing
//! or unknown keys, a latitude outside `[-90, 90]`, a longitude outside `[-180, 180]`, a
//! negative radius, or `top_left.lat < bottom_right.lat`; non-finite numbers (JSON text
//! cannot carry them; [`Filter::validate`] checks Rust-built filters by the same rules);
//! an invalid field path (empty, an empty key as in `"a..b"`, a selector other than `[]`
//! and `[N]`, e.g. `"a[x]"`, an unclosed quote or a `"` inside an unquoted key; the
//! message says which; a quoted key, `"\"a.b\".c"`, holds dots and brackets); nesting deeper than
//! [`MAX_DEPTH`] (64) levels; more than [`MAX_CONDITIONS`] (1024) conditions in total.
//! Filters built in Rust are unchecked until [`Filter::validate`]; the engine should
//! validate them before use, since evaluation recurses once per nesting level (parsed and
//! validated filters are at most 64 deep).
//! [`Filter::to_json`] writes the same form, and `Filter::parse(&f.to_json()) == Ok(f)`.
//! Serde goes through both.
//!
//! # Semantics
//!
//! - **Paths.** A path is `.`-separated object keys, each optionally followed by array
//!   selectors: `[]` (every element) or `[N]` (element `N`), as in Qdrant's keys. `"a.b"` in
//!   `{"a": {"b": 1}}` is `1`; a key on a non-object, `[N]` past the end, `[]` or `[N]` on a
//!   non-array, or a missing key reach nothing (*missing*); a key without a selector does not
//!   descend into an array (`"cities.population"` on `{"cities": [..]}` is missing, write
//!   `"cities[].population"`). A path *reaches* a list of values: at most one without `[]`,
//!   one per element walked with `[]` (`"country.cities[].population"` reaches each city's
//!   `population`, in order; cities without one add nothing). A missing field and an
//!   explicit `null` behave the same except for `is_explicit_null` / `is_empty` below. A
//!   point without payload is evaluated against `Value::Null`, where every field is
//!   missing. A key containing `.`, `[` or `]` is written in double quotes (`"x.y".z`
//!   reaches `{"x.y": {"z": ..}}`); a key containing `"` cannot be addressed. The
//!   evaluator, the payload indexes, [`field_value`] / [`field_values`] and
//!   [`parse_path`] (the steps, for callers that walk payloads themselves) share one
//!   implementation.
//! - **Arrays.** A condition reads the non-null values its path reaches, and an array value
//!   by its elements: `eq`, `in`, `gt`/`gte`/`lt`/`lte`, `between`, `like`/`ilike` and the
//!   geo operators match when *any element of any reached value* matches (one level: an
//!   element that is itself an array never matches unless the path walks into it with
//!   another `[]`; `null` elements never match). `between` needs one element inside both
//!   bounds. So `{"field": "country.cities[].population", "gt": 1000}` matches when some
//!   city has more than 1000 (Qdrant: any element matches), and `"tags[]"` behaves like
//!   `"tags"` for these operators.
//! - **Comparison.** Numbers compare by exact value whatever their JSON form (`3 == 3.0`;
//!   `9007199254740993 != 9007199254740992.0`; `-0.0 == 0`). Strings compare by bytes
//!   (`"B" < "a"`). Bools support only `eq`/`ne`/`in`/`not_in`/`contains`. Values of
//!   different types are never equal or ordered, so such comparisons are false (and their
//!   `ne` is true).
//! - **Negations.** `ne(x)` is exactly `not(eq(x))`, `not_in(xs)` is exactly `not(in(xs))`:
//!   a missing field passes both, and an array passes `ne(x)` only when no element equals `x`.
//!   `is_not_null` is exactly `not(is_null)`. With `[]` paths, as with Qdrant's `must_not`,
//!   the negation applies to the whole "some element matches": `not(gt("a[].b", 5))` (and
//!   Qdrant `must_not` of that range) matches the points where *no* element's `b` exceeds 5,
//!   points without `a` included; it is not "some element's `b` is at most 5".
//! - **Null.** `is_null` matches a missing field or `null` (SQL `IS NULL`). An empty array
//!   `[]` is *not* null (it is a present value with no elements). `is_explicit_null`
//!   matches only a field that is present and holds `null` (Qdrant's `is_null`); a missing
//!   field, `[]` and `[null]` do not match. `is_empty` matches a missing field, `null` or
//!   `[]` (Qdrant's `is_empty`); `[null]` is not empty. Over several reached values (a `[]`
//!   path), following Qdrant: `is_null` holds when every reached value is `null` (none
//!   reached included) and `is_not_null` when some is not; `is_explicit_null` when *some*
//!   reached value is an explicit `null` (`a[].b` on `[{"b": null}, {"b": 1}]` matches);
//!   `is_empty` when *every* reached value is `null` or `[]` (none reached included).
//! - **values_count.** Not an operator here (the Qdrant routes refuse it). Were it added it
//!   would count, as Qdrant does, the elements of each reached array plus each reached
//!   non-array value, over all values a `[]` path reaches.
//! - **Ids.** `has_id` is true when the point's id is in the list. [`Filter::matches`] sees
//!   only a payload, so there `has_id` is false; [`Filter::matches_point`] sees the id.
//! - **in.** `in([])` matches nothing, `not_in([])` everything.
//! - **like / ilike.** SQL patterns over Unicode characters: `%` matches any run (including
//!   none), `_` exactly one character, `\` escapes the next character (so `\%` is a literal
//!   `%`; a trailing `\` is a literal backslash); everything else matches itself. The whole
//!   string must match. `ilike` lowercases both sides (`str::to_lowercase`) first. They
//!   apply to a string field or to any string element of an array; other values never match.
//! - **contains.** True when the field is an array with an element equal to the value (by
//!   the comparison rules above), or when the field is a string and the value is a string
//!   occurring in it as a substring (`""` occurs in every string). A scalar that is not a
//!   string contains nothing. `contains_any(xs)` is `or` of `contains(x)` (empty: false);
//!   `contains_all(xs)` is `and` of `contains(x)` (empty: true, even for a missing field).
//!   With a `[]` path each reached value is tested (`"tags[]"` reaches the strings
//!   themselves, so there `contains` is a substring test on each tag), and `contains_all`
//!   may be satisfied by different reached values.
//! - **Full text.** `text` holds when every term of the query, as the field's analyzer cuts
//!   it, occurs in the field's text (Qdrant's `match: {text}` on a full-text index);
//!   `phrase` when the terms occur adjacent and in order within one string of the field.
//!   A query with no term matches nothing. These need an analyzer, which this crate does
//!   not have: the engine resolves them to id sets (through its text index when the
//!   collection indexes that field, otherwise by analyzing the payload value with the
//!   default analyzer) before evaluating the rest of the filter. [`Filter::matches`] alone
//!   treats them as not matching, and payload indexes never answer them. Qdrant's
//!   substring reading of `match: {text}` on a field without a full-text index is
//!   `contains` with a string operand.
//! - **Datetimes.** `datetime_range` compares instants: a reached string (or string element
//!   of an array) that [`Datetime::parse`] reads (RFC 3339 / ISO 8601 with or without
//!   offset, without offset meaning UTC, or a date alone, meaning midnight UTC; whole
//!   microseconds) matches when it satisfies every given bound; other values (numbers,
//!   strings that are not datetimes) never match. So `"2024-03-01T13:30:00+01:00"` and
//!   `"2024-03-01T12:30:00Z"` are the same instant, which a string comparison (`gt` on a
//!   string) would not see. A bound that is not a datetime is a parse error.
//! - **Geo.** A point is an object with numeric `lat` in `[-90, 90]` and `lon` in
//!   `[-180, 180]` (other keys ignored; anything else is not a point). `geo_radius` matches
//!   when the haversine distance on a sphere of radius [`EARTH_RADIUS_METERS`]
//!   (6 371 008.8 m) is `<= meters`. `geo_box` matches
//!   `bottom_right.lat <= lat <= top_left.lat` and, when `top_left.lon <= bottom_right.lon`,
//!   `top_left.lon <= lon <= bottom_right.lon`; otherwise the box crosses the antimeridian
//!   and `lon >= top_left.lon || lon <= bottom_right.lon`. Edges are inclusive.
//!
//! # Payload indexes
//!
//! [`PayloadIndexes`] holds one index per chosen field path, of a [`FieldIndexKind`]:
//! `Keyword` (strings -> ids, ordered by bytes), `Integer` (numbers that are exactly an
//! `i64` -> ids, ordered), `Float` (numbers that are exactly an `f64` -> ids, ordered),
//! `Bool`, `Datetime` (strings that parse as datetimes -> ids, keyed and ordered by instant;
//! other strings and non-strings are "other"). Every element of an array value is indexed, and on a path with `[]` every value
//! the path reaches (an index on `"country.cities[].population"` holds each city's
//! population). Each field index also keeps the ids
//! with the field present (non-null), the ids whose value is an array, and the ids with a
//! value its kind cannot hold ("other": `2.5` in an integer index, a string in a bool index,
//! objects, ...). Answers on `[]` paths are exact as on plain paths, except `contains` of a
//! scalar, which there is a bound checked on payloads. An index read from a file written
//! before selectors were read as such lists its field in [`PayloadIndexes::stale_fields`]
//! and answers nothing until the owner rebuilds it.
//!
//! [`PayloadIndexes::resolve`] returns [`Candidates`]: a superset of the matching ids within
//! the given universe (the live ids), with `exact` set when it *is* the matching set. Each
//! sub-filter resolves to `sure ⊆ possible`; `and`/`or`/`not` combine these by three-valued
//! logic, so e.g. `not` of an exact part is exact, and an `and` with one exact part narrows
//! to it. Conditions on unindexed fields are `(∅, universe)`; `has_id` is exactly its ids.
//! On an indexed field, `is_null`/`is_not_null` are exact from presence, and
//! `is_explicit_null`/`is_empty` from the ids with a `null` / `[]` the index records; `eq`, `in`, `contains*` with operands of
//! the index's type are exact; ranges and `between` are exact on keyword indexes and, when
//! the field holds no "other" values, on numeric ones (an integer index answers `gt 2.5`
//! exactly as `>= 3`); `like`/`ilike` are exact on keyword indexes (a literal prefix limits
//! the key scan); `datetime_range` is exact on datetime indexes (a key range) and on keyword
//! indexes (each key parsed), and on other kinds bounded by their "other" ids; every other
//! condition on a datetime index is bounded by the ids with the field present; `ne`/`not_in` are exact whenever `eq`/`in` are. Anything an index cannot
//! answer is bounded by the field's "other" ids, so a condition whose type cannot occur in
//! the field is exactly empty.
//!
//! Persistence: [`PayloadIndexes::encode`] / [`PayloadIndexes::decode`]; the byte layout is
//! documented in the `codec` module source. Decoding bounds every length by the bytes left
//! and fails with [`Error::Corruption`] rather than panicking.
//!
//! ```
//! use nearstore_filter::{FieldIndexKind, Filter, PayloadIndexes};
//! use serde_json::json;
//!
//! let f = Filter::parse(&json!({"and": [
//!     {"field": "lang", "eq": "en"},
//!     {"field": "price", "between": [1, 5]},
//! ]}))?;
//! assert!(f.matches(&json!({"lang": "en", "price": 2.5})));
//!
//! let p1 = json!({"lang": "en", "price": 2});
//! let p2 = json!({"lang": "de", "price": 3});
//! let mut indexes = PayloadIndexes::new();
//! indexes.create_field("lang", FieldIndexKind::Keyword, [(1, &p1), (2, &p2)])?;
//! indexes.create_field("price", FieldIndexKind::Integer, [(1, &p1), (2, &p2)])?;
//! let universe = [1u64, 2].into_iter().collect();
//! let candidates = indexes.resolve(&f, &universe);
//! assert!(candidates.exact);
//! assert_eq!(candidates.ids.iter().collect::<Vec<_>>(), vec![1]);
//! # Ok::<(), nearstore_filter::Error>(())
//! ```

#![forbid(unsafe_code)]

mod codec;
mod datetime;
mod error;
mod eval;
mod idset;
mod index;
mod json;
mod model;
mod order;
mod path;
mod resolve;
mod value;

pub use datetime::{Datetime, DatetimeRange};
pub use error::{Error, Result};
pub use eval::{EARTH_RADIUS_METERS, haversine_meters};
pub use index::{FieldIndexKind, PayloadIndexes};
pub use model::{Condition, Filter, GeoPoint, MAX_CONDITIONS, MAX_DEPTH, Op};
pub use order::DatetimeEntry;
pub use path::{PathStep, parse_path};
pub use resolve::Candidates;
pub use value::{elements, field_value, field_values, total_cmp};
