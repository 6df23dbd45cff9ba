//! Vector storage with every vector starting on a 64-byte boundary.
//!
//! A plain `Vec<f32>` from the system allocator is only 16-byte aligned for large sizes, so
//! a 1,536-byte vector would span 25 cache lines instead of 24 and every wide load would
//! straddle two lines. The arena pads each vector to a multiple of 16 floats and starts the
//! first one at the first 64-byte boundary of its buffer; it grows by moving into a new,
//! again aligned, buffer (never by `Vec` reallocation, which could misalign it).

/// Floats per 64-byte cache line.
const LINE_FLOATS: usize = 16;

/// Makes room for `additional` more elements in `v`; when it has to grow, the new buffer
/// (at least double the old) gets the transparent-huge-page hint before anything is
/// written to it (see `nearstore_distance::advise_huge_pages`: graph searches read these
/// arrays at random, and with 4 KiB pages almost every read also misses the TLB).
pub(super) fn reserve_huge<T>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() >= additional {
        return;
    }
    let mut fresh = Vec::with_capacity((v.len() + additional).max(v.capacity() * 2));
    nearstore_distance::advise_huge_pages(&mut fresh);
    fresh.append(v);
    *v = fresh;
}

/// `items` collected into a vector with the huge-page hint (see [`reserve_huge`]).
pub(super) fn collect_huge<T>(items: impl ExactSizeIterator<Item = T>) -> Vec<T> {
    let mut v = Vec::new();
    reserve_huge(&mut v, items.len());
    v.extend(items);
    v
}

/// Row storage of fixed-dimension vectors, 64-byte aligned.
#[derive(Debug, Default)]
pub struct VectorArena {
    buf: Vec<f32>,
    offset: usize,
    dim: usize,
    stride: usize,
    rows: usize,
}

/// Floats to skip after `start` (a buffer's first float) to reach a 64-byte boundary.
fn aligned_offset(start: *const f32) -> usize {
    let misalign = (start as usize) % 64;
    ((64 - misalign) % 64) / 4
}

impl VectorArena {
    /// An empty arena for `dim`-dimensional vectors.
    pub fn new(dim: usize) -> Self {
        VectorArena {
            dim,
            stride: dim.div_ceil(LINE_FLOATS) * LINE_FLOATS,
            ..VectorArena::default()
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Makes room for `additional` more rows without moving later.
    pub fn reserve(&mut self, additional: usize) {
        let needed = self.offset + (self.rows + additional) * self.stride;
        if needed <= self.buf.capacity() {
            return;
        }
        let rows = (self.rows + additional).max(self.rows * 2);
        let mut fresh: Vec<f32> = Vec::with_capacity(rows * self.stride + LINE_FLOATS);
        // Before the first write: that is when the kernel picks the page size.
        nearstore_distance::advise_huge_pages(&mut fresh);
        let offset = aligned_offset(fresh.as_ptr());
        fresh.resize(offset, 0.0);
        fresh.extend_from_slice(&self.buf[self.offset.min(self.buf.len())..]);
        self.buf = fresh;
        self.offset = offset;
    }

    /// Appends a row.
    pub fn push(&mut self, v: &[f32]) {
        self.reserve(1);
        self.buf.extend_from_slice(&v[..self.dim]);
        self.buf
            .resize(self.buf.len() + self.stride - self.dim, 0.0);
        self.rows += 1;
    }

    /// Overwrites row `i`.
    pub fn set(&mut self, i: usize, v: &[f32]) {
        let at = self.offset + i * self.stride;
        self.buf[at..at + self.dim].copy_from_slice(&v[..self.dim]);
    }

    /// Row `i`.
    #[inline]
    pub fn get(&self, i: usize) -> &[f32] {
        let at = self.offset + i * self.stride;
        &self.buf[at..at + self.dim]
    }

    /// Reorders the rows in place (one spare row, not a second arena): row `i` becomes the
    /// old row `order[i]` (`order` a permutation of `0..len()`), following each cycle.
    pub fn permute(&mut self, order: &[u32]) {
        // Fewer than two rows: nothing moves (and the spare row's size is only known to fit
        // in memory when two rows do).
        if order.len() < 2 {
            return;
        }
        let (offset, stride) = (self.offset, self.stride);
        let mut done = vec![false; order.len()];
        let mut spare = vec![0.0f32; stride];
        for start in 0..order.len() {
            if done[start] {
                continue;
            }
            let at = |i: usize| offset + i * stride;
            spare.copy_from_slice(&self.buf[at(start)..at(start) + stride]);
            let mut to = start;
            loop {
                done[to] = true;
                let from = order[to] as usize;
                if from == start {
                    self.buf[at(to)..at(to) + stride].copy_from_slice(&spare);
                    break;
                }
                self.buf.copy_within(at(from)..at(from) + stride, at(to));
                to = from;
            }
        }
    }

    /// Bytes allocated.
    pub fn memory_bytes(&self) -> usize {
        self.buf.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_64_byte_aligned_across_growth() {
        for dim in [1, 3, 16, 17, 384] {
            let mut a = VectorArena::new(dim);
            for i in 0..300 {
                let v: Vec<f32> = (0..dim).map(|j| (i * 1000 + j) as f32).collect();
                a.push(&v);
            }
            for i in 0..300 {
                assert_eq!(a.get(i).as_ptr() as usize % 64, 0, "dim {dim} row {i}");
                assert_eq!(a.get(i)[0], (i * 1000) as f32);
                assert_eq!(a.get(i).len(), dim);
            }
            let order: Vec<u32> = (0..300u32).map(|i| (i * 7 + 3) % 300).collect();
            a.permute(&order);
            for (i, &o) in order.iter().enumerate() {
                assert_eq!(a.get(i)[0], (o as usize * 1000) as f32, "dim {dim} row {i}");
            }
            a.set(5, &vec![-1.0; dim]);
            assert_eq!(a.get(5), vec![-1.0; dim].as_slice());
        }
    }

    #[test]
    fn huge_reservations_keep_elements_and_grow_geometrically() {
        let mut v: Vec<u32> = (0..10).collect();
        reserve_huge(&mut v, 1 << 20);
        assert!(v.capacity() >= 10 + (1 << 20));
        assert_eq!(v, (0..10).collect::<Vec<_>>());
        let cap = v.capacity();
        reserve_huge(&mut v, 5);
        assert_eq!(v.capacity(), cap, "room already there: no move");
        let c = collect_huge((0..1000u32).map(|x| u64::from(x) * 3));
        assert_eq!(c.len(), 1000);
        assert_eq!(c[999], 2997);
    }
}
