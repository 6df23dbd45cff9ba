//! The byte image: round trips preserve every answer, and damaged, truncated or garbage bytes
//! are errors, never panics.

use proptest::prelude::*;
use serde_json::json;

use nearstore_text::{Error, TextIndex, TextIndexConfig};

fn sample_index() -> TextIndex {
    let mut index = TextIndex::new(TextIndexConfig::named(["title", "body"]))
        .map(|i| i.with_seal_docs(7))
        .unwrap_or_else(|e| panic!("config: {e}"));
    let words = ["red", "green", "blue", "fox", "dog", "sky", "tree"];
    for id in 0..300u64 {
        let body: Vec<&str> = (0..(id % 9 + 1))
            .map(|j| words[((id * 7 + j * 3) % 7) as usize])
            .collect();
        index.index_document(
            id,
            &json!({"title": words[(id % 7) as usize], "body": body.join(" ")}),
        );
    }
    for id in (0..300u64).step_by(5) {
        index.delete_document(id);
    }
    index
}

#[test]
fn round_trip_answers_every_query_the_same() -> anyhow::Result<()> {
    let index = sample_index();
    let bytes = index.encode();
    let decoded = TextIndex::decode(&bytes)?;
    assert_eq!(decoded.len(), index.len());
    assert_eq!(decoded.config(), index.config());
    for q in [
        "red",
        "title:red +fox",
        "\"fox dog\"",
        "sky -tree",
        "body:\"green blue\" red",
        "nothing",
    ] {
        assert_eq!(
            index.search(q, 10)?.hits,
            decoded.search(q, 10)?.hits,
            "{q}"
        );
    }
    // Re-encoding the decoded index gives the same bytes once both are merged the same way.
    let mut a = index.clone();
    let mut b = decoded;
    a.merge_all();
    b.merge_all();
    assert_eq!(a.encode(), b.encode());
    Ok(())
}

#[test]
fn writes_after_decode_keep_live_statistics_exact() -> anyhow::Result<()> {
    // The forward index is rebuilt on decode: deletes and updates applied to the decoded
    // index must move document frequencies exactly as on the original.
    let mut original = sample_index();
    let mut decoded = TextIndex::decode(&original.encode())?;
    for idx in [&mut original, &mut decoded] {
        for id in (1..300u64).step_by(3) {
            idx.delete_document(id);
        }
        idx.index_document(2, &json!({"title": "sky", "body": "fox fox dog"}));
    }
    for q in ["red", "sky", "fox dog", "title:sky -red", "\"fox dog\""] {
        assert_eq!(
            original.search(q, 10)?.hits,
            decoded.search(q, 10)?.hits,
            "{q}"
        );
    }
    Ok(())
}

#[test]
fn a_flipped_bit_is_reported_as_corruption() {
    let bytes = sample_index().encode();
    for at in [0, 9, bytes.len() / 2, bytes.len() - 1] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        assert!(
            matches!(TextIndex::decode(&damaged), Err(Error::Corrupt { .. })),
            "byte {at}"
        );
    }
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = sample_index().encode();
    for len in (0..bytes.len()).step_by(7) {
        assert!(TextIndex::decode(&bytes[..len]).is_err(), "length {len}");
    }
}

/// Re-seals `body` with a valid checksum so structural validation (not the checksum) is what
/// must catch the damage.
fn with_checksum(mut body: Vec<u8>) -> Vec<u8> {
    let crc = crc32c_of(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    body
}

fn crc32c_of(bytes: &[u8]) -> u32 {
    // Bitwise CRC-32C (Castagnoli, reflected 0x82F63B78): independent of the crate's own.
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let _ = TextIndex::decode(&bytes);
        let _ = TextIndex::decode(&with_checksum(bytes));
    }

    #[test]
    fn damage_behind_a_valid_checksum_never_panics_and_searches_stay_safe(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let bytes = sample_index().encode();
        let mut body = bytes[..bytes.len() - 4].to_vec();
        for (at, value) in edits {
            let i = at.index(body.len());
            body[i] = value;
        }
        if let Ok(index) = TextIndex::decode(&with_checksum(body)) {
            // Whatever validation accepted must be searchable without panicking.
            for q in ["red", "\"fox dog\"", "+sky -tree", "title:blue"] {
                let _ = index.search(q, 5);
            }
        }
    }
}
