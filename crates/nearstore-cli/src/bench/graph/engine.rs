//! The benchmark's side of the engine: loads the CSV graph into a graph collection through
//! the public API and times expansions through it.
//!
//! Load = parsing `nodes.csv` and `edges.csv` (the files the peer engine loads) + upserting
//! the nodes (payload and embedding) in batches through `upsert_bulk` + adding the edges in
//! large `add_edges_batch` calls + `flush()`, the durability barrier. One thread parses the
//! files in order while the calling thread writes each batch as it arrives (a streaming
//! loader). A keyword node property index on `name`, created on the empty collection, is
//! kept up to date throughout. The collection uses the default durability (`flush`: every
//! write is appended to the operation log, and `flush()` fsyncs it), so when `flush()`
//! returns everything survives a power loss and is searchable (the load figure).
//! `upsert_bulk` leaves the HNSW linking of the embeddings to the collection's background
//! indexing (searches scan the points not linked yet exactly); the load then waits for it
//! (`wait_indexed`), which gives the second figure, "until indexed", and the query figures
//! run on the complete index.
//!
//! Expansion ("within" k hops) = `traverse_bfs(start, {min_depth 1, max_depth k, rel_types
//! [FOLLOWS], no limit})`, counting the nodes it returns: the distinct nodes reachable by 1..k
//! outgoing edges, the start excluded.
//!
//! Vector + pattern = one query-language statement per query ([`vector_pattern_query`]): the
//! distinct nodes two FOLLOWS hops from the start (found by its `name`, which has a node
//! property index) whose embedding's cosine similarity to the query vector passes the
//! threshold, best `limit` by similarity; the engine plans, expands, scores, groups, orders
//! and cuts (the benchmark only reads the rows).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use nearstore::{
    Database, DistanceMetric, FieldIndexKind, GraphCollection, GraphCollectionConfig, GraphEdge,
    Point, TraversalConfig, TraversalOptions,
};
use serde_json::{Value, json};

/// The relationship type of every edge of the benchmark's graph.
pub const FOLLOWS: &str = "FOLLOWS";

/// Parses the non-empty lines of a file in order, on the calling thread, handing them to
/// `deliver` in batches of `batch` items as soon as each batch is parsed (`deliver` returns
/// false to stop early). Returns the seconds spent reading and parsing (not delivering). An
/// error names the file and the line.
fn parse_batches<T>(
    path: &Path,
    batch: usize,
    mut parse: impl FnMut(&str) -> anyhow::Result<T>,
    mut deliver: impl FnMut(Vec<T>) -> bool,
) -> anyhow::Result<f64> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let batch = batch.max(1);
    let mut line = Vec::new();
    let capacity = batch.min(1 << 16);
    let mut items = Vec::with_capacity(capacity);
    let (mut number, mut busy) = (0usize, Duration::ZERO);
    let mut at = Instant::now();
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {}", path.display()))?;
        if read == 0 {
            break;
        }
        number += 1;
        let place = || format!("{} line {number}", path.display());
        let text = std::str::from_utf8(&line)
            .with_context(|| format!("{}: not UTF-8", place()))?
            .trim_end();
        if !text.is_empty() {
            items.push(parse(text).with_context(place)?);
        }
        if items.len() == batch {
            busy += at.elapsed();
            if !deliver(std::mem::replace(&mut items, Vec::with_capacity(capacity))) {
                return Ok(busy.as_secs_f64());
            }
            at = Instant::now();
        }
    }
    busy += at.elapsed();
    if !items.is_empty() {
        deliver(items);
    }
    Ok(busy.as_secs_f64())
}

/// Every non-empty line of a (small) file, parsed in order.
fn parse_lines<T>(
    path: &Path,
    parse: impl Fn(&str) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let mut all = Vec::new();
    parse_batches(path, usize::MAX, parse, |items| {
        all = items;
        false
    })?;
    Ok(all)
}

/// One `nodes.csv` line (`id,name,age,city,"[x,...]"`) as a point.
fn node_point(line: &str, dim: usize) -> anyhow::Result<Point> {
    let mut cells = line.splitn(5, ',');
    let mut next = |what: &str| cells.next().with_context(|| format!("no {what} column"));
    let id: u64 = next("id")?.parse().context("bad id")?;
    let name = next("name")?.to_string();
    let age: u64 = next("age")?.parse().context("bad age")?;
    let city = next("city")?.to_string();
    let list = next("embedding")?;
    let inner = list
        .strip_prefix("\"[")
        .and_then(|l| l.strip_suffix("]\""))
        .context("the embedding is not a quoted [x,...] list")?;
    let vector = inner
        .split(',')
        .map(|x| x.parse::<f32>().context("bad embedding value"))
        .collect::<anyhow::Result<Vec<f32>>>()?;
    ensure!(
        vector.len() == dim,
        "the embedding has {} values, not {dim}",
        vector.len()
    );
    let payload = json!({"name": name, "age": age, "city": city});
    Ok(Point::new(id, vector, Some(payload)))
}

/// One `edges.csv` line (`from,to`): the edge's source and target.
fn edge_ends(line: &str) -> anyhow::Result<(u64, u64)> {
    let (s, t) = line.split_once(',').context("an edge line needs from,to")?;
    Ok((s.parse().context("bad from")?, t.parse().context("bad to")?))
}

/// A batch the parsing thread hands to the writing one.
enum Parsed {
    Nodes(Vec<Point>),
    Edges(Vec<GraphEdge>),
}

/// How long each part of one load took.
#[derive(Debug, Clone, Copy)]
pub struct LoadTimes {
    /// Everything, from reading the files to `flush()` returning: durable and searchable.
    pub total: f64,
    /// From reading the files to `wait_indexed()` returning: the HNSW index complete.
    pub indexed: f64,
    /// Seconds the parsing thread spent reading and parsing both files (it runs beside the
    /// writes, so this overlaps `nodes` and `edges`).
    pub parse: f64,
    /// From the start to the first edge batch: the nodes' upserts as their batches arrive
    /// (payloads, embeddings; the HNSW linking runs in the background).
    pub nodes: f64,
    /// From there to the last `add_edges_batch` returning.
    pub edges: f64,
    /// Seconds the writing thread waited for parsed batches (in `nodes` and `edges`).
    pub waited: f64,
    /// The final `flush()`.
    pub flush: f64,
}

impl LoadTimes {
    /// The figures as JSON.
    pub fn to_json(self) -> Value {
        json!({"total_seconds": self.total, "indexed_seconds": self.indexed,
               "parse_seconds": self.parse,
               "nodes_seconds": self.nodes, "edges_seconds": self.edges,
               "waited_seconds": self.waited,
               "flush_seconds": self.flush})
    }
}

/// Batch sizes of a load.
#[derive(Debug, Clone, Copy)]
pub struct Batches {
    /// Nodes per `upsert_bulk`.
    pub nodes: usize,
    /// Edges per `add_edges_batch`.
    pub edges: usize,
}

/// Creates the graph collection `name` in `db` (dropping an earlier one) and loads the CSV
/// graph of `dir` into it.
pub fn load(
    db: &Database,
    name: &str,
    dir: &Path,
    dim: usize,
    batches: Batches,
) -> anyhow::Result<(GraphCollection, LoadTimes)> {
    match db.drop_collection(name) {
        Ok(_) => {}
        Err(e) if e.kind() == nearstore::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let config = GraphCollectionConfig::schemaless().with_embedding(dim, DistanceMetric::Cosine);
    let graph = db.create_graph_collection(name, config)?;
    let started = Instant::now();
    // kept up to date as nodes arrive (kuzu's primary key index is built by its COPY too)
    graph.create_node_property_index("name", FieldIndexKind::Keyword)?;
    // One thread parses both files in order while this one writes what it has parsed.
    let mut waited = Duration::ZERO;
    let (parse, nodes_seconds) = std::thread::scope(|scope| -> anyhow::Result<(f64, f64)> {
        let (send, parsed) = sync_channel::<Parsed>(2);
        let parser = scope.spawn(move || -> anyhow::Result<f64> {
            let mut busy = parse_batches(
                &dir.join("nodes.csv"),
                batches.nodes,
                |line| node_point(line, dim),
                |points| send.send(Parsed::Nodes(points)).is_ok(),
            )?;
            let mut next_id = 0u64;
            busy += parse_batches(
                &dir.join("edges.csv"),
                batches.edges,
                |line| {
                    let (source, target) = edge_ends(line)?;
                    next_id += 1;
                    Ok(GraphEdge::new(next_id - 1, source, target, FOLLOWS))
                },
                |edges| send.send(Parsed::Edges(edges)).is_ok(),
            )?;
            Ok(busy)
        });
        let mut nodes_seconds = None;
        let written = (|| -> anyhow::Result<()> {
            loop {
                let at = Instant::now();
                let Ok(batch) = parsed.recv() else {
                    break;
                };
                waited += at.elapsed();
                match batch {
                    Parsed::Nodes(points) => graph.upsert_bulk(points)?,
                    Parsed::Edges(edges) => {
                        nodes_seconds.get_or_insert_with(|| started.elapsed().as_secs_f64());
                        graph.add_edges_batch(edges)?;
                    }
                }
            }
            Ok(())
        })();
        drop(parsed);
        // the receiver is gone: a parser still sending stops
        let parse = parser
            .join()
            .map_err(|_| anyhow!("the parsing thread panicked"))?;
        written?;
        let nodes_seconds = nodes_seconds.unwrap_or_else(|| started.elapsed().as_secs_f64());
        Ok((parse?, nodes_seconds))
    })?;
    let edges_seconds = started.elapsed().as_secs_f64() - nodes_seconds;
    let at = Instant::now();
    graph.flush()?;
    let flush = at.elapsed().as_secs_f64();
    let total = started.elapsed().as_secs_f64();
    graph.wait_indexed()?;
    Ok((
        graph,
        LoadTimes {
            total,
            indexed: started.elapsed().as_secs_f64(),
            parse,
            nodes: nodes_seconds,
            edges: edges_seconds,
            waited: waited.as_secs_f64(),
            flush,
        },
    ))
}

/// One pass of "within k hops" expansions over `starts`: (seconds, sum of the counts).
pub fn expand_within(
    graph: &GraphCollection,
    starts: &[u64],
    k: u32,
) -> anyhow::Result<(f64, usize)> {
    let config = TraversalConfig {
        min_depth: 1,
        max_depth: k,
        limit: usize::MAX,
        rel_types: vec![FOLLOWS.to_string()],
        ..TraversalConfig::default()
    };
    let options = TraversalOptions {
        max_rows: Some(usize::MAX),
        ..TraversalOptions::default()
    };
    let started = Instant::now();
    let mut total = 0;
    for &s in starts {
        total += graph.traverse_bfs_with(s, &config, &options)?.len();
    }
    Ok((started.elapsed().as_secs_f64(), total))
}

/// The vector + pattern statement for start node `start` (its payload name is
/// `user<start>`): grouping by `c.name` makes each end node one row, however many paths lead
/// to it.
pub fn vector_pattern_query(start: u64, threshold: f32, limit: usize) -> String {
    format!(
        "MATCH (a {{name: 'user{start}'}})-[:{FOLLOWS}]->(b)-[:{FOLLOWS}]->(c) \
         WHERE similarity(c.embedding, $v) > {threshold} \
         RETURN c.name AS name, similarity() AS s, count(*) AS paths \
         ORDER BY s DESC LIMIT {limit}"
    )
}

/// The end node ids of one vector + pattern answer, in its order.
fn row_ids(rows: &[Value]) -> anyhow::Result<Vec<u64>> {
    rows.iter()
        .map(|r| {
            let name = r["name"].as_str().context("a row without a name")?;
            let id = name
                .strip_prefix("user")
                .context("a name that is not user<id>")?;
            Ok(id.parse()?)
        })
        .collect()
}

/// What the vector + pattern queries measured: latencies (seconds, in query order) and each
/// query's end node ids.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// Seconds per query.
    pub latencies: Vec<f64>,
    /// End node ids per query, best first.
    pub results: Vec<Vec<u64>>,
}

/// Runs every vector + pattern query; `Ok(Err(message))` when the engine refuses the
/// statement as not supported.
pub fn vector_pattern(
    db: &Database,
    starts: &[u64],
    queries: &[Vec<f32>],
    threshold: f32,
    limit: usize,
) -> anyhow::Result<Result<Answers, String>> {
    let mut answers = Answers::default();
    for (i, v) in queries.iter().enumerate() {
        let start = starts[i % starts.len()];
        let sql = vector_pattern_query(start, threshold, limit);
        let params = json!({ "v": v });
        let at = Instant::now();
        let answer = match db.execute(&sql, &params) {
            Ok(a) => a,
            Err(nearstore::Error::Unsupported(message)) => return Ok(Err(message)),
            Err(e) => return Err(e).with_context(|| format!("running {sql}")),
        };
        answers.latencies.push(at.elapsed().as_secs_f64());
        let rows: Vec<Value> = answer.rows.iter().map(|r| r.to_json()).collect();
        answers.results.push(row_ids(&rows)?);
    }
    Ok(Ok(answers))
}

/// Reads `starts.txt`.
pub fn read_starts(dir: &Path) -> anyhow::Result<Vec<u64>> {
    let starts: Vec<u64> = parse_lines(&dir.join("starts.txt"), |line| {
        line.parse().context("bad start node")
    })?;
    if starts.is_empty() {
        bail!("no start nodes in {}", dir.join("starts.txt").display());
    }
    Ok(starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_line_becomes_a_point_with_payload_and_embedding() {
        let p = node_point("7,user7,33,Oslo,\"[0.5,-1,0.25]\"", 3).unwrap();
        assert_eq!(p.id, 7);
        assert_eq!(p.vector, vec![0.5, -1.0, 0.25]);
        assert_eq!(
            p.payload,
            Some(json!({"name": "user7", "age": 33, "city": "Oslo"}))
        );
        let err = node_point("7,user7,33,Oslo,\"[0.5]\"", 3).unwrap_err();
        assert!(err.to_string().contains("not 3"), "{err}");
        assert!(node_point("7,user7,x,Oslo,\"[0.5]\"", 1).is_err());
    }

    #[test]
    fn vector_pattern_rows_become_end_node_ids() {
        let rows = vec![
            json!({"name": "user12", "s": 0.9}),
            json!({"name": "user3"}),
        ];
        assert_eq!(row_ids(&rows).unwrap(), [12, 3]);
        assert!(row_ids(&[json!({"name": "bob"})]).is_err());
        let sql = vector_pattern_query(7, 0.6, 10);
        assert!(
            sql.contains("{name: 'user7'}") && sql.ends_with("LIMIT 10"),
            "{sql}"
        );
    }

    #[test]
    fn an_edge_line_becomes_its_ends() {
        assert_eq!(edge_ends("3,9").unwrap(), (3, 9));
        assert!(edge_ends("3;9").is_err());
    }

    #[test]
    fn lines_parse_in_order_in_batches_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edges.csv");
        let text: String = (0..5000).map(|i| format!("{i},{}\n\n", i + 1)).collect();
        std::fs::write(&path, &text).unwrap();
        let ends = parse_lines(&path, edge_ends).unwrap();
        assert_eq!(ends, (0..5000).map(|i| (i, i + 1)).collect::<Vec<_>>());
        let mut batches = Vec::new();
        parse_batches(&path, 7, edge_ends, |b| {
            batches.push(b);
            true
        })
        .unwrap();
        assert!(batches[..batches.len() - 1].iter().all(|b| b.len() == 7));
        assert_eq!(batches.concat(), ends);
        // a consumer that stops after the first batch gets no more
        let mut delivered = 0;
        parse_batches(&path, 7, edge_ends, |_| {
            delivered += 1;
            false
        })
        .unwrap();
        assert_eq!(delivered, 1);
        std::fs::write(&path, text.replace("4321,4322", "4321;4322")).unwrap();
        let err = format!("{:#}", parse_lines(&path, edge_ends).unwrap_err());
        // Line 8643: two lines (one empty) per edge.
        assert!(err.contains("edges.csv line 8643"), "{err}");
    }
}
