//! The sparse index image (`nearstore_text::SparseIndex::decode_image`). The first byte picks
//! the input's form: the image as it is (0), or the rest as a body behind a valid magic and
//! checksum (1, to reach the structure checks past the checksum). Checked: decoding never
//! panics; the image is canonical, so what decodes re-encodes to the very same bytes; a
//! decoded index answers a search over its first document's dimensions without panicking,
//! with at most k hits, best first.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearstore_storage::format::crc32c_parts;
use nearstore_text::SparseIndex;

fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = b"NSSPARSE".to_vec();
    out.extend_from_slice(body);
    let crc = crc32c_parts(&[&out]);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn check(bytes: &[u8]) {
    let Ok(index) = SparseIndex::decode_image(bytes) else {
        return;
    };
    let encoded = index.encode_image();
    assert_eq!(encoded, bytes, "a decoded image re-encodes to other bytes");
    let again = SparseIndex::decode_image(&encoded).expect("a re-encoded image decodes");
    assert_eq!(again.len(), index.len());
    let never = || false;
    for id in [0u64, 1, 7, u64::MAX] {
        if let Some(v) = index.get(id) {
            let hits = index
                .search(&v, 5, None, &never)
                .expect("search of a decoded index")
                .expect("no stop");
            assert!(hits.len() <= 5);
            assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1), "hits out of order");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        check(rest);
    } else {
        check(&framed(rest));
    }
});
