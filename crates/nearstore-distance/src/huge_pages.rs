//! Transparent-huge-page hints for the large arrays a graph search jumps around in.
//!
//! A graph search reads a few hundred vectors scattered over the whole vector array; with
//! 4 KiB pages nearly every one of them also misses the TLB (tens of MiB of vectors are far
//! more than the TLB covers), and the page walk adds to the cache miss. Asking the kernel for
//! 2 MiB pages on such an array (`madvise(MADV_HUGEPAGE)`, honoured where transparent huge
//! pages are `always` or `madvise`) removes most of those walks. The hint must be given
//! before the memory is first written, which is when the kernel chooses the page size.
//!
//! Owns nothing but the hint; a no-op off Linux, and any failure (no THP support, a range
//! smaller than a page) is ignored: the hint never changes what memory holds.

/// Bytes of a page the range is trimmed to (the start rounded up, the end down).
#[cfg(target_os = "linux")]
const PAGE: usize = 4096;

/// Arrays smaller than this are left alone (a huge page is 2 MiB; smaller ones gain
/// nothing).
pub const HUGE_PAGE_MIN_BYTES: usize = 2 << 20;

/// Hints that `v`'s whole allocation (its capacity, written or not) be backed by huge
/// pages. Call it right after allocating, before filling the vector.
pub fn advise_huge_pages<T>(v: &mut Vec<T>) {
    let bytes = v.capacity() * std::mem::size_of::<T>();
    if bytes < HUGE_PAGE_MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let start = v.as_mut_ptr() as usize;
        let first = start.next_multiple_of(PAGE);
        let end = (start + bytes) / PAGE * PAGE;
        if end > first {
            // SAFETY: `[first, end)` lies inside `v`'s own allocation (the start rounded
            // up and the end rounded down to page boundaries), which `v` keeps mapped
            // while we hold `&mut v`. MADV_HUGEPAGE only changes how the kernel backs the
            // range with pages; it never changes or discards the memory's contents, so no
            // Rust value is affected. Errors (EINVAL without THP) are ignored: the hint is
            // optional.
            let _ = unsafe {
                rustix::mm::madvise(
                    first as *mut std::ffi::c_void,
                    end - first,
                    rustix::mm::Advice::LinuxHugepage,
                )
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advising_keeps_the_contents() {
        let mut v: Vec<u32> = Vec::with_capacity(1 << 20);
        advise_huge_pages(&mut v);
        v.extend(0..1 << 20);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u32));
        let mut small = vec![7u8; 10];
        advise_huge_pages(&mut small);
        assert_eq!(small, vec![7u8; 10]);
    }
}
