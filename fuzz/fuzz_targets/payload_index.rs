//! The payload-index codec (`nearstore_filter::PayloadIndexes::decode`), checked by a
//! round trip: what decodes encodes to bytes that decode and encode to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearstore_filter::PayloadIndexes;

fuzz_target!(|data: &[u8]| {
    let Ok(indexes) = PayloadIndexes::decode(data) else {
        return;
    };
    let encoded = indexes.encode();
    let again = PayloadIndexes::decode(&encoded).expect("re-encoded indexes decode");
    assert_eq!(encoded, again.encode());
});
