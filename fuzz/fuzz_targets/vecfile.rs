//! The vector-file readers (`nearstore_storage::vecfile`). The first byte picks the format
//! (`.fvecs`, `.ivecs`, `.bvecs`, `.npy`), the rest is the file. Checked: decoding never
//! panics, with the length known or streamed without it; both ways agree (the same rows,
//! or both an error); a file that decodes re-encodes to
//! the very same bytes (TEXMEX) or to a file that decodes to bit-identical rows (`.npy`);
//! every `Corruption` names the file and an offset within the input.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nearstore_storage::Error;
use nearstore_storage::vecfile::{Component, NpyReader, NpyWriter, TexmexReader, TexmexWriter};

const NAME: &str = "fuzz.vec";

fn check_error(e: &Error, len: usize) {
    if let Error::Corruption { file, offset, .. } = e {
        assert_eq!(file, Path::new(NAME));
        assert!(
            *offset <= len as u64,
            "offset {offset} past the input ({len})"
        );
    }
}

fn texmex<T: Component>(bytes: &[u8], bits: fn(T) -> u32) {
    let read = |len: Option<u64>| -> Result<Vec<Vec<T>>, Error> {
        TexmexReader::<T, _>::new(bytes, NAME, len).collect()
    };
    let as_bits = |rows: &Vec<Vec<T>>| -> Vec<Vec<u32>> {
        rows.iter()
            .map(|r| r.iter().map(|&x| bits(x)).collect())
            .collect()
    };
    let known = read(Some(bytes.len() as u64));
    let streamed = read(None);
    match (&known, &streamed) {
        (Ok(a), Ok(b)) => assert_eq!(as_bits(a), as_bits(b), "known and streamed disagree"),
        (Err(a), Err(b)) => {
            check_error(a, bytes.len());
            check_error(b, bytes.len());
        }
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => panic!("only one way failed: {e}"),
    }
    let Ok(rows) = known else { return };
    let mut w = TexmexWriter::<T, Vec<u8>>::new(Vec::new(), NAME);
    for row in &rows {
        w.write_row(row).expect("a decoded row re-encodes");
    }
    assert_eq!(w.finish().expect("in memory"), bytes, "not the same bytes");
}

fn npy(bytes: &[u8]) {
    let read = |len: Option<u64>| -> Result<(usize, Vec<u32>), Error> {
        let mut r = NpyReader::new(bytes, NAME, len)?;
        let mut out = Vec::new();
        while r.read_row(&mut out)? {}
        Ok((r.dim(), out.iter().map(|x| x.to_bits()).collect()))
    };
    let known = read(Some(bytes.len() as u64));
    let streamed = read(None);
    match (&known, &streamed) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "known and streamed lengths disagree"),
        (Err(a), Err(b)) => {
            check_error(a, bytes.len());
            check_error(b, bytes.len());
        }
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => panic!("only one way failed: {e}"),
    }
    let Ok((dim, values)) = known else { return };
    let mut w = NpyWriter::new(Cursor::new(Vec::new()), NAME, dim).expect("dim 1..=max");
    let floats: Vec<f32> = values.iter().map(|&b| f32::from_bits(b)).collect();
    for row in floats.chunks_exact(dim) {
        w.write_row(row).expect("a decoded row re-encodes");
    }
    let again = w.finish().expect("in memory").into_inner();
    let mut r = NpyReader::new(&again[..], NAME, Some(again.len() as u64)).expect("re-read");
    let mut out = Vec::new();
    while r.read_row(&mut out).expect("re-read row") {}
    let back: Vec<u32> = out.iter().map(|x| x.to_bits()).collect();
    assert_eq!(back, values, "rows changed through a rewrite");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => texmex::<f32>(rest, f32::to_bits),
        1 => texmex::<i32>(rest, |x| x as u32),
        2 => texmex::<u8>(rest, u32::from),
        _ => npy(rest),
    }
});
