//! The JSON filter parser (`nearstore_filter::Filter::parse`), checked by a round trip:
//! a filter that parses turns back into JSON (`Filter::to_json`) that parses to the same
//! filter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearstore_filter::Filter;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(filter) = Filter::parse(&value) else {
        return;
    };
    let json = filter.to_json();
    let again = Filter::parse(&json)
        .unwrap_or_else(|e| panic!("to_json output does not parse: {e}\n{json}"));
    assert_eq!(filter, again, "round trip changed the filter\n{json}");
});
