//! A small server binary for tests and trials:
//!
//! ```text
//! cargo run -p nearstore-server --example serve -- --data DIR [--host H] [--port P]
//!     [--api-key KEY]... [--read-only-key KEY]... [--max-concurrent N] [--timeout-ms MS]
//!     [--max-body-bytes N] [--max-inflight-body-bytes N] [--snapshots-dir DIR]
//! ```
//!
//! Prints `listening on ADDR` once bound (port 0 picks a free port); SIGINT/SIGTERM drain
//! in-flight requests and flush every collection before exiting.

use std::time::Duration;

use nearstore_server::{ApiKey, Server, ServerConfig, shutdown_signal};

fn usage() -> ! {
    eprintln!(
        "usage: serve --data DIR [--host H] [--port P] [--api-key KEY]... [--read-only-key KEY]... \
         [--max-concurrent N] [--timeout-ms MS] [--max-body-bytes N] [--max-inflight-body-bytes N] [--snapshots-dir DIR]"
    );
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(v: Option<String>) -> T {
    v.and_then(|s| s.parse().ok()).unwrap_or_else(|| usage())
}

#[tokio::main]
async fn main() {
    let mut config = ServerConfig::default();
    let mut data = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => data = args.next(),
            "--host" => config.host = args.next().unwrap_or_else(|| usage()),
            "--port" => config.port = number(args.next()),
            "--api-key" => config
                .api_keys
                .push(ApiKey::read_write(args.next().unwrap_or_else(|| usage()))),
            "--read-only-key" => config
                .api_keys
                .push(ApiKey::read_only(args.next().unwrap_or_else(|| usage()))),
            "--max-concurrent" => config.limits.max_concurrent_requests = number(args.next()),
            "--timeout-ms" => {
                config.limits.request_timeout = Duration::from_millis(number(args.next()))
            }
            "--max-body-bytes" => config.limits.max_body_bytes = number(args.next()),
            "--max-inflight-body-bytes" => {
                config.limits.max_inflight_body_bytes = number(args.next())
            }
            "--snapshots-dir" => {
                config.snapshots_dir = Some(args.next().unwrap_or_else(|| usage()).into())
            }
            _ => usage(),
        }
    }
    let Some(data) = data else { usage() };
    let db = match nearstore::Database::open(&data) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("cannot open {data}: {e}");
            std::process::exit(1)
        }
    };
    let server = match Server::bind(db, &config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    };
    match server.local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
    if let Err(e) = server.run(shutdown_signal()).await {
        eprintln!("{e}");
        std::process::exit(1)
    }
    eprintln!("shut down cleanly (collections flushed)");
}
