//! Random payloads and filters for the property tests.

use nearstore_filter::{Datetime, DatetimeRange, FieldIndexKind, Filter, GeoPoint, Op};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Field paths the generators use ("missing" never appears in payloads). The `arr` paths
/// reach into arrays of objects (see [`city`]).
pub const FIELDS: [&str; 16] = [
    "t",
    "ts[]",
    "a",
    "b",
    "c",
    "d",
    "o.x",
    "loc",
    "m",
    "missing",
    "arr[].n",
    "arr[].t[]",
    "arr[].t",
    "arr[1].n",
    "arr[].s",
    "c[]",
];

pub fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        (-4i64..5).prop_map(|i| json!(i)),
        float(),
        string(),
        prop::sample::select(vec![
            json!(i64::MAX),
            json!(u64::MAX),
            json!(9_007_199_254_740_993_i64),
            json!(i64::MIN),
        ]),
    ]
}

pub fn geo() -> impl Strategy<Value = Value> + Clone {
    (
        prop::sample::select(vec![-10.0, 0.0, 0.5, 10.0, 45.0]),
        prop::sample::select(vec![-179.5, -170.0, 0.0, 1.0, 170.0, 179.5, 180.0]),
    )
        .prop_map(|(lat, lon)| json!({"lat": lat, "lon": lon}))
}

pub fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => scalar(),
        1 => Just(Value::Null),
        2 => prop::collection::vec(prop_oneof![4 => scalar(), 1 => Just(Value::Null), 1 => geo()], 0..4)
            .prop_map(Value::Array),
        1 => geo(),
        1 => scalar().prop_map(|s| json!({"x": s})),
        1 => Just(json!([[1], ["a"]])),
    ]
}

/// Mostly `typed`, now and then anything at all (so indexes meet values outside their kind).
fn mostly(typed: impl Strategy<Value = Value> + Clone + 'static) -> impl Strategy<Value = Value> {
    prop_oneof![
        30 => typed.clone(),
        4 => prop::collection::vec(typed, 0..4).prop_map(Value::Array),
        3 => Just(Value::Null),
        1 => value(),
    ]
}

fn int() -> impl Strategy<Value = Value> + Clone {
    prop_oneof![4 => (-4i64..5).prop_map(|i| json!(i)), 1 => Just(json!(2.0))]
}

fn float() -> impl Strategy<Value = Value> + Clone {
    prop::sample::select(vec![-2.5, -0.0, 0.0, 0.5, 1.0, 1.5, 3.0, 1e30]).prop_map(|f| json!(f))
}

/// Datetime strings in the forms the parser accepts (several naming one instant), a few
/// near misses, and now and then a plain string or number.
pub fn datetime() -> impl Strategy<Value = Value> + Clone {
    prop_oneof![
        8 => prop::sample::select(vec![
            "2024-03-01",
            "2024-03-01T00:00:00Z",
            "2024-03-01T01:00:00+01:00",
            "2024-03-01T12:30:00Z",
            "2024-03-01 12:30:00",
            "2024-03-01T07:30:00-05:00",
            "2024-03-01T12:30:00.000001Z",
            "2024-03-02",
            "1969-12-31T23:59:59.999999Z",
            "2023-12-31T23:59:59+00:00",
        ])
        .prop_map(|s| json!(s)),
        1 => prop::sample::select(vec!["2024-02-30", "2024-03-01T24:01:00Z", "soon"]).prop_map(|s| json!(s)),
        1 => Just(json!(1_709_251_200)),
    ]
}

fn datetime_bound() -> impl Strategy<Value = Option<Datetime>> {
    prop::option::weighted(
        0.6,
        prop::sample::select(vec![
            "2024-03-01",
            "2024-03-01T12:30:00Z",
            "2024-03-01T12:30:00.000001Z",
            "1970-01-01",
            "2024-03-02T00:00:00+01:00",
        ])
        .prop_filter_map("parses", Datetime::parse),
    )
}

pub fn datetime_range() -> impl Strategy<Value = DatetimeRange> {
    (
        datetime_bound(),
        datetime_bound(),
        datetime_bound(),
        datetime_bound(),
    )
        .prop_map(|(gt, gte, lt, lte)| DatetimeRange { gt, gte, lt, lte })
}

fn string() -> impl Strategy<Value = Value> + Clone {
    prop::sample::select(vec!["", "a", "ab", "abc", "b", "ba", "B", "Ab", "a%", "c_"])
        .prop_map(|s| json!(s))
}

/// One element of `arr`: mostly an object with an integer-ish `n`, string-ish `s` and an
/// array `t` of strings (each key may be missing, null, an array, or of another type), now
/// and then a bare scalar, `null` or a nested array.
pub fn city() -> impl Strategy<Value = Value> {
    let key = |v: BoxedStrategy<Value>| prop::option::weighted(0.75, v);
    prop_oneof![
        8 => (
            key(mostly(int()).boxed()),
            key(mostly(string()).boxed()),
            key(prop_oneof![
                4 => prop::collection::vec(prop_oneof![6 => string(), 1 => Just(Value::Null), 1 => int()], 0..3)
                    .prop_map(Value::Array),
                1 => string(),
                1 => Just(Value::Null),
                1 => Just(json!([["a"], []])),
            ].boxed()),
        )
            .prop_map(|(n, s, t)| {
                let mut obj = serde_json::Map::new();
                for (k, v) in [("n", n), ("s", s), ("t", t)] {
                    if let Some(v) = v {
                        obj.insert(k.to_owned(), v);
                    }
                }
                Value::Object(obj)
            }),
        1 => scalar(),
        1 => Just(Value::Null),
        1 => Just(json!([{"n": 1}])),
    ]
}

/// Payloads whose fields mostly keep one type each: `a` and `o.x` integers, `b` floats,
/// `c` strings, `d` bools, `loc` geo points, `m` anything, `arr` an array of [`city`]s.
pub fn payload() -> impl Strategy<Value = Value> {
    let field = |name: &'static str, v: BoxedStrategy<Value>| {
        prop::option::weighted(0.8, v).prop_map(move |v| (name, v))
    };
    prop_oneof![
        1 => Just(Value::Null),
        1 => scalar(),
        12 => (
            field("a", mostly(int()).boxed()),
            field("b", mostly(float()).boxed()),
            field("c", mostly(string()).boxed()),
            field("d", mostly(any::<bool>().prop_map(Value::Bool)).boxed()),
            field("loc", mostly(geo()).boxed()),
            field("m", value().boxed()),
            field("x", mostly(int()).boxed()),
            field("t", mostly(datetime()).boxed()),
            field(
                "arr",
                prop_oneof![
                    6 => prop::collection::vec(city(), 0..4).prop_map(Value::Array),
                    1 => city(),
                    1 => Just(Value::Null),
                ]
                .boxed()
            ),
        )
            .prop_map(|(a, b, c, d, loc, m, x, t, arr)| {
                let mut obj = serde_json::Map::new();
                for (k, v) in [a, b, c, d, loc, m, arr] {
                    if let Some(v) = v {
                        obj.insert(k.to_owned(), v);
                    }
                }
                if let (_, Some(x)) = x {
                    obj.insert("o".to_owned(), json!({"x": x}));
                }
                // `t` one datetime-ish value (or a list of them), `ts` always a list.
                if let (_, Some(t)) = t {
                    let list = match &t {
                        Value::Array(_) => t.clone(),
                        other => json!([other]),
                    };
                    obj.insert("t".to_owned(), t);
                    obj.insert("ts".to_owned(), list);
                }
                Value::Object(obj)
            }),
    ]
}

pub fn kind() -> impl Strategy<Value = FieldIndexKind> {
    prop::sample::select(vec![
        FieldIndexKind::Keyword,
        FieldIndexKind::Integer,
        FieldIndexKind::Float,
        FieldIndexKind::Bool,
        FieldIndexKind::Datetime,
    ])
}

/// A random subset of the fields, each with a fitting kind (`m` and `missing`: any kind).
pub fn indexed_fields() -> impl Strategy<Value = Vec<(&'static str, FieldIndexKind)>> {
    use FieldIndexKind::{Bool, Datetime, Float, Integer, Keyword};
    let fitting = |name: &'static str, kinds: Vec<FieldIndexKind>| {
        prop::option::weighted(0.7, prop::sample::select(kinds))
            .prop_map(move |k| k.map(|k| (name, k)))
    };
    (
        fitting("a", vec![Integer, Integer, Float]),
        fitting("b", vec![Float, Float, Integer]),
        fitting("c", vec![Keyword]),
        fitting("d", vec![Bool]),
        fitting("o.x", vec![Integer, Float]),
        prop::option::weighted(0.5, kind()).prop_map(|k| k.map(|k| ("m", k))),
        prop::option::weighted(0.2, kind()).prop_map(|k| k.map(|k| ("missing", k))),
        prop::option::weighted(0.2, kind()).prop_map(|k| k.map(|k| ("loc", k))),
        (
            fitting("t", vec![Datetime, Datetime, Keyword]),
            fitting("ts[]", vec![Datetime, Keyword]),
        ),
        (
            fitting("arr[].n", vec![Integer, Integer, Float]),
            fitting("arr[].t[]", vec![Keyword]),
            fitting("arr[].t", vec![Keyword]),
            fitting("arr[1].n", vec![Integer, Float]),
            fitting("arr[].s", vec![Keyword, Keyword, Bool]),
            fitting("c[]", vec![Keyword]),
        ),
    )
        .prop_map(|(a, b, c, d, x, m, missing, loc, times, arrays)| {
            let (an, att, at, a1n, asx, cx) = arrays;
            let (t, ts) = times;
            [
                a, b, c, d, x, m, missing, loc, t, ts, an, att, at, a1n, asx, cx,
            ]
            .into_iter()
            .flatten()
            .collect()
        })
}

fn ordered_pair() -> impl Strategy<Value = (Value, Value)> {
    prop_oneof![
        (scalar(), scalar()).prop_filter_map("same ordered type", |(a, b)| {
            let both_num = a.is_number() && b.is_number();
            let both_str = a.is_string() && b.is_string();
            if !(both_num || both_str) {
                return None;
            }
            let a_le_b = Filter::between("v", a.clone(), b.clone())
                .validate()
                .is_ok();
            Some(if a_le_b { (a, b) } else { (b, a) })
        }),
    ]
}

fn ordered() -> impl Strategy<Value = Value> {
    scalar().prop_map(|v| if v.is_boolean() { json!(1) } else { v })
}

fn pattern() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "%", "a%", "%b", "_", "a_", "%a%", "A%", "ab%c", "a\\%", "", "B_",
    ])
    .prop_map(str::to_owned)
}

fn point() -> impl Strategy<Value = GeoPoint> {
    (-90.0..=90.0f64, -180.0..=180.0f64).prop_map(|(lat, lon)| GeoPoint::new(lat, lon))
}

pub fn op() -> impl Strategy<Value = Op> {
    let list = || prop::collection::vec(scalar(), 0..4);
    prop_oneof![
        scalar().prop_map(Op::Eq),
        scalar().prop_map(Op::Ne),
        ordered().prop_map(Op::Gt),
        ordered().prop_map(Op::Gte),
        ordered().prop_map(Op::Lt),
        ordered().prop_map(Op::Lte),
        list().prop_map(Op::In),
        list().prop_map(Op::NotIn),
        ordered_pair().prop_map(|(low, high)| Op::Between { low, high }),
        pattern().prop_map(Op::Like),
        pattern().prop_map(Op::ILike),
        pattern().prop_map(Op::Text),
        pattern().prop_map(Op::Phrase),
        Just(Op::IsNull),
        Just(Op::IsNotNull),
        Just(Op::IsExplicitNull),
        Just(Op::IsEmpty),
        scalar().prop_map(Op::Contains),
        datetime_range().prop_map(Op::DatetimeRange),
        datetime().prop_map(Op::Eq),
        list().prop_map(Op::ContainsAny),
        list().prop_map(Op::ContainsAll),
        (
            point(),
            prop::sample::select(vec![0.0, 1000.0, 200_000.0, 2_000_000.0])
        )
            .prop_map(|(p, meters)| Op::GeoRadius {
                lat: p.lat,
                lon: p.lon,
                meters
            }),
        (point(), point()).prop_map(|(a, b)| {
            let (top, bottom) = if a.lat >= b.lat {
                (a.lat, b.lat)
            } else {
                (b.lat, a.lat)
            };
            Op::GeoBox {
                top_left: GeoPoint::new(top, a.lon),
                bottom_right: GeoPoint::new(bottom, b.lon),
            }
        }),
    ]
}

/// Spreads small indexes over the whole u64 range so the bitmaps' high keys are exercised.
pub fn id(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

pub fn filter() -> impl Strategy<Value = Filter> {
    let condition = (prop::sample::select(FIELDS.to_vec()), op())
        .prop_map(|(field, op)| Filter::condition(field, op));
    let has_id = prop::collection::vec(0usize..12, 0..5)
        .prop_map(|is| Filter::has_id(is.into_iter().map(id)));
    let leaf = prop_oneof![8 => condition, 1 => has_id];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::Or),
            inner.prop_map(Filter::not),
        ]
    })
}
