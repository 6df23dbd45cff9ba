//! End-to-end tests: a real server on a loopback port, driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod harness;
mod limits;
mod native;
mod qdrant;
mod qdrant_requests;
mod shutdown;
