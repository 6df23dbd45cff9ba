//! `nearstore export`: writes a collection's points to a file, in ascending id order.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use nearstore::Point;
use serde_json::json;

use super::{Format, npy, progress_bar};
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

fn write_points(
    format: Format,
    out: &mut BufWriter<File>,
    points: &[Point],
    matrix: &mut Vec<f32>,
) -> anyhow::Result<()> {
    for p in points {
        match format {
            Format::Jsonl => {
                serde_json::to_writer(
                    &mut *out,
                    &json!({"id": p.id, "vector": p.vector, "payload": p.payload}),
                )?;
                out.write_all(b"\n")?;
            }
            Format::Csv => {
                let vector = serde_json::to_string(&p.vector)?;
                let payload = p
                    .payload
                    .as_ref()
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
                writeln!(out, "{},{},{}", p.id, quote(&vector), quote(&payload))?;
            }
            Format::Fvecs => {
                out.write_all(&(p.vector.len() as u32).to_le_bytes())?;
                for x in &p.vector {
                    out.write_all(&x.to_le_bytes())?;
                }
            }
            Format::Npy => matrix.extend_from_slice(&p.vector),
        }
    }
    Ok(())
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
    let file =
        File::create(&args.file).with_context(|| format!("creating {}", args.file.display()))?;
    let mut out = BufWriter::new(file);
    if format == Format::Csv {
        writeln!(out, "id,vector,payload")?;
    }
    let mut matrix = Vec::new();
    let (mut cursor, mut written) = (None, 0u64);
    loop {
        let (points, next_cursor) = endpoint.scroll(&args.collection, 5_000, cursor)?;
        write_points(format, &mut out, &points, &mut matrix)?;
        written += points.len() as u64;
        bar.set_position(written);
        match next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if format == Format::Npy {
        out.write_all(&npy::encode(info.dim, &matrix))?;
    }
    out.flush()?;
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
