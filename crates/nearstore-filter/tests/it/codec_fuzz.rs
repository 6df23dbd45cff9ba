//! `PayloadIndexes::decode` never panics: random bytes, truncations and bit flips of valid
//! encodings all give `Ok` or `Err`.

use std::collections::BTreeMap;

use nearstore_filter::{Filter, PayloadIndexes};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::strategies;

fn encoding() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(strategies::payload(), 0..12),
        strategies::indexed_fields(),
    )
        .prop_map(|(payloads, fields)| {
            let points: BTreeMap<u64, Value> = payloads
                .into_iter()
                .enumerate()
                .map(|(i, p)| ((i as u64) << 31, p))
                .collect();
            let mut indexes = PayloadIndexes::new();
            for (field, kind) in fields {
                indexes
                    .create_field(field, kind, points.iter().map(|(id, p)| (*id, p)))
                    .unwrap();
            }
            indexes.encode()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn decode_of_random_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = PayloadIndexes::decode(&bytes);
        let mut with_magic = b"NSPI\x01\x00".to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = PayloadIndexes::decode(&with_magic);
    }

    #[test]
    fn decode_of_damaged_encodings_never_panics(
        bytes in encoding(),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
    ) {
        if !bytes.is_empty() {
            let truncated = &bytes[..cut.index(bytes.len())];
            prop_assert!(PayloadIndexes::decode(truncated).is_err());
            let mut flipped = bytes.clone();
            for (at, bit) in flips {
                let i = at.index(flipped.len());
                flipped[i] ^= 1 << bit;
            }
            if let Ok(decoded) = PayloadIndexes::decode(&flipped) {
                // Whatever decodes must encode again without panicking.
                let _ = decoded.encode();
                let _ = decoded.memory_bytes();
                let universe: roaring::RoaringTreemap = (0..64u64).map(|i| i << 31).collect();
                for f in [
                    Filter::gt("a", json!(1)),
                    Filter::not(Filter::is_in("b", vec![json!("a"), json!(true)])),
                    Filter::like("c", "a%"),
                    Filter::between("d", json!(-1.5), json!(2)),
                ] {
                    let _ = decoded.resolve(&f, &universe);
                }
            }
        }
    }
}
