//! Starting and stopping a server, and small request helpers.

use std::net::SocketAddr;

use nearstore::Database;
use nearstore_server::{Server, ServerConfig};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestServer {
    pub addr: SocketAddr,
    pub url: String,
    pub client: reqwest::Client,
    pub key: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<nearstore_server::Result<()>>>,
    pub dir: TempDir,
    /// The snapshot directory [`start`] gives the server (`None`: as configured).
    pub snapshots: Option<TempDir>,
}

/// A server over a fresh database; unless `config` names one, its snapshot directory is
/// a temporary directory of its own (removed with the server, unlike the default sibling
/// of the data directory).
pub async fn start(mut config: ServerConfig) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let snapshots = match config.snapshots_dir {
        Some(_) => None,
        None => {
            let snapshots = tempfile::tempdir().unwrap();
            config.snapshots_dir = Some(snapshots.path().to_path_buf());
            Some(snapshots)
        }
    };
    let mut s = start_on(db, dir, config).await;
    s.snapshots = snapshots;
    s
}

impl TestServer {
    /// The server's snapshot directory as [`start`] made it.
    pub fn snapshots_dir(&self) -> &std::path::Path {
        self.snapshots
            .as_ref()
            .expect("started by `start` without a snapshots_dir")
            .path()
    }
}

pub async fn start_on(db: Database, dir: TempDir, mut config: ServerConfig) -> TestServer {
    config.host = "127.0.0.1".into();
    config.port = 0;
    let server = Server::bind(db, &config).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    TestServer {
        addr,
        url: format!("http://{addr}"),
        client: reqwest::Client::new(),
        key: None,
        shutdown: Some(tx),
        handle: Some(handle),
        dir,
        snapshots: None,
    }
}

impl TestServer {
    /// Signals shutdown without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).unwrap();
        }
    }

    /// Shuts down, waits for the drain and the flush, and returns the data directory.
    pub async fn stop(mut self) -> TempDir {
        self.begin_shutdown();
        self.handle.take().unwrap().await.unwrap().unwrap();
        self.dir
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.url));
        if let Some(key) = &self.key {
            req = req.header("api-key", key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    pub async fn metrics(&self) -> String {
        let mut req = self.client.get(format!("{}/metrics", self.url));
        if let Some(key) = &self.key {
            req = req.header("api-key", key);
        }
        req.send().await.unwrap().text().await.unwrap()
    }

    /// Polls `/metrics` (bounded) until the slot gauge reads `n`.
    pub async fn wait_for_slots_in_use(&self, n: usize) {
        let want = format!("nearstore_http_request_slots_in_use {n}\n");
        for _ in 0..2000 {
            if self.metrics().await.contains(&want) {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("slots in use never reached {n}");
    }

    /// Opens a raw connection and sends a request whose body is cut short, so the request
    /// is in flight (holding a slot) until the rest is sent or the connection dropped.
    pub async fn partial_request(
        &self,
        method: &str,
        path: &str,
        body_len: usize,
        first: &[u8],
    ) -> TcpStream {
        let mut s = TcpStream::connect(self.addr).await.unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {body_len}\r\n"
        );
        if let Some(key) = &self.key {
            head.push_str(&format!("api-key: {key}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(first).await.unwrap();
        s.flush().await.unwrap();
        s
    }
}

/// (status, body) once `buf` holds a whole HTTP/1.1 response (sized by Content-Length).
pub fn parse_response(buf: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    if body.len() < len {
        return None;
    }
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body[..len].to_string()))
}

/// Reads one HTTP/1.1 response from a raw connection: (status, body).
pub async fn read_response(s: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(answer) = parse_response(&buf) {
            return answer;
        }
    }
    panic!(
        "connection closed before a full response: {:?}",
        String::from_utf8_lossy(&buf)
    );
}

pub fn error_message(v: &Value) -> &str {
    v["status"]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {v}"))
}
