//! Cache prefetch hints for vectors about to be scored (graph searches jump between random
//! vectors; announcing the next ones hides part of the memory latency).

/// Bytes per cache line assumed by the hint loop.
#[cfg(target_arch = "x86_64")]
const LINE: usize = 64;

/// Hints the CPU to bring `v` into the cache. A no-op where no hint instruction exists; it
/// never faults (prefetches of any address are architecturally harmless).
#[inline]
pub fn prefetch_vector(v: &[f32]) {
    prefetch_slice(v);
}

/// [`prefetch_vector`] for byte codes (quantized vectors).
#[inline]
pub fn prefetch_bytes(v: &[u8]) {
    prefetch_slice(v);
}

/// [`prefetch_vector`] for bit codes (binary and RaBitQ codes).
#[inline]
pub fn prefetch_words(v: &[u64]) {
    prefetch_slice(v);
}

/// [`prefetch_vector`] for any slice (an index's neighbour lists, say).
#[inline]
pub fn prefetch_slice<T>(v: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
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
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    first.wrapping_add(i * LINE),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefetching_any_vector_is_harmless() {
        super::prefetch_vector(&[]);
        super::prefetch_vector(&[1.0; 1000]);
        super::prefetch_vector(&[1.0; 3][1..]);
        super::prefetch_bytes(&[7u8; 300][3..]);
    }
}
