//! The JSON filter parser (`nearstore_filter::Filter::parse`), checked by a round trip:
//! a filter that parses turns back into JSON (`Filter::to_json`) that parses to the same
//! filter. An input `[filter, payload]` also evaluates the filter against the payload (any
//! other input against itself) and answers it by payload indexes built over that payload (field paths with `[]` / `[N]` walk whatever JSON the
//! fuzzer wrote), which must agree with the evaluator and never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearstore_filter::{FieldIndexKind, Filter, PayloadIndexes};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let (filter_json, payload) = match &value {
        serde_json::Value::Array(pair) if pair.len() == 2 => (&pair[0], &pair[1]),
        _ => (&value, &value),
    };
    let Ok(filter) = Filter::parse(filter_json) else {
        return;
    };
    let json = filter.to_json();
    let again = Filter::parse(&json)
        .unwrap_or_else(|e| panic!("to_json output does not parse: {e}\n{json}"));
    assert_eq!(filter, again, "round trip changed the filter\n{json}");

    let matched = filter.matches_point(0, payload);
    let mut indexes = PayloadIndexes::new();
    let kinds = [
        FieldIndexKind::Keyword,
        FieldIndexKind::Integer,
        FieldIndexKind::Float,
        FieldIndexKind::Bool,
    ];
    for (i, field) in fields(&filter).into_iter().enumerate() {
        if indexes.field_kind(field).is_some() {
            continue;
        }
        let kind = kinds[i % kinds.len()];
        indexes
            .create_field(field, kind, [(0, payload)])
            .unwrap_or_else(|e| panic!("a parsed filter's field {field:?} is not indexable: {e}"));
    }
    let universe = std::iter::once(0u64).collect();
    let candidates = indexes.resolve(&filter, &universe);
    assert!(!matched || candidates.ids.contains(0), "index missed a match\n{json}");
    if candidates.exact {
        assert_eq!(candidates.ids.contains(0), matched, "exact but wrong\n{json}");
    }
    indexes.remove(0, payload);
    let mut empty = PayloadIndexes::new();
    for (field, kind) in indexes.fields() {
        empty
            .create_field(&field, kind, [])
            .unwrap_or_else(|e| panic!("{field:?}: {e}"));
    }
    assert_eq!(indexes, empty, "remove left a trace\n{json}");
});

/// The field paths of a filter's conditions (full-text ones left out: indexes never answer
/// them and the evaluator alone cannot).
fn fields(filter: &Filter) -> Vec<&str> {
    match filter {
        Filter::And(parts) | Filter::Or(parts) => parts.iter().flat_map(fields).collect(),
        Filter::Not(part) => fields(part),
        Filter::Condition(c) if !c.op.is_full_text() => vec![c.field.as_str()],
        Filter::Condition(_) | Filter::HasId(_) => Vec::new(),
    }
}
