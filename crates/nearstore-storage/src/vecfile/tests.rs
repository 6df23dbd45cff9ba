//! Unit tests of the vector-file readers and writers: round trips (proptest), every kind of
//! damage named by file and offset, streaming without a known length, and the shared data.

use std::io::Cursor;
use std::path::Path;

use proptest::prelude::*;

use super::*;

const NAME: &str = "mem.fvecs";

fn texmex_bytes<T: Component>(dim: usize, data: &[T]) -> Vec<u8> {
    let mut w = TexmexWriter::<T, Vec<u8>>::new(Vec::new(), NAME);
    for row in data.chunks_exact(dim) {
        w.write_row(row).unwrap();
    }
    w.finish().unwrap()
}

fn npy_bytes(dim: usize, data: &[f32]) -> Vec<u8> {
    let mut w = NpyWriter::new(Cursor::new(Vec::new()), NAME, dim).unwrap();
    for row in data.chunks_exact(dim) {
        w.write_row(row).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A version 1 `.npy` file with this header text and data.
fn npy_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Every row of `bytes`, read with the length known or not.
fn read_texmex_bytes<T: Component>(bytes: &[u8], len_known: bool) -> Result<Vec<Vec<T>>> {
    let len = len_known.then_some(bytes.len() as u64);
    TexmexReader::<T, _>::new(bytes, NAME, len).collect()
}

fn read_npy_bytes(bytes: &[u8], len_known: bool) -> Result<Vec<f32>> {
    let len = len_known.then_some(bytes.len() as u64);
    let mut r = NpyReader::new(bytes, NAME, len)?;
    let mut out = Vec::new();
    while r.read_row(&mut out)? {}
    Ok(out)
}

fn corruption_offset(e: &Error) -> u64 {
    match e {
        Error::Corruption { file, offset, .. } => {
            assert_eq!(file, Path::new(NAME));
            *offset
        }
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]
fn files_round_trip_through_every_writer_and_reader() {
    let dir = tempfile::tempdir().unwrap();
    let rows = Rows {
        dim: 3,
        data: vec![1.0f32, -2.5, 3.0, 0.0, f32::MIN_POSITIVE, f32::MAX],
    };
    write_texmex(dir.path().join("a.fvecs"), &rows).unwrap();
    assert_eq!(read_fvecs(dir.path().join("a.fvecs")).unwrap(), rows);
    write_npy(dir.path().join("a.npy"), &rows).unwrap();
    assert_eq!(read_npy(dir.path().join("a.npy")).unwrap(), rows);
    let ids = Rows {
        dim: 2,
        data: vec![7i32, -1, 3, 4],
    };
    write_texmex(dir.path().join("a.ivecs"), &ids).unwrap();
    assert_eq!(read_ivecs(dir.path().join("a.ivecs")).unwrap(), ids);
    let bytes = Rows {
        dim: 4,
        data: vec![0u8, 1, 254, 255],
    };
    write_texmex(dir.path().join("a.bvecs"), &bytes).unwrap();
    assert_eq!(read_bvecs(dir.path().join("a.bvecs")).unwrap(), bytes);
    let mut widened = VectorReader::open(dir.path().join("a.bvecs"), VectorFormat::Bvecs).unwrap();
    assert_eq!(widened.dim().unwrap(), Some(4));
    assert_eq!(widened.rows().unwrap(), Some(1));
    let mut row = Vec::new();
    assert!(widened.read_row(&mut row).unwrap());
    assert_eq!(row, vec![0.0, 1.0, 254.0, 255.0]);
    assert!(!widened.read_row(&mut row).unwrap());
}

#[test]
fn an_empty_texmex_file_has_no_rows_and_no_dimension() {
    let mut r = TexmexReader::<f32, _>::new(&[][..], NAME, Some(0));
    assert_eq!(r.dim().unwrap(), None);
    assert_eq!(r.rows().unwrap(), Some(0));
    assert!(!r.read_row(&mut Vec::new()).unwrap());
}

#[test]
fn texmex_damage_is_named_by_offset() {
    let good = texmex_bytes(2, &[1.0f32, 2.0, 3.0, 4.0]);
    // Cut inside the second row's values: the error points at that row's header (byte 12).
    let cut = &good[..good.len() - 1];
    for len_known in [true, false] {
        let e = read_texmex_bytes::<f32>(cut, len_known).unwrap_err();
        assert_eq!(corruption_offset(&e), 12, "{e}");
    }
    // Cut inside a row header.
    let mut short = good.clone();
    short.extend_from_slice(&[2, 0]);
    let e = read_texmex_bytes::<f32>(&short, false).unwrap_err();
    assert_eq!(corruption_offset(&e), 24);
    assert!(e.to_string().contains("row header"), "{e}");
    // A huge count is refused before anything is allocated, with or without the length.
    let mut huge = i32::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(&[0; 8]);
    for len_known in [true, false] {
        let e = read_texmex_bytes::<f32>(&huge, len_known).unwrap_err();
        assert_eq!(corruption_offset(&e), 0);
    }
    // Negative and zero counts, and a row of another length.
    for count in [-1i32, 0] {
        let e = read_texmex_bytes::<f32>(&count.to_le_bytes(), true).unwrap_err();
        assert!(
            e.to_string().contains(&format!("row length {count}")),
            "{e}"
        );
    }
    let mut mixed = good.clone();
    mixed.extend_from_slice(&texmex_bytes(3, &[1.0f32, 2.0, 3.0]));
    let e = read_texmex_bytes::<f32>(&mixed, true).unwrap_err();
    assert_eq!(corruption_offset(&e), 24);
    assert!(
        e.to_string().contains("3 values in a file of 2-value rows"),
        "{e}"
    );
    // A count the known length cannot hold is refused at its header.
    let mut long = 1000i32.to_le_bytes().to_vec();
    long.extend_from_slice(&[0; 40]);
    let e = read_texmex_bytes::<f32>(&long, true).unwrap_err();
    assert!(
        e.to_string().contains("needs 4000 bytes, only 40 remain"),
        "{e}"
    );
}

#[test]
fn a_reader_stops_after_an_error() {
    let mut bytes = texmex_bytes(1, &[5i32]);
    bytes.extend_from_slice(&(-3i32).to_le_bytes());
    let mut r = TexmexReader::<i32, _>::new(&bytes[..], NAME, None);
    let mut out = Vec::new();
    assert!(r.read_row(&mut out).unwrap());
    assert!(r.read_row(&mut out).is_err());
    assert!(!r.read_row(&mut out).unwrap());
    assert_eq!(out, vec![5]);
}

#[test]
fn writers_refuse_rows_of_another_length() {
    let mut w = TexmexWriter::<f32, Vec<u8>>::new(Vec::new(), NAME);
    w.write_row(&[1.0, 2.0]).unwrap();
    assert!(matches!(
        w.write_row(&[1.0]),
        Err(Error::DimensionMismatch {
            expected: 2,
            actual: 1
        })
    ));
    assert!(w.write_row(&[]).is_err());
    let mut n = NpyWriter::new(Cursor::new(Vec::new()), NAME, 2).unwrap();
    assert!(n.write_row(&[1.0, 2.0, 3.0]).is_err());
    assert!(NpyWriter::new(Cursor::new(Vec::new()), NAME, 0).is_err());
}

#[test]
fn npy_data_is_aligned_and_f64_is_narrowed() {
    let bytes = npy_bytes(4, &[0.5; 12]);
    assert_eq!((bytes.len() - 48) % 64, 0);
    let data: Vec<u8> = [1.5f64, -0.25]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }\n";
    let f64_file = npy_file(header, &data);
    for len_known in [true, false] {
        assert_eq!(
            read_npy_bytes(&f64_file, len_known).unwrap(),
            vec![1.5, -0.25]
        );
    }
}

#[test]
fn npy_problems_are_clear_errors() {
    let good = npy_bytes(2, &[1.0, 2.0, 3.0, 4.0]);
    // Unsupported dtype: named, not called damage.
    let mut other = good.clone();
    let at = other.windows(3).position(|w| w == b"<f4").unwrap();
    other[at + 1..at + 3].copy_from_slice(b"i8");
    let e = read_npy_bytes(&other, true).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument(ref m) if m.contains("<i8") && m.contains(NAME)),
        "{e}"
    );
    // Data shorter than the shape: at the data's start with the length, at the cut row
    // without it.
    let cut = &good[..good.len() - 1];
    assert_eq!(
        corruption_offset(&read_npy_bytes(cut, true).unwrap_err()),
        128
    );
    assert_eq!(
        corruption_offset(&read_npy_bytes(cut, false).unwrap_err()),
        136
    );
    // Data longer than the shape.
    let mut long = good.clone();
    long.push(0);
    for len_known in [true, false] {
        assert!(read_npy_bytes(&long, len_known).is_err());
    }
    // A header length past the file, a bad version, no magic.
    let mut past = good.clone();
    past[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
    assert_eq!(
        corruption_offset(&read_npy_bytes(&past, true).unwrap_err()),
        8
    );
    let mut version = good.clone();
    version[6] = 9;
    assert_eq!(
        corruption_offset(&read_npy_bytes(&version, true).unwrap_err()),
        6
    );
    assert_eq!(
        corruption_offset(&read_npy_bytes(b"hello", true).unwrap_err()),
        0
    );
    // A 3-D shape and a Fortran-order matrix are refused by name.
    for header in [
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 1), }\n",
        "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n",
    ] {
        let file = npy_file(header, &good[128..]);
        assert!(matches!(
            read_npy_bytes(&file, true),
            Err(Error::InvalidArgument(_))
        ));
    }
}

#[test]
fn recall_counts_true_neighbours_among_the_first_k_found() {
    assert_eq!(recall_at_k(&[1, 2, 3], &[3, 2, 9], 3), 2.0 / 3.0);
    assert_eq!(recall_at_k(&[9, 1, 2, 3], &[3, 2, 1], 2), 0.0);
    assert_eq!(recall_at_k(&[], &[], 10), 1.0);
    assert_eq!(recall_at_k(&[4], &[4, 5], 10), 0.5);
}

#[test]
fn the_shared_wordnet_files_read_when_present() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/wordnet-dev");
    let query = dir.join("query.fvecs");
    match read_fvecs(&query) {
        Ok(rows) => {
            assert_eq!((rows.len(), rows.dim), (500, 384));
            let truth = read_ivecs(dir.join("groundtruth.ivecs")).unwrap();
            assert_eq!(truth.len(), 500);
        }
        Err(e) => assert!(!query.exists(), "present but unreadable: {e}"),
    }
}

fn rows_strategy() -> impl Strategy<Value = (usize, Vec<u32>)> {
    (1usize..6, 0usize..6).prop_flat_map(|(dim, rows)| {
        (
            Just(dim),
            proptest::collection::vec(any::<u32>(), dim * rows..=dim * rows),
        )
    })
}

proptest! {
    #[test]
    fn texmex_round_trips_any_bits((dim, bits) in rows_strategy()) {
        let floats: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b)).collect();
        let bytes = texmex_bytes(dim, &floats);
        for len_known in [true, false] {
            let back: Vec<u32> = read_texmex_bytes::<f32>(&bytes, len_known)
                .unwrap()
                .concat()
                .iter()
                .map(|x| x.to_bits())
                .collect();
            prop_assert_eq!(&back, &bits);
        }
        let ints: Vec<i32> = bits.iter().map(|&b| b as i32).collect();
        let back = read_texmex_bytes::<i32>(&texmex_bytes(dim, &ints), true).unwrap();
        prop_assert_eq!(back.concat(), ints);
        let small: Vec<u8> = bits.iter().map(|&b| b as u8).collect();
        let back = read_texmex_bytes::<u8>(&texmex_bytes(dim, &small), false).unwrap();
        prop_assert_eq!(back.concat(), small);
    }

    #[test]
    fn npy_round_trips_any_bits((dim, bits) in rows_strategy()) {
        let floats: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b)).collect();
        let bytes = npy_bytes(dim, &floats);
        for len_known in [true, false] {
            let back: Vec<u32> =
                read_npy_bytes(&bytes, len_known).unwrap().iter().map(|x| x.to_bits()).collect();
            prop_assert_eq!(&back, &bits);
        }
    }

    /// A cut at a row boundary is a shorter valid file; any other cut is corruption at or
    /// before the cut, never a panic or a row of garbage.
    #[test]
    fn a_truncated_texmex_file_is_shorter_or_an_error((dim, bits) in rows_strategy(), cut in 0usize..200) {
        let floats: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b)).collect();
        let bytes = texmex_bytes(dim, &floats);
        let cut = cut.min(bytes.len());
        let row_bytes = 4 + 4 * dim;
        for len_known in [true, false] {
            match read_texmex_bytes::<f32>(&bytes[..cut], len_known) {
                Ok(rows) => {
                    prop_assert_eq!(cut % row_bytes, 0);
                    prop_assert_eq!(rows.len(), cut / row_bytes);
                }
                Err(e) => {
                    prop_assert!(cut % row_bytes != 0);
                    prop_assert!(corruption_offset(&e) <= cut as u64);
                }
            }
        }
    }

    #[test]
    fn damaged_npy_files_never_panic(cut in 0usize..200, flip in 0usize..200, bit in 0u8..8) {
        let mut bytes = npy_bytes(3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        if flip < bytes.len() {
            bytes[flip] ^= 1 << bit;
        }
        bytes.truncate(cut.min(bytes.len()));
        let _ = read_npy_bytes(&bytes, true);
        let _ = read_npy_bytes(&bytes, false);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        npy.extend_from_slice(&bytes);
        for len_known in [true, false] {
            let _ = read_npy_bytes(&npy, len_known);
            let _ = read_texmex_bytes::<f32>(&bytes, len_known);
            let _ = read_texmex_bytes::<u8>(&bytes, len_known);
        }
    }
}
