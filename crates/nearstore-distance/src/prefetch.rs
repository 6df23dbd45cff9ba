//! Cache prefetch hints for vectors about to be scored (graph searches jump between random
//! vectors; announcing the next ones hides part of the memory latency).

/// Bytes per cache line assumed by the hint loop.
#[cfg(target_arch = "x86_64")]
const LINE: usize = 64;

/// Hints the CPU to bring `v` into every cache level, the first included (`prefetcht0`):
/// for what is read next (a row's head, a neighbour list). A no-op where no hint
/// instruction exists; it never faults (prefetches of any address are architecturally
/// harmless).
#[inline]
pub fn prefetch_slice<T>(v: &[T]) {
    #[cfg(target_arch = "x86_64")]
    prefetch_lines::<{ std::arch::x86_64::_MM_HINT_T0 }, T>(v);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// Rows longer than this, announced ahead, go to the second-level cache ([`prefetch_ahead`]).
#[cfg(target_arch = "x86_64")]
const LONG_ROW_BYTES: usize = 512;

/// Announces a row a few rows before it is read: a row longer than 512 bytes into the
/// second-level cache and below, not the first (`prefetcht1`), a shorter one as
/// [`prefetch_slice`] does.
///
/// Measured in graph searches (the index's `prefetch_row`, on an AMD EPYC): with whole
/// 384-d `f32` rows (24 lines, two rows ahead) announced into the second level a search ran
/// about 1.5x as fast as into the first, with 256-d rows 12 % faster; 128-d rows (8 lines)
/// were within noise either way and 384-byte SQ8 rows 3 % slower, so rows of 8 lines or
/// fewer keep the first level. A likely reason: such a hint does not hold one of the
/// first-level cache's few miss buffers while its lines arrive, so the loads of the row
/// being scored meanwhile do not queue behind it.
#[inline]
pub fn prefetch_ahead<T>(v: &[T]) {
    #[cfg(target_arch = "x86_64")]
    if std::mem::size_of_val(v) > LONG_ROW_BYTES {
        prefetch_lines::<{ std::arch::x86_64::_MM_HINT_T1 }, T>(v);
    } else {
        prefetch_lines::<{ std::arch::x86_64::_MM_HINT_T0 }, T>(v);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// Hints every line `v` touches with `HINT`.
#[cfg(target_arch = "x86_64")]
#[inline]
fn prefetch_lines<const HINT: i32, T>(v: &[T]) {
    let bytes = std::mem::size_of_val(v);
    if bytes == 0 {
        return;
    }
    // Every line the slice touches: from the line holding its first byte to the line
    // holding its last. (Stepping a line at a time from the first byte itself would
    // miss the last line of a slice that starts late in a line: an 88-byte RaBitQ
    // block at offset 56 spans three lines, and its factors sit in the third.)
    let base = v.as_ptr().cast::<i8>();
    let skew = base.addr() % LINE;
    let lines = (skew + bytes).div_ceil(LINE);
    // `wrapping_*` keep the pointer's provenance without asserting it stays in bounds:
    // the first line may start before the slice, and a prefetch never dereferences.
    let first = base.wrapping_sub(skew);
    for i in 0..lines {
        // SAFETY: `_mm_prefetch` is SSE (baseline on x86_64, so no detection is needed)
        // and only hints the cache: it does not dereference its argument, so any
        // address, including one just before or inside the slice's lines, is sound.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<HINT>(first.wrapping_add(i * LINE));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefetching_any_vector_is_harmless() {
        super::prefetch_slice::<f32>(&[]);
        super::prefetch_slice(&[1.0f32; 1000]);
        super::prefetch_slice(&[1.0f32; 3][1..]);
        super::prefetch_slice(&[7u8; 300][3..]);
        super::prefetch_ahead(&[1.0f32; 1000]);
        super::prefetch_ahead::<u64>(&[]);
        super::prefetch_ahead(&[1.0f32; 100]);
        super::prefetch_ahead(&[1u8; 10]);
    }
}
