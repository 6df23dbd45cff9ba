//! API keys: who may call which route.
//!
//! A key is sent as `api-key: <key>` (Qdrant's header) or `Authorization: Bearer <key>`.
//! Keys are compared in constant time (`subtle`) against every configured key, so the time
//! taken does not reveal how much of a key matched (only, at most, its length). Each route
//! has an [`Access`] level in the route table: `Open` routes (health, readiness) need no key;
//! `Read` routes accept any valid key; `Write` routes need a read-write key (a read-only key
//! gets 403). No configured keys means an open server.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use crate::config::ApiKey;
use crate::error::{Error, Result};
use crate::state::AppState;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// No key (health and readiness probes).
    Open,
    /// Any valid key.
    Read,
    /// A read-write key.
    Write,
}

impl Access {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Access::Open => "open",
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// The configured keys.
#[derive(Debug)]
pub(crate) struct KeyRing {
    keys: Vec<ApiKey>,
}

/// What a presented key was found to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    ReadWrite,
    ReadOnly,
}

impl KeyRing {
    pub(crate) fn new(keys: &[ApiKey]) -> Self {
        KeyRing {
            keys: keys.to_vec(),
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.keys.is_empty()
    }

    /// Looks `presented` up, comparing it with every key (no early exit).
    fn grant(&self, presented: &str) -> Option<Grant> {
        let mut found = None;
        for key in &self.keys {
            let equal: bool = key.key.as_bytes().ct_eq(presented.as_bytes()).into();
            if equal && found != Some(Grant::ReadWrite) {
                found = Some(if key.read_only {
                    Grant::ReadOnly
                } else {
                    Grant::ReadWrite
                });
            }
        }
        found
    }
}

/// The key sent with a request, if any.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get("api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim());
    }
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = auth.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The access level of a matched route (unknown pairs are treated as writes).
pub(crate) fn route_access(state: &AppState, method: &Method, route: &str) -> Access {
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    state
        .access
        .get(&(method.clone(), route))
        .copied()
        .unwrap_or(Access::Write)
}

/// Decides whether a request may go on.
pub(crate) fn authorize(
    state: &AppState,
    method: &Method,
    route: &str,
    headers: &HeaderMap,
) -> Result<()> {
    let access = route_access(state, method, route);
    if access == Access::Open || state.keys.is_open() {
        return Ok(());
    }
    let Some(key) = presented_key(headers) else {
        return Err(Error::Unauthorized(
            "missing API key: send `api-key: <key>` or `Authorization: Bearer <key>`",
        ));
    };
    match (state.keys.grant(key), access) {
        (None, _) => Err(Error::Unauthorized("invalid API key")),
        (Some(Grant::ReadOnly), Access::Write) => Err(Error::Forbidden {
            method: method.to_string(),
            route: route.to_string(),
        }),
        (Some(_), _) => Ok(()),
    }
}

/// Middleware (a route layer, so the matched route is known).
pub(crate) async fn require_key(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> std::result::Result<Response, Error> {
    let route = matched.as_ref().map(MatchedPath::as_str).unwrap_or("");
    authorize(&state, req.method(), route, req.headers())?;
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_and_read_write_wins() {
        let ring = KeyRing::new(&[
            ApiKey::read_only("r"),
            ApiKey::read_write("w"),
            ApiKey::read_only("w"),
        ]);
        assert_eq!(ring.grant("r"), Some(Grant::ReadOnly));
        assert_eq!(ring.grant("w"), Some(Grant::ReadWrite));
        assert_eq!(ring.grant("x"), None);
        assert_eq!(ring.grant(""), None);
    }

    #[test]
    fn keys_come_from_either_header() {
        let mut h = HeaderMap::new();
        h.insert("api-key", "k1".parse().unwrap());
        assert_eq!(presented_key(&h), Some("k1"));
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer k2".parse().unwrap());
        assert_eq!(presented_key(&h), Some("k2"));
        let mut h = HeaderMap::new();
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(presented_key(&h), None);
    }
}
