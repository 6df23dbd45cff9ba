//! `nearstore export`: writes a collection's points to a file, in ascending id order.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use nearstore::Point;
use nearstore::storage::vecfile::{NpyWriter, TexmexWriter};
use serde_json::json;

use super::{Format, progress_bar};
use crate::remote::EndpointArgs;

/// Options of `nearstore export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The file to write (replaced if it exists).
    pub file: PathBuf,
    /// The collection.
    #[arg(long, short)]
    pub collection: String,
    /// The database directory or server.
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// The file's format (default: from its extension).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// Where points go: a text file (JSONL, CSV) or a vector file (the storage crate's writers).
enum Sink {
    Text(Format, BufWriter<File>),
    Fvecs(TexmexWriter<f32>),
    Npy(NpyWriter),
}

impl Sink {
    fn create(format: Format, path: &Path, dim: usize) -> anyhow::Result<Sink> {
        Ok(match format {
            Format::Jsonl | Format::Csv => {
                let file =
                    File::create(path).with_context(|| format!("creating {}", path.display()))?;
                let mut out = BufWriter::new(file);
                if format == Format::Csv {
                    writeln!(out, "id,vector,payload")?;
                }
                Sink::Text(format, out)
            }
            Format::Fvecs => Sink::Fvecs(TexmexWriter::create(path)?),
            Format::Npy => Sink::Npy(NpyWriter::create(path, dim)?),
        })
    }

    fn write(&mut self, points: &[Point]) -> anyhow::Result<()> {
        for p in points {
            match self {
                Sink::Text(Format::Csv, out) => {
                    let vector = serde_json::to_string(&p.vector)?;
                    let payload = p
                        .payload
                        .as_ref()
                        .map(|v| v.to_string())
                        .unwrap_or_default();
                    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
                    writeln!(out, "{},{},{}", p.id, quote(&vector), quote(&payload))?;
                }
                Sink::Text(_, out) => {
                    serde_json::to_writer(
                        &mut *out,
                        &json!({"id": p.id, "vector": p.vector, "payload": p.payload}),
                    )?;
                    out.write_all(b"\n")?;
                }
                Sink::Fvecs(w) => w.write_row(&p.vector)?,
                Sink::Npy(w) => w.write_row(&p.vector)?,
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Text(_, mut out) => out.flush()?,
            Sink::Fvecs(w) => drop(w.finish()?),
            Sink::Npy(w) => drop(w.finish()?),
        }
        Ok(())
    }
}

/// Runs the export and prints its summary.
pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    let format = Format::resolve(args.format, &args.file)?;
    let endpoint = args.endpoint.open()?;
    let info = endpoint
        .info(&args.collection)?
        .with_context(|| format!("collection {:?} does not exist", args.collection))?;
    let started = Instant::now();
    let bar = progress_bar(info.points, "points");
    let mut sink = Sink::create(format, &args.file, info.dim)?;
    let (mut cursor, mut written) = (None, 0u64);
    loop {
        let (points, next_cursor) = endpoint.scroll(&args.collection, 5_000, cursor)?;
        sink.write(&points)?;
        written += points.len() as u64;
        bar.set_position(written);
        match next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    sink.finish()?;
    bar.finish_and_clear();
    println!(
        "exported {written} points of {:?} to {} ({:?}) in {:.1} s",
        args.collection,
        args.file.display(),
        format,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
