//! Edge lists for `nearstore import --edges`: one edge per CSV row or JSONL line, read in
//! batches.
//!
//! - CSV: a header row naming the columns. `source` and `target` (node ids) are required;
//!   `id` (edge id) and `label` are optional (missing: the edge id is `--id-start` plus the
//!   row's index among the file's edges, the label is `--label`); a `properties` column holds
//!   a JSON object; any other column becomes a property (JSON numbers, booleans and null keep
//!   their type, the rest are strings). `from` / `to` are accepted for `source` / `target`.
//! - JSONL: `{"id": 1, "source": 10, "target": 20, "label": "KNOWS", "properties": {...}}`
//!   per line (`id`, `label` and `properties` optional as above).
//!
//! A bad row is an error naming its line (the header is line 1 of a CSV file); nothing after
//! it is read, and the batches before it stay imported.

use std::io::{BufRead, BufReader, Read};

use anyhow::{Context, bail};
use serde_json::{Map, Value};

use super::Format;

/// One edge as read from the file.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRow {
    /// Edge id.
    pub id: u64,
    /// Source node id.
    pub source: u64,
    /// Target node id.
    pub target: u64,
    /// Relationship type.
    pub label: String,
    /// Properties (a JSON object, or null for none).
    pub properties: Value,
}

/// What a row may leave out.
#[derive(Debug, Clone)]
pub struct EdgeDefaults {
    /// The label of rows without one (`None`: a row must name its label).
    pub label: Option<String>,
    /// The id of the file's first edge when rows carry no id.
    pub id_start: u64,
}

/// Reads edges from a CSV or JSONL stream.
pub enum EdgeReader<R: Read> {
    /// JSON lines.
    Jsonl(std::io::Lines<BufReader<R>>),
    /// CSV with its header.
    Csv(csv::Reader<R>, Columns),
}

/// Where each field is in a CSV row.
#[derive(Debug, Clone)]
pub struct Columns {
    id: Option<usize>,
    source: usize,
    target: usize,
    label: Option<usize>,
    properties: Option<usize>,
    /// Other columns: (index, property name).
    extra: Vec<(usize, String)>,
}

impl Columns {
    fn from_header(header: &csv::StringRecord) -> anyhow::Result<Columns> {
        let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.trim()));
        let source = find(&["source", "from"])
            .context("the CSV header has no `source` (or `from`) column")?;
        let target =
            find(&["target", "to"]).context("the CSV header has no `target` (or `to`) column")?;
        let (id, label, properties) = (find(&["id"]), find(&["label"]), find(&["properties"]));
        let known = [Some(source), Some(target), id, label, properties];
        let extra = header
            .iter()
            .enumerate()
            .filter(|(i, _)| !known.contains(&Some(*i)))
            .map(|(i, h)| (i, h.trim().to_string()))
            .collect();
        Ok(Columns {
            id,
            source,
            target,
            label,
            properties,
            extra,
        })
    }
}

fn node_id(value: Option<&str>, what: &str, line: usize) -> anyhow::Result<u64> {
    let cell = value.with_context(|| format!("line {line}: no {what} column"))?;
    cell.trim().parse().with_context(|| {
        format!("line {line}: {what} must be a non-negative integer, got {cell:?}")
    })
}

fn label_or_default(
    label: Option<String>,
    defaults: &EdgeDefaults,
    line: usize,
) -> anyhow::Result<String> {
    match label {
        Some(l) if !l.trim().is_empty() => Ok(l),
        Some(_) => bail!("line {line}: the label is blank"),
        None => defaults
            .label
            .clone()
            .with_context(|| format!("line {line}: no label (give one per row or --label)")),
    }
}

/// A CSV cell as a property value: JSON numbers, booleans and null keep their type.
fn cell_value(cell: &str) -> Value {
    match serde_json::from_str::<Value>(cell) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => v,
        _ => Value::String(cell.to_string()),
    }
}

fn csv_edge(
    columns: &Columns,
    rec: &csv::StringRecord,
    index: u64,
    defaults: &EdgeDefaults,
    line: usize,
) -> anyhow::Result<EdgeRow> {
    let source = node_id(rec.get(columns.source), "source", line)?;
    let target = node_id(rec.get(columns.target), "target", line)?;
    let id = match columns.id {
        Some(i) => node_id(rec.get(i), "id", line)?,
        None => defaults
            .id_start
            .checked_add(index)
            .context("edge ids overflow u64")?,
    };
    let label = label_or_default(
        columns.label.and_then(|i| rec.get(i)).map(str::to_string),
        defaults,
        line,
    )?;
    let mut properties = match columns.properties.and_then(|i| rec.get(i)) {
        Some(cell) if !cell.trim().is_empty() => {
            let p: Value = serde_json::from_str(cell)
                .with_context(|| format!("line {line}: properties are not JSON"))?;
            match p {
                Value::Object(map) => map,
                _ => bail!("line {line}: properties must be a JSON object"),
            }
        }
        _ => Map::new(),
    };
    for (i, name) in &columns.extra {
        if let Some(cell) = rec.get(*i) {
            properties.insert(name.clone(), cell_value(cell));
        }
    }
    Ok(EdgeRow {
        id,
        source,
        target,
        label,
        properties: if properties.is_empty() {
            Value::Null
        } else {
            Value::Object(properties)
        },
    })
}

fn json_edge(
    v: Value,
    index: u64,
    defaults: &EdgeDefaults,
    line: usize,
) -> anyhow::Result<EdgeRow> {
    let Value::Object(mut obj) = v else {
        bail!("line {line}: expected a JSON object");
    };
    let number = |obj: &Map<String, Value>, key: &str| -> anyhow::Result<Option<u64>> {
        match obj.get(key) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).with_context(|| {
                format!("line {line}: {key:?} must be a non-negative integer, got {v}")
            }),
        }
    };
    let source = number(&obj, "source")?.with_context(|| format!("line {line}: no \"source\""))?;
    let target = number(&obj, "target")?.with_context(|| format!("line {line}: no \"target\""))?;
    let id = match number(&obj, "id")? {
        Some(id) => id,
        None => defaults
            .id_start
            .checked_add(index)
            .context("edge ids overflow u64")?,
    };
    let label = match obj.remove("label") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => bail!("line {line}: \"label\" must be a string, got {other}"),
    };
    let label = label_or_default(label, defaults, line)?;
    let properties = match obj.remove("properties") {
        None | Some(Value::Null) => Value::Null,
        Some(p @ Value::Object(_)) => p,
        Some(_) => bail!("line {line}: \"properties\" must be an object"),
    };
    for key in obj.keys() {
        if !["id", "source", "target"].contains(&key.as_str()) {
            bail!(
                "line {line}: unknown field {key:?} (an edge has id, source, target, label, properties)"
            );
        }
    }
    Ok(EdgeRow {
        id,
        source,
        target,
        label,
        properties,
    })
}

impl<R: Read> EdgeReader<R> {
    /// A reader of `format` (CSV or JSONL) over `input`.
    pub fn new(format: Format, input: R) -> anyhow::Result<EdgeReader<R>> {
        match format {
            Format::Jsonl => Ok(EdgeReader::Jsonl(BufReader::new(input).lines())),
            Format::Csv => {
                let mut reader = csv::Reader::from_reader(input);
                let header = reader.headers().context("reading the CSV header")?.clone();
                let columns = Columns::from_header(&header)?;
                Ok(EdgeReader::Csv(reader, columns))
            }
            Format::Npy | Format::Fvecs => {
                bail!("an edge list is CSV or JSONL, not a vector file")
            }
        }
    }

    /// Up to `n` more edges (an empty batch at the end). `read` counts the edges read so far
    /// (it gives rows without an id theirs); `line` is the last line read.
    pub fn next_batch(
        &mut self,
        n: usize,
        defaults: &EdgeDefaults,
        read: &mut u64,
        line: &mut usize,
    ) -> anyhow::Result<Vec<EdgeRow>> {
        let mut out = Vec::with_capacity(n.min(65_536));
        match self {
            EdgeReader::Jsonl(lines) => {
                while out.len() < n {
                    let Some(l) = lines.next() else { break };
                    *line += 1;
                    let l = l.with_context(|| format!("reading line {line}"))?;
                    if l.trim().is_empty() {
                        continue;
                    }
                    let v: Value = serde_json::from_str(&l)
                        .with_context(|| format!("line {line}: not JSON"))?;
                    out.push(json_edge(v, *read, defaults, *line)?);
                    *read += 1;
                }
            }
            EdgeReader::Csv(reader, columns) => {
                let mut rec = csv::StringRecord::new();
                loop {
                    if out.len() >= n {
                        break;
                    }
                    let more = reader
                        .read_record(&mut rec)
                        .with_context(|| format!("line {}: bad CSV", *line + 2))?;
                    if !more {
                        break;
                    }
                    // the header is line 1
                    *line = rec.position().map_or(*line + 2, |p| p.line() as usize);
                    out.push(csv_edge(columns, &rec, *read, defaults, *line)?);
                    *read += 1;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all(format: Format, text: &str, defaults: &EdgeDefaults) -> anyhow::Result<Vec<EdgeRow>> {
        let mut reader = EdgeReader::new(format, text.as_bytes())?;
        let (mut read, mut line, mut out) = (0, 0, Vec::new());
        loop {
            let batch = reader.next_batch(2, defaults, &mut read, &mut line)?;
            if batch.is_empty() {
                return Ok(out);
            }
            out.extend(batch);
        }
    }

    fn no_defaults() -> EdgeDefaults {
        EdgeDefaults {
            label: None,
            id_start: 0,
        }
    }

    #[test]
    fn csv_columns_become_edges_and_properties() {
        let text = "id,source,target,label,since,properties\n\
                    7,1,2,KNOWS,2020,\"{\"\"w\"\": 0.5}\"\n\
                    8,2,3,LIKES,x,\n";
        let edges = all(Format::Csv, text, &no_defaults()).unwrap();
        assert_eq!(
            edges,
            vec![
                EdgeRow {
                    id: 7,
                    source: 1,
                    target: 2,
                    label: "KNOWS".into(),
                    properties: json!({"w": 0.5, "since": 2020}),
                },
                EdgeRow {
                    id: 8,
                    source: 2,
                    target: 3,
                    label: "LIKES".into(),
                    properties: json!({"since": "x"}),
                },
            ]
        );
    }

    #[test]
    fn rows_without_id_or_label_take_the_defaults() {
        let defaults = EdgeDefaults {
            label: Some("FOLLOWS".into()),
            id_start: 100,
        };
        let edges = all(Format::Csv, "from,to\n1,2\n2,3\n3,1\n", &defaults).unwrap();
        let ids: Vec<u64> = edges.iter().map(|e| e.id).collect();
        assert_eq!(ids, [100, 101, 102]);
        assert!(edges.iter().all(|e| e.label == "FOLLOWS"));
        let jsonl =
            "{\"source\": 1, \"target\": 2}\n\n{\"source\": 2, \"target\": 3, \"label\": \"X\"}\n";
        let edges = all(Format::Jsonl, jsonl, &defaults).unwrap();
        assert_eq!((edges[0].id, edges[1].id), (100, 101));
        assert_eq!(
            (edges[0].label.as_str(), edges[1].label.as_str()),
            ("FOLLOWS", "X")
        );
    }

    #[test]
    fn a_bad_row_names_its_line() {
        let err = all(
            Format::Csv,
            "source,target,label\n1,2,A\n1,x,A\n",
            &no_defaults(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 3") && err.contains("target"), "{err}");
        let err = all(Format::Csv, "source,target\n1,2\n", &no_defaults())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("--label"), "{err}");
        let err = all(Format::Csv, "source,target,label\n1,2, \n", &no_defaults())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("blank"), "{err}");
        let jsonl = "{\"source\": 1, \"target\": 2, \"label\": \"A\"}\nnot json\n";
        let err = all(Format::Jsonl, jsonl, &no_defaults())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        let jsonl = "{\"source\": 1, \"target\": 2, \"label\": \"A\", \"weight\": 3}\n";
        let err = all(Format::Jsonl, jsonl, &no_defaults())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1") && err.contains("weight"), "{err}");
        let jsonl = "{\"source\": -1, \"target\": 2, \"label\": \"A\"}\n";
        let err = all(Format::Jsonl, jsonl, &no_defaults())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1") && err.contains("source"), "{err}");
    }

    #[test]
    fn a_header_without_endpoints_is_refused() {
        let err = all(Format::Csv, "id,label\n1,A\n", &no_defaults())
            .unwrap_err()
            .to_string();
        assert!(err.contains("source"), "{err}");
        assert!(EdgeReader::new(Format::Npy, &b""[..]).is_err());
    }
}
