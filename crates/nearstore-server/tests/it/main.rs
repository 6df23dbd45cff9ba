//! End-to-end tests: a real server on a loopback port, driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod expiry;
mod graphs;
mod harness;
mod hostile;
mod limits;
mod manhattan;
mod native;
mod openapi;
mod qdrant;
mod qdrant_conformance;
mod qdrant_datetime;
mod qdrant_openapi;
mod qdrant_payload;
mod qdrant_query;
mod qdrant_requests;
mod qdrant_routes;
mod qdrant_sparse;
mod qdrant_validation;
mod qdrant_vectors;
mod quantized;
mod shutdown;
mod snapshots;
mod streaming;
mod text;
