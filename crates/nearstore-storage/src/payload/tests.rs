//! Unit tests of the payload record codec.

use super::*;
use proptest::prelude::*;

#[test]
fn record_round_trips_through_the_codec() {
    let mut out = Vec::new();
    let body_len = encode_record(PUT, true, 42, br#"{"a":1}"#, 0, &mut out);
    assert_eq!(out.len() as u64, RECORD_HEADER_LEN + u64::from(body_len));
    let body = &out[RECORD_HEADER_LEN as usize..];
    let r = decode_record(body, Path::new("p"), 0).unwrap();
    assert_eq!(
        (r.tag, r.flags, r.id, r.json),
        (PUT, LAST_IN_GROUP, 42, &br#"{"a":1}"#[..])
    );
}

#[test]
fn a_delete_record_with_trailing_bytes_is_corruption() {
    let mut out = Vec::new();
    encode_record(DELETE, true, 1, b"xx", 0, &mut out);
    let body = &out[RECORD_HEADER_LEN as usize..];
    assert!(
        decode_record(body, Path::new("p"), 0)
            .unwrap_err()
            .is_corruption()
    );
}

proptest! {
    #[test]
    fn arbitrary_record_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_record(&body, Path::new("p"), 0);
    }
}
