//! Binding, serving and graceful shutdown.
//!
//! Shutdown (the given future completing, or SIGINT/SIGTERM through [`shutdown_signal`]):
//! readiness turns 503, the listener stops accepting, in-flight requests finish, and then
//! every collection is flushed, so every acknowledged write is durable when
//! [`Server::run`] returns.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use nearstore::Database;
use tokio::net::TcpListener;

use crate::config::ServerConfig;
use crate::error::{Error, Result};
use crate::routes::{build, table};
use crate::state::{AppState, Shared};

/// The application router and its shared state.
pub(crate) fn app(db: Database, config: &ServerConfig) -> (Router, AppState) {
    let routes = table();
    let specs: Vec<_> = routes.iter().map(|r| r.spec.clone()).collect();
    let state = Arc::new(Shared::new(db, config, &specs));
    (build(state.clone(), routes), state)
}

/// The whole HTTP API as an axum [`Router`] (for embedding it in another server; it does
/// not flush on shutdown, see [`serve`]).
pub fn router(db: Database, config: &ServerConfig) -> Router {
    app(db, config).0
}

/// A bound server, not yet serving: [`Server::local_addr`] tells the address (useful with
/// port 0), [`Server::run`] serves.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Server {
    /// Binds `config.host:config.port`. A snapshot directory inside the data directory (or
    /// holding it) is refused first ([`ServerConfig::snapshots_dir`]; [`router`] checks it
    /// at each snapshot request instead, answering 500).
    pub async fn bind(db: Database, config: &ServerConfig) -> Result<Server> {
        if let Some(root) = &config.snapshots_dir {
            crate::snapshots::check_snapshots_dir(db.dir(), root)?;
        }
        let addr = format!("{}:{}", config.host, config.port);
        let listener = TcpListener::bind(&addr).await.map_err(|source| Error::Io {
            context: format!("cannot listen on {addr}"),
            source,
        })?;
        let (router, state) = app(db, config);
        Ok(Server {
            listener,
            router,
            state,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener.local_addr().map_err(|source| Error::Io {
            context: "cannot read the bound address".into(),
            source,
        })
    }

    /// Serves until `shutdown` completes, then drains in-flight requests and flushes every
    /// collection.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let state = self.state.clone();
        let signal = async move {
            shutdown.await;
            state.shutting_down.store(true, Ordering::Release);
        };
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(signal)
            .await
            .map_err(|source| Error::Io {
                context: "serving HTTP failed".into(),
                source,
            })?;
        self.state.flush_all().await
    }
}

/// Binds, prints `listening on ADDR` (the real address, also with port 0) on stdout, and
/// serves until `shutdown` completes; then drains and flushes (see [`Server::run`]).
pub async fn serve(
    db: Database,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let server = Server::bind(db, &config).await?;
    println!("listening on {}", server.local_addr()?);
    server.run(shutdown).await
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM: pass it to [`serve`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, only SIGTERM (or nothing) ends the server.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
