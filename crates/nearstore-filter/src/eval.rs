//! The brute-force evaluator: [`Filter::matches`] over one JSON payload. This is the oracle
//! the payload indexes are tested against, so it is kept as direct as the documented
//! semantics allow.

use std::cmp::Ordering;

use serde_json::Value;

use crate::datetime::Datetime;
use crate::model::{Condition, Filter, GeoPoint, Op};
use crate::path::reach;
use crate::value::{elements, scalar_cmp, scalar_eq};

/// Mean Earth radius used by [`Op::GeoRadius`], in meters.
pub const EARTH_RADIUS_METERS: f64 = 6_371_008.8;

impl Filter {
    /// Whether a payload satisfies the filter. A point without payload is evaluated against
    /// `Value::Null`, where every field is missing.
    ///
    /// The payload alone does not say which point it is, so a [`Filter::HasId`] here
    /// matches nothing (and its negation everything); [`Filter::matches_point`] sees ids.
    pub fn matches(&self, payload: &Value) -> bool {
        self.eval(None, payload)
    }

    /// Whether the point `id` with this payload satisfies the filter (`has_id` included).
    pub fn matches_point(&self, id: u64, payload: &Value) -> bool {
        self.eval(Some(id), payload)
    }

    fn eval(&self, id: Option<u64>, payload: &Value) -> bool {
        match self {
            Filter::And(parts) => parts.iter().all(|p| p.eval(id, payload)),
            Filter::Or(parts) => parts.iter().any(|p| p.eval(id, payload)),
            Filter::Not(part) => !part.eval(id, payload),
            Filter::Condition(c) => c.matches(payload),
            Filter::HasId(ids) => id.is_some_and(|id| ids.contains(id)),
        }
    }

    /// Whether the filter has a `has_id` anywhere (so evaluating it needs the point's id).
    pub fn mentions_ids(&self) -> bool {
        match self {
            Filter::And(parts) | Filter::Or(parts) => parts.iter().any(Filter::mentions_ids),
            Filter::Not(part) => part.mentions_ids(),
            Filter::Condition(_) => false,
            Filter::HasId(_) => true,
        }
    }
}

impl Condition {
    /// Whether a payload satisfies this one condition. The field's path may reach several
    /// values (`a[].b`); see the crate docs for how each operator reads them.
    pub fn matches(&self, payload: &Value) -> bool {
        let reached = reach(payload, &self.field);
        let all = reached.as_slice();
        let mut present = reached.present();
        match &self.op {
            Op::IsExplicitNull => all.iter().any(|v| v.is_null()),
            Op::IsEmpty => all
                .iter()
                .all(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty)),
            Op::IsNull => present.next().is_none(),
            Op::IsNotNull => present.next().is_some(),
            Op::Ne(x) => !present.any(|v| any_eq(v, x)),
            Op::NotIn(xs) => !present.any(|v| xs.iter().any(|x| any_eq(v, x))),
            Op::ContainsAll(xs) => xs.iter().all(|x| reached.present().any(|v| contains(v, x))),
            op => present.any(|v| positive(op, v)),
        }
    }
}

/// Operators that can only match a present, non-null value.
fn positive(op: &Op, v: &Value) -> bool {
    match op {
        Op::Eq(x) => any_eq(v, x),
        Op::In(xs) => xs.iter().any(|x| any_eq(v, x)),
        Op::Gt(x) => any_cmp(v, x, |o| o == Ordering::Greater),
        Op::Gte(x) => any_cmp(v, x, |o| o != Ordering::Less),
        Op::Lt(x) => any_cmp(v, x, |o| o == Ordering::Less),
        Op::Lte(x) => any_cmp(v, x, |o| o != Ordering::Greater),
        Op::Between { low, high } => elements(v).iter().any(|e| {
            scalar_cmp(e, low).is_some_and(|o| o != Ordering::Less)
                && scalar_cmp(e, high).is_some_and(|o| o != Ordering::Greater)
        }),
        Op::Like(p) => any_str(v, |s| like(s, p)),
        Op::ILike(p) => {
            let p = p.to_lowercase();
            any_str(v, |s| like(&s.to_lowercase(), &p))
        }
        Op::Contains(x) => contains(v, x),
        Op::ContainsAny(xs) => xs.iter().any(|x| contains(v, x)),
        Op::GeoRadius { lat, lon, meters } => any_geo(v, |p| {
            haversine_meters(GeoPoint::new(*lat, *lon), p) <= *meters
        }),
        Op::GeoBox {
            top_left,
            bottom_right,
        } => any_geo(v, |p| in_box(p, *top_left, *bottom_right)),
        Op::IsNull
        | Op::IsNotNull
        | Op::IsExplicitNull
        | Op::IsEmpty
        | Op::Ne(_)
        | Op::NotIn(_)
        | Op::ContainsAll(_) => false,
        // Full-text operators need an analyzer: the engine resolves them to id sets before
        // evaluating (see `Op::Text`); on a payload alone they match nothing.
        Op::Text(_) | Op::Phrase(_) => false,
        Op::DatetimeRange(range) => elements(v)
            .iter()
            .any(|e| Datetime::of_value(e).is_some_and(|t| range.contains(t))),
    }
}

fn any_eq(v: &Value, x: &Value) -> bool {
    elements(v).iter().any(|e| scalar_eq(e, x))
}

fn any_cmp(v: &Value, x: &Value, accept: impl Fn(Ordering) -> bool) -> bool {
    elements(v)
        .iter()
        .any(|e| scalar_cmp(e, x).is_some_and(&accept))
}

fn any_str(v: &Value, accept: impl Fn(&str) -> bool) -> bool {
    elements(v).iter().any(|e| e.as_str().is_some_and(&accept))
}

fn any_geo(v: &Value, accept: impl Fn(GeoPoint) -> bool) -> bool {
    elements(v).iter().filter_map(geo_point).any(accept)
}

/// An array containing an element equal to `x`, or a string containing the string `x`.
pub(crate) fn contains(v: &Value, x: &Value) -> bool {
    match (v, x) {
        (Value::Array(items), _) => items.iter().any(|e| scalar_eq(e, x)),
        (Value::String(s), Value::String(needle)) => s.contains(needle.as_str()),
        _ => false,
    }
}

/// A `{"lat": number, "lon": number}` object with both in range (extra keys allowed); the
/// longitude may also be spelled `lng` (as the query-language spec accepts). When both are
/// present `lon` is used.
pub(crate) fn geo_point(v: &Value) -> Option<GeoPoint> {
    let obj = v.as_object()?;
    let lat = obj.get("lat")?.as_f64()?;
    let lon = obj.get("lon").or_else(|| obj.get("lng"))?.as_f64()?;
    let valid = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
    valid.then_some(GeoPoint { lat, lon })
}

/// Great-circle distance by the haversine formula on a sphere of [`EARTH_RADIUS_METERS`].
pub fn haversine_meters(a: GeoPoint, b: GeoPoint) -> f64 {
    let (phi1, phi2) = (a.lat.to_radians(), b.lat.to_radians());
    let dphi = (b.lat - a.lat).to_radians();
    let dlambda = (b.lon - a.lon).to_radians();
    let h = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_METERS * h.clamp(0.0, 1.0).sqrt().asin()
}

fn in_box(p: GeoPoint, top_left: GeoPoint, bottom_right: GeoPoint) -> bool {
    let lat_ok = bottom_right.lat <= p.lat && p.lat <= top_left.lat;
    let lon_ok = if top_left.lon <= bottom_right.lon {
        top_left.lon <= p.lon && p.lon <= bottom_right.lon
    } else {
        // Crosses the antimeridian: east of the west edge or west of the east edge.
        p.lon >= top_left.lon || p.lon <= bottom_right.lon
    };
    lat_ok && lon_ok
}

/// SQL `LIKE` over characters: `%` any run, `_` one character, `\` escapes the next
/// character (a trailing `\` matches a literal backslash). Linear-space, worst case
/// `O(len(text) * len(pattern))`.
pub(crate) fn like(text: &str, pattern: &str) -> bool {
    let tokens = like_tokens(pattern);
    let text: Vec<char> = text.chars().collect();
    let (mut t, mut p) = (0usize, 0usize);
    // Where to resume after the last `%`: (pattern index after it, text index it covers to).
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(LikeToken::Any) => {
                star = Some((p + 1, t));
                p += 1;
            }
            Some(LikeToken::One) => {
                t += 1;
                p += 1;
            }
            Some(LikeToken::Char(c)) if text.get(t) == Some(c) => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p.min(tokens.len())..]
        .iter()
        .all(|tok| matches!(tok, LikeToken::Any))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LikeToken {
    Any,
    One,
    Char(char),
}

pub(crate) fn like_tokens(pattern: &str) -> Vec<LikeToken> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '%' => LikeToken::Any,
            '_' => LikeToken::One,
            '\\' => LikeToken::Char(chars.next().unwrap_or('\\')),
            c => LikeToken::Char(c),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(f: &Filter, p: &Value) -> bool {
        f.matches(p)
    }

    #[test]
    fn eq_compares_numbers_by_value_and_matches_any_array_element() {
        let p = json!({"n": 3, "f": 2.5, "s": "x", "b": true, "arr": [1, "a", 7.0]});
        assert!(m(&Filter::eq("n", json!(3.0)), &p));
        assert!(m(&Filter::eq("f", json!(2.5)), &p));
        assert!(m(&Filter::eq("s", json!("x")), &p));
        assert!(m(&Filter::eq("b", json!(true)), &p));
        assert!(m(&Filter::eq("arr", json!(7)), &p));
        assert!(m(&Filter::eq("arr", json!("a")), &p));
        assert!(!m(&Filter::eq("arr", json!(2)), &p));
        assert!(!m(&Filter::eq("n", json!("3")), &p), "types never mix");
        assert!(!m(&Filter::eq("missing", json!(1)), &p));
    }

    #[test]
    fn ne_is_not_eq_so_missing_fields_pass() {
        let p = json!({"n": 3, "arr": [1, 2]});
        assert!(!m(&Filter::ne("n", json!(3)), &p));
        assert!(m(&Filter::ne("n", json!(4)), &p));
        assert!(m(&Filter::ne("missing", json!(4)), &p));
        assert!(!m(&Filter::ne("arr", json!(2)), &p), "an element equals");
        assert!(m(&Filter::ne("n", json!("3")), &p));
    }

    #[test]
    fn range_operators_on_numbers_and_strings() {
        let p = json!({"n": 5, "s": "m", "arr": [1, 10], "b": true});
        assert!(m(&Filter::gt("n", json!(4.5)), &p));
        assert!(!m(&Filter::gt("n", json!(5)), &p));
        assert!(m(&Filter::gte("n", json!(5)), &p));
        assert!(m(&Filter::lt("n", json!(5.1)), &p));
        assert!(m(&Filter::lte("n", json!(5)), &p));
        assert!(!m(&Filter::lt("n", json!(5)), &p));
        assert!(m(&Filter::gt("s", json!("a")), &p));
        assert!(!m(&Filter::gt("s", json!("z")), &p));
        assert!(
            !m(&Filter::gt("s", json!(1)), &p),
            "string vs number is false"
        );
        assert!(m(&Filter::gt("arr", json!(5)), &p), "any element");
        assert!(m(&Filter::lt("arr", json!(5)), &p), "any element");
        assert!(!m(&Filter::gt("b", json!(0)), &p), "bools are not ordered");
        assert!(!m(&Filter::gt("missing", json!(0)), &p));
    }

    #[test]
    fn between_is_inclusive_and_per_element() {
        let p = json!({"n": 5, "arr": [1, 10], "s": "b"});
        assert!(m(&Filter::between("n", json!(5), json!(6)), &p));
        assert!(m(&Filter::between("n", json!(4), json!(5.0)), &p));
        assert!(!m(&Filter::between("n", json!(6), json!(7)), &p));
        assert!(
            !m(&Filter::between("arr", json!(2), json!(9)), &p),
            "no single element"
        );
        assert!(m(&Filter::between("s", json!("a"), json!("c")), &p));
    }

    #[test]
    fn in_and_not_in() {
        let p = json!({"t": "a", "arr": ["x", "y"], "n": 2});
        assert!(m(&Filter::is_in("t", vec![json!("b"), json!("a")]), &p));
        assert!(m(&Filter::is_in("arr", vec![json!("y")]), &p));
        assert!(m(&Filter::is_in("n", vec![json!(2.0)]), &p));
        assert!(!m(&Filter::is_in("t", vec![]), &p));
        assert!(m(&Filter::not_in("t", vec![json!("b")]), &p));
        assert!(!m(&Filter::not_in("arr", vec![json!("x")]), &p));
        assert!(m(&Filter::not_in("missing", vec![json!("x")]), &p));
    }

    #[test]
    fn like_and_ilike_patterns() {
        assert!(like("vector", "vec%"));
        assert!(like("vector", "%tor"));
        assert!(like("vector", "v_c%r"));
        assert!(!like("vector", "v_c"));
        assert!(like("", "%"));
        assert!(!like("", "_"));
        assert!(like("a%b", "a\\%b"));
        assert!(!like("axb", "a\\%b"));
        assert!(like("a_b", "a\\_b"));
        assert!(like("ab\\", "ab\\"));
        assert!(like("mississippi", "%iss%ppi"));
        assert!(like("héllo", "h_llo"));
        let p = json!({"t": "Vector DB", "arr": [1, "NearStore"]});
        assert!(m(&Filter::like("t", "Vec%"), &p));
        assert!(!m(&Filter::like("t", "vec%"), &p));
        assert!(m(&Filter::ilike("t", "vec%db"), &p));
        assert!(m(&Filter::ilike("arr", "near%"), &p), "any string element");
        assert!(!m(&Filter::like("missing", "%"), &p));
    }

    #[test]
    fn is_null_covers_missing_and_null_but_not_empty_arrays() {
        let p = json!({"n": null, "e": [], "z": 0, "o": {"x": null}});
        assert!(m(&Filter::is_null("n"), &p));
        assert!(m(&Filter::is_null("missing"), &p));
        assert!(m(&Filter::is_null("o.x"), &p));
        assert!(m(&Filter::is_null("z.deeper"), &p));
        assert!(!m(&Filter::is_null("e"), &p));
        assert!(!m(&Filter::is_null("z"), &p));
        assert!(m(&Filter::is_not_null("e"), &p));
        assert!(m(&Filter::is_null("x"), &Value::Null));
    }

    #[test]
    fn explicit_null_and_empty_tell_missing_null_and_empty_arrays_apart() {
        let p = json!({"n": null, "e": [], "en": [null], "z": 0, "o": {"x": null}});
        let null = |f| m(&Filter::is_explicit_null(f), &p);
        let empty = |f| m(&Filter::is_empty(f), &p);
        assert!(null("n") && null("o.x"));
        assert!(!null("missing") && !null("e") && !null("en") && !null("z"));
        assert!(!null("o.x.y"), "below a null nothing is present");
        assert!(empty("n") && empty("missing") && empty("e") && empty("o.x"));
        assert!(!empty("en") && !empty("z"));
        assert!(m(&Filter::is_empty("a"), &Value::Null));
        assert!(!m(&Filter::is_explicit_null("a"), &Value::Null));
    }

    #[test]
    fn has_id_needs_the_point_id() {
        let f = Filter::has_id([3, 9]);
        let p = json!({});
        assert!(f.matches_point(3, &p));
        assert!(!f.matches_point(4, &p));
        assert!(!f.matches(&p), "without an id has_id matches nothing");
        let nested = Filter::and(vec![
            Filter::not(Filter::has_id([9])),
            Filter::or(vec![Filter::has_id([3, 9]), Filter::eq("a", json!(1))]),
        ]);
        assert!(nested.matches_point(3, &p));
        assert!(!nested.matches_point(9, &p));
        assert!(nested.matches_point(5, &json!({"a": 1})));
        assert!(nested.mentions_ids());
        assert!(!Filter::eq("a", json!(1)).mentions_ids());
    }

    #[test]
    fn contains_on_arrays_and_strings() {
        let p = json!({"tags": ["a", "b", 3], "title": "vector store", "n": 5});
        assert!(m(&Filter::contains("tags", json!("a")), &p));
        assert!(m(&Filter::contains("tags", json!(3.0)), &p));
        assert!(!m(&Filter::contains("tags", json!("c")), &p));
        assert!(m(&Filter::contains("title", json!("tor st")), &p));
        assert!(!m(&Filter::contains("title", json!(1)), &p));
        assert!(
            !m(&Filter::contains("n", json!(5)), &p),
            "a scalar is not a container"
        );
        assert!(m(
            &Filter::contains_any("tags", vec![json!("z"), json!("b")]),
            &p
        ));
        assert!(!m(&Filter::contains_any("tags", vec![]), &p));
        assert!(m(
            &Filter::contains_all("tags", vec![json!("a"), json!(3)]),
            &p
        ));
        assert!(!m(
            &Filter::contains_all("tags", vec![json!("a"), json!("z")]),
            &p
        ));
        assert!(m(&Filter::contains_all("missing", vec![]), &p), "vacuous");
    }

    #[test]
    fn nested_paths_descend_objects() {
        let p = json!({"meta": {"author": {"name": "ann"}}});
        assert!(m(&Filter::eq("meta.author.name", json!("ann")), &p));
        assert!(!m(&Filter::eq("meta.author", json!("ann")), &p));
        assert!(m(&Filter::is_null("meta.author.name.first"), &p));
    }

    #[test]
    fn array_paths_match_when_any_element_matches() {
        let p = json!({"country": {"cities": [
            {"name": "a", "population": 9, "tags": ["x"]},
            {"name": "b", "population": [1, 20]},
            {"name": "c", "population": null},
            {"name": "d"},
        ]}, "tags": ["red", "blue"]});
        let pop = "country.cities[].population";
        assert!(m(&Filter::eq(pop, json!(9)), &p));
        assert!(
            m(&Filter::eq(pop, json!(20)), &p),
            "a reached array's elements"
        );
        assert!(!m(&Filter::eq(pop, json!(5)), &p));
        assert!(m(&Filter::gt(pop, json!(10)), &p));
        assert!(
            !m(&Filter::between(pop, json!(2), json!(8)), &p),
            "no single value in range"
        );
        assert!(m(&Filter::ne(pop, json!(5)), &p));
        assert!(!m(&Filter::ne(pop, json!(1)), &p), "ne is not(any eq)");
        assert!(m(&Filter::not_in(pop, vec![json!(2)]), &p));
        assert!(m(&Filter::is_in("tags[]", vec![json!("blue")]), &p));
        assert!(m(&Filter::eq("country.cities[0].name", json!("a")), &p));
        assert!(!m(&Filter::eq("country.cities[1].name", json!("a")), &p));
        assert!(m(&Filter::eq("country.cities[].tags[]", json!("x")), &p));
        // contains sees each reached value: `tags[]` reaches strings (substring match).
        assert!(m(&Filter::contains("tags[]", json!("lu")), &p));
        assert!(m(
            &Filter::contains_all("tags[]", vec![json!("re"), json!("bl")]),
            &p
        ));
        // Qdrant's is_null: some reached value is an explicit null.
        assert!(m(&Filter::is_explicit_null(pop), &p));
        assert!(m(&Filter::is_not_null(pop), &p));
        assert!(!m(&Filter::is_null(pop), &p));
        // Qdrant's is_empty: every reached value is null or [] (none reached included).
        assert!(!m(&Filter::is_empty(pop), &p));
        assert!(m(&Filter::is_empty("country.cities[].nothing"), &p));
        let hollow = json!({"a": [{"b": null}, {"b": []}, {}]});
        assert!(m(&Filter::is_empty("a[].b"), &hollow));
        assert!(
            !m(&Filter::is_null("a[].b"), &hollow),
            "[] is a present value"
        );
        assert!(m(&Filter::is_explicit_null("a[].b"), &hollow));
        assert!(!m(&Filter::is_explicit_null("a[].c"), &hollow));
        // `[]` on something that is not an array reaches nothing.
        assert!(m(&Filter::is_null("country[].cities"), &p));
        assert!(m(
            &Filter::ne("tags[]", json!("blue")),
            &json!({"tags": "blue"})
        ));
    }

    #[test]
    fn geo_radius_uses_haversine() {
        let paris = GeoPoint::new(48.8566, 2.3522);
        let london = GeoPoint::new(51.5074, -0.1278);
        let d = haversine_meters(paris, london);
        assert!((343_000.0..345_000.0).contains(&d), "{d}");
        let p = json!({"loc": {"lat": 51.5074, "lon": -0.1278}});
        assert!(m(
            &Filter::geo_radius("loc", 48.8566, 2.3522, 350_000.0),
            &p
        ));
        assert!(!m(
            &Filter::geo_radius("loc", 48.8566, 2.3522, 300_000.0),
            &p
        ));
        let arr = json!({"loc": [{"lat": 0, "lon": 0}, {"lat": 51.5074, "lon": -0.1278}]});
        assert!(m(&Filter::geo_radius("loc", 51.5, -0.12, 5_000.0), &arr));
        let bad = json!({"loc": {"lat": 95, "lon": 0}});
        assert!(!m(&Filter::geo_radius("loc", 90.0, 0.0, 1e9), &bad));
    }

    #[test]
    fn geo_box_including_antimeridian() {
        let plain = Filter::geo_box(
            "loc",
            GeoPoint::new(10.0, -10.0),
            GeoPoint::new(-10.0, 10.0),
        );
        assert!(m(&plain, &json!({"loc": {"lat": 0, "lon": 0}})));
        assert!(!m(&plain, &json!({"loc": {"lat": 0, "lon": 20}})));
        assert!(!m(&plain, &json!({"loc": {"lat": 11, "lon": 0}})));
        let wrap = Filter::geo_box(
            "loc",
            GeoPoint::new(10.0, 170.0),
            GeoPoint::new(-10.0, -170.0),
        );
        assert!(m(&wrap, &json!({"loc": {"lat": 0, "lon": 175}})));
        assert!(m(&wrap, &json!({"loc": {"lat": 0, "lon": -175}})));
        assert!(m(&wrap, &json!({"loc": {"lat": 0, "lon": 180}})));
        assert!(!m(&wrap, &json!({"loc": {"lat": 0, "lon": 0}})));
        assert!(!m(&wrap, &json!({"loc": "not a point"})));
    }

    #[test]
    fn geo_points_spelled_lng_match_like_lon() {
        let within = Filter::geo_radius("loc", 48.8566, 2.3522, 350_000.0);
        assert!(m(
            &within,
            &json!({"loc": {"lat": 51.5074, "lng": -0.1278}})
        ));
        assert!(!m(&within, &json!({"loc": {"lat": 40.71, "lng": -74.0}})));
        let plain = Filter::geo_box(
            "loc",
            GeoPoint::new(10.0, -10.0),
            GeoPoint::new(-10.0, 10.0),
        );
        assert!(m(&plain, &json!({"loc": {"lat": 0, "lng": 5}})));
        assert!(!m(&plain, &json!({"loc": {"lat": 0, "lng": 20}})));
        assert!(!m(&plain, &json!({"loc": {"lat": 0, "lng": 200}})));
    }

    #[test]
    fn logic_combinators() {
        let p = json!({"a": 1});
        assert!(m(&Filter::and(vec![]), &p));
        assert!(!m(&Filter::or(vec![]), &p));
        assert!(m(&Filter::not(Filter::eq("a", json!(2))), &p));
        assert!(m(
            &Filter::or(vec![Filter::eq("a", json!(2)), Filter::eq("a", json!(1))]),
            &p
        ));
    }

    #[test]
    fn invalid_operands_match_nothing_instead_of_panicking() {
        let p = json!({"a": {"x": 1}, "b": [[1]]});
        assert!(!m(&Filter::eq("a", json!({"x": 1})), &p));
        assert!(!m(&Filter::eq("b", json!(1)), &p), "one array level only");
        assert!(!m(&Filter::geo_radius("a", f64::NAN, 0.0, 1.0), &p));
        assert!(!m(&Filter::eq("", json!(1)), &p));
    }
}
