//! The query-language parser (`nearstore_ql::parse`), checked by a round trip: a script
//! that parses prints (`Display`) to text that parses to the same syntax tree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(script) = nearstore_ql::parse(text) else {
        return;
    };
    let printed = script.to_string();
    let again = nearstore_ql::parse(&printed)
        .unwrap_or_else(|e| panic!("printed script does not parse: {e}\n{printed}"));
    assert_eq!(script, again, "round trip changed the tree\n{printed}");
});
