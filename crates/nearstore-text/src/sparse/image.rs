//! The persisted byte image of a [`SparseIndex`]: [`SparseIndex::encode_image`] and the
//! total [`SparseIndex::decode_image`].
//!
//! Layout (little-endian, framed like the text index image):
//!
//! ```text
//! magic "NSSPARSE" | version u32
//! config: modifier u8 (0 none, 1 idf)
//! documents: count u32, point ids u64 × n (live documents, in slot order)
//! dimensions: count u32, then per dimension (strictly increasing):
//!   dim u32 | count u32 | slots u32 × count (strictly increasing, < n) | weights f32 × count
//! crc32c u32 of everything before it
//! ```
//!
//! Only live documents are written, renumbered densely in slot order, so the image is
//! canonical: decoding and encoding again gives the same bytes. Decoding checks the
//! checksum, bounds every count by the bytes left before allocating, and validates the
//! structure (known modifier, unique point ids, sorted dimensions and slots, finite non-zero
//! weights, every document holding at least one dimension) before anything is searchable.
//! Block tables, live counts and the forward index are rebuilt from the lists.

use rustc_hash::FxHashSet;

use super::index::SparseIndex;
use super::postings::PostingList;
use super::{SparseConfig, SparseModifier};
use crate::error::{Error, Result};
use crate::image_reader::{Reader, checked_body, put_u32, seal_frame};

const MAGIC: &[u8; 8] = b"NSSPARSE";
/// The image's name in errors.
const IMAGE: &str = "sparse index";
/// Sparse image format version written and read by this build.
pub const SPARSE_FORMAT_VERSION: u32 = 1;

impl SparseIndex {
    /// The index as a checksummed byte image (dead postings are left out).
    pub fn encode_image(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.posting_bytes());
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, SPARSE_FORMAT_VERSION);
        out.push(match self.config.modifier {
            SparseModifier::None => 0,
            SparseModifier::Idf => 1,
        });
        let mut remap = Vec::with_capacity(self.live.len());
        let mut next = 0u32;
        for &alive in &self.live {
            remap.push(if alive { next } else { u32::MAX });
            next += u32::from(alive);
        }
        put_u32(&mut out, next);
        for (&id, &alive) in self.point_ids.iter().zip(&self.live) {
            if alive {
                out.extend_from_slice(&id.to_le_bytes());
            }
        }
        let mut dims: Vec<(&u32, &PostingList)> =
            self.lists.iter().filter(|(_, l)| l.live > 0).collect();
        dims.sort_unstable_by_key(|(d, _)| **d);
        put_u32(&mut out, dims.len() as u32);
        let mut weights = Vec::new();
        for (&dim, list) in dims {
            put_u32(&mut out, dim);
            put_u32(&mut out, list.live);
            weights.clear();
            for (&s, &w) in list.slots.iter().zip(&list.weights) {
                let new = remap.get(s as usize).copied().unwrap_or(u32::MAX);
                if new != u32::MAX {
                    put_u32(&mut out, new);
                    weights.push(w);
                }
            }
            for w in &weights {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        seal_frame(&mut out);
        out
    }

    /// Reads an image written by [`SparseIndex::encode_image`]. Never panics: damaged,
    /// truncated or foreign bytes give [`Error::Corrupt`] naming the section and offset (or
    /// [`Error::UnsupportedVersion`]).
    pub fn decode_image(bytes: &[u8]) -> Result<SparseIndex> {
        let body = checked_body(bytes, MAGIC, IMAGE)?;
        let mut r = Reader::new(body, MAGIC.len(), IMAGE);
        let version = r.u32("header")?;
        if version != SPARSE_FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                image: IMAGE,
                found: version,
                expected: SPARSE_FORMAT_VERSION,
            });
        }
        let config_at = r.at;
        let modifier = match r.u8("config")? {
            0 => SparseModifier::None,
            1 => SparseModifier::Idf,
            m => return Err(r.corrupt("config", config_at, &format!("unknown modifier {m}"))),
        };
        let mut index = SparseIndex::new(SparseConfig { modifier });

        let docs_at = r.at;
        let n = r.count(8, "documents")?;
        let point_ids = r.u64s(n, "documents")?;
        let mut seen: FxHashSet<u64> = FxHashSet::default();
        seen.reserve(n);
        for &id in &point_ids {
            if !seen.insert(id) {
                return Err(r.corrupt("documents", docs_at, &format!("point {id} appears twice")));
            }
        }

        // Each posting takes 8 bytes, each dimension header 8.
        let n_dims = r.count(8, "dimensions")?;
        let mut per_doc = vec![0u32; n + 1];
        let mut decoded: Vec<(u32, PostingList)> = Vec::with_capacity(n_dims);
        let mut previous: Option<u32> = None;
        for _ in 0..n_dims {
            let at = r.at;
            let dim = r.u32("dimensions")?;
            if previous.is_some_and(|p| p >= dim) {
                return Err(r.corrupt("dimensions", at, "dimensions not strictly increasing"));
            }
            previous = Some(dim);
            let count = r.count(8, "dimensions")?;
            if count == 0 || count > n {
                return Err(r.corrupt(
                    "dimensions",
                    at,
                    &format!("dimension {dim} lists {count} of {n} documents"),
                ));
            }
            let slots_at = r.at;
            let slots = r.u32s(count, "postings")?;
            let weights_at = r.at;
            let raw = r.take(count * 4, "postings")?;
            let mut list = PostingList::default();
            let mut last: Option<u32> = None;
            for (i, (&slot, w)) in slots.iter().zip(raw.chunks_exact(4)).enumerate() {
                if last.is_some_and(|l| l >= slot) || slot as usize >= n {
                    return Err(r.corrupt(
                        "postings",
                        slots_at + 4 * i,
                        &format!("dimension {dim}: slot {slot} out of order or range"),
                    ));
                }
                last = Some(slot);
                let w = f32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                if !w.is_finite() || w == 0.0 {
                    return Err(r.corrupt(
                        "postings",
                        weights_at + 4 * i,
                        &format!("dimension {dim}: weight {w} is zero or not finite"),
                    ));
                }
                per_doc[slot as usize + 1] += 1;
                list.push(slot, w);
            }
            list.live = count as u32;
            decoded.push((dim, list));
        }
        if r.at != r.bytes.len() {
            return Err(r.corrupt("trailer", r.at, "bytes after the last dimension"));
        }
        if let Some(empty) = per_doc[1..].iter().position(|&c| c == 0) {
            return Err(r.corrupt(
                "documents",
                docs_at,
                &format!("document {empty} holds no dimension"),
            ));
        }
        // Forward index: count per document, then fill in increasing dimension order.
        let mut starts = per_doc;
        for d in 1..starts.len() {
            starts[d] += starts[d - 1];
        }
        let total = starts.last().copied().unwrap_or(0) as usize;
        let mut forward = vec![0u32; total];
        let mut fill: Vec<u32> = starts[..n].to_vec();
        for (dim, list) in &decoded {
            for &s in &list.slots {
                let at = &mut fill[s as usize];
                forward[*at as usize] = *dim;
                *at += 1;
            }
        }
        index.lists = decoded.into_iter().collect();
        index.locations = point_ids
            .iter()
            .enumerate()
            .map(|(s, &id)| (id, s as u32))
            .collect();
        index.point_ids = point_ids;
        index.live = vec![true; n];
        index.forward_starts = starts;
        index.forward = forward;
        index.dead_postings = 0;
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sparse::SparseVector;

    fn sample() -> Result<SparseIndex> {
        let mut index = SparseIndex::new(SparseConfig {
            modifier: SparseModifier::Idf,
        });
        for id in 0..50u64 {
            let v = SparseVector::new(
                vec![id as u32 % 5, 10 + id as u32 % 3, 1000],
                vec![1.0 + id as f32, -0.5, 0.25],
            )?;
            index.upsert(id * 3, &v);
        }
        index.delete(3);
        index.upsert(6, &SparseVector::new(vec![4], vec![9.0])?);
        Ok(index)
    }

    #[test]
    fn round_trips_canonically() -> Result<()> {
        let index = sample()?;
        let bytes = index.encode_image();
        let back = SparseIndex::decode_image(&bytes)?;
        assert_eq!(back.encode_image(), bytes);
        assert_eq!(back.len(), index.len());
        assert_eq!(back.config(), index.config());
        for id in 0..150u64 {
            assert_eq!(back.get(id), index.get(id), "point {id}");
        }
        Ok(())
    }

    #[test]
    fn every_truncation_and_bit_flip_is_refused() -> Result<()> {
        let bytes = sample()?.encode_image();
        for len in 0..bytes.len() {
            assert!(
                SparseIndex::decode_image(&bytes[..len]).is_err(),
                "len {len}"
            );
        }
        for at in (0..bytes.len()).step_by(7) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assert!(
                matches!(
                    SparseIndex::decode_image(&damaged),
                    Err(Error::Corrupt { .. } | Error::UnsupportedVersion { .. })
                ),
                "flip at {at}"
            );
        }
        Ok(())
    }

    /// A structurally bad body behind a valid frame is refused with its offset.
    #[test]
    fn bad_structure_behind_a_valid_checksum_is_refused() {
        let mut out = MAGIC.to_vec();
        put_u32(&mut out, SPARSE_FORMAT_VERSION);
        out.push(0);
        put_u32(&mut out, 1);
        out.extend_from_slice(&7u64.to_le_bytes());
        put_u32(&mut out, 1);
        put_u32(&mut out, 3); // dim
        put_u32(&mut out, 1); // count
        put_u32(&mut out, 0); // slot
        out.extend_from_slice(&f32::NAN.to_le_bytes());
        seal_frame(&mut out);
        match SparseIndex::decode_image(&out) {
            Err(Error::Corrupt {
                section: "postings",
                offset,
                ..
            }) => assert_eq!(offset, out.len() - 8),
            other => panic!("expected a corrupt weight, got {other:?}"),
        }
    }
}
