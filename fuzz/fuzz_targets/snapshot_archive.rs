//! The snapshot archive unpacker (`nearstore_storage::snapshot::archive::unpack_snapshot`)
//! on arbitrary bytes, into an in-memory backend, checked against the packer as a model:
//! any input is refused as corruption or a limit, leaving nothing behind, or it unpacks to
//! a snapshot that verifies, equals the returned manifest, and packs to an archive that
//! unpacks to the same snapshot and packs to the same bytes again.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nearstore_storage::backend::Backend;
use nearstore_storage::snapshot::archive::{
    UnpackLimits, unpack_snapshot, unpack_staging_path, write_archive,
};
use nearstore_storage::snapshot::verify_snapshot;
use nearstore_storage::{Error, FaultyBackend};

const LIMITS: UnpackLimits = UnpackLimits {
    max_total_bytes: 1 << 20,
    max_files: 1000,
    max_manifest_bytes: 1 << 20,
};

fuzz_target!(|data: &[u8]| {
    let backend = FaultyBackend::new();
    let dest = Path::new("/fuzz/snap");
    let source = Path::new("input.tar");
    let mut quiet = |_| {};
    match unpack_snapshot(&backend, source, &mut &data[..], dest, LIMITS, &mut quiet) {
        Ok(manifest) => {
            let verified = verify_snapshot(&backend, dest, &mut quiet).expect("unpacked snapshot verifies");
            assert_eq!(verified, manifest);
            let mut packed = Vec::new();
            write_archive(&backend, dest, &mut packed, &mut quiet).expect("unpacked snapshot packs");
            let again = Path::new("/fuzz/again");
            let second = unpack_snapshot(&backend, source, &mut &packed[..], again, LIMITS, &mut quiet)
                .expect("a packed archive unpacks");
            assert_eq!(second, manifest);
            let mut repacked = Vec::new();
            write_archive(&backend, again, &mut repacked, &mut quiet).expect("packs again");
            assert_eq!(repacked, packed, "packing is deterministic");
        }
        Err(e) => {
            assert!(
                matches!(e, Error::Corruption { .. } | Error::InvalidArgument(_)),
                "unexpected error kind: {e}"
            );
            assert!(!backend.exists(dest).expect("exists"), "nothing left behind: {e}");
            assert!(!backend.exists(&unpack_staging_path(dest)).expect("exists"));
        }
    }
});
