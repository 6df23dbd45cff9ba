//! The operation log (`nearstore_storage::OpLog::open`): any file opens to an error or to
//! operations with strictly increasing sequence numbers whose bytes lie inside the file.
//! The first byte picks the input's form: the whole file as it is, or record bodies framed
//! with valid checksums after a fresh log's header (to reach the reassembly of operations
//! behind the checksums).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearstore_fuzz::{backend, framed_log, path, put_file};
use nearstore_storage::{Durability, OpLog};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let b = backend();
    let file = path("ops.log");
    drop(OpLog::open(b.as_ref(), &file, Durability::Flush, 0, |_, _| Ok(())).expect("create"));
    let bytes = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        framed_log(&b.read_file(&file).expect("a new log has a header"), rest)
    };
    put_file(&b, &file, &bytes);
    let mut last: Option<u64> = None;
    let mut total = 0usize;
    let opened = OpLog::open(b.as_ref(), &file, Durability::Flush, 0, |seq, op| {
        assert!(
            last.is_none_or(|l| seq > l),
            "sequence {seq} after {last:?}"
        );
        last = Some(seq);
        total += op.len();
        Ok(())
    });
    if let Ok(log) = opened {
        assert!(total <= bytes.len(), "operations larger than the file");
        // An operation numbered u64::MAX is refused at open (fuzz/regressions/op_log/
        // seq-u64-max), so the next number is always after the last replayed one.
        assert!(last.is_none_or(|l| log.next_seq() > l));
    }
});
