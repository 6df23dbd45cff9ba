//! The commands' view of a database: a directory opened in this process, or a server's
//! native HTTP API (`--url`), so `sql`, `import` and `export` work against either.

use std::path::Path;

use anyhow::{Context, bail};
use nearstore::{
    CollectionConfig, Database, DistanceMetric, ErrorKind, GraphEdge, Point, StorageMode,
};
use serde_json::{Value, json};

use crate::transfer::edges::EdgeRow;

/// Where a command works: `--data DIR` (embedded) or `--url` (a server).
#[derive(Debug, clap::Args)]
pub struct EndpointArgs {
    /// The database directory (embedded mode).
    #[arg(long, default_value = crate::DEFAULT_DATA_DIR)]
    pub data: std::path::PathBuf,
    /// A server to use instead (e.g. http://127.0.0.1:6333).
    #[arg(long)]
    pub url: Option<String>,
    /// API key for `--url`.
    #[arg(long)]
    pub api_key: Option<String>,
}

impl EndpointArgs {
    /// Opens the directory or connects to the server.
    pub fn open(&self) -> anyhow::Result<Endpoint> {
        Endpoint::open(&self.data, self.url.as_deref(), self.api_key.as_deref())
    }
}

/// A collection's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionInfo {
    /// Vector dimension.
    pub dim: usize,
    /// Metric name.
    pub metric: String,
    /// Live points.
    pub points: u64,
    /// Storage mode (`full`, `sq8`, `binary`, `pq`, `rabitq`).
    pub storage_mode: String,
}

/// A database directory or a server.
pub enum Endpoint {
    /// In this process.
    Local(Database),
    /// Over HTTP.
    Remote {
        /// The HTTP client.
        client: reqwest::blocking::Client,
        /// Base URL, without a trailing `/`.
        url: String,
        /// API key sent as `api-key`.
        key: Option<String>,
    },
}

impl Endpoint {
    /// The server at `url` when given, else the database directory `data`.
    pub fn open(data: &Path, url: Option<&str>, key: Option<&str>) -> anyhow::Result<Endpoint> {
        Ok(match url {
            Some(u) => Endpoint::Remote {
                client: reqwest::blocking::Client::new(),
                url: u.trim_end_matches('/').to_string(),
                key: key.map(str::to_string),
            },
            None => Endpoint::Local(
                Database::open(data).with_context(|| format!("opening {}", data.display()))?,
            ),
        })
    }

    /// Sends one request to the server; non-2xx answers become errors with its message.
    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let Endpoint::Remote { client, url, key } = self else {
            bail!("not a server endpoint");
        };
        let mut req = client.request(method, format!("{url}{path}"));
        if let Some(k) = key {
            req = req.header("api-key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .with_context(|| format!("sending to {url}{path}"))?;
        let status = resp.status().as_u16();
        let body: Value = resp.json().unwrap_or(Value::Null);
        Ok((status, body))
    }

    fn ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let (status, body) = self.call(method, path, body)?;
        if !(200..300).contains(&status) {
            let msg = body["status"]["error"].as_str().unwrap_or("(no message)");
            bail!("HTTP {status}: {msg}");
        }
        Ok(body)
    }

    /// Runs a query-language statement; returns `{"rows": [...]}`.
    pub fn execute(&self, sql: &str, params: &Value) -> anyhow::Result<Value> {
        match self {
            Endpoint::Local(db) => Ok(serde_json::to_value(db.execute(sql, params)?)?),
            Endpoint::Remote { .. } => self.ok(
                reqwest::Method::POST,
                "/v1/query",
                Some(json!({"query": sql, "params": params})),
            ),
        }
    }

    /// The collection's shape, `None` when it does not exist.
    pub fn info(&self, name: &str) -> anyhow::Result<Option<CollectionInfo>> {
        match self {
            Endpoint::Local(db) => match db.get_vector_collection(name) {
                Ok(c) => Ok(Some(CollectionInfo {
                    dim: c.config().dim,
                    metric: c.config().metric.name().to_string(),
                    points: c.len() as u64,
                    storage_mode: c.config().storage_mode.name().to_string(),
                })),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            },
            Endpoint::Remote { .. } => {
                let (status, body) = self.call(
                    reqwest::Method::GET,
                    &format!("/v1/collections/{name}"),
                    None,
                )?;
                match status {
                    404 => Ok(None),
                    200 => Ok(Some(CollectionInfo {
                        dim: body["dim"].as_u64().unwrap_or(0) as usize,
                        metric: body["metric"].as_str().unwrap_or_default().to_string(),
                        points: body["points_count"].as_u64().unwrap_or(0),
                        storage_mode: body["storage_mode"].as_str().unwrap_or("full").to_string(),
                    })),
                    s => bail!(
                        "HTTP {s}: {}",
                        body["status"]["error"].as_str().unwrap_or("(no message)")
                    ),
                }
            }
        }
    }

    /// Creates the collection, its default vector stored in `mode`.
    pub fn create(
        &self,
        name: &str,
        dim: usize,
        metric: &str,
        mode: StorageMode,
    ) -> anyhow::Result<()> {
        let parsed: DistanceMetric = metric.parse().context("--metric")?;
        match self {
            Endpoint::Local(db) => {
                let config = CollectionConfig::new(dim, parsed).with_storage_mode(mode);
                db.create_collection_with_options(name, config)?;
            }
            Endpoint::Remote { .. } => {
                self.ok(
                    reqwest::Method::POST,
                    "/v1/collections",
                    Some(json!({"name": name, "dim": dim, "metric": parsed.name(),
                                "storage_mode": mode.name()})),
                )?;
            }
        }
        Ok(())
    }

    /// Upserts a batch of points.
    pub fn upsert(&self, name: &str, points: &[Point]) -> anyhow::Result<()> {
        match self {
            Endpoint::Local(db) => db.get_vector_collection(name)?.upsert_bulk(points)?,
            Endpoint::Remote { .. } => {
                self.ok(
                    reqwest::Method::PUT,
                    &format!("/v1/collections/{name}/points"),
                    Some(serde_json::to_value(points)?),
                )?;
            }
        }
        Ok(())
    }

    /// The durability barrier for the collection.
    pub fn flush(&self, name: &str) -> anyhow::Result<()> {
        match self {
            Endpoint::Local(db) => db.get_vector_collection(name)?.flush()?,
            Endpoint::Remote { .. } => {
                self.ok(
                    reqwest::Method::POST,
                    &format!("/v1/collections/{name}/flush"),
                    Some(json!({})),
                )?;
            }
        }
        Ok(())
    }

    /// The number of edges of graph collection `name` (an error naming the problem when it
    /// does not exist or is not a graph).
    pub fn graph_edge_count(&self, name: &str) -> anyhow::Result<usize> {
        match self {
            Endpoint::Local(db) => Ok(db
                .get_graph_collection(name)
                .with_context(|| format!("graph collection {name:?}"))?
                .edge_count()?),
            Endpoint::Remote { .. } => {
                let body = self
                    .ok(reqwest::Method::GET, &format!("/v1/graphs/{name}"), None)
                    .with_context(|| format!("graph collection {name:?}"))?;
                let n = body["edges_count"]
                    .as_u64()
                    .context("the server's graph description has no edges_count")?;
                Ok(usize::try_from(n)?)
            }
        }
    }

    /// Adds a batch of edges (all or none) to graph collection `name`.
    pub fn add_edges(&self, name: &str, edges: Vec<EdgeRow>) -> anyhow::Result<()> {
        match self {
            Endpoint::Local(db) => {
                let edges = edges
                    .into_iter()
                    .map(|e| {
                        GraphEdge::new(e.id, e.source, e.target, e.label)
                            .with_properties(e.properties)
                    })
                    .collect();
                db.get_graph_collection(name)?.add_edges_batch(edges)?;
            }
            Endpoint::Remote { .. } => {
                let edges: Vec<Value> = edges
                    .into_iter()
                    .map(|e| {
                        json!({"id": e.id, "source": e.source, "target": e.target,
                               "label": e.label, "properties": e.properties})
                    })
                    .collect();
                self.ok(
                    reqwest::Method::POST,
                    &format!("/v1/graphs/{name}/edges/batch"),
                    Some(json!({ "edges": edges })),
                )?;
            }
        }
        Ok(())
    }

    /// One page of points (with vectors and payloads) in id order from `cursor`.
    pub fn scroll(
        &self,
        name: &str,
        limit: usize,
        cursor: Option<u64>,
    ) -> anyhow::Result<(Vec<Point>, Option<u64>)> {
        match self {
            Endpoint::Local(db) => {
                let page = db
                    .get_vector_collection(name)?
                    .scroll(None, limit, cursor)?;
                Ok((page.points, page.next_cursor))
            }
            Endpoint::Remote { .. } => {
                let body = self.ok(
                    reqwest::Method::POST,
                    &format!("/v1/collections/{name}/points/scroll"),
                    Some(json!({"limit": limit, "cursor": cursor, "with_vector": true, "with_payload": true})),
                )?;
                let points: Vec<Point> = serde_json::from_value(body["points"].clone())
                    .context("reading the scrolled points")?;
                Ok((points, body["next_cursor"].as_u64()))
            }
        }
    }
}
