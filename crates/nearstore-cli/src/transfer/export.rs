//! `nearstore export`: writes a collection's points to a file, in ascending id order.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use nearstore::{Database, Point};
use serde_json::json;

use super::{Format, npy, progress_bar};

/// Options of `nearstore export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The file to write (replaced if it exists).
    pub file: PathBuf,
    /// The collection.
    #[arg(long, short)]
    pub collection: String,
    /// The database directory.
    #[arg(long, default_value = crate::DEFAULT_DATA_DIR)]
    pub data: PathBuf,
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
    let db =
        Database::open(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let c = db.get_vector_collection(&args.collection)?;
    let started = Instant::now();
    let bar = progress_bar(c.len() as u64, "points");
    let file =
        File::create(&args.file).with_context(|| format!("creating {}", args.file.display()))?;
    let mut out = BufWriter::new(file);
    if format == Format::Csv {
        writeln!(out, "id,vector,payload")?;
    }
    let mut matrix = Vec::new();
    let (mut cursor, mut written) = (None, 0u64);
    loop {
        let page = c.scroll(None, 5_000, cursor)?;
        write_points(format, &mut out, &page.points, &mut matrix)?;
        written += page.points.len() as u64;
        bar.set_position(written);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if format == Format::Npy {
        out.write_all(&npy::encode(c.config().dim, &matrix))?;
    }
    out.flush()?;
    bar.finish_and_clear();
    println!(
        "exported {written} points of {:?} to {} ({:?}) in {:.1} s",
        c.name(),
        args.file.display(),
        format,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
