//! The path grammar (quoted keys, `[]`, `[N]`): rendered steps parse back to themselves,
//! any text either parses to steps that render and re-parse the same or is refused (never
//! a panic), and the values a path reaches equal a direct walk of its parsed steps.

use nearstore_filter::{PathStep, field_values, parse_path};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Keys over an alphabet with the grammar's special characters (but no `"`, which no path
/// can address).
fn key() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!['a', 'b', '.', '[', ']', ' ', '1']),
        1..4,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn step() -> impl Strategy<Value = PathStep> {
    prop_oneof![
        key().prop_map(PathStep::Key),
        Just(PathStep::Each),
        (0usize..3).prop_map(PathStep::Index),
    ]
}

fn steps() -> impl Strategy<Value = Vec<PathStep>> {
    (key(), prop::collection::vec(step(), 0..5)).prop_map(|(first, rest)| {
        let mut out = vec![PathStep::Key(first)];
        out.extend(rest);
        out
    })
}

/// The path text of `steps`: keys quoted when they must be, or when `quote_all`.
fn render(steps: &[PathStep], quote_all: bool) -> String {
    let mut out = String::new();
    for (i, step) in steps.iter().enumerate() {
        match step {
            PathStep::Key(k) => {
                if i > 0 {
                    out.push('.');
                }
                if quote_all || k.contains(['.', '[', ']']) {
                    out.push('"');
                    out.push_str(k);
                    out.push('"');
                } else {
                    out.push_str(k);
                }
            }
            PathStep::Each => out.push_str("[]"),
            PathStep::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    out
}

/// What `steps` reach in `value`, walked directly (the oracle), `null`s left out.
fn walk<'a>(value: &'a Value, steps: &[PathStep], out: &mut Vec<&'a Value>) {
    let Some((head, tail)) = steps.split_first() else {
        if !value.is_null() {
            out.push(value);
        }
        return;
    };
    match (head, value) {
        (PathStep::Key(k), Value::Object(m)) => {
            if let Some(v) = m.get(k) {
                walk(v, tail, out);
            }
        }
        (PathStep::Index(n), Value::Array(items)) => {
            if let Some(v) = items.get(*n) {
                walk(v, tail, out);
            }
        }
        (PathStep::Each, Value::Array(items)) => {
            for item in items {
                walk(item, tail, out);
            }
        }
        _ => {}
    }
}

fn payload() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![Just(Value::Null), (0i64..5).prop_map(|i| json!(i))];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..3)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn rendered_steps_parse_back(steps in steps(), quote_all in any::<bool>()) {
        let text = render(&steps, quote_all);
        prop_assert_eq!(parse_path(&text), Ok(steps), "{}", text);
    }

    #[test]
    fn any_text_parses_to_steps_that_round_trip_or_is_refused(
        text in "[a.\\[\\]\"0-9]{0,12}",
    ) {
        if let Ok(steps) = parse_path(&text) {
            prop_assert!(!steps.is_empty());
            prop_assert!(matches!(steps[0], PathStep::Key(_)));
            prop_assert_eq!(parse_path(&render(&steps, false)), Ok(steps.clone()));
            prop_assert_eq!(parse_path(&render(&steps, true)), Ok(steps));
        }
    }

    #[test]
    fn a_path_reaches_what_its_steps_walk_to(payload in payload(), steps in steps()) {
        let text = render(&steps, false);
        let mut want = Vec::new();
        walk(&payload, &steps, &mut want);
        prop_assert_eq!(field_values(&payload, &text), want);
    }
}

#[test]
fn quoted_keys_address_keys_with_dots_and_brackets() {
    let p = json!({"a.b": {"c[]": [1, 2]}, "a": {"b": 3}});
    assert_eq!(
        field_values(&p, "\"a.b\".\"c[]\"[]"),
        vec![&json!(1), &json!(2)]
    );
    assert_eq!(field_values(&p, "a.b"), vec![&json!(3)]);
    assert_eq!(
        parse_path("a\"b"),
        Err("a `\"` inside a key (quote the whole key)")
    );
    assert_eq!(parse_path("\"a"), Err("an unclosed quote"));
}
