//! `nearstore import`: reads points from a file and upserts them in batches.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use nearstore::{Point, StorageMode};
use serde_json::{Map, Value};

use nearstore::storage::vecfile::{VectorFormat, VectorReader};

use super::edges::{EdgeDefaults, EdgeReader};
use super::{Format, progress_bar};
use crate::remote::EndpointArgs;

/// Options of `nearstore import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import.
    pub file: PathBuf,
    /// The collection (created when missing, with the file's dimension and `--metric`).
    #[arg(long, short)]
    pub collection: String,
    /// The database directory or server.
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// The file's format (default: from its extension).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Metric of a collection created by the import: cosine, l2 (euclidean), dot.
    #[arg(long, default_value = "cosine", conflicts_with = "edges")]
    pub metric: String,
    /// Storage mode of a collection created by the import: full (the default), sq8,
    /// binary, pq or rabitq (a quantized collection trains its quantizer by itself once it
    /// holds 1024 points). An existing collection must already have this mode.
    #[arg(long, conflicts_with = "edges")]
    pub storage_mode: Option<String>,
    /// For .npy / .fvecs: payloads, one JSON object per line in row order.
    #[arg(long, conflicts_with = "edges")]
    pub payloads: Option<PathBuf>,
    /// For .npy / .fvecs: the id of the first row.
    #[arg(long, default_value_t = 0)]
    pub id_start: u64,
    /// Points per upsert (edges per `add_edges_batch` with `--edges`).
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
    /// The file is an edge list (CSV or JSONL) for the graph collection `--collection`,
    /// whose nodes must exist (see `transfer::edges` for the columns).
    #[arg(long)]
    pub edges: bool,
    /// With `--edges`: the label of rows that have none.
    #[arg(long, requires = "edges")]
    pub label: Option<String>,
}

/// Where points come from: a row-oriented stream (JSONL, CSV) or vectors streamed from a
/// vector file (npy, fvecs) through the storage crate's reader.
enum Source {
    Jsonl(std::io::Lines<BufReader<CountingReader>>),
    Csv(csv::Reader<CountingReader>, csv::StringRecord),
    Vectors {
        reader: Box<VectorReader>,
        rows: Option<u64>,
        payloads: Option<std::io::Lines<BufReader<File>>>,
        next: u64,
    },
}

/// Counts bytes read, for the progress bar of streamed formats.
struct CountingReader {
    inner: BufReader<File>,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

fn parse_point(v: Value, line: usize) -> anyhow::Result<Point> {
    let Value::Object(mut obj) = v else {
        bail!("line {line}: expected a JSON object");
    };
    let id = obj
        .get("id")
        .and_then(Value::as_u64)
        .with_context(|| format!("line {line}: \"id\" must be a non-negative integer"))?;
    let vector = vector_from(obj.remove("vector"), line)?;
    let payload = match obj.remove("payload") {
        None | Some(Value::Null) => None,
        Some(p @ Value::Object(_)) => Some(p),
        Some(_) => bail!("line {line}: \"payload\" must be an object"),
    };
    Ok(Point::new(id, vector, payload))
}

fn vector_from(v: Option<Value>, line: usize) -> anyhow::Result<Vec<f32>> {
    let Some(Value::Array(items)) = v else {
        bail!("line {line}: \"vector\" must be an array of numbers");
    };
    items
        .iter()
        .map(|x| {
            x.as_f64()
                .map(|f| f as f32)
                .with_context(|| format!("line {line}: vector holds a non-number {x}"))
        })
        .collect()
}

/// A CSV cell as a payload value: JSON numbers, booleans and null keep their type.
fn csv_value(cell: &str) -> Value {
    match serde_json::from_str::<Value>(cell) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => v,
        _ => Value::String(cell.to_string()),
    }
}

fn csv_point(
    headers: &csv::StringRecord,
    rec: &csv::StringRecord,
    line: usize,
) -> anyhow::Result<Point> {
    let mut id = None;
    let mut vector = None;
    let mut payload: Option<Value> = None;
    let mut fields = Map::new();
    for (h, cell) in headers.iter().zip(rec.iter()) {
        match h {
            "id" => {
                id = Some(
                    cell.trim()
                        .parse::<u64>()
                        .with_context(|| format!("line {line}: bad id {cell:?}"))?,
                )
            }
            "vector" => {
                let v: Value = serde_json::from_str(cell)
                    .with_context(|| format!("line {line}: vector is not a JSON array"))?;
                vector = Some(vector_from(Some(v), line)?);
            }
            "payload" if !cell.trim().is_empty() => {
                let p: Value = serde_json::from_str(cell)
                    .with_context(|| format!("line {line}: payload is not JSON"))?;
                if !p.is_object() {
                    bail!("line {line}: payload must be a JSON object");
                }
                payload = Some(p);
            }
            "payload" => {}
            other => {
                fields.insert(other.to_string(), csv_value(cell));
            }
        }
    }
    let id = id.with_context(|| format!("line {line}: no id column"))?;
    let vector = vector.with_context(|| format!("line {line}: no vector column"))?;
    if payload.is_none() && !fields.is_empty() {
        payload = Some(Value::Object(fields));
    }
    Ok(Point::new(id, vector, payload))
}

impl Source {
    fn open(
        args: &ImportArgs,
        format: Format,
        count: &std::rc::Rc<std::cell::Cell<u64>>,
    ) -> anyhow::Result<Source> {
        let path = &args.file;
        let file = || -> anyhow::Result<CountingReader> {
            let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
            Ok(CountingReader {
                inner: BufReader::new(f),
                count: count.clone(),
            })
        };
        let vectors = |format| -> anyhow::Result<Source> {
            let mut reader = VectorReader::open(path, format)?;
            let rows = reader.rows()?;
            let payloads = match &args.payloads {
                Some(p) => Some(
                    BufReader::new(
                        File::open(p).with_context(|| format!("opening {}", p.display()))?,
                    )
                    .lines(),
                ),
                None => None,
            };
            Ok(Source::Vectors {
                reader: Box::new(reader),
                rows,
                payloads,
                next: 0,
            })
        };
        match format {
            Format::Jsonl => Ok(Source::Jsonl(BufReader::new(file()?).lines())),
            Format::Csv => {
                let mut r = csv::Reader::from_reader(file()?);
                let headers = r.headers().context("reading the CSV header")?.clone();
                Ok(Source::Csv(r, headers))
            }
            Format::Npy => vectors(VectorFormat::Npy),
            Format::Fvecs => vectors(VectorFormat::Fvecs),
        }
    }

    /// Rows in a vector file (known up front from its header or length).
    fn rows(&self) -> Option<u64> {
        match self {
            Source::Vectors { rows, .. } => *rows,
            _ => None,
        }
    }

    /// Up to `n` more points (an empty batch at the end).
    fn next_batch(
        &mut self,
        n: usize,
        id_start: u64,
        line: &mut usize,
    ) -> anyhow::Result<Vec<Point>> {
        let mut out = Vec::with_capacity(n.min(65_536));
        match self {
            Source::Jsonl(lines) => {
                while out.len() < n {
                    let Some(l) = lines.next() else { break };
                    *line += 1;
                    let l = l.with_context(|| format!("reading line {line}"))?;
                    if l.trim().is_empty() {
                        continue;
                    }
                    let v: Value = serde_json::from_str(&l)
                        .with_context(|| format!("line {line}: not JSON"))?;
                    out.push(parse_point(v, *line)?);
                }
            }
            Source::Csv(reader, headers) => {
                let mut rec = csv::StringRecord::new();
                while out.len() < n
                    && reader
                        .read_record(&mut rec)
                        .with_context(|| format!("CSV record after line {line}"))?
                {
                    *line += 1;
                    out.push(csv_point(headers, &rec, *line + 1)?);
                }
            }
            Source::Vectors {
                reader,
                payloads,
                next,
                ..
            } => {
                while out.len() < n {
                    let mut vector = Vec::new();
                    if !reader.read_row(&mut vector)? {
                        break;
                    }
                    let i = *next;
                    let payload = match payloads {
                        Some(lines) => {
                            let l = lines
                                .next()
                                .with_context(|| {
                                    format!(
                                        "the payload file has fewer lines than the vectors ({i})"
                                    )
                                })?
                                .context("reading the payload file")?;
                            let p: Value = serde_json::from_str(&l)
                                .with_context(|| format!("payload line {}: not JSON", i + 1))?;
                            Some(p)
                        }
                        None => None,
                    };
                    let id = id_start.checked_add(i).context("ids overflow u64")?;
                    out.push(Point::new(id, vector, payload));
                    *next += 1;
                }
                *line = usize::try_from(*next).unwrap_or(usize::MAX);
            }
        }
        Ok(out)
    }
}

/// Runs the import and prints its summary.
pub fn run(args: &ImportArgs) -> anyhow::Result<()> {
    if args.edges {
        return run_edges(args);
    }
    let format = Format::resolve(args.format, &args.file)?;
    let count = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let mut source = Source::open(args, format, &count)?;
    let file_bytes = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let bar = match source.rows() {
        Some(rows) => progress_bar(rows, "points"),
        None => progress_bar(file_bytes, "bytes"),
    };
    let endpoint = args.endpoint.open()?;
    let started = Instant::now();
    let mut created = false;
    let mut ready = false;
    let (mut imported, mut line) = (0u64, 0usize);
    loop {
        let batch = source
            .next_batch(args.batch.max(1), args.id_start, &mut line)
            .with_context(|| {
                format!(
                    "reading {} ({imported} points imported before this)",
                    args.file.display()
                )
            })?;
        let Some(first) = batch.first() else { break };
        if !ready {
            let mode = match args.storage_mode.as_deref() {
                Some(m) => Some(StorageMode::parse(m).context("--storage-mode")?),
                None => None,
            };
            match endpoint.info(&args.collection)? {
                None => {
                    endpoint.create(
                        &args.collection,
                        first.vector.len(),
                        &args.metric,
                        mode.unwrap_or_default(),
                    )?;
                    created = true;
                }
                Some(info) => {
                    if let Some(m) = mode
                        && info.storage_mode != m.name()
                    {
                        bail!(
                            "--storage-mode {}: collection {:?} exists with storage mode {} (fixed at creation)",
                            m.name(),
                            args.collection,
                            info.storage_mode
                        );
                    }
                }
            }
            ready = true;
        }
        endpoint.upsert(&args.collection, &batch).with_context(|| {
            format!("upserting the batch ending at line/row {line} ({imported} points imported before it)")
        })?;
        imported += batch.len() as u64;
        match source.rows() {
            Some(_) => bar.set_position(imported),
            None => bar.set_position(count.get()),
        }
    }
    if !ready {
        bar.finish_and_clear();
        bail!("{} holds no points", args.file.display());
    }
    endpoint.flush(&args.collection)?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let info = endpoint
        .info(&args.collection)?
        .context("the collection vanished during the import")?;
    println!(
        "imported {imported} points from {} into {:?}{} ({}-d, {}) in {secs:.1} s ({:.0} points/s); the collection now holds {} points (flushed)",
        args.file.display(),
        args.collection,
        if created { " (created)" } else { "" },
        info.dim,
        info.metric,
        imported as f64 / secs.max(1e-9),
        info.points
    );
    Ok(())
}

/// `nearstore import --edges`: an edge list into an existing graph collection, in batches
/// (each batch all or none); a bad row stops the import with its line.
fn run_edges(args: &ImportArgs) -> anyhow::Result<()> {
    let format = Format::resolve(args.format, &args.file)?;
    let file =
        File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let file_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let count = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let input = CountingReader {
        inner: BufReader::new(file),
        count: count.clone(),
    };
    let mut reader = EdgeReader::new(format, input)?;
    let endpoint = args.endpoint.open()?;
    endpoint.graph_edge_count(&args.collection)?;
    let defaults = EdgeDefaults {
        label: args.label.clone(),
        id_start: args.id_start,
    };
    let bar = progress_bar(file_bytes, "bytes");
    let started = Instant::now();
    let (mut read, mut line, mut imported) = (0u64, 0usize, 0u64);
    loop {
        let batch = reader
            .next_batch(args.batch.max(1), &defaults, &mut read, &mut line)
            .with_context(|| {
                format!(
                    "reading {} ({imported} edges imported before this)",
                    args.file.display()
                )
            })?;
        if batch.is_empty() {
            break;
        }
        let n = batch.len() as u64;
        endpoint.add_edges(&args.collection, batch).with_context(|| {
            format!("adding the batch of edges ending at line {line} ({imported} edges imported before it)")
        })?;
        imported += n;
        bar.set_position(count.get());
    }
    endpoint.flush(&args.collection)?;
    bar.finish_and_clear();
    if imported == 0 {
        bail!("{} holds no edges", args.file.display());
    }
    let secs = started.elapsed().as_secs_f64();
    let total = endpoint.graph_edge_count(&args.collection)?;
    println!(
        "imported {imported} edges from {} into graph {:?} in {secs:.1} s ({:.0} edges/s); the graph now holds {total} edges (flushed)",
        args.file.display(),
        args.collection,
        imported as f64 / secs.max(1e-9),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_cells_keep_json_scalar_types() {
        assert_eq!(csv_value("3"), json!(3));
        assert_eq!(csv_value("true"), json!(true));
        assert_eq!(csv_value("en"), json!("en"));
        assert_eq!(csv_value("[1]"), json!("[1]"));
    }

    #[test]
    fn bad_rows_are_errors_with_their_line() {
        let err = parse_point(json!({"id": -1, "vector": [1.0]}), 7).unwrap_err();
        assert!(err.to_string().contains("line 7"), "{err}");
        let err = parse_point(json!({"id": 1, "vector": [1.0, "x"]}), 3).unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        let err = parse_point(json!({"id": 1, "vector": [1.0], "payload": 5}), 2).unwrap_err();
        assert!(err.to_string().contains("payload"), "{err}");
    }
}
