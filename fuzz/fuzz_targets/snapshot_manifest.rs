//! The snapshot manifest decoder (`nearstore_storage::snapshot::SnapshotManifest::decode`),
//! checked by a round trip: what decodes encodes to the same bytes, and any input is a
//! manifest or a corruption error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nearstore_storage::snapshot::SnapshotManifest;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("snap/SNAPSHOT");
    match SnapshotManifest::decode(data, path) {
        Ok(manifest) => {
            let encoded = manifest.encode();
            assert_eq!(encoded, data, "decode accepted bytes encode does not produce");
            let again = SnapshotManifest::decode(&encoded, path).expect("re-encoded manifest decodes");
            assert_eq!(again, manifest);
        }
        Err(e) => assert!(e.is_corruption(), "not a corruption error: {e}"),
    }
});
